// Charts in the real app (issue 20): a result charted from its SQL cell, drawn by Vega under
// the app's strict CSP from points the engine computed, changed in the builder, saved as SVG,
// and drawn again from the notebook file after a restart.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApp, type QuireApp } from "../src/harness.ts";
import { newNotebook, select, setTheme as theme } from "../src/grid.ts";
import { resultRows, runSql } from "../src/cells.ts";

const CARRIERS = ["AA", "B6", "DL", "UA", "WN"];
const ROWS = 20_000;

/** flights.csv: every 50th delay is missing. */
function flights(): { path: string; missing: number } {
  const lines = ["carrier,delay,distance"];
  let missing = 0;
  for (let i = 0; i < ROWS; i++) {
    const none = i % 50 === 7;
    if (none) missing++;
    const delay = none ? "" : String(((i * 7_919) % 1_800) / 10 - 20);
    lines.push(`${CARRIERS[i % CARRIERS.length]},${delay},${200 + ((i * 31) % 2_500)}`);
  }
  const dir = mkdtempSync(join(tmpdir(), "quire-e2e-charts-"));
  const path = join(dir, "flights.csv");
  writeFileSync(path, lines.join("\n") + "\n");
  return { path, missing };
}

/** The drawn chart's SVG once `ok` accepts it: its text and how many marks it has. */
/** Waits until a chart's Save buttons are offered (the chart cell at `index`, the last by
 *  default): once that chart (not the one before it, or before a theme change) is drawn. */
async function saveOffered(app: QuireApp, index = -1): Promise<void> {
  await app.driver.wait(
    async () => app.driver.executeScript<boolean>("return ![...document.querySelectorAll('[data-testid=chart-export-svg]')].at(arguments[0]).disabled;", index),
    30_000,
    "the chart's Save SVG was never offered",
  );
}

async function drawn(app: QuireApp, ok: (c: { text: string; marks: number; notes: string }) => boolean) {
  let seen = { text: "", marks: 0, notes: "" };
  await app.driver.wait(
    async () => {
      seen = await app.driver.executeScript<typeof seen>(
        `const svg = document.querySelector('[data-testid=chart-cell] [data-testid=chart] svg');
         const notes = document.querySelector('[data-testid=chart-notes]');
         return { text: svg ? svg.textContent : '', marks: svg ? svg.querySelectorAll('.mark-rect path, .mark-symbol path').length : 0, notes: notes ? notes.textContent : '' };`,
      );
      return ok(seen);
    },
    60_000,
    `the chart never matched; it was ${JSON.stringify(seen)}`,
  );
  return seen;
}

/** Scrolls the chart cell to the top of the page, for the screenshots in docs/. */
async function showChart(app: QuireApp) {
  await app.driver.executeScript("document.querySelector('[data-testid=chart-cell]').closest('li').scrollIntoView({ block: 'start' });");
}

test("a result becomes a chart, changes in the builder, saves as SVG and comes back after a restart", async () => {
  const data = flights();
  const dataDir = mkdtempSync(join(tmpdir(), "quire-e2e-charts-app-"));
  const svgPath = join(dataDir, "delays.svg");
  const env = { QUIRE_TEST_PICK_FILE: data.path, QUIRE_TEST_SAVE_FILE: svgPath };
  let app = await startApp({ dataDir, env });
  try {
    await theme(app, "light");
    await newNotebook(app, "Delays");
    await app.click("import-data");
    await app.waitText("import-preview", (t) => t.includes("AA"));
    await app.click("import-start");
    await app.waitText("table-list", (t) => /flights\s*20\D?000 rows/.test(t), 60_000);
    await app.click("add-sql-cell");
    await runSql(app, "SELECT carrier, delay FROM flights");
    await resultRows(app, (r) => r.length > 0);

    // Chart: a bar of each carrier's summed delay, as the columns suggest.
    await app.click("chart-result");
    const bars = await drawn(app, (c) => c.marks === CARRIERS.length);
    assert.match(bars.text, /Sum of delay/);
    for (const carrier of CARRIERS) assert.ok(bars.text.includes(carrier), `${carrier} on the axis: ${bars.text}`);
    await showChart(app);
    await app.screenshot("chart-bar-light");

    // Faceted by carrier: five panels of one bar each, wrapped onto rows within the cell
    // (a row of panels ran past the cell's edge); then back to one panel.
    const panels = () =>
      app.driver.executeScript<{ axes: number; marks: number; chart: number; cell: number }>(
        `const svg = document.querySelector('[data-testid=chart-cell] [data-testid=chart] svg');
         const cell = document.querySelector('[data-testid=chart-cell]');
         return svg
           ? { axes: svg.querySelectorAll('.role-axis').length, marks: svg.querySelectorAll('.mark-rect path').length, chart: svg.getBoundingClientRect().width, cell: cell.getBoundingClientRect().width }
           : { axes: 0, marks: 0, chart: 0, cell: 0 };`,
      );
    let seen = await panels();
    const single = seen.axes;
    await select(app, "chart-facet", "carrier");
    await app.driver.wait(async () => ((seen = await panels()), seen.axes > single && seen.marks === CARRIERS.length), 60_000, "the faceted chart was never drawn");
    assert.ok(seen.chart <= seen.cell, `the faceted chart (${seen.chart} px) fits its cell (${seen.cell} px)`);
    await select(app, "chart-facet", "");
    await app.driver.wait(async () => ((seen = await panels()), seen.axes === single && seen.marks === CARRIERS.length), 60_000, "back to one panel");

    // A histogram: the text x gives way to the number column; rows with no delay are counted.
    await select(app, "chart-kind", "histogram");
    const histogram = await drawn(app, (c) => c.notes.includes("left out") && c.marks > 5);
    assert.match(histogram.notes, new RegExp(`^${histogram.marks} bins — ${data.missing} rows with no delay left out$`));
    assert.match(histogram.text, /Count of rows/);
    await theme(app, "dark");
    await drawn(app, (c) => c.marks === histogram.marks);
    await showChart(app);
    await app.screenshot("chart-histogram-dark");

    await saveOffered(app);
    await app.click("chart-export-svg");
    await app.driver.wait(async () => existsSync(svgPath), 15_000, "the SVG was never written");
    const svg = readFileSync(svgPath, "utf8");
    assert.match(svg, /^<svg/);
    assert.match(svg, /Count of rows/);

    // The notebook file holds a chart cell whose spec is portable Vega-Lite, line by line.
    await app.driver.wait(async () => {
      const file = join(dataDir, "data", "workspace", "delays.quire", "notebook.json");
      return existsSync(file) && readFileSync(file, "utf8").includes('"kind": "chart"');
    }, 20_000, "the chart cell never reached notebook.json");
    await theme(app, "light");
  } finally {
    await app.stop();
  }

  app = await startApp({ dataDir, env });
  try {
    const nb = JSON.parse(readFileSync(join(dataDir, "data", "workspace", "delays.quire", "notebook.json"), "utf8"));
    assert.equal(nb.version, 2);
    const chart = nb.cells.find((c: { kind: string }) => c.kind === "chart");
    assert.ok(Array.isArray(chart.source), "a multi-line spec is stored as its lines");
    const spec = JSON.parse(chart.source.join("\n"));
    assert.equal(spec.mark, "bar");
    assert.deepEqual(spec.encoding.x, { field: "delay", bin: { maxbins: 30 } });
    assert.equal(spec.usermeta.quire.sql, "SELECT carrier, delay FROM flights");

    await app.driver.executeScript("document.querySelector('[data-testid=notebook-list] button, [data-testid=notebook-list] li')?.click();");
    await app.waitText("notebook-title", (t) => t === "Delays", 15_000);
    // Opened again, the chart draws itself.
    const again = await drawn(app, (c) => c.notes.includes("left out"));
    assert.match(again.notes, new RegExp(`${data.missing} rows with no delay left out`));

    // A chart of two number columns.
    await runSql(app, "SELECT distance, delay FROM flights");
    await resultRows(app, (r) => r.length > 0);
    await app.click("chart-result");
    await app.driver.wait(async () => (await app.count("[data-testid=chart-kind]")) === 2, 15_000, "no second chart cell");
    // The new chart cell comes right after the SQL cell: the first of the two.
    const first = "[...document.querySelectorAll('[data-testid=chart-cell]')][0]";
    // Two numbers, the first whole: it starts as a line of the mean delay per distance.
    await app.driver.wait(
      async () => app.driver.executeScript<boolean>(`return ${first}.querySelector('[data-testid=chart-kind]').value === 'line';`),
      15_000,
      "the first chart of two numbers is not a line",
    );
    // A scatter of every row: 10,000 points (the engine's cap), painted on a canvas by a worker,
    // and still saved as an SVG with one mark per point. The line was a canvas too: the
    // scatter is the one whose notes say 10,000 points.
    await app.driver.executeScript(
      `const s = ${first}.querySelector('[data-testid=chart-kind]');
       Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, 'value').set.call(s, 'scatter');
       s.dispatchEvent(new Event('change', { bubbles: true }));`,
    );
    // Painted by the worker, off the page's main thread (the page only shows the bitmap), as
    // every chart is (the small ones arrive as SVG text). One condition: a redraw clears the
    // painter before it paints again, so reading it after the wait once found it unset (CI).
    await app.driver.wait(
      async () =>
        app.driver.executeScript<boolean>(
          `const c = ${first}; return /^10\\D?000 points/.test(c.querySelector('[data-testid=chart-notes]')?.textContent ?? '') && c.querySelector('[data-testid=chart][data-drawn=canvas][data-painter=worker] canvas') !== null;`,
        ),
      60_000,
      "the 10,000-point scatter was never painted by the worker",
    );
    assert.equal(await app.count("[data-testid=chart-cell] [data-testid=chart][data-painter=page]"), 0);
    await saveOffered(app, 0);
    rmSync(svgPath, { force: true });
    await app.driver.executeScript(`${first}.querySelector('[data-testid=chart-export-svg]').click();`);
    await app.driver.wait(async () => existsSync(svgPath), 30_000, "the big chart's SVG was never written");
    const marks = (readFileSync(svgPath, "utf8").match(/<path/g) ?? []).length;
    assert.ok(marks >= 10_000, `the SVG holds ${marks} paths`);
    // And as a PNG at twice the size, painted again by the same worker (the save dialog's path
    // is the test's one file, whatever its ending).
    rmSync(svgPath, { force: true });
    await app.driver.executeScript(`${first}.querySelector('[data-testid=chart-export-png]').click();`);
    await app.driver.wait(async () => existsSync(svgPath) && readFileSync(svgPath).length > 24, 30_000, "the big chart's PNG was never written");
    const png = readFileSync(svgPath);
    assert.equal(png.subarray(1, 4).toString("latin1"), "PNG");
    assert.ok(png.readUInt32BE(16) >= 2 * 560, `the PNG is ${png.readUInt32BE(16)} pixels wide`);
  } finally {
    await app.stop();
  }
});

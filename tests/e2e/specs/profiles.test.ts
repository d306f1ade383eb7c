// Column profiles in the real app (issue 20): the panel beside the grid describes every column
// as the test's own arithmetic over the same file does, and a click on a bar filters the grid.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withApp, type QuireApp } from "../src/harness.ts";
import { newNotebook } from "../src/grid.ts";

const CARRIERS = ["AA", "B6", "DL", "UA", "WN"];
const ROWS = 20_000;

const DAY_MS = 86_400_000;

function flights() {
  const lines = ["carrier,delay,day"];
  const delays: number[] = [];
  // Every row's delay (null when missing) and day (UTC milliseconds of its midnight).
  const rows: { delay: number | null; day: number }[] = [];
  let missing = 0;
  for (let i = 0; i < ROWS; i++) {
    const day = Date.UTC(2012, 0, 1) + ((i * 13) % 400) * DAY_MS;
    const dayText = new Date(day).toISOString().slice(0, 10);
    if (i % 50 === 7) {
      missing++;
      lines.push(`${CARRIERS[i % 5]},,${dayText}`);
      rows.push({ delay: null, day });
      continue;
    }
    const delay = ((i * 7_919) % 1_800) / 10 - 20;
    delays.push(delay);
    rows.push({ delay, day });
    lines.push(`${CARRIERS[i % 5]},${delay},${dayText}`);
  }
  const dir = mkdtempSync(join(tmpdir(), "quire-e2e-profiles-"));
  const path = join(dir, "flights.csv");
  writeFileSync(path, lines.join("\n") + "\n");
  return { path, missing, delays, rows };
}

async function card(app: QuireApp, column: string, ok: (text: string) => boolean): Promise<string> {
  let text = "";
  await app.driver.wait(
    async () => {
      text = await app.driver.executeScript<string>(
        `const c = document.querySelector('[data-testid=profile-column][data-column="' + arguments[0] + '"]'); return c ? c.textContent : '';`,
        column,
      );
      return ok(text);
    },
    30_000,
    `the ${column} profile never matched; it was ${JSON.stringify(text)}`,
  );
  return text;
}

test("the profile panel describes every column and a bar filters the grid", async () => {
  const data = flights();
  await withApp(
    "profiles",
    async (app) => {
      await newNotebook(app, "Profiles");
      await app.click("import-data");
      await app.waitText("import-preview", (t) => t.includes("AA"));
      await app.click("import-start");
      await app.waitText("grid-rows", (t) => t.replace(/\D/g, "") === String(ROWS), 60_000);
      // The import's toast is up, and beside the grid, not over it (toasts sit in the page's flow).
      await app.waitText("info-toast", (t) => t.includes(`Imported ${ROWS}`) || t.includes("Imported 20,000"));
      const overlap = await app.driver.executeScript<string | null>(`
        const a = document.querySelector('[data-testid=info-toast]').getBoundingClientRect();
        const b = document.querySelector('[data-testid=table-grid]').getBoundingClientRect();
        const area = document.querySelector('.notebook-area').getBoundingClientRect();
        const visible = { top: Math.max(b.top, area.top), bottom: Math.min(b.bottom, area.bottom) };
        const hit = a.left < b.right && b.left < a.right && a.top < visible.bottom && visible.top < a.bottom;
        return hit ? JSON.stringify({ toast: a, grid: b }) : null;`);
      assert.equal(overlap, null, "the toast covers the grid");

      await app.click("open-profile");
      const delay = await card(app, "delay", (t) => t.includes("missing"));
      const share = ((100 * data.missing) / ROWS).toFixed(1);
      assert.ok(delay.includes(`${data.missing} missing (${share} %)`), delay);
      const mean = data.delays.reduce((a, b) => a + b, 0) / data.delays.length;
      const shown = /mean ([\d.,-]+)/.exec(delay)?.[1]?.replace(/,/g, "");
      assert.ok(shown && Math.abs(Number(shown) - mean) < 0.01, `mean ${shown} vs ${mean}`);
      const min = Math.min(...data.delays);
      const max = Math.max(...data.delays);
      assert.ok(delay.includes(`${min.toFixed(1)} … ${max.toFixed(1)}`), delay);
      const carrier = await card(app, "carrier", (t) => t.includes("AA"));
      // The webview's locale decides the digit grouping (4,000 or 4000): compare the digits.
      const ungrouped = carrier.replace(/(\d)[,.\u00a0\u202f ](?=\d{3})/g, "$1");
      for (const c of CARRIERS) assert.ok(ungrouped.includes(`${c}${ROWS / 5}`), carrier);
      await app.screenshot("profile-panel-light");

      // The first bin's rows, and only they, stay in the grid.
      const first = await app.driver.executeScript<string>(
        "return document.querySelector('[data-testid=profile-column][data-column=delay] [data-testid=profile-bin] title').textContent;",
      );
      const [, from, to, count] = /^(-?[\d.,]+) to (-?[\d.,]+): ([\d,]+) rows$/.exec(first) ?? [];
      const expected = data.delays.filter((d) => d >= Number(from!.replace(/,/g, "")) && d < Number(to!.replace(/,/g, ""))).length;
      assert.equal(Number(count!.replace(/,/g, "")), expected, first);
      await app.driver.executeScript(
        "document.querySelector('[data-testid=profile-column][data-column=delay] [data-testid=profile-bin]').dispatchEvent(new MouseEvent('click', { bubbles: true }));",
      );
      await app.waitText("grid-rows", (t) => t.replace(/\D/g, "") === `${expected}${ROWS}`, 15_000);

      // 400 days from 1 January 2012: a bar per calendar month, 14 of them.
      // A bar of dates keeps its dates too, with the delay's filter still on: its range is
      // instants, which a date is compared with as its midnight.
      const bins = await app.driver.executeScript<{ start: number; end: number; count: number }[]>(
        "return [...document.querySelectorAll('[data-testid=profile-column][data-column=day] [data-testid=profile-bin]')].map((b) => ({ start: Number(b.dataset.start), end: Number(b.dataset.end), count: Number(b.dataset.count) }));",
      );
      assert.equal(bins.length, 14, JSON.stringify(bins));
      bins.forEach((b, i) => assert.equal(b.start, Date.UTC(2012, i, 1), `bar ${i} starts on the first of its month`));
      assert.equal(bins.reduce((a, b) => a + b.count, 0), ROWS, "every row's day is in a bar");
      const at = bins.findIndex((b, i) => i >= 2 && b.count > 0);
      const bar = bins[at]!;
      const inBar = (day: number) => day >= bar.start && (at === bins.length - 1 ? day <= bar.end : day < bar.end);
      assert.equal(data.rows.filter((r) => inBar(r.day)).length, bar.count, "the bar's count is the file's");
      const both = data.rows.filter((r) => r.delay !== null && r.delay >= Number(from!.replace(/,/g, "")) && r.delay < Number(to!.replace(/,/g, "")) && inBar(r.day)).length;
      await app.driver.executeScript(
        "document.querySelectorAll('[data-testid=profile-column][data-column=day] [data-testid=profile-bin]')[arguments[0]].dispatchEvent(new MouseEvent('click', { bubbles: true }));",
        at,
      );
      await app.waitText("grid-rows", (t) => t.replace(/\D/g, "") === `${both}${ROWS}`, 15_000);
    },
    { env: { QUIRE_TEST_PICK_FILE: data.path } },
  );
});

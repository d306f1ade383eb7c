// Events and metrics in the real app: an import's progress bar advances, the metrics panel
// shows the writes of a save, and a page that was away while a save finished learns it from
// the engine's catch-up ring when it comes back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startApp } from "../src/harness.ts";
import { csvFile, gridCell, newNotebook, typeInto } from "../src/grid.ts";

const ROWS = 1_500_000;

const number = (text: string) => Number(text.replace(/[^\d]/g, ""));

test("progress, metrics after a save, and catch-up after the page was away", async () => {
  const file = csvFile("big.csv", ROWS);
  const app = await startApp({ env: { QUIRE_TEST_PICK_FILE: file, QUIRE_SNAPSHOTS__DEBOUNCE_MS: "5000" } });
  const tables = join(app.workspace, "events.quire", "tables");
  try {
    await newNotebook(app, "Events");
    await app.click("import-data");
    await app.waitText("import-preview", (t) => t.includes("Lyon"));
    // Sample the progress bar from inside the page, every frame, for the whole import.
    await app.driver.executeScript(`
      window.__progress = [];
      const look = () => {
        const bar = document.querySelector('[data-testid=import-progress] progress');
        if (bar) { const v = Number(bar.value); if (window.__progress.at(-1) !== v) window.__progress.push(v); }
        if (!window.__stopProgress) requestAnimationFrame(look);
      };
      requestAnimationFrame(look);`);
    await app.click("import-start");
    await app.waitText("table-list", (t) => t.includes("big"), 180_000);
    const progress = await app.driver.executeScript<number[]>("window.__stopProgress = true; return window.__progress;");
    const moving = progress.filter((v) => v > 0 && v < 100);
    assert.ok(moving.length >= 3, `the bar advanced through several values: ${JSON.stringify(progress)}`);
    assert.ok(
      progress.every((v, i) => i === 0 || v >= progress[i - 1]!),
      `the bar never went back: ${JSON.stringify(progress)}`,
    );

    // The status bar's one-line summary follows the engine's metrics events (no polling).
    const summary = async () => String(await app.prop("metrics", "title"));
    await app.driver.wait(async () => / writes/.test(await summary()), 10_000, "no metrics summary");
    const summaryBefore = await summary();
    await app.click("metrics");
    const writesBefore = number(await app.waitText("metrics-hour-writes", (t) => number(t) > 0));
    await app.click("metrics-close");
    // Gone before the grid is clicked: a dialog still closing takes the click (CI, once).
    await app.driver.wait(async () => (await app.count("[data-testid=metrics-dialog]")) === 0, 5_000, "the metrics dialog never closed");

    await app.driver.wait(async () => (await gridCell(app, 0, "city")) === "Lyon", 15_000, "row 0 never showed");
    await typeInto(app, 0, "city", "Brest");
    await app.waitText("save-status", (t) => t !== "All changes saved", 5_000); // the edit reached the engine
    await app.click("flush");
    await app.waitText("save-status", (t) => t === "All changes saved", 60_000);
    assert.ok(existsSync(join(tables, "big.2.parquet")), "the save wrote generation 2");
    await app.driver.wait(async () => (await summary()) !== summaryBefore, 5_000, "the summary never followed the save");

    await app.click("metrics");
    const writesAfter = number(await app.waitText("metrics-hour-writes", (t) => number(t) >= writesBefore + 2));
    assert.ok(writesAfter >= writesBefore + 2, "the generation file and the manifest were counted");
    assert.ok(number(await app.waitText("metrics-hour-snapshots", () => true)) >= 1, "the edit's snapshot is counted");
    const canvases = await app.driver.executeScript<number>(
      "return document.querySelectorAll('[data-testid=metrics-dialog] canvas').length;",
    );
    assert.ok(canvases >= 6, `six charts drawn, found ${canvases} canvases`);
    await app.screenshot("metrics-panel");
    await app.click("metrics-close");
    // Named by the version the saved copy holds: the import was version 1, the edit version 2.
    await app.waitText("last-saved", (t) => t.endsWith("big version 2"));

    // The page goes away (a reload would race the save); while it is away the edit is saved.
    const url = await app.driver.getCurrentUrl();
    await typeInto(app, 0, "city", "Quimper");
    await app.waitText("save-status", (t) => t !== "All changes saved", 5_000); // the edit reached the engine
    await app.driver.get("about:blank");
    // The debounce leaves the page five seconds to go; a save already on disk here would have
    // reached the page before it left, and the catch-up below would prove nothing.
    assert.ok(!existsSync(join(tables, "big.3.parquet")), "the save ran before the page went away");
    const deadline = Date.now() + 30_000;
    while (!existsSync(join(tables, "big.3.parquet"))) {
      assert.ok(Date.now() < deadline, "the save never happened while the page was away");
      await new Promise((r) => setTimeout(r, 100));
    }
    await app.driver.get(url);
    // Nothing else happens now, so only the catch-up can tell the page about the save of version 3.
    await app.waitText("last-saved", (t) => t.endsWith("big version 3"), 10_000);
    await app.screenshot("events-caught-up");
  } catch (e) {
    await app.screenshot("FAILED-events").catch(() => undefined);
    throw e;
  } finally {
    await app.stop();
  }
});

// Editing in the real app: edit a cell, undo and redo it, set a column in selected rows,
// preview and apply a transform, cancel a long one (the table stays as it was), and page through a diff of two versions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Key } from "selenium-webdriver";
import { withApp } from "../src/harness.ts";
import { clearCell, csvFile, goToRow, gridCell, newNotebook, select, typeInto, waitCell } from "../src/grid.ts";

const ROWS = 300_000;

test("edit, undo, redo, transform with preview, cancel a long transform, page a diff", async () => {
  await withApp(
    "editing",
    async (app) => {
      await newNotebook(app, "Cleaning");
      await app.click("import-data");
      await app.waitText("import-preview", (t) => t.includes("Lyon"));
      await app.click("import-start");
      await app.waitText("table-list", (t) => t.includes("sales"), 120_000);
      await waitCell(app, 0, "city", "Lyon");

      // A cell edit, undone and redone.
      await typeInto(app, 0, "city", "Marseille");
      await waitCell(app, 0, "city", "Marseille");
      await app.driver.wait(async () => (await app.prop("undo", "disabled")) === false, 5_000, "undo never enabled");
      await app.click("undo");
      await waitCell(app, 0, "city", "Lyon");
      await app.click("redo");
      await waitCell(app, 0, "city", "Marseille");

      // Delete clears a cell, and one Undo brings its value back: one change, not two.
      const before = await gridCell(app, 1, "city");
      assert.ok(before, "row 1 has a city");
      await clearCell(app, 1, "city");
      await app.driver.wait(async () => (await gridCell(app, 1, "city")) !== before, 10_000, "Delete never cleared the cell");
      await app.click("undo");
      await waitCell(app, 1, "city", before);

      // Many cells at once: select two rows, set their city.
      for (const row of [4, 5]) {
        await app.driver.executeScript(
          `for (const r of document.querySelectorAll('[data-testid=table-grid] .ag-row[row-index="' + arguments[0] + '"]')) {
             const box = r.querySelector('.ag-selection-checkbox input');
             if (box) { box.click(); return; }
           }`,
          row,
        );
      }
      await app.waitText("fill-selected", (t) => t.includes("2 selected rows"));
      await select(app, "fill-column", "city");
      await app.type("fill-value", "Bordeaux");
      await app.click("fill-apply");
      await waitCell(app, 4, "city", "Bordeaux");
      await waitCell(app, 5, "city", "Bordeaux");

      // A transform: preview first (counts and old → new rows), then apply; the grid stays
      // where the user was, far down the table.
      await goToRow(app, 150_001);
      await waitCell(app, 150000, "city", "Lyon");
      await app.click("open-transform");
      await select(app, "transform-kind", "upper");
      await select(app, "transform-column", "city");
      await app.click("transform-preview-button");
      const counts = await app.waitText("transform-counts", (t) => /rows change/.test(t), 60_000);
      assert.match(counts, /^300\D?000 rows change · 0 removed · 0 added/, counts);
      await app.waitText("transform-preview", (t) => t.includes("Lyon") && t.includes("LYON") && t.includes("MARSEILLE"));
      await app.screenshot("editing-transform-preview");
      await app.click("transform-apply");
      await app.driver.wait(async () => (await app.count("[data-testid=transform-dialog]")) === 0, 60_000, "apply never finished");
      await waitCell(app, 150000, "city", "LYON");
      await waitCell(app, 150001, "city", "PARIS");
      await goToRow(app, 1);
      await waitCell(app, 0, "city", "MARSEILLE");
      await waitCell(app, 1, "city", "PARIS");
      const info = (t: string) => t.split(/Saved|Unsaved|Saving/)[0]; // rows, columns, memory
      const applied = info(await app.waitText("table-list", (t) => t.includes("sales")));

      // A long transform, cancelled: the table stays as it was.
      await app.click("open-transform");
      await select(app, "transform-kind", "expression");
      await select(app, "transform-column", "city");
      await app.type("transform-a", "md5(repeat(city, 400))");
      await app.click("transform-apply");
      await app.waitText("transform-progress", (t) => t.includes("Applying"));
      await app.click("transform-cancel");
      await app.driver.wait(async () => (await app.count("[data-testid=transform-progress]")) === 0, 30_000, "the cancel never landed");
      await app.driver.actions().sendKeys(Key.ESCAPE).perform();
      await app.driver.wait(async () => (await app.count("[data-testid=transform-dialog]")) === 0, 5_000, "Esc did not close the dialog");
      await waitCell(app, 0, "city", "MARSEILLE");
      assert.equal(info(await app.waitText("table-list", () => true)), applied, "the cancelled transform changed nothing");

      // The diff of the imported table against now, paged.
      await app.click("open-versions");
      const list = await app.waitText("versions-list", (t) => t.includes("Opened") && t.includes("Set city = upper"));
      assert.match(list, /Set city of row 1 to "Marseille"/);
      assert.match(list, /Edited 2 cells/);
      assert.ok(!list.includes("md5"), "the cancelled transform is not in the history");
      const opened = await app.driver.findElement({ css: "[data-testid=versions-list] li:first-child button" });
      await opened.click();
      await app.waitText("diff-summary", (t) => /300\D?000 changed · 0 added · 0 removed/.test(t), 60_000);
      await app.waitText("diff-position", (t) => /^1–50 of 300\D?000$/.test(t));
      assert.match(await app.waitText("diff-row-0", () => true), /Lyon → MARSEILLE/);
      await app.click("diff-next");
      await app.waitText("diff-position", (t) => /^51–100 of/.test(t));
      await app.waitText("diff-row-50", (t) => /Nice → NICE/.test(t));
      await app.screenshot("editing-diff");
      await app.click("versions-close");

      // Every piece of work was recorded: the import, the applied and the cancelled transform.
      await app.click("task-counts");
      // One line per task: its label, the transform's expression, then its status.
      const tasks = await app.waitText("task-row", (t) => t.includes("Import") && t.includes("Transform sales"));
      assert.match(tasks, /^Import sales\.csv\b.*completed/m, tasks);
      assert.match(tasks, /^Transform sales\b.*completed/m, tasks);
      assert.match(tasks, /^Transform sales\b.*cancelled/m, tasks);
      await app.screenshot("editing-tasks");
      await app.click("tasks-close");

      // Far down the table, keep the first thousand rows: the grid, refreshed in place, ends at
      // the last row kept instead of showing blank rows past the end.
      await goToRow(app, 200_001);
      await waitCell(app, 200_000, "city", "NICE");
      await app.click("open-transform");
      await select(app, "transform-kind", "filter");
      await app.type("transform-a", "id < 1000");
      await app.click("transform-apply");
      await app.driver.wait(async () => (await app.count("[data-testid=transform-dialog]")) === 0, 60_000, "the filter never finished");
      await app.waitText("grid-rows", (t) => t.replace(/\D/g, "") === "1000");
      await waitCell(app, 999, "city", "LYON");
    },
    { env: { QUIRE_TEST_PICK_FILE: csvFile("sales.csv", ROWS) } },
  );
});

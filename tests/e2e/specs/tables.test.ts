// Tables in the real app: import a CSV through the dialog with its schema preview, see it in
// the grid, add a row and type its values, and scroll to the last row of a million-row table;
// a file past the memory limit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, existsSync, readFileSync } from "node:fs";
import { Key } from "selenium-webdriver";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fresh, replaceText, withApp } from "../src/harness.ts";
import { addSqlCell, csvFile, goToRow, gridCell, newNotebook, scrollToLastRow, SCROLLERS, typeInto, waitCell } from "../src/grid.ts";

test("import a CSV through the dialog with its schema preview, then read it in the grid", async () => {
  const file = csvFile("City Sales.csv", 500);
  await withApp(
    "tables-import",
    async (app) => {
      await newNotebook(app, "Imports");
      await app.click("import-data");
      await app.waitText("import-preview", (t) => t.includes("Lyon"));
      assert.equal(await app.prop("import-table-name", "value"), "city_sales");
      // The preview proposed types; the user renames a column before importing.
      const nameInput = await app.driver.findElement({ css: '[aria-label="Column 3 name"]' });
      await replaceText(app.driver, nameInput, "revenue");
      await app.click("import-start");
      await app.waitText("table-list", (t) => t.includes("city_sales") && t.includes("500 rows"));
      await app.driver.wait(async () => (await gridCell(app, 0, "city")) === "Lyon", 10_000, "the grid never showed row 0");
      assert.equal(await gridCell(app, 2, "revenue"), "2.5");
      const headerText = await app.driver.executeScript<string>(
        "return document.querySelector('[data-testid=table-grid] .ag-header-cell[col-id=\"revenue\"]').textContent;",
      );
      assert.match(headerText, /revenue\s*number/, "column headers show their types in words");
      // Sort by a column: the engine sorts and the grid pages through the result.
      const header = '[data-testid=table-grid] .ag-header-cell[col-id="revenue"] .ag-header-cell-label';
      await (await app.driver.findElement({ css: header })).click();
      await (await app.driver.findElement({ css: header })).click();
      await app.driver.wait(async () => (await gridCell(app, 0, "revenue")) === "499.5", 10_000, "never sorted descending");
      assert.equal(await gridCell(app, 1, "revenue"), "498.5");
      // Filter a column with its filter box.
      const filterBox = await app.driver.findElement({ css: '[data-testid=table-grid] input[aria-label^="city"]' });
      await filterBox.sendKeys("nic");
      await app.driver.wait(async () => (await gridCell(app, 0, "city")) === "Nice", 10_000, "never filtered");
      assert.equal(await gridCell(app, 0, "id"), "497", "Nice rows, still sorted by revenue descending");
      assert.equal(await gridCell(app, 1, "id"), "494");

      const parquet = join(app.dataDir, "data", "workspace", "imports.quire", "tables", "city_sales.1.parquet");
      assert.ok(existsSync(parquet), "the table was saved beside its notebook");
      await app.screenshot("tables-imported");
    },
    { env: { QUIRE_TEST_PICK_FILE: file } },
  );
});

test("add a row, type its values, find it in SQL, undo and redo it; paste a block, also past the end; go to a row", async () => {
  const file = csvFile("Shop.csv", 20);
  await withApp(
    "tables-add-row",
    async (app) => {
      await newNotebook(app, "Shop");
      await app.click("import-data");
      await app.waitText("import-preview", (t) => t.includes("Lyon"));
      await app.click("import-start");
      await app.waitText("table-list", (t) => t.includes("shop") && t.includes("20 rows"));
      await waitCell(app, 19, "city", "Paris");
      // Added at the end, empty; the grid goes to it.
      await app.click("add-row");
      await app.waitText("info-toast", (t) => t.includes("Added a row to shop"));
      await app.waitText("table-list", (t) => t.includes("21 rows"));
      await waitCell(app, 20, "city", "NULL");
      await typeInto(app, 20, "city", "Oslo");
      await waitCell(app, 20, "city", "Oslo");
      await typeInto(app, 20, "id", "999");
      await waitCell(app, 20, "id", "999");
      await app.waitText("save-status", (t) => t === "All changes saved", 30_000);
      await app.screenshot("tables-row-added");
      // SQL sees it as the grid shows it.
      await addSqlCell(app, "SELECT city, amount FROM shop WHERE id = 999");
      await fresh(async () => {
        await (await app.byTestId("cell-source")).sendKeys(Key.chord(Key.CONTROL, Key.ENTER));
      });
      await app.waitText("result-meta", (t) => /^1 row /.test(t), 30_000);
      await app.waitText("cell-output", (t) => t.includes("Oslo") && t.includes("NULL"));
      // Undo the two values and the row; redo them.
      for (let i = 0; i < 3; i++) {
        await app.driver.wait(async () => (await app.byTestId("undo")).isEnabled(), 10_000, "undo never became possible");
        await app.click("undo");
      }
      await app.waitText("table-list", (t) => t.includes("20 rows"));
      for (let i = 0; i < 3; i++) {
        await app.driver.wait(async () => (await app.byTestId("redo")).isEnabled(), 10_000, "redo never became possible");
        await app.click("redo");
      }
      await app.waitText("table-list", (t) => t.includes("21 rows"));
      await waitCell(app, 20, "city", "Oslo");
      // Go to row 2 (typed as people count rows): its first cell gets the focus, and a block
      // pasted from a spreadsheet there fills the cells from it.
      const focusedRow = (row: number) => async () =>
        app.driver.executeScript<boolean>(
          "const f = document.querySelector('[data-testid=table-grid] .ag-cell-focus'); return !!f && f.closest('.ag-row').getAttribute('row-index') === arguments[0];",
          String(row),
        );
      await app.type("grid-goto", "2" + Key.ENTER);
      await app.driver.wait(focusedRow(1), 10_000, "Go to row never focused row 2");
      await app.driver.executeScript(
        `const data = new DataTransfer();
         data.setData("text/plain", "100\\tBergen\\t1.25\\n101\\tTromso\\t2.5\\n");
         document.querySelector("[data-testid=table-grid] .ag-cell-focus").dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));`,
      );
      await waitCell(app, 1, "city", "Bergen");
      await waitCell(app, 1, "id", "100");
      await waitCell(app, 2, "amount", "2.5");
      await goToRow(app, 21);
      await app.driver.wait(focusedRow(20), 10_000, "Go to row never focused row 21");
      // A block longer than the table, pasted at its last row: the row it needs is added.
      await app.driver.executeScript(
        `const data = new DataTransfer();
         data.setData("text/plain", "500\\tOdense\\t9.5\\n501\\tAarhus\\t10.5\\n");
         document.querySelector("[data-testid=table-grid] .ag-cell-focus").dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));`,
      );
      await app.waitText("table-list", (t) => t.includes("22 rows"));
      await waitCell(app, 20, "city", "Odense");
      await waitCell(app, 21, "city", "Aarhus");
      await waitCell(app, 21, "amount", "10.5");
      assert.equal(await app.count("[data-testid=ui-error]"), 0, "the window never broke");
    },
    { env: { QUIRE_TEST_PICK_FILE: file } },
  );
});

test("scroll to the last row of a 1,000,000-row table", async () => {
  const rows = 1_000_000;
  const file = csvFile("million.csv", rows);
  await withApp(
    "tables-million",
    async (app) => {
      await newNotebook(app, "Big");
      await app.click("import-data");
      await app.waitText("import-preview", (t) => t.includes("Lyon"));
      await app.click("import-start");
      // The row count is formatted for the user's locale: 1,000,000 or 1 000 000 or 1000000.
      await app.waitText("table-list", (t) => /1\D?000\D?000 rows/.test(t), 120_000);
      await app.driver.wait(async () => (await gridCell(app, 0, "id")) === "0", 10_000);
      // Scroll to the very bottom the way a user dragging the scrollbar would (the grid sizes
      // its scroll area as rows load, so the helper keeps pulling until the last row is there).
      await scrollToLastRow(app, rows, String(rows - 1));
      // A row's cells render over a few frames (AG Grid's animation frames): on a loaded machine
      // the id can be there a moment before the city, so wait for it rather than read it once.
      const city = ["Lyon", "Paris", "Nice"][(rows - 1) % 3]!;
      await app.driver.wait(
        async () => (await gridCell(app, rows - 1, "city")) === city,
        10_000,
        `the last row's city never became ${city}`,
      );
      await app.screenshot("tables-last-row");
    },
    { env: { QUIRE_TEST_PICK_FILE: file } },
  );
});

test("a SQL cell's result is kept as a table and exported", async () => {
  const file = csvFile("sales.csv", 300);
  const out = join(mkdtempSync(join(tmpdir(), "quire-e2e-out-")), "by_city.csv");
  await withApp(
    "tables-sql",
    async (app) => {
      await newNotebook(app, "Queries");
      await app.click("import-data");
      await app.waitText("import-preview", (t) => t.includes("Lyon"));
      await app.click("import-start");
      await app.waitText("table-list", (t) => t.includes("sales"));
      await app.click("add-sql-cell");
      const editor = await app.byTestId("cell-source");
      await editor.click();
      // A typo first: the error names its place in the query.
      await editor.sendKeys("SELECT city, count(*) AS n FROM sales GROUP BY cty", Key.chord(Key.CONTROL, Key.ENTER));
      await app.waitText("cell-output", (t) => t.includes("The query has a problem") && /line 1, column \d+/.test(t));
      await editor.sendKeys(Key.BACK_SPACE, Key.BACK_SPACE, "ity ORDER BY city", Key.chord(Key.CONTROL, Key.ENTER));
      await app.waitText("result-meta", (t) => t.startsWith("3 rows"));
      const text = await app.waitText("cell-output", (t) => t.includes("Lyon"));
      assert.match(text, /Lyon\s*100/);
      await app.click("keep-result");
      await app.type("keep-result-name", "by_city");
      await app.click("keep-result-save");
      await app.waitText("table-list", (t) => t.includes("by_city") && t.includes("3 rows"));
      await app.click("export-by_city");
      await app.waitText("info-toast", (t) => t.includes("Exported by_city"));
      assert.equal(readFileSync(out, "utf8"), "city,n\nLyon,100\nNice,100\nParis,100\n");
      await app.screenshot("tables-sql");
      // The result itself can be written out too, without keeping it as a table.
      await app.click("export-result");
      await app.waitText("info-toast", (t) => t.includes("Exported the result"));
      assert.equal(readFileSync(out, "utf8"), "city,n\nLyon,100\nNice,100\nParis,100\n");

      // A query that would run for minutes shows its progress and stops on Cancel.
      await app.click("add-sql-cell");
      await app.driver.wait(async () => (await app.count('[data-testid="cell-source"]')) === 2, 5000);
      await fresh(async () => {
        const long = (await app.driver.findElements({ css: '[data-testid="cell-source"]' }))[1]!;
        await long.click();
        await long.sendKeys(
          "SELECT a.value * b.value AS p FROM generate_series(1, 200000) a CROSS JOIN generate_series(1, 200000) b",
          Key.chord(Key.CONTROL, Key.ENTER),
        );
      });
      await app.waitText("cell-running", (t) => /rows so far/.test(t), 20_000);
      await app.click("cancel-run");
      await app.waitText("cell-output", (t) => t.includes("Cancelled"), 10_000);
    },
    { env: { QUIRE_TEST_PICK_FILE: file, QUIRE_TEST_SAVE_FILE: out } },
  );
});

test("the grid keeps scrolling while a 1M-row Parquet export runs (frame gaps reported)", async (t) => {
  const rows = 1_000_000;
  const file = csvFile("frames.csv", rows);
  const out = join(mkdtempSync(join(tmpdir(), "quire-e2e-out-")), "frames.parquet");
  await withApp(
    "tables-frames",
    async (app) => {
      await newNotebook(app, "Frames");
      await app.click("import-data");
      await app.waitText("import-preview", (t) => t.includes("Lyon"));
      await app.click("import-start");
      await app.waitText("table-list", (t) => /1\D?000\D?000 rows/.test(t), 120_000);
      await app.driver.wait(async () => (await gridCell(app, 0, "id")) === "0", 10_000);
      // Scroll the grid every frame for 2 s and record the gaps between frames: once idle, once
      // while the export runs. Xvfb renders in software, so the idle run is the yardstick.
      const measure = () =>
        app.driver.executeAsyncScript<{ maxGap: number; frames: number; exporting: boolean }>(
          `const done = arguments[arguments.length - 1];
           ${SCROLLERS}
           const scroller = scrollers[0];
           const exporting = !!document.querySelector('[data-testid=export-progress]');
           let last = performance.now(), maxGap = 0, frames = 0;
           const end = last + 2000;
           function step(now) {
             maxGap = Math.max(maxGap, now - last);
             last = now;
             frames++;
             scroller.scrollTop += 280; // ten rows a frame: a brisk wheel scroll
             if (now < end) requestAnimationFrame(step);
             else done({ maxGap, frames, exporting });
           }
           requestAnimationFrame(step);`,
        );
      const idle = await measure();
      await app.click("export-frames");
      await app.waitText("export-progress", (t) => t.includes("Exporting frames"));
      const busy = await measure();
      t.diagnostic(
        `frames in 2 s / longest gap: idle ${idle.frames} / ${idle.maxGap.toFixed(1)} ms, ` +
          `during the export ${busy.frames} / ${busy.maxGap.toFixed(1)} ms`,
      );
      assert.ok(busy.exporting, "the export was running while the grid scrolled");
      // Two cores: the export holds one, the webview and the grid's pages share the other, so
      // some slowdown is expected; a frozen window is not.
      assert.ok(busy.frames >= idle.frames / 3, `the export stalled drawing: ${busy.frames} vs ${idle.frames} frames`);
      assert.ok(
        busy.maxGap < Math.max(250, idle.maxGap * 3),
        `a frozen frame during the export: ${busy.maxGap.toFixed(1)} ms (idle ${idle.maxGap.toFixed(1)} ms)`,
      );
      await app.waitText("info-toast", (t) => t.includes("Exported frames"), 60_000);
      assert.ok(existsSync(out), "the export finished");
    },
    { env: { QUIRE_TEST_PICK_FILE: file, QUIRE_TEST_SAVE_FILE: out } },
  );
});

test("a file larger than the memory limit is refused in words and nothing is created", async () => {
  await withApp(
    "tables-too-large",
    async (app) => {
      await newNotebook(app, "Limits");
      await app.click("import-data");
      await app.waitText("import-preview", (t) => t.includes("Lyon"));
      await app.click("import-start");
      const error = await app.waitText("import-error", (t) => t.length > 0, 60_000);
      assert.match(error, /more data than Quire may hold in memory/, error);
      assert.match(error, /1 MiB/, error);
      assert.match(error, /limits\.table_memory_mb/, error);
      const tables = await app.driver.executeScript<string>(
        "return document.querySelector('[data-testid=table-list]')?.textContent ?? '';",
      );
      assert.doesNotMatch(tables, /big/, "no table was created");
    },
    { env: { QUIRE_TEST_PICK_FILE: csvFile("big.csv", 200_000), QUIRE_LIMITS__TABLE_MEMORY_MB: "1" } },
  );
});

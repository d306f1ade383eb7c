// Linked tables in the real app, as a user with a file too big to copy works: write a
// 3,000,000-row Parquet file from a query, link it (read where it lies), scroll to its last row,
// start sorting it and cancel (the bar shows how far the sort has read), sort it, edit a cell
// of the sorted view (kept beside the file), undo and redo it, delete a
// row of the view, keep only the rows of its last two million ids (a transform kept beside the
// file as deleted rows), add a row at its end and type its values (kept beside the file too),
// preview an upper-casing of every city (more values than edits hold: it would write a copy),
// replace a value by a transform (an edited cell beside the file), see Saved, restart, and find the edit at its row, the rows gone and the new row; then
// the file goes away and the link shows as missing until removed; last, a folder of copies is
// linked with a pattern that picks two of its files, and a folder of CSV exports converted and
// linked, then a column of it renamed (written again as a copy). The file itself never changes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Key } from "selenium-webdriver";
import { fresh, startApp, type QuireApp } from "../src/harness.ts";
import { resultRows, runSql } from "../src/cells.ts";
import { addSqlCell, newNotebook, openTable, scrollToLastRow, select, typeInto, waitCell, waitCellAtEnd } from "../src/grid.ts";

const ROWS = 3_000_000;
const MILLIONS = /3\D?000\D?000 rows/;
/** The rows shown once one is deleted. */
const ONE_LESS = /2\D?999\D?999 rows/;
/** The rows shown once the first million are filtered away too. */
const KEPT = /1\D?999\D?999 rows/;
/** The rows shown once a row is added to those. */
const ADDED = /2\D?000\D?000 rows/;

test("link a 3,000,000-row Parquet file, page to its end, sort it, edit a cell, restart", async () => {
  const scratch = mkdtempSync(join(tmpdir(), "quire-e2e-linked-"));
  const out = join(scratch, "trips.parquet");
  const months = join(scratch, "months");
  const env = { QUIRE_TEST_SAVE_FILE: out, QUIRE_TEST_PICK_FILE: out, QUIRE_TEST_PICK_FOLDER: months };
  const first = await startApp({ env });
  const dataDir = first.dataDir;
  let fileBytes = 0;
  try {
    await newNotebook(first, "Big data");
    // The file: a query's result written as Parquet through the result's Export (in id order:
    // without ORDER BY, the engine's partitions interleave).
    await addSqlCell(
      first,
      `SELECT value AS id, CASE value % 3 WHEN 0 THEN 'Lyon' WHEN 1 THEN 'Paris' ELSE 'Nice' END AS city, value * 0.5 AS amount FROM generate_series(0, ${ROWS - 1}) ORDER BY id`,
    );
    await fresh(async () => {
      await (await first.byTestId("cell-source")).sendKeys(Key.chord(Key.CONTROL, Key.ENTER));
    });
    await first.waitText("result-meta", (t) => MILLIONS.test(t), 120_000);
    await first.click("export-result");
    await first.waitText("info-toast", (t) => t.includes("Exported the result"), 120_000);
    fileBytes = statSync(out).size;
    const before = readFileSync(out);

    // Link it: the dialog offers copy or link for Parquet.
    await first.click("import-data");
    await first.waitText("import-preview", (t) => t.includes("Lyon"));
    await first.click("import-mode-link");
    assert.equal(await first.driver.findElement({ css: "[data-testid=import-start]" }).getText(), "Link");
    await first.click("import-start");
    await first.waitText("table-list", (t) => t.includes("trips") && MILLIONS.test(t), 30_000);
    assert.equal(await first.driver.findElement({ css: "[data-testid=table-linked-trips]" }).getText(), "Linked");
    await first.waitText("info-toast", (t) => t.includes("Linked trips"));
    await waitCell(first, 0, "city", "Lyon");
    await first.waitText("linked-note", (t) => t.includes(out));
    await first.screenshot("linked-table");

    // Page to the end: read from the last row group only.
    await scrollToLastRow(first, ROWS, String(ROWS - 1));
    await waitCell(first, ROWS - 1, "city", ["Lyon", "Paris", "Nice"][(ROWS - 1) % 3]!);

    // Sort by city: while the engine sorts the file's 3,000,000 rows (out of memory: keys and
    // positions, spilling), the grid bar says how far it has read; Cancel stops the sort and
    // the grid goes back to the table as it is.
    const cityHeader = '[data-testid=table-grid] .ag-header-cell[col-id="city"]';
    await (await first.driver.findElement({ css: `${cityHeader} .ag-header-cell-label` })).click();
    const making = await first.waitText("view-progress", (t) => /^Sorting 3,000,000 rows… \d+% read/.test(t), 30_000);
    assert.match(making, /Cancel$/, making);
    await first.screenshot("linked-sorting");
    await first.click("view-cancel");
    await first.driver.wait(async () => (await first.count("[data-testid=view-progress]")) === 0, 30_000, "the progress line stayed");
    assert.equal(await (await first.driver.findElement({ css: cityHeader })).getAttribute("aria-sort"), "none");
    await waitCell(first, 0, "id", "0");
    await waitCell(first, 1, "id", "1");

    // Sort descending by amount: the engine sorts the file's rows.
    const header = '[data-testid=table-grid] .ag-header-cell[col-id="amount"] .ag-header-cell-label';
    await (await first.driver.findElement({ css: header })).click();
    await (await first.driver.findElement({ css: header })).click();
    await waitCell(first, 0, "id", String(ROWS - 1));
    await waitCell(first, 1, "id", String(ROWS - 2));

    // Edit a cell of the sorted view: the row at the top is the file's last (id 2,999,999).
    // The edit is kept beside the file: the grid shows it, SQL reads it, undo takes it back.
    const lastCity = ["Lyon", "Paris", "Nice"][(ROWS - 1) % 3]!;
    await waitCell(first, 0, "city", lastCity);
    await typeInto(first, 0, "city", "Marseille");
    await waitCell(first, 0, "city", "Marseille");
    await first.waitText("save-status", (t) => t === "All changes saved");
    // The buttons follow the engine's answer to the edit's event.
    const enabled = (id: string) => async () => (await first.byTestId(id)).isEnabled();
    await first.driver.wait(enabled("undo"), 30_000, "undo never became possible");
    await first.click("undo");
    await waitCell(first, 0, "city", lastCity);
    await first.driver.wait(enabled("redo"), 30_000, "redo never became possible");
    await first.click("redo");
    await waitCell(first, 0, "city", "Marseille");
    await first.waitText("save-status", (t) => t === "All changes saved");
    await first.screenshot("linked-edited");

    // Delete the second row of the sorted view (id 2,999,998): it is left out of every read,
    // the file keeps it.
    await waitCell(first, 1, "id", String(ROWS - 2));
    await first.driver.executeScript(
      `for (const r of document.querySelectorAll('[data-testid=table-grid] .ag-row[row-index="1"]')) {
         const box = r.querySelector('.ag-selection-checkbox input');
         if (box) { box.click(); return; }
       }`,
    );
    await first.waitText("delete-rows", (t) => t === "Delete 1 row");
    await first.click("delete-rows");
    await first.waitText("info-toast", (t) => t.includes("Deleted 1 row of trips"));
    await waitCell(first, 1, "id", String(ROWS - 3));
    await waitCell(first, 0, "city", "Marseille");
    await first.waitText("table-list", (t) => ONE_LESS.test(t), 30_000);
    await first.waitText("save-status", (t) => t === "All changes saved");

    // Keep rows where id >= 1,000,000: the preview counts what goes, the apply keeps it beside
    // the file as deleted rows.
    await first.click("open-transform");
    await first.waitText("transform-linked-note", (t) => t.includes("kept beside them"));
    await select(first, "transform-kind", "filter");
    await first.type("transform-a", "id >= 1000000");
    await first.click("transform-preview-button");
    const counts = await first.waitText("transform-counts", (t) => /removed/.test(t), 120_000);
    assert.match(counts, /^0 rows change · 1\D?000\D?000 removed · 0 added/, counts);
    await first.waitText("transform-preview", (t) => t.includes("Lyon") && t.includes("Paris"));
    await first.screenshot("linked-transform-preview");
    await first.click("transform-apply");
    await first.driver.wait(async () => (await first.count("[data-testid=transform-dialog]")) === 0, 120_000, "apply never finished");
    await first.waitText("table-list", (t) => KEPT.test(t), 30_000);
    // The grid is refreshed in place: still sorted by amount, descending; unsorted, the kept
    // rows start at id 1,000,000.
    await waitCell(first, 0, "id", String(ROWS - 1));
    await waitCell(first, 1, "id", String(ROWS - 3));
    await (await first.driver.findElement({ css: header })).click();
    await waitCell(first, 0, "id", "1000000");
    await first.waitText("save-status", (t) => t === "All changes saved");

    // Add a row: it goes after the file's last row, empty, and the grid goes to it; its values
    // are typed in like any row's, and kept beside the file like the edits.
    const kept = ROWS - 1 - 1_000_000;
    assert.equal(await (await first.driver.findElement({ css: '[data-testid=table-grid] .ag-header-cell[col-id="amount"]' })).getAttribute("aria-sort"), "none");
    await first.click("add-row");
    await first.waitText("info-toast", (t) => t.includes("Added a row to trips") && t.includes("stays as it is"));
    await first.waitText("table-list", (t) => ADDED.test(t), 30_000);
    await waitCell(first, kept, "city", "NULL");
    await typeInto(first, kept, "id", String(ROWS));
    await waitCell(first, kept, "id", String(ROWS));
    await typeInto(first, kept, "city", "Bordeaux");
    await waitCell(first, kept, "city", "Bordeaux");
    await waitCell(first, kept - 1, "city", "Marseille");
    await first.waitText("save-status", (t) => t === "All changes saved");
    await first.screenshot("linked-row-added");

    // Change values: upper-casing every city would change two million values, more than are
    // kept beside the file: its preview says every row changes (applied, it would write a
    // copy); a replace that changes one value is kept as an edited cell (found over the whole
    // file by the engine), shown at its row.
    await first.click("open-transform");
    await first.waitText("transform-linked-note", (t) => t.includes("writes a copy of the table"));
    await select(first, "transform-kind", "upper");
    await select(first, "transform-column", "city");
    await first.click("transform-preview-button");
    const everyRow = await first.waitText("transform-counts", (t) => /change/.test(t), 120_000);
    assert.match(everyRow, /^2\D?000\D?000 rows change · 0 removed · 0 added/, everyRow);
    await first.waitText("transform-preview", (t) => t.includes("LYON") || t.includes("PARIS") || t.includes("NICE"));
    await select(first, "transform-kind", "replace");
    await select(first, "transform-column", "city");
    await first.type("transform-a", "Marseille");
    await first.type("transform-b", "Marseille-Provence");
    await first.click("transform-preview-button");
    const changed = await first.waitText("transform-counts", (t) => /change/.test(t), 120_000);
    assert.match(changed, /^1 rows? changes? · 0 removed · 0 added/, changed);
    await first.waitText("transform-preview", (t) => t.includes("Marseille-Provence"));
    await first.click("transform-apply");
    await first.driver.wait(async () => (await first.count("[data-testid=transform-dialog]")) === 0, 120_000, "apply never finished");
    // The grid stays at the table's end, where the new value is.
    await waitCellAtEnd(first, kept - 1, "city", "Marseille-Provence");
    await waitCellAtEnd(first, kept, "id", String(ROWS));
    await first.waitText("save-status", (t) => t === "All changes saved");
    assert.deepEqual(readFileSync(out), before, "the linked file never changes");
  } catch (e) {
    await first.screenshot("FAILED-linked-first").catch(() => undefined);
    throw e;
  } finally {
    await first.stop();
  }

  const again = await startApp({ dataDir, env });
  try {
    await again.waitText("notebook-list", (t) => t.includes("Big data"));
    await (await again.driver.findElement({ css: '[data-testid="notebook-list"] button' })).click();
    const list = await again.waitText("table-list", (t) => t.includes("trips") && t.includes("Linked"));
    assert.match(list, ADDED);
    await openTable(again, "trips");
    await waitCell(again, 0, "id", "1000000");
    // The edit is there, at its row, the deleted rows are gone and the added row is last,
    // after the restart.
    const shown = ROWS - 1_000_000;
    await scrollToLastRow(again, shown, String(ROWS));
    await waitCellAtEnd(again, shown - 1, "city", "Bordeaux");
    await waitCellAtEnd(again, shown - 2, "city", "Marseille-Provence");
    await waitCellAtEnd(again, shown - 3, "id", String(ROWS - 3));
    await again.screenshot("linked-after-restart");
  } catch (e) {
    await again.screenshot("FAILED-linked-reopened").catch(() => undefined);
    throw e;
  } finally {
    await again.stop();
  }

  // The file goes away (a drive unplugged): the link is listed as missing, with the reason, and
  // removing it leaves the file untouched.
  const away = `${out}.away`;
  renameSync(out, away);
  const third = await startApp({ dataDir, env });
  try {
    await third.waitText("notebook-list", (t) => t.includes("Big data"));
    await (await third.driver.findElement({ css: '[data-testid="notebook-list"] button' })).click();
    await third.waitText("table-list", (t) => t.includes("trips") && t.includes("Missing"));
    await openTable(third, "trips");
    await third.waitText("missing-note", (t) => t.includes("cannot be read"));
    assert.equal(await third.count("[data-testid=table-grid]"), 0, "no grid for a missing link");
    await third.screenshot("linked-missing");
    await third.click("delete-trips");
    await third.waitText("confirm", (t) => t.includes("are not touched"));
    await third.click("confirm-yes");
    await third.waitText("info-toast", (t) => t.includes("Removed the link trips"));
    // The notebook has no tables left: no list, and nothing missing.
    await third.driver.wait(async () => (await third.count("[data-testid^=table-missing-]")) === 0, 10_000);
    renameSync(away, out);
    assert.equal(statSync(out).size, fileBytes);

    // A folder of monthly files (the same file under three names, Spark's marker beside them):
    // linked with a pattern, only 2024's two files are read; a pattern that matches nothing is
    // said in the dialog, which stays open to correct it.
    mkdirSync(months);
    for (const name of ["2023-12.parquet", "2024-01.parquet", "2024-02.parquet"]) copyFileSync(out, join(months, name));
    writeFileSync(join(months, "_SUCCESS"), "");
    await third.click("link-folder");
    await third.waitText("link-folder-dialog", (t) => t.includes(months));
    await third.type("link-folder-pattern", "2025-*.parquet");
    await third.click("link-folder-go");
    await third.waitText("link-folder-error", (t) => t.includes("2025-*.parquet") && t.includes("matches it"));
    // Erased with Backspace and typed over, as a user would: WebDriver's clear() sets the value
    // without the input event React listens for, so the old pattern came back (CI, 1 run).
    const pattern = await third.byTestId("link-folder-pattern");
    const typed = ((await pattern.getAttribute("value")) ?? "").length;
    await pattern.sendKeys(Key.END, ...Array<string>(typed).fill(Key.BACK_SPACE), "2024-*.parquet");
    await third.driver.wait(
      async () => (await (await third.byTestId("link-folder-pattern")).getAttribute("value")) === "2024-*.parquet",
      10_000,
      "the pattern was not replaced",
    );
    await third.screenshot("linked-folder-pattern");
    await third.click("link-folder-go");
    await third.waitText("table-list", (t) => t.includes("months") && /6\D?000\D?000 rows/.test(t), 30_000);
    assert.equal(await third.count("[data-testid=link-folder-dialog]"), 0, "the dialog closes once linked");
    // Linked and opened at once.
    await third.waitText("linked-note", (t) => t.includes(join(months, "2024-*.parquet")));

    // CSV exports in the same folder (one gzipped, one holding decimals where the first has
    // whole numbers): linked with a pattern that picks them, they are converted into Parquet in
    // the notebook, as one table.
    mkdirSync(join(months, "csv"));
    const csvRows = (from: number, to: number, amount: (i: number) => string) =>
      ["id,city,amount", ...Array.from({ length: to - from }, (_, k) => `${from + k},${(from + k) % 2 ? "Oslo" : "Lyon"},${amount(from + k)}`)].join("\n") + "\n";
    // January has one row with a field too many, far past the rows its columns are read from.
    const january = csvRows(0, 40_000, (i) => String(i)).split("\n");
    january.splice(30_001, 0, "30000,Oslo,5,extra");
    writeFileSync(join(months, "csv", "2024-01.csv"), january.join("\n"));
    writeFileSync(join(months, "csv", "2024-02.csv.gz"), gzipSync(csvRows(40_000, 80_000, (i) => String(i))));
    writeFileSync(join(months, "csv", "2024-03.csv"), csvRows(80_000, 120_000, (i) => `${i}.5`));
    await third.click("link-folder");
    await third.waitText("link-folder-dialog", (t) => t.includes(months));
    const nameField = await third.byTestId("link-folder-name");
    const typedName = ((await nameField.getAttribute("value")) ?? "").length;
    await nameField.sendKeys(Key.END, ...Array<string>(typedName).fill(Key.BACK_SPACE), "exports");
    await third.type("link-folder-pattern", "csv/*");
    // Refused as read by default, naming the file and line; linked with the row skipped and
    // listed once the user chooses so.
    await third.click("link-folder-go");
    await third.waitText("link-folder-error", (t) => t.includes("2024-01.csv") && t.includes("30002"), 60_000);
    await third.click("link-folder-csv-options");
    await third.click("link-folder-skip-bad-rows");
    await third.click("link-folder-go");
    await third.waitText("link-folder-skipped", (t) => t.includes("2024-01.csv, line 30002: 4 fields where 3"), 60_000);
    await third.click("link-folder-done");
    await third.waitText("table-list", (t) => t.includes("exports") && /120\D?000 rows/.test(t), 60_000);
    await third.waitText("linked-note", (t) => t.includes(`A copy of ${join(months, "csv/*")} as Parquet`));
    await runSql(third, "SELECT count(*) AS n, sum(amount) AS total, max(id) AS last FROM exports");
    // 0 + … + 119,999 and a half for each of the last 40,000 rows.
    const total = (119_999 * 120_000) / 2 + 20_000;
    const got = await resultRows(third, (r) => r.length === 1 && r[0]!.some((c) => c.replace(/\D/g, "") === "119999"));
    assert.deepEqual(got[0]!.slice(-3).map((c) => c.replace(/\D/g, "")), ["120000", String(total), "119999"]);
    await third.screenshot("linked-csv-folder");

    // A column renamed: the converted table is written again as a copy with the new name (the
    // CSV files stay as they are), and SQL reads it.
    await third.click("open-transform");
    await select(third, "transform-kind", "rename");
    await select(third, "transform-column", "amount");
    await third.type("transform-a", "total");
    await third.click("transform-preview-button");
    await third.waitText("transform-counts", (t) => t.includes("new columns: total") && t.includes("removed columns: amount"), 60_000);
    await third.click("transform-apply");
    await third.driver.wait(async () => (await third.count("[data-testid=transform-dialog]")) === 0, 120_000, "the rename never finished");
    await third.waitText("info-toast", (t) => t.includes("Rename column: done"));
    // Its copy still says which files it came from.
    await third.waitText("linked-note", (t) => t.includes(`A copy of ${join(months, "csv/*")} as Parquet`));
    await runSql(third, "SELECT sum(total) AS total FROM exports");
    await resultRows(third, (r) => r.length === 1 && r[0]![0]!.replace(/\D/g, "") === String(total));
  } catch (e) {
    await third.screenshot("FAILED-linked-missing").catch(() => undefined);
    throw e;
  } finally {
    await third.stop();
  }
});

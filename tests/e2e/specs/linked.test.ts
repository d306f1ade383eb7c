// Linked tables in the real app, as a user with a file too big to copy works: write a
// 3,000,000-row Parquet file from a query, link it (read where it lies), scroll to its last row,
// sort it, find it read-only, copy it into the notebook to edit a cell, see Saved, restart, and
// find the link and the edit again; then the file goes away and the link shows as missing until
// removed. The file itself never changes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, renameSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Key } from "selenium-webdriver";
import { fresh, startApp, type QuireApp } from "../src/harness.ts";
import { addSqlCell, newNotebook, openTable, scrollToLastRow, typeInto, waitCell } from "../src/grid.ts";

const ROWS = 3_000_000;
const MILLIONS = /3\D?000\D?000 rows/;

const tableState = (app: QuireApp, table: string) =>
  app.driver.executeScript<string | null>(
    `return document.querySelector('[data-testid="table-status-${table}"]')?.dataset.state ?? null;`,
  );

test("link a 3,000,000-row Parquet file, page to its end, sort it, copy it to edit, restart", async () => {
  const out = join(mkdtempSync(join(tmpdir(), "quire-e2e-linked-")), "trips.parquet");
  const env = { QUIRE_TEST_SAVE_FILE: out, QUIRE_TEST_PICK_FILE: out };
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

    // Sort descending by amount: the engine sorts the file's rows.
    const header = '[data-testid=table-grid] .ag-header-cell[col-id="amount"] .ag-header-cell-label';
    await (await first.driver.findElement({ css: header })).click();
    await (await first.driver.findElement({ css: header })).click();
    await waitCell(first, 0, "id", String(ROWS - 1));
    await waitCell(first, 1, "id", String(ROWS - 2));

    // Read-only: a cell does not open an editor, and Quire says how to edit.
    const cell = await first.driver.findElement({ css: '[data-testid=table-grid] .ag-row[row-index="0"] .ag-cell[col-id="city"]' });
    await cell.click();
    await first.driver.switchTo().activeElement().sendKeys(Key.ENTER);
    assert.equal(await first.count("[data-testid=table-grid] .ag-cell-inline-editing"), 0, "a linked cell opened an editor");
    assert.equal(await first.count("[data-testid=undo]"), 0, "no undo on a linked table");

    // Copy it into the notebook, then edit the copy like any table.
    await first.click("copy-into-notebook");
    await first.waitText("table-list", (t) => t.includes("trips_copy"), 120_000);
    await first.waitText("info-toast", (t) => t.includes("Copied trips into the notebook"), 120_000);
    await waitCell(first, 0, "city", "Lyon");
    await first.driver.wait(async () => (await tableState(first, "trips_copy")) === "saved", 120_000, "the copy was never saved");
    // The copy starts Saved: record what the status says from here, so "Saved" below is the
    // edit's snapshot and not the copy's own.
    await first.recordTexts("table-status-trips_copy");
    await typeInto(first, 0, "city", "Marseille");
    await first.driver.wait(
      async () => {
        const seen = await first.recordedTexts();
        return seen.some((t) => t === "Unsaved" || t.startsWith("Saving")) && seen.at(-1) === "Saved";
      },
      120_000,
      "the copy's edit was never saved",
    );
    await waitCell(first, 0, "city", "Marseille");
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
    const list = await again.waitText("table-list", (t) => t.includes("trips_copy") && t.includes("Linked"));
    assert.match(list, MILLIONS);
    await openTable(again, "trips");
    await waitCell(again, 0, "city", "Lyon");
    await scrollToLastRow(again, ROWS, String(ROWS - 1));
    await openTable(again, "trips_copy");
    await waitCell(again, 0, "city", "Marseille");
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
    await third.waitText("table-list", (t) => t.includes("trips_copy") && t.includes("Missing"));
    await openTable(third, "trips");
    await third.waitText("missing-note", (t) => t.includes("cannot be read"));
    assert.equal(await third.count("[data-testid=table-grid]"), 0, "no grid for a missing link");
    await third.screenshot("linked-missing");
    await third.click("delete-trips");
    await third.waitText("confirm", (t) => t.includes("are not touched"));
    await third.click("confirm-yes");
    await third.waitText("info-toast", (t) => t.includes("Removed the link trips"));
    await third.driver.wait(async () => !(await third.waitText("table-list", () => true)).includes("Missing"), 10_000);
    renameSync(away, out);
    assert.equal(statSync(out).size, fileBytes);
  } catch (e) {
    await third.screenshot("FAILED-linked-missing").catch(() => undefined);
    throw e;
  } finally {
    await third.stop();
  }
});

// A CSV too big to copy, in the real app: the import dialog converts it into Parquet inside the
// notebook's folder (progress bar, several parts on disk), the grid pages to its last row, SQL
// answers over it, it is still there after a restart, its folder gone it is said to be Quire's
// copy of the CSV, and deleting it deletes its files while the CSV stays as it was.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, renameSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { startApp, type QuireApp } from "../src/harness.ts";
import { runSql, resultRows } from "../src/cells.ts";
import { csvFile, newNotebook, openTable, scrollToLastRow, waitCell } from "../src/grid.ts";

const ROWS = 1_000_000;
const MILLION = /1\D?000\D?000 rows/;

/** The Parquet parts of the notebook's conversions. */
function parts(app: QuireApp): string[] {
  const converted = join(app.workspace, "big-csv.quire", "converted");
  if (!existsSync(converted)) return [];
  return readdirSync(converted).flatMap((d) =>
    readdirSync(join(converted, d)).filter((f) => /^part-\d+\.parquet$/.test(f)).map((f) => join(converted, d, f)),
  );
}

test("convert a 1,000,000-row CSV into Parquet, page it, query it, restart, delete it", async () => {
  const file = csvFile("big.csv", ROWS);
  const csvBefore = readFileSync(file);
  // Parts of 4 MiB: the 25 MB file becomes several, as a big file does at 256 MiB each.
  const env = { QUIRE_TEST_PICK_FILE: file, QUIRE_LIMITS__CONVERSION_PART_MB: "4" };
  const first = await startApp({ env });
  const dataDir = first.dataDir;
  try {
    await newNotebook(first, "Big CSV");
    await first.click("import-data");
    await first.waitText("import-preview", (t) => t.includes("Lyon"));
    // Small enough to copy by default; the user picks the conversion.
    await first.click("import-mode-convert");
    assert.equal(await first.driver.findElement({ css: "[data-testid=import-start]" }).getText(), "Convert");
    await first.click("import-start");
    await first.waitText("table-list", (t) => t.includes("big") && MILLION.test(t), 180_000);
    await first.waitText("info-toast", (t) => /Converted 1\D?000\D?000 rows into big/.test(t));
    assert.equal(await first.driver.findElement({ css: "[data-testid=table-linked-big]" }).getText(), "Converted");
    assert.ok(parts(first).length >= 5, `several parts on disk: ${parts(first).length}`);

    await waitCell(first, 0, "city", "Lyon");
    // It says which file it is a copy of, and that the file is not changed.
    await first.waitText("linked-note", (t) => t.includes(`A copy of ${file} as Parquet`) && t.includes(`does not change ${file}`));
    await scrollToLastRow(first, ROWS, String(ROWS - 1));
    await waitCell(first, ROWS - 1, "city", ["Lyon", "Paris", "Nice"][(ROWS - 1) % 3]!);
    await first.screenshot("converted-table");

    await first.click("add-sql-cell");
    await runSql(first, "SELECT count(*) AS n, sum(id) AS ids, sum(amount) AS amounts FROM big");
    const ids = (BigInt(ROWS) * BigInt(ROWS - 1)) / 2n;
    const digits = (s: string) => s.replace(/\D/g, "");
    await resultRows(
      first,
      (r) =>
        r.length === 1 &&
        digits(r[0]![0]!) === String(ROWS) &&
        digits(r[0]![1]!) === String(ids) &&
        digits(r[0]![2]!) === String(ids + BigInt(ROWS / 2)),
    );
  } catch (e) {
    await first.screenshot("FAILED-convert-first").catch(() => undefined);
    throw e;
  } finally {
    await first.stop();
  }

  // Quire's copy goes away (the notebook's folder cleaned by hand): the table is listed as
  // missing and says it was Quire's copy of the CSV, not a file of the user's to put back.
  const converted = join(first.workspace, "big-csv.quire", "converted");
  renameSync(converted, `${converted}.away`);
  const gone = await startApp({ dataDir, env });
  try {
    await gone.waitText("notebook-list", (t) => t.includes("Big CSV"));
    await (await gone.driver.findElement({ css: '[data-testid="notebook-list"] button' })).click();
    await gone.waitText("table-list", (t) => t.includes("big") && t.includes("Missing"));
    await openTable(gone, "big");
    await gone.waitText("missing-note", (t) => t.includes(`Quire's copy of ${file} in the notebook's folder`) && t.includes("open the file again"));
  } catch (e) {
    await gone.screenshot("FAILED-convert-gone").catch(() => undefined);
    throw e;
  } finally {
    await gone.stop();
  }
  if (existsSync(converted)) rmdirSync(converted); // made again, empty, by the app
  renameSync(`${converted}.away`, converted);

  const again = await startApp({ dataDir, env });
  try {
    await again.waitText("notebook-list", (t) => t.includes("Big CSV"));
    await (await again.driver.findElement({ css: '[data-testid="notebook-list"] button' })).click();
    await again.waitText("table-list", (t) => t.includes("Converted") && MILLION.test(t));
    await openTable(again, "big");
    await waitCell(again, 0, "city", "Lyon");
    assert.ok(parts(again).length >= 5);
    // Deleting the table deletes the Parquet Quire made; the CSV stays as it was.
    await again.click("delete-big");
    await again.waitText("confirm", (t) => t.includes("its Parquet files in the notebook's folder are removed"));
    await again.click("confirm-yes");
    await again.waitText("info-toast", (t) => t.includes("Deleted big"));
    await again.driver.wait(async () => parts(again).length === 0, 10_000, "the converted files stayed");
    assert.deepEqual(readFileSync(file), csvBefore, "the CSV never changes");
  } catch (e) {
    await again.screenshot("FAILED-convert-again").catch(() => undefined);
    throw e;
  } finally {
    await again.stop();
  }
});

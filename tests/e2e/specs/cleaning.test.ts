// Cleaning a file as statsmodels' co2.csv writes it, in the real app: dates held as whole
// numbers (19580329), a column of Yes/No, and types picked in the import dialog.
//  - A type picked that the values do not fit stops the import naming the value (it used to
//    make another type without a word); Yes/No read as true/false when picked so.
//  - Change type of the whole-number dates to a date reads the day they spell, and its preview
//    counts every value (it read days since 1970, the year 55,579, after "No differences").
//  - A length of time reads as PostgreSQL writes it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withApp, type QuireApp } from "../src/harness.ts";
import { newNotebook, select, waitCell } from "../src/grid.ts";
import { resultRows, runSql } from "../src/cells.ts";

const ROWS = 200;

function co2File(): string {
  const lines = ["date,co2,complete"];
  const start = Date.UTC(1958, 2, 29);
  for (let i = 0; i < ROWS; i++) {
    const day = new Date(start + i * 7 * 86_400_000).toISOString().slice(0, 10).replaceAll("-", "");
    lines.push(`${day},${(316.1 + i / 10).toFixed(1)},${i % 3 === 0 ? "No" : "Yes"}`);
  }
  const path = join(mkdtempSync(join(tmpdir(), "quire-e2e-co2-")), "co2.csv");
  writeFileSync(path, lines.join("\n") + "\n");
  return path;
}

/** Picks a column's type in the import dialog's preview, as React hears a select. */
async function pickType(app: QuireApp, column: number, kind: string) {
  await app.driver.executeScript(
    `const s = document.querySelector('select[aria-label="Column ' + arguments[0] + ' type"]');
     Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, 'value').set.call(s, arguments[1]);
     s.dispatchEvent(new Event('change', { bubbles: true }));`,
    column,
    kind,
  );
}

test("whole-number dates, Yes/No and picked types are cleaned as a user means them", async () => {
  await withApp(
    "cleaning",
    async (app) => {
      await newNotebook(app, "Mauna Loa");
      await app.click("import-data");
      await app.waitText("import-preview", (t) => t.includes("19580329") && t.includes("Yes"));
      // A whole-number type for decimals: said in the preview, and the import stops on it.
      await pickType(app, 2, "integer");
      await app.waitText("import-error", (t) => t.includes("316.1"));
      await app.click("import-start");
      await app.waitText("import-error", (t) => t.includes("316.1") && t.includes("co2"), 60_000);
      assert.equal(await app.count("[data-testid=import-dialog]"), 1, "nothing was imported");
      await pickType(app, 2, "float");
      await pickType(app, 3, "boolean");
      await app.waitText("import-preview", (t) => t.includes("true") && t.includes("false") && !t.includes("Yes"));
      await app.click("import-start");
      await app.waitText("table-list", (t) => t.includes("co2"), 120_000);
      await waitCell(app, 0, "complete", "false");
      await waitCell(app, 1, "complete", "true");
      await waitCell(app, 0, "date", "19580329");

      // Change type to date: numbers that spell no day are said in the dialog, in the layout
      // as the dialog offered it.
      await app.click("open-transform");
      await select(app, "transform-kind", "cast");
      await select(app, "transform-column", "co2");
      await select(app, "transform-a", "DATE");
      await app.click("transform-preview-button");
      await app.waitText("transform-error", (t) => t.startsWith("The transform cannot be previewed") && t.includes('"316" is not a date written as 20120131'));
      // The day the number spells, every value counted as changed.
      await select(app, "transform-column", "date");
      await select(app, "transform-a", "DATE");
      const layout = await app.driver.executeScript<string>(
        "const s = document.querySelector('[data-testid=transform-b]'); return s.options[s.selectedIndex].textContent;",
      );
      assert.equal(layout, "20120131");
      await app.click("transform-preview-button");
      const counts = await app.waitText("transform-counts", (t) => /rows change/.test(t), 60_000);
      assert.match(counts, new RegExp(`^${ROWS} rows change`), counts);
      await app.waitText("transform-preview", (t) => t.includes("19580329") && t.includes("1958-03-29"));
      await app.click("transform-apply");
      await app.driver.wait(async () => (await app.count("[data-testid=transform-dialog]")) === 0, 60_000, "apply never finished");
      await waitCell(app, 0, "date", "1958-03-29");
      await waitCell(app, 1, "date", "1958-04-05");

      // SQL over the cleaned table; a length of time in words.
      await app.click("add-sql-cell");
      await runSql(app, "SELECT count(*) FILTER (WHERE complete) AS yes, CAST(max(date) AS TIMESTAMP) - TIMESTAMP '1958-03-29 00:00:00' AS span FROM co2");
      const weeks = ROWS - 1;
      const yes = ROWS - Math.ceil(ROWS / 3);
      await resultRows(app, (r) => r.length === 1 && r[0]![0] === String(yes) && r[0]![1] === `${weeks * 7} days`);
      // The cast the dialog no longer sends is refused in SQL too, in words.
      await runSql(app, "SELECT CAST(19580329 AS DATE)");
      await app.waitText("cell-output", (t) => t.includes("The query has a problem") && t.includes("number is not a date") && t.includes("to_date"));
    },
    { env: { QUIRE_TEST_PICK_FILE: co2File() } },
  );
});

// The files analysts are sent, in the real app (issue 20): a German statistics export saved by
// Excel as "CSV" (Windows-1252, `;` between fields, decimal commas), gzipped. The dialog must
// say what it detected, show the text, numbers and day-first dates right, and import numbers
// that sum and dates that are dates.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { withApp } from "../src/harness.ts";
import { newNotebook } from "../src/grid.ts";
import { resultRows, runSql } from "../src/cells.ts";

const TOWNS = ["Köln", "München", "Düsseldorf", "Nürnberg", "Würzburg"];
const ROWS = 5_000;

/** gemeinden.csv.gz, the sum of its areas in hundredths (exact), and its rows dated in December. */
function europeanExport(): { path: string; areaCents: number; december: number } {
  const lines = ["Gemeinde;Fläche km²;Einwohner;Kennziffer;Stichtag"];
  let areaCents = 0;
  let december = 0;
  for (let i = 0; i < ROWS; i++) {
    const cents = 1_000 + ((i * 7_919) % 90_000);
    areaCents += cents;
    const area = `${Math.floor(cents / 100)},${String(cents % 100).padStart(2, "0")}`;
    // Kennziffer: codes like "05,3" that must stay text (the column also holds "k. A.").
    const code = i % 10 === 0 ? "k. A." : `0${i % 9},${i % 7}`;
    // Day first, with points: 31.12.2020 (a day past 12 in the first rows settles the order).
    const month = 1 + (i % 12);
    if (month === 12) december++;
    const day = `${13 + (i % 16)}.${String(month).padStart(2, "0")}.${2000 + (i % 21)}`;
    lines.push([`${TOWNS[i % TOWNS.length]} ${i}`, area, 1_000 + i, code, day].join(";"));
  }
  const dir = mkdtempSync(join(tmpdir(), "quire-e2e-formats-"));
  const path = join(dir, "gemeinden.csv.gz");
  // Node's "latin1" is ISO-8859-1, which Windows-1252 agrees with for every letter used here.
  writeFileSync(path, gzipSync(Buffer.from(lines.join("\r\n") + "\r\n", "latin1")));
  return { path, areaCents, december };
}

test("a gzipped Windows-1252 export with decimal commas imports as written", async () => {
  const file = europeanExport();
  await withApp(
    "formats",
    async (app) => {
      await newNotebook(app, "Gemeinden");
      await app.click("import-data");
      await app.waitText("import-preview", (t) => t.includes("München 1"));
      const detected = await app.driver.executeScript<string[]>(
        "return ['import-encoding', 'import-decimal', 'import-table-name'].map((id) => document.querySelector(`[data-testid=${id}]`).value);",
      );
      assert.deepEqual(detected, ["windows-1252", ",", "gemeinden"]);
      const kinds = await app.driver.executeScript<string[]>(
        "return [...document.querySelectorAll('[data-testid=import-preview] select[aria-label$=\" type\"]')].map((s) => s.value);",
      );
      assert.deepEqual(kinds, ["text", "float", "integer", "text", "date"]);
      // The dialog names how the dates are written, and shows them as they will be read.
      const writtenAs = await app.driver.executeScript<string>(
        "const s = document.querySelector('[data-testid=import-preview] select[aria-label=\"Column 5 written as\"]'); return s.selectedOptions[0].textContent;",
      );
      assert.equal(writtenAs, "as 31.01.2012");
      await app.waitText("import-preview", (t) => t.includes("2000-01-13"));
      await app.screenshot("formats-import-dialog");
      await app.click("import-start");
      await app.waitText("table-list", (t) => /gemeinden\s*5\D?000 rows/.test(t), 60_000);

      await app.click("add-sql-cell");
      await runSql(
        app,
        `SELECT CAST(round(sum("Fläche km²") * 100) AS BIGINT) AS cents, count(*) FILTER (WHERE "Gemeinde" LIKE 'Würzburg%') AS wue, min("Kennziffer") AS code, count(*) FILTER (WHERE date_part('month', "Stichtag") = 12) AS december, CAST(min("Stichtag") AS VARCHAR) AS first FROM gemeinden`,
      );
      const rows = await resultRows(app, (r) => r.length === 1 && r[0]!.length === 5);
      assert.equal(rows[0]![0]!.replace(/\D/g, ""), String(file.areaCents));
      assert.equal(rows[0]![1], String(ROWS / TOWNS.length));
      assert.equal(rows[0]![2], "00,0");
      assert.equal(rows[0]![3]!.replace(/\D/g, ""), String(file.december));
      assert.equal(rows[0]![4], "2000-01-13");
    },
    { env: { QUIRE_TEST_PICK_FILE: file.path } },
  );
});

// The files analysts are sent, in the real app (issue 20): a German statistics export saved by
// Excel as "CSV" (Windows-1252, `;` between fields, decimal commas), gzipped. The dialog must
// say what it detected, show the text and numbers right, and import numbers that sum.
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

/** gemeinden.csv.gz and the sum of its areas in hundredths (exact). */
function europeanExport(): { path: string; areaCents: number } {
  const lines = ["Gemeinde;Fläche km²;Einwohner;Kennziffer"];
  let areaCents = 0;
  for (let i = 0; i < ROWS; i++) {
    const cents = 1_000 + ((i * 7_919) % 90_000);
    areaCents += cents;
    const area = `${Math.floor(cents / 100)},${String(cents % 100).padStart(2, "0")}`;
    // Kennziffer: codes like "05,3" that must stay text (the column also holds "k. A.").
    const code = i % 10 === 0 ? "k. A." : `0${i % 9},${i % 7}`;
    lines.push([`${TOWNS[i % TOWNS.length]} ${i}`, area, 1_000 + i, code].join(";"));
  }
  const dir = mkdtempSync(join(tmpdir(), "quire-e2e-formats-"));
  const path = join(dir, "gemeinden.csv.gz");
  // Node's "latin1" is ISO-8859-1, which Windows-1252 agrees with for every letter used here.
  writeFileSync(path, gzipSync(Buffer.from(lines.join("\r\n") + "\r\n", "latin1")));
  return { path, areaCents };
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
        "return [...document.querySelectorAll('[data-testid=import-preview] select')].map((s) => s.value);",
      );
      assert.deepEqual(kinds, ["text", "float", "integer", "text"]);
      await app.screenshot("formats-import-dialog");
      await app.click("import-start");
      await app.waitText("table-list", (t) => /gemeinden\s*5\D?000 rows/.test(t), 60_000);

      await app.click("add-sql-cell");
      await runSql(
        app,
        `SELECT CAST(round(sum("Fläche km²") * 100) AS BIGINT) AS cents, count(*) FILTER (WHERE "Gemeinde" LIKE 'Würzburg%') AS wue, min("Kennziffer") AS code FROM gemeinden`,
      );
      const rows = await resultRows(app, (r) => r.length === 1 && r[0]!.length === 3);
      assert.equal(rows[0]![0]!.replace(/\D/g, ""), String(file.areaCents));
      assert.equal(rows[0]![1], String(ROWS / TOWNS.length));
      assert.equal(rows[0]![2], "00,0");
    },
    { env: { QUIRE_TEST_PICK_FILE: file.path } },
  );
});

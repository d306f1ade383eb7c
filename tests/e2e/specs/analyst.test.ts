// A data analyst's first hour, in the real app (issue 24): import an R-style file with NA and a
// zoned timestamp, query it, keep a second table, join two tables that share column names and
// keep the result, fill empty cells, undo with the grid's sort kept, delete a table, and run a
// heavy query and cancel it while another table's grid pages.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withApp, type QuireApp } from "../src/harness.ts";
import { gridCell, newNotebook, select, waitCell } from "../src/grid.ts";
import { resultRows, runSql } from "../src/cells.ts";

const ROWS = 60_000;
const DESTS = ["ATL", "ORD", "LAX"];

/** flights.csv as R's write.csv writes nycflights13: quoted text, NA for a flight that never
 *  left (every 37th), time_hour in UTC with its Z. */
function flightsCsv(): { path: string; missing: number } {
  const lines = ['"year","month","day","dep_time","dep_delay","carrier","tailnum","dest","time_hour"'];
  let missing = 0;
  for (let i = 0; i < ROWS; i++) {
    const cancelled = i % 37 === 0;
    if (cancelled) missing++;
    const delay = ((i * 7) % 120) - 10;
    const hour = String(5 + (i % 18)).padStart(2, "0");
    lines.push(
      [
        2013,
        1 + (i % 12),
        1 + (i % 28),
        cancelled ? "NA" : 500 + (i % 1800),
        cancelled ? "NA" : delay,
        `"C${i % 16}"`,
        `"N${i % 100}"`,
        `"${DESTS[i % DESTS.length]}"`,
        `2013-01-01T${hour}:00:00Z`,
      ].join(","),
    );
  }
  const dir = mkdtempSync(join(tmpdir(), "quire-e2e-analyst-"));
  const path = join(dir, "flights.csv");
  writeFileSync(path, lines.join("\n") + "\n");
  return { path, missing };
}

async function keepResult(app: QuireApp, table: string) {
  await app.click("keep-result");
  await app.type("keep-result-name", table);
  await app.click("keep-result-save");
  await app.waitText("table-list", (t) => t.includes(table), 60_000);
}

async function openTable(app: QuireApp, table: string) {
  await app.driver.executeScript(
    `for (const b of document.querySelectorAll('[data-testid=table-list] .table-name')) {
       // A click on the open table closes it: click only a table that is not open.
       if (b.textContent === arguments[0]) { if (!b.closest('li').classList.contains('selected')) b.click(); return; }
     }`,
    table,
  );
}

test("an analyst's first hour: NA, joins, fill, undo with sort, delete, cancel while paging", async () => {
  const flights = flightsCsv();
  await withApp(
    "analyst",
    async (app) => {
      await newNotebook(app, "Flights");

      // Import: NA is missing, not text; the zoned timestamp keeps its zone.
      await app.click("import-data");
      await app.waitText("import-preview", (t) => t.includes("ATL"));
      const kinds = await app.driver.executeScript<string[]>(
        "return [...document.querySelectorAll('[data-testid=import-preview] select[aria-label$=\" type\"]')].map((s) => s.value);",
      );
      assert.deepEqual(kinds, ["integer", "integer", "integer", "integer", "integer", "text", "text", "text", "timestamp_tz"]);
      await app.click("import-start");
      await app.waitText("table-list", (t) => /flights\s*60\D?000 rows/.test(t), 120_000);
      await waitCell(app, 0, "month", "1");
      assert.equal(await gridCell(app, 0, "dep_time"), "NULL", "NA shows as a missing value");

      // Query it: every NA arrived as a gap, no row was dropped.
      await app.click("add-sql-cell");
      await runSql(app, "SELECT count(*) AS flights, count(*) - count(dep_time) AS missing FROM flights");
      await resultRows(app, (r) => r.length === 1 && /^60\D?000$/.test(r[0]![0]!) && r[0]![1] === String(flights.missing));
      // A share of whole numbers is 0 here, as in PostgreSQL (DuckDB says 0.0…): a note says so.
      await runSql(app, "SELECT (count(*) - count(dep_time)) / count(*) AS share FROM flights");
      await resultRows(app, (r) => r.length === 1 && r[0]![0] === "0");
      await app.waitText("result-note", (t) => t.includes("divides whole numbers"));
      await runSql(app, "SELECT arrow_typeof(min(time_hour)) AS zone, min(time_hour) AS first FROM flights");
      await resultRows(app, (r) => r.length === 1 && r[0]![0]!.includes("UTC") && r[0]![1]!.startsWith("2013-01-01"));
      assert.equal(await app.count("[data-testid=result-note]"), 0, "no note for a query without a division");

      // A second table, then a join whose two sides share year and tailnum, kept as a table.
      await runSql(
        app,
        "SELECT 'N' || CAST(value AS VARCHAR) AS tailnum, 1990 + value % 20 AS year, 'Boeing' AS manufacturer FROM generate_series(0, 99)",
      );
      await app.waitText("result-meta", (t) => t.startsWith("100 rows"), 60_000);
      await keepResult(app, "planes");
      await runSql(app, "SELECT * FROM flights f JOIN planes p ON f.tailnum = p.tailnum WHERE f.month = 1");
      await app.waitText("result-meta", (t) => /rows/.test(t), 60_000);
      await keepResult(app, "flights_planes");
      await runSql(app, "SELECT min(year) AS flown, min(year_2) AS built FROM flights_planes");
      await resultRows(app, (r) => r.length === 1 && r[0]![0] === "2013" && r[0]![1] === "1990");

      // Fill the empty departure times in the flights grid.
      await openTable(app, "flights");
      await waitCell(app, 0, "month", "1");
      await app.click("open-transform");
      await select(app, "transform-kind", "fill_nulls");
      await select(app, "transform-column", "dep_time");
      await app.type("transform-a", "0");
      await app.click("transform-apply");
      await app.driver.wait(async () => (await app.count("[data-testid=transform-dialog]")) === 0, 60_000, "the fill never finished");
      await runSql(app, "SELECT count(*) - count(dep_time) AS still_missing FROM flights");
      await resultRows(app, (r) => r.length === 1 && r[0]![0] === "0");
      // Sort the flights grid by day, descending, then undo the fill.
      const header = '[data-testid=table-grid] .ag-header-cell[col-id="day"] .ag-header-cell-label';
      const sorted = (how: string) => `[data-testid=table-grid] .ag-header-cell[col-id="day"][aria-sort="${how}"]`;
      await (await app.driver.findElement({ css: header })).click();
      await app.driver.wait(async () => (await app.count(sorted("ascending"))) === 1, 10_000, "never sorted ascending");
      await (await app.driver.findElement({ css: header })).click();
      await app.driver.wait(async () => (await app.count(sorted("descending"))) === 1, 10_000, "never sorted descending");
      await waitCell(app, 0, "day", "28");
      await app.click("undo");
      await runSql(app, "SELECT count(*) - count(dep_time) AS missing_again FROM flights");
      await resultRows(app, (r) => r.length === 1 && r[0]![0] === String(flights.missing));
      // The grid refreshed in place: still sorted by day, descending.
      await waitCell(app, 0, "day", "28");
      assert.equal(await app.count('[data-testid=table-grid] .ag-header-cell[col-id="day"][aria-sort="descending"]'), 1);

      // Delete a table: after the confirmation it is gone, and so is its name.
      await app.click("delete-flights_planes");
      await app.click("confirm-yes");
      await app.driver.wait(
        async () => !(await app.waitText("table-list", () => true)).includes("flights_planes"),
        20_000,
        "the deleted table stayed in the list",
      );

      // A heavy query (10^9 joined rows into an aggregate); meanwhile another grid pages at once.
      await runSql(app, "SELECT a.carrier, count(*) FROM flights a JOIN flights b ON a.dest = b.dest GROUP BY a.carrier");
      await app.waitText("cell-running", () => true, 20_000);
      const opened = Date.now();
      await openTable(app, "planes");
      await waitCell(app, 0, "tailnum", "N0");
      const pageMs = Date.now() - opened;
      assert.equal(await app.count('[data-testid="cell-running"]'), 1, "the heavy query was still running");
      const cancelled = Date.now();
      await app.click("cancel-run");
      await app.waitText("cell-output", (t) => t.includes("Cancelled"), 10_000);
      const cancelMs = Date.now() - cancelled;
      console.log(`# analyst: grid page during the heavy query ${pageMs} ms, cancel shown after ${cancelMs} ms`);
      assert.ok(pageMs < 5_000, `the grid waited ${pageMs} ms behind the heavy query`);
      await app.screenshot("analyst-cancelled");
    },
    { env: { QUIRE_TEST_PICK_FILE: flights.path } },
  );
});

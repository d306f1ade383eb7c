// A PostgreSQL database in the real app, as an analyst whose data lives in one works: Debian's
// PostgreSQL on loopback with password logins; the password in a password file the app reads
// (PGPASSFILE), never typed into Quire. The user adds the database in the Connections panel
// (tested first), browses its tables, opens one with Query, keeps a small local table, joins
// it with two of the database's tables in a SQL cell (the answer equals Postgres's own), finds
// the connection attached again after a restart, and sees a port where nothing listens
// reported in words inside the dialog.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findFile, replaceText, startApp, type QuireApp } from "../src/harness.ts";
import { newNotebook, select } from "../src/grid.ts";
import { resultRows, runSql } from "../src/cells.ts";
import { freePort } from "../src/moto.ts";
import { PG_PASSWORD, PG_USER, startPostgres } from "../src/postgres.ts";

const SETUP = `
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, country text);
INSERT INTO customers SELECT i, 'customer ' || i, (ARRAY['FR', 'DE', 'JP', 'BR'])[1 + i % 4] FROM generate_series(1, 200) AS i;
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int REFERENCES customers, amount numeric(10, 2));
INSERT INTO orders SELECT i, 1 + i % 200, round((i % 97) * 1.5, 2) FROM generate_series(1, 5000) AS i;
CREATE TABLE regions_copy (country text, region text);
INSERT INTO regions_copy VALUES ('FR', 'Europe'), ('DE', 'Europe'), ('JP', 'Asia'), ('BR', 'Americas');
ANALYZE;`;

const JOIN = (orders: string, customers: string, regions: string) =>
  `SELECT r.region, count(*) AS orders, sum(o.amount) AS total FROM ${orders} o JOIN ${customers} c ON o.customer_id = c.id JOIN ${regions} r ON r.country = c.country GROUP BY r.region ORDER BY r.region`;

async function fill(app: QuireApp, testId: string, text: string) {
  await replaceText(app.driver, await app.byTestId(testId), text);
}

async function addDatabase(app: QuireApp, name: string, port: number) {
  await app.click("add-connection");
  await select(app, "connection-kind", "postgres");
  await fill(app, "connection-name", name);
  await fill(app, "connection-host", "127.0.0.1");
  await fill(app, "connection-port", String(port));
  await fill(app, "connection-user", PG_USER);
  await fill(app, "connection-database", "shop");
  await app.click("connection-test");
}

test("add a PostgreSQL database in the panel, browse it, query a table, join it with a local table, restart", async (t) => {
  const pg = await startPostgres();
  t.after(() => pg.stop());
  pg.psql("postgres", "CREATE DATABASE shop");
  pg.psql("shop", SETUP);
  const pgpass = join(mkdtempSync(join(tmpdir(), "quire-e2e-pgpass-")), "pgpass");
  writeFileSync(pgpass, `127.0.0.1:${pg.port}:*:${PG_USER}:${PG_PASSWORD}\n`, { mode: 0o600 });
  const env = { PGPASSFILE: pgpass, PGPASSWORD: "" };

  const first = await startApp({ env });
  const dataDir = first.dataDir;
  const theirs = pg
    .psql("shop", JOIN("orders", "customers", "regions_copy"))
    .split("\n")
    .map((line) => line.split(" | "));
  try {
    await newNotebook(first, "Shop");
    await addDatabase(first, "shop", pg.port);
    await first.waitText("connection-found", (text) => text.includes("PostgreSQL") && text.includes("3 tables"), 30_000);
    await first.screenshot("database-dialog");
    await first.click("connection-save");
    await first.waitText("connection-shop", (text) => text.includes(`:${pg.port}/shop`));

    // Its tables, listed at once; Query opens one in a SQL cell and runs it.
    await first.waitText("database-tables-shop", (text) => text.includes("orders") && text.includes("customers"), 30_000);
    await first.click("query-shop-public-customers");
    await first.waitText("result-meta", (text) => /100 rows/.test(text), 60_000);

    // A small table of the notebook's own, joined with two of the database's.
    await runSql(first, "SELECT * FROM (VALUES ('FR', 'Europe'), ('DE', 'Europe'), ('JP', 'Asia'), ('BR', 'Americas')) AS t(country, region)");
    await first.waitText("result-meta", (text) => /4 rows/.test(text), 60_000);
    await first.click("keep-result");
    await first.type("keep-result-name", "regions");
    await first.click("keep-result-save");
    await first.waitText("table-list", (text) => text.includes("regions"), 60_000);
    await runSql(first, JOIN("shop.public.orders", "shop.public.customers", "regions"));
    const ours = await resultRows(first, (rows) => rows.length === 3, 60_000);
    assert.deepEqual(
      ours.map((r) => r.slice(-3).map((c) => c.replace(/,/g, ""))),
      theirs,
      "the join in Quire equals Postgres's own answer",
    );
    await first.screenshot("database-joined");

    // Cancel in the cell stops the query on the server too, not only here.
    pg.psql("shop", "CREATE VIEW slow AS SELECT g AS x FROM pg_sleep(120), generate_series(1, 3) AS g");
    const runningThere = () =>
      pg.psql("shop", "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%\"slow\"%' AND pid <> pg_backend_pid()").trim();
    await runSql(first, "SELECT x FROM shop.public.slow");
    await first.driver.wait(async () => runningThere() === "1", 30_000, "the query never ran in Postgres");
    await first.click("cancel-run");
    await first.waitText("cell-output", (text) => text.includes("Cancelled"), 30_000);
    await first.driver.wait(async () => runningThere() === "0", 10_000, "Postgres still runs the cancelled cell's query");

    // A port where nothing listens: said in the dialog, in words, in seconds.
    await addDatabase(first, "down", await freePort());
    await first.waitText("connection-error", (text) => text.includes("could not be reached") && text.includes("nothing is listening"), 30_000);
  } catch (e) {
    await first.screenshot("FAILED-database-first").catch(() => undefined);
    throw e;
  } finally {
    await first.stop();
  }

  // The password is nowhere in the notebook's files.
  const notebook = readFileSync(findFile(dataDir, "notebook.json")!, "utf8");
  assert.ok(notebook.includes('"kind": "postgres"') && !notebook.includes(PG_PASSWORD), notebook);

  const again = await startApp({ dataDir, env });
  try {
    await again.waitText("notebook-list", (text) => text.includes("Shop"));
    await (await again.driver.findElement({ css: '[data-testid="notebook-list"] button' })).click();
    await again.waitText("connection-shop", (text) => text.includes(`:${pg.port}/shop`));
    await runSql(again, JOIN("shop.public.orders", "shop.public.customers", "regions"));
    const rows = await resultRows(again, (r) => r.length === 3, 60_000);
    assert.deepEqual(
      rows.map((r) => r.slice(-3).map((c) => c.replace(/,/g, ""))),
      theirs,
    );
  } catch (e) {
    await again.screenshot("FAILED-database-again").catch(() => undefined);
    throw e;
  } finally {
    await again.stop();
  }
});

// Object storage in the real app, as a user whose data lives in a bucket works: a Parquet file
// (written by Quire's own export) goes into a bucket of a real S3 API server (moto, on
// loopback); the user adds a connection in the Connections panel (tested first, keys from the
// AWS_* variables, none in the notebook), links the bucket's folder through it, pages and
// queries it, exports a table back to the bucket and links that object, finds connection and
// link again after a restart, and sees a server that does not answer reported in words inside
// the dialog. The same for Azure Blob Storage (Azurite, Microsoft's emulator from the npm
// registry): a table exported to a container as one blob, linked back and queried.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Key } from "selenium-webdriver";
import { findFile, fresh, replaceText, startApp, type QuireApp } from "../src/harness.ts";
import { addSqlCell, csvFile, importPicked, newNotebook, openTable, select, waitCell } from "../src/grid.ts";
import { resultRows, runSql } from "../src/cells.ts";
import { freePort, startMoto } from "../src/moto.ts";
import { ACCOUNT, KEY, startAzurite } from "../src/azurite.ts";

const ROWS = 200_000;
const BUCKET = "quire-e2e";

async function type(app: QuireApp, testId: string, text: string) {
  await replaceText(app.driver, await app.byTestId(testId), text);
}

/** Waits for an info toast `ok` accepts; a problem shown in the open dialog fails at once, with its words. */
async function toastOrProblem(app: QuireApp, ok: (text: string) => boolean, timeoutMs: number) {
  let toast = "";
  let problem: string | null = null;
  await app.driver
    .wait(async () => {
      const [toasts, shown] = await app.driver.executeScript<[string, string | null]>(
        "const text = (s) => [...document.querySelectorAll(s)].map((e) => e.textContent).join('\\n');" +
          "const problem = document.querySelector('[role=dialog] [role=alert]');" +
          "return [text('[data-testid=info-toast]'), problem ? problem.textContent : null];",
      );
      toast = toasts;
      problem = shown;
      return problem !== null || ok(toast);
    }, timeoutMs)
    .catch(() => {
      throw new Error(`no toast matched in ${timeoutMs} ms; toasts: ${JSON.stringify(toast)}`);
    });
  if (problem !== null) throw new Error(`the dialog showed a problem: ${problem}`);
}

test("add an S3 connection in the panel, link a bucket's Parquet through it, query it, restart", async (t) => {
  const moto = await startMoto();
  // Stopped however the test ends: a server left running would keep this file's process alive.
  t.after(() => moto.stop());
  const out = join(mkdtempSync(join(tmpdir(), "quire-e2e-remote-")), "sales.parquet");
  const env = {
    QUIRE_TEST_SAVE_FILE: out,
    AWS_ACCESS_KEY_ID: "AKIAQUIREE2E",
    AWS_SECRET_ACCESS_KEY: "e2e-secret-never-stored",
    AWS_SHARED_CREDENTIALS_FILE: join(tmpdir(), "quire-e2e-no-credentials"),
  };
  const first = await startApp({ env });
  const dataDir = first.dataDir;
  try {
    await newNotebook(first, "Lake");
    // The data: a query's result exported as Parquet, then put in the bucket.
    await addSqlCell(
      first,
      `SELECT value AS id, CASE value % 4 WHEN 0 THEN 'north' WHEN 1 THEN 'south' WHEN 2 THEN 'east' ELSE 'west' END AS region, value * 0.25 AS amount FROM generate_series(0, ${ROWS - 1}) ORDER BY id`,
    );
    await fresh(async () => {
      await (await first.byTestId("cell-source")).sendKeys(Key.chord(Key.CONTROL, Key.ENTER));
    });
    await first.waitText("result-meta", (t) => /200\D?000 rows/.test(t), 120_000);
    await first.click("export-result");
    await first.waitText("info-toast", (t) => t.includes("Exported the result"), 120_000);
    await moto.bucket(BUCKET);
    await moto.put(BUCKET, "sales/part-0.parquet", readFileSync(out));

    // A connection, tested before it is saved.
    await first.click("add-connection");
    await type(first, "connection-name", "lake");
    await type(first, "connection-endpoint", moto.endpoint);
    await type(first, "connection-url", `s3://${BUCKET}/sales/`);
    await first.click("connection-test");
    await first.waitText("connection-found", (t) => t.includes("1 object"), 30_000);
    await first.screenshot("connection-dialog");
    await first.click("connection-save");
    await first.waitText("connection-lake", (t) => t.includes(moto.endpoint));

    // Link the folder through it: the table reads the bucket.
    await first.click("link-through-lake");
    await type(first, "link-remote-url", `s3://${BUCKET}/sales/`);
    await first.click("link-remote-start");
    await first.waitText("table-list", (t) => t.includes("sales") && /200\D?000/.test(t), 60_000);
    await first.waitText("info-toast", (t) => t.includes("Linked sales"));
    await waitCell(first, 0, "region", "north");
    await first.screenshot("remote-linked-table");
    await runSql(first, "SELECT region, count(*) AS n FROM sales GROUP BY region ORDER BY region");
    const rows = await resultRows(first, (r) => r.length === 4, 60_000);
    assert.deepEqual(
      rows.map((r) => [r.at(-2), r.at(-1)!.replace(/\D/g, "")]),
      ["east", "north", "south", "west"].map((region) => [region, "50000"]),
    );

    // Export to the bucket (one upload: whole or nothing), then link the object it wrote.
    await first.click("export-bucket-sales");
    await type(first, "export-bucket-url", `s3://${BUCKET}/copies/sales.parquet`);
    await first.click("export-bucket-start");
    await toastOrProblem(first, (t) => t.includes("Exported sales") && t.includes("copies/sales.parquet"), 60_000);
    await first.click("link-through-lake");
    await type(first, "link-remote-url", `s3://${BUCKET}/copies/sales.parquet`);
    await type(first, "link-remote-name", "sales_copy");
    await first.click("link-remote-start");
    await first.waitText("table-list", (t) => t.includes("sales_copy"), 60_000);
    await runSql(first, "SELECT count(*) AS n, sum(amount) AS total FROM sales_copy");
    const copied = await resultRows(first, (r) => r.length === 1 && r[0]!.some((c) => /200\D?000/.test(c)), 60_000);
    assert.ok(copied[0]!.some((c) => c.replace(/\D/g, "").startsWith("4999975")), `sum of amount: ${copied[0]}`);

    // A CSV object (R's NA, a quoted comma) is fetched and converted into Parquet in the notebook.
    const lines = ["id,city,fare"];
    for (let i = 0; i < 50_000; i++) lines.push(`${i},${i % 2 ? '"Washington, D.C."' : "Zürich"},${i % 10 === 0 ? "NA" : (i % 300) / 4}`);
    await moto.put(BUCKET, "raw/fares.csv", Buffer.from(`${lines.join("\n")}\n`));
    await first.click("link-through-lake");
    await type(first, "link-remote-url", `s3://${BUCKET}/raw/fares.csv`);
    await first.waitText("link-remote-start", (t) => t === "Fetch and convert");
    await first.click("link-remote-start");
    await first.waitText("table-list", (t) => t.includes("fares") && /50\D?000/.test(t), 60_000);
    await first.waitText("info-toast", (t) => t.includes("Linked fares") && t.includes("fetched and converted"));
    await runSql(first, "SELECT count(*) AS n, count(fare) AS priced, count(DISTINCT city) AS cities FROM fares");
    const fares = await resultRows(first, (r) => r.length === 1 && r[0]!.some((c) => /45\D?000/.test(c)), 60_000);
    assert.deepEqual(fares[0]!.slice(-3).map((c) => c.replace(/\D/g, "")), ["50000", "45000", "2"]);
    await first.screenshot("remote-csv-linked");

    // A folder of CSV parts, as a cluster job writes them (its _SUCCESS marker beside them):
    // the engine lists it, fetches every part and converts them into one table.
    const header = "id,city,fare";
    for (let part = 0; part < 3; part++) {
      const rows = [header];
      for (let i = part * 10_000; i < (part + 1) * 10_000; i++) rows.push(`${i},${i % 3 ? "Oslo" : "Lyon"},${i % 7 === 0 ? "NA" : i / 4}`);
      // The last part has a line with a field too many (line 5,002), which the user skips.
      if (part === 2) rows.splice(5_001, 0, "25000,Oslo,1,extra");
      await moto.put(BUCKET, `jobs/out/part-0000${part}.csv`, Buffer.from(`${rows.join("\n")}\n`));
    }
    await moto.put(BUCKET, "jobs/out/_SUCCESS", Buffer.from(""));
    await first.click("link-through-lake");
    await type(first, "link-remote-url", `s3://${BUCKET}/jobs/out/`);
    await type(first, "link-remote-name", "job_out");
    await first.click("link-remote-csv-options");
    await first.click("link-remote-skip-bad-rows");
    await first.click("link-remote-start");
    await first.waitText("link-remote-skipped", (t) => t.includes("jobs/out/part-00002.csv, line 5002: 4 fields where 3"), 60_000);
    await first.click("link-remote-done");
    await first.waitText("table-list", (t) => t.includes("job_out") && /30\D?000/.test(t), 60_000);
    await first.waitText("info-toast", (t) => t.includes("Linked job_out") && t.includes("fetched and converted"));
    await runSql(first, "SELECT count(*) AS n, count(fare) AS priced, max(id) AS last FROM job_out");
    const parts = await resultRows(first, (r) => r.length === 1 && r[0]!.some((c) => /29\D?999/.test(c)), 60_000);
    assert.deepEqual(parts[0]!.slice(-3).map((c) => c.replace(/\D/g, "")), ["30000", String(30_000 - Math.ceil(30_000 / 7)), "29999"]);

    // A server that does not answer: said in the dialog, in words, in seconds.
    const closed = await freePort();
    await first.click("add-connection");
    await type(first, "connection-name", "down");
    await type(first, "connection-endpoint", `http://127.0.0.1:${closed}`);
    await type(first, "connection-url", `s3://${BUCKET}/`);
    await first.click("connection-test");
    await first.waitText("connection-error", (t) => t.includes("could not be reached") && t.includes("nothing is listening"), 30_000);
    await first.screenshot("connection-unreachable");
  } catch (e) {
    await first.screenshot("FAILED-remote-first").catch(() => undefined);
    throw e;
  } finally {
    await first.stop();
  }

  // No secret went into the notebook's files.
  for (const name of ["notebook.json", "links.json"]) {
    const path = findFile(dataDir, name);
    assert.ok(path, `${name} written`);
    const text = readFileSync(path, "utf8");
    assert.ok(!text.includes("e2e-secret") && !text.includes("AKIAQUIREE2E"), `${name}: ${text}`);
    assert.ok(text.includes(moto.endpoint), `${name} names the endpoint: ${text}`);
  }

  const again = await startApp({ dataDir, env });
  try {
    await again.waitText("notebook-list", (t) => t.includes("Lake"));
    await (await again.driver.findElement({ css: '[data-testid="notebook-list"] button' })).click();
    await again.waitText("connection-lake", (t) => t.includes(moto.endpoint));
    await again.waitText("table-list", (t) => t.includes("sales"), 60_000);
    await openTable(again, "sales");
    await waitCell(again, 0, "region", "north");
  } catch (e) {
    await again.screenshot("FAILED-remote-again").catch(() => undefined);
    throw e;
  } finally {
    await again.stop();
  }
});

test("add an Azure Blob Storage connection, export a table to a container, link the blob back and query it", async (t) => {
  const azurite = await startAzurite();
  t.after(() => azurite.stop());
  await azurite.container("lake");
  const env = {
    QUIRE_TEST_PICK_FILE: csvFile("cities.csv", 30_000),
    // The key as Azure's tools take it: from the environment, never the notebook.
    AZURE_STORAGE_ACCOUNT: ACCOUNT,
    AZURE_STORAGE_KEY: KEY,
  };
  const app = await startApp({ env });
  const dataDir = app.dataDir;
  try {
    await newNotebook(app, "Blobs");
    await importPicked(app, "cities");

    await app.click("add-connection");
    await select(app, "connection-kind", "azure");
    await type(app, "connection-name", "blobs");
    await type(app, "connection-account", ACCOUNT);
    await type(app, "connection-endpoint", azurite.endpoint);
    await type(app, "connection-url", "az://lake/");
    await app.click("connection-test");
    await app.waitText("connection-found", (t) => t.includes("0 folders and 0 objects"), 30_000);
    await app.screenshot("azure-connection-dialog");
    await app.click("connection-save");
    await app.waitText("connection-blobs", (t) => t.includes(azurite.endpoint));

    // The table goes to the container as one blob; its address follows the connection's service.
    await app.click("export-bucket-cities");
    await select(app, "export-bucket-connection", "blobs");
    await type(app, "export-bucket-url", "az://lake/exports/cities.parquet");
    await app.click("export-bucket-start");
    await toastOrProblem(app, (t) => t.includes("Exported cities") && t.includes("exports/cities.parquet"), 60_000);

    await app.click("link-through-blobs");
    await type(app, "link-remote-url", "az://lake/exports/");
    await type(app, "link-remote-name", "cities_blob");
    await app.click("link-remote-start");
    await app.waitText("table-list", (t) => t.includes("cities_blob") && /30\D?000/.test(t), 60_000);
    await addSqlCell(app, "SELECT 1");
    await runSql(app, "SELECT city, count(*) AS n FROM cities_blob GROUP BY city ORDER BY city");
    const rows = await resultRows(app, (r) => r.length === 3, 60_000);
    assert.deepEqual(
      rows.map((r) => [r.at(-2), r.at(-1)!.replace(/\D/g, "")]),
      ["Lyon", "Nice", "Paris"].map((city) => [city, "10000"]),
    );
    await app.screenshot("azure-linked-table");

    // A container that is not there is said in the dialog, in words.
    await app.click("link-through-blobs");
    await type(app, "link-remote-url", "az://nowhere/x/");
    await app.click("link-remote-start");
    await app.waitText("connection-error", (t) => t.length > 0, 30_000);
  } catch (e) {
    await app.screenshot("FAILED-remote-azure").catch(() => undefined);
    throw e;
  } finally {
    await app.stop();
  }
  for (const name of ["notebook.json", "links.json"]) {
    const path = findFile(dataDir, name);
    assert.ok(path, `${name} written`);
    const text = readFileSync(path, "utf8");
    assert.ok(!text.includes(KEY.slice(0, 20)), `${name} holds no key: ${text}`);
    assert.ok(text.includes(ACCOUNT), `${name} names the account: ${text}`);
  }
});

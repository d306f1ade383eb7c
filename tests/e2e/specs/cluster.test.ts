// A SQL cell on an Apache DataFusion Ballista cluster in the real app, as an analyst whose
// heavy queries go to a cluster works: a real scheduler and two executors on loopback (this
// repo's quire-scheduler and quire-executor, built from the ballista crates). The user writes a
// Parquet file from a query, links it, adds the cluster in the Connections panel with the
// file's folder shared (Test counts the executors), runs a cell there and gets the answer this
// machine gives, sees where a long run runs and cancels it (the scheduler stops the job), keeps
// a cluster result as a table, and is told in words that a table held in the notebook cannot
// go to the cluster.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findFile, replaceText, startApp } from "../src/harness.ts";
import { addSqlCell, newNotebook, select } from "../src/grid.ts";
import { resultRows, runSql } from "../src/cells.ts";
import { startCluster, type Job } from "../src/cluster.ts";

const ROWS = 200_000;
const BY_CITY = "SELECT city, count(*) AS n, sum(amount) AS total FROM trips GROUP BY city ORDER BY city";

test("run a cell on a Ballista cluster: add it, run, compare, cancel, keep a result", async (t) => {
  const cluster = await startCluster(2);
  t.after(() => cluster.stop());
  const shared = mkdtempSync(join(tmpdir(), "quire-e2e-shared-"));
  const out = join(shared, "trips.parquet");
  const app = await startApp({ env: { QUIRE_TEST_SAVE_FILE: out, QUIRE_TEST_PICK_FILE: out } });
  const dataDir = app.dataDir;
  const jobsWhere = async (ok: (jobs: Job[]) => boolean, what: string, timeoutMs = 60_000) => {
    let jobs: Job[] = [];
    await app.driver.wait(async () => ok((jobs = await cluster.jobs())), timeoutMs, `${what}: ${JSON.stringify(jobs)}`);
    return jobs;
  };
  try {
    await newNotebook(app, "On the cluster");
    await addSqlCell(app, "SELECT 1");
    // The data: a query's result exported as Parquet into the shared folder, then linked.
    await runSql(
      app,
      `SELECT value AS id, CASE value % 3 WHEN 0 THEN 'Lyon' WHEN 1 THEN 'Paris' ELSE 'Nice' END AS city, value * 0.5 AS amount FROM generate_series(0, ${ROWS - 1}) ORDER BY id`,
    );
    await app.waitText("result-meta", (text) => /200\D?000 rows/.test(text), 120_000);
    await app.click("export-result");
    await app.waitText("info-toast", (text) => text.includes("Exported the result"), 120_000);
    await app.click("import-data");
    await app.waitText("import-preview", (text) => text.includes("Lyon"));
    await app.click("import-mode-link");
    await app.click("import-start");
    await app.waitText("table-list", (text) => text.includes("trips"), 60_000);

    // The cluster, added in the panel and tested first.
    await app.click("add-connection");
    await select(app, "connection-kind", "ballista");
    await replaceText(app.driver, await app.byTestId("connection-name"), "lab");
    await replaceText(app.driver, await app.byTestId("connection-cluster"), cluster.url);
    await replaceText(app.driver, await app.byTestId("connection-shared"), shared);
    await app.click("connection-test");
    await app.waitText("connection-found", (text) => text.includes("Ballista 55") && text.includes("2 executors"), 30_000);
    await app.screenshot("cluster-dialog");
    await app.click("connection-save");
    await app.waitText("connection-lab", (text) => text.includes(cluster.url));

    // The same query here, then on the cluster: the same answer.
    await runSql(app, BY_CITY);
    const here = await resultRows(app, (rows) => rows.length === 3);
    await select(app, "runs-on", "lab");
    await app.driver.wait(async () => (await (await app.byTestId("runs-on")).getAttribute("value")) === "lab", 10_000);
    await runSql(app, BY_CITY);
    await jobsWhere((jobs) => jobs.some((j) => j.status === "Completed"), "the cluster never ran the cell");
    const there = await resultRows(app, (rows) => rows.length === 3);
    assert.deepEqual(there, here, "the cluster's answer equals this machine's");
    await app.screenshot("cluster-result");

    // A long run says where it runs; Cancel stops the job on the cluster, not only here.
    await runSql(app, "SELECT count(*) AS pairs FROM trips a JOIN trips b ON a.city = b.city");
    await app.waitText("cell-running", (text) => text.includes("Running on cluster lab"), 30_000);
    const running = await jobsWhere((jobs) => jobs.some((j) => j.status === "Running"), "the long run never started there");
    const job = running.find((j) => j.status === "Running")!.job_id;
    await app.screenshot("cluster-running");
    await app.click("cancel-run");
    await app.waitText("cell-output", (text) => text.includes("Cancelled"), 30_000);
    await jobsWhere(
      (jobs) => jobs.some((j) => j.job_id === job && j.status === "Failed"),
      "the cancelled job still runs on the cluster",
      30_000,
    );

    // A cluster result kept as a table of the notebook.
    await runSql(app, BY_CITY);
    await resultRows(app, (rows) => rows.length === 3);
    const completed = async () => (await cluster.jobs()).filter((j) => j.status === "Completed").length;
    const before = await completed();
    await app.click("keep-result");
    await app.type("keep-result-name", "by_city");
    await app.click("keep-result-save");
    await app.waitText("table-list", (text) => text.includes("by_city"), 60_000);
    assert.equal(await completed(), before + 1, "keeping the result ran its query on the cluster");

    // A table held in the notebook cannot go to the cluster: said in the cell, in words.
    await runSql(app, "SELECT * FROM by_city");
    await app.waitText(
      "cell-output",
      (text) => text.includes("The cluster cannot read a table this query names") && text.includes("The table by_city is held in this notebook"),
      30_000,
    );
    await app.screenshot("cluster-refused");
  } catch (e) {
    await app.screenshot("FAILED-cluster").catch(() => undefined);
    throw e;
  } finally {
    await app.stop();
  }
  const notebook = readFileSync(findFile(dataDir, "notebook.json")!, "utf8");
  assert.ok(notebook.includes('"runs_on": "lab"') && notebook.includes('"kind": "ballista"'), notebook);
});

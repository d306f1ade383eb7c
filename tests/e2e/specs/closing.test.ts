// Every way out, in the real app, each on a fresh data dir: a close with work pending is held
// and asks; Wait and close writes everything first; a clean close asks nothing; Cancel keeps
// working; a long snapshot's progress shows in the prompt; Flush; SIGTERM during a snapshot.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startApp, type QuireApp } from "../src/harness.ts";
import { addSqlCell, closeWindow, csvFile, gone, importPicked, newNotebook, select, typeInto, waitCell } from "../src/grid.ts";

// Notebook edits stay pending for seconds, so a close right after one finds work to wait for.
const SLOW_NOTEBOOKS = { QUIRE_NOTEBOOKS__FLUSH_DELAY_MS: "8000", QUIRE_NOTEBOOKS__MAX_WAIT_MS: "15000" };
const SAVED = "All changes saved";

const exitStatus = (app: QuireApp) => readFileSync(join(app.dataDir, "exit-status"), "utf8").trim();
const log = (app: QuireApp) => app.readFile(join("logs", "quire.log")) ?? "";
const notebookFile = (app: QuireApp, folder: string) => app.readFile(join("data", "workspace", folder, "notebook.json"));

async function exitsWith0(app: QuireApp, pid: number) {
  assert.ok(await gone(pid, 30_000), "the app is still running");
  const deadline = Date.now() + 5_000;
  while (!existsSync(join(app.dataDir, "exit-status")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(exitStatus(app), "0", "exit status");
}

/** Picks the theme in Settings (the webview keeps it across runs, so each test says which). */
async function theme(app: QuireApp, which: "light" | "dark") {
  await app.click("open-settings");
  await select(app, "theme", which);
  await app.driver.executeScript("document.querySelector('[data-testid=settings] .modal-actions button').click();");
}

async function run(name: string, options: Parameters<typeof startApp>[0], body: (app: QuireApp) => Promise<void>) {
  const app = await startApp({ recordExit: true, ...options });
  try {
    await body(app);
    // The test's settings took effect (a QUIRE_ variable the config does not know voids them all).
    assert.doesNotMatch(log(app), /settings could not be read/);
  } catch (e) {
    await app.screenshot(`FAILED-${name}`).catch(() => undefined);
    throw new Error(`${String(e)}\n--- log ---\n${log(app).slice(-3000)}`);
  } finally {
    await app.stop();
  }
}

test("(1) an edit, closed at once: the prompt, Wait and close, and the edit is on disk", async () => {
  await run("close-wait", { env: SLOW_NOTEBOOKS }, async (app) => {
    await theme(app, "light");
    await newNotebook(app, "Close me");
    await addSqlCell(app, "SELECT 42 AS answer");
    await app.waitText("save-status", (t) => t !== SAVED);
    await app.screenshot("statusbar-light");
    const pid = app.pid();
    closeWindow(pid);
    await app.waitText("close-pending", (t) => t.includes("Close me") && t.includes("unsaved edits"));
    await app.waitText("close-consequence", (t) => t.includes("No file is left half-written"));
    await app.screenshot("close-dialog-light");
    assert.equal(notebookFile(app, "close-me.quire"), null, "nothing was written before the answer");
    await app.click("close-wait");
    await exitsWith0(app, pid);
    assert.match(notebookFile(app, "close-me.quire") ?? "", /SELECT 42 AS answer/);
    assert.match(log(app), /close held \(Window\)/);
  });
});

test("(2) nothing pending: the window closes at once, without a prompt", async () => {
  await run("close-clean", {}, async (app) => {
    await newNotebook(app, "Clean");
    await app.click("flush");
    await app.waitText("save-status", (t) => t === SAVED);
    const pid = app.pid();
    closeWindow(pid);
    await exitsWith0(app, pid);
    assert.doesNotMatch(log(app), /close held/, "no prompt was shown");
  });
});

test("(3) Cancel keeps the window open and working; a later clean close asks nothing", async () => {
  await run("close-cancel", { env: SLOW_NOTEBOOKS }, async (app) => {
    await newNotebook(app, "Keep open");
    await addSqlCell(app, "SELECT 1 AS one");
    await app.waitText("save-status", (t) => t !== SAVED);
    const pid = app.pid();
    closeWindow(pid);
    await app.byTestId("close-dialog");
    await app.click("close-cancel");
    await app.driver.wait(
      async () => (await app.count("[data-testid=close-dialog]")) === 0,
      5_000,
      "the prompt stayed",
    );
    // Still working: another edit, then Flush writes both.
    await addSqlCell(app, "SELECT 2 AS two");
    await app.click("flush");
    await app.waitText("save-status", (t) => t === SAVED);
    const file = notebookFile(app, "keep-open.quire") ?? "";
    assert.match(file, /SELECT 1 AS one/);
    assert.match(file, /SELECT 2 AS two/);
    // A second close request after a cancel prompts again only if something is pending: not now.
    closeWindow(pid);
    await exitsWith0(app, pid);
  });
});

test("(4) a long snapshot: the prompt shows its progress and Wait and close ends when it is committed", async () => {
  const file = csvFile("big.csv", 600_000);
  const env = { QUIRE_TEST_PICK_FILE: file, QUIRE_SNAPSHOTS__DEBOUNCE_MS: "200", QUIRE_TEST_SLOW_SNAPSHOT_MS: "250" };
  await run("close-snapshot", { env }, async (app) => {
    const tables = join(app.workspace, "big-table.quire", "tables");
    await theme(app, "dark");
    await newNotebook(app, "Big table");
    await importPicked(app, "big");
    await typeInto(app, 0, "city", "Brest");
    await app.waitText("save-status", (t) => t.startsWith("Saving big"), 10_000);
    await app.screenshot("statusbar-dark");
    const pid = app.pid();
    closeWindow(pid);
    await app.byTestId("close-dialog");
    // Sample the table's progress bar in the prompt while the write runs.
    await app.driver.executeScript(`
      window.__closeProgress = [];
      const look = () => {
        const bar = document.querySelector('[data-testid=close-pending-table] progress');
        if (bar) { const v = Number(bar.value); if (window.__closeProgress.at(-1) !== v) window.__closeProgress.push(v); }
        requestAnimationFrame(look);
      };
      requestAnimationFrame(look);`);
    await new Promise((r) => setTimeout(r, 1200));
    await app.screenshot("close-dialog-dark");
    const seen = await app.driver.executeScript<number[]>("return window.__closeProgress;");
    assert.ok(seen.length >= 2 && seen.at(-1)! > seen[0]!, `the prompt's progress moved: ${JSON.stringify(seen)}`);
    await app.click("close-wait");
    await exitsWith0(app, pid);
    assert.ok(existsSync(join(tables, "big.2.parquet")), `committed: ${readdirSync(tables).join(", ")}`);
    assert.ok(!readdirSync(tables).some((f) => f.endsWith(".tmp")), "no temp file left");
  });
});

test("(5) Flush turns Unsaved into Saved and the files on disk match; idle, it is disabled", async () => {
  const file = csvFile("small.csv", 1000);
  const env = { ...SLOW_NOTEBOOKS, QUIRE_TEST_PICK_FILE: file, QUIRE_SNAPSHOTS__DEBOUNCE_MS: "60000" };
  await run("flush", { env }, async (app) => {
    await newNotebook(app, "Flushing");
    await importPicked(app, "small");
    await typeInto(app, 0, "city", "Rennes");
    await addSqlCell(app, "SELECT count(*) FROM small");
    await app.waitText("save-status", (t) => t.startsWith("Unsaved"));
    assert.equal(await app.prop("flush", "disabled"), false);
    await app.click("flush");
    await app.waitText("save-status", (t) => t === SAVED, 30_000);
    const tables = join(app.workspace, "flushing.quire", "tables");
    assert.ok(existsSync(join(tables, "small.2.parquet")), readdirSync(tables).join(", "));
    assert.match(notebookFile(app, "flushing.quire") ?? "", /SELECT count\(\*\) FROM small/);
    assert.equal(await app.prop("flush", "disabled"), true, "nothing to save: disabled");
    assert.match(String(await app.prop("flush", "title")), /Nothing to save/);
  });
});

test("(6) SIGTERM during a snapshot: committed or old intact, notebook edits on disk, exit 0", async () => {
  const file = csvFile("big.csv", 600_000);
  const env = {
    ...SLOW_NOTEBOOKS,
    QUIRE_TEST_PICK_FILE: file,
    QUIRE_SNAPSHOTS__DEBOUNCE_MS: "200",
    QUIRE_TEST_SLOW_SNAPSHOT_MS: "250",
  };
  await run("sigterm", { env }, async (app) => {
    const tables = join(app.workspace, "term.quire", "tables");
    await newNotebook(app, "Term");
    await importPicked(app, "big");
    await addSqlCell(app, "SELECT 'before the signal' AS note");
    await typeInto(app, 0, "city", "Vannes");
    await app.waitText("save-status", (t) => t.startsWith("Saving big"), 10_000);
    const pid = app.pid();
    process.kill(pid, "SIGTERM");
    await exitsWith0(app, pid);
    const files = readdirSync(tables);
    assert.ok(!files.some((f) => f.endsWith(".tmp")), `no temp file: ${files.join(", ")}`);
    const manifest = JSON.parse(readFileSync(join(tables, "manifest.json"), "utf8")) as {
      tables: Record<string, { generations: { generation: number }[] }>;
    };
    const committed = manifest.tables["big"]!.generations.map((g) => g.generation);
    // Every generation the manifest names is on disk (never a torn or missing file) ...
    for (const g of committed) assert.ok(files.includes(`big.${g}.parquet`), `big.${g}.parquet is missing`);
    // ... and SIGTERM lets the running snapshot finish: the new generation is committed.
    assert.deepEqual(committed, [1, 2], `generations ${JSON.stringify(committed)}; files ${files.join(", ")}`);
    assert.match(notebookFile(app, "term.quire") ?? "", /before the signal/);
    assert.match(log(app), /SIGTERM received: flushing and exiting/);
    assert.match(log(app), /exiting with code 0 after SIGTERM/);
  });
});

test("(7) Close without waiting during a snapshot: old generation intact, the edit comes back from the journal", async () => {
  const file = csvFile("big.csv", 600_000);
  const env = { QUIRE_TEST_PICK_FILE: file, QUIRE_SNAPSHOTS__DEBOUNCE_MS: "200", QUIRE_TEST_SLOW_SNAPSHOT_MS: "250" };
  let dataDir = "";
  await run("close-now", { env }, async (app) => {
    dataDir = app.dataDir;
    const tables = join(app.workspace, "journal.quire", "tables");
    await newNotebook(app, "Journal");
    await importPicked(app, "big");
    await typeInto(app, 0, "city", "Lorient");
    await app.waitText("save-status", (t) => t.startsWith("Saving big"), 10_000);
    const pid = app.pid();
    closeWindow(pid);
    await app.waitText("close-consequence", (t) => t.includes("edit journal"));
    // The window goes at once: click from inside the page, so WebDriver is not waiting on it.
    await app.driver.executeScript("setTimeout(() => document.querySelector('[data-testid=close-now]').click(), 50);");
    await exitsWith0(app, pid);
    const files = readdirSync(tables);
    assert.deepEqual(files.sort(), ["big.1.parquet", "manifest.json"], "the running snapshot was stopped cleanly");
  });
  // Reopened without the slow writer: the journal re-applies the edit the snapshot never saved.
  await run("close-now-reopened", { dataDir, env: { QUIRE_SNAPSHOTS__DEBOUNCE_MS: "200" } }, async (app) => {
    await app.waitText("notebook-list", (t) => t.includes("Journal"));
    await (await app.driver.findElement({ css: '[data-testid="notebook-list"] button' })).click();
    await app.waitText("table-list", (t) => t.includes("big"));
    await (await app.driver.findElement({ css: "[data-testid=table-list] .table-name" })).click();
    await waitCell(app, 0, "city", "Lorient");
  });
});

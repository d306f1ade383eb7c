// Notebooks in the real app: Flush turns Unsaved into Saved with the cells on disk, they come
// back after a restart, and SIGTERM writes pending edits before the process ends.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync, spawn } from "node:child_process";
import { appBinary, fresh, startApp, withApp, type QuireApp } from "../src/harness.ts";
import { csvFile, gone, newNotebook } from "../src/grid.ts";

// Manual saving: only Flush or shutdown writes, so what reaches disk proves which one did.
const MANUAL = { QUIRE_NOTEBOOKS__AUTO_FLUSH: "false", QUIRE_NOTEBOOKS__FLUSH_DELAY_MS: "1000" };

function notebookFile(app: QuireApp, folder: string): any | null {
  const text = app.readFile(join("data", "workspace", folder, "notebook.json"));
  return text === null ? null : JSON.parse(text);
}

async function createWithCells(app: QuireApp, title: string, sources: string[]) {
  await app.type("new-notebook-title", title);
  await app.click("create-notebook");
  await app.waitText("notebook-title", (t) => t === title);
  for (const [i, source] of sources.entries()) {
    await app.click("add-sql-cell");
    await app.driver.wait(async () => (await app.count('[data-testid="cell-source"]')) > i, 5000);
    await fresh(async () => {
      const editors = await app.driver.findElements({ css: '[data-testid="cell-source"]' });
      await editors[i]!.sendKeys(source);
    });
  }
}

test("Flush turns Unsaved into Saved, the file has the cells, and they survive a restart", async () => {
  let dataDir = "";
  await withApp(
    "notebooks-flush",
    async (app) => {
      dataDir = app.dataDir;
      await createWithCells(app, "Sales review", ["SELECT 1 AS one", "SELECT 'two' AS two"]);
      await app.waitText("save-status", (t) => t === "Unsaved changes");
      assert.equal(notebookFile(app, "sales-review.quire"), null, "manual mode: nothing on disk before Flush");

      await app.recordTexts("save-status");
      await app.click("flush");
      await app.waitText("save-status", (t) => t === "All changes saved");
      const seen = await app.recordedTexts();
      assert.deepEqual(seen, ["Unsaved changes", "Saving…", "All changes saved"], `status went ${JSON.stringify(seen)}`);
      await app.waitText("info-toast", (t) => t.includes("Saved 1 notebook"));

      const file = notebookFile(app, "sales-review.quire");
      assert.equal(file.title, "Sales review");
      assert.deepEqual(
        file.cells.map((c: { source: string }) => c.source),
        ["SELECT 1 AS one", "SELECT 'two' AS two"],
      );
      await app.screenshot("notebooks-saved");
    },
    { env: MANUAL },
  );

  // Reopen on the same data dir: the notebook and its cells are there.
  const again = await startApp({ dataDir, env: MANUAL });
  try {
    await again.waitText("notebook-list", (t) => t.includes("Sales review"));
    await (await again.driver.findElement({ css: '[data-testid="notebook-list"] button' })).click();
    await again.waitText("notebook-title", (t) => t === "Sales review");
    const sources = await again.driver.executeScript<string[]>(
      "return [...document.querySelectorAll('[data-testid=cell-source]')].map(e => e.value ?? e.textContent);",
    );
    assert.deepEqual(sources, ["SELECT 1 AS one", "SELECT 'two' AS two"]);
    await again.waitText("save-status", (t) => t === "All changes saved");
  } finally {
    await again.stop();
  }
});

test("SIGTERM writes pending edits before the app exits", async () => {
  await withApp(
    "notebooks-sigterm",
    async (app) => {
      await createWithCells(app, "Last words", ["SELECT 'kept at exit'"]);
      await app.waitText("save-status", (t) => t === "Unsaved changes");
      // Let the last keystroke's command reach the engine (commands are serialised per notebook).
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(notebookFile(app, "last-words.quire"), null, "nothing written before the signal");

      const pid = app.pid();
      process.kill(pid, "SIGTERM");
      assert.ok(await gone(pid, 10_000), "the app did not exit after SIGTERM");
      const file = notebookFile(app, "last-words.quire");
      assert.ok(file, "the notebook was written at shutdown");
      assert.equal(file.cells[0].source, "SELECT 'kept at exit'");
      const log = readFileSync(join(app.dataDir, "logs", "quire.log"), "utf8");
      assert.match(log, /SIGTERM received/);
      assert.match(log, /shut down \(SIGTERM\): 1 notebooks written/);
      assert.ok(!existsSync(join(app.dataDir, "data", "workspace", "last-words.quire", "notebook.json.tmp")));
    },
    { env: MANUAL },
  );
});

test("launching Quire again focuses the running window and opens the notebook and file it was given", async () => {
  const data = csvFile("handed-over.csv", 30);
  await withApp("notebooks-second-instance", async (app) => {
    await newNotebook(app, "Sales");
    await app.click("flush");
    await app.driver.wait(() => existsSync(join(app.workspace, "sales.quire", "notebook.json")), 10_000, "Sales never written");
    await newNotebook(app, "Other");
    const first = app.pid();
    const second = spawn(appBinary(), ["sales.quire", data, join(app.dataDir, "nowhere.csv")], {
      cwd: app.workspace,
      env: { ...process.env, QUIRE_DATA_DIR: app.dataDir, NO_AT_BRIDGE: "1" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    second.stderr.on("data", (d) => (stderr += String(d)));
    try {
      const exited = await new Promise<number | null>((res) => {
        const timer = setTimeout(() => res(null), 20_000);
        second.on("exit", (code) => (clearTimeout(timer), res(code)));
      });
      assert.equal(exited, 0, `the second Quire did not hand over and exit: ${stderr}`);
    } finally {
      second.kill("SIGKILL");
    }
    // The running window shows the notebook, offers the file for import, and says what it
    // could not open.
    await app.waitText("notebook-title", (t) => t === "Sales");
    await app.waitText("import-preview", (t) => t.includes("Lyon"));
    await app.waitText("toast", (t) => t.includes("nowhere.csv does not exist"));
    await app.screenshot("second-launch");
    await app.click("import-start");
    await app.waitText("table-list", (t) => t.includes("handed_over") && t.includes("30 rows"), 30_000);
    assert.equal(app.pid(), first, "the first Quire kept the workspace");
    assert.match(app.readFile(join("logs", "quire.log")) ?? "", /launched again: focusing the open window/);
  });
});

test("a notebook changed outside Quire is reloaded in the open window", async () => {
  await withApp(
    "notebooks-changed-on-disk",
    async (app) => {
      await createWithCells(app, "Shared notes", ["SELECT 'before'"]);
      await app.click("flush");
      await app.waitText("save-status", (t) => t === "All changes saved");
      const path = join(app.dataDir, "data", "workspace", "shared-notes.quire", "notebook.json");
      // Another program (git checkout, an editor) rewrites the file.
      const theirs = readFileSync(path, "utf8").replace("SELECT 'before'", "SELECT 'from git'");
      writeFileSync(path, theirs);
      await app.driver.wait(
        async () =>
          (await app.driver.executeScript<string>(
            "const e = document.querySelector('[data-testid=cell-source]'); return e ? (e.value ?? e.textContent) : '';",
          )) === "SELECT 'from git'",
        10_000,
        "the open notebook never showed the file's new content",
      );
      await app.waitText("save-status", (t) => t === "All changes saved");
      assert.equal(readFileSync(path, "utf8"), theirs, "Quire did not write over the change");
    },
    { env: MANUAL },
  );
});

/** Whether a notebook draft in the app's task store holds `text` (read-only, beside the app). */
function draftHolds(app: QuireApp, text: string): boolean {
  const db = join(app.dataDir, "data", "tasks.sqlite");
  const out = execFileSync("/usr/bin/python3", [
    "-c",
    "import sqlite3,sys; c=sqlite3.connect(f'file:{sys.argv[1]}?mode=ro', uri=True); print(any(sys.argv[2].encode() in bytes(r[0]) for r in c.execute('select doc from drafts')))",
    db,
    text,
  ]);
  return String(out).trim() === "True";
}

test("cells typed in manual mode survive a kill before any save, and come back unsaved", async () => {
  const typed = "SELECT 'typed before the kill' AS kept";
  const first = await startApp({ env: MANUAL });
  const dataDir = first.dataDir;
  try {
    await createWithCells(first, "Draft", [typed]);
    await first.waitText("save-status", (t) => t === "Unsaved changes");
    assert.equal(notebookFile(first, "draft.quire"), null, "manual mode: nothing written");
    // Each keystroke is acknowledged once its draft is committed; wait for the last one.
    await first.driver.wait(async () => draftHolds(first, typed), 10_000, "the typed text never reached a draft");
    const pid = first.pid();
    process.kill(pid, "SIGKILL");
    assert.ok(await gone(pid, 10_000), "the app survived SIGKILL");
  } catch (e) {
    await first.screenshot("FAILED-notebooks-draft").catch(() => undefined);
    throw e;
  } finally {
    await first.stop();
  }

  const again = await startApp({ dataDir, env: MANUAL });
  try {
    await again.waitText("info-toast", (t) => t.includes("Recovered unsaved edits of 1 notebook"), 20_000);
    await again.waitText("notebook-list", (t) => t.includes("Draft"));
    await (await again.driver.findElement({ css: '[data-testid="notebook-list"] button' })).click();
    await again.waitText("notebook-title", (t) => t === "Draft");
    const sources = await again.driver.executeScript<string[]>(
      "return [...document.querySelectorAll('[data-testid=cell-source]')].map(e => e.value ?? e.textContent);",
    );
    assert.deepEqual(sources, [typed]);
    await again.waitText("save-status", (t) => t === "Unsaved changes");
    await again.click("flush");
    await again.waitText("save-status", (t) => t === "All changes saved");
    assert.deepEqual(
      notebookFile(again, "draft.quire").cells.map((c: { source: string }) => c.source),
      [typed],
    );
    await again.screenshot("notebooks-draft-recovered");
  } finally {
    await again.stop();
  }
});

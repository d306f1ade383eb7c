// A short soak through the real webview: rounds of what a user does in a session (a notebook,
// a 20,000-row import, an edit and its undo, a transform, a SQL cell, a diff, Flush, delete),
// sampling the app's resident memory (the app and its WebKit processes), its open file
// descriptors and the task table's rows after each round. Memory and descriptors must level
// off, the task table stays under its cap, and the log has no error line.
// E2E_SOAK_ROUNDS sets the count (default 8; not QUIRE_*, which the app would read as settings); the long soak is engine-level
// (`quire-bench soak`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { withApp, type QuireApp } from "../src/harness.ts";
import { addSqlCell, csvFile, importPicked, newNotebook, select, typeInto, waitCell } from "../src/grid.ts";

const ROUNDS = Math.max(4, Number(process.env.E2E_SOAK_ROUNDS ?? 8));
const TASK_CAP = 16; // pruned every 2 finishes (cap / 8)

function status(pid: number, field: string): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .find((l) => l.startsWith(`${field}:`));
    return line ? Number.parseInt(line.split(/\s+/)[1]!, 10) : 0;
  } catch {
    return 0; // the process ended between listing and reading
  }
}

/** The app and every process below it (WebKit's web and network processes). */
function family(root: number): number[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const ppid = status(pid, "PPid");
    if (ppid) parents.set(pid, ppid);
  }
  const all = [root];
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (all.includes(ppid) && !all.includes(pid)) {
        all.push(pid);
        grew = true;
      }
    }
  }
  return all;
}

const rssMb = (pid: number) => family(pid).reduce((sum, p) => sum + status(p, "VmRSS"), 0) / 1024;
const appRssMb = (pid: number) => status(pid, "VmRSS") / 1024;
const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

function taskRows(app: QuireApp): number {
  const db = join(app.dataDir, "data", "tasks.sqlite");
  const out = execFileSync("/usr/bin/python3", [
    "-c",
    "import sqlite3,sys; print(sqlite3.connect(f'file:{sys.argv[1]}?mode=ro', uri=True).execute('select count(*) from tasks').fetchone()[0])",
    db,
  ]);
  return Number(String(out).trim());
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function round(app: QuireApp, r: number) {
  await newNotebook(app, `Soak ${r}`);
  await importPicked(app, "sales");

  await typeInto(app, 0, "city", `Town ${r}`);
  await waitCell(app, 0, "city", `Town ${r}`);
  await app.driver.wait(async () => (await app.prop("undo", "disabled")) === false, 5_000, "undo never enabled");
  await app.click("undo");
  await waitCell(app, 0, "city", "Lyon");

  await app.click("open-transform");
  await select(app, "transform-kind", "upper");
  await select(app, "transform-column", "city");
  await app.click("transform-apply");
  await app.driver.wait(
    async () => (await app.count("[data-testid=transform-dialog]")) === 0,
    60_000,
    "the transform never finished",
  );
  await waitCell(app, 0, "city", "LYON");

  await addSqlCell(app, "SELECT city, count(*) AS n FROM sales GROUP BY city ORDER BY city");
  await app.click("run-cell");
  await app.waitText("cell-output", (t) => t.includes("LYON") && t.includes("NICE"), 30_000);

  await app.click("open-versions");
  await app.waitText("versions-list", (t) => t.includes("Set city = upper"));
  await app.driver.executeScript("document.querySelector('[data-testid=versions-list] li:first-child button').click()");
  await app.waitText("diff-summary", (t) => /changed/.test(t), 30_000);
  await app.click("versions-close");
  // The closing dialog can still take a click meant for the page (CI: the Flush click below).
  await app.driver.wait(async () => (await app.count("[data-testid=versions-dialog]")) === 0, 10_000, "the versions dialog never closed");

  await app.driver.wait(async () => (await app.prop("flush", "disabled")) !== null, 5_000);
  if ((await app.prop("flush", "disabled")) === false) await app.click("flush");
  await app.driver.wait(
    async () => (await app.prop("flush", "disabled")) === true,
    30_000,
    "Flush never left nothing to save",
  );

  await app.click("delete-notebook");
  await app.click("confirm-yes");
  await app.waitText("notebook-list", (t) => !t.includes(`Soak ${r}`));
}

test(`a ${ROUNDS}-round session in the real webview stays flat and logs no error`, async () => {
  await withApp(
    "soak",
    async (app) => {
      const pid = app.pid();
      const samples: { rss: number; app: number; fds: number; tasks: number; ms: number }[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const started = Date.now();
        await round(app, r);
        const s = { rss: rssMb(pid), app: appRssMb(pid), fds: fds(pid), tasks: taskRows(app), ms: Date.now() - started };
        samples.push(s);
        console.log(
          `soak round ${r}: rss ${s.rss.toFixed(1)} MB (app ${s.app.toFixed(1)}, webview ${(s.rss - s.app).toFixed(1)})  fds ${s.fds}  task rows ${s.tasks}  round ${s.ms} ms`,
        );
      }
      // The first rounds warm up (WebKit caches, DataFusion's statics, allocator pools).
      const q = Math.max(1, Math.floor(ROUNDS / 4));
      const early = samples.slice(q, 2 * q);
      const late = samples.slice(ROUNDS - q);
      const growth = (pick: (s: (typeof samples)[number]) => number) => mean(late.map(pick)) - mean(early.map(pick));
      const appGrowth = growth((s) => s.app);
      const webviewGrowth = growth((s) => s.rss - s.app);
      const fdGrowth = samples[ROUNDS - 1]!.fds - samples[1]!.fds;
      console.log(
        `soak: rss growth app ${appGrowth.toFixed(1)} MB, webview ${webviewGrowth.toFixed(1)} MB (last quarter vs second), ` +
          `fd growth ${fdGrowth}, task rows max ${Math.max(...samples.map((s) => s.tasks))}`,
      );
      // The engine's memory is flat at engine level (quire-bench soak); the app process adds
      // the shell. WebKit's JS heap is collected lazily and swings by tens of MB between
      // rounds, so the webview gets a wider margin.
      assert.ok(appGrowth < 24, `the app's resident memory grew by ${appGrowth.toFixed(1)} MB`);
      assert.ok(webviewGrowth < 160, `the webview's resident memory grew by ${webviewGrowth.toFixed(1)} MB`);
      assert.ok(fdGrowth <= 4, `open descriptors grew by ${fdGrowth}`);
      for (const s of samples) assert.ok(s.tasks <= TASK_CAP + 2 + 8, `the task table held ${s.tasks} rows`);
      const log = app.readFile(join("logs", "quire.log")) ?? "";
      assert.ok(log.length > 0, "no log written");
      for (const warning of log.split("\n").filter((l) => /\[WARN\]/.test(l))) console.log(`soak log: ${warning}`);
      const errors = log.split("\n").filter((l) => /\[ERROR\]/.test(l));
      assert.deepEqual(errors, [], "the log has error lines");
    },
    {
      env: {
        QUIRE_TEST_PICK_FILE: csvFile("sales.csv", 20_000),
        QUIRE_TASKS__MAX_FINISHED: String(TASK_CAP),
      },
    },
  );
});

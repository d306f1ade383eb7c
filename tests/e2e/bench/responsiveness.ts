// Responsiveness in the real webview (issue 20), as ratios measured in one run:
//  - the longest stall of the page's main thread (a 10 ms timer's worst lateness) while a
//    1M-row snapshot runs and while a chart of 1M rows (10,000 points drawn) renders, against
//    the same page idle (the median of three idle windows; targets: ≤ 50 ms and ≤ 1.5x idle); the edit that starts the snapshot
//    is reported apart (edit_stall_ms: the grid's cell editor, not the snapshot);
//  - grid scrolling frames against a plain scrolling list in the same webview (the software
//    renderer's ceiling under Xvfb).
// Run with `make bench-ui` (the debug app: the page's own work is what is measured; the
// engine runs on its own threads). QUIRE_BENCH_UI_ROWS changes the row count.
import { mkdtempSync, mkdirSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApp, type QuireApp } from "../src/harness.ts";
import { newNotebook, select, typeInto, waitCell } from "../src/grid.ts";
import { runSql, resultRows } from "../src/cells.ts";

const ROWS = Number(process.env.QUIRE_BENCH_UI_ROWS ?? 1_000_000);

function bigCsv(): string {
  const dir = mkdtempSync(join(tmpdir(), "quire-bench-ui-"));
  const path = join(dir, "readings.csv");
  const chunk: string[] = ["station,x,y,note"];
  writeFileSync(path, "");
  for (let i = 0; i < ROWS; i++) {
    chunk.push(`s${i % 97},${(i * 7919) % 100_000},${((i * 104_729) % 1_000_003) / 10},r${i % 1000}`);
    if (chunk.length >= 50_000) {
      appendFileSync(path, chunk.join("\n") + "\n");
      chunk.length = 0;
    }
  }
  if (chunk.length) appendFileSync(path, chunk.join("\n") + "\n");
  return path;
}

/** Starts the page's lateness probe: a 10 ms interval that records how late each tick fired. */
async function probeStart(app: QuireApp) {
  await app.driver.executeScript(`
    if (window.__probe) clearInterval(window.__probe.timer);
    const p = { worst: 0, ticks: 0, last: performance.now() };
    p.timer = setInterval(() => {
      const now = performance.now();
      p.worst = Math.max(p.worst, now - p.last - 10);
      p.ticks++;
      p.last = now;
    }, 10);
    window.__probe = p;`);
}

async function probeStop(app: QuireApp): Promise<{ worst: number; ticks: number }> {
  return app.driver.executeScript(`
    const p = window.__probe; clearInterval(p.timer); window.__probe = null;
    return { worst: Math.max(0, p.worst), ticks: p.ticks };`);
}

/** Frames drawn while `selector`'s scroller moves 60 px a frame for `ms`. */
async function scrollFrames(app: QuireApp, selector: string, ms: number): Promise<{ fps: number; worstFrameMs: number; scrollers?: string[] }> {
  return app.driver.executeAsyncScript(
    `const [selector, ms, done] = arguments;
     // The element that scrolls vertically: the root itself or AG Grid's inner viewport.
     const root = document.querySelector(selector);
     const candidates = [root, ...root.querySelectorAll('*')].filter((e) => e.scrollHeight > e.clientHeight + 100 && /auto|scroll/.test(getComputedStyle(e).overflowY));
     // In the grid, the scrollbar a user drags (AG Grid moves the rows with it).
     const el = candidates.find((e) => e.classList.contains('ag-body-vertical-scroll-viewport')) ?? candidates[0];
     if (!el) { done({ fps: 0, worstFrameMs: 0 }); return; }
     window.__scroller = el;
     let frames = 0, worst = 0, last = performance.now(), down = true;
     const start = last;
     const step = (now) => {
       frames++; worst = Math.max(worst, now - last); last = now;
       if (el.scrollTop + el.clientHeight >= el.scrollHeight - 2) down = false;
       if (el.scrollTop <= 0) down = true;
       el.scrollTop += down ? 60 : -60;
       if (now - start < ms) requestAnimationFrame(step);
       else finish(now);
     };
     let over = false;
     const finish = (now) => { if (!over) { over = true; done({ fps: (1000 * frames) / (now - start), worstFrameMs: Math.max(worst, now - last), scrollers: candidates.map((e) => e.className) }); } };
     // A page that stops drawing altogether still gets its figure (0 fps, the whole window).
     setTimeout(() => finish(performance.now()), ms + 5000);
     requestAnimationFrame(step);`,
    selector,
    ms,
  );
}

async function main() {
  const path = bigCsv();
  const app = await startApp({ env: { QUIRE_TEST_PICK_FILE: path } });
  const figures: Record<string, number> = {};
  try {
    await app.driver.manage().setTimeouts({ script: 120_000 });
    await newNotebook(app, "Readings");
    await app.click("import-data");
    await app.waitText("import-preview", (t) => t.includes("s1") && t.includes("r1"));
    await app.click("import-start");
    await app.waitText("grid-rows", (t) => t.replace(/\D/g, "") === String(ROWS), 600_000);
    await app.waitText("last-saved", (t) => t.includes("readings"), 600_000);

    // Idle: the same page, nothing running, in three windows: under Xvfb one window's worst
    // swings from 5 to 60 ms between runs, so the median is the baseline and the worst is shown.
    const idle: number[] = [];
    for (let i = 0; i < 3; i++) {
      await probeStart(app);
      await app.driver.sleep(3_000); // a measuring window, not a synchronisation
      idle.push((await probeStop(app)).worst);
    }
    idle.sort((a, b) => a - b);
    figures.idle_stall_ms = idle[1]!;
    figures.idle_stall_max_ms = idle[2]!;

    // A snapshot of the 1M-row table: one edit, then the engine writes the whole version. The
    // edit itself (the cell editor opening and closing) is measured apart: the snapshot's
    // window starts once the grid shows the edited value and ends when the save is on disk.
    await waitCell(app, 0, "station", "s0");
    const before = await app.waitText("last-saved", () => true);
    await probeStart(app);
    await typeInto(app, 0, "note", "edited");
    await waitCell(app, 0, "note", "edited");
    figures.edit_stall_ms = (await probeStop(app)).worst;
    await probeStart(app);
    if ((await app.waitText("last-saved", () => true)) !== before) {
      throw new Error("the snapshot was on disk before its window opened: nothing would be measured");
    }
    await app.waitText("last-saved", (t) => t !== before && t.includes("readings"), 600_000);
    figures.snapshot_stall_ms = (await probeStop(app)).worst;

    // Scrolling, before any chart is on the page: the grid over 1M rows against a plain list of
    // 5,000 rows in the same webview.
    await app.driver.executeScript("document.querySelector('[data-testid=table-grid]').scrollIntoView();");
    const grid = await scrollFrames(app, "[data-testid=table-grid]", 4_000);
    await app.driver.executeScript(`
      const d = document.createElement('div');
      d.id = 'plain-scroller';
      d.style.cssText = 'position:fixed;inset:40px;overflow:auto;background:var(--panel);z-index:200';
      d.innerHTML = Array.from({ length: 5000 }, (_, i) => '<div style="height:28px">row ' + i + ' · s' + (i % 97) + ' · ' + i * 7 + '</div>').join('');
      document.body.appendChild(d);`);
    const plain = await scrollFrames(app, "#plain-scroller", 4_000);
    await app.driver.executeScript("document.getElementById('plain-scroller').remove();");
    figures.grid_scroll_fps = grid.fps;
    figures.plain_scroll_fps = plain.fps;
    figures.grid_worst_frame_ms = grid.worstFrameMs;
    figures.plain_worst_frame_ms = plain.worstFrameMs;

    // A chart of every row: the engine caps it at 10,000 points, which the page draws as SVG.
    await app.click("add-sql-cell");
    await runSql(app, "SELECT x, y FROM readings");
    await resultRows(app, (r) => r.length > 0, 600_000);
    await probeStart(app);
    await app.click("chart-result");
    await app.byTestId("chart-kind");
    await select(app, "chart-kind", "scatter");
    await app.driver.wait(
      async () => (await app.count("[data-testid=chart-cell] [data-testid=chart][data-drawn=canvas]")) > 0,
      600_000,
      "the scatter of 10,000 points never drew",
    );
    await app.waitText("chart-notes", (t) => /10\D?000 points/.test(t));
    figures.chart_stall_ms = (await probeStop(app)).worst;
  } finally {
    await app.stop();
  }

  const idle = Math.max(figures.idle_stall_ms!, 1);
  const lines = [
    ["idle_stall_ms", figures.idle_stall_ms, null],
    ["idle_stall_max_ms", figures.idle_stall_max_ms, null],
    ["edit_stall_ms", figures.edit_stall_ms, figures.edit_stall_ms! / idle],
    ["snapshot_stall_ms", figures.snapshot_stall_ms, figures.snapshot_stall_ms! / idle],
    ["chart_stall_ms", figures.chart_stall_ms, figures.chart_stall_ms! / idle],
    ["grid_scroll_fps", figures.grid_scroll_fps, figures.grid_scroll_fps! / figures.plain_scroll_fps!],
    ["plain_scroll_fps", figures.plain_scroll_fps, null],
    ["grid_worst_frame_ms", figures.grid_worst_frame_ms, figures.grid_worst_frame_ms! / Math.max(figures.plain_worst_frame_ms!, 1)],
    ["plain_worst_frame_ms", figures.plain_worst_frame_ms, null],
  ] as const;
  console.log(`responsiveness in the real webview, ${ROWS.toLocaleString("en-US")} rows (ratio against idle / the plain list)`);
  for (const [name, value, ratio] of lines) {
    console.log(`  ${name.padEnd(22)} ${value!.toFixed(1).padStart(9)}${ratio === null ? "" : `   ratio ${ratio.toFixed(2)}`}`);
  }
  const out = join(import.meta.dirname, "..", "artifacts");
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "responsiveness.json"), JSON.stringify({ rows: ROWS, ...figures }, null, 2));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

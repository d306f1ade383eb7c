// Recovery in the real app: kill Quire (SIGKILL) in the middle of an import; the next start
// says what it recovered, runs the import again from its task record, and lists it as done.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startApp } from "../src/harness.ts";
import { gone, csvFile, newNotebook } from "../src/grid.ts";

test("an import cut short by a crash runs again at the next start, and the UI says so", async () => {
  const file = csvFile("big.csv", 1_000_000);
  const first = await startApp({ env: { QUIRE_TEST_PICK_FILE: file } });
  const dataDir = first.dataDir;
  try {
    await newNotebook(first, "Recovery");
    await first.click("import-data");
    await first.waitText("import-preview", (t) => t.includes("Lyon"));
    await first.click("import-start");
    await first.waitText("import-progress", (t) => t.length > 0);
    const pid = first.pid();
    process.kill(pid, "SIGKILL");
    assert.ok(await gone(pid, 10_000), "the app survived SIGKILL");
  } finally {
    await first.stop();
  }

  const again = await startApp({ dataDir });
  try {
    await again.waitText("info-toast", (t) => t.includes("Recovered 1 import after an unexpected exit"), 20_000);
    await again.waitText("notebook-list", (t) => t.includes("Recovery"));
    await (await again.driver.findElement({ css: '[data-testid="notebook-list"] button' })).click();
    // The import runs again in the background; the table appears when it is done.
    await again.driver.wait(
      async () => {
        await again.click("task-counts");
        // One line per task: its label ("Import big.csv in “Recovery”"), then its status.
        const list = await again.waitText("task-row", () => true);
        await again.click("tasks-close");
        return /^Import big\.csv\b.*completed/m.test(list);
      },
      120_000,
      "the recovered import never completed",
    );
    // The recovered table shows up in the open notebook without any click.
    await again.waitText("table-list", (t) => /big\s*1\D?000\D?000 rows/.test(t), 30_000);
    await again.screenshot("recovery-after-crash");
  } finally {
    await again.stop();
  }
});

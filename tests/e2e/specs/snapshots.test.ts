// Snapshots in the real app: edit a table in the grid, watch Saving → Saved, kill the app
// (SIGKILL: no shutdown flush), reopen, and find the edit; a refused value changes nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startApp, type QuireApp } from "../src/harness.ts";
import { gone, csvFile, gridCell, newNotebook, typeInto, waitCell } from "../src/grid.ts";

const ROWS = 200_000;

const state = (app: QuireApp) =>
  app.driver.executeScript<string | null>(
    "return document.querySelector('[data-testid=table-status-trips]')?.dataset.state ?? null;",
  );

test("an edit in the grid is saved as a snapshot and survives a kill", async () => {
  const file = csvFile("trips.csv", ROWS);
  const env = { QUIRE_TEST_PICK_FILE: file, QUIRE_SNAPSHOTS__DEBOUNCE_MS: "800" };
  const first = await startApp({ env });
  const dataDir = first.dataDir;
  const tables = join(dataDir, "data", "workspace", "trips.quire", "tables");
  try {
    await newNotebook(first, "Trips");
    await first.click("import-data");
    await first.waitText("import-preview", (t) => t.includes("Lyon"));
    await first.click("import-start");
    await first.waitText("table-list", (t) => t.includes("trips"), 120_000);
    await first.driver.wait(async () => (await gridCell(first, 0, "city")) === "Lyon", 10_000, "row 0 never showed");
    assert.equal(await state(first), "saved", "a new table is saved at once");

    // A value that does not fit the column is refused in words, and the cell goes back.
    await typeInto(first, 1, "amount", "lots");
    await first.waitText("toast", (t) => t.includes("does not fit the column") && t.includes("is not a number"));
    await first.driver.wait(async () => (await gridCell(first, 1, "amount")) === "1.5", 5_000, "the refused value stayed");
    assert.equal(await state(first), "saved", "a refused edit changes nothing");

    await first.recordTexts("table-status-trips");
    await typeInto(first, 0, "city", "Marseille");
    await first.driver.wait(async () => (await state(first)) === "unsaved", 5_000, "the edit never showed as unsaved");
    await first.driver.wait(async () => (await state(first)) === "saved", 30_000, "the snapshot never finished");
    const seen = await first.recordedTexts();
    assert.ok(seen.includes("Unsaved"), `the status said Unsaved: ${JSON.stringify(seen)}`);
    assert.ok(seen.some((t) => t.startsWith("Saving")), `the status said Saving: ${JSON.stringify(seen)}`);
    assert.equal(seen.at(-1), "Saved");
    assert.ok(existsSync(join(tables, "trips.2.parquet")), `generation 2 on disk: ${readdirSync(tables).join(", ")}`);
    await first.screenshot("snapshots-saved");

    // A second edit, killed between its acknowledgement and its snapshot's "Saved": it must
    // come back from the journal.
    await typeInto(first, 2, "city", "Toulouse");
    await first.driver.wait(async () => (await state(first)) === "unsaved", 5_000, "the second edit never showed as unsaved");
    assert.ok(!existsSync(join(tables, "trips.3.parquet")), "the kill lands before the second edit's snapshot");

    // No shutdown, no flush: the process dies as in a crash.
    const pid = first.pid();
    process.kill(pid, "SIGKILL");
    assert.ok(await gone(pid, 10_000), "the app survived SIGKILL");
  } catch (e) {
    await first.screenshot("FAILED-snapshots-first").catch(() => undefined);
    throw e;
  } finally {
    await first.stop();
  }

  const again = await startApp({ dataDir });
  try {
    await again.waitText("notebook-list", (t) => t.includes("Trips"));
    await (await again.driver.findElement({ css: '[data-testid="notebook-list"] button' })).click();
    await again.waitText("table-list", (t) => t.includes("trips"));
    await (await again.driver.findElement({ css: "[data-testid=table-list] .table-name" })).click();
    // The edit survived the kill (the rows load into the grid a moment after it appears).
    await waitCell(again, 0, "city", "Marseille");
    assert.equal(await gridCell(again, 1, "amount"), "1.5");
    // The edit acknowledged but never snapshotted came back from the journal.
    await waitCell(again, 2, "city", "Toulouse");
    await again.click("history-trips");
    const history = await again.waitText("history-list", (t) => t.includes("Restore"));
    assert.match(history, /200\D?000/, "the history lists each generation's rows");
    await again.screenshot("snapshots-history");
    // Restore the imported copy: the edit is undone as a new version, saved like any other.
    await again.click("restore-1");
    // Restoring asks first, saying what it does.
    const question = await again.waitText("confirm", (t) => t.includes("Restore trips to the saved copy of version 1 (saved at"));
    assert.match(question, /200\D?000 rows/, "the question says how many rows the copy has");
    await again.click("confirm-yes");
    await again.driver.wait(async () => (await gridCell(again, 0, "city")) === "Lyon", 10_000, "restore did not show");
    await again.driver.wait(async () => (await state(again)) === "saved", 30_000, "the restore was never saved");
    assert.ok(existsSync(join(tables, "trips.3.parquet")));
  } catch (e) {
    await again.screenshot("FAILED-snapshots-reopened").catch(() => undefined);
    throw e;
  } finally {
    await again.stop();
  }
});


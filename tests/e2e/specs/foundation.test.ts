// The foundation scenario: the real app starts on a fresh data dir, shows the empty state, and
// commands round-trip through the engine into the DOM.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { withApp } from "../src/harness.ts";

test("starts empty, creates a notebook through the engine, reports a bad title", async () => {
  await withApp("foundation", async (app) => {
    await app.waitText("empty-state", (t) => t.includes("Start with your data"));

    // app_info came from the engine, which opened the workspace under this run's data dir.
    const shown = await app.waitText("workspace", (t) => t.startsWith("/"));
    assert.equal(shown, realpathSync(app.workspace));
    assert.ok(existsSync(app.workspace), "the engine created the workspace folder");
    await app.waitText("engine-version", (t) => /DataFusion \d+/.test(t));

    await app.type("new-notebook-title", "Trips 2026");
    await app.click("create-notebook");
    await app.waitText("notebook-title", (t) => t === "Trips 2026");
    await app.waitText("notebook-list", (t) => t.includes("Trips 2026"));
    // Lazy creation: nothing was written to the workspace for it.
    assert.deepEqual(
      readdirSync(app.workspace).filter((name) => !name.startsWith(".")),
      [],
      "a new notebook touches no disk until it is hydrated (only the hidden lock file is there)",
    );

    // The engine refuses the title; the UI says so in words.
    await app.type("new-notebook-title", "a/b");
    await app.click("create-notebook");
    await app.waitText("toast", (t) => t.includes("That title cannot be used"));

    // The live metrics readout (behind Details in the status bar) counts the one event the
    // engine emitted.
    await app.driver.wait(
      async () => String(await app.prop("metrics", "title")).includes("1 events"),
      10_000,
      "the metrics summary never counted the event",
    );

    await app.screenshot("foundation-main");
    const log = readFileSync(join(app.dataDir, "logs", "quire.log"), "utf8");
    assert.match(log, /created notebook .* \("Trips 2026"\)/);
  });
});

// The installed app: `.ci/install-test.sh` extracts the .deb into a clean root and runs this with
// QUIRE_APP pointing at the binary it installed. The window opens on a fresh workspace, works
// (a notebook is created and saved), and a screenshot of it is kept.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { withApp } from "../src/harness.ts";
import { newNotebook } from "../src/grid.ts";

test("the installed binary opens its window and saves a notebook", async () => {
  const app = process.env.QUIRE_APP;
  assert.ok(app && !app.includes("quire-target"), `QUIRE_APP should be the installed binary, not ${app}`);
  await withApp("installed", async (quire) => {
    await quire.waitText("empty-state", (t) => t.includes("Start with your data") && t.includes("Open the sample notebook"));
    await quire.screenshot("installed-main");
    // The sample's data travels inside the installed binary.
    await quire.click("open-sample");
    await quire.waitText("table-list", (t) => /penguins\s*344 rows/.test(t), 30_000);
    await newNotebook(quire, "Installed");
    await quire.click("flush");
    await quire.driver.wait(() => existsSync(join(quire.workspace, "installed.quire", "notebook.json")), 10_000, "never saved");
  });
});

// The first minutes of a new user (issue 20): the first screen offers a data file, a drop and
// the sample notebook; the sample opens with its table and draws its charts; a file opened from
// the first screen gets a notebook named after it and comes back in the recent files.
import { test } from "node:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withApp, type QuireApp } from "../src/harness.ts";
import { setTheme } from "../src/grid.ts";

async function chartsDrawn(app: QuireApp): Promise<number> {
  return app.driver.executeScript<number>(
    "return [...document.querySelectorAll('[data-testid=chart-cell] [data-testid=chart] svg')].filter((s) => s.querySelectorAll('.mark-symbol path, .mark-rect path').length > 0).length;",
  );
}

test("the sample notebook opens from the first screen with its table and charts", async () => {
  await withApp("first-launch-sample", async (app) => {
    await app.waitText("empty-state", (t) => t.includes("Start with your data") && t.includes("Open a data file"));
    await app.screenshot("first-launch");
    await app.click("open-sample");
    await app.waitText("notebook-title", (t) => t === "Penguins (sample)", 30_000);
    await app.waitText("table-list", (t) => /penguins\s*344 rows/.test(t), 30_000);
    await app.driver.wait(async () => (await chartsDrawn(app)) === 2, 60_000, "the sample's two charts were never drawn");
    await app.screenshot("sample-notebook");
  });
});

test("a file opened from the first screen gets its own notebook, and is offered again", async () => {
  const dir = mkdtempSync(join(tmpdir(), "quire-e2e-first-"));
  const path = join(dir, "harbour-log.csv");
  writeFileSync(path, "ship,tons\nAurora,120\nBorealis,340\n");
  await withApp(
    "first-launch-file",
    async (app) => {
      await setTheme(app, "dark");
      await app.waitText("empty-state", (t) => t.includes("Start with your data"));
      await app.screenshot("first-launch-dark");
      await app.click("open-data-file");
      await app.waitText("notebook-title", (t) => t === "harbour-log", 15_000);
      await app.waitText("import-preview", (t) => t.includes("Borealis"));
      await app.click("import-start");
      await app.waitText("table-list", (t) => /harbour_log\s*2 rows/.test(t), 30_000);

      // Without a notebook open, the file is in the recent list, and opens again from there.
      await app.click("delete-notebook");
      await app.click("confirm-yes");
      await app.waitText("recent-files", (t) => t.includes("harbour-log.csv"), 15_000);
      await app.driver.executeScript("[...document.querySelectorAll('[data-testid=recent-files] button')].find((b) => b.textContent === 'harbour-log.csv').click();");
      await app.waitText("notebook-title", (t) => t === "harbour-log", 15_000);
      await app.waitText("import-preview", (t) => t.includes("Aurora"));
    },
    { env: { QUIRE_TEST_PICK_FILE: path } },
  );
});

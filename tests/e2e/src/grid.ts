// Helpers the table specs share: test files, reading and typing into grid cells, selects.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Key, type WebElement } from "selenium-webdriver";
import { fresh, type QuireApp } from "./harness.ts";

/** A CSV `id,city,amount` of `rows` rows (cities Lyon, Paris, Nice in turn) in a fresh folder. */
export function csvFile(name: string, rows: number): string {
  const dir = mkdtempSync(join(tmpdir(), "quire-e2e-files-"));
  const lines = ["id,city,amount"];
  const cities = ["Lyon", "Paris", "Nice"];
  for (let i = 0; i < rows; i++) lines.push(`${i},${cities[i % 3]},${i}.5`);
  const path = join(dir, name);
  writeFileSync(path, lines.join("\n") + "\n");
  return path;
}

const FIND_CELL = `for (const row of document.querySelectorAll('[data-testid=table-grid] .ag-row[row-index="' + arguments[0] + '"]')) {
   const cell = row.querySelector('.ag-cell[col-id="' + arguments[1] + '"]');
   if (cell) return WANT;
 }
 return null;`;

/** The text of a grid cell, or null while that row is not rendered. */
export async function gridCell(app: QuireApp, rowIndex: number, column: string): Promise<string | null> {
  return app.driver.executeScript<string | null>(FIND_CELL.replace("WANT", "cell.textContent"), rowIndex, column);
}

export async function waitCell(app: QuireApp, row: number, column: string, value: string) {
  let seen: string | null = null;
  try {
    await app.driver.wait(async () => (seen = await gridCell(app, row, column)) === value, 15_000);
  } catch (e) {
    // Says what the cell held when the wait gave up, not when it began.
    throw new Error(`cell ${column}@${row} never became ${value}; it is ${JSON.stringify(seen)} (${String(e)})`);
  }
}

/** Focuses a cell and presses Delete, as a keyboard user clears a value. */
export async function clearCell(app: QuireApp, rowIndex: number, column: string) {
  await fresh(async () => {
    const cell = await app.driver.executeScript<WebElement | null>(FIND_CELL.replace("WANT", "cell"), rowIndex, column);
    if (!cell) throw new Error(`no cell ${column} in row ${rowIndex}`);
    await cell.click();
    await app.driver.switchTo().activeElement().sendKeys(Key.DELETE);
  });
}

/** Focuses a cell, opens its editor with Enter (as a keyboard user would) and types `text`.
 *  The grid may re-render the cell between finding and using it (an event arrived): then it
 *  is found again, a few times, as `QuireApp.click` does. */
export async function typeInto(app: QuireApp, rowIndex: number, column: string, text: string) {
  await fresh(() => typeOnce(app, rowIndex, column, text));
}

async function typeOnce(app: QuireApp, rowIndex: number, column: string, text: string) {
  const cell = await app.driver.executeScript<WebElement | null>(FIND_CELL.replace("WANT", "cell"), rowIndex, column);
  if (!cell) throw new Error(`no cell ${column} in row ${rowIndex}`);
  await cell.click();
  await app.driver.switchTo().activeElement().sendKeys(Key.ENTER);
  const input = await app.driver.wait<WebElement>(
    async () => (await cell.findElements({ css: "input" }))[0] ?? null,
    5_000,
    "the cell editor never opened",
  );
  // The editor opens with its text selected: typing replaces it.
  await input.sendKeys(text, Key.ENTER);
}

/** Picks an option of a <select> the way React hears it. */
export async function select(app: QuireApp, testId: string, value: string) {
  // The select may render a moment after what opened it (a dialog, a form): waited for.
  await app.driver.wait(
    async () => app.driver.executeScript<boolean>(`return document.querySelector('[data-testid="' + arguments[0] + '"]') instanceof HTMLSelectElement;`, testId),
    10_000,
    `no select ${testId}`,
  );
  await app.driver.executeScript(
    `const s = document.querySelector('[data-testid="' + arguments[0] + '"]');
     const set = Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, 'value').set;
     set.call(s, arguments[1]);
     s.dispatchEvent(new Event('change', { bubbles: true }));`,
    testId,
    value,
  );
}

export async function newNotebook(app: QuireApp, title: string) {
  await app.type("new-notebook-title", title);
  await app.click("create-notebook");
  await app.waitText("notebook-title", (t) => t === title);
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const closeScript = new URL("./close_window.py", import.meta.url).pathname;

/** Clicks the window's close button, as a window manager would (WM_DELETE_WINDOW). */
export function closeWindow(pid: number) {
  execFileSync("/usr/bin/python3", [closeScript, String(pid)], { stdio: ["ignore", "pipe", "pipe"] });
}

/** Waits until the process is gone; false if it is still running after `ms`. */
export async function gone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** Adds a SQL cell to the open notebook and types `source` into it. */
export async function addSqlCell(app: QuireApp, source: string) {
  const before = await app.count('[data-testid="cell-source"]');
  await app.click("add-sql-cell");
  await app.driver.wait(
    async () => (await app.count('[data-testid="cell-source"]')) > before,
    5000,
  );
  await fresh(async () => {
    const editors = await app.driver.findElements({ css: '[data-testid="cell-source"]' });
    await editors[before]!.sendKeys(source);
  });
}

/** Imports the file the app's test dialog answers with (QUIRE_TEST_PICK_FILE) as `table`, and
 *  waits until its first row shows in the grid. */
export async function importPicked(app: QuireApp, table: string, timeoutMs = 120_000) {
  await app.click("import-data");
  await app.waitText("import-preview", (t) => t.includes("Lyon"));
  await app.click("import-start");
  await app.waitText("table-list", (t) => t.includes(table), timeoutMs);
  await app.driver.wait(async () => (await gridCell(app, 0, "city")) === "Lyon", 15_000, "row 0 never showed");
}

/** Switches the theme in Settings, as a user does, and closes Settings. */
export async function setTheme(app: QuireApp, which: "light" | "dark") {
  await app.click("open-settings");
  await app.byTestId("theme");
  await select(app, "theme", which);
  await app.driver.wait(
    async () => app.driver.executeScript<boolean>(`return document.documentElement.dataset.theme === '${which}';`),
    5_000,
    `the page never turned ${which}`,
  );
  await app.driver.executeScript("document.querySelector('[data-testid=settings] .modal-actions button').click();");
  await app.driver.wait(async () => (await app.count('[data-testid="settings"]')) === 0, 5_000, "Settings never closed");
}

/** Page script: the grid's vertically scrollable elements, as `scrollers`. */
export const SCROLLERS = `const scrollers = [...document.querySelectorAll('[data-testid=table-grid] *')].filter((e) => {
  const y = getComputedStyle(e).overflowY;
  return (y === 'auto' || y === 'scroll') && e.scrollHeight > e.clientHeight + 10;
});`;

/** Scrolls the grid to its last row (of `rows`) and waits for its `id` cell to read `expectId`. */
export async function scrollToLastRow(app: QuireApp, rows: number, expectId: string) {
  const toBottom = `${SCROLLERS}
     scrollers.forEach((e) => { e.scrollTop = e.scrollHeight; });
     return scrollers.length;`;
  assert.ok((await app.driver.executeScript<number>(toBottom)) > 0, "found the grid's scroller");
  await app.driver.wait(
    async () => {
      if ((await gridCell(app, rows - 1, "id")) === expectId) return true;
      await app.driver.executeScript(toBottom);
      return false;
    },
    30_000,
    `the last row (id ${expectId}) never appeared`,
  );
}

/** `waitCell` for a row near the end of a grid of a million rows or more, scrolled to its end
 *  again while the row is not rendered: at that height the grid scales its scrolling, and its
 *  two scrollers settling can leave the last rows out of the rendered range a while (2 runs
 *  of 3 here once the last row was one added to a linked table). */
export async function waitCellAtEnd(app: QuireApp, row: number, column: string, value: string) {
  const toBottom = `${SCROLLERS}
     scrollers.forEach((e) => { e.scrollTop = e.scrollHeight; });`;
  let seen: string | null = null;
  try {
    await app.driver.wait(async () => {
      seen = await gridCell(app, row, column);
      if (seen === null) await app.driver.executeScript(toBottom);
      return seen === value;
    }, 15_000);
  } catch (e) {
    throw new Error(`cell ${column}@${row} never became ${value}; it is ${JSON.stringify(seen)} (${String(e)})`);
  }
}

/** Clicks a table's name in the list, brought to the middle of the window first (the list sits
 *  below a tall result, and WebKitWebDriver refuses a click on a button half out of view). */
export async function openTable(app: QuireApp, name: string) {
  await fresh(async () => {
    const button = await app.driver.findElement({ xpath: `//*[@data-testid="table-list"]//button[@class="table-name" and text()="${name}"]` });
    await app.driver.executeScript("arguments[0].scrollIntoView({ block: 'center' });", button);
    await button.click();
  });
}

/** Types a row number into the grid's "Go to row" box and goes there. The box's old text is
 *  erased with Backspace, as a user would: WebDriver's clear() sets the value without the input
 *  event React listens for, so the old number came back in front of the new one. */
export async function goToRow(app: QuireApp, row: number) {
  const box = await app.byTestId("grid-goto");
  const typed = ((await box.getAttribute("value")) ?? "").length;
  await box.sendKeys(Key.END, ...Array<string>(typed).fill(Key.BACK_SPACE), String(row), Key.ENTER);
}

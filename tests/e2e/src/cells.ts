// SQL cells as a user drives them: replace the first cell's text and run it, read the result.
import { Key } from "selenium-webdriver";
import { fresh, type QuireApp } from "./harness.ts";

/** Replaces the text of the notebook's first SQL cell and runs it. */
export async function runSql(app: QuireApp, sql: string) {
  await app.driver.wait(async () => (await app.count('[data-testid="cell-source"]')) > 0, 5_000, "no SQL cell");
  await fresh(async () => {
    const editor = (await app.driver.findElements({ css: '[data-testid="cell-source"]' }))[0]!;
    // Focused, not clicked: a click can land on whatever covers the editor for a moment (its
    // own completion list, a toast), and Ctrl+A typed anywhere else selects the whole page.
    await app.driver.executeScript("arguments[0].scrollIntoView({ block: 'center' }); arguments[0].focus();", editor);
    await app.driver.wait(
      () => app.driver.executeScript<boolean>("return arguments[0].contains(document.activeElement);", editor),
      5_000,
      "the SQL editor never took the focus",
    );
    await app.driver.switchTo().activeElement().sendKeys(Key.chord(Key.CONTROL, "a"), Key.DELETE);
    await app.driver.switchTo().activeElement().sendKeys(sql, Key.chord(Key.CONTROL, Key.ENTER));
  });
}

/** The cells of the shown result, row by row, once `ok` accepts them. */
export async function resultRows(app: QuireApp, ok: (rows: string[][]) => boolean, timeoutMs = 60_000): Promise<string[][]> {
  let rows: string[][] = [];
  await app.driver.wait(
    async () => {
      rows = await app.driver.executeScript<string[][]>(
        "return [...document.querySelectorAll('[data-testid=cell-output] tbody tr')].map((r) => [...r.querySelectorAll('td')].map((c) => c.textContent.trim()));",
      );
      return ok(rows);
    },
    timeoutMs,
    `the result never matched; it was ${JSON.stringify(rows)}`,
  );
  return rows;
}


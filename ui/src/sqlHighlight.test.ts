// Every SQL token colour of both themes must be readable (WCAG AA, 4.5:1) on the editor's
// background, also on a line marked as the error's. The colours are read from styles.css,
// the one place they are set, so this fails on any stylesheet change that breaks them.
import { describe, expect, it } from "vitest";
import { css, themes } from "./themeVars";
import { SYNTAX_TOKENS, contrast, sqlHighlight } from "./sqlHighlight";

/** `color-mix(in srgb, var(--error) 18%, transparent)` over the panel, as .cm-error-line draws it. */
function errorLine(vars: Record<string, string>): string {
  const share = Number(/\.cm-error-line \{[^}]*var\(--error\) (\d+)%/.exec(css)?.[1]);
  expect(share, "the error line's mix is where this test looks for it").toBeGreaterThan(0);
  const [e, p] = [vars["--error"]!, vars["--panel"]!].map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));
  return `#${p!.map((c, i) => Math.round(c + ((e![i]! - c) * share) / 100).toString(16).padStart(2, "0")).join("")}`;
}

describe("SQL highlighting", () => {
  for (const [name, vars] of Object.entries(themes)) {
    it(`keeps every token at 4.5:1 or better in the ${name} theme`, () => {
      const backgrounds = { panel: vars["--panel"]!, "error line": errorLine(vars) };
      const failures: string[] = [];
      for (const token of SYNTAX_TOKENS) {
        const colour = vars[`--syntax-${token}`];
        expect(colour, `--syntax-${token} is set for the ${name} theme`).toMatch(/^#[0-9a-f]{6}$/i);
        for (const [where, bg] of Object.entries(backgrounds)) {
          const ratio = contrast(colour!, bg);
          if (ratio < 4.5) failures.push(`${token} ${colour} on ${where} ${bg}: ${ratio.toFixed(2)}:1`);
        }
      }
      expect(failures).toEqual([]);
    });
  }

  it("styles tokens only through the theme variables", () => {
    const rules = (sqlHighlight.module?.getRules() ?? "").match(/color:\s*[^;}]+/g) ?? [];
    expect(rules.length).toBeGreaterThanOrEqual(SYNTAX_TOKENS.length);
    for (const rule of rules) expect(rule).toMatch(/color:\s*var\(--syntax-[a-z]+\)/);
  });

  it("measures contrast as WCAG does", () => {
    expect(contrast("#000", "#fff")).toBeCloseTo(21, 5);
    expect(contrast("#770088", "#24272b"), "the old dark keyword").toBeLessThan(1.6);
  });
});

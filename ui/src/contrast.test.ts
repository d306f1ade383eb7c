// Every colour pair the stylesheet draws text with must be readable (WCAG AA: 4.5:1) in both
// themes. Text colours are only ever set through the variables of the two :root blocks (checked
// below), and text sits on --bg or --panel, or on its own fill (accent, error buttons), so these
// pairs are all the pairs there are.
import { describe, expect, it } from "vitest";
import { css, themes } from "./themeVars";
import { contrast } from "./sqlHighlight";

const TEXT = ["--text", "--muted", "--accent", "--error", "--saved", "--warn"];
const SURFACES = ["--bg", "--panel"];
const FILLED: [string, string][] = [
  ["--accent-text", "--accent"],
  ["--on-error", "--error"],
];

describe("colour contrast", () => {
  for (const [name, vars] of Object.entries(themes)) {
    it(`keeps every text colour at 4.5:1 or better in the ${name} theme`, () => {
      const pairs: [string, string][] = [...TEXT.flatMap((t) => SURFACES.map((s): [string, string] => [t, s])), ...FILLED];
      const failures = pairs
        .map(([fg, bg]) => [fg, bg, contrast(vars[fg]!, vars[bg]!)] as const)
        .filter(([, , ratio]) => !(ratio >= 4.5))
        .map(([fg, bg, ratio]) => `${fg} ${vars[fg]} on ${bg} ${vars[bg]}: ${ratio.toFixed(2)}:1`);
      expect(failures).toEqual([]);
    });
  }

  it("sets text and fill colours only through the theme variables", () => {
    const rules = css.replace(/:root(\[data-theme=dark\])? \{[^}]*\}/g, "");
    const literal = [...rules.matchAll(/(?:^|[;{\s])((?:color|background|background-color|fill)\s*:\s*[^;}]*#[0-9a-f]{3,8}[^;}]*)/gi)].map((m) => m[1]);
    expect(literal).toEqual([]);
    const fallbacks = [...rules.matchAll(/var\(--[\w-]+,[^)]*\)/g)].map((m) => m[0]);
    expect(fallbacks, "a fallback colour is used when a variable is missing, and is not checked").toEqual([]);
    const used = new Set([...rules.matchAll(/(?:^|[;{\s])color\s*:\s*var\((--[\w-]+)\)/g)].map((m) => m[1]!));
    const unchecked = [...used].filter((v) => !TEXT.includes(v) && !FILLED.some(([fg]) => fg === v));
    expect(unchecked).toEqual([]);
  });
});

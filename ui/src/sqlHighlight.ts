// SQL token colours for both themes. CodeMirror's defaultHighlightStyle is made for a white
// page: on the dark panel its keywords (#708 on #24272b) are 1.5:1, unreadable. Each colour
// here is a CSS variable set per theme in styles.css, next to the other theme colours, so a
// theme switch needs no editor reconfiguration; sqlHighlight.test.ts holds every pair to
// WCAG AA (4.5:1) against the editor's background.
import { HighlightStyle } from "@codemirror/language";
import { tags as t, type Tag } from "@lezer/highlight";

/** Token kinds, each a `--syntax-<kind>` variable in styles.css for both themes. */
export const SYNTAX_TOKENS = [
  "keyword",
  "atom",
  "number",
  "string",
  "special",
  "builtin",
  "type",
  "definition",
  "variable",
  "property",
  "comment",
  "invalid",
  "meta",
] as const;
export type SyntaxToken = (typeof SYNTAX_TOKENS)[number];

const TAGS: Record<SyntaxToken, Tag[]> = {
  keyword: [t.keyword, t.operatorKeyword, t.controlKeyword, t.definitionKeyword, t.modifier],
  atom: [t.atom, t.bool, t.null, t.url, t.contentSeparator, t.labelName],
  number: [t.number, t.literal, t.inserted],
  string: [t.string, t.deleted],
  // Quoted identifiers ("my table"), regexps and escapes.
  special: [t.special(t.string), t.regexp, t.escape],
  // Built-in functions (count, coalesce, …).
  builtin: [t.standard(t.name), t.macroName, t.special(t.name), t.special(t.variableName)],
  type: [t.typeName, t.namespace, t.className],
  definition: [t.definition(t.variableName), t.definition(t.propertyName)],
  variable: [t.local(t.variableName)],
  property: [t.propertyName],
  comment: [t.comment],
  invalid: [t.invalid],
  meta: [t.meta],
};

export const sqlHighlight = HighlightStyle.define([
  ...SYNTAX_TOKENS.map((token) => ({ tag: TAGS[token], color: `var(--syntax-${token})` })),
  { tag: t.comment, fontStyle: "italic" },
  { tag: t.link, textDecoration: "underline" },
  { tag: t.heading, textDecoration: "underline", fontWeight: "bold" },
  { tag: t.emphasis, fontStyle: "italic" },
  { tag: t.strong, fontWeight: "bold" },
  { tag: t.strikethrough, textDecoration: "line-through" },
]);

/** WCAG 2 contrast ratio of two `#rgb` / `#rrggbb` colours. */
export function contrast(a: string, b: string): number {
  const [la, lb] = [luminance(a), luminance(b)];
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

function luminance(hex: string): number {
  const h = hex.replace("#", "");
  const full = h.length === 3 ? [...h].map((c) => c + c).join("") : h;
  if (!/^[0-9a-f]{6}$/i.test(full)) throw new Error(`not a #rgb or #rrggbb colour: ${hex}`);
  const [r, g, b] = [0, 2, 4].map((i) => {
    const c = parseInt(full.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

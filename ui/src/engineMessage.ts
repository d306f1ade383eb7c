// The engine's messages often carry DataFusion's and sqlparser's own wording: Rust debug
// wrappers, category prefixes and a plea to file a bug upstream. None of it helps the person
// looking at their query, so the UI trims it before showing. The engine cleans up too; this
// is the second line of defence, so it must never lose the actual reason.
import type { Position } from "./bindings";

export interface CleanMessage {
  text: string;
  /** The position the engine gave, else one found in the text ("at Line: 1, Column: 8"). */
  position: Position | null;
}

// DataFusion appends this to every internal error (wording varies a little by version).
const BUG_PLEA = /\s*This (?:issue|error) was likely caused by a bug in DataFusion's code[\s\S]*?(?:https:\/\/github\.com\/apache\/(?:arrow-)?datafusion\/issues\/?\S*|$)/gi;

// Category prefixes from DataFusion's and Arrow's Display impls and the engine's own
// wrapping; the headline already says which kind of problem it is.
const PREFIXES = [
  "sql parser error",
  "sql error",
  "error during planning",
  "internal error",
  "execution error",
  "external error",
  "arrow error",
  "schema error",
  "optimizer rule '[^']*' failed(?:\\s*caused by)?",
  "caused by",
  "context\\([^)]*\\)",
];
const PREFIX = new RegExp(`^\\s*(?:${PREFIXES.join("|")})\\s*:?\\s*`, "i");

// sqlparser's Debug form: ParserError("…") / TokenizerError("…").
const WRAPPER = /\b(?:ParserError|TokenizerError)\("((?:[^"\\]|\\.)*)"\)/g;

// sqlparser's location suffix, sometimes repeated by each layer that wrapped the error.
const LOCATION = /\s*at Line: (\d+), Column: (\d+)/g;

export function cleanEngineMessage(message: string, position: Position | null = null): CleanMessage {
  let text = message.replace(BUG_PLEA, "");
  text = text.replace(WRAPPER, (_, inner: string) => unescapeRust(inner));
  let found: Position | null = null;
  text = text.replace(LOCATION, (_, line: string, column: string) => {
    found ??= { line: Number(line), column: Number(column) };
    return "";
  });
  for (let previous = ""; previous !== text; ) {
    previous = text;
    text = text.replace(PREFIX, "");
  }
  text = text.replace(/[ \t]+\n/g, "\n").trim();
  // Never hide everything: a message that was all boilerplate is still better than nothing.
  if (text === "") text = message.trim();
  return { text, position: position ?? found };
}

function unescapeRust(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c === "t" ? "\t" : c));
}

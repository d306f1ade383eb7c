import { describe, expect, it } from "vitest";
import { cleanEngineMessage } from "./engineMessage";

const PLEA =
  "This issue was likely caused by a bug in DataFusion's code. Please help us to resolve this by filing a bug report in our issue tracker: https://github.com/apache/datafusion/issues";

describe("cleanEngineMessage", () => {
  it("unwraps a sqlparser error and takes its position out of the text", () => {
    const got = cleanEngineMessage('sql parser error: ParserError("Expected: an expression, found: FROM at Line: 1, Column: 8")');
    expect(got).toEqual({ text: "Expected: an expression, found: FROM", position: { line: 1, column: 8 } });
  });

  it("keeps the engine's own position over the one in the text, and drops every repeat", () => {
    const got = cleanEngineMessage(
      'SQL error: ParserError("Expected: ), found: x at Line: 2, Column: 5 at Line: 2, Column: 5")',
      { line: 2, column: 5 },
    );
    expect(got).toEqual({ text: "Expected: ), found: x", position: { line: 2, column: 5 } });
  });

  it("drops DataFusion's bug-report plea and the internal-error prefix", () => {
    const got = cleanEngineMessage(`Internal error: coalesce should have been simplified to case.\n${PLEA}`);
    expect(got).toEqual({ text: "coalesce should have been simplified to case.", position: null });
  });

  it("drops nested prefixes (optimizer rule, caused by, planning)", () => {
    const got = cleanEngineMessage(
      `Optimizer rule 'simplify_expressions' failed\ncaused by\nInternal error: coalesce should have been simplified to case.\n${PLEA}`,
    );
    expect(got.text).toBe("coalesce should have been simplified to case.");
    expect(cleanEngineMessage("Error during planning: table 'trips' not found").text).toBe("table 'trips' not found");
  });

  it("unescapes the Rust string inside the wrapper", () => {
    expect(cleanEngineMessage('ParserError("Expected: \\"end\\", found: EOF")').text).toBe('Expected: "end", found: EOF');
  });

  it("leaves a plain message alone and never returns nothing", () => {
    expect(cleanEngineMessage("no column named nope").text).toBe("no column named nope");
    expect(cleanEngineMessage("Internal error:").text).toBe("Internal error:");
  });
});

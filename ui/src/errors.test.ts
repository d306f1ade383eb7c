import { describe, expect, it } from "vitest";
import { describeError, formatBytes } from "./errors";
import { QuireError } from "./backend";

describe("describeError", () => {
  it("leaves an address at the start of a message as written", () => {
    const text = describeError(new QuireError("connection_unreachable", "http://127.0.0.1:1 did not answer: nothing is listening there"));
    expect(text.detail).toBe("http://127.0.0.1:1 did not answer: nothing is listening there");
    expect(describeError(new QuireError("file_unreadable", "s3://b/x.parquet changed since it was linked")).detail).toMatch(/^s3:\/\//);
    expect(describeError(new QuireError("invalid_title", "a title cannot be empty")).detail).toBe("A title cannot be empty");
  });

  it("gives plain words for a known code and keeps the engine's detail", () => {
    const text = describeError(new QuireError("invalid_title", "a title cannot contain '/'"));
    expect(text.headline).toBe("That title cannot be used");
    expect(text.detail).toBe("A title cannot contain '/'");
  });

  it("says where in the query the problem is", () => {
    const err = QuireError.from({ code: "sql_invalid", message: "no column named nope", position: { line: 2, column: 8 } });
    expect(describeError(err)).toEqual({
      headline: "The query has a problem",
      detail: "No column named nope (line 2, column 8)",
    });
  });

  it("shows a parser error once, in plain words, with its place", () => {
    const err = QuireError.from({
      code: "sql_invalid",
      message: 'sql parser error: ParserError("Expected: an expression, found: FROM at Line: 1, Column: 8")',
      position: { line: 1, column: 8 },
    });
    expect(describeError(err)).toEqual({
      headline: "The query has a problem",
      detail: "Expected: an expression, found: FROM (line 1, column 8)",
    });
  });

  it("keeps DataFusion's bug-report boilerplate away from the user", () => {
    const err = QuireError.from({
      code: "internal",
      message:
        "Internal error: coalesce should have been simplified to case.\nThis issue was likely caused by a bug in DataFusion's code. Please help us to resolve this by filing a bug report in our issue tracker: https://github.com/apache/datafusion/issues",
    });
    expect(describeError(err).detail).toBe("Coalesce should have been simplified to case.");
  });

  it("passes an unknown code through with its message", () => {
    const err = QuireError.from({ code: "from_a_newer_engine", message: "new thing" });
    expect(describeError(err)).toEqual({ headline: "Something went wrong", detail: "New thing" });
  });

  it("turns a rejected invoke without a code into an unknown error", () => {
    const err = QuireError.from("command metrics not allowed by ACL");
    expect(err.code).toBe("unknown");
    expect(err.message).toContain("not allowed");
  });
});

describe("formatBytes", () => {
  it("scales units", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(5 * 1024 * 1024)).toBe("5.0 MB");
  });
});

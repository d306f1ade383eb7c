import { describe, expect, it } from "vitest";
import { parseBlock } from "./TableGrid";

describe("parseBlock", () => {
  it("splits a spreadsheet block into rows and cells, ignoring the last line break", () => {
    expect(parseBlock("a\tb\r\nc\td\r\n")).toEqual([
      ["a", "b"],
      ["c", "d"],
    ]);
    expect(parseBlock("one")).toEqual([["one"]]);
    expect(parseBlock("x\t\ty")).toEqual([["x", "", "y"]]);
  });
});

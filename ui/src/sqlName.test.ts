import { describe, expect, it } from "vitest";
import { sqlName } from "./sqlName";

describe("sqlName", () => {
  it("leaves plain lower-case names and quotes the rest", () => {
    expect(sqlName("flights")).toBe("flights");
    expect(sqlName("body_mass_g")).toBe("body_mass_g");
    expect(sqlName("Body Mass")).toBe('"Body Mass"');
    expect(sqlName("2024")).toBe('"2024"');
    expect(sqlName('say "hi"')).toBe('"say ""hi"""');
  });
});

import { describe, expect, it } from "vitest";
import { tableFromArrays, tableToIPC, tableFromIPC } from "apache-arrow";
import { display, rowsOf, viewSpec } from "./pages";

describe("pages", () => {
  it("decodes Arrow IPC rows into display text, nulls kept", () => {
    const t = tableFromArrays({
      id: BigInt64Array.from([1n, 9007199254740993n]),
      city: ["Lyon", null],
      amount: Float64Array.from([12.5, 7]),
    });
    const rows = rowsOf(tableFromIPC(tableToIPC(t, "stream")));
    expect(rows).toEqual([
      { id: "1", city: "Lyon", amount: "12.5" },
      { id: "9007199254740993", city: null, amount: "7" },
    ]);
  });

  it("renders dates as ISO text", () => {
    expect(display(new Date(Date.UTC(2026, 0, 2, 3, 4, 5)))).toBe("2026-01-02T03:04:05Z");
    expect(display(undefined)).toBeNull();
  });
});

describe("viewSpec", () => {
  it("is null for a plain grid", () => {
    expect(viewSpec([], {})).toBeNull();
  });

  it("maps sorting and text, number and range filters", () => {
    const spec = viewSpec([{ colId: "amount", sort: "desc" }], {
      city: { filterType: "text", type: "contains", filter: "Ni" },
      amount: { filterType: "number", type: "inRange", filter: 1, filterTo: 5 },
      note: { filterType: "text", type: "blank" },
    });
    expect(spec).toEqual({
      sort: [{ column: "amount", descending: true }],
      filters: [
        { column: "city", op: "contains", value: "Ni" },
        { column: "amount", op: "greater_than_or_equal", value: "1" },
        { column: "amount", op: "less_than_or_equal", value: "5" },
        { column: "note", op: "blank", value: null },
      ],
    });
  });

  it("joins AND conditions and leaves OR out", () => {
    const spec = viewSpec([], {
      a: { operator: "AND", conditions: [{ type: "startsWith", filter: "x" }, { type: "endsWith", filter: "y" }] },
      b: { operator: "OR", conditions: [{ type: "equals", filter: "1" }, { type: "equals", filter: "2" }] },
    });
    expect(spec?.filters).toEqual([
      { column: "a", op: "starts_with", value: "x" },
      { column: "a", op: "ends_with", value: "y" },
    ]);
  });
});

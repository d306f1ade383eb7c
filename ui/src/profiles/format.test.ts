import { describe, expect, it } from "vitest";
import type { ColumnProfile } from "../bindings";
import { viewSpec } from "../pages";
import { binFilter, binRangeText, distinctText, missingText, notFiniteText, quartilesText, rowsText, short, valueFilter, VALUE_CHARS } from "./format";

const column = (over: Partial<ColumnProfile>): ColumnProfile => ({
  name: "amount",
  data_type: "Float64",
  kind: "number",
  nulls: 0,
  distinct: 10,
  distinct_exact: true,
  min: "0",
  max: "9",
  mean: 4.5,
  stddev: 3,
  quartiles: [2, 4.5, 7],
  quartiles_exact: true,
  not_finite: 0,
  histogram: [],
  top: [],
  others: 0,
  ...over,
});

describe("column profiles in words", () => {
  it("says how much is missing and how many values differ", () => {
    expect(missingText(column({ nulls: 0 }), 100)).toBe("none missing");
    expect(missingText(column({ nulls: 25 }), 1000)).toBe("25 missing (2.5 %)");
    expect(missingText(column({ nulls: 1 }), 100_000)).toBe("1 missing (<0.1 %)");
    expect(distinctText(column({ distinct: 4 }), 100)).toBe("4 distinct");
    // Counted: said as counted, however few or many (an estimate of 249 for 250 read as exact).
    expect(distinctText(column({ distinct: 250 }), 333)).toBe("250 distinct");
    expect(distinctText(column({ distinct: 9_000 }), 9_000)).toBe(`all ${(9_000).toLocaleString()} distinct`);
    // One value throughout: one distinct, even when estimated (a linked year column said "≈ 1").
    expect(distinctText(column({ distinct: 1, distinct_exact: false, min: "2013", max: "2013" }), 336_776)).toBe("1 distinct");
    // Two long texts alike in their first 200 characters (min and max are cut there): two.
    const cut = "x".repeat(200) + "…";
    expect(distinctText(column({ distinct: 2, min: cut, max: cut }), 2)).toBe("all 2 distinct");
    // Estimated: "≈", even for a small count.
    expect(distinctText(column({ distinct: 249, distinct_exact: false }), 333)).toBe("≈ 249 distinct");
    expect(distinctText(column({ distinct: 9_000, distinct_exact: false }), 10_000)).toBe(`≈ ${(9_000).toLocaleString()} distinct`);
    expect(distinctText(column({ distinct: 10_050, distinct_exact: false }), 10_000)).toBe(`≈ all ${(10_000).toLocaleString()} distinct`);
    expect(distinctText(column({ distinct: null }), 10)).toBeNull();
  });

  it("rounds numbers for a glance", () => {
    expect(short(1234.5678)).toBe((1234.57).toLocaleString());
    expect(short(0.123456)).toBe("0.1235");
    expect(short(12_345_678)).toBe((12_345_678).toLocaleString());
    expect(short(2.5e15)).toBe("2.50e+15");
    expect(short(0)).toBe("0");
  });

  it("turns a clicked bar into the engine's view filters", () => {
    const bin = { start: 200, end: 400, count: 5 };
    expect(viewSpec([], { amount: binFilter(bin, false) as never })?.filters).toEqual([
      { column: "amount", op: "greater_than_or_equal", value: "200" },
      { column: "amount", op: "less_than", value: "400" },
    ]);
    expect(viewSpec([], { amount: binFilter(bin, true) as never })?.filters[1]).toEqual({ column: "amount", op: "less_than_or_equal", value: "400" });
    expect(viewSpec([], { city: valueFilter("text", { value: "Lyon", count: 3 }) as never })?.filters).toEqual([{ column: "city", op: "equals", value: "Lyon" }]);
    expect(viewSpec([], { city: valueFilter("text", { value: null, count: 3 }) as never })?.filters).toEqual([{ column: "city", op: "blank", value: null }]);
  });

  it("turns a bar of dates into a date range the grid keeps, and a picked day into that whole day", () => {
    const jan = Date.UTC(2012, 0, 1);
    const mid = Date.UTC(2012, 1, 27, 14, 30);
    expect(viewSpec([], { day: binFilter({ start: jan, end: mid, count: 3 }, false, true) as never })?.filters).toEqual([
      { column: "day", op: "greater_than_or_equal", value: "2012-01-01 00:00:00Z" },
      { column: "day", op: "less_than", value: "2012-02-27 14:30:00Z" },
    ]);
    // The last bar keeps its end: the range runs a second past it.
    expect(viewSpec([], { day: binFilter({ start: mid, end: mid + 86_400_000, count: 3 }, true, true) as never })?.filters).toEqual([
      { column: "day", op: "greater_than_or_equal", value: "2012-02-27 14:30:00Z" },
      { column: "day", op: "less_than", value: "2012-02-28 14:30:01Z" },
    ]);
    // A frequent date is that day; a frequent date-time is that instant.
    expect(viewSpec([], { day: valueFilter("date", { value: "2012-02-29", count: 3 }) as never })?.filters).toEqual([
      { column: "day", op: "greater_than_or_equal", value: "2012-02-29" },
      { column: "day", op: "less_than", value: "2012-03-01" },
    ]);
    expect(viewSpec([], { at: valueFilter("date", { value: "2012-02-29T14:05:00Z", count: 3 }) as never })?.filters).toEqual([
      { column: "at", op: "equals", value: "2012-02-29T14:05:00Z" },
    ]);
    expect(viewSpec([], { at: valueFilter("date", { value: null, count: 3 }) as never })?.filters).toEqual([{ column: "at", op: "blank", value: null }]);
    // What AG Grid's date filter sends when a day is picked (with or without the midnight).
    const picked = (type: string) => ({ filterType: "date", type, dateFrom: type === "equals" ? "2012-02-29" : "2012-02-29 00:00:00", dateTo: null });
    expect(viewSpec([], { at: picked("equals") as never })?.filters).toEqual([
      { column: "at", op: "greater_than_or_equal", value: "2012-02-29" },
      { column: "at", op: "less_than", value: "2012-03-01" },
    ]);
    expect(viewSpec([], { at: picked("greaterThan") as never })?.filters).toEqual([{ column: "at", op: "greater_than_or_equal", value: "2012-03-01" }]);
    expect(viewSpec([], { at: picked("lessThan") as never })?.filters).toEqual([{ column: "at", op: "less_than", value: "2012-02-29" }]);
    expect(viewSpec([], { at: { filterType: "date", type: "blank" } as never })?.filters).toEqual([{ column: "at", op: "blank", value: null }]);
  });

  it("keeps the rows of a value the engine cut by what is left of it", () => {
    const long = "é".repeat(VALUE_CHARS);
    expect(viewSpec([], { note: valueFilter("text", { value: `${long}…`, count: 2 }) as never })?.filters).toEqual([{ column: "note", op: "starts_with", value: long }]);
    // An uncut value that happens to end with an ellipsis is matched whole.
    expect(valueFilter("text", { value: "and so on…", count: 1 })).toEqual({ filterType: "text", type: "equals", filter: "and so on…" });
  });

  it("says one row, and a whole-number column's quartiles as whole numbers", () => {
    expect(rowsText(1)).toBe("1 row");
    expect(rowsText(2000)).toBe(`${(2000).toLocaleString()} rows`);
    const year = { data_type: "Int64", quartiles: [1957.76, 1982.47, 1997.17] } as ColumnProfile;
    expect(quartilesText(year)).toBe([1958, 1982, 1997].map(short).join(" / "));
    // Counted exactly: as pandas and DuckDB give them, between two values included.
    const price = { data_type: "Int64", quartiles: [950, 2401, 5324.25], quartiles_exact: true } as ColumnProfile;
    expect(quartilesText(price)).toBe([950, 2401, 5324.25].map(short).join(" / "));
    const rating = { data_type: "Float64", quartiles: [5.01, 6.1, 7.0] } as ColumnProfile;
    expect(quartilesText(rating)).toBe([5.01, 6.1, 7].map(short).join(" / "));
  });

  it("says a date column's bins as days, or minutes when a bin is shorter than a day", () => {
    const jan1 = Date.UTC(2024, 0, 1);
    expect(binRangeText({ kind: "temporal" }, { start: jan1, end: jan1 + 7 * 86_400_000, count: 3 })).toBe("2024-01-01 to 2024-01-07");
    expect(binRangeText({ kind: "temporal" }, { start: jan1, end: jan1 + 86_400_000, count: 3 })).toBe("2024-01-01");
    expect(binRangeText({ kind: "temporal" }, { start: jan1 + 3_600_000, end: jan1 + 5 * 86_400_000, count: 3 })).toBe("2024-01-01 to 2024-01-06");
    expect(binRangeText({ kind: "temporal" }, { start: jan1, end: jan1 + 3_600_000, count: 3 })).toBe("2024-01-01 00:00 to 2024-01-01 01:00");
    expect(binRangeText({ kind: "number" }, { start: 0.5, end: 1, count: 3 })).toBe(`${short(0.5)} to ${short(1)}`);
    expect(binRangeText({ kind: "temporal" }, { start: 1e17, end: 2e17, count: 1 })).toBe(`${short(1e17)} to ${short(2e17)}`);
  });
});

describe("NaN and infinities", () => {
  it("are named apart from the missing values, and only when there are some", () => {
    expect(notFiniteText(column({}))).toBeNull();
    expect(notFiniteText(column({ not_finite: 1234 }))).toBe("1,234 NaN or ±∞ (not in the mean, quartiles or bars)");
  });
});

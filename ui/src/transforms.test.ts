import { typeLabel } from "./format";
import { describe, expect, it } from "vitest";
import { CAST_LABELS, CAST_TYPES, DATE_LAYOUTS, WHOLE_DATE_LAYOUTS, buildTransform, dateLayouts, layoutsInWords, type TransformForm } from "./transforms";

const form = (over: Partial<TransformForm>): TransformForm => ({
  kind: "trim",
  column: "city",
  columnType: "Utf8",
  a: "",
  b: "",
  columns: [],
  ...over,
});

describe("buildTransform", () => {
  it("quotes names and values so user text never becomes SQL", () => {
    expect(buildTransform(form({ kind: "replace", column: 'my "col"', a: "O'Brien", b: "x" }))).toEqual({
      kind: "set_column",
      column: 'my "col"',
      expr: `replace("my ""col""", 'O''Brien', 'x')`,
    });
  });

  it("writes a fill value as a number only for numeric columns", () => {
    expect(buildTransform(form({ kind: "fill_nulls", columnType: "Int64", a: "0" }))).toMatchObject({ expr: `coalesce("city", 0)` });
    expect(buildTransform(form({ kind: "fill_nulls", columnType: "Utf8", a: "0" }))).toMatchObject({ expr: `coalesce("city", '0')` });
    expect(buildTransform(form({ kind: "fill_nulls", columnType: "Date32", a: "2013-01-01" }))).toMatchObject({ expr: `coalesce("city", arrow_cast('2013-01-01', 'Date32'))` });
    expect(buildTransform(form({ kind: "fill_nulls", columnType: 'Timestamp(µs, "UTC")', a: "2013-01-01 00:00:00" }))).toMatchObject({
      expr: `coalesce("city", arrow_cast('2013-01-01 00:00:00', 'Timestamp(µs, "UTC")'))`,
    });
    expect(buildTransform(form({ kind: "fill_nulls", columnType: "Boolean", a: "TRUE" }))).toMatchObject({ expr: `coalesce("city", true)` });
  });

  it("reads dates written another way than ISO with their layout", () => {
    expect(buildTransform(form({ kind: "cast", a: "DATE" }))).toMatchObject({ expr: `CAST("city" AS DATE)` });
    // 11.9 made a whole number is 12, not 11: the engine rounds a float's CAST (halves to
    // even, as DuckDB); a decimal is rounded first.
    expect(buildTransform(form({ kind: "cast", a: "BIGINT", columnType: "Float64" }))).toMatchObject({ expr: `CAST("city" AS BIGINT)` });
    expect(buildTransform(form({ kind: "cast", a: "BIGINT", columnType: "Decimal128(10, 2)" }))).toMatchObject({ expr: `CAST(round("city") AS BIGINT)` });
    expect(buildTransform(form({ kind: "cast", a: "BIGINT", columnType: "Utf8" }))).toMatchObject({ expr: `CAST("city" AS BIGINT)` });
    expect(layoutsInWords('the text "Jan-1-1995" is not a date written as %B %d %Y: check the format')).toBe(
      'the text "Jan-1-1995" is not a date written as Jan 31 2012: check the format',
    );
    expect(layoutsInWords('the text "1935" is not a date written as %Y%m%d: check')).toBe('the text "1935" is not a date written as 20120131: check');
    expect(layoutsInWords("written as %H:%M: x")).toBe("written as %H:%M: x");
    // Whole numbers are never days since 1970: 19580329 is the day it spells, or seconds.
    expect(dateLayouts("Int64", "DATE")).toBe(WHOLE_DATE_LAYOUTS);
    expect(dateLayouts("Int64", "TIMESTAMP")).toBe(WHOLE_DATE_LAYOUTS);
    expect(dateLayouts("Utf8", "TIMESTAMP")).toEqual([]);
    expect(buildTransform(form({ kind: "cast", a: "DATE", columnType: "Int64" }))).toMatchObject({ expr: `to_date(CAST("city" AS VARCHAR), '%Y%m%d')` });
    expect(buildTransform(form({ kind: "cast", a: "TIMESTAMP", columnType: "Int32" }))).toMatchObject({
      expr: `CAST(to_date(CAST("city" AS VARCHAR), '%Y%m%d') AS TIMESTAMP)`,
    });
    expect(buildTransform(form({ kind: "cast", a: "DATE", columnType: "Int64", b: "epoch" }))).toMatchObject({ expr: `CAST(to_timestamp("city") AS DATE)` });
    expect(buildTransform(form({ kind: "cast", a: "TIMESTAMP", columnType: "UInt64", b: "epoch" }))).toMatchObject({ expr: `CAST(to_timestamp("city") AS TIMESTAMP)` });
    // Numbers with a fraction too: seconds keep it, the digits of a day are made whole first.
    expect(dateLayouts("Float64", "TIMESTAMP")).toBe(WHOLE_DATE_LAYOUTS);
    expect(buildTransform(form({ kind: "cast", a: "TIMESTAMP", columnType: "Float64", b: "epoch" }))).toMatchObject({ expr: `CAST(to_timestamp("city") AS TIMESTAMP)` });
    expect(buildTransform(form({ kind: "cast", a: "DATE", columnType: "Float64" }))).toMatchObject({ expr: `to_date(CAST(CAST("city" AS BIGINT) AS VARCHAR), '%Y%m%d')` });
    const layout = DATE_LAYOUTS.find(([, example]) => example === "2012/01/31")![0];
    expect(buildTransform(form({ kind: "cast", a: "DATE", b: layout }))).toMatchObject({ expr: `to_date(CAST("city" AS VARCHAR), '%Y/%m/%d')` });
    // Each layout is unique, and each example is 31 January 2012 as that layout writes it.
    expect(new Set(DATE_LAYOUTS.map(([f]) => f)).size).toBe(DATE_LAYOUTS.length);
    for (const [format, example] of DATE_LAYOUTS) {
      const written = format === "" ? "2012-01-31" : format.replace("%Y", "2012").replace("%m", "01").replace("%d", "31").replace("%B", "Jan");
      expect(written, format).toBe(example);
    }
  });

  it("says what is missing instead of building a broken transform", () => {
    expect(buildTransform(form({ kind: "split", a: ",", b: "0" }))).toBe("Say which part to keep (1 is the first).");
    expect(buildTransform(form({ kind: "filter", a: " " }))).toMatch(/Write a condition/);
    expect(buildTransform(form({ kind: "cast", a: "DROP TABLE" }))).toBe("Choose a type.");
    expect(buildTransform(form({ kind: "dedupe", columns: ["a", "b"] }))).toEqual({ kind: "remove_duplicates", columns: ["a", "b"] });
  });
});

describe("the types a column can change to", () => {
  it("are named as the header names the column after the change", () => {
    // The Arrow type DataFusion gives each CAST.
    const arrow: Record<string, string> = {
      BIGINT: "Int64",
      DOUBLE: "Float64",
      VARCHAR: "Utf8",
      BOOLEAN: "Boolean",
      DATE: "Date32",
      TIMESTAMP: "Timestamp(ns)",
    };
    for (const t of CAST_TYPES) expect(CAST_LABELS[t], t).toBe(typeLabel(arrow[t]!));
  });
});

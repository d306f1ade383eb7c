import { describe, expect, it } from "vitest";
import type { ColumnInfo } from "../bindings";
import { builderOf, columnKind, FACET_COLUMNS, SCHEMA, sourceOf, specOf, suggest, withKind, type Builder } from "./builder";

const columns: ColumnInfo[] = [
  { name: "city", data_type: "Utf8" },
  { name: "fare", data_type: "Float64" },
  { name: "trips", data_type: "Int64" },
  { name: "day", data_type: "Date32" },
  { name: "at", data_type: 'Timestamp(Microsecond, Some("UTC"))' },
];
const base: Builder = { sql: "SELECT * FROM t", kind: "bar", x: "city", y: "fare", aggregate: "sum", color: null, facet: null, bins: 30 };

describe("chart builder", () => {
  it("reads Arrow types as a chart does", () => {
    expect(columns.map((c) => columnKind(c.data_type))).toEqual(["text", "number", "number", "temporal", "temporal"]);
    expect(columnKind("Decimal128(10, 2)")).toBe("number");
    expect(columnKind("Boolean")).toBe("text");
    expect(columnKind("Interval(MonthDayNano)")).toBe("text");
  });

  it("suggests a first chart from the columns", () => {
    expect(suggest("q", columns)).toMatchObject({ kind: "line", x: "day", y: "fare", aggregate: "sum" });
    expect(suggest("q", columns.slice(0, 3))).toMatchObject({ kind: "bar", x: "city", y: "fare", aggregate: "sum" });
    expect(suggest("q", columns.slice(1, 2))).toMatchObject({ kind: "histogram", x: "fare" });
    expect(suggest("q", columns.slice(0, 1))).toMatchObject({ kind: "bar", x: "city", aggregate: "count" });
    expect(suggest("q", [])).toMatchObject({ x: null, y: null });
    // The measure is a decimal, else the last number: a grouped result charts its count or
    // mean, not its key.
    const grouped = [
      { name: "rank", data_type: "Int64" },
      { name: "cut", data_type: "Utf8" },
      { name: "n", data_type: "Int64" },
    ];
    expect(suggest("q", grouped)).toMatchObject({ kind: "bar", x: "cut", y: "n", aggregate: "sum" });
    expect(suggest("q", [...grouped, { name: "ap", data_type: "Float64" }])).toMatchObject({ x: "cut", y: "ap" });
    // Numbers alone: a result per month is a line of its measure over the months, not a
    // histogram of the months (every bar 1); two decimals a scatter.
    const monthly = [
      { name: "month", data_type: "Int64" },
      { name: "avg_arr", data_type: "Float64" },
      { name: "flights", data_type: "Int64" },
    ];
    expect(suggest("q", monthly)).toMatchObject({ kind: "line", x: "month", y: "avg_arr", aggregate: "mean" });
    expect(suggest("q", [monthly[0]!, monthly[2]!])).toMatchObject({ kind: "line", x: "month", y: "flights" });
    expect(suggest("q", [columns[1]!, { name: "tip", data_type: "Float64" }])).toMatchObject({ kind: "scatter", x: "fare", y: "tip" });
  });

  it("writes portable Vega-Lite, the query kept in usermeta", () => {
    expect(specOf(base, columns)).toEqual({
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      usermeta: { quire: { sql: "SELECT * FROM t" } },
      mark: "bar",
      encoding: { x: { field: "city", type: "nominal" }, y: { field: "fare", aggregate: "sum" } },
    });
    expect(specOf({ ...base, kind: "histogram", x: "fare", bins: 40 }, columns).encoding).toEqual({
      x: { field: "fare", bin: { maxbins: 40 } },
      y: { aggregate: "count" },
    });
    expect(specOf({ ...base, kind: "heatmap", x: "fare", y: "trips", bins: 20, color: "city" }, columns)).toMatchObject({
      mark: "rect",
      encoding: { x: { bin: { maxbins: 20 } }, y: { field: "trips", bin: { maxbins: 20 } }, color: { aggregate: "count" } },
    });
    expect(specOf({ ...base, kind: "line", x: "day", color: "city", facet: "city" }, columns).encoding).toEqual({
      x: { field: "day", type: "temporal" },
      y: { field: "fare", aggregate: "sum" },
      color: { field: "city", type: "nominal" },
      facet: { field: "city", type: "nominal", columns: FACET_COLUMNS },
    });
    expect(specOf({ ...base, aggregate: "count" }, columns).encoding).toMatchObject({ y: { aggregate: "count" } });
    expect(sourceOf(base, columns)).toContain('\n  "mark": "bar",\n');
  });

  it("reads a facet saved as a row of panels, and wraps it from the next change", () => {
    const old = JSON.stringify({ $schema: SCHEMA, usermeta: { quire: { sql: base.sql } }, mark: "bar", encoding: { x: { field: "city" }, y: { field: "fare", aggregate: "sum" }, column: { field: "day", type: "nominal" } } });
    const read = builderOf(old);
    expect(read).toEqual({ builder: { ...base, facet: "day" } });
  });

  it("reads back every choice it writes", () => {
    const choices: Builder[] = [
      base,
      { ...base, kind: "line", x: "day", color: "city" },
      { ...base, kind: "area", aggregate: "none", facet: "city" },
      { ...base, kind: "scatter", x: "fare", y: "trips", aggregate: "none", color: "city" },
      { ...base, kind: "histogram", x: "fare", y: null, aggregate: "none", bins: 12 },
      { ...base, kind: "heatmap", x: "fare", y: "trips", aggregate: "none", bins: 25 },
      { ...base, aggregate: "count", y: null },
    ];
    for (const b of choices) {
      const read = builderOf(sourceOf(b, columns));
      expect("builder" in read ? read.builder : read).toEqual(b);
    }
  });

  it("keeps number axes when the kind needs them", () => {
    expect(withKind(base, "histogram", columns)).toMatchObject({ kind: "histogram", x: "fare" });
    expect(withKind(base, "heatmap", columns)).toMatchObject({ x: "fare", y: "trips" });
    expect(withKind({ ...base, x: "trips" }, "scatter", columns)).toMatchObject({ x: "trips", y: "fare" });
    expect(withKind(base, "line", columns)).toEqual({ ...base, kind: "line" });
    expect(withKind({ ...base, x: null, y: null }, "bar", columns)).toMatchObject({ kind: "bar", x: "day", y: "fare" });
  });

  it("leaves a hand-edited spec to the JSON editor", () => {
    const edited = { ...specOf(base, columns), title: "Fares" };
    expect(builderOf(JSON.stringify(edited))).toEqual({ custom: "The spec sets title, which the builder does not show" });
    const sorted = specOf(base, columns);
    (sorted.encoding as Record<string, Record<string, unknown>>).x!.sort = "-y";
    expect(builderOf(JSON.stringify(sorted))).toEqual({ custom: "The spec was edited beyond what the builder shows" });
    expect(builderOf("{ nope")).toEqual({ custom: "The spec is not valid JSON" });
    expect(builderOf(JSON.stringify({ ...specOf(base), mark: "arc" }))).toEqual({ custom: 'The builder does not draw the "arc" mark' });
  });

  it("shows a new chart with only its query", () => {
    const read = builderOf(JSON.stringify({ usermeta: { quire: { sql: "SELECT 1" } } }));
    expect(read).toMatchObject({ builder: { sql: "SELECT 1", x: null } });
  });
});

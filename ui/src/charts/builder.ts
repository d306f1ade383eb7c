// The chart builder's model: a few choices (kind, x, y, aggregate, colour, facet) turned into a
// portable Vega-Lite spec and read back from one. A spec edited by hand into something the
// builder cannot show is kept as it is ("custom"): the builder never rewrites what it did not
// write.
import type { ColumnInfo } from "../bindings";
import { isWholeType } from "../format";

export const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
export const KINDS = ["bar", "line", "area", "scatter", "histogram", "heatmap"] as const;
export type ChartKind = (typeof KINDS)[number];
export const AGGREGATES = ["none", "count", "sum", "mean", "median", "min", "max", "distinct"] as const;
export type Aggregate = (typeof AGGREGATES)[number];

export interface Builder {
  sql: string;
  kind: ChartKind;
  x: string | null;
  /** Unused by histograms (they count rows) and heatmaps (colour counts rows). */
  y: string | null;
  /** Applied to y by bar, line and area charts. */
  aggregate: Aggregate;
  color: string | null;
  /** Small multiples: one chart per value, side by side. */
  facet: string | null;
  /** The most bins of a histogram or heatmap axis. */
  bins: number;
}

type ColumnKind = "number" | "temporal" | "text";

/** How Arrow's type names (as the engine reports them) read to a chart. */
export function columnKind(dataType: string): ColumnKind {
  if (/^(Int\d|UInt|Float|Decimal)/.test(dataType)) return "number";
  if (/^(Date|Timestamp)/.test(dataType)) return "temporal";
  return "text";
}

type Channel = Record<string, unknown>;
type Spec = Record<string, unknown>;

const field = (name: string, type?: string): Channel => (type ? { field: name, type } : { field: name });

function typeFor(kind: ChartKind, column: string, columns: readonly ColumnInfo[]): string | undefined {
  const info = columns.find((c) => c.name === column);
  if (!info) return undefined;
  const k = columnKind(info.data_type);
  if (k === "temporal") return "temporal";
  if (k === "number") return kind === "bar" ? "ordinal" : "quantitative";
  return "nominal";
}

/** Panels per row of a faceted chart: three of `sized`'s 220 px fit a cell at 1,280 px. */
export const FACET_COLUMNS = 3;

/** The Vega-Lite spec the builder's choices make, with the query in `usermeta.quire.sql`. */
export function specOf(b: Builder, columns: readonly ColumnInfo[] = []): Spec {
  const encoding: Record<string, Channel> = {};
  const spec: Spec = { $schema: SCHEMA, usermeta: { quire: { sql: b.sql } } };
  switch (b.kind) {
    case "histogram":
      spec.mark = "bar";
      if (b.x) encoding.x = { field: b.x, bin: { maxbins: b.bins } };
      encoding.y = { aggregate: "count" };
      break;
    case "heatmap":
      spec.mark = "rect";
      if (b.x) encoding.x = { field: b.x, bin: { maxbins: b.bins } };
      if (b.y) encoding.y = { field: b.y, bin: { maxbins: b.bins } };
      encoding.color = { aggregate: "count" };
      break;
    case "scatter":
      spec.mark = "point";
      if (b.x) encoding.x = field(b.x, "quantitative");
      if (b.y) encoding.y = field(b.y, "quantitative");
      break;
    default:
      spec.mark = b.kind;
      if (b.x) encoding.x = field(b.x, typeFor(b.kind, b.x, columns));
      if (b.aggregate === "count") encoding.y = { aggregate: "count" };
      else if (b.y) encoding.y = b.aggregate === "none" ? field(b.y, "quantitative") : { field: b.y, aggregate: b.aggregate };
  }
  if (b.color && b.kind !== "heatmap") encoding.color = field(b.color, typeFor("line", b.color, columns));
  // Small multiples wrap onto rows: a row of one panel per value ran past the cell's edge
  // (a chart faceted by five continents was 1,312 px wide in a 954 px cell).
  if (b.facet) encoding.facet = { ...field(b.facet, "nominal"), columns: FACET_COLUMNS };
  spec.encoding = encoding;
  return spec;
}

/** The cell source for a builder's choices: the spec, two-space indented (it diffs by line). */
export function sourceOf(b: Builder, columns: readonly ColumnInfo[] = []): string {
  return JSON.stringify(specOf(b, columns), null, 2);
}

/** A first chart for a query's columns: a category and a number make a bar chart of sums, a date
 *  and a number a line over time; numbers alone a line of the measure's mean over the first
 *  whole-number column (`month, avg_delay`: one point per month, titled by the measure), a
 *  scatter when none is whole, a histogram when there is one number. */
export function suggest(sql: string, columns: readonly ColumnInfo[]): Builder {
  const of = (k: ColumnKind) => columns.filter((c) => columnKind(c.data_type) === k).map((c) => c.name);
  const [numbers, dates, texts] = [of("number"), of("temporal"), of("text")];
  const base: Builder = { sql, kind: "bar", x: null, y: null, aggregate: "none", color: null, facet: null, bins: 30 };
  const [date, text] = [dates[0] ?? null, texts[0] ?? null];
  // The measure: the first decimal column, else the last number (a count follows the keys it
  // counts: `rank, cut, count(*)` charts the count, not the rank).
  const whole = (name: string) => isWholeType(columns.find((c) => c.name === name)!.data_type);
  const number = numbers.find((n) => !whole(n)) ?? numbers.at(-1) ?? null;
  if (date !== null && number !== null) return { ...base, kind: "line", x: date, y: number, aggregate: "sum" };
  if (text !== null && number !== null) return { ...base, kind: "bar", x: text, y: number, aggregate: "sum" };
  if (text !== null) return { ...base, kind: "bar", x: text, aggregate: "count" };
  const key = numbers.find(whole);
  const measure = numbers.find((n) => n !== key && !whole(n)) ?? numbers.filter((n) => n !== key).at(-1);
  if (key !== undefined && measure !== undefined) return { ...base, kind: "line", x: key, y: measure, aggregate: "mean" };
  if (numbers[0] !== undefined && numbers[1] !== undefined) return { ...base, kind: "scatter", x: numbers[0], y: numbers[1] };
  if (numbers[0] !== undefined) return { ...base, kind: "histogram", x: numbers[0] };
  return base;
}

/** The choices after picking another kind of chart: histograms, heatmaps and scatters need number
 *  axes, so a text column there gives way to the first number column. */
export function withKind(b: Builder, kind: ChartKind, columns: readonly ColumnInfo[]): Builder {
  if (b.x === null && columns.length > 0) return { ...suggest(b.sql, columns), kind };
  const numbers = columns.filter((c) => columnKind(c.data_type) === "number").map((c) => c.name);
  const numeric = (name: string | null) => name !== null && numbers.includes(name);
  const next = { ...b, kind };
  if (kind === "histogram" || kind === "heatmap" || kind === "scatter") {
    if (!numeric(next.x)) next.x = numbers[0] ?? next.x;
    if (kind !== "histogram" && (!numeric(next.y) || next.y === next.x)) next.y = numbers.find((n) => n !== next.x) ?? numbers[0] ?? next.y;
  }
  return next;
}

/** The builder's choices in a cell source, or why the builder cannot show it. */
export function builderOf(source: string): { builder: Builder } | { custom: string } {
  let spec: unknown;
  try {
    spec = JSON.parse(source);
  } catch {
    return { custom: "The spec is not valid JSON" };
  }
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) return { custom: "The spec is not a JSON object" };
  const s = spec as Spec;
  const extra = Object.keys(s).filter((k) => !["$schema", "usermeta", "mark", "encoding"].includes(k));
  if (extra.length > 0) return { custom: `The spec sets ${extra.join(", ")}, which the builder does not show` };
  const sql = (s.usermeta as { quire?: { sql?: unknown } } | undefined)?.quire?.sql;
  const b: Builder = { sql: typeof sql === "string" ? sql : "", kind: "bar", x: null, y: null, aggregate: "none", color: null, facet: null, bins: 30 };
  const enc = (s.encoding ?? {}) as Record<string, Channel>;
  const name = (c: Channel | undefined) => (c && typeof c.field === "string" ? c.field : null);
  const maxbins = (c: Channel | undefined) => ((c?.bin as { maxbins?: unknown } | undefined)?.maxbins as number | undefined) ?? 10;
  const mark = s.mark;
  const binned = (c: Channel | undefined) => c !== undefined && c.bin !== undefined;
  if (mark === undefined) return { builder: b };
  if (mark === "bar" && binned(enc.x)) {
    Object.assign(b, { kind: "histogram", x: name(enc.x), bins: maxbins(enc.x) });
  } else if (mark === "rect" && binned(enc.x) && binned(enc.y)) {
    Object.assign(b, { kind: "heatmap", x: name(enc.x), y: name(enc.y), bins: maxbins(enc.x) });
  } else if (mark === "point") {
    Object.assign(b, { kind: "scatter", x: name(enc.x), y: name(enc.y) });
  } else if (mark === "bar" || mark === "line" || mark === "area") {
    const agg = enc.y?.aggregate;
    const aggregate = typeof agg === "string" && (AGGREGATES as readonly string[]).includes(agg) ? (agg as Aggregate) : "none";
    Object.assign(b, { kind: mark, x: name(enc.x), y: name(enc.y), aggregate });
  } else {
    return { custom: `The builder does not draw the ${JSON.stringify(mark)} mark` };
  }
  if (b.kind !== "heatmap") b.color = name(enc.color);
  b.facet = name(enc.facet) ?? name(enc.column);
  // The builder's own spec for these choices must say the same: otherwise a hand edit (a sort,
  // a scale, another channel) would be lost by the next change in the builder. A facet saved
  // as a row of panels (`column`, before panels wrapped) reads as the builder's facet.
  const { column: row, ...others } = enc;
  const asWritten = row && !enc.facet && b.facet ? { ...s, encoding: { ...others, facet: { ...row, columns: FACET_COLUMNS } } } : s;
  if (canonical(stripTypes(specOf(b, []))) !== canonical(stripTypes(asWritten))) {
    return { custom: "The spec was edited beyond what the builder shows" };
  }
  return { builder: b };
}

/** The spec without the `type` of each channel (the builder derives those from the columns). */
function stripTypes(s: Spec): Spec {
  const enc = (s.encoding ?? {}) as Record<string, Channel>;
  const encoding = Object.fromEntries(
    Object.entries(enc).map(([k, c]) => {
      const { type: _type, ...rest } = c;
      void _type;
      return [k, rest];
    }),
  );
  return { ...s, $schema: SCHEMA, encoding };
}

/** JSON with every object's keys sorted, so key order does not count as a difference. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

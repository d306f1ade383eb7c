// Column profiles in words and as grid filters: what the profile panel shows and what clicking a
// bar asks the grid to keep.
import type { ColumnProfile, HistogramBin, TopValue } from "../bindings";
import { isWholeType } from "../format";

/** "1 row", "2,000 rows". */
export function rowsText(n: number): string {
  return `${n.toLocaleString()} ${n === 1 ? "row" : "rows"}`;
}

/** The quartiles as shown: an estimate of a whole-number column's are whole numbers (the
 *  sketch interpolates between values, so a year's median would read 1982.47); exact ones as
 *  computed, as pandas and DuckDB give them (a price's third quartile is 5324.25). */
export function quartilesText(c: ColumnProfile): string | null {
  if (!c.quartiles) return null;
  const whole = isWholeType(c.data_type) && !c.quartiles_exact;
  return c.quartiles.map((q) => short(whole && q !== null ? Math.round(q) : q)).join(" / ");
}

/** "12 missing (0.4 %)", "none missing". */
export function missingText(c: ColumnProfile, rows: number): string {
  if (c.nulls === 0) return "none missing";
  const share = rows > 0 ? (100 * c.nulls) / rows : 0;
  return `${c.nulls.toLocaleString()} missing (${share < 0.1 ? "<0.1" : share.toFixed(1)} %)`;
}

/** NaN and infinities of a float column, which the mean, quartiles and bars leave out. */
export function notFiniteText(c: ColumnProfile): string | null {
  if (!c.not_finite) return null;
  return `${c.not_finite.toLocaleString()} NaN or ±∞ (not in the mean, quartiles or bars)`;
}

/** Every value the same (the smallest is the largest, and no count says otherwise: a long
 *  text's min and max are cut to 200 characters): one distinct value, and it is every
 *  quartile, whatever a sketch estimated. */
export function oneValue(c: ColumnProfile): boolean {
  return c.min !== null && c.min === c.max && c.distinct !== null && c.distinct <= 1;
}

/** "250 distinct" when counted, "≈ 9,000 distinct" when estimated, or "all distinct" when every
 *  value appears once (within the sketch's error when estimated). */
export function distinctText(c: ColumnProfile, rows: number): string | null {
  if (c.distinct === null) return null;
  const valid = rows - c.nulls;
  if (valid > 0 && oneValue(c)) return "1 distinct";
  if (c.distinct_exact) return valid > 1 && c.distinct === valid ? `all ${valid.toLocaleString()} distinct` : `${c.distinct.toLocaleString()} distinct`;
  if (valid > 0 && c.distinct >= valid * 0.98 && valid >= 100) return `≈ all ${valid.toLocaleString()} distinct`;
  return `≈ ${c.distinct.toLocaleString()} distinct`;
}

/** Numbers rounded for a glance: four significant digits, or the integer part and two decimals;
 *  millions and more as whole numbers with their grouping (a budget of 10,000,000 reads as
 *  such, not as 1.00e+7); only the very large and very small as powers of ten. */
export function short(n: number | null): string {
  if (n === null) return "–";
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1e15 || (abs > 0 && abs < 1e-3)) return n.toExponential(2);
  if (abs >= 1e6) return n.toLocaleString(undefined, { maximumFractionDigits: 0 });
  const digits = Math.min(15, Math.max(4, Math.ceil(Math.log10(abs + 1)) + 2));
  return n.toLocaleString(undefined, { maximumSignificantDigits: digits });
}

/** A bin's range in words: numbers rounded for a glance; a date column's bins (UTC
 *  milliseconds) as days, or as minutes when a bin is shorter than a day. */
export function binRangeText(c: Pick<ColumnProfile, "kind">, bin: HistogramBin): string {
  const { start, end } = bin;
  if (c.kind !== "temporal" || start === null || end === null) return `${short(start)} to ${short(end)}`;
  const day = 86_400_000;
  // Past what a JavaScript date holds (±275,760 years) the number itself is said.
  if ([start, end].some((ms) => Number.isNaN(new Date(ms).getTime()))) return `${short(start)} to ${short(end)}`;
  const iso = (ms: number) => new Date(ms).toISOString();
  // Bins of whole days (the engine's are on the calendar: days, weeks, months, years) are named
  // by their first and last day, as a calendar names them: "2024-01-01 to 2024-01-07".
  if (start % day === 0 && end % day === 0 && end - start >= day) {
    const first = iso(start).slice(0, 10);
    const last = iso(end - day).slice(0, 10);
    return first === last ? first : `${first} to ${last}`;
  }
  const at = (ms: number) => (end - start >= day ? iso(ms).slice(0, 10) : `${iso(ms).slice(0, 10)} ${iso(ms).slice(11, 16)}`);
  return `${at(start)} to ${at(end)}`;
}

/** The AG Grid filter model that keeps one histogram bin's rows (the last bin includes its end).
 *  A bin of dates (UTC milliseconds) is a date range from its start to its end; the last one
 *  runs a second past its end, where no value lies. */
export function binFilter(bin: HistogramBin, last: boolean, temporal = false) {
  if (temporal) {
    // Instants in UTC, said so: a column in another zone reads a time without one as its own.
    const at = (ms: number | null) => (ms === null ? null : `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")}Z`);
    return { filterType: "date", type: "inRange", dateFrom: at(bin.start), dateTo: at(last && bin.end !== null ? bin.end + 1000 : bin.end) };
  }
  return {
    filterType: "number",
    operator: "AND",
    conditions: [
      { filterType: "number", type: "greaterThanOrEqual", filter: bin.start },
      { filterType: "number", type: last ? "lessThanOrEqual" : "lessThan", filter: bin.end },
    ],
  };
}

/** How many characters of a value a profile keeps (the engine's `VALUE_CHARS`); a longer one
 *  arrives cut, with an ellipsis. */
export const VALUE_CHARS = 200;

/** The AG Grid filter model that keeps the rows holding one value. A value the engine cut keeps
 *  the rows that start with what is left of it, so the click still finds its rows. */
export function valueFilter(kind: "number" | "text" | "date", top: TopValue) {
  if (top.value === null) return { filterType: kind, type: "blank" };
  // A date column has the grid's date filter, which takes its value as `dateFrom`.
  if (kind === "date") return { filterType: "date", type: "equals", dateFrom: top.value };
  if (kind === "number") return { filterType: "number", type: "equals", filter: Number(top.value) };
  const chars = [...top.value];
  if (chars.length === VALUE_CHARS + 1 && top.value.endsWith("…")) {
    return { filterType: "text", type: "startsWith", filter: chars.slice(0, VALUE_CHARS).join("") };
  }
  return { filterType: "text", type: "equals", filter: top.value };
}

// How cell values read in the grid. Two texts per value:
// - the *cell text* is exact and in a form the engine's edit parser accepts (Arrow's string
//   cast), so opening a cell editor and saving sends back the same value;
// - the *display text* is what the cell shows: the cell text, except floats, which are rounded
//   for reading (the exact text stays in the tooltip and the editor).
// Everything here is pure, so it is unit-tested without Arrow or a grid.

export type TimeUnitName = "s" | "ms" | "us" | "ns";

const PER_SECOND: Record<TimeUnitName, bigint> = { s: 1n, ms: 1_000n, us: 1_000_000n, ns: 1_000_000_000n };
const FRACTION_DIGITS: Record<TimeUnitName, number> = { s: 0, ms: 3, us: 6, ns: 9 };

/** Columns whose values are numbers: right-aligned and filtered as numbers. The engine names
 *  types the way Arrow prints them (`Int64`, `UInt8`, `Float64`, `Decimal128(10, 2)`). */
export function isNumericType(dataType: string): boolean {
  // Not a bare /^Int/: that would take `Interval(...)` for a number.
  return /^(U?Int\d|Float\d|Decimal)/.test(dataType);
}

/** Date and date-time columns (`Date32`, `Timestamp(µs, "UTC")`): the grid filters them by date. */
export function isDateType(dataType: string): boolean {
  return /^(Date(32|64)|Timestamp\()/.test(dataType);
}

/** Whole-number columns (`Int64`, `UInt8`, ...). */
export function isWholeType(dataType: string): boolean {
  return /^U?Int\d+$/.test(dataType);
}

/** A column's type in an analyst's words: "text", "integer", "number", "date", "date-time (UTC)"
 *  (the import dialog's words too: one name for one kind of value).
 *  The engine's name (Arrow's: `Utf8View`, `Float64`, `Timestamp(µs, "UTC")`) stays in tooltips,
 *  where it tells two kinds of text or of number apart. */
export function typeLabel(dataType: string): string {
  const dictionary = /^Dictionary\([^,]+, (.+)\)$/.exec(dataType);
  if (dictionary) return typeLabel(dictionary[1]!);
  if (/^(Large)?Utf8(View)?$/.test(dataType)) return "text";
  if (isWholeType(dataType)) return "integer";
  if (isFloatType(dataType)) return "number";
  const decimal = /^Decimal(?:32|64|128|256)\((\d+), (-?\d+)\)$/.exec(dataType);
  if (decimal) return `decimal(${decimal[1]},${decimal[2]})`;
  if (dataType === "Boolean") return "boolean";
  if (/^Date(32|64)$/.test(dataType)) return "date";
  const timestamp = /^Timestamp\([^,)]+(?:, "([^"]*)")?\)$/.exec(dataType);
  if (timestamp) return timestamp[1] ? `date-time (${timestamp[1]})` : "date-time";
  if (/^Time(32|64)\(/.test(dataType)) return "time";
  if (/^Duration\(/.test(dataType)) return "duration";
  if (/^Interval\(/.test(dataType)) return "interval";
  if (/^(Large|FixedSize)?Binary(View)?\b/.test(dataType)) return "binary";
  if (/^(Large|FixedSize)?List(View)?\(/.test(dataType)) return "list";
  if (/^Struct\(/.test(dataType)) return "struct";
  if (/^Map\(/.test(dataType)) return "map";
  if (dataType === "Null") return "empty";
  return dataType;
}

function isFloatType(dataType: string): boolean {
  return /^Float/.test(dataType);
}

/** Significant digits a float shows in a cell; the integer part is never cut. Fifteen, the
 *  digits a double always holds (PostgreSQL showed as many before version 12): only a float's
 *  binary noise (0.30000000000000004, 1.2100000000000002) is cut, never a value a query
 *  computed or rounded. Ten cut `round(x, 6)` of 123456.1234567 to 123456.1235 and a total of
 *  270012970.287 to 270012970.3, so the grid contradicted the user's own SQL. */
const FLOAT_DIGITS = 15;

/** A float for reading: at most 15 significant digits, or all the integer digits when there are
 *  more, without trailing zeros. Very large or small magnitudes use an exponent. */
export function formatFloat(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const abs = Math.abs(x);
  if (abs >= 1e21 || abs < 1e-6) return trimExponent(x.toPrecision(FLOAT_DIGITS));
  const magnitude = Math.floor(Math.log10(abs)); // 1 for 21.9, -3 for 0.00123
  const decimals = Math.max(0, Math.min(20, FLOAT_DIGITS - 1 - magnitude));
  const text = trimZeros(x.toFixed(decimals));
  return text === "-0" ? "0" : text;
}

function trimZeros(fixed: string): string {
  return fixed.includes(".") ? fixed.replace(/\.?0+$/, "") : fixed;
}

function trimExponent(precise: string): string {
  const [mantissa = precise, exponent] = precise.split("e");
  return exponent === undefined ? trimZeros(mantissa) : `${trimZeros(mantissa)}e${exponent}`;
}

/** A Float32 read into a double carries noise (0.1 reads 0.10000000149011612): the shortest
 *  text that reads back as the same Float32. */
export function float32Text(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  for (let p = 1; p <= 9; p++) {
    const t = Number(x.toPrecision(p));
    if (Math.fround(t) === x) return String(t);
  }
  return String(x);
}

/** What a grid cell shows for its cell text (null is SQL NULL; undefined is a row still loading). */
export function displayText(text: string | null | undefined, dataType: string): string {
  if (text === null) return "NULL";
  if (text === undefined) return "";
  if (isFloatType(dataType)) {
    const x = Number(text);
    if (text.trim() !== "" && !Number.isNaN(x)) return formatFloat(x);
  }
  return text;
}

/** The full value, when the cell shows less of it (rounded float, long text). */
export function fullTextTooltip(text: string | null | undefined, dataType: string): string | undefined {
  if (typeof text !== "string") return undefined;
  if (text.length > 60) return text;
  return displayText(text, dataType) === text ? undefined : text;
}

/** A decimal from its unscaled integer text and scale: ("-12345", 2) -> "-123.45". */
export function decimalText(unscaled: string, scale: number): string {
  if (scale <= 0) return scale === 0 || unscaled === "0" ? unscaled : unscaled + "0".repeat(-scale);
  const negative = unscaled.startsWith("-");
  const digits = (negative ? unscaled.slice(1) : unscaled).padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  return `${negative ? "-" : ""}${whole}.${digits.slice(digits.length - scale)}`;
}

const pad = (n: number, width: number) => String(n).padStart(width, "0");

function dateOf(d: Date): string {
  const y = d.getUTCFullYear();
  // Arrow's parser reads four-digit years; others are rare enough to print in ISO's long form.
  const year = y >= 0 && y <= 9999 ? pad(y, 4) : `${y < 0 ? "-" : "+"}${pad(Math.abs(y), 6)}`;
  return `${year}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`;
}

/** A date from milliseconds since the epoch: `2013-01-01`. */
export function dateText(epochMs: number): string {
  const d = new Date(epochMs);
  return Number.isNaN(d.getTime()) ? String(epochMs) : dateOf(d);
}

/** Sub-second digits without trailing zero groups: 500 ms -> ".500", 0 -> "". */
function fraction(rest: bigint, unit: TimeUnitName): string {
  if (rest === 0n) return "";
  let digits = rest.toString().padStart(FRACTION_DIGITS[unit], "0");
  while (digits.length > 3 && digits.endsWith("000")) digits = digits.slice(0, -3);
  return `.${digits}`;
}

function floorDiv(a: bigint, b: bigint): [bigint, bigint] {
  let q = a / b;
  let r = a % b;
  if (r < 0n) {
    q -= 1n;
    r += b;
  }
  return [q, r];
}

/** A time of day from its count of `unit`s since midnight: `14:05:00`, `14:05:00.250`. */
export function timeText(value: bigint, unit: TimeUnitName): string {
  const [seconds, rest] = floorDiv(value, PER_SECOND[unit]);
  const s = Number(seconds);
  return `${pad(Math.floor(s / 3600), 2)}:${pad(Math.floor(s / 60) % 60, 2)}:${pad(s % 60, 2)}${fraction(rest, unit)}`;
}

const NANOS_PER_DAY = 86_400_000_000_000n;

/** A length of time as PostgreSQL and DuckDB write it, and the engine too
 *  (src-tauri/engine/src/tables/cell_text.rs): `1 year 2 months 3 days 04:05:06.500`, each part
 *  only when it is not zero, the clock also when nothing else is (`00:00:00`). */
export function intervalText(months: number, days: bigint, nanos: bigint): string {
  const parts: string[] = [];
  const years = Math.trunc(months / 12);
  for (const [n, unit] of [
    [BigInt(years), "year"],
    [BigInt(months - years * 12), "month"],
    [days, "day"],
  ] as const) {
    if (n !== 0n) parts.push(`${n} ${unit}${n === 1n || n === -1n ? "" : "s"}`);
  }
  if (nanos !== 0n || parts.length === 0) {
    const abs = nanos < 0n ? -nanos : nanos;
    const seconds = Number(abs / PER_SECOND.ns);
    parts.push(
      `${nanos < 0n ? "-" : ""}${pad(Math.floor(seconds / 3600), 2)}:${pad(Math.floor(seconds / 60) % 60, 2)}:${pad(seconds % 60, 2)}${fraction(abs % PER_SECOND.ns, "ns")}`,
    );
  }
  return parts.join(" ");
}

/** A duration (the difference of two date-times) from its count of `unit`s: days, then a clock. */
export function durationText(value: bigint, unit: TimeUnitName): string {
  const nanos = value * (PER_SECOND.ns / PER_SECOND[unit]);
  return intervalText(0, nanos / NANOS_PER_DAY, nanos % NANOS_PER_DAY);
}

const UTC_ZONES = new Set(["utc", "z", "+00:00", "+0000", "+00", "-00:00", "etc/utc", "gmt", "etc/gmt"]);
const zoneFormats = new Map<string, Intl.DateTimeFormat | null>();

/** A named zone's offset from UTC at an instant, in minutes; null for a zone Intl does not know. */
function namedOffset(zone: string, epochMs: number): number | null {
  let format = zoneFormats.get(zone);
  if (format === undefined) {
    try {
      format = new Intl.DateTimeFormat("en-US", {
        timeZone: zone,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
    } catch {
      format = null;
    }
    zoneFormats.set(zone, format);
  }
  if (!format) return null;
  const part: Record<string, number> = {};
  for (const p of format.formatToParts(new Date(epochMs))) part[p.type] = Number(p.value);
  const wall = Date.UTC(part.year ?? 1970, (part.month ?? 1) - 1, part.day ?? 1, part.hour ?? 0, part.minute ?? 0, part.second ?? 0);
  return Math.round((wall - Math.floor(epochMs / 1000) * 1000) / 60_000);
}

/** The offset of an Arrow time zone (`+05:30`, `-08`, `America/New_York`) at an instant. */
function offsetMinutes(zone: string, epochMs: number): number | null {
  const fixed = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (fixed) return (fixed[1] === "-" ? -1 : 1) * (Number(fixed[2]) * 60 + Number(fixed[3] ?? 0));
  return namedOffset(zone, epochMs);
}

function offsetText(minutes: number): string {
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? "-" : "+"}${pad(Math.floor(abs / 60), 2)}:${pad(abs % 60, 2)}`;
}

/**
 * A timestamp from its count of `unit`s since the epoch. Without a zone it is a wall-clock time
 * (`2013-01-01 10:00:00`); with one it is that zone's local time and offset
 * (`2013-01-01 05:00:00-05:00`), `Z` for UTC. A zone Intl does not know reads in UTC.
 */
export function timestampText(value: bigint, unit: TimeUnitName, zone: string | null): string {
  const [seconds, rest] = floorDiv(value, PER_SECOND[unit]);
  const epochMs = Number(seconds) * 1000;
  if (!Number.isFinite(epochMs) || Math.abs(epochMs) > 8.64e15) return value.toString();
  let offset = 0;
  let suffix = "";
  if (zone !== null) {
    const known = UTC_ZONES.has(zone.toLowerCase()) ? null : offsetMinutes(zone, epochMs);
    offset = known ?? 0;
    suffix = known === null ? "Z" : offsetText(known);
  }
  const d = new Date(epochMs + offset * 60_000);
  const clock = `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`;
  return `${dateOf(d)} ${clock}${fraction(rest, unit)}${suffix}`;
}

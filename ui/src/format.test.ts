import { describe, expect, it } from "vitest";
import {
  dateText,
  decimalText,
  displayText,
  float32Text,
  formatFloat,
  typeLabel,
  fullTextTooltip,
  isNumericType,
  timestampText,
  timeText,
} from "./format";

describe("formatFloat", () => {
  it("rounds to fifteen significant digits, cutting only binary noise", () => {
    expect(formatFloat(21.920704845814978)).toBe("21.920704845815");
    expect(formatFloat(1.1 * 1.1)).toBe("1.21");
    expect(formatFloat(0.1 + 0.2)).toBe("0.3");
    expect(formatFloat(-73.98)).toBe("-73.98");
    expect(formatFloat(0.000123456789)).toBe("0.000123456789");
    expect(formatFloat(7)).toBe("7");
    expect(formatFloat(-0.0000001)).toBe("-1e-7");
    // What a query rounded, and totals with cents, show as computed.
    expect(formatFloat(4358.7578)).toBe("4358.7578");
    expect(formatFloat(309138.62000000005)).toBe("309138.62");
    expect(formatFloat(4358.757763975155)).toBe("4358.75776397516");
    // An analyst's round(x, 6) and a total to the thousandth, as psql and DuckDB show them.
    expect(formatFloat(123456.123457)).toBe("123456.123457");
    expect(formatFloat(270012970.287)).toBe("270012970.287");
    expect(formatFloat(28752.222628)).toBe("28752.222628");
  });

  it("never cuts the integer part", () => {
    expect(formatFloat(1234567.89)).toBe("1234567.89");
    expect(formatFloat(13412513.25)).toBe("13412513.25");
    expect(formatFloat(98765432109.1)).toBe("98765432109.1");
    expect(formatFloat(98765432109876.54)).toBe("98765432109876.5");
    expect(formatFloat(4.5e21)).toBe("4.5e+21");
  });

  it("keeps non-finite values readable", () => {
    expect(formatFloat(Number.NaN)).toBe("NaN");
    expect(formatFloat(-Infinity)).toBe("-Infinity");
  });
});

describe("displayText", () => {
  it("rounds floats only; the cell text keeps the full value for the tooltip and editor", () => {
    expect(displayText("21.920704845814978", "Float64")).toBe("21.920704845815");
    expect(fullTextTooltip("21.920704845814978", "Float64")).toBe("21.920704845814978");
    expect(fullTextTooltip("12.5", "Float64")).toBeUndefined();
    expect(displayText("9007199254740993", "Int64")).toBe("9007199254740993");
    expect(displayText("2013-01-01 10:00:00", "Timestamp(µs)")).toBe("2013-01-01 10:00:00");
  });

  it("shows NULL for null and nothing for a row still loading", () => {
    expect(displayText(null, "Float64")).toBe("NULL");
    expect(displayText(undefined, "Utf8")).toBe("");
    expect(displayText("", "Float64")).toBe("");
  });
});

describe("isNumericType", () => {
  it("knows Arrow's number types", () => {
    for (const t of ["Int64", "UInt8", "Float64", "Float32", "Decimal128(10, 2)"]) expect(isNumericType(t)).toBe(true);
    for (const t of ["Utf8", "Date32", "Timestamp(µs)", "Boolean", "Interval(MonthDayNano)"]) expect(isNumericType(t)).toBe(false);
  });
});

describe("timestampText", () => {
  const tenAm = 1357034400000n; // 2013-01-01 10:00:00 UTC, the grid used to show this number

  it("reads a timestamp without a zone as a wall-clock time", () => {
    expect(timestampText(tenAm, "ms", null)).toBe("2013-01-01 10:00:00");
    expect(timestampText(tenAm * 1000n + 250n, "us", null)).toBe("2013-01-01 10:00:00.000250");
    expect(timestampText(tenAm * 1_000_000n + 500_000_000n, "ns", null)).toBe("2013-01-01 10:00:00.500");
    expect(timestampText(1357034400n, "s", null)).toBe("2013-01-01 10:00:00");
    expect(timestampText(-1n, "ms", null)).toBe("1969-12-31 23:59:59.999");
  });

  it("shows UTC with Z and other zones in their local time with their offset", () => {
    expect(timestampText(tenAm, "ms", "UTC")).toBe("2013-01-01 10:00:00Z");
    expect(timestampText(tenAm, "ms", "+00:00")).toBe("2013-01-01 10:00:00Z");
    expect(timestampText(tenAm, "ms", "+05:30")).toBe("2013-01-01 15:30:00+05:30");
    expect(timestampText(tenAm, "ms", "America/New_York")).toBe("2013-01-01 05:00:00-05:00");
    // Daylight saving time: the offset is the one at that instant.
    expect(timestampText(1372672800000n, "ms", "America/New_York")).toBe("2013-07-01 06:00:00-04:00");
  });

  it("reads an unknown zone in UTC, which is still the right instant", () => {
    expect(timestampText(tenAm, "ms", "Not/AZone")).toBe("2013-01-01 10:00:00Z");
  });
});

describe("dates, times and decimals", () => {
  it("shows a date as YYYY-MM-DD", () => {
    expect(dateText(Date.UTC(2013, 0, 1))).toBe("2013-01-01");
    expect(dateText(Date.UTC(1969, 11, 31))).toBe("1969-12-31");
  });

  it("shows a time of day", () => {
    expect(timeText(50_700n, "s")).toBe("14:05:00");
    expect(timeText(50_700_250n, "ms")).toBe("14:05:00.250");
  });

  it("places a decimal's point by its scale", () => {
    expect(decimalText("12345", 2)).toBe("123.45");
    expect(decimalText("-5", 2)).toBe("-0.05");
    expect(decimalText("7", 0)).toBe("7");
    expect(decimalText("7", -2)).toBe("700");
  });

  it("drops the noise of a Float32 read as a double", () => {
    expect(float32Text(Math.fround(0.1))).toBe("0.1");
    expect(float32Text(Math.fround(21.92070484))).toBe("21.920704");
  });
});

describe("typeLabel", () => {
  it("names a column's type in an analyst's words, whatever Arrow calls it", () => {
    const cases: [string, string][] = [
      ["Utf8", "text"],
      ["Utf8View", "text"],
      ["LargeUtf8", "text"],
      ["Dictionary(Int32, Utf8)", "text"],
      ["Int64", "integer"],
      ["UInt8", "integer"],
      ["Float64", "number"],
      ["Float32", "number"],
      ["Decimal128(10, 2)", "decimal(10,2)"],
      ["Boolean", "boolean"],
      ["Date32", "date"],
      ["Timestamp(µs)", "date-time"],
      ['Timestamp(ns, "UTC")', "date-time (UTC)"],
      ['Timestamp(µs, "America/New_York")', "date-time (America/New_York)"],
      ["Time64(µs)", "time"],
      ["Duration(ms)", "duration"],
      ["Interval(MonthDayNano)", "interval"],
      ["Binary", "binary"],
      ["FixedSizeBinary(16)", "binary"],
      ["List(Int64)", "list"],
      ['Struct("a": Int64)', "struct"],
      ["Null", "empty"],
      ["RunEndEncoded(x)", "RunEndEncoded(x)"],
    ];
    for (const [arrow, words] of cases) expect(typeLabel(arrow), arrow).toBe(words);
  });
});

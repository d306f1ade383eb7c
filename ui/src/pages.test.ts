import { describe, expect, it } from "vitest";
import {
  DateDay,
  Decimal,
  DurationMicrosecond,
  IntervalDayTime,
  IntervalMonthDayNano,
  IntervalYearMonth,
  makeData,
  makeVector,
  Null,
  Table,
  tableFromArrays,
  tableFromIPC,
  tableToIPC,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimeUnit,
  Timestamp,
} from "apache-arrow";
import { display, filters, rowsOf, viewProgressText, viewSpec } from "./pages";

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

  it("reads timestamps, dates and decimals as text the engine parses back, not epoch numbers", () => {
    const tenAm = 1357034400000n; // 2013-01-01 10:00:00 UTC
    const ts = (type: Timestamp, values: bigint[]) =>
      makeVector(makeData({ type, length: values.length, data: BigInt64Array.from(values) }));
    const t = new Table({
      time_hour: ts(new TimestampMillisecond(), [tenAm, 0n]),
      utc: ts(new TimestampMicrosecond("UTC"), [tenAm * 1000n + 5n, 0n]),
      ny: ts(new Timestamp(TimeUnit.NANOSECOND, "America/New_York"), [tenAm * 1_000_000n, 0n]),
      day: makeVector(makeData({ type: new DateDay(), length: 2, data: Int32Array.from([15706, -1]) })),
      price: makeVector(makeData({ type: new Decimal(2, 10, 128), length: 2, data: Uint32Array.from([12345, 0, 0, 0, 4294967291, 4294967295, 4294967295, 4294967295]) })),
      ratio: makeVector(Float32Array.from([0.1, 2.5])),
    });
    const rows = rowsOf(tableFromIPC(tableToIPC(t, "stream")));
    expect(rows[0]).toEqual({
      time_hour: "2013-01-01 10:00:00",
      utc: "2013-01-01 10:00:00.000005Z",
      ny: "2013-01-01 05:00:00-05:00",
      day: "2013-01-01",
      price: "123.45",
      ratio: "0.1",
    });
    expect(rows[1]).toMatchObject({ time_hour: "1970-01-01 00:00:00", day: "1969-12-31", price: "-0.05", ratio: "2.5" });
  });

  it("reads lengths of time as PostgreSQL writes them, not as arrays of words or microseconds", () => {
    const hour = 3_600_000_000n;
    const nanos = (4n * hour + 5n * 60_000_000n + 6_500_000n) * 1000n;
    const t = new Table({
      took: makeVector(makeData({ type: new DurationMicrosecond(), length: 2, data: BigInt64Array.from([27n * hour + 250_000n, -hour]) })),
      mdn: makeVector(
        makeData({
          type: new IntervalMonthDayNano(),
          length: 2,
          data: Int32Array.from([14, 3, Number(nanos & 0xffffffffn) | 0, Number(nanos >> 32n), -3, 0, 0, 0]),
        }),
      ),
      dt: makeVector(makeData({ type: new IntervalDayTime(), length: 2, data: Int32Array.from([1, -7_200_000, 0, 0]) })),
      ym: makeVector(makeData({ type: new IntervalYearMonth(), length: 2, data: Int32Array.from([12, 25]) })),
    });
    const rows = rowsOf(tableFromIPC(tableToIPC(t, "stream")));
    expect(rows).toEqual([
      { took: "1 day 03:00:00.250", mdn: "1 year 2 months 3 days 04:05:06.500", dt: "1 day -02:00:00", ym: "1 year" },
      { took: "-01:00:00", mdn: "-3 months", dt: "00:00:00", ym: "2 years 1 month" },
    ]);
  });

  it("reads a column of the Null type (SELECT NULL) as missing values, not empty text", () => {
    const t = new Table({ nothing: makeVector(makeData({ type: new Null(), length: 2 })) });
    expect(rowsOf(tableFromIPC(tableToIPC(t, "stream")))).toEqual([{ nothing: null }, { nothing: null }]);
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

  it("joins AND conditions, and OR conditions as alternatives (once left out: the grid looked filtered and was not)", () => {
    const spec = viewSpec([], {
      a: { operator: "AND", conditions: [{ type: "startsWith", filter: "x" }, { type: "endsWith", filter: "y" }] },
      b: { operator: "OR", conditions: [{ type: "lessThan", filter: 0 }, { type: "inRange", filter: 35, filterTo: 40 }] },
    });
    expect(spec?.filters).toEqual([
      { column: "a", op: "starts_with", value: "x" },
      { column: "a", op: "ends_with", value: "y" },
    ]);
    expect(spec?.either).toEqual([
      [
        [{ column: "b", op: "less_than", value: "0" }],
        [
          { column: "b", op: "greater_than_or_equal", value: "35" },
          { column: "b", op: "less_than_or_equal", value: "40" },
        ],
      ],
    ]);
    expect(filters(spec)).toBe(true);
    expect(filters(viewSpec([{ colId: "a", sort: "asc" }], {}))).toBe(false);
  });

  it("keeps a picked end day whole in a date range, as BETWEEN does", () => {
    const spec = viewSpec([], { day: { filterType: "date", type: "inRange", dateFrom: "2013-03-01 00:00:00", dateTo: "2013-03-31 00:00:00" } });
    expect(spec?.filters).toEqual([
      { column: "day", op: "greater_than_or_equal", value: "2013-03-01" },
      { column: "day", op: "less_than", value: "2013-04-01" },
    ]);
  });
});

describe("viewProgressText", () => {
  it("says what is made, of how many rows, and how far it has read", () => {
    expect(viewProgressText({ rows_read: 1_234_567, rows_total: 3_000_000 }, true)).toBe("Sorting 3,000,000 rows… 41% read");
    expect(viewProgressText({ rows_read: 0, rows_total: 0 }, false)).toBe("Filtering 0 rows… 0% read");
  });
});

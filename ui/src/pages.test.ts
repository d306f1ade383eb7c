import { describe, expect, it } from "vitest";
import { tableFromArrays, tableToIPC, tableFromIPC } from "apache-arrow";
import { display, rowsOf } from "./pages";

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

import { describe, expect, it } from "vitest";
import type { TableInfo } from "../bindings";
import { linkedTitle } from "./linkedTitle";

const table = (over: Partial<TableInfo>): TableInfo => ({
  name: "trips",
  version: 1,
  rows: 3,
  columns: [],
  memory_bytes: 0,
  linked: "/data/trips.parquet",
  converted: false,
  origin: null,
  missing: null,
  ...over,
});

describe("a linked table's tooltip", () => {
  it("says the user's files are read where they lie", () => {
    expect(linkedTitle(table({}))).toBe("Read where it lies: /data/trips.parquet");
  });
  it("names what Quire's copy is a copy of, and where the copy is", () => {
    const copy = table({ linked: "/nb/converted/compact-1", converted: true, origin: "/data/trips.parquet" });
    expect(linkedTitle(copy)).toBe("A copy of /data/trips.parquet as Parquet in the notebook's folder, read from /nb/converted/compact-1");
  });
  it("says only that it was converted when the copy predates its origin", () => {
    expect(linkedTitle(table({ linked: "/nb/converted/0192", converted: true }))).toBe("Converted to Parquet, read from /nb/converted/0192");
  });
  it("says why a missing link cannot be read", () => {
    expect(linkedTitle(table({ missing: "the folder /media/usb does not exist" }))).toBe("the folder /media/usb does not exist");
  });
});

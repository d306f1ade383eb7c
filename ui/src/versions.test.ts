import { describe, expect, it } from "vitest";
import type { Generation, HistoryItem, TableSaveStatus } from "./bindings";
import { changeText, savedCopyText, saveStatusTitle } from "./versions";

const copies: Generation[] = [
  { generation: 3, version: 7, rows: 10, bytes: 100, committed_ms: 0 },
  { generation: 2, version: 4, rows: 10, bytes: 100, committed_ms: 0 },
];

const item = (op: HistoryItem["op"], label: string): HistoryItem => ({ version: 8, label, op, at_ms: 0, current: true, rows: 10 });

const status = (over: Partial<TableSaveStatus>): TableSaveStatus => ({
  notebook: "nb",
  table: "trips",
  status: { state: "saved" },
  version: 7,
  saved_version: 7,
  generation: 3,
  rows_written: 0,
  total_rows: 0,
  bytes_written: 0,
  ...over,
});

describe("version wording", () => {
  it("names a restore in the Changes list by the version its copy held, not by generation", () => {
    expect(changeText(item({ op: "restore", generation: 2 }, "Restored saved copy 2"), copies)).toBe(
      "Restored the saved copy of version 4",
    );
    expect(changeText(item({ op: "restore", generation: 1 }, "Restored saved copy 1"), copies)).toBe("Restored a saved copy");
    expect(changeText(item({ op: "opened" }, "Opened"), copies)).toBe("Opened");
  });

  it("the save tooltip speaks of versions only", () => {
    expect(saveStatusTitle(status({}))).toBe("Shows version 7; saved");
    expect(saveStatusTitle(status({ version: 9, status: { state: "unsaved" } }))).toBe(
      "Shows version 9; the newest saved copy of version 7",
    );
    expect(saveStatusTitle(status({ version: 1, saved_version: 0, generation: 0, status: { state: "unsaved" } }))).toBe(
      "Shows version 1; not saved yet",
    );
    expect(saveStatusTitle(status({ status: { state: "failed", message: "disk full" } }))).toBe("disk full");
    expect(savedCopyText(4)).toBe("saved copy of version 4");
  });
});

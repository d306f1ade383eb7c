import { afterEach, describe, expect, it } from "vitest";
import type { QueryPreview } from "./bindings";
import {
  MAX_RESULTS,
  RESULT_KEY_PREFIX,
  forgetNotebookResults,
  forgetResult,
  loadResult,
  resultKey,
  saveResult,
} from "./resultCache";

afterEach(() => localStorage.clear());

const preview = (rows: (string | null)[][] = [["42"]]): QueryPreview => ({
  columns: [{ name: "answer", data_type: "Utf8" }],
  rows,
  row_count: rows.length,
  truncated: false,
  elapsed_ms: 2,
});

const kept = () => {
  const out: string[] = [];
  for (let i = 0; i < localStorage.length; i++) {
    const k = localStorage.key(i);
    if (k?.startsWith(RESULT_KEY_PREFIX)) out.push(k);
  }
  return out;
};

describe("kept cell results", () => {
  it("keeps a result by notebook and cell, for the SQL it answered only", () => {
    expect(saveResult("nb", "c1", "SELECT 42", preview(), 1000)).toBe(true);
    expect(resultKey("nb", "c1").startsWith("quire.result.")).toBe(true);
    expect(loadResult("nb", "c1", "SELECT 42")).toEqual({ sql: "SELECT 42", preview: preview(), saved_ms: 1000 });
    expect(loadResult("nb", "c1", "SELECT 43")).toBeNull();
    expect(loadResult("nb", "c2", "SELECT 42")).toBeNull();
    expect(loadResult("other", "c1", "SELECT 42")).toBeNull();
    forgetResult("nb", "c1");
    expect(loadResult("nb", "c1", "SELECT 42")).toBeNull();
  });

  it("does not keep a preview over 256 KB, and drops the older one it would have replaced", () => {
    saveResult("nb", "c1", "SELECT small", preview(), 1000);
    const big = preview(Array.from({ length: 200 }, () => ["x".repeat(2000)]));
    expect(saveResult("nb", "c1", "SELECT big", big, 2000)).toBe(false);
    expect(loadResult("nb", "c1", "SELECT big")).toBeNull();
    expect(loadResult("nb", "c1", "SELECT small")).toBeNull();
    expect(kept()).toEqual([]);
  });

  it(`keeps at most ${MAX_RESULTS}, dropping the oldest`, () => {
    for (let i = 0; i < MAX_RESULTS + 5; i++) saveResult("nb", `c${i}`, `SELECT ${i}`, preview(), 1000 + i);
    expect(kept()).toHaveLength(MAX_RESULTS);
    for (let i = 0; i < 5; i++) expect(loadResult("nb", `c${i}`, `SELECT ${i}`)).toBeNull();
    expect(loadResult("nb", "c5", "SELECT 5")).not.toBeNull();
    expect(loadResult("nb", `c${MAX_RESULTS + 4}`, `SELECT ${MAX_RESULTS + 4}`)).not.toBeNull();
    // Running a cell again replaces its entry instead of adding one.
    saveResult("nb", "c5", "SELECT 5", preview(), 9999);
    expect(kept()).toHaveLength(MAX_RESULTS);
    expect(loadResult("nb", "c6", "SELECT 6")).not.toBeNull();
  });

  it("forgets a deleted notebook's results only", () => {
    saveResult("nb", "c1", "SELECT 1", preview());
    saveResult("nb/2", "c1", "SELECT 1", preview());
    saveResult("nb2", "c1", "SELECT 1", preview());
    forgetNotebookResults("nb");
    expect(loadResult("nb", "c1", "SELECT 1")).toBeNull();
    expect(loadResult("nb/2", "c1", "SELECT 1")).not.toBeNull();
    expect(loadResult("nb2", "c1", "SELECT 1")).not.toBeNull();
  });

  it("ignores an entry that is not a kept result", () => {
    localStorage.setItem(resultKey("nb", "c1"), "{not json");
    expect(loadResult("nb", "c1", "SELECT 1")).toBeNull();
  });
});

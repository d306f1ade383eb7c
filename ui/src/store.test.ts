import { describe, expect, it } from "vitest";
import { initialState, reduce } from "./store";
import type { NotebookSummary } from "./bindings";

const nb = (id: string, title: string): NotebookSummary => ({
  id,
  title,
  cell_count: 0,
  hydrated: false,
});

describe("reduce", () => {
  it("adds a created notebook once, even if the event repeats", () => {
    const created = { seq: 1, event: { kind: "notebook_created" as const, notebook: nb("a", "A") } };
    let s = reduce(initialState, { type: "engine_events", batch: [created] });
    s = reduce(s, { type: "engine_events", batch: [created] });
    expect(s.notebooks.map((n) => n.title)).toEqual(["A"]);
    expect(s.lastSeq).toBe(1);
  });

  it("does not duplicate a notebook the command result already listed", () => {
    let s = reduce(initialState, { type: "notebooks", notebooks: [nb("a", "A")] });
    s = reduce(s, {
      type: "engine_events",
      batch: [{ seq: 5, event: { kind: "notebook_created", notebook: nb("a", "A") } }],
    });
    expect(s.notebooks).toHaveLength(1);
  });

  it("queues and dismisses toasts", () => {
    let s = reduce(initialState, { type: "toast", text: { headline: "h", detail: "d" } });
    expect(s.toasts).toHaveLength(1);
    s = reduce(s, { type: "dismiss", id: s.toasts[0]!.id });
    expect(s.toasts).toHaveLength(0);
  });
});

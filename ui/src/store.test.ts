import { describe, expect, it } from "vitest";
import { capToasts, initialState, MAX_TOASTS, reduce, tableKey } from "./store";
import type { Toast } from "./store";
import type { NotebookSummary, Sequenced } from "./bindings";
import { overallStatus, overallText } from "./status";

const nb = (id: string, title: string): NotebookSummary => ({
  id,
  title,
  cell_count: 0,
  on_disk: false,
  folder: null,
  status: { state: "saved" },
});

const batch = (...events: Sequenced[]) => ({ type: "engine_events" as const, batch: events });

describe("reduce", () => {
  it("adds a created notebook once, even if the event repeats", () => {
    const created: Sequenced = { seq: 1, event: { kind: "notebook_created", notebook: nb("a", "A") } };
    let s = reduce(initialState, batch(created));
    s = reduce(s, batch(created));
    expect(s.notebooks.map((n) => n.title)).toEqual(["A"]);
    expect(s.lastSeq).toBe(1);
  });

  it("does not duplicate a notebook the command result already listed", () => {
    let s = reduce(initialState, { type: "notebooks", notebooks: [nb("a", "A")] });
    s = reduce(s, batch({ seq: 5, event: { kind: "notebook_created", notebook: nb("a", "A") } }));
    expect(s.notebooks).toHaveLength(1);
  });

  it("tracks save status per notebook and in the open view", () => {
    let s = reduce(initialState, { type: "notebooks", notebooks: [nb("a", "A"), nb("b", "B")] });
    s = reduce(s, { type: "view", view: { summary: nb("a", "A"), cells: [] } });
    s = reduce(
      s,
      batch(
        { seq: 1, event: { kind: "save_status", notebook: "a", status: { state: "unsaved" }, revision: 1, saved_revision: 0 } },
        { seq: 2, event: { kind: "save_status", notebook: "a", status: { state: "saving" }, revision: 1, saved_revision: 0 } },
      ),
    );
    expect(s.notebooks[0]!.status.state).toBe("saving");
    expect(s.view?.summary.status.state).toBe("saving");
    s = reduce(s, batch({ seq: 3, event: { kind: "save_status", notebook: "a", status: { state: "saved" }, revision: 1, saved_revision: 0 } }));
    expect(s.notebooks[0]!.on_disk).toBe(true);
    expect(s.notebooks[1]!.status.state).toBe("saved");
    expect(s.notebooks[1]!.on_disk).toBe(false);
  });

  it("closes the view of a deleted notebook", () => {
    let s = reduce(initialState, { type: "notebooks", notebooks: [nb("a", "A")] });
    s = reduce(s, { type: "view", view: { summary: nb("a", "A"), cells: [] } });
    s = reduce(s, batch({ seq: 1, event: { kind: "notebook_deleted", notebook: "a" } }));
    expect(s.notebooks).toHaveLength(0);
    expect(s.view).toBeNull();
  });

  it("queues and dismisses toasts", () => {
    let s = reduce(initialState, { type: "toast", level: "error", text: { headline: "h", detail: "d" } });
    expect(s.toasts).toHaveLength(1);
    s = reduce(s, { type: "dismiss", id: s.toasts[0]!.id });
    expect(s.toasts).toHaveLength(0);
  });

  it("replaces a repeated toast instead of stacking copies", () => {
    const text = { headline: "The query has a problem", detail: "Expected: an expression" };
    let s = reduce(initialState, { type: "toast", level: "error", text });
    s = reduce(s, { type: "toast", level: "info", text: { headline: "Saved", detail: "" } });
    const first = s.toasts[0]!.id;
    s = reduce(s, { type: "toast", level: "error", text });
    expect(s.toasts.map((t) => t.text.headline)).toEqual(["Saved", "The query has a problem"]);
    expect(s.toasts[1]!.id, "a new id restarts its clock").not.toBe(first);
  });

  it("tracks table save states from events and toasts recoveries", () => {
    const status = (state: "unsaved" | "saving" | "saved", rows_written = 0) => ({
      notebook: "a",
      table: "trips",
      status: { state },
      version: 3,
      saved_version: state === "saved" ? 3 : 2,
      generation: 2,
      rows_written,
      total_rows: 100,
      bytes_written: 0,
    });
    let s = reduce(initialState, batch({ seq: 1, event: { kind: "table_save_status", ...status("unsaved") } }));
    expect(s.tableStatus[tableKey("a", "trips")]?.status.state).toBe("unsaved");
    s = reduce(s, batch({ seq: 2, event: { kind: "table_save_status", ...status("saving", 50) } }));
    expect(overallText(overallStatus([], false, Object.values(s.tableStatus)))).toBe("Saving trips 50%…");
    s = reduce(s, batch({ seq: 3, event: { kind: "table_save_status", ...status("saved") } }));
    expect(overallStatus([], false, Object.values(s.tableStatus)).kind).toBe("saved");
    s = reduce(s, batch({ seq: 4, event: { kind: "table_notice", notebook: "a", table: "trips", message: "opened generation 1" } }));
    expect(s.toasts.at(-1)?.text.detail).toBe("opened generation 1");
  });
});

describe("capToasts", () => {
  it("keeps the newest toasts and every error it can, dropping information first", () => {
    const t = (id: number, level: Toast["level"]): Toast => ({ id, level, text: { headline: String(id), detail: "" } });
    const kept = capToasts([t(1, "error"), t(2, "info"), t(3, "info"), t(4, "error"), t(5, "info"), t(6, "info")]);
    expect(kept.map((k) => k.id)).toEqual([1, 4, 5, 6]);
    expect(kept).toHaveLength(MAX_TOASTS);
    const errors = capToasts([1, 2, 3, 4, 5, 6].map((id) => t(id, "error")));
    expect(errors.map((k) => k.id)).toEqual([3, 4, 5, 6]);
  });
});

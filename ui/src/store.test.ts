import { describe, expect, it } from "vitest";
import { capToasts, initialState, MAX_TOASTS, reduce, tableKey } from "./store";
import type { Toast } from "./store";
import type { NotebookSummary, Sequenced, TableInfo } from "./bindings";
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
    s = reduce(s, { type: "view", view: { summary: nb("a", "A"), cells: [], connections: [] } });
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
    s = reduce(s, { type: "view", view: { summary: nb("a", "A"), cells: [], connections: [] } });
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

const table = (name: string, version = 1, rows = 3): TableInfo => ({ name, version, rows, columns: [], memory_bytes: 64, linked: null, converted: false, origin: null, missing: null });
const names = (s: ReturnType<typeof reduce>, notebook = "a") => s.tables[notebook]?.map((t) => t.name);
/** A state with notebook a's tables loaded. */
function loaded(list: TableInfo[]) {
  let s = reduce(initialState, { type: "tables_loading", notebook: "a" });
  s = reduce(s, { type: "tables", notebook: "a", list });
  return s;
}

describe("the tables slice", () => {
  it("adds a table in name order, once, and only to a loaded notebook", () => {
    let s = loaded([table("flights"), table("trips")]);
    const added: Sequenced = { seq: 1, event: { kind: "table_added", notebook: "a", table: table("planes") } };
    s = reduce(s, batch(added));
    s = reduce(s, batch(added));
    expect(names(s)).toEqual(["flights", "planes", "trips"]);
    s = reduce(s, batch({ seq: 2, event: { kind: "table_added", notebook: "b", table: table("other") } }));
    expect(s.tables.b).toBeUndefined();
  });

  it("replaces a changed table's info", () => {
    let s = loaded([table("flights", 1, 3)]);
    s = reduce(s, batch({ seq: 1, event: { kind: "table_changed", notebook: "a", table: table("flights", 2, 5) } }));
    expect(s.tables.a).toEqual([table("flights", 2, 5)]);
  });

  it("removes a deleted table", () => {
    let s = loaded([table("flights"), table("planes")]);
    s = reduce(s, batch({ seq: 1, event: { kind: "table_removed", notebook: "a", table: "planes" } }));
    expect(names(s)).toEqual(["flights"]);
  });

  it("follows a rename: the new name added, then the old one removed", () => {
    let s = loaded([table("flights"), table("planes")]);
    s = reduce(
      s,
      batch(
        { seq: 1, event: { kind: "table_added", notebook: "a", table: table("trips") } },
        { seq: 2, event: { kind: "table_removed", notebook: "a", table: "flights" } },
      ),
    );
    expect(names(s)).toEqual(["planes", "trips"]);
  });

  it("applies a command's answer the way its event will, so the event changes nothing more", () => {
    let s = loaded([table("flights", 1)]);
    s = reduce(s, { type: "table_event", event: { kind: "table_changed", notebook: "a", table: table("flights", 2) } });
    expect(s.tables.a).toEqual([table("flights", 2)]);
    const again = reduce(s, batch({ seq: 1, event: { kind: "table_changed", notebook: "a", table: table("flights", 2) } }));
    expect(again.tables).toEqual(s.tables);
  });

  it("applies events heard while a list loads over the list when it lands", () => {
    let s = reduce(initialState, { type: "tables_loading", notebook: "a" });
    s = reduce(
      s,
      batch(
        { seq: 1, event: { kind: "table_added", notebook: "a", table: table("planes") } },
        { seq: 2, event: { kind: "table_removed", notebook: "a", table: "old" } },
      ),
    );
    expect(s.tables.a).toBeUndefined();
    // The list was read before both events.
    s = reduce(s, { type: "tables", notebook: "a", list: [table("old"), table("flights")] });
    expect(names(s)).toEqual(["flights", "planes"]);
    expect(s.tablesLoading).toEqual({});
  });

  it("drops a deleted notebook's tables", () => {
    let s = loaded([table("flights")]);
    s = reduce(s, batch({ seq: 1, event: { kind: "notebook_deleted", notebook: "a" } }));
    expect(s.tables.a).toBeUndefined();
  });

  it("keeps the lists after a complete catch-up and applies what it brings", () => {
    let s = loaded([table("flights")]);
    s = reduce(s, {
      type: "catch_up",
      complete: true,
      events: [{ seq: 4, event: { kind: "table_added", notebook: "a", table: table("planes") } }],
    });
    expect(names(s)).toEqual(["flights", "planes"]);
    expect(s.lastSeq).toBe(4);
  });

  it("unloads every list after an incomplete catch-up, so each is loaded again", () => {
    let s = loaded([table("flights")]);
    s = reduce(s, { type: "tables_loading", notebook: "b" });
    s = reduce(s, {
      type: "catch_up",
      complete: false,
      events: [{ seq: 9, event: { kind: "table_added", notebook: "a", table: table("planes") } }],
    });
    expect(s.tables).toEqual({});
    expect(s.tablesLoading).toEqual({});
    expect(s.lastSeq).toBe(9);
    // A load asked for before the catch-up lands stale: it is not taken.
    s = reduce(s, { type: "tables", notebook: "b", list: [table("stale")] });
    expect(s.tables.b).toBeUndefined();
    // Loaded again, the list is the engine's.
    s = reduce(s, { type: "tables_loading", notebook: "a" });
    s = reduce(s, { type: "tables", notebook: "a", list: [table("planes"), table("flights")] });
    expect(names(s)).toEqual(["flights", "planes"]);
  });
});

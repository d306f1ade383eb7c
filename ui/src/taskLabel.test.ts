import { describe, expect, it } from "vitest";
import { taskLabel } from "./taskLabel";
import type { NotebookSummary, NotebookView, Task } from "./bindings";

const NB = "0190a1b2-0000-7000-8000-000000000001";
const CELL = "01a23781-7c1e-7000-8000-0000000000c3";
const notebooks: NotebookSummary[] = [{ id: NB, title: "Trips", cell_count: 3, on_disk: true, folder: "trips.quire", status: { state: "saved" } }];
const view: NotebookView = {
  connections: [],
  summary: notebooks[0]!,
  cells: [
    { id: "c1", kind: "markdown", source: "# Notes" },
    { id: "c2", kind: "sql", source: "SELECT 1" },
    { id: CELL, kind: "sql", source: "SELECT * FROM flights_all" },
  ],
};

function task(over: Partial<Task>): Task {
  return {
    id: 1,
    kind: "cell_run",
    notebook: NB,
    target: CELL,
    payload: "{}",
    priority: "user_visible",
    status: "completed",
    attempts: 1,
    created_ms: 0,
    started_ms: null,
    finished_ms: null,
    error: null,
    progress: null,
    ...over,
  };
}

describe("taskLabel", () => {
  it("names a cell run by its number in the open notebook and shows its query's first line", () => {
    const t = task({ payload: JSON.stringify({ sql: "\n-- busiest routes\nSELECT origin, count(*)\nFROM flights_all GROUP BY 1" }) });
    expect(taskLabel(t, notebooks, view)).toEqual({ title: "Run cell 3 in “Trips”", detail: "-- busiest routes …" });
  });

  it("falls back to the query when the cell is not in view, and never shows an id", () => {
    const t = task({ payload: JSON.stringify({ sql: "SELECT 1" }) });
    expect(taskLabel(t, notebooks, null)).toEqual({ title: "Run a query in “Trips”", detail: "SELECT 1" });
    const unknown = taskLabel(task({ notebook: "gone", payload: "not json" }), [], null);
    expect(unknown).toEqual({ title: "Run a query", detail: null });
    expect(JSON.stringify(unknown)).not.toMatch(/[0-9a-f]{8}-/);
  });

  it("names imports by file, and the table only when it differs from the file", () => {
    const same = task({ kind: "import", target: "flights", payload: JSON.stringify({ path: "/home/me/data/flights.csv", csv: null }) });
    expect(taskLabel(same, notebooks, view).title).toBe("Import flights.csv in “Trips”");
    const renamed = task({ kind: "import", target: "f2024", payload: JSON.stringify({ path: "C:\\data\\flights.csv" }) });
    expect(taskLabel(renamed, [], null).title).toBe("Import flights.csv as f2024");
  });

  it("names exports, transforms and saves by their table", () => {
    expect(taskLabel(task({ kind: "export", target: "by_city", payload: '{"path":"/tmp/by_city.parquet"}' }), [], null).title).toBe(
      "Export by_city to by_city.parquet",
    );
    const transform = task({ kind: "transform", target: "sales", payload: JSON.stringify({ transform: { kind: "set_column", column: "city", expr: "upper(city)" } }) });
    expect(taskLabel(transform, notebooks, null)).toEqual({ title: "Transform sales in “Trips”", detail: "city = upper(city)" });
    expect(taskLabel(task({ kind: "snapshot", target: "sales", payload: '{"version":4}' }), [], null).title).toBe("Save sales (version 4)");
  });
});

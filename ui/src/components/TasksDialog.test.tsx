import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { TasksDialog } from "./TasksDialog";
import type { Backend } from "../backend";
import { Providers } from "../testBackend";
import type { NotebookSummary, Task } from "../bindings";

const NB = "0190a1b2-0000-7000-8000-000000000001";
const notebooks: NotebookSummary[] = [{ id: NB, title: "Trips", cell_count: 1, on_disk: true, folder: "trips.quire", status: { state: "saved" } }];
const base = { notebook: NB, priority: "user_visible", attempts: 1, created_ms: 0, started_ms: null, finished_ms: null, progress: null } as const;
const tasks: Task[] = [
  {
    ...base,
    id: 2,
    kind: "cell_run",
    target: "01a23781-7c1e-7000-8000-0000000000c3",
    payload: JSON.stringify({ sql: "SELECT coalesce(a) FROM t" }),
    status: "failed",
    error:
      "Internal error: coalesce should have been simplified to case.\nThis issue was likely caused by a bug in DataFusion's code. Please help us to resolve this by filing a bug report in our issue tracker: https://github.com/apache/datafusion/issues",
  },
  { ...base, id: 1, kind: "import", target: "flights", payload: JSON.stringify({ path: "/d/flights.csv" }), status: "failed", error: "disk full" },
];

function backend(): Backend {
  return { listTasks: async () => tasks, retryTask: async () => tasks[1], cancelTask: async () => false, dismissFinishedTasks: async () => 2 } as unknown as Backend;
}

afterEach(cleanup);

describe("TasksDialog", () => {
  it("names tasks in words, shows a failed cell run as failed with its cleaned error, and retries only real work", async () => {
    render(<Providers backend={backend()} notify={{ report: () => {}, inform: () => {} }}>
        <TasksDialog notebooks={notebooks} view={null} onClose={() => {}} />
      </Providers>);
    const rows = await screen.findAllByTestId("task-row");
    expect(rows.map((r) => r.getAttribute("data-kind"))).toEqual(["cell_run", "import"]);
    const [run, imported] = rows as [HTMLElement, HTMLElement];
    expect(run.textContent).toContain("Run a query in “Trips”");
    expect(run.textContent).toContain("SELECT coalesce(a) FROM t");
    expect(run.textContent).toContain("coalesce should have been simplified to case.");
    expect(run.textContent).not.toMatch(/DataFusion|Internal error|01a23781/);
    expect(within(run).queryByRole("button"), "a failed cell run is a result, not work to retry").toBeNull();
    expect(imported.textContent).toContain("Import flights.csv in “Trips”");
    expect(within(imported).getByRole("button", { name: "Retry" })).toBeTruthy();
  });

  it("closes on Esc", async () => {
    let closed = 0;
    render(<Providers backend={backend()} notify={{ report: () => {}, inform: () => {} }}>
        <TasksDialog notebooks={[]} view={null} onClose={() => closed++} />
      </Providers>);
    await screen.findAllByTestId("task-row");
    fireEvent.keyDown(window, { key: "Escape" });
    expect(closed).toBe(1);
  });
});

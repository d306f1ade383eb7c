import { afterEach, describe, expect, it, vi } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { EditorView } from "@codemirror/view";
import type { Backend } from "../backend";
import type { QueryPreview } from "../bindings";
import { BackendProvider } from "../context";
import { CellView, freeTableName, staleText } from "./CellView";
import type { NotebookActions } from "./NotebookPane";
import { resultMeta } from "./ResultTable";

afterEach(cleanup);

// The engine sends the first 200 rows of a result and its full count.
const preview = (truncated: boolean): QueryPreview => ({
  columns: [
    { name: "carrier", data_type: "Utf8" },
    { name: "avg_delay", data_type: "Float64" },
  ],
  rows: [
    ["UA", "21.920704845814978"],
    ["AA", null],
  ],
  row_count: truncated ? 1_234_567 : 2,
  truncated,
  elapsed_ms: 3,
});

function show(truncated: boolean, onOpenInGrid = vi.fn(async () => true)) {
  render(
    <CellView
      schema={{ flights: [], result: [] }}
      cell={{ id: "c1", kind: "sql", source: "SELECT * FROM flights" }}
      index={0}
      last
      output={{ ok: { kind: "table", preview: preview(truncated) } }}
      actions={{ keepResult: vi.fn(async () => true) } as unknown as NotebookActions}
      onOpenInGrid={onOpenInGrid}
    />,
  );
  return onOpenInGrid;
}

describe("a SQL result", () => {
  it("says in numbers when it shows only the first rows", () => {
    const n = (1_234_567).toLocaleString();
    expect(resultMeta(preview(true))).toBe(`${n} rows · 3.0 ms · showing the first 2 of ${n} rows`);
    expect(resultMeta(preview(false))).toBe("2 rows · 3.0 ms");
  });

  it("rounds floats for reading and right-aligns number columns, the full value in the tooltip", () => {
    show(false);
    const cell = screen.getByText("21.920704845815");
    expect(cell.getAttribute("title")).toBe("21.920704845814978");
    expect(cell.className).toContain("num");
    expect(screen.getByText("UA").className).not.toContain("num");
    expect(screen.queryByTestId("open-all-rows")).toBeNull();
  });

  it("says beside the answer what the engine noted about it, and nothing when it noted nothing", () => {
    const note = "hits / total divides whole numbers, which gives a whole number here";
    render(
      <CellView
        schema={{}}
        cell={{ id: "c1", kind: "sql", source: "SELECT hits / total FROM t" }}
        index={0}
        last
        output={{ ok: { kind: "table", preview: { ...preview(false), notes: [note] } } }}
        actions={{} as unknown as NotebookActions}
      />,
    );
    expect(screen.getByTestId("result-note").textContent).toBe(note);
    cleanup();
    show(false);
    expect(screen.queryByTestId("result-note")).toBeNull();
  });

  it("opens all rows in the grid by keeping the result under a free name", async () => {
    const open = show(true);
    fireEvent.click(screen.getByTestId("open-all-rows"));
    const name = screen.getByTestId("open-all-rows-name") as HTMLInputElement;
    expect(name.value).toBe("result_2");
    fireEvent.click(screen.getByTestId("open-all-rows-save"));
    await waitFor(() => expect(open).toHaveBeenCalledWith("SELECT * FROM flights", "result_2", null));
  });
});

describe("freeTableName", () => {
  it("picks the first name not taken", () => {
    expect(freeTableName([])).toBe("result");
    expect(freeTableName(["Result", "result_2"])).toBe("result_3");
  });
});

describe("a result kept from the last session", () => {
  const stale = { sql: "SELECT * FROM flights", saved_ms: Date.UTC(2025, 2, 4, 10, 30), last_session: true };
  const showStale = (source: string) =>
    render(
      <CellView
        schema={{}}
        cell={{ id: "c1", kind: "sql", source }}
        index={0}
        last
        output={{ ok: { kind: "table", preview: preview(false) }, stale }}
        actions={{ updateCell: vi.fn() } as unknown as NotebookActions}
      />,
    );

  it("is marked as such above the table", () => {
    showStale("SELECT * FROM flights");
    const mark = screen.getByTestId("result-stale");
    expect(mark.textContent).toBe(staleText(stale));
    expect(mark.textContent).toMatch(/^From your last session \(/);
    expect(screen.getByText("UA")).toBeTruthy();
    expect(staleText({ ...stale, last_session: false })).toMatch(/^From an earlier run \(/);
  });

  it("is not shown for other SQL, nor once the SQL is edited", () => {
    const { unmount } = showStale("SELECT * FROM flights WHERE 1 = 1");
    expect(screen.queryByTestId("cell-output")).toBeNull();
    unmount();
    const { container } = showStale("SELECT * FROM flights");
    expect(screen.getByTestId("result-stale")).toBeTruthy();
    const view = EditorView.findFromDOM(container.querySelector(".cm-editor") as HTMLElement)!;
    act(() => view.dispatch({ changes: { from: view.state.doc.length, insert: " LIMIT 1" } }));
    expect(screen.queryByTestId("result-stale")).toBeNull();
    expect(screen.queryByTestId("cell-output")).toBeNull();
  });
});

describe("where a SQL cell runs", () => {
  const cellOn = (runs_on: string | null) => ({ id: "c1", kind: "sql" as const, source: "SELECT count(*) FROM sales", runs_on });

  it("offers this machine and the notebook's clusters, and says where a run is", async () => {
    const setRunsOn = vi.fn(async () => undefined);
    const keepResult = vi.fn(async () => true);
    const actions = { setRunsOn, keepResult } as unknown as NotebookActions;
    const { rerender } = render(
      <CellView schema={{}} cell={cellOn(null)} index={0} last output={undefined} actions={actions} clusters={["lab"]} />,
    );
    const select = screen.getByTestId("runs-on") as HTMLSelectElement;
    expect([...select.options].map((o) => o.text)).toEqual(["this machine", "cluster lab"]);
    expect(select.value).toBe("");
    fireEvent.change(select, { target: { value: "lab" } });
    expect(setRunsOn).toHaveBeenCalledWith("c1", "lab");

    rerender(
      <CellView
        schema={{}}
        cell={cellOn("lab")}
        index={0}
        last
        output={{ running: true, job: "j1", rows: 0 } as never}
        actions={actions}
        clusters={["lab"]}
      />,
    );
    expect(screen.getByTestId("cell-running").textContent).toContain("Running on cluster lab…");
    // A result kept as a table is computed where the shown result ran, whatever the menu says
    // since.
    const result = { ok: { kind: "table" as const, preview: preview(false) } };
    const shown = (runsOn: string | null) => (
      <CellView schema={{}} cell={cellOn(runsOn)} index={0} last output={result} actions={actions} clusters={["lab"]} />
    );
    rerender(shown("lab"));
    rerender(shown(null));
    fireEvent.click(screen.getByTestId("keep-result"));
    fireEvent.change(screen.getByTestId("keep-result-name"), { target: { value: "kept" } });
    fireEvent.click(screen.getByTestId("keep-result-save"));
    await waitFor(() => expect(keepResult).toHaveBeenCalledWith("SELECT count(*) FROM sales", "kept", "lab"));
  });

  it("exports and profiles the shown result where it ran, not the text typed since", async () => {
    const exportResult = vi.fn(async () => undefined);
    const profileResult = vi.fn(async () => new Promise(() => undefined));
    const actions = { exportResult, profileResult, updateCell: vi.fn(async () => undefined) } as unknown as NotebookActions;
    const result = { ok: { kind: "table" as const, preview: preview(false) } };
    const backend = { cancelJob: vi.fn(async () => undefined) } as unknown as Backend;
    const { container } = render(
      <BackendProvider backend={backend}>
        <CellView schema={{}} cell={cellOn("lab")} index={0} last output={result} actions={actions} clusters={["lab"]} />
      </BackendProvider>,
    );
    const view = EditorView.findFromDOM(container.querySelector(".cm-editor") as HTMLElement)!;
    act(() => view.dispatch({ changes: { from: view.state.doc.length, insert: " -- more" } }));
    fireEvent.click(screen.getByTestId("export-result"));
    await waitFor(() => expect(exportResult).toHaveBeenCalledWith("SELECT count(*) FROM sales", "lab"));
    fireEvent.click(screen.getByTestId("profile-result"));
    await waitFor(() =>
      expect(profileResult).toHaveBeenCalledWith("SELECT count(*) FROM sales", expect.any(String), "lab"),
    );
  });

  it("shows no choice in a notebook without clusters", () => {
    render(<CellView schema={{}} cell={cellOn(null)} index={0} last output={undefined} actions={{} as NotebookActions} />);
    expect(screen.queryByTestId("runs-on")).toBeNull();
  });
});

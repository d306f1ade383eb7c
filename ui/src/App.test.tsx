import { afterEach, describe, expect, it } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { App } from "./App";
import { QuireError, serialQueue, type Backend } from "./backend";
import { backendOf } from "./testBackend";
import { BackendProvider } from "./context";
import type { AppInfo, Cell, CloseChoice, CloseRequested, MetricsWindow, NotebookSummary, Sequenced, TableInfo } from "./bindings";

function metricsWindow(minute: number, over: Partial<MetricsWindow> = {}): MetricsWindow {
  return {
    minute,
    disk_writes: 0,
    bytes_written: 0,
    fsyncs: 0,
    changes: 0,
    content_writes: 0,
    coalesced: 0,
    coalesced_pct: 0,
    snapshots: 0,
    snapshot_ms_total: 0,
    snapshot_ms_max: 0,
    snapshot_bytes: 0,
    snapshot_mb_s: 0,
    events_in: 0,
    messages_out: 0,
    events_dropped: 0,
    tasks_queued: 0,
    tasks_completed: 0,
    tasks_failed: 0,
    tasks_cancelled: 0,
    checkpoints: 0,
    queue_started: [0, 0, 0, 0],
    queue_wait_ms_mean: [0, 0, 0, 0],
    queue_wait_ms_max: [0, 0, 0, 0],
    queue_depth_max: [0, 0, 0, 0],
    ...over,
  };
}

// An in-memory stand-in for the engine, so the UI's behaviour is tested without a webview.
// The real engine is exercised by the Rust tests and the e2e suite in tests/e2e.
function fakeBackend() {
  const notebooks: { summary: NotebookSummary; cells: Cell[] }[] = [];
  const listeners: ((b: Sequenced[]) => void)[] = [];
  // What `listTables` answers: a test that says a table was added puts it here too, so a list
  // loaded after the event (a catch-up, a remount) still has it, as the engine's would.
  const tables: TableInfo[] = [];
  let seq = 0;
  let flushes = 0;
  const runs: string[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const closeListeners: ((r: CloseRequested) => void)[] = [];
  const closeChoices: CloseChoice[] = [];
  const emit = (event: Sequenced["event"]) => listeners.forEach((l) => l([{ seq: ++seq, event }]));
  const find = (id: string) => {
    const nb = notebooks.find((n) => n.summary.id === id);
    if (!nb) throw new QuireError("notebook_not_found", `there is no notebook with id ${id}`);
    return nb;
  };
  const touch = (id: string) => {
    const nb = find(id);
    nb.summary = { ...nb.summary, cell_count: nb.cells.length, status: { state: "unsaved" } };
    emit({ kind: "save_status", notebook: id, status: { state: "unsaved" }, revision: seq, saved_revision: 0 });
  };
  const backend: Backend = backendOf({
    appInfo: async () =>
      ({
        engine: { workspace: "/ws", version: "0.1.0", datafusion_version: "55", config: {} },
        startup_warnings: [],
        launch: null,
      }) as unknown as AppInfo,
    metrics: async () => ({
      totals: metricsWindow(0, { disk_writes: 3, bytes_written: 2048, fsyncs: 3, events_in: seq }),
      windows: Array.from({ length: 60 }, (_, i) => metricsWindow(29_000_000 + i, i === 59 ? { disk_writes: 3 } : {})),
      queue_waiting: [0, 0, 1, 0],
    }),
    openLogFolder: async () => undefined,
    pendingWork: async () => ({ notebooks: [], tables: [], tasks: [] }),
    resolveClose: async (_reason, choice) => {
      closeChoices.push(choice);
    },
    onCloseRequested: async (cb) => {
      closeListeners.push(cb);
      return () => undefined;
    },
    setNotebookMode: async () => {
      throw new Error("not used");
    },
    listNotebooks: async () => notebooks.map((n) => n.summary),
    createNotebook: async (title) => {
      if (title.includes("/")) throw new QuireError("invalid_title", "a title cannot contain '/'");
      if (notebooks.some((n) => n.summary.title === title)) throw new QuireError("notebook_exists", `${title} exists`);
      const summary: NotebookSummary = {
        id: `id-${notebooks.length}`,
        title,
        cell_count: 0,
        on_disk: false,
        folder: null,
        status: { state: "saved" },
      };
      notebooks.push({ summary, cells: [] });
      emit({ kind: "notebook_created", notebook: summary });
      return summary;
    },
    getNotebook: async (id) => ({ summary: find(id).summary, cells: [...find(id).cells], connections: [] }),
    renameNotebook: async () => {
      throw new Error("not used");
    },
    deleteNotebook: async (id) => {
      notebooks.splice(notebooks.indexOf(find(id)), 1);
      emit({ kind: "notebook_deleted", notebook: id });
    },
    duplicateNotebook: async () => {
      throw new Error("not used");
    },
    addCell: async (id, kind, _index, source) => {
      const cell = { id: `c-${seq}`, kind, source };
      find(id).cells.push(cell);
      touch(id);
      return cell;
    },
    updateCell: async (id, cell, source) => {
      find(id).cells.find((c) => c.id === cell)!.source = source;
      touch(id);
    },
    setCellKind: async () => undefined,
    setCellRunsOn: async () => undefined,
    deleteCell: async () => undefined,
    moveCell: async () => undefined,
    runCell: async (id, cell, _job, onRows) => {
      const source = find(id).cells.find((c) => c.id === cell)?.source ?? "";
      runs.push(source);
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      // A query takes a moment, so runs that overlapped would show.
      await new Promise((r) => setTimeout(r, 5));
      running--;
      if (source.includes("boom")) throw new QuireError("sql_invalid", "table 'boom' not found");
      onRows(1);
      return {
        kind: "table",
        preview: { columns: [{ name: "answer", data_type: "Int64" }], rows: [["42"]], row_count: 1, truncated: false, elapsed_ms: 1 },
      };
    },
    flushAll: async () => {
      flushes++;
      let saved = 0;
      for (const n of notebooks) {
        if (n.summary.status.state === "unsaved" || !n.summary.on_disk) {
          saved++;
          n.summary = { ...n.summary, on_disk: true, status: { state: "saved" } };
          emit({ kind: "save_status", notebook: n.summary.id, status: { state: "saved" }, revision: seq, saved_revision: seq });
        }
      }
      return { notebooks: { saved, failures: [] }, tables: { saved: 0, failed: [], timed_out: false } };
    },
    editCells: async () => {
      throw new Error("not used");
    },
    tableHistory: async () => [],
    restoreGeneration: async () => {
      throw new Error("not used");
    },
    tableSaveStatus: async () => [],
    retrySnapshot: async () => undefined,
    previewTransform: async () => {
      throw new Error("not used");
    },
    applyTransform: async () => {
      throw new Error("not used");
    },
    undoRedo: async () => {
      throw new Error("not used");
    },
    tableVersions: async () => ({ items: [], can_undo: false, can_redo: false }),
    listTasks: async () => [],
    taskStats: async () => ({ pending: 0, running: 1, completed: 4, failed: 3, failed_this_session: 1, cancelled: 0, interrupted: 1, leases: 0, journal: 0 }),
    retryTask: async () => {
      throw new Error("not used");
    },
    cancelTask: async () => false,
    dismissFinishedTasks: async () => 0,
    eventsSince: async () => ({ events: [], complete: true }),
    diffVersions: async () => {
      throw new Error("not used");
    },
    diffPage: async () => {
      throw new Error("not used");
    },
    checkDisk: async () => [],
    resolveDiskChange: async () => {
      throw new Error("not used");
    },
    onEngineEvents: async (cb) => {
      listeners.push(cb);
      return () => undefined;
    },
    watchWorkspace: async () => () => undefined,
    pickImportFile: async () => null,
    previewImport: async () => {
      throw new Error("not used");
    },
    importFile: async () => {
      throw new Error("not used");
    },
    cancelJob: async () => false,
    listTables: async () => [...tables],
    saveQueryAsTable: async (_id, _sql, table) => {
      if (table !== "answers") throw new QuireError("invalid_table_name", `${table} cannot name a table`);
      return { name: table, version: 1, rows: 1, columns: [], memory_bytes: 8, linked: null, converted: false, origin: null, missing: null };
    },
    deleteTable: async () => {},
    renameTable: async (_id, _table, to) => ({ name: to, version: 1, rows: 1, columns: [], memory_bytes: 8, linked: null, converted: false, origin: null, missing: null }),
    pickExportPath: async () => null,
    exportTable: async () => 0,
    exportQuery: async () => 0,
    queueStats: async () => ({
      waiting: [0, 0, 1, 0],
      running: [1, 0, 0, 0],
      started: [5, 1, 0, 0],
      total_wait_ms: [1, 0, 0, 0],
      max_wait_ms: [0.5, 0, 0, 0],
      cancelled: 2,
      dropped_stale: 0,
      run_ms_by_kind: [],
    }),
    onFilesDropped: async () => () => undefined,
    onOpenRequested: async () => () => undefined,
    recentFiles: async () => [],
  });
  return {
    backend,
    notebooks,
    tables,
    flushes: () => flushes,
    runs,
    mostAtOnce: () => mostAtOnce,
    emit,
    closeChoices,
    requestClose: (r: CloseRequested) => closeListeners.forEach((l) => l(r)),
  };
}

/** The app over a fake engine, as main.tsx shows it over the real one. */
function renderApp(backend: Backend) {
  return render(
    <BackendProvider backend={backend}>
      <App />
    </BackendProvider>,
  );
}

afterEach(() => {
  cleanup();
  localStorage.clear();
});

const summary = (id: string, title: string): NotebookSummary => ({
  id,
  title,
  cell_count: 0,
  on_disk: true,
  folder: null,
  status: { state: "saved" },
});

async function createNotebook(title: string) {
  fireEvent.change(screen.getByTestId("new-notebook-title"), { target: { value: title } });
  fireEvent.click(screen.getByTestId("create-notebook"));
}

describe("App", () => {
  it("shows the empty state, then a created notebook", async () => {
    renderApp(fakeBackend().backend);
    expect(await screen.findByText("Start with your data")).toBeTruthy();
    await createNotebook("Trips");
    expect((await screen.findByTestId("notebook-title")).textContent).toBe("Trips");
    expect(screen.getByTestId("notebook-list").textContent).toContain("Trips");
    // The status bar speaks of what is running; the I/O figures are behind Details.
    await waitFor(() => expect(screen.getByTestId("metrics").dataset.summary).toContain("2.0 KB"));
    expect(screen.getByTestId("metrics").textContent).toBe("Details");
    expect(screen.queryByTestId("queue")).toBeNull();
  });

  it("opens the shortcut sheet with ? outside a text field, not while typing one", async () => {
    renderApp(fakeBackend().backend);
    const input = await screen.findByTestId("new-notebook-title");
    fireEvent.keyDown(input, { key: "?" });
    expect(screen.queryByTestId("shortcuts")).toBeNull();
    fireEvent.keyDown(document.body, { key: "?" });
    const sheet = await screen.findByTestId("shortcuts");
    expect(sheet.textContent).toContain("Run the cell");
    expect(sheet.textContent).toContain("Set the focused cell to NULL");
    fireEvent.keyDown(document.body, { key: "Escape" });
    await waitFor(() => expect(screen.queryByTestId("shortcuts")).toBeNull());
    fireEvent.click(screen.getByTestId("open-shortcuts"));
    expect(await screen.findByTestId("shortcuts")).toBeTruthy();
  });

  it("counts tasks in the status bar and opens the task list from there", async () => {
    renderApp(fakeBackend().backend);
    const counts = await screen.findByTestId("task-counts");
    await waitFor(() => expect(counts.textContent).toBe("1 task running · 1 failed · 1 interrupted"));
    fireEvent.click(counts);
    expect(await screen.findByTestId("tasks-dialog")).toBeTruthy();
    expect(await screen.findByText("No tasks.")).toBeTruthy();
  });

  it("shows a refused title as a toast in plain words and keeps the input", async () => {
    renderApp(fakeBackend().backend);
    const input = screen.getByTestId("new-notebook-title") as HTMLInputElement;
    fireEvent.change(input, { target: { value: "a/b" } });
    fireEvent.click(screen.getByTestId("create-notebook"));
    const toast = await screen.findByTestId("toast");
    expect(toast.textContent).toContain("That title cannot be used");
    expect(input.value).toBe("a/b");
    expect(screen.getByTestId("notebook-list").children).toHaveLength(0);
    expect(screen.getAllByTestId("toast")).toHaveLength(1);
  });

  it("edits cells, shows Unsaved, and Flush (or Ctrl+S) makes it Saved", async () => {
    const fake = fakeBackend();
    renderApp(fake.backend);
    await createNotebook("Work");
    await screen.findByTestId("notebook-title");
    fireEvent.click(screen.getByTestId("add-markdown-cell"));
    const source = (await screen.findByTestId("cell-source")) as HTMLTextAreaElement;
    fireEvent.change(source, { target: { value: "# Findings" } });
    await waitFor(() => expect(fake.notebooks[0]!.cells[0]!.source).toBe("# Findings"));
    await waitFor(() => expect(screen.getByTestId("save-status").textContent).toBe("Unsaved changes"));
    const flush = screen.getByTestId("flush") as HTMLButtonElement;
    expect(flush.disabled).toBe(false);
    fireEvent.click(flush);
    await waitFor(() => expect(screen.getByTestId("save-status").textContent).toBe("All changes saved"));
    expect((await screen.findByTestId("info-toast")).textContent).toContain("Saved 1 notebook");
    expect((screen.getByTestId("flush") as HTMLButtonElement).disabled).toBe(true);
    act(() => {
      fireEvent.keyDown(window, { key: "s", ctrlKey: true });
    });
    await waitFor(() => expect(fake.flushes()).toBe(2));
  });

  it("runs a SQL cell and shows its rows", async () => {
    renderApp(fakeBackend().backend);
    await createNotebook("Run");
    await screen.findByTestId("notebook-title");
    fireEvent.click(screen.getByTestId("add-sql-cell"));
    fireEvent.click(await screen.findByTestId("run-cell"));
    expect((await screen.findByTestId("result-meta")).textContent).toContain("1 row");
    expect(screen.getByTestId("cell-output").textContent).toContain("42");
    fireEvent.click(screen.getByTestId("keep-result"));
    fireEvent.change(screen.getByTestId("keep-result-name"), { target: { value: "Bad Name" } });
    fireEvent.click(screen.getByTestId("keep-result-save"));
    expect((await screen.findByTestId("toast")).textContent).toContain("That table name cannot be used");
    fireEvent.change(screen.getByTestId("keep-result-name"), { target: { value: "answers" } });
    fireEvent.click(screen.getByTestId("keep-result-save"));
    expect((await screen.findByTestId("info-toast")).textContent).toContain("Kept 1 rows as answers");
  });

  it("lists the tables the engine reports (an import recovered in the background too), and a kept result", async () => {
    const fake = fakeBackend();
    renderApp(fake.backend);
    await createNotebook("Tables");
    await screen.findByTestId("tables");
    const info = (name: string) => ({ name, version: 1, rows: 2, columns: [], memory_bytes: 8, linked: null, converted: false, origin: null, missing: null });
    fake.tables.push(info("recovered"));
    act(() => fake.emit({ kind: "table_added", notebook: "id-0", table: info("recovered") }));
    expect(await screen.findByRole("button", { name: "recovered" })).toBeTruthy();
    fake.tables.splice(0);
    act(() => fake.emit({ kind: "table_removed", notebook: "id-0", table: "recovered" }));
    await waitFor(() => expect(screen.queryByRole("button", { name: "recovered" })).toBeNull());

    fireEvent.click(screen.getByTestId("add-sql-cell"));
    fireEvent.click(await screen.findByTestId("run-cell"));
    await screen.findByTestId("result-meta");
    fireEvent.click(screen.getByTestId("keep-result"));
    fireEvent.change(screen.getByTestId("keep-result-name"), { target: { value: "answers" } });
    fireEvent.click(screen.getByTestId("keep-result-save"));
    expect(await screen.findByRole("button", { name: "answers" })).toBeTruthy();
  });

  it("Run all runs the SQL cells in order, one at a time, and stops at the first failure", async () => {
    const fake = fakeBackend();
    fake.notebooks.push({
      summary: summary("nb", "Analysis"),
      cells: [
        { id: "a", kind: "sql", source: "SELECT 1" },
        { id: "notes", kind: "markdown", source: "# Notes" },
        { id: "blank", kind: "sql", source: "  " },
        { id: "b", kind: "sql", source: "SELECT 2" },
        { id: "c", kind: "sql", source: "SELECT * FROM boom" },
        { id: "d", kind: "sql", source: "SELECT 4" },
      ],
    });
    renderApp(fake.backend);
    fireEvent.click(await screen.findByText("Analysis"));
    const runAll = (await screen.findByTestId("run-all")) as HTMLButtonElement;
    expect(runAll.disabled).toBe(false);
    fireEvent.click(runAll);
    await waitFor(() => expect(runAll.disabled).toBe(true));
    expect(runAll.textContent).toBe("Running all…");
    const status = await screen.findByTestId("run-all-status");
    expect(status.textContent).toContain("Run all stopped at cell 5 after running 2 SQL cells: The query has a problem");
    expect(status.textContent).toContain("Table 'boom' not found");
    expect(status.getAttribute("data-failed-cell")).toBe("c");
    // Each cell ran after the one before had finished; the empty one and the one after the failure did not run.
    expect(fake.runs).toEqual(["SELECT 1", "SELECT 2", "SELECT * FROM boom"]);
    expect(fake.mostAtOnce()).toBe(1);
    expect(runAll.disabled).toBe(false);
    expect(screen.getAllByTestId("cell-output")).toHaveLength(3);

    // Fixed, the whole notebook runs.
    fake.notebooks[0]!.cells[4]!.source = "SELECT 3";
    fireEvent.click(runAll);
    await waitFor(() => expect(screen.getByTestId("run-all-status").textContent).toContain("Ran 4 SQL cells"));
    expect(fake.runs.slice(3)).toEqual(["SELECT 1", "SELECT 2", "SELECT 3", "SELECT 4"]);
    expect(fake.mostAtOnce()).toBe(1);
  });

  it("a relaunch shows each SQL cell's last result, marked as from the last session, until it runs again", async () => {
    const cells = (): Cell[] => [
      { id: "a", kind: "sql", source: "SELECT 1" },
      { id: "b", kind: "sql", source: "SELECT 2" },
      { id: "c", kind: "sql", source: "SELECT 3" },
      { id: "d", kind: "sql", source: "SELECT 4" },
    ];
    const first = fakeBackend();
    first.notebooks.push({ summary: summary("nb", "Analysis"), cells: cells() });
    renderApp(first.backend);
    fireEvent.click(await screen.findByText("Analysis"));
    fireEvent.click(await screen.findByTestId("run-all"));
    await waitFor(() => expect(screen.getByTestId("run-all-status").textContent).toContain("Ran 4 SQL cells"));
    expect(screen.queryByTestId("result-stale")).toBeNull();
    expect(localStorage.getItem("quire.result.nb/a")).toContain('"SELECT 1"');
    // Cell c now fails: its earlier result is forgotten. Cell d is deleted.
    first.notebooks[0]!.cells[2]!.source = "SELECT * FROM boom";
    fireEvent.click(screen.getAllByTestId("run-cell")[2]!);
    await waitFor(() => expect(localStorage.getItem("quire.result.nb/c")).toBeNull());
    fireEvent.click(screen.getAllByLabelText("Delete cell")[3]!);
    await waitFor(() => expect(localStorage.getItem("quire.result.nb/d")).toBeNull());
    cleanup();
    await new Promise((r) => setTimeout(r, 5));

    // The next launch: a and b as they were; b's SQL was changed since (in the file), so its
    // old result is not shown; c failed last; d is gone.
    const again = fakeBackend();
    const changed = cells();
    changed[1]!.source = "SELECT 2 + 0";
    again.notebooks.push({ summary: summary("nb", "Analysis"), cells: changed });
    renderApp(again.backend);
    await waitFor(() => expect(screen.getByTestId("notebook-title").textContent).toBe("Analysis"));
    const cellOf = (id: string) => screen.getAllByTestId("cell").find((c) => c.getAttribute("data-cell-id") === id)!;
    const stale = await screen.findByTestId("result-stale");
    expect(stale.textContent).toMatch(/^From your last session \(.+\)/);
    expect(cellOf("a").textContent).toContain("42");
    expect(cellOf("a").querySelector('[data-testid="result-stale"]')).toBe(stale);
    expect(cellOf("b").querySelector('[data-testid="cell-output"]')).toBeNull();
    expect(cellOf("c").querySelector('[data-testid="cell-output"]')).toBeNull();
    expect(screen.getAllByTestId("result-stale")).toHaveLength(1);
    expect(again.runs).toEqual([]);

    // Run again, the result is current: no mark.
    fireEvent.click(cellOf("a").querySelector('[data-testid="run-cell"]')!);
    await waitFor(() => expect(again.runs).toEqual(["SELECT 1"]));
    await waitFor(() => expect(cellOf("a").querySelector('[data-testid="result-meta"]')).not.toBeNull());
    expect(screen.queryByTestId("result-stale")).toBeNull();
  });

  it("reopens the notebook that was open last, if it still exists", async () => {
    const first = fakeBackend();
    first.notebooks.push({ summary: summary("a", "Alpha"), cells: [] }, { summary: summary("b", "Beta"), cells: [] });
    renderApp(first.backend);
    expect(await screen.findByText("Pick a notebook, or start from a file")).toBeTruthy();
    fireEvent.click(await screen.findByText("Beta"));
    await waitFor(() => expect(screen.getByTestId("notebook-title").textContent).toBe("Beta"));
    // Written by an effect, which may run just after the title shows.
    await waitFor(() => expect(localStorage.getItem("quire.lastNotebook")).toBe("b"));
    cleanup();

    // The next launch shows Beta again without a click.
    const again = fakeBackend();
    again.notebooks.push({ summary: summary("a", "Alpha"), cells: [] }, { summary: summary("b", "Beta"), cells: [] });
    renderApp(again.backend);
    await waitFor(() => expect(screen.getByTestId("notebook-title").textContent).toBe("Beta"));
    cleanup();

    // Beta deleted meanwhile: nothing opens, as before.
    const gone = fakeBackend();
    gone.notebooks.push({ summary: summary("a", "Alpha"), cells: [] });
    renderApp(gone.backend);
    expect(await screen.findByText("Alpha")).toBeTruthy();
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByTestId("notebook-title")).toBeNull();
    expect(screen.getByText("Pick a notebook, or start from a file")).toBeTruthy();
  });

  it("a notebook named at launch wins over the one open last", async () => {
    localStorage.setItem("quire.lastNotebook", "b");
    const fake = fakeBackend();
    fake.notebooks.push({ summary: summary("a", "Alpha"), cells: [] }, { summary: summary("b", "Beta"), cells: [] });
    const appInfo = fake.backend.appInfo;
    fake.backend.appInfo = async () => ({ ...(await appInfo()), launch: { notebook: "a", files: [], problems: [] } });
    renderApp(fake.backend);
    await waitFor(() => expect(screen.getByTestId("notebook-title").textContent).toBe("Alpha"));
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.getByTestId("notebook-title").textContent).toBe("Alpha");
  });

  it("opens a data file from the first screen in a notebook named after it", async () => {
    const fake = fakeBackend();
    fake.backend.pickImportFile = async () => "/data/trips-2024.csv.gz";
    fake.backend.previewImport = () => new Promise(() => {});
    fake.notebooks.push({ summary: summary("a", "trips-2024"), cells: [] });
    renderApp(fake.backend);
    fireEvent.click(await screen.findByTestId("open-data-file"));
    // "trips-2024" is taken: the next free title.
    await waitFor(() => expect(screen.getByTestId("notebook-title").textContent).toBe("trips-2024 2"));
  });

  it("asks before deleting and removes the notebook", async () => {
    renderApp(fakeBackend().backend);
    await createNotebook("Doomed");
    fireEvent.click(await screen.findByTestId("delete-notebook"));
    expect((await screen.findByTestId("confirm")).textContent).toContain("Delete “Doomed”?");
    fireEvent.click(screen.getByTestId("confirm-yes"));
    expect(await screen.findByText("Start with your data")).toBeTruthy();
  });
});

describe("serialQueue", () => {
  it("runs calls for one key in order even when earlier ones are slower", async () => {
    const serial = serialQueue();
    const done: number[] = [];
    const slow = (n: number, ms: number) => () => new Promise<void>((r) => setTimeout(() => (done.push(n), r()), ms));
    await Promise.all([serial("a", slow(1, 30)), serial("a", slow(2, 1)), serial("a", slow(3, 10))]);
    expect(done).toEqual([1, 2, 3]);
  });

  it("keeps going after a failed call", async () => {
    const serial = serialQueue();
    const failing = serial("a", async () => {
      throw new Error("boom");
    });
    await expect(failing).rejects.toThrow("boom");
    await expect(serial("a", async () => 7)).resolves.toBe(7);
  });

  it("a held close shows what is pending; Cancel keeps the window, Wait answers wait", async () => {
    const fake = fakeBackend();
    renderApp(fake.backend);
    await createNotebook("Pending");
    await screen.findByTestId("notebook-title");
    const nb = fake.notebooks[0]!.summary;
    const request: CloseRequested = {
      reason: "window",
      pending: {
        notebooks: [{ ...nb, status: { state: "unsaved" } }],
        tables: [
          {
            notebook: nb.id,
            table: "trips",
            status: { state: "saving" },
            version: 2,
            saved_version: 1,
            generation: 1,
            rows_written: 50,
            total_rows: 200,
            bytes_written: 0,
          },
        ],
        tasks: [],
      },
    };
    act(() => fake.requestClose(request));
    const pending = await screen.findByTestId("close-pending");
    expect(pending.textContent).toContain("Notebook “Pending”: unsaved edits");
    expect(pending.textContent).toContain("Table trips: saving");
    expect(screen.getByTestId("close-consequence").textContent).toContain("trips");
    fireEvent.click(screen.getByTestId("close-cancel"));
    await waitFor(() => expect(screen.queryByTestId("close-dialog")).toBeNull());
    expect(fake.closeChoices).toEqual(["cancel"]);

    act(() => fake.requestClose(request));
    fireEvent.click(await screen.findByTestId("close-wait"));
    await waitFor(() => expect(fake.closeChoices).toEqual(["cancel", "wait"]));
    expect(screen.getByTestId("close-dialog").textContent).toContain("Saving, then closing");
  });

  it("metrics events drive the status bar and the last snapshot; the panel opens from it", async () => {
    const fake = fakeBackend();
    renderApp(fake.backend);
    await waitFor(() => expect(screen.getByTestId("metrics").dataset.summary).toContain("3 writes"));
    act(() =>
      fake.emit({
        kind: "metrics",
        disk_writes: 9,
        bytes_written: 4096,
        fsyncs: 9,
        coalesced_pct: 80,
        events_in: 100,
        messages_out: 4,
        tasks_changed: 0,
        minute_writes: 6,
        minute_bytes: 3072,
        queue_waiting: [0, 0, 0, 0],
      }),
    );
    expect(screen.getByTestId("metrics").dataset.summary).toBe("9 writes (6 this min) · 4.0 KB · 9 fsyncs · 80% coalesced · 100 events → 4 msgs");
    act(() =>
      fake.emit({
        kind: "table_save_status",
        notebook: "nb",
        table: "trips",
        status: { state: "saved" },
        version: 3,
        saved_version: 3,
        generation: 2,
        rows_written: 0,
        total_rows: 0,
        bytes_written: 0,
      }),
    );
    expect(screen.getByTestId("last-saved").textContent).toBe("last saved: trips version 3");
    fireEvent.click(screen.getByTestId("metrics"));
    expect((await screen.findByTestId("metrics-hour-writes")).textContent).toBe("3");
  });
});

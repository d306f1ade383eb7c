import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { QuireError } from "./backend";
import type { CellId, CellKind, ColumnInfo, DiskChoice, NotebookId, NotebookMode, NotebookView, OpenRequested } from "./bindings";
import { describeError, formatBytes, type ErrorText } from "./errors";
import { cleanEngineMessage } from "./engineMessage";
import { summaryOf, type Output } from "./store";
import { StoreProvider, useBackend, useNotify, useStore } from "./context";
import { useSubscription } from "./useSubscription";
import { forgetNotebookResults, forgetResult, loadResult, saveResult } from "./resultCache";
import { pendingCount } from "./status";
import { sourceOf, suggest } from "./charts/builder";
import { Sidebar } from "./components/Sidebar";
import { ConnectionsPanel } from "./components/ConnectionsPanel";
import { Toolbar } from "./components/Toolbar";
import { StatusBar } from "./components/StatusBar";
import { NotebookPane, type RunAllResult } from "./components/NotebookPane";
import { FirstScreen, titleFromFile } from "./components/FirstScreen";
import { Toasts } from "./components/Toasts";
import { ShortcutsDialog, asksForShortcuts } from "./components/ShortcutsDialog";
import { TasksDialog } from "./components/TasksDialog";
import { SettingsDialog } from "./components/SettingsDialog";
import { ConfirmDialog } from "./components/ConfirmDialog";
import { MetricsDialog } from "./components/MetricsDialog";
import { CloseDialog } from "./components/CloseDialog";

/** No watcher (unsupported filesystem): changes are still caught before each write. */
const noWatcher = () => undefined;

/** Where the last applied event sequence number survives a reload of the page. */
const LAST_SEQ_KEY = "quire.lastSeq";
/** The notebook open last, reopened at the next launch (if it still exists). */
export const LAST_NOTEBOOK_KEY = "quire.lastNotebook";

function readLastNotebook(): string | null {
  try {
    return localStorage.getItem(LAST_NOTEBOOK_KEY);
  } catch {
    return null;
  }
}

/** The results kept from earlier runs for a notebook's SQL cells, each only if the cell still
 *  holds the SQL it answered. `sessionStart`: when this launch began (older ones are from the
 *  last session). */
export function restoredOutputs(view: NotebookView, sessionStart: number): Record<CellId, Output> {
  const out: Record<CellId, Output> = {};
  for (const cell of view.cells) {
    if (cell.kind !== "sql") continue;
    const kept = loadResult(view.summary.id, cell.id, cell.source);
    if (kept)
      out[cell.id] = {
        ok: { kind: "table", preview: kept.preview },
        stale: { sql: kept.sql, saved_ms: kept.saved_ms, last_session: kept.saved_ms < sessionStart },
      };
  }
  return out;
}

/** The app; the engine comes from a BackendProvider around it. */
export function App() {
  return (
    <StoreProvider>
      <Shell />
    </StoreProvider>
  );
}

function Shell() {
  const backend = useBackend();
  const { state, dispatch } = useStore();
  const { report, inform } = useNotify();
  // When this launch began: a kept result older than this is "from your last session".
  const [sessionStart] = useState(() => Date.now());
  const showView = useCallback(
    (view: NotebookView | null) =>
      dispatch({ type: "view", view, restored: view ? restoredOutputs(view, sessionStart) : undefined }),
    [sessionStart, dispatch],
  );
  const openId = useRef<NotebookId | null>(null);
  openId.current = state.view?.summary.id ?? null;
  // Bumped by every request to show a notebook, so reopening the last notebook at launch
  // never replaces one the user (or a launch request) picked meanwhile.
  const viewRequests = useRef(0);

  const refreshView = useCallback(
    async (id: NotebookId) => {
      viewRequests.current++;
      try {
        showView(await backend.getNotebook(id));
      } catch (e) {
        report(e);
      }
    },
    [backend, report, showView],
  );

  // Set below, once the notebook actions exist; a launch request can arrive before.
  const openFileRef = useRef<(path: string) => Promise<void>>(async () => {});
  // `quire Sales.quire` or `quire trips.csv`, at start or by launching Quire again: show the
  // notebook; a data file waits for a notebook's import dialog.
  const openRequested = useCallback(
    (request: OpenRequested) => {
      for (const problem of request.problems)
        dispatch({ type: "toast", level: "error", text: { headline: "Quire could not open this", detail: problem } });
      if (request.notebook) void refreshView(request.notebook);
      const file = request.files[0];
      if (file) {
        // With no notebook to import into, the file gets one of its own.
        if (!request.notebook && !openId.current) void openFileRef.current(file);
        else dispatch({ type: "pending_import", path: file });
      }
    },
    [refreshView, dispatch],
  );

  useSubscription(
    useCallback(() => backend.onOpenRequested(openRequested), [backend, openRequested]),
    report,
  );

  const engineEvents = useCallback(async (live: () => boolean) => {
    const stop = await backend.onEngineEvents((batch) => {
      dispatch({ type: "engine_events", batch });
      // A notebook reloaded from disk has new cells: fetch them if it is the open one.
      const open = openId.current;
      if (open && batch.some((e) => e.event.kind === "notebook_changed" && e.event.notebook.id === open)) {
        void refreshView(open);
      }
    });
    if (!live()) return stop;
    // After a reload the page starts empty: ask the engine for what this window had not seen
    // yet (save states, progress, tables) since the last sequence number it applied; when the
    // engine no longer has them all, the table lists are loaded again.
    const seen = Number(sessionStorage.getItem(LAST_SEQ_KEY) ?? "0");
    backend
      .eventsSince(seen)
      .then((c) => {
        if (c.events.length > 0 || !c.complete) dispatch({ type: "catch_up", events: c.events, complete: c.complete });
      })
      .catch(report);
    return stop;
  }, [backend, dispatch, refreshView, report]);
  useSubscription(engineEvents, report);

  useEffect(() => {
    let cancelled = false;
    const info = backend.appInfo();
    info
      .then((info) => {
        dispatch({ type: "info", info });
        for (const w of info.startup_warnings) report(w);
        if (info.launch) openRequested(info.launch);
        if (info.recovery) inform(info.recovery, "Open the task list in the status bar to see what ran again.");
        if (info.task_store_replaced)
          dispatch({
            type: "toast",
            level: "error",
            text: {
              headline: "Quire's task list was damaged and was replaced",
              detail: `Your notebooks and tables are untouched. The old file is kept at ${info.task_store_replaced}.`,
            },
          });
      })
      .catch(report);
    backend
      .listNotebooks()
      .then(async (notebooks) => {
        dispatch({ type: "notebooks", notebooks });
        // Reopen the notebook open last time, unless a launch request names one to show or
        // something is open already; a notebook deleted since then is simply not reopened.
        const last = readLastNotebook();
        if (!last || !notebooks.some((n) => n.id === last)) return;
        const requests = viewRequests.current;
        const launch = await info.then((i) => i.launch, () => null);
        if (cancelled || launch?.notebook || openId.current || viewRequests.current !== requests) return;
        const view = await backend.getNotebook(last);
        if (!cancelled && !openId.current && viewRequests.current === requests) showView(view);
      })
      .catch(report);
    return () => {
      cancelled = true;
    };
  }, [backend, report, inform, openRequested, showView, dispatch]);

  const shownId = state.view?.summary.id;
  useEffect(() => {
    if (!shownId) return;
    try {
      localStorage.setItem(LAST_NOTEBOOK_KEY, shownId);
    } catch {
      /* storage unavailable: the next launch starts with no notebook open */
    }
  }, [shownId]);

  useEffect(() => {
    if (state.lastSeq > 0) sessionStorage.setItem(LAST_SEQ_KEY, String(state.lastSeq));
  }, [state.lastSeq]);

  const workspace = state.info?.engine.workspace;
  useSubscription(
    useMemo(
      () => (workspace ? () => backend.watchWorkspace(workspace, () => void backend.checkDisk().catch(report)) : null),
      [backend, workspace, report],
    ),
    noWatcher,
  );

  // The status bar's figures come with the engine's metrics events (at most one a second, none
  // while idle); each one also refreshes the queue and task counts. No timer polls.
  useEffect(() => {
    Promise.all([backend.metrics(), backend.queueStats().catch(() => null), backend.taskStats().catch(() => null)])
      .then(([report, queue, tasks]) => dispatch({ type: "metrics", metrics: summaryOf(report), queue, tasks }))
      .catch(() => {
        /* the readout waits for the first metrics event instead */
      });
  }, [backend]);
  const tasksChanged = state.metrics?.tasks_changed;
  const queueNow = state.metrics?.queue_waiting.join(",");
  useEffect(() => {
    if (tasksChanged === undefined) return;
    Promise.all([backend.queueStats().catch(() => null), backend.taskStats().catch(() => null)])
      .then(([queue, tasks]) => dispatch({ type: "metrics", metrics: null, queue, tasks }))
      .catch(() => undefined);
    // Only when tasks or the queue changed, not on every metrics event.
  }, [backend, tasksChanged, queueNow]);

  useSubscription(
    useCallback(() => backend.onCloseRequested((request) => dispatch({ type: "close_request", request })), [backend, dispatch]),
    report,
  );

  const flushAll = useCallback(async () => {
    dispatch({ type: "flushing", on: true });
    try {
      const { notebooks, tables } = await backend.flushAll();
      for (const f of notebooks.failures) {
        dispatch({ type: "toast", level: "error", text: { headline: `“${f.title}” was not saved`, detail: f.message } });
      }
      for (const [table, message] of tables.failed) {
        dispatch({ type: "toast", level: "error", text: { headline: `Table ${table} was not saved`, detail: message } });
      }
      if (notebooks.failures.length === 0 && tables.failed.length === 0) {
        const parts = [
          notebooks.saved > 0 ? `${notebooks.saved} notebook${notebooks.saved === 1 ? "" : "s"}` : "",
          tables.saved > 0 ? `${tables.saved} table${tables.saved === 1 ? "" : "s"}` : "",
        ].filter(Boolean);
        inform(parts.length === 0 ? "Nothing to save" : `Saved ${parts.join(" and ")}`);
      }
    } catch (e) {
      report(e);
    } finally {
      dispatch({ type: "flushing", on: false });
    }
  }, [backend, inform, report]);

  const [shortcutsOpen, setShortcutsOpen] = useState(false);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && !e.shiftKey && e.key.toLowerCase() === "s") {
        e.preventDefault();
        void flushAll();
      } else if (asksForShortcuts(e)) {
        e.preventDefault();
        setShortcutsOpen(true);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [flushAll]);

  const createNotebook = useCallback(
    async (title: string): Promise<boolean> => {
      try {
        const nb = await backend.createNotebook(title);
        dispatch({ type: "notebooks", notebooks: await backend.listNotebooks() });
        await refreshView(nb.id);
        return true;
      } catch (e) {
        report(e);
        return false;
      }
    },
    [backend, report, refreshView],
  );

  /** A data file opened with no notebook open: a new notebook named after it (a free title),
   *  shown with the import dialog for the file. */
  const openDataFile = useCallback(
    async (path: string) => {
      const base = titleFromFile(path);
      try {
        for (let n = 1; ; n++) {
          try {
            const nb = await backend.createNotebook(n === 1 ? base : `${base} ${n}`);
            dispatch({ type: "notebooks", notebooks: await backend.listNotebooks() });
            await refreshView(nb.id);
            dispatch({ type: "pending_import", path });
            return;
          } catch (e) {
            if (QuireError.from(e).code !== "notebook_exists" || n >= 50) throw e;
          }
        }
      } catch (e) {
        report(e);
      }
    },
    [backend, dispatch, refreshView, report],
  );
  openFileRef.current = openDataFile;
  const pickDataFile = useCallback(async () => {
    try {
      const path = await backend.pickImportFile();
      if (path) await openDataFile(path);
    } catch (e) {
      report(e);
    }
  }, [backend, openDataFile, report]);
  const openSample = useCallback(async () => {
    try {
      const nb = await backend.createSampleNotebook();
      dispatch({ type: "notebooks", notebooks: await backend.listNotebooks() });
      await refreshView(nb.id);
    } catch (e) {
      report(e);
    }
  }, [backend, dispatch, refreshView, report]);

  /** Runs a change to the open notebook, then shows its new cells. */
  const change = useCallback(
    async (id: NotebookId, op: () => Promise<unknown>) => {
      try {
        await op();
        await refreshView(id);
      } catch (e) {
        report(e);
      }
    },
    [refreshView, report],
  );

  /** Runs one cell, showing its progress and result; resolves to its error, or null when it ran. */
  const runOne = useCallback(
    async (id: NotebookId, cell: CellId): Promise<ErrorText | null> => {
      const job = crypto.randomUUID();
      dispatch({ type: "output", cell, output: { running: true, rows: 0, job } });
      const onRows = (rows: number) => dispatch({ type: "output", cell, output: { running: true, rows, job } });
      try {
        // Edits typed just before the run reach the engine first (they are queued per notebook).
        const sql = (await backend.getNotebook(id)).cells.find((c) => c.id === cell)?.source;
        const ok = await backend.runCell(id, cell, job, onRows);
        dispatch({ type: "output", cell, output: { ok } });
        // Kept for the next launch, with the SQL it answers (a changed cell does not show it).
        if (ok.kind === "table" && sql !== undefined) saveResult(id, cell, sql, ok.preview);
        return null;
      } catch (e) {
        // A failed or cancelled run leaves no earlier result to show at the next launch.
        forgetResult(id, cell);
        const err = QuireError.from(e);
        // The editor marks the line even when only the message's text says where.
        const position = cleanEngineMessage(err.message, err.position).position;
        const error = describeError(err);
        dispatch({ type: "output", cell, output: { error, position } });
        return error;
      }
    },
    [backend],
  );

  const view = state.view;
  const id = view?.summary.id;
  const actions = id
    ? {
        rename: async (title: string) => {
          try {
            await backend.renameNotebook(id, title);
            return true;
          } catch (e) {
            report(e);
            return false;
          }
        },
        addCell: (kind: CellKind) =>
          change(id, () => backend.addCell(id, kind, null, kind === "chart" ? sourceOf(suggest("", [])) : "")),
        updateCell: (cell: CellId, source: string) => void backend.updateCell(id, cell, source).catch(report),
        setKind: (cell: CellId, kind: CellKind) => change(id, () => backend.setCellKind(id, cell, kind)),
        setRunsOn: (cell: CellId, on: string | null) => change(id, () => backend.setCellRunsOn(id, cell, on)),
        deleteCell: (cell: CellId) =>
          change(id, async () => {
            await backend.deleteCell(id, cell);
            forgetResult(id, cell);
          }),
        moveCell: (cell: CellId, to: number) => change(id, () => backend.moveCell(id, cell, to)),
        runCell: async (cell: CellId) => (await runOne(id, cell)) === null,
        runAll: async (): Promise<RunAllResult> => {
          let cells;
          try {
            // The engine's copy, with the edits typed just before (queued per notebook).
            cells = (await backend.getNotebook(id)).cells;
          } catch (e) {
            report(e);
            return { ran: 0, failed: null };
          }
          let ran = 0;
          for (const [index, cell] of cells.entries()) {
            if (cell.kind !== "sql" || cell.source.trim() === "") continue;
            const error = await runOne(id, cell.id);
            if (error) return { ran, failed: { index, cell: cell.id, error } };
            ran++;
          }
          return { ran, failed: null };
        },
        exportResult: async (sql: string, runsOn?: string | null) => {
          try {
            const path = await backend.pickExportPath("result.csv");
            if (!path) return;
            const bytes = await backend.exportQuery(id, sql, path, runsOn ?? null);
            inform("Exported the result", `${formatBytes(bytes)} written to ${path}`);
          } catch (e) {
            report(e);
          }
        },
        chartResult: async (index: number, sql: string, columns: ColumnInfo[]) => {
          try {
            const cell = await backend.addCell(id, "chart", index, sourceOf(suggest(sql, columns), columns));
            await refreshView(id);
            await runOne(id, cell.id);
          } catch (e) {
            report(e);
          }
        },
        profileResult: (sql: string, job: string, runsOn?: string | null) =>
          backend.profileQuery(id, sql, runsOn ?? null, job),
        saveChartImage: async (format: "png" | "svg", bytes: Uint8Array) => {
          try {
            const path = await backend.pickChartImagePath(`chart.${format}`);
            if (!path) return;
            const written = await backend.saveChartImage(path, Array.from(bytes));
            inform("Saved the chart", `${formatBytes(written)} written to ${path}`);
          } catch (e) {
            report(e);
          }
        },
        cancelRun: (job: string) => void backend.cancelJob(job).catch(report),
        resolve: (choice: DiskChoice) => change(id, () => backend.resolveDiskChange(id, choice)),
        duplicate: () =>
          change(id, async () => {
            const copy = await backend.duplicateNotebook(id);
            await refreshView(copy.id);
          }),
        askDelete: () => dispatch({ type: "confirm_delete", id }),
        keepResult: async (sql: string, table: string, runsOn?: string | null) => {
          try {
            const info = await backend.saveQueryAsTable(id, sql, table, runsOn ?? null);
            dispatch({ type: "table_event", event: { kind: "table_added", notebook: id, table: info } });
            inform(`Kept ${info.rows.toLocaleString()} rows as ${info.name}`);
            return true;
          } catch (e) {
            report(e);
            return false;
          }
        },
      }
    : null;

  const confirmDelete = async () => {
    const target = state.confirmDelete;
    dispatch({ type: "confirm_delete", id: null });
    if (!target) return;
    try {
      await backend.deleteNotebook(target);
      forgetNotebookResults(target);
      dispatch({ type: "notebooks", notebooks: await backend.listNotebooks() });
      if (openId.current === target) showView(null);
    } catch (e) {
      report(e);
    }
  };

  const setMode = async (mode: NotebookMode) => {
    try {
      const engine = await backend.setNotebookMode(mode);
      if (state.info) dispatch({ type: "info", info: { ...state.info, engine } });
      inform("Saving mode changed", "It is stored in your settings file.");
    } catch (e) {
      report(e);
    }
  };

  const tableStatuses = Object.values(state.tableStatus);
  const pending =
    pendingCount(state.notebooks) +
    tableStatuses.filter((t) => t.status.state !== "saved").length;
  const deleting = state.notebooks.find((n) => n.id === state.confirmDelete);

  return (
    <div className="app">
      <Toolbar
        pending={pending}
        flushing={state.flushing}
        onFlush={() => void flushAll()}
        onSettings={() => dispatch({ type: "settings", open: true })}
        onShortcuts={() => setShortcutsOpen(true)}
      />
      <div className="main">
        <Sidebar
          notebooks={state.notebooks}
          selected={id ?? null}
          onSelect={(nid) => void refreshView(nid)}
          onCreate={createNotebook}
          tables={id ? (state.tables[id] ?? null) : null}
          onOpenTable={(table) => dispatch({ type: "open_table", table })}
        >
          {view && (
            <ConnectionsPanel
              notebook={view.summary.id}
              connections={view.connections}
              onView={showView}
              onLinked={(table) => {
                dispatch({ type: "table_event", event: { kind: "table_added", notebook: view.summary.id, table } });
                dispatch({ type: "open_table", table: table.name });
                inform(
                  `Linked ${table.name}`,
                  table.converted
                    ? `${table.rows.toLocaleString()} rows, fetched and converted into Parquet in the notebook.`
                    : `${table.rows.toLocaleString()} rows, read where they lie in ${table.linked ?? "the bucket"}.`,
                );
              }}
              onQuery={(sql) => {
                const notebook = view.summary.id;
                void (async () => {
                  try {
                    const cell = await backend.addCell(notebook, "sql", null, sql);
                    await refreshView(notebook);
                    await runOne(notebook, cell.id);
                  } catch (e) {
                    report(e);
                  }
                })();
              }}
            />
          )}
        </Sidebar>
        <NotebookPane
          view={view}
          outputs={state.outputs}
          actions={actions}
          first={
            <FirstScreen
              hasNotebooks={state.notebooks.length > 0}
              onFile={openDataFile}
              onPickFile={pickDataFile}
              onSample={openSample}
              onReport={report}
            />
          }
        />
      </div>
      <Toasts toasts={state.toasts} onDismiss={(tid) => dispatch({ type: "dismiss", id: tid })} />
      <StatusBar
        info={state.info}
        metrics={state.metrics}
        queue={state.queue}
        notebooks={state.notebooks}
        tables={tableStatuses}
        tasks={state.tasks}
        onTasks={() => dispatch({ type: "tasks_panel", open: true })}
        onMetrics={() => dispatch({ type: "metrics_panel", open: true })}
        lastSaved={state.lastSaved}
        flushing={state.flushing}
        onRetry={() => void flushAll()}
      />
      {state.tasksOpen && (
        <TasksDialog
          notebooks={state.notebooks}
          view={view}
          onClose={() => dispatch({ type: "tasks_panel", open: false })}
        />
      )}
      {state.metricsOpen && (
        <MetricsDialog
          tick={state.metricsTick}
          onClose={() => dispatch({ type: "metrics_panel", open: false })}
        />
      )}
      {state.closeRequest && (
        <CloseDialog
          request={state.closeRequest}
          notebooks={state.notebooks}
          tables={tableStatuses}
          onChoice={(choice) => backend.resolveClose(state.closeRequest?.reason ?? "window", choice)}
          onDone={() => dispatch({ type: "close_request", request: null })}
        />
      )}
      {state.settingsOpen && state.info && (
        <SettingsDialog
          info={state.info}
          onMode={(m) => void setMode(m)}
          onClose={() => dispatch({ type: "settings", open: false })}
        />
      )}
      {shortcutsOpen && <ShortcutsDialog onClose={() => setShortcutsOpen(false)} />}
      {deleting && (
        <ConfirmDialog
          title={`Delete “${deleting.title}”?`}
          body={
            deleting.on_disk
              ? "Its folder moves to the .trash folder in your workspace, where you can still recover it."
              : "It was never saved, so nothing on disk changes."
          }
          confirm="Delete"
          onConfirm={() => void confirmDelete()}
          onCancel={() => dispatch({ type: "confirm_delete", id: null })}
        />
      )}
    </div>
  );
}

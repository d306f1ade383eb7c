// The app's state and every way it changes, as one reducer: components dispatch, the engine's
// events dispatch, and tests drive it without a webview.
import type {
  AppInfo,
  CellId,
  CellOutput,
  CloseRequested,
  MetricsReport,
  MetricsSummary,
  NotebookId,
  NotebookSummary,
  NotebookView,
  Position,
  QueueStats,
  TaskStats,
  Sequenced,
  EngineEvent,
  TableInfo,
  TableSaveStatus,
} from "./bindings";
import type { ErrorText } from "./errors";

export interface Toast {
  id: number;
  level: "error" | "info";
  text: ErrorText;
}

/** A result kept from an earlier run (see resultCache), shown until the cell runs again and only
 *  while the cell still holds the SQL it answered. */
export interface StaleResult {
  sql: string;
  saved_ms: number;
  /** Kept before this launch of the app (not just before this notebook was opened again). */
  last_session: boolean;
}

export type Output =
  | { ok: CellOutput; stale?: StaleResult }
  | { error: ErrorText; position: Position | null }
  | { running: true; rows: number; job: string };

export interface State {
  info: AppInfo | null;
  notebooks: NotebookSummary[];
  /** The notebook shown in the notebook area, with its cells. */
  view: NotebookView | null;
  outputs: Record<CellId, Output>;
  /** Save state of each table, by `notebook/table`. */
  tableStatus: Record<string, TableSaveStatus>;
  /** The tables of each notebook whose list was loaded (`list_tables`), by name, kept current by
   *  the table events; a notebook missing here is not loaded (yet, or again after an incomplete
   *  catch-up). */
  tables: Record<NotebookId, TableInfo[]>;
  /** Notebooks whose list is being loaded, with the table events heard meanwhile: they are
   *  applied over the list when it lands, as it may have been read before them. */
  tablesLoading: Record<NotebookId, TableEvent[]>;
  /** The status bar's figures: from metrics events, which ride along with batches. */
  metrics: MetricsSummary | null;
  /** Bumped by each metrics event, so an open metrics panel fetches the windows again. */
  metricsTick: number;
  metricsOpen: boolean;
  /** A close or quit held because work is pending: the close prompt shows while set. */
  closeRequest: CloseRequested | null;
  /** The newest snapshot the engine reported committed (from events only, so a reloaded page
   *  knows it through the catch-up): the table, the version its saved copy holds, and the
   *  generation (only to order them). */
  lastSaved: { table: string; version: number; generation: number } | null;
  queue: QueueStats | null;
  tasks: TaskStats | null;
  tasksOpen: boolean;
  toasts: Toast[];
  /** A data file Quire was asked to open, waiting for a notebook's import dialog. */
  pendingImport: string | null;
  /** A table to show in the grid as soon as the open notebook's list has it (a kept result, a
   *  click in the sidebar). */
  openTable: string | null;
  flushing: boolean;
  settingsOpen: boolean;
  confirmDelete: NotebookId | null;
  lastSeq: number;
}

export const initialState: State = {
  info: null,
  notebooks: [],
  view: null,
  outputs: {},
  tableStatus: {},
  tables: {},
  tablesLoading: {},
  metrics: null,
  metricsTick: 0,
  metricsOpen: false,
  closeRequest: null,
  lastSaved: null,
  queue: null,
  tasks: null,
  tasksOpen: false,
  toasts: [],
  pendingImport: null,
  openTable: null,
  flushing: false,
  settingsOpen: false,
  confirmDelete: null,
  lastSeq: 0,
};

export type Action =
  | { type: "info"; info: AppInfo }
  | { type: "notebooks"; notebooks: NotebookSummary[] }
  /** `restored`: kept results for the cells of a notebook being opened (not read by the reducer
   *  itself, so it stays pure). */
  | { type: "view"; view: NotebookView | null; restored?: Record<CellId, Output> }
  | { type: "output"; cell: CellId; output: Output }
  | { type: "metrics"; metrics: MetricsSummary | null; queue: QueueStats | null; tasks?: TaskStats | null }
  | { type: "metrics_panel"; open: boolean }
  | { type: "close_request"; request: CloseRequested | null }
  | { type: "tasks_panel"; open: boolean }
  | { type: "engine_events"; batch: Sequenced[] }
  /** The events a reloaded page missed (`events_since`); incomplete means some were lost, so
   *  every table list is loaded again. */
  | { type: "catch_up"; events: Sequenced[]; complete: boolean }
  /** A notebook's table list is being fetched; `tables` lands it. */
  | { type: "tables_loading"; notebook: NotebookId }
  | { type: "tables"; notebook: NotebookId; list: TableInfo[] }
  /** What a table command answered (an edit, an undo, a rename), applied at once the way its
   *  event will be (the event, when it comes, changes nothing more). */
  | { type: "table_event"; event: TableEvent }
  | { type: "table_statuses"; list: TableSaveStatus[] }
  | { type: "toast"; level: Toast["level"]; text: ErrorText }
  | { type: "pending_import"; path: string | null }
  | { type: "open_table"; table: string | null }
  | { type: "dismiss"; id: number }
  | { type: "flushing"; on: boolean }
  | { type: "settings"; open: boolean }
  | { type: "confirm_delete"; id: NotebookId | null };

let nextToastId = 1;

export function reduce(state: State, action: Action): State {
  switch (action.type) {
    case "info":
      return { ...state, info: action.info };
    case "notebooks":
      return { ...state, notebooks: action.notebooks };
    case "view":
      return {
        ...state,
        view: action.view,
        outputs: action.view?.summary.id === state.view?.summary.id ? state.outputs : { ...action.restored },
      };
    case "output":
      return { ...state, outputs: { ...state.outputs, [action.cell]: action.output } };
    case "metrics":
      return { ...state, metrics: action.metrics ?? state.metrics, queue: action.queue, tasks: action.tasks ?? state.tasks };
    case "metrics_panel":
      return { ...state, metricsOpen: action.open };
    case "close_request":
      return { ...state, closeRequest: action.request };
    case "tasks_panel":
      return { ...state, tasksOpen: action.open };
    case "toast":
      return {
        ...state,
        toasts: capToasts([
          // The same message again (a query re-run that fails the same way) replaces the old
          // toast, so its clock starts over instead of the stack filling with copies.
          ...state.toasts.filter((t) => t.text.headline !== action.text.headline || t.text.detail !== action.text.detail),
          { id: nextToastId++, level: action.level, text: action.text },
        ]),
      };
    case "pending_import":
      return { ...state, pendingImport: action.path };
    case "open_table":
      return { ...state, openTable: action.table };
    case "dismiss":
      return { ...state, toasts: state.toasts.filter((t) => t.id !== action.id) };
    case "flushing":
      return { ...state, flushing: action.on };
    case "settings":
      return { ...state, settingsOpen: action.open };
    case "confirm_delete":
      return { ...state, confirmDelete: action.id };
    case "engine_events":
      return action.batch.reduce(applyEvent, state);
    case "catch_up": {
      const caught = action.events.reduce(applyEvent, state);
      return action.complete ? caught : { ...caught, tables: {}, tablesLoading: {} };
    }
    case "tables_loading":
      // Asked twice (a remount): the first answer is taken, the second falls through.
      if (state.tablesLoading[action.notebook]) return state;
      return { ...state, tablesLoading: { ...state.tablesLoading, [action.notebook]: [] } };
    case "tables": {
      const heard = state.tablesLoading[action.notebook];
      // Not asked for any more (an incomplete catch-up since, or a later load landed first).
      if (!heard) return state;
      const { [action.notebook]: _done, ...tablesLoading } = state.tablesLoading;
      const list = heard.reduce(applyTableEvent, sortTables(action.list));
      return { ...state, tables: { ...state.tables, [action.notebook]: list }, tablesLoading };
    }
    case "table_event":
      return withTableEvent(state, action.event);
    case "table_statuses":
      return action.list.reduce((s, t) => ({ ...s, tableStatus: { ...s.tableStatus, [tableKey(t.notebook, t.table)]: t } }), state);
  }
}

export function tableKey(notebook: NotebookId, table: string): string {
  return `${notebook}/${table}`;
}

function upsert(list: NotebookSummary[], nb: NotebookSummary): NotebookSummary[] {
  const found = list.some((n) => n.id === nb.id);
  const next = found ? list.map((n) => (n.id === nb.id ? nb : n)) : [...list, nb];
  return next.sort((a, b) => a.title.toLowerCase().localeCompare(b.title.toLowerCase()));
}

function applyEvent(state: State, { seq, event }: Sequenced): State {
  // A batch can repeat what a command result already applied; sequence numbers make it idempotent.
  if (seq <= state.lastSeq) return state;
  const next = { ...state, lastSeq: seq };
  switch (event.kind) {
    case "notebook_created":
    case "notebook_changed": {
      const view =
        next.view?.summary.id === event.notebook.id ? { ...next.view, summary: event.notebook } : next.view;
      return { ...next, notebooks: upsert(next.notebooks, event.notebook), view };
    }
    case "notebook_deleted": {
      const { [event.notebook]: _gone, ...tables } = next.tables;
      return {
        ...next,
        tables,
        notebooks: next.notebooks.filter((n) => n.id !== event.notebook),
        view: next.view?.summary.id === event.notebook ? null : next.view,
      };
    }
    case "table_added":
    case "table_changed":
    case "table_removed":
      return withTableEvent(next, event);
    case "save_status": {
      const update = (n: NotebookSummary): NotebookSummary =>
        n.id === event.notebook
          ? { ...n, status: event.status, on_disk: n.on_disk || event.status.state === "saved" }
          : n;
      const view = next.view && { ...next.view, summary: update(next.view.summary) };
      return { ...next, notebooks: next.notebooks.map(update), view };
    }
    case "table_save_status": {
      const { kind: _kind, ...status } = event;
      const committed = status.status.state === "saved" && status.generation > (next.lastSaved?.generation ?? 0);
      const lastSaved = committed
        ? { table: status.table, version: status.saved_version, generation: status.generation }
        : next.lastSaved;
      return { ...next, lastSaved, tableStatus: { ...next.tableStatus, [tableKey(status.notebook, status.table)]: status } };
    }
    case "metrics":
      return { ...next, metrics: event.kind === "metrics" ? metricsOf(event) : next.metrics, metricsTick: next.metricsTick + 1 };
    case "table_notice":
      return {
        ...next,
        toasts: capToasts([
          ...next.toasts,
          { id: nextToastId++, level: "error", text: { headline: event.table ? `Table ${event.table} was recovered` : "A table could not be opened", detail: event.message } },
        ]),
      };
  }
}

/** An engine event about a table's place in its notebook's list. */
export type TableEvent = Extract<EngineEvent, { kind: "table_added" | "table_changed" | "table_removed" }>;

/** The list order of `list_tables`: by name. */
function sortTables(list: TableInfo[]): TableInfo[] {
  return [...list].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function applyTableEvent(list: TableInfo[], event: TableEvent): TableInfo[] {
  switch (event.kind) {
    case "table_added":
    case "table_changed": {
      const info = event.table;
      return list.some((t) => t.name === info.name)
        ? list.map((t) => (t.name === info.name ? info : t))
        : sortTables([...list, info]);
    }
    case "table_removed":
      return list.filter((t) => t.name !== event.table);
  }
}

/** A table event applied to the list of its notebook, if that list is loaded, or kept for the
 *  list being loaded. A notebook not loaded is left alone: its list comes whole when needed. */
function withTableEvent(state: State, event: TableEvent): State {
  const loading = state.tablesLoading[event.notebook];
  if (loading) return { ...state, tablesLoading: { ...state.tablesLoading, [event.notebook]: [...loading, event] } };
  const list = state.tables[event.notebook];
  if (!list) return state;
  return { ...state, tables: { ...state.tables, [event.notebook]: applyTableEvent(list, event) } };
}

/** At most this many toasts show at once, so a stack never covers the notebook. */
export const MAX_TOASTS = 4;

/** Keeps the newest toasts within MAX_TOASTS, dropping information before errors: an error
 *  matters more than a confirmation. */
export function capToasts(toasts: Toast[]): Toast[] {
  const out = [...toasts];
  while (out.length > MAX_TOASTS) {
    const info = out.findIndex((t) => t.level === "info");
    out.splice(info >= 0 ? info : 0, 1);
  }
  return out;
}

function metricsOf(event: { kind: "metrics" } & MetricsSummary): MetricsSummary {
  const { kind: _kind, ...summary } = event;
  return summary;
}

/** The status bar's figures from a full report (before the first metrics event arrives). */
export function summaryOf(r: MetricsReport): MetricsSummary {
  const t = r.totals;
  const now = r.windows[r.windows.length - 1];
  return {
    disk_writes: t.disk_writes,
    bytes_written: t.bytes_written,
    fsyncs: t.fsyncs,
    coalesced_pct: t.coalesced_pct,
    events_in: t.events_in,
    messages_out: t.messages_out,
    tasks_changed: t.tasks_queued + t.tasks_completed + t.tasks_failed + t.tasks_cancelled,
    minute_writes: now?.disk_writes ?? 0,
    minute_bytes: now?.bytes_written ?? 0,
    queue_waiting: r.queue_waiting,
  };
}

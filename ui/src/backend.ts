// The UI's only way to the engine: typed calls over the generated bindings. Errors become
// QuireError with the engine's stable code, so components branch on `code`, never on text.
import { Channel } from "@tauri-apps/api/core";
import { watch } from "@tauri-apps/plugin-fs";
import {
  commands,
  events,
  type AppInfo,
  type Cell,
  type CellId,
  type CellKind,
  type CellOutput,
  type CsvOptions,
  type ImportOutcome,
  type ImportPreview,
  type ImportProgress,
  type TableInfo,
  type DiskChoice,
  type EngineInfo,
  type ErrorCode,
  type CatchUp,
  type CellEdit,
  type DiffPage,
  type DiffSummary,
  type TableVersions,
  type Task,
  type TaskStats,
  type TaskStatus,
  type Transform,
  type TransformPreview,
  type Generation,
  type ShutdownReport as FlushAllReport,
  type TableSaveStatus,
  type IpcError,
  type CloseChoice,
  type CloseReason,
  type CloseRequested,
  type MetricsReport,
  type PendingWork,
  type NotebookId,
  type OpenRequested,
  type NotebookMode,
  type NotebookSummary,
  type NotebookView,
  type Position,
  type QueueStats,
  type Sequenced,
} from "./bindings";

export type { FlushAllReport };

export class QuireError extends Error {
  readonly code: ErrorCode | "unknown";
  readonly position: Position | null;
  constructor(code: ErrorCode | "unknown", message: string, position: Position | null = null) {
    super(message);
    this.name = "QuireError";
    this.code = code;
    this.position = position;
  }

  static from(e: unknown): QuireError {
    if (e instanceof QuireError) return e;
    if (isIpcError(e)) return new QuireError(e.code, e.message, e.position ?? null);
    return new QuireError("unknown", e instanceof Error ? e.message : String(e));
  }
}

function isIpcError(e: unknown): e is IpcError {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}

export interface Backend {
  appInfo(): Promise<AppInfo>;
  /** Totals and the last hour, minute by minute. */
  metrics(): Promise<MetricsReport>;
  openLogFolder(): Promise<void>;
  /** What closing now would leave unsaved. */
  pendingWork(): Promise<PendingWork>;
  /** The close prompt's answer; `wait` resolves once everything is written. */
  resolveClose(reason: CloseReason, choice: CloseChoice): Promise<void>;
  /** Calls `onRequest` when a close or quit was held because work is pending. */
  onCloseRequested(onRequest: (r: CloseRequested) => void): Promise<() => void>;
  setNotebookMode(mode: NotebookMode): Promise<EngineInfo>;
  listNotebooks(): Promise<NotebookSummary[]>;
  createNotebook(title: string): Promise<NotebookSummary>;
  getNotebook(id: NotebookId): Promise<NotebookView>;
  renameNotebook(id: NotebookId, title: string): Promise<NotebookSummary>;
  deleteNotebook(id: NotebookId): Promise<void>;
  duplicateNotebook(id: NotebookId): Promise<NotebookSummary>;
  addCell(id: NotebookId, kind: CellKind, index: number | null, source: string): Promise<Cell>;
  updateCell(id: NotebookId, cell: CellId, source: string): Promise<void>;
  setCellKind(id: NotebookId, cell: CellId, kind: CellKind): Promise<void>;
  deleteCell(id: NotebookId, cell: CellId): Promise<void>;
  moveCell(id: NotebookId, cell: CellId, to: number): Promise<void>;
  /** Runs a cell; `onRows` hears the rows produced so far; `job` names it for cancelJob. */
  runCell(id: NotebookId, cell: CellId, job: string, onRows: (rows: number) => void): Promise<CellOutput>;
  /** Writes every notebook and every pending table snapshot, and waits for them. */
  flushAll(): Promise<FlushAllReport>;
  /** Sets cells of a table; the engine checks each value against its column. */
  editCells(id: NotebookId, table: string, edits: CellEdit[]): Promise<TableInfo>;
  tableHistory(id: NotebookId, table: string): Promise<Generation[]>;
  restoreGeneration(id: NotebookId, table: string, generation: number): Promise<TableInfo>;
  tableSaveStatus(id: NotebookId): Promise<TableSaveStatus[]>;
  retrySnapshot(id: NotebookId, table: string): Promise<void>;
  /** What a transform would change; `job` names it for cancelJob, `onRows` hears progress. */
  previewTransform(id: NotebookId, table: string, t: Transform, job: string, onRows: (rows: number) => void): Promise<TransformPreview>;
  applyTransform(id: NotebookId, table: string, t: Transform, job: string, onRows: (rows: number) => void): Promise<TableInfo>;
  /** Undo (`back`) or redo one step of the table's history. */
  undoRedo(id: NotebookId, table: string, back: boolean): Promise<TableInfo>;
  tableVersions(id: NotebookId, table: string): Promise<TableVersions>;
  diffVersions(id: NotebookId, table: string, from: number, to: number, job: string): Promise<DiffSummary>;
  diffPage(id: NotebookId, table: string, from: number, to: number, offset: number, limit: number): Promise<DiffPage>;
  listTasks(status: TaskStatus | null, limit: number): Promise<Task[]>;
  taskStats(): Promise<TaskStats>;
  retryTask(id: number): Promise<Task>;
  /** Clears finished tasks from the list; how many went. */
  dismissFinishedTasks(): Promise<number>;
  cancelTask(id: number): Promise<boolean>;
  /** Engine events after `seq` the UI missed (a reload); `complete` false means reload all. */
  eventsSince(seq: number): Promise<CatchUp>;
  checkDisk(): Promise<NotebookId[]>;
  resolveDiskChange(id: NotebookId, choice: DiskChoice): Promise<NotebookSummary>;
  /** Opens the native file dialog; null when the user cancelled. */
  pickImportFile(): Promise<string | null>;
  previewImport(path: string): Promise<ImportPreview>;
  importFile(
    id: NotebookId,
    path: string,
    table: string | null,
    csv: CsvOptions | null,
    job: string,
    onProgress: (p: ImportProgress) => void,
  ): Promise<ImportOutcome>;
  cancelJob(job: string): Promise<boolean>;
  listTables(id: NotebookId): Promise<TableInfo[]>;
  saveQueryAsTable(id: NotebookId, sql: string, table: string): Promise<TableInfo>;
  /** Deletes a table and its saved copies. */
  deleteTable(id: NotebookId, table: string): Promise<void>;
  renameTable(id: NotebookId, table: string, to: string): Promise<TableInfo>;
  /** Opens the native save dialog; null when the user cancelled. */
  pickExportPath(suggested: string): Promise<string | null>;
  /** Writes a table to a picked file; `onRows` hears the rows written so far. */
  exportTable(id: NotebookId, table: string, path: string, job: string, onRows: (rows: number) => void): Promise<number>;
  queueStats(): Promise<QueueStats>;
  exportQuery(id: NotebookId, sql: string, path: string): Promise<number>;
  /** Calls `onFiles` with the paths of files dropped on the window (already allowed). */
  onFilesDropped(onFiles: (paths: string[]) => void): Promise<() => void>;
  /** Quire was launched again with paths to open (the running window was focused). */
  onOpenRequested(onRequest: (request: OpenRequested) => void): Promise<() => void>;
  /** Calls `onBatch` with each batch of engine events; resolves to an unsubscribe function. */
  onEngineEvents(onBatch: (batch: Sequenced[]) => void): Promise<() => void>;
  /** Calls `onChange` (debounced) when files under `dir` change; resolves to a stop function. */
  watchWorkspace(dir: string, onChange: () => void): Promise<() => void>;
}

type Result<T> = { status: "ok"; data: T } | { status: "error"; error: IpcError };

async function unwrap<T>(call: Promise<Result<T>>): Promise<T> {
  let result: Result<T>;
  try {
    result = await call;
  } catch (e) {
    // A rejected invoke (no permission, the command panicked) carries no code.
    throw QuireError.from(e);
  }
  if (result.status === "error") throw QuireError.from(result.error);
  return result.data;
}

/**
 * Runs calls for one key strictly one after another. Tauri runs async commands concurrently,
 * so without this a quick "type, type, type" could reach the engine out of order.
 */
export function serialQueue() {
  const tails = new Map<string, Promise<unknown>>();
  return function serial<T>(key: string, call: () => Promise<T>): Promise<T> {
    const previous = tails.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(call);
    tails.set(key, next);
    void next.finally(() => {
      if (tails.get(key) === next) tails.delete(key);
    }).catch(() => undefined);
    return next;
  };
}

const serial = serialQueue();
const none = async () => undefined;

export const tauriBackend: Backend = {
  appInfo: () => unwrap(commands.appInfo()),
  metrics: () => unwrap(commands.metrics()),
  openLogFolder: () => unwrap(commands.openLogFolder()).then(none),
  pendingWork: () => unwrap(commands.pendingWork()),
  resolveClose: (reason, choice) => unwrap(commands.resolveClose(reason, choice)).then(none),
  onCloseRequested: (onRequest) => events.closeRequested.listen((e) => onRequest(e.payload)),
  setNotebookMode: (mode) => unwrap(commands.setNotebookMode(mode)),
  listNotebooks: () => unwrap(commands.listNotebooks()),
  createNotebook: (title) => unwrap(commands.createNotebook(title)),
  getNotebook: (id) => serial(id, () => unwrap(commands.getNotebook(id))),
  renameNotebook: (id, title) => serial(id, () => unwrap(commands.renameNotebook(id, title))),
  deleteNotebook: (id) => serial(id, () => unwrap(commands.deleteNotebook(id)).then(none)),
  duplicateNotebook: (id) => serial(id, () => unwrap(commands.duplicateNotebook(id))),
  addCell: (id, kind, index, source) =>
    serial(id, () => unwrap(commands.addCell(id, kind, index, source))),
  updateCell: (id, cell, source) =>
    serial(id, () => unwrap(commands.updateCell(id, cell, source)).then(none)),
  setCellKind: (id, cell, kind) =>
    serial(id, () => unwrap(commands.setCellKind(id, cell, kind)).then(none)),
  deleteCell: (id, cell) => serial(id, () => unwrap(commands.deleteCell(id, cell)).then(none)),
  moveCell: (id, cell, to) => serial(id, () => unwrap(commands.moveCell(id, cell, to)).then(none)),
  runCell: (id, cell, job, onRows) => {
    const channel = new Channel<number>();
    channel.onmessage = onRows;
    // Not serialised behind edits of other cells: a long query must not hold up typing.
    return unwrap(commands.runCell(id, cell, job, channel));
  },
  flushAll: () => unwrap(commands.flushAll()),
  // Edits of one table reach the engine in the order they were made.
  editCells: (id, table, edits) => serial(`${id}/${table}`, () => unwrap(commands.editCells(id, table, edits))),
  tableHistory: (id, table) => unwrap(commands.tableHistory(id, table)),
  restoreGeneration: (id, table, generation) =>
    serial(`${id}/${table}`, () => unwrap(commands.restoreGeneration(id, table, generation))),
  tableSaveStatus: (id) => unwrap(commands.tableSaveStatus(id)),
  retrySnapshot: (id, table) => unwrap(commands.retrySnapshot(id, table)).then(none),
  previewTransform: (id, table, t, job, onRows) => {
    const channel = new Channel<number>();
    channel.onmessage = onRows;
    return unwrap(commands.previewTransform(id, table, t, job, channel));
  },
  applyTransform: (id, table, t, job, onRows) => {
    const channel = new Channel<number>();
    channel.onmessage = onRows;
    return serial(`${id}/${table}`, () => unwrap(commands.applyTransform(id, table, t, job, channel)));
  },
  undoRedo: (id, table, back) => serial(`${id}/${table}`, () => unwrap(commands.undoRedo(id, table, back))),
  tableVersions: (id, table) => unwrap(commands.tableVersions(id, table)),
  diffVersions: (id, table, from, to, job) => unwrap(commands.diffVersions(id, table, from, to, job)),
  diffPage: (id, table, from, to, offset, limit) => unwrap(commands.diffPage(id, table, from, to, offset, limit)),
  listTasks: (status, limit) => unwrap(commands.listTasks(status, limit)),
  taskStats: () => unwrap(commands.taskStats()),
  retryTask: (id) => unwrap(commands.retryTask(id)),
  dismissFinishedTasks: () => unwrap(commands.dismissFinishedTasks()),
  cancelTask: (id) => unwrap(commands.cancelTask(id)),
  eventsSince: (seq) => unwrap(commands.eventsSince(seq)),
  checkDisk: () => unwrap(commands.checkDisk()),
  resolveDiskChange: (id, choice) => serial(id, () => unwrap(commands.resolveDiskChange(id, choice))),
  pickImportFile: () => unwrap(commands.pickImportFile()),
  previewImport: (path) => unwrap(commands.previewImport(path)),
  importFile: (id, path, table, csv, job, onProgress) => {
    const channel = new Channel<ImportProgress>();
    channel.onmessage = onProgress;
    return unwrap(commands.importFile(id, path, table, csv, job, channel));
  },
  cancelJob: (job) => unwrap(commands.cancelJob(job)),
  listTables: (id) => unwrap(commands.listTables(id)),
  saveQueryAsTable: (id, sql, table) => unwrap(commands.saveQueryAsTable(id, sql, table)),
  deleteTable: async (id, table) => {
    await unwrap(commands.deleteTable(id, table));
  },
  renameTable: (id, table, to) => unwrap(commands.renameTable(id, table, to)),
  pickExportPath: (suggested) => unwrap(commands.pickExportPath(suggested)),
  exportTable: (id, table, path, job, onRows) => {
    const channel = new Channel<number>();
    channel.onmessage = onRows;
    return unwrap(commands.exportTable(id, table, path, job, channel));
  },
  queueStats: () => unwrap(commands.queueStats()),
  exportQuery: (id, sql, path) => unwrap(commands.exportQuery(id, sql, path)),
  onFilesDropped: (onFiles) => events.filesDropped.listen((e) => onFiles(e.payload.paths)),
  onOpenRequested: (onRequest) => events.openRequested.listen((e) => onRequest(e.payload)),
  onEngineEvents: (onBatch) => events.engineEvents.listen((e) => onBatch(e.payload)),
  watchWorkspace: async (dir, onChange) => {
    const stop = await watch(dir, () => onChange(), { recursive: true, delayMs: 300 });
    return () => stop();
  },
};

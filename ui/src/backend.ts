// The UI's only way to the engine: typed calls over the generated bindings. Errors become
// QuireError with the engine's stable code, so components branch on `code`, never on text.
import {
  commands,
  events,
  type AppInfo,
  type ErrorCode,
  type IpcError,
  type MetricsSnapshot,
  type NotebookSummary,
  type Sequenced,
} from "./bindings";

export class QuireError extends Error {
  readonly code: ErrorCode | "unknown";
  constructor(code: ErrorCode | "unknown", message: string) {
    super(message);
    this.name = "QuireError";
    this.code = code;
  }

  static from(e: unknown): QuireError {
    if (e instanceof QuireError) return e;
    if (isIpcError(e)) return new QuireError(e.code, e.message);
    return new QuireError("unknown", e instanceof Error ? e.message : String(e));
  }
}

function isIpcError(e: unknown): e is IpcError {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}

export interface Backend {
  appInfo(): Promise<AppInfo>;
  listNotebooks(): Promise<NotebookSummary[]>;
  createNotebook(title: string): Promise<NotebookSummary>;
  metrics(): Promise<MetricsSnapshot>;
  /** Calls `onBatch` with each batch of engine events; resolves to an unsubscribe function. */
  onEngineEvents(onBatch: (batch: Sequenced[]) => void): Promise<() => void>;
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

export const tauriBackend: Backend = {
  appInfo: () => unwrap(commands.appInfo()),
  listNotebooks: () => unwrap(commands.listNotebooks()),
  createNotebook: (title) => unwrap(commands.createNotebook(title)),
  metrics: () => unwrap(commands.metrics()),
  onEngineEvents: (onBatch) => events.engineEvents.listen((e) => onBatch(e.payload)),
};

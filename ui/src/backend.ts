// The UI's only way to the engine: the generated bindings (src/bindings.ts), typed from them, so
// a command added in Rust needs no copy here. Errors become QuireError with the engine's stable
// code, so components branch on `code`, never on text.
import { Channel } from "@tauri-apps/api/core";
import { watch } from "@tauri-apps/plugin-fs";
import {
  commands,
  events,
  type CloseRequested,
  type ErrorCode,
  type IpcError,
  type OpenRequested,
  type Position,
  type Sequenced,
  type ShutdownReport as FlushAllReport,
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

type Bindings = typeof commands;
/** What tauri-specta's `{ status, data | error }` carries when the call succeeded. */
type Ok<R> = Awaited<R> extends infer U ? (U extends { status: "ok"; data: infer T } ? T : never) : never;
/** A command returning `null` (Rust `()`) is a `Promise<void>` to its callers. */
type Returned<T> = [T] extends [null] ? void : T;
/** A `Channel<M>` argument is passed as a plain callback hearing each message. */
type Arg<P> = P extends Channel<infer M> ? (message: M) => void : P;
type Args<A extends unknown[]> = { [K in keyof A]: Arg<A[K]> };

/** Every engine command, as the bindings declare it: rejects with a QuireError instead of
 *  resolving to an error value. */
export type Commands = {
  [K in keyof Bindings]: (...args: Args<Parameters<Bindings[K]>>) => Promise<Returned<Ok<ReturnType<Bindings[K]>>>>;
};

/** What the bindings cannot express: event subscriptions and the workspace watcher. Each
 *  resolves to a function that stops it. */
export interface Subscriptions {
  /** Calls `onRequest` when a close or quit was held because work is pending. */
  onCloseRequested(onRequest: (r: CloseRequested) => void): Promise<() => void>;
  /** Calls `onFiles` with the paths of files dropped on the window (already allowed). */
  onFilesDropped(onFiles: (paths: string[]) => void): Promise<() => void>;
  /** Quire was launched again with paths to open (the running window was focused). */
  onOpenRequested(onRequest: (request: OpenRequested) => void): Promise<() => void>;
  /** Calls `onBatch` with each batch of engine events. */
  onEngineEvents(onBatch: (batch: Sequenced[]) => void): Promise<() => void>;
  /** Calls `onChange` (debounced) when files under `dir` change. */
  watchWorkspace(dir: string, onChange: () => void): Promise<() => void>;
}

export type Backend = Commands & Subscriptions;

type Result = { status: "ok"; data: unknown } | { status: "error"; error: IpcError };

/** A binding's result as a value, or a QuireError. */
export async function unwrap<T>(call: Promise<{ status: "ok"; data: T } | { status: "error"; error: IpcError }>): Promise<T> {
  let result: Awaited<typeof call>;
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
  const serial = function serial<T>(key: string, call: () => Promise<T>): Promise<T> {
    const previous = tails.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(call);
    tails.set(key, next);
    void next.finally(() => {
      if (tails.get(key) === next) tails.delete(key);
    }).catch(() => undefined);
    return next;
  };
  /** Resolves once every call queued so far under `key` (under every key when none) has
   *  settled, without queueing anything behind it. */
  const settled = async (key?: string): Promise<void> => {
    const waiting = key === undefined ? [...tails.values()] : [tails.get(key)];
    await Promise.all(waiting.map((p) => p?.catch(() => undefined)));
  };
  return Object.assign(serial, { settled });
}

type SerialQueue = ReturnType<typeof serialQueue>;

/** Commands that reach the engine in order per key: a notebook's edits (so typing is never
 *  reordered), a table's changes. Cell runs are not queued: a long query must not hold up typing. */
const serialKeys: { [K in keyof Commands]?: (...args: Parameters<Commands[K]>) => string } = {
  getNotebook: (notebook) => notebook,
  renameNotebook: (notebook) => notebook,
  deleteNotebook: (notebook) => notebook,
  duplicateNotebook: (notebook) => notebook,
  addCell: (notebook) => notebook,
  updateCell: (notebook) => notebook,
  setCellKind: (notebook) => notebook,
  setCellRunsOn: (notebook) => notebook,
  deleteCell: (notebook) => notebook,
  moveCell: (notebook) => notebook,
  resolveDiskChange: (notebook) => notebook,
  editCells: (notebook, table) => `${notebook}/${table}`,
  restoreGeneration: (notebook, table) => `${notebook}/${table}`,
  applyTransform: (notebook, table) => `${notebook}/${table}`,
  undoRedo: (notebook, table) => `${notebook}/${table}`,
};

/** Commands that first wait for the edits queued before them, without joining the queue: a
 *  run reads the cell the engine holds, and a flush writes what the engine holds, so both must
 *  see every keystroke typed before them; typing after them is not held up. `null` waits for
 *  every key. */
const afterKeys: { [K in keyof Commands]?: (...args: Parameters<Commands[K]>) => string | null } = {
  runCell: (notebook) => notebook,
  flushNotebook: (notebook) => notebook,
  flushAll: () => null,
};

type AnyCall = (...args: unknown[]) => Promise<Result>;
type AnyKey = (...args: unknown[]) => string;
type AnyAfterKey = (...args: unknown[]) => string | null;

/** The commands over `bindings`, each unwrapped, its callbacks wired to Channels and, where
 *  `serialKeys` says so, queued per key. `bindings` is a parameter so tests can stand in. */
export function commandsOver(bindings: Record<keyof Bindings, unknown>, serial: SerialQueue = serialQueue()): Commands {
  const entries = (Object.keys(bindings) as (keyof Bindings)[]).map((name) => {
    const invoke = bindings[name] as AnyCall;
    const key = serialKeys[name] as AnyKey | undefined;
    const after = afterKeys[name] as AnyAfterKey | undefined;
    const call = (...args: unknown[]) => {
      // Made before queueing, so progress is heard from the moment the call is made.
      const wired = args.map((a) => {
        if (typeof a !== "function") return a;
        const channel = new Channel<unknown>();
        channel.onmessage = a as (message: unknown) => void;
        return channel;
      });
      const run = () => unwrap(invoke(...wired));
      if (key) return serial(key(...args), run);
      if (after) return serial.settled(after(...args) ?? undefined).then(run);
      return run();
    };
    return [name, call] as const;
  });
  return Object.fromEntries(entries) as unknown as Commands;
}

export const tauriBackend: Backend = {
  ...commandsOver(commands),
  onCloseRequested: (onRequest) => events.closeRequested.listen((e) => onRequest(e.payload)),
  onFilesDropped: (onFiles) => events.filesDropped.listen((e) => onFiles(e.payload.paths)),
  onOpenRequested: (onRequest) => events.openRequested.listen((e) => onRequest(e.payload)),
  onEngineEvents: (onBatch) => events.engineEvents.listen((e) => onBatch(e.payload)),
  watchWorkspace: async (dir, onChange) => {
    const stop = await watch(dir, () => onChange(), { recursive: true, delayMs: 300 });
    return () => stop();
  },
};

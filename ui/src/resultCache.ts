// Each SQL cell's last successful result preview, kept in the webview's localStorage so a
// relaunch shows it again (marked as from the last session) instead of a blank cell.
import type { CellId, NotebookId, QueryPreview } from "./bindings";

export const RESULT_KEY_PREFIX = "quire.result.";
/** A preview whose JSON is larger than this is not kept (it would crowd out the others). */
export const MAX_RESULT_BYTES = 256 * 1024;
/** At most this many results are kept; the oldest go first. */
export const MAX_RESULTS = 50;

/** A kept result: the SQL it answered (a changed cell does not show it) and when it ran. */
export interface StoredResult {
  sql: string;
  preview: QueryPreview;
  saved_ms: number;
}

/** When this page started: results kept before it are from the last session. */
export const SESSION_START_MS = Date.now();

function notebookPrefix(notebook: NotebookId): string {
  return `${RESULT_KEY_PREFIX}${encodeURIComponent(notebook)}/`;
}

export function resultKey(notebook: NotebookId, cell: CellId): string {
  return `${notebookPrefix(notebook)}${encodeURIComponent(cell)}`;
}

function storage(): Storage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null;
  }
}

function keys(s: Storage, prefix = RESULT_KEY_PREFIX): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i++) {
    const k = s.key(i);
    if (k?.startsWith(prefix)) out.push(k);
  }
  return out;
}

function parse(text: string | null): StoredResult | null {
  if (!text) return null;
  try {
    const r = JSON.parse(text) as Partial<StoredResult> | null;
    if (!r || typeof r.sql !== "string" || typeof r.saved_ms !== "number" || !r.preview || !Array.isArray(r.preview.rows))
      return null;
    return r as StoredResult;
  } catch {
    return null;
  }
}

/** Drops the oldest kept results until at most `keep` remain. */
function prune(s: Storage, keep: number): void {
  const all = keys(s).map((k) => ({ k, at: parse(s.getItem(k))?.saved_ms ?? 0 }));
  if (all.length <= keep) return;
  all.sort((a, b) => a.at - b.at);
  for (const { k } of all.slice(0, all.length - keep)) s.removeItem(k);
}

/** Keeps a cell's result after a successful run (replacing the one before). A preview too
 *  large to keep removes the older one instead: it answered an earlier run. */
export function saveResult(notebook: NotebookId, cell: CellId, sql: string, preview: QueryPreview, now = Date.now()): boolean {
  const s = storage();
  if (!s) return false;
  const key = resultKey(notebook, cell);
  const json = JSON.stringify({ sql, preview, saved_ms: now } satisfies StoredResult);
  if (new TextEncoder().encode(json).length > MAX_RESULT_BYTES) {
    s.removeItem(key);
    return false;
  }
  try {
    s.removeItem(key);
    prune(s, MAX_RESULTS - 1);
    s.setItem(key, json);
  } catch {
    // Storage full: make room (half the kept results, oldest first) and try once more.
    try {
      prune(s, Math.floor(MAX_RESULTS / 2));
      s.setItem(key, json);
    } catch {
      return false;
    }
  }
  return true;
}

/** A cell's kept result, if it answered this very SQL text. */
export function loadResult(notebook: NotebookId, cell: CellId, sql: string): StoredResult | null {
  const s = storage();
  if (!s) return null;
  const r = parse(s.getItem(resultKey(notebook, cell)));
  return r && r.sql === sql ? r : null;
}

/** Forgets a cell's kept result (deleted cell, failed or cancelled run). */
export function forgetResult(notebook: NotebookId, cell: CellId): void {
  try {
    storage()?.removeItem(resultKey(notebook, cell));
  } catch {
    /* nothing kept */
  }
}

/** Forgets every kept result of a notebook (deleted). */
export function forgetNotebookResults(notebook: NotebookId): void {
  const s = storage();
  if (!s) return;
  for (const k of keys(s, notebookPrefix(notebook))) s.removeItem(k);
}

// What the save indicators say, derived from the engine's per-notebook save states.
import type { NotebookSummary, SaveState, TableSaveStatus } from "./bindings";

export type Overall =
  | { kind: "saved" }
  | { kind: "unsaved"; count: number }
  /** Only notebooks created and not yet written, with nothing in them to lose but the title. */
  | { kind: "not_written"; count: number }
  | { kind: "saving"; progress: string | null }
  | { kind: "failed"; message: string }
  | { kind: "changed_on_disk"; title: string };

/** The app-wide state: the most urgent one among the notebooks and the tables. */
export function overallStatus(notebooks: NotebookSummary[], flushing = false, tables: TableSaveStatus[] = []): Overall {
  const failed = notebooks.find((n) => n.status.state === "failed");
  if (failed && failed.status.state === "failed") return { kind: "failed", message: failed.status.message };
  const failedTable = tables.find((t) => t.status.state === "failed");
  if (failedTable && failedTable.status.state === "failed")
    return { kind: "failed", message: `table ${failedTable.table}: ${failedTable.status.message}` };
  const changed = notebooks.find((n) => n.status.state === "changed_on_disk");
  if (changed) return { kind: "changed_on_disk", title: changed.title };
  const savingTable = tables.find((t) => t.status.state === "saving");
  if (savingTable) return { kind: "saving", progress: tableProgress(savingTable) };
  if (flushing || notebooks.some((n) => n.status.state === "saving")) return { kind: "saving", progress: null };
  // A notebook created but never written (lazy creation) has no edits: the engine reports it
  // saved and does not hold a close for it, so it is not "unsaved changes" either.
  const edited = notebooks.filter((n) => n.status.state === "unsaved" || n.status.state === "failed").length;
  const count = edited + tables.filter((t) => t.status.state === "unsaved").length;
  if (count > 0) return { kind: "unsaved", count };
  const fresh = pendingCount(notebooks);
  return fresh > 0 ? { kind: "not_written", count: fresh } : { kind: "saved" };
}

/** "trips 45%" while a table's snapshot runs. */
export function tableProgress(t: TableSaveStatus): string {
  const pct = t.total_rows > 0 ? Math.floor((100 * t.rows_written) / t.total_rows) : 0;
  return `${t.table} ${pct}%`;
}

/** Notebooks a flush would write: unsaved edits, a failed write, or never written. */
export function pendingCount(notebooks: NotebookSummary[]): number {
  return notebooks.filter(
    (n) =>
      n.status.state === "unsaved" ||
      n.status.state === "failed" ||
      (!n.on_disk && n.status.state !== "unreadable"),
  ).length;
}

export function overallText(o: Overall): string {
  switch (o.kind) {
    case "saved":
      return "All changes saved";
    case "unsaved":
      return o.count === 1 ? "Unsaved changes" : `Unsaved changes in ${o.count} places`;
    case "not_written":
      return o.count === 1 ? "New notebook not saved yet" : `${o.count} new notebooks not saved yet`;
    case "saving":
      return o.progress ? `Saving ${o.progress}…` : "Saving…";
    case "failed":
      return `Save failed: ${o.message}`;
    case "changed_on_disk":
      return `“${o.title}” changed outside Quire`;
  }
}

export function notebookStatusText(s: SaveState, onDisk: boolean): string {
  switch (s.state) {
    case "saved":
      return onDisk ? "Saved" : "Not saved yet";
    case "unsaved":
      return "Unsaved changes";
    case "saving":
      return "Saving…";
    case "failed":
      return `Save failed: ${s.message}`;
    case "changed_on_disk":
      return "Changed outside Quire";
    case "unreadable":
      return "Cannot be opened";
  }
}

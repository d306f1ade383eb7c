// What the save indicators say, derived from the engine's per-notebook save states.
import type { NotebookSummary, SaveState } from "./bindings";

export type Overall =
  | { kind: "saved" }
  | { kind: "unsaved"; count: number }
  | { kind: "saving" }
  | { kind: "failed"; message: string }
  | { kind: "changed_on_disk"; title: string };

/** The app-wide state: the most urgent one among the notebooks. */
export function overallStatus(notebooks: NotebookSummary[], flushing = false): Overall {
  const failed = notebooks.find((n) => n.status.state === "failed");
  if (failed && failed.status.state === "failed") return { kind: "failed", message: failed.status.message };
  const changed = notebooks.find((n) => n.status.state === "changed_on_disk");
  if (changed) return { kind: "changed_on_disk", title: changed.title };
  if (flushing || notebooks.some((n) => n.status.state === "saving")) return { kind: "saving" };
  const count = pendingCount(notebooks);
  return count > 0 ? { kind: "unsaved", count } : { kind: "saved" };
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
      return o.count === 1 ? "Unsaved changes" : `Unsaved changes in ${o.count} notebooks`;
    case "saving":
      return "Saving…";
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

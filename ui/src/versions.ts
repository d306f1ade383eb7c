// How every screen speaks of a table's versions and its saved copies, so the numbers agree.
//
// A table's *version* is the number the Changes list shows: each edit, transform, undo, redo or
// restore makes a new one, numbers only grow, and a relaunch keeps them (a saved copy is read
// back under the version it holds). A *saved copy* is one written to disk (the engine calls it a
// generation, numbered per table on its own): screens name it by the version it holds, "saved
// copy of version N"; its generation number is at most a tooltip's detail.
import type { Generation, HistoryItem, TableSaveStatus } from "./bindings";

export function versionText(version: number): string {
  return `version ${version}`;
}

export function savedCopyText(version: number): string {
  return `saved copy of version ${version}`;
}

/** A line of the Changes list: the engine labels a restore by generation, which no screen shows,
 *  so it is named by the version that copy held (when the copy is still kept). */
export function changeText(item: HistoryItem, copies: readonly Generation[]): string {
  if (item.op.op !== "restore") return item.label;
  const generation = item.op.generation;
  const copy = copies.find((g) => g.generation === generation);
  return copy ? `Restored the ${savedCopyText(copy.version)}` : "Restored a saved copy";
}

/** The save indicator's tooltip in the tables list. */
export function saveStatusTitle(s: TableSaveStatus): string {
  if (s.status.state === "failed") return s.status.message;
  const now = `Shows ${versionText(s.version)}`;
  if (s.saved_version === 0) return `${now}; not saved yet`;
  if (s.saved_version === s.version) return `${now}; saved`;
  return `${now}; the newest ${savedCopyText(s.saved_version)}`;
}

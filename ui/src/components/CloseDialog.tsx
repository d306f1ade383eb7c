// Shown when a close or quit was held because work is still pending. What it lists is live:
// save states come from the engine's events, so the progress moves while the user decides
// and while "Wait and close" runs (the window closes itself when everything is written).
import { useState } from "react";
import type { CloseChoice, CloseRequested, NotebookSummary, TableSaveStatus, Task } from "../bindings";
import { QuireError } from "../backend";
import { tableProgress } from "../status";
import { useEscape } from "./useEscape";

interface Props {
  request: CloseRequested;
  notebooks: NotebookSummary[];
  tables: TableSaveStatus[];
  onChoice(choice: CloseChoice): Promise<void>;
  onDone(): void;
}

function taskLabel(t: Task): string {
  const what = t.kind === "import" ? "Import" : t.kind === "export" ? "Export" : "Transform";
  const pct = t.progress != null ? ` ${Math.round(t.progress * 100)}%` : "";
  return `${what} of ${t.target ?? "a file"}${t.status === "running" ? pct : " (waiting)"}`;
}

export function CloseDialog({ request, notebooks, tables, onChoice, onDone }: Props) {
  const [busy, setBusy] = useState<CloseChoice | null>(null);
  const [error, setError] = useState<string | null>(null);
  const quitting = request.reason === "quit";
  const pendingIds = new Set(request.pending.notebooks.map((n) => n.id));
  const books = notebooks.filter(
    (n) => pendingIds.has(n.id) || n.status.state === "unsaved" || n.status.state === "saving" || n.status.state === "failed",
  );
  const live = tables.filter((t) => t.status.state !== "saved");
  const known = new Set(live.map((t) => `${t.notebook}/${t.table}`));
  // Tables the request named that have no live status yet (a panel never opened them).
  const named = request.pending.tables.filter(
    (t) => !known.has(`${t.notebook}/${t.table}`) && !tables.some((s) => s.notebook === t.notebook && s.table === t.table),
  );
  const pendingTables = [...live, ...named];
  const tasks = request.pending.tasks;

  const choose = async (choice: CloseChoice) => {
    setBusy(choice);
    setError(null);
    try {
      await onChoice(choice);
      if (choice === "cancel") onDone();
    } catch (e) {
      setError(QuireError.from(e).message);
      setBusy(null);
    }
  };

  useEscape(() => {
    if (busy === null) void choose("cancel");
  });

  const tableNames = pendingTables.map((t) => t.table);
  return (
    <div className="modal-backdrop" role="presentation">
      <div className="modal close-prompt" role="alertdialog" aria-label="Quire is still saving" data-testid="close-dialog">
        <h2>{busy === "wait" ? "Saving, then closing…" : "Quire is still saving"}</h2>
        <p>
          {busy === "wait"
            ? "The window closes by itself as soon as everything below is on disk."
            : `If you ${quitting ? "quit" : "close the window"} now, this work is still in progress:`}
        </p>
        <ul className="pending-list" data-testid="close-pending">
          {books.map((n) => (
            <li key={n.id} data-testid="close-pending-notebook">
              Notebook “{n.title}”: {n.status.state === "saving" ? "saving…" : n.status.state === "failed" ? "save failed, retrying" : "unsaved edits"}
            </li>
          ))}
          {pendingTables.map((t) => (
            <li key={`${t.notebook}/${t.table}`} data-testid="close-pending-table" data-state={t.status.state}>
              Table {t.table}:{" "}
              {t.status.state === "saving" ? (
                <>
                  saving <progress max={Math.max(1, t.total_rows)} value={t.rows_written} /> {tableProgress(t).replace(`${t.table} `, "")}
                </>
              ) : t.status.state === "failed" ? (
                `save failed: ${t.status.message}`
              ) : t.status.state === "saved" ? (
                "saved"
              ) : (
                "changes not saved yet"
              )}
            </li>
          ))}
          {tasks.map((t) => (
            <li key={t.id} data-testid="close-pending-task">
              {taskLabel(t)}
            </li>
          ))}
          {books.length + pendingTables.length + tasks.length === 0 && <li>Everything is saved.</li>}
        </ul>
        {busy !== "wait" && (
          <p className="close-consequence" data-testid="close-consequence">
            <b>Close without waiting:</b> notebooks are still written (it takes a moment).{" "}
            {tableNames.length > 0
              ? `Changes to ${tableNames.join(", ")} that are not in a saved copy yet stay in Quire's edit journal and are applied again the next time you open Quire. `
              : ""}
            {tasks.length > 0 ? "Imports and exports still running stop and run again at the next start. " : ""}
            No file is left half-written.
          </p>
        )}
        {error && (
          <p className="error" role="alert" data-testid="close-error">
            {error}
          </p>
        )}
        <div className="modal-actions">
          <button data-testid="close-cancel" onClick={() => void choose("cancel")} disabled={busy !== null}>
            Cancel
          </button>
          <button data-testid="close-now" onClick={() => void choose("dont_wait")} disabled={busy !== null}>
            Close without waiting
          </button>
          <button className="primary" data-testid="close-wait" onClick={() => void choose("wait")} disabled={busy !== null} autoFocus>
            {busy === "wait" ? "Saving…" : `Wait and ${quitting ? "quit" : "close"}`}
          </button>
        </div>
      </div>
    </div>
  );
}

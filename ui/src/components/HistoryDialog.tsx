import { useEffect, useState } from "react";
import { useBackend, useNotify } from "../context";
import type { Generation, NotebookId, TableInfo } from "../bindings";
import { formatBytes } from "../errors";
import { savedCopyText } from "../versions";
import { ConfirmDialog } from "./ConfirmDialog";
import { useEscape } from "./useEscape";

interface Props {
  notebook: NotebookId;
  table: string;
  onRestored(info: TableInfo, generation: Generation): void;
  onClose(): void;
}

/** What restoring a saved copy does, asked before it is done. */
export function restoreQuestion(table: string, g: Generation): string {
  const rows = `${g.rows.toLocaleString()} row${g.rows === 1 ? "" : "s"}`;
  return (
    `Restore ${table} to the ${savedCopyText(g.version)} (saved at ${new Date(g.committed_ms).toLocaleString()}, ${rows})? ` +
    "It becomes the newest version; the current one stays in the history and can be restored again."
  );
}

/** The saved copies (the engine's generations) of a table, newest first, each named by the
 *  version it holds and restorable as a new version. */
export function HistoryDialog({ notebook, table, onRestored, onClose }: Props) {
  const backend = useBackend();
  const { report } = useNotify();
  const [generations, setGenerations] = useState<Generation[] | null>(null);
  const [restoring, setRestoring] = useState<number | null>(null);
  // The generation the confirmation asks about (Esc then closes the question, not this dialog).
  const [asking, setAsking] = useState<Generation | null>(null);
  useEscape(onClose);

  useEffect(() => {
    backend.tableHistory(notebook, table).then(setGenerations, (e: unknown) => {
      report(e);
      setGenerations([]);
    });
  }, [backend, notebook, table, report]);

  const restore = async (g: Generation) => {
    setAsking(null);
    setRestoring(g.generation);
    try {
      onRestored(await backend.restoreGeneration(notebook, table, g.generation), g);
    } catch (e) {
      report(e);
    } finally {
      setRestoring(null);
    }
  };

  return (
    <>
      <div className="modal-backdrop" role="presentation" onClick={onClose}>
        <div className="modal wide" role="dialog" aria-label={`History of ${table}`} data-testid="history-dialog" onClick={(e) => e.stopPropagation()}>
          <h2>History of {table}</h2>
          <p className="muted">
            Quire keeps the last saved copies of each table, each named by the version it holds (the numbers in
            Changes). Restoring one makes it the newest version; the current one stays in this list.
          </p>
          {generations === null ? (
            <p>Loading…</p>
          ) : (
            <table className="history" data-testid="history-list">
              <thead>
                <tr>
                  <th>Saved copy of</th>
                  <th>Saved at</th>
                  <th>Rows</th>
                  <th>Size</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {generations.map((g, i) => (
                  <tr key={g.generation} data-testid={`generation-${g.generation}`} title={`Generation ${g.generation} on disk`}>
                    <td data-testid="copy-version">version {g.version}</td>
                    <td>{new Date(g.committed_ms).toLocaleString()}</td>
                    <td>{g.rows.toLocaleString()}</td>
                    <td>{formatBytes(g.bytes)}</td>
                    <td>
                      {i === 0 ? (
                        <span className="muted">newest copy</span>
                      ) : (
                        <button
                          data-testid={`restore-${g.generation}`}
                          aria-label={`Restore the ${savedCopyText(g.version)}`}
                          disabled={restoring !== null}
                          onClick={() => setAsking(g)}
                        >
                          {restoring === g.generation ? "Restoring…" : "Restore"}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <div className="modal-actions">
            <button data-testid="history-close" onClick={onClose}>
              Close
            </button>
          </div>
        </div>
      </div>
      {asking && (
        <ConfirmDialog
          title={`Restore ${table}?`}
          body={restoreQuestion(table, asking)}
          confirm="Restore"
          onConfirm={() => void restore(asking)}
          onCancel={() => setAsking(null)}
        />
      )}
    </>
  );
}

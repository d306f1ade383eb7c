import { useEffect, useState } from "react";
import type { Backend } from "../backend";
import type { Generation, NotebookId, TableInfo } from "../bindings";
import { formatBytes } from "../errors";
import { useEscape } from "./useEscape";

interface Props {
  backend: Backend;
  notebook: NotebookId;
  table: string;
  report(e: unknown): void;
  onRestored(info: TableInfo, generation: Generation): void;
  onClose(): void;
}

/** The saved generations of a table, newest first, each one restorable as a new version. */
export function HistoryDialog({ backend, notebook, table, report, onRestored, onClose }: Props) {
  const [generations, setGenerations] = useState<Generation[] | null>(null);
  const [restoring, setRestoring] = useState<number | null>(null);
  useEscape(onClose);

  useEffect(() => {
    backend.tableHistory(notebook, table).then(setGenerations, (e: unknown) => {
      report(e);
      setGenerations([]);
    });
  }, [backend, notebook, table, report]);

  const restore = async (g: Generation) => {
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
    <div className="modal-backdrop" role="presentation" onClick={onClose}>
      <div className="modal wide" role="dialog" aria-label={`History of ${table}`} data-testid="history-dialog" onClick={(e) => e.stopPropagation()}>
        <h2>History of {table}</h2>
        <p className="muted">
          Quire keeps the last saved copies of each table. Restoring one makes it the newest version; the current one
          stays in this list.
        </p>
        {generations === null ? (
          <p>Loading…</p>
        ) : (
          <table className="history" data-testid="history-list">
            <thead>
              <tr>
                <th>Saved</th>
                <th>Version</th>
                <th>Rows</th>
                <th>Size</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {generations.map((g, i) => (
                <tr key={g.generation} data-testid={`generation-${g.generation}`}>
                  <td>{new Date(g.committed_ms).toLocaleString()}</td>
                  <td>{g.version}</td>
                  <td>{g.rows.toLocaleString()}</td>
                  <td>{formatBytes(g.bytes)}</td>
                  <td>
                    {i === 0 ? (
                      <span className="muted">latest</span>
                    ) : (
                      <button
                        data-testid={`restore-${g.generation}`}
                        disabled={restoring !== null}
                        onClick={() => void restore(g)}
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
  );
}

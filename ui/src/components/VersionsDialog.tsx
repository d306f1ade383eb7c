import { useCallback, useEffect, useState } from "react";
import { useBackend, useNotify } from "../context";
import type { Generation, NotebookId, TableInfo, TableVersions } from "../bindings";
import { changeText, versionText } from "../versions";
import { DiffView } from "./DiffView";
import { useEscape } from "./useEscape";

interface Props {
  notebook: NotebookId;
  table: TableInfo;
  onClose(): void;
}

/** The table's edits and transforms in order, and a diff of any of them against the current one. */
export function VersionsDialog({ notebook, table, onClose }: Props) {
  const backend = useBackend();
  const { report } = useNotify();
  const [versions, setVersions] = useState<TableVersions | null>(null);
  const [compare, setCompare] = useState<number | null>(null);
  // The saved copies, so a restore is named by the version its copy held.
  const [copies, setCopies] = useState<Generation[]>([]);
  useEscape(onClose);
  const load = useCallback(() => {
    backend.tableVersions(notebook, table.name).then(setVersions, report);
    backend.tableHistory(notebook, table.name).then(setCopies, () => setCopies([]));
  }, [backend, notebook, table.name, report]);
  useEffect(load, [load, table.version]);

  return (
    <div className="modal-backdrop" role="presentation" onClick={onClose}>
      <div className="modal wide" role="dialog" aria-label={`Changes to ${table.name}`} data-testid="versions-dialog" onClick={(e) => e.stopPropagation()}>
        <h2>Changes to {table.name}</h2>
        <ol className="versions" data-testid="versions-list">
          {versions?.items.map((v) => (
            <li key={v.version} className={v.current ? "current" : undefined} data-testid={`version-${v.version}`}>
              <span className="version-number" data-testid="version-number">
                {versionText(v.version)}
              </span>
              <span>{changeText(v, copies)}</span>
              <span className="muted">
                {v.at_ms > 0 ? new Date(v.at_ms).toLocaleTimeString() : ""} · {v.rows.toLocaleString()} rows
                {/* After an undo or redo the content shown is this entry's under a new number. */}
                {v.current ? (v.version === table.version ? " · shown now" : ` · shown now, as ${versionText(table.version)}`) : ""}
              </span>
              {!v.current && (
                <button data-testid={`compare-${v.version}`} onClick={() => setCompare(v.version)}>
                  Compare with now
                </button>
              )}
            </li>
          ))}
        </ol>
        {compare !== null && (
          <DiffView notebook={notebook} table={table.name} from={compare} to={table.version} />
        )}
        <div className="modal-actions">
          <button data-testid="versions-close" onClick={onClose}>
            Close
          </button>
        </div>
      </div>
    </div>
  );
}

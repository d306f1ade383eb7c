import { useState } from "react";
import { useBackend } from "../context";
import { QuireError } from "../backend";
import type { NotebookId, TableInfo } from "../bindings";
import { describeError, type ErrorText } from "../errors";
import { defaultName } from "./ImportDialog";
import { useEscape } from "./useEscape";

interface Props {
  notebook: NotebookId;
  /** The folder the user picked: a pattern only chooses among the files below it. */
  folder: string;
  onLinked(table: TableInfo): void;
  onClose(): void;
}

/** Links a picked folder of Parquet files as one table: every file, or those whose path below
 *  the folder matches a pattern (`2024-*.parquet`, `**\/part-*.parquet`). A pattern that matches
 *  nothing, or is malformed, is said here, so it can be corrected. */
export function LinkFolderDialog({ notebook, folder, onLinked, onClose }: Props) {
  const backend = useBackend();
  const [table, setTable] = useState(defaultName(folder.replace(/[\\/]+$/, "")));
  const [pattern, setPattern] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorText | null>(null);
  useEscape(() => (busy ? undefined : onClose()));

  const link = async () => {
    setBusy(true);
    setError(null);
    try {
      const chosen = pattern.trim();
      onLinked(await backend.linkFile(notebook, folder, chosen === "" ? null : chosen, table));
    } catch (e) {
      setError(describeError(QuireError.from(e)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="modal-backdrop" role="presentation" onClick={() => !busy && onClose()}>
      <div className="modal" role="dialog" aria-label="Link a Parquet folder" data-testid="link-folder-dialog" onClick={(e) => e.stopPropagation()}>
        <h2>Link a Parquet folder</h2>
        <p className="muted">
          The Parquet files in <code>{folder}</code> become one table, read where they lie (they must have the same columns).
        </p>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void link();
          }}
        >
          <label className="field">
            Table name
            <input data-testid="link-folder-name" value={table} onChange={(e) => setTable(e.target.value)} />
          </label>
          <label className="field">
            Only files matching (optional)
            <input
              data-testid="link-folder-pattern"
              value={pattern}
              placeholder="every Parquet file, e.g. 2024-*.parquet or year=2024/**/*.parquet"
              onChange={(e) => setPattern(e.target.value)}
              autoFocus
            />
          </label>
          <p className="muted">
            Matched against each file&apos;s path below the folder: <code>*</code> and <code>?</code> stay inside one folder, <code>**</code> reaches into
            the folders below, <code>[0-9]</code> is one of a set.
          </p>
          {error && (
            <div className="error-text" role="alert" data-testid="link-folder-error">
              <strong>{error.headline}</strong> {error.detail}
            </div>
          )}
          <div className="modal-actions">
            <button type="button" onClick={onClose} disabled={busy}>
              Cancel
            </button>
            <button type="submit" className="primary" data-testid="link-folder-go" disabled={busy || table.trim() === ""}>
              {busy ? "Linking…" : "Link"}
            </button>
          </div>
        </form>
      </div>
    </div>
  );
}

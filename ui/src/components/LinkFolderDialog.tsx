import { useState } from "react";
import { useBackend } from "../context";
import { QuireError } from "../backend";
import type { ImportOutcome, ImportProgress, NotebookId } from "../bindings";
import { describeError, type ErrorText } from "../errors";
import { choicesOf, CsvChoicesFields, NO_CHOICES, SkippedRows, type CsvChoicesState } from "./CsvChoicesFields";
import { defaultName } from "./ImportDialog";
import { useEscape } from "./useEscape";

interface Props {
  notebook: NotebookId;
  /** The folder the user picked: a pattern only chooses among the files below it. */
  folder: string;
  onLinked(outcome: ImportOutcome): void;
  onClose(): void;
}

/** Links a picked folder as one table: every file, or those whose path below the folder
 *  matches a pattern (`2024-*.parquet`, `**\/part-*.csv`). Parquet files are read where they lie;
 *  CSV or JSON files are converted into Parquet in the notebook, with progress and Cancel. A
 *  pattern that matches nothing, or is malformed, is said here, so it can be corrected. Each CSV
 *  file keeps its own delimiter and encoding; what the user chooses here (skip rows that do not
 *  fit, the missing-value markers) applies to all, and rows skipped are listed with their file. */
export function LinkFolderDialog({ notebook, folder, onLinked, onClose }: Props) {
  const backend = useBackend();
  const [table, setTable] = useState(defaultName(folder.replace(/[\\/]+$/, "")));
  const [pattern, setPattern] = useState("");
  const [job, setJob] = useState<string | null>(null);
  const [progress, setProgress] = useState<ImportProgress | null>(null);
  const [error, setError] = useState<ErrorText | null>(null);
  const [choices, setChoices] = useState<CsvChoicesState>(NO_CHOICES);
  const [finished, setFinished] = useState<ImportOutcome | null>(null);
  const busy = job !== null;
  // While it links, Esc and Cancel stop it (a conversion leaves nothing behind); once linked
  // with rows skipped, Esc is Done.
  const stopOrClose = () => (job ? void backend.cancelJob(job) : finished ? onLinked(finished) : onClose());
  useEscape(stopOrClose);

  const link = async () => {
    if (finished) return;
    const id = crypto.randomUUID();
    setJob(id);
    setError(null);
    setProgress(null);
    try {
      const chosen = pattern.trim();
      const outcome = await backend.linkFolder(notebook, folder, chosen === "" ? null : chosen, choicesOf(choices), table, id, setProgress);
      // Rows left out stay on screen, each with its file, until the user has seen them.
      if (outcome.skipped_total > 0) setFinished(outcome);
      else onLinked(outcome);
    } catch (e) {
      const err = QuireError.from(e);
      setError(
        err.code === "cancelled" ? { headline: "Cancelled.", detail: "Nothing was created; the files are as they were." } : describeError(err),
      );
      setProgress(null);
    } finally {
      setJob(null);
    }
  };
  const percent = progress && progress.total_bytes > 0 ? Math.min(100, (progress.bytes / progress.total_bytes) * 100) : 0;

  return (
    <div className="modal-backdrop" role="presentation" onClick={() => !busy && stopOrClose()}>
      <div className="modal" role="dialog" aria-label="Link a folder" data-testid="link-folder-dialog" onClick={(e) => e.stopPropagation()}>
        <h2>Link a folder</h2>
        <p className="muted">
          The files in <code>{folder}</code> become one table: Parquet files (with the same columns) are read where they lie; CSV files (with the
          same header) or JSON files (every file&apos;s fields become columns), also .gz or .zst, are converted once into Parquet inside the
          notebook.
        </p>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void link();
          }}
        >
          <label className="field">
            Table name
            <input data-testid="link-folder-name" value={table} disabled={busy || !!finished} onChange={(e) => setTable(e.target.value)} />
          </label>
          <label className="field">
            Only files matching (optional)
            <input
              data-testid="link-folder-pattern"
              value={pattern}
              disabled={busy || !!finished}
              placeholder="every file, e.g. 2024-*.parquet or **/part-*.csv"
              onChange={(e) => setPattern(e.target.value)}
              autoFocus
            />
          </label>
          <p className="muted">
            Matched against each file&apos;s path below the folder: <code>*</code> and <code>?</code> stay inside one folder, <code>**</code> reaches into
            the folders below, <code>[0-9]</code> is one of a set.
          </p>
          <CsvChoicesFields prefix="link-folder" value={choices} disabled={busy || !!finished} onChange={setChoices} />
          {finished && <SkippedRows testId="link-folder-skipped" outcome={finished} done={`Linked ${finished.table.rows.toLocaleString()} rows as ${finished.table.name}`} />}
          {job && progress && (
            <div className="progress" data-testid="link-folder-progress">
              <progress max={100} value={percent} />
              <span className="muted small-text">
                Converting · {progress.rows.toLocaleString()} rows · {percent.toFixed(0)} %
              </span>
            </div>
          )}
          {error && (
            <div className="error-text" role="alert" data-testid="link-folder-error">
              <strong>{error.headline}</strong> {error.detail}
            </div>
          )}
          <div className="modal-actions">
            {finished ? (
              <button type="button" className="primary" data-testid="link-folder-done" onClick={() => onLinked(finished)}>
                Done
              </button>
            ) : (
              <>
                <button type="button" data-testid="link-folder-cancel" onClick={stopOrClose}>
                  Cancel
                </button>
                <button type="submit" className="primary" data-testid="link-folder-go" disabled={busy || table.trim() === ""}>
                  {busy ? (progress ? "Converting…" : "Linking…") : "Link"}
                </button>
              </>
            )}
          </div>
        </form>
      </div>
    </div>
  );
}

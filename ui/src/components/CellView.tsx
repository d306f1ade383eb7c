import { useEffect, useRef, useState } from "react";
import type { Cell } from "../bindings";
import type { Output } from "../store";
import type { NotebookActions } from "./NotebookPane";
import { ResultTable } from "./ResultTable";
import { SqlEditor } from "./SqlEditor";

interface Props {
  /** Table name -> column names, for SQL completion. */
  schema: Record<string, string[]>;
  cell: Cell;
  index: number;
  last: boolean;
  output: Output | undefined;
  actions: NotebookActions;
}

function KeepAsTable({ onKeep }: { onKeep(name: string): Promise<boolean> }) {
  const [name, setName] = useState<string | null>(null);
  if (name === null) {
    return (
      <button className="keep" data-testid="keep-result" onClick={() => setName("")}>
        Keep as table…
      </button>
    );
  }
  return (
    <form
      className="keep"
      onSubmit={(e) => {
        e.preventDefault();
        void onKeep(name).then((ok) => ok && setName(null));
      }}
    >
      <input data-testid="keep-result-name" aria-label="Table name" placeholder="table_name" autoFocus value={name} onChange={(e) => setName(e.target.value)} />
      <button data-testid="keep-result-save" type="submit">
        Keep
      </button>
      <button type="button" onClick={() => setName(null)}>
        Cancel
      </button>
    </form>
  );
}

export function CellView({ schema, cell, index, last, output, actions }: Props) {
  // The text is the user's while they type; the engine gets every change in order.
  const [source, setSource] = useState(cell.source);
  const sent = useRef(cell.source);
  // A new source from the engine that is not our own echo (a reload from disk) replaces the text.
  useEffect(() => {
    if (cell.source !== sent.current) {
      sent.current = cell.source;
      setSource(cell.source);
    }
  }, [cell.source]);
  const sql = cell.kind === "sql";
  return (
    <li
      className={`cell ${cell.kind}`}
      data-testid="cell"
      data-cell-id={cell.id}
      onKeyDown={(e) => {
        if (e.key === "Escape" && output && "running" in output) actions.cancelRun(output.job);
      }}
    >
      <div className="cell-bar">
        <select
          aria-label="Cell kind"
          value={cell.kind}
          onChange={(e) => void actions.setKind(cell.id, e.target.value === "sql" ? "sql" : "markdown")}
        >
          <option value="sql">SQL</option>
          <option value="markdown">Markdown</option>
        </select>
        <div className="spacer" />
        {sql && (
          <button data-testid="run-cell" onClick={() => void actions.runCell(cell.id)} title="Run (Ctrl+Enter)">
            Run
          </button>
        )}
        <button aria-label="Move up" disabled={index === 0} onClick={() => void actions.moveCell(cell.id, index - 1)}>
          ↑
        </button>
        <button aria-label="Move down" disabled={last} onClick={() => void actions.moveCell(cell.id, index + 1)}>
          ↓
        </button>
        <button aria-label="Delete cell" onClick={() => void actions.deleteCell(cell.id)}>
          ✕
        </button>
      </div>
      {sql ? (
        <SqlEditor
          value={source}
          schema={schema}
          errorAt={output && "error" in output ? output.position : null}
          onChange={(text) => {
            setSource(text);
            sent.current = text;
            actions.updateCell(cell.id, text);
          }}
          onRun={() => void actions.runCell(cell.id)}
        />
      ) : (
        <textarea
          data-testid="cell-source"
          aria-label="Markdown"
          spellCheck
          rows={Math.max(3, source.split("\n").length)}
          value={source}
          placeholder="Notes in Markdown"
          onChange={(e) => {
            setSource(e.target.value);
            sent.current = e.target.value;
            actions.updateCell(cell.id, e.target.value);
          }}
        />
      )}
      {output && (
        <div className="cell-output" data-testid="cell-output">
          {"running" in output && (
            <div className="running" data-testid="cell-running">
              <span className="muted">Running… {output.rows > 0 && `${output.rows.toLocaleString()} rows so far`}</span>
              <button data-testid="cancel-run" onClick={() => actions.cancelRun(output.job)} title="Cancel (Esc)">
                Cancel
              </button>
            </div>
          )}
          {"error" in output && (
            <div className="error-text">
              <strong>{output.error.headline}</strong> {output.error.detail}
            </div>
          )}
          {"ok" in output && output.ok.kind === "table" && (
            <>
              <ResultTable preview={output.ok.preview} />
              <div className="result-actions">
                <KeepAsTable onKeep={(name) => actions.keepResult(source, name)} />
                <button data-testid="export-result" onClick={() => void actions.exportResult(source)}>
                  Export…
                </button>
              </div>
            </>
          )}
        </div>
      )}
    </li>
  );
}

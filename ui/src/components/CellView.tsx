import { useEffect, useMemo, useRef, useState } from "react";
import type { Cell } from "../bindings";
import type { Output, StaleResult } from "../store";
import type { NotebookActions } from "./NotebookPane";
import { ChartCell } from "./ChartCell";
import { ProfilePanel } from "./ProfilePanel";
import { useProfile } from "../profiles/useProfile";
import type { Profile } from "../bindings";

/** A result's profile, asked for while it shows. */
function ResultProfile({ subject, load, onClose }: { subject: string; load(job: string): Promise<Profile>; onClose(): void }) {
  return <ProfilePanel state={useProfile(load, subject)} onClose={onClose} />;
}
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
  /** The notebook's cluster connections, where a SQL cell can run instead of this machine. */
  clusters?: string[];
  /** Keeps the whole result as a table and opens it in the grid; true when it was created. */
  onOpenInGrid?(sql: string, table: string, runsOn: string | null): Promise<boolean>;
}

/** A table name not yet taken: result, result_2, result_3… */
export function freeTableName(taken: readonly string[], base = "result"): string {
  const used = new Set(taken.map((t) => t.toLowerCase()));
  if (!used.has(base)) return base;
  let n = 2;
  while (used.has(`${base}_${n}`)) n++;
  return `${base}_${n}`;
}

function KeepAsTable({
  onKeep,
  label = "Keep as table…",
  submit = "Keep",
  suggested = "",
  testId = "keep-result",
}: {
  onKeep(name: string): Promise<boolean>;
  label?: string;
  submit?: string;
  suggested?: string;
  testId?: string;
}) {
  const [name, setName] = useState<string | null>(null);
  if (name === null) {
    return (
      <button className="keep" data-testid={testId} onClick={() => setName(suggested)}>
        {label}
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
      <input data-testid={`${testId}-name`} aria-label="Table name" placeholder="table_name" autoFocus value={name} onChange={(e) => setName(e.target.value)} />
      <button data-testid={`${testId}-save`} type="submit">
        {submit}
      </button>
      <button type="button" onClick={() => setName(null)}>
        Cancel
      </button>
    </form>
  );
}

/** The muted line above a result kept from an earlier run. */
export function staleText(stale: StaleResult): string {
  const when = new Date(stale.saved_ms).toLocaleString();
  const from = stale.last_session ? "From your last session" : "From an earlier run";
  return `${from} (${when}) — run the cell to bring it up to date.`;
}

export function CellView({ schema, cell, index, last, output: given, actions, clusters = [], onOpenInGrid }: Props) {
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
  const [profiling, setProfiling] = useState(false);
  // The query the shown result answers: a profile describes it, not the text typed since.
  const ranCount = useRef(0);
  const ran = useMemo(() => {
    ranCount.current += 1;
    // Where it ran too: the menu may say otherwise by the time the result is kept.
    return { sql: source, on: cell.runs_on ?? null, key: `${cell.id}#${ranCount.current}` };
    // Taken when a new result arrives, not on every keystroke.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [given]);
  const edit = (text: string) => {
    setSource(text);
    sent.current = text;
    actions.updateCell(cell.id, text);
  };
  // A result kept from an earlier run shows only while the cell holds the SQL it answered.
  const output = given && "ok" in given && given.stale && given.stale.sql !== source ? undefined : given;
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
        {cell.kind === "chart" ? (
          <span className="cell-kind">Chart</span>
        ) : (
          <select
            aria-label="Cell kind"
            value={cell.kind}
            onChange={(e) => void actions.setKind(cell.id, e.target.value === "sql" ? "sql" : "markdown")}
          >
            <option value="sql">SQL</option>
            <option value="markdown">Markdown</option>
          </select>
        )}
        {sql && (clusters.length > 0 || cell.runs_on) && (
          <label className="runs-on" title="Where the query runs: here, or on a Ballista cluster connection (it reads linked Parquet in buckets and shared folders)">
            Runs on
            <select data-testid="runs-on" value={cell.runs_on ?? ""} onChange={(e) => void actions.setRunsOn(cell.id, e.target.value === "" ? null : e.target.value)}>
              <option value="">this machine</option>
              {/* A cell can name a cluster no longer in the list (a file edited by hand): it stays shown. */}
              {[...new Set([...clusters, ...(cell.runs_on ? [cell.runs_on] : [])])].map((c) => (
                <option key={c} value={c}>
                  cluster {c}
                </option>
              ))}
            </select>
          </label>
        )}
        <div className="spacer" />
        {(sql || cell.kind === "chart") && (
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
      {cell.kind === "chart" ? (
        <ChartCell schema={schema} cell={cell} source={source} output={given} actions={actions} onSource={edit} />
      ) : sql ? (
        <SqlEditor
          value={source}
          schema={schema}
          errorAt={output && "error" in output ? output.position : null}
          onChange={edit}
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
          onChange={(e) => edit(e.target.value)}
        />
      )}
      {output && cell.kind !== "chart" && (
        <div className="cell-output" data-testid="cell-output">
          {"running" in output && (
            <div className="running" data-testid="cell-running">
              <span className="muted">
                {ran.on ? `Running on cluster ${ran.on}…` : "Running…"} {output.rows > 0 && `${output.rows.toLocaleString()} rows so far`}
              </span>
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
              {output.stale && (
                <div className="muted result-stale" data-testid="result-stale" title="Kept from an earlier run; the tables may have changed since">
                  {staleText(output.stale)}
                </div>
              )}
              <ResultTable preview={output.ok.preview} />
              {(output.ok.preview.notes ?? []).map((note) => (
                <div key={note} className="muted result-note" data-testid="result-note" role="note">
                  {note}
                </div>
              ))}
              <div className="result-actions">
                <KeepAsTable onKeep={(name) => actions.keepResult(ran.sql, name, ran.on)} />
                {/* The preview holds the first rows only; the grid pages through a table, so
                    the way to every row is to keep the result as one (named by the user, as it
                    is saved with the notebook). */}
                {output.ok.preview.truncated && onOpenInGrid && (
                  <KeepAsTable
                    testId="open-all-rows"
                    label={`Open all ${output.ok.preview.row_count.toLocaleString()} rows in the grid…`}
                    submit="Keep and open"
                    suggested={freeTableName(Object.keys(schema))}
                    onKeep={(name) => onOpenInGrid(ran.sql, name, ran.on)}
                  />
                )}
                <button data-testid="export-result" onClick={() => void actions.exportResult(ran.sql, ran.on)}>
                  Export…
                </button>
                <button data-testid="profile-result" aria-pressed={profiling} onClick={() => setProfiling(!profiling)}>
                  Profile
                </button>
                <button
                  data-testid="chart-result"
                  title="Add a chart of this result below the cell"
                  onClick={() => void actions.chartResult(index + 1, ran.sql, output.ok.kind === "table" ? output.ok.preview.columns : [])}
                >
                  Chart
                </button>
              </div>
              {profiling && (
                <ResultProfile subject={ran.key} load={(job) => actions.profileResult(ran.sql, job, ran.on)} onClose={() => setProfiling(false)} />
              )}
            </>
          )}
        </div>
      )}
    </li>
  );
}

import { useCallback, useMemo, useState, type FormEvent, type ReactNode } from "react";
import type { CellId, CellKind, ColumnInfo, DiskChoice, NotebookView, Profile } from "../bindings";
import type { Output } from "../store";
import type { ErrorText } from "../errors";
import { notebookStatusText } from "../status";
import { CellView } from "./CellView";
import { TablesPanel } from "./TablesPanel";
import { useStore } from "../context";

export interface NotebookActions {
  rename(title: string): Promise<boolean>;
  addCell(kind: CellKind): Promise<void>;
  updateCell(cell: CellId, source: string): void;
  setKind(cell: CellId, kind: CellKind): Promise<void>;
  /** Where a SQL cell runs: a cluster connection's name, or null for this machine. */
  setRunsOn(cell: CellId, on: string | null): Promise<void>;
  deleteCell(cell: CellId): Promise<void>;
  moveCell(cell: CellId, to: number): Promise<void>;
  /** Runs one SQL cell; resolves true when it ran without an error. */
  runCell(cell: CellId): Promise<boolean>;
  /** Runs every non-empty SQL cell in order, each after the one before has finished, stopping
   *  at the first that fails. */
  runAll(): Promise<RunAllResult>;
  cancelRun(job: string): void;
  resolve(choice: DiskChoice): Promise<void>;
  duplicate(): Promise<void>;
  askDelete(): void;
  /** Keeps a SQL cell's result as a new table, the query run where the cell runs (`runsOn`: a
   *  cluster connection, or null for this machine); resolves true when it was created. */
  keepResult(sql: string, table: string, runsOn?: string | null): Promise<boolean>;
  /** Writes a SQL cell's whole result to a file the user picks. */
  /** Exports a SQL cell's result; a cell that runs on a cluster (`runsOn`) is read from it. */
  exportResult(sql: string, runsOn?: string | null): Promise<void>;
  /** Adds a chart cell at `index` drawing `sql`'s result, with a first chart its columns suggest. */
  chartResult(index: number, sql: string, columns: ColumnInfo[]): Promise<void>;
  /** Every column's profile of a SQL cell's result; `job` lets it be cancelled. */
  profileResult(sql: string, job: string, runsOn?: string | null): Promise<Profile>;
  /** Saves a drawn chart as an image where the user picks. */
  saveChartImage(format: "png" | "svg", bytes: Uint8Array): Promise<void>;
}

export interface RunAllResult {
  /** How many cells ran without an error. */
  ran: number;
  /** The cell that stopped the run: its place in the notebook (from 0) and its error. */
  failed: { index: number; cell: CellId; error: ErrorText } | null;
}

/** What the notebook says after Run all. */
export function runAllText(r: RunAllResult): string {
  const ran = `${r.ran} SQL cell${r.ran === 1 ? "" : "s"}`;
  if (r.failed) {
    const before = r.ran === 0 ? "" : ` after running ${ran}`;
    return `Run all stopped at cell ${r.failed.index + 1}${before}: ${r.failed.error.headline}`;
  }
  return r.ran === 0 ? "No SQL cells to run" : `Ran ${ran}`;
}

interface Props {
  view: NotebookView | null;
  outputs: Record<CellId, Output>;
  actions: NotebookActions | null;
  /** What shows while no notebook is open. */
  first: ReactNode;
}

export function NotebookPane({ view, outputs, actions, first }: Props) {
  // The SQL editors complete the names of the open notebook's tables and their columns.
  const { state, dispatch } = useStore();
  const tableList = state.tables[view?.summary.id ?? ""];
  // The notebook's Ballista clusters: where a SQL cell can run instead of this machine.
  const connections = view?.connections;
  const clusters = useMemo(() => (connections ?? []).filter((c) => c.kind === "ballista").map((c) => c.name), [connections]);
  const schema = useMemo(
    () => Object.fromEntries((tableList ?? []).map((t) => [t.name, t.columns.map((c) => c.name)])),
    [tableList],
  );
  // A result kept to be seen whole, or a table clicked in the sidebar: the tables panel opens
  // it once it is in its list.
  const openTable = state.openTable;
  const setOpenTable = useCallback((table: string | null) => dispatch({ type: "open_table", table }), [dispatch]);
  // Run all: which notebook is running (the button stays off meanwhile) and the last outcome.
  const [runningAll, setRunningAll] = useState<string | null>(null);
  const [runAllOutcome, setRunAllOutcome] = useState<{ notebook: string; result: RunAllResult } | null>(null);
  if (!view || !actions) return first;
  const { summary, cells } = view;
  const status = summary.status;
  const readOnly = status.state === "unreadable";
  const runAll = async () => {
    const notebook = summary.id;
    setRunningAll(notebook);
    setRunAllOutcome(null);
    try {
      setRunAllOutcome({ notebook, result: await actions.runAll() });
    } finally {
      setRunningAll(null);
    }
  };
  const outcome = runAllOutcome?.notebook === summary.id ? runAllOutcome.result : null;
  return (
    <main className="notebook-area" data-testid="notebook-area">
      <header className="notebook-header">
        <Title key={summary.id} title={summary.title} disabled={readOnly} onRename={actions.rename} />
        <span className={`notebook-status ${status.state}`} data-testid="notebook-status">
          {notebookStatusText(status, summary.on_disk)}
        </span>
        <div className="spacer" />
        <button
          data-testid="run-all"
          title="Run every SQL cell in order, stopping at the first that fails"
          disabled={readOnly || runningAll !== null || !cells.some((c) => c.kind === "sql")}
          onClick={() => void runAll()}
        >
          {runningAll === summary.id ? "Running all…" : "Run all"}
        </button>
        <button onClick={() => void actions.duplicate()} disabled={readOnly}>
          Duplicate
        </button>
        <button data-testid="delete-notebook" onClick={actions.askDelete}>
          Delete
        </button>
      </header>
      {status.state === "changed_on_disk" && (
        <div className="banner warning" data-testid="disk-changed">
          <span>
            This notebook was changed outside Quire while you had unsaved edits. Which version do you
            want?
          </span>
          <button onClick={() => void actions.resolve("reload")}>Use the file on disk</button>
          <button onClick={() => void actions.resolve("keep_mine")}>Keep mine</button>
        </div>
      )}
      {status.state === "unreadable" && (
        <div className="banner error" data-testid="unreadable">
          {status.message}. Quire leaves the file as it is.
        </div>
      )}
      {outcome && (
        <div
          className={outcome.failed ? "banner error" : "banner"}
          role="status"
          data-testid="run-all-status"
          data-failed-cell={outcome.failed?.cell}
        >
          <span>
            {runAllText(outcome)}
            {outcome.failed?.error.detail && <span className="muted"> — {outcome.failed.error.detail}</span>}
          </span>
          <button onClick={() => setRunAllOutcome(null)}>Dismiss</button>
        </div>
      )}
      <ol className="cells" data-testid="cells">
        {cells.map((cell, i) => (
          <CellView
            key={cell.id}
            schema={schema}
            cell={cell}
            index={i}
            last={i === cells.length - 1}
            output={outputs[cell.id]}
            actions={actions}
            clusters={clusters}
            onOpenInGrid={async (sql, table, runsOn) => {
              const ok = await actions.keepResult(sql, table, runsOn);
              if (ok) setOpenTable(table);
              return ok;
            }}
          />
        ))}
      </ol>
      {!readOnly && (
        <TablesPanel
          notebook={summary.id}
          openTable={openTable}
          onOpenedTable={() => setOpenTable(null)}
        />
      )}
      {!readOnly && (
        <div className="add-cells">
          <button data-testid="add-sql-cell" onClick={() => void actions.addCell("sql")}>
            + SQL cell
          </button>
          <button data-testid="add-markdown-cell" onClick={() => void actions.addCell("markdown")}>
            + Markdown cell
          </button>
          <button data-testid="add-chart-cell" onClick={() => void actions.addCell("chart")}>
            + Chart cell
          </button>
        </div>
      )}
    </main>
  );
}

function Title({
  title,
  disabled,
  onRename,
}: {
  title: string;
  disabled: boolean;
  onRename(title: string): Promise<boolean>;
}) {
  const [editing, setEditing] = useState<string | null>(null);
  if (editing === null) {
    return (
      <h1
        data-testid="notebook-title"
        title={disabled ? undefined : "Click to rename"}
        onClick={() => !disabled && setEditing(title)}
      >
        {title}
      </h1>
    );
  }
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (editing === title || (await onRename(editing))) setEditing(null);
  };
  return (
    <form onSubmit={submit} className="rename">
      <input
        data-testid="rename-input"
        aria-label="Notebook title"
        autoFocus
        value={editing}
        onChange={(e) => setEditing(e.target.value)}
        onKeyDown={(e) => e.key === "Escape" && setEditing(null)}
      />
    </form>
  );
}

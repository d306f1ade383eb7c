import type { AppInfo, MetricsSummary, NotebookSummary, QueueStats, TableSaveStatus, TaskStats } from "../bindings";
import { formatBytes } from "../errors";
import { overallStatus, overallText } from "../status";
import { versionText } from "../versions";

interface Props {
  info: AppInfo | null;
  metrics: MetricsSummary | null;
  /** Shown in the metrics panel, not here. */
  queue: QueueStats | null;
  notebooks: NotebookSummary[];
  tables: TableSaveStatus[];
  tasks: TaskStats | null;
  onTasks(): void;
  onMetrics(): void;
  lastSaved: { table: string; version: number } | null;
  flushing: boolean;
  onRetry(): void;
}

/** What is running, in words: "Nothing running", "1 task running · 2 waiting". Failed and
 *  interrupted counts say what happened, not "to retry": a failed cell run is a query's answer,
 *  and the engine's counts do not tell cell runs from retryable work. Failures count from this
 *  start of the app (the task list keeps the older ones): two new users read a fresh start's
 *  "4 failed" as something broken. */
export function taskCounts(t: TaskStats): string {
  const parts = [
    t.running > 0 ? `${t.running} task${t.running === 1 ? "" : "s"} running` : "",
    t.pending > 0 ? `${t.pending} waiting` : "",
  ].filter(Boolean);
  const failed = t.failed_this_session;
  const ended = [failed > 0 ? `${failed} failed` : "", t.interrupted > 0 ? `${t.interrupted} interrupted` : ""].filter(Boolean);
  return [parts.length > 0 ? parts.join(" · ") : "Nothing running", ...ended].join(" · ");
}

/** The engine's I/O in one line, for the Details tooltip; the panel has it minute by minute. */
export function metricsLine(m: MetricsSummary): string {
  return `${m.disk_writes} writes (${m.minute_writes} this min) · ${formatBytes(m.bytes_written)} · ${m.fsyncs} fsyncs · ${(m.coalesced_pct ?? 0).toFixed(0)}% coalesced · ${m.events_in} events → ${m.messages_out} msgs`;
}

export function StatusBar({ info, metrics, notebooks, tables, tasks, onTasks, onMetrics, lastSaved, flushing, onRetry }: Props) {
  const status = overallStatus(notebooks, flushing, tables);
  return (
    <footer className="statusbar">
      <span className={`save-status ${status.kind}`} data-testid="save-status" data-state={status.kind}>
        {overallText(status)}
      </span>
      {lastSaved && (
        <span className="last-saved" data-testid="last-saved" title="The newest saved copy of a table written to disk">
          last saved: {lastSaved.table} {versionText(lastSaved.version)}
        </span>
      )}
      {status.kind === "failed" && (
        <button className="link" data-testid="retry-save" onClick={onRetry}>
          Retry
        </button>
      )}
      <span className="workspace" data-testid="workspace" title={info?.engine.workspace}>
        {info ? info.engine.workspace : "Starting…"}
      </span>
      <button className="link tasks-summary" data-testid="task-counts" onClick={onTasks} title="Open the task list">
        {tasks ? taskCounts(tasks) : "Nothing running"}
      </button>
      <button
        className="link metrics"
        data-testid="metrics"
        data-summary={metrics ? metricsLine(metrics) : ""}
        onClick={onMetrics}
        title={`${metrics ? metricsLine(metrics) + "\n" : ""}Open the metrics panel: disk writes, fsyncs, queue waits and events, the last hour minute by minute`}
      >
        Details
      </button>
      {info && (
        <span className="version" data-testid="engine-version">
          Quire {info.engine.version} · DataFusion {info.engine.datafusion_version}
        </span>
      )}
    </footer>
  );
}

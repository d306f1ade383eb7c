import type { AppInfo, MetricsSummary, NotebookSummary, QueueStats, TableSaveStatus, TaskStats } from "../bindings";
import { formatBytes } from "../errors";
import { overallStatus, overallText } from "../status";
import { versionText } from "../versions";

interface Props {
  info: AppInfo | null;
  metrics: MetricsSummary | null;
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

const PRIORITIES = ["urgent", "visible", "background", "idle"];

/** Failed and interrupted counts say what happened, not "to retry": a failed cell run is a
 *  query's answer, and the engine's counts do not tell cell runs from retryable work. */
export function taskCounts(t: TaskStats): string {
  const ended = [t.failed > 0 ? `${t.failed} failed` : "", t.interrupted > 0 ? `${t.interrupted} interrupted` : ""];
  return [`tasks: ${t.running} running`, `${t.pending} waiting`, ...ended.filter(Boolean)].join(" · ");
}

export function StatusBar({ info, metrics, queue, notebooks, tables, tasks, onTasks, onMetrics, lastSaved, flushing, onRetry }: Props) {
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
      <button
        className="link metrics"
        data-testid="metrics"
        onClick={onMetrics}
        title="Open the metrics panel: the last hour, minute by minute"
      >
        {metrics
          ? `${metrics.disk_writes} writes (${metrics.minute_writes} this min) · ${formatBytes(metrics.bytes_written)} · ${metrics.fsyncs} fsyncs · ${(metrics.coalesced_pct ?? 0).toFixed(0)}% coalesced · ${metrics.events_in} events → ${metrics.messages_out} msgs`
          : "–"}
      </button>
      {queue && (
        <span
          className="queue"
          data-testid="queue"
          title={PRIORITIES.map((p, i) => `${p}: ${queue.started[i]} run, longest wait ${(queue.max_wait_ms[i] ?? 0).toFixed(1)} ms`).join("\n")}
        >
          {`queue ${queue.waiting.reduce((a, b) => a + b, 0)} waiting · ${queue.running.reduce((a, b) => a + b, 0)} running · ${queue.cancelled} cancelled`}
        </span>
      )}
      <button className="link tasks-summary" data-testid="task-counts" onClick={onTasks} title="Open the task list">
        {tasks ? taskCounts(tasks) : "tasks"}
      </button>
      {info && (
        <span className="version" data-testid="engine-version">
          Quire {info.engine.version} · DataFusion {info.engine.datafusion_version}
        </span>
      )}
    </footer>
  );
}

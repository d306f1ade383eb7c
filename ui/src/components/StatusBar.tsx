import type { AppInfo, MetricsSnapshot, NotebookSummary, QueueStats, TableSaveStatus, TaskStats } from "../bindings";
import { formatBytes } from "../errors";
import { overallStatus, overallText } from "../status";

interface Props {
  info: AppInfo | null;
  metrics: MetricsSnapshot | null;
  queue: QueueStats | null;
  notebooks: NotebookSummary[];
  tables: TableSaveStatus[];
  tasks: TaskStats | null;
  onTasks(): void;
  flushing: boolean;
  onRetry(): void;
}

const PRIORITIES = ["urgent", "visible", "background", "idle"];

export function StatusBar({ info, metrics, queue, notebooks, tables, tasks, onTasks, flushing, onRetry }: Props) {
  const status = overallStatus(notebooks, flushing, tables);
  return (
    <footer className="statusbar">
      <span className={`save-status ${status.kind}`} data-testid="save-status" data-state={status.kind}>
        {overallText(status)}
      </span>
      {status.kind === "failed" && (
        <button className="link" data-testid="retry-save" onClick={onRetry}>
          Retry
        </button>
      )}
      <span className="workspace" data-testid="workspace" title={info?.engine.workspace}>
        {info ? info.engine.workspace : "Starting…"}
      </span>
      <span className="metrics" data-testid="metrics">
        {metrics
          ? `${metrics.disk_writes} writes · ${formatBytes(metrics.bytes_written)} · ${metrics.fsyncs} fsyncs · ${metrics.events_emitted} events`
          : "–"}
      </span>
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
        {tasks
          ? `tasks: ${tasks.running} running · ${tasks.pending} waiting · ${tasks.failed + tasks.interrupted} to retry`
          : "tasks"}
      </button>
      {info && (
        <span className="version" data-testid="engine-version">
          Quire {info.engine.version} · DataFusion {info.engine.datafusion_version}
        </span>
      )}
    </footer>
  );
}

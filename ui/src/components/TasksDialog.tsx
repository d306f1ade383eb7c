import { useCallback, useEffect, useState } from "react";
import { useBackend, useNotify } from "../context";
import type { NotebookSummary, NotebookView, Task, TaskStatus } from "../bindings";
import { cleanEngineMessage } from "../engineMessage";
import { taskLabel } from "../taskLabel";
import { useEscape } from "./useEscape";

interface Props {
  /** To name a task's notebook and, for the open one, its cell's number. */
  notebooks: NotebookSummary[];
  view: NotebookView | null;
  onClose(): void;
}

const FILTERS: (TaskStatus | "all")[] = ["all", "running", "pending", "completed", "failed", "cancelled", "interrupted"];
const ENDED_BADLY: TaskStatus[] = ["failed", "cancelled", "interrupted"];

/** A task the engine can run again by itself. A cell run is not: its query is whatever the
 *  cell says now, so it is run again from the notebook, and a failed run is simply a result. */
export function retryable(t: Task): boolean {
  return t.kind !== "cell_run" && ENDED_BADLY.includes(t.status);
}

/** Every recorded task: running and recent ones, by status, with retry for what can be retried. */
export function TasksDialog({ notebooks, view, onClose }: Props) {
  const backend = useBackend();
  const { report, inform } = useNotify();
  const [filter, setFilter] = useState<TaskStatus | "all">("all");
  const [tasks, setTasks] = useState<Task[] | null>(null);
  useEscape(onClose);
  const load = useCallback(() => {
    backend.listTasks(filter === "all" ? null : filter, 200).then(setTasks, report);
  }, [backend, filter, report]);
  useEffect(() => {
    load();
    // While the list is open it follows the work (the engine itself never polls).
    const timer = setInterval(load, 1000);
    return () => clearInterval(timer);
  }, [load]);

  const retry = async (t: Task) => {
    try {
      const again = await backend.retryTask(t.id);
      inform(`${taskLabel(t, notebooks, view).title}: started again`, `It is ${again.status}.`);
      load();
    } catch (e) {
      report(e);
    }
  };

  const clearFinished = async () => {
    try {
      const n = await backend.dismissFinishedTasks();
      inform(`Cleared ${n} finished ${n === 1 ? "task" : "tasks"}`);
      load();
    } catch (e) {
      report(e);
    }
  };

  return (
    <div className="modal-backdrop" role="presentation" onClick={onClose}>
      <div className="modal wide tall" role="dialog" aria-label="Tasks" data-testid="tasks-dialog" onClick={(e) => e.stopPropagation()}>
        <h2>Tasks</h2>
        <label>
          Show{" "}
          <select data-testid="task-filter" value={filter} onChange={(e) => setFilter(e.target.value as TaskStatus | "all")}>
            {FILTERS.map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
        </label>
        <div className="modal-scroll" data-testid="task-scroll">
          <table className="history" data-testid="task-list">
            <thead>
              <tr>
                <th>What</th>
                <th>Status</th>
                <th>Started</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {tasks?.map((t) => {
                const label = taskLabel(t, notebooks, view);
                return (
                  <tr key={t.id} data-testid="task-row" data-task={t.id} data-kind={t.kind} className={t.status}>
                    <td>
                      <span data-testid={`task-label-${t.id}`}>{label.title}</span>
                      {label.detail && <div className="task-detail">{label.detail}</div>}
                      {t.error && <div className="task-error">{cleanEngineMessage(t.error).text}</div>}
                    </td>
                    <td>
                      {t.status}
                      {t.status === "running" && t.progress !== null && <progress max={1} value={t.progress} />}
                      {t.attempts > 1 && <span className="muted"> · attempt {t.attempts}</span>}
                    </td>
                    <td>{t.started_ms ? new Date(t.started_ms).toLocaleTimeString() : "–"}</td>
                    <td>
                      {t.status === "running" && (
                        <button data-testid={`cancel-task-${t.id}`} onClick={() => void backend.cancelTask(t.id).then(load, report)}>
                          Cancel
                        </button>
                      )}
                      {retryable(t) && (
                        <button data-testid={`retry-task-${t.id}`} onClick={() => void retry(t)}>
                          Retry
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {tasks?.length === 0 && <p className="muted">No tasks{filter === "all" ? "" : ` ${filter}`}.</p>}
        </div>
        <div className="modal-actions">
          <button data-testid="tasks-clear" onClick={() => void clearFinished()}>
            Clear finished
          </button>
          <button data-testid="tasks-close" onClick={onClose}>
            Close
          </button>
        </div>
      </div>
    </div>
  );
}

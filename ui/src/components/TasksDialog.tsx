import { useCallback, useEffect, useState } from "react";
import type { Backend } from "../backend";
import type { Task, TaskStatus } from "../bindings";

interface Props {
  backend: Backend;
  report(e: unknown): void;
  inform(headline: string, detail?: string): void;
  onClose(): void;
}

const FILTERS: (TaskStatus | "all")[] = ["all", "running", "pending", "completed", "failed", "cancelled", "interrupted"];
const KIND_WORDS: Record<Task["kind"], string> = {
  cell_run: "Cell run",
  import: "Import",
  transform: "Transform",
  snapshot: "Save",
  export: "Export",
};

/** Every recorded task: running and recent ones, by status, with retry for what failed. */
export function TasksDialog({ backend, report, inform, onClose }: Props) {
  const [filter, setFilter] = useState<TaskStatus | "all">("all");
  const [tasks, setTasks] = useState<Task[] | null>(null);
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
      inform(`${KIND_WORDS[t.kind]} ${t.target ?? ""} runs again`, `Task ${again.id} is ${again.status}.`);
      load();
    } catch (e) {
      report(e);
    }
  };

  return (
    <div className="modal-backdrop" role="presentation" onClick={onClose}>
      <div className="modal wide" role="dialog" aria-label="Tasks" data-testid="tasks-dialog" onClick={(e) => e.stopPropagation()}>
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
        <table className="history" data-testid="task-list">
          <thead>
            <tr>
              <th>#</th>
              <th>What</th>
              <th>Status</th>
              <th>Started</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {tasks?.map((t) => (
              <tr key={t.id} data-testid={`task-${t.id}`} className={t.status}>
                <td>{t.id}</td>
                <td>
                  {KIND_WORDS[t.kind]} {t.target ?? ""}
                  {t.error && <div className="muted">{t.error}</div>}
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
                  {["failed", "cancelled", "interrupted"].includes(t.status) &&
                    (t.kind === "cell_run" ? (
                      <span className="muted">Run the cell again from its notebook</span>
                    ) : (
                      <button data-testid={`retry-task-${t.id}`} onClick={() => void retry(t)}>
                        Retry
                      </button>
                    ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {tasks?.length === 0 && <p className="muted">No tasks{filter === "all" ? "" : ` ${filter}`}.</p>}
        <div className="modal-actions">
          <button data-testid="tasks-close" onClick={onClose}>
            Close
          </button>
        </div>
      </div>
    </div>
  );
}

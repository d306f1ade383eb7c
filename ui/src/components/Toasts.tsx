import { useEffect, useRef } from "react";
import type { Toast } from "../store";

export const INFO_TOAST_MS = 4000;

export function Toasts({ toasts, onDismiss }: { toasts: Toast[]; onDismiss(id: number): void }) {
  // Information fades by itself; an error stays until the user has seen it. One timer per
  // toast, started when it first shows: restarting them all on every new toast kept a busy
  // session's toasts up for ever (found by the soak).
  const timers = useRef(new Map<number, ReturnType<typeof setTimeout>>());
  const dismiss = useRef(onDismiss);
  dismiss.current = onDismiss;
  useEffect(() => {
    const shown = new Set(toasts.map((t) => t.id));
    for (const [id, timer] of timers.current) {
      if (!shown.has(id)) {
        clearTimeout(timer);
        timers.current.delete(id);
      }
    }
    for (const t of toasts) {
      if (t.level === "info" && !timers.current.has(t.id)) {
        timers.current.set(
          t.id,
          setTimeout(() => dismiss.current(t.id), INFO_TOAST_MS),
        );
      }
    }
  }, [toasts]);
  useEffect(() => {
    const all = timers.current;
    return () => all.forEach(clearTimeout);
  }, []);
  return (
    <div className="toasts" role="status" aria-live="polite">
      {toasts.map((t) => (
        <div className={`toast ${t.level}`} key={t.id} data-testid={t.level === "error" ? "toast" : "info-toast"}>
          <strong>{t.text.headline}</strong>
          <span>{t.text.detail}</span>
          <button aria-label="Dismiss" onClick={() => onDismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

import { useEffect, useRef } from "react";
import type { Toast } from "../store";

export const INFO_TOAST_MS = 4000;
/** Errors stay three times longer than information, long enough to read a query's problem;
 *  the close button and the cell's own error output remain for anything longer. */
export const ERROR_TOAST_MS = 12_000;
/** After the pointer leaves, a toast whose time ran out while it was read gets this long. */
export const AFTER_HOVER_MS = 2000;

interface Clock {
  timer: ReturnType<typeof setTimeout> | null;
  deadline: number;
  /** Time left when paused by a hover. */
  left: number;
}

export function Toasts({ toasts, onDismiss }: { toasts: Toast[]; onDismiss(id: number): void }) {
  // One clock per toast, started when it first shows: restarting them all on every new toast
  // kept a busy session's toasts up for ever (found by the soak). While the pointer (or focus)
  // is on the stack every clock stops, so nothing disappears under the reader's eyes.
  const clocks = useRef(new Map<number, Clock>());
  const paused = useRef(false);
  const dismiss = useRef(onDismiss);
  dismiss.current = onDismiss;

  const run = (id: number, clock: Clock, ms: number) => {
    clock.deadline = Date.now() + ms;
    clock.timer = setTimeout(() => dismiss.current(id), ms);
  };

  useEffect(() => {
    // The last toast closed under the pointer: no mouseleave may follow, and a stack paused
    // for ever would keep every later toast up.
    if (toasts.length === 0) paused.current = false;
    const shown = new Set(toasts.map((t) => t.id));
    for (const [id, clock] of clocks.current) {
      if (!shown.has(id)) {
        if (clock.timer) clearTimeout(clock.timer);
        clocks.current.delete(id);
      }
    }
    for (const t of toasts) {
      if (clocks.current.has(t.id)) continue;
      const ms = t.level === "info" ? INFO_TOAST_MS : ERROR_TOAST_MS;
      const clock: Clock = { timer: null, deadline: 0, left: ms };
      clocks.current.set(t.id, clock);
      if (!paused.current) run(t.id, clock, ms);
    }
  }, [toasts]);
  useEffect(() => {
    const all = clocks.current;
    return () => all.forEach((c) => c.timer && clearTimeout(c.timer));
  }, []);

  const pause = () => {
    if (paused.current) return;
    paused.current = true;
    for (const clock of clocks.current.values()) {
      if (!clock.timer) continue;
      clearTimeout(clock.timer);
      clock.timer = null;
      clock.left = clock.deadline - Date.now();
    }
  };
  const resume = () => {
    if (!paused.current) return;
    paused.current = false;
    for (const [id, clock] of clocks.current) {
      if (!clock.timer) run(id, clock, Math.max(clock.left, AFTER_HOVER_MS));
    }
  };

  return (
    <div
      className="toasts"
      role="status"
      aria-live="polite"
      onMouseEnter={pause}
      onMouseLeave={resume}
      onFocus={pause}
      onBlur={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) resume();
      }}
    >
      {toasts.map((t) => (
        <div className={`toast ${t.level}`} key={t.id} data-testid={t.level === "error" ? "toast" : "info-toast"}>
          <strong>{t.text.headline}</strong>
          {t.text.detail && <span>{t.text.detail}</span>}
          <button className="toast-close" aria-label="Dismiss" title="Dismiss" data-testid="toast-close" onClick={() => onDismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

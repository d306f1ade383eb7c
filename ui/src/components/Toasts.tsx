import { useEffect } from "react";
import type { Toast } from "../store";

const INFO_TOAST_MS = 4000;

export function Toasts({ toasts, onDismiss }: { toasts: Toast[]; onDismiss(id: number): void }) {
  // Information fades by itself; an error stays until the user has seen it.
  useEffect(() => {
    const timers = toasts
      .filter((t) => t.level === "info")
      .map((t) => setTimeout(() => onDismiss(t.id), INFO_TOAST_MS));
    return () => timers.forEach(clearTimeout);
  }, [toasts, onDismiss]);
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

import { useState } from "react";
import type { AppInfo, NotebookMode } from "../bindings";
import { applyTheme, savedTheme, type Theme } from "../theme";
import { useEscape } from "./useEscape";

const modes: { mode: NotebookMode; label: string; about: string }[] = [
  { mode: "optimized", label: "Optimized", about: "Edits are saved together 100 ms after you pause (at most 1 s later). New notebooks are written when first saved." },
  { mode: "immediate", label: "Immediate", about: "Every edit is on disk before Quire continues. New notebooks are written at once." },
  { mode: "manual", label: "Manual", about: "Only Flush (Ctrl+S) and quitting save." },
];

function currentMode(info: AppInfo): NotebookMode {
  const n = info.engine.config.notebooks;
  if (!n) return "optimized";
  for (const m of ["optimized", "immediate", "manual"] as const) {
    const [delay, auto, lazy] = m === "optimized" ? [100, true, true] : m === "immediate" ? [0, true, false] : [1000, false, true];
    if (n.flush_delay_ms === delay && n.auto_flush === auto && n.lazy_hydration === lazy && n.max_wait_ms === 1000) return m;
  }
  return "custom";
}

export function SettingsDialog({ info, onMode, onClose }: { info: AppInfo; onMode(m: NotebookMode): void; onClose(): void }) {
  const current = currentMode(info);
  const [theme, setTheme] = useState<Theme>(savedTheme);
  useEscape(onClose);
  return (
    <div className="modal-backdrop" role="presentation" onClick={onClose}>
      <div className="modal" role="dialog" aria-label="Settings" data-testid="settings" onClick={(e) => e.stopPropagation()}>
        <h2>Settings</h2>
        <fieldset>
          <legend>Saving notebooks</legend>
          {modes.map((m) => (
            <label key={m.mode} className="choice">
              <input
                type="radio"
                name="mode"
                data-testid={`mode-${m.mode}`}
                checked={current === m.mode}
                onChange={() => onMode(m.mode)}
              />
              <span>
                <strong>{m.label}</strong>
                <span className="muted"> {m.about}</span>
              </span>
            </label>
          ))}
          {current === "custom" && <p className="muted">Custom values are set in {info.config_dir}/config.toml.</p>}
        </fieldset>
        <fieldset>
          <legend>Appearance</legend>
          <label className="choice">
            <span>Theme</span>
            <select
              data-testid="theme"
              value={theme}
              onChange={(e) => {
                const t = e.target.value as Theme;
                setTheme(t);
                applyTheme(t);
              }}
            >
              <option value="system">Same as the system</option>
              <option value="light">Light</option>
              <option value="dark">Dark</option>
            </select>
          </label>
        </fieldset>
        <p className="muted">Workspace: {info.engine.workspace}</p>
        <p className="muted">Logs: {info.log_dir}</p>
        <div className="modal-actions">
          <button onClick={onClose}>Close</button>
        </div>
      </div>
    </div>
  );
}

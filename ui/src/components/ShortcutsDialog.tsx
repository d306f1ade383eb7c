// The keyboard shortcut sheet: every key Quire itself binds, in one place. Opened with "?"
// (outside a text field) or from the toolbar.
import { useEscape } from "./useEscape";

const mod = typeof navigator !== "undefined" && /Mac/.test(navigator.platform) ? "⌘" : "Ctrl";

export const SHORTCUTS: { area: string; keys: { keys: string[]; does: string }[] }[] = [
  {
    area: "Anywhere",
    keys: [
      { keys: [mod, "S"], does: "Save everything now (Flush)" },
      { keys: ["Esc"], does: "Close a dialog, or stop the running query of the focused cell" },
      { keys: ["?"], does: "Show these shortcuts" },
    ],
  },
  {
    area: "SQL cells",
    keys: [
      { keys: [mod, "Enter"], does: "Run the cell" },
      { keys: ["Tab"], does: "Accept the completion shown (Enter too, once you pick one with ↓ ↑)" },
      { keys: [mod, "Z"], does: "Undo typing (Shift to redo)" },
    ],
  },
  {
    area: "Table grid",
    keys: [
      { keys: ["Enter"], does: "Edit the focused cell (or double-click it)" },
      { keys: ["Delete"], does: "Set the focused cell to NULL" },
      { keys: [mod, "V"], does: "Paste a block copied from a spreadsheet, from the focused cell" },
      { keys: [mod, "Z"], does: "Undo the last edit or transform of the table" },
      { keys: ["Shift", mod, "Z"], does: "Redo" },
      { keys: ["↑ ↓ ← →"], does: "Move between cells" },
    ],
  },
];

/** True for a key press that should open the sheet: "?" typed outside any text field. */
export function asksForShortcuts(e: KeyboardEvent): boolean {
  if (e.key !== "?" || e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return false;
  const target = e.target as HTMLElement | null;
  if (!target || typeof target.closest !== "function") return true;
  return !target.closest("input, textarea, select, [contenteditable=true], .cm-editor, .ag-cell-inline-editing");
}

export function ShortcutsDialog({ onClose }: { onClose(): void }) {
  useEscape(onClose);
  return (
    <div className="modal-backdrop" role="presentation" onClick={onClose}>
      <div className="modal shortcuts" role="dialog" aria-label="Keyboard shortcuts" data-testid="shortcuts" onClick={(e) => e.stopPropagation()}>
        <h2>Keyboard shortcuts</h2>
        {SHORTCUTS.map((group) => (
          <section key={group.area}>
            <h3>{group.area}</h3>
            <dl>
              {group.keys.map((k) => (
                <div key={k.does} className="shortcut">
                  <dt>
                    {k.keys.map((key, i) => (
                      <span key={i}>
                        {i > 0 && "+"}
                        <kbd>{key}</kbd>
                      </span>
                    ))}
                  </dt>
                  <dd>{k.does}</dd>
                </div>
              ))}
            </dl>
          </section>
        ))}
        <div className="modal-actions">
          <button data-testid="shortcuts-close" onClick={onClose}>
            Close
          </button>
        </div>
      </div>
    </div>
  );
}

interface Props {
  /** Notebooks a flush would write; the Flush button is idle when there are none. */
  pending: number;
  flushing: boolean;
  onFlush(): void;
  onSettings(): void;
  onShortcuts(): void;
}

const mod = typeof navigator !== "undefined" && /Mac/.test(navigator.platform) ? "⌘" : "Ctrl+";

export function Toolbar({ pending, flushing, onFlush, onSettings, onShortcuts }: Props) {
  const idle = pending === 0 && !flushing;
  return (
    <header className="toolbar">
      <span className="brand">Quire</span>
      <div className="spacer" />
      <button
        data-testid="flush"
        onClick={onFlush}
        disabled={idle}
        title={idle ? "Nothing to save: everything is on disk" : `Save everything now (${mod}S)`}
      >
        {flushing ? "Saving…" : pending > 0 ? `Flush (${pending})` : "Flush"}
      </button>
      <button data-testid="open-shortcuts" onClick={onShortcuts} title="Keyboard shortcuts (?)">
        Shortcuts
      </button>
      <button data-testid="open-settings" onClick={onSettings} title="Settings">
        Settings
      </button>
    </header>
  );
}

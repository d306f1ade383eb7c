interface Props {
  /** Writes waiting to reach disk; the Flush button is idle when there are none. */
  pending: number;
  onFlush(): void;
}

export function Toolbar({ pending, onFlush }: Props) {
  return (
    <header className="toolbar">
      <span className="brand">Quire</span>
      <div className="spacer" />
      <button
        data-testid="flush"
        onClick={onFlush}
        disabled={pending === 0}
        title={pending === 0 ? "Nothing to save: everything is on disk" : "Save everything now"}
      >
        Flush
      </button>
    </header>
  );
}

// What Quire shows with no notebook open: the way in is a data file (open, drop or a recent
// one), the sample notebook, or a notebook of one's own.
import { useCallback, useEffect, useState } from "react";
import type { RecentFile } from "../bindings";
import { useBackend } from "../context";
import { useSubscription } from "../useSubscription";

interface Props {
  hasNotebooks: boolean;
  /** Opens a data file in a new notebook named after it, with the import dialog. */
  onFile(path: string): Promise<void>;
  onPickFile(): Promise<void>;
  onSample(): Promise<void>;
  onReport(e: unknown): void;
}

/** A notebook title from a file name: `trips-2024.csv.gz` -> `trips-2024`. */
export function titleFromFile(path: string): string {
  const name = path.split(/[\\/]/).pop() ?? "";
  const plain = name.replace(/\.(gz|zst)$/i, "");
  const stem = plain.includes(".") ? plain.slice(0, plain.lastIndexOf(".")) : plain;
  const clean = stem.replace(/[\\/:*?"<>|]/g, " ").trim();
  return clean.length > 0 ? clean.slice(0, 80) : "Data";
}

export function FirstScreen({ hasNotebooks, onFile, onPickFile, onSample, onReport }: Props) {
  const backend = useBackend();
  const [recent, setRecent] = useState<RecentFile[]>([]);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    backend.recentFiles().then(setRecent, onReport);
  }, [backend, onReport]);
  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    try {
      await work();
    } finally {
      setBusy(false);
    }
  };
  // The window takes the drop (the file is then allowed); here it starts a notebook for it.
  useSubscription(
    useCallback(() => backend.onFilesDropped((paths) => void (paths[0] && onFile(paths[0]))), [backend, onFile]),
    onReport,
  );
  return (
    <main className="notebook-area first-screen" data-testid="empty-state">
      <h1>{hasNotebooks ? "Pick a notebook, or start from a file" : "Start with your data"}</h1>
      <div className="drop-zone" data-testid="drop-zone">
        <p>Drop a CSV, Parquet, JSON or Excel file anywhere on this window</p>
        <button type="submit" data-testid="open-data-file" disabled={busy} onClick={() => void run(onPickFile)}>
          Open a data file…
        </button>
        <p className="muted">It opens in a new notebook named after the file; nothing is changed in the file.</p>
      </div>
      {recent.length > 0 && (
        <section className="recent" aria-label="Recent files">
          <h2>Recent files</h2>
          <ul data-testid="recent-files">
            {recent.map((r) => (
              <li key={r.index}>
                <button
                  className="link"
                  disabled={!r.exists || busy}
                  title={r.exists ? `${r.folder}` : `${r.folder} (no longer there)`}
                  onClick={() =>
                    void run(async () => {
                      try {
                        await onFile(await backend.openRecent(r.index, r.name));
                      } catch (e) {
                        onReport(e);
                      }
                    })
                  }
                >
                  {r.name}
                </button>
                <span className="muted"> {r.exists ? new Date(r.opened_ms).toLocaleDateString() : "moved or deleted"}</span>
              </li>
            ))}
          </ul>
        </section>
      )}
      <div className="first-actions">
        <button data-testid="open-sample" disabled={busy} onClick={() => void run(onSample)}>
          Open the sample notebook
        </button>
        <span className="muted">Palmer penguins: a table, a query and two charts to try things on.</span>
      </div>
      {!hasNotebooks && <p className="muted">Or create an empty notebook on the left.</p>}
    </main>
  );
}

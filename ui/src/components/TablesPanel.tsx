import { useCallback, useEffect, useState } from "react";
import type { Backend } from "../backend";
import type { ImportOutcome, ImportPreview, NotebookId, TableInfo } from "../bindings";
import { formatBytes } from "../errors";
import { ImportDialog } from "./ImportDialog";
import { TableGrid } from "./TableGrid";

interface Props {
  backend: Backend;
  notebook: NotebookId;
  report(e: unknown): void;
  inform(headline: string, detail?: string): void;
  /** Bumped by the notebook when a cell kept a result as a table. */
  refreshKey: number;
  /** Told the table list whenever it changes (the SQL editors complete table names). */
  onTables(tables: TableInfo[]): void;
}

/** The notebook's tables: import, list, open in the grid, export. */
export function TablesPanel({ backend, notebook, report, inform, refreshKey, onTables }: Props) {
  const [tables, setTables] = useState<TableInfo[]>([]);
  const [open, setOpen] = useState<string | null>(null);
  const [importing, setImporting] = useState<{ path: string; preview: ImportPreview } | null>(null);

  const refresh = useCallback(async () => {
    try {
      const list = await backend.listTables(notebook);
      setTables(list);
      onTables(list);
    } catch (e) {
      report(e);
    }
  }, [backend, notebook, report, onTables]);

  useEffect(() => {
    void refresh();
  }, [refresh, refreshKey]);

  const open_ = useCallback(
    async (path: string) => {
      try {
        setImporting({ path, preview: await backend.previewImport(path) });
      } catch (e) {
        report(e);
      }
    },
    [backend, report],
  );

  const pick = async () => {
    try {
      const path = await backend.pickImportFile();
      if (path) await open_(path);
    } catch (e) {
      report(e);
    }
  };

  // Dropping a file on the window opens the same import dialog.
  useEffect(() => {
    let stop: (() => void) | undefined;
    let cancelled = false;
    backend
      .onFilesDropped((paths) => {
        if (paths.length > 1) inform("One file at a time", `Importing ${paths[0]}; drop the others after it.`);
        if (paths[0]) void open_(paths[0]);
      })
      .then((s) => (cancelled ? s() : (stop = s)))
      .catch(report);
    return () => {
      cancelled = true;
      stop?.();
    };
  }, [backend, inform, open_, report]);

  const done = async (outcome: ImportOutcome) => {
    setImporting(null);
    await refresh();
    setOpen(outcome.table.name);
    const skipped = outcome.skipped_total > 0 ? `; ${outcome.skipped_total} rows skipped (first at line ${outcome.skipped[0]?.line})` : "";
    inform(`Imported ${outcome.table.rows.toLocaleString()} rows into ${outcome.table.name}`, skipped);
  };

  const [exporting, setExporting] = useState<{ table: string; rows: number; total: number; job: string } | null>(null);
  const exportTable = async (t: TableInfo) => {
    try {
      const path = await backend.pickExportPath(`${t.name}.csv`);
      if (!path) return;
      const job = crypto.randomUUID();
      setExporting({ table: t.name, rows: 0, total: t.rows, job });
      const bytes = await backend.exportTable(notebook, t.name, path, job, (rows) =>
        setExporting({ table: t.name, rows, total: t.rows, job }),
      );
      inform(`Exported ${t.name}`, `${formatBytes(bytes)} written to ${path}`);
    } catch (e) {
      report(e);
    } finally {
      setExporting(null);
    }
  };

  const current = tables.find((t) => t.name === open) ?? null;
  return (
    <section className="tables" data-testid="tables">
      <header className="tables-header">
        <h2>Tables</h2>
        <button data-testid="import-data" onClick={() => void pick()}>
          Import data…
        </button>
      </header>
      {tables.length === 0 ? (
        <p className="muted">No tables yet. Import a CSV, Parquet or JSON file, or keep a query result.</p>
      ) : (
        <ul className="table-list" data-testid="table-list">
          {tables.map((t) => (
            <li key={t.name} className={t.name === open ? "selected" : undefined}>
              <button className="table-name" onClick={() => setOpen(t.name === open ? null : t.name)}>
                {t.name}
              </button>
              <span className="muted">
                {t.rows.toLocaleString()} rows · {t.columns.length} columns · {formatBytes(t.memory_bytes)}
              </span>
              <button data-testid={`export-${t.name}`} onClick={() => void exportTable(t)}>
                Export…
              </button>
            </li>
          ))}
        </ul>
      )}
      {exporting && (
        <div className="progress" data-testid="export-progress">
          <span>Exporting {exporting.table}</span>
          <progress max={Math.max(1, exporting.total)} value={exporting.rows} />
          <span>{exporting.rows.toLocaleString()} rows</span>
          <button data-testid="export-cancel" onClick={() => void backend.cancelJob(exporting.job)}>
            Cancel
          </button>
        </div>
      )}
      {current && <TableGrid key={`${current.name}@${current.version}`} notebook={notebook} table={current} />}
      {importing && (
        <ImportDialog
          backend={backend}
          notebook={notebook}
          path={importing.path}
          preview={importing.preview}
          onDone={(o) => void done(o)}
          onClose={() => setImporting(null)}
        />
      )}
    </section>
  );
}

import { useCallback, useEffect, useRef, useState } from "react";
import type { CellEdit, ImportOutcome, ImportPreview, NotebookId, TableInfo, TableSaveStatus } from "../bindings";
import { formatBytes } from "../errors";
import { tableKey, type TableEvent } from "../store";
import { useBackend, useNotify, useStore } from "../context";
import { useSubscription } from "../useSubscription";
import { ConfirmDialog } from "./ConfirmDialog";
import { LinkFolderDialog } from "./LinkFolderDialog";
import { HistoryDialog } from "./HistoryDialog";
import { TransformDialog } from "./TransformDialog";
import { VersionsDialog } from "./VersionsDialog";
import { ImportDialog } from "./ImportDialog";
import { linkedTitle } from "./linkedTitle";
import { TableGrid } from "./TableGrid";
import { ExportToBucket, isObjectStore } from "./ConnectionsPanel";
import { ProfilePanel, type GridFilter } from "./ProfilePanel";
import { useProfile } from "../profiles/useProfile";
import { savedCopyText, saveStatusTitle } from "../versions";

interface Props {
  notebook: NotebookId;
  /** A table to open in the grid as soon as the list has it (a result kept to be seen whole). */
  openTable?: string | null;
  onOpenedTable?(): void;
}

/** A table's save state in a few words. */
function statusText(s: TableSaveStatus | undefined): string {
  // No word yet: the table was opened from its saved copy (and journal) since Quire started.
  if (!s) return "Saved";
  switch (s.status.state) {
    case "saved":
      return "Saved";
    case "unsaved":
      return "Unsaved";
    case "saving":
      return s.total_rows > 0 ? `Saving… ${Math.floor((100 * s.rows_written) / s.total_rows)}%` : "Saving…";
    case "failed":
      return "Save failed";
    default:
      return "";
  }
}

/** A notebook's tables from the store, loading them (and their save states) when the store
 *  does not have them: the first time, or again after an incomplete catch-up. Table events keep
 *  them current afterwards. */
function useTableList(notebook: NotebookId): TableInfo[] {
  const backend = useBackend();
  const { report } = useNotify();
  const { state, dispatch } = useStore();
  const list = state.tables[notebook];
  const load = list === undefined && !(notebook in state.tablesLoading);
  useEffect(() => {
    if (!load) return;
    dispatch({ type: "tables_loading", notebook });
    backend.listTables(notebook).then(
      (list) => dispatch({ type: "tables", notebook, list }),
      (e: unknown) => {
        // Shown as empty (not loaded again and again); the error says why.
        dispatch({ type: "tables", notebook, list: [] });
        report(e);
      },
    );
    backend.tableSaveStatus(notebook).then((list) => dispatch({ type: "table_statuses", list }), report);
  }, [load, backend, notebook, dispatch, report]);
  return list ?? NO_TABLES;
}

const NO_TABLES: TableInfo[] = [];

/** `name`, or `name_2`, `name_3`, ... : the first no table of the list has. */
export function freeName(name: string, tables: TableInfo[]): string {
  const taken = new Set(tables.map((t) => t.name));
  if (!taken.has(name)) return name;
  for (let i = 2; ; i++) if (!taken.has(`${name}_${i}`)) return `${name}_${i}`;
}

/** The notebook's tables: import, list, open in the grid, export. */
/** The column "Set … in N rows" sets: the one chosen while the table still has it (a rename or a
 *  drop takes it away), else the first. */
function fillColumn(table: TableInfo, chosen: string): string {
  return table.columns.some((c) => c.name === chosen) ? chosen : (table.columns[0]?.name ?? "");
}

/** Whether two versions of a table have the same columns, named and typed alike, in order. */
function sameColumns(a: TableInfo, b: TableInfo): boolean {
  return a.columns.length === b.columns.length && a.columns.every((c, i) => c.name === b.columns[i]?.name && c.data_type === b.columns[i]?.data_type);
}

export function TablesPanel({ notebook, openTable = null, onOpenedTable }: Props) {
  const backend = useBackend();
  const { report, inform } = useNotify();
  const { state, dispatch } = useStore();
  const { tableStatus, pendingImport } = state;
  const tables = useTableList(notebook);
  /** A command's answer about a table, applied at once (its event changes nothing more). */
  const apply = useCallback((event: TableEvent) => dispatch({ type: "table_event", event }), [dispatch]);
  const changed = (table: TableInfo) => apply({ kind: "table_changed", notebook, table });
  const [open, setOpen] = useState<string | null>(null);
  const openRef = useRef(open);
  openRef.current = open;
  const [importing, setImporting] = useState<{ path: string; preview: ImportPreview } | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const [renaming, setRenaming] = useState<{ table: string; to: string } | null>(null);
  const connections = state.view?.summary.id === notebook ? state.view.connections : [];
  const [toBucket, setToBucket] = useState<TableInfo | null>(null);

  const open_ = useCallback(
    async (path: string) => {
      try {
        setImporting({ path, preview: await backend.previewImport(path, null) });
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

  // A file Quire was asked to open (command line, a second launch) opens the import dialog.
  useEffect(() => {
    if (!pendingImport) return;
    dispatch({ type: "pending_import", path: null });
    void open_(pendingImport);
  }, [pendingImport, dispatch, open_]);

  // A result kept from a cell joins the list; the table opens once it is there.
  const section = useRef<HTMLElement | null>(null);
  useEffect(() => {
    if (!openTable || !tables.some((t) => t.name === openTable)) return;
    setOpen(openTable);
    onOpenedTable?.();
    section.current?.scrollIntoView?.({ block: "start", behavior: "smooth" });
  }, [openTable, tables, onOpenedTable]);

  // Dropping a file on the window opens the same import dialog.
  useSubscription(
    useCallback(
      () =>
        backend.onFilesDropped((paths) => {
          if (paths.length > 1) inform("One file at a time", `Importing ${paths[0]}; drop the others after it.`);
          if (paths[0]) void open_(paths[0]);
        }),
      [backend, inform, open_],
    ),
    report,
  );

  const skippedNote = (outcome: ImportOutcome) => {
    const first = outcome.skipped[0];
    if (outcome.skipped_total === 0 || !first) return "";
    return `; ${outcome.skipped_total} rows skipped (first at line ${first.line}${first.file ? ` of ${first.file}` : ""})`;
  };
  const done = (outcome: ImportOutcome) => {
    setImporting(null);
    apply({ kind: "table_added", notebook, table: outcome.table });
    setOpen(outcome.table.name);
    if (outcome.table.converted) {
      const skipped = skippedNote(outcome);
      inform(`Converted ${outcome.table.rows.toLocaleString()} rows into ${outcome.table.name}`, `Kept as Parquet in the notebook's folder${skipped}.`);
      return;
    }
    if (outcome.table.linked) {
      inform(`Linked ${outcome.table.name}`, `${outcome.table.rows.toLocaleString()} rows, read where they lie in ${outcome.table.linked}.`);
      return;
    }
    const skipped = skippedNote(outcome);
    inform(`Imported ${outcome.table.rows.toLocaleString()} rows into ${outcome.table.name}`, skipped);
  };

  /** Links a folder of Parquet files (a dataset written by Spark, DuckDB, pyarrow) as one table:
   *  the folder is picked, then named and its files chosen in a dialog. */
  const [linkingFolder, setLinkingFolder] = useState<string | null>(null);
  const linkFolder = async () => {
    try {
      const path = await backend.pickLinkFolder();
      if (path) setLinkingFolder(path);
    } catch (e) {
      report(e);
    }
  };

  /** A linked table's rows kept as a table of the notebook, which can then be edited. */
  const copyIntoNotebook = async (t: TableInfo) => {
    const to = freeName(`${t.name}_copy`, tables);
    try {
      const info = await backend.copyLinkedTable(notebook, t.name, to);
      apply({ kind: "table_added", notebook, table: info });
      setOpen(info.name);
      inform(`Copied ${t.name} into the notebook`, `${info.name} holds its ${info.rows.toLocaleString()} rows and can be edited.`);
    } catch (e) {
      report(e);
    }
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

  /** Writes a table to a bucket; the dialog stays while it runs, closes when it is done, and
   *  hears a refusal. */
  const exportToBucket = async (t: TableInfo, connection: string, url: string) => {
    const job = crypto.randomUUID();
    setExporting({ table: t.name, rows: 0, total: t.rows, job });
    try {
      const bytes = await backend.exportToBucket(notebook, t.name, connection, url, job, (rows) =>
        setExporting({ table: t.name, rows, total: t.rows, job }),
      );
      setToBucket(null);
      inform(`Exported ${t.name}`, `${formatBytes(bytes)} written to ${url}`);
    } finally {
      setExporting(null);
    }
  };

  const [history, setHistory] = useState<string | null>(null);
  // Bumped when the user replaced a table's content wholesale here (a restore, a transform):
  // its grid view (sort, filters, scroll, selection) starts afresh, as its columns may have
  // changed. The table list itself comes from the store; this only keys the grid.
  const [gridResets, setGridResets] = useState(0);
  // Bumped when cells changed under the grid (undo, redo, a fill): the grid fetches its rows
  // again in place and keeps the user's sort, filters and scroll position.
  const [refreshes, setRefreshes] = useState(0);

  const edit = async (table: string, edits: CellEdit[]): Promise<boolean> => {
    try {
      changed(await backend.editCells(notebook, table, edits));
      return true;
    } catch (e) {
      report(e);
      return false;
    }
  };

  const current = tables.find((t) => t.name === open) ?? null;
  const deletingTable = tables.find((t) => t.name === deleting);
  // A conversion's files are Quire's own and go with the table; a link's files stay.
  const deletingLinked = deletingTable && !deletingTable.converted ? deletingTable.linked : null;
  const [dialog, setDialog] = useState<"transform" | "versions" | null>(null);
  // The column profiles beside the grid, and the filter a click on one of their bars asked for.
  const [profiling, setProfiling] = useState(false);
  const [gridFilter, setGridFilter] = useState<GridFilter | null>(null);
  // Profiled while the panel is open; the headers' sparklines show the same profile. (Profiling
  // every table as it opened starved the grid's pages while a heavy query ran: analyst e2e.)
  const profileSubject = current && profiling ? `${notebook}/${current.name}@${current.version}` : null;
  const tableProfile = useProfile((job) => backend.profileTable(notebook, current?.name ?? "", job), profileSubject);
  const [selected, setSelected] = useState<number[]>([]);
  const [fill, setFill] = useState({ column: "", value: "" });
  // A grid that starts afresh (another table, a restore, a transform) has nothing selected.
  useEffect(() => setSelected([]), [gridResets, current?.name]);
  const fillSelected = async () => {
    if (!current) return;
    const column = fillColumn(current, fill.column);
    const ok = await edit(
      current.name,
      selected.map((row_id) => ({ row_id, column, value: fill.value })),
    );
    if (ok) {
      // The rows stay selected (in the grid, which keeps its state, and here), so another
      // column can be set in the same rows.
      setRefreshes((n) => n + 1);
      inform(`Set ${column} in ${selected.length} ${selected.length === 1 ? "row" : "rows"}`);
    }
  };
  // Bumped when selected rows are gone (deleted): the grid lets go of its selection.
  const [deselects, setDeselects] = useState(0);
  const letGo = useCallback(() => {
    setSelected([]);
    setDeselects((n) => n + 1);
  }, []);
  // One delete at a time: a second click while the first runs would name rows already gone.
  const [removingRows, setRemovingRows] = useState(false);
  const deleteSelected = async () => {
    if (!current || removingRows) return;
    const count = selected.length;
    setRemovingRows(true);
    try {
      changed(await backend.deleteRows(notebook, current.name, selected));
    } catch (e) {
      report(e);
      return;
    } finally {
      setRemovingRows(false);
    }
    letGo();
    setRefreshes((n) => n + 1);
    const where = current.linked && !current.converted ? ` The file ${current.linked} stays as it is.` : "";
    inform(`Deleted ${count} ${count === 1 ? "row" : "rows"} of ${current.name}`, `Undo brings ${count === 1 ? "it" : "them"} back.${where}`);
  };
  // Bumped when a row was added: the grid shows it (see TableGrid's `reveal`).
  const [reveals, setReveals] = useState(0);
  const [addingRow, setAddingRow] = useState(false);
  const addRow = async () => {
    if (!current || addingRow) return;
    setAddingRow(true);
    try {
      const info = (await backend.addRows(notebook, current.name, 1)).table;
      changed(info);
      // Only the grid of the table the row went to (the user may have opened another).
      if (openRef.current === info.name) setReveals((n) => n + 1);
      // A linked table keeps the row with its edits: the user's file is not written.
      const where = current.linked && !current.converted ? ` The file ${current.linked} stays as it is.` : "";
      inform(`Added a row to ${current.name}`, `It is row ${info.rows.toLocaleString()}, empty: type its values in the grid. Undo takes it away.${where}`);
    } catch (e) {
      report(e);
    } finally {
      setAddingRow(false);
    }
  };
  /** Rows a paste needs past the end of the table: added first (a held table, unsorted view). */
  const addRowsForPaste = async (rows: number, view: boolean): Promise<number | null> => {
    if (!current) return null;
    const refuse = (why: string) => {
      inform("Nothing was pasted", `The block is ${rows.toLocaleString()} ${rows === 1 ? "row" : "rows"} longer than ${why}.`);
      return null;
    };
    if (view) return refuse("the sorted or filtered view; clear the sort and filters to paste past the last row");
    try {
      const added = await backend.addRows(notebook, current.name, rows);
      changed(added.table);
      return added.first_row_id;
    } catch (e) {
      report(e);
      return null;
    }
  };
  const [canMove, setCanMove] = useState({ undo: false, redo: false });
  useEffect(() => {
    if (!current) return;
    backend
      .tableVersions(notebook, current.name)
      .then((v) => setCanMove({ undo: v.can_undo, redo: v.can_redo }))
      .catch(() => setCanMove({ undo: false, redo: false }));
  }, [backend, notebook, current?.name, current?.version]);

  const undoRedo = useCallback(
    async (back: boolean) => {
      if (!open) return;
      try {
        const before = tables.find((t) => t.name === open)?.rows;
        const table = await backend.undoRedo(notebook, open, back);
        apply({ kind: "table_changed", notebook, table });
        // Rows came back or went (a delete undone or redone): the selected ones may be gone.
        if (table.rows !== before) letGo();
        setRefreshes((n) => n + 1);
      } catch (e) {
        report(e);
      }
    },
    [backend, notebook, open, report, apply, tables, letGo],
  );

  // Ctrl/Cmd+Z and Shift+Ctrl/Cmd+Z undo and redo table changes while focus is in the tables
  // area and not in a text field or an open cell editor (those keep their own undo).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!(e.ctrlKey || e.metaKey) || e.key.toLowerCase() !== "z" || dialog || current?.missing) return;
      const target = e.target as HTMLElement | null;
      if (!target?.closest?.("[data-testid=tables]")) return;
      if (target.closest("input, textarea, [contenteditable=true]")) return;
      e.preventDefault();
      void undoRedo(!e.shiftKey);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [undoRedo, dialog, current?.missing]);
  /** "Set <column> to <value> in N selected rows": one edit per row, for held and linked tables. */
  const fillControls = current && selected.length > 0 && (
    <span className="fill-selected" data-testid="fill-selected">
      Set
      <select aria-label="Column to set" data-testid="fill-column" value={fillColumn(current, fill.column)} onChange={(e) => setFill({ ...fill, column: e.target.value })}>
        {current.columns.map((c) => (
          <option key={c.name}>{c.name}</option>
        ))}
      </select>
      to
      <input aria-label="New value" data-testid="fill-value" value={fill.value} onChange={(e) => setFill({ ...fill, value: e.target.value })} />
      <button data-testid="fill-apply" onClick={() => void fillSelected()}>
        in {selected.length} selected rows
      </button>
      <button data-testid="delete-rows" disabled={removingRows} title="Remove the selected rows from the table (Undo brings them back)" onClick={() => void deleteSelected()}>
        Delete {selected.length} {selected.length === 1 ? "row" : "rows"}
      </button>
    </span>
  );
  const deleteTable = async (table: string) => {
    setDeleting(null);
    const gone = tables.find((t) => t.name === table);
    const linked = gone && !gone.converted ? gone.linked : null;
    try {
      await backend.deleteTable(notebook, table);
      apply({ kind: "table_removed", notebook, table });
      if (open === table) setOpen(null);
      if (linked) inform(`Removed the link ${table}`, `The files in ${linked} stay where they are.`);
      else inform(`Deleted ${table}`, "The table and its saved copies are gone.");
    } catch (e) {
      report(e);
    }
  };

  const renameTable = async (table: string, to: string) => {
    if (to === "" || to === table) {
      setRenaming(null);
      return;
    }
    try {
      const info = await backend.renameTable(notebook, table, to);
      // As the engine tells it: the new name added, then the old one removed.
      apply({ kind: "table_added", notebook, table: info });
      apply({ kind: "table_removed", notebook, table });
      setRenaming(null);
      if (open === table) setOpen(to);
    } catch (e) {
      report(e);
    }
  };

  return (
    <section className="tables" data-testid="tables" ref={section}>
      <header className="tables-header">
        <h2>Tables</h2>
        <button data-testid="import-data" onClick={() => void pick()}>
          Import data…
        </button>
        <button data-testid="link-folder" title="Link a folder of files as one table: Parquet read where it lies, CSV or JSON converted once" onClick={() => void linkFolder()}>
          Link a folder…
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
                {t.rows.toLocaleString()} rows · {t.columns.length} columns ·{" "}
                {t.converted ? "Parquet in the notebook" : t.linked ? "linked" : formatBytes(t.memory_bytes)}
              </span>
              {t.missing ? (
                <span className="table-status failed" data-testid={`table-missing-${t.name}`} title={t.missing}>
                  Missing
                </span>
              ) : t.linked ? (
                <span
                  className="table-status linked"
                  data-testid={`table-linked-${t.name}`}
                  title={linkedTitle(t)}
                >
                  {t.converted ? "Converted" : "Linked"}
                </span>
              ) : (() => {
                const s = tableStatus[tableKey(notebook, t.name)];
                const state = s?.status.state ?? "saved";
                return (
                  <span
                    className={`table-status ${state}`}
                    data-testid={`table-status-${t.name}`}
                    data-state={state}
                    title={s ? saveStatusTitle(s) : undefined}
                  >
                    {statusText(s)}
                  </span>
                );
              })()}
              {tableStatus[tableKey(notebook, t.name)]?.status.state === "failed" && (
                <button className="link" data-testid={`retry-${t.name}`} onClick={() => void backend.retrySnapshot(notebook, t.name).catch(report)}>
                  Retry
                </button>
              )}
              {!t.linked && (
                <button data-testid={`history-${t.name}`} onClick={() => setHistory(t.name)}>
                  History…
                </button>
              )}
              {!t.missing && (
                <button data-testid={`export-${t.name}`} disabled={exporting !== null} onClick={() => void exportTable(t)}>
                  Export…
                </button>
              )}
              {!t.missing && connections.some(isObjectStore) && (
                <button data-testid={`export-bucket-${t.name}`} disabled={exporting !== null} onClick={() => setToBucket(t)}>
                  To a bucket…
                </button>
              )}
              {t.missing ? null : renaming?.table === t.name ? (
                <form
                  className="rename-table"
                  onSubmit={(e) => {
                    e.preventDefault();
                    void renameTable(t.name, renaming.to.trim());
                  }}
                >
                  <input
                    aria-label={`New name for ${t.name}`}
                    data-testid={`rename-input-${t.name}`}
                    value={renaming.to}
                    autoFocus
                    onChange={(e) => setRenaming({ table: t.name, to: e.target.value })}
                    onKeyDown={(e) => e.key === "Escape" && (e.stopPropagation(), setRenaming(null))}
                  />
                  <button type="submit" data-testid={`rename-save-${t.name}`}>
                    Rename
                  </button>
                  <button type="button" onClick={() => setRenaming(null)}>
                    Cancel
                  </button>
                </form>
              ) : (
                <button data-testid={`rename-${t.name}`} onClick={() => setRenaming({ table: t.name, to: t.name })}>
                  Rename…
                </button>
              )}
              <button className="danger" data-testid={`delete-${t.name}`} onClick={() => setDeleting(t.name)}>
                {t.linked && !t.converted ? "Remove link…" : "Delete…"}
              </button>
            </li>
          ))}
        </ul>
      )}
      {toBucket && (
        <ExportToBucket
          table={toBucket.name}
          connections={connections}
          onClose={() => setToBucket(null)}
          onExport={(connection, url) => exportToBucket(toBucket, connection, url)}
          progress={exporting}
          onStop={() => exporting && void backend.cancelJob(exporting.job)}
        />
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
      {current?.missing && (
        <div className="table-actions" data-testid="table-actions">
          <span className="muted" data-testid="missing-note">
            {current.converted ? (
              <>
                Quire&apos;s copy{current.origin ? <> of <code>{current.origin}</code></> : null} in the notebook&apos;s folder,{" "}
                <code>{current.linked}</code>, cannot be read: {current.missing}. Remove the table and open the file again.
              </>
            ) : (
              <>
                The files of this link, <code>{current.linked}</code>, cannot be read: {current.missing}. Put them back (or plug the
                drive in) and reopen the notebook, or remove the link.
              </>
            )}
          </span>
        </div>
      )}
      {current?.linked && !current.missing && (
        <div className="table-actions" data-testid="table-actions">
          <span className="muted hint" data-testid="linked-note">
            {current.converted && current.origin ? (
              <>
                A copy of <code>{current.origin}</code> as Parquet in the notebook&apos;s folder, read from disk: edits change the copy. Quire does
                not change <code>{current.origin}</code>.
              </>
            ) : current.converted ? (
              <>Converted to Parquet in the notebook&apos;s folder and read from disk.</>
            ) : (
              <>
                Linked: read where it lies in <code>{current.linked}</code>. Quire does not change it: edits are kept beside it.
              </>
            )}
          </span>
          <button data-testid="undo" disabled={!canMove.undo} title="Undo (Ctrl/Cmd+Z)" onClick={() => void undoRedo(true)}>
            Undo
          </button>
          <button data-testid="redo" disabled={!canMove.redo} title="Redo (Shift+Ctrl/Cmd+Z)" onClick={() => void undoRedo(false)}>
            Redo
          </button>
          <button data-testid="open-transform" title="Change values or remove rows (kept beside the files), or change columns (written into a copy in the notebook)" onClick={() => setDialog("transform")}>
            Transform…
          </button>
          <button data-testid="copy-into-notebook" title="A copy held by Quire, with a history of saved versions to go back to" onClick={() => void copyIntoNotebook(current)}>
            Copy into the notebook
          </button>
          <button data-testid="add-row" disabled={addingRow} title="Add an empty row at the end of the table, kept beside its files (Undo takes it away)" onClick={() => void addRow()}>
            Add row
          </button>
          {fillControls}
          <button data-testid="open-profile" aria-pressed={profiling} onClick={() => setProfiling(!profiling)}>
            Profile
          </button>
        </div>
      )}
      {current && !current.linked && (
        <div className="table-actions" data-testid="table-actions">
          <button
            data-testid="undo"
            disabled={!canMove.undo}
            // Undo steps live while Quire runs; saved copies outlive it.
            title={canMove.undo ? "Undo (Ctrl/Cmd+Z)" : "Nothing to undo since Quire opened this table: Changes… lists the saved copies to go back to"}
            onClick={() => void undoRedo(true)}
          >
            Undo
          </button>
          <button data-testid="redo" disabled={!canMove.redo} title="Redo (Shift+Ctrl/Cmd+Z)" onClick={() => void undoRedo(false)}>
            Redo
          </button>
          <button data-testid="open-transform" onClick={() => setDialog("transform")}>
            Transform…
          </button>
          <button data-testid="open-profile" aria-pressed={profiling} onClick={() => setProfiling(!profiling)}>
            Profile
          </button>
          <button data-testid="open-versions" onClick={() => setDialog("versions")}>
            Changes…
          </button>
          <button data-testid="add-row" disabled={addingRow} title="Add an empty row at the end of the table (Undo takes it away)" onClick={() => void addRow()}>
            Add row
          </button>
          {fillControls || <span className="muted hint">Double-click or Enter edits a cell · Delete sets it to NULL · paste a block from a spreadsheet</span>}
        </div>
      )}
      {current && dialog === "transform" && (
        <TransformDialog
          notebook={notebook}
          table={current}
          onApplied={(info, label) => {
            changed(info);
            // Values changed under the same columns: fetched again in place, so the rows the
            // user was looking at, the sort and the filters stay. New or renamed columns or
            // types make a fresh grid (a sort or filter may name a column that is gone).
            if (sameColumns(current, info)) {
              letGo();
              setRefreshes((n) => n + 1);
            } else {
              setGridResets((n) => n + 1);
            }
            setDialog(null);
            // A change the edits beside a linked file cannot hold was written into a copy.
            const copied = current.linked !== null && !current.converted && info.converted;
            // The engine makes no version for a transform that changes nothing.
            if (info.version === current.version && current.linked === null) {
              inform(`${label}: nothing changed`, `Every value of ${info.name} already is what the transform would make it; no version was added.`);
              return;
            }
            inform(
              `${label}: done`,
              copied
                ? `${info.name} now reads its copy in the notebook (${info.rows.toLocaleString()} rows); ${current.linked} stays as it is and is no longer read.`
                : `${info.name} is now version ${info.version} (${info.rows.toLocaleString()} rows).`,
            );
          }}
          onClose={() => setDialog(null)}
        />
      )}
      {current && dialog === "versions" && (
        <VersionsDialog notebook={notebook} table={current} onClose={() => setDialog(null)} />
      )}
      {current && !current.missing && (
        <div className={profiling ? "grid-with-profile" : undefined}>
          <div className="grid-column">
            <TableGrid
              key={`${current.name}#${gridResets}`}
              refresh={refreshes}
              deselect={deselects}
              reveal={reveals}
              notebook={notebook}
              table={current}
              onEdit={(edits) => edit(current.name, edits)}
              onSelection={setSelected}
              onAddRows={addRowsForPaste}
              filter={gridFilter}
              profile={tableProfile.profile}
            />
          </div>
          {profiling && (
            <ProfilePanel state={tableProfile} onFilter={setGridFilter} onClose={() => setProfiling(false)} />
          )}
        </div>
      )}
      {history && (
        <HistoryDialog
          notebook={notebook}
          table={history}
          onRestored={(info, g) => {
            changed(info);
            setGridResets((n) => n + 1);
            setHistory(null);
            inform(
              `Restored ${info.name}`,
              `The ${savedCopyText(g.version)} (saved ${new Date(g.committed_ms).toLocaleString()}) is now version ${info.version}.`,
            );
          }}
          onClose={() => setHistory(null)}
        />
      )}
      {linkingFolder && (
        <LinkFolderDialog
          notebook={notebook}
          folder={linkingFolder}
          onLinked={(outcome) => {
            setLinkingFolder(null);
            done(outcome);
          }}
          onClose={() => setLinkingFolder(null)}
        />
      )}
      {importing && (
        <ImportDialog
          notebook={notebook}
          path={importing.path}
          preview={importing.preview}
          onDone={done}
          onClose={() => setImporting(null)}
        />
      )}
      {deleting && (
        <ConfirmDialog
          title={deletingLinked ? `Remove the link ${deleting}?` : `Delete ${deleting}?`}
          body={
            deletingLinked
              ? `The table ${deleting} leaves this notebook; the files in ${deletingLinked} are not touched. Queries that use it will stop working.`
              : deletingTable?.converted
                ? `The table ${deleting} and its Parquet files in the notebook's folder are removed; ${deletingTable.origin ?? "the file it was converted from"} is not touched. Queries that use it will stop working.`
                : `The table ${deleting} and every saved copy of it are removed from this notebook. Queries that use it will stop working. This cannot be undone.`
          }
          confirm={deletingLinked ? "Remove link" : "Delete table"}
          onConfirm={() => void deleteTable(deleting)}
          onCancel={() => setDeleting(null)}
        />
      )}
    </section>
  );
}

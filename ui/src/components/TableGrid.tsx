import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from "react";
import { AgGridReact } from "ag-grid-react";
import {
  CellStyleModule,
  ColumnApiModule,
  DateFilterModule,
  InfiniteRowModelModule,
  ModuleRegistry,
  NumberFilterModule,
  RowApiModule,
  RowSelectionModule,
  ScrollApiModule,
  TextEditorModule,
  TextFilterModule,
  themeQuartz,
  TooltipModule,
  type CellValueChangedEvent,
  type GridApi,
  type ColDef,
  type GridReadyEvent,
  type IDatasource,
  type SelectionChangedEvent,
} from "ag-grid-community";
import type { CellEdit, NotebookId, Profile, TableInfo, ViewProgress } from "../bindings";
import { Sparkline } from "./Sparkline";
import "./TableGrid.css";
import { displayText, fullTextTooltip, isDateType, isNumericType, typeLabel } from "../format";
import { QuireError } from "../backend";
import { cancelView, fetchPage, filters, ROW_ID_COLUMN, viewProgress, viewProgressText, viewRows, viewSpec, type GridSort, type Row } from "../pages";
import type { GridFilter } from "./ProfilePanel";

// Tooltips and cell classes need their modules: without them the header types, a rounded
// float's full value, NULL styling and right-aligned numbers were configured but never applied.
ModuleRegistry.registerModules([
  InfiniteRowModelModule,
  TextFilterModule,
  NumberFilterModule,
  DateFilterModule,
  TextEditorModule,
  RowSelectionModule,
  TooltipModule,
  CellStyleModule,
  // The API calls that paste, Go to row and a new row's reveal make: without their modules AG
  // Grid answers them with undefined, so paste and Go to row threw and did nothing, and the
  // reveal broke the window (e2e: tables.test.ts).
  ColumnApiModule,
  RowApiModule,
  ScrollApiModule,
]);

/** The column's name with its type under it. */
// `columnName`, not `column`: AG Grid passes its own Column object under that name.
/** The open table's profile, for the headers' sparklines (headers render inside the grid's tree). */
const ProfileContext = createContext<Profile | null>(null);

function HeaderWithType(props: { displayName: string; dataType?: string; columnName?: string }) {
  const profile = useContext(ProfileContext);
  const column = profile?.columns.find((c) => c.name === props.columnName);
  return (
    <span className="header-with-type">
      <span>{props.displayName}</span>
      <span className="header-type-line">
        <span className="type">{props.dataType === undefined ? null : typeLabel(props.dataType)}</span>
        {column && profile && <Sparkline column={column} rows={profile.rows} />}
      </span>
    </span>
  );
}

/** The grid's height as the user last dragged it (a display preference, like the theme). */
const GRID_HEIGHT_KEY = "quire.gridHeight";
function savedGridHeight(): number {
  const h = Number(typeof localStorage === "undefined" ? NaN : localStorage.getItem(GRID_HEIGHT_KEY));
  return Number.isFinite(h) && h >= 180 ? h : 420;
}

/** Rows per page fetched from the engine. */
const PAGE_ROWS = 200;

// Colours come from the app's own variables, so the grid follows the light/dark theme.
const theme = themeQuartz.withParams({
  backgroundColor: "var(--panel)",
  foregroundColor: "var(--text)",
  borderColor: "var(--border)",
  headerBackgroundColor: "var(--bg)",
  fontFamily: "inherit",
  fontSize: 13,
  rowHeight: 28,
  headerHeight: 44,
});

/**
 * A virtual grid over a whole table: AG Grid's infinite row model asks for row ranges as the
 * user scrolls, and each range is one exact page read by position from the engine.
 */
interface Props {
  notebook: NotebookId;
  table: TableInfo;
  /** Sends edits to the engine; false when it refused them (the cell goes back). */
  onEdit(edits: CellEdit[]): Promise<boolean>;
  /** Told the row ids of the selected rows whenever the selection changes. */
  onSelection(rowIds: number[]): void;
  /** Adds `rows` empty rows at the end for a paste longer than the table (`view`: the grid
   *  shows a sorted or filtered view, where the end is not the table's); the first new row's
   *  id, or null when rows cannot be added (the paste is then refused whole). */
  onAddRows?(rows: number, view: boolean): Promise<number | null>;
  /** Bumped when the table's data changed under the grid (undo, redo, a fill): the grid fetches
   *  its rows again in place, so sort, filters and scroll position stay. */
  refresh?: number;
  /** Bumped when the selected rows are gone (deleted): the selection is let go. */
  deselect?: number;
  /** Bumped when rows were added at the end: the grid fetches its rows again and, unless a
   *  sort or filter puts them elsewhere, scrolls to the last row and focuses its first cell
   *  (typing there fills it in). */
  reveal?: number;
  /** A filter asked for from outside the grid (a profile's bar): set on its column, replacing
   *  that column's filter; the others stay. */
  filter?: GridFilter | null;
  /** The table's profile when there is one for this version: sparklines in the headers. */
  profile?: Profile | null;
}

/** The row count line: "1,234 rows", or "12 of 1,234 rows" while filters hide some. */
export function rowsText(total: number, shown: number | null): string {
  if (shown === null || shown === total) return `${total.toLocaleString()} row${total === 1 ? "" : "s"}`;
  return `${shown.toLocaleString()} of ${total.toLocaleString()} rows`;
}

/** The row index to go to for what was typed in the go-to box (1-based, clamped to the rows
 *  there are); null when it is not a number or there are no rows. */
export function goToIndex(typed: string, rows: number): number | null {
  const n = Number(typed.trim().replace(/[,\s_]/g, ""));
  if (typed.trim() === "" || !Number.isFinite(n) || rows <= 0) return null;
  return Math.min(rows, Math.max(1, Math.floor(n))) - 1;
}

/** Cells of a block of text copied from a spreadsheet: rows by line, cells by tab. */
export function parseBlock(text: string): string[][] {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  return lines.map((l) => l.split("\t"));
}

// Grid options AG Grid compares by reference: a new object on each render makes it apply them
// again, which restyles every cell and header (a full repaint of the grid on each save-progress
// event while a snapshot runs), so they are made once.
const DEFAULT_COL_DEF: ColDef<Row> = { resizable: true, sortable: true, floatingFilter: true, minWidth: 80 };
const ROW_SELECTION = { mode: "multiRow", checkboxes: true, headerCheckbox: false, enableClickSelection: false } as const;
const rowIdOf = (p: { data: Row }) => String(p.data[ROW_ID_COLUMN]);

/** Tries for one grid block before it is left blank. */
const PAGE_ATTEMPTS = 4;

/** Page failures that asking again cannot mend. */
const PERMANENT: ReadonlyArray<string> = ["table_not_found", "notebook_not_found", "sql_invalid", "invalid_value", "too_large", "view_cancelled"];

/** How often the grid asks how far a view being made has come. */
const PROGRESS_POLL_MS = 250;
/** How long a page may take before the grid bar says rows are being fetched (no flicker on the
 *  quick ones). */
const FETCHING_AFTER_MS = 400;

function retryable(e: unknown): boolean {
  return !PERMANENT.includes(QuireError.from(e).code);
}

export function TableGrid({ notebook, table, onEdit, onSelection, onAddRows, refresh = 0, deselect = 0, reveal = 0, filter = null, profile = null }: Props) {
  const api = useRef<GridApi<Row> | null>(null);
  const box = useRef<HTMLDivElement>(null);
  const [height] = useState(savedGridHeight);
  useEffect(() => {
    const el = box.current;
    if (!el || typeof ResizeObserver === "undefined") return;
    const watch = new ResizeObserver(() => {
      const h = Math.round(el.getBoundingClientRect().height);
      if (h >= 180) localStorage.setItem(GRID_HEIGHT_KEY, String(h));
    });
    watch.observe(el);
    return () => watch.disconnect();
  }, []);
  // The datasource reads the newest TableInfo through a ref: a new datasource would make AG Grid
  // drop its cache and scroll to the top, which undo must not do.
  const current = useRef(table);
  current.current = table;
  // The grid's callbacks stay the same functions across renders (see DEFAULT_COL_DEF) and read
  // the newest props through this ref.
  const latest = useRef({ onEdit, onSelection, onAddRows });
  latest.current = { onEdit, onSelection, onAddRows };
  // Rows the engine's view has when filters are on (null: no filter, every row shows).
  const [filtered, setFiltered] = useState<number | null>(null);
  const [goTo, setGoTo] = useState("");

  const refreshed = useRef(refresh);
  useEffect(() => {
    if (refresh === refreshed.current) return;
    refreshed.current = refresh;
    // Marks every cached block stale and fetches the visible ones again; the row count comes
    // back with them. Unlike a remount, sort, filter models and scroll stay as they are.
    api.current?.refreshInfiniteCache();
  }, [refresh]);

  const deselected = useRef(deselect);
  useEffect(() => {
    if (deselect === deselected.current) return;
    deselected.current = deselect;
    api.current?.deselectAll();
  }, [deselect]);

  /** Scrolls row `index` into view and focuses its first data column (typing there edits it).
   *  The infinite model loads the block around the row once it scrolls into view. */
  const showRow = (grid: GridApi<Row>, index: number, position: "top" | "bottom") => {
    grid.ensureIndexVisible(index, position);
    const first = grid.getAllDisplayedColumns().find((c) => current.current.columns.some((t) => t.name === c.getColId()));
    if (first) grid.setFocusedCell(index, first);
  };

  const revealed = useRef(reveal);
  // Whether the rows shown are a sorted or filtered view (as the last page asked for).
  const viewed = useRef(false);
  // The view (sort and filters) the grid asked for last, as JSON.
  const shownView = useRef("null");
  // Set below, once per render: the datasource (made once per table) reaches the newest.
  const watchViewRef = useRef<(sorting: boolean) => () => void>(() => () => undefined);
  useEffect(() => {
    if (reveal === revealed.current) return;
    revealed.current = reveal;
    const grid = api.current;
    if (!grid) return;
    const rows = current.current.rows;
    // A sorted or filtered view puts the row where its empty values belong (and counts its
    // own rows): it is fetched again, in place.
    if (viewed.current || rows === 0) {
      grid.refreshInfiniteCache();
      return;
    }
    // The count first: the infinite model scrolls only to rows it knows of.
    grid.setRowCount(rows, true);
    grid.refreshInfiniteCache();
    showRow(grid, rows - 1, "bottom");
    // The grid's own bottom may lie below the window (the notebook scrolls): brought into view,
    // or the new row sits under the window's edge.
    box.current?.scrollIntoView?.({ block: "nearest" });
  }, [reveal]);

  useEffect(() => {
    const grid = api.current;
    if (!grid || !filter) return;
    void grid.setColumnFilterModel(filter.column, filter.model).then(() => grid.onFilterChanged());
  }, [filter]);

  // Paste a block at the focused cell: one edit per cell, sent to the engine at once (all or
  // nothing: a bad value refuses the whole paste), then the grid fetches the rows again. A
  // block longer than the table adds the rows it needs first (two steps for undo: the rows,
  // then the values); where rows cannot be added the paste is refused, never cut short.
  const paste = (e: React.ClipboardEvent) => {
    const grid = api.current;
    const focused = grid?.getFocusedCell();
    if (!grid || !focused || grid.getEditingCells().length > 0 || table.missing) return;
    const block = parseBlock(e.clipboardData.getData("text/plain"));
    if (block.length === 0) return;
    e.preventDefault();
    const columns = grid.getAllDisplayedColumns().map((c) => c.getColId()).filter((c) => c !== "0" && table.columns.some((t) => t.name === c));
    const start = columns.indexOf(focused.column.getColId());
    if (start < 0) return;
    const shown = filtered ?? current.current.rows;
    const missing = focused.rowIndex + block.length - shown;
    const fill = (firstNew: number | null) => {
      const edits: CellEdit[] = [];
      block.forEach((cells, r) => {
        const index = focused.rowIndex + r;
        const rowId = index < shown ? grid.getDisplayedRowAtIndex(index)?.data?.[ROW_ID_COLUMN] : firstNew === null ? undefined : firstNew + index - shown;
        if (rowId === undefined || rowId === null) return;
        cells.forEach((value, c) => {
          const column = columns[start + c];
          if (column) edits.push({ row_id: Number(rowId), column, value });
        });
      });
      void latest.current.onEdit(edits).then((ok) => ok && grid.refreshInfiniteCache());
    };
    if (missing <= 0) return fill(null);
    const add = latest.current.onAddRows;
    if (!add) return;
    void add(missing, viewed.current).then((first) => {
      if (first === null) return;
      grid.setRowCount(current.current.rows, true);
      fill(first);
    });
  };

  const onGridReady = useCallback((e: GridReadyEvent<Row>) => (api.current = e.api), []);
  const onSelectionChanged = useCallback(
    (e: SelectionChangedEvent<Row>) =>
      latest.current.onSelection(e.api.getSelectedNodes().flatMap((n) => (n.data ? [Number(n.data[ROW_ID_COLUMN])] : []))),
    [],
  );
  // Every change of a cell comes here, typed or cleared with Delete (AG Grid's own "cellClear"):
  // one change, one edit, one step of the history.
  const onCellValueChanged = useCallback((e: CellValueChangedEvent<Row>) => {
    const column = e.colDef.field;
    if (!column || e.source === "api") return;
    const raw: unknown = e.newValue;
    const value = raw === null || raw === undefined ? null : String(raw);
    void latest.current.onEdit([{ row_id: Number(e.data[ROW_ID_COLUMN]), column, value }]).then((ok) => {
      // A refused value goes back to what the engine holds.
      if (!ok) e.node.setDataValue(column, e.oldValue, "api");
    });
  }, []);

  const columnsKey = JSON.stringify(table.columns);
  const columnDefs = useMemo<ColDef<Row>[]>(
    () => [
      { headerName: "#", valueGetter: (p) => (p.node?.rowIndex ?? 0) + 1, width: 90, pinned: "left", sortable: false, filter: false },
      ...table.columns.map(
        (c): ColDef<Row> => ({
          field: c.name,
          // Numbers line up on the right, header included.
          type: isNumericType(c.data_type) ? "rightAligned" : undefined,
          headerName: c.name,
          // A linked table's edits are kept beside its files, which Quire never writes.
          editable: true,
          // Every cell edits as text; the engine checks the value against the column's type and
          // answers in words, which a number-only input would pre-empt.
          cellDataType: false,
          headerTooltip: `${c.name}: ${typeLabel(c.data_type)} (${c.data_type})`,
          // The header's params reach its inner component, so the type travels with them.
          headerComponentParams: { innerHeaderComponent: HeaderWithType, dataType: c.data_type, columnName: c.name },
          // Narrow enough that about eight columns fit at 1,280 px; resizable from the header.
          width: isNumericType(c.data_type) ? 130 : 170,
          // Dates by date (a profile's bar of dates is a range the grid keeps), not as text.
          filter: isNumericType(c.data_type) ? "agNumberColumnFilter" : isDateType(c.data_type) ? "agDateColumnFilter" : "agTextColumnFilter",
          filterParams: {
            buttons: ["reset"],
            debounceMs: 300,
            maxNumConditions: 2,
            ...(/^Timestamp\(/.test(c.data_type) ? { filterOptions: ["equals", "lessThan", "greaterThan", "inRange", "blank", "notBlank"] } : {}),
          },
          cellClassRules: { "null-cell": (p) => p.value === null },
          // The cell shows a readable form (floats rounded); the value itself, which the editor
          // opens with and the tooltip shows, stays exact.
          valueFormatter: (p) => displayText(p.value as string | null | undefined, c.data_type),
          tooltip: (p) => fullTextTooltip(p.value as string | null | undefined, c.data_type),
        }),
      ),
    ],
    // Not the whole TableInfo: an edit makes a new version with the same columns, and new
    // column definitions would re-create the header.
    [columnsKey],
  );
  // Pages asked for and not yet answered: while any is slow to come (a save or a heavy query
  // runs), the grid bar says the rows shown are being fetched again, so an undo or an edit
  // whose rows have not arrived yet is not taken for one that did nothing.
  const pending = useRef(0);
  const [fetching, setFetching] = useState(false);
  const fetchTimer = useRef<number | null>(null);
  const pageAsked = useCallback(() => {
    pending.current += 1;
    if (fetchTimer.current === null) fetchTimer.current = window.setTimeout(() => setFetching(pending.current > 0), FETCHING_AFTER_MS);
    return () => {
      pending.current -= 1;
      if (pending.current > 0) return;
      if (fetchTimer.current !== null) window.clearTimeout(fetchTimer.current);
      fetchTimer.current = null;
      setFetching(false);
    };
  }, []);
  useEffect(() => () => {
    if (fetchTimer.current !== null) window.clearTimeout(fetchTimer.current);
  }, []);
  const pageAskedRef = useRef(pageAsked);
  const datasource = useMemo<IDatasource>(
    () => ({
      getRows: (params) => {
        // Sorting and filtering run in the engine as a query; the grid pages through the result.
        const view = viewSpec(params.sortModel as GridSort[], params.filterModel);
        viewed.current = view !== null;
        const asked = JSON.stringify(view);
        shownView.current = asked;
        const name = current.current.name;
        const answered = pageAskedRef.current();
        const load = (attempt: number) => {
          const done = view ? watchViewRef.current(view.sort.length > 0) : () => undefined;
          const total = view ? viewRows(notebook, name, view) : Promise.resolve(current.current.rows);
          Promise.all([total, fetchPage(notebook, name, view, params.startRow, params.endRow - params.startRow)])
            .finally(done)
            .then(([count, rows]) => {
              setFiltered(filters(view) ? count : null);
              params.successCallback(rows, count);
              answered();
            })
            .catch((e: unknown) => {
              // A failed block stays blank until the grid is refreshed: a page the engine
              // dropped or could not serve for the moment is asked for again, a few times.
              // Asked again only while the grid still shows this view: a retry of an older
              // sort would make that view again and cancel the one the user now looks at.
              if (attempt < PAGE_ATTEMPTS && retryable(e) && shownView.current === asked) {
                window.setTimeout(() => load(attempt + 1), 200 * 2 ** attempt);
              } else {
                console.error(`grid page ${params.startRow} of ${name}:`, e);
                params.failCallback();
                answered();
              }
            });
        };
        load(1);
      },
    }),
    // Not table.rows or version: new data reaches the grid through `refresh` (see above);
    // a restore or transform remounts the grid (see TablesPanel).
    [notebook, table.name],
  );
  // A sorted or filtered view of a big linked table takes seconds to make: while page requests
  // wait for one, the grid bar says how far it has read and offers Cancel.
  const [making, setMaking] = useState<{ progress: ViewProgress; sorting: boolean } | null>(null);
  const waiting = useRef(0);
  const poller = useRef<number | null>(null);
  const stopPolling = useCallback(() => {
    if (poller.current !== null) window.clearInterval(poller.current);
    poller.current = null;
    setMaking(null);
  }, []);
  useEffect(() => stopPolling, [stopPolling]);
  // Whether the newest view asked for sorts (else it only filters): the line says which.
  const sortingNow = useRef(false);
  const watchView = useCallback(
    (sorting: boolean) => {
      waiting.current += 1;
      sortingNow.current = sorting;
      if (poller.current === null) {
        poller.current = window.setInterval(() => {
          viewProgress(notebook, current.current.name)
            .then((progress) => {
              if (poller.current !== null) setMaking(progress ? { progress, sorting: sortingNow.current } : null);
            })
            .catch(() => undefined);
        }, PROGRESS_POLL_MS);
      }
      return () => {
        waiting.current -= 1;
        if (waiting.current === 0) stopPolling();
      };
    },
    [notebook, stopPolling],
  );
  watchViewRef.current = watchView;
  const cancelMaking = () => {
    void cancelView(notebook, table.name).catch(() => undefined);
    stopPolling();
    // Back to the table as it is: the cancelled view's pages are dropped.
    const grid = api.current;
    grid?.applyColumnState({ defaultState: { sort: null } });
    grid?.setFilterModel(null);
  };
  const shownRows = filtered ?? table.rows;
  const jump = (e: React.FormEvent) => {
    e.preventDefault();
    const grid = api.current;
    const index = goToIndex(goTo, shownRows);
    if (!grid || index === null) return;
    showRow(grid, index, "top");
  };
  return (
    <ProfileContext.Provider value={profile}>
      <div className="grid-bar">
        <span className="muted" data-testid="grid-rows">
          {rowsText(table.rows, filtered)}
        </span>
        <form className="grid-goto" onSubmit={jump}>
          <input
            aria-label="Go to row"
            data-testid="grid-goto"
            inputMode="numeric"
            placeholder="Go to row"
            value={goTo}
            onChange={(e) => setGoTo(e.target.value)}
          />
        </form>
        {fetching && !making && (
          <span className="muted" role="status" data-testid="grid-fetching">
            Fetching rows…
          </span>
        )}
        {making && (
          <span className="grid-making" role="status" data-testid="view-progress">
            {viewProgressText(making.progress, making.sorting)}
            <button type="button" className="small" data-testid="view-cancel" onClick={cancelMaking}>
              Cancel
            </button>
          </span>
        )}
      </div>
      <div className="grid" ref={box} style={{ height }} data-testid="table-grid" data-table={table.name} onPaste={paste}>
        <AgGridReact<Row>
          theme={theme}
          rowModelType="infinite"
          datasource={datasource}
          columnDefs={columnDefs}
          cacheBlockSize={PAGE_ROWS}
          maxBlocksInCache={40}
          maxConcurrentDatasourceRequests={2}
          blockLoadDebounceMillis={30}
          tooltipShowDelay={500}
          getRowId={rowIdOf}
          // A column's name is its field as written: R's "Sepal.Length" is not a path.
          suppressFieldDotNotation
          onGridReady={onGridReady}
          rowSelection={ROW_SELECTION}
          onSelectionChanged={onSelectionChanged}
          onCellValueChanged={onCellValueChanged}
          defaultColDef={DEFAULT_COL_DEF}
        />
      </div>
    </ProfileContext.Provider>
  );
}

import { afterEach, describe, expect, it, vi } from "vitest";
import { act, cleanup, fireEvent, render, screen } from "@testing-library/react";
import type { ColDef, IDatasource, IGetRowsParams } from "ag-grid-community";
import type { TableInfo } from "../bindings";
import { goToIndex, rowsText, TableGrid } from "./TableGrid";

// AG Grid itself does not lay out in jsdom; a stand-in records what TableGrid hands it and
// gives it a fake api, so the wiring (refresh in place, row counts, go to row) is tested here
// and the real grid in the e2e suite.
const grid = vi.hoisted(() => ({
  datasources: [] as unknown[],
  columnDefs: [] as unknown[],
  api: {
    refreshInfiniteCache: vi.fn(),
    ensureIndexVisible: vi.fn(),
    setFocusedCell: vi.fn(),
    getAllDisplayedColumns: () => [{ getColId: () => "0" }, { getColId: () => "dep_delay" }],
  },
}));
vi.mock("ag-grid-react", async () => {
  const { useEffect } = await import("react");
  return {
    AgGridReact: (props: { datasource: IDatasource; columnDefs: ColDef[]; onGridReady(e: { api: unknown }): void }) => {
      grid.datasources.push(props.datasource);
      grid.columnDefs = props.columnDefs;
      useEffect(() => {
        props.onGridReady({ api: grid.api });
      }, []);
      return <div />;
    },
  };
});
vi.mock("../pages", async (original) => ({
  ...(await original<typeof import("../pages")>()),
  fetchPage: vi.fn(async () => []),
  viewRows: vi.fn(async () => 12),
}));

afterEach(cleanup);

const table = (version: number, rows: number): TableInfo => ({
  name: "flights",
  version,
  rows,
  columns: [
    { name: "dep_delay", data_type: "Float64" },
    { name: "carrier", data_type: "Utf8" },
  ],
  memory_bytes: 0,
  linked: null, converted: false, origin: null, missing: null,
});

function show(t: TableInfo, refresh: number) {
  return <TableGrid notebook="nb" table={t} refresh={refresh} onEdit={async () => true} onSelection={() => undefined} />;
}

describe("TableGrid", () => {
  it("fetches again in place when refreshed, keeping its datasource (a new one resets scroll)", () => {
    grid.datasources = [];
    grid.api.refreshInfiniteCache.mockClear();
    const { rerender } = render(show(table(2, 336_776), 0));
    expect(grid.api.refreshInfiniteCache).not.toHaveBeenCalled();
    // Undo of an append: fewer rows, a new version, and a refresh.
    rerender(show(table(1, 336_770), 1));
    expect(grid.api.refreshInfiniteCache).toHaveBeenCalledTimes(1);
    expect(new Set(grid.datasources).size).toBe(1);
    expect(screen.getByTestId("grid-rows").textContent).toBe(rowsText(336_770, null));
  });

  it("says rows are being fetched while a page is slow to come, and not for a quick one", async () => {
    vi.useFakeTimers();
    try {
      const pages = await import("../pages");
      let answer: (rows: never[]) => void = () => undefined;
      vi.mocked(pages.fetchPage).mockImplementationOnce(() => new Promise((resolve) => (answer = resolve)));
      render(show(table(1, 300), 0));
      const ds = grid.datasources.at(-1) as IDatasource;
      const success = vi.fn();
      const ask = () =>
        ds.getRows({ startRow: 0, endRow: 200, sortModel: [], filterModel: {}, successCallback: success, failCallback: () => undefined, context: undefined } as unknown as IGetRowsParams);
      act(() => ask());
      // A page that answers within the moment shows nothing.
      act(() => vi.advanceTimersByTime(100));
      expect(screen.queryByTestId("grid-fetching")).toBeNull();
      act(() => vi.advanceTimersByTime(400));
      expect(screen.getByTestId("grid-fetching").textContent).toBe("Fetching rows…");
      await act(async () => answer([]));
      expect(success).toHaveBeenCalled();
      expect(screen.queryByTestId("grid-fetching")).toBeNull();
      // A quick page: answered before the moment passes, nothing is said.
      await act(async () => {
        ask();
        await Promise.resolve();
      });
      act(() => vi.advanceTimersByTime(1000));
      expect(screen.queryByTestId("grid-fetching")).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it("shows an added row: the grid scrolls to it, and the page to the grid's bottom", () => {
    const scrolled = vi.fn();
    HTMLElement.prototype.scrollIntoView = scrolled;
    grid.api.ensureIndexVisible.mockClear();
    const reveal = (r: number, t: TableInfo) => <TableGrid notebook="nb" table={t} reveal={r} onEdit={async () => true} onSelection={() => undefined} />;
    const { rerender } = render(reveal(0, table(1, 83)));
    Object.assign(grid.api, { setRowCount: vi.fn() });
    rerender(reveal(1, table(2, 84)));
    expect(grid.api.ensureIndexVisible).toHaveBeenLastCalledWith(83, "bottom");
    expect(scrolled).toHaveBeenCalledWith({ block: "nearest" });
  });

  it("counts the rows a filter leaves and goes to a row", async () => {
    render(show(table(1, 300), 0));
    expect(screen.getByTestId("grid-rows").textContent).toBe("300 rows");
    const ds = grid.datasources.at(-1) as IDatasource;
    const success = vi.fn();
    await act(async () => {
      ds.getRows({
        startRow: 0,
        endRow: 200,
        sortModel: [],
        filterModel: { carrier: { filterType: "text", type: "equals", filter: "UA" } },
        successCallback: success,
        failCallback: () => undefined,
        context: undefined,
      } as unknown as IGetRowsParams);
    });
    expect(success).toHaveBeenCalledWith([], 12);
    expect(screen.getByTestId("grid-rows").textContent).toBe("12 of 300 rows");

    const box = screen.getByTestId("grid-goto");
    fireEvent.change(box, { target: { value: "40" } });
    fireEvent.submit(box);
    // Clamped to the 12 rows the filter leaves; index 11 is row 12.
    expect(grid.api.ensureIndexVisible).toHaveBeenLastCalledWith(11, "top");
    expect(grid.api.setFocusedCell).toHaveBeenLastCalledWith(11, expect.objectContaining({}));
  });

  it("right-aligns number columns and formats their cells", () => {
    render(show(table(1, 3), 0));
    const defs = grid.columnDefs as ColDef[];
    const delay = defs.find((d) => d.field === "dep_delay");
    const carrier = defs.find((d) => d.field === "carrier");
    expect(delay?.type).toBe("rightAligned");
    expect(carrier?.type).toBeUndefined();
    const format = delay?.valueFormatter as (p: { value: unknown }) => string;
    expect(format({ value: "21.920704845814978" })).toBe("21.920704845815");
    expect(format({ value: null })).toBe("NULL");
    // The full value shows on hover (and in the editor, which opens with the exact text).
    const tooltip = delay?.tooltip as (p: { value: unknown }) => unknown;
    expect(tooltip({ value: "21.920704845814978" })).toBe("21.920704845814978");
    expect(tooltip({ value: "12.5" })).toBeUndefined();
  });
});

describe("row count and go to row", () => {
  it("reads the counts", () => {
    expect(rowsText(1, null)).toBe("1 row");
    expect(rowsText(1234, 1234)).toBe(`${(1234).toLocaleString()} rows`);
  });

  it("parses and clamps a row number", () => {
    expect(goToIndex("1", 10)).toBe(0);
    expect(goToIndex("1,000", 5000)).toBe(999);
    expect(goToIndex("0", 10)).toBe(0);
    expect(goToIndex("99", 10)).toBe(9);
    expect(goToIndex("x", 10)).toBeNull();
    expect(goToIndex("", 10)).toBeNull();
    expect(goToIndex("3", 0)).toBeNull();
  });
});

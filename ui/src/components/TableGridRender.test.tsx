import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, waitFor } from "@testing-library/react";
import { TableGrid } from "./TableGrid";

// The real AG Grid in jsdom, with the engine's pages faked: checks that the options TableGrid
// sets are honoured (AG Grid ignores, with only a console error, options whose module is not
// registered; that is how right alignment and NULL styling were silently lost).
vi.mock("../pages", async (original) => ({
  ...(await original<typeof import("../pages")>()),
  fetchPage: vi.fn(async () => [
    { __quire_row_id: "0", dep_delay: "21.920704845814978", carrier: "UA" },
    { __quire_row_id: "1", dep_delay: null, carrier: "AA" },
  ]),
}));

afterEach(cleanup);

describe("TableGrid in AG Grid", () => {
  it("right-aligns numbers, rounds floats, marks NULL, with every module it needs", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const table = {
      name: "flights",
      version: 1,
      rows: 2,
      columns: [
        { name: "dep_delay", data_type: "Float64" },
        { name: "carrier", data_type: "Utf8" },
      ],
      memory_bytes: 0,
      linked: null, converted: false, origin: null, missing: null,
    };
    const { container } = render(
      <div style={{ height: 400, width: 800 }}>
        <TableGrid notebook="nb" table={table} onEdit={async () => true} onSelection={() => undefined} />
      </div>,
    );
    const cell = (row: number, col: string) => container.querySelector(`.ag-row[row-index="${row}"] .ag-cell[col-id="${col}"]`);
    await waitFor(() => expect(cell(0, "dep_delay")?.textContent).toBe("21.920704845815"));
    expect(cell(0, "dep_delay")?.classList.contains("ag-right-aligned-cell")).toBe(true);
    expect(cell(0, "carrier")?.classList.contains("ag-right-aligned-cell")).toBe(false);
    expect(container.querySelector('.ag-header-cell[col-id="dep_delay"]')?.classList.contains("ag-right-aligned-header")).toBe(true);
    expect(cell(1, "dep_delay")?.textContent).toBe("NULL");
    expect(cell(1, "dep_delay")?.classList.contains("null-cell")).toBe(true);
    expect(errors.mock.calls.filter((c) => String(c[0]).includes("AG Grid"))).toEqual([]);
    errors.mockRestore();
  });

  it("draws each profiled column's distribution in its header", async () => {
    const table = {
      name: "flights",
      version: 1,
      rows: 2,
      columns: [
        { name: "dep_delay", data_type: "Float64" },
        { name: "carrier", data_type: "Utf8" },
      ],
      memory_bytes: 0,
      linked: null, converted: false, origin: null, missing: null,
    };
    const column = { nulls: 1, distinct: 1, distinct_exact: true, mean: null, stddev: null, quartiles: null, quartiles_exact: false, not_finite: 0, others: 0 };
    const profile = {
      version: 1,
      rows: 2,
      elapsed_ms: 1,
      columns: [
        { ...column, name: "dep_delay", data_type: "Float64", kind: "number" as const, min: "21.9", max: "21.9", histogram: [{ start: 20, end: 22, count: 1 }, { start: 22, end: 24, count: 0 }], top: [] },
        { ...column, name: "carrier", data_type: "Utf8", kind: "text" as const, nulls: 0, distinct: 2, min: "AA", max: "UA", histogram: [], top: [{ value: "AA", count: 1 }, { value: "UA", count: 1 }] },
      ],
    };
    const { container } = render(
      <div style={{ height: 400, width: 800 }}>
        <TableGrid notebook="nb" table={table} onEdit={async () => true} onSelection={() => undefined} profile={profile} />
      </div>,
    );
    await waitFor(() => expect(container.querySelectorAll("[data-testid=sparkline]")).toHaveLength(2));
    const delay = container.querySelector('.ag-header-cell[col-id="dep_delay"] [data-testid=sparkline]')!;
    expect(delay.querySelectorAll("rect")).toHaveLength(2);
    expect(delay.querySelector("title")?.textContent).toBe("1 missing (50.0 %) · 1 distinct · 21.9 … 21.9");
    expect(container.querySelector('.ag-header-cell[col-id="carrier"] [data-testid=sparkline]')!.querySelectorAll("rect")).toHaveLength(2);
  });

  it("draws nothing again when its parent does with new callbacks, and uses the newest ones", async () => {
    const table = {
      name: "flights",
      version: 1,
      rows: 2,
      columns: [
        { name: "dep_delay", data_type: "Float64" },
        { name: "carrier", data_type: "Utf8" },
      ],
      memory_bytes: 0,
      linked: null, converted: false, origin: null, missing: null,
    };
    // The store changes on every save-progress event; the panel draws again with new closures.
    // Before, each such render handed AG Grid new option objects and it restyled every cell: a
    // repaint of the whole grid several times a second while a snapshot ran.
    const first = vi.fn(async () => true);
    const grid = (onEdit: () => Promise<boolean>) => (
      <div style={{ height: 400, width: 800 }}>
        <TableGrid notebook="nb" table={table} onEdit={onEdit} onSelection={() => undefined} />
      </div>
    );
    const { container, rerender } = render(grid(first));
    const cell = (row: number, col: string) => container.querySelector<HTMLElement>(`.ag-row[row-index="${row}"] .ag-cell[col-id="${col}"]`);
    await waitFor(() => expect(cell(0, "carrier")?.textContent).toBe("UA"));
    const changes: string[] = [];
    const watch = new MutationObserver((records) => {
      for (const r of records) changes.push(`${r.type} ${r.attributeName ?? ""} ${(r.target as Element).className ?? ""}`);
    });
    // AG Grid's own DOM (the go-to box is a React input, which re-sets its attributes).
    watch.observe(container.querySelector(".ag-root-wrapper")!, { subtree: true, attributes: true, childList: true, characterData: true });
    const newest = vi.fn(async () => true);
    for (let i = 0; i < 3; i++) rerender(grid(i === 2 ? newest : vi.fn(async () => true)));
    await new Promise((r) => setTimeout(r, 50));
    watch.disconnect();
    expect(changes).toEqual([]);

    // Delete on a focused cell sets it to null through the newest onEdit.
    fireEvent.mouseDown(cell(0, "carrier")!);
    cell(0, "carrier")!.focus();
    fireEvent.keyDown(cell(0, "carrier")!, { key: "Delete" });
    await waitFor(() => expect(newest).toHaveBeenCalled());
    expect(newest.mock.calls[0]).toEqual([[{ row_id: 0, column: "carrier", value: null }]]);
    // Once: AG Grid clears a cell on Delete itself, and a second edit made a second change in
    // the history, so the first Undo undid nothing the user could see.
    await waitFor(() => expect(cell(0, "carrier")?.textContent).not.toBe("UA"));
    expect(newest).toHaveBeenCalledTimes(1);
    expect(first).not.toHaveBeenCalled();
  });
});

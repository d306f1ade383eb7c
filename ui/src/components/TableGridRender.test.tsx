import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, waitFor } from "@testing-library/react";
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
    };
    const { container } = render(
      <div style={{ height: 400, width: 800 }}>
        <TableGrid notebook="nb" table={table} onEdit={async () => true} onSelection={() => undefined} />
      </div>,
    );
    const cell = (row: number, col: string) => container.querySelector(`.ag-row[row-index="${row}"] .ag-cell[col-id="${col}"]`);
    await waitFor(() => expect(cell(0, "dep_delay")?.textContent).toBe("21.9207"));
    expect(cell(0, "dep_delay")?.classList.contains("ag-right-aligned-cell")).toBe(true);
    expect(cell(0, "carrier")?.classList.contains("ag-right-aligned-cell")).toBe(false);
    expect(container.querySelector('.ag-header-cell[col-id="dep_delay"]')?.classList.contains("ag-right-aligned-header")).toBe(true);
    expect(cell(1, "dep_delay")?.textContent).toBe("NULL");
    expect(cell(1, "dep_delay")?.classList.contains("null-cell")).toBe(true);
    expect(errors.mock.calls.filter((c) => String(c[0]).includes("AG Grid"))).toEqual([]);
    errors.mockRestore();
  });
});

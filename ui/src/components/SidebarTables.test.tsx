import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { compactCount, SidebarTables, TABLE_DRAG } from "./SidebarTables";

afterEach(cleanup);

const tables = [
  { name: "penguins", version: 1, rows: 344, memory_bytes: 1, linked: null, converted: false, origin: null, missing: null, columns: [{ name: "species", data_type: "Utf8" }, { name: "Body Mass", data_type: "Int64" }] },
];

describe("the sidebar's tables", () => {
  it("lists each table with its columns and types, and opens one in the grid", () => {
    const onOpen = vi.fn();
    render(<SidebarTables tables={tables} onOpen={onOpen} />);
    expect(screen.getByTestId("sidebar-columns").textContent).toBe("speciestextBody Massinteger");
    fireEvent.click(screen.getByTestId("sidebar-open-table"));
    expect(onOpen).toHaveBeenCalledWith("penguins");
  });

  it("says a big row count in a few characters, the exact one in its tooltip", () => {
    render(<SidebarTables tables={[{ ...tables[0]!, rows: 336_776, linked: "/data/flights.parquet" }]} onOpen={() => {}} />);
    const count = document.querySelector(".sidebar-rows")!;
    expect(count.textContent).toBe("337k");
    expect([12_345, 1_234_567, 2_500_000_000].map(compactCount)).toEqual(["12.3k", "1.23M", "2.5G"]);
    expect(count.getAttribute("title")).toBe(`${(336_776).toLocaleString()} rows`);
    expect(document.querySelector(".sidebar-linked")!.textContent).toBe("linked");
  });

  it("drags a table as a name and as a table, a column as its SQL name", () => {
    render(<SidebarTables tables={tables} onOpen={() => {}} />);
    const set: Record<string, string> = {};
    const dataTransfer = { setData: (t: string, v: string) => (set[t] = v), effectAllowed: "" };
    fireEvent.dragStart(screen.getByText("penguins").closest("summary")!, { dataTransfer });
    expect(set).toEqual({ "text/plain": "penguins", [TABLE_DRAG]: "penguins" });
    fireEvent.dragStart(screen.getByText("Body Mass").closest("li")!, { dataTransfer });
    expect(set["text/plain"]).toBe('"Body Mass"');
  });
});

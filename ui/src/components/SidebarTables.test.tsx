import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { SidebarTables, TABLE_DRAG } from "./SidebarTables";

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

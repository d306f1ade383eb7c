import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, screen, waitFor } from "@testing-library/react";
import type { Backend } from "../backend";
import { Providers } from "../testBackend";
import type { Generation, TableInfo, TableVersions } from "../bindings";
import { VersionsDialog } from "./VersionsDialog";

afterEach(cleanup);

const versions: TableVersions = {
  items: [
    { version: 4, label: "Opened", op: { op: "opened" }, at_ms: 0, current: false, rows: 10 },
    { version: 5, label: "Edited 3 cells", op: { op: "edit", edits: [] }, at_ms: 0, current: false, rows: 10 },
    { version: 6, label: "Restored saved copy 2", op: { op: "restore", generation: 2 }, at_ms: 0, current: true, rows: 12 },
  ],
  can_undo: true,
  can_redo: false,
};
const copies: Generation[] = [
  { generation: 3, version: 5, rows: 10, bytes: 100, committed_ms: 0 },
  { generation: 2, version: 3, rows: 12, bytes: 100, committed_ms: 0 },
];

function show(version: number) {
  const backend = { tableVersions: async () => versions, tableHistory: async () => copies } as unknown as Backend;
  const table: TableInfo = { name: "trips", version, rows: 12, columns: [], memory_bytes: 8, linked: null, converted: false, origin: null, missing: null };
  render(<Providers backend={backend} notify={{ report: vi.fn(), inform: vi.fn() }}>
      <VersionsDialog notebook="nb" table={table} onClose={vi.fn()} />
    </Providers>);
}

describe("the Changes dialog", () => {
  it("numbers each change by its version and names a restore by the version of its saved copy", async () => {
    show(6);
    await waitFor(() => expect(screen.getByTestId("version-6").textContent).toContain("saved copy of version 3"));
    expect(screen.getAllByTestId("version-number").map((n) => n.textContent)).toEqual(["version 4", "version 5", "version 6"]);
    const restored = screen.getByTestId("version-6").textContent ?? "";
    expect(restored).toContain("Restored the saved copy of version 3");
    expect(restored).not.toContain("copy 2");
    expect(restored).toContain("shown now");
    expect(restored).not.toContain("as version");
  });

  it("after an undo or redo says which number the shown content has now", async () => {
    show(9);
    await waitFor(() => expect(screen.getByTestId("version-6").textContent).toContain("shown now, as version 9"));
  });
});

import { afterEach, describe, expect, it, vi } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { Backend } from "../backend";
import { Providers } from "../testBackend";
import { useStore } from "../context";
import type { Sequenced, TableInfo } from "../bindings";
import { TablesPanel } from "./TablesPanel";

// The grid is replaced by a probe that counts its mounts: a remount is what lost the user's
// sort, filters and scroll position on undo.
const probe = vi.hoisted(() => ({
  mounts: 0,
  refresh: undefined as number | undefined,
  deselect: undefined as number | undefined,
  reveal: undefined as number | undefined,
  rows: 0,
  version: 0,
  select: (_ids: number[]) => undefined as void,
  addRows: undefined as ((rows: number, view: boolean) => Promise<number | null>) | undefined,
}));
vi.mock("./TableGrid", async () => {
  const { useEffect } = await import("react");
  return {
    TableGrid: (props: {
      table: TableInfo;
      refresh?: number;
      deselect?: number;
      reveal?: number;
      onSelection(ids: number[]): void;
      onAddRows?(rows: number, view: boolean): Promise<number | null>;
    }) => {
      useEffect(() => {
        probe.mounts++;
      }, []);
      probe.refresh = props.refresh;
      probe.deselect = props.deselect;
      probe.reveal = props.reveal;
      probe.rows = props.table.rows;
      probe.version = props.table.version;
      probe.select = props.onSelection;
      probe.addRows = props.onAddRows;
      return <div data-testid="table-grid" />;
    },
  };
});

afterEach(cleanup);

function backend() {
  let version = 2;
  const info = (): TableInfo => ({ name: "flights", version, rows: 3, columns: [{ name: "dep_delay", data_type: "Float64" }], memory_bytes: 64, linked: null, converted: false, origin: null, missing: null });
  const fake: Partial<Backend> = {
    listTables: async () => [info()],
    tableSaveStatus: async () => [],
    onFilesDropped: async () => () => undefined,
    tableVersions: async () => ({ items: [], can_undo: true, can_redo: true }),
    // A small table is profiled as it opens (the headers' sparklines); the profile never comes.
    profileTable: () => new Promise(() => {}),
    cancelJob: async () => true,
    undoRedo: async (_nb, _table, back) => {
      version += back ? -1 : 1;
      return info();
    },
  };
  return fake as Backend;
}

function panel(props: { openTable?: string | null; onOpenedTable?(): void } = {}, fake: Backend = backend()) {
  return (
    <Providers
      backend={fake}
      notify={{
        report: (e) => {
          throw e;
        },
        inform: () => undefined,
      }}
    >
      <TablesPanel notebook="nb" {...props} />
    </Providers>
  );
}

describe("TablesPanel", () => {
  it("opens a table it is asked to (a result kept to be seen whole) once the list has it", async () => {
    const opened = vi.fn();
    render(panel({ openTable: "flights", onOpenedTable: opened }));
    await screen.findByTestId("table-grid");
    expect(opened).toHaveBeenCalled();
  });

  it("undo and redo refresh the open grid in place instead of remounting it", async () => {
    probe.mounts = 0;
    render(panel());
    fireEvent.click(await screen.findByRole("button", { name: "flights" }));
    await screen.findByTestId("table-grid");
    const before = probe.refresh;
    await waitFor(() => expect((screen.getByTestId("undo") as HTMLButtonElement).disabled).toBe(false));

    fireEvent.click(screen.getByTestId("undo"));
    await waitFor(() => expect(probe.version).toBe(1));
    expect(probe.refresh).not.toBe(before);
    const afterUndo = probe.refresh;

    fireEvent.click(screen.getByTestId("redo"));
    await waitFor(() => expect(probe.version).toBe(2));
    expect(probe.refresh).not.toBe(afterUndo);
    expect(probe.mounts).toBe(1);
  });

  it("refreshes the grid in place after a transform that keeps the columns (scroll, sort and filters stay), a fresh grid after one that renames a column", async () => {
    probe.mounts = 0;
    const fake = backend();
    let version = 2;
    let name = "dep_delay";
    fake.applyTransform = async () => {
      version += 1;
      return { name: "flights", version, rows: 3, columns: [{ name, data_type: "Float64" }], memory_bytes: 64, linked: null, converted: false, origin: null, missing: null };
    };
    render(panel({}, fake));
    fireEvent.click(await screen.findByRole("button", { name: "flights" }));
    await screen.findByTestId("table-grid");
    act(() => probe.select([1]));
    const before = probe.refresh;
    fireEvent.click(screen.getByTestId("open-transform"));
    fireEvent.change(screen.getByTestId("transform-kind"), { target: { value: "expression" } });
    fireEvent.change(screen.getByTestId("transform-a"), { target: { value: "dep_delay * 2" } });
    fireEvent.click(screen.getByTestId("transform-apply"));
    await waitFor(() => expect(probe.version).toBe(3));
    expect(probe.refresh).not.toBe(before);
    expect(probe.mounts).toBe(1);
    expect(screen.queryByTestId("fill-selected")).toBeNull();

    // The column chosen to set in selected rows, then renamed: the rows get the new name.
    act(() => probe.select([1]));
    fireEvent.change(screen.getByTestId("fill-column"), { target: { value: "dep_delay" } });
    name = "delay";
    fireEvent.click(screen.getByTestId("open-transform"));
    fireEvent.change(screen.getByTestId("transform-kind"), { target: { value: "rename" } });
    fireEvent.change(screen.getByTestId("transform-a"), { target: { value: "delay" } });
    fireEvent.click(screen.getByTestId("transform-apply"));
    await waitFor(() => expect(probe.version).toBe(4));
    expect(probe.mounts).toBe(2);
    const sent: string[] = [];
    fake.editCells = async (_nb, _t, edits) => {
      sent.push(...edits.map((e) => e.column));
      return { name: "flights", version: 5, rows: 3, columns: [{ name, data_type: "Float64" }], memory_bytes: 64, linked: null, converted: false, origin: null, missing: null };
    };
    act(() => probe.select([2]));
    fireEvent.change(screen.getByTestId("fill-value"), { target: { value: "7" } });
    fireEvent.click(screen.getByTestId("fill-apply"));
    await waitFor(() => expect(sent).toEqual(["delay"]));
  });

  it("says a linked file's table reads its copy once a column change wrote one", async () => {
    const fake = backend();
    const linked = (converted: boolean, name: string): TableInfo => ({
      name: "flights",
      version: converted ? 3 : 2,
      rows: 3,
      columns: [{ name, data_type: "Float64" }],
      memory_bytes: 0,
      linked: converted ? "/nb/converted/compact-1" : "/data/flights.parquet",
      converted,
      origin: converted ? "/data/flights.parquet" : null,
      missing: null,
    });
    fake.listTables = async () => [linked(false, "dep_delay")];
    fake.applyTransform = async () => linked(true, "delay");
    const informed: string[] = [];
    render(
      <Providers backend={fake} notify={{ report: (e) => { throw e; }, inform: (title, body) => void informed.push(`${title} ${body ?? ""}`) }}>
        <TablesPanel notebook="nb" />
      </Providers>,
    );
    fireEvent.click(await screen.findByRole("button", { name: "flights" }));
    await screen.findByTestId("table-grid");
    fireEvent.click(screen.getByTestId("open-transform"));
    fireEvent.change(screen.getByTestId("transform-kind"), { target: { value: "rename" } });
    fireEvent.change(screen.getByTestId("transform-a"), { target: { value: "delay" } });
    fireEvent.click(screen.getByTestId("transform-apply"));
    await waitFor(() => expect(informed.some((m) => m.includes("/data/flights.parquet stays as it is and is no longer read"))).toBe(true));
    // The table still says which file its copy was made from, not only the copy's folder.
    await waitFor(() => expect(screen.getByTestId("linked-note").textContent).toContain("A copy of /data/flights.parquet"));
    expect(screen.getByTestId("table-linked-flights").title).toContain("A copy of /data/flights.parquet");
  });

  it("keeps the selection through undo (the grid keeps it too) but not into a fresh grid", async () => {
    render(panel());
    const name = await screen.findByRole("button", { name: "flights" });
    fireEvent.click(name);
    await screen.findByTestId("table-grid");
    act(() => probe.select([4, 5]));
    expect(screen.getByTestId("fill-selected").textContent).toContain("2 selected rows");
    await waitFor(() => expect((screen.getByTestId("undo") as HTMLButtonElement).disabled).toBe(false));
    fireEvent.click(screen.getByTestId("undo"));
    await waitFor(() => expect(probe.version).toBe(1));
    expect(screen.getByTestId("fill-selected").textContent).toContain("2 selected rows");
    // Closed and opened again: a new grid with nothing selected.
    fireEvent.click(name);
    fireEvent.click(name);
    await screen.findByTestId("table-grid");
    expect(screen.queryByTestId("fill-selected")).toBeNull();
  });

  it("deletes the selected rows, lets go of the selection and refreshes the grid in place", async () => {
    probe.mounts = 0;
    const fake = backend();
    let rows = 3;
    const deleteRows = vi.fn(async (_nb: string, table: string, ids: number[]) => {
      rows -= ids.length;
      return { name: table, version: 3, rows, columns: [{ name: "dep_delay", data_type: "Float64" }], memory_bytes: 64, linked: null, converted: false, origin: null, missing: null };
    });
    render(panel({}, { ...fake, deleteRows } as Backend));
    fireEvent.click(await screen.findByRole("button", { name: "flights" }));
    await screen.findByTestId("table-grid");
    act(() => probe.select([4, 5]));
    const [refresh, deselect] = [probe.refresh, probe.deselect];
    expect(screen.getByTestId("delete-rows").textContent).toBe("Delete 2 rows");
    fireEvent.click(screen.getByTestId("delete-rows"));
    await waitFor(() => expect(deleteRows).toHaveBeenCalledWith("nb", "flights", [4, 5]));
    await waitFor(() => expect(probe.version).toBe(3));
    expect(probe.refresh).not.toBe(refresh);
    expect(probe.deselect).not.toBe(deselect);
    expect(screen.queryByTestId("delete-rows")).toBeNull();
    expect(probe.mounts).toBe(1);
  });

  it("adds an empty row and has the grid show it, without a remount", async () => {
    probe.mounts = 0;
    const fake = backend();
    const addRows = vi.fn(async (_nb: string, table: string, n: number) => ({
      table: {
        name: table,
        version: 3,
        rows: 3 + n,
        columns: [{ name: "dep_delay", data_type: "Float64" }],
        memory_bytes: 64,
        linked: null,
        converted: false,
        origin: null,
        missing: null,
      },
      first_row_id: 3,
    }));
    render(panel({}, { ...fake, addRows } as Backend));
    fireEvent.click(await screen.findByRole("button", { name: "flights" }));
    await screen.findByTestId("table-grid");
    const reveal = probe.reveal;
    fireEvent.click(screen.getByTestId("add-row"));
    await waitFor(() => expect(addRows).toHaveBeenCalledWith("nb", "flights", 1));
    await waitFor(() => expect(probe.rows).toBe(4));
    expect(probe.reveal).not.toBe(reveal);
    expect(probe.mounts).toBe(1);
  });

  it("adds the rows a long paste needs, and refuses it in words in a sorted view", async () => {
    const fake = backend();
    const addRows = vi.fn(async (_nb: string, table: string, n: number) => ({
      table: { name: table, version: 3, rows: 3 + n, columns: [{ name: "dep_delay", data_type: "Float64" }], memory_bytes: 64, linked: null, converted: false, origin: null, missing: null },
      first_row_id: 7,
    }));
    const inform = vi.fn();
    render(
      <Providers
        backend={{ ...fake, addRows } as Backend}
        notify={{
          report: (e) => {
            throw e;
          },
          inform,
        }}
      >
        <TablesPanel notebook="nb" />
      </Providers>,
    );
    fireEvent.click(await screen.findByRole("button", { name: "flights" }));
    await screen.findByTestId("table-grid");
    expect(await probe.addRows!(2, true)).toBeNull();
    expect(addRows).not.toHaveBeenCalled();
    expect(inform).toHaveBeenCalledWith("Nothing was pasted", expect.stringContaining("2 rows longer than the sorted or filtered view"));
    expect(await act(() => probe.addRows!(2, false))).toBe(7);
    expect(addRows).toHaveBeenCalledWith("nb", "flights", 2);
    await waitFor(() => expect(probe.rows).toBe(5));
  });

  it("lets go of the selection when undo or redo brings rows back or takes them away", async () => {
    const fake = backend();
    const undoRedo = vi.fn(async () => ({ name: "flights", version: 4, rows: 5, columns: [{ name: "dep_delay", data_type: "Float64" }], memory_bytes: 64, linked: null, converted: false, origin: null, missing: null }));
    render(panel({}, { ...fake, undoRedo } as Backend));
    fireEvent.click(await screen.findByRole("button", { name: "flights" }));
    await screen.findByTestId("table-grid");
    act(() => probe.select([1, 2]));
    const deselect = probe.deselect;
    await waitFor(() => expect((screen.getByTestId("redo") as HTMLButtonElement).disabled).toBe(false));
    fireEvent.click(screen.getByTestId("redo"));
    await waitFor(() => expect(probe.version).toBe(4));
    expect(screen.queryByTestId("fill-selected")).toBeNull();
    expect(probe.deselect).not.toBe(deselect);
  });

  it("deletes a table only after the confirmation, and renames one", async () => {
    let names = ["flights", "planes"];
    const info = (name: string): TableInfo => ({ name, version: 1, rows: 3, columns: [], memory_bytes: 64, linked: null, converted: false, origin: null, missing: null });
    const deleteTable = vi.fn(async (_nb: string, table: string) => {
      names = names.filter((n) => n !== table);
    });
    const renameTable = vi.fn(async (_nb: string, table: string, to: string) => {
      names = names.map((n) => (n === table ? to : n));
      return info(to);
    });
    const fake: Partial<Backend> = {
      listTables: async () => names.map(info),
      tableSaveStatus: async () => [],
      onFilesDropped: async () => () => undefined,
      deleteTable,
      renameTable,
    };
    render(panel({}, fake as Backend));
    fireEvent.click(await screen.findByTestId("delete-planes"));
    expect(deleteTable).not.toHaveBeenCalled();
    fireEvent.click(await screen.findByTestId("confirm-yes"));
    await waitFor(() => expect(screen.queryByRole("button", { name: "planes" })).toBeNull());
    expect(deleteTable).toHaveBeenCalledWith("nb", "planes");

    fireEvent.click(await screen.findByTestId("rename-flights"));
    const input = await screen.findByTestId("rename-input-flights");
    fireEvent.change(input, { target: { value: "trips" } });
    fireEvent.click(screen.getByTestId("rename-save-flights"));
    await screen.findByRole("button", { name: "trips" });
    expect(renameTable).toHaveBeenCalledWith("nb", "flights", "trips");
  });

  it("shows the store's list, kept current by table events, loaded once", async () => {
    let store!: ReturnType<typeof useStore>;
    const Probe = () => ((store = useStore()), null);
    const info = (name: string, rows = 3): TableInfo => ({ name, version: 1, rows, columns: [], memory_bytes: 64, linked: null, converted: false, origin: null, missing: null });
    const listTables = vi.fn(async () => [info("flights")]);
    const fake: Partial<Backend> = { listTables, tableSaveStatus: async () => [], onFilesDropped: async () => () => undefined };
    render(
      <Providers backend={fake as Backend} notify={{ report: (e) => { throw e; }, inform: () => undefined }}>
        <Probe />
        <TablesPanel notebook="nb" />
      </Providers>,
    );
    await screen.findByRole("button", { name: "flights" });
    const events = (...e: Sequenced["event"][]) => act(() => store.dispatch({ type: "engine_events", batch: e.map((event, i) => ({ seq: store.state.lastSeq + i + 1, event })) }));

    events({ kind: "table_added", notebook: "nb", table: info("planes") }, { kind: "table_added", notebook: "other", table: info("elsewhere") });
    expect(screen.getAllByRole("button", { name: /^(flights|planes)$/ }).map((b) => b.textContent)).toEqual(["flights", "planes"]);
    expect(screen.queryByRole("button", { name: "elsewhere" })).toBeNull();

    // A rename: the new name added, then the old one removed.
    events({ kind: "table_added", notebook: "nb", table: info("trips") }, { kind: "table_removed", notebook: "nb", table: "flights" });
    expect(screen.queryByRole("button", { name: "flights" })).toBeNull();
    expect(screen.getByRole("button", { name: "trips" })).toBeTruthy();

    events({ kind: "table_changed", notebook: "nb", table: info("trips", 7) });
    expect(screen.getByTestId("table-list").textContent).toContain("7 rows");
    expect(listTables).toHaveBeenCalledTimes(1);
  });

  it("loads the list again after an incomplete catch-up", async () => {
    let store!: ReturnType<typeof useStore>;
    const Probe = () => ((store = useStore()), null);
    let names = ["flights"];
    const listTables = vi.fn(async () => names.map((name): TableInfo => ({ name, version: 1, rows: 3, columns: [], memory_bytes: 64, linked: null, converted: false, origin: null, missing: null })));
    const fake: Partial<Backend> = { listTables, tableSaveStatus: async () => [], onFilesDropped: async () => () => undefined };
    render(
      <Providers backend={fake as Backend} notify={{ report: (e) => { throw e; }, inform: () => undefined }}>
        <Probe />
        <TablesPanel notebook="nb" />
      </Providers>,
    );
    await screen.findByRole("button", { name: "flights" });
    // Changes whose events the engine no longer has.
    names = ["planes"];
    act(() => store.dispatch({ type: "catch_up", events: [], complete: true }));
    expect(screen.getByRole("button", { name: "flights" })).toBeTruthy();
    act(() => store.dispatch({ type: "catch_up", events: [], complete: false }));
    await screen.findByRole("button", { name: "planes" });
    expect(screen.queryByRole("button", { name: "flights" })).toBeNull();
    expect(listTables).toHaveBeenCalledTimes(2);
  });

  it("shows a linked table as read where it lies: undo for its edits, transforms that remove rows, no history, a link to remove, a copy", async () => {
    const linked: TableInfo = { name: "trips", version: 1, rows: 100_000_000, columns: [], memory_bytes: 0, linked: "/data/trips", converted: false, origin: null, missing: null };
    const copy: TableInfo = { ...linked, name: "trips_copy", linked: null, converted: false, origin: null, missing: null, memory_bytes: 64 };
    const copyLinkedTable = vi.fn(async () => copy);
    const fake: Partial<Backend> = {
      listTables: async () => [linked, { ...copy, name: "trips_copy" }],
      tableSaveStatus: async () => [],
      onFilesDropped: async () => () => undefined,
      tableVersions: async () => ({ items: [], can_undo: true, can_redo: false }),
      copyLinkedTable,
    };
    render(panel({}, fake as Backend));
    await screen.findByRole("button", { name: "trips" });
    expect(screen.getByTestId("table-linked-trips").textContent).toBe("Linked");
    expect(screen.queryByTestId("history-trips")).toBeNull();
    expect(screen.getByTestId("history-trips_copy")).toBeTruthy();
    expect(screen.getByTestId("delete-trips").textContent).toBe("Remove link…");
    fireEvent.click(screen.getByRole("button", { name: "trips" }));
    expect(screen.getByTestId("linked-note").textContent).toContain("/data/trips");
    // Its cell edits undo and redo as the engine says they can.
    await waitFor(() => expect((screen.getByTestId("undo") as HTMLButtonElement).disabled).toBe(false));
    expect((screen.getByTestId("redo") as HTMLButtonElement).disabled).toBe(true);
    // Transform… opens the dialog that offers only what removes rows (TransformDialog.test.tsx).
    expect(screen.getByTestId("open-transform")).toBeTruthy();
    fireEvent.click(screen.getByTestId("copy-into-notebook"));
    // trips_copy is taken: the copy gets the next free name.
    await waitFor(() => expect(copyLinkedTable).toHaveBeenCalledWith("nb", "trips", "trips_copy_2"));
  });

  it("shows a converted table as Quire's own Parquet: deleted with its files, not unlinked", async () => {
    const converted: TableInfo = {
      name: "big",
      version: 1,
      rows: 50_000_000,
      columns: [],
      memory_bytes: 0,
      linked: "/ws/big.quire/converted/0192",
      converted: true,
      origin: "/data/big.csv",
      missing: null,
    };
    const deleteTable = vi.fn(async () => undefined);
    const fake: Partial<Backend> = {
      listTables: async () => [converted],
      tableSaveStatus: async () => [],
      onFilesDropped: async () => () => undefined,
      tableVersions: async () => ({ items: [], can_undo: false, can_redo: false }),
      deleteTable,
    };
    render(panel({}, fake as Backend));
    await screen.findByRole("button", { name: "big" });
    expect(screen.getByTestId("table-linked-big").textContent).toBe("Converted");
    expect(screen.getByTestId("delete-big").textContent).toBe("Delete…");
    fireEvent.click(screen.getByRole("button", { name: "big" }));
    expect(screen.getByTestId("linked-note").textContent).toContain("A copy of /data/big.csv as Parquet in the notebook's folder");
    fireEvent.click(screen.getByTestId("delete-big"));
    expect(screen.getByTestId("confirm").textContent).toContain("its Parquet files in the notebook's folder are removed; /data/big.csv is not touched");
    fireEvent.click(screen.getByTestId("confirm-yes"));
    await waitFor(() => expect(deleteTable).toHaveBeenCalledWith("nb", "big"));
  });

  it("lists a link whose files are missing, says why, and offers only to remove it", async () => {
    const gone: TableInfo = {
      name: "trips",
      version: 1,
      rows: 0,
      columns: [],
      memory_bytes: 0,
      linked: "/media/usb/trips",
      converted: false,
      origin: null,
      missing: "the folder /media/usb/trips does not exist",
    };
    const deleteTable = vi.fn(async () => undefined);
    const fake: Partial<Backend> = {
      listTables: async () => [gone],
      tableSaveStatus: async () => [],
      onFilesDropped: async () => () => undefined,
      tableVersions: async () => ({ items: [], can_undo: false, can_redo: false }),
      deleteTable,
    };
    render(panel({}, fake as Backend));
    await screen.findByRole("button", { name: "trips" });
    expect(screen.getByTestId("table-missing-trips").textContent).toBe("Missing");
    expect(screen.queryByTestId("export-trips")).toBeNull();
    expect(screen.queryByTestId("rename-trips")).toBeNull();
    expect(screen.queryByTestId("history-trips")).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "trips" }));
    expect(screen.getByTestId("missing-note").textContent).toContain("does not exist");
    expect(screen.queryByTestId("table-grid")).toBeNull();
    expect(screen.getByTestId("delete-trips").textContent).toBe("Remove link…");
    fireEvent.click(screen.getByTestId("delete-trips"));
    fireEvent.click(screen.getByTestId("confirm-yes"));
    await waitFor(() => expect(deleteTable).toHaveBeenCalledWith("nb", "trips"));
  });
});

import { afterEach, describe, expect, it, vi } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { backendOf, Providers } from "../testBackend";
import { QuireError } from "../backend";
import type { Connection, ImportProgress, NotebookView, TableInfo } from "../bindings";
import { checkText, connectionOf, ConnectionsPanel, EMPTY_FORM, firstRowsOf, isTextObject, nameOfUrl, portOf } from "./ConnectionsPanel";

afterEach(cleanup);

const lake: Connection = { name: "lake", kind: "s3", s3: { endpoint: "http://127.0.0.1:9000", region: null, profile: "work" } };
const view = (connections: Connection[]): NotebookView => ({
  summary: { id: "nb", title: "Lake", cell_count: 0, on_disk: true, folder: "lake.quire", status: { state: "saved" } },
  cells: [],
  connections,
});
const type = (testid: string, value: string) => fireEvent.change(screen.getByTestId(testid), { target: { value } });

const shop: Connection = {
  name: "shop",
  kind: "postgres",
  postgres: { host: "127.0.0.1", port: 5433, user: "ana", database: "shop", sslmode: null },
};

describe("the connections panel", () => {
  it("adds a PostgreSQL database (no password field), lists its tables and queries one", async () => {
    const testConnection = vi.fn(async () => ({
      endpoint: "postgres://ana@127.0.0.1:5433/shop",
      objects: 2,
      folders: 2,
      elapsed_ms: 9,
      server: "PostgreSQL 15.8",
    }));
    const saveConnection = vi.fn(async (_nb: string, c: Connection) => view([c]));
    const browseConnection = vi.fn(async () => [
      { schema: "crm", name: "Mixed Case", kind: "table", estimated_rows: null },
      { schema: "public", name: "orders", kind: "table", estimated_rows: 50000 },
    ]);
    const onQuery = vi.fn();
    const onView = vi.fn();
    const { rerender } = render(
      <Providers backend={backendOf({ testConnection, saveConnection, browseConnection })}>
        <ConnectionsPanel notebook="nb" connections={[]} onView={onView} onLinked={() => undefined} onQuery={onQuery} />
      </Providers>,
    );
    fireEvent.click(screen.getByTestId("add-connection"));
    type("connection-kind", "postgres");
    expect(screen.queryByTestId("connection-endpoint")).toBeNull();
    expect(document.querySelector("input[type=password]")).toBeNull();
    type("connection-name", "shop");
    type("connection-port", "54x");
    expect(screen.getByTestId("connection-port-problem").textContent).toContain("1 to 65535");
    expect((screen.getByTestId("connection-test") as HTMLButtonElement).disabled).toBe(true);
    type("connection-port", "5433");
    expect(screen.queryByTestId("connection-port-problem")).toBeNull();
    type("connection-user", "ana");
    type("connection-database", "shop");
    fireEvent.click(screen.getByTestId("connection-test"));
    await waitFor(() =>
      expect(screen.getByTestId("connection-found").textContent).toBe(
        "Reached PostgreSQL 15.8 at postgres://ana@127.0.0.1:5433/shop in 9 ms: 2 tables and views to read in 2 schemas.",
      ),
    );
    expect(testConnection).toHaveBeenCalledWith("nb", shop, "");
    fireEvent.click(screen.getByTestId("connection-save"));
    await waitFor(() => expect(onView).toHaveBeenCalledWith(view([shop])));
    rerender(
      <Providers backend={backendOf({ testConnection, saveConnection, browseConnection })}>
        <ConnectionsPanel notebook="nb" connections={[shop]} onView={onView} onLinked={() => undefined} onQuery={onQuery} />
      </Providers>,
    );
    // Saved, its tables are listed at once; Query runs a table's first rows.
    const list = await screen.findByTestId("database-tables-shop");
    expect(list.textContent).toContain("crm.Mixed Case");
    expect(list.textContent).toContain("~50,000");
    fireEvent.click(screen.getByTestId("query-shop-crm-Mixed Case"));
    expect(onQuery).toHaveBeenCalledWith('SELECT * FROM shop.crm."Mixed Case" LIMIT 100');
    expect(browseConnection).toHaveBeenCalledWith("nb", "shop");
  });

  it("adds a Ballista cluster with its scheduler and shared folders, and words its test", async () => {
    const testConnection = vi.fn(async () => ({
      endpoint: "df://127.0.0.1:50050",
      objects: 2,
      folders: 4,
      elapsed_ms: 3,
      server: "Ballista 55.0.0 (DataFusion 55.2.0)",
    }));
    const saveConnection = vi.fn(async (_nb: string, c: Connection) => view([c]));
    render(
      <Providers backend={backendOf({ testConnection, saveConnection })}>
        <ConnectionsPanel notebook="nb" connections={[]} onView={() => undefined} onLinked={() => undefined} onQuery={() => undefined} />
      </Providers>,
    );
    fireEvent.click(screen.getByTestId("add-connection"));
    type("connection-kind", "ballista");
    expect(screen.queryByTestId("connection-endpoint")).toBeNull();
    type("connection-name", "lab");
    type("connection-cluster", "df://127.0.0.1:50050");
    fireEvent.change(screen.getByTestId("connection-shared"), { target: { value: "/mnt/data\n\n  /srv/lake  \n" } });
    const lab: Connection = {
      name: "lab",
      kind: "ballista",
      cluster: { url: "df://127.0.0.1:50050", shared_folders: ["/mnt/data", "/srv/lake"] },
    };
    fireEvent.click(screen.getByTestId("connection-test"));
    await waitFor(() =>
      expect(screen.getByTestId("connection-found").textContent).toBe(
        "Reached Ballista 55.0.0 (DataFusion 55.2.0) at df://127.0.0.1:50050 in 3 ms: 2 executors with 4 task slots.",
      ),
    );
    expect(testConnection).toHaveBeenCalledWith("nb", lab, "");
    expect(checkText({ endpoint: "df://h:1", objects: 0, folders: 0, elapsed_ms: 1, server: "Ballista 55.0.0" })).toContain(
      "Nothing can run there until an executor registers.",
    );
    fireEvent.click(screen.getByTestId("connection-save"));
    await waitFor(() => expect(saveConnection).toHaveBeenCalledWith("nb", lab));
  });

  it("quotes a database name only when SQL needs it", () => {
    expect(firstRowsOf("shop", { schema: "public", name: "Orders", kind: "table", estimated_rows: null })).toBe('SELECT * FROM shop.public."Orders" LIMIT 100');
    expect(portOf("")).toBe(5432);
    expect(portOf(" 6543 ")).toBe(6543);
    expect(portOf("5432x")).toBeNull();
    expect(portOf("70000")).toBeNull();
    expect(portOf("0")).toBeNull();
  });

  it("tests a connection before keeping it, and keeps only what was typed (no secret field)", async () => {
    const testConnection = vi.fn(async () => ({ endpoint: "http://127.0.0.1:9000", objects: 1, folders: 4, elapsed_ms: 12 }));
    const saveConnection = vi.fn(async (_nb: string, c: Connection) => view([c]));
    const onView = vi.fn();
    render(
      <Providers backend={backendOf({ testConnection, saveConnection })}>
        <ConnectionsPanel notebook="nb" connections={[]} onView={onView} onLinked={() => undefined} onQuery={() => undefined} />
      </Providers>,
    );
    fireEvent.click(screen.getByTestId("add-connection"));
    type("connection-name", " lake ");
    type("connection-endpoint", "http://127.0.0.1:9000");
    type("connection-profile", "work");
    type("connection-url", "s3://data/sales/");
    fireEvent.click(screen.getByTestId("connection-test"));
    await waitFor(() => expect(screen.getByTestId("connection-found").textContent).toContain("4 folders and 1 object"));
    expect(testConnection).toHaveBeenCalledWith("nb", lake, "s3://data/sales/");
    fireEvent.click(screen.getByTestId("connection-save"));
    await waitFor(() => expect(onView).toHaveBeenCalledWith(view([lake])));
    expect(saveConnection).toHaveBeenCalledWith("nb", lake);
    expect(screen.queryByTestId("connection-dialog")).toBeNull();
  });

  it("shows a refused test in the dialog, in words, and keeps the form", async () => {
    const testConnection = vi.fn(async () => {
      throw new QuireError("connection_unreachable", "http://127.0.0.1:1 did not answer: nothing is listening there (connection refused)");
    });
    render(
      <Providers backend={backendOf({ testConnection })}>
        <ConnectionsPanel notebook="nb" connections={[]} onView={() => undefined} onLinked={() => undefined} onQuery={() => undefined} />
      </Providers>,
    );
    fireEvent.click(screen.getByTestId("add-connection"));
    type("connection-name", "down");
    type("connection-endpoint", "http://127.0.0.1:1");
    type("connection-url", "s3://data/");
    fireEvent.click(screen.getByTestId("connection-test"));
    const error = await screen.findByTestId("connection-error");
    expect(error.textContent).toContain("The server could not be reached");
    expect(error.textContent).toContain("nothing is listening there");
    expect((screen.getByTestId("connection-endpoint") as HTMLInputElement).value).toBe("http://127.0.0.1:1");
  });

  it("links an address through a connection under the name the address suggests", async () => {
    const table: TableInfo = { name: "sales", version: 1, rows: 1000, columns: [], memory_bytes: 0, linked: "s3://data/sales/", converted: false, origin: null, missing: null };
    const linkRemote = vi.fn(async () => ({ table, skipped: [], skipped_total: 0 }));
    const removeConnection = vi.fn(async () => view([]));
    const onLinked = vi.fn();
    const onView = vi.fn();
    render(
      <Providers backend={backendOf({ linkRemote, removeConnection })}>
        <ConnectionsPanel notebook="nb" connections={[lake]} onView={onView} onLinked={onLinked} onQuery={() => undefined} />
      </Providers>,
    );
    expect(screen.getByTestId("connection-lake").textContent).toContain("http://127.0.0.1:9000");
    fireEvent.click(screen.getByTestId("link-through-lake"));
    type("link-remote-url", "s3://data/sales/");
    fireEvent.click(screen.getByTestId("link-remote-start"));
    await waitFor(() => expect(onLinked).toHaveBeenCalledWith(table));
    expect(linkRemote).toHaveBeenCalledWith("nb", "lake", "s3://data/sales/", "sales", null, expect.any(String), expect.any(Function));
    fireEvent.click(screen.getByTestId("remove-connection-lake"));
    await waitFor(() => expect(onView).toHaveBeenCalledWith(view([])));
  });

  it("reads a prefix of CSV objects with the user's choices and lists the rows left out with their object until Done", async () => {
    const table: TableInfo = { name: "exports", version: 1, rows: 4, columns: [], memory_bytes: 0, linked: "s3://data/exports/", converted: true, origin: null, missing: null };
    const outcome = { table, skipped: [{ line: 3, reason: "3 fields where 2 were expected", file: "s3://data/exports/b.csv" }], skipped_total: 1 };
    const linkRemote = vi.fn(async () => outcome);
    const onLinked = vi.fn();
    render(
      <Providers backend={backendOf({ linkRemote })}>
        <ConnectionsPanel notebook="nb" connections={[lake]} onView={() => undefined} onLinked={onLinked} onQuery={() => undefined} />
      </Providers>,
    );
    fireEvent.click(screen.getByTestId("link-through-lake"));
    type("link-remote-url", "s3://data/exports/");
    fireEvent.click(screen.getByTestId("link-remote-skip-bad-rows"));
    type("link-remote-missing", "-");
    fireEvent.click(screen.getByTestId("link-remote-start"));
    await waitFor(() => expect(screen.getByTestId("link-remote-skipped").textContent).toContain("s3://data/exports/b.csv, line 3: 3 fields where 2"));
    expect(linkRemote).toHaveBeenCalledWith("nb", "lake", "s3://data/exports/", "exports", { on_bad_row: "skip", missing: ["-"] }, expect.any(String), expect.any(Function));
    expect(onLinked).not.toHaveBeenCalled();
    fireEvent.click(screen.getByTestId("link-remote-done"));
    expect(onLinked).toHaveBeenCalledWith(table);
  });

  it("adds an Azure account (no key field) and links a container's folder through it with an az:// address", async () => {
    const testConnection = vi.fn(async () => ({ endpoint: "http://127.0.0.1:10000/devstoreaccount1", objects: 0, folders: 3, elapsed_ms: 4 }));
    const saveConnection = vi.fn(async (_nb: string, c: Connection) => view([c]));
    const table: TableInfo = { name: "trips", version: 1, rows: 10, columns: [], memory_bytes: 0, linked: "az://lake/trips/", converted: false, origin: null, missing: null };
    const linkRemote = vi.fn(async () => ({ table, skipped: [], skipped_total: 0 }));
    const onView = vi.fn();
    const onLinked = vi.fn();
    const { rerender } = render(
      <Providers backend={backendOf({ testConnection, saveConnection, linkRemote })}>
        <ConnectionsPanel notebook="nb" connections={[]} onView={onView} onLinked={onLinked} onQuery={() => undefined} />
      </Providers>,
    );
    fireEvent.click(screen.getByTestId("add-connection"));
    type("connection-kind", "azure");
    expect(screen.queryByTestId("connection-region")).toBeNull();
    expect(document.querySelector("input[type=password]")).toBeNull();
    type("connection-name", "blobs");
    type("connection-url", "az://lake/");
    // No account yet: nothing can be tested.
    expect((screen.getByTestId("connection-test") as HTMLButtonElement).disabled).toBe(true);
    type("connection-account", "devstoreaccount1");
    type("connection-endpoint", "http://127.0.0.1:10000/devstoreaccount1");
    fireEvent.click(screen.getByTestId("connection-test"));
    await waitFor(() => expect(screen.getByTestId("connection-found").textContent).toContain("3 folders and 0 objects"));
    const blobs: Connection = {
      name: "blobs",
      kind: "azure",
      azure: { account: "devstoreaccount1", endpoint: "http://127.0.0.1:10000/devstoreaccount1" },
    };
    expect(testConnection).toHaveBeenCalledWith("nb", blobs, "az://lake/");
    fireEvent.click(screen.getByTestId("connection-save"));
    await waitFor(() => expect(onView).toHaveBeenCalledWith(view([blobs])));
    rerender(
      <Providers backend={backendOf({ testConnection, saveConnection, linkRemote })}>
        <ConnectionsPanel notebook="nb" connections={[blobs]} onView={onView} onLinked={onLinked} onQuery={() => undefined} />
      </Providers>,
    );
    fireEvent.click(screen.getByTestId("link-through-blobs"));
    const address = screen.getByTestId("link-remote-url") as HTMLInputElement;
    expect(address.value).toBe("az://");
    type("link-remote-url", "s3://lake/trips/");
    expect((screen.getByTestId("link-remote-start") as HTMLButtonElement).disabled).toBe(true);
    type("link-remote-url", "az://lake/trips/");
    fireEvent.click(screen.getByTestId("link-remote-start"));
    await waitFor(() => expect(onLinked).toHaveBeenCalledWith(table));
    expect(linkRemote).toHaveBeenCalledWith("nb", "blobs", "az://lake/trips/", "trips", null, expect.any(String), expect.any(Function));
  });

  it("fetches and converts a CSV object with progress, and a cancel says nothing was created", async () => {
    let report: ((p: ImportProgress) => void) | null = null;
    let fail: ((e: unknown) => void) | null = null;
    const linkRemote = vi.fn(
      (_nb: string, _c: string, _url: string, _t: string | null, _csv: unknown, _job: string, onProgress: (p: ImportProgress) => void) =>
        new Promise<never>((_resolve, reject) => {
          report = onProgress;
          fail = reject;
        }),
    );
    const cancelJob = vi.fn(async (_job: string) => {
      fail?.({ code: "cancelled", message: "the work was cancelled", position: null });
      return true;
    });
    const onLinked = vi.fn();
    render(
      <Providers backend={backendOf({ linkRemote, cancelJob })}>
        <ConnectionsPanel notebook="nb" connections={[lake]} onView={() => undefined} onLinked={onLinked} onQuery={() => undefined} />
      </Providers>,
    );
    fireEvent.click(screen.getByTestId("link-through-lake"));
    type("link-remote-url", "s3://data/logs/2024-01.csv.gz");
    expect(screen.getByTestId("link-remote-start").textContent).toBe("Fetch and convert");
    fireEvent.click(screen.getByTestId("link-remote-start"));
    await waitFor(() => expect(report).not.toBeNull());
    expect(linkRemote.mock.calls[0]?.slice(0, 4)).toEqual(["nb", "lake", "s3://data/logs/2024-01.csv.gz", "t_2024_01"]);
    act(() => report?.({ rows: 0, bytes: 250, total_bytes: 1000 }));
    expect(screen.getByTestId("link-remote-progress").textContent).toContain("Fetching · 0 rows · 25 %");
    act(() => report?.({ rows: 1200, bytes: 750, total_bytes: 1000 }));
    expect(screen.getByTestId("link-remote-progress").textContent).toContain("Converting · 1,200 rows · 75 %");
    fireEvent.click(screen.getByTestId("link-remote-cancel"));
    expect(cancelJob).toHaveBeenCalledWith(linkRemote.mock.calls[0]?.[5]);
    // The dialog is already there: wait for its words, which come once the cancelled promise settles.
    await waitFor(() => expect(screen.getByTestId("link-remote-dialog").textContent).toContain("nothing was created"));
    expect(screen.queryByTestId("link-remote-progress")).toBeNull();
    expect(onLinked).not.toHaveBeenCalled();
  });

  it("shows a folder's fetch and conversion once the engine reports it, and stops it on Cancel", async () => {
    let report: ((p: ImportProgress) => void) | null = null;
    let fail: ((e: unknown) => void) | null = null;
    const linkRemote = vi.fn(
      (_nb: string, _c: string, _url: string, _t: string | null, _csv: unknown, _job: string, onProgress: (p: ImportProgress) => void) =>
        new Promise<never>((_resolve, reject) => {
          report = onProgress;
          fail = reject;
        }),
    );
    const cancelJob = vi.fn(async (_job: string) => {
      fail?.({ code: "cancelled", message: "the work was cancelled", position: null });
      return true;
    });
    render(
      <Providers backend={backendOf({ linkRemote, cancelJob })}>
        <ConnectionsPanel notebook="nb" connections={[lake]} onView={() => undefined} onLinked={() => undefined} onQuery={() => undefined} />
      </Providers>,
    );
    fireEvent.click(screen.getByTestId("link-through-lake"));
    type("link-remote-url", "s3://data/exports/");
    // A folder may hold Parquet (linked where it lies) or CSV: the engine lists it to know.
    expect(screen.getByTestId("link-remote-start").textContent).toBe("Link");
    fireEvent.click(screen.getByTestId("link-remote-start"));
    await waitFor(() => expect(report).not.toBeNull());
    expect(screen.queryByTestId("link-remote-progress")).toBeNull();
    act(() => report?.({ rows: 0, bytes: 100, total_bytes: 1000 }));
    expect(screen.getByTestId("link-remote-progress").textContent).toContain("Fetching · 0 rows · 10 %");
    expect(screen.getByTestId("link-remote-start").textContent).toBe("Converting…");
    fireEvent.click(screen.getByTestId("link-remote-cancel"));
    expect(cancelJob).toHaveBeenCalledWith(linkRemote.mock.calls[0]?.[5]);
    // The dialog is already there: wait for its words, which come once the cancelled promise settles.
    await waitFor(() => expect(screen.getByTestId("link-remote-dialog").textContent).toContain("nothing was created"));
  });

  it("words its figures and names", () => {
    expect(isTextObject("s3://b/x/a.csv")).toBe(true);
    expect(isTextObject("az://c/x/a.ndjson.zst")).toBe(true);
    expect(isTextObject("s3://b/x/*.csv")).toBe(true);
    expect(isTextObject("s3://b/x/*.parquet")).toBe(false);
    expect(isTextObject("s3://b/x/a.parquet")).toBe(false);
    expect(isTextObject("s3://b/x.csv/")).toBe(false);
    expect(nameOfUrl("s3://b/x/Trips.csv.gz")).toBe("trips");
    expect(checkText({ endpoint: "Amazon S3", objects: 0, folders: 1, elapsed_ms: 80 })).toBe("Reached Amazon S3 in 80 ms: 1 folder and 0 objects there.");
    expect(nameOfUrl("s3://b/x/Trips 2024.parquet")).toBe("trips_2024");
    expect(nameOfUrl("s3://b/2024/")).toBe("t_2024");
    expect(connectionOf({ ...EMPTY_FORM, name: "a", endpoint: " ", region: "eu-west-1" }).s3).toEqual({ endpoint: null, region: "eu-west-1", profile: null });
  });
});

import { afterEach, describe, expect, it, vi } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { backendOf, Providers } from "../testBackend";
import type { ImportProgress, TableInfo } from "../bindings";
import { LinkFolderDialog } from "./LinkFolderDialog";

afterEach(cleanup);

const linked: TableInfo = {
  name: "sales",
  version: 1,
  rows: 3_000,
  columns: [],
  memory_bytes: 0,
  linked: "/data/sales/2024-*.parquet",
  converted: false,
  origin: null,
  missing: null,
};

describe("the link folder dialog", () => {
  it("links every file without a pattern, only the matching ones with one, and keeps a refused pattern open to fix", async () => {
    const refusal = { code: "file_unreadable", message: "/data/sales cannot be read: no Parquet file (.parquet or .pq) below the folder matches 2025-*.parquet", position: null };
    const linkFile = vi
      .fn()
      .mockRejectedValueOnce(refusal)
      .mockResolvedValueOnce({ table: linked, skipped: [], skipped_total: 0 });
    const onLinked = vi.fn();
    render(
      <Providers backend={backendOf({ linkFolder: linkFile })}>
        <LinkFolderDialog notebook="nb" folder="/data/sales/" onLinked={onLinked} onClose={vi.fn()} />
      </Providers>,
    );
    expect((screen.getByTestId("link-folder-name") as HTMLInputElement).value).toBe("sales");
    fireEvent.change(screen.getByTestId("link-folder-pattern"), { target: { value: " 2025-*.parquet " } });
    fireEvent.click(screen.getByTestId("link-folder-go"));
    await waitFor(() => expect(screen.getByTestId("link-folder-error").textContent).toContain("matches 2025-*.parquet"));
    expect(linkFile).toHaveBeenLastCalledWith("nb", "/data/sales/", "2025-*.parquet", null, "sales", expect.any(String), expect.any(Function));
    expect(onLinked).not.toHaveBeenCalled();
    fireEvent.change(screen.getByTestId("link-folder-pattern"), { target: { value: "2024-*.parquet" } });
    fireEvent.click(screen.getByTestId("link-folder-go"));
    await waitFor(() => expect(onLinked).toHaveBeenCalledWith({ table: linked, skipped: [], skipped_total: 0 }));
    expect(linkFile).toHaveBeenLastCalledWith("nb", "/data/sales/", "2024-*.parquet", null, "sales", expect.any(String), expect.any(Function));
  });

  it("sends no pattern when the field is left empty", async () => {
    const linkFile = vi.fn(async () => ({ table: linked, skipped: [], skipped_total: 0 }));
    render(
      <Providers backend={backendOf({ linkFolder: linkFile })}>
        <LinkFolderDialog notebook="nb" folder="/data/sales" onLinked={vi.fn()} onClose={vi.fn()} />
      </Providers>,
    );
    fireEvent.change(screen.getByTestId("link-folder-pattern"), { target: { value: "   " } });
    fireEvent.click(screen.getByTestId("link-folder-go"));
    await waitFor(() => expect(linkFile).toHaveBeenCalledWith("nb", "/data/sales", null, null, "sales", expect.any(String), expect.any(Function)));
  });

  it("shows a folder of CSV files converting, and Cancel stops it and says nothing was created", async () => {
    let report: ((p: ImportProgress) => void) | null = null;
    let fail: ((e: unknown) => void) | null = null;
    const linkFolder = vi.fn(
      (_nb: string, _path: string, _pattern: string | null, _csv: unknown, _table: string | null, _job: string, onProgress: (p: ImportProgress) => void) =>
        new Promise<never>((_resolve, reject) => {
          report = onProgress;
          fail = reject;
        }),
    );
    const cancelJob = vi.fn(async (_job: string) => {
      fail?.({ code: "cancelled", message: "the work was cancelled", position: null });
      return true;
    });
    const onClose = vi.fn();
    render(
      <Providers backend={backendOf({ linkFolder, cancelJob })}>
        <LinkFolderDialog notebook="nb" folder="/data/exports" onLinked={vi.fn()} onClose={onClose} />
      </Providers>,
    );
    fireEvent.click(screen.getByTestId("link-folder-go"));
    await waitFor(() => expect(report).not.toBeNull());
    expect(screen.getByTestId("link-folder-go").textContent).toBe("Linking…");
    act(() => report?.({ rows: 5_000, bytes: 400, total_bytes: 1_000 }));
    expect(screen.getByTestId("link-folder-progress").textContent).toContain("Converting · 5,000 rows · 40 %");
    fireEvent.click(screen.getByTestId("link-folder-cancel"));
    expect(cancelJob).toHaveBeenCalledWith(linkFolder.mock.calls[0]?.[5]);
    await waitFor(() => expect(screen.getByTestId("link-folder-error").textContent).toContain("Nothing was created"));
    expect(screen.queryByTestId("link-folder-progress")).toBeNull();
    expect(onClose).not.toHaveBeenCalled();
  });

  it("reads every CSV file with the user's choices and lists the rows left out with their file until Done", async () => {
    const outcome = {
      table: { ...linked, name: "exports", converted: true },
      skipped: [{ line: 253, reason: "4 fields where 3 were expected", file: "/data/exports/2024-02.csv" }],
      skipped_total: 1,
    };
    const linkFolder = vi.fn(async () => outcome);
    const onLinked = vi.fn();
    render(
      <Providers backend={backendOf({ linkFolder })}>
        <LinkFolderDialog notebook="nb" folder="/data/exports" onLinked={onLinked} onClose={vi.fn()} />
      </Providers>,
    );
    fireEvent.click(screen.getByTestId("link-folder-skip-bad-rows"));
    fireEvent.change(screen.getByTestId("link-folder-missing"), { target: { value: " -, n.a. ," } });
    fireEvent.click(screen.getByTestId("link-folder-go"));
    await waitFor(() => expect(screen.getByTestId("link-folder-skipped").textContent).toContain("/data/exports/2024-02.csv, line 253: 4 fields where 3"));
    expect(linkFolder).toHaveBeenCalledWith(
      "nb",
      "/data/exports",
      null,
      { on_bad_row: "skip", missing: ["-", "n.a."] },
      "exports",
      expect.any(String),
      expect.any(Function),
    );
    expect(onLinked).not.toHaveBeenCalled();
    // Enter in a field does not convert the folder again; Esc is Done.
    fireEvent.submit(screen.getByTestId("link-folder-name").closest("form")!);
    expect(linkFolder).toHaveBeenCalledTimes(1);
    fireEvent.keyDown(window, { key: "Escape" });
    expect(onLinked).toHaveBeenCalledWith(outcome);
  });
});

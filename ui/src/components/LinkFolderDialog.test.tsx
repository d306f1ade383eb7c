import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { backendOf, Providers } from "../testBackend";
import type { TableInfo } from "../bindings";
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
  missing: null,
};

describe("the link folder dialog", () => {
  it("links every file without a pattern, only the matching ones with one, and keeps a refused pattern open to fix", async () => {
    const refusal = { code: "file_unreadable", message: "/data/sales cannot be read: no Parquet file (.parquet or .pq) below the folder matches 2025-*.parquet", position: null };
    const linkFile = vi
      .fn()
      .mockRejectedValueOnce(refusal)
      .mockResolvedValueOnce(linked);
    const onLinked = vi.fn();
    render(
      <Providers backend={backendOf({ linkFile })}>
        <LinkFolderDialog notebook="nb" folder="/data/sales/" onLinked={onLinked} onClose={vi.fn()} />
      </Providers>,
    );
    expect((screen.getByTestId("link-folder-name") as HTMLInputElement).value).toBe("sales");
    fireEvent.change(screen.getByTestId("link-folder-pattern"), { target: { value: " 2025-*.parquet " } });
    fireEvent.click(screen.getByTestId("link-folder-go"));
    await waitFor(() => expect(screen.getByTestId("link-folder-error").textContent).toContain("matches 2025-*.parquet"));
    expect(linkFile).toHaveBeenLastCalledWith("nb", "/data/sales/", "2025-*.parquet", "sales");
    expect(onLinked).not.toHaveBeenCalled();
    fireEvent.change(screen.getByTestId("link-folder-pattern"), { target: { value: "2024-*.parquet" } });
    fireEvent.click(screen.getByTestId("link-folder-go"));
    await waitFor(() => expect(onLinked).toHaveBeenCalledWith(linked));
    expect(linkFile).toHaveBeenLastCalledWith("nb", "/data/sales/", "2024-*.parquet", "sales");
  });

  it("sends no pattern when the field is left empty", async () => {
    const linkFile = vi.fn(async () => linked);
    render(
      <Providers backend={backendOf({ linkFile })}>
        <LinkFolderDialog notebook="nb" folder="/data/sales" onLinked={vi.fn()} onClose={vi.fn()} />
      </Providers>,
    );
    fireEvent.change(screen.getByTestId("link-folder-pattern"), { target: { value: "   " } });
    fireEvent.click(screen.getByTestId("link-folder-go"));
    await waitFor(() => expect(linkFile).toHaveBeenCalledWith("nb", "/data/sales", null, "sales"));
  });
});

import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { Backend } from "../backend";
import { Providers } from "../testBackend";
import type { Generation, TableInfo } from "../bindings";
import { HistoryDialog, restoreQuestion } from "./HistoryDialog";

afterEach(cleanup);

const generations: Generation[] = [
  { generation: 3, version: 7, rows: 199_998, bytes: 4096, committed_ms: Date.UTC(2025, 2, 4, 10, 30) },
  { generation: 1, version: 1, rows: 200_000, bytes: 4000, committed_ms: Date.UTC(2025, 2, 3, 9, 0) },
];

function show() {
  const restored: TableInfo = { name: "trips", version: 8, rows: 200_000, columns: [], memory_bytes: 8, linked: null, converted: false, origin: null, missing: null };
  const restoreGeneration = vi.fn(async () => restored);
  const backend = { tableHistory: async () => generations, restoreGeneration } as unknown as Backend;
  const onRestored = vi.fn();
  const onClose = vi.fn();
  render(
    <Providers backend={backend} notify={{ report: vi.fn(), inform: vi.fn() }}>
      <HistoryDialog notebook="nb" table="trips" onRestored={onRestored} onClose={onClose} />
    </Providers>,
  );
  return { restoreGeneration, onRestored, onClose };
}

describe("the history dialog", () => {
  it("asks before restoring, saying which copy and what happens to the current one", async () => {
    const { restoreGeneration, onRestored, onClose } = show();
    fireEvent.click(await screen.findByTestId("restore-1"));
    const question = screen.getByTestId("confirm");
    const when = new Date(generations[1]!.committed_ms).toLocaleString();
    expect(question.textContent).toContain(
      `Restore trips to the saved copy of version 1 (saved at ${when}, ${(200_000).toLocaleString()} rows)? It becomes the newest version; ` +
        "the current one stays in the history and can be restored again.",
    );
    expect(restoreGeneration).not.toHaveBeenCalled();
    fireEvent.click(screen.getByTestId("confirm-yes"));
    await waitFor(() => expect(onRestored).toHaveBeenCalledTimes(1));
    expect(restoreGeneration).toHaveBeenCalledWith("nb", "trips", 1);
    expect(screen.queryByTestId("confirm")).toBeNull();
    expect(onClose).not.toHaveBeenCalled();
  });

  it("Cancel (or Esc) on the question restores nothing and keeps the history open", async () => {
    const { restoreGeneration, onClose } = show();
    fireEvent.click(await screen.findByTestId("restore-1"));
    fireEvent.click(screen.getByText("Cancel"));
    expect(screen.queryByTestId("confirm")).toBeNull();
    fireEvent.click(screen.getByTestId("restore-1"));
    fireEvent.keyDown(window, { key: "Escape" });
    expect(screen.queryByTestId("confirm")).toBeNull();
    expect(screen.getByTestId("history-dialog")).toBeTruthy();
    expect(onClose).not.toHaveBeenCalled();
    expect(restoreGeneration).not.toHaveBeenCalled();
  });

  it("says one row, not one rows", () => {
    expect(restoreQuestion("t", { ...generations[0]!, rows: 1 })).toContain(", 1 row)?");
  });

  it("names each copy by the version it holds, not by its generation", async () => {
    show();
    const newest = await screen.findByTestId("generation-3");
    expect(newest.querySelector('[data-testid="copy-version"]')?.textContent).toBe("version 7");
    expect(screen.getByTestId("history-list").querySelector("thead")?.textContent).toContain("Saved copy of");
    expect(screen.getByTestId("restore-1").getAttribute("aria-label")).toBe("Restore the saved copy of version 1");
    // The generation is at most a tooltip.
    expect(newest.textContent).not.toMatch(/generation/i);
    expect(newest.getAttribute("title")).toBe("Generation 3 on disk");
  });
});

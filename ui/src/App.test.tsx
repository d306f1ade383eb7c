import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { App } from "./App";
import { QuireError, type Backend } from "./backend";
import type { AppInfo, NotebookSummary, Sequenced } from "./bindings";

// An in-memory stand-in for the engine, so the UI's behaviour is tested without a webview.
// The real engine is exercised by the Rust tests and the e2e suite in tests/e2e.
function fakeBackend(): Backend {
  const notebooks: NotebookSummary[] = [];
  const listeners: ((b: Sequenced[]) => void)[] = [];
  let seq = 0;
  return {
    appInfo: async () =>
      ({
        engine: { workspace: "/ws", version: "0.1.0", datafusion_version: "55" },
        startup_warnings: [],
      }) as unknown as AppInfo,
    listNotebooks: async () => [...notebooks],
    createNotebook: async (title) => {
      if (title.includes("/")) throw new QuireError("invalid_title", "a title cannot contain '/'");
      const nb = { id: `id-${notebooks.length}`, title, cell_count: 0, hydrated: false };
      notebooks.push(nb);
      listeners.forEach((l) => l([{ seq: ++seq, event: { kind: "notebook_created", notebook: nb } }]));
      return nb;
    },
    metrics: async () => ({ disk_writes: 3, bytes_written: 2048, fsyncs: 3, events_emitted: seq }),
    onEngineEvents: async (cb) => {
      listeners.push(cb);
      return () => undefined;
    },
  };
}

afterEach(cleanup);

describe("App", () => {
  it("shows the empty state, then a created notebook", async () => {
    render(<App backend={fakeBackend()} />);
    expect(await screen.findByText("No notebooks yet")).toBeTruthy();
    fireEvent.change(screen.getByTestId("new-notebook-title"), { target: { value: "Trips" } });
    fireEvent.click(screen.getByTestId("create-notebook"));
    expect(await screen.findByTestId("notebook-title")).toHaveProperty("textContent", "Trips");
    expect(screen.getByTestId("notebook-list").textContent).toBe("Trips");
    await waitFor(() => expect(screen.getByTestId("metrics").textContent).toContain("2.0 KB"));
  });

  it("shows a refused title as a toast in plain words and keeps the input", async () => {
    render(<App backend={fakeBackend()} />);
    const input = screen.getByTestId("new-notebook-title") as HTMLInputElement;
    fireEvent.change(input, { target: { value: "a/b" } });
    fireEvent.click(screen.getByTestId("create-notebook"));
    const toast = await screen.findByTestId("toast");
    expect(toast.textContent).toContain("That title cannot be used");
    expect(input.value).toBe("a/b");
    expect(screen.getByTestId("notebook-list").children).toHaveLength(0);
    expect(screen.getAllByTestId("toast")).toHaveLength(1);
  });
});

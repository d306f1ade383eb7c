import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { RecentFile } from "../bindings";
import { backendOf, Providers } from "../testBackend";
import { FirstScreen, titleFromFile } from "./FirstScreen";

afterEach(cleanup);

describe("the first screen", () => {
  it("names a notebook after its file", () => {
    expect(titleFromFile("/home/ana/trips-2024.csv.gz")).toBe("trips-2024");
    expect(titleFromFile("C:\\Users\\ana\\Sales Q1.xlsx")).toBe("Sales Q1");
    expect(titleFromFile("/tmp/README")).toBe("README");
    expect(titleFromFile("/tmp/.csv")).toBe("Data");
  });

  it("reopens a recent file by its place in the list, and greys out one that is gone", async () => {
    const recent: RecentFile[] = [
      { index: 0, name: "trips.csv", folder: "/data", opened_ms: 0, exists: true },
      { index: 1, name: "old.parquet", folder: "/gone", opened_ms: 0, exists: false },
    ];
    const openRecent = vi.fn(async (i: number) => `/data/${recent[i]!.name}`);
    const onFile = vi.fn(async () => {});
    render(
      <Providers backend={backendOf({ recentFiles: async () => recent, openRecent, onFilesDropped: async () => () => undefined })}>
        <FirstScreen hasNotebooks={false} onFile={onFile} onPickFile={async () => {}} onSample={async () => {}} onReport={() => {}} />
      </Providers>,
    );
    await waitFor(() => expect(screen.getByTestId("recent-files").querySelectorAll("li")).toHaveLength(2));
    expect((screen.getByText("old.parquet") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByText("trips.csv"));
    await waitFor(() => expect(onFile).toHaveBeenCalledWith("/data/trips.csv"));
    expect(openRecent).toHaveBeenCalledWith(0, "trips.csv");
  });

  it("starts a notebook for a file dropped on the window", async () => {
    let drop: (paths: string[]) => void = () => {};
    const onFile = vi.fn(async () => {});
    render(
      <Providers
        backend={backendOf({
          recentFiles: async () => [],
          onFilesDropped: async (f) => {
            drop = f;
            return () => undefined;
          },
        })}
      >
        <FirstScreen hasNotebooks onFile={onFile} onPickFile={async () => {}} onSample={async () => {}} onReport={() => {}} />
      </Providers>,
    );
    await waitFor(() => expect(screen.getByTestId("drop-zone")).toBeTruthy());
    await waitFor(() => {
      drop(["/data/a.csv", "/data/b.csv"]);
      expect(onFile).toHaveBeenCalledWith("/data/a.csv");
    });
  });
});

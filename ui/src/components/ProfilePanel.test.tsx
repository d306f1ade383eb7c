import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { Profile } from "../bindings";
import { backendOf, Providers } from "../testBackend";
import { ProfilePanel } from "./ProfilePanel";
import { useProfile } from "../profiles/useProfile";

function Harness({ load, onFilter }: { load(job: string): Promise<Profile>; onFilter(f: unknown): void }) {
  return <ProfilePanel state={useProfile(load, "t@3")} onFilter={onFilter} onClose={() => {}} />;
}

afterEach(cleanup);

const profile: Profile = {
  version: 3,
  rows: 1000,
  elapsed_ms: 12,
  columns: [
    {
      name: "amount",
      data_type: "Float64",
      kind: "number",
      nulls: 100,
      distinct: 900,
      distinct_exact: true,
      min: "0.0",
      max: "249.75",
      mean: 124.9,
      stddev: 72,
      quartiles: [62.5, 125, 187.5],
      quartiles_exact: false,
      not_finite: 0,
      histogram: [
        { start: 0, end: 100, count: 400 },
        { start: 100, end: 200, count: 360 },
        { start: 200, end: 300, count: 140 },
      ],
      top: [],
      others: 0,
    },
    {
      name: "city",
      data_type: "Utf8",
      kind: "text",
      nulls: 0,
      distinct: 3,
      distinct_exact: true,
      min: "Lyon",
      max: "Rome",
      mean: null,
      stddev: null,
      quartiles: null,
      quartiles_exact: false,
      not_finite: 0,
      histogram: [],
      top: [
        { value: "Lyon", count: 600 },
        { value: null, count: 300 },
      ],
      others: 100,
    },
  ],
};

function show(load: (job: string) => Promise<Profile>, onFilter = vi.fn()) {
  const cancelJob = vi.fn(async () => true);
  const view = render(
    <Providers backend={backendOf({ cancelJob })}>
      <Harness load={load} onFilter={onFilter} />
    </Providers>,
  );
  return { onFilter, cancelJob, view };
}

describe("the profile panel", () => {
  it("says a column of one value has one distinct value and exact quartiles, though estimated", async () => {
    const year = { ...profile.columns[0]!, name: "year", data_type: "Int64", min: "2013", max: "2013", distinct: 1, distinct_exact: false, quartiles: [2013, 2013, 2013] as [number, number, number] };
    show(async () => ({ ...profile, columns: [year] }));
    await waitFor(() => expect(screen.getAllByTestId("profile-column")).toHaveLength(1));
    const text = screen.getByTestId("profile-column").textContent;
    expect(text).toContain("1 distinct");
    expect(text).toContain("quartiles 2,013 / 2,013 / 2,013".replace(/2,013/g, (2013).toLocaleString()));
    expect(text).not.toContain("≈");
  });

  it("says exact quartiles without ≈", async () => {
    const exact = { ...profile, columns: profile.columns.map((c) => ({ ...c, quartiles_exact: true })) };
    show(async () => exact);
    await waitFor(() => expect(screen.getAllByTestId("profile-column")).toHaveLength(2));
    const text = screen.getAllByTestId("profile-column")[0]!.textContent;
    expect(text).toContain("quartiles 62.5 / 125 / 187.5");
    expect(text).not.toContain("quartiles ≈");
  });

  it("shows every column in words and bars", async () => {
    show(async () => profile);
    await waitFor(() => expect(screen.getAllByTestId("profile-column")).toHaveLength(2));
    const [amount, city] = screen.getAllByTestId("profile-column");
    expect(amount!.textContent).toContain("100 missing (10.0 %)");
    expect(amount!.textContent).toContain("900 distinct");
    expect(amount!.textContent).toContain("0.0 … 249.75");
    expect(amount!.textContent).toContain("quartiles ≈ 62.5 / 125 / 187.5");
    expect(amount!.querySelectorAll("rect")).toHaveLength(3);
    expect(city!.textContent).toContain("Lyon600(missing)300100 other rows");
    expect(screen.getByTestId("profile-meta").textContent).toBe("1,000 rows · 12 ms");
  });

  it("filters the grid to a clicked bar's rows", async () => {
    const { onFilter } = show(async () => profile);
    await waitFor(() => expect(screen.getAllByTestId("profile-bin")).toHaveLength(3));
    fireEvent.click(screen.getAllByTestId("profile-bin")[2]!);
    expect(onFilter).toHaveBeenLastCalledWith({
      column: "amount",
      model: {
        filterType: "number",
        operator: "AND",
        conditions: [
          { filterType: "number", type: "greaterThanOrEqual", filter: 200 },
          { filterType: "number", type: "lessThanOrEqual", filter: 300 },
        ],
      },
    });
    fireEvent.click(screen.getByText("Lyon"));
    expect(onFilter).toHaveBeenLastCalledWith({ column: "city", model: { filterType: "text", type: "equals", filter: "Lyon" } });
  });

  it("cancels the profile it no longer needs", async () => {
    let asked = "";
    const { cancelJob, view } = show((job) => {
      asked = job;
      return new Promise<Profile>(() => {});
    });
    view.unmount();
    await waitFor(() => expect(cancelJob).toHaveBeenCalledWith(asked));
  });
});

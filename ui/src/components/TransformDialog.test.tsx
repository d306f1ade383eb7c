import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { Providers, backendOf } from "../testBackend";
import type { TableInfo, Transform } from "../bindings";
import { retypedText, TransformDialog } from "./TransformDialog";

afterEach(cleanup);

const table = (linked: string | null): TableInfo => ({
  name: "trips",
  version: 2,
  rows: 3_000_000,
  columns: [
    { name: "city", data_type: "Utf8" },
    { name: "amount", data_type: "Float64" },
  ],
  memory_bytes: 0,
  linked,
  converted: false,
  origin: null,
  missing: null,
});

const kinds = () => Array.from((screen.getByTestId("transform-kind") as HTMLSelectElement).options).map((o) => o.value);

describe("TransformDialog", () => {
  it("offers a linked file every transform and says which write a copy", () => {
    render(
      <Providers backend={backendOf({})}>
        <TransformDialog notebook="nb" table={table("/data/trips.parquet")} onApplied={() => undefined} onClose={() => undefined} />
      </Providers>,
    );
    expect(kinds()).toContain("rename");
    expect(kinds()).toContain("cast");
    expect(screen.getByTestId("transform-linked-note").textContent).toContain("writes a copy of the table as edited into the notebook");
  });

  it("offers a table read from a bucket the transforms that change values or remove rows, not columns or types, and says why", async () => {
    const applied = vi.fn();
    const applyTransform = vi.fn(async (_nb: string, _t: string, transform: Transform) => {
      expect(transform).toEqual({ kind: "filter_rows", predicate: "amount > 10" });
      return { ...table("s3://lake/trips/"), version: 3, rows: 2_000_000 };
    });
    render(
      <Providers backend={backendOf({ applyTransform })} notify={{ report: (e) => { throw e; }, inform: () => undefined }}>
        <TransformDialog notebook="nb" table={table("s3://lake/trips/")} onApplied={applied} onClose={() => undefined} />
      </Providers>,
    );
    expect(kinds()).toEqual(["trim", "lower", "upper", "replace", "fill_nulls", "split", "expression", "filter", "dedupe"]);
    expect(screen.getByTestId("transform-linked-note").textContent).toContain("would copy all of it onto this machine");
    fireEvent.change(screen.getByTestId("transform-kind"), { target: { value: "filter" } });
    fireEvent.change(screen.getByTestId("transform-a"), { target: { value: "amount > 10" } });
    fireEvent.click(screen.getByTestId("transform-apply"));
    await waitFor(() => expect(applied).toHaveBeenCalled());
    expect(applied.mock.calls[0]![1]).toBe("Keep rows where…");
  });

  it("changes text dates written 2012/01/31 into a date column, the layout chosen by example", async () => {
    const applyTransform = vi.fn(async (_nb: string, _t: string, _transform: Transform) => ({ ...table(null), version: 3 }));
    // Dates that read the same as the text they were: no value differs, the type does.
    const previewTransform = vi.fn(async () => ({
      sql: "",
      summary: { from_version: 2, to_version: 3, added: 0, removed: 0, changed: 0, changed_by_column: [], columns_added: [], columns_removed: [], columns_retyped: [["city", "Utf8", "Date32"] as [string, string, string]] },
      sample: { old_columns: ["city"], new_columns: ["city"], total: 0, offset: 0, rows: [] },
    }));
    render(
      <Providers backend={backendOf({ applyTransform, previewTransform })} notify={{ report: (e) => { throw e; }, inform: () => undefined }}>
        <TransformDialog notebook="nb" table={table(null)} onApplied={() => undefined} onClose={() => undefined} />
      </Providers>,
    );
    fireEvent.change(screen.getByTestId("transform-kind"), { target: { value: "cast" } });
    expect(screen.queryByTestId("transform-b")).toBeNull();
    fireEvent.change(screen.getByTestId("transform-a"), { target: { value: "DATE" } });
    const layouts = Array.from((screen.getByTestId("transform-b") as HTMLSelectElement).options).map((o) => o.textContent);
    expect(layouts).toContain("2012/01/31");
    expect(layouts).toContain("Jan 31 2012");
    fireEvent.change(screen.getByTestId("transform-b"), { target: { value: "%Y/%m/%d" } });
    fireEvent.click(screen.getByTestId("transform-preview-button"));
    await waitFor(() => expect(screen.getByTestId("transform-counts").textContent).toContain("city: text → date"));
    fireEvent.click(screen.getByTestId("transform-apply"));
    await waitFor(() => expect(applyTransform).toHaveBeenCalled());
    expect(applyTransform.mock.calls[0]![2]).toEqual({ kind: "set_column", column: "city", expr: `to_date(CAST("city" AS VARCHAR), '%Y/%m/%d')` });
  });

  it("says a change of type the labels alone would hide", () => {
    expect(retypedText("Utf8", "Date32")).toBe("text → date");
    expect(retypedText("Utf8", "Utf8View")).toBe("text (Utf8 → Utf8View)");
  });

  it("says a transform that fails cannot be applied, not that a query has a problem", async () => {
    const { QuireError } = await import("../backend");
    const applyTransform = vi.fn(async () => {
      throw new QuireError("sql_invalid", "the text \"lc\" is not true or false (Boolean)");
    });
    const report = vi.fn();
    render(
      <Providers backend={backendOf({ applyTransform })} notify={{ report, inform: () => undefined }}>
        <TransformDialog notebook="nb" table={table(null)} onApplied={() => undefined} onClose={() => undefined} />
      </Providers>,
    );
    fireEvent.change(screen.getByTestId("transform-kind"), { target: { value: "upper" } });
    fireEvent.click(screen.getByTestId("transform-apply"));
    // In the dialog, beside the form to change, not in a toast outside it.
    await waitFor(() => expect(screen.getByTestId("transform-error").textContent).toMatch(/^The transform cannot be applied/));
    expect(report).not.toHaveBeenCalled();
    // A change to the form clears it.
    fireEvent.change(screen.getByTestId("transform-kind"), { target: { value: "lower" } });
    expect(screen.queryByTestId("transform-error")).toBeNull();
  });

  it("offers a held table every transform", () => {
    render(
      <Providers backend={backendOf({})}>
        <TransformDialog notebook="nb" table={table(null)} onApplied={() => undefined} onClose={() => undefined} />
      </Providers>,
    );
    expect(kinds()).toContain("trim");
    expect(kinds()).toContain("filter");
    expect(screen.queryByTestId("transform-linked-note")).toBeNull();
  });
});

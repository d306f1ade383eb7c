import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { ChartOutput } from "../bindings";
import type { Output } from "../store";
import { sourceOf, suggest } from "../charts/builder";
import { CellView } from "./CellView";
import type { NotebookActions } from "./NotebookPane";

afterEach(cleanup);

const columns = [
  { name: "carrier", data_type: "Utf8" },
  { name: "delay", data_type: "Float64" },
];
const drawn: ChartOutput = {
  columns,
  spec: JSON.stringify({
    mark: "bar",
    data: { values: [{ c0: "AA", c1: 3.5 }, { c0: "UA", c1: 7 }] },
    encoding: { x: { field: "c0", type: "nominal", title: "carrier" }, y: { field: "c1", type: "quantitative", title: "Sum of delay" } },
  }),
  points: 2,
  truncated: false,
  left_out: [{ column: "delay", rows: 4 }],
  elapsed_ms: 2,
};

function show(source: string, output: Output | undefined) {
  const actions = {
    updateCell: vi.fn(),
    runCell: vi.fn(async () => true),
    saveChartImage: vi.fn(async (_format: "png" | "svg", _bytes: Uint8Array) => {}),
    cancelRun: vi.fn(),
  };
  const cell = (out: Output | undefined) => (
    <CellView
      schema={{ flights: ["carrier", "delay"] }}
      cell={{ id: "c1", kind: "chart", source }}
      index={0}
      last
      output={out}
      actions={actions as unknown as NotebookActions}
    />
  );
  const view = render(cell(output));
  return Object.assign(actions, { showOutput: (out: Output) => view.rerender(cell(out)) });
}

describe("a chart cell", () => {
  const sql = "SELECT carrier, delay FROM flights";
  const source = sourceOf(suggest(sql, columns), columns);

  it("changes the spec from the builder and redraws", () => {
    const actions = show(source, { ok: { kind: "chart", chart: drawn } });
    expect((screen.getByTestId("chart-kind") as HTMLSelectElement).value).toBe("bar");
    expect((screen.getByTestId("chart-x") as HTMLSelectElement).value).toBe("carrier");
    fireEvent.change(screen.getByTestId("chart-aggregate"), { target: { value: "mean" } });
    const sent = actions.updateCell.mock.calls.at(-1)![1] as string;
    expect(JSON.parse(sent).encoding.y).toEqual({ field: "delay", aggregate: "mean" });
    expect(JSON.parse(sent).usermeta.quire.sql).toBe(sql);
    expect(actions.runCell).toHaveBeenCalledWith("c1");
    fireEvent.change(screen.getByTestId("chart-kind"), { target: { value: "histogram" } });
    const histogram = JSON.parse(actions.updateCell.mock.calls.at(-1)![1] as string);
    // Bins need numbers: the text column on x gives way to the number column.
    expect(histogram.encoding).toEqual({ x: { field: "delay", bin: { maxbins: 30 } }, y: { aggregate: "count" } });
  });

  it("draws the engine's points as SVG", async () => {
    show(source, { ok: { kind: "chart", chart: drawn } });
    await waitFor(() => expect(screen.getByTestId("chart").querySelector("svg")).not.toBeNull(), { timeout: 5000 });
    const svg = screen.getByTestId("chart").querySelector("svg")!;
    expect(svg.textContent).toContain("Sum of delay");
    expect(svg.querySelectorAll("path[aria-roledescription='bar']").length + svg.querySelectorAll("g.mark-rect path").length).toBeGreaterThan(0);
  });

  it("draws a colour channel in the light theme (the default category range is kept)", async () => {
    const coloured = {
      ...drawn,
      spec: JSON.stringify({
        mark: "point",
        data: { values: [{ c0: 1, c1: 2, c2: "Adelie" }, { c0: 2, c1: 3, c2: "Gentoo" }] },
        encoding: { x: { field: "c0", type: "quantitative" }, y: { field: "c1", type: "quantitative" }, color: { field: "c2", type: "nominal", title: "species" } },
      }),
    };
    show(source, { ok: { kind: "chart", chart: coloured } });
    await waitFor(() => expect(screen.getByTestId("chart").querySelector("svg")).not.toBeNull(), { timeout: 5000 });
    expect(screen.queryByTestId("chart-failed")).toBeNull();
    expect(screen.getByTestId("chart").querySelector("svg")!.textContent).toContain("Gentoo");
  });

  it("saves the chart once it is drawn, and waits for a new spec's drawing rather than doing nothing", async () => {
    const actions = show(source, { ok: { kind: "chart", chart: drawn } });
    const svgButton = () => screen.getByTestId("chart-export-svg") as HTMLButtonElement;
    // Drawing happens after the first paint: the button says so rather than ignoring a click.
    expect(svgButton().disabled).toBe(true);
    await waitFor(() => expect(svgButton().disabled).toBe(false), { timeout: 5000 });
    fireEvent.click(svgButton());
    await waitFor(() => expect(actions.saveChartImage).toHaveBeenCalledTimes(1));
    const [format, bytes] = actions.saveChartImage.mock.calls[0]!;
    expect(format).toBe("svg");
    expect(new TextDecoder().decode(bytes)).toContain("Sum of delay");

    // The builder changed the chart: until the new spec is drawn there is nothing to save.
    const redrawn = { ...drawn, spec: drawn.spec!.replace("Sum of delay", "Mean of delay") };
    actions.showOutput({ ok: { kind: "chart", chart: redrawn } });
    expect(svgButton().disabled).toBe(true);
    await waitFor(() => expect(svgButton().disabled).toBe(false), { timeout: 5000 });
    fireEvent.click(svgButton());
    await waitFor(() => expect(actions.saveChartImage).toHaveBeenCalledTimes(2));
    expect(new TextDecoder().decode(actions.saveChartImage.mock.calls[1]![1])).toContain("Mean of delay");
  });

  it("says how many points it drew and which rows it left out", () => {
    show(source, { ok: { kind: "chart", chart: drawn } });
    expect(screen.getByTestId("chart-notes").textContent).toBe("2 points — 4 rows with no delay left out");
  });

  it("draws itself when shown without a result, once", async () => {
    const actions = show(source, undefined);
    await waitFor(() => expect(actions.runCell).toHaveBeenCalledTimes(1));
  });

  it("keeps a hand-edited spec as written and edits it as JSON", () => {
    const custom = JSON.stringify({ ...JSON.parse(source), title: "Delays" }, null, 2);
    const actions = show(custom, { ok: { kind: "chart", chart: drawn } });
    expect(screen.getByTestId("chart-custom").textContent).toContain("title");
    expect(screen.queryByTestId("chart-builder")).toBeNull();
    fireEvent.click(screen.getByTestId("chart-edit-spec"));
    const edited = custom.replace('"Delays"', '"Late flights"');
    fireEvent.change(screen.getByTestId("chart-spec"), { target: { value: edited } });
    fireEvent.click(screen.getByTestId("chart-apply"));
    expect(actions.updateCell).toHaveBeenLastCalledWith("c1", edited);
    expect(actions.runCell).toHaveBeenCalled();
  });

  it("shows the engine's error in words", () => {
    show(source, { error: { headline: "The chart cannot be drawn", detail: "Bins need numbers" }, position: null });
    expect(screen.getByTestId("chart-error").textContent).toBe("The chart cannot be drawn Bins need numbers");
  });
});

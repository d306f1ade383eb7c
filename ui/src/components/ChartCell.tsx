// A chart cell: its query, a small builder (kind, x, y, aggregate, colour, facet, bins) and the
// chart the engine's points draw. The source is the Vega-Lite spec itself, editable as JSON;
// the builder shows only what it wrote, so a hand-edited spec is never rewritten behind the
// user's back.
import { useEffect, useMemo, useRef, useState } from "react";
import type { Cell, ChartOutput, ColumnInfo } from "../bindings";
import type { Output } from "../store";
import { AGGREGATES, KINDS, builderOf, sourceOf, withKind, type Builder } from "../charts/builder";
import type { NotebookActions } from "./NotebookPane";
import { SqlEditor } from "./SqlEditor";
import { ChartView } from "./ChartView";
import type { DrawnChart } from "../charts/draw";

interface Props {
  schema: Record<string, string[]>;
  cell: Cell;
  source: string;
  output: Output | undefined;
  actions: NotebookActions;
  /** The cell's source changed here (the parent keeps the text and tells the engine). */
  onSource(source: string): void;
}

const KIND_LABEL: Record<(typeof KINDS)[number], string> = {
  bar: "Bar",
  line: "Line",
  area: "Area",
  scatter: "Scatter",
  histogram: "Histogram",
  heatmap: "Heatmap",
};

function useDarkTheme(): boolean {
  const read = () => document.documentElement.dataset.theme === "dark";
  const [dark, setDark] = useState(read);
  useEffect(() => {
    const watch = new MutationObserver(() => setDark(read()));
    watch.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    return () => watch.disconnect();
  }, []);
  return dark;
}

/** The source with a new query, keeping everything else in the spec as written. */
export function withSql(source: string, sql: string): string {
  try {
    const spec = JSON.parse(source) as Record<string, unknown>;
    const usermeta = (spec.usermeta ?? {}) as Record<string, unknown>;
    const quire = (usermeta.quire ?? {}) as Record<string, unknown>;
    return JSON.stringify({ ...spec, usermeta: { ...usermeta, quire: { ...quire, sql } } }, null, 2);
  } catch {
    return source;
  }
}

function chartOf(output: Output | undefined): ChartOutput | null {
  return output && "ok" in output && output.ok.kind === "chart" ? output.ok.chart : null;
}

export function ChartCell({ schema, cell, source, output, actions, onSource }: Props) {
  const parsed = useMemo(() => builderOf(source), [source]);
  const chart = chartOf(output);
  // The columns stay known while a new run is under way, so the builder does not empty.
  const [columns, setColumns] = useState<ColumnInfo[]>([]);
  useEffect(() => {
    if (chart) setColumns(chart.columns);
  }, [chart]);
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(source);
  // The chart as drawn, with the spec it was drawn from: while a new spec is being drawn the
  // old drawing is gone, and export waits for the new one rather than doing nothing.
  const [drawn, setDrawn] = useState<{ spec: string; chart: DrawnChart } | null>(null);
  const dark = useDarkTheme();
  const sql = "builder" in parsed ? parsed.builder.sql : sqlIn(source);
  // A chart whose notebook was just opened draws itself: it is what the user came back to see.
  const ran = useRef(false);
  useEffect(() => {
    if (!ran.current && output === undefined && sql.trim() !== "") {
      ran.current = true;
      void actions.runCell(cell.id);
    }
  }, [output, sql, actions, cell.id]);

  const change = (next: string, run: boolean) => {
    onSource(next);
    if (run) void actions.runCell(cell.id);
  };
  const choose = (patch: Partial<Builder>) => {
    if (!("builder" in parsed)) return;
    const b = patch.kind !== undefined ? withKind(parsed.builder, patch.kind, columns) : { ...parsed.builder, ...patch };
    change(sourceOf(b, columns), true);
  };
  const names = columns.map((c) => c.name);
  const pick = (label: string, testid: string, value: string | null, set: (v: string | null) => void, optional = true) => (
    <label>
      {label}{" "}
      <select data-testid={testid} value={value ?? ""} onChange={(e) => set(e.target.value === "" ? null : e.target.value)}>
        {(optional || value === null) && <option value="">{optional ? "(none)" : "(pick a column)"}</option>}
        {names.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
    </label>
  );
  const b = "builder" in parsed ? parsed.builder : null;
  const exportable = drawn !== null && chart !== null && chart.spec === drawn.spec ? drawn.chart : null;
  const drawingTitle = "The chart is still being drawn";
  const exportAs = async (format: "png" | "svg") => {
    const v = exportable;
    if (!v) return;
    const bytes = format === "svg" ? new TextEncoder().encode(await v.svg()) : await v.png(2);
    await actions.saveChartImage(format, bytes);
  };
  return (
    <div className="chart-cell" data-testid="chart-cell">
      <div className="chart-sql">
        <span className="muted">Data</span>
        <SqlEditor
          value={sql}
          schema={schema}
          errorAt={output && "error" in output ? output.position : null}
          onChange={(text) => change(withSql(source, text), false)}
          onRun={() => void actions.runCell(cell.id)}
        />
      </div>
      {b ? (
        <div className="chart-builder" data-testid="chart-builder">
          <label>
            Chart{" "}
            <select data-testid="chart-kind" value={b.kind} onChange={(e) => choose({ kind: e.target.value as Builder["kind"] })}>
              {KINDS.map((k) => (
                <option key={k} value={k}>
                  {KIND_LABEL[k]}
                </option>
              ))}
            </select>
          </label>
          {pick("X", "chart-x", b.x, (x) => choose({ x }), false)}
          {b.kind !== "histogram" && pick("Y", "chart-y", b.y, (y) => choose({ y }), b.kind !== "scatter" && b.kind !== "heatmap")}
          {(b.kind === "bar" || b.kind === "line" || b.kind === "area") && (
            <label>
              of{" "}
              <select data-testid="chart-aggregate" value={b.aggregate} onChange={(e) => choose({ aggregate: e.target.value as Builder["aggregate"] })}>
                {AGGREGATES.map((a) => (
                  <option key={a} value={a}>
                    {a === "none" ? "each value" : a}
                  </option>
                ))}
              </select>
            </label>
          )}
          {b.kind !== "heatmap" && pick("Colour", "chart-color", b.color, (color) => choose({ color }))}
          {pick("Facet", "chart-facet", b.facet, (facet) => choose({ facet }))}
          {(b.kind === "histogram" || b.kind === "heatmap") && (
            <label>
              {/* Vega-Lite's maxbins: bins of a round width, so often fewer than asked. */}
              At most{" "}
              <input
                data-testid="chart-bins"
                aria-label="At most this many bins"
                type="number"
                min={1}
                max={500}
                value={b.bins}
                onChange={(e) => {
                  const bins = Number(e.target.value);
                  if (Number.isInteger(bins) && bins >= 1 && bins <= 500) choose({ bins });
                }}
              />{" "}
              bins
            </label>
          )}
        </div>
      ) : (
        <div className="muted" data-testid="chart-custom">
          {"custom" in parsed ? parsed.custom : ""}; edit it as JSON below.
        </div>
      )}
      <div className="chart-spec-bar">
        <button
          data-testid="chart-edit-spec"
          onClick={() => {
            setDraft(source);
            setEditing(!editing);
          }}
        >
          {editing ? "Hide spec" : "Edit spec (Vega-Lite JSON)"}
        </button>
      </div>
      {editing && (
        <form
          className="chart-spec"
          onSubmit={(e) => {
            e.preventDefault();
            change(draft, true);
          }}
        >
          <textarea
            data-testid="chart-spec"
            aria-label="Vega-Lite spec"
            spellCheck={false}
            rows={Math.min(30, Math.max(8, draft.split("\n").length))}
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
          />
          <button type="submit" data-testid="chart-apply">
            Apply
          </button>
        </form>
      )}
      {output && "running" in output && (
        <div className="running" data-testid="cell-running">
          <span className="muted">Drawing…</span>
          <button data-testid="cancel-run" onClick={() => actions.cancelRun(output.job)} title="Cancel (Esc)">
            Cancel
          </button>
        </div>
      )}
      {output && "error" in output && (
        <div className="error-text" data-testid="chart-error">
          <strong>{output.error.headline}</strong> {output.error.detail}
        </div>
      )}
      {chart && chart.spec === null && <div className="muted">Pick what to draw: a chart kind and its X.</div>}
      {chart && chart.spec !== null && (
        <div className="cell-output" data-testid="cell-output">
          <ChartView
            spec={chart.spec}
            dark={dark}
            onView={(v, spec) => setDrawn((was) => (v ? { spec, chart: v } : was?.spec === spec ? null : was))}
          />
          <div className="muted chart-notes" data-testid="chart-notes">
            {chart.points.toLocaleString()} {unitOf(b?.kind)}
            {chart.points === 1 ? "" : "s"}
            {chart.truncated && ` — only the first ${chart.points.toLocaleString()} are drawn`}
            {chart.left_out.map((l) => ` — ${l.rows.toLocaleString()} row${l.rows === 1 ? "" : "s"} with no ${l.column} left out`).join("")}
          </div>
          <div className="result-actions">
            <button data-testid="chart-export-png" disabled={!exportable} title={exportable ? undefined : drawingTitle} onClick={() => void exportAs("png")}>
              Save PNG…
            </button>
            <button data-testid="chart-export-svg" disabled={!exportable} title={exportable ? undefined : drawingTitle} onClick={() => void exportAs("svg")}>
              Save SVG…
            </button>
          </div>
        </div>
      )}
    </div>
  );
}

/** The query in a spec the builder cannot show (hand-edited), if it has one. */
/** What one of a chart's points is, in its notes: a histogram's are bins, a heatmap's cells. */
export function unitOf(kind: string | undefined): string {
  if (kind === "histogram") return "bin";
  if (kind === "heatmap") return "cell";
  return "point";
}

function sqlIn(source: string): string {
  try {
    const sql = (JSON.parse(source) as { usermeta?: { quire?: { sql?: unknown } } }).usermeta?.quire?.sql;
    return typeof sql === "string" ? sql : "";
  } catch {
    return "";
  }
}

// Draws a Vega-Lite spec whose points the engine computed. Under the app's CSP (no eval): Vega
// parses expressions to an AST and vega-interpreter evaluates them, and nothing is fetched (the
// data is inline). SVG, so text stays sharp, unless the points are too many for one element each.
import { useEffect, useRef, useState } from "react";
import type { View } from "vega";

interface Props {
  spec: string;
  dark: boolean;
  /** Hears the drawn view, for export; null when it is gone. */
  onView?(view: View | null): void;
}

/** Colours that keep WCAG AA contrast on the app's own backgrounds in either theme. */
function themeConfig(dark: boolean): Record<string, unknown> {
  const text = dark ? "#e6e6e6" : "#1f2328";
  const grid = dark ? "#3a3f45" : "#e3e3e0";
  return {
    background: null,
    font: "system-ui, sans-serif",
    axis: { labelColor: text, titleColor: text, gridColor: grid, domainColor: grid, tickColor: grid },
    legend: { labelColor: text, titleColor: text },
    header: { labelColor: text, titleColor: text },
    title: { color: text },
    view: { stroke: grid },
    // Only in dark: a `range` key, even undefined, replaces Vega-Lite's default ranges and leaves
    // a colour channel without its "category" range.
    ...(dark ? { range: { category: { scheme: "tableau10" } } } : {}),
  };
}

/** Past this many points the chart is painted on a canvas: building one SVG element per point
 *  held the page's main thread for half a second at 10,000 points (make bench-ui). SVG and PNG
 *  export work from either (Vega renders the SVG file apart from the screen). */
export const CANVAS_POINTS = 2_000;

export function rendererFor(spec: Record<string, unknown>): "svg" | "canvas" {
  const data = spec.data as { values?: unknown } | undefined;
  return Array.isArray(data?.values) && data.values.length > CANVAS_POINTS ? "canvas" : "svg";
}

/** The spec with a size when it names none: a readable chart, or readable small multiples. */
export function sized(spec: Record<string, unknown>): Record<string, unknown> {
  const faceted = typeof spec.encoding === "object" && spec.encoding !== null && ("column" in spec.encoding || "row" in spec.encoding);
  return {
    width: faceted ? 220 : 560,
    height: faceted ? 180 : 280,
    ...spec,
  };
}

export function ChartView({ spec, dark, onView }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const [drawn, setDrawn] = useState<"svg" | "canvas" | null>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let view: View | null = null;
    let gone = false;
    setFailed(null);
    setDrawn(null);
    void (async () => {
      const [vegaLite, vega, interpreter] = await Promise.all([import("vega-lite"), import("vega"), import("vega-interpreter")]);
      if (gone) return;
      const parsed = JSON.parse(spec) as Record<string, unknown>;
      const compiled = vegaLite.compile(sized(parsed) as never, { config: themeConfig(dark) as never }).spec;
      const runtime = vega.parse(compiled, undefined, { ast: true });
      const renderer = rendererFor(parsed);
      view = new vega.View(runtime, { expr: interpreter.expressionInterpreter, renderer, container: el, hover: true });
      await view.runAsync();
      if (gone) view.finalize();
      else {
        setDrawn(renderer);
        onView?.(view);
      }
    })().catch((e: unknown) => {
      if (!gone) setFailed(e instanceof Error ? e.message : String(e));
    });
    return () => {
      gone = true;
      view?.finalize();
      onView?.(null);
    };
    // onView is a callback from the parent; a new one must not redraw the chart.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [spec, dark]);
  return (
    <>
      <div ref={box} className="chart" data-testid="chart" data-drawn={drawn ?? undefined} />
      {failed && (
        <div className="error-text" data-testid="chart-failed">
          <strong>The chart cannot be drawn.</strong> {failed}
        </div>
      )}
    </>
  );
}

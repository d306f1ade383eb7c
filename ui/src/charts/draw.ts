// What the page and the paint worker share to turn a Vega-Lite spec into a Vega view: the
// theme, the default size, and the CSP-safe build (Vega parses expressions to an AST and
// vega-interpreter evaluates them: no eval; the data is inline, so nothing is fetched).
import type { View } from "vega";

/** Colours that keep WCAG AA contrast on the app's own backgrounds in either theme. */
export function themeConfig(dark: boolean): Record<string, unknown> {
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

/** The spec with a size when it names none: a readable chart, or readable small multiples. */
export function sized(spec: Record<string, unknown>): Record<string, unknown> {
  const faceted = typeof spec.encoding === "object" && spec.encoding !== null && ("column" in spec.encoding || "row" in spec.encoding || "facet" in spec.encoding);
  return {
    width: faceted ? 220 : 560,
    height: faceted ? 180 : 280,
    ...spec,
  };
}

/** Past this many points a chart is a bitmap rather than SVG: one SVG element per point held
 *  the page's main thread for half a second at 10,000 points (make bench-ui). SVG and PNG
 *  export work from either. */
export const CANVAS_POINTS = 2_000;

export function rendererFor(spec: Record<string, unknown>): "svg" | "canvas" {
  const data = spec.data as { values?: unknown } | undefined;
  return Array.isArray(data?.values) && data.values.length > CANVAS_POINTS ? "canvas" : "svg";
}

export interface ViewOptions {
  renderer: "svg" | "canvas" | "none";
  container?: HTMLElement;
  /** A background colour (the app's own is transparent: the page shows through). */
  background?: string;
}

/** A Vega view of `spec`, run once (its marks laid out, painted when it has a container). */
export async function buildView(spec: Record<string, unknown>, dark: boolean, options: ViewOptions): Promise<View> {
  const [vegaLite, vega, interpreter] = await Promise.all([import("vega-lite"), import("vega"), import("vega-interpreter")]);
  const config = { ...themeConfig(dark), ...(options.background ? { background: options.background } : {}) };
  const compiled = vegaLite.compile(sized(spec) as never, { config: config as never }).spec;
  const runtime = vega.parse(compiled, undefined, { ast: true });
  const view = new vega.View(runtime, {
    expr: interpreter.expressionInterpreter,
    renderer: options.renderer,
    ...(options.container ? { container: options.container, hover: true } : {}),
  });
  await view.runAsync();
  return view;
}

/** What export needs from a drawn chart, wherever it was drawn. */
export interface DrawnChart {
  svg(): Promise<string>;
  png(scale: number): Promise<Uint8Array>;
}

/** A saved image goes into documents and slides, which are white: it is drawn again in the
 *  light theme on white, whatever theme the app shows (dark text on a transparent background
 *  was unreadable there). */
export const EXPORT_BACKGROUND = "#ffffff";

/** The view a saved image of `spec` is made from; the caller finalizes it. */
export function exportView(spec: Record<string, unknown>): Promise<View> {
  return buildView(spec, false, { renderer: "none", background: EXPORT_BACKGROUND });
}

/** `spec`'s images, each drawn for the export. */
export function drawnForExport(spec: Record<string, unknown>): DrawnChart {
  const withView = async <T>(use: (view: View) => Promise<T>): Promise<T> => {
    const view = await exportView(spec);
    try {
      return await use(view);
    } finally {
      view.finalize();
    }
  };
  return {
    svg: () => withView((view) => view.toSVG()),
    png: (scale) =>
      withView(async (view) => Uint8Array.from(atob((await view.toImageURL("png", scale)).split(",")[1] ?? ""), (c) => c.charCodeAt(0))),
  };
}

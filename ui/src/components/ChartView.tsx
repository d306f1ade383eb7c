// Draws a Vega-Lite spec whose points the engine computed. Vega runs in a worker (see
// charts/paint.worker.ts), so loading it, laying out and painting thousands of marks never holds
// the page's main thread: a chart arrives as SVG text (sharp, its marks in the page), or past
// CANVAS_POINTS as a bitmap. A webview whose worker cannot do it draws here instead.
import { useEffect, useRef, useState } from "react";
import { buildView, drawnForExport, rendererFor, type DrawnChart } from "../charts/draw";
import { paintInWorker, show } from "../charts/painter";

interface Props {
  spec: string;
  dark: boolean;
  /** Hears the drawn chart and the spec it was drawn from, for export; null when it is gone. */
  onView?(chart: DrawnChart | null, spec: string): void;
}

export function ChartView({ spec, dark, onView }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const [drawn, setDrawn] = useState<"svg" | "canvas" | null>(null);
  const [painter, setPainter] = useState<"page" | "worker" | null>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let release = () => {};
    let gone = false;
    setFailed(null);
    setDrawn(null);
    setPainter(null);
    void (async () => {
      const parsed = JSON.parse(spec) as Record<string, unknown>;
      const renderer = rendererFor(parsed);
      const scale = window.devicePixelRatio || 1;
      const painted = await paintInWorker(spec, dark, renderer === "svg" ? "svg" : "bitmap", scale).catch((e: unknown) => {
        console.warn("the chart worker could not draw; drawing on the page", e);
        return null;
      });
      if (painted) {
        release = () => {
          if ("bitmap" in painted.drawing) painted.drawing.bitmap.close();
          painted.close();
        };
        if (gone) return release();
        try {
          show(el, painted.drawing, scale);
          setDrawn(renderer);
          setPainter("worker");
          onView?.(painted.chart, spec);
          return;
        } catch (e) {
          console.warn("the chart worker's drawing could not be shown; drawing on the page", e);
          release();
          el.replaceChildren();
        }
      }
      const view = await buildView(parsed, dark, { renderer, container: el });
      release = () => view.finalize();
      if (gone) return release();
      setDrawn(renderer);
      setPainter("page");
      onView?.(drawnForExport(parsed), spec);
    })().catch((e: unknown) => {
      if (!gone) setFailed(e instanceof Error ? e.message : String(e));
    });
    return () => {
      gone = true;
      release();
      onView?.(null, spec);
    };
    // onView is a callback from the parent; a new one must not redraw the chart.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [spec, dark]);
  return (
    <>
      <div ref={box} className="chart" data-testid="chart" data-drawn={drawn ?? undefined} data-painter={painter ?? undefined} />
      {failed && (
        <div className="error-text" data-testid="chart-failed">
          <strong>The chart cannot be drawn.</strong> {failed}
        </div>
      )}
    </>
  );
}

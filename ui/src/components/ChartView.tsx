// Draws a Vega-Lite spec whose points the engine computed. A small chart is an SVG on the page,
// so its text stays sharp; a big one is painted by a worker and shown as a bitmap, so laying out
// and painting ten thousand marks never holds the page's main thread (or, in a webview without
// OffscreenCanvas, painted on a canvas here).
import { useEffect, useRef, useState } from "react";
import { buildView, drawnByView, rendererFor, type DrawnChart } from "../charts/draw";
import { paintInWorker, showBitmap } from "../charts/painter";

interface Props {
  spec: string;
  dark: boolean;
  /** Hears the drawn chart, for export; null when it is gone. */
  onView?(chart: DrawnChart | null): void;
}

type Drawn = "svg" | "canvas";

export function ChartView({ spec, dark, onView }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const [drawn, setDrawn] = useState<Drawn | null>(null);
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
      if (renderer === "canvas") {
        const scale = window.devicePixelRatio || 1;
        // A worker that cannot start or paint (an older webview) leaves the page to paint it.
        const painted = await paintInWorker(spec, dark, scale).catch((e: unknown) => {
          console.warn("the chart worker could not paint; painting on the page", e);
          return null;
        });
        if (painted) {
          release = painted.close;
          if (gone) return release();
          showBitmap(el, painted.bitmap, scale);
          setDrawn("canvas");
          setPainter("worker");
          onView?.(painted.chart);
          return;
        }
      }
      const view = await buildView(parsed, dark, { renderer, container: el });
      release = () => view.finalize();
      if (gone) return release();
      setDrawn(renderer);
      setPainter("page");
      onView?.(drawnByView(view));
    })().catch((e: unknown) => {
      if (!gone) setFailed(e instanceof Error ? e.message : String(e));
    });
    return () => {
      gone = true;
      release();
      onView?.(null);
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

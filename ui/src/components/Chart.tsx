// A small uPlot line chart over the metrics windows (x: unix seconds).
import { useEffect, useRef } from "react";
import type uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

/** uPlot formats numbers with `navigator.language` when it loads; with LANG=C that is "C",
 *  which Intl refuses, and the import would throw. Fall back to the engine's default locale. */
function loadUPlot(): Promise<typeof uPlot> {
  try {
    new Intl.NumberFormat(navigator.language);
  } catch {
    const fallback = new Intl.NumberFormat().resolvedOptions().locale;
    Object.defineProperty(navigator, "language", { configurable: true, get: () => fallback });
  }
  return import("uplot").then((m) => m.default);
}

export interface Series {
  label: string;
  values: number[];
  color: string;
}

interface Props {
  title: string;
  xs: number[];
  series: Series[];
  testid: string;
  /** Formats y values on the axis (bytes, ms, %). */
  format?: (v: number) => string;
}

let drawable: boolean | undefined;
/** jsdom (unit tests) has no 2D canvas; uPlot would fail asynchronously there. */
function canDraw(): boolean {
  if (drawable === undefined) {
    try {
      drawable = typeof navigator !== "undefined" && !/jsdom/.test(navigator.userAgent) && !!document.createElement("canvas").getContext("2d");
    } catch {
      drawable = false;
    }
  }
  return drawable;
}

export function Chart({ title, xs, series, testid, format }: Props) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || !canDraw()) return;
    let plot: uPlot | undefined;
    let gone = false;
    void loadUPlot()
      .then((UPlot) => {
        if (gone) return;
        plot = new UPlot(
          {
            width: 420,
            height: 130,
            legend: { show: true },
            cursor: { drag: { x: false, y: false } },
            series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, points: { show: false } }))],
            axes: [
              { stroke: "currentColor", grid: { stroke: "rgba(128,128,128,0.15)" } },
              {
                stroke: "currentColor",
                grid: { stroke: "rgba(128,128,128,0.15)" },
                size: 56,
                values: (_u, vals) => vals.map((v) => (format ? format(v) : String(v))),
              },
            ],
          },
          [xs, ...series.map((s) => s.values)],
          el,
        );
      })
      .catch(() => {
        // No chart; the figures above the charts still show.
      });
    return () => {
      gone = true;
      plot?.destroy();
    };
  }, [xs, series, format]);
  return (
    <figure className="chart" data-testid={testid}>
      <figcaption>{title}</figcaption>
      <div ref={box} />
    </figure>
  );
}

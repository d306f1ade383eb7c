// A small uPlot line chart over the metrics windows (x: unix seconds).
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

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

export function Chart({ title, xs, series, testid, format }: Props) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let plot: uPlot | undefined;
    try {
      plot = new uPlot(
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
    } catch {
      // No canvas (unit tests in jsdom): the figures beside the chart still show.
    }
    return () => plot?.destroy();
  }, [xs, series, format]);
  return (
    <figure className="chart" data-testid={testid}>
      <figcaption>{title}</figcaption>
      <div ref={box} />
    </figure>
  );
}

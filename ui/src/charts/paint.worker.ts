// Draws every chart off the page's main thread: Vega (loaded here only) lays out and encodes the
// marks, and the page receives finished SVG text, or for a big chart a bitmap painted on an
// OffscreenCanvas. Vega asks `document` for its canvases (to paint, and to measure text); a
// worker has none, so it gets one that makes OffscreenCanvases, installed before Vega is first
// imported. Specs stay here for export until the page closes them.
import type { View } from "vega";
import { buildView, exportView } from "./draw";
import type { PaintReply, PaintRequest } from "./paintMessages";

interface WorkerScope {
  document?: unknown;
  onmessage: ((event: MessageEvent<PaintRequest>) => void) | null;
  postMessage(message: PaintReply, transfer?: Transferable[]): void;
}
const scope = self as unknown as WorkerScope;
if (typeof OffscreenCanvas !== "undefined" && scope.document === undefined) {
  scope.document = { createElement: (tag: string) => (tag === "canvas" ? new OffscreenCanvas(1, 1) : null) };
}

// What each chart was drawn from: a saved image is drawn again from it (see exportView), so
// no view is kept once its drawing is sent.
const specs = new Map<number, Record<string, unknown>>();

async function canvasOf(view: View, scale: number): Promise<OffscreenCanvas> {
  if (typeof OffscreenCanvas === "undefined") throw new Error("this webview cannot paint a chart in the background");
  return (await view.toCanvas(scale)) as unknown as OffscreenCanvas;
}

async function handle(request: PaintRequest): Promise<void> {
  switch (request.type) {
    case "draw": {
      if (request.as === "bitmap" && typeof OffscreenCanvas === "undefined") {
        throw new Error("this webview cannot paint a chart in the background");
      }
      const spec = JSON.parse(request.spec) as Record<string, unknown>;
      const view = await buildView(spec, request.dark, { renderer: "none" });
      try {
        if (request.as === "svg") {
          // XML allows no C0 control character but tab and line ends, and Vega's markup leaves
          // them in labels: one would make the page's parser drop the whole chart.
          const svg = (await view.toSVG()).replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, "\uFFFD");
          scope.postMessage({ type: "drawn", chart: request.chart, svg });
        } else {
          const bitmap = (await canvasOf(view, request.scale)).transferToImageBitmap();
          scope.postMessage({ type: "drawn", chart: request.chart, bitmap }, [bitmap]);
        }
      } finally {
        view.finalize();
      }
      // Kept only once drawn: a chart that failed here is drawn on the page and never closed.
      specs.set(request.chart, spec);
      return;
    }
    case "svg": {
      const spec = specs.get(request.chart);
      if (!spec) throw new Error("the chart is gone");
      const view = await exportView(spec);
      try {
        return scope.postMessage({ type: "svg", ask: request.ask, text: await view.toSVG() });
      } finally {
        view.finalize();
      }
    }
    case "png": {
      const spec = specs.get(request.chart);
      if (!spec) throw new Error("the chart is gone");
      const view = await exportView(spec);
      try {
        const bytes = await (await (await canvasOf(view, request.scale)).convertToBlob({ type: "image/png" })).arrayBuffer();
        return scope.postMessage({ type: "png", ask: request.ask, bytes }, [bytes]);
      } finally {
        view.finalize();
      }
    }
    case "close":
      specs.delete(request.chart);
  }
}

scope.onmessage = (event) => {
  const request = event.data;
  handle(request).catch((e: unknown) => {
    const message = e instanceof Error ? e.message : String(e);
    if (request.type === "svg" || request.type === "png") scope.postMessage({ type: "failed", ask: request.ask, message });
    else scope.postMessage({ type: "failed", chart: request.chart, message });
  });
};

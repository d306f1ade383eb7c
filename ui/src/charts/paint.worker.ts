// Draws every chart off the page's main thread: Vega (loaded here only) lays out and encodes the
// marks, and the page receives finished SVG text, or for a big chart a bitmap painted on an
// OffscreenCanvas. Vega asks `document` for its canvases (to paint, and to measure text); a
// worker has none, so it gets one that makes OffscreenCanvases, installed before Vega is first
// imported. Views stay here for export until the page closes them.
import type { View } from "vega";
import { buildView } from "./draw";
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

const views = new Map<number, View>();

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
      const view = await buildView(JSON.parse(request.spec) as Record<string, unknown>, request.dark, { renderer: "none" });
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
      } catch (e) {
        view.finalize();
        throw e;
      }
      // Kept only once drawn: a chart that failed here is drawn on the page and never closed.
      views.get(request.chart)?.finalize();
      views.set(request.chart, view);
      return;
    }
    case "svg": {
      const view = views.get(request.chart);
      if (!view) throw new Error("the chart is gone");
      return scope.postMessage({ type: "svg", ask: request.ask, text: await view.toSVG() });
    }
    case "png": {
      const view = views.get(request.chart);
      if (!view) throw new Error("the chart is gone");
      const bytes = await (await (await canvasOf(view, request.scale)).convertToBlob({ type: "image/png" })).arrayBuffer();
      return scope.postMessage({ type: "png", ask: request.ask, bytes }, [bytes]);
    }
    case "close":
      views.get(request.chart)?.finalize();
      views.delete(request.chart);
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

// Paints a big chart off the page's main thread: Vega lays out and encodes every mark and
// paints them on an OffscreenCanvas here, and the page only shows the finished bitmap. Vega
// asks `document` for its canvases; a worker has none, so it gets one that makes
// OffscreenCanvases, installed before Vega is first imported (Vega measures text with one as it
// loads). The view stays here for export (SVG text, PNG bytes) until the page closes it.
import type { View } from "vega";
import { buildView } from "./draw";
import type { PaintReply, PaintRequest } from "./paintMessages";

interface WorkerScope {
  document?: unknown;
  onmessage: ((event: MessageEvent<PaintRequest>) => void) | null;
  postMessage(message: PaintReply, transfer?: Transferable[]): void;
}
const scope = self as unknown as WorkerScope;
const supported = typeof OffscreenCanvas !== "undefined";
if (supported && scope.document === undefined) {
  scope.document = { createElement: (tag: string) => (tag === "canvas" ? new OffscreenCanvas(1, 1) : null) };
}

let view: View | null = null;

async function handle(request: PaintRequest): Promise<void> {
  switch (request.type) {
    case "draw": {
      if (!supported) return scope.postMessage({ type: "unsupported" });
      view = await buildView(JSON.parse(request.spec) as Record<string, unknown>, request.dark, { renderer: "none" });
      const canvas = (await view.toCanvas(request.scale)) as unknown as OffscreenCanvas;
      const bitmap = canvas.transferToImageBitmap();
      return scope.postMessage({ type: "drawn", bitmap }, [bitmap]);
    }
    case "svg":
      return scope.postMessage({ type: "svg", id: request.id, text: view ? await view.toSVG() : "" });
    case "png": {
      const canvas = view ? ((await view.toCanvas(request.scale)) as unknown as OffscreenCanvas) : null;
      const bytes = canvas ? await (await canvas.convertToBlob({ type: "image/png" })).arrayBuffer() : new ArrayBuffer(0);
      return scope.postMessage({ type: "png", id: request.id, bytes }, [bytes]);
    }
  }
}

scope.onmessage = (event) => {
  handle(event.data).catch((e: unknown) => {
    const id = "id" in event.data ? event.data.id : undefined;
    scope.postMessage({ type: "failed", id, message: e instanceof Error ? e.message : String(e) });
  });
};

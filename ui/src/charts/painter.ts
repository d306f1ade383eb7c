// The page's side of the paint worker: one worker per big chart, alive while the chart is shown,
// so export asks the same view that painted it.
import type { DrawnChart } from "./draw";
import type { PaintReply, PaintRequest } from "./paintMessages";

export interface Painted {
  bitmap: ImageBitmap;
  chart: DrawnChart;
  close(): void;
}

/** Paints `spec` in a worker; null when this webview cannot paint off the main thread. */
export function paintInWorker(spec: string, dark: boolean, scale: number): Promise<Painted | null> {
  const worker = new Worker(new URL("./paint.worker.ts", import.meta.url), { type: "module" });
  const waiting = new Map<number, (reply: PaintReply) => void>();
  let next = 0;
  const ask = (request: PaintRequest & { id: number }) =>
    new Promise<PaintReply>((resolve) => {
      waiting.set(request.id, resolve);
      worker.postMessage(request);
    });
  const chart: DrawnChart = {
    svg: async () => {
      const reply = await ask({ type: "svg", id: ++next });
      if (reply.type !== "svg") throw new Error(reply.type === "failed" ? reply.message : "the chart is gone");
      return reply.text;
    },
    png: async (s) => {
      const reply = await ask({ type: "png", id: ++next, scale: s });
      if (reply.type !== "png") throw new Error(reply.type === "failed" ? reply.message : "the chart is gone");
      return new Uint8Array(reply.bytes);
    },
  };
  const close = () => {
    worker.terminate();
    for (const resolve of waiting.values()) resolve({ type: "failed", message: "the chart is gone" });
    waiting.clear();
  };
  return new Promise((resolve, reject) => {
    worker.onerror = (e) => {
      close();
      reject(new Error(e.message || "the chart could not be painted"));
    };
    worker.onmessage = (event: MessageEvent<PaintReply>) => {
      const reply = event.data;
      if ("id" in reply && reply.id !== undefined) {
        waiting.get(reply.id)?.(reply);
        waiting.delete(reply.id);
      } else if (reply.type === "drawn") resolve({ bitmap: reply.bitmap, chart, close });
      else if (reply.type === "unsupported") {
        close();
        resolve(null);
      } else if (reply.type === "failed") {
        close();
        reject(new Error(reply.message));
      }
    };
    worker.postMessage({ type: "draw", spec, dark, scale } satisfies PaintRequest);
  });
}

/** Shows a painted bitmap in `box`, at `scale` device pixels per CSS pixel. */
export function showBitmap(box: HTMLElement, bitmap: ImageBitmap, scale: number): void {
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  canvas.style.width = `${bitmap.width / scale}px`;
  canvas.style.height = `${bitmap.height / scale}px`;
  const direct = canvas.getContext("bitmaprenderer");
  if (direct) direct.transferFromImageBitmap(bitmap);
  else canvas.getContext("2d")?.drawImage(bitmap, 0, 0);
  box.replaceChildren(canvas);
}

// The page's side of the chart worker: one worker for the page (Vega loads once, off the main
// thread), charts and export requests told apart by ids.
import type { DrawnChart } from "./draw";
import type { PaintReply, PaintRequest } from "./paintMessages";

export type Drawing = { svg: string } | { bitmap: ImageBitmap };

export interface Painted {
  drawing: Drawing;
  chart: DrawnChart;
  close(): void;
}

interface Waiter {
  resolve(reply: PaintReply): void;
  reject(error: Error): void;
}

let worker: Worker | null = null;
let broken: Error | null = null;
let nextId = 0;
const charts = new Map<number, Waiter>();
const asks = new Map<number, Waiter>();

function failAll(error: Error) {
  broken = error;
  worker = null;
  for (const waiting of [...charts.values(), ...asks.values()]) waiting.reject(error);
  charts.clear();
  asks.clear();
}

function theWorker(): Worker {
  if (broken) throw broken;
  if (worker) return worker;
  const w = new Worker(new URL("./paint.worker.ts", import.meta.url), { type: "module" });
  w.onerror = (e) => {
    e.preventDefault();
    w.terminate();
    failAll(new Error(e.message || "the chart worker stopped"));
  };
  w.onmessage = (event: MessageEvent<PaintReply>) => {
    const reply = event.data;
    const waiting = "ask" in reply && reply.ask !== undefined ? asks : charts;
    const id = "ask" in reply && reply.ask !== undefined ? reply.ask : "chart" in reply ? reply.chart : undefined;
    if (id === undefined) return;
    const waiter = waiting.get(id);
    waiting.delete(id);
    if (!waiter) return;
    if (reply.type === "failed") waiter.reject(new Error(reply.message));
    else waiter.resolve(reply);
  };
  worker = w;
  return w;
}

function post(request: PaintRequest, into: Map<number, Waiter>, id: number): Promise<PaintReply> {
  return new Promise((resolve, reject) => {
    into.set(id, { resolve, reject });
    try {
      theWorker().postMessage(request);
    } catch (e) {
      into.delete(id);
      reject(e instanceof Error ? e : new Error(String(e)));
    }
  });
}

/** Draws `spec` in the worker: SVG text, or a bitmap at `scale` device pixels per CSS pixel. */
export async function paintInWorker(spec: string, dark: boolean, as: "svg" | "bitmap", scale: number): Promise<Painted> {
  const chart = ++nextId;
  const reply = await post({ type: "draw", chart, spec, dark, as, scale }, charts, chart);
  if (reply.type !== "drawn") throw new Error("the chart worker answered out of turn");
  const drawing: Drawing = "svg" in reply ? { svg: reply.svg } : { bitmap: reply.bitmap };
  const exporter: DrawnChart = {
    svg: async () => {
      const ask = ++nextId;
      const r = await post({ type: "svg", chart, ask }, asks, ask);
      if (r.type !== "svg") throw new Error("the chart worker answered out of turn");
      return r.text;
    },
    png: async (s) => {
      const ask = ++nextId;
      const r = await post({ type: "png", chart, ask, scale: s }, asks, ask);
      if (r.type !== "png") throw new Error("the chart worker answered out of turn");
      return new Uint8Array(r.bytes);
    },
  };
  return { drawing, chart: exporter, close: () => worker?.postMessage({ type: "close", chart } satisfies PaintRequest) };
}

/** Shows a drawing in `box`. SVG text from Vega's own renderer (labels escaped) is parsed as
 *  an SVG document, never as HTML; a bitmap goes on a canvas at its CSS size. */
export function show(box: HTMLElement, drawing: Drawing, scale: number): void {
  if ("svg" in drawing) {
    const doc = new DOMParser().parseFromString(drawing.svg, "image/svg+xml");
    const svg = doc.documentElement;
    // WebKit reports a parse error inside the root element rather than instead of it.
    if (svg.nodeName !== "svg" || doc.getElementsByTagName("parsererror").length > 0) throw new Error("the chart worker drew no SVG");
    box.replaceChildren(document.importNode(svg, true));
    return;
  }
  const { bitmap } = drawing;
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

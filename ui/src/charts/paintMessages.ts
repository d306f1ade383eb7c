// What the page and the chart worker say to each other. Each chart has an id; the worker keeps
// its view until the page closes it, so export asks the view that drew it.
export type PaintRequest =
  | { type: "draw"; chart: number; spec: string; dark: boolean; as: "svg" | "bitmap"; scale: number }
  | { type: "svg"; chart: number; ask: number }
  | { type: "png"; chart: number; ask: number; scale: number }
  | { type: "close"; chart: number };

export type PaintReply =
  | { type: "drawn"; chart: number; svg: string }
  | { type: "drawn"; chart: number; bitmap: ImageBitmap }
  | { type: "svg"; ask: number; text: string }
  | { type: "png"; ask: number; bytes: ArrayBuffer }
  | { type: "failed"; chart?: number; ask?: number; message: string };

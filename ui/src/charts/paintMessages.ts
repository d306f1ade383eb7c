// What the page and the paint worker say to each other.
export type PaintRequest =
  | { type: "draw"; spec: string; dark: boolean; scale: number }
  | { type: "svg"; id: number }
  | { type: "png"; id: number; scale: number };

export type PaintReply =
  | { type: "drawn"; bitmap: ImageBitmap }
  | { type: "unsupported" }
  | { type: "svg"; id: number; text: string }
  | { type: "png"; id: number; bytes: ArrayBuffer }
  | { type: "failed"; id?: number; message: string };

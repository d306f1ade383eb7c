// The layouts besides ISO 8601 that the engine reads dates and date-times in at import
// (src-tauri/engine/src/tables/import/layouts.rs, whose test checks these lists against its own).

export const IMPORT_DATE_LAYOUTS = [
  "%m/%d/%Y",
  "%d/%m/%Y",
  "%Y/%m/%d",
  "%d.%m.%Y",
  "%m-%d-%Y",
  "%d-%m-%Y",
  "%Y.%m.%d",
  "%B %d %Y",
  "%B %d, %Y",
  "%d %B %Y",
  "%d-%B-%Y",
  "%B-%d-%Y",
];
export const IMPORT_TIMES = ["%H:%M:%S", "%H:%M"];
export const IMPORT_TIMESTAMP_LAYOUTS = IMPORT_DATE_LAYOUTS.flatMap((d) => IMPORT_TIMES.map((t) => `${d} ${t}`));

/** The layouts a column of `kind` can be written in ("" is ISO 8601); none for other types. */
export function layoutsFor(kind: string): string[] {
  if (kind === "date") return ["", ...IMPORT_DATE_LAYOUTS];
  if (kind === "timestamp") return ["", ...IMPORT_TIMESTAMP_LAYOUTS];
  return [];
}

/** A layout shown as the last day of January 2012 written so ("" is ISO 8601). */
export function layoutExample(layout: string, kind: string): string {
  if (layout === "") return kind === "date" ? "2012-01-31" : "2012-01-31T14:05:09";
  const parts: Record<string, string> = { Y: "2012", m: "01", d: "31", B: "Jan", H: "14", M: "05", S: "09" };
  return layout.replace(/%([YmdBHMS])/g, (_, p: string) => parts[p] ?? p);
}

import type { TableInfo } from "../bindings";

/** What a linked table reads, for its tooltip: the user's files where they lie, or Quire's copy
 *  in the notebook's folder and what it is a copy of. */
export function linkedTitle(t: TableInfo): string {
  if (t.missing) return t.missing;
  if (!t.converted) return `Read where it lies: ${t.linked}`;
  return t.origin ? `A copy of ${t.origin} as Parquet in the notebook's folder, read from ${t.linked}` : `Converted to Parquet, read from ${t.linked}`;
}

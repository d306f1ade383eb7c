// Grid pages: rows travel as Arrow IPC bytes (not JSON) and are decoded here with apache-arrow.
// `table_page` is the one command outside the generated bindings (it returns raw bytes); its
// argument names are checked against the Rust signature by a test in src-tauri.
import { invoke } from "@tauri-apps/api/core";
import { tableFromIPC, type Table } from "apache-arrow";
import { QuireError } from "./backend";
import type { NotebookId } from "./bindings";

/** The hidden column with each row's stable id. */
export const ROW_ID_COLUMN = "__quire_row_id";

export type Row = Record<string, string | null>;

export async function fetchPage(notebook: NotebookId, table: string, offset: number, limit: number): Promise<Row[]> {
  let bytes: ArrayBuffer;
  try {
    bytes = await invoke<ArrayBuffer>("table_page", { notebook, table, offset, limit });
  } catch (e) {
    throw QuireError.from(e);
  }
  return rowsOf(tableFromIPC(new Uint8Array(bytes)));
}

/** Arrow rows as display text: numbers stay exact (64-bit integers too), dates read as ISO. */
export function rowsOf(table: Table): Row[] {
  const fields = table.schema.fields.map((f) => f.name);
  const columns = fields.map((name) => table.getChild(name));
  const rows: Row[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const row: Row = {};
    fields.forEach((name, c) => {
      row[name] = display(columns[c]?.get(i));
    });
    rows.push(row);
  }
  return rows;
}

export function display(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") return Number.isInteger(v) ? v.toString() : String(v);
  if (v instanceof Date) return v.toISOString().replace(".000Z", "Z");
  return String(v);
}

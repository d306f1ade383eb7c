// Grid pages: rows travel as Arrow IPC bytes (not JSON) and are decoded here with apache-arrow.
// `table_page` is the one command outside the generated bindings (it returns raw bytes); its
// argument names are checked against the Rust signature by a test in src-tauri.
import { invoke } from "@tauri-apps/api/core";
import { DataType, IntervalUnit, makeVector, Precision, tableFromIPC, TimeUnit, type Data, type Table, type Vector } from "apache-arrow";
import { QuireError } from "./backend";
import { dateText, decimalText, durationText, float32Text, intervalText, timeText, timestampText, type TimeUnitName } from "./format";
import { commands, type ColumnFilter, type FilterOp, type NotebookId, type SortKey, type ViewProgress, type ViewSpec } from "./bindings";

/** The hidden column with each row's stable id. */
export const ROW_ID_COLUMN = "__quire_row_id";

export type Row = Record<string, string | null>;

export async function fetchPage(
  notebook: NotebookId,
  table: string,
  view: ViewSpec | null,
  offset: number,
  limit: number,
): Promise<Row[]> {
  let bytes: ArrayBuffer;
  try {
    bytes = await invoke<ArrayBuffer>("table_page", { notebook, table, view, offset, limit });
  } catch (e) {
    throw QuireError.from(e);
  }
  return rowsOf(tableFromIPC(new Uint8Array(bytes)));
}

/** How many rows a sorted, filtered view has (the engine computes and caches the view). */
export async function viewRows(notebook: NotebookId, table: string, view: ViewSpec): Promise<number> {
  const result = await commands.viewRows(notebook, table, view);
  if (result.status === "error") throw QuireError.from(result.error);
  return result.data;
}

/** How far the sorted or filtered view of a table being made has come (null: none is). */
export async function viewProgress(notebook: NotebookId, table: string): Promise<ViewProgress | null> {
  const result = await commands.viewProgress(notebook, table);
  if (result.status === "error") throw QuireError.from(result.error);
  return result.data;
}

/** Stops making the sorted or filtered view of a table; its pending pages fail as cancelled. */
export async function cancelView(notebook: NotebookId, table: string): Promise<void> {
  const result = await commands.cancelView(notebook, table);
  if (result.status === "error") throw QuireError.from(result.error);
}

/** The grid's line while a view is being made: what it does and how far it has read. */
export function viewProgressText(progress: ViewProgress, sorting: boolean): string {
  const n = (x: number) => x.toLocaleString("en-US");
  const share = progress.rows_total > 0 ? Math.floor((100 * progress.rows_read) / progress.rows_total) : 0;
  return `${sorting ? "Sorting" : "Filtering"} ${n(progress.rows_total)} rows… ${share}% read`;
}

/** Arrow rows as cell text (see format.ts): exact, in the form the engine parses back when a
 *  cell is edited. Numbers stay exact (64-bit integers too); times read as ISO dates. */
export function rowsOf(table: Table): Row[] {
  const fields = table.schema.fields.map((f) => f.name);
  const columns = fields.map((name) => {
    const vector = table.getChild(name);
    return vector ? columnText(vector) : [];
  });
  const rows: Row[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const row: Row = {};
    fields.forEach((name, c) => {
      row[name] = columns[c]?.[i] ?? null;
    });
    rows.push(row);
  }
  return rows;
}

const UNITS: Record<TimeUnit, TimeUnitName> = {
  [TimeUnit.SECOND]: "s",
  [TimeUnit.MILLISECOND]: "ms",
  [TimeUnit.MICROSECOND]: "us",
  [TimeUnit.NANOSECOND]: "ns",
};

/** One text per value of a column, chunk by chunk. Timestamps and times are read from their
 *  raw integers: apache-arrow's `get` turns them into float milliseconds, which loses
 *  nanoseconds and made the grid show epoch numbers. */
function columnText(vector: Vector): (string | null)[] {
  const out: (string | null)[] = [];
  for (const data of vector.data) {
    // The Null type has no validity bitmap: every value is missing, though `getValid` says not.
    if (DataType.isNull(data.type)) {
      for (let i = 0; i < data.length; i++) out.push(null);
      continue;
    }
    const text = textOf(data);
    for (let i = 0; i < data.length; i++) out.push(data.getValid(i) ? text(i) : null);
  }
  return out;
}

function textOf(data: Data): (i: number) => string {
  const type = data.type;
  const raw = (i: number) => BigInt((data.values as ArrayLike<number | bigint>)[i] ?? 0);
  if (DataType.isTimestamp(type)) {
    const unit = UNITS[type.unit];
    const zone = type.timezone ?? null;
    return (i) => timestampText(raw(i), unit, zone);
  }
  if (DataType.isTime(type)) {
    const unit = UNITS[type.unit];
    return (i) => timeText(raw(i), unit);
  }
  if (DataType.isDuration(type)) {
    const unit = UNITS[type.unit];
    return (i) => durationText(raw(i), unit);
  }
  if (DataType.isInterval(type)) {
    // Read from the raw 32-bit words (apache-arrow's `get` gives them as an array).
    const words = data.values as Int32Array;
    if (type.unit === IntervalUnit.MONTH_DAY_NANO)
      return (i) => {
        const nanos = (BigInt(words[4 * i + 3]!) << 32n) | BigInt(words[4 * i + 2]! >>> 0);
        return intervalText(words[4 * i]!, BigInt(words[4 * i + 1]!), nanos);
      };
    if (type.unit === IntervalUnit.DAY_TIME)
      return (i) => intervalText(0, BigInt(words[2 * i]!), BigInt(words[2 * i + 1]!) * 1_000_000n);
    return (i) => intervalText(words[i]!, 0n, 0n);
  }
  const vector = makeVector(data);
  if (DataType.isDate(type)) return (i) => dateText(Number(vector.get(i)));
  if (DataType.isDecimal(type)) return (i) => decimalText(String(vector.get(i)), type.scale);
  if (DataType.isFloat(type) && type.precision === Precision.SINGLE) return (i) => float32Text(Number(vector.get(i)));
  return (i) => display(vector.get(i)) ?? "";
}

export function display(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") return Number.isInteger(v) ? v.toString() : String(v);
  if (v instanceof Date) return v.toISOString().replace(".000Z", "Z");
  return String(v);
}

// AG Grid's sort and filter models, as far as Quire uses them.
export interface GridSort {
  colId: string;
  sort: "asc" | "desc";
}
interface GridCondition {
  filterType?: string;
  type?: string;
  filter?: string | number | null;
  filterTo?: string | number | null;
  /** A date filter's: "2012-01-31 00:00:00" (AG Grid's own form, also when only a day is meant). */
  dateFrom?: string | null;
  dateTo?: string | null;
}
type GridFilter = GridCondition & { operator?: "AND" | "OR"; conditions?: GridCondition[] };

const OPS: Record<string, FilterOp> = {
  contains: "contains",
  notContains: "not_contains",
  equals: "equals",
  notEqual: "not_equals",
  startsWith: "starts_with",
  endsWith: "ends_with",
  greaterThan: "greater_than",
  greaterThanOrEqual: "greater_than_or_equal",
  lessThan: "less_than",
  lessThanOrEqual: "less_than_or_equal",
  blank: "blank",
  notBlank: "not_blank",
};

const DAY_MS = 86_400_000;

/** AG Grid's "2012-01-31 00:00:00" as the engine compares a date or date-time column with it:
 *  "2012-01-31" when it is a day (a date column reads no time), else as it is. */
function gridDate(value: string): string {
  return value.endsWith(" 00:00:00") ? value.slice(0, -9) : value;
}

function nextDay(value: string): string {
  const text = gridDate(value);
  const ms = Date.parse(text.length > 10 ? `${text.replace(" ", "T")}Z` : `${text}T00:00:00Z`);
  return Number.isNaN(ms) ? value : gridDate(new Date(ms + DAY_MS).toISOString().slice(0, 19).replace("T", " "));
}

/** A date filter: a day picked means the whole day, whatever the times in a date-time column,
 *  also as a range's end (a profile's bar of dates, whose ends are instants, keeps its start
 *  and leaves out its end). */
function dateConditions(column: string, c: GridCondition): ColumnFilter[] {
  const from = c.dateFrom ? gridDate(c.dateFrom) : null;
  const day = from !== null && /^\d{4}-\d{2}-\d{2}$/.test(from);
  switch (c.type) {
    case "equals":
      return day
        ? [
            { column, op: "greater_than_or_equal", value: from },
            { column, op: "less_than", value: nextDay(from) },
          ]
        : [{ column, op: "equals", value: from }];
    // Offered for date columns only (TableGrid): "not that day" of date-times is no AND of
    // conditions.
    case "notEqual":
      return [{ column, op: "not_equals", value: from }];
    case "greaterThan":
      return [day ? { column, op: "greater_than_or_equal", value: nextDay(from) } : { column, op: "greater_than", value: from }];
    case "lessThan":
      return [{ column, op: "less_than", value: from }];
    case "inRange": {
      // A day picked as the end is in the range, as SQL's BETWEEN has it; a profile bar's end
      // (an instant) is not, as it starts the next bar.
      const to = c.dateTo ? gridDate(c.dateTo) : null;
      const toDay = to !== null && /^\d{4}-\d{2}-\d{2}$/.test(to);
      return [
        { column, op: "greater_than_or_equal", value: from },
        { column, op: "less_than", value: toDay ? nextDay(to) : to },
      ];
    }
    case "blank":
    case "notBlank":
      return [{ column, op: OPS[c.type]!, value: null }];
    default:
      return [];
  }
}

function conditions(column: string, c: GridCondition): ColumnFilter[] {
  if (c.filterType === "date") return dateConditions(column, c);
  const value = c.filter === null || c.filter === undefined ? null : String(c.filter);
  if (c.type === "inRange") {
    const to = c.filterTo === null || c.filterTo === undefined ? null : String(c.filterTo);
    return [
      { column, op: "greater_than_or_equal", value },
      { column, op: "less_than_or_equal", value: to },
    ];
  }
  const op = c.type ? OPS[c.type] : undefined;
  return op ? [{ column, op, value }] : [];
}

/** The engine's view of the grid's sort and filters; null when the grid shows the table as is.
 *  A column's two conditions joined with OR are one `either` of the view. */
export function viewSpec(sortModel: GridSort[], filterModel: Record<string, GridFilter> | null): ViewSpec | null {
  const sort: SortKey[] = sortModel.map((s) => ({ column: s.colId, descending: s.sort === "desc" }));
  const filters: ColumnFilter[] = [];
  const either: ColumnFilter[][][] = [];
  for (const [column, f] of Object.entries(filterModel ?? {})) {
    if (f.conditions && f.operator === "OR") either.push(f.conditions.map((c) => conditions(column, c)));
    else if (f.conditions) f.conditions.forEach((c) => filters.push(...conditions(column, c)));
    else filters.push(...conditions(column, f));
  }
  if (sort.length === 0 && filters.length === 0 && either.length === 0) return null;
  return either.length === 0 ? { sort, filters } : { sort, filters, either };
}

/** Whether a view keeps only some rows (else it only sorts). */
export function filters(view: ViewSpec | null): boolean {
  return view !== null && (view.filters.length > 0 || (view.either ?? []).length > 0);
}

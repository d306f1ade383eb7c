// Building a Transform from the transform dialog's form. The engine evaluates SQL expressions,
// so every preset (trim, replace, cast, ...) is an expression with its names and values quoted.
import type { Transform } from "./bindings";
import { isNumericType, isWholeType } from "./format";
import { IMPORT_DATE_LAYOUTS, layoutExample } from "./importLayouts";

export type TransformKind =
  | "trim"
  | "lower"
  | "upper"
  | "replace"
  | "cast"
  | "fill_nulls"
  | "split"
  | "expression"
  | "filter"
  | "dedupe"
  | "rename"
  | "drop"
  | "add";

export const TRANSFORM_KINDS: { kind: TransformKind; label: string }[] = [
  { kind: "trim", label: "Trim spaces" },
  { kind: "lower", label: "Lower case" },
  { kind: "upper", label: "Upper case" },
  { kind: "replace", label: "Replace text" },
  { kind: "cast", label: "Change type" },
  { kind: "fill_nulls", label: "Fill empty cells" },
  { kind: "split", label: "Keep part of a split" },
  { kind: "expression", label: "Set to an SQL expression" },
  { kind: "filter", label: "Keep rows where…" },
  { kind: "dedupe", label: "Remove duplicate rows" },
  { kind: "rename", label: "Rename column" },
  { kind: "drop", label: "Drop column" },
  { kind: "add", label: "Add column" },
];

export const CAST_TYPES = ["BIGINT", "DOUBLE", "VARCHAR", "BOOLEAN", "DATE", "TIMESTAMP"];

/** How a text column's dates may be written, each shown as an example (31 January 2012) and
 *  read with its chrono format by `to_date`: the layouts the import reads ("" is ISO,
 *  2012-01-31, which CAST reads). */
export const DATE_LAYOUTS: [format: string, example: string][] = ["", ...IMPORT_DATE_LAYOUTS].map((l) => [l, layoutExample(l, "date")]);

/** How a column of numbers may hold dates: the digits of the day (`20120131`, "" as for
 *  text), or seconds since 1970. A plain CAST would read 20120131 as a count of days since
 *  1970 (the year 57,000), and 1357017300.0 as nanoseconds, which no user means. */
export const WHOLE_DATE_LAYOUTS: [format: string, example: string][] = [
  ["", "20120131"],
  ["epoch", "seconds since 1970 (1327968000)"],
];

/** An error's "written as %d.%m.%Y" as the dialog offered the layout: "written as 31.01.2012". */
export function layoutsInWords(message: string): string {
  const examples = new Map<string, string>([...DATE_LAYOUTS.filter(([f]) => f !== ""), ["%Y%m%d", "20120131"]]);
  return message.replace(/written as (%[^:;,]*?)(?=[:;,]|$)/g, (whole, format: string) => {
    const example = examples.get(format.trim());
    return example ? `written as ${example}` : whole;
  });
}

/** The layouts offered for a change of `columnType` to a date or a date-time. */
export function dateLayouts(columnType: string, to: string): [format: string, example: string][] {
  if (isNumericType(columnType) && (to === "DATE" || to === "TIMESTAMP")) return WHOLE_DATE_LAYOUTS;
  return to === "DATE" ? DATE_LAYOUTS : [];
}

/** Each type a column can change to, in the words its header then shows (`typeLabel`). */
export const CAST_LABELS: Record<string, string> = {
  BIGINT: "integer",
  DOUBLE: "number",
  VARCHAR: "text",
  BOOLEAN: "boolean",
  DATE: "date",
  TIMESTAMP: "date-time",
};

export interface TransformForm {
  kind: TransformKind;
  column: string;
  /** The column's Arrow type, e.g. "Int64", "Utf8" (decides how a fill value is written). */
  columnType: string;
  /** First and second parameter: find/replace, separator/part, type, value, name, expression. */
  a: string;
  b: string;
  /** Columns for duplicate detection (none: all). */
  columns: string[];
}

export const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
export const sqlString = (text: string) => `'${text.replaceAll("'", "''")}'`;

const NUMERIC = /^(Int|UInt|Float|Decimal)/;

/** A fill value as a literal of the column's type: DataFusion's coalesce finds no common type
 *  for a date or timestamp column and a text literal, and a plain CAST would change the
 *  column's unit, so those are cast to exactly the column's Arrow type. */
export function fillLiteral(columnType: string, value: string): string {
  if (NUMERIC.test(columnType) && value.trim() !== "" && Number.isFinite(Number(value))) return value.trim();
  if (/^(Date|Timestamp|Time)/.test(columnType)) return `arrow_cast(${sqlString(value.trim())}, ${sqlString(columnType)})`;
  if (columnType === "Boolean" && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase();
  return sqlString(value);
}

/** The transform the form describes, or a sentence saying what is missing. */
export function buildTransform(f: TransformForm): Transform | string {
  const col = ident(f.column);
  const set = (expr: string): Transform => ({ kind: "set_column", column: f.column, expr });
  switch (f.kind) {
    case "trim":
      return set(`trim(${col})`);
    case "lower":
      return set(`lower(${col})`);
    case "upper":
      return set(`upper(${col})`);
    case "replace":
      if (f.a === "") return "Say what text to replace.";
      return set(`replace(${col}, ${sqlString(f.a)}, ${sqlString(f.b)})`);
    case "cast":
      if (!CAST_TYPES.includes(f.a)) return "Choose a type.";
      if (dateLayouts(f.columnType, f.a) === WHOLE_DATE_LAYOUTS) {
        // 20120131.0 spells its day once whole; seconds keep their fraction.
        const digits = isWholeType(f.columnType) ? col : `CAST(${col} AS BIGINT)`;
        const day = f.b === "epoch" ? `to_timestamp(${col})` : `to_date(CAST(${digits} AS VARCHAR), '%Y%m%d')`;
        return set(f.a === "DATE" && f.b !== "epoch" ? day : `CAST(${day} AS ${f.a})`);
      }
      // Dates written another way than ISO: read with their layout (to_date takes text).
      if (f.a === "DATE" && f.b !== "") return set(`to_date(CAST(${col} AS VARCHAR), ${sqlString(f.b)})`);
      // Numbers made whole numbers are rounded, as a spreadsheet and DuckDB round them: a
      // plain CAST cuts 11.9 to 11.
      // A float's CAST rounds (halves to even, as DuckDB's); a decimal's is rounded first.
      if (f.a === "BIGINT" && /^Decimal/.test(f.columnType)) return set(`CAST(round(${col}) AS BIGINT)`);
      return set(`CAST(${col} AS ${f.a})`);
    case "fill_nulls": {
      if (f.a === "") return "Say what to put in empty cells.";
      return set(`coalesce(${col}, ${fillLiteral(f.columnType, f.a)})`);
    }
    case "split": {
      const part = Number.parseInt(f.b, 10);
      if (f.a === "") return "Say what separates the parts.";
      if (!Number.isInteger(part) || part < 1) return "Say which part to keep (1 is the first).";
      return set(`split_part(${col}, ${sqlString(f.a)}, ${part})`);
    }
    case "expression":
      if (f.a.trim() === "") return "Write an SQL expression, e.g. amount * 1.2";
      return set(f.a);
    case "filter":
      if (f.a.trim() === "") return "Write a condition, e.g. amount > 0";
      return { kind: "filter_rows", predicate: f.a };
    case "dedupe":
      return { kind: "remove_duplicates", columns: f.columns };
    case "rename":
      if (f.a.trim() === "") return "Give the new name.";
      return { kind: "rename_column", column: f.column, to: f.a.trim() };
    case "drop":
      return { kind: "drop_column", column: f.column };
    case "add":
      if (f.a.trim() === "") return "Name the new column.";
      if (f.b.trim() === "") return "Write the SQL expression that computes it.";
      return { kind: "add_column", column: f.a.trim(), expr: f.b };
  }
}

/** Whether the kind works on one chosen column. */
export function needsColumn(kind: TransformKind): boolean {
  return !["filter", "dedupe", "add"].includes(kind);
}

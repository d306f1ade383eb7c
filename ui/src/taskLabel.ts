// What a recorded task is, in words a person recognises. The engine names a task by ids (a
// cell's UUID, a notebook's UUID); the payload carries what it takes to run it again, which is
// enough to say what it was. Never show a raw id: at worst say the kind of work.
import type { NotebookSummary, NotebookView, Task, Transform } from "./bindings";

export interface TaskLabel {
  /** "Run cell 3 in “Trips”", "Import flights.csv as flights". */
  title: string;
  /** The query's first line, a transform's expression: shown smaller, may be absent. */
  detail: string | null;
}

const MAX_DETAIL = 80;

export function taskLabel(t: Task, notebooks: NotebookSummary[], view: NotebookView | null): TaskLabel {
  const payload = parsePayload(t.payload);
  const title = notebooks.find((n) => n.id === t.notebook)?.title ?? (view?.summary.id === t.notebook ? view?.summary.title : undefined);
  const where = title ? ` in “${title}”` : "";
  const table = t.target ?? null;
  switch (t.kind) {
    case "cell_run": {
      // Only the open notebook's cells are known here; elsewhere the SQL still says which.
      const index = view && view.summary.id === t.notebook ? view.cells.findIndex((c) => c.id === t.target) : -1;
      const sql = typeof payload.sql === "string" ? firstLine(payload.sql) : null;
      return { title: `${index >= 0 ? `Run cell ${index + 1}` : "Run a query"}${where}`, detail: sql };
    }
    case "import": {
      const file = typeof payload.path === "string" ? baseName(payload.path) : null;
      const what = file ?? "a file";
      return { title: `Import ${what}${table && table !== stem(what) ? ` as ${table}` : ""}${where}`, detail: null };
    }
    case "export": {
      const file = typeof payload.path === "string" ? baseName(payload.path) : null;
      return { title: `Export ${table ?? "a table"}${file ? ` to ${file}` : ""}${where}`, detail: null };
    }
    case "transform": {
      const detail = isTransform(payload.transform) ? describeTransform(payload.transform) : null;
      return { title: `Transform ${table ?? "a table"}${where}`, detail };
    }
    case "snapshot": {
      const version = typeof payload.version === "number" ? ` (version ${payload.version})` : "";
      return { title: `Save ${table ?? "a table"}${version}${where}`, detail: null };
    }
  }
}

export function describeTransform(t: Transform): string {
  switch (t.kind) {
    case "set_column":
      return clip(`${t.column} = ${t.expr}`);
    case "add_column":
      return clip(`add ${t.column} = ${t.expr}`);
    case "filter_rows":
      return clip(`keep rows where ${t.predicate}`);
    case "remove_duplicates":
      return t.columns.length === 0 ? "remove duplicate rows" : clip(`remove duplicates by ${t.columns.join(", ")}`);
    case "rename_column":
      return clip(`rename ${t.column} to ${t.to}`);
    case "drop_column":
      return clip(`drop ${t.column}`);
    default:
      // A kind from a newer engine: its name still says more than nothing.
      return String((t as { kind: unknown }).kind).replaceAll("_", " ");
  }
}

function parsePayload(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function isTransform(v: unknown): v is Transform {
  return typeof v === "object" && v !== null && typeof (v as { kind?: unknown }).kind === "string";
}

/** The first line with something on it, so a query starting with a comment or blank line still reads. */
function firstLine(sql: string): string | null {
  const line = sql.split("\n").find((l) => l.trim() !== "");
  if (!line) return null;
  const more = sql.trim().length > line.trim().length;
  return clip(line.trim(), more);
}

function clip(s: string, more = false): string {
  return s.length > MAX_DETAIL ? `${s.slice(0, MAX_DETAIL - 1)}…` : more ? `${s} …` : s;
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() || path;
}

function stem(file: string): string {
  const dot = file.lastIndexOf(".");
  return dot > 0 ? file.slice(0, dot) : file;
}

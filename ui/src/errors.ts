// Plain words for each error code. The engine's message says what exactly went wrong; this
// says what it means for the user. Codes this build does not know still show their message.
import type { ErrorCode } from "./bindings";
import type { QuireError } from "./backend";
import { cleanEngineMessage } from "./engineMessage";

const headlines: Record<ErrorCode, string> = {
  config_invalid: "Your settings file has a problem, so Quire started with its defaults",
  workspace_unavailable: "Quire cannot open its workspace folder",
  workspace_locked: "This workspace is open in another Quire",
  path_outside_workspace: "That location is outside your workspace",
  path_not_allowed: "Quire only opens files you choose",
  io: "Quire could not read or write a file",
  invalid_title: "That title cannot be used",
  notebook_not_found: "That notebook no longer exists",
  notebook_exists: "A notebook with that title already exists",
  notebook_unreadable: "This notebook's file cannot be read",
  notebook_changed_on_disk: "The notebook was changed outside Quire",
  cell_not_found: "That cell no longer exists",
  sql_invalid: "The query has a problem",
  import_failed: "The file could not be imported",
  file_unreadable: "The file could not be read",
  invalid_table_name: "That table name cannot be used",
  table_not_found: "That table no longer exists",
  table_exists: "A table with that name already exists",
  table_linked: "This table is linked to a file Quire does not change",
  invalid_value: "That value does not fit the column",
  column_invalid: "That column cannot be changed this way",
  generation_not_found: "That saved copy is no longer kept",
  version_not_found: "That version is no longer kept",
  task_not_found: "That task is no longer listed",
  chart_invalid: "The chart cannot be drawn",
  too_large: "This is more data than Quire may hold in memory",
  cancelled: "Cancelled",
  view_cancelled: "The sort or filter was cancelled",
  connection_invalid: "That connection cannot be used as it is",
  connection_unreachable: "The server could not be reached",
  connection_refused: "The server refused access",
  connection_not_found: "That connection no longer exists",
  connection_failed: "The server answered with an error",
  object_exists: "Something is already stored under that name",
  bucket_not_found: "That bucket or container does not exist",
  not_on_cluster: "The cluster cannot read a table this query names",
  pattern_invalid: "That pattern cannot choose the files to link",
  internal: "Something went wrong inside Quire",
};

export interface ErrorText {
  headline: string;
  detail: string;
}

export function describeError(err: Pick<QuireError, "code" | "message"> & { position?: QuireError["position"] }): ErrorText {
  const headline =
    err.code !== "unknown" && err.code in headlines
      ? headlines[err.code]
      : "Something went wrong";
  // The engine's message numbers the copy by generation, which no screen shows.
  if (err.code === "generation_not_found")
    return { headline, detail: "Quire keeps only the last few saved copies of each table; History lists those left." };
  const { text, position: at } = cleanEngineMessage(err.message, err.position ?? null);
  const where = at ? (at.column > 0 ? ` (line ${at.line}, column ${at.column})` : ` (line ${at.line})`) : "";
  return { headline, detail: capitalise(text) + where };
}

/** The first letter in capitals, unless the text starts with an address or a path, which
 *  must read as written ("http://…", "s3://…", "/home/…"). */
function capitalise(s: string): string {
  if (s.length === 0 || /^([a-z][a-z0-9+.-]*:\/\/|\/)/.test(s)) return s;
  return s[0]!.toUpperCase() + s.slice(1);
}

export function formatBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

import { useRef, useState } from "react";
import { useBackend } from "../context";
import { QuireError } from "../backend";
import type { ColumnSpec, ColumnType, CsvOptions, ImportOutcome, ImportPreview, ImportProgress, NotebookId, SheetOptions } from "../bindings";
import { describeError, formatBytes, type ErrorText } from "../errors";
import { typeLabel } from "../format";
import { useEscape } from "./useEscape";
import { parseMissing, SkippedRows } from "./CsvChoicesFields";
import { layoutExample, layoutsFor } from "../importLayouts";

const TYPES: [ColumnType, string][] = [
  ["integer", "integer"],
  ["float", "number"],
  ["boolean", "true/false"],
  ["date", "date"],
  ["timestamp", "date-time"],
  ["timestamp_tz", "date-time with zone"],
  ["text", "text"],
];

const DELIMITERS: [string, string][] = [[",", "Comma"], [";", "Semicolon"], ["\t", "Tab"], ["|", "Pipe"]];
/** Text encodings offered besides the one detected (WHATWG labels, as the engine takes them). */
export const ENCODINGS: [string, string][] = [
  ["utf-8", "UTF-8"],
  ["utf-16le", "UTF-16 (little-endian)"],
  ["utf-16be", "UTF-16 (big-endian)"],
  ["windows-1252", "Western (Windows-1252 / Latin-1)"],
  ["iso-8859-15", "Western (ISO-8859-15)"],
  ["windows-1250", "Central European (Windows-1250)"],
  ["windows-1251", "Cyrillic (Windows-1251)"],
  ["shift_jis", "Japanese (Shift JIS)"],
  ["gbk", "Chinese (GBK)"],
  ["euc-kr", "Korean (EUC-KR)"],
];

/** The encodings to offer: the list, with the detected one first if it is not in it. */
export function encodingChoices(detected: string | null | undefined): [string, string][] {
  if (!detected || ENCODINGS.some(([label]) => label === detected)) return ENCODINGS;
  return [[detected, detected], ...ENCODINGS];
}

interface Props {
  notebook: NotebookId;
  path: string;
  preview: ImportPreview;
  onDone(outcome: ImportOutcome): void;
  onClose(): void;
}

/** Files from this size on are linked (Parquet) or converted (CSV, JSON) by default: a copy is
 *  held whole in memory. */
export const LINK_BY_DEFAULT_BYTES = 512 * 1024 * 1024;

/** Whether a file can be linked (read where it lies) instead of copied. */
export function linkable(preview: ImportPreview): boolean {
  return preview.format === "parquet";
}

/** Whether a file can be converted into Parquet in the notebook and linked instead of copied. */
export function convertible(preview: ImportPreview): boolean {
  return preview.format === "csv" || preview.format === "json";
}

type Mode = "copy" | "link" | "convert";

function defaultMode(preview: ImportPreview): Mode {
  if (preview.file_bytes < LINK_BY_DEFAULT_BYTES) return "copy";
  if (linkable(preview)) return "link";
  return convertible(preview) ? "convert" : "copy";
}

/** A message from the engine as a sentence: capitalised, with its full stop. */
function sentence(text: string): string {
  const t = text.trim();
  return `${t.charAt(0).toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? "" : "."}`;
}

export function defaultName(path: string): string {
  // `trips.csv.gz`: both the compression's and the format's extension go.
  const stem = (path.split(/[\\/]/).pop() ?? "table").replace(/(\.[^.]*)?\.(gz|gzip|zst|zstd)$/i, "").replace(/\.[^.]*$/, "");
  const name = stem.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
  return /^[a-z_]/.test(name) ? name : `t_${name}`;
}

/** Shows how a file will be read (the user can correct names, types and the CSV dialect),
 *  then imports it with a progress bar and a Cancel button. */
export function ImportDialog({ notebook, path, preview: first, onDone, onClose }: Props) {
  const backend = useBackend();
  // A spreadsheet's other sheet is previewed anew.
  const [preview, setPreview] = useState(first);
  const [sheet, setSheet] = useState<SheetOptions | null>(first.sheet);
  const [table, setTable] = useState(defaultName(path));
  const [csv, setCsv] = useState<CsvOptions | null>(preview.csv);
  const [progress, setProgress] = useState<ImportProgress | null>(null);
  const [job, setJob] = useState<string | null>(null);
  // A CSV file no proposal reads opens here anyway, its problem said, on options that may.
  const [error, setError] = useState<ErrorText | null>(
    first.problem
      ? { headline: "This file cannot be read as proposed:", detail: `${sentence(first.problem)} Change how it is written below, or skip the rows that do not fit.` }
      : null,
  );
  // An import that skipped rows stays open on the list of them: no row is dropped unseen.
  const [finished, setFinished] = useState<ImportOutcome | null>(null);
  const [missingText, setMissingText] = useState((preview.csv?.missing ?? []).join(", "));
  const columns = csv?.columns ?? preview.columns;
  const [mode, setMode] = useState<Mode>(defaultMode(first));
  const linking = mode === "link" && linkable(preview);
  const converting = mode === "convert" && convertible(preview);
  // Esc stops a running import first; once nothing runs it closes, like the Close button.
  // Once rows were skipped the table exists: Esc is Done, so it opens.
  useEscape(() => (job ? void backend.cancelJob(job) : finished ? onDone(finished) : onClose()));

  // A change of how the file is written reads its first rows again, so the columns, their
  // types and the rows shown are what the import will make (the names typed so far go: the
  // columns may not be the same ones). Only the latest answer counts.
  const asked = useRef(0);
  const choose = async (change: Partial<CsvOptions>) => {
    if (!csv) return;
    const options = { ...csv, ...change, missing: parseMissing(missingText) };
    setCsv(options);
    const ticket = ++asked.current;
    setError(null);
    try {
      const next = await backend.previewCsv(path, { ...options, columns: null });
      if (ticket !== asked.current) return;
      setPreview(next);
      // The preview knows the file, not what to do with rows that do not fit: that stays.
      setCsv(next.csv && { ...next.csv, on_bad_row: options.on_bad_row });
    } catch (e) {
      if (ticket !== asked.current) return;
      setError(describeError(QuireError.from(e)));
      // What was shown was read another way: neither its rows nor its left-out lines stand.
      setPreview((was) => ({ ...was, rows: [], skipped_lines: [] }));
    }
  };

  // A type or date layout the user picks reads the first rows again with it: the rows shown
  // are what the import will make, and a value it cannot read is said now.
  const reread = async (chosen: ColumnSpec[]) => {
    if (!csv) return;
    const ticket = ++asked.current;
    setError(null);
    try {
      const next = await backend.previewCsv(path, { ...csv, columns: chosen, missing: parseMissing(missingText) });
      if (ticket === asked.current) setPreview(next);
    } catch (e) {
      if (ticket !== asked.current) return;
      setError(describeError(QuireError.from(e)));
      // The rows read before are not what these choices would make: none are shown.
      setPreview((was) => ({ ...was, rows: [] }));
    }
  };
  const setColumn = (i: number, change: Partial<{ name: string; kind: ColumnType; layout: string | null }>) => {
    if (!csv) return;
    const next = columns.map((c, j) => (j === i ? { ...c, ...change } : c));
    // A type picked is kept as picked: the import stops on a value it cannot read rather than
    // choosing another type (as it may for one it only sniffed).
    const was = csv.picked ?? [];
    const picked = change.kind !== undefined && !was.includes(i) ? [...was, i] : was;
    setCsv({ ...csv, columns: next, picked });
    if (change.kind !== undefined || change.layout !== undefined) void reread(next);
  };

  const start = async () => {
    const id = crypto.randomUUID();
    setJob(id);
    setError(null);
    setProgress({ rows: 0, bytes: 0, total_bytes: preview.file_bytes });
    try {
      if (linking) {
        onDone({ table: await backend.linkFile(notebook, path, null, table), skipped: [], skipped_total: 0 });
        return;
      }
      const options = csv ? { ...csv, missing: parseMissing(missingText) } : null;
      const outcome = await backend.importFile(notebook, path, table, options, sheet, converting, id, setProgress);
      if (outcome.skipped_total > 0) setFinished(outcome);
      else onDone(outcome);
    } catch (e) {
      const err = QuireError.from(e);
      const stopped = converting ? "Conversion cancelled" : "Import cancelled";
      setError(err.code === "cancelled" ? { headline: stopped, detail: "Nothing was created." } : describeError(err));
      setProgress(null);
    } finally {
      setJob(null);
    }
  };

  const pickSheet = async (name: string) => {
    setError(null);
    try {
      const next = await backend.previewImport(path, name);
      setPreview(next);
      setSheet(next.sheet);
    } catch (e) {
      setError(describeError(QuireError.from(e)));
    }
  };

  const percent = progress && progress.total_bytes > 0 ? Math.min(100, (progress.bytes / progress.total_bytes) * 100) : 0;
  return (
    <div className="modal-backdrop" role="presentation">
      {/* Tall: the preview scrolls within the window, so the buttons stay in sight at 800 px. */}
      <div className="modal wide tall" role="dialog" aria-label="Import" data-testid="import-dialog">
        <h2>Import {path.split(/[\\/]/).pop()}</h2>
        <p className="muted">
          {preview.format === "excel" ? "Spreadsheet" : preview.format.toUpperCase()} · {formatBytes(preview.file_bytes)}
        </p>
        <label className="field">
          Table name
          <input data-testid="import-table-name" value={table} onChange={(e) => setTable(e.target.value)} disabled={!!job} />
        </label>
        {(convertible(preview) || linkable(preview)) && (
          <fieldset className="import-mode" data-testid="import-mode" disabled={!!job}>
            <legend>How to open it</legend>
            <label className="check">
              <input type="radio" name="import-mode" data-testid="import-mode-copy" checked={mode === "copy"} onChange={() => setMode("copy")} />
              <span>
                <strong>Copy into the notebook</strong>
                <span className="muted"> · edit cells, transform and undo; saved with the notebook; held in memory while open</span>
              </span>
            </label>
            {linkable(preview) ? (
              <label className="check">
                <input type="radio" name="import-mode" data-testid="import-mode-link" checked={mode === "link"} onChange={() => setMode("link")} />
                <span>
                  <strong>Link where it lies</strong>
                  <span className="muted"> · opens at once at any size and queries read the file; cell edits are kept beside it (the file is never changed), and it must stay where it is</span>
                </span>
              </label>
            ) : (
              <label className="check">
                <input type="radio" name="import-mode" data-testid="import-mode-convert" checked={mode === "convert"} onChange={() => setMode("convert")} />
                <span>
                  <strong>Convert to Parquet and link</strong>
                  <span className="muted">
                    {" "}
                    · for files too big to hold: converted once into the notebook&apos;s folder (resumed if Quire stops), then read from disk at
                    any size; cell edits are kept beside it
                  </span>
                </span>
              </label>
            )}
          </fieldset>
        )}
        {sheet && (
          <div className="csv-options">
            <label className="field">
              Sheet
              <select data-testid="import-sheet" value={sheet.sheet} disabled={!!job} onChange={(e) => void pickSheet(e.target.value)}>
                {(sheet.sheets ?? []).map((name) => (
                  <option key={name} value={name}>
                    {name}
                  </option>
                ))}
              </select>
            </label>
            <label className="check">
              <input type="checkbox" checked={sheet.has_header} disabled={!!job} onChange={(e) => setSheet({ ...sheet, has_header: e.target.checked })} />
              First row is a header
            </label>
          </div>
        )}
        {csv && (
          <div className="csv-options">
            <label className="field">
              Delimiter
              <select value={csv.delimiter} disabled={!!job} onChange={(e) => void choose({ delimiter: e.target.value })}>
                {DELIMITERS.map(([d, label]) => (
                  <option key={label} value={d}>
                    {label}
                  </option>
                ))}
              </select>
            </label>
            <label className="field">
              Quote
              <select value={csv.quote} disabled={!!job} onChange={(e) => void choose({ quote: e.target.value })}>
                <option value={'"'}>Double (")</option>
                <option value={"'"}>Single (')</option>
              </select>
            </label>
            <label className="field">
              Encoding
              <select
                data-testid="import-encoding"
                value={csv.encoding ?? "utf-8"}
                disabled={!!job}
                onChange={(e) => void choose({ encoding: e.target.value })}
              >
                {encodingChoices(preview.csv?.encoding).map(([label, name]) => (
                  <option key={label} value={label}>
                    {name}
                    {label === preview.csv?.encoding ? " (detected)" : ""}
                  </option>
                ))}
              </select>
            </label>
            <label className="field">
              Decimal separator
              <select data-testid="import-decimal" value={csv.decimal} disabled={!!job} onChange={(e) => void choose({ decimal: e.target.value })}>
                <option value=".">Point (3.14)</option>
                <option value=",">Comma (3,14)</option>
              </select>
            </label>
            <label className="field">
              Lines before the data
              <input
                type="number"
                min={0}
                max={1000}
                data-testid="import-skip-lines"
                value={csv.skip_lines ?? 0}
                disabled={!!job}
                title="Lines at the start that are neither the header nor rows (a title, a note): left out."
                onChange={(e) => {
                  const lines = Math.max(0, Math.min(1000, Math.trunc(Number(e.target.value) || 0)));
                  if (lines !== (csv.skip_lines ?? 0)) void choose({ skip_lines: lines });
                }}
              />
            </label>
            <label className="check">
              <input
                type="checkbox"
                data-testid="import-has-header"
                checked={csv.has_header}
                disabled={!!job}
                onChange={(e) => void choose({ has_header: e.target.checked })}
              />
              First row is a header
            </label>
            <label className="check">
              <input
                type="checkbox"
                data-testid="import-skip-bad-rows"
                checked={csv.on_bad_row === "skip"}
                disabled={!!job}
                onChange={(e) => setCsv({ ...csv, on_bad_row: e.target.checked ? "skip" : "reject" })}
              />
              Skip rows that do not fit (and list them)
            </label>
            <label className="field">
              Missing values
              <input
                data-testid="import-missing"
                value={missingText}
                disabled={!!job}
                title="Cell texts read as empty (NULL), separated by commas; an empty cell always is."
                onChange={(e) => setMissingText(e.target.value)}
                onBlur={() => {
                  if (parseMissing(missingText).join("\n") !== (csv.missing ?? []).join("\n")) void choose({});
                }}
              />
            </label>
          </div>
        )}
        {csv?.row_names && csv.has_header && (
          <p className="muted" data-testid="import-row-names">
            The header names every column but the first, as R writes row names: the first column is named {columns[0]?.name ?? "column_1"}.
          </p>
        )}
        {csv && preview.skipped_lines && preview.skipped_lines.length > 0 && (
          <div className="import-skipped-lines" data-testid="import-skipped-lines">
            <p className="muted">
              {preview.skipped_lines.length === 1
                ? "The first line is left out: it is not a row of this table."
                : `The first ${preview.skipped_lines.length} lines are left out: they are not rows of this table.`}
            </p>
            <pre>{preview.skipped_lines.join("\n")}</pre>
          </div>
        )}
        <div className="result-scroll modal-scroll import-preview-scroll">
          <table className="preview" data-testid="import-preview">
            <thead>
              <tr>
                {columns.map((c, i) => (
                  <th key={i}>
                    <input aria-label={`Column ${i + 1} name`} value={c.name} disabled={!csv || !!job} onChange={(e) => setColumn(i, { name: e.target.value })} />
                    {/* Another type reads the values anew: a date layout does not carry over. */}
                    {csv ? (
                      <select aria-label={`Column ${i + 1} type`} value={c.kind} disabled={!!job} onChange={(e) => setColumn(i, { kind: e.target.value as ColumnType, layout: null })}>
                        {TYPES.map(([t, label]) => (
                          <option key={t} value={t}>
                            {label}
                          </option>
                        ))}
                      </select>
                    ) : (
                      // The file says its types (Parquet, a workbook's cells, JSON's values,
                      // lists and objects among them): shown as the grid's header will show them.
                      <span className="muted" data-testid="import-column-type">
                        {preview.data_types[i] ? typeLabel(preview.data_types[i]) : (TYPES.find(([t]) => t === c.kind)?.[1] ?? c.kind)}
                      </span>
                    )}
                    {csv && layoutsFor(c.kind).length > 0 && (
                      <select
                        aria-label={`Column ${i + 1} written as`}
                        title="How the file writes this column's values"
                        value={c.layout ?? ""}
                        disabled={!!job}
                        onChange={(e) => setColumn(i, { layout: e.target.value || null })}
                      >
                        {layoutsFor(c.kind).map((l) => (
                          <option key={l} value={l}>
                            as {layoutExample(l, c.kind)}
                          </option>
                        ))}
                      </select>
                    )}
                    {csv &&
                      (preview.layout_doubts ?? [])
                        .filter((d) => d.column === i && c.layout !== d.also && layoutsFor(c.kind).includes(d.also))
                        .map((d) => (
                          // 01/02/2012: month first or day first, the values do not say.
                          <span key={d.also} className="layout-doubt" role="note" data-testid="import-layout-doubt">
                            or {layoutExample(d.also, c.kind)}? Check
                          </span>
                        ))}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {preview.rows.map((row, r) => (
                <tr key={r}>
                  {row.map((v, c) => (
                    <td key={c} className={v === null ? "null" : undefined}>
                      {v ?? ""}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {progress && (
          <div className="progress" data-testid="import-progress">
            <progress max={100} value={percent} />
            <span>
              {progress.rows.toLocaleString()} rows · {percent.toFixed(0)} %
            </span>
          </div>
        )}
        {error && (
          <div className="error-text" data-testid="import-error">
            <strong>{error.headline}</strong> {error.detail}
          </div>
        )}
        {finished && (
          <SkippedRows
            testId="import-skipped"
            outcome={finished}
            done={`Imported ${finished.table.rows.toLocaleString()} rows into ${finished.table.name}`}
          />
        )}
        <div className="modal-actions">
          {finished ? (
            <button data-testid="import-done" className="primary" onClick={() => onDone(finished)}>
              Done
            </button>
          ) : job ? (
            <button data-testid="import-cancel" onClick={() => void backend.cancelJob(job)}>
              Cancel
            </button>
          ) : (
            <>
              <button onClick={onClose}>Close</button>
              <button data-testid="import-start" className="primary" onClick={() => void start()}>
                {linking ? "Link" : converting ? "Convert" : "Import"}
              </button>
            </>
          )}
        </div>
      </div>
    </div>
  );
}

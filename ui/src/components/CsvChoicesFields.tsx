import type { CsvChoices, ImportOutcome } from "../bindings";
import { parseMissing } from "./ImportDialog";

/** What the user chooses for every CSV file of many (a folder, a bucket prefix): skip the rows
 *  that do not fit, and the gap markers. Each file keeps its own delimiter and encoding. */
export interface CsvChoicesState {
  skipBad: boolean;
  missingText: string;
}

export const NO_CHOICES: CsvChoicesState = { skipBad: false, missingText: "" };

/** The choices as the engine takes them; null when the user changed nothing. */
export function choicesOf(state: CsvChoicesState): CsvChoices | null {
  const missing = parseMissing(state.missingText);
  if (!state.skipBad && missing.length === 0) return null;
  return { on_bad_row: state.skipBad ? "skip" : "reject", missing: missing.length > 0 ? missing : null };
}

/** The "Reading CSV files" section of a dialog that reads many files; `prefix` names its test ids. */
export function CsvChoicesFields({
  prefix,
  value,
  disabled,
  onChange,
}: {
  prefix: string;
  value: CsvChoicesState;
  disabled: boolean;
  onChange(next: CsvChoicesState): void;
}) {
  return (
    <details className="folder-csv">
      <summary data-testid={`${prefix}-csv-options`}>Reading CSV files</summary>
      <div className="csv-options">
        <label className="check">
          <input
            type="checkbox"
            data-testid={`${prefix}-skip-bad-rows`}
            checked={value.skipBad}
            disabled={disabled}
            onChange={(e) => onChange({ ...value, skipBad: e.target.checked })}
          />
          Skip rows that do not fit (and list them with their file)
        </label>
        <label className="field">
          Missing values
          <input
            data-testid={`${prefix}-missing`}
            value={value.missingText}
            disabled={disabled}
            placeholder="pandas' defaults: NA, NULL, NaN, N/A…"
            title="Cell texts read as empty (NULL), separated by commas; an empty cell always is. Left empty: NA, NULL, NaN, N/A and the rest of pandas' defaults."
            onChange={(e) => onChange({ ...value, missingText: e.target.value })}
          />
        </label>
      </div>
      <p className="muted">Each file keeps its own delimiter, encoding and decimal separator, as its first rows show them.</p>
    </details>
  );
}

/** The rows a link of many files left out, each with its file and line, until the user has
 *  seen them. */
export function SkippedRows({ testId, outcome }: { testId: string; outcome: ImportOutcome }) {
  return (
    <div className="skipped" data-testid={testId}>
      <strong>
        Linked {outcome.table.rows.toLocaleString()} rows as {outcome.table.name}; {outcome.skipped_total.toLocaleString()} rows did not fit and were
        left out
      </strong>
      {outcome.skipped_total > outcome.skipped.length && <span className="muted"> (the first {outcome.skipped.length} are listed)</span>}
      <ul>
        {outcome.skipped.map((r) => (
          <li key={`${r.file ?? ""}:${r.line}`}>
            {r.file ? `${r.file}, ` : ""}line {r.line}: {r.reason}
          </li>
        ))}
      </ul>
    </div>
  );
}

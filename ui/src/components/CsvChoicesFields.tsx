import type { CsvChoices, ImportOutcome } from "../bindings";

/** The missing-value markers as the user edits them: comma-separated, spaces trimmed. */
export function parseMissing(text: string): string[] {
  return text
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "");
}

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

/** The rows an import or a link left out, each with its line (and its file, when it read
 *  many), shown until the user has seen them; `done` says what was made ("Linked 4 rows as t"). */
export function SkippedRows({ testId, outcome, done }: { testId: string; outcome: ImportOutcome; done: string }) {
  return (
    <div className="skipped" data-testid={testId}>
      <strong>
        {done}; {outcome.skipped_total.toLocaleString()} {outcome.skipped_total === 1 ? "row" : "rows"} did not fit and were left out
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

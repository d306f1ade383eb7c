import type { QueryPreview } from "../bindings";
import { displayText, fullTextTooltip, isNumericType, typeLabel } from "../format";
import "./ResultTable.css";

/** The meta line: rows, time, and how much of the result the preview holds. */
export function resultMeta(preview: QueryPreview): string {
  const n = preview.row_count;
  const rows = `${n.toLocaleString()} row${n === 1 ? "" : "s"} · ${(preview.elapsed_ms ?? 0).toFixed(1)} ms`;
  // The engine sends the first rows only; say so in numbers, so a partial result is never
  // mistaken for the whole one.
  return preview.truncated ? `${rows} · showing the first ${preview.rows.length.toLocaleString()} of ${n.toLocaleString()} rows` : rows;
}

export function ResultTable({ preview }: { preview: QueryPreview }) {
  const numeric = preview.columns.map((c) => isNumericType(c.data_type));
  return (
    <div className="result">
      <div className={`muted result-meta${preview.truncated ? " truncated" : ""}`} data-testid="result-meta">
        {resultMeta(preview)}
      </div>
      <div className="result-scroll">
        <table>
          <thead>
            <tr>
              {preview.columns.map((c, i) => (
                <th key={i} title={`${c.name}: ${typeLabel(c.data_type)} (${c.data_type})`} className={numeric[i] ? "num" : undefined}>
                  {c.name}
                  <span className="type">{typeLabel(c.data_type)}</span>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {preview.rows.map((row, r) => (
              <tr key={r}>
                {row.map((v, c) => {
                  const type = preview.columns[c]?.data_type ?? "";
                  const classes = [v === null ? "null" : "", numeric[c] ? "num" : ""].filter(Boolean).join(" ");
                  return (
                    <td key={c} className={classes || undefined} title={fullTextTooltip(v, type)}>
                      {displayText(v, type)}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

import type { QueryPreview } from "../bindings";

export function ResultTable({ preview }: { preview: QueryPreview }) {
  return (
    <div className="result">
      <div className="muted result-meta" data-testid="result-meta">
        {preview.row_count} row{preview.row_count === 1 ? "" : "s"} · {(preview.elapsed_ms ?? 0).toFixed(1)} ms
        {preview.truncated && ` · showing the first ${preview.rows.length}`}
      </div>
      <div className="result-scroll">
        <table>
          <thead>
            <tr>
              {preview.columns.map((c, i) => (
                <th key={i} title={c.data_type}>
                  {c.name}
                  <span className="type">{c.data_type}</span>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {preview.rows.map((row, r) => (
              <tr key={r}>
                {row.map((v, c) => (
                  <td key={c} className={v === null ? "null" : undefined}>
                    {v ?? "NULL"}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

import { useEffect, useState } from "react";
import { useBackend, useNotify } from "../context";
import { QuireError } from "../backend";
import type { DiffPage, DiffSummary, NotebookId } from "../bindings";

const PAGE = 50;

/** Text whose spaces at either end (or that is empty) matter, shown so: a trim's
 *  " Torgersen" → "Torgersen" read as no change. Spaces there become `·`, inside quotes. */
export function visibleSpaces(v: string): string {
  if (v !== "" && v.trim() === v) return v;
  const lead = v.length - v.trimStart().length;
  const trail = v.length - v.trimEnd().length;
  if (v.trim() === "") return `"${"·".repeat(v.length)}"`;
  return `"${"·".repeat(lead)}${v.trim()}${"·".repeat(trail)}"`;
}

/** Rows of a diff: for a changed row its changed columns, old → new; added and removed rows whole. */
export function DiffRows({ page }: { page: DiffPage }) {
  if (page.rows.length === 0) return <p className="muted">No differences.</p>;
  const value = (v: string | null | undefined) => (v === null || v === undefined ? "NULL" : visibleSpaces(v));
  return (
    <table className="diff" data-testid="diff-rows">
      <thead>
        <tr>
          <th>Row</th>
          <th>Change</th>
          <th>Values (old → new)</th>
        </tr>
      </thead>
      <tbody>
        {page.rows.map((r) => (
          <tr key={r.row_id} className={r.kind} data-testid={`diff-row-${r.row_id}`}>
            {/* Counted from 1, as the grid counts rows (ids count from 0). */}
            <td>{r.row_id + 1}</td>
            <td>{r.kind}</td>
            <td>
              {r.kind === "changed"
                ? r.changed.map((c) => {
                    const o = page.old_columns.indexOf(c);
                    const n = page.new_columns.indexOf(c);
                    return (
                      <span key={c} className="diff-cell">
                        <b>{c}</b>: <del>{value(r.old?.[o])}</del> → <ins>{value(r.new?.[n])}</ins>
                      </span>
                    );
                  })
                : (r.kind === "added" ? r.new : r.old)?.map((v, i) => (
                    <span key={i} className="diff-cell">
                      <b>{(r.kind === "added" ? page.new_columns : page.old_columns)[i]}</b>: {value(v)}
                    </span>
                  ))}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

interface Props {
  notebook: NotebookId;
  table: string;
  from: number;
  to: number;
}

/** A diff between two versions: computed in the background (cancellable), paged on demand. */
export function DiffView({ notebook, table, from, to }: Props) {
  const backend = useBackend();
  const { report } = useNotify();
  const [summary, setSummary] = useState<DiffSummary | null>(null);
  const [job, setJob] = useState<string | null>(null);
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<DiffPage | null>(null);

  useEffect(() => {
    const id = crypto.randomUUID();
    setJob(id);
    setSummary(null);
    setOffset(0);
    backend
      .diffVersions(notebook, table, from, to, id)
      .then(setSummary, (e: unknown) => {
        if (!(e instanceof QuireError && e.code === "cancelled")) report(e);
      })
      .finally(() => setJob(null));
  }, [backend, notebook, table, from, to, report]);

  useEffect(() => {
    if (!summary) return;
    backend.diffPage(notebook, table, from, to, offset, PAGE).then(setPage, report);
  }, [backend, notebook, table, from, to, offset, summary, report]);

  const total = page?.total ?? 0;
  return (
    <div className="diff-view" data-testid="diff-view">
      <h3>
        Version {from} → version {to}
      </h3>
      {job && (
        <div className="progress">
          <span>Comparing…</span>
          <button data-testid="diff-cancel" onClick={() => void backend.cancelJob(job)}>
            Cancel
          </button>
        </div>
      )}
      {summary && (
        <p data-testid="diff-summary">
          {summary.changed.toLocaleString()} changed · {summary.added.toLocaleString()} added · {summary.removed.toLocaleString()} removed
          {summary.changed_by_column.length > 0 && ` (${summary.changed_by_column.map(([c, n]) => `${c}: ${n}`).join(", ")})`}
        </p>
      )}
      {page && (
        <>
          <DiffRows page={page} />
          <div className="pager">
            <button data-testid="diff-prev" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
              Previous
            </button>
            <span data-testid="diff-position">
              {total === 0 ? "0" : `${offset + 1}–${Math.min(offset + PAGE, total)}`} of {total.toLocaleString()}
            </span>
            <button data-testid="diff-next" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>
              Next
            </button>
          </div>
        </>
      )}
    </div>
  );
}

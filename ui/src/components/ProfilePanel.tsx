// Every column of a table or a result at a glance: type, missing values, distinct count, range,
// mean and quartiles, and a histogram or the most frequent values. The engine computes it at
// idle priority (see useProfile); a newer table version (an edit) asks again.
// Clicking a bar asks the grid to keep those rows.
import type { ColumnProfile } from "../bindings";
import { binFilter, binRangeText, distinctText, missingText, notFiniteText, oneValue, quartilesText, rowsText, short, valueFilter } from "../profiles/format";
import { typeLabel } from "../format";
import type { ProfileState } from "../profiles/useProfile";

export type GridFilter = { column: string; model: Record<string, unknown> };

interface Props {
  /** What `useProfile` has so far: nothing yet, the profile, or why there is none. */
  state: ProfileState;
  /** Filters the grid to a bar's rows; absent for a result, which has no grid. */
  onFilter?(filter: GridFilter): void;
  onClose(): void;
}

export function ProfilePanel({ state: { profile, error }, onFilter, onClose }: Props) {
  return (
    <aside className="profile-panel" data-testid="profile-panel" aria-label="Column profiles">
      <header>
        <strong>Columns</strong>
        {profile && (
          <span className="muted" data-testid="profile-meta">
            {rowsText(profile.rows)} · {(profile.elapsed_ms ?? 0).toFixed(0)} ms
          </span>
        )}
        <div className="spacer" />
        <button aria-label="Close the column profiles" onClick={onClose}>
          ✕
        </button>
      </header>
      {error && (
        <div className="error-text">
          <strong>{error.headline}</strong> {error.detail}
        </div>
      )}
      {!profile && !error && <p className="muted">Profiling every column…</p>}
      {profile?.columns.map((c) => <ColumnCard key={c.name} column={c} rows={profile.rows} onFilter={onFilter} />)}
    </aside>
  );
}

function ColumnCard({ column: c, rows, onFilter }: { column: ColumnProfile; rows: number; onFilter?(f: GridFilter): void }) {
  const facts = [missingText(c, rows), notFiniteText(c), distinctText(c, rows)].filter((f): f is string => f !== null);
  return (
    <section className="profile-column" data-testid="profile-column" data-column={c.name}>
      <div className="profile-title">
        <strong>{c.name}</strong> <span className="muted" title={c.data_type}>{typeLabel(c.data_type)}</span>
      </div>
      <div className="muted">{facts.join(" · ")}</div>
      {c.min !== null && c.max !== null && (
        <div className="muted">
          {c.min} … {c.max}
        </div>
      )}
      {c.mean !== null && (
        <div className="muted">
          mean {short(c.mean)}
          {c.quartiles && ` · quartiles ${c.quartiles_exact || oneValue(c) ? "" : "≈ "}${quartilesText(c)}`}
        </div>
      )}
      {c.histogram.length > 0 && <Histogram column={c} onFilter={onFilter} />}
      {c.top.length > 0 && <TopValues column={c} onFilter={onFilter} />}
    </section>
  );
}

const WIDTH = 220;
const HEIGHT = 44;

function Histogram({ column: c, onFilter }: { column: ColumnProfile; onFilter?(f: GridFilter): void }) {
  const most = Math.max(1, ...c.histogram.map((b) => b.count));
  const w = WIDTH / c.histogram.length;
  return (
    <svg className="profile-histogram" width={WIDTH} height={HEIGHT} role="img" aria-label={`Histogram of ${c.name}`} data-testid="profile-histogram">
      {c.histogram.map((b, i) => {
        const h = b.count === 0 ? 0 : Math.max(1, (HEIGHT * b.count) / most);
        const label = `${binRangeText(c, b)}: ${rowsText(b.count)}`;
        return (
          <rect
            key={i}
            data-testid="profile-bin"
            data-start={b.start ?? undefined}
            data-end={b.end ?? undefined}
            data-count={b.count}
            x={i * w + 0.5}
            y={HEIGHT - h}
            width={Math.max(1, w - 1)}
            height={h}
            className={onFilter ? "clickable" : undefined}
            onClick={onFilter && b.count > 0 ? () => onFilter({ column: c.name, model: binFilter(b, i === c.histogram.length - 1, c.kind === "temporal") }) : undefined}
          >
            <title>{label}</title>
          </rect>
        );
      })}
    </svg>
  );
}

function TopValues({ column: c, onFilter }: { column: ColumnProfile; onFilter?(f: GridFilter): void }) {
  const most = Math.max(1, ...c.top.map((t) => t.count));
  return (
    <ol className="profile-top" data-testid="profile-top">
      {c.top.map((t) => (
        <li key={t.value ?? "\u0000"}>
          <button
            className="link"
            disabled={!onFilter}
            title={onFilter ? "Show only these rows in the grid" : undefined}
            onClick={() => onFilter?.({ column: c.name, model: valueFilter(c.kind === "number" ? "number" : c.kind === "temporal" ? "date" : "text", t) })}
          >
            <span className="profile-bar" style={{ width: `${(100 * t.count) / most}%` }} />
            <span className="profile-value">{t.value ?? "(missing)"}</span>
            <span className="muted">{t.count.toLocaleString()}</span>
          </button>
        </li>
      ))}
      {c.others > 0 && <li className="muted">{c.others === 1 ? "1 other row" : `${c.others.toLocaleString()} other rows`}</li>}
    </ol>
  );
}

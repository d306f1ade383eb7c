// A column's distribution in a grid header: its histogram (numbers, dates) or its most frequent
// values, as tiny bars, with the profile's facts in the tooltip.
import type { ColumnProfile } from "../bindings";
import { distinctText, missingText } from "../profiles/format";

const WIDTH = 48;
const HEIGHT = 12;

export function Sparkline({ column: c, rows }: { column: ColumnProfile; rows: number }) {
  const counts = c.histogram.length > 0 ? c.histogram.map((b) => b.count) : c.top.filter((t) => t.value !== null).map((t) => t.count);
  if (counts.length === 0) return null;
  const most = Math.max(1, ...counts);
  const w = WIDTH / counts.length;
  const facts = [missingText(c, rows), distinctText(c, rows), c.min !== null && c.max !== null ? `${c.min} … ${c.max}` : null];
  return (
    <svg className="sparkline" width={WIDTH} height={HEIGHT} role="img" data-testid="sparkline" data-column={c.name} aria-label={`Distribution of ${c.name}`}>
      <title>{facts.filter((f) => f !== null).join(" · ")}</title>
      {counts.map((n, i) => {
        const h = n === 0 ? 0 : Math.max(1, (HEIGHT * n) / most);
        return <rect key={i} x={i * w} y={HEIGHT - h} width={Math.max(0.8, w - 0.6)} height={h} />;
      })}
    </svg>
  );
}

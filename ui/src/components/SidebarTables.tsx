// The open notebook's tables in the sidebar: each with its columns and their types, opened in the
// grid with one click, dragged into a SQL cell to query it (an empty cell gets a whole query,
// otherwise the name lands where it is dropped).
import type { DragEvent } from "react";
import type { TableInfo } from "../bindings";
import { typeLabel } from "../format";
import { sqlName } from "../sqlName";
import { linkedTitle } from "./linkedTitle";

/** A row count in a few characters (336,776 → 337k, 1,234,567 → 1.23M), so the table's name
 *  keeps the room. Not Intl's compact notation: German writes 336,776 as "337.000". */
export function compactCount(n: number): string {
  if (n < 10_000) return n.toLocaleString();
  const [value, unit] = n < 1e6 ? [n / 1e3, "k"] : n < 1e9 ? [n / 1e6, "M"] : [n / 1e9, "G"];
  return `${value < 100 ? Number(value.toPrecision(3)) : Math.round(value)}${unit}`;
}

/** The drag's own type: a SQL editor that sees it knows a whole table was dropped. */
export const TABLE_DRAG = "application/x-quire-table";

function dragged(e: DragEvent, name: string, table: boolean) {
  e.dataTransfer.setData("text/plain", sqlName(name));
  if (table) e.dataTransfer.setData(TABLE_DRAG, name);
  e.dataTransfer.effectAllowed = "copy";
}

export function SidebarTables({ tables, onOpen }: { tables: TableInfo[]; onOpen(name: string): void }) {
  return (
    <section className="sidebar-tables" aria-label="Tables of this notebook" data-testid="sidebar-tables">
      <h2>Tables</h2>
      {tables.length === 0 ? (
        <p className="muted">None yet: import a data file.</p>
      ) : (
        <ul>
          {tables.map((t) => (
            <li key={t.name} data-table={t.name}>
              <details>
                <summary draggable onDragStart={(e) => dragged(e, t.name, true)} title="Drag into a SQL cell to query it">
                  <span className="sidebar-table-name">{t.name}</span>
                  {t.linked && (
                    <span
                      className="sidebar-linked muted"
                      title={linkedTitle(t)}
                    >
                      {t.missing ? "missing" : t.converted ? "converted" : "linked"}
                    </span>
                  )}
                  <span className="muted sidebar-rows" title={`${t.rows.toLocaleString()} rows`}>
                    {compactCount(t.rows)}
                  </span>
                  <button
                    className="sidebar-open"
                    data-testid="sidebar-open-table"
                    title={`Open ${t.name} in the grid`}
                    onClick={(e) => {
                      e.preventDefault();
                      onOpen(t.name);
                    }}
                  >
                    Open
                  </button>
                </summary>
                <ul className="sidebar-columns" data-testid="sidebar-columns">
                  {t.columns.map((c) => (
                    <li key={c.name} draggable onDragStart={(e) => dragged(e, c.name, false)} title="Drag into a SQL cell">
                      <span>{c.name}</span>
                      <span className="muted" title={c.data_type}>
                        {typeLabel(c.data_type)}
                      </span>
                    </li>
                  ))}
                </ul>
              </details>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

import { useState, type FormEvent, type ReactNode } from "react";
import type { NotebookSummary, TableInfo } from "../bindings";
import { SidebarTables } from "./SidebarTables";
import { notebookStatusText } from "../status";

interface Props {
  notebooks: NotebookSummary[];
  selected: string | null;
  onSelect(id: string): void;
  /** Resolves true when the notebook was created (the form then clears). */
  onCreate(title: string): Promise<boolean>;
  /** The selected notebook's tables, listed under the notebooks. */
  tables: TableInfo[] | null;
  onOpenTable(name: string): void;
  /** Shown under the tables: the open notebook's connections. */
  children?: ReactNode;
}

/** A dot that tells saved, unsaved (hollow, not a spinner) and trouble apart at a glance. */
function marker(n: NotebookSummary): string {
  switch (n.status.state) {
    case "saved":
      return n.on_disk ? "" : "○";
    case "unsaved":
      return "○";
    case "saving":
      return "…";
    default:
      return "!";
  }
}

export function Sidebar({ notebooks, selected, onSelect, onCreate, tables, onOpenTable, children }: Props) {
  const [title, setTitle] = useState("");
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    if (await onCreate(title)) setTitle("");
    setBusy(false);
  };

  return (
    <nav className="sidebar" aria-label="Notebooks">
      <h2>Notebooks</h2>
      <ul data-testid="notebook-list">
        {notebooks.map((n) => (
          <li key={n.id}>
            <button
              className={n.id === selected ? "notebook selected" : "notebook"}
              aria-current={n.id === selected ? "page" : undefined}
              title={notebookStatusText(n.status, n.on_disk)}
              data-status={n.status.state}
              onClick={() => onSelect(n.id)}
            >
              <span className="notebook-title">{n.title}</span>
              <span className={`marker ${n.status.state}`} aria-hidden>
                {marker(n)}
              </span>
            </button>
          </li>
        ))}
      </ul>
      <form className="new-notebook" onSubmit={submit}>
        <input
          data-testid="new-notebook-title"
          aria-label="New notebook title"
          placeholder="New notebook title"
          value={title}
          onChange={(e) => setTitle(e.target.value)}
        />
        <button data-testid="create-notebook" type="submit" disabled={busy}>
          Create
        </button>
      </form>
      {selected && tables && <SidebarTables tables={tables} onOpen={onOpenTable} />}
      {selected && children}
    </nav>
  );
}

import { useState, type FormEvent } from "react";
import type { NotebookSummary } from "../bindings";

interface Props {
  notebooks: NotebookSummary[];
  selected: string | null;
  onSelect(id: string): void;
  /** Resolves true when the notebook was created (the form then clears). */
  onCreate(title: string): Promise<boolean>;
}

export function Sidebar({ notebooks, selected, onSelect, onCreate }: Props) {
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
              onClick={() => onSelect(n.id)}
            >
              {n.title}
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
    </nav>
  );
}

import type { NotebookSummary } from "../bindings";

interface Props {
  notebook: NotebookSummary | null;
  hasNotebooks: boolean;
}

export function NotebookArea({ notebook, hasNotebooks }: Props) {
  if (!notebook) {
    return (
      <main className="notebook-area empty" data-testid="empty-state">
        <h1>{hasNotebooks ? "Pick a notebook" : "No notebooks yet"}</h1>
        <p>
          {hasNotebooks
            ? "Choose a notebook on the left to open it."
            : "Create a notebook on the left to start exploring your data with SQL."}
        </p>
      </main>
    );
  }
  return (
    <main className="notebook-area" data-testid="notebook-area">
      <h1 data-testid="notebook-title">{notebook.title}</h1>
      <p className="muted">
        {notebook.cell_count} cells · {notebook.hydrated ? "on disk" : "not written to disk yet"}
      </p>
    </main>
  );
}

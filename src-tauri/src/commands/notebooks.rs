//! Notebooks and their cells.

use super::prelude::*;

#[tauri::command]
#[specta::specta]
pub async fn list_notebooks(state: State<'_, AppState>) -> Reply<Vec<NotebookSummary>> {
    Ok(state.engine.list_notebooks())
}

#[tauri::command]
#[specta::specta]
pub async fn create_notebook(state: State<'_, AppState>, title: String) -> Reply<NotebookSummary> {
    Ok(on_disk(|| state.engine.create_notebook(&title))?)
}

#[tauri::command]
#[specta::specta]
pub async fn get_notebook(state: State<'_, AppState>, notebook: NotebookId) -> Reply<NotebookView> {
    Ok(state.engine.notebooks().get(notebook)?)
}

#[tauri::command]
#[specta::specta]
pub async fn rename_notebook(
    state: State<'_, AppState>,
    notebook: NotebookId,
    title: String,
) -> Reply<NotebookSummary> {
    Ok(on_disk(|| state.engine.rename_notebook(notebook, &title))?)
}

#[tauri::command]
#[specta::specta]
pub async fn delete_notebook(state: State<'_, AppState>, notebook: NotebookId) -> Reply<()> {
    Ok(on_disk(|| state.engine.delete_notebook(notebook))?)
}

#[tauri::command]
#[specta::specta]
pub async fn duplicate_notebook(
    state: State<'_, AppState>,
    notebook: NotebookId,
) -> Reply<NotebookSummary> {
    Ok(on_disk(|| state.engine.notebooks().duplicate(notebook))?)
}

#[tauri::command]
#[specta::specta]
pub async fn add_cell(
    state: State<'_, AppState>,
    notebook: NotebookId,
    kind: CellKind,
    index: Option<u32>,
    source: String,
) -> Reply<Cell> {
    Ok(on_disk(|| {
        state
            .engine
            .notebooks()
            .add_cell(notebook, kind, index, source)
    })?)
}

#[tauri::command]
#[specta::specta]
pub async fn update_cell(
    state: State<'_, AppState>,
    notebook: NotebookId,
    cell: CellId,
    source: String,
) -> Reply<()> {
    Ok(on_disk(|| {
        state.engine.notebooks().update_cell(notebook, cell, source)
    })?)
}

#[tauri::command]
#[specta::specta]
pub async fn set_cell_kind(
    state: State<'_, AppState>,
    notebook: NotebookId,
    cell: CellId,
    kind: CellKind,
) -> Reply<()> {
    Ok(on_disk(|| {
        state.engine.notebooks().set_cell_kind(notebook, cell, kind)
    })?)
}

/// Where a SQL cell runs: on a cluster connection of the notebook, or on this machine (none).
#[tauri::command]
#[specta::specta]
pub async fn set_cell_runs_on(
    state: State<'_, AppState>,
    notebook: NotebookId,
    cell: CellId,
    runs_on: Option<String>,
) -> Reply<()> {
    Ok(on_disk(|| {
        state.engine.set_cell_runs_on(notebook, cell, runs_on)
    })?)
}

#[tauri::command]
#[specta::specta]
pub async fn delete_cell(
    state: State<'_, AppState>,
    notebook: NotebookId,
    cell: CellId,
) -> Reply<()> {
    Ok(on_disk(|| {
        state.engine.notebooks().delete_cell(notebook, cell)
    })?)
}

#[tauri::command]
#[specta::specta]
pub async fn move_cell(
    state: State<'_, AppState>,
    notebook: NotebookId,
    cell: CellId,
    to: u32,
) -> Reply<()> {
    Ok(on_disk(|| {
        state.engine.notebooks().move_cell(notebook, cell, to)
    })?)
}

#[tauri::command]
#[specta::specta]
pub async fn run_cell(
    state: State<'_, AppState>,
    notebook: NotebookId,
    cell: CellId,
    job: String,
    on_rows: Channel<u64>,
) -> Reply<CellOutput> {
    let cancel = state.jobs.start(&job);
    let report = throttled(on_rows, |_| false);
    let result = state
        .engine
        .run_cell_with(notebook, cell, std::sync::Arc::new(report), &cancel)
        .await;
    state.jobs.finish(&job);
    Ok(result?)
}

#[tauri::command]
#[specta::specta]
pub async fn flush_notebook(
    state: State<'_, AppState>,
    notebook: NotebookId,
) -> Reply<NotebookSummary> {
    let books = state.engine.notebooks();
    books.flush(notebook)?;
    state.engine.flush_events();
    Ok(books.summary(notebook)?)
}

/// The UI calls this when the workspace watcher reports changes made outside Quire.
#[tauri::command]
#[specta::specta]
pub async fn check_disk(state: State<'_, AppState>) -> Reply<Vec<NotebookId>> {
    Ok(state.engine.notebooks().check_disk())
}

#[tauri::command]
#[specta::specta]
pub async fn resolve_disk_change(
    state: State<'_, AppState>,
    notebook: NotebookId,
    choice: DiskChoice,
) -> Reply<NotebookSummary> {
    Ok(state
        .engine
        .notebooks()
        .resolve_disk_change(notebook, choice)?)
}

// ---- Tables ----------------------------------------------------------------------------

/// Creates the sample notebook shipped with the app (the Palmer penguins, a query, two charts).
#[tauri::command]
#[specta::specta]
pub async fn create_sample_notebook(state: State<'_, AppState>) -> Reply<NotebookSummary> {
    Ok(on_disk(|| state.engine.create_sample_notebook())?)
}

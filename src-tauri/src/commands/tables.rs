//! Tables: the list, pages, edits, transforms, history, diffs.

use super::prelude::*;

/// Sets cells of a table (typed, checked against each column); the snapshot is debounced.
#[tauri::command]
#[specta::specta]
pub async fn edit_cells(
    state: State<'_, AppState>,
    notebook: NotebookId,
    table: String,
    edits: Vec<CellEdit>,
) -> Reply<TableInfo> {
    Ok(on_disk(|| {
        state.engine.edit_cells(notebook, &table, &edits)
    })?)
}

/// Deletes rows of a table by their ids (a linked table's files stay as they are); undone
/// like an edit.
#[tauri::command]
#[specta::specta]
pub async fn delete_rows(
    state: State<'_, AppState>,
    notebook: NotebookId,
    table: String,
    row_ids: Vec<u64>,
) -> Reply<TableInfo> {
    Ok(on_disk(|| {
        state.engine.delete_rows(notebook, &table, &row_ids)
    })?)
}

/// Appends empty rows to a table, to be filled in the grid; undone like an edit.
#[tauri::command]
#[specta::specta]
pub async fn add_rows(
    state: State<'_, AppState>,
    notebook: NotebookId,
    table: String,
    rows: u64,
) -> Reply<AddedRows> {
    Ok(on_disk(|| state.engine.add_rows(notebook, &table, rows))?)
}

/// A table's saved generations, newest first.
#[tauri::command]
#[specta::specta]
pub async fn table_history(
    state: State<'_, AppState>,
    notebook: NotebookId,
    table: String,
) -> Reply<Vec<Generation>> {
    Ok(state.engine.table_history(notebook, &table)?)
}

/// Makes a saved generation the table's newest version.
#[tauri::command]
#[specta::specta]
pub async fn restore_generation(
    state: State<'_, AppState>,
    notebook: NotebookId,
    table: String,
    generation: u64,
) -> Reply<TableInfo> {
    let engine = &state.engine;
    Ok(on_disk(|| {
        engine.restore_generation(notebook, &table, generation)
    })?)
}

/// The save state of each table of a notebook (events keep it current afterwards).
#[tauri::command]
#[specta::specta]
pub async fn table_save_status(
    state: State<'_, AppState>,
    notebook: NotebookId,
) -> Reply<Vec<TableSaveStatus>> {
    Ok(state.engine.table_save_status(notebook))
}

/// Retries a failed table snapshot now.
#[tauri::command]
#[specta::specta]
pub async fn retry_snapshot(
    state: State<'_, AppState>,
    notebook: NotebookId,
    table: String,
) -> Reply<()> {
    state.engine.retry_snapshot(notebook, &table);
    Ok(())
}

#[tauri::command]
#[specta::specta]
pub async fn list_tables(
    state: State<'_, AppState>,
    notebook: NotebookId,
) -> Reply<Vec<TableInfo>> {
    // The first call loads the notebook's tables: saved copies from disk, and its links, which
    // for a bucket means the network. This worker may block; the others go on.
    Ok(on_disk(|| state.engine.tables(notebook))?)
}

/// Keeps a query's result as a new table, the query run where its cell runs (`runs_on`: a
/// cluster connection, or none for this machine).
#[tauri::command]
#[specta::specta]
pub async fn save_query_as_table(
    state: State<'_, AppState>,
    notebook: NotebookId,
    sql: String,
    table: String,
    runs_on: Option<String>,
) -> Reply<TableInfo> {
    Ok(state
        .engine
        .keep_result(notebook, &sql, &table, runs_on.as_deref())
        .await?)
}

/// Deletes a table with its saved copies (the UI asks first).
#[tauri::command]
#[specta::specta]
pub async fn delete_table(
    state: State<'_, AppState>,
    notebook: NotebookId,
    table: String,
) -> Reply<()> {
    Ok(on_disk(|| state.engine.delete_table(notebook, &table))?)
}

#[tauri::command]
#[specta::specta]
pub async fn rename_table(
    state: State<'_, AppState>,
    notebook: NotebookId,
    table: String,
    to: String,
) -> Reply<TableInfo> {
    Ok(on_disk(|| {
        state.engine.rename_table(notebook, &table, &to)
    })?)
}

/// A page of a table (or of a sorted, filtered view of it) as Arrow IPC stream bytes (an
/// `ArrayBuffer` in the page). Registered outside the generated bindings because raw bytes have
/// no TypeScript value type; its one caller is `ui/src/pages.ts`, whose argument names a test
/// checks against this signature.
#[tauri::command]
pub async fn table_page(
    state: State<'_, AppState>,
    notebook: NotebookId,
    table: String,
    view: Option<ViewSpec>,
    offset: u64,
    limit: u64,
) -> Result<tauri::ipc::Response, IpcError> {
    let bytes = state
        .engine
        .page(notebook, &table, view.as_ref(), offset, limit)
        .await?;
    Ok(tauri::ipc::Response::new(bytes))
}

/// How many rows a sorted, filtered view of a table has (computing and caching the view).
#[tauri::command]
#[specta::specta]
pub async fn view_rows(
    state: State<'_, AppState>,
    notebook: NotebookId,
    table: String,
    view: Option<ViewSpec>,
) -> Reply<u64> {
    Ok(state
        .engine
        .view_rows(notebook, &table, view.as_ref())
        .await?)
}

/// How far the sorted or filtered view of a table being made has come (`null`: none is), for
/// the grid's progress line.
#[tauri::command]
#[specta::specta]
pub fn view_progress(
    state: State<'_, AppState>,
    notebook: NotebookId,
    table: String,
) -> Reply<Option<ViewProgress>> {
    Ok(state.engine.view_progress(notebook, &table))
}

/// Stops making the sorted or filtered view of a table; its page requests end with
/// `cancelled`. Whether one was being made.
#[tauri::command]
#[specta::specta]
pub fn cancel_view(state: State<'_, AppState>, notebook: NotebookId, table: String) -> Reply<bool> {
    Ok(state.engine.cancel_view(notebook, &table))
}

/// What a transform would change (counts and the first affected rows); the table is unchanged.
#[tauri::command]
#[specta::specta]
pub async fn preview_transform(
    state: State<'_, AppState>,
    notebook: NotebookId,
    table: String,
    transform: Transform,
    job: String,
    on_rows: Channel<u64>,
) -> Reply<TransformPreview> {
    let cancel = state.jobs.start(&job);
    let rows = throttled(on_rows, |_| false);
    let result = state
        .engine
        .preview_transform(
            notebook,
            &table,
            &transform,
            std::sync::Arc::new(rows),
            &cancel,
        )
        .await;
    state.jobs.finish(&job);
    Ok(result?)
}

/// Applies a transform as a new version of the table, with progress and Cancel.
#[tauri::command]
#[specta::specta]
pub async fn apply_transform(
    state: State<'_, AppState>,
    notebook: NotebookId,
    table: String,
    transform: Transform,
    job: String,
    on_rows: Channel<u64>,
) -> Reply<TableInfo> {
    let cancel = state.jobs.start(&job);
    let rows = throttled(on_rows, |_| false);
    let result = state
        .engine
        .apply_transform(
            notebook,
            &table,
            &transform,
            std::sync::Arc::new(rows),
            &cancel,
        )
        .await;
    state.jobs.finish(&job);
    Ok(result?)
}

/// Undoes (`back`) or redoes one step of a table's history.
#[tauri::command]
#[specta::specta]
pub async fn undo_redo(
    state: State<'_, AppState>,
    notebook: NotebookId,
    table: String,
    back: bool,
) -> Reply<TableInfo> {
    Ok(on_disk(|| state.engine.undo_redo(notebook, &table, back))?)
}

/// A table's history list, and whether undo / redo can move.
#[tauri::command]
#[specta::specta]
pub async fn table_versions(
    state: State<'_, AppState>,
    notebook: NotebookId,
    table: String,
) -> Reply<TableVersions> {
    Ok(state.engine.table_versions(notebook, &table)?)
}

/// What changed between two versions of a table (computed in the background, cancellable).
#[tauri::command]
#[specta::specta]
pub async fn diff_versions(
    state: State<'_, AppState>,
    notebook: NotebookId,
    table: String,
    from: u64,
    to: u64,
    job: String,
) -> Reply<DiffSummary> {
    let cancel = state.jobs.start(&job);
    let result = state
        .engine
        .diff_versions(notebook, &table, from, to, &cancel)
        .await;
    state.jobs.finish(&job);
    Ok(result?)
}

/// A page of a diff with old and new values side by side.
#[tauri::command]
#[specta::specta]
pub async fn diff_page(
    state: State<'_, AppState>,
    notebook: NotebookId,
    table: String,
    from: u64,
    to: u64,
    offset: u64,
    limit: u64,
) -> Reply<DiffPage> {
    let page = state
        .engine
        .diff_page(notebook, &table, from, to, offset, limit)
        .await?;
    Ok(DiffPage::clone(&page))
}

/// Every column's profile of a table's current version (cached per version; computed at idle
/// priority). `job` lets Cancel, or a newer version, stop it.
#[tauri::command]
#[specta::specta]
pub async fn profile_table(
    state: State<'_, AppState>,
    notebook: NotebookId,
    table: String,
    job: String,
) -> Reply<Profile> {
    let cancel = state.jobs.start(&job);
    let result = state.engine.profile_table(notebook, &table, &cancel).await;
    state.jobs.finish(&job);
    Ok(result?)
}

/// Every column's profile of a query's result (a SQL cell's, read back from the cluster it runs
/// on when `runs_on` names one), at idle priority.
#[tauri::command]
#[specta::specta]
pub async fn profile_query(
    state: State<'_, AppState>,
    notebook: NotebookId,
    sql: String,
    runs_on: Option<String>,
    job: String,
) -> Reply<Profile> {
    let cancel = state.jobs.start(&job);
    let result = state
        .engine
        .profile_query(notebook, &sql, runs_on.as_deref(), &cancel)
        .await;
    state.jobs.finish(&job);
    Ok(result?)
}

//! Typed commands: each parses its arguments, calls the engine and maps the error. Async so
//! they run off the main thread that drives the windows.

use std::path::PathBuf;

use quire_engine::config::NotebookMode;
use quire_engine::events::EventStats;
use quire_engine::metrics::MetricsReport;
use quire_engine::notebooks::{
    Cell, CellId, CellKind, DiskChoice, NotebookId, NotebookSummary, NotebookView,
};
use quire_engine::queue::{JobKind, Priority, QueueStats};
use quire_engine::snapshots::{Generation, TableSaveStatus};
use quire_engine::tables::diff::DiffSummary;
use quire_engine::tables::edit::CellEdit;
use quire_engine::tables::import::{self, CsvOptions, ImportPreview, ImportProgress};
use quire_engine::tables::transform::Transform;
use quire_engine::tables::view::ViewSpec;
use quire_engine::tables::TableInfo;
use quire_engine::tasks::{NewTask, Task, TaskKind, TaskStats, TaskStatus};
use quire_engine::{
    CatchUp, CellOutput, DiffPage, EngineInfo, FlushAllReport, ImportOutcome, ImportRequest,
    PendingWork, TableVersions, TransformPreview,
};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};
use tauri_plugin_dialog::DialogExt;

use crate::ipc_error::IpcError;
use crate::state::AppState;

type Reply<T> = Result<T, IpcError>;

/// The engine's facts plus what only the shell knows.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AppInfo {
    pub engine: EngineInfo,
    /// "Recovered 2 saves and 1 import after an unexpected exit", once after a crash.
    pub recovery: Option<String>,
    /// Set when the task store was damaged and replaced (the old file was kept aside).
    pub task_store_replaced: Option<PathBuf>,
    pub log_dir: PathBuf,
    pub config_dir: PathBuf,
    pub startup_warnings: Vec<IpcError>,
    /// What the command line asked to open (`quire Sales.quire`, `quire trips.csv`).
    pub launch: Option<crate::launch::OpenRequested>,
}

#[tauri::command]
#[specta::specta]
pub async fn app_info(state: State<'_, AppState>) -> Reply<AppInfo> {
    Ok(AppInfo {
        engine: state.engine.info(),
        recovery: state.engine.recovery().message(),
        task_store_replaced: state.engine.task_store().moved_aside().map(PathBuf::from),
        log_dir: state.dirs.logs.clone(),
        config_dir: state.dirs.config.clone(),
        startup_warnings: state.startup_warnings.clone(),
        launch: state.launch.clone(),
    })
}

#[tauri::command]
#[specta::specta]
pub async fn metrics(state: State<'_, AppState>) -> Reply<MetricsReport> {
    Ok(state.engine.metrics_report())
}

/// Opens the log folder in the platform's file manager (from Rust: the webview has no opener
/// or shell permission).
#[tauri::command]
#[specta::specta]
pub async fn open_log_folder(app: AppHandle, state: State<'_, AppState>) -> Reply<()> {
    crate::menu::open_log_folder(&app, &state.dirs.logs)
}

/// The work queue's depth, waits per priority, run time per kind and cancellations.
#[tauri::command]
#[specta::specta]
pub async fn queue_stats(state: State<'_, AppState>) -> Reply<QueueStats> {
    Ok(state.engine.queue_stats())
}

#[tauri::command]
#[specta::specta]
pub async fn set_notebook_mode(
    state: State<'_, AppState>,
    mode: NotebookMode,
) -> Reply<EngineInfo> {
    Ok(state.engine.set_notebook_mode(mode)?)
}

#[tauri::command]
#[specta::specta]
pub async fn list_notebooks(state: State<'_, AppState>) -> Reply<Vec<NotebookSummary>> {
    Ok(state.engine.list_notebooks())
}

#[tauri::command]
#[specta::specta]
pub async fn create_notebook(state: State<'_, AppState>, title: String) -> Reply<NotebookSummary> {
    Ok(state.engine.create_notebook(&title)?)
}

#[tauri::command]
#[specta::specta]
pub async fn get_notebook(state: State<'_, AppState>, notebook: NotebookId) -> Reply<NotebookView> {
    Ok(state
        .engine
        .notebooks()
        .get(notebook)
        .map_err(quire_engine::Error::from)?)
}

#[tauri::command]
#[specta::specta]
pub async fn rename_notebook(
    state: State<'_, AppState>,
    notebook: NotebookId,
    title: String,
) -> Reply<NotebookSummary> {
    Ok(state
        .engine
        .notebooks()
        .rename(notebook, &title)
        .map_err(quire_engine::Error::from)?)
}

#[tauri::command]
#[specta::specta]
pub async fn delete_notebook(state: State<'_, AppState>, notebook: NotebookId) -> Reply<()> {
    Ok(state.engine.delete_notebook(notebook)?)
}

#[tauri::command]
#[specta::specta]
pub async fn duplicate_notebook(
    state: State<'_, AppState>,
    notebook: NotebookId,
) -> Reply<NotebookSummary> {
    Ok(state
        .engine
        .notebooks()
        .duplicate(notebook)
        .map_err(quire_engine::Error::from)?)
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
    Ok(state
        .engine
        .notebooks()
        .add_cell(notebook, kind, index, source)
        .map_err(quire_engine::Error::from)?)
}

#[tauri::command]
#[specta::specta]
pub async fn update_cell(
    state: State<'_, AppState>,
    notebook: NotebookId,
    cell: CellId,
    source: String,
) -> Reply<()> {
    Ok(state
        .engine
        .notebooks()
        .update_cell(notebook, cell, source)
        .map_err(quire_engine::Error::from)?)
}

#[tauri::command]
#[specta::specta]
pub async fn set_cell_kind(
    state: State<'_, AppState>,
    notebook: NotebookId,
    cell: CellId,
    kind: CellKind,
) -> Reply<()> {
    Ok(state
        .engine
        .notebooks()
        .set_cell_kind(notebook, cell, kind)
        .map_err(quire_engine::Error::from)?)
}

#[tauri::command]
#[specta::specta]
pub async fn delete_cell(
    state: State<'_, AppState>,
    notebook: NotebookId,
    cell: CellId,
) -> Reply<()> {
    Ok(state
        .engine
        .notebooks()
        .delete_cell(notebook, cell)
        .map_err(quire_engine::Error::from)?)
}

#[tauri::command]
#[specta::specta]
pub async fn move_cell(
    state: State<'_, AppState>,
    notebook: NotebookId,
    cell: CellId,
    to: u32,
) -> Reply<()> {
    Ok(state
        .engine
        .notebooks()
        .move_cell(notebook, cell, to)
        .map_err(quire_engine::Error::from)?)
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
    books.flush(notebook).map_err(quire_engine::Error::from)?;
    state.engine.flush_events();
    Ok(books.summary(notebook).map_err(quire_engine::Error::from)?)
}

/// Writes every notebook and every pending table snapshot and waits for them: the Flush
/// button. The wait blocks this command's thread only (block_in_place), not the runtime.
#[tauri::command]
#[specta::specta]
pub async fn flush_all(state: State<'_, AppState>) -> Reply<FlushAllReport> {
    let report = tokio::task::block_in_place(|| state.engine.flush_all());
    // Flush means everything: the log too.
    log::logger().flush();
    Ok(report)
}

/// Sets cells of a table (typed, checked against each column); the snapshot is debounced.
#[tauri::command]
#[specta::specta]
pub async fn edit_cells(
    state: State<'_, AppState>,
    notebook: NotebookId,
    table: String,
    edits: Vec<CellEdit>,
) -> Reply<TableInfo> {
    Ok(state.engine.edit_cells(notebook, &table, &edits)?)
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
    Ok(tokio::task::block_in_place(|| {
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
        .resolve_disk_change(notebook, choice)
        .map_err(quire_engine::Error::from)?)
}

// ---- Tables ----------------------------------------------------------------------------

fn blocking_failed(e: impl std::fmt::Display) -> IpcError {
    IpcError {
        code: quire_engine::ErrorCode::Internal,
        message: format!("a background task failed: {e}"),
        position: None,
    }
}

/// Shows the native open dialog (from Rust, so the page never names a path it was not given)
/// and remembers the choice as a file this window may read.
#[tauri::command]
#[specta::specta]
pub async fn pick_import_file(
    app: AppHandle,
    state: State<'_, AppState>,
) -> Reply<Option<PathBuf>> {
    let picked = match crate::files::test_answer(crate::files::TEST_PICK_ENV) {
        Some(path) => Some(path),
        None => tauri::async_runtime::spawn_blocking(move || {
            app.dialog()
                .file()
                .set_title("Import a data file")
                .add_filter(
                    "Data files",
                    &[
                        "csv", "tsv", "txt", "parquet", "pq", "json", "ndjson", "jsonl",
                    ],
                )
                .blocking_pick_file()
                .and_then(|f| f.into_path().ok())
        })
        .await
        .map_err(blocking_failed)?,
    };
    if let Some(path) = &picked {
        state.picked.allow(path);
    }
    Ok(picked)
}

#[tauri::command]
#[specta::specta]
pub async fn preview_import(state: State<'_, AppState>, path: PathBuf) -> Reply<ImportPreview> {
    state.picked.check(&path)?;
    let preview = tauri::async_runtime::spawn_blocking(move || import::preview(&path, None))
        .await
        .map_err(blocking_failed)?;
    Ok(preview.map_err(quire_engine::Error::from)?)
}

/// Imports a picked file as a table; progress streams over `on_progress`; `job` names the
/// import for [`cancel_job`].
#[tauri::command]
#[specta::specta]
#[allow(clippy::too_many_arguments)]
pub async fn import_file(
    app: AppHandle,
    state: State<'_, AppState>,
    notebook: NotebookId,
    path: PathBuf,
    table: Option<String>,
    csv: Option<CsvOptions>,
    job: String,
    on_progress: Channel<ImportProgress>,
) -> Reply<ImportOutcome> {
    state.picked.check(&path)?;
    // The notebook goes to disk first (it may still be only in memory): an import that a
    // crash cuts short must find its notebook when it runs again.
    state
        .engine
        .notebooks()
        .flush(notebook)
        .map_err(quire_engine::Error::from)?;
    // Recorded before it is queued, with what it takes to run it again after a crash.
    let task = state.engine.begin_task(NewTask {
        kind: TaskKind::Import,
        notebook: Some(notebook),
        target: table.clone(),
        payload: serde_json::json!({ "path": path, "csv": csv }),
        priority: Priority::Background,
    });
    // Imports are background work on the engine's scheduler: they never take the worker kept
    // free for grid pages and queries.
    let work = state.engine.scheduler().submit_blocking(
        Priority::Background,
        JobKind::Import,
        None,
        move |token| {
            let state = app.state::<AppState>();
            // The last update (100 %) always goes out.
            let to_ui = throttled(on_progress, |p: &ImportProgress| p.bytes == p.total_bytes);
            let progress = |p: ImportProgress| {
                let fraction = p.bytes as f64 / p.total_bytes.max(1) as f64;
                state.engine.task_progress(task, fraction);
                to_ui(p);
            };
            let request = ImportRequest {
                path: &path,
                table: table.as_deref(),
                format: None,
                csv: csv.as_ref(),
            };
            state.engine.start_task(task);
            let result = state
                .engine
                .import_file(notebook, request, &progress, token);
            state.engine.end_task(task, &result);
            Ok(result)
        },
    );
    state.jobs.watch(&job, work.token());
    state.engine.watch_task(task, work.token());
    let result = work.result().await;
    state.jobs.finish(&job);
    Ok(result.map_err(quire_engine::Error::from)??)
}

/// Cancels a running job; false when it already ended.
#[tauri::command]
#[specta::specta]
pub async fn cancel_job(state: State<'_, AppState>, job: String) -> Reply<bool> {
    Ok(state.jobs.cancel(&job))
}

#[tauri::command]
#[specta::specta]
pub async fn list_tables(
    state: State<'_, AppState>,
    notebook: NotebookId,
) -> Reply<Vec<TableInfo>> {
    Ok(state.engine.tables(notebook)?)
}

#[tauri::command]
#[specta::specta]
pub async fn save_query_as_table(
    state: State<'_, AppState>,
    notebook: NotebookId,
    sql: String,
    table: String,
) -> Reply<TableInfo> {
    Ok(state
        .engine
        .save_query_as_table(notebook, &sql, &table)
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
    Ok(state.engine.delete_table(notebook, &table)?)
}

#[tauri::command]
#[specta::specta]
pub async fn rename_table(
    state: State<'_, AppState>,
    notebook: NotebookId,
    table: String,
    to: String,
) -> Reply<TableInfo> {
    Ok(state.engine.rename_table(notebook, &table, &to)?)
}

/// Shows the native save dialog and remembers the choice as a file this window may write.
#[tauri::command]
#[specta::specta]
pub async fn pick_export_path(
    app: AppHandle,
    state: State<'_, AppState>,
    suggested: String,
) -> Reply<Option<PathBuf>> {
    let picked = match crate::files::test_answer(crate::files::TEST_SAVE_ENV) {
        Some(path) => Some(path),
        None => tauri::async_runtime::spawn_blocking(move || {
            app.dialog()
                .file()
                .set_title("Export")
                .set_file_name(suggested)
                .add_filter("CSV", &["csv"])
                .add_filter("Parquet", &["parquet"])
                .blocking_save_file()
                .and_then(|f| f.into_path().ok())
        })
        .await
        .map_err(blocking_failed)?,
    };
    if let Some(path) = &picked {
        state.picked.allow(path);
    }
    Ok(picked)
}

#[tauri::command]
#[specta::specta]
pub async fn export_table(
    app: AppHandle,
    state: State<'_, AppState>,
    notebook: NotebookId,
    table: String,
    path: PathBuf,
    job: String,
    on_rows: Channel<u64>,
) -> Reply<u64> {
    state.picked.check(&path)?;
    let task = state.engine.begin_task(NewTask {
        kind: TaskKind::Export,
        notebook: Some(notebook),
        target: Some(table.clone()),
        payload: serde_json::json!({ "path": path }),
        priority: Priority::Background,
    });
    let work = state.engine.scheduler().submit_blocking(
        Priority::Background,
        JobKind::Export,
        None,
        move |token| {
            let report = throttled(on_rows, |_| false);
            let engine = &app.state::<AppState>().engine;
            engine.start_task(task);
            let result = engine.export_table(notebook, &table, &path, &report, token);
            engine.end_task(task, &result);
            Ok(result)
        },
    );
    state.jobs.watch(&job, work.token());
    state.engine.watch_task(task, work.token());
    let result = work.result().await;
    state.jobs.finish(&job);
    Ok(result.map_err(quire_engine::Error::from)??)
}

/// Sends at most ten numbers a second over a channel: smooth for a progress bar, and never a
/// flood that would queue ahead of the user's next command (Cancel).
/// `always` names updates that must go out whatever the rate (the final one). A closed channel
/// means the page went away; the work itself goes on.
fn throttled<T: tauri::ipc::IpcResponse + Clone + Send + Sync>(
    channel: Channel<T>,
    always: fn(&T) -> bool,
) -> impl Fn(T) + Send + Sync {
    let last = std::sync::Mutex::new(std::time::Instant::now() - std::time::Duration::from_secs(1));
    move |update: T| {
        let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
        if always(&update) || last.elapsed() >= std::time::Duration::from_millis(100) {
            *last = std::time::Instant::now();
            let _ = channel.send(update);
        }
    }
}

/// Runs a query and writes its result to a picked file.
#[tauri::command]
#[specta::specta]
pub async fn export_query(
    state: State<'_, AppState>,
    notebook: NotebookId,
    sql: String,
    path: PathBuf,
) -> Reply<u64> {
    state.picked.check(&path)?;
    Ok(state.engine.export_query(notebook, &sql, &path).await?)
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

#[cfg(test)]
mod tests {
    /// `table_page` is called by hand from `ui/src/pages.ts` (raw bytes have no generated
    /// binding): pin the call's argument names to this command's parameters.
    #[test]
    fn the_page_call_in_the_ui_matches_the_command() {
        let pages =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/ui/src/pages.ts"))
                .unwrap();
        assert!(
            pages.contains(
                r#"invoke<ArrayBuffer>("table_page", { notebook, table, view, offset, limit })"#
            ),
            "ui/src/pages.ts no longer calls table_page(notebook, table, view, offset, limit)"
        );
    }
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
    Ok(state.engine.undo_redo(notebook, &table, back)?)
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

/// Recent tasks, newest first, optionally of one status: the tasks panel.
#[tauri::command]
#[specta::specta]
pub async fn list_tasks(
    state: State<'_, AppState>,
    status: Option<TaskStatus>,
    limit: u32,
) -> Reply<Vec<Task>> {
    Ok(state.engine.list_tasks(status, limit.min(1000))?)
}

/// Task counts by status (the status bar) and live leases.
#[tauri::command]
#[specta::specta]
pub async fn task_stats(state: State<'_, AppState>) -> Reply<TaskStats> {
    Ok(state.engine.task_stats()?)
}

/// Runs a failed, cancelled or interrupted task again (a cell run is re-run by the UI).
#[tauri::command]
#[specta::specta]
pub async fn retry_task(state: State<'_, AppState>, id: u64) -> Reply<Task> {
    let engine = &state.engine;
    Ok(tokio::task::block_in_place(|| engine.retry_task(id))?)
}

/// Clears finished tasks from the task list; how many went.
#[tauri::command]
#[specta::specta]
pub async fn dismiss_finished_tasks(state: State<'_, AppState>) -> Reply<u64> {
    let engine = &state.engine;
    Ok(tokio::task::block_in_place(|| {
        engine.dismiss_finished_tasks()
    })?)
}

/// Cancels a running task from the task list; false when it is not running.
#[tauri::command]
#[specta::specta]
pub async fn cancel_task(state: State<'_, AppState>, id: u64) -> Reply<bool> {
    Ok(state.engine.cancel_task(id))
}

/// Engine events after `seq` that a reloaded or lagging UI missed (from the ring buffer).
#[tauri::command]
#[specta::specta]
pub async fn events_since(state: State<'_, AppState>, seq: u64) -> Reply<CatchUp> {
    Ok(state.engine.events_since(seq))
}

/// What the event batcher did: events in, messages out, deduplicated, dropped.
#[tauri::command]
#[specta::specta]
pub async fn event_stats(state: State<'_, AppState>) -> Reply<EventStats> {
    Ok(state.engine.event_stats())
}

/// What closing now would leave unsaved (the close prompt refreshes from this).
#[tauri::command]
#[specta::specta]
pub async fn pending_work(state: State<'_, AppState>) -> Reply<PendingWork> {
    Ok(state.engine.pending_work())
}

/// The close prompt's answer. `wait` returns once everything is written and the close began.
#[tauri::command]
#[specta::specta]
pub async fn resolve_close(
    app: AppHandle,
    reason: crate::exit::CloseReason,
    choice: crate::exit::CloseChoice,
) -> Reply<()> {
    tauri::async_runtime::spawn_blocking(move || crate::exit::resolve(&app, reason, choice))
        .await
        .map_err(|e| IpcError {
            code: quire_engine::ErrorCode::Io,
            message: format!("closing failed: {e}"),
            position: None,
        })?
}

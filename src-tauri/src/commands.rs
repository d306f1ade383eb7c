//! Typed commands: each parses its arguments, calls the engine and maps the error. Async so
//! they run off the main thread that drives the windows.

use std::path::PathBuf;

use quire_engine::config::NotebookMode;
use quire_engine::metrics::MetricsSnapshot;
use quire_engine::notebooks::{
    Cell, CellId, CellKind, DiskChoice, FlushReport, NotebookId, NotebookSummary, NotebookView,
};
use quire_engine::{CellOutput, EngineInfo};
use serde::Serialize;
use tauri::State;

use crate::ipc_error::IpcError;
use crate::state::AppState;

type Reply<T> = Result<T, IpcError>;

/// The engine's facts plus what only the shell knows.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AppInfo {
    pub engine: EngineInfo,
    pub log_dir: PathBuf,
    pub config_dir: PathBuf,
    pub startup_warnings: Vec<IpcError>,
}

#[tauri::command]
#[specta::specta]
pub async fn app_info(state: State<'_, AppState>) -> Reply<AppInfo> {
    Ok(AppInfo {
        engine: state.engine.info(),
        log_dir: state.dirs.logs.clone(),
        config_dir: state.dirs.config.clone(),
        startup_warnings: state.startup_warnings.clone(),
    })
}

#[tauri::command]
#[specta::specta]
pub async fn metrics(state: State<'_, AppState>) -> Reply<MetricsSnapshot> {
    Ok(state.engine.metrics())
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
    Ok(state
        .engine
        .notebooks()
        .delete(notebook)
        .map_err(quire_engine::Error::from)?)
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
) -> Reply<CellOutput> {
    Ok(state.engine.run_cell(notebook, cell).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn flush_notebook(
    state: State<'_, AppState>,
    notebook: NotebookId,
) -> Reply<NotebookSummary> {
    let books = state.engine.notebooks();
    books.flush(notebook).map_err(quire_engine::Error::from)?;
    Ok(books.summary(notebook).map_err(quire_engine::Error::from)?)
}

#[tauri::command]
#[specta::specta]
pub async fn flush_all(state: State<'_, AppState>) -> Reply<FlushReport> {
    Ok(state.engine.notebooks().flush_all())
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

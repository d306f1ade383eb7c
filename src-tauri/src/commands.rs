//! Typed commands: each parses its arguments, calls the engine and maps the error. Async so
//! they run off the main thread that drives the windows.

use std::path::PathBuf;

use quire_engine::metrics::MetricsSnapshot;
use quire_engine::notebooks::NotebookSummary;
use quire_engine::EngineInfo;
use serde::Serialize;
use tauri::State;

use crate::ipc_error::IpcError;
use crate::state::AppState;

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
pub async fn app_info(state: State<'_, AppState>) -> Result<AppInfo, IpcError> {
    Ok(AppInfo {
        engine: state.engine.info(),
        log_dir: state.dirs.logs.clone(),
        config_dir: state.dirs.config.clone(),
        startup_warnings: state.startup_warnings.clone(),
    })
}

#[tauri::command]
#[specta::specta]
pub async fn list_notebooks(state: State<'_, AppState>) -> Result<Vec<NotebookSummary>, IpcError> {
    Ok(state.engine.list_notebooks())
}

#[tauri::command]
#[specta::specta]
pub async fn create_notebook(
    state: State<'_, AppState>,
    title: String,
) -> Result<NotebookSummary, IpcError> {
    Ok(state.engine.create_notebook(&title)?)
}

#[tauri::command]
#[specta::specta]
pub async fn metrics(state: State<'_, AppState>) -> Result<MetricsSnapshot, IpcError> {
    Ok(state.engine.metrics())
}

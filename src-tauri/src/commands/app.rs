//! The app itself: facts, settings, events, metrics, closing.

use super::prelude::*;

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

/// Writes every notebook and every pending table snapshot and waits for them: the Flush
/// button. The wait blocks this command's thread only (`on_disk`), not the runtime.
#[tauri::command]
#[specta::specta]
pub async fn flush_all(state: State<'_, AppState>) -> Reply<FlushAllReport> {
    let report = on_disk(|| state.engine.flush_all());
    // Flush means everything: the log too.
    log::logger().flush();
    Ok(report)
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

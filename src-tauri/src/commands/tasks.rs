//! The task list.

use super::prelude::*;

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
    Ok(on_disk(|| engine.retry_task(id))?)
}

/// Clears finished tasks from the task list; how many went.
#[tauri::command]
#[specta::specta]
pub async fn dismiss_finished_tasks(state: State<'_, AppState>) -> Reply<u64> {
    let engine = &state.engine;
    Ok(on_disk(|| engine.dismiss_finished_tasks())?)
}

/// Cancels a running task from the task list; false when it is not running.
#[tauri::command]
#[specta::specta]
pub async fn cancel_task(state: State<'_, AppState>, id: u64) -> Reply<bool> {
    Ok(state.engine.cancel_task(id))
}

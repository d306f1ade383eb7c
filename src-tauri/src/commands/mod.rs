//! Typed commands, one file per domain: each parses its arguments, calls the engine and maps
//! the error (one `From<quire_engine::Error> for IpcError`). Async so they run off the main
//! thread that drives the windows. The one list of commands is `command_names.rs`.

mod app;
mod connections;
mod files;
mod notebooks;
mod tables;
mod tasks;

pub use app::*;
pub use connections::*;
pub use files::*;
pub use notebooks::*;
pub use tables::*;
pub use tasks::*;

/// What every command file uses.
mod prelude {
    pub use std::path::PathBuf;
    pub use std::sync::Arc;

    pub use quire_engine::config::NotebookMode;
    pub use quire_engine::events::EventStats;
    pub use quire_engine::metrics::MetricsReport;
    pub use quire_engine::notebooks::{
        Cell, CellId, CellKind, DiskChoice, NotebookId, NotebookSummary, NotebookView,
    };
    pub use quire_engine::profiles::Profile;

    pub use crate::recent::RecentFile;
    pub use quire_engine::queue::QueueStats;
    pub use quire_engine::snapshots::{Generation, TableSaveStatus};
    pub use quire_engine::tables::diff::DiffSummary;
    pub use quire_engine::tables::edit::CellEdit;
    pub use quire_engine::tables::import::{
        self, CsvOptions, ImportPreview, ImportProgress, SheetOptions,
    };
    pub use quire_engine::tables::transform::Transform;
    pub use quire_engine::tables::view::ViewSpec;
    pub use quire_engine::tables::view_cache::ViewProgress;
    pub use quire_engine::tables::TableInfo;
    pub use quire_engine::tasks::{Task, TaskStats, TaskStatus};
    pub use quire_engine::{
        AddedRows, CatchUp, CellOutput, DiffPage, EngineInfo, FlushAllReport, ImportOutcome,
        ImportRequest, PendingWork, TableVersions, TransformPreview,
    };
    pub use serde::Serialize;
    pub use tauri::ipc::Channel;
    pub use tauri::{AppHandle, State};
    pub use tauri_plugin_dialog::DialogExt;

    pub use crate::ipc_error::IpcError;
    pub use crate::state::AppState;

    pub(crate) use super::{blocking_failed, on_disk, throttled, Reply};
}

use crate::ipc_error::IpcError;

pub(crate) type Reply<T> = Result<T, IpcError>;

/// Runs engine work that waits for the disk (a journal or draft sync, a manifest write). The
/// async runtime hands this thread's other tasks to another one meanwhile, so a Cancel or a
/// grid page is never queued behind a sync on a busy disk (the runtime has one worker per core).
pub(crate) fn on_disk<T>(work: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(work)
}

pub(crate) fn blocking_failed(e: impl std::fmt::Display) -> IpcError {
    IpcError {
        code: quire_engine::ErrorCode::Internal,
        message: format!("a background task failed: {e}"),
        position: None,
    }
}

/// Sends at most ten numbers a second over a channel: smooth for a progress bar, and never a
/// flood that would queue ahead of the user's next command (Cancel).
/// `always` names updates that must go out whatever the rate (the final one). A closed channel
/// means the page went away; the work itself goes on.
pub(crate) fn throttled<T: tauri::ipc::IpcResponse + Clone + Send + Sync>(
    channel: tauri::ipc::Channel<T>,
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

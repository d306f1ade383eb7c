//! The event bridge: the engine's batches go to the UI as one typed Tauri event.

use quire_engine::events::{EventSink, Sequenced};
use serde::{Deserialize, Serialize};
use tauri::AppHandle;
use tauri_specta::Event;

/// A batch of engine events, in sequence order.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct EngineEvents(pub Vec<Sequenced>);

/// Files dropped on the window. They are already allowed for import (see `files.rs`).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct FilesDropped {
    pub paths: Vec<std::path::PathBuf>,
}

pub struct TauriSink {
    app: AppHandle,
}

impl TauriSink {
    pub fn new(app: AppHandle) -> Self {
        Self { app }
    }
}

impl EventSink for TauriSink {
    fn deliver(&self, batch: Vec<Sequenced>) {
        // emit queues the message for the webview and returns; a failure means no window is
        // listening (closing), which loses nothing the UI could still show.
        if let Err(e) = EngineEvents(batch).emit(&self.app) {
            log::debug!("event batch not delivered: {e}");
        }
    }
}

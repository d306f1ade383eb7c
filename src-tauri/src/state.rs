//! What the shell keeps for the app's lifetime, managed by Tauri.

use quire_engine::Engine;

use crate::dirs::AppDirs;
use crate::ipc_error::IpcError;

pub struct AppState {
    pub engine: Engine,
    /// Files the user picked or dropped: the only paths commands accept.
    pub picked: crate::files::PickedFiles,
    /// Files imported lately, for the first screen.
    pub recent: crate::recent::RecentFiles,
    /// Cancellation of running jobs (imports), by the id the page gave them.
    pub jobs: Jobs,
    pub dirs: AppDirs,
    /// Problems found while starting (a bad config file) that the UI shows once.
    pub startup_warnings: Vec<IpcError>,
    /// What the command line asked to open, for the page's first `app_info`.
    pub launch: Option<crate::launch::OpenRequested>,
}

/// Running jobs the page can cancel. (The priority queue will own this.)
#[derive(Default)]
pub struct Jobs {
    tokens:
        std::sync::Mutex<std::collections::HashMap<String, tokio_util::sync::CancellationToken>>,
}

impl Jobs {
    pub fn start(&self, id: &str) -> tokio_util::sync::CancellationToken {
        let token = tokio_util::sync::CancellationToken::new();
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_string(), token.clone());
        token
    }

    /// Registers a token someone else made (a scheduler job's) under the page's job id.
    pub fn watch(&self, id: &str, token: tokio_util::sync::CancellationToken) {
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_string(), token);
    }

    pub fn finish(&self, id: &str) {
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    pub fn cancel(&self, id: &str) -> bool {
        match self
            .tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
        {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }
}

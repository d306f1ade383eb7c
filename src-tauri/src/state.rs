//! What the shell keeps for the app's lifetime, managed by Tauri.

use quire_engine::Engine;

use crate::dirs::AppDirs;
use crate::ipc_error::IpcError;

pub struct AppState {
    pub engine: Engine,
    pub dirs: AppDirs,
    /// Problems found while starting (a bad config file) that the UI shows once.
    pub startup_warnings: Vec<IpcError>,
}

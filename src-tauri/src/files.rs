//! Which files the webview may name: only those the user picked in a native dialog (opened from
//! Rust, not from the page) or dropped on the window. Every command that takes a path checks it
//! here, so a page that was tricked into sending another path gets `path_not_allowed`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use quire_engine::ErrorCode;

use crate::ipc_error::IpcError;

#[derive(Default)]
pub struct PickedFiles {
    paths: Mutex<HashSet<PathBuf>>,
}

impl PickedFiles {
    pub fn allow(&self, path: &Path) {
        self.paths
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(path.to_path_buf());
    }

    pub fn check(&self, path: &Path) -> Result<(), IpcError> {
        if self
            .paths
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(path)
        {
            Ok(())
        } else {
            Err(IpcError {
                code: ErrorCode::PathNotAllowed,
                message: format!(
                    "Quire only opens files you choose: {} was not chosen in this window",
                    path.display()
                ),
                position: None,
            })
        }
    }
}

/// Files dropped on a window count as chosen: they are allowed, and the page is told.
pub fn dropped(app: &tauri::AppHandle, paths: Vec<PathBuf>) {
    use tauri::Manager;
    use tauri_specta::Event;
    let Some(state) = app.try_state::<crate::state::AppState>() else {
        return;
    };
    let files: Vec<PathBuf> = paths.into_iter().filter(|p| p.is_file()).collect();
    for path in &files {
        state.picked.allow(path);
    }
    log::info!("{} files dropped on the window", files.len());
    if !files.is_empty() {
        if let Err(e) = (crate::events::FilesDropped { paths: files }).emit(app) {
            log::warn!("could not tell the page about dropped files: {e}");
        }
    }
}

/// Tests drive the app through WebDriver, which cannot click a native dialog; a debug build
/// answers the open dialog from `QUIRE_TEST_PICK_FILE` and the save dialog from
/// `QUIRE_TEST_SAVE_FILE` instead. Release builds always show the dialog.
pub const TEST_PICK_ENV: &str = "QUIRE_TEST_PICK_FILE";
pub const TEST_SAVE_ENV: &str = "QUIRE_TEST_SAVE_FILE";

pub fn test_answer(variable: &str) -> Option<PathBuf> {
    if cfg!(debug_assertions) {
        std::env::var_os(variable)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_picked_paths_pass() {
        let picked = PickedFiles::default();
        let err = picked.check(Path::new("/etc/passwd")).unwrap_err();
        assert_eq!(err.code, ErrorCode::PathNotAllowed);
        picked.allow(Path::new("/home/u/sales.csv"));
        picked.check(Path::new("/home/u/sales.csv")).unwrap();
        assert!(
            picked.check(Path::new("/home/u/../u/sales.csv")).is_err(),
            "exactly the picked path"
        );
    }
}

//! Which files the webview may name: only those the user picked in a native dialog (opened from
//! Rust, not from the page) or dropped on the window. Every command that takes a path checks it
//! here, so a page that was tricked into sending another path gets `path_not_allowed`. A file
//! chosen to be read (open dialog, a drop, the command line) can be read, never written; only a
//! path chosen in the save dialog can be written.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use quire_engine::ErrorCode;

use crate::ipc_error::IpcError;

/// What the user chose a file for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Use {
    /// Opened, dropped or named on the command line: to import.
    Read,
    /// Chosen in the save dialog: to export to.
    Write,
}

#[derive(Default)]
pub struct PickedFiles {
    paths: Mutex<HashSet<(PathBuf, Use)>>,
}

impl PickedFiles {
    pub fn allow(&self, path: &Path, usage: Use) {
        self.paths
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((path.to_path_buf(), usage));
    }

    pub fn check(&self, path: &Path, usage: Use) -> Result<(), IpcError> {
        if self
            .paths
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&(path.to_path_buf(), usage))
        {
            return Ok(());
        }
        let message = match usage {
            Use::Read => format!(
                "Quire only opens files you choose: {} was not chosen in this window",
                path.display()
            ),
            Use::Write => format!(
                "Quire only writes where you choose in the save dialog: {} was not chosen there",
                path.display()
            ),
        };
        Err(IpcError {
            code: ErrorCode::PathNotAllowed,
            message,
            position: None,
        })
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
        state.picked.allow(path, Use::Read);
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
pub const TEST_PICK_FOLDER_ENV: &str = "QUIRE_TEST_PICK_FOLDER";

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
        let err = picked
            .check(Path::new("/etc/passwd"), Use::Read)
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::PathNotAllowed);
        picked.allow(Path::new("/home/u/sales.csv"), Use::Read);
        picked
            .check(Path::new("/home/u/sales.csv"), Use::Read)
            .unwrap();
        assert!(
            picked
                .check(Path::new("/home/u/../u/sales.csv"), Use::Read)
                .is_err(),
            "exactly the picked path"
        );
    }

    #[test]
    fn a_file_chosen_to_read_cannot_be_written_nor_the_other_way() {
        let picked = PickedFiles::default();
        let sales = Path::new("/home/u/sales.csv");
        picked.allow(sales, Use::Read);
        let err = picked.check(sales, Use::Write).unwrap_err();
        assert_eq!(err.code, ErrorCode::PathNotAllowed);
        assert!(err.message.contains("save dialog"), "{}", err.message);
        let out = Path::new("/home/u/out.parquet");
        picked.allow(out, Use::Write);
        picked.check(out, Use::Write).unwrap();
        assert!(picked.check(out, Use::Read).is_err());
    }
}

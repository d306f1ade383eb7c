//! Notebook folders on disk: loading them, creating them, moving them to the trash.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::model::{Document, ParseProblem, FILE_NAME};
use super::naming::FOLDER_SUFFIX;
use crate::durable;

/// Deleted notebooks go here, inside the workspace, never unlinked.
pub const TRASH_DIR: &str = ".trash";

/// What one notebook folder held when it was read.
pub enum Loaded {
    Ok {
        doc: Document,
        hash: blake3::Hash,
    },
    Unreadable {
        message: String,
    },
    /// A folder with no `notebook.json` (a hydration that never finished): nothing to show.
    Empty,
}

/// The names of the notebook folders directly under `root`, sorted.
pub fn notebook_folders(root: &Path) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(FOLDER_SUFFIX) && !name.starts_with('.') && entry.file_type()?.is_dir() {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

/// Sweeps temp files a crash left in the folder, then reads its notebook.
pub fn load(dir: &Path) -> Loaded {
    if let Err(e) = durable::sweep_temp_files(dir) {
        log::warn!("could not sweep temp files in {}: {e}", dir.display());
    }
    match durable::trace::read(&dir.join(FILE_NAME)) {
        Ok(bytes) => parse(&bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Loaded::Empty,
        Err(e) => Loaded::Unreadable {
            message: format!("notebook.json cannot be read: {e}"),
        },
    }
}

pub fn parse(bytes: &[u8]) -> Loaded {
    match Document::parse(bytes) {
        Ok(doc) => Loaded::Ok {
            doc,
            hash: blake3::hash(bytes),
        },
        Err(ParseProblem::Corrupt(why)) => Loaded::Unreadable {
            message: format!("notebook.json is damaged: {why}"),
        },
        Err(ParseProblem::NewerVersion(v)) => Loaded::Unreadable {
            message: format!(
                "notebook.json was written by a newer Quire (format {v}); update Quire to open it"
            ),
        },
    }
}

/// The current content of `notebook.json`, or None when there is none.
pub fn read_current(dir: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match durable::trace::read(&dir.join(FILE_NAME)) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates the folder if it is missing and makes its creation durable.
pub fn ensure_dir(root: &Path, dir: &Path) -> std::io::Result<()> {
    match durable::trace::create_dir(dir) {
        Ok(()) => durable::sync_dir(root),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Renames a folder inside the workspace, refusing to replace anything.
pub fn move_dir(root: &Path, from: &Path, to: &Path) -> std::io::Result<()> {
    if to.exists() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "the target folder exists",
        ));
    }
    std::fs::rename(from, to)?;
    durable::sync_dir(root)?;
    if let Some(parent) = to.parent().filter(|p| *p != root) {
        durable::sync_dir(parent)?;
    }
    Ok(())
}

/// Moves a notebook folder to `.trash/<folder>-<unix ms>`; returns where it went.
pub fn trash(root: &Path, folder: &str) -> std::io::Result<PathBuf> {
    let trash = root.join(TRASH_DIR);
    ensure_dir(root, &trash)?;
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let target = trash.join(format!("{folder}-{stamp}"));
    move_dir(root, &root.join(folder), &target)?;
    Ok(target)
}

//! The workspace folder: where notebooks live, and the only place that turns a user-supplied
//! name into a path. Everything the engine writes for a notebook is inside it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Component, Path, PathBuf};

use crate::code::{ErrorCode, HasCode};

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("the workspace folder {path} could not be opened: {source}")]
    Unavailable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0:?} is outside the workspace")]
    OutsideWorkspace(PathBuf),
    #[error("{0:?} is a link, which could lead outside the workspace; Quire does not follow links in it")]
    Link(PathBuf),
    #[error(
        "the workspace {path} is already open in another Quire window or quire-cli ({holder})"
    )]
    Locked { path: PathBuf, holder: String },
}

impl HasCode for WorkspaceError {
    fn code(&self) -> ErrorCode {
        match self {
            WorkspaceError::Unavailable { .. } => ErrorCode::WorkspaceUnavailable,
            WorkspaceError::OutsideWorkspace(_) | WorkspaceError::Link(_) => {
                ErrorCode::PathOutsideWorkspace
            }
            WorkspaceError::Locked { .. } => ErrorCode::WorkspaceLocked,
        }
    }
}

/// The lock file in the workspace root.
pub const LOCK_FILE: &str = ".quire.lock";

/// Held for as long as this process owns the workspace; dropping it releases the lock.
#[derive(Debug)]
pub struct WorkspaceLock {
    file: File,
}

impl Drop for WorkspaceLock {
    fn drop(&mut self) {
        // Unlocked explicitly, not only by closing: a child process forked meanwhile (any
        // `Command` of this process) shares the open file and would keep the lock until it
        // execs, so a reopen right after could find the workspace locked by this very process.
        let _ = self.file.unlock();
    }
}

/// An opened workspace folder. Its root is canonical, so prefix checks are meaningful.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// Opens the folder, creating it (and its parents) if it does not exist yet.
    pub fn open(path: &Path) -> Result<Workspace, WorkspaceError> {
        let unavailable = |source| WorkspaceError::Unavailable {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(path).map_err(unavailable)?;
        let root = path.canonicalize().map_err(unavailable)?;
        if !root.is_dir() {
            return Err(unavailable(std::io::Error::other("not a folder")));
        }
        Ok(Workspace { root })
    }

    /// Takes the single-writer lock: an OS lock on `.quire.lock` that the OS releases when the
    /// process ends, however it ends, so a crash never leaves a stale lock. The file holds the
    /// holder's pid, for the message the second process shows.
    pub fn lock(&self) -> Result<WorkspaceLock, WorkspaceError> {
        let path = self.root.join(LOCK_FILE);
        let unavailable = |source| WorkspaceError::Unavailable {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(unavailable)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = match holder.trim() {
                    "" => "another process".to_string(),
                    pid => format!("process {pid}"),
                };
                return Err(WorkspaceError::Locked {
                    path: self.root.clone(),
                    holder,
                });
            }
            Err(TryLockError::Error(e)) => return Err(unavailable(e)),
        }
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| write!(file, "{}", std::process::id()))
            .map_err(unavailable)?;
        Ok(WorkspaceLock { file })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Joins a relative path made only of normal components (no `..`, no root, no prefix) and
    /// refuses anything else, so a crafted name can never address a file outside the workspace.
    /// A component that exists as a symbolic link (or a Windows junction) is refused too: it
    /// could lead anywhere, and Quire only writes what it created itself.
    pub fn resolve(&self, relative: &Path) -> Result<PathBuf, WorkspaceError> {
        let normal_only = relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        if relative.as_os_str().is_empty() || !normal_only {
            return Err(WorkspaceError::OutsideWorkspace(relative.to_path_buf()));
        }
        let mut at = self.root.clone();
        for part in relative.components() {
            at.push(part);
            match std::fs::symlink_metadata(&at) {
                Ok(meta) if is_link(&meta) => {
                    return Err(WorkspaceError::Link(at));
                }
                Ok(_) => {}
                Err(_) => break, // what does not exist yet cannot be a link
            }
        }
        Ok(self.root.join(relative))
    }
}

fn is_link(meta: &std::fs::Metadata) -> bool {
    #[cfg(windows)]
    {
        use std::os::windows::fs::MetadataExt;
        const FILE_ATTRIBUTE_REPARSE_POINT: u32 = 0x400;
        if meta.file_attributes() & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
            return true;
        }
    }
    meta.file_type().is_symlink()
}

/// Names Windows reserves for devices, with or without an extension (`CON`, `nul.txt`,
/// `COM1`): a notebook folder or table file may not be called that on any platform, so a
/// workspace moves between machines intact.
pub fn is_windows_reserved(stem: &str) -> bool {
    let upper = stem.to_ascii_uppercase();
    let base = upper.split('.').next().unwrap_or("").trim_end();
    matches!(base, "CON" | "PRN" | "AUX" | "NUL")
        || ((base.starts_with("COM") || base.starts_with("LPT"))
            && base.len() == 4
            && base.as_bytes()[3].is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_creates_the_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = Workspace::open(&tmp.path().join("a/b/workspace")).unwrap();
        assert!(ws.root().is_dir());
        assert!(ws.root().is_absolute());
    }

    #[test]
    fn open_refuses_a_file() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        let err = Workspace::open(&file).unwrap_err();
        assert_eq!(err.code(), ErrorCode::WorkspaceUnavailable);
    }

    #[test]
    fn second_lock_is_refused_until_the_first_is_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = Workspace::open(tmp.path()).unwrap();
        let first = ws.lock().unwrap();
        let err = ws.lock().unwrap_err();
        assert_eq!(err.code(), ErrorCode::WorkspaceLocked);
        assert!(
            err.to_string().contains(&std::process::id().to_string()),
            "{err}"
        );
        drop(first);
        ws.lock().unwrap();
    }

    #[test]
    fn resolve_stays_inside() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = Workspace::open(tmp.path()).unwrap();
        let ok = ws.resolve(Path::new("sales.quire/notebook.json")).unwrap();
        assert!(ok.starts_with(ws.root()));
        for bad in ["../escape", "a/../../b", "/etc/passwd", "", "./x"] {
            let err = ws.resolve(Path::new(bad)).unwrap_err();
            assert_eq!(err.code(), ErrorCode::PathOutsideWorkspace, "{bad:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn links_inside_the_workspace_are_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        let ws = Workspace::open(&tmp.path().join("ws")).unwrap();
        std::fs::create_dir(ws.root().join("real.quire")).unwrap();
        std::os::unix::fs::symlink(&outside, ws.root().join("link.quire")).unwrap();
        std::os::unix::fs::symlink(&outside, ws.root().join("real.quire/tables")).unwrap();
        for bad in [
            "link.quire",
            "link.quire/notebook.json",
            "real.quire/tables/t.1.parquet",
        ] {
            let err = ws.resolve(Path::new(bad)).unwrap_err();
            assert_eq!(err.code(), ErrorCode::PathOutsideWorkspace, "{bad:?}");
            assert!(err.to_string().contains("is a link"), "{err}");
        }
        assert!(ws.resolve(Path::new("real.quire/notebook.json")).is_ok());
        assert!(ws.resolve(Path::new("new.quire/tables")).is_ok());
    }

    #[test]
    fn windows_device_names_are_recognised_with_any_extension_and_case() {
        for name in [
            "CON",
            "con",
            "Nul",
            "aux.txt",
            "COM1",
            "lpt9.parquet",
            "prn ",
        ] {
            assert!(is_windows_reserved(name), "{name}");
        }
        for name in ["console", "com", "com10", "nullable", "sales", "lpt"] {
            assert!(!is_windows_reserved(name), "{name}");
        }
    }
}

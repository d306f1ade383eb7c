//! Durable, atomic file replacement: the only way the engine writes a file it cares about.
//!
//! Protocol (see `DURABILITY.md` once snapshots land): write `.<name>.<random>.tmp` in the same
//! folder, `sync_all` it, rename it over the target, then `sync_all` the folder (Unix) so the
//! rename itself is durable. A crash at any instant leaves the old file or the new one, never a
//! torn one, plus at worst a temp file that [`sweep_temp_files`] removes when the folder is next
//! opened. A failed fsync is never retried: the temp file is dropped (deleted) and the caller
//! writes again from memory, because after a failed fsync the kernel may have dropped the pages.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::code::{ErrorCode, HasCode};
use crate::metrics::Metrics;

/// Suffix of every temp file this module creates; the sweep removes only these.
pub const TEMP_SUFFIX: &str = ".tmp";
const TEMP_PREFIX: &str = ".quire-";

#[derive(Debug, thiserror::Error)]
pub enum DurableError {
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl HasCode for DurableError {
    fn code(&self) -> ErrorCode {
        ErrorCode::Io
    }
}

fn io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> DurableError + 'a {
    move |source| DurableError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Atomically replaces `path` with `bytes`, durably. The parent folder must exist.
pub fn write_atomic(path: &Path, bytes: &[u8], metrics: &Metrics) -> Result<(), DurableError> {
    let dir = path.parent().ok_or_else(|| DurableError::Io {
        action: "find the folder of",
        path: path.to_path_buf(),
        source: std::io::Error::other("no parent folder"),
    })?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(io("create a temporary file for", path))?;
    tmp.write_all(bytes).map_err(io("write", path))?;
    tmp.as_file().sync_all().map_err(io("sync", path))?;
    metrics.record_fsync();
    // Through `replace`, not `persist`: on Windows it retries a sharing violation.
    let temp = tmp.into_temp_path();
    replace(&temp, path).map_err(io("replace", path))?;
    // Renamed away: nothing is left for the guard to delete.
    let _ = temp.keep();
    sync_dir(dir).map_err(io("sync the folder of", path))?;
    metrics.record_write(bytes.len() as u64);
    Ok(())
}

/// Renames `from` over `to` (same folder). On Windows a replace can fail for a moment while
/// another process (an indexer, an antivirus scanner) has the target open without
/// `FILE_SHARE_DELETE`; those sharing violations are retried a few times before giving up.
pub fn replace(from: &Path, to: &Path) -> std::io::Result<()> {
    #[cfg(windows)]
    {
        const ERROR_ACCESS_DENIED: i32 = 5;
        const ERROR_SHARING_VIOLATION: i32 = 32;
        let mut delay = std::time::Duration::from_millis(10);
        for _ in 0..6 {
            match std::fs::rename(from, to) {
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(ERROR_ACCESS_DENIED | ERROR_SHARING_VIOLATION)
                    ) =>
                {
                    std::thread::sleep(delay);
                    delay *= 2;
                }
                other => return other,
            }
        }
    }
    std::fs::rename(from, to)
}

/// Makes a rename inside `dir` durable. Windows has no directory handles to sync; its
/// `MoveFileEx` replace is what `persist` uses there.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Removes temp files a crash left behind in `dir`; returns how many it removed.
pub fn sweep_temp_files(dir: &Path) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(TEMP_PREFIX)
            && name.ends_with(TEMP_SUFFIX)
            && entry.file_type()?.is_file()
        {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_files(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(TEMP_SUFFIX))
            .collect()
    }

    #[test]
    fn replaces_and_leaves_no_temp_file() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("notebook.json");
        let metrics = Metrics::default();
        write_atomic(&target, b"first", &metrics).unwrap();
        write_atomic(&target, b"second", &metrics).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"second");
        assert!(temp_files(tmp.path()).is_empty());
        let snap = metrics.snapshot();
        assert_eq!(snap.disk_writes, 2);
        assert_eq!(snap.bytes_written, 11);
        assert_eq!(snap.fsyncs, 2);
    }

    #[test]
    fn missing_folder_is_an_io_error_and_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("gone/notebook.json");
        let err = write_atomic(&target, b"x", &Metrics::default()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Io);
        assert!(!target.exists());
    }

    #[test]
    fn sweep_removes_only_our_temp_files() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(".quire-abc.tmp"), b"orphan").unwrap();
        std::fs::write(tmp.path().join("user.tmp"), b"not ours").unwrap();
        std::fs::write(tmp.path().join("notebook.json"), b"{}").unwrap();
        assert_eq!(sweep_temp_files(tmp.path()).unwrap(), 1);
        assert_eq!(temp_files(tmp.path()), vec!["user.tmp".to_string()]);
        assert!(tmp.path().join("notebook.json").exists());
    }
}

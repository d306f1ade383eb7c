//! Durable, atomic file replacement: the only way the engine writes a file it cares about.
//!
//! Protocol (see `DURABILITY.md` once snapshots land): write `.<name>.<random>.tmp` in the same
//! folder, `sync_all` it, rename it over the target, then `sync_all` the folder (Unix) so the
//! rename itself is durable. A crash at any instant leaves the old file or the new one, never a
//! torn one, plus at worst a temp file that [`sweep_temp_files`] removes when the folder is next
//! opened. A failed fsync is never retried: the temp file is dropped (deleted) and the caller
//! writes again from memory, because after a failed fsync the kernel may have dropped the pages.

pub mod trace;

use std::io::Write;
use std::path::{Path, PathBuf};

use self::trace::{Site, Step};

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
    /// The new file is in place but its folder could not be synced: committed, unsure. The
    /// caller must not undo what the new file names.
    #[error("{path} was written, but the folder could not be synced: {source}")]
    Unsure {
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

/// A file written in full, then put in place at once: the one atomic-file writer of the
/// engine (notebook files, snapshots, exports). Write through `impl Write` (or [`file`]), then
/// [`commit`]: fsync, rename over the target, fsync the folder. Dropped before it is renamed,
/// it removes its temp file, so an error or a cancel leaves the folder as it was.
///
/// [`file`]: AtomicFile::file
/// [`commit`]: AtomicFile::commit
pub struct AtomicFile {
    file: std::fs::File,
    temp: PathBuf,
    target: PathBuf,
    dir: PathBuf,
    /// Renamed into place: nothing left to remove.
    placed: bool,
}

/// How a commit failed: before the rename nothing changed; after it, the new file may be in
/// place without being durable ("committed, unsure"), so the caller must not treat it as
/// "not written" (and must not delete what it names).
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("could not {step} {}: {source}", .path.display())]
    NotWritten {
        step: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} was written, but the folder could not be synced: {source}", .path.display())]
    Unsure {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<CommitError> for DurableError {
    fn from(e: CommitError) -> DurableError {
        match e {
            CommitError::NotWritten { step, path, source } => DurableError::Io {
                action: step,
                path,
                source,
            },
            CommitError::Unsure { path, source } => DurableError::Unsure { path, source },
        }
    }
}

fn folder_of(target: &Path) -> std::io::Result<PathBuf> {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => Ok(p.to_path_buf()),
        Some(_) => std::env::current_dir(),
        None => Err(std::io::Error::other("no parent folder")),
    }
}

impl AtomicFile {
    /// A private (0600) temp file with a random name beside `target`.
    pub fn create(target: &Path) -> std::io::Result<AtomicFile> {
        Self::random(target, false)
    }

    /// Like [`AtomicFile::create`], but the file gets the permissions any program's new file
    /// gets (0666 less the umask): for files that are the user's own (exports).
    pub fn create_shared(target: &Path) -> std::io::Result<AtomicFile> {
        Self::random(target, true)
    }

    fn random(target: &Path, shared: bool) -> std::io::Result<AtomicFile> {
        let dir = folder_of(target)?;
        trace::fault(Site::Create, target)?;
        let mut builder = tempfile::Builder::new();
        builder.prefix(TEMP_PREFIX).suffix(TEMP_SUFFIX);
        #[cfg(unix)]
        if shared {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        #[cfg(not(unix))]
        let _ = shared;
        let (file, temp) = builder.tempfile_in(&dir)?.keep().map_err(|e| e.error)?;
        trace::record(|| Step::Create(temp.clone()));
        Ok(AtomicFile {
            file,
            temp,
            target: target.to_path_buf(),
            dir,
            placed: false,
        })
    }

    /// A temp file named `temp_name` (ending in [`TEMP_SUFFIX`]) beside `target`, for writers
    /// whose recovery knows the name (snapshots).
    pub fn create_named(target: &Path, temp_name: &str) -> std::io::Result<AtomicFile> {
        debug_assert!(temp_name.ends_with(TEMP_SUFFIX));
        let dir = folder_of(target)?;
        let temp = dir.join(temp_name);
        trace::fault(Site::Create, &temp)?;
        let file = std::fs::File::create(&temp)?;
        trace::record(|| Step::Create(temp.clone()));
        Ok(AtomicFile {
            file,
            temp,
            target: target.to_path_buf(),
            dir,
            placed: false,
        })
    }

    pub fn file(&self) -> &std::fs::File {
        &self.file
    }

    pub fn file_mut(&mut self) -> &mut std::fs::File {
        &mut self.file
    }

    /// Makes the written bytes durable (fsync) and returns the file's size. A failed sync is
    /// never retried: drop this file and write again from memory.
    pub fn sync(&mut self, metrics: &Metrics) -> Result<u64, CommitError> {
        let not_written = |step, source| CommitError::NotWritten {
            step,
            path: self.target.clone(),
            source,
        };
        self.file.flush().map_err(|e| not_written("write", e))?;
        trace::fault(Site::Sync, &self.temp).map_err(|e| not_written("sync", e))?;
        sync_file(&self.file).map_err(|e| not_written("sync", e))?;
        metrics.record_fsync();
        trace::record(|| Step::Sync {
            path: self.temp.clone(),
            bytes: std::fs::read(&self.temp).unwrap_or_default(),
        });
        self.file
            .metadata()
            .map(|m| m.len())
            .map_err(|e| not_written("measure", e))
    }

    /// Renames the synced file over the target, then syncs the folder so the rename is durable.
    pub fn place(self) -> Result<(), CommitError> {
        self.place_with(|| Ok(()))
    }

    /// [`AtomicFile::place`] with a step between the rename and the folder sync (the fault
    /// seam of tests: a failing folder sync after a rename).
    pub fn place_with(
        mut self,
        before_folder_sync: impl FnOnce() -> std::io::Result<()>,
    ) -> Result<(), CommitError> {
        trace::fault(Site::Rename, &self.target)
            .and_then(|()| replace(&self.temp, &self.target))
            .map_err(|source| CommitError::NotWritten {
                step: "replace",
                path: self.target.clone(),
                source,
            })?;
        self.placed = true;
        trace::record(|| Step::Rename {
            from: self.temp.clone(),
            to: self.target.clone(),
        });
        before_folder_sync()
            .and_then(|()| sync_dir(&self.dir))
            .map_err(|source| CommitError::Unsure {
                path: self.target.clone(),
                source,
            })
    }

    /// [`AtomicFile::sync`] then [`AtomicFile::place`]; returns the bytes written.
    pub fn commit(mut self, metrics: &Metrics) -> Result<u64, CommitError> {
        let bytes = self.sync(metrics)?;
        self.place()?;
        metrics.record_write(bytes);
        Ok(bytes)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.placed {
            let _ = trace::remove_file(&self.temp);
        }
    }
}

/// Atomically replaces `path` with `bytes`, durably. The parent folder must exist.
pub fn write_atomic(path: &Path, bytes: &[u8], metrics: &Metrics) -> Result<(), DurableError> {
    write_atomic_with(path, bytes, metrics, || Ok(()))
}

/// [`write_atomic`] with a step between the rename and the folder sync (a test's fault seam);
/// a failure from there on is [`DurableError::Unsure`].
pub fn write_atomic_with(
    path: &Path,
    bytes: &[u8],
    metrics: &Metrics,
    before_folder_sync: impl FnOnce() -> std::io::Result<()>,
) -> Result<(), DurableError> {
    let mut file = AtomicFile::create(path).map_err(io("create a temporary file for", path))?;
    file.write_all(bytes).map_err(io("write", path))?;
    file.sync(metrics)?;
    file.place_with(before_folder_sync)?;
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
    trace::fault(Site::SyncDir, dir)?;
    #[cfg(unix)]
    {
        sync_file(&std::fs::File::open(dir)?)?;
        trace::record(|| Step::SyncDir(dir.to_path_buf()));
        Ok(())
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// `fsync`, as hard as the volume allows. On macOS `sync_all` is `F_FULLFSYNC` (through the
/// drive's own cache), which SMB, FUSE and some NTFS drivers refuse: there every save would
/// fail forever, so an unsupported `F_FULLFSYNC` falls back to a plain `fsync`, as SQLite
/// does. A refusal is not a failed flush (nothing was written back), so this is no retry of a
/// failed fsync.
fn sync_file(file: &std::fs::File) -> std::io::Result<()> {
    match file.sync_all() {
        #[cfg(target_vendor = "apple")]
        Err(e) if full_fsync_unsupported(&e) => {
            use std::os::fd::AsRawFd;
            // SAFETY: the descriptor belongs to `file`, which is open for the whole call.
            match unsafe { libc::fsync(file.as_raw_fd()) } {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        }
        other => other,
    }
}

/// The errors a volume gives for an `F_FULLFSYNC` it does not support.
#[cfg(unix)]
#[cfg_attr(not(target_vendor = "apple"), allow(dead_code))]
fn full_fsync_unsupported(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOTSUP | libc::EINVAL | libc::ENOTTY)
    )
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
            trace::remove_file(entry.path())?;
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

    #[cfg(unix)]
    #[test]
    fn only_an_unsupported_full_fsync_falls_back_to_fsync() {
        for code in [libc::ENOTSUP, libc::EINVAL, libc::ENOTTY] {
            assert!(full_fsync_unsupported(&std::io::Error::from_raw_os_error(
                code
            )));
        }
        // A real failure (the disk, a full volume) is reported, never papered over.
        for code in [libc::EIO, libc::ENOSPC, libc::EDQUOT] {
            assert!(!full_fsync_unsupported(&std::io::Error::from_raw_os_error(
                code
            )));
        }
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

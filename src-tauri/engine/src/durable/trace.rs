//! The file-system seam of the power-cut and fault tests: every step of the engine's own
//! durable I/O (create, sync, rename, remove, folder sync, folder creation) is reported here,
//! and asks first whether a test wants it to fail. Nothing is recorded unless a test watches a
//! folder; then the steps under it are kept in order, so a model can replay them and keep only
//! what each power-cut instant had made durable (see `crate::powercut`). A test can also arm a
//! fault: the n-th step of a kind under a folder fails once, as a full or failing disk would.
//! Costs one relaxed atomic load per step otherwise.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// One step, as the disk sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A new, empty file.
    Create(PathBuf),
    /// The file's content is durable; `bytes` is what it holds.
    Sync {
        path: PathBuf,
        bytes: Vec<u8>,
    },
    Rename {
        from: PathBuf,
        to: PathBuf,
    },
    Remove(PathBuf),
    /// A new, empty folder.
    CreateDir(PathBuf),
    /// The entries of the folder (creations, renames, removals in it) are durable.
    SyncDir(PathBuf),
    /// A SQLite commit (SQLite's own files do not pass through this seam): `bytes` is the
    /// whole database as of it; `synced` when the commit synced the WAL (`synchronous=FULL`),
    /// which makes it and every commit before it durable. One not synced may survive a power
    /// cut or not, and commits survive in order (the WAL is a log: a cut keeps a prefix).
    Database {
        path: PathBuf,
        bytes: Vec<u8>,
        synced: bool,
    },
    /// Not a disk step: the test's mark that what came before was acknowledged to the user.
    Ack(String),
}

/// The kinds of step a fault can be armed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    Create,
    Sync,
    Rename,
    Remove,
    CreateDir,
    SyncDir,
    /// Reading a file the engine wrote (a notebook, a manifest, a generation): EIO.
    Read,
}

static WATCHING: AtomicBool = AtomicBool::new(false);
static ARMED: AtomicBool = AtomicBool::new(false);
/// Armed faults: under this folder, the step of this kind after `skip` more of them fails.
static FAULTS: Mutex<Vec<(PathBuf, Site, u32)>> = Mutex::new(Vec::new());

fn faults() -> std::sync::MutexGuard<'static, Vec<(PathBuf, Site, u32)>> {
    FAULTS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Makes the step of kind `site` under `root` that comes after `skip` others of its kind fail
/// once (ENOSPC for a create or a sync, EIO otherwise).
pub fn arm(root: &Path, site: Site, skip: u32) {
    faults().push((root.to_path_buf(), site, skip));
    ARMED.store(true, Ordering::SeqCst);
}

/// Removes every fault armed under `root` that has not fired.
pub fn disarm(root: &Path) {
    let mut f = faults();
    f.retain(|(r, _, _)| r != root);
    if f.is_empty() {
        ARMED.store(false, Ordering::SeqCst);
    }
}

/// Called before each step: fails it if a test armed a fault for it.
pub fn fault(site: Site, path: &Path) -> std::io::Result<()> {
    if !ARMED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut f = faults();
    let Some(i) = f
        .iter()
        .position(|(root, s, _)| *s == site && path.starts_with(root))
    else {
        return Ok(());
    };
    if f[i].2 > 0 {
        f[i].2 -= 1;
        return Ok(());
    }
    f.remove(i);
    if f.is_empty() {
        ARMED.store(false, Ordering::SeqCst);
    }
    #[cfg(unix)]
    let code = match site {
        Site::Create | Site::Sync => 28, // ENOSPC
        _ => 5,                          // EIO
    };
    #[cfg(unix)]
    return Err(std::io::Error::from_raw_os_error(code));
    #[cfg(not(unix))]
    return Err(std::io::Error::other(format!("{site:?} failed")));
}
static WATCHED: Mutex<Vec<(PathBuf, Vec<Step>)>> = Mutex::new(Vec::new());

fn watched() -> std::sync::MutexGuard<'static, Vec<(PathBuf, Vec<Step>)>> {
    WATCHED.lock().unwrap_or_else(|p| p.into_inner())
}

/// Records every step under `root` (an absolute, canonical path) until [`stop`].
pub fn watch(root: &Path) {
    watched().push((root.to_path_buf(), Vec::new()));
    WATCHING.store(true, Ordering::SeqCst);
}

/// The steps recorded under `root`, and no more recording there.
pub fn stop(root: &Path) -> Vec<Step> {
    let mut w = watched();
    let steps = match w.iter().position(|(r, _)| r == root) {
        Some(i) => w.remove(i).1,
        None => Vec::new(),
    };
    if w.is_empty() {
        WATCHING.store(false, Ordering::SeqCst);
    }
    steps
}

/// Marks the steps so far as acknowledged (`label` names what).
pub fn ack(root: &Path, label: impl Into<String>) {
    let label = label.into();
    if let Some((_, steps)) = watched().iter_mut().find(|(r, _)| r == root) {
        steps.push(Step::Ack(label));
    }
}

/// Whether a test records the steps under a folder holding `path` (cheap when none does).
pub fn watches(path: &Path) -> bool {
    WATCHING.load(Ordering::Relaxed) && watched().iter().any(|(r, _)| path.starts_with(r))
}

/// Reports a step; `make` runs only while a test watches.
pub fn record(make: impl FnOnce() -> Step) {
    if !WATCHING.load(Ordering::Relaxed) {
        return;
    }
    let step = make();
    let path = match &step {
        Step::Create(p) | Step::Remove(p) | Step::CreateDir(p) | Step::SyncDir(p) => p,
        Step::Sync { path, .. } | Step::Database { path, .. } => path,
        Step::Rename { to, .. } => to,
        Step::Ack(_) => return,
    };
    if let Some((_, steps)) = watched().iter_mut().find(|(r, _)| path.starts_with(r)) {
        steps.push(step);
    }
}

/// `std::fs::remove_file`, reported.
pub fn remove_file(path: impl AsRef<Path>) -> std::io::Result<()> {
    let path = path.as_ref();
    fault(Site::Remove, path)?;
    std::fs::remove_file(path)?;
    record(|| Step::Remove(path.to_path_buf()));
    Ok(())
}

/// `std::fs::read`, failing first if a test armed a read fault for `path`.
pub fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    fault(Site::Read, path)?;
    std::fs::read(path)
}

/// `File::open`, failing first if a test armed a read fault for `path`.
pub fn open(path: &Path) -> std::io::Result<std::fs::File> {
    fault(Site::Read, path)?;
    std::fs::File::open(path)
}

/// `std::fs::create_dir`, reported.
pub fn create_dir(path: &Path) -> std::io::Result<()> {
    fault(Site::CreateDir, path)?;
    std::fs::create_dir(path)?;
    record(|| Step::CreateDir(path.to_path_buf()));
    Ok(())
}

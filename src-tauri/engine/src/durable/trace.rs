//! The file-system seam of the power-cut tests: every step of the engine's own durable I/O
//! (create, sync, rename, remove, folder sync, folder creation) is reported here. Nothing is
//! recorded unless a test watches a folder; then the steps under it are kept in order, so a
//! model can replay them and keep only what each power-cut instant had made durable (see
//! `crate::powercut`). Costs one relaxed atomic load per step otherwise.

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
    /// Not a disk step: the test's mark that what came before was acknowledged to the user.
    Ack(String),
}

static WATCHING: AtomicBool = AtomicBool::new(false);
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

/// Reports a step; `make` runs only while a test watches.
pub fn record(make: impl FnOnce() -> Step) {
    if !WATCHING.load(Ordering::Relaxed) {
        return;
    }
    let step = make();
    let path = match &step {
        Step::Create(p) | Step::Remove(p) | Step::CreateDir(p) | Step::SyncDir(p) => p,
        Step::Sync { path, .. } => path,
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
    std::fs::remove_file(path)?;
    record(|| Step::Remove(path.to_path_buf()));
    Ok(())
}

/// `std::fs::create_dir`, reported.
pub fn create_dir(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir(path)?;
    record(|| Step::CreateDir(path.to_path_buf()));
    Ok(())
}

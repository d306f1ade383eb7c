//! Recently imported files, for the first screen: kept in `recent.json` in the app's data dir
//! (written atomically), listed to the page by position. The page reopens one by its position,
//! never by naming a path, so it can still only reach files the user chose (now or before).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Files listed, newest first.
const KEPT: usize = 8;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    path: PathBuf,
    opened_ms: u64,
}

/// A recent file as the page sees it.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct RecentFile {
    /// Its place in the list, which `open_recent` takes.
    pub index: u32,
    pub name: String,
    pub folder: String,
    pub opened_ms: u64,
    /// False when the file is gone (moved, deleted); it stays listed, greyed out.
    pub exists: bool,
}

/// How the list reaches the disk: the engine's durable atomic write.
pub type WriteFile<'a> = &'a dyn Fn(&Path, &[u8]) -> Result<u64, quire_engine::Error>;

pub struct RecentFiles {
    file: PathBuf,
    entries: Mutex<Vec<Entry>>,
}

impl RecentFiles {
    /// The list kept in `dir`; an unreadable file starts an empty list (it holds no user data).
    pub fn open(dir: &Path) -> RecentFiles {
        let file = dir.join("recent.json");
        let entries = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        RecentFiles {
            file,
            entries: Mutex::new(entries),
        }
    }

    /// Puts `path` first; written at once through `write` (atomic: a crash loses at most this
    /// entry).
    pub fn record(&self, path: &Path, write: WriteFile<'_>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|e| e.path != path);
        let opened_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        entries.insert(
            0,
            Entry {
                path: path.to_path_buf(),
                opened_ms,
            },
        );
        entries.truncate(KEPT);
        // A path that is not UTF-8 cannot go into JSON: the list is then kept for this run only.
        let bytes = match serde_json::to_vec_pretty(&*entries) {
            Ok(bytes) => bytes,
            Err(e) => {
                log::warn!("could not keep the recent files list: {e}");
                return;
            }
        };
        if let Err(e) = write(&self.file, &bytes) {
            log::warn!("could not keep the recent files list: {e}");
        }
    }

    pub fn list(&self) -> Vec<RecentFile> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .iter()
            .enumerate()
            .map(|(i, e)| RecentFile {
                index: i as u32,
                name: e
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                folder: e
                    .path
                    .parent()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                opened_ms: e.opened_ms,
                exists: e.path.is_file(),
            })
            .collect()
    }

    pub fn path(&self, index: u32) -> Option<PathBuf> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(index as usize).map(|e| e.path.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_first_kept_across_starts_and_capped() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = quire_engine::metrics::Metrics::default();
        let write = |p: &Path, b: &[u8]| {
            quire_engine::durable::write_atomic(p, b, &metrics)?;
            Ok(b.len() as u64)
        };
        let recent = RecentFiles::open(dir.path());
        let file = |n: usize| {
            let p = dir.path().join(format!("f{n}.csv"));
            std::fs::write(&p, "a\n1\n").unwrap();
            p
        };
        for n in 0..10 {
            recent.record(&file(n), &write);
        }
        recent.record(&file(3), &write);
        std::fs::remove_file(dir.path().join("f9.csv")).unwrap();
        let again = RecentFiles::open(dir.path());
        let listed = again.list();
        let names: Vec<_> = listed.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["f3.csv", "f9.csv", "f8.csv", "f7.csv", "f6.csv", "f5.csv", "f4.csv", "f2.csv"]
        );
        assert!(!listed[1].exists && listed[0].exists);
        assert_eq!(again.path(0), Some(dir.path().join("f3.csv")));
        assert_eq!(again.path(8), None);
        std::fs::write(dir.path().join("recent.json"), "{ damaged").unwrap();
        assert!(RecentFiles::open(dir.path()).list().is_empty());
    }
}

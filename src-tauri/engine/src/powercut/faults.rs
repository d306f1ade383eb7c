//! The fault matrix: every step of a notebook write and of a snapshot commit (create, sync,
//! rename, folder sync, cleanup) fails once, and so does reading back each file the engine
//! wrote (the notebook, the table list, a table's newest copy: EIO), through the same seam as
//! the power cuts ([`crate::durable::trace::arm`]). Each must leave the previous state intact
//! (or the new one, where the failure came after the rename: "committed, unsure"), tell the
//! caller, leak no file, and succeed when retried.

use std::path::Path;
use std::sync::Arc;

use crate::durable::trace::{self, Site};
use crate::events::{EventBus, NullSink};
use crate::metrics::Metrics;
use crate::notebooks::model::Document;
use crate::notebooks::{CellKind, NotebookConfig, Notebooks, SaveState};
use crate::snapshots::store;
use crate::snapshots::TABLES_DIR;
use crate::workspace::Workspace;

/// What the matrix found.
#[derive(Debug, Default)]
pub struct FaultReport {
    /// Write sites that had a fault injected.
    pub sites: usize,
    /// What went wrong at a site, one line each.
    pub failures: Vec<String>,
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".tmp"))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs every site; never panics on what it finds (a panic in the code under test is caught
/// and reported as a failure of that site).
pub fn matrix() -> FaultReport {
    let mut report = FaultReport::default();
    let notebook_sites = [
        ("notebook temp file", Site::Create),
        ("notebook fsync", Site::Sync),
        ("notebook rename", Site::Rename),
        ("notebook folder fsync", Site::SyncDir),
    ];
    for (what, site) in notebook_sites {
        report.sites += 1;
        let outcome = std::panic::catch_unwind(|| notebook_write(site));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(why)) => report.failures.push(format!("{what}: {why}")),
            Err(_) => report.failures.push(format!("{what}: panicked")),
        }
    }
    // (site, which of its kind, the version the table must open at after the failure)
    let snapshot_sites = [
        ("generation temp file", Site::Create, 0, 1),
        ("generation fsync", Site::Sync, 0, 1),
        ("generation rename", Site::Rename, 0, 1),
        ("generation folder fsync", Site::SyncDir, 0, 1),
        ("manifest temp file", Site::Create, 1, 1),
        ("manifest fsync", Site::Sync, 1, 1),
        ("manifest rename", Site::Rename, 1, 1),
        ("manifest folder fsync", Site::SyncDir, 1, 2),
        ("old generation removal", Site::Remove, 0, 2),
    ];
    for (what, site, skip, expect) in snapshot_sites {
        report.sites += 1;
        let outcome = std::panic::catch_unwind(|| snapshot_commit(site, skip, expect));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(why)) => report.failures.push(format!("{what}: {why}")),
            Err(_) => report.failures.push(format!("{what}: panicked")),
        }
    }
    let read_sites: [(&str, Scenario); 4] = [
        ("notebook read", notebook_read),
        ("table list read", || snapshot_read(Read::TableList)),
        ("newest table copy read", || snapshot_read(Read::NewestCopy)),
        ("table copy read while rebuilding the list", || {
            snapshot_read(Read::RebuildingList)
        }),
    ];
    for (what, site) in read_sites {
        report.sites += 1;
        match std::panic::catch_unwind(site) {
            Ok(Ok(())) => {}
            Ok(Err(why)) => report.failures.push(format!("{what}: {why}")),
            Err(_) => report.failures.push(format!("{what}: panicked")),
        }
    }
    report
}

/// One fault scenario: Err says what went wrong.
type Scenario = fn() -> Result<(), String>;

/// Every file under `dir` with its bytes.
fn contents(dir: &Path) -> Result<std::collections::BTreeMap<String, Vec<u8>>, String> {
    let mut out = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
        out.insert(path.display().to_string(), bytes);
    }
    Ok(out)
}

/// The notebook file does not read at open: the notebook is shown as unreadable and refuses
/// edits (nothing written over a file whose content is unknown); the next open reads it.
fn notebook_read() -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let root = tmp.path().join("ws");
    std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
    let root = root.canonicalize().map_err(|e| e.to_string())?;
    let open = || {
        let metrics = Arc::new(Metrics::default());
        let events = Arc::new(EventBus::new(Arc::new(NullSink), metrics.clone()));
        let config = NotebookConfig {
            auto_flush: false,
            lazy_hydration: false,
            ..NotebookConfig::default()
        };
        let ws = Workspace::open(&root).map_err(|e| e.to_string())?;
        Notebooks::open(ws, config, metrics, events, None).map_err(|e| e.to_string())
    };
    let books = open()?;
    let nb = books.create("Plan").map_err(|e| e.to_string())?.id;
    books
        .add_cell(nb, CellKind::Sql, None, "SELECT 1".into())
        .map_err(|e| e.to_string())?;
    books.flush(nb).map_err(|e| e.to_string())?;
    let folder = books
        .folder_path(nb)
        .map_err(|e| e.to_string())?
        .ok_or("the notebook has no folder")?;
    drop(books);
    let file = folder.join("notebook.json");
    let before = contents(&folder)?;

    trace::arm(&file, Site::Read, 0);
    let books = open();
    trace::disarm(&file);
    let books = books?;
    // Its id is in the file that did not read: the notebook is listed under a stand-in one.
    let [listed] =
        <[_; 1]>::try_from(books.list()).map_err(|l| format!("{} notebooks listed", l.len()))?;
    let SaveState::Unreadable { message } = &listed.status else {
        return Err(format!(
            "the user is not told: the status is {:?}",
            listed.status
        ));
    };
    if !message.contains("cannot be read") {
        return Err(format!("the notebook is said to be {message:?}"));
    }
    if books
        .add_cell(listed.id, CellKind::Sql, None, "SELECT 2".into())
        .is_ok()
    {
        return Err("an edit was taken on a notebook whose file could not be read".into());
    }
    let _ = books.flush(listed.id);
    if contents(&folder)? != before {
        return Err("the notebook's folder changed".into());
    }
    drop(books);
    let books = open()?;
    let again = notebook_source(&folder)?;
    if again != "SELECT 1"
        || books.summary(nb).map_err(|e| e.to_string())?.status != SaveState::Saved
    {
        return Err(format!("reopening found {again:?}"));
    }
    Ok(())
}

/// Which file of a tables folder does not read.
#[derive(Clone, Copy, PartialEq)]
enum Read {
    TableList,
    NewestCopy,
    /// The table list is missing, and the newest copy does not read while it is rebuilt.
    RebuildingList,
}

/// The table list or the newest copy of a table does not read: opening the tables fails in
/// words and changes nothing (no list rebuilt, no older copy opened in the newest's place, no
/// version made up for a copy whose footer did not read, no file removed); the next open finds
/// the newest version.
fn snapshot_read(read: Read) -> Result<(), String> {
    let folder = super::scenarios::TableFolder::new(2)?;
    let dir = &folder.notebook_dir;
    // Versions apart from generation numbers, so a version made up from one shows.
    for v in [5, 7] {
        folder
            .commit(v)
            .map_err(|e| format!("commit {v} failed: {e}"))?;
    }
    let tables = dir.join(TABLES_DIR);
    let opened = store::open(dir).map_err(|e| format!("opening: {e}"))?;
    let newest = opened.manifest.tables["trips"]
        .generations
        .last()
        .ok_or("no generation")?
        .generation;
    let manifest = tables.join(crate::snapshots::manifest::FILE_NAME);
    let target = match read {
        Read::TableList => manifest,
        Read::NewestCopy => tables.join(crate::snapshots::file::file_name("trips", newest)),
        Read::RebuildingList => {
            std::fs::remove_file(&manifest).map_err(|e| e.to_string())?;
            tables.join(crate::snapshots::file::file_name("trips", newest))
        }
    };
    let before = contents(&tables)?;

    trace::arm(&target, Site::Read, 0);
    let result = store::open(dir);
    trace::disarm(&target);
    match result {
        Ok(o) => {
            let at = o.tables.first().map(|t| t.version.version);
            return Err(format!(
                "opened anyway, the table at version {at:?}, warned {:?}",
                o.warnings
            ));
        }
        Err(crate::snapshots::SnapshotError::Io { action: "read", .. }) => {}
        Err(e) => return Err(format!("told {e}")),
    }
    if contents(&tables)? != before {
        return Err("the tables folder changed".into());
    }
    let opened = store::open(dir).map_err(|e| format!("reopening: {e}"))?;
    let t = opened.tables.first().ok_or("the table is gone")?;
    let rebuilt = read == Read::RebuildingList;
    if t.version.version != 7 || opened.warnings.is_empty() == rebuilt {
        return Err(format!(
            "reopened at version {}, warned {:?}",
            t.version.version, opened.warnings
        ));
    }
    Ok(())
}

fn notebook_source(folder: &Path) -> Result<String, String> {
    let bytes = std::fs::read(folder.join("notebook.json")).map_err(|e| e.to_string())?;
    let doc = Document::parse(&bytes).map_err(|e| format!("notebook.json is damaged: {e:?}"))?;
    Ok(doc
        .cells
        .first()
        .map(|c| c.source.clone())
        .unwrap_or_default())
}

fn notebook_write(site: Site) -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let root = tmp.path().join("ws");
    std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
    let root = root.canonicalize().map_err(|e| e.to_string())?;
    let metrics = Arc::new(Metrics::default());
    let events = Arc::new(EventBus::new(Arc::new(NullSink), metrics.clone()));
    // Manual saving: only the flush below writes, so no background write can take the fault.
    let config = NotebookConfig {
        auto_flush: false,
        lazy_hydration: false,
        ..NotebookConfig::default()
    };
    let ws = Workspace::open(&root).map_err(|e| e.to_string())?;
    let books = Notebooks::open(ws, config, metrics, events, None).map_err(|e| e.to_string())?;
    let nb = books.create("Plan").map_err(|e| e.to_string())?.id;
    let cell = books
        .add_cell(nb, CellKind::Sql, None, "SELECT 0".into())
        .map_err(|e| e.to_string())?;
    books.flush(nb).map_err(|e| e.to_string())?;
    books
        .update_cell(nb, cell.id, "SELECT 1".into())
        .map_err(|e| e.to_string())?;
    let folder = books
        .folder_path(nb)
        .map_err(|e| e.to_string())?
        .ok_or("the notebook has no folder")?;

    trace::arm(&root, site, 0);
    let result = books.flush(nb);
    trace::disarm(&root);
    if result.is_ok() {
        return Err("the save reported success although its write failed".into());
    }
    let status = books.summary(nb).map_err(|e| e.to_string())?.status;
    if !matches!(status, SaveState::Failed { .. }) {
        return Err(format!("the user is not told: the status is {status:?}"));
    }
    let on_disk = notebook_source(&folder)?;
    // Before the rename the old file stays; after it (the folder sync) the new one may be in.
    let allowed: &[&str] = match site {
        Site::SyncDir => &["SELECT 0", "SELECT 1"],
        _ => &["SELECT 0"],
    };
    if !allowed.contains(&on_disk.as_str()) {
        return Err(format!("the file holds {on_disk:?} after the failed write"));
    }
    if let [leaked, ..] = temp_files(&folder).as_slice() {
        return Err(format!("{leaked} was left behind"));
    }
    books
        .flush(nb)
        .map_err(|e| format!("the retry failed: {e}"))?;
    let after = notebook_source(&folder)?;
    if after != "SELECT 1" {
        return Err(format!("after the retry the file holds {after:?}"));
    }
    let status = books.summary(nb).map_err(|e| e.to_string())?.status;
    if status != SaveState::Saved {
        return Err(format!("after the retry the status is {status:?}"));
    }
    Ok(())
}

fn snapshot_commit(site: Site, skip: u32, expect: u64) -> Result<(), String> {
    let folder = super::scenarios::TableFolder::new(1)?;
    let notebook_dir = &folder.notebook_dir;
    let commit = |v: u64| folder.commit(v);
    commit(1).map_err(|e| format!("the first commit failed: {e}"))?;

    trace::arm(notebook_dir, site, skip);
    let result = commit(2);
    trace::disarm(notebook_dir);
    let removal = site == Site::Remove;
    if result.is_ok() != removal {
        return Err(format!(
            "the commit answered {:?}",
            result.map_err(|e| e.to_string())
        ));
    }
    let check = |version: u64| -> Result<(), String> {
        let opened = store::open(notebook_dir).map_err(|e| format!("reopening: {e}"))?;
        if !opened.warnings.is_empty() {
            return Err(format!("reopening warned: {:?}", opened.warnings));
        }
        let t = opened
            .tables
            .iter()
            .find(|t| t.name == "trips")
            .ok_or("the table is gone")?;
        if t.version.version != version {
            return Err(format!(
                "the table opened at version {}, {version} expected",
                t.version.version
            ));
        }
        let tables = notebook_dir.join(TABLES_DIR);
        let files = std::fs::read_dir(&tables)
            .map_err(|e| e.to_string())?
            .count();
        let named = opened.manifest.tables["trips"].generations.len() + 1;
        if files != named {
            return Err(format!(
                "{files} files in tables/, {named} expected: a file leaked"
            ));
        }
        Ok(())
    };
    check(expect)?;
    commit(3).map_err(|e| format!("the retry failed: {e}"))?;
    check(3)
}

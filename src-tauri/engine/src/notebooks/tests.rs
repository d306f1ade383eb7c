//! Notebook behaviour against real files in temp workspaces. Process-level tests (a killed
//! writer, two processes on one workspace) are in `tests/` of this crate.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::events::testing::RecordingSink;
use crate::events::{EngineEvent, EventBus};
use crate::HasCode;

struct Fixture {
    _tmp: tempfile::TempDir,
    root: std::path::PathBuf,
    books: Notebooks,
    metrics: Arc<Metrics>,
    sink: Arc<RecordingSink>,
}

fn config(
    flush_delay_ms: u64,
    max_wait_ms: u64,
    auto_flush: bool,
    lazy_hydration: bool,
) -> NotebookConfig {
    NotebookConfig {
        flush_delay_ms,
        max_wait_ms,
        auto_flush,
        lazy_hydration,
    }
}

fn optimized() -> NotebookConfig {
    NotebookConfig::default()
}

fn fixture(config: NotebookConfig) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    reopen(tmp, root, config)
}

fn reopen(tmp: tempfile::TempDir, root: std::path::PathBuf, config: NotebookConfig) -> Fixture {
    let ws = Workspace::open(&root).unwrap();
    let metrics = Arc::new(Metrics::default());
    let sink = Arc::new(RecordingSink::default());
    // Unbatched: each event reaches the recording sink before `emit` returns.
    let unbatched = crate::config::EventConfig {
        window_ms: 0,
        ..Default::default()
    };
    let events = Arc::new(EventBus::with_config(
        sink.clone(),
        metrics.clone(),
        &unbatched,
    ));
    let books = Notebooks::open(ws.clone(), config, metrics.clone(), events, None).unwrap();
    Fixture {
        _tmp: tmp,
        root: ws.root().to_path_buf(),
        books,
        metrics,
        sink,
    }
}

impl Fixture {
    fn writes(&self) -> u64 {
        self.metrics.snapshot().disk_writes
    }

    fn file(&self, folder: &str) -> Option<String> {
        std::fs::read_to_string(self.root.join(folder).join("notebook.json")).ok()
    }

    fn wait_saved(&self, id: NotebookId, within: Duration) {
        let deadline = Instant::now() + within;
        while self.books.summary(id).unwrap().status != SaveState::Saved {
            assert!(
                Instant::now() < deadline,
                "not saved within {within:?}: {:?}",
                self.books.summary(id)
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

pub fn folders_in(root: &Path) -> Vec<String> {
    crate::notebooks::tests_support::folders(root)
}

#[test]
fn lazy_create_touches_no_disk_until_flushed() {
    let f = fixture(optimized());
    let nb = f.books.create("Trips").unwrap();
    assert!(!nb.on_disk);
    std::thread::sleep(Duration::from_millis(250)); // longer than the flush delay
    assert!(folders_in(&f.root).is_empty());
    assert_eq!(f.writes(), 0);
    assert_eq!(f.books.flush(nb.id).unwrap(), Written::Yes);
    assert_eq!(folders_in(&f.root), ["trips.quire"]);
    assert!(f
        .file("trips.quire")
        .unwrap()
        .contains("\"title\": \"Trips\""));
    assert_eq!(f.books.flush(nb.id).unwrap(), Written::AlreadySaved);
    assert_eq!(f.writes(), 1);
}

#[test]
fn eager_create_writes_at_once() {
    let f = fixture(config(100, 1000, true, false));
    let nb = f.books.create("Eager").unwrap();
    assert!(nb.on_disk);
    assert!(f.file("eager.quire").is_some());
}

#[test]
fn edits_inside_the_delay_coalesce_into_one_write() {
    let f = fixture(optimized());
    let nb = f.books.create("Batch").unwrap();
    for i in 0..10 {
        f.books
            .add_cell(nb.id, CellKind::Sql, None, format!("SELECT {i}"))
            .unwrap();
    }
    f.wait_saved(nb.id, Duration::from_secs(2));
    assert_eq!(f.writes(), 1, "10 edits inside the window are one write");
    let text = f.file("batch.quire").unwrap();
    assert!(text.contains("SELECT 0") && text.contains("SELECT 9"));
}

#[test]
fn max_wait_bounds_a_continuous_stream_of_edits() {
    // Edits every 20 ms never leave the 200 ms quiet time; only the 500 ms bound can write.
    let f = fixture(config(200, 500, true, true));
    let nb = f.books.create("Stream").unwrap();
    let cell = f
        .books
        .add_cell(nb.id, CellKind::Sql, None, String::new())
        .unwrap();
    let start = Instant::now();
    let mut i = 0;
    while start.elapsed() < Duration::from_millis(1600) {
        f.books
            .update_cell(nb.id, cell.id, format!("SELECT {i}"))
            .unwrap();
        i += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    let during = f.writes();
    assert!(
        (2..=4).contains(&during),
        "expected a write about every 500 ms, got {during}"
    );
    // Each Saved event names the revision on disk; no edit waited much longer than the bound.
    let saved_revisions: Vec<u64> = f
        .sink
        .events()
        .into_iter()
        .filter_map(|e| match e {
            EngineEvent::SaveStatus { saved_revision, .. } => Some(saved_revision),
            _ => None,
        })
        .collect();
    assert!(
        saved_revisions.windows(2).all(|w| w[0] <= w[1]),
        "durable revisions only grow: {saved_revisions:?}"
    );
    assert!(
        *saved_revisions.last().unwrap() >= 40,
        "the stream's edits reached disk"
    );
}

#[test]
fn write_through_mode_writes_before_returning() {
    let f = fixture(config(0, 0, true, false));
    let nb = f.books.create("Now").unwrap();
    let cell = f
        .books
        .add_cell(nb.id, CellKind::Markdown, None, "# hello".into())
        .unwrap();
    assert!(f.file("now.quire").unwrap().contains("# hello"));
    f.books
        .update_cell(nb.id, cell.id, "# changed".into())
        .unwrap();
    assert!(f.file("now.quire").unwrap().contains("# changed"));
    assert_eq!(f.writes(), 3, "create, add, update: one write each");
}

#[test]
fn manual_mode_writes_only_on_flush() {
    let f = fixture(config(1000, 1000, false, true));
    let nb = f.books.create("Manual").unwrap();
    f.books
        .add_cell(nb.id, CellKind::Sql, None, "SELECT 1".into())
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(f.writes(), 0);
    assert_eq!(f.books.summary(nb.id).unwrap().status, SaveState::Unsaved);
    let report = f.books.flush_all();
    assert_eq!(
        report,
        FlushReport {
            saved: 1,
            failures: vec![]
        }
    );
    assert!(f.file("manual.quire").unwrap().contains("SELECT 1"));
    assert_eq!(f.books.summary(nb.id).unwrap().status, SaveState::Saved);
}

#[test]
fn status_goes_unsaved_saving_saved() {
    let f = fixture(optimized());
    let nb = f.books.create("Status").unwrap();
    f.books
        .add_cell(nb.id, CellKind::Sql, None, "SELECT 1".into())
        .unwrap();
    f.wait_saved(nb.id, Duration::from_secs(2));
    let states: Vec<SaveState> = f
        .sink
        .events()
        .into_iter()
        .filter_map(|e| match e {
            EngineEvent::SaveStatus { status, .. } => Some(status),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        [SaveState::Unsaved, SaveState::Saving, SaveState::Saved]
    );
}

#[test]
fn shutdown_writes_everything_including_never_flushed_notebooks() {
    let f = fixture(config(60_000, 60_000, true, true));
    let a = f.books.create("A").unwrap();
    f.books
        .add_cell(a.id, CellKind::Sql, None, "SELECT 'a'".into())
        .unwrap();
    f.books.create("B").unwrap();
    let report = f.books.shutdown();
    assert_eq!(report.saved, 2);
    assert!(f.file("a.quire").unwrap().contains("SELECT 'a'"));
    assert!(f.file("b.quire").is_some());
    assert_eq!(f.books.shutdown().saved, 0, "idempotent");
}

#[test]
fn notebooks_come_back_after_reopening() {
    let f = fixture(optimized());
    let nb = f.books.create("Keep").unwrap();
    let c1 = f
        .books
        .add_cell(nb.id, CellKind::Sql, None, "SELECT 1".into())
        .unwrap();
    let c2 = f
        .books
        .add_cell(nb.id, CellKind::Markdown, Some(0), "# top".into())
        .unwrap();
    f.books.shutdown();
    let Fixture {
        _tmp, root, books, ..
    } = f;
    drop(books);
    let again = reopen(_tmp, root, optimized());
    let list = again.books.list();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, nb.id);
    assert_eq!(list[0].status, SaveState::Saved);
    let view = again.books.get(nb.id).unwrap();
    assert_eq!(
        view.cells.iter().map(|c| c.id).collect::<Vec<_>>(),
        [c2.id, c1.id]
    );
}

#[test]
fn cell_operations_and_unknown_ids() {
    let f = fixture(optimized());
    let nb = f.books.create("Cells").unwrap();
    let a = f
        .books
        .add_cell(nb.id, CellKind::Sql, None, "a".into())
        .unwrap();
    let b = f
        .books
        .add_cell(nb.id, CellKind::Sql, None, "b".into())
        .unwrap();
    let c = f
        .books
        .add_cell(nb.id, CellKind::Sql, None, "c".into())
        .unwrap();
    f.books.move_cell(nb.id, c.id, 0).unwrap();
    f.books
        .set_cell_kind(nb.id, b.id, CellKind::Markdown)
        .unwrap();
    f.books.delete_cell(nb.id, a.id).unwrap();
    let view = f.books.get(nb.id).unwrap();
    assert_eq!(
        view.cells
            .iter()
            .map(|c| c.source.as_str())
            .collect::<Vec<_>>(),
        ["c", "b"]
    );
    assert_eq!(view.cells[1].kind, CellKind::Markdown);

    let missing_cell = CellId(Uuid::now_v7());
    let err = f
        .books
        .update_cell(nb.id, missing_cell, "x".into())
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::CellNotFound);
    let missing_nb = NotebookId(Uuid::now_v7());
    assert_eq!(
        f.books
            .add_cell(missing_nb, CellKind::Sql, None, "x".into())
            .unwrap_err()
            .code(),
        ErrorCode::NotebookNotFound
    );
    assert_eq!(
        f.books.flush(missing_nb).unwrap_err().code(),
        ErrorCode::NotebookNotFound
    );
}

#[test]
fn rename_moves_the_folder_and_never_clobbers() {
    let f = fixture(config(0, 0, true, false));
    let a = f.books.create("Alpha").unwrap();
    let b = f.books.create("Beta").unwrap();
    assert_eq!(
        f.books.rename(a.id, "beta").unwrap_err().code(),
        ErrorCode::NotebookExists
    );
    assert_eq!(
        f.books.rename(a.id, "a/b").unwrap_err().code(),
        ErrorCode::InvalidTitle
    );
    // A title whose folder name is taken by another notebook gets the next free folder.
    let renamed = f.books.rename(a.id, "Beta!").unwrap();
    assert_eq!(renamed.folder.as_deref(), Some("beta-2.quire"));
    assert_eq!(folders_in(&f.root), ["beta-2.quire", "beta.quire"]);
    assert!(f
        .file("beta-2.quire")
        .unwrap()
        .contains("\"title\": \"Beta!\""));
    assert!(f.file("beta.quire").unwrap().contains(&b.id.to_string()));
}

#[test]
fn delete_moves_the_folder_to_the_trash() {
    let f = fixture(config(0, 0, true, false));
    let nb = f.books.create("Gone").unwrap();
    f.books.delete(nb.id).unwrap();
    assert!(f.books.list().is_empty());
    assert!(folders_in(&f.root).is_empty());
    let trashed: Vec<_> = std::fs::read_dir(f.root.join(".trash"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(trashed.len(), 1);
    assert!(trashed[0].to_string_lossy().starts_with("gone.quire-"));
    assert_eq!(
        f.books.delete(nb.id).unwrap_err().code(),
        ErrorCode::NotebookNotFound
    );
}

#[test]
fn duplicate_copies_cells_with_new_ids() {
    let f = fixture(optimized());
    let nb = f.books.create("Orig").unwrap();
    let cell = f
        .books
        .add_cell(nb.id, CellKind::Sql, None, "SELECT 1".into())
        .unwrap();
    let copy = f.books.duplicate(nb.id).unwrap();
    let copy2 = f.books.duplicate(nb.id).unwrap();
    assert_eq!(copy.title, "Orig copy");
    assert_eq!(copy2.title, "Orig copy 2");
    let view = f.books.get(copy.id).unwrap();
    assert_eq!(view.cells.len(), 1);
    assert_eq!(view.cells[0].source, "SELECT 1");
    assert_ne!(view.cells[0].id, cell.id);
}

#[test]
fn orphaned_temp_files_are_swept_when_the_workspace_opens() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let dir = root.join("x.quire");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".quire-abc123.tmp"), b"{half a notebo").unwrap();
    let f = reopen(tmp, root, optimized());
    assert!(!f.root.join("x.quire/.quire-abc123.tmp").exists());
    assert!(
        f.books.list().is_empty(),
        "a folder without notebook.json is not a notebook"
    );
}

#[test]
fn corrupt_and_newer_files_open_with_an_error_and_are_never_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let corrupt = b"{\"format\": \"quire-notebook\", \"version\": 1, \"title\": ".to_vec();
    let newer = br#"{"format":"quire-notebook","version":9,"id":"x","title":"Future","cells":[],"extra":1}"#.to_vec();
    for (folder, bytes) in [("broken.quire", &corrupt), ("future.quire", &newer)] {
        std::fs::create_dir_all(root.join(folder)).unwrap();
        std::fs::write(root.join(folder).join("notebook.json"), bytes).unwrap();
    }
    let f = reopen(tmp, root, optimized());
    let list = f.books.list();
    assert_eq!(list.len(), 2);
    for s in &list {
        let SaveState::Unreadable { message } = &s.status else {
            panic!("{s:?}")
        };
        assert!(
            message.contains("damaged") || message.contains("newer Quire"),
            "{message}"
        );
        let err = f
            .books
            .add_cell(s.id, CellKind::Sql, None, "x".into())
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::NotebookUnreadable);
        assert_eq!(
            f.books.flush(s.id).unwrap_err().code(),
            ErrorCode::NotebookUnreadable
        );
        assert_eq!(
            f.books.rename(s.id, "Other").unwrap_err().code(),
            ErrorCode::NotebookUnreadable
        );
    }
    let report = f.books.shutdown();
    assert_eq!(report.saved, 0);
    assert_eq!(
        std::fs::read(f.root.join("broken.quire/notebook.json")).unwrap(),
        corrupt
    );
    assert_eq!(
        std::fs::read(f.root.join("future.quire/notebook.json")).unwrap(),
        newer
    );
}

#[test]
fn a_clean_notebook_changed_on_disk_is_reloaded() {
    let f = fixture(config(0, 0, true, false));
    let nb = f.books.create("Shared").unwrap();
    f.books
        .add_cell(nb.id, CellKind::Sql, None, "SELECT 1".into())
        .unwrap();
    let path = f.root.join("shared.quire/notebook.json");
    let theirs = std::fs::read_to_string(&path)
        .unwrap()
        .replace("SELECT 1", "SELECT 2");
    std::fs::write(&path, &theirs).unwrap();
    assert_eq!(f.books.check_disk(), vec![nb.id]);
    assert_eq!(f.books.get(nb.id).unwrap().cells[0].source, "SELECT 2");
    assert_eq!(f.books.summary(nb.id).unwrap().status, SaveState::Saved);
    assert!(f.books.check_disk().is_empty(), "nothing changed since");
}

/// A notebook file that does not read (EIO) when Quire looks for outside changes is not taken
/// for a changed or deleted one: nothing is held or reloaded, and the next look finds it as is.
#[test]
fn a_file_that_does_not_read_is_not_taken_for_a_changed_one() {
    let f = fixture(config(0, 0, true, false));
    let nb = f.books.create("Shaky").unwrap();
    f.books
        .add_cell(nb.id, CellKind::Sql, None, "SELECT 1".into())
        .unwrap();
    let file = f
        .books
        .folder_path(nb.id)
        .unwrap()
        .unwrap()
        .join("notebook.json");
    crate::durable::trace::arm(&file, crate::durable::trace::Site::Read, 0);
    let changed = f.books.check_disk();
    crate::durable::trace::disarm(&file);
    assert!(changed.is_empty(), "{changed:?}");
    assert_eq!(f.books.summary(nb.id).unwrap().status, SaveState::Saved);
    assert!(f.books.check_disk().is_empty());
    f.books
        .add_cell(nb.id, CellKind::Sql, None, "SELECT 2".into())
        .unwrap();
    assert_eq!(f.books.summary(nb.id).unwrap().status, SaveState::Saved);
}

#[test]
fn unsaved_edits_over_a_changed_file_wait_for_the_users_choice() {
    let f = fixture(config(60_000, 60_000, true, false));
    let nb = f.books.create("Clash").unwrap();
    let cell = f
        .books
        .add_cell(nb.id, CellKind::Sql, None, "SELECT 'mine'".into())
        .unwrap();
    let path = f.root.join("clash.quire/notebook.json");
    let theirs = std::fs::read_to_string(&path).unwrap().replace("\"cells\": []", "\"cells\": [{\"id\": \"0193a1b2-0000-7000-8000-000000000001\", \"kind\": \"sql\", \"source\": \"SELECT 'theirs'\"}]");
    std::fs::write(&path, &theirs).unwrap();

    // A flush must not silently overwrite their file.
    let err = f.books.flush(nb.id).unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotebookChangedOnDisk);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), theirs);
    assert_eq!(
        f.books.summary(nb.id).unwrap().status,
        SaveState::ChangedOnDisk
    );
    let report = f.books.flush_all();
    assert_eq!(report.failures.len(), 1, "{report:?}");

    f.books
        .resolve_disk_change(nb.id, DiskChoice::KeepMine)
        .unwrap();
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains("SELECT 'mine'"));
    assert_eq!(f.books.summary(nb.id).unwrap().status, SaveState::Saved);

    // And the other way: reload takes theirs.
    f.books
        .update_cell(nb.id, cell.id, "SELECT 'mine again'".into())
        .unwrap();
    std::fs::write(&path, &theirs).unwrap();
    assert_eq!(f.books.check_disk(), vec![nb.id]);
    assert_eq!(
        f.books.summary(nb.id).unwrap().status,
        SaveState::ChangedOnDisk
    );
    f.books
        .resolve_disk_change(nb.id, DiskChoice::Reload)
        .unwrap();
    assert_eq!(
        f.books.get(nb.id).unwrap().cells[0].source,
        "SELECT 'theirs'"
    );
    assert_eq!(f.books.summary(nb.id).unwrap().status, SaveState::Saved);
}

#[test]
fn new_notebook_folders_from_outside_are_picked_up() {
    let f = fixture(optimized());
    let doc = model::Document::new("From git".into());
    std::fs::create_dir_all(f.root.join("from-git.quire")).unwrap();
    std::fs::write(f.root.join("from-git.quire/notebook.json"), doc.to_bytes()).unwrap();
    assert_eq!(f.books.check_disk(), vec![doc.id]);
    assert_eq!(f.books.list()[0].title, "From git");
}

#[test]
fn a_failed_write_is_reported_kept_and_retried() {
    let f = fixture(config(20, 100, true, false));
    let nb = f.books.create("Fragile").unwrap();
    let dir = f.root.join("fragile.quire");
    // Put a file where the folder should be: every write now fails.
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::write(&dir, b"in the way").unwrap();
    f.books
        .add_cell(nb.id, CellKind::Sql, None, "SELECT 'precious'".into())
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        if let SaveState::Failed { message } = f.books.summary(nb.id).unwrap().status {
            assert!(message.contains("fragile.quire"), "{message}");
            break;
        }
        assert!(Instant::now() < deadline, "the failure was never reported");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(f.sink.events().iter().any(|e| matches!(
        e,
        EngineEvent::SaveStatus {
            status: SaveState::Failed { .. },
            ..
        }
    )));
    // Clear the obstacle: the retry (after its backoff) writes the edit that was kept in memory.
    std::fs::remove_file(&dir).unwrap();
    f.wait_saved(nb.id, Duration::from_secs(5));
    assert!(f
        .file("fragile.quire")
        .unwrap()
        .contains("SELECT 'precious'"));
}

#[test]
fn duplicate_titles_are_refused() {
    let f = fixture(optimized());
    f.books.create("Same").unwrap();
    let err = f.books.create(" same ").unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotebookExists);
}

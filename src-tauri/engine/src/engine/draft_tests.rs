//! Notebook drafts end to end through the engine: what a crash (the process gone, no flush,
//! no shutdown) leaves, and what the next start makes of it (issue 23 item 1).

use std::path::Path;
use std::sync::Arc;

use super::Engine;
use crate::config::Config;
use crate::ids::NotebookId;
use crate::notebooks::{CellKind, SaveState};
use crate::recovery_model::crash_copy;
use crate::tasks::TaskStore;

fn open_with(dir: &Path, manual: bool) -> Engine {
    let mut config = Config::default();
    config.notebooks.auto_flush = !manual;
    super::test_support::open_with(dir, config, Arc::new(crate::events::NullSink))
}

/// Ends `engine` as a kill would (nothing flushed) and returns a copy of what is on disk.
fn crash(engine: Engine, dir: &Path) -> tempfile::TempDir {
    std::mem::forget(engine);
    crash_copy(dir)
}

fn notebook_file(engine: &Engine, nb: NotebookId) -> String {
    let folder = engine.notebooks().folder_path(nb).unwrap().unwrap();
    std::fs::read_to_string(folder.join("notebook.json")).unwrap()
}

fn drafts_left(dir: &Path) -> usize {
    TaskStore::open(&dir.join(crate::tasks::FILE_NAME))
        .unwrap()
        .drafts()
        .unwrap()
        .len()
}

#[test]
fn manual_mode_edits_come_back_after_a_crash_as_unsaved_and_a_write_trims_their_draft() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = open_with(tmp.path(), true);
    let nb = engine.create_notebook("Never written").unwrap().id;
    let books = engine.notebooks();
    let cell = books
        .add_cell(nb, CellKind::Sql, None, String::new())
        .unwrap();
    books.update_cell(nb, cell.id, "SELECT 42".into()).unwrap();
    assert!(
        !books.summary(nb).unwrap().on_disk,
        "manual mode wrote nothing"
    );

    let copy = crash(engine, tmp.path());
    let engine = open_with(copy.path(), true);
    assert_eq!(engine.recovery().notebooks, 1);
    assert!(engine
        .recovery()
        .message()
        .unwrap()
        .contains("unsaved edits of 1 notebook"));
    let view = engine.notebooks().get(nb).unwrap();
    assert_eq!(view.summary.title, "Never written");
    assert_eq!(view.cells[0].source, "SELECT 42");
    assert_eq!(view.summary.status, SaveState::Unsaved);

    engine.flush_all();
    assert!(notebook_file(&engine, nb).contains("SELECT 42"));
    drop(engine);
    assert_eq!(drafts_left(copy.path()), 0, "the write trimmed the draft");
}

#[test]
fn a_draft_its_file_already_holds_is_dropped_at_open() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = open_with(tmp.path(), false);
    let nb = engine.create_notebook("Saved").unwrap().id;
    let cell = engine
        .notebooks()
        .add_cell(nb, CellKind::Sql, None, "SELECT 1".into())
        .unwrap();
    // The write lands but its trim does not (as if the process died between the two).
    let conn = rusqlite::Connection::open(tmp.path().join(crate::tasks::FILE_NAME)).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER keep BEFORE DELETE ON drafts BEGIN SELECT RAISE(IGNORE); END;",
    )
    .unwrap();
    engine.flush_all();
    assert!(notebook_file(&engine, nb).contains("SELECT 1"));
    conn.execute_batch("DROP TRIGGER keep;").unwrap();
    assert_eq!(drafts_left(tmp.path()), 1);

    let copy = crash(engine, tmp.path());
    let engine = open_with(copy.path(), false);
    assert_eq!(engine.recovery().notebooks, 0, "nothing was unsaved");
    let view = engine.notebooks().get(nb).unwrap();
    assert_eq!(view.summary.status, SaveState::Saved);
    assert_eq!(view.cells[0].id, cell.id);
    drop(engine);
    assert_eq!(drafts_left(copy.path()), 0);
}

#[test]
fn a_file_changed_outside_quire_after_a_crash_waits_for_the_users_choice() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = open_with(tmp.path(), true);
    let nb = engine.create_notebook("Shared").unwrap().id;
    let cell = engine
        .notebooks()
        .add_cell(nb, CellKind::Sql, None, "SELECT 'saved'".into())
        .unwrap();
    engine.flush_all();
    engine
        .notebooks()
        .update_cell(nb, cell.id, "SELECT 'mine'".into())
        .unwrap();
    let copy = crash(engine, tmp.path());
    // While Quire was down, someone else edited the file (a git pull, a colleague).
    let file = copy.path().join("workspace/shared.quire/notebook.json");
    let theirs = std::fs::read_to_string(&file)
        .unwrap()
        .replace("SELECT 'saved'", "SELECT 'theirs'");
    std::fs::write(&file, &theirs).unwrap();

    let engine = open_with(copy.path(), true);
    let view = engine.notebooks().get(nb).unwrap();
    assert_eq!(view.summary.status, SaveState::ChangedOnDisk);
    assert_eq!(
        view.cells[0].source, "SELECT 'mine'",
        "the unsaved edit is kept"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        theirs,
        "not overwritten"
    );
    engine
        .notebooks()
        .resolve_disk_change(nb, crate::notebooks::DiskChoice::KeepMine)
        .unwrap();
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("SELECT 'mine'"));
}

#[test]
fn a_deleted_notebook_does_not_come_back_from_its_draft() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = open_with(tmp.path(), true);
    let nb = engine.create_notebook("Scratch").unwrap().id;
    engine
        .notebooks()
        .add_cell(nb, CellKind::Markdown, None, "notes".into())
        .unwrap();
    engine.delete_notebook(nb).unwrap();
    let copy = crash(engine, tmp.path());
    let engine = open_with(copy.path(), true);
    assert!(engine.list_notebooks().is_empty());
    assert_eq!(engine.recovery().notebooks, 0);
}

#[test]
fn an_edit_whose_draft_fails_is_written_to_the_file_and_refused_only_when_that_fails_too() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = open_with(tmp.path(), true);
    let nb = engine.create_notebook("Full disk").unwrap().id;
    let cell = engine
        .notebooks()
        .add_cell(nb, CellKind::Sql, None, String::new())
        .unwrap();
    engine.flush_all();
    // From now on SQLite refuses drafts, as a full disk would.
    let conn = rusqlite::Connection::open(tmp.path().join(crate::tasks::FILE_NAME)).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER refuse BEFORE UPDATE ON drafts BEGIN SELECT RAISE(FAIL, 'disk full'); END;
         CREATE TRIGGER refuse_new BEFORE INSERT ON drafts BEGIN SELECT RAISE(FAIL, 'disk full'); END;",
    )
    .unwrap();
    engine
        .notebooks()
        .update_cell(nb, cell.id, "SELECT 'kept'".into())
        .unwrap();
    assert!(
        notebook_file(&engine, nb).contains("SELECT 'kept'"),
        "manual mode, but the edit went to the file because its draft could not"
    );

    // And when the file cannot be written either (it changed outside Quire), the edit is
    // refused in words, with the stable code.
    let file = engine
        .notebooks()
        .folder_path(nb)
        .unwrap()
        .unwrap()
        .join("notebook.json");
    let changed = std::fs::read_to_string(&file)
        .unwrap()
        .replace("kept", "other");
    std::fs::write(&file, changed).unwrap();
    let err = engine
        .notebooks()
        .update_cell(nb, cell.id, "SELECT 'lost?'".into())
        .unwrap_err();
    assert_eq!(crate::code::HasCode::code(&err), crate::code::ErrorCode::Io);
    let message = err.to_string();
    assert!(
        message.contains("could not be saved") && message.contains("disk full"),
        "{message}"
    );
}

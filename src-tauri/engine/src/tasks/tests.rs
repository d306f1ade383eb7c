//! The task store on real database files.

use std::time::Duration;

use super::*;

fn task(kind: TaskKind) -> NewTask {
    NewTask {
        kind,
        notebook: Some(NotebookId(uuid::Uuid::nil())),
        target: Some("trips".into()),
        payload: serde_json::json!({ "path": "/data/trips.csv" }),
        priority: Priority::Background,
    }
}

#[test]
fn a_task_is_committed_before_enqueue_returns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let store = TaskStore::open(&path).unwrap();
    let id = store.enqueue(&task(TaskKind::Import)).unwrap();
    // Another connection (another process, after a crash) sees it at once.
    let other = rusqlite::Connection::open(&path).unwrap();
    let status: String = other
        .query_row("SELECT status FROM tasks WHERE id = ?1", [id as i64], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(status, "pending");
    let mode: String = other
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn restart_requeues_what_can_run_again_and_interrupts_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let (snapshot, cell, waiting, done) = {
        let store = TaskStore::open(&path).unwrap();
        let snapshot = store.enqueue(&task(TaskKind::Snapshot)).unwrap();
        let cell = store
            .enqueue(&NewTask {
                priority: Priority::UserVisible,
                ..task(TaskKind::CellRun)
            })
            .unwrap();
        let waiting = store.enqueue(&task(TaskKind::Export)).unwrap();
        let done = store.enqueue(&task(TaskKind::Import)).unwrap();
        store.start(snapshot).unwrap();
        store.start(cell).unwrap();
        store.start(done).unwrap();
        store.finish(done, TaskStatus::Completed, None).unwrap();
        (snapshot, cell, waiting, done)
        // dropped without any shutdown: as after a crash
    };
    let store = TaskStore::open(&path).unwrap();
    let r = store.restore().unwrap();
    let requeued: Vec<u64> = r.requeued.iter().map(|t| t.id).collect();
    assert_eq!(requeued, [snapshot], "the idempotent snapshot runs again");
    let mut interrupted: Vec<u64> = r.interrupted.iter().map(|t| t.id).collect();
    interrupted.sort();
    assert_eq!(
        interrupted,
        [cell, waiting],
        "a cell run, and an export (it writes to a file chosen earlier), wait for Retry"
    );
    assert_eq!(store.get(cell).unwrap().status, TaskStatus::Interrupted);
    let export = store.get(waiting).unwrap();
    assert_eq!(export.status, TaskStatus::Interrupted);
    assert!(export.error.unwrap().contains("Retry"));
    assert_eq!(store.get(done).unwrap().status, TaskStatus::Completed);
    assert_eq!(
        r.message().unwrap(),
        "Recovered 1 save, 1 export and 1 cell run after an unexpected exit"
    );
    assert_eq!(store.retry(cell).unwrap().status, TaskStatus::Pending);
    let s = store.stats().unwrap();
    assert_eq!((s.pending, s.completed, s.interrupted), (2, 1, 1));
}

#[test]
fn failures_of_earlier_sessions_are_counted_apart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    {
        let store = TaskStore::open(&path).unwrap();
        let failed = store.enqueue(&task(TaskKind::Export)).unwrap();
        store
            .finish(failed, TaskStatus::Failed, Some("disk full"))
            .unwrap();
        let s = store.stats().unwrap();
        assert_eq!((s.failed, s.failed_this_session), (1, 1));
        // As if it failed yesterday, whatever the clock's resolution.
        store
            .lock()
            .execute("UPDATE tasks SET finished_ms = 0", [])
            .unwrap();
    }
    let store = TaskStore::open(&path).unwrap();
    let s = store.stats().unwrap();
    assert_eq!((s.failed, s.failed_this_session), (1, 0));
    let failed = store.enqueue(&task(TaskKind::Export)).unwrap();
    store
        .finish(failed, TaskStatus::Failed, Some("disk full"))
        .unwrap();
    let s = store.stats().unwrap();
    assert_eq!((s.failed, s.failed_this_session), (2, 1));
}

#[test]
fn cleanup_deletes_only_old_finished_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let store = TaskStore::open(&dir.path().join(FILE_NAME)).unwrap();
    let old = store.enqueue(&task(TaskKind::Export)).unwrap();
    store
        .finish(old, TaskStatus::Failed, Some("disk full"))
        .unwrap();
    let pending = store.enqueue(&task(TaskKind::Export)).unwrap();
    store
        .lock()
        .execute("UPDATE tasks SET finished_ms = 0, created_ms = 0", [])
        .unwrap();
    assert_eq!(store.cleanup(Duration::from_secs(24 * 3600)).unwrap(), 1);
    assert!(store.get(old).is_err());
    assert_eq!(
        store.get(pending).unwrap().status,
        TaskStatus::Pending,
        "unfinished work stays"
    );
}

#[test]
fn the_finished_tasks_beyond_the_cap_are_deleted_as_work_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = TaskStore::open(&dir.path().join(FILE_NAME))
        .unwrap()
        .with_finished_cap(100);
    let waiting = store.enqueue(&task(TaskKind::Export)).unwrap();
    let mut last = 0;
    for i in 0..1000 {
        last = store.enqueue(&task(TaskKind::Export)).unwrap();
        let status = if i % 7 == 0 {
            TaskStatus::Failed
        } else {
            TaskStatus::Completed
        };
        store.finish(last, status, None).unwrap();
        let rows: usize = store
            .lock()
            .query_row("SELECT count(*) FROM tasks", [], |r| r.get(0))
            .unwrap();
        assert!(
            rows <= 1 + 100 + store.prune_every(),
            "{rows} rows after {i} finished tasks"
        );
    }
    assert_eq!(store.prune_every(), 12);
    assert_eq!(store.prune_finished().unwrap(), 1000 % 12);
    let s = store.stats().unwrap();
    assert_eq!(
        s.completed + s.failed,
        100,
        "the newest 100 finished tasks are kept"
    );
    assert!(store.get(last).is_ok(), "the newest is kept");
    assert_eq!(
        store.get(waiting).unwrap().status,
        TaskStatus::Pending,
        "unfinished work stays however many tasks finish after it"
    );
}

#[test]
fn an_older_schema_is_migrated_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        schema::migrate(&mut conn, 1).unwrap();
        conn.execute(
            "INSERT INTO tasks (kind, payload, priority, status, created_ms) VALUES ('import', '{}', 2, 'pending', 1)",
            [],
        )
        .unwrap();
    }
    let store = TaskStore::open(&path).unwrap();
    let version: usize = store
        .lock()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, schema::MIGRATIONS.len());
    assert_eq!(store.list(None, 10).unwrap().len(), 1);
    store
        .journal_append(
            NotebookId(uuid::Uuid::nil()),
            "t",
            2,
            &serde_json::json!({"op": "opened"}),
        )
        .unwrap();
}

#[test]
fn a_corrupt_database_is_moved_aside_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    std::fs::write(
        &path,
        b"this is not a database, it is a cat walking on a keyboard ......",
    )
    .unwrap();
    let store = TaskStore::open(&path).unwrap();
    let aside = store.moved_aside().expect("moved aside").to_path_buf();
    assert!(aside.is_file());
    assert!(std::fs::read(&aside).unwrap().starts_with(b"this is not"));
    assert!(
        store.enqueue(&task(TaskKind::Import)).is_ok(),
        "a fresh store works"
    );
}

#[test]
fn the_journal_keeps_what_no_snapshot_covers() {
    let dir = tempfile::tempdir().unwrap();
    let store = TaskStore::open(&dir.path().join(FILE_NAME)).unwrap();
    let nb = NotebookId(uuid::Uuid::nil());
    for v in 2..=6 {
        store
            .journal_append(nb, "t", v, &serde_json::json!({ "v": v }))
            .unwrap();
    }
    store
        .journal_append(nb, "other", 2, &serde_json::json!({}))
        .unwrap();
    assert_eq!(store.journal_cover(nb, "t", 4).unwrap(), 3);
    let after: Vec<u64> = store
        .journal_after(nb, "t", 0)
        .unwrap()
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    assert_eq!(after, [5, 6]);
    assert_eq!(
        store.journal_after(nb, "t", 5).unwrap()[0].1,
        serde_json::json!({ "v": 6 })
    );
    let mut tables = store.journaled_tables(nb).unwrap();
    tables.sort();
    assert_eq!(tables, ["other", "t"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_wakes_on_the_finish_not_on_a_timer() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(TaskStore::open(&dir.path().join(FILE_NAME)).unwrap());
    let id = store.enqueue(&task(TaskKind::Export)).unwrap();
    let finisher = {
        let store = store.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            store.finish(id, TaskStatus::Completed, None).unwrap();
        })
    };
    let started = std::time::Instant::now();
    let t = store.wait_for(id).await.unwrap();
    assert_eq!(t.status, TaskStatus::Completed);
    assert!(started.elapsed() < Duration::from_secs(1));
    finisher.await.unwrap();
    let other = store.enqueue(&task(TaskKind::Export)).unwrap();
    let err = store
        .wait(other, Duration::from_millis(30))
        .await
        .unwrap_err();
    assert!(matches!(err, TaskError::TimedOut(_)));
}

#[test]
fn dismissing_finished_tasks_keeps_pending_and_running_work() {
    let dir = tempfile::tempdir().unwrap();
    let store = TaskStore::open(&dir.path().join(FILE_NAME)).unwrap();
    let failed = store.enqueue(&task(TaskKind::CellRun)).unwrap();
    store.start(failed).unwrap();
    store
        .finish(failed, TaskStatus::Failed, Some("bad SQL"))
        .unwrap();
    let done = store.enqueue(&task(TaskKind::Import)).unwrap();
    store.finish(done, TaskStatus::Completed, None).unwrap();
    let running = store.enqueue(&task(TaskKind::Export)).unwrap();
    store.start(running).unwrap();
    let waiting = store.enqueue(&task(TaskKind::Snapshot)).unwrap();
    assert_eq!(store.dismiss_finished().unwrap(), 2);
    let left: Vec<u64> = store
        .list(None, 100)
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(left.len(), 2);
    assert!(left.contains(&running) && left.contains(&waiting));
}

/// Files in `dir` other than the store itself (a `.damaged-` copy would show here).
fn others(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with(FILE_NAME))
        .collect();
    names.sort();
    names
}

#[test]
fn a_store_from_a_newer_quire_is_refused_and_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let nb = NotebookId(uuid::Uuid::nil());
    {
        let store = TaskStore::open(&path).unwrap();
        store
            .journal_append(nb, "t", 2, &serde_json::json!({"step": "undo"}))
            .unwrap();
    }
    let set_version = |v: i64| {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", v).unwrap();
    };
    set_version(99);
    let err = TaskStore::open(&path).err().expect("refused");
    assert!(matches!(err, TaskError::Newer { .. }), "{err}");
    assert!(err.to_string().contains("newer version of Quire"), "{err}");
    assert!(others(dir.path()).is_empty(), "nothing moved aside");
    // The journal is still there for the Quire that wrote it.
    set_version(super::schema::MIGRATIONS.len() as i64);
    let store = TaskStore::open(&path).unwrap();
    assert_eq!(store.journal_after(nb, "t", 1).unwrap().len(), 1);
}

#[test]
fn a_store_that_cannot_be_opened_now_is_not_moved_aside() {
    // A folder where the file should be stands for any failure that is not damage
    // (permissions, a full or failing disk): the file holds unsaved edits, so it stays.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    std::fs::create_dir(&path).unwrap();
    let err = TaskStore::open(&path).err().expect("refused");
    assert!(matches!(err, TaskError::Unavailable { .. }), "{err}");
    assert!(err.to_string().contains("left as it is"), "{err}");
    assert!(path.is_dir());
    assert!(others(dir.path()).is_empty(), "nothing moved aside");
}

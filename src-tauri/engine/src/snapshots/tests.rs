//! Snapshots through the engine: debounce and coalescing, flush, failures that leave the
//! previous generation intact, leases against garbage collection, reopening after damage.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::config::Config;
use crate::ids::NotebookId;
use crate::tables::edit::CellEdit;
use crate::{Engine, EnginePaths, HasCode};

fn engine(data: &Path, tune: impl FnOnce(&mut SnapshotConfig)) -> Engine {
    let mut config = Config::default();
    tune(&mut config.snapshots);
    Engine::open(
        config,
        EnginePaths {
            data_dir: data.to_path_buf(),
            config_dir: None,
        },
        Arc::new(crate::events::NullSink),
    )
    .unwrap()
}

async fn table(engine: &Engine, rows: u64) -> NotebookId {
    let nb = engine.create_notebook("Snap").unwrap().id;
    engine
        .save_query_as_table(
            nb,
            &format!("SELECT value AS n, value * 2 AS twice FROM generate_series(1, {rows})"),
            "t",
        )
        .await
        .unwrap();
    nb
}

fn set(engine: &Engine, nb: NotebookId, row_id: u64, value: i64) -> u64 {
    engine
        .edit_cells(
            nb,
            "t",
            &[CellEdit {
                row_id,
                column: "n".into(),
                value: Some(value.to_string()),
            }],
        )
        .unwrap()
        .version
}

fn tables_dir(engine: &Engine) -> PathBuf {
    engine.workspace().join("snap.quire").join(TABLES_DIR)
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn status(engine: &Engine, nb: NotebookId) -> TableSaveStatus {
    engine.table_save_status(nb).remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_edits_coalesce_into_one_snapshot_after_the_quiet_window() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = engine(tmp.path(), |c| c.debounce_ms = 150);
    let nb = table(&engine, 1000).await;
    assert_eq!(
        status(&engine, nb).generation,
        1,
        "a new table is saved at once"
    );
    let writes = engine.metrics().disk_writes;
    for i in 0..5 {
        set(&engine, nb, i, 100 + i as i64);
    }
    let s = status(&engine, nb);
    assert_eq!(
        (s.status, s.version, s.saved_version),
        (SaveState::Unsaved, 6, 1)
    );
    wait_until("the snapshot", || {
        status(&engine, nb).status == SaveState::Saved
    });
    let s = status(&engine, nb);
    assert_eq!(
        (s.saved_version, s.generation),
        (6, 2),
        "one generation for five edits"
    );
    // One generation file and one manifest.
    assert_eq!(engine.metrics().disk_writes - writes, 2);
    assert_eq!(
        files(&tables_dir(&engine)),
        ["manifest.json", "t.1.parquet", "t.2.parquet"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_pending_changes_force_a_snapshot_without_a_quiet_window() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = engine(tmp.path(), |c| {
        c.debounce_ms = 600_000;
        c.max_pending_changes = 3;
    });
    let nb = table(&engine, 100).await;
    set(&engine, nb, 0, 1);
    set(&engine, nb, 1, 1);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        status(&engine, nb).status,
        SaveState::Unsaved,
        "two changes wait"
    );
    set(&engine, nb, 2, 1);
    wait_until("the forced snapshot", || {
        status(&engine, nb).saved_version == 4
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_writes_pending_snapshots_now_and_reopen_finds_them() {
    let tmp = tempfile::tempdir().unwrap();
    let nb = {
        let engine = engine(tmp.path(), |c| c.debounce_ms = 600_000);
        let nb = table(&engine, 50_000).await;
        set(&engine, nb, 49_999, -1);
        let report = engine.flush_all();
        assert_eq!((report.tables.saved, report.tables.failed.len()), (1, 0));
        assert_eq!(status(&engine, nb).status, SaveState::Saved);
        set(&engine, nb, 0, -2); // saved by shutdown
        let report = engine.shutdown();
        assert_eq!(report.tables.saved, 1);
        nb
    };
    let engine = engine(tmp.path(), |_| {});
    let batches = engine
        .query(nb, "SELECT n FROM t WHERE n < 0 ORDER BY n")
        .await
        .unwrap();
    let p = crate::tables::QueryPreview::from_batches(&batches, Duration::ZERO);
    assert_eq!(p.rows, [[Some("-2".to_string())], [Some("-1".to_string())]]);
    assert_eq!(
        status(&engine, nb).version,
        3,
        "the version survives the reopen"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_injected_failure_leaves_the_previous_generation_intact() {
    for fault in [Fault::DiskFullAfter(4096), Fault::Fsync, Fault::Rename] {
        let tmp = tempfile::tempdir().unwrap();
        let engine = engine(tmp.path(), |c| c.debounce_ms = 600_000);
        let nb = table(&engine, 20_000).await;
        let before = std::fs::read(tables_dir(&engine).join("t.1.parquet")).unwrap();
        set(&engine, nb, 7, 7777);
        engine.snapshots().faults().arm(fault);
        let report = engine.snapshots().flush(Some(Duration::from_secs(20)));
        assert_eq!(report.failed.len(), 1, "{fault:?}: {report:?}");
        let s = status(&engine, nb);
        let SaveState::Failed { message } = &s.status else {
            panic!("{fault:?}: {s:?}")
        };
        assert!(!message.is_empty());
        assert_eq!((s.saved_version, s.generation), (1, 1), "{fault:?}");
        assert_eq!(
            files(&tables_dir(&engine)),
            ["manifest.json", "t.1.parquet"],
            "{fault:?}: no temp file, no uncommitted generation"
        );
        assert_eq!(
            std::fs::read(tables_dir(&engine).join("t.1.parquet")).unwrap(),
            before,
            "{fault:?}: the previous generation is untouched"
        );
        // The edit is still in memory; the retry writes it from there.
        engine.retry_snapshot(nb, "t");
        wait_until("the retry", || {
            status(&engine, nb).status == SaveState::Saved
        });
        assert_eq!(status(&engine, nb).saved_version, 2, "{fault:?}");
        drop(engine);
        let reopened = super::store::open(&tmp.path().join("workspace/snap.quire")).unwrap();
        assert_eq!(reopened.tables[0].version.version, 2, "{fault:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_folder_sync_after_the_manifest_rename_keeps_the_generation_it_names() {
    // Committed, unsure: the new manifest is in place, so the file it names must stay. With a
    // history of 1 the old code deleted it and the next open found no copy of the table.
    let tmp = tempfile::tempdir().unwrap();
    {
        let engine = engine(tmp.path(), |c| {
            c.debounce_ms = 600_000;
            c.history = 1;
        });
        let nb = table(&engine, 2_000).await;
        set(&engine, nb, 0, 7777);
        engine.snapshots().faults().arm(Fault::ManifestFolderSync);
        let report = engine.snapshots().flush(Some(Duration::from_secs(20)));
        assert_eq!(report.failed.len(), 1, "the user is told: {report:?}");
        let dir = tables_dir(&engine);
        let manifest = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
        assert!(manifest.contains("\"generation\": 2"), "{manifest}");
        assert!(
            dir.join("t.2.parquet").exists(),
            "the generation the manifest names is kept: {:?}",
            files(&dir)
        );
        // The retry writes the manifest again and syncs the folder.
        engine.retry_snapshot(nb, "t");
        wait_until("the retry", || {
            status(&engine, nb).status == SaveState::Saved
        });
    }
    let engine = engine(tmp.path(), |_| {});
    let nb = engine.list_notebooks()[0].id;
    assert_eq!(
        first_n(&engine, nb).await,
        7777,
        "the table opens with the edit"
    );
    let names = files(&tables_dir(&engine));
    assert!(
        names.iter().all(|n| !n.ends_with(".tmp")),
        "no temp file is left: {names:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_collection_keeps_leased_generations() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = engine(tmp.path(), |c| {
        c.debounce_ms = 600_000;
        c.history = 2;
    });
    let nb = table(&engine, 100).await;
    // A diff of generation 1 against the current version holds a lease on it.
    let diff_lease = engine
        .snapshots()
        .lease(nb, "t", 1, "diff", Duration::from_secs(60));
    assert_eq!(
        engine.task_stats().unwrap().leases,
        1,
        "recorded in the task store"
    );
    for i in 0..4 {
        set(&engine, nb, i, 9);
        engine.flush_all();
    }
    let kept: Vec<u64> = engine
        .table_history(nb, "t")
        .unwrap()
        .iter()
        .map(|g| g.generation)
        .collect();
    assert_eq!(kept, [5, 4, 1], "history of 2, plus the leased generation");
    assert!(tables_dir(&engine).join("t.1.parquet").is_file());
    assert!(!tables_dir(&engine).join("t.2.parquet").exists());
    drop(diff_lease);
    assert_eq!(engine.task_stats().unwrap().leases, 0);
    assert_eq!(engine.snapshots().collect(nb, "t").unwrap(), [1]);
    assert!(!tables_dir(&engine).join("t.1.parquet").exists());

    // A lease that expired (its holder hung) no longer protects its generation.
    let _hung = engine
        .snapshots()
        .lease(nb, "t", 4, "hung", Duration::from_millis(1));
    std::thread::sleep(Duration::from_millis(5));
    set(&engine, nb, 0, 1);
    engine.flush_all();
    assert!(!tables_dir(&engine).join("t.4.parquet").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_makes_an_old_generation_the_newest_version() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = engine(tmp.path(), |c| c.debounce_ms = 600_000);
    let nb = table(&engine, 10).await;
    set(&engine, nb, 0, 500);
    engine.flush_all();
    let info = engine.restore_generation(nb, "t", 1).unwrap();
    assert_eq!(info.version, 3);
    let batches = engine
        .query(nb, "SELECT n FROM t WHERE n = 500")
        .await
        .unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 0);
    engine.flush_all();
    assert_eq!(engine.table_history(nb, "t").unwrap()[0].version, 3);
    let err = engine.restore_generation(nb, "t", 99).unwrap_err();
    assert_eq!(err.code(), crate::ErrorCode::GenerationNotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_newest_generation_opens_the_one_before_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let nb = {
        let engine = engine(tmp.path(), |c| c.debounce_ms = 600_000);
        let nb = table(&engine, 1000).await;
        set(&engine, nb, 0, -5);
        engine.shutdown();
        nb
    };
    let dir = tmp.path().join("workspace/snap.quire").join(TABLES_DIR);
    let newest = dir.join("t.2.parquet");
    let len = std::fs::metadata(&newest).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&newest)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    // Leftovers of a crash: a half-written generation and an uncommitted complete one.
    std::fs::write(dir.join("t.3.parquet.tmp"), b"half").unwrap();
    std::fs::copy(dir.join("t.1.parquet"), dir.join("t.9.parquet")).unwrap();

    let sink = Arc::new(crate::events::testing::RecordingSink::default());
    let engine = Engine::open(
        Config::default(),
        EnginePaths {
            data_dir: tmp.path().to_path_buf(),
            config_dir: None,
        },
        sink.clone(),
    )
    .unwrap();
    assert!(!dir.join("t.3.parquet.tmp").exists(), "swept at startup");
    let info = engine.tables(nb).unwrap();
    assert_eq!(info[0].version, 1, "opened generation 1");
    assert!(
        !dir.join("t.9.parquet").exists(),
        "uncommitted generation removed"
    );
    engine.flush_events(); // the notice is critical, but still delivered by the batcher's thread
    let notice = sink.events().into_iter().find_map(|e| match e {
        crate::events::EngineEvent::TableNotice { message, .. } => Some(message),
        _ => None,
    });
    let notice = notice.expect("the user is told");
    assert!(notice.contains("generation 1"), "{notice}");
}

/// The crash harness killed a child once between its first generation's rename and its first
/// manifest: `open` took the missing manifest for a lost one and rebuilt the uncommitted table
/// from the file, with a warning. A folder's first generation now commits against a manifest
/// already on disk, so such a file is one no manifest names, removed at the next open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folders_first_generation_is_written_with_a_manifest_already_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = Arc::new(engine(tmp.path(), |c| c.debounce_ms = 50));
    let nb = engine.create_notebook("Snap").unwrap().id;
    engine.snapshots().faults().arm(Fault::SlowRowGroups(300));
    let saving = {
        let engine = engine.clone();
        tokio::spawn(async move {
            engine
                .save_query_as_table(nb, "SELECT value AS n FROM generate_series(1, 300000)", "t")
                .await
        })
    };
    let dir = tables_dir(&engine);
    wait_until("the first generation being written", || {
        dir.is_dir()
            && files(&dir)
                .iter()
                .any(|f| f.ends_with(".tmp") && f.contains(".parquet"))
    });
    assert!(
        dir.join(super::manifest::FILE_NAME).exists(),
        "no manifest while the first generation is written: {:?}",
        files(&dir)
    );
    engine.snapshots().faults().arm(Fault::SlowRowGroups(0));
    saving.await.unwrap().unwrap();
    // And a generation file no manifest names is removed, with no warning.
    let opened = super::store::open(&tmp.path().join("workspace/snap.quire")).unwrap();
    assert!(opened.warnings.is_empty(), "{:?}", opened.warnings);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_version_supersedes_a_write_in_flight() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = engine(tmp.path(), |c| c.debounce_ms = 50);
    let nb = table(&engine, 300_000).await; // three row groups
    engine.snapshots().faults().arm(Fault::SlowRowGroups(400));
    set(&engine, nb, 0, 1);
    wait_until("the first write", || {
        status(&engine, nb).status == SaveState::Saving
    });
    set(&engine, nb, 1, 2);
    // After the quiet window the planner cancels the write of version 2 between row groups and
    // writes version 3 instead.
    std::thread::sleep(Duration::from_millis(300));
    engine.snapshots().faults().arm(Fault::SlowRowGroups(0));
    wait_until("the newest version", || {
        status(&engine, nb).saved_version == 3
    });
    let versions: Vec<u64> = engine
        .table_history(nb, "t")
        .unwrap()
        .iter()
        .map(|g| g.version)
        .collect();
    assert_eq!(
        versions,
        [3, 1],
        "version 2 was never committed: it was superseded"
    );
}

async fn first_n(engine: &Engine, nb: NotebookId) -> i64 {
    let bytes = engine.page(nb, "t", None, 0, 1).await.unwrap();
    let mut reader =
        datafusion::arrow::ipc::reader::StreamReader::try_new(&bytes[..], None).unwrap();
    let batch = reader.next().unwrap().unwrap();
    batch
        .column(0)
        .as_any()
        .downcast_ref::<datafusion::arrow::array::Int64Array>()
        .unwrap()
        .value(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_work_names_what_a_close_would_wait_for_and_settle_writes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = engine(tmp.path(), |c| c.debounce_ms = 60_000);
    let nb = table(&engine, 1000).await;
    engine.flush_all();
    assert!(
        engine.pending_work().is_empty(),
        "a fresh flush leaves nothing"
    );

    set(&engine, nb, 0, 4242);
    let cell = engine
        .notebooks()
        .add_cell(
            nb,
            crate::notebooks::CellKind::Markdown,
            None,
            "# note".into(),
        )
        .unwrap();
    let pending = engine.pending_work();
    assert_eq!(pending.tables.len(), 1, "{pending:?}");
    assert_eq!(pending.tables[0].table, "t");
    assert_eq!(pending.notebooks.len(), 1);
    assert_eq!(pending.notebooks[0].id, nb);

    let before = engine.metrics_report().totals;
    let report = engine.settle();
    assert_eq!(report.tables.saved, 1);
    assert!(engine.pending_work().is_empty());
    let after = engine.metrics_report().totals;
    assert_eq!(after.snapshots, before.snapshots + 1);
    assert!(after.content_writes >= before.content_writes + 2);
    assert!(after.fsyncs > before.fsyncs);
    assert!(files(&tables_dir(&engine)).contains(&"t.2.parquet".to_string()));
    let on_disk =
        std::fs::read_to_string(engine.workspace().join("snap.quire/notebook.json")).unwrap();
    assert!(
        on_disk.contains(&cell.id.to_string()),
        "the cell is on disk"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_without_waiting_skips_the_snapshot_and_the_journal_brings_the_edit_back() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let engine = engine(tmp.path(), |c| c.debounce_ms = 60_000);
        let nb = table(&engine, 1000).await;
        set(&engine, nb, 0, 777);
        let report = engine.shutdown_without_waiting();
        assert_eq!(report.tables.saved, 0, "no snapshot was waited for");
        assert_eq!(
            files(&tables_dir(&engine)),
            ["manifest.json", "t.1.parquet"],
            "the committed generation stays; no temp file, no new generation"
        );
        // A second shutdown (RunEvent::Exit after the prompt) does not write it either.
        assert_eq!(engine.shutdown().tables.saved, 0);
        assert_eq!(files(&tables_dir(&engine)).len(), 2);
    }
    let engine = engine(tmp.path(), |_| {});
    let nb = engine.list_notebooks()[0].id;
    assert_eq!(first_n(&engine, nb).await, 777, "replayed from the journal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_without_waiting_stops_a_running_snapshot_and_removes_its_temp_file() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = engine(tmp.path(), |c| c.debounce_ms = 10);
    let nb = table(&engine, 200_000).await;
    engine.snapshots().faults().arm(Fault::SlowRowGroups(300));
    set(&engine, nb, 0, 555);
    wait_until("the snapshot to start", || {
        status(&engine, nb).status == SaveState::Saving
    });
    let started = Instant::now();
    engine.shutdown_without_waiting();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "it did not wait for the write"
    );
    assert_eq!(
        files(&tables_dir(&engine)),
        ["manifest.json", "t.1.parquet"],
        "the cancelled write removed its temp file before shutdown returned"
    );
}

/// Fills every background slot of the engine's queue until the token is cancelled, so the
/// next snapshot waits in the queue instead of running.
fn hold_background_slots(engine: &Engine) -> tokio_util::sync::CancellationToken {
    let release = tokio_util::sync::CancellationToken::new();
    for _ in 0..16 {
        let release = release.clone();
        let _ = engine.scheduler().submit(
            Priority::Background,
            JobKind::Other,
            None,
            move |_| async move {
                release.cancelled().await;
                Ok(())
            },
        );
    }
    release
}

/// Does `work` on another thread, so a deadlocked engine fails the test instead of hanging it.
fn bounded(engine: &Arc<Engine>, what: &str, work: impl FnOnce(&Engine) + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    let watched = engine.clone();
    std::thread::spawn(move || {
        work(&watched);
        let _ = tx.send(());
    });
    if rx.recv_timeout(Duration::from_secs(20)).is_err() {
        // Dropping a deadlocked engine would hang too.
        std::mem::forget(engine.clone());
        panic!("timed out waiting for {what}: the snapshot planner is stuck");
    }
}

fn within(engine: &Arc<Engine>, what: &str, done: impl Fn(&Engine) -> bool + Send + 'static) {
    bounded(engine, what, move |e| {
        while !done(e) {
            std::thread::sleep(Duration::from_millis(10));
        }
    });
}

/// An engine whose table `t` has version 2 queued for saving behind held background slots;
/// cancelling the token lets the queue run again.
async fn a_write_waiting_in_the_queue(
    data: &Path,
) -> (Arc<Engine>, NotebookId, tokio_util::sync::CancellationToken) {
    let engine = Arc::new(engine(data, |c| c.debounce_ms = 50));
    let nb = table(&engine, 1000).await;
    let release = hold_background_slots(&engine);
    set(&engine, nb, 0, 1);
    within(&engine, "version 2 to be queued", move |e| {
        status(e, nb).status == SaveState::Saving
    });
    (engine, nb, release)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_version_supersedes_a_write_still_waiting_in_the_queue() {
    let tmp = tempfile::tempdir().unwrap();
    let (engine, nb, release) = a_write_waiting_in_the_queue(tmp.path()).await;
    // Version 3 supersedes the queued write of version 2: cancelling a job that has not
    // started drops it on the planner's thread, whose cleanup needs the planner's lock.
    set(&engine, nb, 1, 2);
    std::thread::sleep(Duration::from_millis(300));
    release.cancel();
    within(&engine, "version 3 to be saved", move |e| {
        status(e, nb).saved_version == 3
    });
    let versions: Vec<u64> = engine
        .table_history(nb, "t")
        .unwrap()
        .iter()
        .map(|g| g.version)
        .collect();
    assert_eq!(versions, [3, 1], "version 2 was superseded before it ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_notebook_whose_write_waits_in_the_queue_leaves_the_planner_working() {
    let tmp = tempfile::tempdir().unwrap();
    let (engine, doomed, release) = a_write_waiting_in_the_queue(tmp.path()).await;
    bounded(&engine, "the notebook to be deleted", move |e| {
        e.delete_notebook(doomed).unwrap();
    });
    release.cancel();
    // The planner still saves other notebooks' tables.
    let nb = engine.create_notebook("Kept").unwrap().id;
    engine
        .save_query_as_table(nb, "SELECT value AS n FROM generate_series(1, 10)", "t")
        .await
        .unwrap();
    set(&engine, nb, 0, 7);
    within(&engine, "the other notebook's edit to be saved", move |e| {
        status(e, nb).saved_version == 2
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_table_is_gone_from_sql_disk_and_journal_and_its_name_is_free() {
    let tmp = tempfile::tempdir().unwrap();
    let nb = {
        // A long debounce: the edit below is only in the journal when the table is deleted.
        let engine = engine(tmp.path(), |c| c.debounce_ms = 600_000);
        let nb = table(&engine, 100).await;
        set(&engine, nb, 0, -1);
        engine.delete_table(nb, "t").unwrap();
        assert!(engine.tables(nb).unwrap().is_empty());
        let err = engine.query(nb, "SELECT * FROM t").await.unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::SqlInvalid, "{err}");
        assert_eq!(
            files(&tables_dir(&engine)),
            ["manifest.json"],
            "every generation file is removed"
        );
        let err = engine.delete_table(nb, "t").unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::TableNotFound);
        // The name is free, and the deleted table's journaled edit never reaches the new one.
        engine
            .save_query_as_table(nb, "SELECT 7 AS n, 0 AS twice", "t")
            .await
            .unwrap();
        engine.shutdown_without_waiting();
        nb
    };
    let engine = engine(tmp.path(), |_| {});
    let batches = engine.query(nb, "SELECT n FROM t").await.unwrap();
    let p = crate::tables::QueryPreview::from_batches(&batches, Duration::ZERO);
    assert_eq!(p.rows, [[Some("7".to_string())]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_table_whose_write_waits_in_the_queue_does_not_let_it_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let (engine, nb, release) = a_write_waiting_in_the_queue(tmp.path()).await;
    bounded(&engine, "the table to be deleted", move |e| {
        e.delete_table(nb, "t").unwrap();
    });
    release.cancel();
    engine.flush_all();
    assert_eq!(files(&tables_dir(&engine)), ["manifest.json"]);
    let manifest = std::fs::read_to_string(tables_dir(&engine).join("manifest.json")).unwrap();
    assert!(!manifest.contains("\"t\""), "{manifest}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_table_keeps_its_unsaved_edits_under_the_new_name_across_a_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let nb = {
        let engine = engine(tmp.path(), |c| c.debounce_ms = 600_000);
        let nb = table(&engine, 100).await;
        set(&engine, nb, 0, -1);
        let info = engine.rename_table(nb, "t", "numbers").unwrap();
        assert_eq!(info.rows, 100);
        let names: Vec<String> = engine
            .tables(nb)
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, ["numbers"]);
        let err = engine.rename_table(nb, "numbers", "select").unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::InvalidTableName);
        engine.shutdown();
        nb
    };
    let engine = engine(tmp.path(), |_| {});
    let batches = engine
        .query(nb, "SELECT n FROM numbers WHERE n < 0")
        .await
        .unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    assert!(engine.query(nb, "SELECT * FROM t").await.is_err());
}

/// `SELECT *` over a join of two tables that share column names, kept as a table: the table
/// must be queryable and each column keeps its own values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_join_with_repeated_column_names_is_queryable() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = engine(tmp.path(), |_| {});
    let nb = engine.create_notebook("Snap").unwrap().id;
    engine
        .save_query_as_table(
            nb,
            "SELECT 2013 AS year, 'N1' AS tailnum, 1 AS flight",
            "flights",
        )
        .await
        .unwrap();
    engine
        .save_query_as_table(
            nb,
            "SELECT 1999 AS year, 'N1' AS tailnum, 'Boeing' AS maker",
            "planes",
        )
        .await
        .unwrap();
    let info = engine
        .save_query_as_table(
            nb,
            "SELECT * FROM flights f JOIN planes p ON f.tailnum = p.tailnum",
            "joined",
        )
        .await
        .unwrap();
    let names: Vec<&str> = info.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["year", "tailnum", "flight", "year_2", "tailnum_2", "maker"]
    );
    let batches = engine
        .query(nb, "SELECT year, year_2, maker FROM joined")
        .await
        .unwrap();
    let p = crate::tables::QueryPreview::from_batches(&batches, Duration::ZERO);
    assert_eq!(
        p.rows,
        [[
            Some("2013".to_string()),
            Some("1999".to_string()),
            Some("Boeing".to_string())
        ]]
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tables_folder_that_is_a_link_is_never_swept_or_cleaned_through() {
    let tmp = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    // Files a sweep or the removal of unnamed generations would delete, were it followed.
    for name in [
        "t.9.parquet",
        "t.9.parquet.tmp",
        ".quire-x.tmp",
        "manifest.json",
    ] {
        std::fs::write(elsewhere.path().join(name), b"someone else's").unwrap();
    }
    let dir = {
        let engine = engine(tmp.path(), |_| {});
        table(&engine, 10).await;
        engine.flush_all();
        tables_dir(&engine)
    };
    std::fs::remove_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), &dir).unwrap();
    let engine = engine(tmp.path(), |_| {});
    let nb = engine.list_notebooks()[0].id;
    let err = engine.tables(nb).unwrap_err();
    assert!(err.to_string().contains("link"), "{err}");
    let mut left = files(elsewhere.path());
    left.sort();
    assert_eq!(
        left,
        [
            ".quire-x.tmp",
            "manifest.json",
            "t.9.parquet",
            "t.9.parquet.tmp"
        ],
        "nothing in the link's target was touched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuilt_table_list_replays_the_journal_onto_the_version_the_file_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let nb = {
        let engine = engine(tmp.path(), |c| c.debounce_ms = 600_000);
        let nb = table(&engine, 10).await;
        for v in 2..=5 {
            set(&engine, nb, 1, v);
        }
        engine.flush_all(); // generation 2 holds version 5
        assert_eq!(set(&engine, nb, 0, 777), 6); // only in the journal
        engine.shutdown_without_waiting();
        nb
    };
    let manifest = tmp
        .path()
        .join("workspace")
        .join("snap.quire")
        .join(TABLES_DIR)
        .join("manifest.json");
    std::fs::remove_file(&manifest).unwrap();
    let engine = engine(tmp.path(), |_| {});
    let tables = engine.tables(nb).unwrap();
    assert_eq!(
        tables[0].version, 6,
        "the journal's edit applies onto version 5"
    );
    assert_eq!(first_n(&engine, nb).await, 777);
}

#[test]
fn a_table_list_rebuilt_beside_a_hostile_copy_opens_the_good_one_at_once() {
    let folder = crate::powercut::scenarios::TableFolder::new(5).unwrap();
    folder.commit(5).unwrap();
    let tables = folder.notebook_dir.join(TABLES_DIR);
    // The footer the fuzzer found spinning the parquet crate's Thrift reader, as a newer copy.
    let hostile = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../fuzz/regressions/import_parquet/timeout-75dcc11b62c485aed426bf60fec44b55be9b4ce3",
    );
    std::fs::copy(&hostile, tables.join(file::file_name("trips", 9))).unwrap();
    std::fs::remove_file(tables.join(manifest::FILE_NAME)).unwrap();
    let started = Instant::now();
    let opened = store::open(&folder.notebook_dir).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "rebuilding took {:?}",
        started.elapsed()
    );
    let t = &opened.tables[0];
    assert_eq!(t.version.version, 5);
    assert!(
        t.fallback.is_some(),
        "the user is told the newest copy was damaged"
    );
}

#[test]
fn a_newest_copy_whose_dictionary_header_claims_the_impossible_is_damaged_and_the_one_before_opens()
{
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
    let folder = crate::powercut::scenarios::TableFolder::new(5).unwrap();
    folder.commit(1).unwrap();
    folder.commit(2).unwrap();
    let newest = folder
        .notebook_dir
        .join(TABLES_DIR)
        .join(file::file_name("trips", 2));
    // A flipped bit in the label column's dictionary page header: it now claims 63 values
    // (the largest one-byte count) in a page holding one. The parquet crate sizes what it
    // decodes by that claim; the page walk refuses it first.
    let meta = SerializedFileReader::new(std::fs::File::open(&newest).unwrap())
        .unwrap()
        .metadata()
        .clone();
    let label = meta.row_group(0).column(1);
    let at = label.dictionary_page_offset().expect("a dictionary page") as usize;
    let mut bytes = std::fs::read(&newest).unwrap();
    // PageHeader field 7 (DictionaryPageHeader, compact protocol: delta 4, struct) then its
    // field 1 (num_values, i32): the zigzag varint after them.
    let header = &bytes[at..at + 64];
    let field = header
        .windows(2)
        .position(|w| w == [0x4c, 0x15])
        .expect("a dictionary page header");
    assert_eq!(header[field + 2], 2, "one value, zigzag encoded");
    bytes[at + field + 2] = 126;
    std::fs::write(&newest, bytes).unwrap();

    let opened = store::open(&folder.notebook_dir).unwrap();
    let t = &opened.tables[0];
    assert_eq!(t.version.version, 1, "the copy before opens");
    let told = t.fallback.as_deref().unwrap_or_default();
    assert!(told.contains("dictionary page claims 63 values"), "{told}");
}

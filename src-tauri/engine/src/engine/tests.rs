//! Scenario tests of the whole engine: open, notebooks, imports, edits, crashes.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::test_support::{csv_file, open};
use super::*;
use crate::config::Config;
use crate::events::testing::RecordingSink;
use crate::events::EngineEvent;
use crate::notebooks::CellKind;
use crate::notebooks::SaveState;
use crate::queue::Priority;
use crate::tables::diff;
use crate::tables::edit::CellEdit;
use crate::tables::transform::Transform;
use crate::tables::TableError;
use crate::tasks::{TaskKind, TaskStatus};
use crate::HasCode;

#[test]
fn opens_default_workspace_and_sweeps_orphans() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("workspace");
    std::fs::create_dir_all(&ws).unwrap();
    std::fs::write(ws.join(".quire-crashed.tmp"), b"half").unwrap();
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    assert_eq!(engine.workspace(), ws.canonicalize().unwrap());
    assert!(!ws.join(".quire-crashed.tmp").exists());
}

#[test]
fn creating_a_notebook_is_lazy_and_emits_an_event() {
    let tmp = tempfile::tempdir().unwrap();
    let sink = Arc::new(RecordingSink::default());
    let engine = open(tmp.path(), sink.clone());
    let nb = engine.create_notebook("Trips").unwrap();
    engine.flush_events();
    let folders = crate::notebooks::tests_support::folders(engine.workspace());
    assert!(
        folders.is_empty(),
        "lazy creation touches no disk: {folders:?}"
    );
    assert_eq!(engine.list_notebooks(), vec![nb.clone()]);
    // The metrics summary that rides along is not part of what this test is about.
    let events: Vec<_> = sink
        .events()
        .into_iter()
        .filter(|e| !matches!(e, EngineEvent::Metrics(_)))
        .collect();
    assert_eq!(events, vec![EngineEvent::NotebookCreated { notebook: nb }]);
    assert_eq!(engine.metrics().disk_writes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notebook_from_elsewhere_runs_nothing_until_a_cell_is_run() {
    let (here, elsewhere) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let src = tempfile::tempdir().unwrap();
    let file = csv_file(src.path(), 100);
    {
        let engine = open(elsewhere.path(), Arc::new(crate::events::NullSink));
        let nb = engine.create_notebook("Shared").unwrap();
        let cancel = CancellationToken::new();
        engine
            .import_file(nb.id, ImportRequest::file(&file), &|_| {}, &cancel)
            .unwrap();
        let cell = engine
            .notebooks()
            .add_cell(
                nb.id,
                CellKind::Sql,
                None,
                "SELECT count(*) FROM trips_2026".into(),
            )
            .unwrap();
        engine.run_cell(nb.id, cell.id).await.unwrap();
        engine.shutdown();
    }
    // The folder arrives from another machine: copied into this workspace.
    let from = elsewhere.path().join("workspace/shared.quire");
    let to = here.path().join("workspace/shared.quire");
    std::fs::create_dir_all(to.join("tables")).unwrap();
    for name in [
        "notebook.json",
        "tables/manifest.json",
        "tables/trips_2026.1.parquet",
    ] {
        std::fs::copy(from.join(name), to.join(name)).unwrap();
    }
    let engine = open(here.path(), Arc::new(crate::events::NullSink));
    let nb = engine
        .list_notebooks()
        .pop()
        .expect("the copied notebook is listed");
    assert_eq!(
        engine.tables(nb.id).unwrap()[0].rows,
        100,
        "its tables open"
    );
    assert!(
        engine.list_tasks(None, 100).unwrap().is_empty(),
        "nothing was queued"
    );
    let started: u64 = engine.queue_stats().started.iter().sum();
    assert_eq!(started, 0, "nothing ran");
}

#[test]
fn bad_title_is_typed_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let err = engine.create_notebook("../../etc").unwrap_err();
    assert_eq!(err.code(), crate::ErrorCode::InvalidTitle);
    assert!(engine.list_notebooks().is_empty());
}

#[tokio::test]
async fn running_a_cell_hydrates_its_notebook_first() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.notebooks.auto_flush = false; // only the run may write
    let engine = Engine::open(
        config,
        EnginePaths {
            data_dir: tmp.path().to_path_buf(),
            config_dir: None,
        },
        Arc::new(crate::events::NullSink),
    )
    .unwrap();
    let nb = engine.create_notebook("Runs").unwrap();
    let cell = engine
        .notebooks()
        .add_cell(nb.id, CellKind::Sql, None, "SELECT 6 * 7 AS answer".into())
        .unwrap();
    let out = engine.run_cell(nb.id, cell.id).await.unwrap();
    assert!(
        matches!(engine.run_cell(nb.id, crate::notebooks::CellId(uuid::Uuid::nil())).await, Err(e) if e.code() == crate::ErrorCode::CellNotFound)
    );
    let CellOutput::Table { preview } = out else {
        panic!("{out:?}")
    };
    assert_eq!(preview.rows, vec![vec![Some("42".to_string())]]);
    let summary = engine.notebooks().summary(nb.id).unwrap();
    assert_eq!(summary.status, SaveState::Saved);
    let file = engine.workspace().join("runs.quire/notebook.json");
    assert!(std::fs::read_to_string(file)
        .unwrap()
        .contains("SELECT 6 * 7"));
}

#[tokio::test]
async fn an_imported_table_is_saved_queryable_and_comes_back() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let file = csv_file(src.path(), 1000);
    let data = tmp.path().to_path_buf();
    let nb = {
        let engine = open(&data, Arc::new(crate::events::NullSink));
        let nb = engine.create_notebook("Trips").unwrap();
        let cancel = CancellationToken::new();
        let out = engine
            .import_file(nb.id, ImportRequest::file(&file), &|_| {}, &cancel)
            .unwrap();
        assert_eq!(
            (out.table.name.as_str(), out.table.rows),
            ("trips_2026", 1000)
        );
        assert!(engine
            .workspace()
            .join("trips.quire/tables/trips_2026.1.parquet")
            .is_file());
        let again = engine
            .import_file(nb.id, ImportRequest::file(&file), &|_| {}, &cancel)
            .unwrap_err();
        assert_eq!(again.code(), crate::ErrorCode::TableExists);

        let batches = engine
            .query(
                nb.id,
                "SELECT city, count(*) AS n FROM trips_2026 GROUP BY city ORDER BY city",
            )
            .await
            .unwrap();
        let p = QueryPreview::from_batches(&batches, std::time::Duration::ZERO);
        assert_eq!(
            p.rows[0],
            vec![Some("Lyon".to_string()), Some("334".to_string())]
        );
        let kept = engine
            .save_query_as_table(
                nb.id,
                "SELECT * FROM trips_2026 WHERE city = 'Nice'",
                "nice",
            )
            .await
            .unwrap();
        assert_eq!(kept.rows, 333);
        let page = engine
            .page(nb.id, "trips_2026", None, 998, 10)
            .await
            .unwrap();
        let mut reader =
            datafusion::arrow::ipc::reader::StreamReader::try_new(&page[..], None).unwrap();
        assert_eq!(reader.next().unwrap().unwrap().num_rows(), 2);
        engine.shutdown();
        nb.id
    };
    // A new process: the tables load from the notebook's folder on first use.
    let engine = open(&data, Arc::new(crate::events::NullSink));
    let names: Vec<_> = engine
        .tables(nb)
        .unwrap()
        .into_iter()
        .map(|t| (t.name, t.rows))
        .collect();
    assert_eq!(
        names,
        [("nice".to_string(), 333), ("trips_2026".to_string(), 1000)]
    );
    let batches = engine
        .query(nb, "SELECT sum(amount) FROM trips_2026")
        .await
        .unwrap();
    assert_eq!(
        QueryPreview::from_batches(&batches, std::time::Duration::ZERO).rows[0][0].as_deref(),
        Some("500000.0")
    );
}

#[test]
fn a_cancelled_or_failed_import_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let file = csv_file(src.path(), 200_000);
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Cancel").unwrap();
    let cancel = CancellationToken::new();
    let err = engine
        .import_file(
            nb.id,
            ImportRequest::file(&file).named("trips"),
            &|_| cancel.cancel(),
            &cancel,
        )
        .unwrap_err();
    assert_eq!(err.code(), crate::ErrorCode::Cancelled);
    assert!(engine.tables(nb.id).unwrap().is_empty());
    assert!(
        !engine.workspace().join("cancel.quire").exists(),
        "nothing was written"
    );

    let bad = src.path().join("bad.csv");
    std::fs::write(&bad, "a,b\n1,2\n3\n").unwrap();
    let err = engine
        .import_file(
            nb.id,
            ImportRequest::file(&bad),
            &|_| {},
            &CancellationToken::new(),
        )
        .unwrap_err();
    assert_eq!(err.code(), crate::ErrorCode::ImportFailed);
    assert!(engine.tables(nb.id).unwrap().is_empty());
    let err = engine
        .import_file(
            nb.id,
            ImportRequest::file(&bad).named("Not A Name"),
            &|_| {},
            &CancellationToken::new(),
        )
        .unwrap_err();
    assert_eq!(err.code(), crate::ErrorCode::InvalidTableName);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grid_pages_are_served_while_a_long_query_runs_and_stale_ones_are_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let file = csv_file(src.path(), 10_000);
    let engine = Arc::new(open(tmp.path(), Arc::new(crate::events::NullSink)));
    let nb = engine.create_notebook("Busy").unwrap().id;
    engine
        .import_file(
            nb,
            ImportRequest::file(&file).named("t"),
            &|_| {},
            &CancellationToken::new(),
        )
        .unwrap();

    // A query that would run for minutes holds a worker...
    let cell = engine.notebooks().add_cell(nb, CellKind::Sql, None, "SELECT a.value * b.value FROM generate_series(1, 100000) a CROSS JOIN generate_series(1, 100000) b".into()).unwrap();
    let cancel = CancellationToken::new();
    let busy = {
        let (engine, cancel) = (engine.clone(), cancel.clone());
        tokio::spawn(async move {
            engine
                .run_cell_with(nb, cell.id, Arc::new(|_| {}), &cancel)
                .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    // ...and a grid page still comes back at once.
    let started = Instant::now();
    let page = engine.page(nb, "t", None, 9_990, 10).await.unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let mut reader =
        datafusion::arrow::ipc::reader::StreamReader::try_new(&page[..], None).unwrap();
    assert_eq!(reader.next().unwrap().unwrap().num_rows(), 10);
    cancel.cancel();
    assert_eq!(
        busy.await.unwrap().unwrap_err().code(),
        crate::ErrorCode::Cancelled
    );

    // A burst of page requests from one grid: the newest are served, the stale may be dropped.
    let requests: Vec<_> = (0..40u64)
        .map(|i| {
            let engine = engine.clone();
            tokio::spawn(async move { engine.page(nb, "t", None, i * 100, 100).await })
        })
        .collect();
    let mut served = 0;
    for r in requests {
        match r.await.unwrap() {
            Ok(_) => served += 1,
            Err(e) => assert_eq!(e.code(), crate::ErrorCode::Cancelled, "{e}"),
        }
    }
    assert!(served >= 3, "the newest requests are served: {served}");
    let stats = engine.queue_stats();
    assert_eq!(
        stats.started[0] as usize + stats.dropped_stale as usize,
        41,
        "{stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transform_that_changes_nothing_makes_no_version_and_a_retyped_column_is_said() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let file = csv_file(src.path(), 300);
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Noop").unwrap().id;
    let none = CancellationToken::new();
    engine
        .import_file(nb, ImportRequest::file(&file).named("t"), &|_| {}, &none)
        .unwrap();
    let v1 = engine.ledger.version(nb, "t").unwrap();
    // The cities have no spaces to trim: nothing changes, so no version and nothing to undo.
    let trim = Transform::SetColumn {
        column: "city".into(),
        expr: "trim(city)".into(),
    };
    // Previewed first, as the dialog does: applying then reuses the preview's finding.
    let preview = engine
        .preview_transform(nb, "t", &trim, Arc::new(|_| {}), &none)
        .await
        .unwrap();
    assert_eq!(preview.summary.changed, 0);
    let same = engine
        .apply_transform(nb, "t", &trim, Arc::new(|_| {}), &none)
        .await
        .unwrap();
    assert_eq!(same.version, v1.version);
    assert_eq!(engine.ledger.version(nb, "t").unwrap().version, v1.version);
    assert!(!engine.table_versions(nb, "t").unwrap().can_undo);

    // Whole numbers made text read the same in every row, but the column's type changes: the
    // preview says so, and applying it is a change.
    let text = Transform::SetColumn {
        column: "id".into(),
        expr: "CAST(id AS VARCHAR)".into(),
    };
    let preview = engine
        .preview_transform(nb, "t", &text, Arc::new(|_| {}), &none)
        .await
        .unwrap();
    assert_eq!(preview.summary.changed, 0);
    assert_eq!(
        preview.summary.columns_retyped,
        vec![(
            "id".to_string(),
            "Int64".to_string(),
            "Utf8View".to_string()
        )]
    );
    let retyped = engine
        .apply_transform(nb, "t", &text, Arc::new(|_| {}), &none)
        .await
        .unwrap();
    assert!(retyped.version > v1.version);
    assert!(engine.table_versions(nb, "t").unwrap().can_undo);

    // A table with a list column: the diff cannot compare lists, which must not stop a
    // transform from being applied (the no-change check runs a diff before every apply).
    let tags = src.path().join("tags.ndjson");
    std::fs::write(
        &tags,
        "{\"id\":1,\"tags\":[\"a\"]}\n{\"id\":2,\"tags\":[\"b\"]}\n",
    )
    .unwrap();
    engine
        .import_file(nb, ImportRequest::file(&tags).named("tags"), &|_| {}, &none)
        .unwrap();
    let keep = Transform::FilterRows {
        predicate: "id = 1".into(),
    };
    let preview = engine
        .preview_transform(nb, "tags", &keep, Arc::new(|_| {}), &none)
        .await
        .unwrap();
    assert_eq!(preview.summary.removed, 1);
    let kept = engine
        .apply_transform(nb, "tags", &keep, Arc::new(|_| {}), &none)
        .await
        .unwrap();
    assert_eq!(kept.rows, 1);
}

/// A table named almost so is suggested, as a column is (analyst session: "There is no table
/// stock in this notebook" for `stocks`); a name far from every table gets no guess.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misspelt_table_name_is_answered_with_the_closest_table() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let file = csv_file(src.path(), 10);
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Names").unwrap().id;
    let none = CancellationToken::new();
    engine
        .import_file(
            nb,
            ImportRequest::file(&file).named("stocks"),
            &|_| {},
            &none,
        )
        .unwrap();
    let said = engine.query(nb, "SELECT * FROM stock").await.unwrap_err();
    assert!(
        said.to_string()
            .contains("there is no table stock in this notebook: did you mean stocks?"),
        "{said}"
    );
    let said = engine.query(nb, "SELECT * FROM flights").await.unwrap_err();
    assert!(!said.to_string().contains("did you mean"), "{said}");
}

/// A type change that loses something is a change of those rows: 11.9 cut to 11 read back as
/// 11.0 is not 11.9 (analyst session: "No differences" for a cast that cut 73 of 83 values).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_type_change_counts_the_rows_whose_values_it_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let file = src.path().join("sleep.csv");
    std::fs::write(&file, "awake,code\n11.9,011\n12.0,12\n9.6,7\n,8\n").unwrap();
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Retype").unwrap().id;
    let none = CancellationToken::new();
    engine
        .import_file(nb, ImportRequest::file(&file).named("t"), &|_| {}, &none)
        .unwrap();
    let changed = |column: &str, expr: &str| {
        let t = Transform::SetColumn {
            column: column.into(),
            expr: expr.into(),
        };
        let (engine, none) = (&engine, &none);
        async move {
            let preview = engine
                .preview_transform(nb, "t", &t, Arc::new(|_| {}), none)
                .await
                .unwrap();
            let rows: Vec<u64> = preview.sample.rows.iter().map(|r| r.row_id).collect();
            (preview.summary.changed, rows)
        }
    };
    // Cut: 11.9 and 9.6 change, 12.0 and the gap do not.
    let (n, rows) = changed("awake", "CAST(awake AS BIGINT)").await;
    assert_eq!((n, rows.len()), (2, 2));
    // Rounded: the same two rows change (to 12 and 10).
    assert_eq!(changed("awake", "CAST(round(awake) AS BIGINT)").await.0, 2);
    // Whole numbers made text: "011" was read as 11, which reads back as "11" in every row.
    assert_eq!(changed("code", "CAST(code AS VARCHAR)").await.0, 0);
    assert_eq!(changed("awake", "CAST(awake AS DOUBLE)").await.0, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_redo_transform_preview_and_diff_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let file = csv_file(src.path(), 3000);
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Edits").unwrap().id;
    let none = CancellationToken::new();
    engine
        .import_file(nb, ImportRequest::file(&file).named("t"), &|_| {}, &none)
        .unwrap();
    let v1 = engine.ledger.version(nb, "t").unwrap();
    let edit = |row_id, value: &str| CellEdit {
        row_id,
        column: "city".into(),
        value: Some(value.into()),
    };
    let v2 = engine.edit_cells(nb, "t", &[edit(1, " Lyon  ")]).unwrap();
    let upper = Transform::SetColumn {
        column: "city".into(),
        expr: "upper(trim(city))".into(),
    };
    let preview = engine
        .preview_transform(nb, "t", &upper, Arc::new(|_| {}), &none)
        .await
        .unwrap();
    assert_eq!(preview.summary.changed, 3000, "every city changes case");
    assert_eq!(
        engine.ledger.version(nb, "t").unwrap().version,
        v2.version,
        "a preview changes nothing"
    );
    let applied = engine
        .apply_transform(nb, "t", &upper, Arc::new(|_| {}), &none)
        .await
        .unwrap();
    let after = engine.ledger.version(nb, "t").unwrap();
    // The preview's rows are exactly the applied table's rows.
    for row in &preview.sample.rows {
        let at = diff::positions(&after, &[row.row_id]);
        assert_eq!(
            diff::display_rows(&after, &at).unwrap()[0],
            row.new,
            "row {}",
            row.row_id
        );
    }
    assert_eq!(
        preview.sample.rows[1].new.as_ref().unwrap()[1].as_deref(),
        Some("LYON")
    );

    // Undo twice: the imported content again, the very same batches.
    engine.undo_redo(nb, "t", true).unwrap();
    let undone = engine.undo_redo(nb, "t", true).unwrap();
    assert!(undone.version > applied.version, "numbers only grow");
    let now = engine.ledger.version(nb, "t").unwrap();
    assert!(
        Arc::ptr_eq(&now.batches, &v1.batches),
        "undo returns the exact earlier version"
    );
    let versions = engine.table_versions(nb, "t").unwrap();
    assert!(!versions.can_undo && versions.can_redo);
    assert_eq!(versions.items.len(), 3);
    engine.undo_redo(nb, "t", false).unwrap();
    let redone = engine.undo_redo(nb, "t", false).unwrap();
    let now = engine.ledger.version(nb, "t").unwrap();
    assert!(
        Arc::ptr_eq(&now.batches, &after.batches),
        "redo returns the transformed version"
    );

    // Diff the imported version against now, and page it.
    let summary = engine
        .diff_versions(nb, "t", v1.version, redone.version, &none)
        .await
        .unwrap();
    assert_eq!(
        (summary.changed, summary.added, summary.removed),
        (3000, 0, 0)
    );
    assert_eq!(summary.changed_by_column, [("city".to_string(), 3000)]);
    let page = engine
        .diff_page(nb, "t", v1.version, redone.version, 100, 50)
        .await
        .unwrap();
    assert_eq!((page.total, page.rows.len()), (3000, 50));
    assert_eq!(page.rows[0].row_id, 100);
    assert_eq!(page.rows[0].changed, ["city"]);
    assert_eq!(
        page.rows[0].old.as_ref().unwrap()[1].as_deref(),
        Some("Paris")
    );
    assert_eq!(
        page.rows[0].new.as_ref().unwrap()[1].as_deref(),
        Some("PARIS")
    );
    let err = engine
        .diff_versions(nb, "t", 999, redone.version, &none)
        .await
        .unwrap_err();
    assert_eq!(err.code(), crate::ErrorCode::VersionNotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_rebuilds_unsaved_changes_exactly_after_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let file = csv_file(src.path(), 2000);
    let mut config = Config::default();
    config.snapshots.debounce_ms = 3_600_000; // nothing is snapshotted: only the journal
    config.snapshots.max_pending_changes = 1000;
    config.snapshots.max_wait_ms = 3_600_000;
    let paths = EnginePaths {
        data_dir: tmp.path().to_path_buf(),
        config_dir: None,
    };
    let none = CancellationToken::new();
    let (nb, before, expected_version) = {
        let engine = Engine::open(
            config.clone(),
            paths.clone(),
            Arc::new(crate::events::NullSink),
        )
        .unwrap();
        let nb = engine.create_notebook("Journal").unwrap().id;
        engine
            .import_file(nb, ImportRequest::file(&file).named("t"), &|_| {}, &none)
            .unwrap();
        let edit = |row_id, value: &str| CellEdit {
            row_id,
            column: "city".into(),
            value: Some(value.into()),
        };
        engine.edit_cells(nb, "t", &[edit(3, "Metz")]).unwrap();
        engine
            .edit_cells(nb, "t", &[edit(4, "Brest"), edit(5, "Albi")])
            .unwrap();
        engine
            .apply_transform(
                nb,
                "t",
                &Transform::FilterRows {
                    predicate: "id % 10 <> 7".into(),
                },
                Arc::new(|_| {}),
                &none,
            )
            .await
            .unwrap();
        engine.undo_redo(nb, "t", true).unwrap(); // the filter is undone...
        engine.undo_redo(nb, "t", false).unwrap(); // ...and redone
        engine.edit_cells(nb, "t", &[edit(8, "Nancy")]).unwrap();
        let before = engine.ledger.version(nb, "t").unwrap();
        assert_eq!(
            engine.table_history(nb, "t").unwrap().len(),
            1,
            "only the import was saved"
        );
        // A crash: no shutdown, no flush.
        std::mem::forget(engine);
        (nb, before.clone(), before.version)
    };
    // The forgotten engine still holds the workspace lock in this process: take it over
    // the way a new process would, by opening a fresh data dir copy.
    let copy = crate::recovery_model::crash_copy(tmp.path());
    let engine = Engine::open(
        config,
        EnginePaths {
            data_dir: copy.path().to_path_buf(),
            config_dir: None,
        },
        Arc::new(crate::events::NullSink),
    )
    .unwrap();
    let info = engine.tables(nb).unwrap();
    assert_eq!(
        info[0].version, expected_version,
        "replayed to the last acknowledged version"
    );
    let after = engine.ledger.version(nb, "t").unwrap();
    assert_eq!(after.rows, 1800);
    let d = diff::diff(&before, &after, &none).unwrap();
    assert!(
        d.is_empty(),
        "exactly what the user last saw: {:?}",
        d.summary(0, 0)
    );
    // The replayed steps can be undone like any others.
    let versions = engine.table_versions(nb, "t").unwrap();
    assert!(versions.can_undo);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_transform_task_is_retried_from_its_record() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let file = csv_file(src.path(), 300);
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Retry").unwrap().id;
    engine
        .import_file(
            nb,
            ImportRequest::file(&file).named("t"),
            &|_| {},
            &CancellationToken::new(),
        )
        .unwrap();
    let transform = Transform::FilterRows {
        predicate: "id < 100".into(),
    };
    // As if the app had crashed while it ran: recorded, started, never finished.
    let task = engine.tracker().record(
        Some(nb),
        Some("t".into()),
        &crate::tasks::TaskPayload::Transform { transform },
        Priority::UserVisible,
    );
    let id = task.id().unwrap();
    task.start();
    task.finish::<(), Error>(&Err(TableError::Persist("interrupted".into()).into()));
    // The task list's Retry calls this from a command thread, inside the runtime.
    let task = tokio::task::block_in_place(|| engine.retry_task(id)).unwrap();
    assert_eq!(task.status, TaskStatus::Completed);
    assert_eq!(engine.tables(nb).unwrap()[0].rows, 100);
    assert_eq!(task.attempts, 2);
}

#[test]
fn a_second_engine_on_the_same_workspace_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let _first = open(tmp.path(), Arc::new(crate::events::NullSink));
    let second = Engine::open(
        Config::default(),
        EnginePaths {
            data_dir: tmp.path().to_path_buf(),
            config_dir: None,
        },
        Arc::new(crate::events::NullSink),
    );
    assert_eq!(
        second.err().unwrap().code(),
        crate::ErrorCode::WorkspaceLocked
    );
}

#[tokio::test]
async fn a_failed_journal_append_leaves_the_previous_version_and_acknowledges_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let file = csv_file(src.path(), 10);
    let sink = Arc::new(RecordingSink::default());
    let engine = open(tmp.path(), sink.clone());
    let nb = engine.create_notebook("Journal").unwrap().id;
    engine
        .import_file(
            nb,
            ImportRequest::file(&file).named("t"),
            &|_| {},
            &CancellationToken::new(),
        )
        .unwrap();
    engine.flush_all();
    let before = engine.tables(nb).unwrap()[0].version;
    let edit = [CellEdit {
        row_id: 0,
        column: "city".into(),
        value: Some("Rome".into()),
    }];
    // From now on SQLite refuses the journal, as a full disk would.
    let conn = rusqlite::Connection::open(tmp.path().join(crate::tasks::FILE_NAME)).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER refuse BEFORE INSERT ON journal BEGIN SELECT RAISE(FAIL, 'disk full'); END;",
    )
    .unwrap();
    engine.flush_events();
    let seen = sink.events().len();
    let err = engine.edit_cells(nb, "t", &edit).unwrap_err();
    assert!(err.to_string().contains("disk full"), "{err}");
    // Nothing of the edit is visible or due: not to SQL, the table list, the history, the saver.
    assert_eq!(engine.tables(nb).unwrap()[0].version, before);
    assert_eq!(city_of_row_0(&engine, nb).await.as_deref(), Some("Lyon"));
    assert_eq!(engine.table_versions(nb, "t").unwrap().items.len(), 1);
    assert!(engine.pending_tables().is_empty(), "no snapshot is due");
    // Undo has nothing to undo, and its own failed append changes nothing either.
    assert!(!engine.table_versions(nb, "t").unwrap().can_undo);
    engine.flush_events();
    assert!(
        !sink.events()[seen..]
            .iter()
            .any(|e| matches!(e, EngineEvent::TableChanged { .. })),
        "no change was announced"
    );

    // Once the journal takes entries again, the same edit goes through and is announced.
    conn.execute_batch("DROP TRIGGER refuse").unwrap();
    let info = engine.edit_cells(nb, "t", &edit).unwrap();
    assert_eq!(info.version, before + 1);
    assert_eq!(city_of_row_0(&engine, nb).await.as_deref(), Some("Rome"));
    engine.flush_events();
    assert!(sink.events().iter().any(
        |e| matches!(e, EngineEvent::TableChanged { table, .. } if table.version == before + 1)
    ));
}

#[test]
fn imports_and_exports_from_a_caller_without_a_queue_are_recorded_as_tasks() {
    // quire-cli imports and exports on its own thread: the task list shows them as the app's.
    let tmp = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let file = csv_file(src.path(), 10);
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Cli").unwrap().id;
    engine
        .import_file(
            nb,
            ImportRequest::file(&file).named("t"),
            &|_| {},
            &CancellationToken::new(),
        )
        .unwrap();
    let out = src.path().join("t.parquet");
    engine
        .export_table(nb, "t", &out, &|_| {}, &CancellationToken::new())
        .unwrap();
    let missing = src.path().join("missing.csv");
    engine
        .import_file(
            nb,
            ImportRequest::file(&missing),
            &|_| {},
            &CancellationToken::new(),
        )
        .unwrap_err();
    let tasks = engine.list_tasks(None, 10).unwrap();
    let summary: Vec<_> = tasks
        .iter()
        .map(|t| (t.kind, t.status, t.target.clone()))
        .collect();
    for expected in [
        (
            TaskKind::Import,
            TaskStatus::Completed,
            Some("t".to_string()),
        ),
        (
            TaskKind::Export,
            TaskStatus::Completed,
            Some("t".to_string()),
        ),
        (
            TaskKind::Import,
            TaskStatus::Failed,
            Some("missing".to_string()),
        ),
    ] {
        assert!(
            summary.contains(&expected),
            "{expected:?} not in {summary:?}"
        );
    }
    let import = tasks
        .iter()
        .find(|t| t.kind == TaskKind::Import && t.status == TaskStatus::Completed)
        .unwrap();
    assert_eq!(
        crate::tasks::TaskPayload::parse(import.kind, &import.payload).unwrap(),
        crate::tasks::TaskPayload::Import {
            path: file.clone(),
            csv: None,
            sheet: None,
            format: None,
            converted: None,
            connection: None,
            folder: None,
        }
    );
}

async fn city_of_row_0(engine: &Engine, nb: crate::notebooks::NotebookId) -> Option<String> {
    let batches = engine
        .query(nb, "SELECT city FROM t WHERE id = 0")
        .await
        .unwrap();
    QueryPreview::from_batches(&batches, std::time::Duration::ZERO).rows[0][0].clone()
}

#[tokio::test]
async fn a_journal_entry_that_cannot_be_applied_is_reported_and_does_not_block_later_edits() {
    use crate::ledger::JournalStep;
    use crate::tables::history::TableOp;
    let tmp = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let file = csv_file(src.path(), 10);
    let step = |row_id, column: &str, value: &str| {
        serde_json::to_value(JournalStep::Op {
            op: TableOp::Edit {
                edits: vec![CellEdit {
                    row_id,
                    column: column.into(),
                    value: Some(value.into()),
                }],
            },
        })
        .unwrap()
    };
    let nb = {
        let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
        let nb = engine.create_notebook("Replay").unwrap().id;
        engine
            .import_file(
                nb,
                ImportRequest::file(&file).named("t"),
                &|_| {},
                &CancellationToken::new(),
            )
            .unwrap();
        engine.flush_all();
        // Entries a crash left that can no longer apply (a text in a number column), then one
        // that could: replay must stop at the first, say so, and not fail the whole notebook.
        let store = engine.task_store();
        store
            .journal_append(nb, "t", 2, &step(0, "id", "not a number"))
            .unwrap();
        store
            .journal_append(nb, "t", 3, &step(1, "city", "Rome"))
            .unwrap();
        engine.shutdown_without_waiting();
        nb
    };
    {
        let sink = Arc::new(RecordingSink::default());
        let engine = open(tmp.path(), sink.clone());
        let tables = engine.tables(nb).expect("the notebook's tables open");
        assert_eq!((tables[0].name.as_str(), tables[0].version), ("t", 1));
        engine.flush_events();
        let notice = sink
            .events()
            .into_iter()
            .find_map(|e| match e {
                EngineEvent::TableNotice { message, .. } => Some(message),
                _ => None,
            })
            .expect("the user is told");
        assert!(notice.contains("0 of 2 changes"), "{notice}");
        assert!(
            notice.contains("not a number") || notice.contains("fails"),
            "{notice}"
        );
        // A new edit takes version 2 and must survive the next crash, not the stale entry.
        let edit = [CellEdit {
            row_id: 0,
            column: "city".into(),
            value: Some("Oslo".into()),
        }];
        assert_eq!(engine.edit_cells(nb, "t", &edit).unwrap().version, 2);
        engine.shutdown_without_waiting();
    }
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    assert_eq!(engine.tables(nb).unwrap()[0].version, 2);
    assert_eq!(city_of_row_0(&engine, nb).await.as_deref(), Some("Oslo"));
}

#[tokio::test]
async fn a_page_never_carries_more_than_the_page_cap_whatever_is_asked() {
    // Pages are copied whole outside every memory budget: an unbounded limit could copy a
    // whole 50M-row table at once.
    let tmp = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let file = csv_file(src.path(), 25_000);
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Pages").unwrap().id;
    engine
        .import_file(
            nb,
            ImportRequest::file(&file).named("t"),
            &|_| {},
            &CancellationToken::new(),
        )
        .unwrap();
    let rows = |bytes: Vec<u8>| -> usize {
        datafusion::arrow::ipc::reader::StreamReader::try_new(&bytes[..], None)
            .unwrap()
            .map(|b| b.unwrap().num_rows())
            .sum()
    };
    let asked_all = engine.page(nb, "t", None, 0, u64::MAX).await.unwrap();
    assert_eq!(rows(asked_all), crate::ledger::MAX_PAGE_ROWS as usize);
    let screenful = engine.page(nb, "t", None, 24_900, 200).await.unwrap();
    assert_eq!(rows(screenful), 100, "the last rows, as before");
}

/// The two SQLite failures of the fault matrix, on the engine's own connection: the task list
/// full (its file capped at its pages, SQLite's SQLITE_FULL) and locked by another program
/// (SQLITE_BUSY past the busy timeout). Each refuses the edit in words, acknowledges nothing,
/// and the same edit goes through once the cause is gone.
#[tokio::test]
async fn a_full_or_locked_task_list_refuses_the_edit_in_words_and_the_retry_succeeds() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let file = csv_file(src.path(), 10);
    let engine = open(tmp.path(), Arc::new(RecordingSink::default()));
    let nb = engine.create_notebook("Faults").unwrap().id;
    engine
        .import_file(
            nb,
            ImportRequest::file(&file).named("t"),
            &|_| {},
            &CancellationToken::new(),
        )
        .unwrap();
    engine.flush_all();
    // A value larger than a page, so the journal must grow its file to take it.
    let long = "R".repeat(64 * 1024);
    let edit = [CellEdit {
        row_id: 0,
        column: "city".into(),
        value: Some(long.clone()),
    }];
    let before = engine.tables(nb).unwrap()[0].version;

    engine.task_store().cap_pages_for_test();
    let err = engine.edit_cells(nb, "t", &edit).unwrap_err();
    assert!(err.to_string().contains("the disk is full"), "{err}");
    assert_eq!(engine.tables(nb).unwrap()[0].version, before);
    assert_eq!(city_of_row_0(&engine, nb).await.as_deref(), Some("Lyon"));
    engine.task_store().uncap_pages_for_test();
    engine.edit_cells(nb, "t", &edit).unwrap();
    assert_eq!(city_of_row_0(&engine, nb).await, Some(long.clone()));
    let after_full = engine.tables(nb).unwrap()[0].version;

    engine
        .task_store()
        .busy_timeout_for_test(std::time::Duration::from_millis(100));
    let other = rusqlite::Connection::open(tmp.path().join(crate::tasks::FILE_NAME)).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let again = [CellEdit {
        row_id: 0,
        column: "city".into(),
        value: Some("Oslo".into()),
    }];
    let err = engine.edit_cells(nb, "t", &again).unwrap_err();
    assert!(err.to_string().contains("holding the task list"), "{err}");
    assert_eq!(engine.tables(nb).unwrap()[0].version, after_full);
    assert_eq!(city_of_row_0(&engine, nb).await, Some(long));
    other.execute_batch("COMMIT").unwrap();
    engine.edit_cells(nb, "t", &again).unwrap();
    assert_eq!(city_of_row_0(&engine, nb).await.as_deref(), Some("Oslo"));
}

/// A transform's preview is a second copy of the columns it changes: past what one table may
/// hold it is refused with the setting named, and nothing is kept or changed.
#[tokio::test]
async fn a_transform_preview_larger_than_a_table_may_hold_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let file = csv_file(src.path(), 30_000);
    let mut config = Config::default();
    config.limits.table_memory_mb = 2;
    let engine = Engine::open(
        config,
        EnginePaths {
            data_dir: tmp.path().to_path_buf(),
            config_dir: None,
        },
        Arc::new(crate::events::NullSink),
    )
    .unwrap();
    let nb = engine.create_notebook("Big").unwrap().id;
    let none = CancellationToken::new();
    engine
        .import_file(nb, ImportRequest::file(&file).named("t"), &|_| {}, &none)
        .unwrap();
    let before = engine.ledger.version(nb, "t").unwrap().version;
    let long = Transform::SetColumn {
        column: "city".into(),
        expr: "repeat(city, 20)".into(),
    };
    let err = engine
        .preview_transform(nb, "t", &long, Arc::new(|_| {}), &none)
        .await
        .unwrap_err();
    assert_eq!(err.code(), crate::ErrorCode::TooLarge, "{err}");
    assert!(err.to_string().contains("limits.table_memory_mb"), "{err}");
    assert_eq!(engine.ledger.version(nb, "t").unwrap().version, before);
    // A transform that fits still previews.
    let upper = Transform::SetColumn {
        column: "city".into(),
        expr: "upper(city)".into(),
    };
    engine
        .preview_transform(nb, "t", &upper, Arc::new(|_| {}), &none)
        .await
        .unwrap();
}

/// A column named as Quire's own row id column (`__quire_row_id`) was taken for it when the
/// table's saved copy was read back: the table imported and queried, then was gone after a
/// restart ("its row id column is not UInt64"). A file's or a kept result's column of that
/// name is renamed as a repeated name is, and every table opens again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_column_named_like_the_row_id_is_renamed_and_its_table_outlives_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let csv = src.path().join("ids.csv");
    std::fs::write(
        &csv,
        "id,__quire_row_id,value,value\n1,7,10,11\n2,8,20,21\n",
    )
    .unwrap();
    let json = src.path().join("ids.ndjson");
    std::fs::write(&json, "{\"__quire_row_id\": 5, \"n\": 1}\n").unwrap();
    let nb = {
        let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
        let nb = engine.create_notebook("Ids").unwrap();
        let cancel = CancellationToken::new();
        for (path, table) in [(&csv, "ids"), (&json, "ids_json")] {
            let request = ImportRequest::file(path).named(table);
            engine
                .import_file(nb.id, request, &|_| {}, &cancel)
                .unwrap();
        }
        engine
            .keep_result(nb.id, "SELECT 3 AS __quire_row_id", "kept", None)
            .await
            .unwrap();
        engine.shutdown();
        nb.id
    };
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let mut tables: Vec<(String, Vec<String>, u64)> = engine
        .tables(nb)
        .unwrap()
        .into_iter()
        .map(|t| {
            (
                t.name,
                t.columns.into_iter().map(|c| c.name).collect(),
                t.rows,
            )
        })
        .collect();
    tables.sort();
    let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        tables,
        vec![
            (
                "ids".to_string(),
                names(&["id", "__quire_row_id.1", "value", "value.1"]),
                2
            ),
            ("ids_json".to_string(), names(&["__quire_row_id_2", "n"]), 1),
            ("kept".to_string(), names(&["__quire_row_id_2"]), 1),
        ]
    );
    let sum = engine
        .query(
            nb,
            "SELECT sum(\"__quire_row_id.1\" + \"value.1\") AS s FROM ids",
        )
        .await
        .unwrap();
    let sum = datafusion::arrow::util::pretty::pretty_format_batches(&sum).unwrap();
    assert!(sum.to_string().contains("| 47 |"), "{sum}");
}

/// Lengths of time read as PostgreSQL writes them; a duration (the difference of two
/// date-times) is kept as a table and comes back; an interval, which Parquet has no type for,
/// is refused in words before anything is written (it failed with arrow's "NYI: Attempting to
/// write an Arrow interval type MonthDayNano to parquet").
#[tokio::test]
async fn lengths_of_time_read_in_words_and_a_table_keeps_what_it_can() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().to_path_buf();
    let took =
        "SELECT TIMESTAMP '2024-01-02 03:00:00.25' - TIMESTAMP '2024-01-01 00:00:00' AS took";
    let nb = {
        let engine = open(&data, Arc::new(crate::events::NullSink));
        let nb = engine.create_notebook("Time").unwrap().id;
        let shown = |sql: &'static str| {
            let engine = &engine;
            async move {
                let batches = engine.query(nb, sql).await.unwrap();
                QueryPreview::from_batches(&batches, std::time::Duration::ZERO).rows[0].clone()
            }
        };
        assert_eq!(
            shown("SELECT INTERVAL '1 year 2 months 3 days 4 hours 5 minutes 6.5 seconds', INTERVAL '-3 months', INTERVAL '0 seconds'").await,
            [Some("1 year 2 months 3 days 04:05:06.500".to_string()), Some("-3 months".into()), Some("00:00:00".into())]
        );
        assert_eq!(shown(took).await, [Some("1 day 03:00:00.250".to_string())]);
        let e = engine
            .save_query_as_table(nb, "SELECT 1 AS n, INTERVAL '1 day' AS wait", "waits")
            .await
            .unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::SqlInvalid, "{e}");
        assert!(e.to_string().contains("column wait holds intervals"), "{e}");
        assert!(e.to_string().contains("CAST(\"wait\" AS VARCHAR)"), "{e}");
        assert!(engine.tables(nb).unwrap().is_empty());
        let out = tmp.path().join("waits.parquet");
        let e = engine
            .export_query(nb, "SELECT INTERVAL '1 day' AS wait", &out, None)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("a Parquet file cannot keep"), "{e}");
        assert!(!out.exists());
        let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.contains("waits"))
            .collect();
        assert!(leftovers.is_empty(), "no temporary file: {leftovers:?}");
        // A CSV export writes them so too, which a spreadsheet reads (arrow wrote PT97200.25S).
        let csv = tmp.path().join("took.csv");
        engine.export_query(nb, took, &csv, None).await.unwrap();
        assert_eq!(
            std::fs::read_to_string(&csv).unwrap(),
            "took\n1 day 03:00:00.250\n"
        );
        engine
            .save_query_as_table(nb, took, "durations")
            .await
            .unwrap();
        engine.shutdown();
        nb
    };
    let engine = open(&data, Arc::new(crate::events::NullSink));
    let batches = engine
        .query(nb, "SELECT took FROM durations")
        .await
        .unwrap();
    assert_eq!(
        QueryPreview::from_batches(&batches, std::time::Duration::ZERO).rows[0],
        [Some("1 day 03:00:00.250".to_string())]
    );
}

//! Edits of linked tables through the whole engine: merged into pages, views and SQL, undone,
//! saved as a small edits file, replayed after a crash, carried by a rename, and refused once
//! the files under them changed; the linked files are never written.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::util::pretty::pretty_format_batches;

use super::link_tests::{dataset, decode, page_ids, parquet};
use super::test_support::open;
use super::*;
use crate::ledger::links::LINKS_FILE;
use crate::ledger::SAVE_EVERY;
use crate::tables::edit::CellEdit;
use crate::tables::linked::edits_file::EDITS_DIR;
use crate::tables::view::{ColumnFilter, FilterOp, SortKey, ViewSpec};
use crate::{ErrorCode, HasCode};

fn set(row: u64, column: &str, value: Option<&str>) -> CellEdit {
    CellEdit {
        row_id: row,
        column: column.into(),
        value: value.map(String::from),
    }
}

async fn text(engine: &Engine, nb: NotebookId, sql: &str) -> String {
    let batches: Vec<RecordBatch> = engine.query(nb, sql).await.unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

/// City and row id of each row of a page.
async fn cities(
    engine: &Engine,
    nb: NotebookId,
    view: Option<&ViewSpec>,
    at: u64,
    n: u64,
) -> Vec<(String, u64)> {
    let page = decode(&engine.page(nb, "trips", view, at, n).await.unwrap());
    let mut out = Vec::new();
    for b in &page {
        let city = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
        let id = b.column(3).as_any().downcast_ref::<UInt64Array>().unwrap();
        for i in 0..b.num_rows() {
            out.push((city.value(i).to_string(), id.value(i)));
        }
    }
    out
}

fn edits_files(ws: &Path, nb_dir: &Path) -> Vec<String> {
    let _ = ws;
    match std::fs::read_dir(nb_dir.join(EDITS_DIR)) {
        Ok(entries) => {
            let mut names: Vec<String> = entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        }
        Err(_) => Vec::new(),
    }
}

/// An engine on `dir` with a notebook that links `file` as `trips`.
fn linking(dir: &Path, file: &Path) -> (Engine, NotebookId) {
    let engine = open(dir, Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Big").unwrap().id;
    engine.link_table(nb, file, Some("trips")).unwrap();
    (engine, nb)
}

/// A notebook that links a trips file of rows `0..rows` as `trips`; its folders are removed
/// when they are dropped.
struct Trips {
    tmp: tempfile::TempDir,
    data: tempfile::TempDir,
    file: std::path::PathBuf,
    engine: Engine,
    nb: NotebookId,
    nb_dir: std::path::PathBuf,
}

fn linked_trips(rows: i64) -> Trips {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = data.path().join("trips.parquet");
    parquet(&file, 0, rows);
    let (engine, nb) = linking(tmp.path(), &file);
    let nb_dir = engine.notebooks().folder_path(nb).unwrap().unwrap();
    Trips {
        tmp,
        data,
        file,
        engine,
        nb,
        nb_dir,
    }
}

/// The queries a linked table with edits must answer as a held copy of the same rows does.
const SQL: [&str; 5] = [
    "SELECT city, count(*) AS n, sum(amount) AS s, count(amount) AS c FROM {t} GROUP BY city ORDER BY city",
    "SELECT id, city, amount FROM {t} WHERE city = 'Rome' OR amount < 0 OR id > 25012 ORDER BY id",
    "SELECT count(*) AS n FROM {t}",
    "SELECT max(id) AS m, min(amount) AS a FROM {t}",
    "SELECT id FROM {t} WHERE city = 'Lyon' ORDER BY id DESC LIMIT 3",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_of_a_link_show_everywhere_undo_save_small_and_outlive_a_restart() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let folder = dataset(data.path());
    let files = [
        folder.join("a.parquet"),
        folder.join("part=b").join("b.parquet"),
    ];
    let before: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Big").unwrap().id;
    engine.link_table(nb, &folder, None).unwrap();
    let nb_dir = engine.notebooks().folder_path(nb).unwrap().unwrap();

    // Cells in both files: a text, a number made negative, a null, the last row's id.
    let info = engine
        .edit_cells(
            nb,
            "trips",
            &[
                set(12_510, "city", Some("Rome")),
                set(3, "amount", Some("-1")),
                set(5, "amount", None),
                set(25_012, "id", Some("99999")),
            ],
        )
        .unwrap();
    assert_eq!((info.version, info.rows), (2, 25_013));
    assert!(info.linked.is_some());
    // A refused value changes nothing.
    let refused = engine
        .edit_cells(nb, "trips", &[set(1, "amount", Some("lots"))])
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::InvalidValue);
    let past_end = engine
        .edit_cells(nb, "trips", &[set(25_013, "city", Some("x"))])
        .unwrap_err();
    assert_eq!(past_end.code(), ErrorCode::InvalidValue);

    // Pages merge the edits at their positions.
    assert_eq!(
        cities(&engine, nb, None, 12_509, 3).await,
        [
            ("Nice".to_string(), 12_509),
            ("Rome".to_string(), 12_510),
            ("Paris".to_string(), 12_511)
        ]
    );
    assert_eq!(
        page_ids(&engine, nb, None, 25_010).await,
        [25_010, 25_011, 99_999]
    );

    // SQL answers as a held copy of the rows as they now are.
    engine.copy_linked_table(nb, "trips", "copy").unwrap();
    for sql in SQL {
        assert_eq!(
            text(&engine, nb, &sql.replace("{t}", "trips")).await,
            text(&engine, nb, &sql.replace("{t}", "copy")).await,
            "{sql}"
        );
    }
    let rome = text(&engine, nb, "SELECT id FROM trips WHERE city = 'Rome'").await;
    assert!(rome.contains("12510"), "{rome}");
    // Exported (streamed from the files, edits merged), it reads back as the copy.
    let exported = data.path().join("exported.parquet");
    engine
        .export(
            nb,
            "trips",
            &exported,
            Arc::new(|_| {}),
            &tokio_util::sync::CancellationToken::new(),
        )
        .await
        .unwrap();
    engine.link_table(nb, &exported, Some("exported")).unwrap();
    for sql in SQL {
        assert_eq!(
            text(&engine, nb, &sql.replace("{t}", "exported")).await,
            text(&engine, nb, &sql.replace("{t}", "copy")).await,
            "{sql}"
        );
    }

    // A sorted view shows the edited id first, with its row's position as row id; a cell
    // edited in the view edits that row.
    let desc = ViewSpec {
        either: Vec::new(),
        sort: vec![SortKey {
            column: "id".into(),
            descending: true,
        }],
        filters: vec![],
    };
    assert_eq!(
        page_ids(&engine, nb, Some(&desc), 0).await[..2],
        [99_999, 25_011]
    );
    let top = cities(&engine, nb, Some(&desc), 0, 1).await;
    assert_eq!(top[0].1, 25_012);
    engine
        .edit_cells(nb, "trips", &[set(top[0].1, "city", Some("Oslo"))])
        .unwrap();
    assert_eq!(cities(&engine, nb, Some(&desc), 0, 1).await[0].0, "Oslo");
    let oslo = ViewSpec {
        either: Vec::new(),
        sort: vec![],
        filters: vec![ColumnFilter {
            column: "city".into(),
            op: FilterOp::Equals,
            value: Some("Oslo".into()),
        }],
    };
    assert_eq!(engine.view_rows(nb, "trips", Some(&oslo)).await.unwrap(), 1);

    // Undo and redo move between the edits.
    let undone = engine.undo_redo(nb, "trips", true).unwrap();
    assert_eq!(undone.version, 4);
    assert_eq!(engine.view_rows(nb, "trips", Some(&oslo)).await.unwrap(), 0);
    engine.undo_redo(nb, "trips", false).unwrap();
    assert_eq!(engine.view_rows(nb, "trips", Some(&oslo)).await.unwrap(), 1);
    engine.copy_linked_table(nb, "trips", "latest").unwrap();

    // Closing saves the edits alone: one small file, the journal trimmed.
    assert!(edits_files(tmp.path(), &nb_dir).is_empty(), "not saved yet");
    engine.shutdown();
    let saved = edits_files(tmp.path(), &nb_dir);
    assert_eq!(saved.len(), 1);
    assert!(saved[0].starts_with("trips.v5."), "{saved:?}");
    let size = std::fs::metadata(nb_dir.join(EDITS_DIR).join(&saved[0]))
        .unwrap()
        .len();
    assert!(
        size < 4_096,
        "the edits file holds the edits only: {size} bytes"
    );
    assert!(engine
        .task_store()
        .journal_after(nb, "trips", 0)
        .unwrap()
        .is_empty());
    let links = std::fs::read_to_string(nb_dir.join(LINKS_FILE)).unwrap();
    assert!(links.contains(&saved[0]), "{links}");
    drop(engine);
    for (f, b) in files.iter().zip(&before) {
        assert_eq!(
            &std::fs::read(f).unwrap(),
            b,
            "the linked files are never written"
        );
    }

    // Opened again: the edits are there, at the same version.
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let info = engine
        .tables(nb)
        .unwrap()
        .into_iter()
        .find(|t| t.name == "trips")
        .unwrap();
    assert_eq!(info.version, 5);
    assert_eq!(cities(&engine, nb, None, 12_510, 1).await[0].0, "Rome");
    assert_eq!(cities(&engine, nb, None, 25_012, 1).await[0].0, "Oslo");
    for sql in SQL {
        assert_eq!(
            text(&engine, nb, &sql.replace("{t}", "trips")).await,
            text(&engine, nb, &sql.replace("{t}", "latest")).await,
            "{sql}"
        );
    }
    // Renamed, the edits go with the name; removed, its edits file goes and the files stay.
    engine.rename_table(nb, "trips", "journeys").unwrap();
    let renamed_files = edits_files(tmp.path(), &nb_dir);
    assert_eq!(renamed_files.len(), 1);
    assert!(
        renamed_files[0].starts_with("journeys.v5."),
        "{renamed_files:?}"
    );
    let renamed = text(&engine, nb, "SELECT city FROM journeys WHERE id = 99999").await;
    assert!(renamed.contains("Oslo"), "{renamed}");
    engine.delete_table(nb, "journeys").unwrap();
    assert!(edits_files(tmp.path(), &nb_dir).is_empty());
    for (f, b) in files.iter().zip(&before) {
        assert_eq!(&std::fs::read(f).unwrap(), b);
    }
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_keeps_every_acknowledged_edit_of_a_link_and_saves_cost_the_edits_only() {
    let Trips {
        tmp,
        data: _data,
        file: _,
        engine,
        nb,
        nb_dir,
    } = linked_trips(50_000);
    // Enough edits that they save on their own once, then a few more only journaled.
    let steps = SAVE_EVERY + 5;
    for i in 0..steps {
        engine
            .edit_cells(
                nb,
                "trips",
                &[set(i * 700, "city", Some(&format!("city-{i}")))],
            )
            .unwrap();
    }
    let saved_at = 1 + SAVE_EVERY;
    let saved = edits_files(tmp.path(), &nb_dir);
    assert_eq!(saved.len(), 1);
    assert!(
        saved[0].starts_with(&format!("trips.v{saved_at}.")),
        "{saved:?}"
    );
    assert_eq!(
        engine
            .task_store()
            .journal_after(nb, "trips", 0)
            .unwrap()
            .len() as u64,
        steps - SAVE_EVERY,
        "the save trimmed what it covers"
    );
    engine.undo_redo(nb, "trips", true).unwrap();
    let expected = text(
        &engine,
        nb,
        "SELECT id, city FROM trips WHERE city LIKE 'city-%' ORDER BY id",
    )
    .await;
    let version = engine.tables(nb).unwrap()[0].version;
    // A save cut short left a file links.json does not name: swept at the next open.
    std::fs::write(
        nb_dir.join(EDITS_DIR).join("trips.v999.0000.parquet"),
        b"half",
    )
    .unwrap();
    // A crash: no shutdown, no flush.
    std::mem::forget(engine);
    let copy = crate::recovery_model::crash_copy(tmp.path());
    let engine = open(copy.path(), Arc::new(crate::events::NullSink));
    assert_eq!(engine.tables(nb).unwrap()[0].version, version);
    assert_eq!(
        text(
            &engine,
            nb,
            "SELECT id, city FROM trips WHERE city LIKE 'city-%' ORDER BY id"
        )
        .await,
        expected
    );
    let copied_dir = engine.notebooks().folder_path(nb).unwrap().unwrap();
    assert_eq!(
        edits_files(copy.path(), &copied_dir),
        saved,
        "the unnamed file is gone"
    );
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_whose_files_changed_under_its_edits_is_not_opened_with_them() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = data.path().join("trips.parquet");
    parquet(&file, 0, 3_000);
    let other = data.path().join("other.parquet");
    parquet(&other, 0, 3_000);
    let nb = {
        let (engine, nb) = linking(tmp.path(), &file);
        engine.link_table(nb, &other, Some("other")).unwrap();
        engine
            .edit_cells(nb, "trips", &[set(10, "city", Some("Rome"))])
            .unwrap();
        engine.shutdown();
        nb
    };
    // Both files are written again with other rows; only the edited link minds.
    parquet(&file, 100, 2_100);
    parquet(&other, 100, 2_100);
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let listed = engine.tables(nb).unwrap();
    let trips = listed.iter().find(|t| t.name == "trips").unwrap();
    let why = trips.missing.clone().expect("listed as missing");
    assert!(why.contains("changed since they were linked"), "{why}");
    let other = listed.iter().find(|t| t.name == "other").unwrap();
    assert_eq!((other.missing.as_deref(), other.rows), (None, 2_000));
    let err = engine.query(nb, "SELECT * FROM trips").await.unwrap_err();
    assert!(err.to_string().contains("trips"), "{err}");
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_with_edits_whose_file_is_gone_is_listed_missing() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = data.path().join("trips.parquet");
    parquet(&file, 0, 3_000);
    let nb = {
        let (engine, nb) = linking(tmp.path(), &file);
        engine
            .edit_cells(nb, "trips", &[set(10, "city", Some("Rome"))])
            .unwrap();
        engine.shutdown();
        nb
    };
    std::fs::rename(&file, data.path().join("away.parquet")).unwrap();
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let listed = engine.tables(nb).unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(listed[0].missing.is_some());
    engine.shutdown();
}

fn converted_copies(nb_dir: &Path) -> Vec<String> {
    match std::fs::read_dir(nb_dir.join(crate::ledger::links::CONVERTED_DIR)) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_folds_edits_into_a_copy_in_the_notebook_and_the_files_stay_as_they_were() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let folder = dataset(data.path());
    let files = [
        folder.join("a.parquet"),
        folder.join("part=b").join("b.parquet"),
    ];
    let before: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let mut config = crate::config::Config::default();
    config.snapshots.compact_edits_cells = 0; // only when asked, here
    let engine = super::test_support::open_with(
        tmp.path(),
        config.clone(),
        Arc::new(crate::events::NullSink),
    );
    let nb = engine.create_notebook("Big").unwrap().id;
    let own = engine.link_table(nb, &folder, None).unwrap();
    assert_eq!(own.origin, None, "the user's own files are no copy");
    let nb_dir = engine.notebooks().folder_path(nb).unwrap().unwrap();
    let links = || std::fs::read_to_string(nb_dir.join(LINKS_FILE)).unwrap();
    assert!(!links().contains("\"origin\""), "{}", links());
    engine
        .edit_cells(
            nb,
            "trips",
            &[
                set(12_510, "city", Some("Rome")),
                set(3, "amount", Some("-1")),
                set(25_012, "id", Some("99999")),
            ],
        )
        .unwrap();
    engine.copy_linked_table(nb, "trips", "expected").unwrap();
    let info = engine.compact_linked(nb, "trips").await.unwrap().unwrap();
    assert!(info.converted, "{info:?}");
    assert_eq!((info.version, info.rows), (2, 25_013));
    let copies = converted_copies(&nb_dir);
    assert_eq!(copies.len(), 1);
    assert!(info.linked.as_deref().unwrap().ends_with(&copies[0]));
    // The table still names the folder the user linked, not only its copy.
    let origin = Some(folder.display().to_string());
    assert_eq!(info.origin, origin);
    assert!(links().contains("\"origin\""), "{}", links());
    for sql in SQL {
        assert_eq!(
            text(&engine, nb, &sql.replace("{t}", "trips")).await,
            text(&engine, nb, &sql.replace("{t}", "expected")).await,
            "{sql}"
        );
    }
    // Nothing left to fold, and edits go on over the copy.
    assert!(engine.compact_linked(nb, "trips").await.unwrap().is_none());
    engine
        .edit_cells(nb, "trips", &[set(12_510, "city", Some("Oslo"))])
        .unwrap();
    assert_eq!(cities(&engine, nb, None, 12_510, 1).await[0].0, "Oslo");
    engine.shutdown();
    drop(engine);
    for (f, b) in files.iter().zip(&before) {
        assert_eq!(
            &std::fs::read(f).unwrap(),
            b,
            "the user's files are never written"
        );
    }

    // A compaction cut short by a crash left a copy nobody names: removed at the next open.
    std::fs::create_dir_all(nb_dir.join("converted").join("compact-0000")).unwrap();
    std::fs::write(
        nb_dir
            .join("converted")
            .join("compact-0000")
            .join("part-00000.parquet"),
        b"half",
    )
    .unwrap();
    let engine =
        super::test_support::open_with(tmp.path(), config, Arc::new(crate::events::NullSink));
    assert_eq!(cities(&engine, nb, None, 12_510, 1).await[0].0, "Oslo");
    assert_eq!(cities(&engine, nb, None, 12_511, 1).await[0].0, "Paris");
    assert_eq!(
        converted_copies(&nb_dir),
        copies,
        "the unnamed copy is gone"
    );
    let listed = engine.tables(nb).unwrap();
    let trips = listed.iter().find(|t| t.name == "trips").unwrap();
    assert_eq!(trips.origin, origin, "kept in links.json");
    // Compacted again: the copy it replaces goes; the copy of a copy names the user's folder.
    let info = engine.compact_linked(nb, "trips").await.unwrap().unwrap();
    assert_eq!(info.origin, origin);
    let again = converted_copies(&nb_dir);
    assert_eq!(again.len(), 1);
    assert_ne!(again, copies);
    assert_eq!(cities(&engine, nb, None, 12_510, 1).await[0].0, "Oslo");
    engine.delete_table(nb, "trips").unwrap();
    assert!(converted_copies(&nb_dir).is_empty());
    assert!(edits_files(tmp.path(), &nb_dir).is_empty());
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_past_the_threshold_are_compacted_in_the_background() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = data.path().join("trips.parquet");
    parquet(&file, 0, 5_000);
    let mut config = crate::config::Config::default();
    config.snapshots.compact_edits_cells = 3;
    let engine =
        super::test_support::open_with(tmp.path(), config, Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Big").unwrap().id;
    engine.link_table(nb, &file, Some("trips")).unwrap();
    engine
        .edit_cells(
            nb,
            "trips",
            &[set(1, "city", Some("a")), set(2, "city", Some("b"))],
        )
        .unwrap();
    assert!(
        !engine.tables(nb).unwrap()[0].converted,
        "under the threshold"
    );
    engine
        .edit_cells(nb, "trips", &[set(3, "city", Some("c"))])
        .unwrap();
    // The edit returned at once; the copy follows at idle priority.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !engine.tables(nb).unwrap()[0].converted {
        assert!(std::time::Instant::now() < deadline, "never compacted");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let abc = text(
        &engine,
        nb,
        "SELECT city FROM trips WHERE id BETWEEN 1 AND 3 ORDER BY id",
    )
    .await;
    assert!(
        abc.contains("| a ") && abc.contains("| b ") && abc.contains("| c "),
        "{abc}"
    );
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_made_after_the_files_changed_between_sessions_apply_after_a_crash() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = data.path().join("trips.parquet");
    parquet(&file, 0, 3_000);
    let nb = {
        let (engine, nb) = linking(tmp.path(), &file);
        engine.shutdown();
        nb
    };
    // Regenerated while Quire was closed, with no edits: it opens as the files are now...
    parquet(&file, 100, 2_100);
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    assert_eq!(engine.tables(nb).unwrap()[0].rows, 2_000);
    // ...and an edit made now, then a crash, applies to these files at the next open.
    engine
        .edit_cells(nb, "trips", &[set(10, "city", Some("Rome"))])
        .unwrap();
    std::mem::forget(engine);
    let copy = crate::recovery_model::crash_copy(tmp.path());
    let engine = open(copy.path(), Arc::new(crate::events::NullSink));
    let listed = engine.tables(nb).unwrap();
    assert_eq!(listed[0].missing, None);
    assert_eq!(cities(&engine, nb, None, 10, 1).await[0].0, "Rome");
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undo_past_the_saved_edits_is_saved_before_it_shows_and_survives_a_crash() {
    let Trips {
        tmp,
        data: _data,
        file: _,
        engine,
        nb,
        nb_dir,
    } = linked_trips(3_000);
    engine
        .edit_cells(nb, "trips", &[set(10, "city", Some("Rome"))])
        .unwrap();
    engine
        .edit_cells(nb, "trips", &[set(11, "city", Some("Oslo"))])
        .unwrap();
    engine.flush_all(); // saved at version 3
    engine.undo_redo(nb, "trips", true).unwrap(); // to version 2's content: journaled
    let shown = engine.undo_redo(nb, "trips", true).unwrap(); // before the save: saved first
    assert_eq!(shown.version, 5);
    let saved = edits_files(tmp.path(), &nb_dir);
    assert!(
        saved.len() == 1 && saved[0].starts_with("trips.v5."),
        "{saved:?}"
    );
    std::mem::forget(engine);
    let copy = crate::recovery_model::crash_copy(tmp.path());
    let engine = open(copy.path(), Arc::new(crate::events::NullSink));
    assert_eq!(engine.tables(nb).unwrap()[0].version, 5);
    let rows = cities(&engine, nb, None, 10, 2).await;
    assert_eq!((rows[0].0.as_str(), rows[1].0.as_str()), ("Paris", "Nice"));
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_count_over_an_edited_link_with_a_map_column_reads() {
    use datafusion::arrow::array::{Int64Builder, MapBuilder, StringBuilder};
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = data.path().join("tags.parquet");
    // The map's chunks are the smallest of the file (one short key each row): a count must
    // read it whole, keys and values.
    let rows = 2_000;
    let mut tags = MapBuilder::new(None, StringBuilder::new(), Int64Builder::new());
    for _ in 0..rows {
        tags.keys().append_value("k");
        tags.values().append_value(1);
        tags.append(true).unwrap();
    }
    let tags = Arc::new(tags.finish());
    let note = Arc::new(StringArray::from_iter_values((0..rows).map(|i| {
        format!("a long note that takes more room than the tags, row {i}")
    })));
    let schema = Arc::new(datafusion::arrow::datatypes::Schema::new(vec![
        datafusion::arrow::datatypes::Field::new(
            "note",
            datafusion::arrow::datatypes::DataType::Utf8,
            false,
        ),
        datafusion::arrow::datatypes::Field::new("tags", tags.data_type().clone(), true),
    ]));
    let batch = RecordBatch::try_new(schema.clone(), vec![note, tags]).unwrap();
    let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&file).unwrap(),
        schema,
        None,
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let (engine, nb) = linking(tmp.path(), &file);
    engine
        .edit_cells(nb, "trips", &[set(7, "note", Some("edited"))])
        .unwrap();
    let n = text(&engine, nb, "SELECT count(*) AS n FROM trips").await;
    assert!(n.contains("| 2000 |"), "{n}");
    let edited = text(
        &engine,
        nb,
        "SELECT count(*) AS n FROM trips WHERE note = 'edited'",
    )
    .await;
    assert!(edited.contains("| 1 "), "{edited}");
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_rows_of_a_link_are_gone_everywhere_undo_outlive_a_crash_and_fold_away() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let folder = dataset(data.path());
    let files = [
        folder.join("a.parquet"),
        folder.join("part=b").join("b.parquet"),
    ];
    let before: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let mut config = crate::config::Config::default();
    config.snapshots.compact_edits_cells = 0; // only when asked, here
    let engine = super::test_support::open_with(
        tmp.path(),
        config.clone(),
        Arc::new(crate::events::NullSink),
    );
    let nb = engine.create_notebook("Big").unwrap().id;
    engine.link_table(nb, &folder, None).unwrap();
    let nb_dir = engine.notebooks().folder_path(nb).unwrap().unwrap();

    // A cell edited, then rows deleted: the first, one in each file's middle, the last, and
    // the first of the second file.
    engine
        .edit_cells(nb, "trips", &[set(12_511, "city", Some("Oslo"))])
        .unwrap();
    let gone = [0, 100, 12_506, 12_510, 25_012];
    let info = engine.delete_rows(nb, "trips", &gone).unwrap();
    assert_eq!((info.version, info.rows), (3, 25_008));
    // Deleting a deleted row, a row past the end, or editing a deleted row is refused.
    for refused in [
        engine.delete_rows(nb, "trips", &[5, 100]).unwrap_err(),
        engine.delete_rows(nb, "trips", &[25_013]).unwrap_err(),
        engine
            .edit_cells(nb, "trips", &[set(100, "city", Some("x"))])
            .unwrap_err(),
    ] {
        assert_eq!(refused.code(), ErrorCode::InvalidValue, "{refused}");
    }
    assert_eq!(engine.tables(nb).unwrap()[0].version, 3);

    // Pages skip them: at the start, across the files, at the end.
    assert_eq!(page_ids(&engine, nb, None, 0).await, [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(
        page_ids(&engine, nb, None, 98).await,
        [99, 101, 102, 103, 104, 105, 106]
    );
    // Shown row 12,502 is position 12,504 (two deleted before it).
    assert_eq!(
        page_ids(&engine, nb, None, 12_502).await,
        [12_504, 12_505, 12_507, 12_508, 12_509, 12_511, 12_512]
    );
    assert_eq!(
        cities(&engine, nb, None, 12_507, 1).await,
        [("Oslo".to_string(), 12_511)]
    );
    assert_eq!(
        page_ids(&engine, nb, None, 25_005).await,
        [25_009, 25_010, 25_011]
    );
    assert!(page_ids(&engine, nb, None, 25_008).await.is_empty());

    // SQL, a sorted view and an export see the rows as a held copy of them does.
    engine.copy_linked_table(nb, "trips", "copy").unwrap();
    assert_eq!(
        engine
            .tables(nb)
            .unwrap()
            .iter()
            .find(|t| t.name == "copy")
            .unwrap()
            .rows,
        25_008
    );
    for sql in SQL {
        assert_eq!(
            text(&engine, nb, &sql.replace("{t}", "trips")).await,
            text(&engine, nb, &sql.replace("{t}", "copy")).await,
            "{sql}"
        );
    }
    let desc = ViewSpec {
        either: Vec::new(),
        sort: vec![SortKey {
            column: "id".into(),
            descending: true,
        }],
        filters: vec![],
    };
    assert_eq!(
        page_ids(&engine, nb, Some(&desc), 0).await[..2],
        [25_011, 25_010]
    );
    assert_eq!(
        engine.view_rows(nb, "trips", Some(&desc)).await.unwrap(),
        25_008
    );
    // A row deleted from the sorted view by its row id.
    let top = cities(&engine, nb, Some(&desc), 0, 1).await[0].1;
    engine.delete_rows(nb, "trips", &[top]).unwrap();
    assert_eq!(page_ids(&engine, nb, Some(&desc), 0).await[..1], [25_010]);
    let exported = data.path().join("exported.parquet");
    engine
        .export(
            nb,
            "trips",
            &exported,
            Arc::new(|_| {}),
            &tokio_util::sync::CancellationToken::new(),
        )
        .await
        .unwrap();
    engine.link_table(nb, &exported, Some("exported")).unwrap();
    let count = text(&engine, nb, "SELECT count(*) AS n FROM exported").await;
    assert!(count.contains("25007"), "{count}");

    // Undo brings the row back, redo deletes it again.
    assert_eq!(engine.undo_redo(nb, "trips", true).unwrap().rows, 25_008);
    assert_eq!(page_ids(&engine, nb, Some(&desc), 0).await[..1], [25_011]);
    assert_eq!(engine.undo_redo(nb, "trips", false).unwrap().rows, 25_007);
    let expected = text(&engine, nb, SQL[1].replace("{t}", "trips").as_str()).await;

    // A crash: the deletes come back from the journal.
    std::mem::forget(engine);
    let copy = crate::recovery_model::crash_copy(tmp.path());
    let engine =
        super::test_support::open_with(copy.path(), config, Arc::new(crate::events::NullSink));
    let info = engine
        .tables(nb)
        .unwrap()
        .into_iter()
        .find(|t| t.name == "trips")
        .unwrap();
    assert_eq!((info.version, info.rows), (6, 25_007));
    assert_eq!(
        text(&engine, nb, SQL[1].replace("{t}", "trips").as_str()).await,
        expected
    );
    assert_eq!(page_ids(&engine, nb, None, 0).await[0], 1);

    // Saved (the edits file holds them), opened again: the same rows.
    engine.shutdown();
    let copied_dir = engine.notebooks().folder_path(nb).unwrap().unwrap();
    assert_eq!(edits_files(copy.path(), &copied_dir).len(), 1);
    // Listed as version 4: a build that cannot read deletes refuses the list, never opens the
    // link without them.
    let links = std::fs::read_to_string(copied_dir.join(LINKS_FILE)).unwrap();
    assert!(
        links.contains("\"version\": 4") && links.contains("\"deletes\": true"),
        "{links}"
    );
    drop(engine);
    let engine = open(copy.path(), Arc::new(crate::events::NullSink));
    assert_eq!(
        text(&engine, nb, SQL[1].replace("{t}", "trips").as_str()).await,
        expected
    );
    engine.copy_linked_table(nb, "trips", "expected").unwrap();

    // Compaction folds the deletes away: a copy of the rows shown, its positions renumbered,
    // and an edit made after it lands on the row it names.
    let info = engine.compact_linked(nb, "trips").await.unwrap().unwrap();
    assert_eq!(info.rows, 25_007);
    for sql in SQL {
        assert_eq!(
            text(&engine, nb, &sql.replace("{t}", "trips")).await,
            text(&engine, nb, &sql.replace("{t}", "expected")).await,
            "{sql}"
        );
    }
    assert_eq!(
        cities(&engine, nb, None, 12_507, 1).await,
        [("Oslo".to_string(), 12_507)]
    );
    engine
        .delete_rows(nb, "trips", &[0])
        .expect("position 0 is the first row shown again");
    assert_eq!(page_ids(&engine, nb, None, 0).await[0], 2);
    engine.shutdown();
    drop(engine);
    let _ = nb_dir;
    for (f, b) in files.iter().zip(&before) {
        assert_eq!(
            &std::fs::read(f).unwrap(),
            b,
            "the user's files are never written"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_rows_of_a_held_table_undo_and_outlive_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Held").unwrap().id;
    engine
        .save_query_as_table(
            nb,
            "SELECT value AS n FROM generate_series(0, 9999) AS t(value)",
            "numbers",
        )
        .await
        .unwrap();
    let info = engine
        .delete_rows(nb, "numbers", &[0, 5_000, 9_999])
        .unwrap();
    assert_eq!(info.rows, 9_997);
    let refused = engine.delete_rows(nb, "numbers", &[5_000]).unwrap_err();
    assert_eq!(refused.code(), ErrorCode::InvalidValue);
    let versions = engine.table_versions(nb, "numbers").unwrap();
    assert_eq!(versions.items.last().unwrap().label, "Deleted 3 rows");
    let sum = "SELECT count(*) AS c, sum(n) AS s FROM numbers";
    let after = text(&engine, nb, sum).await;
    assert!(after.contains("9997"), "{after}");
    engine.undo_redo(nb, "numbers", true).unwrap();
    assert!(text(&engine, nb, sum).await.contains("10000"));
    engine.undo_redo(nb, "numbers", false).unwrap();
    // A crash before any snapshot: the journal brings the delete back.
    std::mem::forget(engine);
    let copy = crate::recovery_model::crash_copy(tmp.path());
    let engine = open(copy.path(), Arc::new(crate::events::NullSink));
    assert_eq!(text(&engine, nb, sum).await, after);
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_rows_of_a_held_table_are_filled_in_undone_and_outlive_a_crash_and_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Held").unwrap().id;
    engine
        .save_query_as_table(
            nb,
            "SELECT value AS n, 'x' AS tag FROM generate_series(0, 999) AS t(value)",
            "numbers",
        )
        .await
        .unwrap();
    // The highest id goes first: a new row must not take it again.
    engine.delete_rows(nb, "numbers", &[999]).unwrap();
    for refused in [0, 20_000] {
        let e = engine.add_rows(nb, "numbers", refused).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidValue, "{e}");
    }
    let added = engine.add_rows(nb, "numbers", 2).unwrap();
    assert_eq!(added.first_row_id, 1_000);
    let info = added.table;
    assert_eq!(info.rows, 1_001);
    let versions = engine.table_versions(nb, "numbers").unwrap();
    assert_eq!(versions.items.last().unwrap().label, "Added 2 rows");
    // The new rows are the last two, empty, with ids never handed out before.
    let page = decode(&engine.page(nb, "numbers", None, 999, 5).await.unwrap());
    let ids = page[0]
        .column(2)
        .as_any()
        .downcast_ref::<datafusion::arrow::array::UInt64Array>()
        .unwrap();
    assert_eq!(page[0].num_rows(), 2);
    assert_eq!(ids.values().to_vec(), [1_000, 1_001]);
    assert!(page[0].column(0).is_null(0) && page[0].column(1).is_null(1));
    engine
        .edit_cells(
            nb,
            "numbers",
            &[set(1_000, "n", Some("42")), set(1_001, "tag", Some("new"))],
        )
        .unwrap();
    let sql =
        "SELECT count(*) AS c, count(n) AS filled, sum(n) AS s, count(tag) AS tags FROM numbers";
    let after = text(&engine, nb, sql).await;
    let expected_sum = (0..999).sum::<i64>() + 42;
    assert!(
        after.contains("1001") && after.contains(&expected_sum.to_string()),
        "{after}"
    );
    // Undo the edit and the rows, redo both.
    engine.undo_redo(nb, "numbers", true).unwrap();
    engine.undo_redo(nb, "numbers", true).unwrap();
    assert!(text(&engine, nb, sql).await.contains("999"));
    engine.undo_redo(nb, "numbers", false).unwrap();
    engine.undo_redo(nb, "numbers", false).unwrap();
    assert_eq!(text(&engine, nb, sql).await, after);
    // A crash before any save: the journal adds the rows again under the same ids, so the
    // edits after them find them.
    std::mem::forget(engine);
    let copy = crate::recovery_model::crash_copy(tmp.path());
    let engine = open(copy.path(), Arc::new(crate::events::NullSink));
    assert_eq!(text(&engine, nb, sql).await, after);
    engine.shutdown();
    drop(engine);
    // Saved and opened again: the same, and another row gets a new id.
    let engine = open(copy.path(), Arc::new(crate::events::NullSink));
    assert_eq!(text(&engine, nb, sql).await, after);
    engine.add_rows(nb, "numbers", 1).unwrap();
    engine
        .edit_cells(nb, "numbers", &[set(1_002, "n", Some("7"))])
        .unwrap();
    assert!(text(&engine, nb, sql).await.contains("1002"));
    // Undone, saved, opened again: id 1,002 was handed out once, and a diff by id must never
    // take a new row for it changed, so the next row gets 1,003.
    engine.undo_redo(nb, "numbers", true).unwrap();
    engine.undo_redo(nb, "numbers", true).unwrap();
    engine.shutdown();
    drop(engine);
    let engine = open(copy.path(), Arc::new(crate::events::NullSink));
    assert_eq!(text(&engine, nb, sql).await, after);
    assert_eq!(
        engine.add_rows(nb, "numbers", 1).unwrap().first_row_id,
        1_003
    );
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_rows_and_remove_duplicates_on_a_link_delete_rows_as_a_held_copy_does() {
    use crate::tables::transform::Transform;
    let Trips {
        tmp,
        data: _data,
        file,
        engine,
        nb,
        nb_dir,
    } = linked_trips(30_000);
    let before = std::fs::read(&file).unwrap();
    // Edited values are what the transforms see.
    engine
        .edit_cells(
            nb,
            "trips",
            &[set(5, "city", Some("Rome")), set(8, "amount", None)],
        )
        .unwrap();
    engine.copy_linked_table(nb, "trips", "held").unwrap();
    let never = tokio_util::sync::CancellationToken::new();
    let keep = Transform::FilterRows {
        predicate: "city <> 'Lyon' AND amount > 100".into(),
    };
    let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let progress = {
        let seen = seen.clone();
        Arc::new(move |n: u64| seen.store(n, std::sync::atomic::Ordering::SeqCst))
    };
    let linked = engine
        .preview_transform(nb, "trips", &keep, progress.clone(), &never)
        .await
        .unwrap();
    let held = engine
        .preview_transform(nb, "held", &keep, Arc::new(|_| {}), &never)
        .await
        .unwrap();
    assert_eq!(linked.summary.removed, held.summary.removed);
    assert_eq!((linked.summary.added, linked.summary.changed), (0, 0));
    assert_eq!(
        seen.load(std::sync::atomic::Ordering::SeqCst),
        30_000,
        "progress counts every row looked at"
    );
    let first: Vec<(u64, Option<Vec<Option<String>>>)> = linked
        .sample
        .rows
        .iter()
        .map(|r| (r.row_id, r.old.clone()))
        .collect();
    let held_first: Vec<(u64, Option<Vec<Option<String>>>)> = held
        .sample
        .rows
        .iter()
        .map(|r| (r.row_id, r.old.clone()))
        .collect();
    assert_eq!(first, held_first, "the same rows go, with the same values");

    let info = engine
        .apply_transform(nb, "trips", &keep, Arc::new(|_| {}), &never)
        .await
        .unwrap();
    let held_info = engine
        .apply_transform(nb, "held", &keep, Arc::new(|_| {}), &never)
        .await
        .unwrap();
    assert_eq!(info.rows, held_info.rows);
    assert!(info.linked.is_some(), "still a link: {info:?}");
    let all = "SELECT id, city, amount FROM {t} ORDER BY id";
    let same = |sql: &'static str| {
        let engine = &engine;
        async move {
            assert_eq!(
                text(engine, nb, &sql.replace("{t}", "trips")).await,
                text(engine, nb, &sql.replace("{t}", "held")).await,
                "{sql}"
            );
        }
    };
    same(all).await;
    for sql in SQL {
        same(sql).await;
    }
    // Saved at once (the positions are no journal entry): an edits file, nothing journaled.
    assert_eq!(edits_files(tmp.path(), &nb_dir).len(), 1);

    // Duplicates over a column: the first row of each city stays.
    let dedupe = Transform::RemoveDuplicates {
        columns: vec!["city".into()],
    };
    for t in ["trips", "held"] {
        engine
            .apply_transform(nb, t, &dedupe, Arc::new(|_| {}), &never)
            .await
            .unwrap();
    }
    same(all).await;
    let kept = text(&engine, nb, "SELECT count(*) AS n FROM trips").await;
    assert!(kept.contains("| 2 "), "Paris and Nice: {kept}");
    // Undone on both: the filter's rows again.
    engine.undo_redo(nb, "trips", true).unwrap();
    engine.undo_redo(nb, "held", true).unwrap();
    same(all).await;

    // A condition that names no column is refused in words, and changes nothing.
    let bad = Transform::FilterRows {
        predicate: "nope > 1".into(),
    };
    let refused = engine
        .preview_transform(nb, "trips", &bad, Arc::new(|_| {}), &never)
        .await
        .unwrap_err();
    assert_ne!(refused.code(), ErrorCode::Internal, "{refused}");
    same(all).await;
    let expected = text(&engine, nb, &all.replace("{t}", "held")).await;

    // A crash: what was acknowledged is there.
    std::mem::forget(engine);
    let copy = crate::recovery_model::crash_copy(tmp.path());
    let engine = open(copy.path(), Arc::new(crate::events::NullSink));
    assert_eq!(
        text(&engine, nb, &all.replace("{t}", "trips")).await,
        expected
    );
    engine.shutdown();
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "the linked file is never written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn value_transforms_on_a_link_keep_only_the_changed_cells_as_a_held_copy_changes_them() {
    use crate::tables::transform::Transform;
    let Trips {
        tmp,
        data: _data,
        file,
        engine,
        nb,
        nb_dir,
    } = linked_trips(30_000);
    let before = std::fs::read(&file).unwrap();
    // A value typed with spaces, an amount emptied and a row deleted: the transforms see the
    // table as edited.
    engine
        .edit_cells(
            nb,
            "trips",
            &[set(5, "city", Some("  Rome ")), set(9, "amount", None)],
        )
        .unwrap();
    engine.delete_rows(nb, "trips", &[11]).unwrap();
    engine.copy_linked_table(nb, "trips", "held").unwrap();
    let never = tokio_util::sync::CancellationToken::new();
    let all = "SELECT id, city, amount FROM {t} ORDER BY id";
    let same = |sql: &'static str| {
        let engine = &engine;
        async move {
            assert_eq!(
                text(engine, nb, &sql.replace("{t}", "trips")).await,
                text(engine, nb, &sql.replace("{t}", "held")).await,
                "{sql}"
            );
        }
    };
    let transforms = [
        // One cell: the typed " Rome ".
        ("city", "trim(city)", 1),
        // A third of the rows (row 11, deleted, is Nice's).
        ("city", "replace(city, 'Lyon', 'Lyons')", 10_000),
        // Every empty amount: every seventh row from 0 (4,286) and row 9, emptied by hand.
        ("amount", "coalesce(amount, -1)", 4_287),
    ];
    for (column, expr, changes) in transforms {
        let t = Transform::SetColumn {
            column: column.into(),
            expr: expr.into(),
        };
        let linked = engine
            .preview_transform(nb, "trips", &t, Arc::new(|_| {}), &never)
            .await
            .unwrap();
        let held = engine
            .preview_transform(nb, "held", &t, Arc::new(|_| {}), &never)
            .await
            .unwrap();
        assert_eq!(linked.summary.changed, changes, "{expr}");
        assert_eq!(linked.summary.changed, held.summary.changed, "{expr}");
        assert_eq!(
            linked.summary.changed_by_column,
            held.summary.changed_by_column
        );
        // Ids differ (the copy numbered its rows afresh; a link's are positions): the values
        // do not.
        let sample = |p: &crate::ledger::TransformPreview| -> Vec<_> {
            (p.sample.rows.iter())
                .map(|r| (r.kind, r.changed.clone(), r.old.clone(), r.new.clone()))
                .collect()
        };
        assert_eq!(
            sample(&linked),
            sample(&held),
            "{expr}: the same rows, old and new"
        );
        for name in ["trips", "held"] {
            engine
                .apply_transform(nb, name, &t, Arc::new(|_| {}), &never)
                .await
                .unwrap();
        }
        same(all).await;
        for sql in SQL {
            same(sql).await;
        }
    }
    // Kept beside the file: one edits file saved at once, the file untouched.
    assert_eq!(edits_files(tmp.path(), &nb_dir).len(), 1);

    // A value change that is not SQL, or whose values do not fit the column, is refused in
    // words and changes nothing.
    let expected = text(&engine, nb, &all.replace("{t}", "trips")).await;
    for (column, expr, says) in [
        ("city", "nope(city)", "nope"),
        // A number of the right type, but not from every row.
        (
            "amount",
            "CAST(city AS DOUBLE)",
            "does not give a number for every row",
        ),
    ] {
        let t = Transform::SetColumn {
            column: column.into(),
            expr: expr.into(),
        };
        let refused = engine
            .apply_transform(nb, "trips", &t, Arc::new(|_| {}), &never)
            .await
            .unwrap_err();
        assert_ne!(refused.code(), ErrorCode::Internal, "{refused}");
        assert!(refused.to_string().contains(says), "{refused}");
    }
    assert_eq!(
        text(&engine, nb, &all.replace("{t}", "trips")).await,
        expected
    );

    // Undone on both: the replace's values again; redone: the last again.
    engine.undo_redo(nb, "trips", true).unwrap();
    engine.undo_redo(nb, "held", true).unwrap();
    same(all).await;
    engine.undo_redo(nb, "trips", false).unwrap();
    engine.undo_redo(nb, "held", false).unwrap();
    same(all).await;

    // A crash: what was acknowledged is there.
    std::mem::forget(engine);
    let copy = crate::recovery_model::crash_copy(tmp.path());
    let engine = open(copy.path(), Arc::new(crate::events::NullSink));
    assert_eq!(
        text(&engine, nb, &all.replace("{t}", "trips")).await,
        expected
    );
    engine.shutdown();
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "the linked file is never written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_of_a_link_with_deleted_rows_read_exactly_the_rows_shown() {
    let Trips {
        tmp: _tmp,
        data: _data,
        file: _,
        engine,
        nb,
        nb_dir: _,
    } = linked_trips(5_000);
    // Row groups of 1,000 rows, pages of 100. Runs ending at a row group's end and starting at
    // the next's, a long run, scattered rows.
    let mut gone: Vec<u64> = vec![0, 999, 1_000, 1_001, 4_999];
    gone.extend(2_500..2_650);
    gone.extend((3_000..3_400).step_by(2));
    engine.delete_rows(nb, "trips", &gone).unwrap();
    let shown: Vec<i64> = (0..5_000i64)
        .filter(|p| !gone.contains(&(*p as u64)))
        .collect();
    let info = engine.tables(nb).unwrap()[0].clone();
    assert_eq!(info.rows, shown.len() as u64);
    for (offset, limit) in [
        (0, 7),
        (995, 10),
        (2_490, 300),
        (2_990, 500),
        (0, 5_000),
        (shown.len() as u64 - 3, 10),
    ] {
        let page = decode(&engine.page(nb, "trips", None, offset, limit).await.unwrap());
        let ids: Vec<i64> = super::link_tests::ids(&page);
        let end = (offset + limit).min(shown.len() as u64) as usize;
        assert_eq!(
            ids,
            shown[offset as usize..end],
            "page at {offset} of {limit}"
        );
        // Row ids are the positions.
        let positions: Vec<u64> = page
            .iter()
            .flat_map(|b| {
                b.column(b.num_columns() - 1)
                    .as_any()
                    .downcast_ref::<UInt64Array>()
                    .unwrap()
                    .values()
                    .to_vec()
            })
            .collect();
        assert!(positions.iter().zip(&ids).all(|(p, id)| *p as i64 == *id));
    }
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_added_to_a_link_are_filled_in_shown_everywhere_undone_outlive_a_crash_and_fold_in() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let folder = dataset(data.path());
    let files = [
        folder.join("a.parquet"),
        folder.join("part=b").join("b.parquet"),
    ];
    let before: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let mut config = crate::config::Config::default();
    config.snapshots.compact_edits_cells = 0; // only when asked, here
    let engine = super::test_support::open_with(
        tmp.path(),
        config.clone(),
        Arc::new(crate::events::NullSink),
    );
    let nb = engine.create_notebook("Big").unwrap().id;
    engine.link_table(nb, &folder, None).unwrap();

    // A row deleted first, so positions and rows shown differ; then two rows added, which
    // take the positions after the files' rows.
    engine.delete_rows(nb, "trips", &[5]).unwrap();
    for refused in [0, 20_000] {
        let e = engine.add_rows(nb, "trips", refused).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidValue, "{e}");
    }
    let added = engine.add_rows(nb, "trips", 2).unwrap();
    assert_eq!(added.first_row_id, 25_013);
    assert_eq!((added.table.version, added.table.rows), (3, 25_014));
    // Empty at first (`id` and `city` say "never empty" in the files), then filled in.
    let fresh = cities_or_empty(&engine, nb, 25_012, 5).await;
    assert_eq!(fresh, [(None, 25_013), (None, 25_014)]);
    engine
        .edit_cells(
            nb,
            "trips",
            &[
                set(25_013, "id", Some("30000")),
                set(25_013, "city", Some("Oslo")),
                set(25_013, "amount", Some("-2.5")),
                set(25_014, "city", Some("Bergen")),
            ],
        )
        .unwrap();
    for refused in [
        engine
            .edit_cells(nb, "trips", &[set(25_015, "city", Some("x"))])
            .unwrap_err(),
        engine
            .edit_cells(nb, "trips", &[set(25_014, "amount", Some("lots"))])
            .unwrap_err(),
        engine.delete_rows(nb, "trips", &[25_015]).unwrap_err(),
    ] {
        assert_eq!(refused.code(), ErrorCode::InvalidValue, "{refused}");
    }
    // The last page: the files' last rows, then the added ones.
    assert_eq!(
        cities(&engine, nb, None, 25_010, 5).await,
        [
            ("Lyon".to_string(), 25_011),
            ("Paris".to_string(), 25_012),
            ("Oslo".to_string(), 25_013),
            ("Bergen".to_string(), 25_014),
        ]
    );

    // SQL, views and an export see the rows as a held copy of them does.
    engine.copy_linked_table(nb, "trips", "copy").unwrap();
    let copied = engine.tables(nb).unwrap();
    assert_eq!(
        copied.iter().find(|t| t.name == "copy").unwrap().rows,
        25_014
    );
    for sql in SQL {
        assert_eq!(
            text(&engine, nb, &sql.replace("{t}", "trips")).await,
            text(&engine, nb, &sql.replace("{t}", "copy")).await,
            "{sql}"
        );
    }
    let counts = text(
        &engine,
        nb,
        "SELECT count(*) AS n, count(id) AS ids, sum(amount) FILTER (WHERE id = 30000) AS a FROM trips",
    )
    .await;
    assert!(counts.contains("| 25014 | 25013 | -2.5 |"), "{counts}");
    let desc = ViewSpec {
        either: Vec::new(),
        sort: vec![SortKey {
            column: "id".into(),
            descending: true,
        }],
        filters: vec![],
    };
    assert_eq!(
        page_ids(&engine, nb, Some(&desc), 0).await[..2],
        [30_000, 25_012]
    );
    let bergen = ViewSpec {
        either: Vec::new(),
        sort: vec![],
        filters: vec![ColumnFilter {
            column: "city".into(),
            op: FilterOp::Equals,
            value: Some("Bergen".into()),
        }],
    };
    assert_eq!(
        engine.view_rows(nb, "trips", Some(&bergen)).await.unwrap(),
        1
    );
    let exported = data.path().join("exported.parquet");
    engine
        .export(
            nb,
            "trips",
            &exported,
            Arc::new(|_| {}),
            &tokio_util::sync::CancellationToken::new(),
        )
        .await
        .unwrap();
    engine.link_table(nb, &exported, Some("exported")).unwrap();
    assert_eq!(
        text(&engine, nb, "SELECT city FROM exported WHERE amount < 0").await,
        text(&engine, nb, "SELECT city FROM copy WHERE amount < 0").await
    );

    // Undo takes the cells away, then the rows; redo brings both back.
    assert_eq!(engine.undo_redo(nb, "trips", true).unwrap().rows, 25_014);
    assert_eq!(engine.undo_redo(nb, "trips", true).unwrap().rows, 25_012);
    assert!(page_ids(&engine, nb, None, 25_012).await.is_empty());
    assert_eq!(engine.undo_redo(nb, "trips", false).unwrap().rows, 25_014);
    assert_eq!(engine.undo_redo(nb, "trips", false).unwrap().rows, 25_014);
    let expected = text(&engine, nb, SQL[1].replace("{t}", "trips").as_str()).await;
    assert!(expected.contains("Oslo"), "{expected}");

    // A crash: the added rows and their cells come back from the journal.
    std::mem::forget(engine);
    let copy = crate::recovery_model::crash_copy(tmp.path());
    let engine = super::test_support::open_with(
        copy.path(),
        config.clone(),
        Arc::new(crate::events::NullSink),
    );
    let info = engine
        .tables(nb)
        .unwrap()
        .into_iter()
        .find(|t| t.name == "trips")
        .unwrap();
    assert_eq!((info.version, info.rows), (8, 25_014));
    assert_eq!(
        text(&engine, nb, SQL[1].replace("{t}", "trips").as_str()).await,
        expected
    );

    // Saved (the edits file holds them; links.json says a build that would lose them must not
    // open it), opened again: the same rows.
    engine.shutdown();
    let copied_dir = engine.notebooks().folder_path(nb).unwrap().unwrap();
    let links = std::fs::read_to_string(copied_dir.join(LINKS_FILE)).unwrap();
    assert!(
        links.contains("\"version\": 7") && links.contains("\"added\": true"),
        "{links}"
    );
    drop(engine);
    let engine =
        super::test_support::open_with(copy.path(), config, Arc::new(crate::events::NullSink));
    assert_eq!(
        text(&engine, nb, SQL[1].replace("{t}", "trips").as_str()).await,
        expected
    );
    engine.copy_linked_table(nb, "trips", "expected").unwrap();

    // Compaction folds them into the copy's rows; a row added after it comes after them.
    let info = engine.compact_linked(nb, "trips").await.unwrap().unwrap();
    assert_eq!(info.rows, 25_014);
    for sql in SQL {
        assert_eq!(
            text(&engine, nb, &sql.replace("{t}", "trips")).await,
            text(&engine, nb, &sql.replace("{t}", "expected")).await,
            "{sql}"
        );
    }
    let later = engine.add_rows(nb, "trips", 1).unwrap();
    assert_eq!((later.first_row_id, later.table.rows), (25_014, 25_015));
    assert_eq!(
        cities_or_empty(&engine, nb, 25_012, 5).await,
        [
            (Some("Oslo".to_string()), 25_012),
            (Some("Bergen".to_string()), 25_013),
            (None, 25_014)
        ]
    );
    engine.shutdown();
    drop(engine);
    for (f, b) in files.iter().zip(&before) {
        assert_eq!(
            &std::fs::read(f).unwrap(),
            b,
            "the user's files are never written"
        );
    }
}

/// City (None when empty) and row id of each row of a page of `trips`.
async fn cities_or_empty(
    engine: &Engine,
    nb: NotebookId,
    at: u64,
    n: u64,
) -> Vec<(Option<String>, u64)> {
    let page = decode(&engine.page(nb, "trips", None, at, n).await.unwrap());
    let mut out = Vec::new();
    for b in &page {
        let city = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
        let id = b.column(3).as_any().downcast_ref::<UInt64Array>().unwrap();
        for i in 0..b.num_rows() {
            out.push((
                city.is_valid(i).then(|| city.value(i).to_string()),
                id.value(i),
            ));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn column_changes_on_a_link_write_a_copy_as_a_held_copy_changes_them_the_file_untouched() {
    use crate::tables::transform::Transform;
    let Trips {
        tmp,
        data: _data,
        file,
        engine,
        nb,
        nb_dir,
    } = linked_trips(30_000);
    let before = std::fs::read(&file).unwrap();
    // An edited cell, a deleted row and an added one: the copy is of the table as edited.
    engine
        .edit_cells(nb, "trips", &[set(5, "city", Some("Rome"))])
        .unwrap();
    engine.delete_rows(nb, "trips", &[11]).unwrap();
    engine.add_rows(nb, "trips", 1).unwrap();
    engine
        .edit_cells(
            nb,
            "trips",
            &[
                set(30_000, "id", Some("30000")),
                set(30_000, "city", Some("Oslo")),
            ],
        )
        .unwrap();
    engine.copy_linked_table(nb, "trips", "held").unwrap();
    let never = tokio_util::sync::CancellationToken::new();
    let columns = "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '{t}' ORDER BY ordinal_position";
    let same = |sql: &str| {
        let (engine, sql) = (&engine, sql.to_string());
        async move {
            assert_eq!(
                text(engine, nb, &sql.replace("{t}", "trips")).await,
                text(engine, nb, &sql.replace("{t}", "held")).await,
                "{sql}"
            );
        }
    };
    let steps = [
        // The preview names the columns it adds and removes, from the first rows.
        (
            Transform::RenameColumn {
                column: "city".into(),
                to: "town".into(),
            },
            "SELECT id, town, amount FROM {t} ORDER BY id",
            (vec!["town"], vec!["city"]),
        ),
        (
            Transform::SetColumn {
                column: "amount".into(),
                expr: "CAST(amount AS VARCHAR)".into(),
            },
            "SELECT id, town, amount, arrow_typeof(amount) AS t FROM {t} ORDER BY id",
            (vec![], vec![]),
        ),
        (
            Transform::AddColumn {
                column: "half".into(),
                expr: "id / 2.5".into(),
            },
            "SELECT id, town, half FROM {t} ORDER BY id",
            (vec!["half"], vec![]),
        ),
        (
            Transform::DropColumn {
                column: "amount".into(),
            },
            "SELECT * FROM {t} ORDER BY id",
            (vec![], vec!["amount"]),
        ),
    ];
    for (t, sql, (added, removed)) in steps {
        let preview = engine
            .preview_transform(nb, "trips", &t, Arc::new(|_| {}), &never)
            .await
            .unwrap();
        assert_eq!(preview.summary.columns_added, added, "{t:?}");
        assert_eq!(preview.summary.columns_removed, removed, "{t:?}");
        assert_eq!(preview.sample.rows.len(), 20, "{t:?}");
        let written = std::sync::Mutex::new(0u64);
        let info = engine
            .apply_transform(
                nb,
                "trips",
                &t,
                Arc::new(move |rows| *written.lock().unwrap() = rows),
                &never,
            )
            .await
            .unwrap();
        engine
            .apply_transform(nb, "held", &t, Arc::new(|_| {}), &never)
            .await
            .unwrap();
        assert!(info.converted, "the table reads Quire's copy now");
        assert_eq!(
            info.rows, 30_000,
            "30,000 less the deleted one, plus the added one"
        );
        same(sql).await;
        same(columns).await;
        // The copy has nothing to undo: the steps end there, as after a compaction.
        if let Ok(shown) = engine.undo_redo(nb, "trips", true) {
            assert_eq!(shown.version, info.version, "nothing was undone");
        }
    }
    let deleted_row = text(&engine, nb, "SELECT count(*) AS n FROM trips WHERE id = 11").await;
    assert!(deleted_row.contains("| 0 "), "{deleted_row}");
    let edited = text(
        &engine,
        nb,
        "SELECT town FROM trips WHERE id IN (5, 30000) ORDER BY id",
    )
    .await;
    assert!(
        edited.contains("Rome") && edited.contains("Oslo"),
        "{edited}"
    );

    // Across a restart and a crash copy, the copy is what the table reads.
    let expected = text(&engine, nb, "SELECT * FROM trips ORDER BY id").await;
    std::mem::forget(engine);
    let copy = crate::recovery_model::crash_copy(tmp.path());
    let engine = open(copy.path(), Arc::new(crate::events::NullSink));
    assert_eq!(
        text(&engine, nb, "SELECT * FROM trips ORDER BY id").await,
        expected
    );
    // Only the last copy stays in the notebook folder.
    let copies = std::fs::read_dir(
        copy.path()
            .join(nb_dir.strip_prefix(tmp.path()).unwrap())
            .join(crate::ledger::links::CONVERTED_DIR),
    )
    .unwrap()
    .count();
    assert_eq!(copies, 1);
    engine.shutdown();
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "the linked file never changes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_transform_changing_more_values_than_edits_hold_writes_a_copy() {
    use crate::tables::transform::Transform;
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = data.path().join("trips.parquet");
    let rows = crate::ledger::MAX_CHANGED_CELLS as i64 + 50;
    parquet(&file, 0, rows);
    let before = std::fs::read(&file).unwrap();
    let (engine, nb) = linking(tmp.path(), &file);
    let never = tokio_util::sync::CancellationToken::new();
    // All but the first 30 cities: more than the edits hold, fewer than every row.
    let upper = Transform::SetColumn {
        column: "city".into(),
        expr: "CASE WHEN id >= 30 THEN upper(city) ELSE city END".into(),
    };
    let preview = engine
        .preview_transform(nb, "trips", &upper, Arc::new(|_| {}), &never)
        .await
        .unwrap();
    assert_eq!(
        preview.summary.changed,
        rows as u64 - 30,
        "the preview counts past the limit"
    );
    // Its sample is the first rows that change, not the table's first rows.
    assert_eq!(preview.sample.rows[0].row_id, 30);
    assert_eq!(preview.sample.rows.len(), 20);
    let info = engine
        .apply_transform(nb, "trips", &upper, Arc::new(|_| {}), &never)
        .await
        .unwrap();
    assert!(info.converted);
    assert_eq!(info.origin, Some(file.display().to_string()));
    assert_eq!(info.rows, rows as u64);
    let cities = text(
        &engine,
        nb,
        "SELECT city, count(*) AS n FROM trips GROUP BY city ORDER BY city",
    )
    .await;
    let third = |k: i64| (rows - 30 + 2 - k) / 3;
    for (city, n) in [("LYON", third(0)), ("NICE", third(2)), ("PARIS", third(1))] {
        assert!(cities.contains(&format!("| {city:<5} | {n} ")), "{cities}");
    }
    assert!(cities.contains("| Lyon  | 10 "), "{cities}");

    // A whole number into the decimal column, in every row: written into a copy, the column
    // stays a decimal one, as the edits beside the file would have kept it.
    let ones = Transform::SetColumn {
        column: "amount".into(),
        expr: "1".into(),
    };
    engine
        .apply_transform(nb, "trips", &ones, Arc::new(|_| {}), &never)
        .await
        .unwrap();
    let amounts = text(
        &engine,
        nb,
        "SELECT arrow_typeof(amount) AS t, count(*) AS n, sum(amount) AS s FROM trips GROUP BY 1",
    )
    .await;
    assert!(
        amounts.contains(&format!("| Float64 | {rows} | {:?} ", rows as f64)),
        "{amounts}"
    );
    engine.shutdown();
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_column_renamed_in_a_hive_partitioned_link_keeps_its_partition_values() {
    use crate::tables::transform::Transform;
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let folder = data.path().join("sales");
    for (year, from, to) in [(2023, 0, 4_000), (2024, 4_000, 10_000)] {
        let dir = folder.join(format!("year={year}"));
        std::fs::create_dir_all(&dir).unwrap();
        parquet(&dir.join("part-0.parquet"), from, to);
    }
    let (engine, nb) = linking(tmp.path(), &folder);
    let by_year =
        "SELECT year, count(*) AS n, min(id) AS first FROM trips GROUP BY year ORDER BY year";
    let before = text(&engine, nb, by_year).await;
    assert!(before.contains("| 2024 | 6000 | 4000  |"), "{before}");
    let rename = Transform::RenameColumn {
        column: "city".into(),
        to: "town".into(),
    };
    let never = tokio_util::sync::CancellationToken::new();
    let info = engine
        .apply_transform(nb, "trips", &rename, Arc::new(|_| {}), &never)
        .await
        .unwrap();
    let names: Vec<&str> = info.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "town", "amount", "year"]);
    assert_eq!(text(&engine, nb, by_year).await, before);
    let towns = text(&engine, nb, "SELECT count(DISTINCT town) AS n FROM trips").await;
    assert!(towns.contains("| 3 "), "{towns}");
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_column_change_leaves_the_link_as_it_was_and_no_copy() {
    use crate::tables::transform::Transform;
    let Trips {
        tmp: _tmp,
        data: _data,
        file: _,
        engine,
        nb,
        nb_dir,
    } = linked_trips(30_000);
    let rename = Transform::RenameColumn {
        column: "city".into(),
        to: "town".into(),
    };
    let cancelled = tokio_util::sync::CancellationToken::new();
    cancelled.cancel();
    let e = engine
        .apply_transform(nb, "trips", &rename, Arc::new(|_| {}), &cancelled)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Cancelled, "{e}");
    let info = engine.tables(nb).unwrap();
    let trips = info.iter().find(|t| t.name == "trips").unwrap();
    assert!(!trips.converted);
    assert!(trips.columns.iter().any(|c| c.name == "city"));
    let converted = nb_dir.join(crate::ledger::links::CONVERTED_DIR);
    let copies = std::fs::read_dir(&converted).map_or(0, |d| d.count());
    assert_eq!(copies, 0, "the unfinished copy is removed");
    engine.shutdown();
}

/// A column added by an expression that fails on a row far into the file (a division by zero
/// at row 20,000) fails while its copy is written: the link stays as it was, the copy goes, and
/// the table's compaction is not held off, since the failure says nothing of whether one can
/// be written (a failed compaction holds the next off for ten minutes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_column_change_that_fails_midway_leaves_the_link_and_its_compaction_as_they_were() {
    use crate::tables::transform::Transform;
    let Trips {
        tmp: _tmp,
        data: _data,
        file,
        engine,
        nb,
        nb_dir,
    } = linked_trips(30_000);
    let before = std::fs::read(&file).unwrap();
    let add = Transform::AddColumn {
        column: "share".into(),
        expr: "100 / (id - 20000)".into(),
    };
    let e = engine
        .apply_transform(nb, "trips", &add, Arc::new(|_| {}), &Default::default())
        .await
        .unwrap_err();
    assert_ne!(e.code(), ErrorCode::Cancelled, "{e}");
    // In words, with the way out, not arrow's "Divide by zero error".
    assert!(
        e.to_string().contains("division or remainder by zero"),
        "{e}"
    );
    assert!(e.to_string().contains("NULLIF"), "{e}");
    let info = engine.tables(nb).unwrap();
    let trips = info.iter().find(|t| t.name == "trips").unwrap();
    assert!(!trips.converted);
    assert!(trips.columns.iter().all(|c| c.name != "share"));
    let converted = nb_dir.join(crate::ledger::links::CONVERTED_DIR);
    let copies = std::fs::read_dir(&converted).map_or(0, |d| d.count());
    assert_eq!(copies, 0, "the failed copy is removed");
    let link = engine.ledger().catalog().linked(nb, "trips").unwrap();
    assert!(
        link.compaction_failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none(),
        "a transform's failure holds off the next compaction"
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);
    engine.shutdown();
}

//! Linked tables through the whole engine: link a folder of Parquet files, page it, query it,
//! sort it, restart, unlink; and every way it can go wrong (a changed file, a missing file, an
//! edit, a name clash, a file that is not Parquet).

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Array, Float64Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::properties::WriterProperties;
use tokio_util::sync::CancellationToken;

use super::test_support::open;
use super::*;
use crate::events::testing::RecordingSink;
use crate::events::EngineEvent;
use crate::ledger::links::LINKS_FILE;
use crate::tables::edit::CellEdit;
use crate::tables::view::{ColumnFilter, FilterOp, SortKey, ViewSpec};
use crate::{ErrorCode, HasCode};

const CITIES: [&str; 3] = ["Lyon", "Paris", "Nice"];

/// Rows `from..to` of the trips data: id = position, city, amount = id / 2.
pub(super) fn trips(from: i64, to: i64) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("city", DataType::Utf8, false),
        Field::new("amount", DataType::Float64, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(from..to)),
            Arc::new(StringArray::from_iter_values(
                (from..to).map(|i| CITIES[(i % 3) as usize]),
            )),
            Arc::new(Float64Array::from_iter(
                (from..to).map(|i| (i % 7 != 0).then_some(i as f64 / 2.0)),
            )),
        ],
    )
    .unwrap()
}

/// Writes rows `from..to` as a Parquet file of small row groups and pages.
pub(super) fn parquet(path: &Path, from: i64, to: i64) {
    write_batch(path, &trips(from, to), Some(small_groups(1_000)));
}

/// Row groups of `rows` rows, pages of 100.
fn small_groups(rows: usize) -> WriterProperties {
    WriterProperties::builder()
        .set_max_row_group_row_count(Some(rows))
        .set_data_page_row_count_limit(100)
        .set_write_batch_size(100)
        .build()
}

/// Writes `batch` as the Parquet file `path`.
fn write_batch(path: &Path, batch: &RecordBatch, props: Option<WriterProperties>) {
    let mut w =
        ArrowWriter::try_new(std::fs::File::create(path).unwrap(), batch.schema(), props).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

/// A folder of two Parquet files (25,013 rows in all) plus the marker files Spark leaves.
pub(super) fn dataset(dir: &Path) -> PathBuf {
    let folder = dir.join("trips");
    std::fs::create_dir_all(folder.join("part=b")).unwrap();
    parquet(&folder.join("a.parquet"), 0, 12_506);
    parquet(&folder.join("part=b").join("b.parquet"), 12_506, 25_013);
    std::fs::write(folder.join("_SUCCESS"), b"").unwrap();
    std::fs::write(folder.join(".hidden.parquet"), b"not parquet").unwrap();
    folder
}

pub(super) fn decode(bytes: &[u8]) -> Vec<RecordBatch> {
    StreamReader::try_new(Cursor::new(bytes.to_vec()), None)
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

pub(super) fn ids(batches: &[RecordBatch]) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
            a.values().to_vec()
        })
        .collect()
}

pub(super) async fn page_ids(
    engine: &Engine,
    nb: NotebookId,
    view: Option<&ViewSpec>,
    at: u64,
) -> Vec<i64> {
    ids(&decode(
        &engine.page(nb, "trips", view, at, 7).await.unwrap(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_folder_pages_exactly_anywhere_and_answers_sql_like_a_copy() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let folder = dataset(data.path());
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Big").unwrap().id;
    let info = engine.link_table(nb, &folder, None).unwrap();
    assert_eq!((info.name.as_str(), info.rows), ("trips", 25_013));
    assert_eq!(info.memory_bytes, 0, "nothing of the files is held");
    assert_eq!(info.linked.as_deref(), Some(folder.to_str().unwrap()));
    // Start, across a row group, across the two files, the end (short), past the end.
    assert_eq!(
        page_ids(&engine, nb, None, 0).await,
        (0..7).collect::<Vec<_>>()
    );
    assert_eq!(
        page_ids(&engine, nb, None, 997).await,
        (997..1004).collect::<Vec<_>>()
    );
    assert_eq!(
        page_ids(&engine, nb, None, 12_503).await,
        (12_503..12_510).collect::<Vec<_>>()
    );
    assert_eq!(
        page_ids(&engine, nb, None, 25_010).await,
        vec![25_010, 25_011, 25_012]
    );
    assert!(page_ids(&engine, nb, None, 30_000).await.is_empty());
    // The row id column carries positions.
    let page = decode(&engine.page(nb, "trips", None, 20_000, 2).await.unwrap());
    let row_ids = page[0]
        .column(3)
        .as_any()
        .downcast_ref::<datafusion::arrow::array::UInt64Array>()
        .unwrap();
    assert_eq!(row_ids.values().to_vec(), vec![20_000, 20_001]);

    // The same SQL over the link and over an imported copy of the same rows agrees.
    let copy = data.path().join("copy.parquet");
    parquet(&copy, 0, 25_013);
    engine
        .import_file(
            nb,
            ImportRequest::file(&copy),
            &|_| {},
            &CancellationToken::new(),
        )
        .unwrap();
    let sql = |t: &str| {
        format!("SELECT city, count(*) AS n, sum(amount) AS s, count(amount) AS c FROM {t} WHERE id % 5 = 1 GROUP BY city ORDER BY city")
    };
    let linked = engine.query(nb, &sql("trips")).await.unwrap();
    let copied = engine.query(nb, &sql("copy")).await.unwrap();
    assert_eq!(linked, copied);
    assert_eq!(
        linked.iter().map(RecordBatch::num_rows).sum::<usize>(),
        3,
        "three cities"
    );

    // Sorted and filtered views of the link.
    let desc = ViewSpec {
        either: Vec::new(),
        sort: vec![SortKey {
            column: "id".into(),
            descending: true,
        }],
        filters: vec![],
    };
    assert_eq!(
        page_ids(&engine, nb, Some(&desc), 0).await,
        (25_006..25_013).rev().collect::<Vec<_>>()
    );
    let nice = ViewSpec {
        either: Vec::new(),
        sort: vec![],
        filters: vec![ColumnFilter {
            column: "city".into(),
            op: FilterOp::Equals,
            value: Some("Nice".into()),
        }],
    };
    let expected = (0..25_013).filter(|i| i % 3 == 2).count() as u64;
    assert_eq!(
        engine.view_rows(nb, "trips", Some(&nice)).await.unwrap(),
        expected
    );
    assert_eq!(page_ids(&engine, nb, Some(&nice), 0).await[..3], [2, 5, 8]);
    assert_eq!(engine.view_rows(nb, "trips", None).await.unwrap(), 25_013);

    // Its profile reads the files.
    let profile = engine
        .profile_table(nb, "trips", &CancellationToken::new())
        .await
        .unwrap();
    let amount = profile.columns.iter().find(|c| c.name == "amount").unwrap();
    let missing = (0..25_013).filter(|i| i % 7 == 0).count() as u64;
    assert_eq!(amount.nulls, missing);
    // 25,013 rows: counted exactly, as the imported copy's are (it said "≈" on the link only).
    let copy_profile = engine
        .profile_table(nb, "copy", &CancellationToken::new())
        .await
        .unwrap();
    for name in ["id", "city", "amount"] {
        let of = |p: &crate::profiles::Profile| {
            let c = p.columns.iter().find(|c| c.name == name).unwrap();
            (c.distinct, c.distinct_exact)
        };
        assert_eq!(of(&profile), of(&copy_profile), "{name}");
        assert!(of(&profile).1, "{name}");
    }
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_survives_a_restart_and_deleting_it_leaves_the_files() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let folder = dataset(data.path());
    let file = folder.join("a.parquet");
    let before = std::fs::read(&file).unwrap();
    let nb = {
        let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
        let nb = engine.create_notebook("Big").unwrap().id;
        engine.link_table(nb, &file, Some("first")).unwrap();
        engine.link_table(nb, &folder, None).unwrap();
        // An edit is kept beside the files, which stay as they were.
        engine
            .edit_cells(
                nb,
                "trips",
                &[CellEdit {
                    row_id: 0,
                    column: "city".into(),
                    value: Some("Rome".into()),
                }],
            )
            .unwrap();
        engine.shutdown();
        nb
    };
    assert_eq!(std::fs::read(&file).unwrap(), before);
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let names: Vec<(String, u64)> = engine
        .tables(nb)
        .unwrap()
        .into_iter()
        .map(|t| (t.name, t.rows))
        .collect();
    assert_eq!(
        names,
        vec![("first".to_string(), 12_506), ("trips".to_string(), 25_013)]
    );
    assert_eq!(page_ids(&engine, nb, None, 25_000).await[0], 25_000);
    engine.rename_table(nb, "first", "part_a").unwrap();
    engine.delete_table(nb, "trips").unwrap();
    assert!(engine.query(nb, "SELECT * FROM trips").await.is_err());
    assert_eq!(std::fs::read(&file).unwrap(), before, "the files stay");
    assert!(folder.join("part=b").join("b.parquet").exists());
    engine.shutdown();
    drop(engine);
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let names: Vec<String> = engine
        .tables(nb)
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, vec!["part_a".to_string()]);
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_or_missing_file_is_refused_in_words_and_the_rest_opens() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let folder = dataset(data.path());
    let sink = Arc::new(RecordingSink::default());
    let nb = {
        let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
        let nb = engine.create_notebook("Big").unwrap().id;
        engine.link_table(nb, &folder, None).unwrap();
        // Rewritten behind Quire's back: positions no longer name the same rows.
        parquet(&folder.join("a.parquet"), 0, 10);
        let err = engine.page(nb, "trips", None, 0, 5).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::FileUnreadable);
        assert!(
            err.to_string().contains("changed since it was linked"),
            "{err}"
        );
        let kept = data.path().join("kept.parquet");
        parquet(&kept, 0, 10);
        engine.link_table(nb, &kept, None).unwrap();
        engine.shutdown();
        nb
    };
    std::fs::remove_dir_all(&folder).unwrap();
    let engine = open(tmp.path(), sink.clone());
    let names: Vec<String> = engine
        .tables(nb)
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(
        names,
        vec!["kept".to_string(), "trips".to_string()],
        "the readable link opens, the missing one is listed"
    );
    let trips = engine
        .tables(nb)
        .unwrap()
        .into_iter()
        .find(|t| t.name == "trips")
        .unwrap();
    let why = trips.missing.clone().expect("listed as missing");
    assert!(why.contains("No such file"), "the reason, in words: {why}");
    assert_eq!(trips.linked.as_deref(), Some(folder.to_str().unwrap()));
    assert_eq!(trips.rows, 0);
    // It reads nothing, in words, and its name stays taken.
    let err = engine.page(nb, "trips", None, 0, 5).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::FileUnreadable);
    assert!(
        err.to_string().contains("(the linked table trips)"),
        "{err}"
    );
    let err = engine.query(nb, "SELECT * FROM trips").await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::FileUnreadable, "{err}");
    assert!(
        err.to_string().contains("(the linked table trips)"),
        "{err}"
    );
    let taken = engine.link_table(nb, &data.path().join("kept.parquet"), Some("trips"));
    assert_eq!(taken.unwrap_err().code(), ErrorCode::TableExists);
    let rename = engine.rename_table(nb, "trips", "other").unwrap_err();
    assert_eq!(rename.code(), ErrorCode::FileUnreadable);
    engine.flush_events();
    assert!(
        sink.events().iter().any(|e| matches!(
            e,
            EngineEvent::TableNotice { message, .. } if message.contains("(the linked table trips)")
        )),
        "the user hears of the missing link"
    );
    // The missing link stays listed for when the files come back.
    let links_file = || {
        let dir = engine.notebooks().folder_path(nb).unwrap().unwrap();
        std::fs::read_to_string(dir.join(LINKS_FILE)).unwrap()
    };
    let listed = links_file();
    assert!(listed.contains("trips"), "{listed}");
    // Removing it takes it out of links.json and the list; the name is free again.
    engine.delete_table(nb, "trips").unwrap();
    let listed = links_file();
    assert!(!listed.contains("trips"), "{listed}");
    assert!(engine.tables(nb).unwrap().iter().all(|t| t.name != "trips"));
    engine
        .link_table(nb, &data.path().join("kept.parquet"), Some("trips"))
        .unwrap();
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linking_refuses_a_taken_name_and_a_file_that_is_not_parquet() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Big").unwrap().id;
    let file = data.path().join("trips.parquet");
    parquet(&file, 0, 100);
    engine.link_table(nb, &file, None).unwrap();
    let again = engine.link_table(nb, &file, None).unwrap_err();
    assert_eq!(again.code(), ErrorCode::TableExists);
    let import = engine
        .import_file(
            nb,
            ImportRequest::file(&file),
            &|_| {},
            &CancellationToken::new(),
        )
        .unwrap_err();
    assert_eq!(import.code(), ErrorCode::TableExists, "names are shared");
    let csv = data.path().join("trips.csv");
    std::fs::write(&csv, "a,b\n1,2\n").unwrap();
    let err = engine.link_table(nb, &csv, Some("csv")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::FileUnreadable);
    assert!(err.to_string().contains("Parquet"), "{err}");
    let empty = data.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = engine.link_table(nb, &empty, None).unwrap_err();
    assert!(err.to_string().contains("no Parquet files"), "{err}");
    let mixed = data.path().join("mixed");
    std::fs::create_dir(&mixed).unwrap();
    parquet(&mixed.join("1.parquet"), 0, 10);
    let other = trips(0, 10).project(&[0, 1]).unwrap();
    let mut w = ArrowWriter::try_new(
        std::fs::File::create(mixed.join("2.parquet")).unwrap(),
        other.schema(),
        None,
    )
    .unwrap();
    w.write(&other).unwrap();
    w.close().unwrap();
    let err = engine.link_table(nb, &mixed, None).unwrap_err();
    assert!(err.to_string().contains("same columns"), "{err}");
    assert_eq!(engine.tables(nb).unwrap().len(), 1, "nothing half-linked");
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sorted_view_past_the_query_memory_and_spill_disk_is_refused_in_words() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = data.path().join("trips.parquet");
    // A sort of its amounts and positions needs about 3 MB; queries may take 1 MiB and spill
    // nothing. (A view past one table's memory is made out of memory: `big_view_tests`.)
    parquet(&file, 0, 200_000);
    let mut config = crate::config::Config::default();
    config.limits.query_memory_mb = 1;
    config.limits.spill_disk_mb = 0;
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
    engine.link_table(nb, &file, None).unwrap();
    let desc = ViewSpec {
        either: Vec::new(),
        sort: vec![SortKey {
            column: "amount".into(),
            descending: true,
        }],
        filters: vec![],
    };
    let err = engine
        .page(nb, "trips", Some(&desc), 0, 10)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::TooLarge, "{err}");
    assert!(err.to_string().contains("limits.query_memory_mb"), "{err}");
    // The link itself pages as before: nothing of it is held.
    assert_eq!(page_ids(&engine, nb, None, 199_995).await.len(), 5);
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_of_a_link_keeps_the_file_order_and_can_be_edited() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let folder = dataset(data.path());
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Big").unwrap().id;
    engine.link_table(nb, &folder, None).unwrap();
    let copy = engine.copy_linked_table(nb, "trips", "trips_copy").unwrap();
    assert_eq!((copy.rows, copy.linked.clone()), (25_013, None));
    let all = decode(
        &engine
            .page(nb, "trips_copy", None, 0, 30_000)
            .await
            .unwrap(),
    );
    assert_eq!(
        ids(&all),
        (0..10_000).collect::<Vec<_>>(),
        "a page is at most 10,000 rows, in file order"
    );
    let last = decode(
        &engine
            .page(nb, "trips_copy", None, 25_000, 100)
            .await
            .unwrap(),
    );
    assert_eq!(ids(&last), (25_000..25_013).collect::<Vec<_>>());
    engine
        .edit_cells(
            nb,
            "trips_copy",
            &[CellEdit {
                row_id: 3,
                column: "city".into(),
                value: Some("Rome".into()),
            }],
        )
        .unwrap();
    let err = engine
        .copy_linked_table(nb, "trips", "trips_copy")
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::TableExists);
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pattern_links_only_the_files_it_matches_and_keeps_them_after_a_restart() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let folder = data.path().join("sales");
    std::fs::create_dir_all(folder.join("q")).unwrap();
    parquet(&folder.join("2023-12.parquet"), 0, 100);
    parquet(&folder.join("2024-01.parquet"), 100, 1_100);
    parquet(&folder.join("2024-02.parquet"), 1_100, 2_600);
    parquet(&folder.join("q").join("2024-03.parquet"), 2_600, 3_000);
    let nb = {
        let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
        let nb = engine.create_notebook("Sales").unwrap().id;
        let info = engine
            .link_matching(nb, &folder, Some("2024-*.parquet"), Some("y2024"))
            .unwrap();
        assert_eq!(info.rows, 2_500, "the top folder's 2024 files only");
        let shown = folder.join("2024-*.parquet");
        assert_eq!(info.linked.as_deref(), Some(shown.to_str().unwrap()));
        assert_eq!(id_span(&engine, nb, "y2024").await, (100, 2_599, 2_500));
        let deep = engine
            .link_matching(nb, &folder, Some("**/2024-*.parquet"), Some("all2024"))
            .unwrap();
        assert_eq!(deep.rows, 2_900, "** reaches into q/");
        // Refused in words, and nothing is listed for them.
        for (pattern, code, words) in [
            (
                "../*.parquet",
                ErrorCode::PatternInvalid,
                "above the folder",
            ),
            ("/etc/*.parquet", ErrorCode::PatternInvalid, "root"),
            (
                "2024-[01.parquet",
                ErrorCode::PatternInvalid,
                "not a pattern",
            ),
            ("2025-*.parquet", ErrorCode::PatternInvalid, "matches it"),
        ] {
            let e = engine
                .link_matching(nb, &folder, Some(pattern), Some("refused"))
                .unwrap_err();
            assert_eq!(e.code(), code, "{pattern}: {e}");
            assert!(e.to_string().contains(words), "{pattern}: {e}");
        }
        let e = engine
            .link_matching(
                nb,
                &folder.join("2023-12.parquet"),
                Some("*"),
                Some("refused"),
            )
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("a pattern chooses among the files of a folder"),
            "{e}"
        );
        assert_eq!(engine.tables(nb).unwrap().len(), 2);
        engine
            .edit_cells(
                nb,
                "y2024",
                &[CellEdit {
                    row_id: 0,
                    column: "city".into(),
                    value: Some("Rome".into()),
                }],
            )
            .unwrap();
        engine.shutdown();
        nb
    };
    // A file that only the deep pattern matches arrives while Quire is closed.
    parquet(&folder.join("q").join("2024-04.parquet"), 3_000, 3_010);
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let dir = engine.notebooks().folder_path(nb).unwrap().unwrap();
    let listed = std::fs::read_to_string(dir.join(LINKS_FILE)).unwrap();
    assert!(listed.contains("\"version\": 5"), "{listed}");
    assert!(
        listed.contains("\"pattern\": \"2024-*.parquet\""),
        "{listed}"
    );
    let rows: Vec<(String, u64, bool)> = engine
        .tables(nb)
        .unwrap()
        .into_iter()
        .map(|t| (t.name, t.rows, t.missing.is_some()))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("all2024".to_string(), 2_910, false),
            ("y2024".to_string(), 2_500, false)
        ]
    );
    let page = decode(&engine.page(nb, "y2024", None, 0, 2).await.unwrap());
    assert_eq!(ids(&page), [100, 101]);
    let cities = page[0]
        .column(1)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!(cities.value(0), "Rome", "the edit came back with its link");
    assert_eq!(id_span(&engine, nb, "all2024").await, (100, 3_009, 2_910));
    // A rename keeps the pattern: the renamed link reads the same files.
    let renamed = engine.rename_table(nb, "y2024", "sales_2024").unwrap();
    assert_eq!(renamed.rows, 2_500);
    engine.shutdown();
    drop(engine);
    // The folder goes away: the link is listed as missing, shown as it was made.
    std::fs::rename(&folder, data.path().join("gone")).unwrap();
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let missing = engine
        .tables(nb)
        .unwrap()
        .into_iter()
        .find(|t| t.name == "sales_2024")
        .unwrap();
    assert!(missing.missing.is_some());
    let made = folder.join("2024-*.parquet");
    assert_eq!(missing.linked.as_deref(), Some(made.to_str().unwrap()));
    engine.shutdown();
}

/// `min(id), max(id), count(*)` of `table`.
async fn id_span(engine: &Engine, nb: NotebookId, table: &str) -> (i64, i64, i64) {
    let sql = format!("SELECT min(id), max(id), count(*) FROM {table}");
    let out = engine.query(nb, &sql).await.unwrap();
    let int = |c: usize| {
        let column = datafusion::arrow::compute::cast(out[0].column(c), &DataType::Int64).unwrap();
        column
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .value(0)
    };
    (int(0), int(1), int(2))
}

/// One row's text per result row, every column joined: NaN-safe to compare.
async fn answer(engine: &Engine, nb: NotebookId, sql: &str) -> Vec<String> {
    let batches = engine.query(nb, sql).await.unwrap();
    let mut rows = Vec::new();
    for b in &batches {
        for r in 0..b.num_rows() {
            let cells: Vec<String> = b
                .columns()
                .iter()
                .map(|c| datafusion::arrow::util::display::array_value_to_string(c, r).unwrap())
                .collect();
            rows.push(cells.join("|"));
        }
    }
    rows
}

/// An engine with one notebook where `file` is linked as `linked` and imported as a copy (named
/// after the file).
async fn linked_and_copied(dir: &Path, file: &Path) -> (Engine, NotebookId) {
    let engine = open(dir, Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Both").unwrap().id;
    engine.link_table(nb, file, Some("linked")).unwrap();
    engine
        .import_file(
            nb,
            ImportRequest::file(file),
            &|_| {},
            &CancellationToken::new(),
        )
        .unwrap();
    (engine, nb)
}

/// Each query (`{t}` the table) answers as expected on the link and on the copy `copy`.
async fn both_answer(engine: &Engine, nb: NotebookId, copy: &str, queries: &[(&str, Vec<&str>)]) {
    for (sql, expected) in queries {
        let linked = answer(engine, nb, &sql.replace("{t}", "linked")).await;
        let copied = answer(engine, nb, &sql.replace("{t}", copy)).await;
        assert_eq!(linked, *expected, "{sql} on the link");
        assert_eq!(copied, *expected, "{sql} on the copy");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nan_in_a_linked_float_column_sorts_as_in_a_copy() {
    // Parquet's statistics leave NaN out: the second row group of 0.5s and one NaN says
    // "max 0.5", and pruning by it dropped the NaN row from `x > 5000`, from the top of
    // `ORDER BY x DESC` and from `max(x)` (DataFusion and DuckDB both, on the file).
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = data.path().join("nan.parquet");
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("x", DataType::Float64, false),
        Field::new("y", DataType::Float32, false),
    ]));
    // And a NaN with its sign bit set (numpy's `inf - inf` on x86), which sorts below -inf,
    // in the first row group, whose minimum says 1.
    let x: Vec<f64> = (0..2_000)
        .map(|i| match i {
            1_500 => f64::NAN,
            700 => -f64::NAN,
            i if i < 1_000 => (i + 1) as f64,
            _ => 0.5,
        })
        .collect();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from_iter_values(0..2_000)),
            Arc::new(Float64Array::from(x.clone())),
            Arc::new(datafusion::arrow::array::Float32Array::from_iter_values(
                x.iter().map(|v| *v as f32),
            )),
        ],
    )
    .unwrap();
    write_batch(&file, &batch, Some(small_groups(1_000)));
    let (engine, nb) = linked_and_copied(tmp.path(), &file).await;
    let queries = [
        (
            "SELECT id FROM {t} ORDER BY x DESC, id LIMIT 3",
            vec!["1500", "999", "998"],
        ),
        (
            "SELECT id FROM {t} ORDER BY y DESC, id LIMIT 2",
            vec!["1500", "999"],
        ),
        ("SELECT count(*) FROM {t} WHERE x > 5000", vec!["1"]),
        ("SELECT count(*) FROM {t} WHERE y >= 5000", vec!["1"]),
        (
            "SELECT isnan(max(x)), isnan(max(y)) FROM {t}",
            vec!["true|true"],
        ),
        (
            "SELECT count(*) FROM {t} WHERE x <> 0.5 AND x > 999",
            vec!["2"],
        ),
        (
            "SELECT min(x), count(*) FROM {t} WHERE x > 0 AND x < 0.7",
            vec!["0.5|999"],
        ),
        (
            "SELECT id FROM {t} ORDER BY x, id LIMIT 2",
            vec!["700", "1000"],
        ),
        ("SELECT count(*) FROM {t} WHERE x < 0", vec!["1"]),
        ("SELECT isnan(min(x)) FROM {t}", vec!["true"]),
    ];
    both_answer(&engine, nb, "nan", &queries).await;
    // Other columns' statistics still skip row groups: `id < 500` reads the first only.
    let plan = answer(
        &engine,
        nb,
        "EXPLAIN ANALYZE SELECT count(*) FROM linked WHERE id < 500 AND x > 0",
    )
    .await
    .join("\n");
    assert!(
        plan.contains("row_groups_pruned_statistics=2 total → 1 matched"),
        "{plan}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_date_time_with_a_zone_reads_in_utc_as_its_copy_does() {
    // A pandas export in Europe/Berlin: imported, the column holds the instants in UTC (as the
    // dialog says); linked, it stayed in Berlin's zone, so `date_trunc('day', ts)` cut the
    // days at Berlin's midnight and a link and a copy of one file disagreed (analyst session).
    use datafusion::arrow::array::TimestampMicrosecondArray;
    use datafusion::arrow::datatypes::TimeUnit;
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = data.path().join("berlin.parquet");
    let zoned = DataType::Timestamp(TimeUnit::Microsecond, Some("Europe/Berlin".into()));
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("ts", zoned, true),
    ]));
    // Hourly from 2021-03-27 20:00 UTC for 60 hours, over Berlin's change to summer time.
    let start = 1_616_875_200_000_000i64;
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from_iter_values(0..60)),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    (0..60).map(|h| start + h * 3_600_000_000),
                )
                .with_timezone("Europe/Berlin"),
            ),
        ],
    )
    .unwrap();
    write_batch(&file, &batch, Some(small_groups(16)));
    let (engine, nb) = linked_and_copied(tmp.path(), &file).await;
    let queries = [
        (
            "SELECT CAST(date_trunc('day', ts) AS VARCHAR) AS d, count(*) FROM {t} GROUP BY 1 ORDER BY 1",
            vec![
                "2021-03-27T00:00:00Z|4",
                "2021-03-28T00:00:00Z|24",
                "2021-03-29T00:00:00Z|24",
                "2021-03-30T00:00:00Z|8",
            ],
        ),
        ("SELECT DISTINCT arrow_typeof(ts) FROM {t}", vec!["Timestamp(µs, \"UTC\")"]),
        (
            "SELECT count(*) FROM {t} WHERE ts >= '2021-03-29T00:00:00Z'",
            vec!["32"],
        ),
        ("SELECT CAST(min(ts) AS VARCHAR) FROM {t}", vec!["2021-03-27T20:00:00Z"]),
    ];
    both_answer(&engine, nb, "berlin", &queries).await;
    // The grid's pages of the link carry the same type.
    let page = decode(&engine.page(nb, "linked", None, 20, 3).await.unwrap());
    assert_eq!(
        page[0].schema().field_with_name("ts").unwrap().data_type(),
        &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_whose_files_carry_other_metadata_join_either_way_round() {
    // pandas writes its own `pandas` key into every file's schema, different per file. A join
    // of two such links failed to plan ("Schema metadata mismatch: Expected original metadata:
    // {"pandas": …}"): DataFusion swapped the join's sides, and the merged metadata changed
    // with them (analyst session, two partitioned folders in a bucket).
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let write = |name: &str, rows: i64, tag: &str| {
        let path = data.path().join(name);
        let schema = Arc::new(
            Schema::new(vec![Field::new("k", DataType::Int64, false)])
                .with_metadata([("pandas".to_string(), format!("{{\"file\": \"{tag}\"}}"))].into()),
        );
        let batch = RecordBatch::try_new(
            schema,
            vec![Arc::new(Int64Array::from_iter_values(0..rows))],
        )
        .unwrap();
        write_batch(&path, &batch, None);
        path
    };
    let big = write("big.parquet", 5_000, "big");
    let small = write("small.parquet", 3, "small");
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Joins").unwrap().id;
    engine.link_table(nb, &big, None).unwrap();
    engine.link_table(nb, &small, None).unwrap();
    for sql in [
        "SELECT count(*) FROM big CROSS JOIN small",
        "SELECT count(*) FROM small CROSS JOIN big",
        "SELECT count(*) FROM big JOIN small ON big.k = small.k",
        "SELECT count(*) FROM small JOIN big ON big.k = small.k",
    ] {
        let n = answer(&engine, nb, sql).await;
        let expected = if sql.contains("CROSS") { "15000" } else { "3" };
        assert_eq!(n, [expected], "{sql}");
    }
}

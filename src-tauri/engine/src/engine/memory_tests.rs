//! The one memory budget (`limits.memory_mb`) through the engine: every notebook's tables, their
//! undo steps and the queries draw from one sum; past it a new table is refused in words
//! naming the setting (after what is kept for convenience was shed), and a query spills.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::*;
use crate::config::Config;
use crate::tables::transform::Transform;
use crate::tables::TableInfo;
use crate::HasCode;

const MIB: u64 = 1024 * 1024;

/// 1M rows of two BIGINT columns: 16 MiB of values and 8 MiB of row ids.
const ROWS: u64 = 1_000_000;

/// Queries may take 1 GiB and one table all of the budget: only the one budget binds.
fn engine(dir: &std::path::Path, memory_mb: u64) -> Engine {
    engine_with(dir, memory_mb, 1024)
}

fn engine_with(dir: &std::path::Path, memory_mb: u64, query_mb: u64) -> Engine {
    let mut config = Config::default();
    config.limits.memory_mb = memory_mb;
    config.limits.query_memory_mb = query_mb;
    config.limits.table_memory_mb = memory_mb;
    super::test_support::open_with(dir, config, Arc::new(crate::events::NullSink))
}

async fn keep(engine: &Engine, nb: NotebookId, name: &str) -> Result<TableInfo, Error> {
    engine
        .save_query_as_table(
            nb,
            &format!("SELECT value AS n, value * 2 AS twice FROM generate_series(1, {ROWS})"),
            name,
        )
        .await
}

/// A whole-column transform of `a`: a new `twice` array, so one more undo step that holds 8 MB.
async fn add_to_twice(engine: &Engine, nb: NotebookId, k: u64) {
    engine
        .apply_transform(
            nb,
            "a",
            &Transform::SetColumn {
                column: "twice".into(),
                expr: format!("twice + {k}"),
            },
            Arc::new(|_| {}),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
}

fn held(engine: &Engine) -> u64 {
    engine.ledger.catalog().limits().account().held()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_of_every_notebook_draw_from_one_budget_and_undo_steps_go_before_a_refusal() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = engine(tmp.path(), 64);
    let (one, two) = (
        engine.create_notebook("One").unwrap().id,
        engine.create_notebook("Two").unwrap().id,
    );
    let a = keep(&engine, one, "a").await.unwrap();
    assert!(
        (20 * MIB..30 * MIB).contains(&a.memory_bytes),
        "{}",
        a.memory_bytes
    );
    keep(&engine, two, "b").await.unwrap();
    assert!(
        held(&engine) >= 2 * a.memory_bytes,
        "held {}",
        held(&engine)
    );
    // A third table in either notebook would pass what one table may hold, but not what all
    // together may: refused in words naming the setting, and nothing else changes.
    let err = keep(&engine, one, "c").await.unwrap_err();
    assert_eq!(err.code(), crate::ErrorCode::TooLarge);
    let text = err.to_string();
    assert!(
        text.contains("limits.memory_mb") && text.contains("64 MiB"),
        "{text}"
    );
    assert!(!engine.ledger.exists(one, "c"));
    assert_eq!(engine.tables(two).unwrap()[0].rows, ROWS);

    // Undo steps are kept for convenience: with b gone, three whole-column transforms of a
    // leave 24 MiB of them; a new table then takes their room instead of being refused.
    engine.delete_table(two, "b").unwrap();
    for k in 1..=3 {
        add_to_twice(&engine, one, k).await;
    }
    assert_eq!(engine.table_versions(one, "a").unwrap().items.len(), 4);
    keep(&engine, two, "c").await.unwrap();
    let steps = engine.table_versions(one, "a").unwrap();
    assert!(
        steps.items.len() < 4,
        "undo steps were shed: {} left",
        steps.items.len()
    );
    let sum = engine.query(one, "SELECT sum(twice) FROM a").await.unwrap();
    let sum = crate::tables::sql::QueryPreview::from_batches(&sum, std::time::Duration::ZERO).rows
        [0][0]
        .clone();
    let want = (ROWS * (ROWS + 1) + 6 * ROWS).to_string();
    assert_eq!(sum.as_deref(), Some(want.as_str()), "a's content is intact");
    assert!(held(&engine) <= 64 * MIB, "held {}", held(&engine));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sort_larger_than_what_the_tables_leave_spills_and_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = engine(tmp.path(), 40);
    let nb = engine.create_notebook("Sort").unwrap().id;
    keep(&engine, nb, "a").await.unwrap();
    // 24 MiB of the 40 are held: a whole sort of 1M rows with a text column does not fit in
    // what is left, so it spills to disk, and the answer is what it would be.
    let sql = "SELECT max(r) AS top, min(CASE WHEN r = 1 THEN n END) AS first FROM (\
               SELECT n, row_number() OVER (ORDER BY CAST(twice AS VARCHAR) || ' units' DESC) AS r \
               FROM a)";
    let text = |batches: &[datafusion::arrow::record_batch::RecordBatch]| {
        crate::tables::sql::QueryPreview::from_batches(batches, std::time::Duration::ZERO)
            .rows
            .into_iter()
            .flatten()
            .flatten()
            .collect::<Vec<_>>()
    };
    let answer = text(&engine.query(nb, sql).await.unwrap());
    // '999998 units' (n = 499999) sorts after every other label.
    assert_eq!(answer, vec![ROWS.to_string(), "499999".to_string()]);
    let plan = text(
        &engine
            .query(nb, &format!("EXPLAIN ANALYZE {sql}"))
            .await
            .unwrap(),
    )
    .join("\n");
    let spilled: u64 = plan
        .split("spill_count=")
        .skip(1)
        .filter_map(|rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    assert!(spilled > 0, "the sort spilled: {plan}");
    assert!(held(&engine) <= 40 * MIB);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sort_that_spills_within_its_own_cap_sheds_no_undo_step() {
    let tmp = tempfile::tempdir().unwrap();
    // Room to spare in the one budget; the queries' own cap is what a sort runs into.
    let engine = engine_with(tmp.path(), 1024, 8);
    let nb = engine.create_notebook("Sort").unwrap().id;
    keep(&engine, nb, "a").await.unwrap();
    for k in 1..=2 {
        add_to_twice(&engine, nb, k).await;
    }
    let sql = "SELECT max(r) FROM (SELECT row_number() OVER (ORDER BY CAST(twice AS VARCHAR) DESC) AS r FROM a)";
    engine.query(nb, sql).await.unwrap();
    assert_eq!(
        engine.table_versions(nb, "a").unwrap().items.len(),
        3,
        "a spill is how a sort works within its cap, not a shortage of the budget"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_tables_past_the_budget_open_and_the_user_is_told() {
    let tmp = tempfile::tempdir().unwrap();
    let nb = {
        let engine = engine(tmp.path(), 1024);
        let nb = engine.create_notebook("Big").unwrap().id;
        keep(&engine, nb, "a").await.unwrap();
        engine.shutdown();
        nb
    };
    // The same data dir with a budget smaller than the saved table.
    let mut config = Config::default();
    config.limits.memory_mb = 16;
    let sink = Arc::new(crate::events::testing::RecordingSink::default());
    let engine = super::test_support::open_with(tmp.path(), config, sink.clone());
    assert_eq!(engine.tables(nb).unwrap()[0].rows, ROWS, "the table opens");
    engine.flush_events();
    let told = sink.events().into_iter().any(|e| {
        matches!(e, crate::events::EngineEvent::TableNotice { message, .. }
            if message.contains("limits.memory_mb") && message.contains("16 MiB"))
    });
    assert!(told, "the user hears the tables hold more than the budget");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_bigger_than_the_budget_exports_to_a_file_as_its_rows_come() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = engine(tmp.path(), 16);
    let nb = engine.create_notebook("Big").unwrap().id;
    // 3M rows of two BIGINTs: 48 MiB of values, three times what a held result may take.
    let sql = "SELECT value AS n, value % 7 AS k FROM generate_series(1, 3000000)";
    let held = engine.query(nb, sql).await.unwrap_err();
    assert_eq!(held.code(), crate::ErrorCode::TooLarge, "{held}");
    for name in ["big.parquet", "big.csv"] {
        let out = tmp.path().join(name);
        let bytes = engine.export_query(nb, sql, &out, None).await.unwrap();
        assert_eq!(bytes, std::fs::metadata(&out).unwrap().len());
        // Read back as a linked copy (never whole in memory): every row, in order.
        let copy = format!("copy_{}", name.replace('.', "_"));
        let linked = if name.ends_with(".parquet") {
            engine.link_table(nb, &out, Some(&copy)).unwrap()
        } else {
            let request = ImportRequest {
                path: &out,
                table: Some(&copy),
                format: None,
                csv: None,
                sheet: None,
                convert: true,
            };
            engine
                .import(nb, request, Arc::new(|_| {}), &CancellationToken::new())
                .await
                .unwrap()
                .table
        };
        assert_eq!(linked.rows, 3_000_000, "{name}");
        let sums = engine
            .query(nb, &format!("SELECT sum(n), sum(k) FROM {copy}"))
            .await
            .unwrap();
        let row = crate::tables::sql::QueryPreview::from_batches(&sums, std::time::Duration::ZERO)
            .rows[0]
            .clone();
        assert_eq!(row[0].as_deref(), Some("4500001500000"), "{name}");
        let k: u64 = (1..=3_000_000u64).map(|v| v % 7).sum();
        assert_eq!(row[1].as_deref(), Some(k.to_string().as_str()), "{name}");
    }
    // A query that fails leaves no file and no temp file beside it.
    let before = std::fs::read_dir(tmp.path()).unwrap().count();
    let bad = engine
        .export_query(
            nb,
            "SELECT nope FROM nowhere",
            &tmp.path().join("bad.parquet"),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(bad.code(), crate::ErrorCode::SqlInvalid, "{bad}");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), before);
}

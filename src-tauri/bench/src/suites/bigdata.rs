//! `bigdata`: a Parquet file far bigger than the memory budget, linked where it lies and
//! queried and paged within a 2 GiB query pool, against DuckDB reading the same file.
//!
//! The file (`QUIRE_BENCH_BIG_ROWS` rows, default 100,000,000, x 8 columns: ints, floats with
//! missing values, a string, a timestamp, a boolean; about 2.5 GB) and a 1,000,000-row
//! dimension file are generated once and cached in `$CARGO_TARGET_DIR/bigdata/` (outside the
//! work tree). Measures (Quire time; ratio = DuckDB time / Quire time, above 1 = faster):
//!
//! With `QUIRE_BENCH_EXPLAIN` set, the suite prints each query's `EXPLAIN ANALYZE` after
//! timing them, and stops there.
//!
//! - `big_open_ms` (value; target < 200): linking the file (footers only).
//! - `big_count_vs_duckdb`, `big_groupby_vs_duckdb` (1,000 groups), `big_filter_vs_duckdb`
//!   (1 % of rows by id range: row-group pruning), `big_topk_vs_duckdb` (ORDER BY price DESC
//!   LIMIT 100), `big_join_vs_duckdb` (with the 1M-row dimension, grouped): best of `REPEATS`,
//!   answers compared with DuckDB's (the suite fails on a difference). Target ratio >= 0.5.
//! - `big_page_p99_ms_0`, `big_page_p99_ms_50m`, `big_page_p99_ms_end` (value; target < 50):
//!   a 200-row grid page at row 0, the middle and the end, through the engine's page path.
//! - `big_peak_rss_vs_budget` (ratio): the highest resident memory of the process over the
//!   query steps, divided by the 2 GiB budget (target <= 1.1). The kernel's peak (`VmHWM`) is
//!   reset before the steps, so generating the file does not count.
//!
//! - `big_csv_convert_vs_duckdb`: the same data as CSV (`QUIRE_BENCH_BIG_CSV_ROWS` rows, default
//!   20,000,000, about 1.6 GB, cached beside the Parquet file) converted into Parquet parts and
//!   linked, against DuckDB's `COPY (FROM read_csv(...)) TO ... (FORMAT parquet)` of the same
//!   file; row count and sums compared. `big_csv_convert_peak_rss_vs_file` (ratio): the peak
//!   resident memory of the conversion over the CSV's size (streaming: well below 1).
//!
//! - `big_sort_view_ms` (value): the grid's view sorted by price (descending) made out of
//!   memory (DataFusion sorts prices and positions, spilling; the positions go to a scratch
//!   file). `big_sorted_page_p99_ms` (value): 200-row pages of that view at its start and its
//!   middle (their rows lie anywhere in the file: one read per row group they touch).
//!
//! - Edits of the linked file (after the steps above): one cell edited, then saved
//!   (`big_edit_save_ms`: the flush that writes the edits file, `links.json` and trims the
//!   journal; the filesystem's fsyncs are in it), against rewriting the whole table as Parquet
//!   (an export of the linked table: what a save of a held copy costs at least):
//!   `big_edit_snapshot_vs_rewrite` (ratio = rewrite / save; target >= 100, i.e. the save under
//!   1 % of a rewrite). `big_edited_groupby_vs_clean` (ratio = edited / clean: the group-by over
//!   the file with one edited cell, merged on read, against the same query before the edit).
//!   `big_compact_ms` (value): folding the edits into a copy in the notebook folder (a full
//!   rewrite, at idle priority in the app), with `big_compact_peak_rss_vs_budget` (ratio).
//!   `big_column_change_vs_rewrite` (ratio = rewrite / the change): a column renamed, which a
//!   linked table writes into a copy of itself (a full rewrite too: expect about 1), with
//!   `big_column_change_peak_rss_vs_budget`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use quire_engine::config::LimitsConfig;
use quire_engine::events::NullSink;
use quire_engine::tables::view::{SortKey, ViewSpec};
use quire_engine::{Config, Engine, EnginePaths};

use super::profiles::mix;
use super::tables::{anchor_value, run_anchor};
use crate::report::Measure;
use crate::stats::{micros, Samples};

const SUITE: &str = "bigdata";
const DEFAULT_ROWS: u64 = 100_000_000;
const DIM_ROWS: u64 = 1_000_000;
const BATCH: u64 = 65_536;
const REPEATS: usize = 3;
const BUDGET_MB: u64 = 2048;
const PAGE_ROWS: u64 = 200;
const PAGES: usize = 40;
const DEFAULT_CSV_ROWS: u64 = 20_000_000;

fn big_batch(schema: &Arc<Schema>, r: std::ops::Range<u64>) -> Result<RecordBatch, String> {
    let cities = [
        "Lyon", "Paris", "Nice", "Lille", "Nantes", "Brest", "Metz", "Dijon",
    ];
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(r.clone().map(|i| i as i64))),
        Arc::new(Int64Array::from_iter_values(
            r.clone().map(|i| (mix(i) % 1_000) as i64),
        )),
        Arc::new(Float64Array::from_iter_values(
            r.clone().map(|i| (mix(i ^ 1) % 1_000_000) as f64 / 100.0),
        )),
        Arc::new(Float64Array::from_iter(r.clone().map(|i| {
            let m = mix(i ^ 2);
            (!m.is_multiple_of(5)).then(|| (m % 5_000) as f64 / 100.0)
        }))),
        Arc::new(StringArray::from_iter_values(
            r.clone()
                .map(|i| cities[(mix(i ^ 3) % cities.len() as u64) as usize]),
        )),
        Arc::new(Int64Array::from_iter_values(
            r.clone().map(|i| (mix(i ^ 4) % DIM_ROWS) as i64),
        )),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(
                r.clone()
                    .map(|i| 1_700_000_000_000_000 + (mix(i ^ 5) % 63_072_000_000_000) as i64),
            )
            .with_timezone("UTC"),
        ),
        Arc::new(BooleanArray::from_iter(r.map(|i| {
            (!mix(i ^ 6).is_multiple_of(10)).then_some(mix(i ^ 7).is_multiple_of(2))
        }))),
    ];
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())
}

fn big_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("store", DataType::Int64, false),
        Field::new("price", DataType::Float64, false),
        Field::new("discount", DataType::Float64, true),
        Field::new("city", DataType::Utf8, false),
        Field::new("customer", DataType::Int64, false),
        Field::new(
            "at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("paid", DataType::Boolean, true),
    ]))
}

/// Writes `rows` rows made by `batch` to `path` (through a temp name, so an interrupted run
/// never leaves a short file that looks cached).
fn write(
    path: &Path,
    schema: Arc<Schema>,
    rows: u64,
    batch: impl Fn(&Arc<Schema>, std::ops::Range<u64>) -> Result<RecordBatch, String>,
) -> Result<(), String> {
    let temp = path.with_extension("partial");
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let file = std::fs::File::create(&temp).map_err(|e| e.to_string())?;
    let mut writer =
        ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|e| e.to_string())?;
    let started = Instant::now();
    for start in (0..rows).step_by(BATCH as usize) {
        writer
            .write(&batch(&schema, start..(start + BATCH).min(rows))?)
            .map_err(|e| e.to_string())?;
        if start % 10_000_000 < BATCH && start > 0 {
            eprintln!(
                "  {} rows written in {:.0} s",
                start,
                started.elapsed().as_secs_f64()
            );
        }
    }
    writer.close().map_err(|e| e.to_string())?;
    std::fs::rename(&temp, path).map_err(|e| e.to_string())
}

fn dim_batch(schema: &Arc<Schema>, r: std::ops::Range<u64>) -> Result<RecordBatch, String> {
    let segments = ["retail", "wholesale", "online", "partner"];
    RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from_iter_values(r.clone().map(|i| i as i64))),
            Arc::new(StringArray::from_iter_values(
                r.map(|i| segments[(mix(i ^ 9) % 4) as usize]),
            )),
        ],
    )
    .map_err(|e| e.to_string())
}

/// The cached files: generated on the first run (or when the row count changes).
fn files(rows: u64) -> Result<(PathBuf, PathBuf), String> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    let dir = target.join("bigdata");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let big = dir.join(format!("big-{rows}.parquet"));
    let dim = dir.join("dim.parquet");
    if !big.exists() {
        eprintln!(
            "  generating {} ({rows} rows x 8 columns) ...",
            big.display()
        );
        write(&big, big_schema(), rows, big_batch)?;
    }
    if !dim.exists() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("customer", DataType::Int64, false),
            Field::new("segment", DataType::Utf8, false),
        ]));
        write(&dim, schema, DIM_ROWS, dim_batch)?;
    }
    Ok((big, dim))
}

/// The CSV twin of the big file (its first `rows` rows), generated once.
fn csv_file(rows: u64) -> Result<PathBuf, String> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    let path = target.join("bigdata").join(format!("big-{rows}.csv"));
    if path.exists() {
        return Ok(path);
    }
    eprintln!(
        "  generating {} ({rows} rows x 8 columns) ...",
        path.display()
    );
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new("."))).map_err(|e| e.to_string())?;
    let temp = path.with_extension("partial");
    let file = std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(&temp).map_err(|e| e.to_string())?,
    );
    let mut writer = datafusion::arrow::csv::WriterBuilder::new()
        .with_header(true)
        .build(file);
    let schema = big_schema();
    for start in (0..rows).step_by(BATCH as usize) {
        writer
            .write(&big_batch(&schema, start..(start + BATCH).min(rows))?)
            .map_err(|e| e.to_string())?;
    }
    drop(writer);
    std::fs::rename(&temp, &path).map_err(|e| e.to_string())?;
    Ok(path)
}

/// What both sides answer over the converted file: the conversion kept every row and value.
const CSV_CHECK: &str = "SELECT count(*) AS n, round(sum(price), 2) AS s, count(discount) AS d, \
     round(sum(discount), 2) AS ds, count(paid) AS p, sum(store) AS st FROM bigcsv";

/// Converts the CSV into the notebook (Quire) and into one Parquet file (DuckDB), in turn.
fn convert_csv(tmp: &Path) -> Result<Vec<Measure>, String> {
    let rows: u64 = std::env::var("QUIRE_BENCH_BIG_CSV_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CSV_ROWS);
    let csv = csv_file(rows)?;
    let csv_bytes = std::fs::metadata(&csv).map_err(|e| e.to_string())?.len();
    eprintln!("  {} : {rows} rows, {csv_bytes} bytes", csv.display());
    let err = |e: quire_engine::Error| e.to_string();
    let engine = Engine::open(
        Config::default(),
        EnginePaths {
            data_dir: tmp.join("csv-data"),
            config_dir: None,
        },
        Arc::new(NullSink),
    )
    .map_err(err)?;
    let nb = engine.create_notebook("Big CSV").map_err(err)?.id;
    std::fs::write("/proc/self/clear_refs", "5").map_err(|e| e.to_string())?;
    let before_kb = status_kb("VmRSS:");
    let started = Instant::now();
    let request = quire_engine::ImportRequest {
        convert: true,
        ..quire_engine::ImportRequest::file(&csv).named("bigcsv")
    };
    let out = engine
        .import_file(
            nb,
            request,
            &|_| {},
            &tokio_util::sync::CancellationToken::new(),
        )
        .map_err(err)?;
    let convert_ms = micros(started.elapsed()) / 1000.0;
    let peak = (status_kb("VmHWM:").saturating_sub(before_kb)) * 1024;
    if out.table.rows != rows {
        return Err(format!(
            "the conversion has {} rows, not {rows}",
            out.table.rows
        ));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let ours = rows_text(&rt.block_on(engine.query(nb, CSV_CHECK)).map_err(err)?)?;
    engine.shutdown();
    eprintln!(
        "  big_csv_convert: {convert_ms:.0} ms, peak RSS +{} MiB",
        peak >> 20
    );

    let parquet = tmp.join("duckdb.parquet");
    let anchor = run_anchor(
        "bigcsv.py",
        &[
            csv.as_os_str(),
            parquet.as_os_str(),
            CSV_CHECK.as_ref(),
            BUDGET_MB.to_string().as_ref(),
        ],
    )?;
    let theirs: Vec<String> = anchor["answer"]
        .as_array()
        .ok_or("the anchor gave no answer")?
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect();
    let agree = ours.len() == 1
        && ours[0].len() == theirs.len()
        && ours[0].iter().zip(&theirs).all(|(a, b)| same(a, b));
    if !agree {
        return Err(format!(
            "the converted CSV: Quire and DuckDB disagree: {ours:?} vs {theirs:?}"
        ));
    }
    let duck = anchor_value(&anchor, "ms")?;
    Ok(vec![
        Measure::against(SUITE, "big_csv_convert_vs_duckdb", convert_ms, duck, "ms"),
        Measure::relative(
            SUITE,
            "big_csv_convert_peak_rss_vs_file",
            peak as f64 / (1024.0 * 1024.0),
            csv_bytes as f64 / (1024.0 * 1024.0),
            "MiB",
        ),
    ])
}

/// The query set, in the order of the measures; DuckDB runs the same text with the tables
/// replaced by `read_parquet` of the same files.
const QUERIES: [(&str, &str); 5] = [
    ("big_count_vs_duckdb", "SELECT count(*) AS n FROM big"),
    (
        "big_groupby_vs_duckdb",
        "SELECT store, count(*) AS n, round(avg(price), 6) AS p FROM big GROUP BY store ORDER BY store",
    ),
    (
        "big_filter_vs_duckdb",
        "SELECT count(*) AS n, round(sum(price), 2) AS s, count(discount) AS d FROM big WHERE id >= 50000000 AND id < 51000000",
    ),
    (
        "big_topk_vs_duckdb",
        "SELECT id, price FROM big ORDER BY price DESC, id LIMIT 100",
    ),
    (
        "big_join_vs_duckdb",
        "SELECT d.segment, count(*) AS n, round(sum(b.price), 2) AS s FROM big b JOIN dim d ON b.customer = d.customer GROUP BY d.segment ORDER BY d.segment",
    ),
];

/// A result as text rows, to compare with DuckDB's.
fn rows_text(batches: &[RecordBatch]) -> Result<Vec<Vec<String>>, String> {
    let mut out = Vec::new();
    for b in batches {
        for r in 0..b.num_rows() {
            let mut row = Vec::new();
            for c in b.columns() {
                row.push(array_value_to_string(c, r).map_err(|e| e.to_string())?);
            }
            out.push(row);
        }
    }
    Ok(out)
}

/// DuckDB prints floats and ints its own way: compare numbers as numbers.
fn same(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => (x - y).abs() <= 1e-6 * x.abs().max(y.abs()).max(1.0),
        _ => a == b,
    }
}

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

pub fn run() -> Result<Vec<Measure>, String> {
    let rows: u64 = std::env::var("QUIRE_BENCH_BIG_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ROWS);
    let (big, dim) = files(rows)?;
    let bytes = std::fs::metadata(&big).map_err(|e| e.to_string())?.len();
    eprintln!("  {} : {rows} rows, {bytes} bytes", big.display());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let config = Config {
        limits: LimitsConfig {
            memory_mb: BUDGET_MB,
            query_memory_mb: BUDGET_MB,
            table_memory_mb: BUDGET_MB / 4,
            ..LimitsConfig::default()
        },
        ..Config::default()
    };
    let err = |e: quire_engine::Error| e.to_string();
    let engine = Engine::open(
        config,
        EnginePaths {
            data_dir: tmp.path().join("data"),
            config_dir: None,
        },
        Arc::new(NullSink),
    )
    .map_err(err)?;
    let nb = engine.create_notebook("Big").map_err(err)?.id;
    // Resets the kernel's peak-RSS mark: generating the file is not part of the budget.
    std::fs::write("/proc/self/clear_refs", "5").map_err(|e| e.to_string())?;

    let started = Instant::now();
    let info = engine.link_table(nb, &big, Some("big")).map_err(err)?;
    let open_ms = micros(started.elapsed()) / 1000.0;
    if info.rows != rows {
        return Err(format!("the link has {} rows, not {rows}", info.rows));
    }
    engine.link_table(nb, &dim, Some("dim")).map_err(err)?;

    let mut quire = Vec::new();
    for (measure, sql) in QUERIES {
        let mut best = f64::MAX;
        let mut answer = Vec::new();
        for _ in 0..REPEATS {
            let start = Instant::now();
            let batches = rt.block_on(engine.query(nb, sql)).map_err(err)?;
            best = best.min(micros(start.elapsed()) / 1000.0);
            answer = rows_text(&batches)?;
        }
        eprintln!("  {measure}: {best:.0} ms");
        quire.push((measure, best, answer));
    }
    if std::env::var("QUIRE_BENCH_EXPLAIN").is_ok() {
        for (_, sql) in QUERIES {
            let plan = rt
                .block_on(engine.query(nb, &format!("EXPLAIN ANALYZE {sql}")))
                .map_err(err)?;
            eprintln!(
                "{}",
                datafusion::arrow::util::pretty::pretty_format_batches(&plan)
                    .map_err(|e| e.to_string())?
            );
        }
        return Err("explained".into());
    }

    let mut pages = Vec::new();
    for at in [0, rows / 2, rows.saturating_sub(PAGE_ROWS + 1)] {
        let mut samples = Vec::new();
        for k in 0..PAGES {
            // Neighbouring pages, as a scrolling grid asks for them.
            let offset = (at + k as u64 * PAGE_ROWS / 4).min(rows.saturating_sub(PAGE_ROWS));
            let start = Instant::now();
            let page = rt
                .block_on(engine.page(nb, "big", None, offset, PAGE_ROWS))
                .map_err(err)?;
            samples.push(micros(start.elapsed()));
            if page.is_empty() {
                return Err(format!("the page at {offset} was empty"));
            }
        }
        pages.push(Samples::from(samples).quantile(0.99) / 1000.0);
    }
    let sorted = sorted_view_steps(&rt, &engine, nb, rows)?;
    let peak_rss = status_kb("VmHWM:") * 1024;
    let edits = edit_steps(&rt, &engine, nb, rows, tmp.path(), quire[1].1)?;
    engine.shutdown();

    let anchor = run_anchor(
        "bigdata.py",
        &[
            big.as_os_str(),
            dim.as_os_str(),
            REPEATS.to_string().as_ref(),
            BUDGET_MB.to_string().as_ref(),
        ],
    )?;
    let mut measures = vec![Measure::value(SUITE, "big_open_ms", open_ms, "ms")];
    for (i, (measure, ms, answer)) in quire.into_iter().enumerate() {
        let theirs = anchor["answers"][i]
            .as_array()
            .ok_or("the anchor gave no answers")?;
        let equal = theirs.len() == answer.len()
            && theirs.iter().zip(&answer).all(|(t, ours)| {
                t.as_array().is_some_and(|t| {
                    t.len() == ours.len()
                        && t.iter()
                            .zip(ours)
                            .all(|(a, b)| same(a.as_str().unwrap_or_default(), b))
                })
            });
        if !equal {
            return Err(format!(
                "{measure}: Quire and DuckDB disagree: {answer:?} vs {theirs:?}"
            ));
        }
        let duck = anchor["ms"][i].as_f64().ok_or("the anchor gave no time")?;
        measures.push(Measure::against(SUITE, measure, ms, duck, "ms"));
    }
    for (measure, p99) in [
        "big_page_p99_ms_0",
        "big_page_p99_ms_50m",
        "big_page_p99_ms_end",
    ]
    .into_iter()
    .zip(pages)
    {
        measures.push(Measure::value(SUITE, measure, p99, "ms"));
    }
    let budget = (BUDGET_MB * 1024 * 1024) as f64;
    measures.push(Measure::relative(
        SUITE,
        "big_peak_rss_vs_budget",
        peak_rss as f64 / (1024.0 * 1024.0),
        budget / (1024.0 * 1024.0),
        "MiB",
    ));
    eprintln!(
        "  DuckDB threads: {}",
        anchor_value(&anchor, "threads").unwrap_or(0.0)
    );
    measures.extend(sorted);
    measures.extend(edits);
    measures.extend(convert_csv(tmp.path())?);
    Ok(measures)
}

/// The grid's view of the link sorted by price, descending: made out of memory (sort keys and
/// positions, spilling; positions in a scratch file), then paged at its start and middle.
fn sorted_view_steps(
    rt: &tokio::runtime::Runtime,
    engine: &Engine,
    nb: quire_engine::notebooks::NotebookId,
    rows: u64,
) -> Result<Vec<Measure>, String> {
    let err = |e: quire_engine::Error| e.to_string();
    let view = ViewSpec {
        either: Vec::new(),
        sort: vec![SortKey {
            column: "price".into(),
            descending: true,
        }],
        filters: vec![],
    };
    let start = Instant::now();
    let shown = rt
        .block_on(engine.view_rows(nb, "big", Some(&view)))
        .map_err(err)?;
    let make_ms = micros(start.elapsed()) / 1000.0;
    if shown != rows {
        return Err(format!("the sorted view has {shown} rows, not {rows}"));
    }
    eprintln!("  big_sort_view_ms: {make_ms:.0}");
    let mut samples = Vec::new();
    for at in [0, rows / 2] {
        for k in 0..PAGES {
            let offset = (at + k as u64 * PAGE_ROWS / 4).min(rows.saturating_sub(PAGE_ROWS));
            let start = Instant::now();
            let page = rt
                .block_on(engine.page(nb, "big", Some(&view), offset, PAGE_ROWS))
                .map_err(err)?;
            samples.push(micros(start.elapsed()));
            if page.is_empty() {
                return Err(format!("the sorted page at {offset} was empty"));
            }
        }
    }
    let p99 = Samples::from(samples).quantile(0.99) / 1000.0;
    eprintln!("  big_sorted_page_p99_ms: {p99:.1}");
    Ok(vec![
        Measure::value(SUITE, "big_sort_view_ms", make_ms, "ms"),
        Measure::value(SUITE, "big_sorted_page_p99_ms", p99, "ms"),
    ])
}

/// One cell of the linked file edited and saved, against a full rewrite; the group-by again
/// over the edited file (`clean_groupby_ms` before the edit); the edits compacted.
fn edit_steps(
    rt: &tokio::runtime::Runtime,
    engine: &Engine,
    nb: quire_engine::ids::NotebookId,
    rows: u64,
    tmp: &Path,
    clean_groupby_ms: f64,
) -> Result<Vec<Measure>, String> {
    let err = |e: quire_engine::Error| e.to_string();
    let edit = quire_engine::tables::edit::CellEdit {
        row_id: rows / 2,
        column: "price".into(),
        value: Some("1.5".into()),
    };
    engine.edit_cells(nb, "big", &[edit]).map_err(err)?;
    let start = Instant::now();
    let flushed = engine.flush_all();
    let save_ms = micros(start.elapsed()) / 1000.0;
    if !flushed.tables.failed.is_empty() {
        return Err(format!("the flush failed: {:?}", flushed.tables.failed));
    }
    eprintln!("  one edited cell saved in {save_ms:.2} ms");
    let mut edited_ms = f64::MAX;
    for _ in 0..REPEATS {
        let start = Instant::now();
        rt.block_on(engine.query(nb, QUERIES[1].1)).map_err(err)?;
        edited_ms = edited_ms.min(micros(start.elapsed()) / 1000.0);
    }
    eprintln!(
        "  group-by over the edited file: {edited_ms:.0} ms (clean {clean_groupby_ms:.0} ms)"
    );
    let out = tmp.join("rewrite.parquet");
    let start = Instant::now();
    rt.block_on(engine.export(
        nb,
        "big",
        &out,
        Arc::new(|_| {}),
        &tokio_util::sync::CancellationToken::new(),
    ))
    .map_err(err)?;
    let rewrite_ms = micros(start.elapsed()) / 1000.0;
    let _ = std::fs::remove_file(&out);
    eprintln!("  the whole table rewritten in {rewrite_ms:.0} ms");
    std::fs::write("/proc/self/clear_refs", "5").map_err(|e| e.to_string())?;
    let start = Instant::now();
    let compacted = rt.block_on(engine.compact_linked(nb, "big")).map_err(err)?;
    let compact_ms = micros(start.elapsed()) / 1000.0;
    let compact_rss = status_kb("VmHWM:") * 1024;
    if compacted.is_none_or(|t| t.rows != rows) {
        return Err("the compaction did not give the table's rows".into());
    }
    eprintln!("  compacted in {compact_ms:.0} ms");
    std::fs::write("/proc/self/clear_refs", "5").map_err(|e| e.to_string())?;
    let rename = quire_engine::tables::transform::Transform::RenameColumn {
        column: "price".into(),
        to: "unit_price".into(),
    };
    let start = Instant::now();
    let renamed = rt
        .block_on(engine.apply_transform(
            nb,
            "big",
            &rename,
            Arc::new(|_| {}),
            &tokio_util::sync::CancellationToken::new(),
        ))
        .map_err(err)?;
    let rename_ms = micros(start.elapsed()) / 1000.0;
    let rename_rss = status_kb("VmHWM:") * 1024;
    if renamed.rows != rows || !renamed.columns.iter().any(|c| c.name == "unit_price") {
        return Err("the renamed copy does not hold the table".into());
    }
    eprintln!("  a column renamed (written into a copy) in {rename_ms:.0} ms");
    Ok(vec![
        Measure::value(SUITE, "big_edit_save_ms", save_ms, "ms"),
        Measure::against(
            SUITE,
            "big_edit_snapshot_vs_rewrite",
            save_ms,
            rewrite_ms,
            "ms",
        ),
        Measure::relative(
            SUITE,
            "big_edited_groupby_vs_clean",
            edited_ms,
            clean_groupby_ms,
            "ms",
        ),
        Measure::value(SUITE, "big_compact_ms", compact_ms, "ms"),
        Measure::relative(
            SUITE,
            "big_compact_peak_rss_vs_budget",
            compact_rss as f64 / (1024.0 * 1024.0),
            BUDGET_MB as f64,
            "MiB",
        ),
        Measure::against(
            SUITE,
            "big_column_change_vs_rewrite",
            rename_ms,
            rewrite_ms,
            "ms",
        ),
        Measure::relative(
            SUITE,
            "big_column_change_peak_rss_vs_budget",
            rename_rss as f64 / (1024.0 * 1024.0),
            BUDGET_MB as f64,
            "MiB",
        ),
    ])
}

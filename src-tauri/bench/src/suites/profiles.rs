//! `profiles`: column profiles and chart bins over a 10M-row x 8-column table, engine side.
//!
//! - `profile_10m_ms` / `profile_vs_duckdb_summarize`: every column profiled (counts, missing,
//!   approximate distinct, min/max, mean, stddev, quartiles, histograms, top values); ratio =
//!   DuckDB `SUMMARIZE` time / Quire time on the same data in the same run (DuckDB computes no
//!   histograms or top values). Target: at most 2,000 ms here, ratio at least 1.0.
//! - `chart_bins_10m_ms`: a 50-bin histogram of one float column as a chart cell computes it.
//!
//! Every time is the best of `REPEATS` runs.

use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::parquet::arrow::ArrowWriter;
use quire_engine::tables::{Limits, SqlSession, TableVersion};
use tokio_util::sync::CancellationToken;

use super::tables::{anchor_value, run_anchor};
use crate::report::Measure;
use crate::stats::micros;

const SUITE: &str = "profiles";
const ROWS: usize = 10_000_000;
const BATCH: usize = 65_536;
const REPEATS: usize = 3;

/// A deterministic scramble, so values look random but every run has the same table.
pub(crate) fn mix(i: u64) -> u64 {
    let mut x = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn table() -> Result<TableVersion, String> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("store", DataType::Int64, false),
        Field::new("price", DataType::Float64, false),
        Field::new("discount", DataType::Float64, true),
        Field::new("city", DataType::Utf8, false),
        Field::new("sku", DataType::Utf8, false),
        Field::new("day", DataType::Date32, false),
        Field::new("paid", DataType::Boolean, true),
    ]));
    let cities = [
        "Lyon", "Paris", "Nice", "Lille", "Nantes", "Brest", "Metz", "Dijon",
    ];
    let mut batches = Vec::new();
    for start in (0..ROWS).step_by(BATCH) {
        let end = (start + BATCH).min(ROWS);
        let r = start as u64..end as u64;
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
            Arc::new(StringArray::from_iter_values(
                r.clone().map(|i| format!("SKU-{:06}", mix(i ^ 4) % 50_000)),
            )),
            Arc::new(Date32Array::from_iter_values(
                r.clone().map(|i| 19_723 + (mix(i ^ 5) % 730) as i32),
            )),
            Arc::new(BooleanArray::from_iter(r.map(|i| {
                (!mix(i ^ 6).is_multiple_of(10)).then_some(mix(i ^ 7).is_multiple_of(2))
            }))),
        ];
        batches.push(RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())?);
    }
    Ok(TableVersion::first(schema, batches))
}

fn write_parquet(version: &TableVersion, path: &std::path::Path) -> Result<(), String> {
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let mut writer =
        ArrowWriter::try_new(file, version.schema.clone(), None).map_err(|e| e.to_string())?;
    for batch in version.batches.iter() {
        writer.write(batch).map_err(|e| e.to_string())?;
    }
    writer.close().map_err(|e| e.to_string())?;
    Ok(())
}

pub fn run() -> Result<Vec<Measure>, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    eprintln!("  generating {ROWS} rows x 8 columns ...");
    let version = table()?;
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let parquet = tmp.path().join("profiles.parquet");
    write_parquet(&version, &parquet)?;
    let limits = Limits::default();
    let none = CancellationToken::new();

    let mut profile_ms = f64::MAX;
    let mut profiled = None;
    for _ in 0..REPEATS {
        let start = Instant::now();
        let p = rt
            .block_on(quire_engine::profiles::profile_version(
                &limits, &version, &none,
            ))
            .map_err(|e| e.to_string())?;
        profile_ms = profile_ms.min(micros(start.elapsed()) / 1000.0);
        profiled = Some(p);
    }
    let profiled = profiled.expect("profiled at least once");
    if profiled.rows != ROWS as u64 || profiled.columns.len() != 8 {
        return Err(format!("the profile saw {} rows", profiled.rows));
    }

    let session = SqlSession::new(&limits);
    session.register("t", &version).map_err(|e| e.to_string())?;
    let spec = serde_json::json!({
        "usermeta": { "quire": { "sql": "SELECT price FROM t" } },
        "mark": "bar",
        "encoding": { "x": { "field": "price", "bin": { "maxbins": 50 } }, "y": { "aggregate": "count" } },
    })
    .to_string();
    let mut bins_ms = f64::MAX;
    for _ in 0..REPEATS {
        let start = Instant::now();
        let out = rt
            .block_on(quire_engine::charts::draw(&session, &spec, &none))
            .map_err(|e| e.to_string())?;
        bins_ms = bins_ms.min(micros(start.elapsed()) / 1000.0);
        if out.points == 0 || out.points > 51 {
            return Err(format!("the histogram had {} bins", out.points));
        }
    }

    let anchor = run_anchor(
        "profiles.py",
        &[parquet.as_os_str(), REPEATS.to_string().as_ref()],
    )?;
    let duckdb_ms = anchor_value(&anchor, "duckdb_summarize_ms")?;
    Ok(vec![
        Measure::value(SUITE, "profile_10m_ms", profile_ms, "ms"),
        Measure::against(
            SUITE,
            "profile_vs_duckdb_summarize",
            profile_ms,
            duckdb_ms,
            "ms",
        ),
        Measure::value(SUITE, "chart_bins_10m_ms", bins_ms, "ms"),
    ])
}

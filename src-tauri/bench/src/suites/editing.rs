//! `editing`: a cell edit, a transform and a diff on a 1M-row table, the diff against DuckDB
//! doing the same comparison (a full outer join on the row id comparing every column) on the
//! same two versions in the same run.
//!
//! - `edit_1m_us` (value): one cell edit on a 1M-row table, a new version (p50 of 200).
//! - `edit_1m_alloc_bytes` (value): bytes newly allocated by that edit (the rebuilt batch's
//!   one column, not the table).
//! - `transform_1m_ms` (value): `upper(city)` over 1M rows, a new version.
//! - `diff_1m_ms` (value): a diff of two 1M-row versions with 1 % of rows changed (10,000
//!   edits of one column at random rows).
//! - `diff_1m_vs_duckdb`: ratio = DuckDB time / Quire time (aim: 5x).

use quire_engine::metrics::Metrics;
use quire_engine::snapshots::{Codec, Writer};
use quire_engine::tables::diff::diff;
use quire_engine::tables::edit::{apply, CellEdit};
use quire_engine::tables::transform::{self, Transform};
use quire_engine::tables::TableVersion;
use tokio_util::sync::CancellationToken;

use super::tables::{anchor_value, best, million_row_engine, run_anchor};
use crate::report::Measure;
use crate::stats::Samples;

const SUITE: &str = "editing";
const ROWS: u64 = 1_000_000;
const REPEATS: usize = 3;

fn edit(row_id: u64, value: &str) -> CellEdit {
    CellEdit {
        row_id,
        column: "city".into(),
        value: Some(value.into()),
    }
}

pub fn run() -> Result<Vec<Measure>, String> {
    let (tmp, csv, _engine, _) = million_row_engine()?;
    let cancel = CancellationToken::new();
    let imported = quire_engine::tables::import::read(
        &csv,
        None,
        None,
        &|_| {},
        &cancel,
        &quire_engine::tables::Limits::default().budget("the file"),
    )
    .map_err(|e| e.to_string())?;
    let v1 = TableVersion::first(imported.schema, imported.batches);

    let mut i = 0u64;
    let mut allocated = Vec::new();
    let edits = Samples::collect(20, 200, || {
        i += 1;
        let before = crate::alloc::allocated();
        let next = apply(&v1, &[edit((i * 7_919) % ROWS, "Quimper")]).expect("an edit");
        allocated.push(crate::alloc::allocated() - before);
        drop(next);
    });
    allocated.sort_unstable();
    let edit_alloc = allocated[allocated.len() / 2];

    let upper = Transform::SetColumn {
        column: "city".into(),
        expr: "upper(city)".into(),
    };
    let transform_ms = best(|| {
        transform::apply(&v1, &upper, &|_| {}, &cancel)
            .map(|_| ())
            .map_err(|e| e.to_string())
    })?;

    // 1 % of the rows changed: 10,000 edits of one column at spread-out rows.
    let changes: Vec<CellEdit> = (0..ROWS / 100)
        .map(|k| edit((k * 1_000_003) % ROWS, "Changed"))
        .collect();
    let v2 = apply(&v1, &changes).map_err(|e| e.to_string())?;
    let mut changed = 0;
    let diff_ms = best(|| {
        let d = diff(&v1, &v2, &cancel).map_err(|e| e.to_string())?;
        changed = d.changed.len();
        Ok(())
    })?;

    // The same two versions for DuckDB, as Parquet with their row ids.
    let writer = Writer::new(2, Codec::Snappy, std::sync::Arc::new(Metrics::default()))
        .map_err(|e| e.to_string())?;
    for (generation, v) in [(1, &v1), (2, &v2)] {
        writer
            .write(tmp.path(), "t", generation, v, &|_| {}, &cancel)
            .map_err(|e| e.to_string())?;
    }
    let (old, new, repeats) = (
        tmp.path().join("t.1.parquet"),
        tmp.path().join("t.2.parquet"),
        REPEATS.to_string(),
    );
    let anchor = run_anchor(
        "editing.py",
        &[old.as_os_str(), new.as_os_str(), repeats.as_ref()],
    )?;
    let duckdb_ms = anchor_value(&anchor, "duckdb_diff_ms")?;
    if anchor["changed"].as_u64() != Some(changed) {
        return Err(format!(
            "Quire found {changed} changed rows, DuckDB {}",
            anchor["changed"]
        ));
    }
    Ok(vec![
        Measure::value(SUITE, "edit_1m_us", edits.p50(), "us"),
        Measure::value(SUITE, "edit_1m_alloc_bytes", edit_alloc as f64, "B"),
        Measure::value(SUITE, "transform_1m_ms", transform_ms, "ms"),
        Measure::value(SUITE, "diff_1m_ms", diff_ms, "ms"),
        Measure::against(SUITE, "diff_1m_vs_duckdb", diff_ms, duckdb_ms, "ms"),
    ])
}

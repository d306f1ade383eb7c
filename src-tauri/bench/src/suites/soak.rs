//! `soak`: a long scripted session on one engine, compressed: each round is what a user does in
//! about 30 s (a notebook created, a 20,000-row CSV imported, cell edits, undo, a transform,
//! a query, a diff, a snapshot flush, the notebook deleted). 60 rounds stand for 30 minutes.
//! `QUIRE_BENCH_SOAK_ROUNDS` changes the count. Resident memory, open file descriptors and the
//! task table's rows are sampled after every round and printed as curves (every 10th round).
//!
//! - `rss_growth_mb` (value): mean RSS of the last quarter of rounds minus the mean of the
//!   second quarter (the first is warm-up: allocator pools, DataFusion's lazy statics).
//! - `fd_growth` (value): open descriptors after the last round minus after the first.
//! - `task_rows_per_round` (value): rows the task table gains per round (finished tasks are
//!   kept for `tasks.retention_hours`, so this is bounded by time, not by count).
//! - `round_ms_last_vs_first`: ratio = mean round time of the last quarter / the second
//!   quarter (1.0 means the session does not slow down as it ages).

use std::sync::Arc;
use std::time::Instant;

use quire_engine::events::NullSink;
use quire_engine::tables::edit::CellEdit;
use quire_engine::tables::transform::Transform;
use quire_engine::{Config, Engine, EnginePaths, ImportRequest};
use tokio_util::sync::CancellationToken;

use crate::report::Measure;

const SUITE: &str = "soak";
const ROWS: usize = 20_000;

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn open_fds() -> f64 {
    std::fs::read_dir("/proc/self/fd").map_or(0.0, |d| d.count() as f64)
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

pub fn run() -> Result<Vec<Measure>, String> {
    let rounds: usize = std::env::var("QUIRE_BENCH_SOAK_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60)
        .max(8);
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let csv = tmp.path().join("sales.csv");
    let mut text = String::from("id,city,amount\n");
    for i in 0..ROWS {
        text.push_str(&format!(
            "{i},{},{}.5\n",
            ["Lyon", "Paris", "Nice"][i % 3],
            i
        ));
    }
    std::fs::write(&csv, text).map_err(|e| e.to_string())?;
    let mut config = Config::default();
    config.snapshots.debounce_ms = 200;
    let engine = Engine::open(
        config,
        EnginePaths {
            data_dir: tmp.path().join("data"),
            config_dir: None,
        },
        Arc::new(NullSink),
    )
    .map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let none = CancellationToken::new();
    let task_rows = |e: &Engine| -> f64 {
        e.task_stats().map_or(0.0, |s| {
            (s.pending + s.running + s.completed + s.failed + s.cancelled + s.interrupted) as f64
        })
    };
    let (mut rss, mut fds, mut tasks, mut took) = (vec![], vec![], vec![], vec![]);
    for round in 0..rounds {
        let started = Instant::now();
        let nb = engine
            .create_notebook(&format!("Soak {round}"))
            .map_err(|e| e.to_string())?
            .id;
        engine
            .import_file(nb, ImportRequest::file(&csv).named("sales"), &|_| {}, &none)
            .map_err(|e| e.to_string())?;
        for k in 0..20u64 {
            let edit = CellEdit {
                row_id: (k * 997 + round as u64) % ROWS as u64,
                column: "city".into(),
                value: Some(format!("Town {k}")),
            };
            engine
                .edit_cells(nb, "sales", &[edit])
                .map_err(|e| e.to_string())?;
        }
        engine
            .undo_redo(nb, "sales", true)
            .map_err(|e| e.to_string())?;
        let transform = Transform::SetColumn {
            column: "city".into(),
            expr: "upper(city)".into(),
        };
        rt.block_on(engine.apply_transform(nb, "sales", &transform, Arc::new(|_| {}), &none))
            .map_err(|e| e.to_string())?;
        rt.block_on(engine.query(nb, "SELECT city, sum(amount) FROM sales GROUP BY city"))
            .map_err(|e| e.to_string())?;
        let versions = engine
            .table_versions(nb, "sales")
            .map_err(|e| e.to_string())?;
        let (first, last) = (
            versions.items.first().map_or(1, |v| v.version),
            versions.items.last().map_or(1, |v| v.version),
        );
        rt.block_on(engine.diff_versions(nb, "sales", first, last, &none))
            .map_err(|e| e.to_string())?;
        let flushed = engine.flush_all();
        if !flushed.tables.failed.is_empty() {
            return Err(format!(
                "round {round}: a snapshot failed: {:?}",
                flushed.tables.failed
            ));
        }
        engine.delete_notebook(nb).map_err(|e| e.to_string())?;
        took.push(started.elapsed().as_secs_f64() * 1000.0);
        rss.push(rss_mb());
        fds.push(open_fds());
        tasks.push(task_rows(&engine));
        if round % 10 == 0 || round + 1 == rounds {
            eprintln!(
                "soak round {round:>3}: rss {:>7.1} MB  fds {:>4}  task rows {:>5}  round {:>6.0} ms",
                rss[round], fds[round], tasks[round], took[round]
            );
        }
    }
    engine.shutdown();
    let q = rounds / 4;
    let (second, last) = (q..2 * q, rounds - q..rounds);
    Ok(vec![
        Measure::value(SUITE, "rounds", rounds as f64, "rounds"),
        Measure::value(
            SUITE,
            "rss_growth_mb",
            mean(&rss[last.clone()]) - mean(&rss[second.clone()]),
            "MB",
        ),
        Measure::value(SUITE, "rss_last_mb", rss[rounds - 1], "MB"),
        Measure::value(SUITE, "fd_growth", fds[rounds - 1] - fds[0], "fds"),
        Measure::value(
            SUITE,
            "task_rows_per_round",
            (tasks[rounds - 1] - tasks[0]) / (rounds - 1) as f64,
            "rows",
        ),
        Measure::relative(
            SUITE,
            "round_ms_last_vs_first",
            mean(&took[last]),
            mean(&took[second]),
            "ms",
        ),
    ])
}

//! `soak`: a long scripted session on one engine, compressed: each round is what a user does in
//! about 30 s (a notebook created, a 20,000-row CSV imported, cell edits, undo, a transform,
//! a query, a diff, a snapshot flush, the notebook deleted). 60 rounds stand for 30 minutes.
//! `QUIRE_BENCH_SOAK_ROUNDS` changes the count. Resident memory, open file descriptors and the
//! task table's rows are sampled after every round and printed as curves (every 10th round).
//!
//! - `rss_growth_mb` (value): mean RSS of the last quarter of rounds minus the mean of the
//!   second quarter (the first is warm-up: allocator pools, DataFusion's lazy statics).
//! - `fd_growth` (value): open descriptors after the last round minus after the first.
//! - `task_rows_max` (value): the most rows the task table held; the soak keeps at most
//!   `TASK_CAP` finished tasks (`tasks.max_finished`), so the table must level off there.
//! - `errors_logged`, `warnings_logged` (value): what the engine logged at those levels.
//! - `round_ms_last_vs_first`: ratio = mean round time of the last quarter / the second
//!   quarter (1.0 means the session does not slow down as it ages).
//!
//! The suite fails (exit 1, naming the reason) when anything is logged at error level, open
//! descriptors grow by more than `FD_SLACK`, resident memory by more than `RSS_SLACK_MB`, or
//! the task table passes its cap; `make test` runs a short soak in debug.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use quire_engine::events::NullSink;
use quire_engine::tables::edit::CellEdit;
use quire_engine::tables::transform::Transform;
use quire_engine::{Config, Engine, EnginePaths, ImportRequest};
use tokio_util::sync::CancellationToken;

use crate::report::Measure;

const SUITE: &str = "soak";
const ROWS: usize = 20_000;
const TASK_CAP: u32 = 200;
const FD_SLACK: f64 = 2.0;
const RSS_SLACK_MB: f64 = 32.0;

/// Counts what is logged at warn and error level, keeping the first lines of each.
struct Counted {
    errors: AtomicUsize,
    warnings: AtomicUsize,
    first: Mutex<Vec<String>>,
}

static LOGGED: Counted = Counted {
    errors: AtomicUsize::new(0),
    warnings: AtomicUsize::new(0),
    first: Mutex::new(Vec::new()),
};

impl log::Log for Counted {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::Level::Warn
    }

    fn log(&self, r: &log::Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let n = match r.level() {
            log::Level::Error => &self.errors,
            _ => &self.warnings,
        };
        n.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first.lock().unwrap_or_else(|p| p.into_inner());
        if first.len() < 10 {
            first.push(format!("{} {}: {}", r.level(), r.target(), r.args()));
        }
    }

    fn flush(&self) {}
}

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
    // Another suite in the same run may have installed it already; it is the same logger.
    let _ = log::set_logger(&LOGGED);
    log::set_max_level(log::LevelFilter::Warn);
    let mut config = Config::default();
    config.snapshots.debounce_ms = 200;
    config.tasks.max_finished = TASK_CAP;
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
    let rss_growth = mean(&rss[last.clone()]) - mean(&rss[second.clone()]);
    let fd_growth = fds[rounds - 1] - fds[0];
    let task_rows_max = tasks.iter().copied().fold(0.0, f64::max);
    let (errors, warnings) = (
        LOGGED.errors.load(Ordering::Relaxed),
        LOGGED.warnings.load(Ordering::Relaxed),
    );
    for line in LOGGED
        .first
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        eprintln!("soak logged: {line}");
    }
    let mut broken = Vec::new();
    if errors > 0 {
        broken.push(format!("{errors} errors logged"));
    }
    if fd_growth > FD_SLACK {
        broken.push(format!("open descriptors grew by {fd_growth}"));
    }
    if rss_growth > RSS_SLACK_MB {
        broken.push(format!("resident memory grew by {rss_growth:.1} MB"));
    }
    // Live tasks of a round plus up to one prune interval (cap / 8) above the cap.
    if task_rows_max > f64::from(TASK_CAP) * 1.125 + 16.0 {
        broken.push(format!(
            "the task table held {task_rows_max} rows (cap {TASK_CAP})"
        ));
    }
    if !broken.is_empty() {
        return Err(broken.join("; "));
    }
    Ok(vec![
        Measure::value(SUITE, "rounds", rounds as f64, "rounds"),
        Measure::value(SUITE, "rss_growth_mb", rss_growth, "MB"),
        Measure::value(SUITE, "rss_last_mb", rss[rounds - 1], "MB"),
        Measure::value(SUITE, "fd_growth", fd_growth, "fds"),
        Measure::value(SUITE, "task_rows_max", task_rows_max, "rows"),
        Measure::value(SUITE, "task_rows_last", tasks[rounds - 1], "rows"),
        Measure::value(SUITE, "errors_logged", errors as f64, "lines"),
        Measure::value(SUITE, "warnings_logged", warnings as f64, "lines"),
        Measure::relative(
            SUITE,
            "round_ms_last_vs_first",
            mean(&took[last]),
            mean(&took[second]),
            "ms",
        ),
    ])
}

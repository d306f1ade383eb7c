//! `queue`: the grid stays fast while Quire works in the background, and work stops when asked.
//!
//! - `page_p50_idle_ms`, `page_p99_idle_ms` (values): a 200-row page of a 1M-row table at a
//!   random offset, through the scheduler, nothing else running.
//! - `page_p99_load_ms` (value): the same while 1M-row Parquet writes (background) and a heavy
//!   group-by (user-visible) run back to back; `page_p99_load_vs_idle`: ratio = load / idle;
//!   `load_jobs_during_pages` (value): load jobs that finished while those pages were fetched.
//!   `page_p99_load_recorded_ms`: the same load with each write recorded as a task (as the
//!   app records its exports).
//! - `cancel_query_p50_ms`, `cancel_query_p99_ms`: from Cancel to the end of a query that would
//!   run for minutes. `cancel_write_p50_ms`, `cancel_write_p99_ms`: the same for a 1M-row write.
//! - The CPU-bound load of issue 24: a self-join of a 100,000-row flights table on a column of
//!   10 values (10^9 joined rows) feeding a hash aggregate, run as a SQL cell.
//!   `page_p99_heavy_ms`: grid pages of another table while it runs; `page_p99_rounds_idle_ms`:
//!   the same rounds of pages (same offsets, same pause before each round) with nothing running,
//!   the baseline of `page_p99_heavy_vs_idle`, since the first page after a pause finds cold
//!   caches and parked threads whether or not a query runs;
//!   `cancel_heavy_p50_ms`, `cancel_heavy_p99_ms`: from Cancel until the engine reports the cell
//!   cancelled; `cpu_after_cancel_ms` (worst round): CPU time the whole process burns in the
//!   second after that.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use quire_engine::notebooks::CellKind;
use quire_engine::queue::{JobKind, Priority};
use tokio_util::sync::CancellationToken;

use crate::report::Measure;
use crate::stats::{micros, Samples};

const SUITE: &str = "queue";
const PAGES: usize = 300;
const CANCELS: usize = 10;
const HEAVY: &str =
    "SELECT city, id % 5000 AS bucket, avg(amount), count(*) FROM t GROUP BY city, id % 5000";
const JOIN_HEAVY: &str =
    "SELECT a.carrier, count(*) FROM flights a JOIN flights b ON a.dest = b.dest GROUP BY a.carrier";
const HEAVY_ROUNDS: usize = 10;
const ENDLESS: &str = "SELECT a.value * b.value FROM generate_series(1, 100000) a CROSS JOIN generate_series(1, 100000) b";

pub fn run() -> Result<Vec<Measure>, String> {
    let (tmp, _csv, engine, nb) = super::tables::million_row_engine()?;
    let engine = Arc::new(engine);
    let err = |e: quire_engine::Error| e.to_string();
    // The runtime that stands in for the shell's command runtime.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let rows = engine.tables(nb).map_err(err)?[0].rows;

    let pages = |n: usize| -> Samples {
        let mut i = 0u64;
        Samples::collect(10, n, || {
            i += 1;
            let offset = (i * 7_919_993) % (rows - 200);
            rt.block_on(engine.page(nb, "t", None, offset, 200))
                .expect("a page");
        })
    };
    let idle = pages(PAGES);

    // Load: Parquet writes of the whole table and a heavy query, each back to back. The
    // writes go straight to the writer, as this suite has always measured them; the same load
    // with every write recorded in the task store (as the app's exports are) is measured after.
    let under_load = |recorded: bool| -> Result<(Samples, u64), String> {
        let stop = Arc::new(AtomicBool::new(false));
        let finished = Arc::new(AtomicU64::new(0));
        let mut load = Vec::new();
        {
            let (engine, stop, out, finished) = (
                engine.clone(),
                stop.clone(),
                tmp.path().join("load.parquet"),
                finished.clone(),
            );
            load.push(std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if recorded {
                        let (e2, out) = (engine.clone(), out.clone());
                        let job = engine.scheduler().submit_blocking(
                            Priority::Background,
                            JobKind::Export,
                            None,
                            move |token| {
                                Ok(e2.export_table(nb, "t", &out, &|_| {}, token).map(|_| ()))
                            },
                        );
                        let _ = job.blocking_result();
                    } else {
                        let version = engine.ledger().version(nb, "t").expect("the table");
                        let out = out.clone();
                        let job = engine.scheduler().submit_blocking(
                            Priority::Background,
                            JobKind::Export,
                            None,
                            move |token| {
                                let metrics = quire_engine::metrics::Metrics::default();
                                Ok(quire_engine::tables::export::write(
                                    &out,
                                    &version.schema,
                                    &version.batches,
                                    &metrics,
                                    &|_| {},
                                    token,
                                )
                                .map(|_| ()))
                            },
                        );
                        let _ = job.blocking_result();
                    }
                    finished.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        {
            let (engine, stop, finished) = (engine.clone(), stop.clone(), finished.clone());
            let rt2 = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            load.push(std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let _ = rt2.block_on(engine.query(nb, HEAVY));
                    finished.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        std::thread::sleep(Duration::from_millis(300));
        let before = finished.load(Ordering::Relaxed);
        let loaded = pages(PAGES);
        let load_jobs = finished.load(Ordering::Relaxed) - before;
        stop.store(true, Ordering::Relaxed);
        for t in load {
            let _ = t.join();
        }
        Ok((loaded, load_jobs))
    };
    let (loaded, load_jobs) = under_load(false)?;
    let (loaded_recorded, _) = under_load(true)?;

    // Cancel a query that would run for minutes.
    let cell = engine
        .notebooks()
        .add_cell(nb, CellKind::Sql, None, ENDLESS.into())
        .map_err(|e| e.to_string())?;
    let mut query_cancels = Vec::new();
    for _ in 0..CANCELS {
        let cancel = CancellationToken::new();
        let run = {
            let (engine, cancel) = (engine.clone(), cancel.clone());
            rt.spawn(async move {
                engine
                    .run_cell_with(nb, cell.id, Arc::new(|_| {}), &cancel)
                    .await
            })
        };
        std::thread::sleep(Duration::from_millis(150));
        let start = Instant::now();
        cancel.cancel();
        let result = rt.block_on(run).map_err(|e| e.to_string())?;
        if result.is_ok() {
            return Err("the endless query finished instead of being cancelled".into());
        }
        query_cancels.push(micros(start.elapsed()) / 1000.0);
    }

    // Cancel a 1M-row Parquet write.
    let mut write_cancels = Vec::new();
    for i in 0..CANCELS {
        let (e2, out) = (
            engine.clone(),
            tmp.path().join(format!("cancel-{i}.parquet")),
        );
        let job = engine.scheduler().submit_blocking(
            Priority::Background,
            JobKind::Export,
            None,
            move |token| Ok(e2.export_table(nb, "t", &out, &|_| {}, token).map(|_| ())),
        );
        std::thread::sleep(Duration::from_millis(40));
        let start = Instant::now();
        job.cancel();
        let _ = job.blocking_result();
        write_cancels.push(micros(start.elapsed()) / 1000.0);
    }
    let (query_cancels, write_cancels) =
        (Samples::from(query_cancels), Samples::from(write_cancels));

    // The CPU-bound join + aggregate: pages meanwhile, then cancel and the CPU after it.
    rt.block_on(engine.save_query_as_table(
        nb,
        "SELECT value AS id, 'C' || CAST(value % 16 AS VARCHAR) AS carrier, \
         'D' || CAST(value % 10 AS VARCHAR) AS dest FROM generate_series(1, 100000)",
        "flights",
    ))
    .map_err(err)?;
    let heavy_cell = engine
        .notebooks()
        .add_cell(nb, CellKind::Sql, None, JOIN_HEAVY.into())
        .map_err(|e| e.to_string())?;
    let round_pages = |round: usize, out: &mut Vec<f64>| -> Result<(), String> {
        for i in 0..(PAGES / HEAVY_ROUNDS) {
            let offset = ((round * 1000 + i) as u64 * 7_919_993) % (rows - 200);
            let start = Instant::now();
            rt.block_on(engine.page(nb, "t", None, offset, 200))
                .map_err(err)?;
            out.push(micros(start.elapsed()));
        }
        Ok(())
    };
    let mut idle_rounds = Vec::new();
    let mut heavy_pages = Vec::new();
    let mut heavy_cancels = Vec::new();
    let mut cpu_after = 0f64;
    for round in 0..HEAVY_ROUNDS {
        let cancel = CancellationToken::new();
        let run = {
            let (engine, cancel) = (engine.clone(), cancel.clone());
            rt.spawn(async move {
                engine
                    .run_cell_with(nb, heavy_cell.id, Arc::new(|_| {}), &cancel)
                    .await
            })
        };
        std::thread::sleep(Duration::from_millis(300));
        round_pages(round, &mut heavy_pages)?;
        if run.is_finished() {
            return Err("the heavy join finished before it was cancelled".into());
        }
        let start = Instant::now();
        cancel.cancel();
        let result = rt.block_on(run).map_err(|e| e.to_string())?;
        heavy_cancels.push(micros(start.elapsed()) / 1000.0);
        if result.is_ok() {
            return Err("the heavy join finished instead of being cancelled".into());
        }
        let before = process_cpu();
        std::thread::sleep(Duration::from_secs(1));
        cpu_after = cpu_after.max((process_cpu() - before).as_secs_f64() * 1000.0);
        // The idle round for the same offsets, after the same pause (the query is cancelled).
        std::thread::sleep(Duration::from_millis(300));
        round_pages(round, &mut idle_rounds)?;
    }
    let (heavy_pages, heavy_cancels, idle_rounds) = (
        Samples::from(heavy_pages),
        Samples::from(heavy_cancels),
        Samples::from(idle_rounds),
    );

    let ms = |us: f64| us / 1000.0;
    Ok(vec![
        Measure::value(SUITE, "page_p50_idle_ms", ms(idle.p50()), "ms"),
        Measure::value(SUITE, "page_p99_idle_ms", ms(idle.quantile(0.99)), "ms"),
        Measure::value(SUITE, "page_p99_load_ms", ms(loaded.quantile(0.99)), "ms"),
        Measure::value(SUITE, "load_jobs_during_pages", load_jobs as f64, "jobs"),
        Measure::value(
            SUITE,
            "page_p99_load_recorded_ms",
            ms(loaded_recorded.quantile(0.99)),
            "ms",
        ),
        Measure::relative(
            SUITE,
            "page_p99_load_vs_idle",
            ms(loaded.quantile(0.99)),
            ms(idle.quantile(0.99)),
            "ms",
        ),
        Measure::value(SUITE, "cancel_query_p50_ms", query_cancels.p50(), "ms"),
        Measure::value(
            SUITE,
            "cancel_query_p99_ms",
            query_cancels.quantile(0.99),
            "ms",
        ),
        Measure::value(
            SUITE,
            "page_p99_heavy_ms",
            ms(heavy_pages.quantile(0.99)),
            "ms",
        ),
        Measure::value(
            SUITE,
            "page_p99_rounds_idle_ms",
            ms(idle_rounds.quantile(0.99)),
            "ms",
        ),
        Measure::relative(
            SUITE,
            "page_p99_heavy_vs_idle",
            ms(heavy_pages.quantile(0.99)),
            ms(idle_rounds.quantile(0.99)),
            "ms",
        ),
        Measure::value(SUITE, "cancel_heavy_p50_ms", heavy_cancels.p50(), "ms"),
        Measure::value(
            SUITE,
            "cancel_heavy_p99_ms",
            heavy_cancels.quantile(0.99),
            "ms",
        ),
        Measure::value(SUITE, "cpu_after_cancel_ms", cpu_after, "ms"),
        Measure::value(SUITE, "cancel_write_p50_ms", write_cancels.p50(), "ms"),
        Measure::value(
            SUITE,
            "cancel_write_p99_ms",
            write_cancels.quantile(0.99),
            "ms",
        ),
    ])
}

/// CPU time (user + system) the whole process has used.
#[cfg(unix)]
fn process_cpu() -> Duration {
    // SAFETY: getrusage fills the struct we own.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[cfg(not(unix))]
fn process_cpu() -> Duration {
    Duration::ZERO
}

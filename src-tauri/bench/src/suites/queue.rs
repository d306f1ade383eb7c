//! `queue`: the grid stays fast while Quire works in the background, and work stops when asked.
//!
//! - `page_p50_idle_ms`, `page_p99_idle_ms` (values): a 200-row page of a 1M-row table at a
//!   random offset, through the scheduler, nothing else running.
//! - `page_p99_load_ms` (value): the same while 1M-row Parquet writes (background) and a heavy
//!   group-by (user-visible) run back to back; `page_p99_load_vs_idle`: ratio = load / idle;
//!   `load_jobs_during_pages` (value): load jobs that finished while those pages were fetched.
//! - `cancel_query_p50_ms`, `cancel_query_p99_ms`: from Cancel to the end of a query that would
//!   run for minutes. `cancel_write_p50_ms`, `cancel_write_p99_ms`: the same for a 1M-row write.

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

    // Load: Parquet writes of the whole table and a heavy query, each back to back.
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
                let (e2, out) = (engine.clone(), out.clone());
                let job = engine.scheduler().submit_blocking(
                    Priority::Background,
                    JobKind::Export,
                    None,
                    move |token| Ok(e2.export_table(nb, "t", &out, &|_| {}, token).map(|_| ())),
                );
                let _ = job.blocking_result();
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

    let ms = |us: f64| us / 1000.0;
    Ok(vec![
        Measure::value(SUITE, "page_p50_idle_ms", ms(idle.p50()), "ms"),
        Measure::value(SUITE, "page_p99_idle_ms", ms(idle.quantile(0.99)), "ms"),
        Measure::value(SUITE, "page_p99_load_ms", ms(loaded.quantile(0.99)), "ms"),
        Measure::value(SUITE, "load_jobs_during_pages", load_jobs as f64, "jobs"),
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
        Measure::value(SUITE, "cancel_write_p50_ms", write_cancels.p50(), "ms"),
        Measure::value(
            SUITE,
            "cancel_write_p99_ms",
            write_cancels.quantile(0.99),
            "ms",
        ),
    ])
}

//! `notebooks`: what lazy hydration and batched writes buy, in time and in file writes.
//!
//! - `create_lazy_p50_us` (value): creating a notebook with lazy hydration, in-process.
//! - `create_lazy_vs_eager`: ratio = eager p50 / lazy p50 (eager writes folder and file).
//! - `create5_never_run_file_writes` (value): files written for 5 notebooks never run (lazy).
//! - `add10_batched_vs_write_through`: 10 cells then one flush, against 10 write-through adds,
//!   both ending durable; ratio = write-through p50 / batched p50.
//! - `add10_batched_file_writes` (value): file writes of the batched case (must be 1).
//! - `edit_stream_write_reduction`: 20 edits/s for `QUIRE_BENCH_STREAM_SECS` (default 30) with
//!   the default 100 ms delay and 1 s max wait, against the same stream written through;
//!   ratio = write-through writes / batched writes.
//! - `edit_stream_max_unsaved_ms` (value): the longest any edit of the batched stream waited
//!   until a durable write held it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quire_engine::config::{NotebookConfig, NotebookMode};
use quire_engine::events::{EngineEvent, EventBus, EventSink, NullSink, Sequenced};
use quire_engine::metrics::Metrics;
use quire_engine::notebooks::{CellKind, Notebooks};
use quire_engine::workspace::Workspace;

use crate::report::Measure;
use crate::stats::{micros, Samples};

const SUITE: &str = "notebooks";

struct Bench {
    _tmp: tempfile::TempDir,
    books: Notebooks,
    metrics: Arc<Metrics>,
}

fn open(config: NotebookConfig, sink: Arc<dyn EventSink>) -> Result<Bench, String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let ws = Workspace::open(&tmp.path().join("ws")).map_err(|e| e.to_string())?;
    let metrics = Arc::new(Metrics::default());
    let events = Arc::new(EventBus::new(sink, metrics.clone()));
    let books =
        Notebooks::open(ws, config, metrics.clone(), events, None).map_err(|e| e.to_string())?;
    Ok(Bench {
        _tmp: tmp,
        books,
        metrics,
    })
}

fn preset(mode: NotebookMode) -> NotebookConfig {
    NotebookConfig::preset(mode).expect("a preset mode")
}

fn eager() -> NotebookConfig {
    NotebookConfig {
        lazy_hydration: false,
        ..preset(NotebookMode::Optimized)
    }
}

pub fn run() -> Result<Vec<Measure>, String> {
    let mut out = Vec::new();

    // Creating: 20 fresh workspaces of 50 notebooks each, so the count stays realistic.
    let create_p50 = |config: NotebookConfig| -> Result<f64, String> {
        let mut all = Vec::new();
        for round in 0..20 {
            let b = open(config.clone(), Arc::new(NullSink))?;
            let mut i = 0;
            let s = Samples::collect(0, 50, || {
                b.books
                    .create(&format!("Notebook {round}-{i}"))
                    .expect("create");
                i += 1;
            });
            all.push(s);
        }
        Ok(Samples::merge(all).p50())
    };
    let lazy = create_p50(preset(NotebookMode::Optimized))?;
    let eager_p50 = create_p50(eager())?;
    out.push(Measure::value(SUITE, "create_lazy_p50_us", lazy, "us"));
    out.push(Measure::against(
        SUITE,
        "create_lazy_vs_eager",
        lazy,
        eager_p50,
        "us",
    ));

    let b = open(preset(NotebookMode::Optimized), Arc::new(NullSink))?;
    for i in 0..5 {
        b.books
            .create(&format!("Never run {i}"))
            .map_err(|e| e.to_string())?;
    }
    out.push(Measure::value(
        SUITE,
        "create5_never_run_file_writes",
        b.metrics.snapshot().disk_writes as f64,
        "writes",
    ));

    // 10 cells, then durable: one flush vs ten write-through adds.
    let add10 = |config: NotebookConfig, flush: bool| -> Result<(f64, f64), String> {
        let b = open(config, Arc::new(NullSink))?;
        let mut writes: f64 = 0.0;
        let mut times = Vec::new();
        for n in 0..22 {
            // Each round starts from a notebook already on disk, so only the adds are timed.
            let nb = b
                .books
                .create(&format!("Add {n}"))
                .map_err(|e| e.to_string())?;
            b.books.flush(nb.id).map_err(|e| e.to_string())?;
            let before = b.metrics.snapshot().disk_writes;
            let start = Instant::now();
            for i in 0..10 {
                b.books
                    .add_cell(nb.id, CellKind::Sql, None, format!("SELECT {i}"))
                    .map_err(|e| e.to_string())?;
            }
            if flush {
                b.books.flush(nb.id).map_err(|e| e.to_string())?;
            }
            let took = micros(start.elapsed());
            if n >= 2 {
                times.push(took); // the first two warm the file system caches
                writes = writes.max((b.metrics.snapshot().disk_writes - before) as f64);
            }
        }
        Ok((Samples::from(times).p50(), writes))
    };
    let manual = preset(NotebookMode::Manual);
    let (batched, batched_writes) = add10(manual, true)?;
    let (through, _) = add10(preset(NotebookMode::Immediate), false)?;
    out.push(Measure::against(
        SUITE,
        "add10_batched_vs_write_through",
        batched,
        through,
        "us",
    ));
    out.push(Measure::value(
        SUITE,
        "add10_batched_file_writes",
        batched_writes,
        "writes",
    ));

    // A typing stream at 20 edits/s, batched and written through.
    let secs: u64 = std::env::var("QUIRE_BENCH_STREAM_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let (batched_writes, max_unsaved_ms) = edit_stream(preset(NotebookMode::Optimized), secs)?;
    let (through_writes, _) = edit_stream(preset(NotebookMode::Immediate), secs)?;
    out.push(Measure::against(
        SUITE,
        "edit_stream_write_reduction",
        batched_writes,
        through_writes,
        "writes",
    ));
    out.push(Measure::value(
        SUITE,
        "edit_stream_max_unsaved_ms",
        max_unsaved_ms,
        "ms",
    ));
    Ok(out)
}

/// Records when each revision became durable (every save status names the newest one).
#[derive(Default)]
struct SavedAt(Mutex<Vec<(u64, Instant)>>);

impl EventSink for SavedAt {
    fn deliver(&self, batch: Vec<Sequenced>) {
        let now = Instant::now();
        let mut saved = self.0.lock().expect("bench lock");
        for s in batch {
            if let EngineEvent::SaveStatus { saved_revision, .. } = s.event {
                saved.push((saved_revision, now));
            }
        }
    }
}

/// Returns (file writes during the stream, the longest wait of any edit for its write in ms).
fn edit_stream(config: NotebookConfig, secs: u64) -> Result<(f64, f64), String> {
    let sink = Arc::new(SavedAt::default());
    let b = open(config, sink.clone())?;
    let nb = b.books.create("Typing").map_err(|e| e.to_string())?;
    let cell = b
        .books
        .add_cell(nb.id, CellKind::Sql, None, String::new())
        .map_err(|e| e.to_string())?;
    b.books.flush(nb.id).map_err(|e| e.to_string())?;
    let writes_before = b.metrics.snapshot().disk_writes;
    // Revisions so far: the added cell (1). The stream's edits are revisions 2, 3, ...
    let first_revision = 1;

    let period = Duration::from_millis(50);
    let edits = secs * 20;
    let start = Instant::now();
    let mut text = String::new();
    let mut edited_at = Vec::with_capacity(edits as usize);
    for i in 0..edits {
        let due = start + period * i as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        text.push(char::from(b'a' + (i % 26) as u8));
        b.books
            .update_cell(nb.id, cell.id, text.clone())
            .map_err(|e| e.to_string())?;
        edited_at.push(Instant::now());
    }
    // Let the last edits reach disk through the normal path, then stop.
    std::thread::sleep(Duration::from_millis(1500));
    let writes = (b.metrics.snapshot().disk_writes - writes_before) as f64;

    let saved = sink.0.lock().expect("bench lock").clone();
    let mut max_wait = Duration::ZERO;
    for (i, at) in edited_at.iter().enumerate() {
        let revision = first_revision + 1 + i as u64;
        let durable = saved
            .iter()
            .find(|(r, t)| *r >= revision && t >= at)
            .map(|(_, t)| *t);
        let waited = durable.map_or(Duration::MAX, |t| t.duration_since(*at));
        max_wait = max_wait.max(waited);
    }
    Ok((writes, micros(max_wait) / 1000.0))
}

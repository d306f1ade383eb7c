//! `tasks`: the SQLite task store (WAL, `synchronous=NORMAL`) on a real file.
//!
//! - `enqueue_p50_us`, `enqueue_p99_us` (values): recording one task, committed (target p50
//!   under 50 µs).
//! - `enqueue_normal_vs_full_sync`: ratio = enqueue p50 with `synchronous=FULL` / with NORMAL
//!   (what an fsync per commit would cost).
//! - `journal_append_p50_us`, `journal_append_p99_us` (values): one journal entry (a cell
//!   edit), committed.
//! - `restore_10k_ms` (value): reopening a store that holds 10,000 pending tasks and listing
//!   them in order for the restart (target under 200 ms).
//! - `idle_cpu_ms_10s` (value): CPU time the whole process spends over 10 s with an engine open,
//!   tasks waiting and a waiter blocked on a task (target under 10 ms: nothing polls).
//!   `QUIRE_BENCH_IDLE_SECS` shortens the window.

use std::sync::Arc;
use std::time::Duration;

use quire_engine::events::NullSink;
use quire_engine::notebooks::NotebookId;
use quire_engine::queue::Priority;
use quire_engine::tables::edit::CellEdit;
use quire_engine::tasks::{NewTask, TaskKind, TaskStore, FILE_NAME};
use quire_engine::{Config, Engine, EnginePaths};

use super::tables::best;
use crate::report::Measure;
use crate::stats::Samples;

const SUITE: &str = "tasks";

fn new_task(i: u64) -> NewTask {
    NewTask {
        kind: TaskKind::Export,
        notebook: Some(NotebookId(uuid::Uuid::nil())),
        target: Some("trips".into()),
        payload: serde_json::json!({ "path": format!("/data/out-{i}.csv") }),
        priority: Priority::Background,
    }
}

/// User + system CPU time of this process so far, from /proc/self/stat (clock ticks of 10 ms
/// on Linux), in milliseconds.
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat; 12 and 13 after the ")".
    (ticks(11) + ticks(12)) * 10.0
}

pub fn run() -> Result<Vec<Measure>, String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let store = TaskStore::open(&tmp.path().join(FILE_NAME)).map_err(|e| e.to_string())?;
    let mut i = 0;
    let enqueue = Samples::collect(200, 5000, || {
        i += 1;
        store.enqueue(&new_task(i)).expect("enqueue");
    });
    // The same with `synchronous=FULL`, the baseline NORMAL is chosen against.
    store.set_full_sync(true).map_err(|e| e.to_string())?;
    let enqueue_full = Samples::collect(20, 500, || {
        i += 1;
        store.enqueue(&new_task(i)).expect("enqueue");
    });
    store.set_full_sync(false).map_err(|e| e.to_string())?;
    let nb = NotebookId(uuid::Uuid::now_v7());
    let edit = serde_json::to_value(CellEdit {
        row_id: 42,
        column: "city".into(),
        value: Some("Lyon".into()),
    })
    .map_err(|e| e.to_string())?;
    let mut v = 0;
    let journal = Samples::collect(200, 5000, || {
        v += 1;
        store
            .journal_append(
                nb,
                "trips",
                v,
                &serde_json::json!({ "step": "op", "op": { "op": "edit", "edits": [edit] } }),
            )
            .expect("append");
    });
    drop(store);

    // A store with 10,000 pending tasks, reopened as after a crash.
    let crashed = tmp.path().join("crashed.sqlite");
    {
        let store = TaskStore::open(&crashed).map_err(|e| e.to_string())?;
        for i in 0..10_000 {
            store.enqueue(&new_task(i)).map_err(|e| e.to_string())?;
        }
    }
    let mut found = 0;
    let restore_ms = best(|| {
        let store = TaskStore::open(&crashed).map_err(|e| e.to_string())?;
        found = store.restore().map_err(|e| e.to_string())?.requeued.len();
        Ok(())
    })?;
    if found != 10_000 {
        return Err(format!("restore found {found} of 10000 pending tasks"));
    }

    // Idle: an engine with waiting tasks and a waiter blocked on one of them.
    let secs: u64 = std::env::var("QUIRE_BENCH_IDLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let engine = Arc::new(
        Engine::open(
            Config::default(),
            EnginePaths {
                data_dir: tmp.path().join("data"),
                config_dir: None,
            },
            Arc::new(NullSink),
        )
        .map_err(|e| e.to_string())?,
    );
    // A hundred recorded tasks wait; the last one has a waiter.
    let recorded: Vec<u64> = (0..100)
        .filter_map(|i| engine.task_store().enqueue(&new_task(i)).ok())
        .collect();
    let waiting = *recorded.last().ok_or("no task recorded")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let waiter = {
        let engine = engine.clone();
        runtime.spawn(async move {
            let _ = engine
                .task_store()
                .wait(waiting, Duration::from_secs(3600))
                .await;
        })
    };
    std::thread::sleep(Duration::from_millis(500)); // let start-up settle
    let before = cpu_ms();
    if before <= 0.0 {
        return Err("could not read this process's CPU time from /proc/self/stat".into());
    }
    std::thread::sleep(Duration::from_secs(secs));
    let idle_ms = (cpu_ms() - before) * 10.0 / secs as f64;
    waiter.abort();
    drop(runtime);

    Ok(vec![
        Measure::value(SUITE, "enqueue_p50_us", enqueue.p50(), "us"),
        Measure::value(SUITE, "enqueue_p99_us", enqueue.quantile(0.99), "us"),
        Measure::against(
            SUITE,
            "enqueue_normal_vs_full_sync",
            enqueue.p50(),
            enqueue_full.p50(),
            "us",
        ),
        Measure::value(SUITE, "journal_append_p50_us", journal.p50(), "us"),
        Measure::value(SUITE, "journal_append_p99_us", journal.quantile(0.99), "us"),
        Measure::value(SUITE, "restore_10k_ms", restore_ms, "ms"),
        Measure::value(SUITE, "idle_cpu_ms_10s", idle_ms, "ms"),
    ])
}

//! `durability`: what making every acknowledged edit durable before it is acknowledged costs,
//! on a real file system (printed: acknowledgements wait for a sync, so the disk matters).
//!
//! - `journal_ack_p50_ms`, `journal_ack_p99_ms`: one notebook cell edit through the engine in
//!   the default (batched) mode, returned once its draft is committed with a WAL sync (target
//!   p99 <= 5 ms); baseline: a 4 KB write + `fdatasync` on the same file system, in this run;
//!   ratio = value / baseline.
//! - `journal_ack_normal_p50_ms` (value): the same edit with drafts committed under
//!   `synchronous=NORMAL` (no sync: survives a kill, not a power cut), the cheaper level FULL
//!   was chosen against.
//! - `table_edit_ack_p99_ms`: one table cell edit (journal append with a WAL sync), p99.
//! - `group_commit_edits_per_s`: four threads typing into four notebooks at once; baseline:
//!   one thread alone; ratio = value / baseline (above 1: concurrent edits share syncs).
//! - `powercut_states` (value): crash states explored by the simulated disk over a notebook
//!   saved through 600 edits, a table committed 200 times with a history of 2, a startup
//!   that cleans up after a crash, and the whole engine through 60 rounds of a journaled table
//!   edit and a drafted notebook edit saved (and trimmed) every 5 rounds (target at
//!   least 10,000); `powercut_distinct` (value): of those, the different disks, each opened by
//!   the real recovery code; `powercut_lost_edits` (value, must be 0): states missing an
//!   acknowledged change; `powercut_failures` (value, must be 0): panics, refused reopenings,
//!   damaged files shown as current. Sizes: `QUIRE_BENCH_POWERCUT_EDITS`, `_COMMITS`,
//!   `_JOURNALED`.
//! - `fault_sites` (value): write sites of a notebook save and a snapshot commit that had a
//!   fault injected through the same seam; `fault_failures` (value, must be 0): sites where
//!   the previous state was not intact, the caller was not told, a file leaked or the retry
//!   failed.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use quire_engine::events::NullSink;
use quire_engine::notebooks::CellKind;
use quire_engine::powercut::scenarios as powercut;
use quire_engine::tables::edit::CellEdit;
use quire_engine::{Config, Engine, EnginePaths, ImportRequest};
use tokio_util::sync::CancellationToken;

use crate::report::Measure;
use crate::stats::Samples;

const SUITE: &str = "durability";

/// The file system `path` is on, as /proc/mounts names it ("ext4 /dev/vda").
pub fn filesystem_of(path: &Path) -> String {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 2 && path.starts_with(f[1]))
                .then(|| (f[1].len(), format!("{} {}", f[2], f[0])))
        })
        .max()
        .map_or_else(|| "unknown".into(), |(_, fs)| fs)
}

fn engine(dir: &Path) -> Result<Engine, String> {
    Engine::open(
        Config::default(),
        EnginePaths {
            data_dir: dir.to_path_buf(),
            config_dir: None,
        },
        Arc::new(NullSink),
    )
    .map_err(|e| e.to_string())
}

/// Edits one cell `n` times, timing each acknowledgement.
fn typing(engine: &Engine, title: &str, warmup: usize, n: usize) -> Result<Samples, String> {
    let books = engine.notebooks();
    let nb = books.create(title).map_err(|e| e.to_string())?.id;
    let cell = books
        .add_cell(nb, CellKind::Sql, None, String::new())
        .map_err(|e| e.to_string())?;
    let mut i = 0;
    Ok(Samples::collect(warmup, n, || {
        i += 1;
        books
            .update_cell(nb, cell.id, format!("SELECT {i} -- typing"))
            .expect("edit");
    }))
}

pub fn run() -> Result<Vec<Measure>, String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    eprintln!(
        "durability: file system {} ({})",
        filesystem_of(tmp.path()),
        tmp.path().display()
    );

    // Baseline: what one synced small write costs on this disk.
    let mut f =
        std::fs::File::create(tmp.path().join("sync-baseline")).map_err(|e| e.to_string())?;
    let block = vec![7u8; 4096];
    let fdatasync = Samples::collect(20, 500, || {
        f.write_all(&block).expect("write");
        f.sync_data().expect("fdatasync");
    });

    let engine = engine(&tmp.path().join("data"))?;
    let ack = typing(&engine, "Typing", 50, 2000)?;

    // Table edits: each is a journal append synced before it returns.
    let csv = tmp.path().join("trips.csv");
    let mut text = String::from("id,city\n");
    for i in 0..10_000 {
        text.push_str(&format!("{i},Lyon\n"));
    }
    std::fs::write(&csv, text).map_err(|e| e.to_string())?;
    let nb = engine
        .create_notebook("Tables")
        .map_err(|e| e.to_string())?
        .id;
    engine
        .import_file(
            nb,
            ImportRequest::file(&csv).named("trips"),
            &|_| {},
            &CancellationToken::new(),
        )
        .map_err(|e| e.to_string())?;
    let mut row = 0u64;
    let table_edit = Samples::collect(20, 500, || {
        row = (row + 1) % 10_000;
        let edit = [CellEdit {
            row_id: row,
            column: "city".into(),
            value: Some(format!("Paris {row}")),
        }];
        engine.edit_cells(nb, "trips", &edit).expect("edit");
    });

    // Group commit: four typists at once against one alone, edits per second.
    let per_thread = 400;
    let started = Instant::now();
    typing(&engine, "Alone", 0, per_thread)?;
    let alone = per_thread as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let engine = &engine;
                s.spawn(move || typing(engine, &format!("Typist {t}"), 0, per_thread))
            })
            .collect();
        handles
            .into_iter()
            .try_for_each(|h| h.join().expect("typist").map(drop))
    })?;
    let together = (4 * per_thread) as f64 / started.elapsed().as_secs_f64();
    drop(engine);

    // The level FULL was chosen against: drafts without a sync.
    let engine_normal = self::engine(&tmp.path().join("data-normal"))?;
    engine_normal.task_store().set_unsynced_edits(true);
    let normal = typing(&engine_normal, "Unsynced", 50, 2000)?;

    let size = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let started = Instant::now();
    let notebook = powercut::notebook_saves(size("QUIRE_BENCH_POWERCUT_EDITS", 600));
    let snapshots = powercut::snapshot_commits(size("QUIRE_BENCH_POWERCUT_COMMITS", 200) as u64, 2);
    let recovery = powercut::startup_recovery(3);
    let journal = quire_engine::powercut::whole_engine::journal_and_drafts(
        size("QUIRE_BENCH_POWERCUT_JOURNALED", 60),
        5,
    );
    let linked = quire_engine::powercut::linked_edits::linked_edits(
        size("QUIRE_BENCH_POWERCUT_LINKED", 40),
        5,
    );
    for (what, r) in [
        ("notebook saves", &notebook),
        ("snapshot commits", &snapshots),
        ("startup recovery", &recovery),
        ("journal and drafts with their trimming", &journal),
        ("linked table edits, their saves and a compaction", &linked),
    ] {
        eprintln!(
            "durability: power cuts over {what}: {} steps, {} states, {} distinct, {} lost, {} failures",
            r.steps,
            r.states,
            r.distinct,
            r.lost.len(),
            r.failures.len()
        );
        for problem in r.lost.iter().chain(&r.failures).take(5) {
            eprintln!("  {problem}");
        }
    }
    eprintln!(
        "durability: power-cut exploration took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let faults = quire_engine::powercut::faults::matrix();
    for failure in &faults.failures {
        eprintln!("durability: fault: {failure}");
    }
    let total = |f: fn(&powercut::Report) -> usize| {
        (f(&notebook) + f(&snapshots) + f(&recovery) + f(&journal) + f(&linked)) as f64
    };

    let ms = |us: f64| us / 1000.0;
    Ok(vec![
        Measure::relative(
            SUITE,
            "journal_ack_p50_ms",
            ms(ack.p50()),
            ms(fdatasync.p50()),
            "ms",
        ),
        Measure::relative(
            SUITE,
            "journal_ack_p99_ms",
            ms(ack.quantile(0.99)),
            ms(fdatasync.quantile(0.99)),
            "ms",
        ),
        Measure::value(SUITE, "journal_ack_normal_p50_ms", ms(normal.p50()), "ms"),
        Measure::value(
            SUITE,
            "table_edit_ack_p99_ms",
            ms(table_edit.quantile(0.99)),
            "ms",
        ),
        Measure::relative(
            SUITE,
            "group_commit_edits_per_s",
            together,
            alone,
            "edits/s",
        ),
        Measure::value(SUITE, "powercut_states", total(|r| r.states), "states"),
        Measure::value(SUITE, "powercut_distinct", total(|r| r.distinct), "states"),
        Measure::value(
            SUITE,
            "powercut_lost_edits",
            total(|r| r.lost.len()),
            "states",
        ),
        Measure::value(
            SUITE,
            "powercut_failures",
            total(|r| r.failures.len()),
            "states",
        ),
        Measure::value(SUITE, "fault_sites", faults.sites as f64, "sites"),
        Measure::value(
            SUITE,
            "fault_failures",
            faults.failures.len() as f64,
            "sites",
        ),
    ])
}

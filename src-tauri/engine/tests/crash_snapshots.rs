//! Crash harness: a child process edits a table and snapshots it in a loop (through the real
//! engine: the debounced planner and explicit flushes) and is killed (SIGKILL on Unix) at a
//! random instant, again and again. After each kill the parent reopens the table folder and
//! checks the promise of `DURABILITY.md` (kills that left a temp file behind were mid-write):
//! - no temp file is left once the folder is opened (the sweep),
//! - every generation the manifest names is readable and holds exactly the table of its
//!   version,
//! - the table the engine shows after reopening (newest generation plus the edit journal)
//!   holds exactly a version the child had acknowledged or was making: never older than the
//!   last edit whose call had returned (no acknowledged edit is lost), never going back.
//!
//! `QUIRE_CRASH_KILLS` sets the number of kills (default 150); `QUIRE_CRASH_SEED` replays one run.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quire_engine::snapshots::{file, store, TABLES_DIR};
use quire_engine::tables::edit::CellEdit;
use quire_engine::{Config, Engine, EnginePaths};

const ROWS: u64 = 40_000;
const TITLE: &str = "Crash";

/// The row that the edit from version `v` to `v + 1` changes, and its new value.
fn edit_of(v: u64) -> (u64, i64) {
    ((v * 7919) % ROWS, -(v as i64))
}

/// Column `n` of the table at version `version`, computed from first principles.
fn expected(version: u64) -> Vec<i64> {
    let mut n: Vec<i64> = (0..ROWS as i64).collect();
    for v in 1..version {
        let (row, value) = edit_of(v);
        n[row as usize] = value;
    }
    n
}

fn open_engine(data: &Path) -> Engine {
    let mut config = Config::default();
    config.snapshots.debounce_ms = 3;
    config.snapshots.history = 4;
    config.notebooks.flush_delay_ms = 0;
    Engine::open(
        config,
        EnginePaths {
            data_dir: data.to_path_buf(),
            config_dir: None,
        },
        Arc::new(quire_engine::events::NullSink),
    )
    .expect("the child opens the workspace")
}

/// The child: open (recovering whatever the last kill left), then edit and save forever,
/// reporting `editing v` before version v exists, `acked v` once its call returned, and
/// `committed v` once a flush made it a generation.
fn child(data: &Path) -> ! {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let engine = open_engine(data);
    let nb = match engine
        .list_notebooks()
        .into_iter()
        .find(|n| n.title == TITLE)
    {
        Some(nb) => nb.id,
        None => engine.create_notebook(TITLE).unwrap().id,
    };
    if engine.tables(nb).unwrap().is_empty() {
        let sql = format!(
            "SELECT value AS n, value % 7 = 0 AS flag FROM generate_series(0, {}) ORDER BY n",
            ROWS - 1
        );
        runtime
            .block_on(engine.save_query_as_table(nb, &sql, "t"))
            .unwrap();
    }
    let mut version = engine.tables(nb).unwrap()[0].version;
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready {version}").unwrap();
    out.flush().unwrap();
    loop {
        let (row_id, value) = edit_of(version);
        writeln!(out, "editing {}", version + 1).unwrap();
        out.flush().unwrap();
        version = engine
            .edit_cells(
                nb,
                "t",
                &[CellEdit {
                    row_id,
                    column: "n".into(),
                    value: Some(value.to_string()),
                }],
            )
            .unwrap()
            .version;
        // The edit is acknowledged: it must survive any kill from here on (the journal).
        writeln!(out, "acked {version}").unwrap();
        // So is a recorded task once its id is known.
        let task = engine.tracker().record(
            Some(nb),
            Some("t".into()),
            &quire_engine::tasks::TaskPayload::Export {
                path: format!("export-{version}.csv").into(),
            },
            quire_engine::queue::Priority::Background,
        );
        if let Some(id) = task.id() {
            writeln!(out, "task {id}").unwrap();
        }
        task.hand_over(); // it stays pending, as queued work a kill interrupts

        out.flush().unwrap();
        if version.is_multiple_of(3) {
            let report = engine.flush_all();
            assert!(report.tables.failed.is_empty(), "{report:?}");
            writeln!(out, "committed {version}").unwrap();
            out.flush().unwrap();
        } else {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Checks the folder after a kill; returns the generations checked and the newest version.
fn verify(
    notebook_dir: &Path,
    committed: u64,
    editing: u64,
) -> Result<(usize, u64, usize), String> {
    let opened = store::open(notebook_dir).map_err(|e| format!("reopen failed: {e}"))?;
    let dir = notebook_dir.join(TABLES_DIR);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| e.to_string())?
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    if !leftovers.is_empty() {
        return Err(format!("temp files left after the sweep: {leftovers:?}"));
    }
    if !opened.warnings.is_empty() {
        return Err(format!("warnings on reopen: {:?}", opened.warnings));
    }
    let Some(t) = opened.manifest.tables.get("t") else {
        // Killed while the table's first generation was being written: it never existed.
        return match editing {
            0 => Ok((0, 0, opened.swept)),
            _ => Err("the manifest lost the table".into()),
        };
    };
    let mut checked = 0;
    for g in &t.generations {
        let path = dir.join(file::file_name("t", g.generation));
        let v = file::read(&path, g.version)
            .map_err(|e| format!("generation {} unreadable: {e}", g.generation))?;
        let page = v.page(0, ROWS as usize).map_err(|e| e.to_string())?;
        let n = page
            .column(0)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::Int64Array>()
            .ok_or("column n is not Int64")?;
        if n.values().to_vec() != expected(g.version) {
            return Err(format!(
                "generation {} does not hold version {}",
                g.generation, g.version
            ));
        }
        checked += 1;
    }
    let newest = opened.tables.first().ok_or("no table opened")?;
    if newest.fallback.is_some() {
        return Err(format!(
            "the newest generation was unreadable: {:?}",
            newest.fallback
        ));
    }
    if newest.version.version > editing.max(1) {
        return Err(format!(
            "generation of version {} was never edited (last {editing})",
            newest.version.version
        ));
    }
    // What the user sees after a restart: the newest generation plus the journal.
    let latest = recovered(notebook_dir.parent().unwrap().parent().unwrap())?;
    if latest < committed || latest > editing.max(1) {
        return Err(format!(
            "recovered version {latest} outside [{committed}, {editing}] (acknowledged, being edited)"
        ));
    }
    Ok((checked, latest, opened.swept))
}

/// Opens the engine as the app would after the crash and checks the table it shows: its
/// version, and every value of it against the version's expected content.
fn recovered(data: &Path) -> Result<u64, String> {
    let engine = open_engine(data);
    let nb = engine
        .list_notebooks()
        .into_iter()
        .find(|n| n.title == TITLE)
        .ok_or("the notebook is gone")?
        .id;
    let tables = engine.tables(nb).map_err(|e| e.to_string())?;
    let version = tables.first().ok_or("the table is gone")?.version;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Page by page, as the grid reads it (a page carries at most MAX_PAGE_ROWS).
    let mut values: Vec<i64> = Vec::with_capacity(ROWS as usize);
    let step = quire_engine::ledger::MAX_PAGE_ROWS;
    for offset in (0..ROWS).step_by(step as usize) {
        let bytes = runtime
            .block_on(engine.page(nb, "t", None, offset, step))
            .map_err(|e| e.to_string())?;
        let reader = datafusion::arrow::ipc::reader::StreamReader::try_new(&bytes[..], None)
            .map_err(|e| e.to_string())?;
        for batch in reader {
            let batch = batch.map_err(|e| e.to_string())?;
            let n = batch
                .column(0)
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Int64Array>()
                .ok_or("column n is not Int64")?;
            values.extend_from_slice(n.values());
        }
    }
    if values != expected(version) {
        return Err(format!(
            "the recovered table does not hold version {version}"
        ));
    }
    drop(engine);
    drop(runtime);
    Ok(version)
}

fn main() -> ExitCode {
    if let Ok(data) = std::env::var("QUIRE_CRASH_CHILD") {
        child(Path::new(&data));
    }
    let kills: usize = std::env::var("QUIRE_CRASH_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(150);
    let seed = std::env::var("QUIRE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    let mut rng = Rng(seed);
    let data = tempfile::tempdir().unwrap();
    let notebook_dir = data.path().join("workspace").join("crash.quire");
    let exe = std::env::current_exe().unwrap();
    let started = Instant::now();
    let mut tasks_checked = 0usize;
    let (mut generations, mut failures, mut max_version, mut mid_write) =
        (0usize, 0usize, 0u64, 0usize);
    for kill in 0..kills {
        let mut child = Command::new(&exe)
            .env("QUIRE_CRASH_CHILD", data.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the child");
        let progress = Arc::new(Mutex::new((0u64, 0u64))); // (acknowledged, editing)
        let last_task = Arc::new(Mutex::new(0u64));
        let reader = {
            let progress = progress.clone();
            let last_task = last_task.clone();
            let stdout = child.stdout.take().unwrap();
            std::thread::spawn(move || {
                let mut ready = None;
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let mut p = progress.lock().unwrap();
                    match line.split_once(' ') {
                        Some(("ready", v)) => {
                            let v: u64 = v.parse().unwrap();
                            *p = (v, v);
                            ready.get_or_insert(Instant::now());
                        }
                        Some(("editing", v)) => p.1 = v.parse().unwrap(),
                        Some(("committed" | "acked", v)) => p.0 = p.0.max(v.parse().unwrap()),
                        Some(("task", id)) => *last_task.lock().unwrap() = id.parse().unwrap(),
                        _ => {}
                    }
                }
            })
        };
        // Let it open and work for a random while, then kill it mid-whatever.
        let wait = Duration::from_millis(40 + rng.next() % 160);
        std::thread::sleep(wait);
        child.kill().expect("kill the child");
        let status = child.wait().unwrap();
        reader.join().unwrap();
        let (mut committed, mut editing) = *progress.lock().unwrap();
        if editing == 0 {
            // Killed before it was ready: opening writes nothing, so the table must be exactly
            // what the last kill left.
            (committed, editing) = (max_version, max_version);
        }
        if status.success() {
            eprintln!("kill {kill}: the child exited on its own: {status}");
            failures += 1;
            continue;
        }
        if !notebook_dir.join(TABLES_DIR).is_dir() {
            continue; // killed before the first table existed
        }
        let task = *last_task.lock().unwrap();
        if task > 0 {
            let store = quire_engine::tasks::TaskStore::open(
                &data.path().join(quire_engine::tasks::FILE_NAME),
            )
            .unwrap();
            if store.get(task).is_err() {
                failures += 1;
                eprintln!("kill {kill} (seed {seed}): acknowledged task {task} was lost");
            }
            tasks_checked += 1;
        }
        match verify(&notebook_dir, committed, editing) {
            Ok((checked, latest, swept)) => {
                if latest < max_version {
                    failures += 1;
                    eprintln!(
                        "kill {kill} (seed {seed}): went back from {max_version} to {latest}"
                    );
                }
                generations += checked;
                mid_write += usize::from(swept > 0);
                max_version = max_version.max(latest);
            }
            Err(why) => {
                failures += 1;
                eprintln!("kill {kill} (seed {seed}): {why}");
            }
        }
    }
    println!(
        "crash harness: kills {kills} ({mid_write} during a write), generations checked \
         {generations}, acknowledged tasks checked {tasks_checked}, failures {failures}, \
         newest version {max_version}, {:.1} s (seed {seed})",
        started.elapsed().as_secs_f64()
    );
    // The same summary line as libtest's, so the test count in CI includes this harness.
    if failures == 0 && max_version > 3 {
        println!("test result: ok. 1 passed; 0 failed; 0 ignored");
        ExitCode::SUCCESS
    } else {
        println!("test result: FAILED. 0 passed; 1 failed; 0 ignored");
        ExitCode::FAILURE
    }
}

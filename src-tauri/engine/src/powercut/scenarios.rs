//! The explored scenarios: a notebook's saves and a table's snapshot commits with their
//! cleanup, at any size; every crash state is opened by the real recovery code. `make test`
//! runs them small (`powercut/tests.rs`), the `durability` bench large.

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use datafusion::arrow::array::{Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;

use super::{crash_states, CrashState, Trace};
use crate::events::{EventBus, NullSink};
use crate::metrics::Metrics;
use crate::notebooks::{CellKind, NotebookConfig, Notebooks, SaveState};
use crate::snapshots::leases::Leases;
use crate::snapshots::store::{self, CommitContext};
use crate::snapshots::{Codec, Writer, TABLES_DIR};
use crate::tables::table::TableVersion;
use crate::workspace::Workspace;

/// What an exploration found.
#[derive(Debug, Default)]
pub struct Report {
    /// Durable steps recorded.
    pub steps: usize,
    /// Crash states explored, and how many of them differ (only those are opened).
    pub states: usize,
    pub distinct: usize,
    /// States where an acknowledged change was missing after reopening.
    pub lost: Vec<String>,
    /// States where reopening panicked, was refused, or showed a damaged file as current.
    pub failures: Vec<String>,
}

/// What is wrong with one reopened state.
pub enum Problem {
    Lost(String),
    Failed(String),
}

/// A reopened notebook must not be shown as damaged.
pub(super) fn shown_intact(status: &SaveState) -> Result<(), Problem> {
    match status {
        SaveState::Unreadable { message } => Err(Problem::Failed(format!(
            "the notebook is shown damaged: {message}"
        ))),
        _ => Ok(()),
    }
}

/// Explores every state; `check` opens one (materialised in a fresh folder) and says what is
/// wrong with it.
pub(super) fn explore(
    trace: &Trace,
    states: &[CrashState],
    check: impl Fn(&CrashState, &std::path::Path) -> Result<(), Problem>,
) -> Report {
    let mut seen = HashSet::new();
    let mut report = Report {
        steps: trace.steps().len(),
        states: states.len(),
        ..Report::default()
    };
    for state in states {
        // Identical disks with the same acknowledgements need one check.
        let mut key = blake3::Hasher::new();
        key.update(state.key().as_bytes());
        key.update(state.acked.join("\0").as_bytes());
        if !seen.insert(key.finalize()) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        state.materialise(dir.path()).unwrap();
        let at = state.at;
        match catch_unwind(AssertUnwindSafe(|| check(state, dir.path()))) {
            Ok(Ok(())) => {}
            Ok(Err(Problem::Lost(why))) => report.lost.push(format!("cut after step {at}: {why}")),
            Ok(Err(Problem::Failed(why))) => {
                report.failures.push(format!("cut after step {at}: {why}"))
            }
            Err(_) => report
                .failures
                .push(format!("cut after step {at}: the reopening panicked")),
        }
    }
    report.distinct = seen.len();
    report
}

fn open_books(root: &std::path::Path, config: NotebookConfig) -> Notebooks {
    let metrics = Arc::new(Metrics::default());
    let events = Arc::new(EventBus::new(Arc::new(NullSink), metrics.clone()));
    Notebooks::open(
        Workspace::open(root).unwrap(),
        config,
        metrics,
        events,
        None,
    )
    .unwrap()
}

/// A notebook written through (each edit on disk before it returns): created, a cell added,
/// `edits` edits, a rename; a power cut at every instant.
pub fn notebook_saves(edits: usize) -> Report {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    std::fs::create_dir_all(&root).unwrap();
    let write_through = NotebookConfig {
        flush_delay_ms: 0,
        lazy_hydration: false,
        ..NotebookConfig::default()
    };
    let mut sources = vec![String::new()];
    let mut trace = Trace::begin(&root).unwrap();
    {
        let books = open_books(&root, write_through.clone());
        let nb = books.create("Plan").unwrap().id;
        trace.ack("");
        let cell = books
            .add_cell(nb, CellKind::Sql, None, "SELECT 0".into())
            .unwrap();
        sources.push("SELECT 0".into());
        trace.ack("SELECT 0");
        for i in 1..=edits {
            let source = format!("SELECT {i}");
            books.update_cell(nb, cell.id, source.clone()).unwrap();
            sources.push(source.clone());
            trace.ack(source);
        }
        books.rename(nb, "Plan 2026").unwrap();
        trace.ack(sources.last().unwrap().clone());
    }
    trace.end();
    let states = crash_states(&trace);
    let index = |s: &str| sources.iter().position(|x| x == s);
    explore(&trace, &states, |state, dir| {
        let books = open_books(dir, NotebookConfig::default());
        let list = books.list();
        let Some(last) = state.acked.last() else {
            return Ok(()); // nothing acknowledged: anything readable will do
        };
        let [nb] = list.as_slice() else {
            return Err(Problem::Lost(format!(
                "{} notebooks after {last:?} was acknowledged",
                list.len()
            )));
        };
        shown_intact(&nb.status)?;
        let cells = books.get(nb.id).unwrap().cells;
        let source = cells.first().map(|c| c.source.as_str()).unwrap_or("");
        // The acknowledged source, or a later one (a cut right after a write not yet
        // acknowledged).
        match (index(last), index(source)) {
            (Some(a), Some(b)) if b >= a => Ok(()),
            _ => Err(Problem::Lost(format!(
                "{last:?} was acknowledged, the notebook holds {source:?}"
            ))),
        }
    })
}

/// A three-row table whose labels name version `n`.
pub(crate) fn version(n: u64) -> TableVersion {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("label", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(vec![1, 2, 3])),
            Arc::new(StringArray::from(vec![format!("v{n}"); 3])),
        ],
    )
    .unwrap();
    let mut v = TableVersion::first(schema, vec![batch]);
    v.version = n;
    v
}

/// A notebook folder in a temp dir whose one table, `trips`, is committed with the real
/// snapshot store (each version from [`version`]).
pub(crate) struct TableFolder {
    pub tmp: tempfile::TempDir,
    pub notebook_dir: std::path::PathBuf,
    history: usize,
    writer: Writer,
    leases: Leases,
    manifest: std::sync::Mutex<crate::snapshots::manifest::Manifest>,
}

impl TableFolder {
    pub fn new(history: usize) -> Result<TableFolder, String> {
        let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
        // Canonical, so the steps the trace sees start with it.
        let notebook_dir = tmp
            .path()
            .canonicalize()
            .map_err(|e| e.to_string())?
            .join("nb.quire");
        std::fs::create_dir_all(&notebook_dir).map_err(|e| e.to_string())?;
        let writer =
            Writer::new(1, Codec::Zstd, Arc::new(Metrics::default())).map_err(|e| e.to_string())?;
        Ok(TableFolder {
            tmp,
            notebook_dir,
            history,
            writer,
            leases: Leases::default(),
            manifest: Default::default(),
        })
    }

    pub fn commit(&self, v: u64) -> Result<(), crate::snapshots::SnapshotError> {
        let cx = CommitContext {
            notebook: crate::ids::NotebookId(uuid::Uuid::nil()),
            notebook_dir: &self.notebook_dir,
            history: self.history,
            leases: &self.leases,
            writer: &self.writer,
        };
        let none = tokio_util::sync::CancellationToken::new();
        store::commit(&cx, &self.manifest, "trips", &version(v), &|_| {}, &none).map(drop)
    }
}

/// `commits` snapshot commits of one table keeping `history` generations (so each commit past
/// the history also deletes one); a power cut at every instant.
pub fn snapshot_commits(commits: u64, history: usize) -> Report {
    let folder = TableFolder::new(history).unwrap();
    let mut trace = Trace::begin(folder.tmp.path()).unwrap();
    for v in 1..=commits {
        folder.commit(v).unwrap();
        trace.ack(v.to_string());
    }
    trace.end();
    let states = crash_states(&trace);
    explore(&trace, &states, check_table)
}

/// A reopened tables folder: the table at the last committed version or later, every named
/// generation present and readable, nothing unnamed left behind.
fn check_table(state: &CrashState, dir: &std::path::Path) -> Result<(), Problem> {
    let opened =
        store::open(&dir.join("nb.quire")).map_err(|e| Problem::Failed(format!("open: {e}")))?;
    let Some(last) = state.acked.last() else {
        return Ok(());
    };
    let last: u64 = last.parse().unwrap();
    let Some(t) = opened.tables.iter().find(|t| t.name == "trips") else {
        return Err(Problem::Lost(format!(
            "version {last} was committed, the table is gone"
        )));
    };
    if t.fallback.is_some() || !opened.warnings.is_empty() {
        return Err(Problem::Failed(format!(
            "a committed file is damaged: {:?}",
            opened.warnings
        )));
    }
    if t.version.version < last {
        return Err(Problem::Lost(format!(
            "version {last} was committed, the table opened at {}",
            t.version.version
        )));
    }
    // Every generation the manifest names is there; nothing unnamed is left.
    let tables = dir.join("nb.quire").join(TABLES_DIR);
    for g in &opened.manifest.tables["trips"].generations {
        let name = crate::snapshots::file::file_name("trips", g.generation);
        if !tables.join(&name).exists() {
            return Err(Problem::Failed(format!(
                "the manifest names {name}, which is missing"
            )));
        }
    }
    let files = std::fs::read_dir(&tables).unwrap().count();
    let named = opened.manifest.tables["trips"].generations.len() + 1; // + manifest.json
    if files != named {
        return Err(Problem::Failed(format!(
            "{files} files in tables/ after opening, {named} expected"
        )));
    }
    Ok(())
}

/// Startup recovery itself cut short: a tables folder that a crash left with an uncommitted
/// generation and temp files is opened (which removes them), with a power cut at every
/// instant of that, and opened again.
pub fn startup_recovery(committed: u64) -> Report {
    let folder = TableFolder::new(5).unwrap();
    for v in 1..=committed {
        folder.commit(v).unwrap();
    }
    // What crashes in the middle of later commits leave behind.
    let tables = folder.notebook_dir.join(TABLES_DIR);
    let file_name = crate::snapshots::file::file_name;
    for extra in 1..=3 {
        std::fs::copy(
            tables.join(file_name("trips", 1)),
            tables.join(file_name("trips", committed + 10 * extra)),
        )
        .unwrap();
    }
    std::fs::write(
        tables.join(format!(
            "trips.{}{}",
            committed + 1,
            crate::snapshots::file::TEMP_SUFFIX
        )),
        b"half a parquet file",
    )
    .unwrap();
    std::fs::write(tables.join(".quire-leftover.tmp"), b"half a manifest").unwrap();
    let mut trace = Trace::begin(folder.tmp.path()).unwrap();
    trace.ack(committed.to_string());
    store::open(&folder.notebook_dir).unwrap();
    trace.end();
    let states = crash_states(&trace);
    explore(&trace, &states, check_table)
}

//! Power cuts at every instant of a notebook's saves and of a table's snapshot commits with
//! their garbage collection; every crash state is opened by the real recovery code.

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

/// Explores every state; `check` opens one (materialised in a fresh folder) and says what is
/// wrong with it. Returns (states explored, distinct states, failures).
fn explore(
    states: &[CrashState],
    check: impl Fn(&CrashState, &std::path::Path) -> Result<(), String>,
) -> (usize, usize, Vec<String>) {
    let mut seen = HashSet::new();
    let mut failures = Vec::new();
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
        match catch_unwind(AssertUnwindSafe(|| check(state, dir.path()))) {
            Ok(Ok(())) => {}
            Ok(Err(why)) => failures.push(format!("cut after step {}: {why}", state.at)),
            Err(_) => failures.push(format!(
                "cut after step {}: the reopening panicked",
                state.at
            )),
        }
    }
    (states.len(), seen.len(), failures)
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

#[test]
fn a_power_cut_at_any_instant_of_notebook_saves_loses_no_acknowledged_edit() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    std::fs::create_dir_all(&root).unwrap();
    let write_through = NotebookConfig {
        flush_delay_ms: 0,
        lazy_hydration: false,
        ..NotebookConfig::default()
    };
    let mut trace = Trace::begin(&root).unwrap();
    {
        let books = open_books(&root, write_through.clone());
        let nb = books.create("Plan").unwrap().id;
        trace.ack("");
        let cell = books
            .add_cell(nb, CellKind::Sql, None, "SELECT 0".into())
            .unwrap();
        trace.ack("SELECT 0");
        for i in 1..=4 {
            let source = format!("SELECT {i}");
            books.update_cell(nb, cell.id, source.clone()).unwrap();
            trace.ack(source);
        }
        books.rename(nb, "Plan 2026").unwrap();
        trace.ack("SELECT 4");
    }
    trace.end();
    let states = crash_states(&trace);
    let (explored, distinct, failures) = explore(&states, |state, dir| {
        let books = open_books(dir, NotebookConfig::default());
        let list = books.list();
        let Some(last) = state.acked.last() else {
            return Ok(()); // nothing acknowledged: anything readable will do
        };
        let [nb] = list.as_slice() else {
            return Err(format!(
                "{} notebooks after the edit {last:?} was acknowledged",
                list.len()
            ));
        };
        if let SaveState::Unreadable { message } = &nb.status {
            return Err(format!("the notebook is shown damaged: {message}"));
        }
        let cells = books.get(nb.id).unwrap().cells;
        let source = cells.first().map(|c| c.source.as_str()).unwrap_or("");
        if !at_or_after(last, source) {
            return Err(format!(
                "{last:?} was acknowledged, the notebook holds {source:?}"
            ));
        }
        Ok(())
    });
    eprintln!(
        "power cuts, notebook saves: {} steps, {explored} crash states ({distinct} distinct), {} failures",
        trace.steps().len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        distinct > 20,
        "the exploration found only {distinct} states"
    );
}

/// The cell sources the scenario acknowledged, in order: after a cut, the last acknowledged one
/// or a later one (a cut right after a write not yet acknowledged) may be on disk.
const SOURCES: [&str; 6] = [
    "", "SELECT 0", "SELECT 1", "SELECT 2", "SELECT 3", "SELECT 4",
];

fn at_or_after(last: &str, found: &str) -> bool {
    let index = |s: &str| SOURCES.iter().position(|x| *x == s);
    matches!((index(last), index(found)), (Some(a), Some(b)) if b >= a)
}

fn version(n: u64) -> TableVersion {
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

#[test]
fn a_power_cut_at_any_instant_of_snapshot_commits_and_their_cleanup_keeps_a_committed_table() {
    let tmp = tempfile::tempdir().unwrap();
    let notebook_dir = tmp.path().join("nb.quire");
    std::fs::create_dir_all(&notebook_dir).unwrap();
    let writer = Writer::new(1, Codec::Zstd, Arc::new(Metrics::default())).unwrap();
    let leases = Leases::default();
    let cx = CommitContext {
        notebook: crate::ids::NotebookId(uuid::Uuid::nil()),
        notebook_dir: &notebook_dir,
        history: 2,
        leases: &leases,
        writer: &writer,
    };
    let manifest = std::sync::Mutex::new(Default::default());
    let mut trace = Trace::begin(tmp.path()).unwrap();
    let none = tokio_util::sync::CancellationToken::new();
    for v in 1..=4 {
        store::commit(&cx, &manifest, "trips", &version(v), &|_| {}, &none).unwrap();
        trace.ack(v.to_string());
    }
    trace.end();
    let states = crash_states(&trace);
    let (explored, distinct, failures) = explore(&states, |state, dir| {
        let opened = store::open(&dir.join("nb.quire")).map_err(|e| format!("open: {e}"))?;
        let Some(last) = state.acked.last() else {
            return Ok(());
        };
        let last: u64 = last.parse().unwrap();
        let Some(t) = opened.tables.iter().find(|t| t.name == "trips") else {
            return Err(format!("version {last} was committed, the table is gone"));
        };
        if t.fallback.is_some() || !opened.warnings.is_empty() {
            return Err(format!(
                "a committed file is damaged: {:?}",
                opened.warnings
            ));
        }
        if t.version.version < last {
            return Err(format!(
                "version {last} was committed, the table opened at {}",
                t.version.version
            ));
        }
        // Every generation the manifest names is there; nothing unnamed is left.
        let tables = dir.join("nb.quire").join(TABLES_DIR);
        for g in &opened.manifest.tables["trips"].generations {
            let name = crate::snapshots::file::file_name("trips", g.generation);
            if !tables.join(&name).exists() {
                return Err(format!("the manifest names {name}, which is missing"));
            }
        }
        let files = std::fs::read_dir(&tables).unwrap().count();
        let named = opened.manifest.tables["trips"].generations.len() + 1; // + manifest.json
        if files != named {
            return Err(format!(
                "{files} files in tables/ after opening, {named} expected"
            ));
        }
        Ok(())
    });
    eprintln!(
        "power cuts, snapshot commits: {} steps, {explored} crash states ({distinct} distinct), {} failures",
        trace.steps().len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        distinct > 20,
        "the exploration found only {distinct} states"
    );
}

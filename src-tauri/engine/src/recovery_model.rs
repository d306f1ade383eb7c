//! The edit journal and snapshots against an in-memory model of a table: random edits,
//! undo / redo, snapshots and crashes (the engine is forgotten without a shutdown, its data dir
//! copied as a killed process would leave it, and a new engine opened on the copy). After every
//! crash the table must hold exactly what the user last saw. The real-process version, with
//! kills during writes, is `tests/crash_harness.rs`.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, StringArray};
use proptest::prelude::*;
use tokio_util::sync::CancellationToken;

use crate::notebooks::NotebookId;
use crate::tables::edit::CellEdit;
use crate::{Config, Engine, EnginePaths, ImportRequest};

const ROWS: u64 = 20;

#[derive(Debug, Clone)]
enum Op {
    Edit { row: u64, city: u8 },
    Undo,
    Redo,
    Snapshot,
    Crash,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0..ROWS, 0u8..6).prop_map(|(row, city)| Op::Edit { row, city }),
        2 => Just(Op::Undo),
        1 => Just(Op::Redo),
        1 => Just(Op::Snapshot),
        2 => Just(Op::Crash),
    ]
}

/// The user's view of the table: each version of the city column, and which one is shown.
struct Model {
    versions: Vec<Vec<String>>,
    at: usize,
}

fn open(data: &Path) -> Engine {
    let mut config = Config::default();
    config.snapshots.debounce_ms = 3_600_000; // snapshots only when the test asks
    config.snapshots.max_pending_changes = 100_000;
    config.snapshots.max_wait_ms = 3_600_000;
    let paths = EnginePaths {
        data_dir: data.to_path_buf(),
        config_dir: None,
    };
    Engine::open(config, paths, Arc::new(crate::events::NullSink)).unwrap()
}

/// What a killed process leaves: the data dir as it is on disk now, lock file released.
pub(crate) fn crash_copy(from: &Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(copy.path())
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::remove_file(copy.path().join("workspace/.quire.lock")).unwrap();
    copy
}

fn cities(rt: &tokio::runtime::Runtime, engine: &Engine, nb: NotebookId) -> Vec<String> {
    let batches = rt
        .block_on(engine.query(nb, "SELECT city FROM t ORDER BY id"))
        .unwrap();
    let mut out = Vec::new();
    for b in batches {
        let col = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        out.extend((0..col.len()).map(|i| col.value(i).to_string()));
    }
    out
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let src = tempfile::tempdir().unwrap();
    let file = src.path().join("t.csv");
    let mut csv = String::from("id,city\n");
    for i in 0..ROWS {
        csv.push_str(&format!("{i},start\n"));
    }
    std::fs::write(&file, csv).unwrap();
    let mut dirs = vec![tempfile::tempdir().unwrap()];
    let mut engine = open(dirs[0].path());
    let nb = engine.create_notebook("Model").unwrap().id;
    engine
        .import_file(
            nb,
            ImportRequest::file(&file).named("t"),
            &|_| {},
            &CancellationToken::new(),
        )
        .unwrap();
    let mut model = Model {
        versions: vec![vec!["start".to_string(); ROWS as usize]],
        at: 0,
    };
    let mut forgotten = Vec::new();
    for op in ops {
        match op {
            Op::Edit { row, city } => {
                let value = format!("c{city}");
                let edit = CellEdit {
                    row_id: row,
                    column: "city".into(),
                    value: Some(value.clone()),
                };
                engine.edit_cells(nb, "t", &[edit]).unwrap();
                let mut next = model.versions[model.at].clone();
                next[row as usize] = value;
                model.versions.truncate(model.at + 1);
                model.versions.push(next);
                model.at += 1;
            }
            Op::Undo if model.at > 0 => {
                engine.undo_redo(nb, "t", true).unwrap();
                model.at -= 1;
            }
            Op::Redo if model.at + 1 < model.versions.len() => {
                engine.undo_redo(nb, "t", false).unwrap();
                model.at += 1;
            }
            Op::Undo | Op::Redo => {}
            Op::Snapshot => {
                engine.flush_all();
            }
            Op::Crash => {
                let copy = crash_copy(dirs.last().unwrap().path());
                // No shutdown, no flush: the process is gone. (Forgotten, not dropped, so
                // nothing it would do on the way out runs.)
                forgotten.push(std::mem::replace(&mut engine, open(copy.path())));
                dirs.push(copy);
                // After a restart the history starts at what was recovered.
                let now = model.versions[model.at].clone();
                model.versions = vec![now];
                model.at = 0;
            }
        }
        prop_assert_eq!(&cities(&rt, &engine, nb), &model.versions[model.at]);
    }
    engine.shutdown();
    for e in forgotten {
        std::mem::forget(e);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn journal_and_snapshots_recover_exactly_what_the_user_last_saw(ops in proptest::collection::vec(op(), 1..24)) {
        run(ops)?;
    }
}

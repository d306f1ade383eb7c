//! A linked table's edits under power cuts: cell edits and row deletes acknowledged through the
//! journal, saves
//! that write the edits file, name it in `links.json`, trim the journal and remove the file
//! they replace, and midway a compaction that folds the edits into a copy in the notebook's
//! folder and switches the link to it. A cut at every instant, SQLite's commits included, must
//! reopen with every acknowledged edit at its row, every acknowledged delete gone and every
//! acknowledged added row there with its values (before the compaction and after it, which
//! renumbers the rows and folds the added ones in), and the linked file as it was.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::parquet::arrow::ArrowWriter;

use super::scenarios::{explore, Problem, Report};
use super::{crash_states, Trace};
use crate::config::Config;
use crate::engine::{Engine, EnginePaths};
use crate::events::NullSink;
use crate::ids::NotebookId;
use crate::tables::edit::CellEdit;

const ROWS: usize = 12;

/// The last rows, deleted one by one and never edited (so a row keeps its position below them
/// after a compaction folds the deletes away).
const DELETED: usize = 2;

/// The mark that row N was deleted.
const DELETE: &str = "deleted ";

/// The mark that a row was added and its id and city set (its id follows).
const ADDED: &str = "added ";

/// The mark that the compaction was asked for after round N (nothing of the user's changes).
const COMPACTED: &str = "compacted after round ";

/// Edits saved only when the scenario saves, and compacted only when it asks.
fn config() -> Config {
    let mut config = Config::default();
    config.snapshots.compact_edits_cells = 0;
    config
}

fn open(dir: &Path) -> Result<Engine, String> {
    Engine::open(
        config(),
        EnginePaths {
            data_dir: dir.to_path_buf(),
            config_dir: None,
        },
        Arc::new(NullSink),
    )
    .map_err(|e| e.to_string())
}

/// `ROWS` rows of (id, "Lyon") as a Parquet file at `path`.
fn linked_file(path: &Path) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("city", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from_iter_values(0..ROWS as i64)),
            Arc::new(StringArray::from(vec!["Lyon"; ROWS])),
        ],
    )
    .unwrap();
    let mut w = ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

/// `edits` acknowledged cell edits of a linked table, saved every `save_every`, compacted after
/// half of them; a power cut at every instant.
pub fn linked_edits(edits: usize, save_every: usize) -> Report {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap().join("data");
    std::fs::create_dir_all(&root).unwrap();
    // Outside the folder the cuts reach: the user's file, which Quire only reads.
    let file = tmp.path().canonicalize().unwrap().join("trips.parquet");
    linked_file(&file);
    let original = std::fs::read(&file).unwrap();
    let nb = {
        let engine = open(&root).unwrap();
        let nb = engine.create_notebook("Trips").unwrap().id;
        engine.link_table(nb, &file, Some("t")).unwrap();
        engine.shutdown();
        nb
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut trace = Trace::begin(&root).unwrap();
    {
        let engine = open(&root).unwrap();
        let mut deleted = 0;
        for i in 1..=edits {
            // One delete before the compaction, one after.
            if (i == 2 || i == edits / 2 + 1) && deleted < DELETED {
                let row = ROWS - 1 - deleted;
                engine.delete_rows(nb, "t", &[row as u64]).unwrap();
                trace.ack(format!("{DELETE}{row}"));
                deleted += 1;
            }
            // One row added (and filled in) before the compaction, one after.
            if i == 3 || i == edits / 2 + 2 {
                let id = 100 + i;
                let at = engine.add_rows(nb, "t", 1).unwrap().first_row_id;
                let set = |column: &str, value: String| CellEdit {
                    row_id: at,
                    column: column.into(),
                    value: Some(value),
                };
                engine
                    .edit_cells(
                        nb,
                        "t",
                        &[set("id", id.to_string()), set("city", format!("new {id}"))],
                    )
                    .unwrap();
                trace.ack(format!("{ADDED}{id}"));
            }
            let row = i % (ROWS - DELETED);
            let city = format!("city {i}");
            engine
                .edit_cells(
                    nb,
                    "t",
                    &[CellEdit {
                        row_id: row as u64,
                        column: "city".into(),
                        value: Some(city.clone()),
                    }],
                )
                .unwrap();
            trace.ack(format!("{row}\u{1f}{city}"));
            if i == edits / 2 {
                let folded = runtime.block_on(engine.compact_linked(nb, "t")).unwrap();
                assert!(folded.is_some_and(|t| t.converted), "compacted");
                trace.ack(format!("{COMPACTED}{i}"));
            }
            if i % save_every == 0 {
                engine.flush_all();
            }
        }
        trace.end();
        engine.shutdown();
    }
    assert_eq!(
        std::fs::read(&file).unwrap(),
        original,
        "the linked file never changes"
    );
    let states = crash_states(&trace);
    explore(&trace, &states, |state, dir| check(state, dir, nb))
}

/// Reopens a cut's data folder: every row holds its last acknowledged city, or a later one.
fn check(state: &super::CrashState, dir: &Path, nb: NotebookId) -> Result<(), Problem> {
    let engine = open(dir).map_err(|e| Problem::Failed(format!("refused to open: {e}")))?;
    let outcome = (|| {
        let listed = engine
            .tables(nb)
            .map_err(|e| Problem::Failed(format!("its tables do not open: {e}")))?;
        let Some(t) = listed.iter().find(|t| t.name == "t") else {
            return Err(Problem::Lost("the linked table is gone".into()));
        };
        if let Some(why) = &t.missing {
            return Err(Problem::Failed(format!("the link is shown missing: {why}")));
        }
        let mut expected: Vec<Option<&str>> = vec![None; ROWS];
        let mut gone = Vec::new();
        let mut added = Vec::new();
        for acked in &state.acked {
            if acked.starts_with(COMPACTED) {
                continue;
            }
            if let Some(id) = acked.strip_prefix(ADDED) {
                added.push(id.parse::<i64>().unwrap());
                continue;
            }
            if let Some(row) = acked.strip_prefix(DELETE) {
                gone.push(row.parse::<i64>().unwrap());
                continue;
            }
            if let [row, city] = acked.split('\u{1f}').collect::<Vec<_>>()[..] {
                expected[row.parse::<usize>().unwrap()] = Some(city);
            }
        }
        let linked = engine
            .ledger()
            .catalog()
            .linked(nb, "t")
            .ok_or_else(|| Problem::Lost("the link does not read".into()))?;
        let page = linked
            .page(0, ROWS as u64 + 2)
            .map_err(|e| Problem::Failed(format!("its rows do not read: {e}")))?;
        let ids = page
            .column(0)
            .as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        let cities = page.column(1).as_string::<i32>();
        for id in &gone {
            if ids.values().contains(id) {
                return Err(Problem::Lost(format!(
                    "row {id} is back, its delete was acknowledged"
                )));
            }
        }
        for id in &added {
            let Some(at) = ids.iter().position(|have| have == Some(*id)) else {
                return Err(Problem::Lost(format!(
                    "the added row {id} is gone, it was acknowledged"
                )));
            };
            if cities.is_null(at) || cities.value(at) != format!("new {id}") {
                return Err(Problem::Lost(format!(
                    "the added row {id} lost its city, it was acknowledged"
                )));
            }
        }
        for (row, want) in expected.iter().enumerate() {
            let Some(want) = want else {
                continue;
            };
            let Some(at) = ids.values().iter().position(|id| *id == row as i64) else {
                return Err(Problem::Lost(format!(
                    "row {row} is gone, nobody deleted it"
                )));
            };
            let have = (!cities.is_null(at)).then(|| cities.value(at).to_string());
            // A later edit of the row may have reached the journal before its acknowledgement.
            if have.as_deref().is_none_or(|h| number(h) < number(want)) {
                return Err(Problem::Lost(format!(
                    "row {row} holds {have:?}, {want:?} was acknowledged"
                )));
            }
        }
        Ok(())
    })();
    engine.shutdown();
    outcome
}

/// The number at the end of "city 7" ("Lyon": 0).
fn number(text: &str) -> u64 {
    text.rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

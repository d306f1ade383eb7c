//! The whole engine under power cuts: a table's cell edits acknowledged through the edit
//! journal and a notebook's cell edits through its drafts (both in the task store, SQLite),
//! with saves in between that write the table's snapshot and the notebook's file and then trim
//! what they cover. A cut at every instant, SQLite's commits included, must reopen (journal
//! replay and draft adoption) with every acknowledged edit in place.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::scenarios::{explore, shown_intact, Problem, Report};
use super::{crash_states, Trace};
use crate::config::Config;
use crate::engine::{Engine, EnginePaths, ImportRequest};
use crate::events::NullSink;
use crate::ids::NotebookId;
use crate::notebooks::CellKind;
use crate::tables::edit::CellEdit;

const ROWS: usize = 12;

/// The acknowledgement that the table was deleted and imported anew after round N.
const REPLACED: &str = "replaced after round ";
/// The mark that the table's deletion began.
const DELETING: &str = "deleting";

/// Snapshots and notebook writes only when the scenario saves, so every edit between saves
/// lives in the journal and the drafts alone.
fn config() -> Config {
    let mut config = Config::default();
    config.snapshots.debounce_ms = 3_600_000;
    config.snapshots.max_wait_ms = 3_600_000;
    config.snapshots.max_pending_changes = 1_000_000;
    config.notebooks.flush_delay_ms = 3_600_000;
    config.notebooks.max_wait_ms = 3_600_000;
    config
}

fn open(dir: &std::path::Path) -> Result<Engine, String> {
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

/// Imports the trips file as table `t`.
fn import(engine: &Engine, nb: NotebookId, file: &std::path::Path) {
    engine
        .import_file(
            nb,
            ImportRequest::file(file).named("t"),
            &|_| {},
            &CancellationToken::new(),
        )
        .unwrap();
}

/// What an acknowledgement promises: the table's row `row` holds `city`, the notebook's cell
/// holds `source`.
fn label(row: usize, city: &str, source: &str) -> String {
    format!("{row}\u{1f}{city}\u{1f}{source}")
}

/// `edits` rounds of one table cell edit and one notebook cell edit, each acknowledged, with
/// a save of both after every `save_every` rounds; a power cut at every instant.
pub fn journal_and_drafts(edits: usize, save_every: usize) -> Report {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap().join("data");
    std::fs::create_dir_all(&root).unwrap();
    let source_file = tmp.path().join("trips.csv");
    let mut csv = String::from("id,city\n");
    for i in 0..ROWS {
        csv.push_str(&format!("{i},Lyon\n"));
    }
    std::fs::write(&source_file, csv).unwrap();
    // The starting point, saved and closed before recording starts: a notebook with one SQL
    // cell and an imported table.
    let (nb, cell) = {
        let engine = open(&root).unwrap();
        let nb = engine.create_notebook("Trips").unwrap().id;
        import(&engine, nb, &source_file);
        let cell = engine
            .notebooks()
            .add_cell(nb, CellKind::Sql, None, "SELECT 0".into())
            .unwrap()
            .id;
        engine.shutdown();
        (nb, cell)
    };
    let mut trace = Trace::begin(&root).unwrap();
    {
        let engine = open(&root).unwrap();
        for i in 1..=edits {
            let row = i % ROWS;
            let city = format!("city {i}");
            let source = format!("SELECT {i}");
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
            engine
                .notebooks()
                .update_cell(nb, cell, source.clone())
                .unwrap();
            trace.ack(label(row, &city, &source));
            // Halfway, the table is deleted with an unsaved edit and imported again under its
            // name: the old table's journal entries must never replay onto the new one.
            if i == edits / 2 {
                // From here until the new table is acknowledged, a cut may find either table,
                // or none: the user asked for the old one to go.
                trace.ack(DELETING);
                engine.delete_table(nb, "t").unwrap();
                import(&engine, nb, &source_file);
                trace.ack(format!("{REPLACED}{i}"));
            }
            if i % save_every == 0 {
                let saved = engine.flush_all();
                assert!(saved.tables.failed.is_empty() && saved.notebooks.failures.is_empty());
            }
        }
        trace.end();
        engine.shutdown();
    }
    let states = crash_states(&trace);
    explore(&trace, &states, |state, dir| check(state, dir, nb))
}

/// Reopens a cut's data folder: every acknowledged table edit (the last one of each row) and
/// the last acknowledged notebook source, or a later one, must be there.
fn check(state: &super::CrashState, dir: &std::path::Path, nb: NotebookId) -> Result<(), Problem> {
    let engine = open(dir).map_err(|e| Problem::Failed(format!("refused to open: {e}")))?;
    let outcome = (|| {
        let notebooks = engine.list_notebooks();
        let Some(summary) = notebooks.iter().find(|n| n.id == nb) else {
            return Err(Problem::Lost(format!(
                "{} notebooks, not ours",
                notebooks.len()
            )));
        };
        shown_intact(&summary.status)?;
        let Some(last) = state.acked.last() else {
            return Ok(());
        };
        let mut expected: Vec<Option<&str>> = vec![None; ROWS];
        let mut sources = vec!["SELECT 0"];
        // The round after which the table was made anew, if that was acknowledged.
        let mut replaced: Option<u64> = None;
        let mut deleting = false;
        for acked in &state.acked {
            if acked == DELETING {
                deleting = true;
                continue;
            }
            if let Some(round) = acked.strip_prefix(REPLACED) {
                replaced = round.parse().ok();
                deleting = false;
                expected = vec![None; ROWS];
                continue;
            }
            let [row, city, source] = acked.split('\u{1f}').collect::<Vec<_>>()[..] else {
                continue;
            };
            expected[row.parse::<usize>().unwrap()] = Some(city);
            sources.push(source);
        }
        engine
            .tables(nb)
            .map_err(|e| Problem::Failed(format!("its tables do not open: {e}")))?;
        if deleting {
            return check_source(&engine, nb, &sources);
        }
        let version = engine
            .ledger()
            .version(nb, "t")
            .map_err(|e| Problem::Lost(format!("table t is gone: {e}")))?;
        let cities = cities_by_row(&version);
        for (row, want) in expected.iter().enumerate() {
            let have = cities.get(row).cloned().flatten();
            let Some(want) = want else {
                // Not edited since the table was made anew: as imported, or a later edit.
                if let Some(round) = replaced {
                    let fresh = |h: &str| h == "Lyon" || number(h) > round;
                    if !have.as_deref().is_some_and(fresh) {
                        return Err(Problem::Lost(format!(
                            "row {row} of the new table holds {have:?}, from the deleted one"
                        )));
                    }
                }
                continue;
            };
            // A later edit of the row may have reached the journal before its acknowledgement.
            let later = |h: &str| number(h) >= number(want);
            if !have.as_deref().is_some_and(later) {
                return Err(Problem::Lost(format!(
                    "row {row} holds {have:?}, {want:?} was acknowledged (last: {last:?})"
                )));
            }
        }
        check_source(&engine, nb, &sources)
    })();
    engine.shutdown();
    outcome
}

/// The notebook's cell holds the last acknowledged source, or a later one.
fn check_source(engine: &Engine, nb: NotebookId, sources: &[&str]) -> Result<(), Problem> {
    let cells = engine
        .notebooks()
        .get(nb)
        .map_err(|e| Problem::Failed(format!("the notebook does not open: {e}")))?
        .cells;
    let source = cells.first().map(|c| c.source.clone()).unwrap_or_default();
    let want = sources.last().copied().unwrap_or("SELECT 0");
    if number(&source) < number(want) {
        return Err(Problem::Lost(format!(
            "the cell holds {source:?}, {want:?} was acknowledged"
        )));
    }
    Ok(())
}

/// The number at the end of "city 7" or "SELECT 7" ("Lyon": 0).
fn number(text: &str) -> u64 {
    text.rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The table's `city` column by row id.
fn cities_by_row(version: &crate::tables::table::TableVersion) -> Vec<Option<String>> {
    use datafusion::arrow::array::{Array, AsArray};
    let mut out = vec![None; version.next_row_id as usize];
    for (batch, ids) in version.batches.iter().zip(version.row_ids.iter()) {
        let Some(column) = batch.column_by_name("city") else {
            continue;
        };
        let cast =
            datafusion::arrow::compute::cast(column, &datafusion::arrow::datatypes::DataType::Utf8)
                .expect("city as text");
        let cities = cast.as_string::<i32>();
        for i in 0..batch.num_rows() {
            if let Some(slot) = out.get_mut(ids.value(i) as usize) {
                *slot = (!cities.is_null(i)).then(|| cities.value(i).to_string());
            }
        }
    }
    out
}

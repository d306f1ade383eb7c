//! An engine on a data folder, and a query's answer as text (rows sorted) for comparing Quire
//! with another engine (the same files linked locally, Postgres's own `psql`): values only,
//! ` | ` between cells (as psql's unaligned output), a null as an empty cell.

use std::path::Path;
use std::sync::Arc;

use quire_engine::datafusion::arrow::record_batch::RecordBatch;
use quire_engine::datafusion::arrow::util::display::array_value_to_string;
use quire_engine::events::NullSink;
use quire_engine::ids::NotebookId;
use quire_engine::{Config, Engine, EnginePaths};

/// An engine with the default settings on `data`, as the app opens one.
pub fn engine(data: &Path) -> Engine {
    Engine::open(
        Config::default(),
        EnginePaths {
            data_dir: data.to_path_buf(),
            config_dir: None,
        },
        Arc::new(NullSink),
    )
    .unwrap()
}

/// Runs `f` to completion on a runtime of its own (the engine's work runs on its own).
pub fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// The rows of `sql`'s answer, ` | ` between cells, sorted, one per line.
pub fn answer(engine: &Engine, nb: NotebookId, sql: &str) -> String {
    let batches = block(engine.query(nb, sql)).unwrap_or_else(|e| panic!("{sql}: {e}"));
    text(&batches)
}

/// Rows as [`answer`] writes them.
pub fn text(batches: &[RecordBatch]) -> String {
    let mut rows = Vec::new();
    for batch in batches {
        for r in 0..batch.num_rows() {
            let cells: Vec<String> = batch
                .columns()
                .iter()
                .map(|c| {
                    if c.is_null(r) {
                        String::new()
                    } else {
                        array_value_to_string(c, r).unwrap()
                    }
                })
                .collect();
            rows.push(cells.join(" | "));
        }
    }
    rows.sort();
    rows.join("\n")
}

//! The sample notebook shipped with the app, for a first launch: the Palmer penguins (344 rows,
//! with R's `NA` for missing values), a query, and two charts, all editable like any notebook.

use tokio_util::sync::CancellationToken;

use super::files::import_now;
use super::{Engine, ImportRequest};
use crate::error::Error;
use crate::notebooks::{CellKind, NotebookError, NotebookSummary};

const PENGUINS: &str = include_str!("sample/penguins.csv");
const TITLE: &str = "Penguins (sample)";

const INTRO: &str = "# Palmer penguins

A sample notebook to try Quire on: 344 penguins measured at Palmer Station, Antarctica
(Gorman, Williams & Fraser 2014; CC0). The table `penguins` is below the cells: open it to edit
values, sort and filter, or see each column's profile. Everything here is yours to change.";

const SPECIES: &str = "SELECT species, island, count(*) AS penguins,
  round(avg(body_mass_g)) AS mean_mass_g
FROM penguins
GROUP BY species, island
ORDER BY species, island";

fn chart(sql: &str, mark: &str, encoding: serde_json::Value) -> String {
    let spec = serde_json::json!({
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "usermeta": { "quire": { "sql": sql } },
        "mark": mark,
        "encoding": encoding,
    });
    serde_json::to_string_pretty(&spec).expect("a spec always serialises")
}

impl Engine {
    /// Creates the sample notebook (another copy when one exists), its table saved like any.
    pub fn create_sample_notebook(&self) -> Result<NotebookSummary, Error> {
        let books = &self.notebooks;
        let mut n = 1;
        let summary = loop {
            let title = if n == 1 {
                TITLE.to_string()
            } else {
                format!("{TITLE} {n}")
            };
            match books.create(&title) {
                Ok(summary) => break summary,
                Err(NotebookError::TitleTaken(_)) if n < 100 => n += 1,
                Err(e) => return Err(e.into()),
            }
        };
        let id = summary.id;
        let scratch = tempfile::Builder::new()
            .prefix("quire-sample-")
            .suffix(".csv")
            .tempfile_in(self.paths.data_dir.join("spill"))
            .or_else(|_| tempfile::NamedTempFile::new())
            .map_err(|e| {
                crate::tables::TableError::file(std::path::Path::new("penguins.csv"), e)
            })?;
        std::fs::write(scratch.path(), PENGUINS)
            .map_err(|e| crate::tables::TableError::file(scratch.path(), e))?;
        let importer = super::files::Importer {
            notebooks: &self.notebooks,
            ledger: &self.ledger,
            metrics: &self.metrics,
            closing: &self.closing,
        };
        import_now(
            &importer,
            id,
            ImportRequest::file(scratch.path()).named("penguins"),
            None,
            None,
            &|_| {},
            &CancellationToken::new(),
        )?;
        let cells = [
            (CellKind::Markdown, INTRO.to_string()),
            (CellKind::Sql, SPECIES.to_string()),
            (
                CellKind::Chart,
                chart(
                    "SELECT * FROM penguins",
                    "point",
                    serde_json::json!({
                        "x": { "field": "flipper_length_mm", "type": "quantitative" },
                        "y": { "field": "body_mass_g", "type": "quantitative" },
                        "color": { "field": "species", "type": "nominal" },
                    }),
                ),
            ),
            (
                CellKind::Chart,
                chart(
                    "SELECT * FROM penguins",
                    "bar",
                    serde_json::json!({
                        "x": { "field": "body_mass_g", "bin": { "maxbins": 30 } },
                        "y": { "aggregate": "count" },
                        "color": { "field": "species", "type": "nominal" },
                    }),
                ),
            ),
        ];
        for (kind, source) in cells {
            books.add_cell(id, kind, None, source)?;
        }
        books.flush(id)?;
        Ok(books.summary(id)?)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::events::NullSink;
    use crate::CellOutput;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_sample_notebook_opens_with_its_table_and_draws_its_charts() {
        let dir = tempfile::tempdir().unwrap();
        let engine = super::super::test_support::open(dir.path(), Arc::new(NullSink));
        let first = engine.create_sample_notebook().unwrap();
        let second = engine.create_sample_notebook().unwrap();
        assert_eq!(first.title, "Penguins (sample)");
        assert_eq!(second.title, "Penguins (sample) 2");
        let tables = engine.tables(first.id).unwrap();
        assert_eq!((tables[0].name.as_str(), tables[0].rows), ("penguins", 344));
        // R's NA is a missing value: two penguins were never measured.
        let missing = engine
            .query(
                first.id,
                "SELECT count(*) - count(bill_length_mm) AS n FROM penguins",
            )
            .await
            .unwrap();
        let n = datafusion::arrow::util::display::array_value_to_string(missing[0].column(0), 0);
        assert_eq!(n.unwrap(), "2");
        let cells = engine.notebooks().get(first.id).unwrap().cells;
        assert_eq!(cells.len(), 4);
        for cell in &cells {
            match engine.run_cell(first.id, cell.id).await.unwrap() {
                CellOutput::Chart { chart } => {
                    assert!(chart.spec.is_some() && chart.points > 0, "{chart:?}")
                }
                CellOutput::Table { preview } => assert_eq!(preview.row_count, 5),
                CellOutput::Markdown => {}
            }
        }
        let left: Vec<_> = std::fs::read_dir(dir.path().join("spill"))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("quire-sample-"))
            .collect();
        assert!(left.is_empty(), "no scratch copy is left behind: {left:?}");
    }
}

//! Tables: Arrow record batches owned by the engine, queried with DataFusion.
//!
//! Today this is the DataFusion session the engine runs SQL on. Imports, versioned
//! copy-on-write tables, paging for the grid and the file-access restrictions on SQL arrive with
//! the tables issue.

use std::time::Duration;

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionConfig, SessionContext};
use serde::Serialize;

use crate::error::{ErrorCode, HasCode};

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("{0}")]
    Sql(#[from] DataFusionError),
}

impl HasCode for TableError {
    fn code(&self) -> ErrorCode {
        match self {
            TableError::Sql(_) => ErrorCode::SqlInvalid,
        }
    }
}

/// The engine's SQL session.
pub struct Tables {
    ctx: SessionContext,
}

impl Default for Tables {
    fn default() -> Self {
        let config = SessionConfig::new().with_information_schema(true);
        Self {
            ctx: SessionContext::new_with_config(config),
        }
    }
}

impl Tables {
    /// Plans and runs `sql`, collecting every batch.
    pub async fn run_sql(&self, sql: &str) -> Result<Vec<RecordBatch>, TableError> {
        Ok(self.ctx.sql(sql).await?.collect().await?)
    }
}

/// Rows a preview carries at most; the grid pages through the rest (tables issue).
pub const PREVIEW_ROWS: usize = 200;

#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct ColumnInfo {
    pub name: String,
    pub data_type: String,
}

/// The first rows of a result, rendered as text, with its shape and timing.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct QueryPreview {
    pub columns: Vec<ColumnInfo>,
    /// Up to [`PREVIEW_ROWS`] rows; `None` is SQL NULL.
    pub rows: Vec<Vec<Option<String>>>,
    pub row_count: u64,
    pub truncated: bool,
    pub elapsed_ms: f64,
}

impl QueryPreview {
    pub fn from_batches(batches: &[RecordBatch], elapsed: Duration) -> QueryPreview {
        let columns = batches
            .first()
            .map(|b| {
                b.schema()
                    .fields()
                    .iter()
                    .map(|f| ColumnInfo {
                        name: f.name().clone(),
                        data_type: f.data_type().to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let row_count: usize = batches.iter().map(|b| b.num_rows()).sum();
        let options = FormatOptions::default().with_null("");
        let mut rows = Vec::new();
        'batches: for batch in batches {
            let formatters: Vec<_> = batch
                .columns()
                .iter()
                .map(|c| {
                    ArrayFormatter::try_new(c.as_ref(), &options)
                        .ok()
                        .map(|f| (c.clone(), f))
                })
                .collect();
            for row in 0..batch.num_rows() {
                if rows.len() == PREVIEW_ROWS {
                    break 'batches;
                }
                rows.push(
                    formatters
                        .iter()
                        .map(|f| match f {
                            Some((array, fmt)) if !array.is_null(row) => {
                                Some(fmt.value(row).to_string())
                            }
                            Some(_) => None,
                            None => Some("(cannot display)".into()),
                        })
                        .collect(),
                );
            }
        }
        QueryPreview {
            columns,
            truncated: rows.len() < row_count,
            rows,
            row_count: row_count as u64,
            elapsed_ms: elapsed.as_secs_f64() * 1000.0,
        }
    }
}

/// The DataFusion version compiled in, shown in the about box.
pub fn datafusion_version() -> &'static str {
    datafusion::DATAFUSION_VERSION
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, Int64Array};

    use super::*;

    #[tokio::test]
    async fn runs_sql() {
        let tables = Tables::default();
        let batches = tables.run_sql("SELECT 40 + 2 AS answer").await.unwrap();
        let col = batches[0]
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(col.value(0), 42);
        assert_eq!(col.len(), 1);
    }

    #[tokio::test]
    async fn preview_renders_text_and_nulls_and_truncates() {
        let tables = Tables::default();
        let batches = tables
            .run_sql("SELECT v, CASE WHEN v % 2 = 0 THEN NULL ELSE 'odd' END AS parity FROM generate_series(1, 500) AS t(v)")
            .await
            .unwrap();
        let p = QueryPreview::from_batches(&batches, Duration::from_millis(3));
        assert_eq!(
            p.columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["v", "parity"]
        );
        assert_eq!(p.row_count, 500);
        assert_eq!(p.rows.len(), PREVIEW_ROWS);
        assert!(p.truncated);
        assert_eq!(
            p.rows[0],
            vec![Some("1".to_string()), Some("odd".to_string())]
        );
        assert_eq!(p.rows[1], vec![Some("2".to_string()), None]);
    }

    #[tokio::test]
    async fn bad_sql_is_sql_invalid() {
        let err = Tables::default().run_sql("SELEC 1").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::SqlInvalid);
    }
}

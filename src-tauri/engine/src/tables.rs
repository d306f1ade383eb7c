//! Tables: Arrow record batches owned by the engine, queried with DataFusion.
//!
//! Today this is the DataFusion session the engine runs SQL on. Imports, versioned
//! copy-on-write tables, paging for the grid and the file-access restrictions on SQL arrive with
//! the tables issue.

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionConfig, SessionContext};

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
    async fn bad_sql_is_sql_invalid() {
        let err = Tables::default().run_sql("SELEC 1").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::SqlInvalid);
    }
}

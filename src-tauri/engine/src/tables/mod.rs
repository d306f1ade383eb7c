//! Tables: Arrow record batches owned by the engine, one set per notebook, queried with
//! DataFusion.
//!
//! [`Catalog`] holds every notebook's tables as immutable, versioned [`table::TableVersion`]s
//! and one DataFusion session per notebook in which they are registered. Imports read files in
//! batches ([`import`]); the grid reads exact pages by row position ([`table::TableVersion::page`])
//! as Arrow IPC bytes ([`ipc`]); SQL runs with DDL, DML and file access switched off ([`sql`]);
//! cell edits and transforms make new versions that share what they did not change ([`edit`],
//! [`transform`]), kept for undo / redo ([`history`]) and compared as row-id sets ([`diff`]);
//! tables persist as Parquet snapshots beside their notebook (`crate::snapshots`).

mod catalog;
pub(crate) mod cell_text;
pub(crate) mod checked_arithmetic;
mod checked_sum;
pub mod diff;
pub mod edit;
#[cfg(test)]
mod editing_tests;
mod exact_percentile;
pub mod export;
pub mod footer_guard;
pub mod history;
pub mod import;
pub mod interrupt;
pub mod ipc;
pub mod limits;
pub mod linked;
pub mod memory;
pub mod name;
pub mod parse_guard;
pub mod position_view;
pub mod sql;
pub mod table;
pub mod transform;
pub mod view;
pub mod view_cache;

use std::path::Path;

use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;

pub use catalog::{Catalog, Loaded, MissingLink};
pub use limits::{Budget, Limits};
pub use linked::LinkedTable;
pub use sql::{datafusion_version, ColumnInfo, QueryPreview, SqlSession, PREVIEW_ROWS};
pub use table::{TableInfo, TableVersion};

use crate::code::{ErrorCode, HasCode};

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("{message}")]
    Sql {
        message: String,
        line: Option<u64>,
        column: Option<u64>,
    },
    #[error("{message}")]
    Import { line: Option<u64>, message: String },
    #[error("{path} cannot be read: {message}")]
    File { path: String, message: String },
    #[error("the work was cancelled")]
    Cancelled,
    #[error("the sorted or filtered view stopped being made")]
    ViewCancelled,
    /// The failure another request met doing the same work (a view made once for several).
    #[error("{0}")]
    Again(std::sync::Arc<TableError>),
    #[error("{name:?} cannot name a table: {why}")]
    InvalidName { name: String, why: String },
    #[error("there is no table named {0:?}")]
    NotFound(String),
    #[error("a table named {0:?} already exists in this notebook")]
    Exists(String),
    #[error("{message}")]
    InvalidValue { column: String, message: String },
    /// A transform names a column the table does not have, or a new name it cannot take.
    #[error("{0}")]
    Column(String),
    #[error("version {version} of table {table} is no longer kept in memory")]
    VersionNotFound { table: String, version: u64 },
    #[error("{message}")]
    TooLarge { message: String },
    #[error("{0}")]
    Persist(String),
    #[error("{table} reads {path} where it lies, and Quire does not change linked files: copy it into the notebook to edit it")]
    Linked { table: String, path: String },
    #[error("internal Arrow error: {0}")]
    Arrow(#[from] ArrowError),
    #[error(transparent)]
    Remote(#[from] crate::remote::RemoteError),
    /// Refused before anything was sent to the cluster.
    #[error("the table {table} {why}")]
    NotOnCluster { table: String, why: String },
    #[error("the pattern {pattern:?} cannot choose files to link: {why}")]
    BadPattern { pattern: String, why: String },
}

impl TableError {
    pub fn file(path: &Path, e: std::io::Error) -> TableError {
        TableError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }
}

impl HasCode for TableError {
    fn position(&self) -> Option<crate::code::Position> {
        match self {
            TableError::Again(e) => e.position(),
            TableError::Sql {
                line: Some(line),
                column,
                ..
            } => Some(crate::code::Position {
                line: *line,
                column: column.unwrap_or(0),
            }),
            TableError::Import {
                line: Some(line), ..
            } => Some(crate::code::Position {
                line: *line,
                column: 0,
            }),
            _ => None,
        }
    }

    fn code(&self) -> ErrorCode {
        match self {
            TableError::Sql { .. } => ErrorCode::SqlInvalid,
            TableError::Import { .. } => ErrorCode::ImportFailed,
            TableError::File { .. } => ErrorCode::FileUnreadable,
            TableError::Cancelled => ErrorCode::Cancelled,
            TableError::ViewCancelled => ErrorCode::ViewCancelled,
            TableError::Again(e) => e.code(),
            TableError::InvalidName { .. } => ErrorCode::InvalidTableName,
            TableError::NotFound(_) => ErrorCode::TableNotFound,
            TableError::Exists(_) => ErrorCode::TableExists,
            TableError::InvalidValue { .. } => ErrorCode::InvalidValue,
            TableError::Column(_) => ErrorCode::ColumnInvalid,
            TableError::VersionNotFound { .. } => ErrorCode::VersionNotFound,
            TableError::TooLarge { .. } => ErrorCode::TooLarge,
            TableError::Persist(_) => ErrorCode::Io,
            TableError::Linked { .. } => ErrorCode::TableLinked,
            TableError::Arrow(_) => ErrorCode::Internal,
            TableError::Remote(e) => e.code(),
            TableError::NotOnCluster { .. } => ErrorCode::NotOnCluster,
            TableError::BadPattern { .. } => ErrorCode::PatternInvalid,
        }
    }
}

impl From<DataFusionError> for TableError {
    fn from(e: DataFusionError) -> TableError {
        sql::describe(e)
    }
}

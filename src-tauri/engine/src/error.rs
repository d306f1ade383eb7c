//! [`Error`]: any engine error, one variant per area, for callers that cross areas (the
//! engine, the shell, the CLI). High in the layering: it wraps every area's error, while the
//! areas name their codes from the leaf [`crate::code`].

pub use crate::code::{ErrorCode, HasCode, Position};

/// Any engine error. Each variant is one area's error, unchanged.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Workspace(#[from] crate::workspace::WorkspaceError),
    #[error(transparent)]
    Durable(#[from] crate::durable::DurableError),
    #[error(transparent)]
    Notebook(#[from] crate::notebooks::NotebookError),
    #[error(transparent)]
    Table(#[from] crate::tables::TableError),
    #[error(transparent)]
    Snapshot(#[from] crate::snapshots::SnapshotError),
    #[error(transparent)]
    Queue(#[from] crate::queue::QueueError),
    #[error(transparent)]
    Task(#[from] crate::tasks::TaskError),
    #[error(transparent)]
    Chart(#[from] crate::charts::ChartError),
}

impl HasCode for Error {
    fn position(&self) -> Option<Position> {
        match self {
            Error::Table(e) => e.position(),
            Error::Chart(e) => e.position(),
            _ => None,
        }
    }

    fn code(&self) -> ErrorCode {
        match self {
            Error::Config(e) => e.code(),
            Error::Workspace(e) => e.code(),
            Error::Durable(e) => e.code(),
            Error::Notebook(e) => e.code(),
            Error::Table(e) => e.code(),
            Error::Snapshot(e) => e.code(),
            Error::Queue(e) => e.code(),
            Error::Task(e) => e.code(),
            Error::Chart(e) => e.code(),
        }
    }
}

//! The task store: every run, import, transform and save recorded in SQLite before it is queued,
//! restored after a crash. Filled by the task store issue; the kinds and states are named here
//! because the events and the UI already speak of them.

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, HasCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    CellRun,
    Import,
    Transform,
    Snapshot,
    Export,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Pending,
    Running,
    Completed,
    Failed,
    Cancelled,
    /// Found running after a crash.
    Interrupted,
}

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("the task store could not be written: {0}")]
    Store(String),
}

impl HasCode for TaskError {
    fn code(&self) -> ErrorCode {
        match self {
            TaskError::Store(_) => ErrorCode::Io,
        }
    }
}

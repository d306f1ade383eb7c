//! The priority query queue: one scheduler for engine work that reads or computes on tables.
//!
//! [`Scheduler`] runs jobs on its own tokio runtime, apart from the runtime that answers the
//! UI's commands (DataFusion's guidance for CPU-bound work), at most `workers` at a time. Higher
//! priority starts first; a waiting job gains one level per `aging` it has waited, so idle work
//! cannot starve; background and idle jobs never hold more than `workers - reserved` slots, so
//! urgent and user-visible work always finds one free. Every job has a cancellation token:
//! cancelling a waiting job removes it, cancelling a running async job drops its future (which
//! drops DataFusion streams), and a running blocking job stops at its next check of the token.
//! Jobs in the same `group` (one grid's page fetches) keep only the newest few waiting: older
//! ones are stale and are dropped before they run.

mod config;
pub use config::QueueConfig;

#[cfg(test)]
mod model_tests;
pub mod priority;
mod scheduler;

pub use scheduler::{Canceller, Job, JobKind, QueueStats, Scheduler, SchedulerLimits};

use serde::{Deserialize, Serialize};

use crate::code::{ErrorCode, HasCode};

/// Who is waiting for the work. Declared from most to least urgent; `Ord` follows.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, specta::Type,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Grid pages: what the user is looking at right now.
    Urgent,
    /// Previews and a SQL cell the user just ran.
    UserVisible,
    /// Snapshots and exports.
    Background,
    /// Diffs, statistics, housekeeping.
    Idle,
}

impl Priority {
    pub fn level(self) -> usize {
        self as usize
    }

    /// Urgent and user-visible work may use the slots kept free for the user.
    pub fn interactive(self) -> bool {
        self <= Priority::UserVisible
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("the work was cancelled")]
    Cancelled,
    #[error("the work queue has stopped")]
    Stopped,
    #[error("the work queue could not start: {0}")]
    Start(String),
}

impl HasCode for QueueError {
    fn code(&self) -> ErrorCode {
        match self {
            QueueError::Cancelled => ErrorCode::Cancelled,
            QueueError::Stopped | QueueError::Start(_) => ErrorCode::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urgent_sorts_first() {
        let mut p = vec![
            Priority::Idle,
            Priority::Urgent,
            Priority::Background,
            Priority::UserVisible,
        ];
        p.sort();
        assert_eq!(
            p,
            [
                Priority::Urgent,
                Priority::UserVisible,
                Priority::Background,
                Priority::Idle
            ]
        );
    }
}

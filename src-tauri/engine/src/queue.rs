//! The priority query queue: one scheduler for all engine work that reads or computes on tables.
//! The scheduler, aging, reserved capacity and cancellation arrive with the queue issue; the
//! priorities are fixed here because every other area names them.

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, HasCode};

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

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("the work was cancelled")]
    Cancelled,
}

impl HasCode for QueueError {
    fn code(&self) -> ErrorCode {
        match self {
            QueueError::Cancelled => ErrorCode::Cancelled,
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

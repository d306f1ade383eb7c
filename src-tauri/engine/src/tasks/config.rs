//! The task store's section of the settings.

use serde::{Deserialize, Serialize};

/// The SQLite task store's housekeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(default, deny_unknown_fields)]
pub struct TaskConfig {
    /// Finished tasks older than this are deleted. Default 24 h.
    pub retention_hours: u32,
    /// At most about this many finished tasks are kept, newest first, however young; so a
    /// busy session cannot grow the task table without bound. 0 keeps all. Default 10,000.
    pub max_finished: u32,
    /// Interval of the passive WAL checkpoint. Default 300 s.
    pub checkpoint_interval_s: u32,
}

impl Default for TaskConfig {
    fn default() -> Self {
        Self {
            retention_hours: 24,
            max_finished: 10_000,
            checkpoint_interval_s: 300,
        }
    }
}

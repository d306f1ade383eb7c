//! The queue's section of the settings.

use serde::{Deserialize, Serialize};

/// The priority query queue's capacity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(default, deny_unknown_fields)]
pub struct QueueConfig {
    /// Worker threads for CPU-heavy work; 0 means one per core. Default 0.
    pub workers: u32,
    /// Workers kept free for urgent and user-visible work. Default 1.
    pub reserved_for_interactive: u32,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            workers: 0,
            reserved_for_interactive: 1,
        }
    }
}

//! How table snapshots are debounced and kept: this area's section of the settings.

use serde::{Deserialize, Serialize};

/// How table snapshots are debounced and kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(default, deny_unknown_fields)]
pub struct SnapshotConfig {
    /// Quiet window after a change before a snapshot is written. Default 2000 ms.
    pub debounce_ms: u64,
    /// Changes after which a snapshot is forced even without a quiet window. Default 10.
    pub max_pending_changes: u32,
    /// Longest a change may wait for its snapshot while changes keep coming. Default 10000 ms.
    pub max_wait_ms: u64,
    /// Generations kept per table. Default 5.
    pub history: u32,
    /// Parquet codec of snapshot files: zstd (default), snappy or uncompressed.
    pub codec: super::Codec,
    /// Threads of the persistence pool that encodes snapshots; 0 means one per core.
    pub threads: u32,
    /// Edited cells of a linked table past which they are folded, at idle priority, into a
    /// copy of the table in the notebook's folder (the linked files are never written); 0
    /// never. Default 1,000,000.
    pub compact_edits_cells: u64,
}

impl Default for SnapshotConfig {
    fn default() -> Self {
        Self {
            debounce_ms: 2000,
            max_pending_changes: 10,
            max_wait_ms: 10_000,
            history: 5,
            codec: super::Codec::Zstd,
            threads: 0,
            compact_edits_cells: 1_000_000,
        }
    }
}

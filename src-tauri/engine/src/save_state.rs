//! What a save indicator shows, for a notebook or a table (a leaf shared by both areas).

use serde::{Deserialize, Serialize};

/// What the save indicator shows for one notebook or table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SaveState {
    /// Everything is on disk.
    Saved,
    /// Edits are waiting for their batched write.
    Unsaved,
    /// A write is running.
    Saving,
    /// The last write failed; the edits are kept and the write is retried.
    Failed { message: String },
    /// `notebook.json` changed outside Quire while there were unsaved edits: reload or keep mine.
    ChangedOnDisk,
    /// `notebook.json` cannot be read; it is left untouched.
    Unreadable { message: String },
}

//! What the journal holds for a table change, and how a change is described to the ledger.

use serde::{Deserialize, Serialize};

use crate::tables::history::TableOp;
use crate::tables::TableVersion;

/// One step of a table's journal: an operation, or an undo / redo of the history. Its JSON
/// form is what the task store's journal holds, so it never changes shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub(crate) enum JournalStep {
    Op { op: TableOp },
    Undo,
    Redo,
}

/// A change to apply to a table's current version.
pub enum Change {
    /// `op` made `next` from the current version (an edit, a transform, a restore).
    Op { op: TableOp, next: TableVersion },
    /// One step back in the table's history.
    Undo,
    /// One step forward in the table's history.
    Redo,
}

impl Change {
    pub(crate) fn journal_step(&self) -> JournalStep {
        match self {
            Change::Op { op, .. } => JournalStep::Op { op: op.clone() },
            Change::Undo => JournalStep::Undo,
            Change::Redo => JournalStep::Redo,
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            Change::Op { op, .. } => match op {
                TableOp::Opened => "open",
                TableOp::Edit { .. } => "edit",
                TableOp::Transform { .. } => "transform",
                TableOp::Restore { .. } => "restore",
                TableOp::DeleteRows { .. } => "delete",
                TableOp::AddRows { .. } => "add",
            },
            Change::Undo => "undo",
            Change::Redo => "redo",
        }
    }
}

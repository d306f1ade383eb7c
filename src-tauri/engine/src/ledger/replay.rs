//! Journal replay: the newest snapshot plus the journal's entries after it is the table the
//! user last saw. Each entry is resolved and remembered exactly as [`Ledger::apply`] does,
//! without journaling it again.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::{Change, JournalStep, Ledger};
use crate::error::Error;
use crate::events::EngineEvent;
use crate::ids::NotebookId;
use crate::tables::edit;
use crate::tables::history::TableOp;
use crate::tables::transform;
use crate::tables::TableVersion;

impl Ledger {
    /// Applies the journal entries after `saved` (the newest snapshot) to it. Replayed steps
    /// join the history (so they can be undone) and make the table due for a snapshot, which
    /// then trims the journal.
    pub(super) fn replay(
        &self,
        notebook: NotebookId,
        table: &str,
        saved: TableVersion,
    ) -> Result<TableVersion, Error> {
        let entries = self.journal.journal_after(notebook, table, saved.version)?;
        if entries.is_empty() {
            return Ok(saved);
        }
        let mut current = Arc::new(saved);
        let mut replayed = 0usize;
        for (version, step) in entries {
            let step: JournalStep = match serde_json::from_value(step) {
                Ok(s) => s,
                Err(e) => {
                    log::error!(
                        "journal of table {table}: an entry cannot be read ({e}); replay stops"
                    );
                    break;
                }
            };
            let change = match &step {
                JournalStep::Op {
                    op: TableOp::Opened,
                } => continue,
                JournalStep::Op { op } => Change::Op {
                    op: op.clone(),
                    next: self.redo_op(notebook, table, &current, op)?,
                },
                JournalStep::Undo => Change::Undo,
                JournalStep::Redo => Change::Redo,
            };
            let Some(next) = self.resolve(notebook, table, &current, change)? else {
                log::warn!(
                    "journal of table {table}: an undo reaches before the saved copy; replay stops at version {}",
                    current.version
                );
                break;
            };
            if next.version != version {
                log::error!(
                    "journal of table {table}: entry for version {version} replays as {}; replay stops",
                    next.version
                );
                break;
            }
            let next = Arc::new(next);
            self.remember(notebook, table, &current, next.clone(), step);
            current = next;
            replayed += 1;
        }
        log::info!(
            "table {table} of notebook {notebook}: replayed {replayed} journal entries on top of the saved copy (now version {})",
            current.version
        );
        self.events.emit(EngineEvent::TableNotice {
            notebook,
            table: Some(table.to_string()),
            message: format!(
                "{replayed} change{} made after the last save {} recovered from the journal",
                if replayed == 1 { "" } else { "s" },
                if replayed == 1 { "was" } else { "were" }
            ),
        });
        self.snapshots.changed(notebook, table, current.clone());
        Ok(TableVersion::clone(&current))
    }

    /// What a journaled operation makes from `current`, computed again.
    fn redo_op(
        &self,
        notebook: NotebookId,
        table: &str,
        current: &TableVersion,
        op: &TableOp,
    ) -> Result<TableVersion, Error> {
        Ok(match op {
            TableOp::Opened => TableVersion::clone(current),
            TableOp::Edit { edits } => edit::apply(current, edits)?,
            TableOp::Transform { transform } => {
                transform::apply(current, transform, &|_| {}, &CancellationToken::new())?
            }
            TableOp::Restore { generation } => {
                self.read_generation(notebook, table, current, *generation, "journal replay")?
            }
        })
    }
}

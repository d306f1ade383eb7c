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
        let total = entries.len();
        let mut current = Arc::new(saved);
        let mut replayed = 0usize;
        // Why replay stopped early, if it did: the entries from there on are not applied.
        let mut stopped: Option<String> = None;
        for (version, step) in entries {
            let step: JournalStep = match serde_json::from_value(step.clone()) {
                Ok(s) => s,
                Err(e) => {
                    stopped = Some(format!("an entry cannot be read ({e}): {step}"));
                    break;
                }
            };
            let change = match &step {
                JournalStep::Op {
                    op: TableOp::Opened,
                } => {
                    replayed += 1;
                    continue;
                }
                JournalStep::Op { op } => match self.redo_op(notebook, table, &current, op) {
                    Ok(next) => Change::Op {
                        op: op.clone(),
                        next,
                    },
                    Err(e) => {
                        stopped = Some(format!("the change to version {version} fails: {e}"));
                        break;
                    }
                },
                JournalStep::Undo => Change::Undo,
                JournalStep::Redo => Change::Redo,
            };
            let next = match self.resolve(notebook, table, &current, change) {
                Ok(Some(next)) => next,
                Ok(None) => {
                    stopped = Some("an undo reaches before the saved copy".into());
                    break;
                }
                Err(e) => {
                    stopped = Some(format!("the change to version {version} fails: {e}"));
                    break;
                }
            };
            if next.version != version {
                stopped = Some(format!(
                    "the entry for version {version} applies as version {}",
                    next.version
                ));
                break;
            }
            let next = Arc::new(next);
            self.remember(notebook, table, &current, next.clone(), step);
            current = next;
            replayed += 1;
        }
        let message = match &stopped {
            None => format!(
                "{replayed} change{} made after the last save {} recovered from the journal",
                if replayed == 1 { "" } else { "s" },
                if replayed == 1 { "was" } else { "were" }
            ),
            Some(why) => {
                log::error!(
                    "journal of table {table} in notebook {notebook}: replay stopped after {replayed} of {total} entries: {why}"
                );
                // The rest can never apply; left in place they would block newer entries.
                match self.journal.journal_drop_after(notebook, table, current.version) {
                    Ok(n) => log::error!("journal of table {table}: {n} entries that cannot be applied were removed"),
                    Err(e) => log::error!("journal of table {table}: could not remove the entries that cannot be applied: {e}"),
                }
                format!(
                    "{replayed} of {total} changes made after the last save were recovered; the \
                     other {} could not be applied ({why}) and are lost. The table shows version {}.",
                    total - replayed,
                    current.version
                )
            }
        };
        log::info!(
            "table {table} of notebook {notebook}: replayed {replayed} journal entries on top of the saved copy (now version {})",
            current.version
        );
        self.events.emit(EngineEvent::TableNotice {
            notebook,
            table: Some(table.to_string()),
            message,
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
            TableOp::DeleteRows { row_ids } => edit::delete_rows(current, row_ids)?,
            TableOp::AddRows { first_row_id, rows } => {
                edit::add_rows(current, *first_row_id, *rows)?
            }
        })
    }
}

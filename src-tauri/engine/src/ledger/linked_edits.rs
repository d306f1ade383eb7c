//! Edits of linked tables: cells changed over files Quire never writes (`tables::linked::edits`).
//!
//! They follow the ledger's invariant, journaled before visible: under the commit lock an edit
//! (or an undo, a redo) is appended to the edit journal, then becomes the link's current edits.
//! The journal holds the same steps as for held tables, so opening the notebook replays them
//! onto the link's saved edits.
//!
//! Saving a link's edits (every [`SAVE_EVERY`] steps, when undo or redo goes back past the
//! saved version, and when Quire flushes or closes) writes them whole to a new file in the
//! notebook's `edits/` folder (atomic, synced), then names it in `links.json` (atomic), then
//! trims the journal entries it covers, then removes the file it replaced. A crash before
//! `links.json` names the new file leaves it unnamed (removed at the next open) and the
//! journal whole; a crash after it leaves entries the file covers, which replay skips.

use std::path::Path;
use std::sync::atomic::Ordering;

use super::{links, JournalStep, Ledger};
use crate::durable::{self, DurableError};
use crate::error::Error;
use crate::events::EngineEvent;
use crate::ids::NotebookId;
use crate::metrics::Metrics;
use crate::tables::edit::CellEdit;
use crate::tables::history::TableOp;
use crate::tables::linked::edits_file;
use crate::tables::{LinkedTable, TableError, TableInfo};

/// Unsaved steps of a link's edits after which the next edit also saves them: the journal
/// stays short, and a save costs the edits' size, never the linked files'.
pub const SAVE_EVERY: u64 = 64;

/// A link's edits after a change, and whether they must be saved before it is acknowledged.
pub struct LinkedChange {
    pub info: TableInfo,
    pub save_now: bool,
    /// Cells edited now, for the compaction threshold. Deleted rows do not count: a page skips
    /// them cheaply, and a compaction would end the undo steps that bring them back.
    pub cells: u64,
}

impl Ledger {
    /// Sets cells of a linked table; None when `table` is not a link.
    pub fn edit_linked(
        &self,
        notebook: NotebookId,
        table: &str,
        edits: &[CellEdit],
    ) -> Result<Option<LinkedChange>, Error> {
        let _commit = self.lock_commit();
        let Some(linked) = self.catalog.linked(notebook, table) else {
            return Ok(None);
        };
        if edits.is_empty() {
            return Ok(Some(LinkedChange {
                info: linked.info(table),
                save_now: false,
                cells: linked.edits.current().len() as u64,
            }));
        }
        let next = linked
            .edits
            .current()
            .with(&linked.schema, linked.rows, edits)?;
        let step = JournalStep::Op {
            op: TableOp::Edit {
                edits: edits.to_vec(),
            },
        };
        self.journal_append(notebook, table, next.version, &step)?;
        Ok(Some(self.pushed(notebook, table, &linked, next)))
    }

    /// Deletes rows of a linked table by position (kept beside its files, which stay as
    /// they are); None when `table` is not a link.
    pub fn delete_linked_rows(
        &self,
        notebook: NotebookId,
        table: &str,
        row_ids: &[u64],
    ) -> Result<Option<LinkedChange>, Error> {
        let _commit = self.lock_commit();
        let Some(linked) = self.catalog.linked(notebook, table) else {
            return Ok(None);
        };
        if row_ids.is_empty() {
            return Ok(Some(LinkedChange {
                info: linked.info(table),
                save_now: false,
                cells: linked.edits.current().len() as u64,
            }));
        }
        let next = linked.edits.current().without_rows(linked.rows, row_ids)?;
        let step = JournalStep::Op {
            op: TableOp::DeleteRows {
                row_ids: row_ids.to_vec(),
            },
        };
        self.journal_append(notebook, table, next.version, &step)?;
        Ok(Some(self.pushed(notebook, table, &linked, next)))
    }

    /// Adds `rows` empty rows after a linked table's rows (kept with its edits: positions past
    /// its files'), and the position of the first; None when `table` is not a link.
    pub fn add_linked_rows(
        &self,
        notebook: NotebookId,
        table: &str,
        rows: u64,
    ) -> Result<Option<(LinkedChange, u64)>, Error> {
        let _commit = self.lock_commit();
        let Some(linked) = self.catalog.linked(notebook, table) else {
            return Ok(None);
        };
        let current = linked.edits.current();
        let first_row_id = current.positions(linked.rows);
        let next = current.with_rows_added(linked.rows, first_row_id, rows)?;
        let step = JournalStep::Op {
            op: TableOp::AddRows { first_row_id, rows },
        };
        self.journal_append(notebook, table, next.version, &step)?;
        Ok(Some((
            self.pushed(notebook, table, &linked, next),
            first_row_id,
        )))
    }

    /// Makes `next` the link's current edits after a change already journaled.
    fn pushed(
        &self,
        notebook: NotebookId,
        table: &str,
        linked: &LinkedTable,
        next: crate::tables::linked::Edits,
    ) -> LinkedChange {
        let now = linked.edits.push(next);
        let saved = linked.saved_edits.load(Ordering::SeqCst);
        LinkedChange {
            info: self.linked_changed(notebook, table, linked),
            save_now: now.version - saved.min(now.version) >= SAVE_EVERY,
            cells: now.len() as u64,
        }
    }

    /// Undo (`back`) or redo one edit of a linked table (notebook folder `dir`); None when
    /// `table` is not a link.
    pub fn undo_redo_linked(
        &self,
        notebook: NotebookId,
        table: &str,
        back: bool,
        dir: &Path,
        metrics: &Metrics,
    ) -> Result<Option<LinkedChange>, Error> {
        let _commit = self.lock_commit();
        let Some(linked) = self.catalog.linked(notebook, table) else {
            return Ok(None);
        };
        let Some(shown) = linked.edits.peek(back) else {
            return Ok(Some(LinkedChange {
                info: linked.info(table),
                save_now: false,
                cells: linked.edits.current().len() as u64,
            }));
        };
        // Replay rebuilds undo steps only after the saved edits: a step to a version older
        // than them is saved (not journaled) before it is shown, and a failed save changes
        // nothing.
        if linked
            .edits
            .reaches_before(back, linked.saved_edits.load(Ordering::SeqCst))
        {
            self.save_locked(notebook, dir, table, &linked, &shown, metrics)?;
        } else {
            let step = if back {
                JournalStep::Undo
            } else {
                JournalStep::Redo
            };
            self.journal_append(notebook, table, shown.version, &step)?;
        }
        let now = linked.edits.step(back, shown);
        Ok(Some(LinkedChange {
            info: self.linked_changed(notebook, table, &linked),
            save_now: false,
            cells: now.len() as u64,
        }))
    }

    /// Every link of every open notebook whose edits are not all saved.
    pub fn links_with_unsaved_edits(&self) -> Vec<(NotebookId, String)> {
        self.catalog
            .all_links()
            .into_iter()
            .filter(|(_, _, l)| l.edits.current().version != l.saved_edits.load(Ordering::SeqCst))
            .map(|(notebook, name, _)| (notebook, name))
            .collect()
    }

    /// Saves a link's edits in the notebook folder `dir` (see the module's doc); false when
    /// they were saved already.
    pub fn save_linked_edits(
        &self,
        notebook: NotebookId,
        dir: &Path,
        table: &str,
        metrics: &Metrics,
    ) -> Result<bool, Error> {
        let _commit = self.lock_commit();
        self.save_linked_edits_locked(notebook, dir, table, metrics)
    }

    /// [`Ledger::save_linked_edits`] with the commit lock held.
    pub(super) fn save_linked_edits_locked(
        &self,
        notebook: NotebookId,
        dir: &Path,
        table: &str,
        metrics: &Metrics,
    ) -> Result<bool, Error> {
        let Some(linked) = self.catalog.linked(notebook, table) else {
            return Ok(false);
        };
        let current = linked.edits.current();
        if current.version == linked.saved_edits.load(Ordering::SeqCst) {
            return Ok(false);
        }
        self.save_locked(notebook, dir, table, &linked, &current, metrics)?;
        Ok(true)
    }

    /// Saves `edits` as link `table`'s edits: written, named in `links.json` (then they are
    /// the saved version), the journal entries they cover trimmed, the file they replace
    /// removed.
    pub(super) fn save_locked(
        &self,
        notebook: NotebookId,
        dir: &Path,
        table: &str,
        linked: &LinkedTable,
        edits: &crate::tables::linked::Edits,
        metrics: &Metrics,
    ) -> Result<(), Error> {
        let file = write_edits_file(dir, table, edits, linked, metrics)?;
        let replaced = match links::name_saved_edits(dir, table, linked, &file, edits, metrics) {
            Ok(replaced) => replaced,
            Err(e) => {
                remove_edits_file(dir, &file);
                return Err(e.into());
            }
        };
        linked.saved_edits.store(edits.version, Ordering::SeqCst);
        if let Err(e) = self.journal.journal_cover(notebook, table, edits.version) {
            // Replay skips what the saved edits cover; the entries only take room.
            log::warn!("journal entries of {table} that its saved edits cover stay: {e}");
        }
        if let Some(old) = replaced {
            remove_edits_file(dir, &old);
        }
        log::info!(
            "saved {} edited cells of the linked table {table} (version {})",
            edits.len(),
            edits.version,
        );
        Ok(())
    }

    pub(super) fn linked_changed(
        &self,
        notebook: NotebookId,
        table: &str,
        linked: &LinkedTable,
    ) -> TableInfo {
        self.tally().count();
        let info = linked.info(table);
        self.events.emit(EngineEvent::TableChanged {
            notebook,
            table: info.clone(),
        });
        info
    }

    /// Replays the journal's steps for a link just opened (its files as linked), as `apply`
    /// made them. A step that does not apply stops the replay; it and the steps after it are
    /// removed, and the user is told how many were lost.
    pub(super) fn replay_linked(&self, notebook: NotebookId, table: &str, linked: &LinkedTable) {
        let base = linked.edits.current().version;
        let entries = match self.journal.journal_after(notebook, table, base) {
            Ok(entries) => entries,
            Err(e) => {
                self.events.emit(EngineEvent::TableNotice {
                    notebook,
                    table: Some(table.to_string()),
                    message: format!(
                        "the edits of {table} could not be read from the journal: {e}"
                    ),
                });
                return;
            }
        };
        if entries.is_empty() {
            return;
        }
        let total = entries.len();
        let mut replayed = 0usize;
        let mut stopped: Option<String> = None;
        for (version, step) in entries {
            let step: JournalStep = match serde_json::from_value(step.clone()) {
                Ok(s) => s,
                Err(e) => {
                    stopped = Some(format!("an entry cannot be read ({e}): {step}"));
                    break;
                }
            };
            let outcome = match &step {
                JournalStep::Op { op } => {
                    let current = linked.edits.current();
                    match op {
                        TableOp::Edit { edits } => current
                            .with(&linked.schema, linked.rows, edits)
                            .map_err(|e| e.to_string()),
                        TableOp::DeleteRows { row_ids } => current
                            .without_rows(linked.rows, row_ids)
                            .map_err(|e| e.to_string()),
                        TableOp::AddRows { first_row_id, rows } => current
                            .with_rows_added(linked.rows, *first_row_id, *rows)
                            .map_err(|e| e.to_string()),
                        other => Err(format!("a linked table cannot replay a {other:?}")),
                    }
                    .and_then(|next| {
                        if next.version == version {
                            linked.edits.push(next);
                            Ok(())
                        } else {
                            Err(format!(
                                "the entry for version {version} applies as version {}",
                                next.version
                            ))
                        }
                    })
                }
                JournalStep::Undo | JournalStep::Redo => {
                    let back = matches!(step, JournalStep::Undo);
                    match linked.edits.peek(back) {
                        Some(shown) if shown.version == version => {
                            linked.edits.step(back, shown);
                            Ok(())
                        }
                        Some(shown) => Err(format!(
                            "the entry for version {version} applies as version {}",
                            shown.version
                        )),
                        None => Err("an undo reaches before the link was made".into()),
                    }
                }
            };
            if let Err(why) = outcome {
                stopped = Some(why);
                break;
            }
            replayed += 1;
        }
        let message = match &stopped {
            None => format!(
                "{replayed} edit{} of the linked table {} recovered from the journal",
                if replayed == 1 { "" } else { "s" },
                if replayed == 1 { "was" } else { "were" }
            ),
            Some(why) => {
                log::error!(
                    "journal of linked table {table} in notebook {notebook}: replay stopped after {replayed} of {total} entries: {why}"
                );
                let reached = linked.edits.current().version;
                if let Err(e) = self.journal.journal_drop_after(notebook, table, reached) {
                    log::error!("journal of table {table}: could not remove the entries that cannot be applied: {e}");
                }
                format!(
                    "{replayed} of {total} edits of the linked table were recovered; the other {} \
                     could not be applied ({why}) and are lost",
                    total - replayed
                )
            }
        };
        log::info!("linked table {table} of notebook {notebook}: {message}");
        // Edits not saved yet are the journal's to keep, not a recovery: only a loss is news.
        if stopped.is_some() {
            self.events.emit(EngineEvent::TableNotice {
                notebook,
                table: Some(table.to_string()),
                message,
            });
        }
    }
}

/// Writes `edits` of the link `table` as a new file in the notebook folder `dir`'s `edits/`
/// (one write protocol, folder synced); its name there.
pub(super) fn write_edits_file(
    dir: &Path,
    table: &str,
    edits: &crate::tables::linked::Edits,
    linked: &LinkedTable,
    metrics: &Metrics,
) -> Result<String, Error> {
    let folder = dir.join(edits_file::EDITS_DIR);
    if !folder.is_dir() {
        durable::trace::create_dir(&folder)
            .or_else(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => Ok(()),
                _ => Err(e),
            })
            .and_then(|()| durable::sync_dir(dir))
            .map_err(|e| TableError::file(&folder, e))?;
    }
    let name = edits_file::new_name(table, edits.version);
    let bytes = edits_file::encode(edits, &linked.schema)?;
    // Unsure is not good enough here: links.json must never name a file a power cut can
    // take back, since the journal entries it covers go next.
    durable::write_atomic(&folder.join(&name), &bytes, metrics).map_err(|e| match e {
        DurableError::Unsure { path, source } => TableError::file(&path, source),
        other => TableError::Persist(other.to_string()),
    })?;
    Ok(name)
}

/// Removes an edits file `links.json` no longer names (a failure only leaves it for the next
/// open's sweep).
pub(super) fn remove_edits_file(dir: &Path, name: &str) {
    let Ok(path) = edits_file::path_in(dir, name) else {
        return;
    };
    if let Err(e) = durable::trace::remove_file(&path) {
        log::warn!("the replaced edits file {} stays: {e}", path.display());
    }
}

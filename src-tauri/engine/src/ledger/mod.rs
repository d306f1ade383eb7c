//! [`Ledger`]: the one owner of every table's versions, and the one way they change.
//!
//! It holds the catalog (what SQL sees), the grid's view cache, the undo histories, the diff
//! and preview caches, and the snapshots service. Every change of a table's content (an edit,
//! a transform, a restore, an undo, a redo) goes through [`Ledger::apply`], and journal replay
//! after a crash goes through the same [`Ledger::resolve`] and history bookkeeping.
//!
//! Invariant: **journaled before visible**. Under one lock, `apply` appends the change to the
//! edit journal (committed in SQLite when it returns), then makes the new version current in
//! the catalog, records it in the history and marks the table due for a snapshot. A failed
//! append changes nothing and acknowledges nothing; a catalog that refuses the new version
//! takes the journal entry back. Nothing else replaces a table version.

mod diffs;
mod linked_compact;
mod linked_edits;
mod linked_transforms;
pub mod links;
mod pages;
mod replay;
mod step;
mod transforms;

use std::path::Path;
use std::sync::{Arc, Mutex};

pub use diffs::{DiffPage, DiffRow, TableVersions, TransformPreview};
pub use linked_edits::{LinkedChange, SAVE_EVERY};
pub use linked_transforms::{LinkedTransformed, MAX_CHANGED_CELLS};
pub use pages::MAX_PAGE_ROWS;
pub use step::Change;
pub(crate) use step::JournalStep;

use crate::error::Error;
use crate::events::{EngineEvent, EventBus};
use crate::ids::NotebookId;
use crate::queue::Scheduler;
use crate::snapshots::{Generation, Snapshots};
use crate::tables::edit::{self, CellEdit};
use crate::tables::history::{Histories, HistoryItem, TableOp};
use crate::tables::view_cache::ViewCache;
use crate::tables::{name, Catalog, Loaded, TableError, TableInfo, TableVersion};
use crate::tasks::TaskStore;

pub struct Ledger {
    catalog: Arc<Catalog>,
    views: Arc<ViewCache>,
    histories: Arc<Histories>,
    /// The task store, for its edit journal.
    journal: Arc<TaskStore>,
    /// Declared before the scheduler's last owner goes: dropping it stops the snapshot planner.
    snapshots: Snapshots,
    events: Arc<EventBus>,
    scheduler: Arc<Scheduler>,
    /// Held while a step is applied (or replayed), so journal, catalog, history and
    /// "snapshot due" change together and two steps never interleave.
    commit: Arc<Mutex<()>>,
    /// Names of tables whose first generation is being written (reserved while `add` runs
    /// without the commit lock).
    adding: Mutex<std::collections::HashSet<(NotebookId, String)>>,
    diffs: Mutex<diffs::RecentDiffs>,
    previewed: Mutex<Option<transforms::PreviewedTransform>>,
    /// The rows the last previewed transform of a link removes, for its apply.
    linked_previewed: Mutex<Option<linked_transforms::Found>>,
}

impl Ledger {
    pub fn new(
        catalog: Catalog,
        snapshots: Snapshots,
        journal: Arc<TaskStore>,
        events: Arc<EventBus>,
        scheduler: Arc<Scheduler>,
    ) -> Ledger {
        // Undo may hold up to one more table's budget beyond each table's current version, and
        // the grid's cached sorted views one table's budget in all.
        let histories = Arc::new(Histories::with_cap(catalog.limits().table_bytes()));
        let views = Arc::new(ViewCache::with_cap(catalog.limits().table_bytes()));
        let catalog = Arc::new(catalog);
        let ledger = Ledger {
            catalog,
            views,
            histories,
            journal,
            snapshots,
            events,
            scheduler,
            commit: Arc::default(),
            adding: Mutex::default(),
            diffs: Mutex::default(),
            previewed: Mutex::default(),
            linked_previewed: Mutex::default(),
        };
        // Short of memory, what is kept for convenience goes first: the grid's cached views
        // (made again when asked for), then the oldest undo steps.
        let tally = ledger.tally();
        let commit = Arc::downgrade(&ledger.commit);
        ledger.catalog.limits().account().on_shortage(move |need| {
            let (Some(histories), Some(views), Some(commit)) = (
                tally.histories.upgrade(),
                tally.views.upgrade(),
                commit.upgrade(),
            ) else {
                return 0;
            };
            let mut freed = views.clear();
            // Undo steps only between changes: a change (or a journal replay) reads the
            // history, then moves it, under the commit lock.
            if freed < need {
                let between = match commit.try_lock() {
                    Ok(guard) => Some(guard),
                    // A panic under the lock left it poisoned, as lock_commit ignores.
                    Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
                    Err(std::sync::TryLockError::WouldBlock) => None,
                };
                if between.is_some() {
                    freed += histories.shed(need - freed);
                }
            }
            tally.count();
            freed
        });
        ledger
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// What counts what the ledger holds against the one memory budget.
    pub(crate) fn tally(&self) -> MemoryTally {
        MemoryTally {
            catalog: Arc::downgrade(&self.catalog),
            histories: Arc::downgrade(&self.histories),
            views: Arc::downgrade(&self.views),
        }
    }

    pub fn snapshots(&self) -> &Snapshots {
        &self.snapshots
    }

    fn lock_commit(&self) -> std::sync::MutexGuard<'_, ()> {
        self.commit.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Loads a notebook's saved tables the first time they are needed (the newest readable
    /// snapshot of each, with the journal replayed on top). `dir` is the notebook's folder;
    /// None for a notebook not on disk yet.
    pub fn ensure_loaded(
        &self,
        notebook: NotebookId,
        dir: Option<&Path>,
        metrics: &crate::metrics::Metrics,
    ) -> Result<(), Error> {
        let loaded = std::cell::Cell::new(false);
        let outcome = self
            .catalog
            .ensure_loaded(notebook, || -> Result<_, Error> {
                loaded.set(true);
                let Some(dir) = dir else {
                    return Ok(Loaded::default());
                };
                let mut tables = Vec::new();
                for t in self.snapshots.open_folder(notebook, dir)? {
                    // Under the commit lock, as any change: nothing sheds the history it builds.
                    let _commit = self.lock_commit();
                    tables.push((t.name.clone(), self.replay(notebook, &t.name, t.version)?));
                }
                // A damaged links.json or a link that cannot be read must not hide the
                // notebook's own tables: the user hears of it, and the file stays as it is.
                if let Err(e) = links::sweep_unnamed_edits(dir) {
                    log::warn!("notebook {notebook}: leftover edits files stay: {e}");
                }
                if let Err(e) = linked_compact::sweep_unnamed_copies(dir) {
                    log::warn!("notebook {notebook}: leftover compacted copies stay: {e}");
                }
                let journaled = |name: &str| {
                    self.journal
                        .journal_after(notebook, name, 1)
                        .map_or(true, |entries| !entries.is_empty())
                };
                let (links, missing, problems) = match links::open_all(dir, journaled, metrics) {
                    Ok((links, missing)) => {
                        let problems = missing
                            .iter()
                            .map(|(name, m)| m.error(name).to_string())
                            .collect();
                        (links, missing, problems)
                    }
                    Err(e) => (Vec::new(), Vec::new(), vec![e.to_string()]),
                };
                // Before the links are shown: no edit may land between their replay and them.
                for (name, linked) in &links {
                    let _commit = self.lock_commit();
                    self.replay_linked(notebook, name, linked);
                }
                for message in problems {
                    log::warn!("notebook {notebook}: {message}");
                    self.events.emit(EngineEvent::TableNotice {
                        notebook,
                        table: None,
                        message,
                    });
                }
                Ok(Loaded {
                    tables,
                    links,
                    missing,
                })
            });
        if loaded.get() {
            self.tally().count();
            // Saved tables open whatever the budget says (they are the user's), but the user
            // hears why queries now spill or stop.
            if let Some(message) = self.catalog.limits().account().over_budget() {
                self.events.emit(EngineEvent::TableNotice {
                    notebook,
                    table: None,
                    message,
                });
            }
        }
        outcome
    }

    pub fn list(&self, notebook: NotebookId) -> Vec<TableInfo> {
        self.catalog.list(notebook)
    }

    pub fn version(&self, notebook: NotebookId, table: &str) -> Result<Arc<TableVersion>, Error> {
        Ok(self.catalog.version(notebook, table)?)
    }

    pub fn exists(&self, notebook: NotebookId, table: &str) -> bool {
        self.catalog.exists(notebook, table)
    }

    /// Applies `change` to the table whose current version is `base`; see the module's
    /// invariant. Refused when the table moved on since `base` was read.
    pub fn apply(
        &self,
        notebook: NotebookId,
        table: &str,
        base: &Arc<TableVersion>,
        change: Change,
    ) -> Result<Arc<TableVersion>, Error> {
        let _commit = self.lock_commit();
        let current = self.catalog.version(notebook, table)?;
        if current.version != base.version {
            return Err(TableError::Persist(format!(
                "table {table} changed while the {} was prepared; try again",
                change.name()
            ))
            .into());
        }
        let step = change.journal_step();
        let Some(next) = self.resolve(notebook, table, &current, change)? else {
            return Ok(current); // nothing to undo or redo
        };
        let version = next.version;
        self.journal_append(notebook, table, version, &step)?;
        let next = match self.catalog.replace(notebook, table, current.version, next) {
            Ok(next) => next,
            Err(e) => {
                if let Err(undo) = self.journal.journal_remove(notebook, table, version) {
                    log::error!(
                        "table {table}: a journal entry for a change that failed stays: {undo}"
                    );
                }
                return Err(e.into());
            }
        };
        self.remember(notebook, table, &current, next.clone(), step);
        self.tally().count();
        self.snapshots.changed(notebook, table, next.clone());
        self.events.emit(EngineEvent::TableChanged {
            notebook,
            table: next.info(table),
        });
        Ok(next)
    }

    /// The version a change makes from `current`: None for an undo or redo with nowhere to go.
    fn resolve(
        &self,
        notebook: NotebookId,
        table: &str,
        current: &TableVersion,
        change: Change,
    ) -> Result<Option<TableVersion>, Error> {
        Ok(match change {
            Change::Op { next, .. } => Some(next),
            Change::Undo | Change::Redo => {
                let back = matches!(change, Change::Undo);
                self.histories
                    .peek(notebook, table, back)
                    .map(|target| TableVersion {
                        version: current.version + 1,
                        next_row_id: current.next_row_id.max(target.next_row_id),
                        ..TableVersion::clone(&target)
                    })
            }
        })
    }

    /// The history's side of a step that is now the table's current version.
    fn remember(
        &self,
        notebook: NotebookId,
        table: &str,
        base: &Arc<TableVersion>,
        next: Arc<TableVersion>,
        step: JournalStep,
    ) {
        match step {
            JournalStep::Op { op } => self.histories.record(notebook, table, base, next, op),
            JournalStep::Undo | JournalStep::Redo => {
                self.histories
                    .step(notebook, table, matches!(step, JournalStep::Undo));
                self.histories.restamp(notebook, table, next);
            }
        }
    }

    /// Appends a table change to the journal: after a crash the newest snapshot plus these
    /// entries rebuild exactly what the user last saw.
    fn journal_append(
        &self,
        notebook: NotebookId,
        table: &str,
        version: u64,
        step: &JournalStep,
    ) -> Result<(), Error> {
        let step = serde_json::to_value(step).expect("a journal step always serialises");
        Ok(self
            .journal
            .journal_append(notebook, table, version, &step)?)
    }

    /// Saves a new table in the notebook's folder `dir`, then adds it (SQL sees it only once
    /// it is on disk). Repeated column names get a suffix (`year`, `year_2`).
    pub fn add(
        &self,
        notebook: NotebookId,
        dir: &Path,
        table: &str,
        version: TableVersion,
    ) -> Result<TableInfo, Error> {
        let table = name::validate(table)?;
        let version = match name::unique_columns(&version.schema) {
            Some(schema) => {
                let batches = version
                    .batches
                    .iter()
                    .map(|b| {
                        datafusion::arrow::record_batch::RecordBatch::try_new(
                            schema.clone(),
                            b.columns().to_vec(),
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(TableError::from)?;
                TableVersion::first(schema, batches)
            }
            None => version,
        };
        let key = (notebook, table.clone());
        {
            let _commit = self.lock_commit();
            let mut adding = self.adding.lock().unwrap_or_else(|p| p.into_inner());
            if self.catalog.exists(notebook, &table) || adding.contains(&key) {
                return Err(TableError::Exists(table).into());
            }
            // Entries left by a deleted table of this name must never replay onto this one.
            self.journal.journal_drop(notebook, &table)?;
            adding.insert(key.clone());
        }
        // The first generation is written without the lock (the name is reserved): a large
        // import's save must not hold up edits of every other table meanwhile.
        let created = self
            .snapshots
            .create(notebook, dir, &table, Arc::new(version.clone()));
        let _commit = self.lock_commit();
        self.adding
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
        created?;
        let info = self.catalog.add(notebook, &table, version)?;
        self.forget_cached(notebook, &table);
        self.tally().count();
        self.events.emit(EngineEvent::TableAdded {
            notebook,
            table: info.clone(),
        });
        Ok(info)
    }

    /// Deletes a table: it leaves SQL and the table list at once, its pending snapshot is
    /// cancelled, its saved copies and journal entries are removed. If its saved copies cannot
    /// be removed the table stays, unchanged, and the error says why.
    pub fn delete(&self, notebook: NotebookId, table: &str) -> Result<(), Error> {
        let version = {
            let _commit = self.lock_commit();
            let version = self.catalog.version(notebook, table)?;
            // Out of the catalog first, so no edit can start on it while its files go.
            self.catalog.remove(notebook, table)?;
            version
        };
        // Without the lock: this may wait out a snapshot being written.
        if let Err(e) = self.snapshots.delete_table(notebook, table) {
            let _commit = self.lock_commit();
            let _ = self
                .catalog
                .add(notebook, table, TableVersion::clone(&version));
            return Err(e.into());
        }
        let _commit = self.lock_commit();
        self.histories.forget_table(notebook, table);
        self.forget_cached(notebook, table);
        self.tally().count();
        if let Err(e) = self.journal.journal_drop(notebook, table) {
            // The manifest no longer names the table, so nothing replays these entries unless
            // a new table takes the name, and `add` drops them again first.
            log::warn!("journal entries of deleted table {table} stay: {e}");
        }
        self.events.emit(EngineEvent::TableRemoved {
            notebook,
            table: table.to_string(),
        });
        Ok(())
    }

    /// Drops cached diffs and transform previews of a table name: a new table under the name
    /// starts again at version 1, and must never be served the old one's.
    fn forget_cached(&self, notebook: NotebookId, table: &str) {
        self.forget_diffs(notebook, table);
        self.forget_preview(notebook, table);
        self.views.forget(&notebook.to_string(), Some(table));
    }

    /// Forgets every table of a deleted notebook.
    pub fn forget(&self, notebook: NotebookId) {
        let _commit = self.lock_commit();
        self.snapshots.forget(notebook);
        self.histories.forget(notebook);
        self.catalog.forget(notebook);
        self.views.forget(&notebook.to_string(), None);
        self.tally().count();
    }

    /// Sets cells of a table: every value is checked against its column first, and the edit
    /// becomes a new version (sharing untouched batches) whose snapshot is debounced.
    pub fn edit_cells(
        &self,
        notebook: NotebookId,
        table: &str,
        edits: &[CellEdit],
    ) -> Result<Arc<TableVersion>, Error> {
        let current = self.catalog.version(notebook, table)?;
        if edits.is_empty() {
            return Ok(current);
        }
        let next = edit::apply(&current, edits)?;
        self.apply(
            notebook,
            table,
            &current,
            Change::Op {
                op: TableOp::Edit {
                    edits: edits.to_vec(),
                },
                next,
            },
        )
    }

    /// Removes rows of a table by their ids, as a new version (sharing the batches that lose
    /// none) whose snapshot is debounced.
    pub fn delete_rows(
        &self,
        notebook: NotebookId,
        table: &str,
        row_ids: &[u64],
    ) -> Result<Arc<TableVersion>, Error> {
        let current = self.catalog.version(notebook, table)?;
        if row_ids.is_empty() {
            return Ok(current);
        }
        let next = edit::delete_rows(&current, row_ids)?;
        self.apply(
            notebook,
            table,
            &current,
            Change::Op {
                op: TableOp::DeleteRows {
                    row_ids: row_ids.to_vec(),
                },
                next,
            },
        )
    }

    /// Appends `rows` empty rows to a table as a new version (sharing every batch it had), with
    /// the next ids the table hands out.
    pub fn add_rows(
        &self,
        notebook: NotebookId,
        table: &str,
        rows: u64,
    ) -> Result<Arc<TableVersion>, Error> {
        let current = self.catalog.version(notebook, table)?;
        let first_row_id = current.next_row_id;
        let next = edit::add_rows(&current, first_row_id, rows)?;
        self.apply(
            notebook,
            table,
            &current,
            Change::Op {
                op: TableOp::AddRows { first_row_id, rows },
                next,
            },
        )
    }

    /// A table's saved generations, newest first (time, rows, size), for the history list.
    pub fn generations(&self, notebook: NotebookId, table: &str) -> Result<Vec<Generation>, Error> {
        if self.catalog.linked(notebook, table).is_some() {
            return Ok(Vec::new()); // nothing of it is saved by Quire
        }
        self.catalog.version(notebook, table)?;
        Ok(self.snapshots.history(notebook, table))
    }

    /// Makes a saved generation the table's current content again, as a new version (so the
    /// restore is itself saved, and can be undone by restoring again). The generation is
    /// leased while it is read, so garbage collection cannot delete it under the reader.
    pub fn restore_generation(
        &self,
        notebook: NotebookId,
        table: &str,
        generation: u64,
    ) -> Result<Arc<TableVersion>, Error> {
        let current = self.catalog.version(notebook, table)?;
        let next = self.read_generation(notebook, table, &current, generation, "restore")?;
        self.apply(
            notebook,
            table,
            &current,
            Change::Op {
                op: TableOp::Restore { generation },
                next,
            },
        )
    }

    /// A saved generation as the version after `current`.
    fn read_generation(
        &self,
        notebook: NotebookId,
        table: &str,
        current: &TableVersion,
        generation: u64,
        reader: &str,
    ) -> Result<TableVersion, Error> {
        let (mut restored, _lease) = self
            .snapshots
            .read_generation(notebook, table, generation, reader)?;
        restored.version = current.version + 1;
        restored.next_row_id = restored.next_row_id.max(current.next_row_id);
        Ok(restored)
    }

    /// Undo (`back`) or redo one step of a table's history: the earlier content, with the
    /// very same batches, becomes the current version under a new number.
    pub fn undo_redo(
        &self,
        notebook: NotebookId,
        table: &str,
        back: bool,
    ) -> Result<Arc<TableVersion>, Error> {
        let current = self.catalog.version(notebook, table)?;
        let target = self.histories.peek(notebook, table, back);
        let shown = self.apply(
            notebook,
            table,
            &current,
            if back { Change::Undo } else { Change::Redo },
        )?;
        // Replay after a crash redoes undo / redo among the versions after the newest saved
        // generation; a step to a version older than that could not be replayed (the model
        // test found it), so what is shown now is saved before the step is acknowledged.
        let saved = self
            .snapshots
            .history(notebook, table)
            .first()
            .map(|g| g.version);
        if let (Some(saved), Some(target)) = (saved, target) {
            if target.version < saved {
                let flushed = self.snapshots.flush(None);
                if !flushed.failed.is_empty() {
                    log::error!(
                        "{} on table {table}: the version shown could not be saved at once: {:?}",
                        if back { "undo" } else { "redo" },
                        flushed.failed
                    );
                }
            }
        }
        Ok(shown)
    }

    /// The table's history list, newest last, and whether undo / redo can move.
    pub fn versions(&self, notebook: NotebookId, table: &str) -> Result<TableVersions, Error> {
        if let Some(linked) = self.catalog.linked(notebook, table) {
            // A linked table's edits undo and redo; their list is not kept (no diffs of them).
            return Ok(TableVersions {
                items: vec![HistoryItem {
                    version: linked.edits.current().version,
                    label: TableOp::Opened.label(),
                    op: TableOp::Opened,
                    at_ms: 0,
                    current: true,
                    rows: linked.visible_rows(),
                }],
                can_undo: linked.edits.can_move(true),
                can_redo: linked.edits.can_move(false),
            });
        }
        let current = self.catalog.version(notebook, table)?;
        let mut items = self.histories.list(notebook, table);
        if items.is_empty() {
            items.push(HistoryItem {
                version: current.version,
                label: TableOp::Opened.label(),
                op: TableOp::Opened,
                at_ms: 0,
                current: true,
                rows: current.rows as u64,
            });
        }
        let (can_undo, can_redo) = self.histories.can_move(notebook, table);
        Ok(TableVersions {
            items,
            can_undo,
            can_redo,
        })
    }
}

/// Counts what the ledger holds (every table's current version, the undo steps beyond it, the
/// cached views) into the one memory budget. Weak, so a shedder installed in the budget does
/// not keep the ledger's parts alive.
pub(crate) struct MemoryTally {
    catalog: std::sync::Weak<Catalog>,
    histories: std::sync::Weak<Histories>,
    views: std::sync::Weak<ViewCache>,
}

impl MemoryTally {
    pub(crate) fn count(&self) {
        let (Some(catalog), Some(histories), Some(views)) = (
            self.catalog.upgrade(),
            self.histories.upgrade(),
            self.views.upgrade(),
        ) else {
            return;
        };
        catalog.limits().account().recount(|| {
            catalog.held_bytes() + histories.held_beyond_current_all() + views.held_bytes()
        });
    }
}

//! Compaction: a linked table's edits folded into a new copy of its rows.
//!
//! Edits are merged on every read and saved whole at every save, so past a threshold
//! (`snapshots.compact_edits_cells`) they are folded, at idle priority, into a copy of the
//! table as edited, written into the notebook folder (`converted/compact-<id>/`, a part per
//! linked file, each synced before its rename, the folder synced after). The table is then
//! linked to the copy: the edits made while it was written are saved against it as a new edits
//! file (carrying the version), and one `links.json` write switches the link to the copy and
//! that file: the commit point. The journal entries the copy covers are trimmed, and what it
//! replaced removed: the old edits file at once, a previous copy of Quire's once no query or
//! page reads it any more. The user's files are
//! never written; a crash before the switch leaves a copy nobody names (removed at the next
//! open), after it the old copy (removed likewise).

use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::linked_edits::{remove_edits_file, write_edits_file};
use super::{links, Ledger};
use crate::durable;
use crate::error::Error;
use crate::events::EngineEvent;
use crate::ids::NotebookId;
use crate::metrics::Metrics;
use crate::tables::import::sink::Parts;
use crate::tables::linked::{EditLog, Edits};
use crate::tables::transform::{Reshape, Transform};
use crate::tables::{LinkedTable, TableError, TableInfo};

/// The prefix of a compacted copy's folder in `converted/`.
pub const COMPACTED_PREFIX: &str = "compact-";

impl Ledger {
    /// Folds the edits of link `table` (notebook folder `dir`) into a new copy of its rows and
    /// links it there; None when there is nothing to fold or the link changed meanwhile (a
    /// delete, a rename, an undo of a folded edit: the next compaction tries again).
    /// Blocking, for a background job.
    pub fn compact_linked(
        &self,
        notebook: NotebookId,
        dir: &Path,
        table: &str,
        metrics: &Arc<Metrics>,
        cancel: &CancellationToken,
    ) -> Result<Option<TableInfo>, Error> {
        let Some(linked) = self.catalog.linked(notebook, table) else {
            return Ok(None);
        };
        self.copied(
            notebook,
            dir,
            table,
            &linked,
            None,
            &|_| {},
            metrics,
            cancel,
        )
    }

    /// Writes link `table` as edited, transformed by `transform` (one that changes columns or
    /// more values than edits hold, see `linked_transforms`), into a copy in the notebook and
    /// links the table there, as a compaction does: the user's files are never written, and
    /// the undo steps end there. Refused if the table changed while the copy was written.
    /// None when `table` is not a link. Blocking, for a background job; `progress` hears the
    /// rows written.
    #[allow(clippy::too_many_arguments)]
    pub fn copy_linked(
        &self,
        notebook: NotebookId,
        dir: &Path,
        table: &str,
        transform: &Transform,
        progress: &(dyn Fn(u64) + Sync),
        metrics: &Arc<Metrics>,
        cancel: &CancellationToken,
    ) -> Result<Option<TableInfo>, Error> {
        let Some(linked) = self.catalog.linked(notebook, table) else {
            return Ok(None);
        };
        let reshape = Reshape::for_link(&linked.schema, transform)?.ok_or_else(|| {
            TableError::Persist("internal: a transform that removes rows was sent to a copy".into())
        })?;
        let copied = self.copied(
            notebook,
            dir,
            table,
            &linked,
            Some((transform, &reshape)),
            progress,
            metrics,
            cancel,
        )?;
        match copied {
            Some(info) => Ok(Some(info)),
            None => Err(super::linked_transforms::changed_meanwhile(table).into()),
        }
    }

    /// A copy of `linked`, link `table`, as edited (reshaped by `transform`, if given) linked in
    /// its place; None when there is nothing to fold (a compaction) or the link changed
    /// meanwhile.
    #[allow(clippy::too_many_arguments)]
    fn copied(
        &self,
        notebook: NotebookId,
        dir: &Path,
        table: &str,
        linked: &Arc<LinkedTable>,
        transform: Option<(&Transform, &Reshape)>,
        progress: &(dyn Fn(u64) + Sync),
        metrics: &Arc<Metrics>,
        cancel: &CancellationToken,
    ) -> Result<Option<TableInfo>, Error> {
        let folded = linked.edits.current();
        if folded.is_empty() && transform.is_none() {
            return Ok(None);
        }
        let id = format!("{COMPACTED_PREFIX}{}", uuid::Uuid::now_v7().simple());
        let folder = links::converted_folder(dir, &id)?;
        let written = (|| -> Result<u64, Error> {
            let converted = folder.parent().expect("converted/<id>");
            let made = |path: &Path| match durable::trace::create_dir(path) {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
                other => other,
            };
            made(converted)
                .and_then(|()| durable::trace::create_dir(&folder))
                .and_then(|()| durable::sync_dir(converted))
                .and_then(|()| durable::sync_dir(dir))
                .map_err(|e| TableError::file(&folder, e))?;
            let parts = Parts::new(&folder, u64::MAX, metrics.clone());
            let reshape = transform.map(|(_, reshape)| reshape);
            let rows = linked.write_reshaped(&folded, reshape, &parts, progress, cancel)?;
            durable::sync_dir(&folder).map_err(|e| TableError::file(&folder, e))?;
            Ok(rows)
        })();
        let drop_copy = || {
            if let Err(e) = std::fs::remove_dir_all(&folder) {
                log::warn!("the unfinished copy {} stays: {e}", folder.display());
            }
        };
        // A failure (a full disk, say) removes the copy and holds off the next try a while.
        let failed = |e: Error| {
            drop_copy();
            // A transform's failure (a value its expression cannot give) says nothing of
            // whether the next compaction can be written.
            if transform.is_none() && !matches!(e, Error::Table(TableError::Cancelled)) {
                *linked
                    .compaction_failed
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(std::time::Instant::now());
            }
            e
        };
        if let Err(e) = written {
            return Err(failed(e));
        }

        let _commit = self.lock_commit();
        let now = self.catalog.linked(notebook, table);
        let remaining = now
            .as_ref()
            .filter(|now| now.id == linked.id)
            .and_then(|now| now.edits.current().since(&folded))
            // The copy holds no deleted row: what remains moves to the copy's positions.
            .map(|remaining| remaining.renumbered(&folded))
            // A transform's copy has other columns: it stands only over the edits it read,
            // as a new version with nothing to undo.
            .and_then(|remaining| match transform {
                None => Some(remaining),
                Some(_) if remaining.version == folded.version => {
                    Some(Edits::linked().at_version(folded.version + 1))
                }
                Some(_) => None,
            });
        let Some(remaining) = remaining else {
            drop_copy();
            return Ok(None);
        };
        let version = remaining.version;
        let switched = (|| -> Result<_, Error> {
            let mut fresh = LinkedTable::open(&folder)?;
            fresh.converted = true;
            fresh.origin = linked.origin_of_copy();
            let file = write_edits_file(dir, table, &remaining, &fresh, metrics)?;
            match links::name_compacted(dir, table, &fresh, &file, &remaining, metrics) {
                Ok(replaced) => Ok((fresh, replaced)),
                Err(e) => {
                    remove_edits_file(dir, &file);
                    Err(e.into())
                }
            }
        })();
        let (mut fresh, replaced) = switched.map_err(failed)?;
        fresh.edits = EditLog::starting_at(remaining);
        fresh.saved_edits = AtomicU64::new(version);
        self.catalog.unlink(notebook, table)?;
        let info = self.catalog.link(notebook, table, fresh)?;
        if let Err(e) = self.journal.journal_cover(notebook, table, version) {
            log::warn!("journal entries of {table} that its compacted copy covers stay: {e}");
        }
        if let Some(old) = replaced {
            remove_edits_file(dir, &old);
        }
        if linked.converted && links::is_converted_folder(dir, &linked.source) {
            linked
                .discard_when_unused
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        self.tally().count();
        match transform {
            None => log::info!(
                "compacted {} edited cells and {} deleted rows of the linked table {table} of notebook {notebook} into {} (version {version})",
                folded.len(),
                folded.deleted_count(),
                folder.display()
            ),
            Some((transform, _)) => log::info!(
                "{} on the linked table {table} of notebook {notebook}: written into the copy {} with its {} edited cells and {} deleted rows (version {version})",
                transform.label(),
                folder.display(),
                folded.len(),
                folded.deleted_count(),
            ),
        }
        self.events.emit(EngineEvent::TableChanged {
            notebook,
            table: info.clone(),
        });
        Ok(Some(info))
    }
}

/// Removes the compacted copies in the notebook folder `dir` that `links.json` does not name
/// (left by a compaction a crash cut short, or replaced by a newer one).
pub fn sweep_unnamed_copies(dir: &Path) -> Result<usize, TableError> {
    let converted = dir.join(links::CONVERTED_DIR);
    if !converted.is_dir() {
        return Ok(0);
    }
    let named: Vec<std::path::PathBuf> = links::read(dir)?
        .into_iter()
        .filter(|l| l.remote.is_none())
        .map(|l| dir.join(l.path))
        .collect();
    let mut removed = 0;
    for entry in std::fs::read_dir(&converted).map_err(|e| TableError::file(&converted, e))? {
        let entry = entry.map_err(|e| TableError::file(&converted, e))?;
        let path = entry.path();
        let ours = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(COMPACTED_PREFIX));
        if ours && !named.contains(&path) && links::is_converted_folder(dir, &path) {
            std::fs::remove_dir_all(&path).map_err(|e| TableError::file(&path, e))?;
            removed += 1;
        }
    }
    Ok(removed)
}

//! Table commands: each loads the notebook's tables if needed, then asks the [`Ledger`].
//!
//! [`Ledger`]: crate::ledger::Ledger

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::Engine;
use crate::error::Error;
use crate::ledger::{DiffPage, TableVersions, TransformPreview};
use crate::notebooks::NotebookId;
use crate::queue::{JobKind, Priority};
use crate::snapshots::{Generation, TableSaveStatus};
use crate::tables::diff::DiffSummary;
use crate::tables::edit::CellEdit;
use crate::tables::transform::Transform;
use crate::tables::view::ViewSpec;
use crate::tables::view_cache::ViewProgress;
use crate::tables::{name, LinkedTable, TableError, TableInfo, TableVersion};
use crate::tasks::TaskPayload;

impl Engine {
    /// The notebook's tables.
    pub fn tables(&self, notebook: NotebookId) -> Result<Vec<TableInfo>, Error> {
        self.ensure_tables(notebook)?;
        Ok(self.ledger.list(notebook))
    }

    /// Rows `[offset, offset + limit)` of a table, as Arrow IPC stream bytes: in table order, or
    /// in the order and with the filters of `view`.
    pub async fn page(
        &self,
        notebook: NotebookId,
        table: &str,
        view: Option<&ViewSpec>,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<u8>, Error> {
        self.ensure_tables(notebook)?;
        self.ledger.page(notebook, table, view, offset, limit).await
    }

    /// How many rows a view of a table has.
    pub async fn view_rows(
        &self,
        notebook: NotebookId,
        table: &str,
        view: Option<&ViewSpec>,
    ) -> Result<u64, Error> {
        self.ensure_tables(notebook)?;
        self.ledger.view_rows(notebook, table, view).await
    }

    /// How far the sorted or filtered view of a table being made has come (`None`: none is).
    pub fn view_progress(&self, notebook: NotebookId, table: &str) -> Option<ViewProgress> {
        self.ledger.view_progress(notebook, table)
    }

    /// Stops making the sorted or filtered view of a table (its page requests end with
    /// `cancelled`); whether one was being made.
    pub fn cancel_view(&self, notebook: NotebookId, table: &str) -> bool {
        self.ledger.cancel_view(notebook, table)
    }

    /// Keeps a query's result as a new table of the notebook.
    pub async fn save_query_as_table(
        &self,
        notebook: NotebookId,
        sql: &str,
        table: &str,
    ) -> Result<TableInfo, Error> {
        self.keep_result(notebook, sql, table, None).await
    }

    /// [`Engine::save_query_as_table`], the query run where a cell runs it: on the cluster
    /// connection `runs_on`, or here (none).
    pub async fn keep_result(
        &self,
        notebook: NotebookId,
        sql: &str,
        table: &str,
        runs_on: Option<&str>,
    ) -> Result<TableInfo, Error> {
        let table = self.new_table_name(notebook, table)?;
        let (schema, batches) = match runs_on {
            None => self.ledger.catalog().result(notebook, sql).await?,
            Some(name) => {
                self.ensure_tables(notebook)?;
                let cluster = self.cluster_of(notebook, name)?;
                super::cluster::on_cluster(
                    self.ledger.catalog().clone(),
                    notebook,
                    name.to_string(),
                    cluster,
                    sql.to_string(),
                    Arc::new(|_| {}),
                    CancellationToken::new(),
                )
                .await?
            }
        };
        self.keep_table(notebook, &table, TableVersion::first(schema, batches))
    }

    /// Saves a new table beside its notebook (hydrating it), then adds it.
    pub(super) fn keep_table(
        &self,
        notebook: NotebookId,
        table: &str,
        version: TableVersion,
    ) -> Result<TableInfo, Error> {
        crate::tables::cell_text::check_storable(&version.schema, "a table")?;
        self.notebooks.flush(notebook)?;
        let dir = self
            .notebooks
            .folder_path(notebook)?
            .ok_or_else(|| TableError::Persist("the notebook has no folder".into()))?;
        self.ledger.add(notebook, &dir, table, version)
    }

    /// `table` as the name of a table about to be made: valid, and not taken in the notebook
    /// (its tables loaded first).
    pub(super) fn new_table_name(
        &self,
        notebook: NotebookId,
        table: &str,
    ) -> Result<String, Error> {
        let table = name::validate(table)?;
        self.ensure_tables(notebook)?;
        if self.ledger.exists(notebook, &table) {
            return Err(TableError::Exists(table).into());
        }
        Ok(table)
    }

    /// The notebook's folder, written first if the notebook is new (tables and links live
    /// in it).
    fn table_folder(&self, notebook: NotebookId) -> Result<std::path::PathBuf, Error> {
        self.notebooks.flush(notebook)?;
        Ok(self
            .notebooks
            .folder_path(notebook)?
            .ok_or_else(|| TableError::Persist("the notebook has no folder".into()))?)
    }

    /// Renames a notebook (its folder follows the title); its conversions, named relative to the
    /// folder, are reopened at the new place.
    pub fn rename_notebook(
        &self,
        notebook: NotebookId,
        title: &str,
    ) -> Result<crate::notebooks::NotebookSummary, Error> {
        let summary = self.notebooks.rename(notebook, title)?;
        if let Some(dir) = self.notebooks.folder_path(notebook)? {
            self.ledger.follow_folder(notebook, &dir)?;
        }
        Ok(summary)
    }

    /// Links a Parquet file, or a folder of Parquet files with the same columns, as a table
    /// read where it lies: only the footers are read now, queries and pages read the files.
    /// The name defaults to the file's (or folder's).
    pub fn link_table(
        &self,
        notebook: NotebookId,
        path: &std::path::Path,
        table: Option<&str>,
    ) -> Result<TableInfo, Error> {
        self.link_matching(notebook, path, None, table)
    }

    /// [`Engine::link_table`] of the files below the folder `path` whose path below it matches
    /// `pattern` (a glob: `*.parquet`, `2024-*/**/*.parquet`), when one is given.
    pub fn link_matching(
        &self,
        notebook: NotebookId,
        path: &std::path::Path,
        pattern: Option<&str>,
        table: Option<&str>,
    ) -> Result<TableInfo, Error> {
        self.notebooks.summary(notebook)?;
        let pattern = pattern
            .map(crate::tables::linked::FilePattern::parse)
            .transpose()?;
        let stem = name::from_file_stem(&crate::tables::import::file_stem(path));
        let table = self.new_table_name(notebook, table.unwrap_or(&stem))?;
        let started = std::time::Instant::now();
        let linked = LinkedTable::open_matching(path, pattern.as_ref())?;
        let (files, bytes) = (linked.file_count(), linked.bytes);
        let dir = self.table_folder(notebook)?;
        let info = self
            .ledger
            .link(notebook, &dir, &table, linked, &self.metrics)?;
        log::info!(
            "linked {} ({files} files, {bytes} bytes, {} rows) as {table} in notebook {notebook} in {:.1} ms",
            info.linked.as_deref().unwrap_or_default(),
            info.rows,
            started.elapsed().as_secs_f64() * 1000.0
        );
        Ok(info)
    }

    /// Links a Parquet object, or every Parquet object under a prefix, in object storage
    /// (`s3://bucket/key`) through the connection `connection` with `settings`: the keys are
    /// listed and the footers read now; queries fetch only the byte ranges they need. The name
    /// defaults to the object's (or the prefix's last part).
    pub fn link_remote_table(
        &self,
        notebook: NotebookId,
        connection: &str,
        settings: &crate::remote::StoreSettings,
        url: &str,
        table: Option<&str>,
    ) -> Result<TableInfo, Error> {
        self.notebooks.summary(notebook)?;
        self.ensure_tables(notebook)?;
        let table = self.new_table_name(notebook, table.unwrap_or(&name_of_address(url)))?;
        let started = std::time::Instant::now();
        let linked = LinkedTable::open_remote(connection, settings, url)?;
        let (files, bytes) = (linked.file_count(), linked.bytes);
        let dir = self.table_folder(notebook)?;
        let info = self
            .ledger
            .link(notebook, &dir, &table, linked, &self.metrics)?;
        log::info!(
            "linked {url} through {connection} ({files} objects, {bytes} bytes, {} rows) as {table} in notebook {notebook} in {:.1} ms",
            info.rows,
            started.elapsed().as_secs_f64() * 1000.0
        );
        Ok(info)
    }

    /// Links `url` through the notebook's connection `connection` (see `link_remote_table`).
    pub fn link_through(
        &self,
        notebook: NotebookId,
        connection: &str,
        url: &str,
        table: Option<&str>,
    ) -> Result<TableInfo, Error> {
        let found = self.notebooks.connection(notebook, connection)?;
        let settings = found
            .store_settings()
            .map_err(crate::notebooks::NotebookError::from)?;
        self.link_remote_table(notebook, connection, &settings, url, table)
    }

    /// Tests the notebook's connection `connection`: for a bucket, one listing request at `url`;
    /// for a database, a login and a listing of what it may read.
    pub fn check_connection(
        &self,
        notebook: NotebookId,
        connection: &crate::remote::Connection,
        url: &str,
    ) -> Result<crate::remote::ConnectionCheck, Error> {
        self.notebooks.summary(notebook)?;
        connection
            .validate()
            .map_err(|e| Error::from(crate::notebooks::NotebookError::from(e)))?;
        match connection.kind {
            crate::remote::ConnectionKind::Postgres => self.check_database(connection),
            crate::remote::ConnectionKind::Ballista => self.check_cluster(connection),
            crate::remote::ConnectionKind::S3 | crate::remote::ConnectionKind::Azure => connection
                .store_settings()
                .and_then(|store| store.check(url))
                .map_err(|e| Error::from(crate::notebooks::NotebookError::from(e))),
        }
    }

    /// What a link to object storage has fetched since it was made (bytes, requests); None
    /// for a table that is not one.
    pub fn remote_traffic(
        &self,
        notebook: NotebookId,
        table: &str,
    ) -> Option<std::sync::Arc<crate::remote::Traffic>> {
        let linked = self.ledger.catalog().linked(notebook, table)?;
        Some(linked.remote.as_ref()?.store.traffic.clone())
    }

    /// Copies a linked table's rows, in file order, into the notebook as a new table `to`
    /// (editable, saved with the notebook), within the table budget.
    pub fn copy_linked_table(
        &self,
        notebook: NotebookId,
        table: &str,
        to: &str,
    ) -> Result<TableInfo, Error> {
        let to = self.new_table_name(notebook, to)?;
        let linked = self
            .ledger
            .catalog()
            .linked(notebook, table)
            .ok_or_else(|| TableError::NotFound(table.to_string()))?;
        let budget = self
            .ledger
            .catalog()
            .limits()
            .budget(format!("a copy of the linked table {table}"));
        let batches = linked.read_all(&budget)?;
        budget.handed_over();
        let info = self.keep_table(
            notebook,
            &to,
            TableVersion::first(linked.schema.clone(), batches),
        )?;
        log::info!(
            "copied the linked table {table} of notebook {notebook} into {to}: {} rows",
            info.rows
        );
        Ok(info)
    }

    /// Deletes a table with its saved copies and journal entries; for a linked table, only
    /// the link goes (its files stay as they are), unless the files are a conversion Quire
    /// made inside the notebook's folder: those go with it.
    pub fn delete_table(&self, notebook: NotebookId, table: &str) -> Result<(), Error> {
        self.ensure_tables(notebook)?;
        if self.ledger.catalog().missing(notebook, table).is_some() {
            let dir = self.table_folder(notebook)?;
            self.ledger.unlink(notebook, &dir, table, &self.metrics)?;
            log::info!("removed the missing link {table} of notebook {notebook}");
            return Ok(());
        }
        if let Some(linked) = self.ledger.catalog().linked(notebook, table) {
            let dir = self.table_folder(notebook)?;
            self.ledger.unlink(notebook, &dir, table, &self.metrics)?;
            self.profiles.forget(notebook, table);
            if linked.converted && super::convert::is_converted(&dir, &linked.source) {
                // Unlisted first: a crash between the two leaves a folder no table names.
                if let Err(e) = std::fs::remove_dir_all(&linked.source) {
                    log::warn!(
                        "could not remove the converted files {}: {e}",
                        linked.source.display()
                    );
                }
                log::info!("deleted the converted table {table} of notebook {notebook}");
            } else {
                log::info!("removed the link {table} of notebook {notebook}");
            }
            return Ok(());
        }
        self.ledger.delete(notebook, table)?;
        // A table made later under this name starts at version 1 again.
        self.profiles.forget(notebook, table);
        log::info!("deleted table {table} of notebook {notebook}");
        Ok(())
    }

    /// Renames a table: saved under the new name (its newest version, unsaved changes
    /// included), then deleted under the old one. Its undo history starts anew.
    pub fn rename_table(
        &self,
        notebook: NotebookId,
        table: &str,
        to: &str,
    ) -> Result<TableInfo, Error> {
        let to = name::validate(to)?;
        self.ensure_tables(notebook)?;
        if let Some(missing) = self.ledger.catalog().missing(notebook, table) {
            return Err(missing.error(table).into());
        }
        if let Some(linked) = self.ledger.catalog().linked(notebook, table) {
            if to == table {
                return Ok(linked.info(table));
            }
            let dir = self.table_folder(notebook)?;
            let info = self
                .ledger
                .rename_link(notebook, &dir, table, &to, &self.metrics)?;
            self.profiles.forget(notebook, table);
            self.profiles.forget(notebook, &to);
            return Ok(info);
        }
        let version = self.ledger.version(notebook, table)?;
        if to == table {
            return Ok(version.info(table));
        }
        if self.ledger.exists(notebook, &to) {
            return Err(TableError::Exists(to).into());
        }
        let info = self.keep_table(notebook, &to, TableVersion::clone(&version))?;
        self.ledger.delete(notebook, table)?;
        self.profiles.forget(notebook, table);
        self.profiles.forget(notebook, &to);
        log::info!("renamed table {table} of notebook {notebook} to {to}");
        Ok(info)
    }

    /// Sets cells of a table: every value is checked against its column first, and the edit
    /// becomes a new version (sharing untouched batches) whose snapshot is debounced.
    pub fn edit_cells(
        &self,
        notebook: NotebookId,
        table: &str,
        edits: &[CellEdit],
    ) -> Result<TableInfo, Error> {
        self.ensure_tables(notebook)?;
        if let Some(change) = self.ledger.edit_linked(notebook, table, edits)? {
            log::info!(
                "edited {} cells of the linked table {table} in notebook {notebook}: version {}",
                edits.len(),
                change.info.version
            );
            return self.after_linked_change(notebook, table, change);
        }
        let next = self.ledger.edit_cells(notebook, table, edits)?;
        log::info!(
            "edited {} cells of table {table} in notebook {notebook}: version {}",
            edits.len(),
            next.version
        );
        Ok(next.info(table))
    }

    /// Deletes rows of a table by their ids (a linked table's rows stay in its files, left
    /// out on every read); undone like an edit.
    pub fn delete_rows(
        &self,
        notebook: NotebookId,
        table: &str,
        row_ids: &[u64],
    ) -> Result<TableInfo, Error> {
        self.ensure_tables(notebook)?;
        if let Some(change) = self.ledger.delete_linked_rows(notebook, table, row_ids)? {
            log::info!(
                "deleted {} rows of the linked table {table} in notebook {notebook}: version {}",
                row_ids.len(),
                change.info.version
            );
            return self.after_linked_change(notebook, table, change);
        }
        let next = self.ledger.delete_rows(notebook, table, row_ids)?;
        log::info!(
            "deleted {} rows of table {table} in notebook {notebook}: version {}",
            row_ids.len(),
            next.version
        );
        Ok(next.info(table))
    }

    /// Appends `rows` empty rows to a table (undone like an edit); the grid then fills them in.
    pub fn add_rows(
        &self,
        notebook: NotebookId,
        table: &str,
        rows: u64,
    ) -> Result<super::AddedRows, Error> {
        self.ensure_tables(notebook)?;
        // A linked table keeps its added rows with its edits, past its files' rows.
        if let Some((change, first_row_id)) = self.ledger.add_linked_rows(notebook, table, rows)? {
            log::info!("added {rows} rows to the linked table {table} in notebook {notebook}");
            return Ok(super::AddedRows {
                table: self.after_linked_change(notebook, table, change)?,
                first_row_id,
            });
        }
        let next = self.ledger.add_rows(notebook, table, rows)?;
        log::info!(
            "added {rows} rows to table {table} in notebook {notebook}: version {}",
            next.version
        );
        Ok(super::AddedRows {
            table: next.info(table),
            first_row_id: next.next_row_id - rows,
        })
    }

    /// Saves a linked table's edits when the change asks for it (see `ledger::linked_edits`),
    /// and starts their compaction past the threshold.
    fn after_linked_change(
        &self,
        notebook: NotebookId,
        table: &str,
        change: crate::ledger::LinkedChange,
    ) -> Result<TableInfo, Error> {
        if change.save_now {
            // The change is journaled: a save that fails leaves it there, to be saved later,
            // and the change stands.
            let saved = self.table_folder(notebook).and_then(|dir| {
                self.ledger
                    .save_linked_edits(notebook, &dir, table, &self.metrics)
            });
            if let Err(e) = saved {
                log::warn!("the edits of the linked table {table} stay in the journal: {e}");
            }
        }
        let threshold = self.config.snapshots.compact_edits_cells;
        // After a failed compaction (a full disk), the next waits a while, not the next edit.
        let failed_lately = self
            .ledger
            .catalog()
            .linked(notebook, table)
            .and_then(|l| {
                *l.compaction_failed
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
            })
            .is_some_and(|at| at.elapsed() < std::time::Duration::from_secs(600));
        if threshold > 0 && change.cells >= threshold && !failed_lately {
            // Not awaited: the job runs at idle priority, and one per table waits at most.
            drop(self.compaction_job(notebook, table));
        }
        Ok(change.info)
    }

    /// Folds a linked table's edits into a copy of its rows in the notebook's folder (see
    /// `ledger::linked_compact`); None when there was nothing to fold.
    pub async fn compact_linked(
        &self,
        notebook: NotebookId,
        table: &str,
    ) -> Result<Option<TableInfo>, Error> {
        self.ensure_tables(notebook)?;
        self.compaction_job(notebook, table)?.result().await?
    }

    fn compaction_job(
        &self,
        notebook: NotebookId,
        table: &str,
    ) -> Result<crate::queue::Job<Result<Option<TableInfo>, Error>>, Error> {
        let dir = self.table_folder(notebook)?;
        let (ledger, metrics, table) =
            (self.ledger.clone(), self.metrics.clone(), table.to_string());
        Ok(self.scheduler.submit_blocking(
            Priority::Idle,
            JobKind::Other,
            Some(format!("compact:{notebook}/{table}")),
            move |token| Ok(ledger.compact_linked(notebook, &dir, &table, &metrics, token)),
        ))
    }

    /// Saves the edits of every linked table that has edits not saved yet; the failures.
    pub(crate) fn save_all_linked_edits(&self) -> Vec<(String, String)> {
        let mut failed = Vec::new();
        for (notebook, table) in self.ledger.links_with_unsaved_edits() {
            let saved = self
                .notebooks
                .folder_path(notebook)
                .map_err(Error::from)
                .and_then(|dir| match dir {
                    Some(dir) => {
                        self.ledger
                            .save_linked_edits(notebook, &dir, &table, &self.metrics)
                    }
                    None => Ok(false),
                });
            if let Err(e) = saved {
                log::warn!("the edits of the linked table {table} stay in the journal: {e}");
                failed.push((table, e.to_string()));
            }
        }
        failed
    }

    /// A table's saved generations, newest first (time, rows, size), for the history list.
    pub fn table_history(
        &self,
        notebook: NotebookId,
        table: &str,
    ) -> Result<Vec<Generation>, Error> {
        self.ensure_tables(notebook)?;
        self.ledger.generations(notebook, table)
    }

    /// Makes a saved generation the table's current content again, as a new version.
    pub fn restore_generation(
        &self,
        notebook: NotebookId,
        table: &str,
        generation: u64,
    ) -> Result<TableInfo, Error> {
        self.ensure_tables(notebook)?;
        let next = self
            .ledger
            .restore_generation(notebook, table, generation)?;
        log::info!(
            "restored table {table} of notebook {notebook} from generation {generation} as version {}",
            next.version
        );
        Ok(next.info(table))
    }

    /// What `transform` would change: the counts and the first affected rows. Runs in the
    /// background with progress (rows) and cancellation; the table does not change.
    pub async fn preview_transform(
        &self,
        notebook: NotebookId,
        table: &str,
        transform: &Transform,
        progress: Arc<dyn Fn(u64) + Send + Sync>,
        cancel: &CancellationToken,
    ) -> Result<TransformPreview, Error> {
        self.ensure_tables(notebook)?;
        if let Some(preview) = self
            .ledger
            .preview_linked_transform(notebook, table, transform, progress.clone(), cancel)
            .await?
        {
            return Ok(preview);
        }
        self.ledger
            .preview_transform(notebook, table, transform, progress, cancel)
            .await
    }

    /// Applies `transform` as a new version (reusing its preview when the table has not
    /// changed since), recorded as a task. A cancelled transform leaves the table as it was.
    pub async fn apply_transform(
        &self,
        notebook: NotebookId,
        table: &str,
        transform: &Transform,
        progress: Arc<dyn Fn(u64) + Send + Sync>,
        cancel: &CancellationToken,
    ) -> Result<TableInfo, Error> {
        self.ensure_tables(notebook)?;
        let task = self.tracker.record(
            Some(notebook),
            Some(table.to_string()),
            &TaskPayload::Transform {
                transform: transform.clone(),
            },
            Priority::UserVisible,
        );
        task.start();
        task.watch(cancel.clone());
        let applied = if self.ledger.catalog().linked(notebook, table).is_some() {
            self.apply_linked_transform(notebook, table, transform, progress, cancel)
                .await
        } else {
            self.ledger
                .apply_transform(notebook, table, transform, progress, cancel)
                .await
                .map(|next| {
                    log::info!(
                        "transformed table {table} of notebook {notebook}: {} (version {})",
                        transform.label(),
                        next.version
                    );
                    next.info(table)
                })
        };
        task.finish(&applied);
        applied
    }

    /// A transform of a linked table: the rows it removes kept as deleted rows, the values it
    /// changes as edited cells, beside its files (see `ledger::linked_transforms`).
    pub(super) async fn apply_linked_transform(
        &self,
        notebook: NotebookId,
        table: &str,
        transform: &Transform,
        progress: Arc<dyn Fn(u64) + Send + Sync>,
        cancel: &CancellationToken,
    ) -> Result<TableInfo, Error> {
        let dir = self.table_folder(notebook)?;
        // The rows the change was looked for in, then those of its copy: the bar never goes
        // back.
        let high = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let reached = high.clone();
        let progress: Arc<dyn Fn(u64) + Send + Sync> = Arc::new(move |rows| {
            if rows > high.fetch_max(rows, std::sync::atomic::Ordering::Relaxed) {
                progress(rows);
            }
        });
        let change = self
            .ledger
            .apply_linked_transform(
                notebook,
                &dir,
                table,
                transform,
                progress.clone(),
                cancel,
                &self.metrics,
            )
            .await?
            .ok_or_else(|| TableError::NotFound(table.to_string()))?;
        match change {
            crate::ledger::LinkedTransformed::Changed(change) => {
                self.after_linked_change(notebook, table, change)
            }
            crate::ledger::LinkedTransformed::NeedsCopy => {
                // The bar goes on from where the search for the change left it: the copy's
                // rows fill what is left of it.
                let total =
                    (self.ledger.catalog().linked(notebook, table)).map_or(0, |l| l.visible_rows());
                let searched = reached
                    .load(std::sync::atomic::Ordering::Relaxed)
                    .min(total);
                let progress: Arc<dyn Fn(u64) + Send + Sync> = Arc::new(move |rows: u64| {
                    let rest = (total - searched) as u128 * rows.min(total) as u128;
                    progress(searched + rest.checked_div(total as u128).unwrap_or(0) as u64);
                });
                let (ledger, metrics) = (self.ledger.clone(), self.metrics.clone());
                let (name, transform, cancel) =
                    (table.to_string(), transform.clone(), cancel.clone());
                let job = self.scheduler.submit_blocking(
                    Priority::UserVisible,
                    JobKind::Other,
                    None,
                    move |token| {
                        // The task's Cancel (the user's) or the queue's (Quire closing) stops it.
                        let stop = cancel.child_token();
                        let watch = {
                            let (token, stop) = (token.clone(), stop.clone());
                            tokio::spawn(async move {
                                tokio::select! {
                                    _ = token.cancelled() => stop.cancel(),
                                    _ = stop.cancelled() => {}
                                }
                            })
                        };
                        let copied = ledger.copy_linked(
                            notebook, &dir, &name, &transform, &*progress, &metrics, &stop,
                        );
                        watch.abort();
                        Ok(copied)
                    },
                );
                job.result()
                    .await??
                    .ok_or_else(|| TableError::NotFound(table.to_string()).into())
            }
        }
    }

    /// Undo (`back`) or redo one step of a table's history.
    pub fn undo_redo(
        &self,
        notebook: NotebookId,
        table: &str,
        back: bool,
    ) -> Result<TableInfo, Error> {
        self.ensure_tables(notebook)?;
        if self.ledger.catalog().linked(notebook, table).is_some() {
            let dir = self.table_folder(notebook)?;
            if let Some(change) =
                self.ledger
                    .undo_redo_linked(notebook, table, back, &dir, &self.metrics)?
            {
                return self.after_linked_change(notebook, table, change);
            }
        }
        let shown = self.ledger.undo_redo(notebook, table, back)?;
        log::info!(
            "{} on table {table} of notebook {notebook}: version {} shown",
            if back { "undo" } else { "redo" },
            shown.version,
        );
        Ok(shown.info(table))
    }

    /// The table's history list, newest last, and whether undo / redo can move.
    pub fn table_versions(
        &self,
        notebook: NotebookId,
        table: &str,
    ) -> Result<TableVersions, Error> {
        self.ensure_tables(notebook)?;
        self.ledger.versions(notebook, table)
    }

    /// What changed between two versions of a table: counts per kind and per column.
    pub async fn diff_versions(
        &self,
        notebook: NotebookId,
        table: &str,
        from: u64,
        to: u64,
        cancel: &CancellationToken,
    ) -> Result<DiffSummary, Error> {
        self.ensure_tables(notebook)?;
        self.ledger
            .diff_versions(notebook, table, from, to, cancel)
            .await
    }

    /// Rows `[offset, offset + limit)` of a diff with their old and new values.
    pub async fn diff_page(
        &self,
        notebook: NotebookId,
        table: &str,
        from: u64,
        to: u64,
        offset: u64,
        limit: u64,
    ) -> Result<Arc<DiffPage>, Error> {
        self.ensure_tables(notebook)?;
        self.ledger
            .diff_page(notebook, table, from, to, offset, limit)
            .await
    }

    /// Save state of every table of a notebook.
    pub fn table_save_status(&self, notebook: NotebookId) -> Vec<TableSaveStatus> {
        self.ledger.snapshots().status(notebook)
    }

    /// Tables with changes not yet committed, in every notebook.
    pub fn pending_tables(&self) -> Vec<TableSaveStatus> {
        self.ledger.snapshots().pending()
    }

    /// Retries a failed snapshot now.
    pub fn retry_snapshot(&self, notebook: NotebookId, table: &str) {
        self.ledger.snapshots().retry(notebook, table);
    }

    /// The snapshots service (leases for long readers, the fault seam for tests).
    pub fn snapshots(&self) -> &crate::snapshots::Snapshots {
        self.ledger.snapshots()
    }
}

/// The table name an object storage address gives: its last part that is a name, not a glob
/// (`s3://b/sales/*.parquet`: sales), without its endings.
pub(super) fn name_of_address(url: &str) -> String {
    let last = url
        .trim_end_matches('/')
        .rsplit('/')
        .find(|part| !part.contains(['*', '?', '[']))
        .unwrap_or_default();
    name::from_file_stem(&crate::tables::import::file_stem(std::path::Path::new(
        last,
    )))
}

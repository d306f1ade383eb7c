//! [`Engine`]: the one object the shell, the CLI and the benches hold. It owns the areas and
//! delegates to them; each file of this folder is one side of it:
//! - `open`: wiring the areas together at startup;
//! - `tables`: table commands, through the [`Ledger`];
//! - `files`: imports and exports, recorded as tasks and run on the queue;
//! - `tasks`: the task list, retries and resuming work found after a crash;
//! - `lifecycle`: events, flushes, what is pending, shutdown;
//! - `types`: what callers get back.

mod cluster;
mod connections;
mod convert;
mod convert_many;
mod files;
mod folder_import;
mod lifecycle;
mod open;
mod remote_import;
mod remote_listing;
mod sample;
mod tables;
mod tasks;
mod types;

#[cfg(test)]
mod big_view_tests;
#[cfg(test)]
mod convert_tests;
#[cfg(test)]
mod draft_tests;
#[cfg(test)]
mod link_tests;
#[cfg(test)]
mod linked_edit_tests;
#[cfg(test)]
mod memory_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::record_batch::RecordBatch;
use tokio_util::sync::CancellationToken;

pub use remote_import::converts_when_linked;
pub use types::{
    AddedRows, CatchUp, CellOutput, EngineInfo, EnginePaths, FlushAllReport, ImportOutcome,
    ImportRequest, PendingWork, ShutdownReport,
};

use crate::config::Config;
use crate::error::Error;
use crate::events::EventBus;
use crate::ledger::Ledger;
use crate::metrics::Metrics;
use crate::notebooks::{CellId, CellKind, NotebookId, NotebookSummary, Notebooks};
use crate::queue::{JobKind, Priority, QueueStats, Scheduler};
use crate::tables::{datafusion_version, QueryPreview};
use crate::tasks::{Housekeeper, Recovery, TaskPayload, Tracker};
use crate::workspace::{Workspace, WorkspaceLock};

pub struct Engine {
    config: Config,
    paths: EnginePaths,
    workspace: Workspace,
    notebooks: Arc<Notebooks>,
    /// Every table's versions and the one way they change (owns the snapshots service).
    ledger: Arc<Ledger>,
    /// Recorded tasks: the SQLite task store behind handles with progress and outcome.
    tracker: Arc<Tracker>,
    /// What the last start found in the task store (shown once by the UI).
    recovery: Recovery,
    _housekeeper: Housekeeper,
    events: Arc<EventBus>,
    /// Every grid page, view and query runs here, by priority, off the command runtime.
    scheduler: Arc<Scheduler>,
    metrics: Arc<Metrics>,
    /// Column profiles per table version, and the one being computed per table.
    profiles: Arc<crate::profiles::ProfileCache>,
    /// Set by [`Engine::shutdown_without_waiting`].
    skip_snapshots: std::sync::atomic::AtomicBool,
    /// Set when the engine starts to shut down: a conversion stopped by it keeps its parts and
    /// its task, so the next start resumes it.
    closing: Arc<std::sync::atomic::AtomicBool>,
    // Last field: dropped after the notebooks' final flush, so no other process can get in first.
    _lock: WorkspaceLock,
}

impl Engine {
    pub fn info(&self) -> EngineInfo {
        let mut config = self.config.clone();
        config.notebooks = self.notebooks.config();
        EngineInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            datafusion_version: datafusion_version().to_string(),
            workspace: self.workspace.root().to_path_buf(),
            data_dir: self.paths.data_dir.clone(),
            config,
        }
    }

    pub fn workspace(&self) -> &Path {
        self.workspace.root()
    }

    pub fn notebooks(&self) -> &Notebooks {
        &self.notebooks
    }

    /// Every table's versions, for callers that page or diff directly (benches, tests).
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    pub fn create_notebook(&self, title: &str) -> Result<NotebookSummary, Error> {
        let notebook = self.notebooks.create(title)?;
        log::info!("created notebook {} ({:?})", notebook.id, notebook.title);
        Ok(notebook)
    }

    /// Moves a notebook (and the tables in its folder) to the trash and frees its tables.
    pub fn delete_notebook(&self, notebook: NotebookId) -> Result<(), Error> {
        self.notebooks.delete(notebook)?;
        self.ledger.forget(notebook);
        Ok(())
    }

    pub fn list_notebooks(&self) -> Vec<NotebookSummary> {
        self.notebooks.list()
    }

    /// Loads the notebook's tables from disk the first time they are needed.
    fn ensure_tables(&self, notebook: NotebookId) -> Result<(), Error> {
        let dir = self.notebooks.folder_path(notebook)?;
        self.ledger
            .ensure_loaded(notebook, dir.as_deref(), &self.metrics)?;
        self.attach_databases(notebook);
        Ok(())
    }

    /// Runs a cell: its notebook is written first (hydrating it), so what ran is on disk.
    pub async fn run_cell(&self, notebook: NotebookId, cell: CellId) -> Result<CellOutput, Error> {
        self.run_cell_with(notebook, cell, Arc::new(|_| {}), &CancellationToken::new())
            .await
    }

    /// [`Engine::run_cell`] with the rows produced so far reported and a way to stop it.
    pub async fn run_cell_with(
        &self,
        notebook: NotebookId,
        cell: CellId,
        on_rows: Arc<dyn Fn(u64) + Send + Sync>,
        cancel: &CancellationToken,
    ) -> Result<CellOutput, Error> {
        let cell = self.notebooks.cell(notebook, cell)?;
        self.notebooks.flush(notebook)?;
        match cell.kind {
            CellKind::Markdown => Ok(CellOutput::Markdown),
            CellKind::Chart => self.draw_chart(notebook, &cell, cancel).await,
            CellKind::Sql if cell.runs_on.is_some() => {
                let started = Instant::now();
                let name = cell.runs_on.clone().unwrap_or_default();
                let cluster = self.cluster_of(notebook, &name)?;
                let (catalog, sql) = (self.ledger.catalog().clone(), cell.source.clone());
                let (_, batches) = self
                    .cell_run(
                        notebook,
                        &cell,
                        cell.source.clone(),
                        cancel,
                        move |cancel| {
                            cluster::on_cluster(
                                catalog, notebook, name, cluster, sql, on_rows, cancel,
                            )
                        },
                    )
                    .await?;
                Ok(CellOutput::Table {
                    preview: QueryPreview::from_batches(&batches, started.elapsed()),
                })
            }
            CellKind::Sql => {
                let started = Instant::now();
                let (catalog, sql) = (self.ledger.catalog().clone(), cell.source.clone());
                let (batches, notes) = self
                    .cell_run(
                        notebook,
                        &cell,
                        cell.source.clone(),
                        cancel,
                        move |cancel| async move {
                            catalog
                                .query_noted(notebook, &sql, &*on_rows, &cancel)
                                .await
                                .map_err(Error::from)
                        },
                    )
                    .await?;
                let mut preview = QueryPreview::from_batches(&batches, started.elapsed());
                preview.notes = notes;
                Ok(CellOutput::Table { preview })
            }
        }
    }

    /// A chart cell's points, computed at the priority of a cell run and listed in the tasks as
    /// one (its query is the chart's SQL).
    async fn draw_chart(
        &self,
        notebook: NotebookId,
        cell: &crate::notebooks::Cell,
        cancel: &CancellationToken,
    ) -> Result<CellOutput, Error> {
        let sql = crate::charts::spec::ChartSpec::parse(&cell.source)
            .map(|s| s.sql)
            .unwrap_or_default();
        let (catalog, source) = (self.ledger.catalog().clone(), cell.source.clone());
        let chart = self
            .cell_run(notebook, cell, sql, cancel, move |cancel| async move {
                // The session is taken when the run starts, after the tables are registered.
                let session = catalog.session(notebook);
                crate::charts::draw(&session, &source, &cancel)
                    .await
                    .map_err(|e| match e {
                        crate::charts::ChartError::Table(t) => Error::from(t),
                        other => Error::from(other),
                    })
            })
            .await?;
        Ok(CellOutput::Chart { chart })
    }

    /// Runs `work` as a cell run: listed in the tasks under `sql`, at the priority of what the
    /// user waits for, cancelled with `cancel`, and ended with its outcome.
    async fn cell_run<T, Fut>(
        &self,
        notebook: NotebookId,
        cell: &crate::notebooks::Cell,
        sql: String,
        cancel: &CancellationToken,
        work: impl FnOnce(CancellationToken) -> Fut + Send + 'static,
    ) -> Result<T, Error>
    where
        T: Send + 'static,
        Fut: std::future::Future<Output = Result<T, Error>> + Send + 'static,
    {
        self.ensure_tables(notebook)?;
        let task = Arc::new(self.tracker.record(
            Some(notebook),
            Some(cell.id.to_string()),
            &TaskPayload::CellRun { sql },
            Priority::UserVisible,
        ));
        task.watch(cancel.clone());
        let (cancel, running) = (cancel.clone(), task.clone());
        let job = self.scheduler.submit(
            Priority::UserVisible,
            JobKind::Query,
            None,
            move |_| async move {
                running.start();
                Ok(work(cancel).await)
            },
        );
        let outcome = job.result().await.map_err(Error::from).and_then(|r| r);
        task.finish(&outcome);
        outcome
    }

    /// The column profile of a table's current version: from the cache, or computed at idle
    /// priority. A newer version asked for meanwhile cancels this one (`cancelled`).
    pub async fn profile_table(
        &self,
        notebook: NotebookId,
        table: &str,
        cancel: &CancellationToken,
    ) -> Result<crate::profiles::Profile, Error> {
        self.ensure_tables(notebook)?;
        if let Some(linked) = self.ledger.catalog().linked(notebook, table) {
            // Cached per link and edits version: an edit shows in the next profile.
            let key = (linked.id << 32) | (linked.edits.current().version & 0xffff_ffff);
            return self
                .profile_linked(notebook, table, (key, linked.visible_rows()), cancel)
                .await;
        }
        let version = self.ledger.version(notebook, table)?;
        let number = version.version;
        if let Some(done) = self.profiles.get(notebook, table, number) {
            return Ok((*done).clone());
        }
        let profiled = version.batches.clone();
        let stale = self.profiles.start(notebook, table, number);
        let (limits, token, asked) = (
            self.ledger.catalog().limits().clone(),
            stale.clone(),
            cancel.clone(),
        );
        let job =
            self.scheduler
                .submit(Priority::Idle, JobKind::Query, None, move |_| async move {
                    // Either the asker (the panel closed) or a newer version stops it.
                    let either = token.child_token();
                    let watch = {
                        let either = either.clone();
                        async move {
                            tokio::select! {
                                _ = asked.cancelled() => either.cancel(),
                                _ = token.cancelled() => either.cancel(),
                                _ = either.cancelled() => {}
                            }
                        }
                    };
                    let work = crate::profiles::profile_version(&limits, &version, &either);
                    let (result, _) = tokio::join!(
                        async {
                            let r = work.await;
                            either.cancel();
                            r
                        },
                        watch
                    );
                    Ok(result)
                });
        let result = job.result().await;
        self.profiles.finish(notebook, table, number);
        let profile = Arc::new(result??);
        // Kept only if the table is still the one profiled: deleted and made again meanwhile,
        // it starts at the same version number with other data.
        let current = self.ledger.version(notebook, table).ok();
        if current.is_some_and(|c| Arc::ptr_eq(&c.batches, &profiled)) {
            self.profiles.put(notebook, table, number, profile.clone());
        }
        Ok((*profile).clone())
    }

    /// The column profile of a linked table: DataFusion scans its files (nothing is held in
    /// memory but the figures), at idle priority, cached for as long as the link stands.
    async fn profile_linked(
        &self,
        notebook: NotebookId,
        table: &str,
        (link, rows): (u64, u64),
        cancel: &CancellationToken,
    ) -> Result<crate::profiles::Profile, Error> {
        if let Some(done) = self.profiles.get(notebook, table, link) {
            return Ok((*done).clone());
        }
        let (session, name, cancel) = (
            self.ledger.catalog().session(notebook),
            table.to_string(),
            cancel.clone(),
        );
        let job =
            self.scheduler
                .submit(Priority::Idle, JobKind::Query, None, move |_| async move {
                    Ok(crate::profiles::profile_table_in(&session, &name, rows, &cancel).await)
                });
        let profile = Arc::new(job.result().await??);
        self.profiles.put(notebook, table, link, profile.clone());
        Ok((*profile).clone())
    }

    /// The column profile of a query's result (a SQL cell's), at idle priority.
    pub async fn profile_query(
        &self,
        notebook: NotebookId,
        sql: &str,
        runs_on: Option<&str>,
        cancel: &CancellationToken,
    ) -> Result<crate::profiles::Profile, Error> {
        self.ensure_tables(notebook)?;
        if let Some(cluster) = runs_on {
            // The answer comes back from the cluster; its columns are profiled here.
            let (schema, batches) = self
                .result_on(notebook, sql, cluster, cancel.clone())
                .await?;
            let limits = self.ledger.catalog().limits().clone();
            let cancel = cancel.clone();
            let job =
                self.scheduler
                    .submit(Priority::Idle, JobKind::Query, None, move |_| async move {
                        Ok(
                            crate::profiles::profile_result(&limits, schema, batches, &cancel)
                                .await,
                        )
                    });
            return Ok(job.result().await??);
        }
        let (session, sql, cancel) = (
            self.ledger.catalog().session(notebook),
            sql.to_string(),
            cancel.clone(),
        );
        let job =
            self.scheduler
                .submit(Priority::Idle, JobKind::Query, None, move |_| async move {
                    Ok(crate::profiles::profile_query(&session, &sql, &cancel).await)
                });
        Ok(job.result().await??)
    }

    /// Runs SQL against the notebook's tables (loading them from disk on first use).
    pub async fn query(&self, notebook: NotebookId, sql: &str) -> Result<Vec<RecordBatch>, Error> {
        self.ensure_tables(notebook)?;
        let (catalog, sql) = (self.ledger.catalog().clone(), sql.to_string());
        let job = self.scheduler.submit(
            Priority::UserVisible,
            JobKind::Query,
            None,
            move |_| async move { Ok(catalog.query(notebook, &sql).await) },
        );
        Ok(job.result().await??)
    }

    /// The scheduler, for callers that queue their own work (benches, tests).
    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    /// The work queue's counters, for the metrics panel.
    pub fn queue_stats(&self) -> QueueStats {
        self.scheduler.stats()
    }
}

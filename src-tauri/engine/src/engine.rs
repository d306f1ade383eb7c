//! [`Engine`]: the one object the shell, the CLI and the benches hold.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use datafusion::arrow::record_batch::RecordBatch;
use tokio_util::sync::CancellationToken;

use serde::{Deserialize, Serialize};

use crate::config::{Config, NotebookConfig, NotebookMode};
use crate::error::Error;
use crate::events::{EventBus, EventSink};
use crate::metrics::{Metrics, MetricsReport, MetricsSnapshot};
use crate::notebooks::{CellId, CellKind, FlushReport, NotebookId, NotebookSummary, Notebooks};
use crate::queue::{JobKind, Priority, QueueStats, Scheduler, SchedulerLimits};
use crate::snapshots::{Generation, SnapshotFlush, Snapshots, TableSaveStatus};
use crate::tables::diff::{self, DiffKind, DiffSummary, TableDiff};
use crate::tables::edit::{self, CellEdit};
use crate::tables::history::{Histories, HistoryItem, TableOp};
use crate::tables::import::{self, CsvOptions, ImportFormat, ImportProgress, SkippedRow};
use crate::tables::transform::{self, Transform};
use crate::tables::view::{ViewCache, ViewSpec};
use crate::tables::{self, name, Catalog, QueryPreview, TableError, TableInfo, TableVersion};
use crate::tasks::{
    Housekeeper, NewTask, Recovery, Task, TaskKind, TaskStats, TaskStatus, TaskStore,
};
use crate::workspace::{Workspace, WorkspaceLock};
use crate::HasCode as _;

/// Where the engine keeps its files, decided by the caller (the shell uses the platform dirs).
#[derive(Debug, Clone)]
pub struct EnginePaths {
    /// The app's data dir: the task store and, by default, the workspace live here.
    pub data_dir: PathBuf,
    /// Where settings changed in the app are saved (`config.toml`); None keeps them in memory.
    pub config_dir: Option<PathBuf>,
}

impl EnginePaths {
    pub fn default_workspace(&self) -> PathBuf {
        self.data_dir.join("workspace")
    }
}

/// What the about box and the status bar show.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct EngineInfo {
    pub version: String,
    pub datafusion_version: String,
    pub workspace: PathBuf,
    pub data_dir: PathBuf,
    pub config: Config,
}

/// What shutdown did, for the log line and the exit path.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct ShutdownReport {
    pub notebooks: FlushReport,
    pub tables: SnapshotFlush,
}

/// Everything that is not on disk yet, for the prompt shown when a window closes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct PendingWork {
    /// Notebooks with edits not yet written (or a write that failed and is retried).
    pub notebooks: Vec<NotebookSummary>,
    /// Tables whose newest version is not in a committed snapshot yet.
    pub tables: Vec<TableSaveStatus>,
    /// Imports, exports and transforms waiting or running.
    pub tasks: Vec<Task>,
}

impl PendingWork {
    pub fn is_empty(&self) -> bool {
        self.notebooks.is_empty() && self.tables.is_empty() && self.tasks.is_empty()
    }
}

/// One step of a table's journal: an operation, or an undo / redo of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
enum JournalStep {
    Op { op: TableOp },
    Undo,
    Redo,
}

/// What a flush of everything did: notebook files and table snapshots.
pub type FlushAllReport = ShutdownReport;

/// What to import: the file, and optionally the table name (default: from the file name), the
/// format (default: from the extension) and how to read a CSV (default: detected).
#[derive(Debug, Clone, Copy)]
pub struct ImportRequest<'a> {
    pub path: &'a Path,
    pub table: Option<&'a str>,
    pub format: Option<ImportFormat>,
    pub csv: Option<&'a CsvOptions>,
}

impl<'a> ImportRequest<'a> {
    pub fn file(path: &'a Path) -> ImportRequest<'a> {
        ImportRequest {
            path,
            table: None,
            format: None,
            csv: None,
        }
    }

    pub fn named(self, table: &'a str) -> ImportRequest<'a> {
        ImportRequest {
            table: Some(table),
            ..self
        }
    }
}

/// What an import made.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct ImportOutcome {
    pub table: TableInfo,
    /// Rows left out (skip mode): the first 100, and how many in all.
    pub skipped: Vec<SkippedRow>,
    pub skipped_total: u64,
}

/// The outcome of running one cell.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CellOutput {
    /// A SQL cell's result (its first rows).
    Table { preview: QueryPreview },
    /// A Markdown cell has nothing to run; the UI renders it.
    Markdown,
}

/// A page of `d` with the values of each row in `old` and `new`.
fn diff_page(
    d: &TableDiff,
    old: &TableVersion,
    new: &TableVersion,
    offset: u64,
    limit: u64,
) -> Result<DiffPage, TableError> {
    let ids = d.page_ids(offset, limit);
    let just_ids: Vec<u64> = ids.iter().map(|(id, _)| *id).collect();
    let old_rows = diff::display_rows(old, &diff::positions(old, &just_ids))?;
    let new_rows = diff::display_rows(new, &diff::positions(new, &just_ids))?;
    let names = |v: &TableVersion| v.schema.fields().iter().map(|f| f.name().clone()).collect();
    Ok(DiffPage {
        old_columns: names(old),
        new_columns: names(new),
        total: d.len(),
        offset,
        rows: ids
            .into_iter()
            .zip(old_rows.into_iter().zip(new_rows))
            .map(|((row_id, kind), (old, new))| DiffRow {
                row_id,
                kind,
                changed: d.changed_columns(row_id),
                old,
                new,
            })
            .collect(),
    })
}

/// Where queries that outgrow `limits.query_memory_mb` spill, inside the data dir.
const SPILL_DIR: &str = "spill";

/// How long shutdown waits for pending snapshots; a snapshot not committed by then leaves the
/// previous generation, which is what the user was told is saved.
const SHUTDOWN_SNAPSHOT_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Removes temp files of snapshots a crash interrupted, in every notebook's `tables/` folder,
/// before anything reads or writes them.
fn sweep_table_folders(workspace: &Workspace, notebooks: &Notebooks) {
    for nb in notebooks.list() {
        let Some(folder) = nb.folder else { continue };
        let dir = workspace
            .root()
            .join(folder)
            .join(crate::snapshots::TABLES_DIR);
        match crate::snapshots::store::sweep(&dir) {
            Ok(0) => {}
            Ok(n) => log::info!("removed {n} unfinished snapshot files in {}", dir.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => log::warn!("could not clean up {}: {e}", dir.display()),
        }
    }
}

/// The events a UI missed, from the ring buffer.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct CatchUp {
    pub events: Vec<crate::events::Sequenced>,
    /// False when some were too old to keep: the UI reloads its state instead.
    pub complete: bool,
}

/// A table's history list and whether undo / redo can move.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct TableVersions {
    pub items: Vec<HistoryItem>,
    pub can_undo: bool,
    pub can_redo: bool,
}

/// One row of a diff: its id, what happened to it, the columns that changed, and its values
/// in the old and new versions (None where the row is absent), as display text.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct DiffRow {
    pub row_id: u64,
    pub kind: DiffKind,
    pub changed: Vec<String>,
    pub old: Option<Vec<Option<String>>>,
    pub new: Option<Vec<Option<String>>>,
}

/// A page of a diff, fetched on demand by joining row ids with the two versions.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct DiffPage {
    pub old_columns: Vec<String>,
    pub new_columns: Vec<String>,
    /// Rows in the whole diff.
    pub total: u64,
    pub offset: u64,
    pub rows: Vec<DiffRow>,
}

/// What a transform would do, shown before it is applied.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct TransformPreview {
    pub sql: String,
    pub summary: DiffSummary,
    /// The first affected rows, old and new values side by side.
    pub sample: DiffPage,
}

type DiffKey = (NotebookId, String, u64, u64);

/// The last few diffs and diff pages, so paging back and forth does not compute again.
#[derive(Default)]
struct RecentDiffs {
    diffs: std::collections::VecDeque<(DiffKey, Arc<TableDiff>)>,
    pages: std::collections::VecDeque<((DiffKey, u64, u64), Arc<DiffPage>)>,
}

/// A computed but not yet applied transform: applying it right after its preview reuses it.
struct PreviewedTransform {
    notebook: NotebookId,
    table: String,
    base: u64,
    transform: Transform,
    result: Arc<TableVersion>,
}

pub struct Engine {
    config: Config,
    paths: EnginePaths,
    workspace: Workspace,
    notebooks: Notebooks,
    catalog: Arc<Catalog>,
    views: Arc<ViewCache>,
    histories: Histories,
    recent_diffs: Mutex<RecentDiffs>,
    previewed: Mutex<Option<PreviewedTransform>>,
    /// The SQLite task store and edit journal.
    tasks: Arc<TaskStore>,
    /// What the last start found in the task store (shown once by the UI).
    recovery: Recovery,
    _housekeeper: Housekeeper,
    /// How to stop each running recorded task, for Cancel in the task list.
    task_tokens: Mutex<std::collections::HashMap<u64, CancellationToken>>,
    /// The last 5 % step of progress written for each running task.
    task_steps: Mutex<std::collections::HashMap<u64, i64>>,
    events: Arc<EventBus>,
    /// Declared before the scheduler: dropping it stops the planner that queues snapshots.
    snapshots: Snapshots,
    /// Every grid page, view and query runs here, by priority, off the command runtime.
    scheduler: Arc<Scheduler>,
    metrics: Arc<Metrics>,
    /// Set by [`Engine::shutdown_without_waiting`].
    skip_snapshots: std::sync::atomic::AtomicBool,
    // Last field: dropped after the notebooks' final flush, so no other process can get in first.
    _lock: WorkspaceLock,
}

impl Engine {
    /// Opens the workspace (creating it if needed), takes its single-writer lock, sweeps temp
    /// files a crash left, and loads its notebooks.
    pub fn open(
        config: Config,
        paths: EnginePaths,
        sink: Arc<dyn EventSink>,
    ) -> Result<Engine, Error> {
        let workspace_dir = config
            .workspace
            .clone()
            .unwrap_or_else(|| paths.default_workspace());
        let workspace = Workspace::open(&workspace_dir)?;
        let lock = workspace.lock()?;
        let swept = crate::durable::sweep_temp_files(workspace.root()).map_err(|source| {
            crate::workspace::WorkspaceError::Unavailable {
                path: workspace_dir.clone(),
                source,
            }
        })?;
        if swept > 0 {
            log::info!(
                "removed {swept} temp files left by an earlier crash in {}",
                workspace.root().display()
            );
        }
        let limits = SchedulerLimits {
            workers: match config.queue.workers {
                0 => SchedulerLimits::default().workers,
                n => n as usize,
            },
            reserved_for_interactive: config.queue.reserved_for_interactive as usize,
            ..SchedulerLimits::default()
        };
        let metrics = Arc::new(Metrics::default());
        let scheduler = Arc::new(
            Scheduler::with_metrics(limits, metrics.clone())
                .map_err(|e| crate::queue::QueueError::Start(e.to_string()))?,
        );
        let events = Arc::new(EventBus::with_config(sink, metrics.clone(), &config.events));
        let notebooks = Notebooks::open(
            workspace.clone(),
            config.notebooks.clone(),
            metrics.clone(),
            events.clone(),
        )?;
        sweep_table_folders(&workspace, &notebooks);
        std::fs::create_dir_all(&paths.data_dir).map_err(|e| {
            crate::tasks::TaskError::Store(format!(
                "could not create {}: {e}",
                paths.data_dir.display()
            ))
        })?;
        let spill_dir = paths.data_dir.join(SPILL_DIR);
        // Spill files of a run that crashed are never read again.
        let _ = std::fs::remove_dir_all(&spill_dir);
        std::fs::create_dir_all(&spill_dir).map_err(|e| {
            crate::tasks::TaskError::Store(format!("could not create {}: {e}", spill_dir.display()))
        })?;
        let data_limits = tables::Limits::new(&config.limits, Some(&spill_dir))?;
        let tasks = Arc::new(
            TaskStore::open(&paths.data_dir.join(crate::tasks::FILE_NAME))?
                .with_metrics(metrics.clone())
                .with_finished_cap(config.tasks.max_finished as usize),
        );
        let recovery = tasks.restore()?;
        if let Some(message) = recovery.message() {
            log::warn!("{message}");
        }
        tasks.cleanup(Duration::from_secs(
            config.tasks.retention_hours as u64 * 3600,
        ))?;
        tasks.prune_finished()?;
        let housekeeper = Housekeeper::start(
            tasks.clone(),
            Duration::from_secs(config.tasks.checkpoint_interval_s as u64),
            Duration::from_secs(config.tasks.retention_hours as u64 * 3600),
        )
        .map_err(|e| crate::tasks::TaskError::Store(e.to_string()))?;
        let start_failed = |e: std::io::Error| {
            crate::queue::QueueError::Start(format!("the snapshot writer could not start: {e}"))
        };
        let threads = match config.snapshots.threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n as usize,
        };
        let writer =
            crate::snapshots::Writer::new(threads, config.snapshots.codec, metrics.clone())
                .map_err(start_failed)?;
        let snapshots = Snapshots::start(
            config.snapshots.clone(),
            writer,
            scheduler.clone(),
            events.clone(),
            notebooks.folder_resolver(),
            Some(tasks.clone()),
        )
        .map_err(start_failed)?;
        Ok(Engine {
            config,
            paths,
            workspace,
            notebooks,
            catalog: Arc::new(Catalog::new(data_limits)),
            views: Arc::default(),
            histories: Histories::default(),
            recent_diffs: Mutex::default(),
            previewed: Mutex::default(),
            tasks,
            recovery,
            _housekeeper: housekeeper,
            task_tokens: Mutex::default(),
            task_steps: Mutex::default(),
            events,
            snapshots,
            scheduler,
            metrics,
            skip_snapshots: Default::default(),
            _lock: lock,
        })
    }

    pub fn info(&self) -> EngineInfo {
        let mut config = self.config.clone();
        config.notebooks = self.notebooks.config();
        EngineInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            datafusion_version: tables::datafusion_version().to_string(),
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

    pub fn create_notebook(&self, title: &str) -> Result<NotebookSummary, Error> {
        let notebook = self.notebooks.create(title)?;
        log::info!("created notebook {} ({:?})", notebook.id, notebook.title);
        Ok(notebook)
    }

    /// Moves a notebook (and the tables in its folder) to the trash and frees its tables.
    pub fn delete_notebook(&self, notebook: NotebookId) -> Result<(), Error> {
        self.notebooks.delete(notebook)?;
        self.snapshots.forget(notebook);
        self.histories.forget(notebook);
        self.catalog.forget(notebook);
        Ok(())
    }

    pub fn list_notebooks(&self) -> Vec<NotebookSummary> {
        self.notebooks.list()
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
            CellKind::Sql => {
                let started = Instant::now();
                self.ensure_tables(notebook)?;
                let task = self.begin_task(NewTask {
                    kind: TaskKind::CellRun,
                    notebook: Some(notebook),
                    target: Some(cell.id.to_string()),
                    payload: serde_json::json!({ "sql": cell.source }),
                    priority: Priority::UserVisible,
                });
                let tasks = self.tasks.clone();
                self.watch_task(task, cancel.clone());
                let (catalog, sql, cancel) =
                    (self.catalog.clone(), cell.source.clone(), cancel.clone());
                let job = self.scheduler.submit(
                    Priority::UserVisible,
                    JobKind::Query,
                    None,
                    move |_| async move {
                        if let Some(id) = task {
                            let _ = tasks.start(id);
                        }
                        Ok(catalog
                            .query_cancellable(notebook, &sql, &*on_rows, &cancel)
                            .await)
                    },
                );
                let batches = job
                    .result()
                    .await
                    .map_err(Error::from)
                    .and_then(|r| r.map_err(Error::from));
                self.end_task(task, &batches);
                let batches = batches?;
                Ok(CellOutput::Table {
                    preview: QueryPreview::from_batches(&batches, started.elapsed()),
                })
            }
        }
    }

    /// Runs SQL against the notebook's tables (loading them from disk on first use).
    pub async fn query(&self, notebook: NotebookId, sql: &str) -> Result<Vec<RecordBatch>, Error> {
        self.ensure_tables(notebook)?;
        let (catalog, sql) = (self.catalog.clone(), sql.to_string());
        let job = self.scheduler.submit(
            Priority::UserVisible,
            JobKind::Query,
            None,
            move |_| async move { Ok(catalog.query(notebook, &sql).await) },
        );
        Ok(job.result().await??)
    }

    /// The scheduler, for callers that queue their own work (the shell's imports and exports).
    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    /// The work queue's counters, for the metrics panel.
    pub fn queue_stats(&self) -> QueueStats {
        self.scheduler.stats()
    }

    /// The notebook's tables.
    pub fn tables(&self, notebook: NotebookId) -> Result<Vec<TableInfo>, Error> {
        self.ensure_tables(notebook)?;
        Ok(self.catalog.list(notebook))
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
        // One group per grid: when scrolling outruns the engine, older page requests that have
        // not started are stale and dropped.
        let group = format!("page:{notebook}/{table}");
        let view = self.view_future(notebook, table, view)?;
        let job = self.scheduler.submit(
            Priority::Urgent,
            JobKind::Page,
            Some(group),
            move |_| async move {
                let page = async {
                    let version = view.await?;
                    let batch = version.page(offset as usize, limit as usize)?;
                    Ok::<_, Error>(tables::ipc::to_stream_bytes(&batch)?)
                };
                Ok(page.await)
            },
        );
        job.result().await?
    }

    /// How many rows a view of a table has.
    pub async fn view_rows(
        &self,
        notebook: NotebookId,
        table: &str,
        view: Option<&ViewSpec>,
    ) -> Result<u64, Error> {
        let view = self.view_future(notebook, table, view)?;
        let job =
            self.scheduler
                .submit(Priority::Urgent, JobKind::Page, None, move |_| async move {
                    Ok(view.await.map(|v| v.rows as u64))
                });
        job.result().await?
    }

    /// The table itself, or its sorted and filtered view (computed once, then cached), as a
    /// future for a job to await. It runs inside the page job itself: a job that waited on
    /// another job could hold every worker while the work it waits for cannot start.
    fn view_future(
        &self,
        notebook: NotebookId,
        table: &str,
        view: Option<&ViewSpec>,
    ) -> Result<
        impl std::future::Future<Output = Result<Arc<TableVersion>, Error>> + Send + 'static,
        Error,
    > {
        self.ensure_tables(notebook)?;
        let version = self.catalog.version(notebook, table)?;
        let spec = view.filter(|v| !v.is_plain()).cloned();
        let key = spec
            .as_ref()
            .map(|spec| ViewCache::key(&notebook.to_string(), table, version.version, spec));
        let views = self.views.clone();
        let limits = self.catalog.limits().clone();
        Ok(async move {
            let (Some(spec), Some(key)) = (spec, key) else {
                return Ok(version);
            };
            if let Some(hit) = views.get(&key) {
                return Ok(hit);
            }
            let computed = Arc::new(tables::view::compute(&version, &spec, &limits).await?);
            views.put(key, computed.clone());
            Ok(computed)
        })
    }

    /// Imports a file as a new table of the notebook. The file is read to the end before
    /// anything is created; the table is saved (hydrating the notebook) before it is added, so
    /// a table Quire shows is always on disk. `table` defaults to a name made from the file name.
    pub fn import_file(
        &self,
        notebook: NotebookId,
        request: ImportRequest<'_>,
        progress: &(dyn Fn(ImportProgress) + Sync),
        cancel: &CancellationToken,
    ) -> Result<ImportOutcome, Error> {
        let ImportRequest {
            path,
            table,
            format,
            csv,
        } = request;
        self.notebooks.summary(notebook)?;
        let table = match table {
            Some(t) => name::validate(t)?,
            None => name::from_file_stem(
                &path
                    .file_stem()
                    .map(|s| s.to_string_lossy())
                    .unwrap_or_default(),
            ),
        };
        self.ensure_tables(notebook)?;
        if self.catalog.exists(notebook, &table) {
            return Err(TableError::Exists(table).into());
        }
        let started = Instant::now();
        let budget = self.catalog.limits().budget(format!(
            "the file {}",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ));
        let imported = import::read(path, format, csv, progress, cancel, &budget)?;
        let version = TableVersion::first(imported.schema, imported.batches);
        let info = self.keep_table(notebook, &table, version)?;
        log::info!(
            "imported {} as {table} into notebook {notebook}: {} rows in {:.0} ms, {} skipped",
            path.display(),
            info.rows,
            started.elapsed().as_secs_f64() * 1000.0,
            imported.skipped_total
        );
        Ok(ImportOutcome {
            table: info,
            skipped: imported.skipped,
            skipped_total: imported.skipped_total,
        })
    }

    /// Writes a table to a file the user picked (CSV or Parquet by extension), atomically.
    pub fn export_table(
        &self,
        notebook: NotebookId,
        table: &str,
        out: &Path,
        progress: &(dyn Fn(u64) + Sync),
        cancel: &CancellationToken,
    ) -> Result<u64, Error> {
        self.ensure_tables(notebook)?;
        let version = self.catalog.version(notebook, table)?;
        let bytes = tables::export::write(
            out,
            &version.schema,
            &version.batches,
            &self.metrics,
            progress,
            cancel,
        )?;
        log::info!(
            "exported {table} of notebook {notebook} to {} ({bytes} bytes)",
            out.display()
        );
        Ok(bytes)
    }

    /// Runs a query and writes its result to a file the user picked (CSV or Parquet), atomically.
    pub async fn export_query(
        &self,
        notebook: NotebookId,
        sql: &str,
        out: &Path,
    ) -> Result<u64, Error> {
        self.ensure_tables(notebook)?;
        let (schema, batches) = self.catalog.result(notebook, sql).await?;
        let bytes = tables::export::write(
            out,
            &schema,
            &batches,
            &self.metrics,
            &|_| {},
            &CancellationToken::new(),
        )?;
        log::info!(
            "exported a query result of notebook {notebook} to {} ({bytes} bytes)",
            out.display()
        );
        Ok(bytes)
    }

    /// Keeps a query's result as a new table of the notebook.
    pub async fn save_query_as_table(
        &self,
        notebook: NotebookId,
        sql: &str,
        table: &str,
    ) -> Result<TableInfo, Error> {
        let table = name::validate(table)?;
        self.ensure_tables(notebook)?;
        if self.catalog.exists(notebook, &table) {
            return Err(TableError::Exists(table).into());
        }
        let (schema, batches) = self.catalog.result(notebook, sql).await?;
        self.keep_table(notebook, &table, TableVersion::first(schema, batches))
    }

    /// Deletes a table: it leaves SQL and the table list at once, its pending snapshot is
    /// cancelled, its saved copies and journal entries are removed. If its saved copies cannot
    /// be removed the table stays, unchanged, and the error says why.
    pub fn delete_table(&self, notebook: NotebookId, table: &str) -> Result<(), Error> {
        self.ensure_tables(notebook)?;
        let version = self.catalog.version(notebook, table)?;
        // Out of the catalog first, so no edit can start on it while its files go.
        self.catalog.remove(notebook, table)?;
        if let Err(e) = self.snapshots.delete_table(notebook, table) {
            let _ = self
                .catalog
                .add(notebook, table, TableVersion::clone(&version));
            return Err(e.into());
        }
        self.histories.forget_table(notebook, table);
        if let Err(e) = self.tasks.journal_drop(notebook, table) {
            // The manifest no longer names the table, so nothing replays these entries unless
            // a new table takes the name, and `keep_table` drops them again first.
            log::warn!("journal entries of deleted table {table} stay: {e}");
        }
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
        let version = self.catalog.version(notebook, table)?;
        if to == table {
            return Ok(version.info(table));
        }
        if self.catalog.exists(notebook, &to) {
            return Err(TableError::Exists(to).into());
        }
        let info = self.keep_table(notebook, &to, TableVersion::clone(&version))?;
        self.delete_table(notebook, table)?;
        log::info!("renamed table {table} of notebook {notebook} to {to}");
        Ok(info)
    }

    /// Saves a new table beside its notebook (hydrating it), then adds it to the catalog.
    fn keep_table(
        &self,
        notebook: NotebookId,
        table: &str,
        version: TableVersion,
    ) -> Result<TableInfo, Error> {
        self.notebooks.flush(notebook)?;
        let dir = self
            .notebooks
            .folder_path(notebook)?
            .ok_or_else(|| TableError::Persist("the notebook has no folder".into()))?;
        name::validate(table)?;
        // Entries left by a deleted table of this name must never replay onto this one.
        self.tasks.journal_drop(notebook, table)?;
        let version = match name::unique_columns(&version.schema) {
            Some(schema) => {
                let batches = version
                    .batches
                    .iter()
                    .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(TableError::from)?;
                TableVersion::first(schema, batches)
            }
            None => version,
        };
        self.snapshots
            .create(notebook, &dir, table, Arc::new(version.clone()))?;
        Ok(self.catalog.add(notebook, table, version)?)
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
        let current = self.catalog.version(notebook, table)?;
        if edits.is_empty() {
            return Ok(current.info(table));
        }
        let next = edit::apply(&current, edits)?;
        let next = self.commit_version(
            notebook,
            table,
            &current,
            next,
            TableOp::Edit {
                edits: edits.to_vec(),
            },
        )?;
        log::info!(
            "edited {} cells of table {table} in notebook {notebook}: version {}",
            edits.len(),
            next.version
        );
        Ok(next.info(table))
    }

    /// A table's saved generations, newest first (time, rows, size), for the history list.
    pub fn table_history(
        &self,
        notebook: NotebookId,
        table: &str,
    ) -> Result<Vec<Generation>, Error> {
        self.ensure_tables(notebook)?;
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
    ) -> Result<TableInfo, Error> {
        self.ensure_tables(notebook)?;
        let current = self.catalog.version(notebook, table)?;
        let (mut restored, _lease) = self
            .snapshots
            .read_generation(notebook, table, generation, "restore")?;
        restored.version = current.version + 1;
        restored.next_row_id = restored.next_row_id.max(current.next_row_id);
        let next = self.commit_version(
            notebook,
            table,
            &current,
            restored,
            TableOp::Restore { generation },
        )?;
        log::info!(
            "restored table {table} of notebook {notebook} from generation {generation} as version {}",
            next.version
        );
        Ok(next.info(table))
    }

    /// Makes `next` (made from `base` by `op`) the table's current version: in the catalog
    /// (refused if the table moved on meanwhile), in its history, and due for a snapshot.
    fn commit_version(
        &self,
        notebook: NotebookId,
        table: &str,
        base: &Arc<TableVersion>,
        next: TableVersion,
        op: TableOp,
    ) -> Result<Arc<TableVersion>, Error> {
        let next = self.catalog.replace(notebook, table, base.version, next)?;
        self.journal(
            notebook,
            table,
            next.version,
            &JournalStep::Op { op: op.clone() },
        )?;
        self.histories
            .record(notebook, table, base, next.clone(), op);
        self.snapshots.changed(notebook, table, next.clone());
        Ok(next)
    }

    /// Appends a table change to the journal before its command returns: after a crash the
    /// newest snapshot plus these entries rebuild exactly what the user last saw.
    fn journal(
        &self,
        notebook: NotebookId,
        table: &str,
        version: u64,
        step: &JournalStep,
    ) -> Result<(), Error> {
        let step = serde_json::to_value(step).expect("a journal step always serialises");
        Ok(self.tasks.journal_append(notebook, table, version, &step)?)
    }

    /// Computes `transform` over the table on the queue (user-visible: someone waits).
    async fn compute_transform(
        &self,
        notebook: NotebookId,
        table: &str,
        transform: &Transform,
        progress: Arc<dyn Fn(u64) + Send + Sync>,
        cancel: &CancellationToken,
    ) -> Result<(Arc<TableVersion>, Arc<TableVersion>), Error> {
        self.ensure_tables(notebook)?;
        let base = self.catalog.version(notebook, table)?;
        if let Some(p) = self
            .previewed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            if p.notebook == notebook
                && p.table == table
                && p.base == base.version
                && &p.transform == transform
            {
                return Ok((base, p.result.clone()));
            }
        }
        let (input, t, cancel) = (base.clone(), transform.clone(), cancel.clone());
        let job = self.scheduler.submit_blocking(
            Priority::UserVisible,
            JobKind::Other,
            None,
            move |_| Ok(transform::apply(&input, &t, &*progress, &cancel)),
        );
        let result = Arc::new(job.result().await??);
        *self.previewed.lock().unwrap_or_else(|p| p.into_inner()) = Some(PreviewedTransform {
            notebook,
            table: table.to_string(),
            base: base.version,
            transform: transform.clone(),
            result: result.clone(),
        });
        Ok((base, result))
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
        let (base, result) = self
            .compute_transform(notebook, table, transform, progress, cancel)
            .await?;
        let d = diff::diff(&base, &result, cancel)?;
        Ok(TransformPreview {
            sql: transform.to_sql(table),
            summary: d.summary(base.version, result.version),
            sample: diff_page(&d, &base, &result, 0, 20)?,
        })
    }

    /// Applies `transform` as a new version (reusing its preview when the table has not
    /// changed since). A cancelled transform leaves the table as it was.
    pub async fn apply_transform(
        &self,
        notebook: NotebookId,
        table: &str,
        transform: &Transform,
        progress: Arc<dyn Fn(u64) + Send + Sync>,
        cancel: &CancellationToken,
    ) -> Result<TableInfo, Error> {
        let task = self.begin_task(NewTask {
            kind: TaskKind::Transform,
            notebook: Some(notebook),
            target: Some(table.to_string()),
            payload: serde_json::json!({ "transform": transform }),
            priority: Priority::UserVisible,
        });
        self.start_task(task);
        self.watch_task(task, cancel.clone());
        let applied = self
            .apply_computed(notebook, table, transform, progress, cancel)
            .await;
        self.end_task(task, &applied);
        applied
    }

    async fn apply_computed(
        &self,
        notebook: NotebookId,
        table: &str,
        transform: &Transform,
        progress: Arc<dyn Fn(u64) + Send + Sync>,
        cancel: &CancellationToken,
    ) -> Result<TableInfo, Error> {
        let (base, result) = self
            .compute_transform(notebook, table, transform, progress, cancel)
            .await?;
        *self.previewed.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let next = self.commit_version(
            notebook,
            table,
            &base,
            TableVersion::clone(&result),
            TableOp::Transform {
                transform: transform.clone(),
            },
        )?;
        log::info!(
            "transformed table {table} of notebook {notebook}: {} (version {})",
            transform.label(),
            next.version
        );
        Ok(next.info(table))
    }

    /// Undo (`back`) or redo one step of a table's history: the earlier content, with the
    /// very same batches, becomes the current version under a new number.
    pub fn undo_redo(
        &self,
        notebook: NotebookId,
        table: &str,
        back: bool,
    ) -> Result<TableInfo, Error> {
        self.ensure_tables(notebook)?;
        let current = self.catalog.version(notebook, table)?;
        let Some(target) = self.histories.step(notebook, table, back) else {
            return Ok(current.info(table)); // nothing to undo or redo
        };
        let shown = TableVersion {
            version: current.version + 1,
            next_row_id: current.next_row_id.max(target.next_row_id),
            ..TableVersion::clone(&target)
        };
        let shown = self
            .catalog
            .replace(notebook, table, current.version, shown)?;
        self.journal(
            notebook,
            table,
            shown.version,
            &if back {
                JournalStep::Undo
            } else {
                JournalStep::Redo
            },
        )?;
        self.histories.restamp(notebook, table, shown.clone());
        self.snapshots.changed(notebook, table, shown.clone());
        // Replay after a crash redoes undo / redo among the versions after the newest saved
        // generation; a step to a version older than that could not be replayed (the model
        // test found it), so what is shown now is saved before the step is acknowledged.
        let saved = self
            .snapshots
            .history(notebook, table)
            .first()
            .map(|g| g.version);
        if saved.is_some_and(|saved| target.version < saved) {
            let flushed = self.snapshots.flush(None);
            if !flushed.failed.is_empty() {
                log::error!(
                    "{} on table {table}: the version shown could not be saved at once: {:?}",
                    if back { "undo" } else { "redo" },
                    flushed.failed
                );
            }
        }
        log::info!(
            "{} on table {table} of notebook {notebook}: version {} shows version {}",
            if back { "undo" } else { "redo" },
            shown.version,
            target.version
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

    fn version_of(
        &self,
        notebook: NotebookId,
        table: &str,
        version: u64,
    ) -> Result<Arc<TableVersion>, Error> {
        let current = self.catalog.version(notebook, table)?;
        if current.version == version {
            return Ok(current);
        }
        self.histories
            .find(notebook, table, version)
            .ok_or_else(|| {
                TableError::VersionNotFound {
                    table: table.to_string(),
                    version,
                }
                .into()
            })
    }

    /// The diff between two versions of a table, computed once in the background (idle
    /// priority, cancellable) and kept among the last few.
    async fn diff_of(
        &self,
        notebook: NotebookId,
        table: &str,
        from: u64,
        to: u64,
        cancel: &CancellationToken,
    ) -> Result<(Arc<TableDiff>, Arc<TableVersion>, Arc<TableVersion>), Error> {
        self.ensure_tables(notebook)?;
        let (old, new) = (
            self.version_of(notebook, table, from)?,
            self.version_of(notebook, table, to)?,
        );
        let key: DiffKey = (notebook, table.to_string(), from, to);
        if let Some((_, d)) = self
            .recent_diffs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .diffs
            .iter()
            .find(|(k, _)| k == &key)
        {
            return Ok((d.clone(), old, new));
        }
        let (a, b, cancel) = (old.clone(), new.clone(), cancel.clone());
        let job = self
            .scheduler
            .submit_blocking(Priority::Idle, JobKind::Diff, None, move |_| {
                Ok(diff::diff(&a, &b, &cancel))
            });
        let d = Arc::new(job.result().await??);
        let mut recent = self.recent_diffs.lock().unwrap_or_else(|p| p.into_inner());
        recent.diffs.push_front((key, d.clone()));
        recent.diffs.truncate(4);
        Ok((d, old, new))
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
        let (d, _, _) = self.diff_of(notebook, table, from, to, cancel).await?;
        Ok(d.summary(from, to))
    }

    /// Rows `[offset, offset + limit)` of a diff with their old and new values, fetched on
    /// demand (never a materialised diff table); recent pages are kept.
    pub async fn diff_page(
        &self,
        notebook: NotebookId,
        table: &str,
        from: u64,
        to: u64,
        offset: u64,
        limit: u64,
    ) -> Result<Arc<DiffPage>, Error> {
        let page_key = ((notebook, table.to_string(), from, to), offset, limit);
        if let Some((_, p)) = self
            .recent_diffs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pages
            .iter()
            .find(|(k, _)| k == &page_key)
        {
            return Ok(p.clone());
        }
        let (d, old, new) = self
            .diff_of(notebook, table, from, to, &CancellationToken::new())
            .await?;
        let page = Arc::new(diff_page(&d, &old, &new, offset, limit.min(500))?);
        let mut recent = self.recent_diffs.lock().unwrap_or_else(|p| p.into_inner());
        recent.pages.push_front((page_key, page.clone()));
        recent.pages.truncate(16);
        Ok(page)
    }

    /// Records a task before its work is queued (write-ahead). A store that cannot record it
    /// does not stop the work: the failure is logged.
    pub fn begin_task(&self, task: NewTask) -> Option<u64> {
        self.tasks
            .enqueue(&task)
            .map_err(|e| log::error!("could not record a {:?} task: {e}", task.kind))
            .ok()
    }

    /// The recorded task's work started.
    pub fn start_task(&self, id: Option<u64>) {
        if let Some(id) = id {
            let _ = self.tasks.start(id);
        }
    }

    /// Progress of a recorded task, 0 to 1 (written when it moved by 5 % or more).
    pub fn task_progress(&self, id: Option<u64>, fraction: f64) {
        let Some(id) = id else { return };
        let step = (fraction * 20.0).floor() as i64;
        let mut last = self.task_steps.lock().unwrap_or_else(|p| p.into_inner());
        if last.get(&id) != Some(&step) {
            last.insert(id, step);
            let _ = self.tasks.progress(id, fraction);
        }
    }

    /// Remembers how to cancel a recorded task while it runs.
    pub fn watch_task(&self, id: Option<u64>, token: CancellationToken) {
        if let Some(id) = id {
            self.task_tokens
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id, token);
        }
    }

    /// Cancels a running recorded task; false when it is not running here.
    pub fn cancel_task(&self, id: u64) -> bool {
        let token = self
            .task_tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned();
        token.map(|t| t.cancel()).is_some()
    }

    /// The recorded task's work ended with `result`.
    pub fn end_task<T>(&self, id: Option<u64>, result: &Result<T, Error>) {
        let Some(id) = id else { return };
        self.task_tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        self.task_steps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        let (status, error) = match result {
            Ok(_) => (TaskStatus::Completed, None),
            Err(e) if e.code() == crate::ErrorCode::Cancelled => (TaskStatus::Cancelled, None),
            Err(e) => (TaskStatus::Failed, Some(e.to_string())),
        };
        let _ = self.tasks.finish(id, status, error.as_deref());
    }

    /// What the task store found at startup: work to run again and interrupted work.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The task store, for the shell's waits and the benches.
    pub fn task_store(&self) -> &Arc<TaskStore> {
        &self.tasks
    }

    pub fn list_tasks(&self, status: Option<TaskStatus>, limit: u32) -> Result<Vec<Task>, Error> {
        Ok(self.tasks.list(status, limit)?)
    }

    pub fn task_stats(&self) -> Result<TaskStats, Error> {
        Ok(self.tasks.stats()?)
    }

    /// Runs again what the last start found pending (saves, imports, exports), in order.
    /// Blocking: the shell calls it on a background thread after the window is up.
    pub fn resume(&self) {
        for task in self.recovery.requeued.clone() {
            if let Err(e) = self.rerun(&task) {
                log::error!(
                    "recovered task {} ({:?}) failed again: {e}",
                    task.id,
                    task.kind
                );
                let _ = self
                    .tasks
                    .finish(task.id, TaskStatus::Failed, Some(&e.to_string()));
            }
        }
    }

    /// Clears finished tasks from the task list (the user's "Clear finished").
    pub fn dismiss_finished_tasks(&self) -> Result<u64, Error> {
        Ok(self.tasks.dismiss_finished()? as u64)
    }

    /// Makes a failed, cancelled or interrupted task pending and runs it again (cell runs are
    /// run again by the UI, which shows their result).
    pub fn retry_task(&self, id: u64) -> Result<Task, Error> {
        let task = self.tasks.retry(id)?;
        if task.kind != TaskKind::CellRun {
            if let Err(e) = self.rerun(&task) {
                let _ = self
                    .tasks
                    .finish(id, TaskStatus::Failed, Some(&e.to_string()));
                return Err(e);
            }
        }
        Ok(self.tasks.get(id)?)
    }

    fn rerun(&self, task: &Task) -> Result<(), Error> {
        let payload: serde_json::Value = serde_json::from_str(&task.payload).unwrap_or_default();
        let notebook = task
            .notebook
            .as_deref()
            .and_then(|n| n.parse::<uuid::Uuid>().ok())
            .map(NotebookId);
        let Some(notebook) = notebook else {
            return Err(crate::tasks::TaskError::Store(format!(
                "task {} names no notebook",
                task.id
            ))
            .into());
        };
        let target = task.target.clone().unwrap_or_default();
        let never = CancellationToken::new();
        log::info!(
            "running task {} ({:?} of {target}) again",
            task.id,
            task.kind
        );
        match task.kind {
            TaskKind::Snapshot => {
                self.ensure_tables(notebook)?;
                self.snapshots.adopt(notebook, &target, task.id);
                Ok(())
            }
            TaskKind::Import => {
                let path = PathBuf::from(payload["path"].as_str().unwrap_or_default());
                let csv: Option<CsvOptions> = serde_json::from_value(payload["csv"].clone()).ok();
                self.ensure_tables(notebook)?;
                if self.catalog.exists(notebook, &target) {
                    // The table was committed before the crash cut the bookkeeping short.
                    self.tasks.finish(task.id, TaskStatus::Completed, None)?;
                    return Ok(());
                }
                self.start_task(Some(task.id));
                let request = ImportRequest {
                    path: &path,
                    table: Some(&target),
                    format: None,
                    csv: csv.as_ref(),
                };
                let r = self.import_file(notebook, request, &|_| {}, &never);
                self.end_task(Some(task.id), &r);
                r.map(|_| ())
            }
            TaskKind::Export => {
                let path = PathBuf::from(payload["path"].as_str().unwrap_or_default());
                self.start_task(Some(task.id));
                let r = self.export_table(notebook, &target, &path, &|_| {}, &never);
                self.end_task(Some(task.id), &r);
                r.map(|_| ())
            }
            TaskKind::Transform => {
                let transform: Transform = serde_json::from_value(payload["transform"].clone())
                    .map_err(|e| crate::tasks::TaskError::Store(e.to_string()))?;
                self.ensure_tables(notebook)?;
                self.start_task(Some(task.id));
                // On this thread, not through an async path: a retry is called from a command
                // thread that may not start a runtime of its own.
                let base = self.catalog.version(notebook, &target)?;
                let r = transform::apply(&base, &transform, &|_| {}, &never)
                    .map_err(Error::from)
                    .and_then(|next| {
                        self.commit_version(
                            notebook,
                            &target,
                            &base,
                            next,
                            TableOp::Transform { transform },
                        )
                    });
                self.end_task(Some(task.id), &r);
                r.map(|_| ())
            }
            TaskKind::CellRun => Ok(()),
        }
    }

    /// Every event after `seq` still kept, for a UI that reloaded or missed some;
    /// `complete` is false when the ring no longer reaches back that far (reload everything).
    pub fn events_since(&self, seq: u64) -> CatchUp {
        match self.events.since(seq) {
            Ok(events) => CatchUp {
                events,
                complete: true,
            },
            Err(_) => CatchUp {
                events: Vec::new(),
                complete: false,
            },
        }
    }

    /// Delivers pending events now.
    pub fn flush_events(&self) {
        self.events.flush();
    }

    pub fn event_stats(&self) -> crate::events::EventStats {
        self.events.stats()
    }

    /// Save state of every table of a notebook.
    pub fn table_save_status(&self, notebook: NotebookId) -> Vec<TableSaveStatus> {
        self.snapshots.status(notebook)
    }

    /// Tables with changes not yet committed, in every notebook.
    pub fn pending_tables(&self) -> Vec<TableSaveStatus> {
        self.snapshots.pending()
    }

    /// Retries a failed snapshot now.
    pub fn retry_snapshot(&self, notebook: NotebookId, table: &str) {
        self.snapshots.retry(notebook, table);
    }

    /// The snapshots service (leases for long readers, the fault seam for tests).
    pub fn snapshots(&self) -> &Snapshots {
        &self.snapshots
    }

    /// What closing now would leave unsaved. Cheap: memory and one indexed query.
    pub fn pending_work(&self) -> PendingWork {
        let notebooks = self
            .notebooks
            .list()
            .into_iter()
            .filter(|n| {
                matches!(
                    n.status,
                    crate::notebooks::SaveState::Unsaved
                        | crate::notebooks::SaveState::Saving
                        | crate::notebooks::SaveState::Failed { .. }
                )
            })
            .collect();
        PendingWork {
            notebooks,
            tables: self.snapshots.pending(),
            tasks: self.pending_tasks(),
        }
    }

    /// Imports, exports and transforms waiting or running.
    fn pending_tasks(&self) -> Vec<Task> {
        [TaskStatus::Running, TaskStatus::Pending]
            .into_iter()
            .flat_map(|s| self.tasks.list(Some(s), 100).unwrap_or_default())
            .filter(|t| {
                matches!(
                    t.kind,
                    TaskKind::Import | TaskKind::Export | TaskKind::Transform
                )
            })
            .collect()
    }

    /// Lets running imports, exports and transforms finish, then writes everything (the "Wait
    /// and close" of the close prompt). Blocking.
    pub fn settle(&self) -> FlushAllReport {
        for task in self.pending_tasks() {
            let waited = self.scheduler.block_on(self.tasks.wait_for(task.id));
            if let Err(e) = waited {
                log::warn!("closing: stopped waiting for task {}: {e}", task.id);
            }
        }
        self.flush_all()
    }

    /// Writes every notebook with unsaved edits and every pending table snapshot, and waits
    /// for them (blocking: call it off the UI's threads).
    pub fn flush_all(&self) -> FlushAllReport {
        let notebooks = self.notebooks.flush_all();
        let tables = self.snapshots.flush(None);
        log::info!(
            "flushed {} notebooks and {} tables ({} failed)",
            notebooks.saved,
            tables.saved,
            notebooks.failures.len() + tables.failed.len()
        );
        // The save states go out before the caller hears "done", so the UI never shows the
        // old state in between.
        self.events.flush();
        FlushAllReport { notebooks, tables }
    }

    /// Switches how notebooks are saved, at once, and saves the choice in `config.toml`.
    pub fn set_notebook_mode(&self, mode: NotebookMode) -> Result<EngineInfo, Error> {
        let Some(preset) = NotebookConfig::preset(mode) else {
            return Ok(self.info()); // Custom means "keep the values from the file"
        };
        let mut config = self.info().config;
        config.notebooks = preset.clone();
        if let Some(dir) = &self.paths.config_dir {
            config.save(dir, &self.metrics)?;
        }
        let report = self.notebooks.set_config(preset);
        log::info!(
            "notebook saving set to {mode:?}; {} notebooks written",
            report.saved
        );
        Ok(self.info())
    }

    fn ensure_tables(&self, notebook: NotebookId) -> Result<(), Error> {
        let dir = self.notebooks.folder_path(notebook)?;
        self.catalog
            .ensure_loaded(notebook, || -> Result<_, Error> {
                let Some(dir) = dir else {
                    return Ok(Vec::new());
                };
                let mut tables = Vec::new();
                for t in self.snapshots.open_folder(notebook, &dir)? {
                    tables.push((t.name.clone(), self.replay(notebook, &t.name, t.version)?));
                }
                Ok(tables)
            })
    }

    /// Applies the journal entries after `saved` (the newest snapshot) to it: the table the
    /// user last saw. Replayed steps join the history (so they can be undone) and make the
    /// table due for a snapshot, which then trims the journal.
    fn replay(
        &self,
        notebook: NotebookId,
        table: &str,
        saved: TableVersion,
    ) -> Result<TableVersion, Error> {
        let entries = self.tasks.journal_after(notebook, table, saved.version)?;
        if entries.is_empty() {
            return Ok(saved);
        }
        let mut current = Arc::new(saved);
        let mut replayed = 0usize;
        let never = CancellationToken::new();
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
            let next = match &step {
                JournalStep::Op { op } => match op {
                    TableOp::Opened => continue,
                    TableOp::Edit { edits } => edit::apply(&current, edits)?,
                    TableOp::Transform { transform } => {
                        transform::apply(&current, transform, &|_| {}, &never)?
                    }
                    TableOp::Restore { generation } => {
                        let (mut r, _lease) = self.snapshots.read_generation(
                            notebook,
                            table,
                            *generation,
                            "journal replay",
                        )?;
                        r.version = current.version + 1;
                        r.next_row_id = r.next_row_id.max(current.next_row_id);
                        r
                    }
                },
                JournalStep::Undo | JournalStep::Redo => {
                    let back = matches!(step, JournalStep::Undo);
                    let Some(target) = self.histories.step(notebook, table, back) else {
                        log::warn!("journal of table {table}: an undo reaches before the saved copy; replay stops at version {}", current.version);
                        break;
                    };
                    TableVersion {
                        version: current.version + 1,
                        next_row_id: current.next_row_id.max(target.next_row_id),
                        ..TableVersion::clone(&target)
                    }
                }
            };
            if next.version != version {
                log::error!("journal of table {table}: entry for version {version} replays as {}; replay stops", next.version);
                break;
            }
            let next = Arc::new(next);
            match step {
                JournalStep::Op { op } => {
                    self.histories
                        .record(notebook, table, &current, next.clone(), op)
                }
                _ => self.histories.restamp(notebook, table, next.clone()),
            }
            current = next;
            replayed += 1;
        }
        log::info!(
            "table {table} of notebook {notebook}: replayed {replayed} journal entries on top of the saved copy (now version {})",
            current.version
        );
        self.events.emit(crate::events::EngineEvent::TableNotice {
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

    pub fn metrics(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }

    /// Totals and the last hour minute by minute, for the metrics panel.
    pub fn metrics_report(&self) -> MetricsReport {
        self.metrics.report()
    }

    /// The prompt's "Close without waiting": snapshots not yet written are skipped and one
    /// being written is stopped (its temp file is removed; the last committed generation
    /// stays). Their changes stay in the edit journal, which replays them at the next start.
    /// Notebook files are still written: a few KB each, so waiting costs nothing.
    pub fn shutdown_without_waiting(&self) -> ShutdownReport {
        self.skip_snapshots
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.snapshots.stop_now();
        for t in self.pending_tasks() {
            self.cancel_task(t.id);
        }
        self.shutdown()
    }

    /// Writes everything pending and stops background work. Idempotent: a second call finds
    /// nothing to do.
    pub fn shutdown(&self) -> ShutdownReport {
        let notebooks = self.notebooks.shutdown();
        let tables = if self
            .skip_snapshots
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            SnapshotFlush::default()
        } else {
            self.snapshots.shutdown(SHUTDOWN_SNAPSHOT_LIMIT)
        };
        if let Err(e) = self.tasks.checkpoint(true) {
            log::warn!("the task store's final checkpoint failed: {e}");
        }
        // Last: the save states above reach the UI before the window goes.
        self.events.flush();
        if tables.timed_out || !tables.failed.is_empty() {
            log::error!("at shutdown some table snapshots did not finish: {tables:?}");
        }
        ShutdownReport { notebooks, tables }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::testing::RecordingSink;
    use crate::events::EngineEvent;
    use crate::notebooks::SaveState;
    use crate::HasCode;

    fn open(dir: &Path, sink: Arc<dyn EventSink>) -> Engine {
        Engine::open(
            Config::default(),
            EnginePaths {
                data_dir: dir.to_path_buf(),
                config_dir: None,
            },
            sink,
        )
        .unwrap()
    }

    #[test]
    fn opens_default_workspace_and_sweeps_orphans() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = tmp.path().join("workspace");
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::write(ws.join(".quire-crashed.tmp"), b"half").unwrap();
        let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
        assert_eq!(engine.workspace(), ws.canonicalize().unwrap());
        assert!(!ws.join(".quire-crashed.tmp").exists());
    }

    #[test]
    fn creating_a_notebook_is_lazy_and_emits_an_event() {
        let tmp = tempfile::tempdir().unwrap();
        let sink = Arc::new(RecordingSink::default());
        let engine = open(tmp.path(), sink.clone());
        let nb = engine.create_notebook("Trips").unwrap();
        engine.flush_events();
        let folders = crate::notebooks::tests_support::folders(engine.workspace());
        assert!(
            folders.is_empty(),
            "lazy creation touches no disk: {folders:?}"
        );
        assert_eq!(engine.list_notebooks(), vec![nb.clone()]);
        // The metrics summary that rides along is not part of what this test is about.
        let events: Vec<_> = sink
            .events()
            .into_iter()
            .filter(|e| !matches!(e, EngineEvent::Metrics(_)))
            .collect();
        assert_eq!(events, vec![EngineEvent::NotebookCreated { notebook: nb }]);
        assert_eq!(engine.metrics().disk_writes, 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_notebook_from_elsewhere_runs_nothing_until_a_cell_is_run() {
        let (here, elsewhere) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let src = tempfile::tempdir().unwrap();
        let file = csv_file(src.path(), 100);
        {
            let engine = open(elsewhere.path(), Arc::new(crate::events::NullSink));
            let nb = engine.create_notebook("Shared").unwrap();
            let cancel = CancellationToken::new();
            engine
                .import_file(nb.id, ImportRequest::file(&file), &|_| {}, &cancel)
                .unwrap();
            let cell = engine
                .notebooks()
                .add_cell(
                    nb.id,
                    CellKind::Sql,
                    None,
                    "SELECT count(*) FROM trips_2026".into(),
                )
                .unwrap();
            engine.run_cell(nb.id, cell.id).await.unwrap();
            engine.shutdown();
        }
        // The folder arrives from another machine: copied into this workspace.
        let from = elsewhere.path().join("workspace/shared.quire");
        let to = here.path().join("workspace/shared.quire");
        std::fs::create_dir_all(to.join("tables")).unwrap();
        for name in [
            "notebook.json",
            "tables/manifest.json",
            "tables/trips_2026.1.parquet",
        ] {
            std::fs::copy(from.join(name), to.join(name)).unwrap();
        }
        let engine = open(here.path(), Arc::new(crate::events::NullSink));
        let nb = engine
            .list_notebooks()
            .pop()
            .expect("the copied notebook is listed");
        assert_eq!(
            engine.tables(nb.id).unwrap()[0].rows,
            100,
            "its tables open"
        );
        assert!(
            engine.list_tasks(None, 100).unwrap().is_empty(),
            "nothing was queued"
        );
        let started: u64 = engine.queue_stats().started.iter().sum();
        assert_eq!(started, 0, "nothing ran");
    }

    #[test]
    fn bad_title_is_typed_and_changes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
        let err = engine.create_notebook("../../etc").unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::InvalidTitle);
        assert!(engine.list_notebooks().is_empty());
    }

    #[tokio::test]
    async fn running_a_cell_hydrates_its_notebook_first() {
        let tmp = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.notebooks.auto_flush = false; // only the run may write
        let engine = Engine::open(
            config,
            EnginePaths {
                data_dir: tmp.path().to_path_buf(),
                config_dir: None,
            },
            Arc::new(crate::events::NullSink),
        )
        .unwrap();
        let nb = engine.create_notebook("Runs").unwrap();
        let cell = engine
            .notebooks()
            .add_cell(nb.id, CellKind::Sql, None, "SELECT 6 * 7 AS answer".into())
            .unwrap();
        let out = engine.run_cell(nb.id, cell.id).await.unwrap();
        assert!(
            matches!(engine.run_cell(nb.id, crate::notebooks::CellId(uuid::Uuid::nil())).await, Err(e) if e.code() == crate::ErrorCode::CellNotFound)
        );
        let CellOutput::Table { preview } = out else {
            panic!("{out:?}")
        };
        assert_eq!(preview.rows, vec![vec![Some("42".to_string())]]);
        let summary = engine.notebooks().summary(nb.id).unwrap();
        assert_eq!(summary.status, SaveState::Saved);
        let file = engine.workspace().join("runs.quire/notebook.json");
        assert!(std::fs::read_to_string(file)
            .unwrap()
            .contains("SELECT 6 * 7"));
    }

    fn csv_file(dir: &Path, rows: usize) -> PathBuf {
        let mut text = String::from("id,city,amount\n");
        for i in 0..rows {
            text.push_str(&format!(
                "{i},{},{}.5\n",
                ["Lyon", "Paris", "Nice"][i % 3],
                i
            ));
        }
        let p = dir.join("Trips 2026.csv");
        std::fs::write(&p, text).unwrap();
        p
    }

    #[tokio::test]
    async fn an_imported_table_is_saved_queryable_and_comes_back() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tempfile::tempdir().unwrap();
        let file = csv_file(src.path(), 1000);
        let data = tmp.path().to_path_buf();
        let nb = {
            let engine = open(&data, Arc::new(crate::events::NullSink));
            let nb = engine.create_notebook("Trips").unwrap();
            let cancel = CancellationToken::new();
            let out = engine
                .import_file(nb.id, ImportRequest::file(&file), &|_| {}, &cancel)
                .unwrap();
            assert_eq!(
                (out.table.name.as_str(), out.table.rows),
                ("trips_2026", 1000)
            );
            assert!(engine
                .workspace()
                .join("trips.quire/tables/trips_2026.1.parquet")
                .is_file());
            let again = engine
                .import_file(nb.id, ImportRequest::file(&file), &|_| {}, &cancel)
                .unwrap_err();
            assert_eq!(again.code(), crate::ErrorCode::TableExists);

            let batches = engine
                .query(
                    nb.id,
                    "SELECT city, count(*) AS n FROM trips_2026 GROUP BY city ORDER BY city",
                )
                .await
                .unwrap();
            let p = QueryPreview::from_batches(&batches, std::time::Duration::ZERO);
            assert_eq!(
                p.rows[0],
                vec![Some("Lyon".to_string()), Some("334".to_string())]
            );
            let kept = engine
                .save_query_as_table(
                    nb.id,
                    "SELECT * FROM trips_2026 WHERE city = 'Nice'",
                    "nice",
                )
                .await
                .unwrap();
            assert_eq!(kept.rows, 333);
            let page = engine
                .page(nb.id, "trips_2026", None, 998, 10)
                .await
                .unwrap();
            let mut reader =
                datafusion::arrow::ipc::reader::StreamReader::try_new(&page[..], None).unwrap();
            assert_eq!(reader.next().unwrap().unwrap().num_rows(), 2);
            engine.shutdown();
            nb.id
        };
        // A new process: the tables load from the notebook's folder on first use.
        let engine = open(&data, Arc::new(crate::events::NullSink));
        let names: Vec<_> = engine
            .tables(nb)
            .unwrap()
            .into_iter()
            .map(|t| (t.name, t.rows))
            .collect();
        assert_eq!(
            names,
            [("nice".to_string(), 333), ("trips_2026".to_string(), 1000)]
        );
        let batches = engine
            .query(nb, "SELECT sum(amount) FROM trips_2026")
            .await
            .unwrap();
        assert_eq!(
            QueryPreview::from_batches(&batches, std::time::Duration::ZERO).rows[0][0].as_deref(),
            Some("500000.0")
        );
    }

    #[test]
    fn a_cancelled_or_failed_import_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tempfile::tempdir().unwrap();
        let file = csv_file(src.path(), 200_000);
        let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
        let nb = engine.create_notebook("Cancel").unwrap();
        let cancel = CancellationToken::new();
        let err = engine
            .import_file(
                nb.id,
                ImportRequest::file(&file).named("trips"),
                &|_| cancel.cancel(),
                &cancel,
            )
            .unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::Cancelled);
        assert!(engine.tables(nb.id).unwrap().is_empty());
        assert!(
            !engine.workspace().join("cancel.quire").exists(),
            "nothing was written"
        );

        let bad = src.path().join("bad.csv");
        std::fs::write(&bad, "a,b\n1,2\n3\n").unwrap();
        let err = engine
            .import_file(
                nb.id,
                ImportRequest::file(&bad),
                &|_| {},
                &CancellationToken::new(),
            )
            .unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::ImportFailed);
        assert!(engine.tables(nb.id).unwrap().is_empty());
        let err = engine
            .import_file(
                nb.id,
                ImportRequest::file(&bad).named("Not A Name"),
                &|_| {},
                &CancellationToken::new(),
            )
            .unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::InvalidTableName);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grid_pages_are_served_while_a_long_query_runs_and_stale_ones_are_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tempfile::tempdir().unwrap();
        let file = csv_file(src.path(), 10_000);
        let engine = Arc::new(open(tmp.path(), Arc::new(crate::events::NullSink)));
        let nb = engine.create_notebook("Busy").unwrap().id;
        engine
            .import_file(
                nb,
                ImportRequest::file(&file).named("t"),
                &|_| {},
                &CancellationToken::new(),
            )
            .unwrap();

        // A query that would run for minutes holds a worker...
        let cell = engine.notebooks().add_cell(nb, CellKind::Sql, None, "SELECT a.value * b.value FROM generate_series(1, 100000) a CROSS JOIN generate_series(1, 100000) b".into()).unwrap();
        let cancel = CancellationToken::new();
        let busy = {
            let (engine, cancel) = (engine.clone(), cancel.clone());
            tokio::spawn(async move {
                engine
                    .run_cell_with(nb, cell.id, Arc::new(|_| {}), &cancel)
                    .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        // ...and a grid page still comes back at once.
        let started = Instant::now();
        let page = engine.page(nb, "t", None, 9_990, 10).await.unwrap();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        let mut reader =
            datafusion::arrow::ipc::reader::StreamReader::try_new(&page[..], None).unwrap();
        assert_eq!(reader.next().unwrap().unwrap().num_rows(), 10);
        cancel.cancel();
        assert_eq!(
            busy.await.unwrap().unwrap_err().code(),
            crate::ErrorCode::Cancelled
        );

        // A burst of page requests from one grid: the newest are served, the stale may be dropped.
        let requests: Vec<_> = (0..40u64)
            .map(|i| {
                let engine = engine.clone();
                tokio::spawn(async move { engine.page(nb, "t", None, i * 100, 100).await })
            })
            .collect();
        let mut served = 0;
        for r in requests {
            match r.await.unwrap() {
                Ok(_) => served += 1,
                Err(e) => assert_eq!(e.code(), crate::ErrorCode::Cancelled, "{e}"),
            }
        }
        assert!(served >= 3, "the newest requests are served: {served}");
        let stats = engine.queue_stats();
        assert_eq!(
            stats.started[0] as usize + stats.dropped_stale as usize,
            41,
            "{stats:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn undo_redo_transform_preview_and_diff_pages() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tempfile::tempdir().unwrap();
        let file = csv_file(src.path(), 3000);
        let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
        let nb = engine.create_notebook("Edits").unwrap().id;
        let none = CancellationToken::new();
        engine
            .import_file(nb, ImportRequest::file(&file).named("t"), &|_| {}, &none)
            .unwrap();
        let v1 = engine.catalog.version(nb, "t").unwrap();
        let edit = |row_id, value: &str| CellEdit {
            row_id,
            column: "city".into(),
            value: Some(value.into()),
        };
        let v2 = engine.edit_cells(nb, "t", &[edit(1, " Lyon  ")]).unwrap();
        let upper = Transform::SetColumn {
            column: "city".into(),
            expr: "upper(trim(city))".into(),
        };
        let preview = engine
            .preview_transform(nb, "t", &upper, Arc::new(|_| {}), &none)
            .await
            .unwrap();
        assert_eq!(preview.summary.changed, 3000, "every city changes case");
        assert_eq!(
            engine.catalog.version(nb, "t").unwrap().version,
            v2.version,
            "a preview changes nothing"
        );
        let applied = engine
            .apply_transform(nb, "t", &upper, Arc::new(|_| {}), &none)
            .await
            .unwrap();
        let after = engine.catalog.version(nb, "t").unwrap();
        // The preview's rows are exactly the applied table's rows.
        for row in &preview.sample.rows {
            let at = diff::positions(&after, &[row.row_id]);
            assert_eq!(
                diff::display_rows(&after, &at).unwrap()[0],
                row.new,
                "row {}",
                row.row_id
            );
        }
        assert_eq!(
            preview.sample.rows[1].new.as_ref().unwrap()[1].as_deref(),
            Some("LYON")
        );

        // Undo twice: the imported content again, the very same batches.
        engine.undo_redo(nb, "t", true).unwrap();
        let undone = engine.undo_redo(nb, "t", true).unwrap();
        assert!(undone.version > applied.version, "numbers only grow");
        let now = engine.catalog.version(nb, "t").unwrap();
        assert!(
            Arc::ptr_eq(&now.batches, &v1.batches),
            "undo returns the exact earlier version"
        );
        let versions = engine.table_versions(nb, "t").unwrap();
        assert!(!versions.can_undo && versions.can_redo);
        assert_eq!(versions.items.len(), 3);
        engine.undo_redo(nb, "t", false).unwrap();
        let redone = engine.undo_redo(nb, "t", false).unwrap();
        let now = engine.catalog.version(nb, "t").unwrap();
        assert!(
            Arc::ptr_eq(&now.batches, &after.batches),
            "redo returns the transformed version"
        );

        // Diff the imported version against now, and page it.
        let summary = engine
            .diff_versions(nb, "t", v1.version, redone.version, &none)
            .await
            .unwrap();
        assert_eq!(
            (summary.changed, summary.added, summary.removed),
            (3000, 0, 0)
        );
        assert_eq!(summary.changed_by_column, [("city".to_string(), 3000)]);
        let page = engine
            .diff_page(nb, "t", v1.version, redone.version, 100, 50)
            .await
            .unwrap();
        assert_eq!((page.total, page.rows.len()), (3000, 50));
        assert_eq!(page.rows[0].row_id, 100);
        assert_eq!(page.rows[0].changed, ["city"]);
        assert_eq!(
            page.rows[0].old.as_ref().unwrap()[1].as_deref(),
            Some("Paris")
        );
        assert_eq!(
            page.rows[0].new.as_ref().unwrap()[1].as_deref(),
            Some("PARIS")
        );
        let err = engine
            .diff_versions(nb, "t", 999, redone.version, &none)
            .await
            .unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::VersionNotFound);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_journal_rebuilds_unsaved_changes_exactly_after_a_crash() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tempfile::tempdir().unwrap();
        let file = csv_file(src.path(), 2000);
        let mut config = Config::default();
        config.snapshots.debounce_ms = 3_600_000; // nothing is snapshotted: only the journal
        config.snapshots.max_pending_changes = 1000;
        config.snapshots.max_wait_ms = 3_600_000;
        let paths = EnginePaths {
            data_dir: tmp.path().to_path_buf(),
            config_dir: None,
        };
        let none = CancellationToken::new();
        let (nb, before, expected_version) = {
            let engine = Engine::open(
                config.clone(),
                paths.clone(),
                Arc::new(crate::events::NullSink),
            )
            .unwrap();
            let nb = engine.create_notebook("Journal").unwrap().id;
            engine
                .import_file(nb, ImportRequest::file(&file).named("t"), &|_| {}, &none)
                .unwrap();
            let edit = |row_id, value: &str| CellEdit {
                row_id,
                column: "city".into(),
                value: Some(value.into()),
            };
            engine.edit_cells(nb, "t", &[edit(3, "Metz")]).unwrap();
            engine
                .edit_cells(nb, "t", &[edit(4, "Brest"), edit(5, "Albi")])
                .unwrap();
            engine
                .apply_transform(
                    nb,
                    "t",
                    &Transform::FilterRows {
                        predicate: "id % 10 <> 7".into(),
                    },
                    Arc::new(|_| {}),
                    &none,
                )
                .await
                .unwrap();
            engine.undo_redo(nb, "t", true).unwrap(); // the filter is undone...
            engine.undo_redo(nb, "t", false).unwrap(); // ...and redone
            engine.edit_cells(nb, "t", &[edit(8, "Nancy")]).unwrap();
            let before = engine.catalog.version(nb, "t").unwrap();
            assert_eq!(
                engine.table_history(nb, "t").unwrap().len(),
                1,
                "only the import was saved"
            );
            // A crash: no shutdown, no flush.
            std::mem::forget(engine);
            (nb, before.clone(), before.version)
        };
        // The forgotten engine still holds the workspace lock in this process: take it over
        // the way a new process would, by opening a fresh data dir copy.
        let copy = crate::recovery_model::crash_copy(tmp.path());
        let engine = Engine::open(
            config,
            EnginePaths {
                data_dir: copy.path().to_path_buf(),
                config_dir: None,
            },
            Arc::new(crate::events::NullSink),
        )
        .unwrap();
        let info = engine.tables(nb).unwrap();
        assert_eq!(
            info[0].version, expected_version,
            "replayed to the last acknowledged version"
        );
        let after = engine.catalog.version(nb, "t").unwrap();
        assert_eq!(after.rows, 1800);
        let d = diff::diff(&before, &after, &none).unwrap();
        assert!(
            d.is_empty(),
            "exactly what the user last saw: {:?}",
            d.summary(0, 0)
        );
        // The replayed steps can be undone like any others.
        let versions = engine.table_versions(nb, "t").unwrap();
        assert!(versions.can_undo);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_transform_task_is_retried_from_its_record() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tempfile::tempdir().unwrap();
        let file = csv_file(src.path(), 300);
        let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
        let nb = engine.create_notebook("Retry").unwrap().id;
        engine
            .import_file(
                nb,
                ImportRequest::file(&file).named("t"),
                &|_| {},
                &CancellationToken::new(),
            )
            .unwrap();
        let transform = Transform::FilterRows {
            predicate: "id < 100".into(),
        };
        // As if the app had crashed while it ran: recorded, started, never finished.
        let id = engine
            .begin_task(NewTask {
                kind: TaskKind::Transform,
                notebook: Some(nb),
                target: Some("t".into()),
                payload: serde_json::json!({ "transform": transform }),
                priority: Priority::UserVisible,
            })
            .unwrap();
        engine.start_task(Some(id));
        engine
            .tasks
            .finish(id, TaskStatus::Failed, Some("interrupted"))
            .unwrap();
        // The task list's Retry calls this from a command thread, inside the runtime.
        let task = tokio::task::block_in_place(|| engine.retry_task(id)).unwrap();
        assert_eq!(task.status, TaskStatus::Completed);
        assert_eq!(engine.tables(nb).unwrap()[0].rows, 100);
        assert_eq!(task.attempts, 2);
    }

    #[test]
    fn a_second_engine_on_the_same_workspace_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let _first = open(tmp.path(), Arc::new(crate::events::NullSink));
        let second = Engine::open(
            Config::default(),
            EnginePaths {
                data_dir: tmp.path().to_path_buf(),
                config_dir: None,
            },
            Arc::new(crate::events::NullSink),
        );
        assert_eq!(
            second.err().unwrap().code(),
            crate::ErrorCode::WorkspaceLocked
        );
    }
}

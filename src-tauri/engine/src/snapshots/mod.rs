//! Snapshots: every table persisted as Parquet in its notebook's `tables/` folder, debounced,
//! atomic, written on a dedicated persistence pool, with history and leases. The protocol and
//! its assumptions about the disk are in `DURABILITY.md`.
//!
//! - [`file`]: one generation file, its columns encoded in parallel, written through a temp
//!   file, fsynced, renamed, the folder fsynced; [`manifest`]: the commit record;
//!   [`store`]: commit + garbage collection, and opening a folder after a crash;
//!   [`leases`]: generations in use are never collected; [`faults`]: the writer's test seam.
//! - [`Snapshots`] (here): per-table debounce state and the planner thread that sleeps until
//!   the next snapshot is due and queues it at background priority on the engine's
//!   [`Scheduler`]; the job hands the encoding to the persistence pool, so neither the
//!   command threads nor the urgent queue workers ever encode or write a snapshot.

mod config;
pub use config::SnapshotConfig;

pub mod faults;
pub mod file;
pub mod leases;
pub mod manifest;
mod planner;
pub mod store;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::code::{ErrorCode, HasCode};
use crate::emit::Emitter;
use crate::metrics::Metrics;
use crate::queue::{Canceller, Job, JobKind, Priority, Scheduler};
use crate::tables::table::TableVersion;
use crate::tasks::TaskStore;
use crate::{ids::NotebookId, save_state::SaveState};

pub use file::{Codec, WriteProgress, Written};
pub use leases::{Asset, Lease, Leases};
pub use manifest::Generation;
pub use store::{Opened, TABLES_DIR};

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("the snapshot could not be written: {0}")]
    Write(#[from] crate::durable::DurableError),
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} could not be encoded as Parquet: {message}")]
    Encode { path: PathBuf, message: String },
    #[error("the saved copy {path} cannot be read: {message}")]
    Unreadable { path: PathBuf, message: String },
    #[error("table {table} has no saved version {generation} (only the last few are kept)")]
    GenerationNotFound { table: String, generation: u64 },
    #[error("the notebook has no folder on disk yet")]
    NoFolder,
    #[error("the snapshot was cancelled")]
    Cancelled,
    #[error("table {0} is still being saved; try again in a moment")]
    Busy(String),
}

impl SnapshotError {
    fn encode(path: &Path, e: impl std::fmt::Display) -> SnapshotError {
        // The writer's I/O errors (disk full) arrive wrapped in Parquet's error type.
        SnapshotError::Encode {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}

impl HasCode for SnapshotError {
    fn code(&self) -> ErrorCode {
        match self {
            SnapshotError::Write(e) => e.code(),
            SnapshotError::Io { .. } | SnapshotError::Encode { .. } | SnapshotError::NoFolder => {
                ErrorCode::Io
            }
            SnapshotError::Unreadable { .. } => ErrorCode::FileUnreadable,
            SnapshotError::GenerationNotFound { .. } => ErrorCode::GenerationNotFound,
            SnapshotError::Cancelled => ErrorCode::Cancelled,
            SnapshotError::Busy(_) => ErrorCode::Io,
        }
    }
}

/// What happened to a table's saved copies, for whoever listens.
#[derive(Debug, Clone, PartialEq)]
pub enum SnapshotEvent {
    /// Something the user should know: a table was opened from an older saved copy because
    /// the newest is damaged, or could not be opened at all.
    Notice {
        notebook: NotebookId,
        table: Option<String>,
        message: String,
    },
    /// A table's snapshot state changed (pending, saving with progress, saved, failed).
    SaveStatus(TableSaveStatus),
}

/// Encodes and writes generation files on the persistence pool.
pub struct Writer {
    pool: rayon::ThreadPool,
    codec: Codec,
    faults: Faults,
    metrics: Arc<Metrics>,
}

pub use faults::{Fault, Faults};

impl Writer {
    pub fn new(threads: usize, codec: Codec, metrics: Arc<Metrics>) -> std::io::Result<Writer> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(|i| format!("quire-persist-{i}"))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Writer {
            pool,
            codec,
            faults: Faults::default(),
            metrics,
        })
    }

    /// Writes one generation file; the work runs on the pool even when called from elsewhere.
    pub fn write(
        &self,
        dir: &Path,
        table: &str,
        generation: u64,
        version: &TableVersion,
        progress: &(dyn Fn(WriteProgress) + Sync),
        cancel: &CancellationToken,
    ) -> Result<Written, SnapshotError> {
        self.pool.install(|| {
            file::write(
                dir,
                table,
                generation,
                version,
                self.codec,
                &self.faults,
                &self.metrics,
                progress,
                cancel,
            )
        })
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }
}

/// What the save indicator shows for one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct TableSaveStatus {
    pub notebook: NotebookId,
    pub table: String,
    pub status: SaveState,
    /// The table's current version and the newest one durably committed.
    pub version: u64,
    pub saved_version: u64,
    pub generation: u64,
    /// Progress of the running snapshot (0 of 0 when none runs).
    pub rows_written: u64,
    pub total_rows: u64,
    pub bytes_written: u64,
}

/// What a flush of the snapshots did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct SnapshotFlush {
    /// Tables that had unsaved changes and are saved now.
    pub saved: u32,
    /// Tables whose snapshot failed, with the reason.
    pub failed: Vec<(String, String)>,
    /// The flush stopped waiting before everything was saved.
    pub timed_out: bool,
}

type Key = (NotebookId, String);

/// Finds a notebook's folder at the moment a snapshot is written (it moves when renamed).
pub type FolderOf = Arc<dyn Fn(NotebookId) -> Option<PathBuf> + Send + Sync>;

struct InFlight {
    version: u64,
    /// The task row recording this snapshot, if the store took it.
    task: Option<u64>,
    /// None for the moment between reserving the write and queueing it.
    job: Option<Job<()>>,
    /// The pending changes the write took, given back if it does not commit.
    first_change: Option<Instant>,
    changes: u32,
}

struct Failure {
    message: String,
    at: Instant,
    retry_at: Instant,
    in_a_row: u32,
}

struct TableState {
    latest: Arc<TableVersion>,
    saved_version: u64,
    generation: u64,
    changes: u32,
    first_change: Option<Instant>,
    last_change: Option<Instant>,
    force: bool,
    in_flight: Option<InFlight>,
    failure: Option<Failure>,
    progress: WriteProgress,
    /// A snapshot task found pending after a restart, run by this table's next snapshot.
    adopted_task: Option<u64>,
}

impl TableState {
    fn saved(latest: Arc<TableVersion>, generation: u64) -> TableState {
        TableState {
            saved_version: latest.version,
            latest,
            generation,
            changes: 0,
            first_change: None,
            last_change: None,
            force: false,
            in_flight: None,
            failure: None,
            progress: WriteProgress::default(),
            adopted_task: None,
        }
    }

    fn dirty(&self) -> bool {
        self.latest.version > self.saved_version
    }

    fn status(&self, key: &Key) -> TableSaveStatus {
        let status = if self.in_flight.is_some() {
            SaveState::Saving
        } else if let (true, Some(f)) = (self.dirty(), &self.failure) {
            SaveState::Failed {
                message: f.message.clone(),
            }
        } else if self.dirty() {
            SaveState::Unsaved
        } else {
            SaveState::Saved
        };
        TableSaveStatus {
            notebook: key.0,
            table: key.1.clone(),
            status,
            version: self.latest.version,
            saved_version: self.saved_version,
            generation: self.generation,
            rows_written: self.progress.rows,
            total_rows: self.progress.total_rows,
            bytes_written: self.progress.bytes,
        }
    }

    /// When the next snapshot of this table should start, if it has unsaved changes.
    fn due_at(&self, config: &SnapshotConfig, now: Instant) -> Option<Instant> {
        if !self.dirty() {
            return None;
        }
        let retry_at = self.failure.as_ref().map(|f| f.retry_at);
        if self.force {
            return Some(retry_at.map_or(now, |r| r.max(now)));
        }
        let changes = self.changes + self.in_flight.as_ref().map_or(0, |f| f.changes);
        let quiet = self
            .last_change
            .map(|t| t + Duration::from_millis(config.debounce_ms));
        let oldest = oldest(
            self.first_change,
            self.in_flight.as_ref().and_then(|f| f.first_change),
        );
        let waited = oldest.map(|t| t + Duration::from_millis(config.max_wait_ms));
        let mut due = match (quiet, waited) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b).unwrap_or(now),
        };
        if changes >= config.max_pending_changes.max(1) {
            due = now;
        }
        if let Some(r) = retry_at {
            due = due.max(r);
        }
        Some(due)
    }
}

fn oldest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Doubling waits between retries of a failed snapshot: 1 s, 2 s, 4 s ... at most 60 s.
fn retry_backoff(in_a_row: u32) -> Duration {
    Duration::from_secs(1u64 << in_a_row.saturating_sub(1).min(6)).min(Duration::from_secs(60))
}

#[derive(Default)]
struct State {
    tables: HashMap<Key, TableState>,
    manifests: HashMap<NotebookId, Arc<Mutex<manifest::Manifest>>>,
    stopping: bool,
}

struct Core {
    state: Mutex<State>,
    /// Wakes the planner (a change, a finished write) and flushes waiting for writes to end.
    wake: Condvar,
    config: SnapshotConfig,
    writer: Writer,
    leases: Leases,
    events: Emitter<SnapshotEvent>,
    folder_of: FolderOf,
    /// Records each snapshot as a task and drops the journal entries a commit covers.
    tasks: Option<Arc<TaskStore>>,
    /// Cancelled by `stop`: every write checks it, including one whose queue job is not yet
    /// attached to its reservation.
    stopped: CancellationToken,
}

/// Every table's snapshots: debounce, the planner thread, flush, history, leases.
pub struct Snapshots {
    core: Arc<Core>,
    planner: Mutex<Option<JoinHandle<()>>>,
}

impl Snapshots {
    pub fn start(
        config: SnapshotConfig,
        writer: Writer,
        scheduler: Arc<Scheduler>,
        events: impl Into<Emitter<SnapshotEvent>>,
        folder_of: FolderOf,
        tasks: Option<Arc<TaskStore>>,
    ) -> std::io::Result<Snapshots> {
        let core = Arc::new(Core {
            state: Mutex::default(),
            wake: Condvar::new(),
            config,
            writer,
            leases: tasks.clone().map(Leases::recorded).unwrap_or_default(),
            events: events.into(),
            folder_of,
            tasks,
            stopped: CancellationToken::new(),
        });
        let planner_core = core.clone();
        let planner = std::thread::Builder::new()
            .name("quire-snapshot-planner".into())
            .spawn(move || planner::plan(planner_core, scheduler))?;
        Ok(Snapshots {
            core,
            planner: Mutex::new(Some(planner)),
        })
    }

    /// Opens a notebook's saved tables (newest readable generation of each) and remembers
    /// them as saved. Fallbacks and damage are logged and announced.
    pub fn open_folder(
        &self,
        notebook: NotebookId,
        notebook_dir: &Path,
    ) -> Result<Vec<Opened>, SnapshotError> {
        let opened = store::open(notebook_dir)?;
        if opened.swept > 0 {
            log::info!(
                "removed {} unfinished snapshot files in {}",
                opened.swept,
                notebook_dir.display()
            );
        }
        let mut st = self.core.lock();
        st.manifests
            .insert(notebook, Arc::new(Mutex::new(opened.manifest)));
        for t in &opened.tables {
            st.tables.insert(
                (notebook, t.name.clone()),
                TableState::saved(Arc::new(t.version.clone()), t.generation.generation),
            );
        }
        drop(st);
        for (table, message) in opened
            .tables
            .iter()
            .filter_map(|t| t.fallback.clone().map(|f| (Some(t.name.clone()), f)))
            .chain(opened.warnings.into_iter().map(|w| (None, w)))
        {
            self.core.events.emit(SnapshotEvent::Notice {
                notebook,
                table,
                message,
            });
        }
        Ok(opened.tables)
    }

    /// Writes the first generation of a new table now, on the persistence pool, and starts
    /// tracking it. The caller adds the table only once this returned Ok.
    pub fn create(
        &self,
        notebook: NotebookId,
        notebook_dir: &Path,
        table: &str,
        version: Arc<TableVersion>,
    ) -> Result<Generation, SnapshotError> {
        let key = (notebook, table.to_string());
        let manifest = self.core.manifest(notebook, notebook_dir)?;
        let committed = store::commit(
            &self.core.context(notebook, notebook_dir),
            &manifest,
            table,
            &version,
            &|_| {},
            &CancellationToken::new(),
        )?;
        log::info!(
            "saved new table {table} of notebook {notebook}: generation {}, {} rows, {} bytes",
            committed.generation,
            committed.rows,
            committed.bytes
        );
        let mut st = self.core.lock();
        let ts = TableState::saved(version, committed.generation);
        self.core.announce(&key, &ts);
        st.tables.insert(key, ts);
        Ok(committed)
    }

    /// A table has a new version: a snapshot is due after the quiet window, or at once when
    /// enough changes piled up. Changes arriving during a write coalesce into the next one.
    pub fn changed(&self, notebook: NotebookId, table: &str, version: Arc<TableVersion>) {
        let key = (notebook, table.to_string());
        let now = Instant::now();
        let mut st = self.core.lock();
        let ts = match st.tables.get_mut(&key) {
            Some(ts) if version.version <= ts.latest.version => return, // an older version
            Some(ts) => ts,
            None => st.tables.entry(key.clone()).or_insert_with(|| TableState {
                saved_version: 0,
                ..TableState::saved(version.clone(), 0)
            }),
        };
        ts.latest = version;
        ts.changes += 1;
        ts.first_change.get_or_insert(now);
        ts.last_change = Some(now);
        self.core.announce(&key, ts);
        drop(st);
        self.core.wake.notify_all();
    }

    /// Starts every pending snapshot now and waits until each is committed or failed, or until
    /// `limit` passes.
    pub fn flush(&self, limit: Option<Duration>) -> SnapshotFlush {
        let started = Instant::now();
        let mut st = self.core.lock();
        let mut waiting: Vec<Key> = Vec::new();
        for (key, ts) in st.tables.iter_mut() {
            if ts.dirty() {
                ts.force = true;
                if let Some(f) = &mut ts.failure {
                    f.retry_at = started;
                }
                waiting.push(key.clone());
            }
        }
        self.core.wake.notify_all();
        let mut report = SnapshotFlush::default();
        loop {
            let open: Vec<&Key> = waiting
                .iter()
                .filter(|k| {
                    st.tables.get(*k).is_some_and(|ts| {
                        ts.dirty()
                            && !ts
                                .failure
                                .as_ref()
                                .is_some_and(|f| f.at >= started && ts.in_flight.is_none())
                    })
                })
                .collect();
            if open.is_empty() {
                break;
            }
            let remaining = match limit {
                Some(l) if started.elapsed() >= l => {
                    report.timed_out = true;
                    break;
                }
                Some(l) => l - started.elapsed(),
                None => Duration::from_secs(3600),
            };
            st = self
                .core
                .wake
                .wait_timeout(st, remaining)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        for key in &waiting {
            match st.tables.get(key) {
                Some(ts) if !ts.dirty() => report.saved += 1,
                Some(ts) => {
                    if let Some(f) = &ts.failure {
                        report.failed.push((key.1.clone(), f.message.clone()));
                    }
                }
                None => {}
            }
        }
        report
    }

    /// Whether any table has changes not yet committed (for the close prompt).
    pub fn pending(&self) -> Vec<TableSaveStatus> {
        let st = self.core.lock();
        st.tables
            .iter()
            .filter(|(_, ts)| ts.dirty() || ts.in_flight.is_some())
            .map(|(k, ts)| ts.status(k))
            .collect()
    }

    pub fn status(&self, notebook: NotebookId) -> Vec<TableSaveStatus> {
        let st = self.core.lock();
        let mut out: Vec<_> = st
            .tables
            .iter()
            .filter(|(k, _)| k.0 == notebook)
            .map(|(k, ts)| ts.status(k))
            .collect();
        out.sort_by(|a, b| a.table.cmp(&b.table));
        out
    }

    /// Runs a snapshot task found pending after a restart as this table's next snapshot, now.
    pub fn adopt(&self, notebook: NotebookId, table: &str, task: u64) {
        let mut st = self.core.lock();
        match st.tables.get_mut(&(notebook, table.to_string())) {
            Some(ts) if ts.dirty() => {
                ts.adopted_task = Some(task);
                ts.force = true;
            }
            _ => {
                // Nothing left to save: what it was saving is committed (or was replayed and
                // saved already).
                if let Some(tasks) = &self.core.tasks {
                    let _ = tasks.finish(task, crate::tasks::TaskStatus::Completed, None);
                }
            }
        }
        drop(st);
        self.core.wake.notify_all();
    }

    /// Retries a failed snapshot now instead of after its backoff.
    pub fn retry(&self, notebook: NotebookId, table: &str) {
        let mut st = self.core.lock();
        if let Some(ts) = st.tables.get_mut(&(notebook, table.to_string())) {
            ts.force = ts.dirty();
            if let Some(f) = &mut ts.failure {
                f.retry_at = Instant::now();
            }
        }
        drop(st);
        self.core.wake.notify_all();
    }

    /// A table's committed generations, newest first.
    pub fn history(&self, notebook: NotebookId, table: &str) -> Vec<Generation> {
        let manifest = self.core.lock().manifests.get(&notebook).cloned();
        let Some(manifest) = manifest else {
            return Vec::new();
        };
        let m = manifest.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = m
            .tables
            .get(table)
            .map(|t| t.generations.clone())
            .unwrap_or_default();
        out.reverse();
        out
    }

    /// Reads a committed generation under a lease held by `holder` (a restore, a diff, an
    /// export); the lease keeps the file from garbage collection until it is dropped.
    pub fn read_generation(
        &self,
        notebook: NotebookId,
        table: &str,
        generation: u64,
        holder: &str,
    ) -> Result<(TableVersion, Lease), SnapshotError> {
        let lease = self.lease(
            notebook,
            table,
            generation,
            holder,
            Duration::from_secs(600),
        );
        let not_found = || SnapshotError::GenerationNotFound {
            table: table.to_string(),
            generation,
        };
        let g = self
            .history(notebook, table)
            .into_iter()
            .find(|g| g.generation == generation)
            .ok_or_else(not_found)?;
        let dir = (self.core.folder_of)(notebook).ok_or(SnapshotError::NoFolder)?;
        let path = dir
            .join(TABLES_DIR)
            .join(file::file_name(table, generation));
        Ok((file::read(&path, g.version)?, lease))
    }

    pub fn lease(
        &self,
        notebook: NotebookId,
        table: &str,
        generation: u64,
        holder: &str,
        ttl: Duration,
    ) -> Lease {
        self.core.leases.take(
            Asset {
                notebook,
                table: table.to_string(),
                generation,
            },
            holder,
            ttl,
        )
    }

    /// Deletes generations beyond the history that are no longer leased (commits do this too).
    pub fn collect(&self, notebook: NotebookId, table: &str) -> Result<Vec<u64>, SnapshotError> {
        let dir = (self.core.folder_of)(notebook).ok_or(SnapshotError::NoFolder)?;
        let manifest = self.core.manifest(notebook, &dir)?;
        store::collect(&self.core.context(notebook, &dir), &manifest, table)
    }

    /// Deletes a table's snapshots: its pending changes are dropped, a write in flight is
    /// cancelled and waited for (so it cannot commit afterwards), then the manifest stops naming
    /// the table and its files go. Returns how many generations were removed.
    pub fn delete_table(&self, notebook: NotebookId, table: &str) -> Result<usize, SnapshotError> {
        let key = (notebook, table.to_string());
        let mut saved_before = None;
        let canceller = {
            let mut st = self.core.lock();
            st.tables.get_mut(&key).and_then(|ts| {
                // Nothing is due any more: the planner starts no new write for it.
                saved_before = Some(ts.saved_version);
                ts.saved_version = ts.latest.version;
                ts.changes = 0;
                ts.force = false;
                ts.failure = None;
                ts.in_flight
                    .as_ref()
                    .and_then(|f| f.job.as_ref())
                    .map(|j| j.canceller())
            })
        };
        // Without the lock: a job still waiting is dropped on this thread and its cleanup
        // takes the lock.
        if let Some(c) = canceller {
            c.cancel();
        }
        let (mut st, ended) = self.core.wait_until(Duration::from_secs(10), |st| {
            st.tables.get(&key).is_none_or(|ts| ts.in_flight.is_none())
        });
        if !ended {
            // The table stays: its unsaved changes are due again.
            if let (Some(ts), Some(saved)) = (st.tables.get_mut(&key), saved_before) {
                ts.saved_version = ts.saved_version.min(saved);
                ts.force = true;
            }
            drop(st);
            self.core.wake.notify_all();
            return Err(SnapshotError::Busy(table.to_string()));
        }
        st.tables.remove(&key);
        drop(st);
        let dir = (self.core.folder_of)(notebook).ok_or(SnapshotError::NoFolder)?;
        let manifest = self.core.manifest(notebook, &dir)?;
        store::remove_table(&self.core.context(notebook, &dir), &manifest, table)
    }

    /// Forgets a deleted notebook's tables; a write in flight is cancelled.
    pub fn forget(&self, notebook: NotebookId) {
        let mut st = self.core.lock();
        let mut cancel = Vec::new();
        st.tables.retain(|k, ts| {
            if k.0 == notebook {
                if let Some(job) = ts.in_flight.as_ref().and_then(|f| f.job.as_ref()) {
                    cancel.push(job.canceller());
                }
            }
            k.0 != notebook
        });
        st.manifests.remove(&notebook);
        // Cancelled without the lock: a job still waiting is dropped on this thread, and its
        // cleanup (`Unrun`) takes the lock.
        drop(st);
        cancel.iter().for_each(Canceller::cancel);
    }

    /// The writer's fault seam, for tests that prove a failed write leaves the previous
    /// generation intact.
    pub fn faults(&self) -> &Faults {
        self.core.writer.faults()
    }

    /// Flushes every pending snapshot (bounded by `limit`), then stops the planner.
    /// Idempotent.
    pub fn shutdown(&self, limit: Duration) -> SnapshotFlush {
        let report = self.flush(Some(limit));
        self.stop();
        report
    }

    /// Stops at once: nothing more is queued, a write in progress is cancelled, and this waits
    /// (one row group at most, bounded) until it has removed its temp file. For closing
    /// without waiting.
    pub fn stop_now(&self) {
        self.stop();
        let (st, ended) = self.core.wait_until(Duration::from_secs(10), |st| {
            st.tables.values().all(|ts| ts.in_flight.is_none())
        });
        drop(st);
        if !ended {
            log::warn!("a cancelled snapshot did not stop within 10 s; its temp file is removed at the next start");
        }
    }

    fn stop(&self) {
        let mut st = self.core.lock();
        st.stopping = true;
        self.core.stopped.cancel();
        let cancel: Vec<Canceller> = st
            .tables
            .values()
            .filter_map(|ts| ts.in_flight.as_ref().and_then(|f| f.job.as_ref()))
            .map(|job| job.canceller())
            .collect();
        drop(st);
        cancel.iter().for_each(Canceller::cancel);
        self.core.wake.notify_all();
        let planner = self
            .planner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(p) = planner {
            let _ = p.join();
        }
    }
}

impl Drop for Snapshots {
    fn drop(&mut self) {
        self.stop();
    }
}

//! The task store: every cell run, import, transform, snapshot and export is recorded in
//! SQLite before it is queued, its status moves with the work, and after a crash the store
//! says what was pending or running. The same database holds the edit journal: every
//! acknowledged table change, appended before its command returns, replayed on top of the
//! newest snapshot after a crash (see `DURABILITY.md`), and the notebook drafts: each
//! notebook's newest unsaved state, group-committed before an edit is acknowledged.
//!
//! One connection behind a mutex: SQLite serialises writers anyway, and every statement here
//! is a single-row insert or update (tens of microseconds in WAL mode). Waiting for a task is
//! event-driven: finishing a task bumps a `watch` channel that waiters await.

mod config;
pub use config::TaskConfig;

mod drafts;
mod journal;
mod payload;
pub mod schema;
mod tracker;

pub use payload::{FolderImport, TaskPayload};
pub use tracker::{Tracked, Tracker};

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::code::{ErrorCode, HasCode};
use crate::ids::NotebookId;
use crate::metrics::{Counter, Metrics};
use crate::queue::Priority;

/// The database's file name in the app's data dir.
pub const FILE_NAME: &str = "tasks.sqlite";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    CellRun,
    Import,
    Transform,
    Snapshot,
    Export,
}

impl TaskKind {
    /// Kinds that run again by themselves at the next start when a crash cut them short. An
    /// export is not one: it writes to a file the user chose in an earlier session, which may
    /// hold something else by now, so it waits for Retry.
    pub fn resumes_by_itself(self) -> bool {
        matches!(
            self,
            TaskKind::Snapshot | TaskKind::Import | TaskKind::CellRun
        )
    }

    /// Kinds that are safe to run again from the start after a crash.
    pub fn idempotent(self) -> bool {
        matches!(
            self,
            TaskKind::Snapshot | TaskKind::Import | TaskKind::Export
        )
    }

    /// How long waiting for a task of this kind may take before the waiter gives up.
    pub fn timeout(self) -> Duration {
        match self {
            TaskKind::Snapshot => Duration::from_secs(10 * 60),
            TaskKind::Import | TaskKind::Export => Duration::from_secs(60 * 60),
            TaskKind::Transform | TaskKind::CellRun => Duration::from_secs(4 * 60 * 60),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            TaskKind::CellRun => "cell_run",
            TaskKind::Import => "import",
            TaskKind::Transform => "transform",
            TaskKind::Snapshot => "snapshot",
            TaskKind::Export => "export",
        }
    }

    fn parse(s: &str) -> TaskKind {
        match s {
            "cell_run" => TaskKind::CellRun,
            "import" => TaskKind::Import,
            "transform" => TaskKind::Transform,
            "export" => TaskKind::Export,
            _ => TaskKind::Snapshot,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Pending,
    Running,
    Completed,
    Failed,
    Cancelled,
    /// Found running after a crash and not safe to run again by itself: offered for retry.
    Interrupted,
}

impl TaskStatus {
    fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "pending",
            TaskStatus::Running => "running",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
            TaskStatus::Interrupted => "interrupted",
        }
    }

    fn parse(s: &str) -> TaskStatus {
        match s {
            "pending" => TaskStatus::Pending,
            "running" => TaskStatus::Running,
            "completed" => TaskStatus::Completed,
            "failed" => TaskStatus::Failed,
            "cancelled" => TaskStatus::Cancelled,
            _ => TaskStatus::Interrupted,
        }
    }

    pub fn finished(self) -> bool {
        matches!(
            self,
            TaskStatus::Completed | TaskStatus::Failed | TaskStatus::Cancelled
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("the task store could not be written: {0}")]
    Store(String),
    #[error("there is no task {0}")]
    NotFound(u64),
    #[error("waiting for task {0} timed out")]
    TimedOut(u64),
    /// The store (and the edit journal in it) cannot be opened; nothing was changed.
    #[error("the task list {path} was written by a newer version of Quire ({detail}); open this workspace with that version, or move the file away to start an empty task list (unsaved table edits in it would be lost)")]
    Newer { path: PathBuf, detail: String },
    #[error("the task list {path} cannot be opened ({detail}); it was left as it is, because it holds table edits not yet saved. Free disk space or fix its permissions, then start Quire again")]
    Unavailable { path: PathBuf, detail: String },
}

impl From<rusqlite::Error> for TaskError {
    /// The failures a user can act on, in words; the rest as SQLite says them.
    fn from(e: rusqlite::Error) -> TaskError {
        use rusqlite::ErrorCode as Code;
        let said = match e.sqlite_error_code() {
            Some(Code::DiskFull) => {
                "the disk is full (or the task list reached its size limit); free some space \
                 and try again"
                    .to_string()
            }
            Some(Code::DatabaseBusy | Code::DatabaseLocked) => {
                "another program is holding the task list (tasks.sqlite) locked; close it and \
                 try again"
                    .to_string()
            }
            Some(Code::ReadOnly | Code::PermissionDenied) => {
                "the task list (tasks.sqlite) cannot be written: check its permissions".to_string()
            }
            _ => e.to_string(),
        };
        TaskError::Store(said)
    }
}

impl HasCode for TaskError {
    fn code(&self) -> ErrorCode {
        match self {
            TaskError::Store(_) => ErrorCode::Io,
            TaskError::NotFound(_) => ErrorCode::TaskNotFound,
            TaskError::TimedOut(_) => ErrorCode::Cancelled,
            TaskError::Newer { .. } | TaskError::Unavailable { .. } => ErrorCode::Io,
        }
    }
}

/// A task to record.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub kind: TaskKind,
    pub notebook: Option<NotebookId>,
    /// What it works on: a table, a file, a cell.
    pub target: Option<String>,
    /// Everything needed to run it again, as JSON.
    pub payload: serde_json::Value,
    pub priority: Priority,
}

/// A recorded task, as the tasks panel shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct Task {
    pub id: u64,
    pub kind: TaskKind,
    pub notebook: Option<String>,
    pub target: Option<String>,
    pub payload: String,
    pub priority: Priority,
    pub status: TaskStatus,
    pub attempts: u32,
    pub created_ms: i64,
    pub started_ms: Option<i64>,
    pub finished_ms: Option<i64>,
    pub error: Option<String>,
    /// 0 to 1 while running, when the work reports it.
    pub progress: Option<f64>,
}

/// Counts by status, and live leases.
#[derive(Debug, Clone, Default, PartialEq, Serialize, specta::Type)]
pub struct TaskStats {
    pub pending: u64,
    pub running: u64,
    pub completed: u64,
    pub failed: u64,
    /// Of `failed`, those that ended since this store was opened (this run of the app): what
    /// the status bar counts, so a clean start does not open on earlier sessions' failures.
    pub failed_this_session: u64,
    pub cancelled: u64,
    pub interrupted: u64,
    pub leases: u64,
    /// Journal entries not yet covered by a snapshot.
    pub journal: u64,
}

/// What a restart found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, specta::Type)]
pub struct Recovery {
    /// Pending tasks, and running ones that are safe to run again, in order: to run again.
    pub requeued: Vec<Task>,
    /// Running tasks that are not safe to run again: offered for retry.
    pub interrupted: Vec<Task>,
    /// Notebooks whose unsaved edits came back from their drafts.
    pub notebooks: u32,
}

impl Recovery {
    /// "Recovered 2 saves and 1 import after an unexpected exit", or None when nothing was.
    pub fn message(&self) -> Option<String> {
        let mut counts: Vec<(TaskKind, usize)> = Vec::new();
        for t in self.requeued.iter().chain(&self.interrupted) {
            match counts.iter_mut().find(|(k, _)| *k == t.kind) {
                Some((_, n)) => *n += 1,
                None => counts.push((t.kind, 1)),
            }
        }
        if counts.is_empty() && self.notebooks == 0 {
            return None;
        }
        let mut words: Vec<String> = Vec::new();
        if self.notebooks > 0 {
            let n = self.notebooks;
            words.push(format!(
                "unsaved edits of {n} {}",
                if n == 1 { "notebook" } else { "notebooks" }
            ));
        }
        words.extend(counts.into_iter().map(|(k, n)| {
            let (one, many) = match k {
                TaskKind::Snapshot => ("save", "saves"),
                TaskKind::Import => ("import", "imports"),
                TaskKind::Export => ("export", "exports"),
                TaskKind::Transform => ("transform", "transforms"),
                TaskKind::CellRun => ("cell run", "cell runs"),
            };
            format!("{n} {}", if n == 1 { one } else { many })
        }));
        let list = match words.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => words.join(""),
        };
        Some(format!("Recovered {list} after an unexpected exit"))
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn priority_from(level: i64) -> Priority {
    match level {
        0 => Priority::Urgent,
        1 => Priority::UserVisible,
        2 => Priority::Background,
        _ => Priority::Idle,
    }
}

const COLUMNS: &str = "id, kind, notebook, target, payload, priority, status, attempts, created_ms, started_ms, finished_ms, error, progress";

fn task_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Task> {
    Ok(Task {
        id: r.get::<_, i64>(0)? as u64,
        kind: TaskKind::parse(&r.get::<_, String>(1)?),
        notebook: r.get(2)?,
        target: r.get(3)?,
        payload: r.get(4)?,
        priority: priority_from(r.get(5)?),
        status: TaskStatus::parse(&r.get::<_, String>(6)?),
        attempts: r.get(7)?,
        created_ms: r.get(8)?,
        started_ms: r.get(9)?,
        finished_ms: r.get(10)?,
        error: r.get(11)?,
        progress: r.get(12)?,
    })
}

/// The SQLite task store and edit journal.
pub struct TaskStore {
    conn: Mutex<Connection>,
    /// Bumped whenever a task finishes; waiters await it instead of polling.
    finished: tokio::sync::watch::Sender<u64>,
    path: PathBuf,
    moved_aside: Option<PathBuf>,
    metrics: Arc<Metrics>,
    /// Finished tasks kept (newest first); 0 keeps all until `cleanup`.
    keep_finished: usize,
    finishes: std::sync::atomic::AtomicUsize,
    drafts: drafts::GroupCommit,
    /// Every commit syncs (set by the bench); otherwise only [`TaskStore::synced`] ones do.
    full_sync: std::sync::atomic::AtomicBool,
    /// When this store was opened (ms since the epoch): failures since count as this session's.
    opened_ms: i64,
    /// No commit syncs, edits included: only the `durability` bench sets it, to measure what
    /// the sync costs.
    unsynced_edits: std::sync::atomic::AtomicBool,
}

/// Finished tasks beyond the cap are deleted once per `cap / 8` finishes (at most 64), so the
/// table stays under `keep_finished + prune_every()` finished rows without a DELETE per task.
const PRUNE_EVERY_MAX: usize = 64;

impl TaskStore {
    /// Opens (creating, migrating, or replacing a damaged file) the store at `path`.
    pub fn open(path: &Path) -> Result<TaskStore, TaskError> {
        let opened = schema::open(path).map_err(|e| match e {
            schema::OpenError::Newer(detail) => TaskError::Newer {
                path: path.to_path_buf(),
                detail,
            },
            schema::OpenError::Unavailable(detail) => TaskError::Unavailable {
                path: path.to_path_buf(),
                detail,
            },
        })?;
        Ok(TaskStore {
            conn: Mutex::new(opened.conn),
            finished: tokio::sync::watch::channel(0).0,
            path: path.to_path_buf(),
            moved_aside: opened.moved_aside,
            metrics: Arc::default(),
            keep_finished: 0,
            finishes: Default::default(),
            drafts: Default::default(),
            full_sync: Default::default(),
            opened_ms: now_ms(),
            unsynced_edits: Default::default(),
        })
    }

    /// Keeps at most about `n` finished tasks (the newest), whatever their age.
    pub fn with_finished_cap(mut self, n: usize) -> TaskStore {
        self.keep_finished = n;
        self
    }

    /// Counts task transitions and checkpoints in the engine's metrics.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> TaskStore {
        self.metrics = metrics;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where a damaged store was moved, if it was (the user is told).
    pub fn moved_aside(&self) -> Option<&Path> {
        self.moved_aside.as_deref()
    }

    /// Switches `synchronous` for task bookkeeping between NORMAL (Quire's choice) and FULL
    /// (an fsync of the WAL on every commit): the `tasks` bench measures what FULL would cost.
    /// Journal entries and drafts always commit with FULL ([`synced`]).
    pub fn set_full_sync(&self, full: bool) -> Result<(), TaskError> {
        self.full_sync
            .store(full, std::sync::atomic::Ordering::Relaxed);
        let mode = if full { "FULL" } else { "NORMAL" };
        Ok(self.lock().pragma_update(None, "synchronous", mode)?)
    }

    /// Commits edits without a sync, as task bookkeeping is (`synchronous=NORMAL` throughout):
    /// survives a killed process, not a power cut. For measuring what the sync costs only.
    pub fn set_unsynced_edits(&self, unsynced: bool) {
        self.unsynced_edits
            .store(unsynced, std::sync::atomic::Ordering::Relaxed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `write` with `synchronous=FULL`, so its commit syncs the WAL before returning: an
    /// acknowledged edit (journal entry, notebook draft) survives a power cut, where task
    /// bookkeeping (NORMAL) survives a killed process. See DURABILITY.md.
    /// Caps the store's file at the pages it has now, as a full disk would (tests).
    #[cfg(test)]
    pub(crate) fn cap_pages_for_test(&self) {
        let conn = self.lock();
        let pages: i64 = conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .expect("page_count");
        conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
            .expect("max_page_count");
    }

    /// Lifts [`TaskStore::cap_pages_for_test`]'s cap.
    #[cfg(test)]
    pub(crate) fn uncap_pages_for_test(&self) {
        self.lock()
            .query_row("PRAGMA max_page_count = 1073741823", [], |_| Ok(()))
            .expect("max_page_count");
    }

    /// Sets how long a write waits for another connection's lock (tests).
    #[cfg(test)]
    pub(crate) fn busy_timeout_for_test(&self, timeout: std::time::Duration) {
        self.lock().busy_timeout(timeout).expect("busy_timeout");
    }

    fn synced<T>(
        &self,
        write: impl FnOnce(&mut Connection) -> Result<T, TaskError>,
    ) -> Result<T, TaskError> {
        let mut conn = self.lock();
        let relaxed = std::sync::atomic::Ordering::Relaxed;
        if self.full_sync.load(relaxed) || self.unsynced_edits.load(relaxed) {
            let out = write(&mut conn)?;
            self.traced(&conn, !self.unsynced_edits.load(relaxed));
            return Ok(out);
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        let out = write(&mut conn);
        let back = conn.pragma_update(None, "synchronous", "NORMAL");
        let out = out?;
        self.traced(&conn, true);
        back?;
        Ok(out)
    }

    /// Runs one statement that removes what is covered elsewhere (journal entries a snapshot
    /// holds, drafts a notebook file holds, entries that can never apply), with the
    /// bookkeeping's `synchronous=NORMAL`: a power cut may undo it (they are then read again
    /// and found covered), never reorder it.
    fn forget_unsynced(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<usize, TaskError> {
        let conn = self.lock();
        let n = conn.prepare_cached(sql)?.execute(params)?;
        self.traced(
            &conn,
            self.full_sync.load(std::sync::atomic::Ordering::Relaxed),
        );
        Ok(n)
    }

    /// Runs one statement that must not come back after a power cut (an entry taken back, a
    /// deleted table's or notebook's entries), synced as an edit is.
    fn forget_synced(&self, sql: &str, params: impl rusqlite::Params) -> Result<usize, TaskError> {
        self.synced(|conn| Ok(conn.prepare_cached(sql)?.execute(params)?))
    }

    /// Tells the power-cut tests' seam that a commit just happened (nothing unless a test
    /// watches this store's folder): the whole database as of it, read back by `VACUUM INTO`.
    /// Task bookkeeping commits in between ride along with the next one reported.
    fn traced(&self, conn: &Connection, synced: bool) {
        if !crate::durable::trace::watches(&self.path) {
            return;
        }
        static COPIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COPIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let copy =
            std::env::temp_dir().join(format!("quire-trace-{}-{n}.sqlite", std::process::id()));
        let bytes = conn
            .execute("VACUUM INTO ?1", [copy.to_string_lossy()])
            .ok()
            .and_then(|_| std::fs::read(&copy).ok());
        let _ = std::fs::remove_file(&copy);
        match bytes {
            Some(bytes) => {
                crate::durable::trace::record(|| crate::durable::trace::Step::Database {
                    path: self.path.clone(),
                    bytes,
                    synced,
                })
            }
            None => log::warn!("could not read back {} for the trace", self.path.display()),
        }
    }

    /// Records a task as pending; it is committed when this returns, before any work starts.
    pub fn enqueue(&self, t: &NewTask) -> Result<u64, TaskError> {
        let conn = self.lock();
        let mut insert = conn.prepare_cached(
            "INSERT INTO tasks (kind, notebook, target, payload, priority, status, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6)",
        )?;
        insert.execute(params![
            t.kind.as_str(),
            t.notebook.map(|n| n.to_string()),
            t.target,
            t.payload.to_string(),
            t.priority.level() as i64,
            now_ms()
        ])?;
        let id = conn.last_insert_rowid() as u64;
        drop(insert);
        drop(conn);
        self.metrics.add(Counter::TasksQueued, 1);
        log::info!(
            "task {id} queued: {} {}",
            t.kind.as_str(),
            t.target.as_deref().unwrap_or("")
        );
        Ok(id)
    }

    /// The work started (another attempt).
    pub fn start(&self, id: u64) -> Result<(), TaskError> {
        let conn = self.lock();
        let n = conn
            .prepare_cached(
                "UPDATE tasks SET status = 'running', attempts = attempts + 1, started_ms = ?2,
                 error = NULL, progress = NULL WHERE id = ?1",
            )?
            .execute(params![id as i64, now_ms()])?;
        if n == 0 {
            return Err(TaskError::NotFound(id));
        }
        log::info!("task {id} running");
        Ok(())
    }

    pub fn progress(&self, id: u64, fraction: f64) -> Result<(), TaskError> {
        self.lock()
            .prepare_cached("UPDATE tasks SET progress = ?2 WHERE id = ?1")?
            .execute(params![id as i64, fraction.clamp(0.0, 1.0)])?;
        Ok(())
    }

    /// The work ended: completed, failed (with the reason) or cancelled.
    pub fn finish(
        &self,
        id: u64,
        status: TaskStatus,
        error: Option<&str>,
    ) -> Result<(), TaskError> {
        let n = self
            .lock()
            .prepare_cached(
                "UPDATE tasks SET status = ?2, finished_ms = ?3, error = ?4,
                 progress = CASE WHEN ?2 = 'completed' THEN 1.0 ELSE progress END
                 WHERE id = ?1",
            )?
            .execute(params![id as i64, status.as_str(), now_ms(), error])?;
        if n == 0 {
            return Err(TaskError::NotFound(id));
        }
        log::info!(
            "task {id} {}{}",
            status.as_str(),
            error.map(|e| format!(": {e}")).unwrap_or_default()
        );
        self.metrics.add(
            match status {
                TaskStatus::Completed => Counter::TasksCompleted,
                TaskStatus::Cancelled => Counter::TasksCancelled,
                _ => Counter::TasksFailed,
            },
            1,
        );
        self.finished.send_modify(|n| *n += 1);
        let finishes = self
            .finishes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        if self.keep_finished > 0 && finishes.is_multiple_of(self.prune_every()) {
            if let Err(e) = self.prune_finished() {
                log::warn!("could not delete old finished tasks: {e}");
            }
        }
        Ok(())
    }

    /// How many finishes pass between two prunes: the table may exceed the cap by this much.
    pub fn prune_every(&self) -> usize {
        (self.keep_finished / 8).clamp(1, PRUNE_EVERY_MAX)
    }

    /// Deletes finished tasks beyond the newest `keep_finished`; returns how many.
    pub fn prune_finished(&self) -> Result<usize, TaskError> {
        if self.keep_finished == 0 {
            return Ok(0);
        }
        let n = self.lock().execute(
            "DELETE FROM tasks WHERE status IN ('completed', 'failed', 'cancelled')
             AND id NOT IN (SELECT id FROM tasks
                            WHERE status IN ('completed', 'failed', 'cancelled')
                            ORDER BY id DESC LIMIT ?1)",
            [self.keep_finished as i64],
        )?;
        if n > 0 {
            log::debug!(
                "deleted {n} finished tasks beyond the newest {}",
                self.keep_finished
            );
        }
        Ok(n)
    }

    pub fn get(&self, id: u64) -> Result<Task, TaskError> {
        self.lock()
            .query_row(
                &format!("SELECT {COLUMNS} FROM tasks WHERE id = ?1"),
                [id as i64],
                task_of,
            )
            .optional()?
            .ok_or(TaskError::NotFound(id))
    }

    /// Waits until the task has finished (no polling: woken by each finish), or `timeout`.
    pub async fn wait(&self, id: u64, timeout: Duration) -> Result<Task, TaskError> {
        let mut changes = self.finished.subscribe();
        let wait = async {
            loop {
                let task = self.get(id)?;
                if task.status.finished() || task.status == TaskStatus::Interrupted {
                    return Ok(task);
                }
                if changes.changed().await.is_err() {
                    return Err(TaskError::Store("the task store closed".into()));
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .unwrap_or(Err(TaskError::TimedOut(id)))
    }

    /// Waits for the task with its kind's timeout.
    pub async fn wait_for(&self, id: u64) -> Result<Task, TaskError> {
        let kind = self.get(id)?.kind;
        self.wait(id, kind.timeout()).await
    }

    /// Recent tasks, newest first, optionally of one status.
    pub fn list(&self, status: Option<TaskStatus>, limit: u32) -> Result<Vec<Task>, TaskError> {
        let conn = self.lock();
        let mut q = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM tasks WHERE ?1 IS NULL OR status = ?1 ORDER BY id DESC LIMIT ?2"
        ))?;
        let rows = q.query_map(params![status.map(TaskStatus::as_str), limit], task_of)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn stats(&self) -> Result<TaskStats, TaskError> {
        let conn = self.lock();
        let mut s = TaskStats::default();
        let mut q = conn.prepare_cached("SELECT status, count(*) FROM tasks GROUP BY status")?;
        for row in q.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))? {
            let (status, n) = row?;
            match TaskStatus::parse(&status) {
                TaskStatus::Pending => s.pending = n,
                TaskStatus::Running => s.running = n,
                TaskStatus::Completed => s.completed = n,
                TaskStatus::Failed => s.failed = n,
                TaskStatus::Cancelled => s.cancelled = n,
                TaskStatus::Interrupted => s.interrupted = n,
            }
        }
        s.leases = conn.query_row(
            "SELECT count(*) FROM leases WHERE expires_ms > ?1",
            [now_ms()],
            |r| r.get(0),
        )?;
        s.journal = conn.query_row("SELECT count(*) FROM journal", [], |r| r.get(0))?;
        s.failed_this_session = conn.query_row(
            "SELECT count(*) FROM tasks WHERE status = 'failed' AND finished_ms >= ?1",
            [self.opened_ms],
            |r| r.get(0),
        )?;
        Ok(s)
    }

    /// After a restart: running tasks that are safe to run again become pending, the others
    /// interrupted; returns what is to run again (by priority, then order) and what was
    /// interrupted.
    pub fn restore(&self) -> Result<Recovery, TaskError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        // Leases belong to the process that took them; that process is gone.
        tx.execute("DELETE FROM leases", [])?;
        let running: Vec<Task> = {
            let mut q = tx.prepare(&format!(
                "SELECT {COLUMNS} FROM tasks WHERE status = 'running'"
            ))?;
            let rows = q.query_map([], task_of)?;
            rows.collect::<Result<_, _>>()?
        };
        let mut interrupted = Vec::new();
        // Exports waiting or running when the process ended wait for the user's Retry.
        let held: Vec<Task> = {
            let mut q = tx.prepare(&format!(
                "SELECT {COLUMNS} FROM tasks WHERE status = 'pending'"
            ))?;
            let rows = q.query_map([], task_of)?;
            rows.collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .filter(|t| !t.kind.resumes_by_itself())
                .collect()
        };
        for t in held {
            tx.execute(
                "UPDATE tasks SET status = 'interrupted', error = ?2 WHERE id = ?1",
                params![
                    t.id as i64,
                    "not run again by itself after an unexpected exit: it writes to a file you chose; Retry to write it"
                ],
            )?;
            interrupted.push(Task {
                status: TaskStatus::Interrupted,
                ..t
            });
        }
        for t in running {
            let status = if t.kind.idempotent() && t.kind.resumes_by_itself() {
                TaskStatus::Pending
            } else {
                TaskStatus::Interrupted
            };
            tx.execute(
                "UPDATE tasks SET status = ?2, error = ?3 WHERE id = ?1",
                params![
                    t.id as i64,
                    status.as_str(),
                    (status == TaskStatus::Interrupted)
                        .then_some("interrupted by an unexpected exit")
                ],
            )?;
            if status == TaskStatus::Interrupted {
                interrupted.push(Task { status, ..t });
            }
        }
        let requeued: Vec<Task> = {
            let mut q = tx.prepare(&format!(
                "SELECT {COLUMNS} FROM tasks WHERE status = 'pending' ORDER BY priority, id"
            ))?;
            let rows = q.query_map([], task_of)?;
            rows.collect::<Result<_, _>>()?
        };
        tx.commit()?;
        Ok(Recovery {
            requeued,
            interrupted,
            notebooks: 0,
        })
    }

    /// Makes a failed, cancelled or interrupted task pending again; returns it.
    pub fn retry(&self, id: u64) -> Result<Task, TaskError> {
        let n = self.lock().execute(
            "UPDATE tasks SET status = 'pending', error = NULL, finished_ms = NULL
             WHERE id = ?1 AND status IN ('failed', 'cancelled', 'interrupted')",
            [id as i64],
        )?;
        if n == 0 {
            return Err(TaskError::NotFound(id));
        }
        self.get(id)
    }

    /// Deletes finished tasks older than `retention`; returns how many.
    pub fn cleanup(&self, retention: Duration) -> Result<usize, TaskError> {
        let before = now_ms() - retention.as_millis() as i64;
        let n = self.lock().execute(
            "DELETE FROM tasks WHERE status IN ('completed', 'failed', 'cancelled')
             AND coalesce(finished_ms, created_ms) < ?1",
            [before],
        )?;
        if n > 0 {
            log::info!(
                "deleted {n} finished tasks older than {} h",
                retention.as_secs() / 3600
            );
        }
        Ok(n)
    }

    /// Removes finished tasks (completed, failed, cancelled, interrupted) from the list now:
    /// the user dismissed them. Pending and running work is never touched.
    pub fn dismiss_finished(&self) -> Result<usize, TaskError> {
        Ok(self.lock().execute(
            "DELETE FROM tasks WHERE status IN ('completed', 'failed', 'cancelled', 'interrupted')",
            [],
        )?)
    }

    /// A passive checkpoint (copies what it can from the WAL without blocking anyone), or at
    /// shutdown a truncating one (the WAL file shrinks to nothing).
    pub fn checkpoint(&self, truncate: bool) -> Result<(), TaskError> {
        let mode = if truncate { "TRUNCATE" } else { "PASSIVE" };
        self.lock()
            .query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()))?;
        self.metrics.add(Counter::Checkpoints, 1);
        Ok(())
    }

    /// Records a lease on `asset` (notebook/table/generation) until `ttl` from now.
    pub fn lease_record(&self, asset: &str, ttl: Duration) -> Result<u64, TaskError> {
        let conn = self.lock();
        conn.prepare_cached("INSERT INTO leases (asset, expires_ms) VALUES (?1, ?2)")?
            .execute(params![asset, now_ms() + ttl.as_millis() as i64])?;
        Ok(conn.last_insert_rowid() as u64)
    }

    pub fn lease_release(&self, row: u64) -> Result<(), TaskError> {
        self.lock()
            .prepare_cached("DELETE FROM leases WHERE id = ?1")?
            .execute([row as i64])?;
        Ok(())
    }
}

/// The store's periodic work on its own thread: a passive WAL checkpoint every `checkpoint`,
/// and deleting old finished tasks every day. It sleeps on a condition variable between runs
/// (a timer, not a poll) and stops when dropped.
pub struct Housekeeper {
    stop: std::sync::Arc<(Mutex<bool>, std::sync::Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Housekeeper {
    pub fn start(
        store: std::sync::Arc<TaskStore>,
        checkpoint: Duration,
        retention: Duration,
    ) -> std::io::Result<Housekeeper> {
        let stop = std::sync::Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("quire-housekeeping".into())
            .spawn(move || {
                let day = Duration::from_secs(24 * 3600);
                let mut since_cleanup = Duration::ZERO;
                let (lock, wake) = &*flag;
                let mut stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
                loop {
                    // Checked before every wait: a stop that came before the first wait is
                    // not missed.
                    if *stopped {
                        return;
                    }
                    let (guard, timeout) = wake
                        .wait_timeout(stopped, checkpoint.max(Duration::from_secs(1)))
                        .unwrap_or_else(|p| p.into_inner());
                    stopped = guard;
                    if *stopped {
                        return;
                    }
                    if timeout.timed_out() {
                        if let Err(e) = store.checkpoint(false) {
                            log::warn!("task store checkpoint failed: {e}");
                        }
                        since_cleanup += checkpoint;
                        if since_cleanup >= day {
                            since_cleanup = Duration::ZERO;
                            let _ = store.cleanup(retention);
                        }
                    }
                }
            })?;
        Ok(Housekeeper {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Housekeeper {
    fn drop(&mut self) {
        *self.stop.0.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.stop.1.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests;

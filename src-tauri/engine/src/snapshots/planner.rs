//! The planner: the thread that sleeps until the next snapshot is due and queues it, the
//! queued job that hands it to the persistence pool, and [`Core`]'s bookkeeping around a
//! write (waits, announcements, outcomes).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::*;

impl Core {
    /// Waits (woken by every finished write, and at least every 50 ms) until `done` holds or
    /// `limit` passes; returns the lock and whether `done` held.
    pub(super) fn wait_until(
        &self,
        limit: Duration,
        done: impl Fn(&State) -> bool,
    ) -> (std::sync::MutexGuard<'_, State>, bool) {
        let deadline = Instant::now() + limit;
        let mut st = self.lock();
        while !done(&st) {
            let now = Instant::now();
            if now >= deadline {
                return (st, false);
            }
            st = self
                .wake
                .wait_timeout(st, (deadline - now).min(Duration::from_millis(50)))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        (st, true)
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn announce(&self, key: &Key, ts: &TableState) {
        self.events.emit(SnapshotEvent::SaveStatus(ts.status(key)));
    }

    pub(super) fn context<'a>(
        &'a self,
        notebook: NotebookId,
        dir: &'a Path,
    ) -> store::CommitContext<'a> {
        store::CommitContext {
            notebook,
            notebook_dir: dir,
            history: self.config.history as usize,
            leases: &self.leases,
            writer: &self.writer,
        }
    }

    /// The notebook folder's in-memory manifest, read from disk the first time.
    pub(super) fn manifest(
        &self,
        notebook: NotebookId,
        notebook_dir: &Path,
    ) -> Result<Arc<Mutex<manifest::Manifest>>, SnapshotError> {
        if let Some(m) = self.lock().manifests.get(&notebook) {
            return Ok(m.clone());
        }
        let dir = notebook_dir.join(TABLES_DIR);
        let m = match manifest::read(&dir) {
            manifest::Read::Ok(m) => m,
            manifest::Read::Missing => manifest::Manifest::default(),
            manifest::Read::Damaged(_) => store::open(notebook_dir)?.manifest,
            manifest::Read::Unreadable(source) => {
                return Err(SnapshotError::Io {
                    action: "read",
                    path: dir.join(manifest::FILE_NAME),
                    source,
                })
            }
        };
        let mut st = self.lock();
        Ok(st
            .manifests
            .entry(notebook)
            .or_insert_with(|| Arc::new(Mutex::new(m)))
            .clone())
    }

    /// Runs one snapshot on the persistence pool and records its outcome.
    pub(super) fn run(&self, key: &Key, version: &TableVersion, cancel: &CancellationToken) {
        let started = Instant::now();
        let task = self
            .lock()
            .tables
            .get(key)
            .and_then(|ts| ts.in_flight.as_ref())
            .and_then(|f| f.task);
        if let (Some(tasks), Some(id)) = (&self.tasks, task) {
            let _ = tasks.start(id);
        }
        let result = (|| {
            let dir = (self.folder_of)(key.0).ok_or(SnapshotError::NoFolder)?;
            let manifest = self.manifest(key.0, &dir)?;
            let progress = |p: WriteProgress| {
                let mut st = self.lock();
                if let Some(ts) = st.tables.get_mut(key) {
                    ts.progress = p;
                    self.announce(key, ts);
                }
            };
            store::commit(
                &self.context(key.0, &dir),
                &manifest,
                &key.1,
                version,
                &progress,
                cancel,
            )
        })();
        if let (Some(tasks), Some(id)) = (&self.tasks, task) {
            let (status, error) = match &result {
                Ok(g) => {
                    if let Err(e) = tasks.journal_cover(key.0, &key.1, g.version) {
                        log::warn!("could not trim the journal of table {}: {e}", key.1);
                    }
                    (crate::tasks::TaskStatus::Completed, None)
                }
                Err(SnapshotError::Cancelled) => (crate::tasks::TaskStatus::Cancelled, None),
                Err(e) => (crate::tasks::TaskStatus::Failed, Some(e.to_string())),
            };
            let _ = tasks.finish(id, status, error.as_deref());
        } else if let (Some(tasks), Ok(g)) = (&self.tasks, &result) {
            let _ = tasks.journal_cover(key.0, &key.1, g.version);
        }
        let mut st = self.lock();
        if let Some(ts) = st.tables.get_mut(key) {
            let taken = ts.in_flight.take();
            ts.progress = WriteProgress::default();
            match &result {
                Ok(g) => {
                    // Every version since the last commit rode along in this one.
                    self.writer.metrics().record_snapshot(
                        started.elapsed(),
                        g.bytes,
                        g.version.saturating_sub(ts.saved_version),
                    );
                    ts.saved_version = ts.saved_version.max(g.version);
                    ts.generation = g.generation;
                    ts.failure = None;
                    ts.force = ts.force && ts.dirty();
                    log::info!(
                        "snapshot of table {} in notebook {}: version {} as generation {}, {} rows, {} bytes in {:.0} ms",
                        key.1,
                        key.0,
                        g.version,
                        g.generation,
                        g.rows,
                        g.bytes,
                        started.elapsed().as_secs_f64() * 1000.0
                    );
                }
                Err(e) => {
                    if let Some(f) = taken {
                        ts.first_change = oldest(ts.first_change, f.first_change);
                        ts.changes += f.changes;
                    }
                    if matches!(e, SnapshotError::Cancelled) {
                        log::info!("snapshot of table {} was superseded or stopped", key.1);
                    } else {
                        ts.force = false;
                        let in_a_row = ts.failure.as_ref().map_or(0, |f| f.in_a_row) + 1;
                        let now = Instant::now();
                        log::error!(
                            "snapshot of table {} in notebook {} failed (attempt {in_a_row}); the previous generation is intact: {e}",
                            key.1,
                            key.0
                        );
                        ts.failure = Some(Failure {
                            message: e.to_string(),
                            at: now,
                            retry_at: now + retry_backoff(in_a_row),
                            in_a_row,
                        });
                    }
                }
            }
            self.announce(key, ts);
        }
        drop(st);
        self.wake.notify_all();
    }
}

/// Gives a queued snapshot's pending changes back if it is dropped without running (the
/// queue stopped, or it was cancelled while waiting).
struct Unrun {
    core: Arc<Core>,
    key: Key,
    ran: bool,
}

impl Drop for Unrun {
    fn drop(&mut self) {
        if !self.ran {
            let mut st = self.core.lock();
            if let Some(ts) = st.tables.get_mut(&self.key) {
                if let Some(f) = ts.in_flight.take() {
                    ts.first_change = oldest(ts.first_change, f.first_change);
                    ts.changes += f.changes;
                    if let (Some(tasks), Some(id)) = (&self.core.tasks, f.task) {
                        let _ = tasks.finish(id, crate::tasks::TaskStatus::Cancelled, None);
                    }
                }
                ts.force = false;
                self.core.announce(&self.key, ts);
            }
            drop(st);
            self.core.wake.notify_all();
        }
    }
}

/// The planner: sleeps until the earliest table is due, queues its snapshot, repeats. A newer
/// version supersedes an in-flight write unless that write carries changes older than the max
/// wait (so a table edited without pause is still saved).
pub(super) fn plan(core: Arc<Core>, scheduler: Arc<Scheduler>) {
    let max_wait = Duration::from_millis(core.config.max_wait_ms);
    let mut st = core.lock();
    loop {
        if st.stopping {
            return;
        }
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        let mut start = Vec::new();
        let mut superseded = Vec::new();
        for (key, ts) in st.tables.iter_mut() {
            let Some(due) = ts.due_at(&core.config, now) else {
                continue;
            };
            if due > now {
                next = Some(next.map_or(due, |n| n.min(due)));
                continue;
            }
            match &ts.in_flight {
                None => start.push(key.clone()),
                Some(InFlight {
                    version,
                    job: Some(job),
                    first_change,
                    ..
                }) if *version < ts.latest.version => {
                    let young = first_change.is_none_or(|t| now - t < max_wait);
                    if young && !ts.force && !job.token().is_cancelled() {
                        log::info!(
                            "version {} of table {} supersedes the write of version {}",
                            ts.latest.version,
                            key.1,
                            version
                        );
                        superseded.push(job.canceller());
                    }
                }
                Some(_) => {}
            }
        }
        // Cancelled without the lock: a superseded job still waiting in the queue is dropped
        // on this thread, and its cleanup (`Unrun`) takes the lock. The soak found the planner
        // deadlocked on itself here.
        if !superseded.is_empty() {
            drop(st);
            superseded.iter().for_each(Canceller::cancel);
            st = core.lock();
            continue;
        }
        // Reserve each write under the lock, queue it without (the queue may resolve a job at
        // once, and its bookkeeping takes this lock), then hand the job to its reservation.
        let mut reserved = Vec::new();
        for key in start {
            let Some(ts) = st.tables.get_mut(&key) else {
                continue;
            };
            // Recorded before it is queued (write-ahead); a failure to record does not stop
            // the save.
            let task = ts.adopted_task.take().or_else(|| {
                core.tasks.as_ref().and_then(|tasks| {
                    tasks
                        .enqueue(&crate::tasks::NewTask {
                            kind: crate::tasks::TaskKind::Snapshot,
                            notebook: Some(key.0),
                            target: Some(key.1.clone()),
                            payload: serde_json::json!({ "version": ts.latest.version }),
                            priority: Priority::Background,
                        })
                        .map_err(|e| log::warn!("could not record a snapshot task: {e}"))
                        .ok()
                })
            });
            ts.in_flight = Some(InFlight {
                version: ts.latest.version,
                task,
                job: None,
                first_change: ts.first_change.take(),
                changes: std::mem::take(&mut ts.changes),
            });
            core.announce(&key, ts);
            reserved.push((key, ts.latest.clone()));
        }
        if !reserved.is_empty() {
            drop(st);
            for (key, version) in reserved {
                let job = submit(&core, &scheduler, key.clone(), version.clone());
                let mut st = core.lock();
                match st.tables.get_mut(&key).and_then(|ts| ts.in_flight.as_mut()) {
                    Some(f) if f.version == version.version && f.job.is_none() => f.job = Some(job),
                    _ => {} // it already ran
                }
            }
            // Look again before sleeping: a write may have ended while the lock was free.
            st = core.lock();
            continue;
        }
        st = match next {
            Some(at) => {
                core.wake
                    .wait_timeout(st, at.saturating_duration_since(Instant::now()))
                    .unwrap_or_else(|p| p.into_inner())
                    .0
            }
            None => core.wake.wait(st).unwrap_or_else(|p| p.into_inner()),
        };
    }
}

/// Queues one snapshot at background priority; the job hands the work to the persistence pool
/// and waits for it, so the queue's accounting sees it while no queue thread encodes.
pub(super) fn submit(
    core: &Arc<Core>,
    scheduler: &Scheduler,
    key: Key,
    version: Arc<TableVersion>,
) -> Job<()> {
    let mut unrun = Unrun {
        core: core.clone(),
        key: key.clone(),
        ran: false,
    };
    let job_core = core.clone();
    scheduler.submit(
        Priority::Background,
        JobKind::Snapshot,
        None,
        move |token| async move {
            // The write stops when its job is cancelled (superseded, Cancel) or at a stop.
            let cancel = job_core.stopped.child_token();
            let linked = cancel.clone();
            let done_with_link = cancel.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = token.cancelled() => linked.cancel(),
                    _ = linked.cancelled() => {}
                }
            });
            let (done, finished) = tokio::sync::oneshot::channel();
            let pool_core = job_core.clone();
            job_core.writer.pool.spawn(move || {
                unrun.ran = true;
                pool_core.run(&key, &version, &cancel);
                drop(unrun);
                let _ = done.send(());
            });
            let _ = finished.await;
            // The write is over: end the link (cancelling a finished write's token is harmless).
            done_with_link.cancel();
            Ok(())
        },
    )
}

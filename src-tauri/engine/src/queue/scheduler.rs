//! The scheduler behind [`super::Scheduler`]: waiting jobs, running slots, dispatch.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::{Priority, QueueError};
use crate::metrics::Metrics;

/// What a job does, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Page,
    Query,
    Import,
    Export,
    Snapshot,
    Diff,
    Other,
}

/// How much the scheduler may run at once and how fast waiting work ages.
#[derive(Debug, Clone)]
pub struct SchedulerLimits {
    pub workers: usize,
    /// Slots background and idle work may never take.
    pub reserved_for_interactive: usize,
    /// Slots beyond `workers` that only urgent work (grid pages) may take: a query and a save
    /// can hold every worker for seconds, and a page must not wait behind them.
    pub urgent_extra: usize,
    /// Waiting this long raises a job one priority level.
    pub aging: Duration,
    /// Waiting jobs kept per group; older ones are dropped as stale.
    pub group_depth: usize,
}

impl Default for SchedulerLimits {
    fn default() -> Self {
        let workers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .max(2);
        SchedulerLimits {
            workers,
            reserved_for_interactive: 1,
            urgent_extra: 1,
            aging: Duration::from_millis(500),
            group_depth: 4,
        }
    }
}

/// Counters per priority (index = level) and per kind, for the metrics panel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, specta::Type)]
pub struct QueueStats {
    pub waiting: [u32; 4],
    pub running: [u32; 4],
    pub started: [u64; 4],
    pub total_wait_ms: [f64; 4],
    pub max_wait_ms: [f64; 4],
    pub cancelled: u64,
    pub dropped_stale: u64,
    pub run_ms_by_kind: Vec<(JobKind, f64)>,
}

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Starts the job (false) or resolves it as cancelled without running it (true).
type Launch = Box<dyn FnOnce(bool) -> Option<BoxFuture> + Send>;

struct Waiting {
    id: u64,
    priority: Priority,
    kind: JobKind,
    group: Option<String>,
    enqueued: Instant,
    token: CancellationToken,
    launch: Launch,
}

struct Running {
    priority: Priority,
    token: CancellationToken,
    /// Started in one of the `urgent_extra` slots, not a worker's.
    extra: bool,
}

#[derive(Default)]
struct State {
    waiting: Vec<Waiting>,
    running: HashMap<u64, Running>,
    next_id: u64,
    stats: QueueStats,
    run_ms: HashMap<JobKind, f64>,
    stopped: bool,
}

struct Inner {
    state: Mutex<State>,
    limits: SchedulerLimits,
    /// Runs urgent jobs (grid pages) on threads at the process's own priority.
    runtime: tokio::runtime::Handle,
    /// Runs every other job on threads the OS ranks below the urgent ones, so a CPU-bound query
    /// (and every partition task DataFusion spawns from it, which lands on the same runtime)
    /// cannot keep a grid page off a core.
    lowered: tokio::runtime::Handle,
    metrics: Arc<Metrics>,
    /// Time the model tests add to the clock, so aging can be tested without waiting.
    #[cfg(test)]
    skew_ns: std::sync::atomic::AtomicU64,
}

/// The work runtime's threads. Where they are lowered (Linux, macOS), as many as the urgent
/// runtime's: a query gets every core, and the OS hands one to a page the moment it is runnable
/// (on Linux 6.12 and later at once, the urgent threads asking for a short slice; `queue`'s
/// `page_p99_heavy_ms` 1.0 ms, 3.8 ms without). Keeping a core free of queries instead (as the
/// Tad viewer keeps one for its grid) halved a query's speed on two cores (`bigdata`: group-by
/// 0.46x DuckDB's, 0.56-0.81x with both). Elsewhere nothing lowers them, so one core stays free
/// of their async work (blocking jobs run on tokio's blocking pool, beyond this count).
fn lowered_threads(workers: usize) -> usize {
    if cfg!(any(target_os = "linux", target_os = "macos")) {
        workers.max(1)
    } else {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        workers.min(cores.saturating_sub(1)).max(1)
    }
}

impl Inner {
    fn now(&self) -> Instant {
        #[cfg(test)]
        {
            Instant::now()
                + Duration::from_nanos(self.skew_ns.load(std::sync::atomic::Ordering::SeqCst))
        }
        #[cfg(not(test))]
        {
            Instant::now()
        }
    }
}

/// The engine's work queue. Dropping it stops the runtime; queued work resolves `Stopped`.
pub struct Scheduler {
    inner: Arc<Inner>,
    runtimes: Vec<tokio::runtime::Runtime>,
}

/// A submitted job: await its result, or cancel it.
pub struct Job<T> {
    pub id: u64,
    token: CancellationToken,
    result: oneshot::Receiver<Result<T, QueueError>>,
    inner: Arc<Inner>,
}

impl<T> Job<T> {
    /// Waits for the job; a dropped or stopped job reads as [`QueueError::Stopped`].
    pub async fn result(self) -> Result<T, QueueError> {
        self.result.await.unwrap_or(Err(QueueError::Stopped))
    }

    /// Waits from a thread outside any tokio runtime.
    pub fn blocking_result(self) -> Result<T, QueueError> {
        self.result
            .blocking_recv()
            .unwrap_or(Err(QueueError::Stopped))
    }

    pub fn cancel(&self) {
        cancel(&self.inner, self.id, &self.token);
    }

    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// A handle that cancels this job, to be used once the caller has released any lock the
    /// job's cleanup takes: cancelling a waiting job drops its work at once, on the caller's
    /// thread.
    pub fn canceller(&self) -> Canceller {
        Canceller {
            id: self.id,
            token: self.token.clone(),
            inner: self.inner.clone(),
        }
    }
}

/// Cancels one job; see [`Job::canceller`].
pub struct Canceller {
    id: u64,
    token: CancellationToken,
    inner: Arc<Inner>,
}

impl Canceller {
    pub fn cancel(&self) {
        cancel(&self.inner, self.id, &self.token);
    }
}

impl Scheduler {
    pub fn new(limits: SchedulerLimits) -> std::io::Result<Scheduler> {
        Self::with_metrics(limits, Arc::default())
    }

    /// A scheduler that records waits and depths per priority in `metrics`.
    pub fn with_metrics(
        limits: SchedulerLimits,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Scheduler> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(limits.workers.max(1))
            .thread_name("quire-urgent")
            .on_thread_start(super::priority::quicken_current_thread)
            .enable_all()
            .build()?;
        let lowered = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(lowered_threads(limits.workers))
            .thread_name("quire-work")
            .on_thread_start(super::priority::lower_current_thread)
            .enable_all()
            .build()?;
        let inner = Arc::new(Inner {
            state: Mutex::default(),
            limits,
            runtime: runtime.handle().clone(),
            lowered: lowered.handle().clone(),
            metrics,
            #[cfg(test)]
            skew_ns: Default::default(),
        });
        Ok(Scheduler {
            inner,
            runtimes: vec![runtime, lowered],
        })
    }

    /// Moves the scheduler's clock forward (model tests of aging).
    #[cfg(test)]
    pub(crate) fn advance_clock(&self, by: Duration) {
        self.inner
            .skew_ns
            .fetch_add(by.as_nanos() as u64, std::sync::atomic::Ordering::SeqCst);
    }

    /// Runs a future to completion on the engine's runtime from a thread outside it.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.inner.runtime.block_on(f)
    }

    /// Queues async work. `work` gets the job's token; its future is dropped when the job is
    /// cancelled while running.
    pub fn submit<T, F, Fut>(
        &self,
        priority: Priority,
        kind: JobKind,
        group: Option<String>,
        work: F,
    ) -> Job<T>
    where
        T: Send + 'static,
        F: FnOnce(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, QueueError>> + Send + 'static,
    {
        let token = CancellationToken::new();
        let (tx, rx) = oneshot::channel();
        let job_token = token.clone();
        let launch: Launch = Box::new(move |cancelled| {
            if cancelled {
                let _ = tx.send(Err(QueueError::Cancelled));
                return None;
            }
            Some(Box::pin(async move {
                let result = tokio::select! {
                    _ = job_token.cancelled() => Err(QueueError::Cancelled),
                    r = work(job_token.clone()) => r,
                };
                let _ = tx.send(result);
            }))
        });
        let id = enqueue(&self.inner, priority, kind, group, token.clone(), launch);
        Job {
            id,
            token,
            result: rx,
            inner: self.inner.clone(),
        }
    }

    /// Queues blocking work (a file write, an import). It runs on one of the scheduler's
    /// threads and must check the token it is given between batches.
    pub fn submit_blocking<T, F>(
        &self,
        priority: Priority,
        kind: JobKind,
        group: Option<String>,
        work: F,
    ) -> Job<T>
    where
        T: Send + 'static,
        F: FnOnce(&CancellationToken) -> Result<T, QueueError> + Send + 'static,
    {
        self.submit(priority, kind, group, move |token| async move {
            // The scheduler never runs more jobs than it has threads, so a blocking job holds
            // its own thread; block_in_place tells tokio so.
            tokio::task::block_in_place(|| work(&token))
        })
    }

    pub fn stats(&self) -> QueueStats {
        let st = lock(&self.inner);
        let mut stats = st.stats.clone();
        stats.waiting = [0; 4];
        stats.running = [0; 4];
        for w in &st.waiting {
            stats.waiting[w.priority.level()] += 1;
        }
        for r in st.running.values() {
            stats.running[r.priority.level()] += 1;
        }
        stats.run_ms_by_kind = st.run_ms.iter().map(|(k, v)| (*k, *v)).collect();
        stats
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        let waiting = {
            let mut st = lock(&self.inner);
            st.stopped = true;
            for r in st.running.values() {
                r.token.cancel();
            }
            std::mem::take(&mut st.waiting)
        };
        for w in waiting {
            (w.launch)(true);
        }
        for runtime in self.runtimes.drain(..) {
            // Never blocks, so an engine may be dropped anywhere (also inside async code);
            // running jobs were cancelled above and end at their next await or token check.
            runtime.shutdown_background();
        }
    }
}

fn lock(inner: &Inner) -> std::sync::MutexGuard<'_, State> {
    // Every change under this lock is complete before anything can panic.
    inner.state.lock().unwrap_or_else(|p| p.into_inner())
}

fn enqueue(
    inner: &Arc<Inner>,
    priority: Priority,
    kind: JobKind,
    group: Option<String>,
    token: CancellationToken,
    launch: Launch,
) -> u64 {
    let mut stale = Vec::new();
    let id = {
        let mut st = lock(inner);
        st.next_id += 1;
        let id = st.next_id;
        if st.stopped {
            drop(st);
            launch(true);
            return id;
        }
        if let Some(g) = &group {
            // Keep the newest `group_depth - 1` waiting jobs of the group, plus this one.
            let mut same: Vec<usize> = st
                .waiting
                .iter()
                .enumerate()
                .filter(|(_, w)| w.group.as_ref() == Some(g))
                .map(|(i, _)| i)
                .collect();
            let keep = inner.limits.group_depth.saturating_sub(1);
            if same.len() > keep {
                let drop_n = same.len() - keep;
                same.truncate(drop_n); // the oldest come first
                for i in same.into_iter().rev() {
                    stale.push(st.waiting.remove(i));
                }
                st.stats.dropped_stale += drop_n as u64;
            }
        }
        st.waiting.push(Waiting {
            id,
            priority,
            kind,
            group,
            enqueued: inner.now(),
            token,
            launch,
        });
        inner.metrics.record_queue_depth(depths(&st.waiting));
        id
    };
    for w in stale {
        (w.launch)(true);
    }
    dispatch(inner);
    id
}

fn cancel(inner: &Arc<Inner>, id: u64, token: &CancellationToken) {
    token.cancel();
    let removed = {
        let mut st = lock(inner);
        let at = st.waiting.iter().position(|w| w.id == id);
        let removed = at.map(|i| st.waiting.remove(i));
        st.stats.cancelled += 1;
        inner.metrics.record_queue_depth(depths(&st.waiting));
        removed
    };
    if let Some(w) = removed {
        (w.launch)(true);
    }
}

fn depths(waiting: &[Waiting]) -> [usize; 4] {
    let mut n = [0; 4];
    for w in waiting {
        n[w.priority.level().min(3)] += 1;
    }
    n
}

/// The effective level of a waiting job: its priority, raised one level per `aging` waited.
fn effective_level(w: &Waiting, now: Instant, aging: Duration) -> usize {
    let steps = if aging.is_zero() {
        0
    } else {
        (now.duration_since(w.enqueued).as_nanos() / aging.as_nanos()) as usize
    };
    w.priority.level().saturating_sub(steps)
}

/// Starts waiting jobs while slots are free, best first.
fn dispatch(inner: &Arc<Inner>) {
    loop {
        let (launch, id, kind, priority) = {
            let mut st = lock(inner);
            let limits = &inner.limits;
            let in_extra = st.running.values().filter(|r| r.extra).count();
            let worker_free = st.running.len() - in_extra < limits.workers;
            if st.stopped || !(worker_free || in_extra < limits.urgent_extra) {
                return;
            }
            let background_running = st
                .running
                .values()
                .filter(|r| !r.priority.interactive())
                .count();
            let background_cap = limits
                .workers
                .saturating_sub(limits.reserved_for_interactive)
                .max(1);
            let now = inner.now();
            let best = st
                .waiting
                .iter()
                .enumerate()
                .filter(|(_, w)| worker_free || w.priority == Priority::Urgent)
                .filter(|(_, w)| w.priority.interactive() || background_running < background_cap)
                .min_by_key(|(_, w)| (effective_level(w, now, limits.aging), w.enqueued))
                .map(|(i, _)| i);
            let Some(i) = best else { return };
            let w = st.waiting.remove(i);
            let waited = now.duration_since(w.enqueued);
            let level = w.priority.level();
            inner.metrics.record_queue_start(level, waited);
            inner.metrics.record_queue_depth(depths(&st.waiting));
            st.stats.started[level] += 1;
            st.stats.total_wait_ms[level] += waited.as_secs_f64() * 1000.0;
            st.stats.max_wait_ms[level] =
                st.stats.max_wait_ms[level].max(waited.as_secs_f64() * 1000.0);
            st.running.insert(
                w.id,
                Running {
                    priority: w.priority,
                    token: w.token.clone(),
                    extra: !worker_free,
                },
            );
            (w.launch, w.id, w.kind, w.priority)
        };
        let Some(future) = launch(false) else {
            continue;
        };
        let inner2 = inner.clone();
        let runtime = if priority == Priority::Urgent {
            &inner.runtime
        } else {
            &inner.lowered
        };
        runtime.spawn(async move {
            // Dropped when the job ends, also by a panic: a job that panicked must not hold its
            // slot (and show as running) for the rest of the session.
            let _slot = Slot {
                inner: inner2,
                id,
                kind,
                started: Instant::now(),
            };
            future.await;
        });
    }
}

/// A running job's slot, given back when dropped.
struct Slot {
    inner: Arc<Inner>,
    id: u64,
    kind: JobKind,
    started: Instant,
}

impl Drop for Slot {
    fn drop(&mut self) {
        {
            let mut st = lock(&self.inner);
            st.running.remove(&self.id);
            *st.run_ms.entry(self.kind).or_default() +=
                self.started.elapsed().as_secs_f64() * 1000.0;
        }
        dispatch(&self.inner);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    fn limits(workers: usize, reserved: usize, aging_ms: u64) -> SchedulerLimits {
        SchedulerLimits {
            workers,
            reserved_for_interactive: reserved,
            urgent_extra: 0,
            aging: Duration::from_millis(aging_ms),
            group_depth: 3,
        }
    }

    /// A blocking job that records its name when it starts and waits until `gate` opens.
    fn gated(
        s: &Scheduler,
        p: Priority,
        name: &'static str,
        log: &Arc<Mutex<Vec<&'static str>>>,
        gate: mpsc::Receiver<()>,
    ) -> Job<()> {
        let log = log.clone();
        s.submit_blocking(p, JobKind::Other, None, move |_| {
            log.lock().unwrap().push(name);
            let _ = gate.recv();
            Ok(())
        })
    }

    fn quick(
        s: &Scheduler,
        p: Priority,
        name: &'static str,
        log: &Arc<Mutex<Vec<&'static str>>>,
    ) -> Job<()> {
        let log = log.clone();
        s.submit_blocking(p, JobKind::Other, None, move |_| {
            log.lock().unwrap().push(name);
            Ok(())
        })
    }

    #[test]
    fn higher_priority_starts_first() {
        let s = Scheduler::new(limits(1, 0, 60_000)).unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (open, gate) = mpsc::channel();
        let blocker = gated(&s, Priority::Urgent, "blocker", &log, gate);
        while log.lock().unwrap().is_empty() {
            std::thread::sleep(Duration::from_millis(1));
        }
        let jobs = vec![
            quick(&s, Priority::Idle, "idle", &log),
            quick(&s, Priority::Background, "background", &log),
            quick(&s, Priority::UserVisible, "visible", &log),
            quick(&s, Priority::Urgent, "urgent", &log),
        ];
        open.send(()).unwrap();
        blocker.blocking_result().unwrap();
        for j in jobs {
            j.blocking_result().unwrap();
        }
        assert_eq!(
            *log.lock().unwrap(),
            ["blocker", "urgent", "visible", "background", "idle"]
        );
    }

    #[test]
    fn a_waiting_idle_job_ages_past_newer_urgent_work() {
        let s = Scheduler::new(limits(1, 0, 20)).unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (open, gate) = mpsc::channel();
        let blocker = gated(&s, Priority::Urgent, "blocker", &log, gate);
        let idle = quick(&s, Priority::Idle, "idle", &log);
        std::thread::sleep(Duration::from_millis(100)); // idle has aged 5 levels: it is urgent now
        let urgent = quick(&s, Priority::Urgent, "urgent", &log);
        open.send(()).unwrap();
        blocker.blocking_result().unwrap();
        idle.blocking_result().unwrap();
        urgent.blocking_result().unwrap();
        assert_eq!(
            *log.lock().unwrap(),
            ["blocker", "idle", "urgent"],
            "the older, aged job goes first"
        );
    }

    #[test]
    fn background_work_never_takes_the_reserved_slot() {
        let s = Scheduler::new(limits(2, 1, 60_000)).unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut gates = Vec::new();
        let mut jobs = Vec::new();
        for name in ["bg1", "bg2", "bg3"] {
            let (open, gate) = mpsc::channel();
            gates.push(open);
            jobs.push(gated(&s, Priority::Background, name, &log, gate));
        }
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            *log.lock().unwrap(),
            ["bg1"],
            "one background job at a time on two workers"
        );
        let stats = s.stats();
        assert_eq!((stats.running[2], stats.waiting[2]), (1, 2));
        // The reserved slot is free for the user at once.
        let urgent = quick(&s, Priority::Urgent, "urgent", &log);
        urgent.blocking_result().unwrap();
        assert_eq!(*log.lock().unwrap(), ["bg1", "urgent"]);
        for g in gates {
            let _ = g.send(());
        }
        for j in jobs {
            j.blocking_result().unwrap();
        }
    }

    #[test]
    fn a_grid_page_starts_while_a_query_and_a_save_hold_every_worker() {
        let s = Scheduler::new(SchedulerLimits {
            urgent_extra: 1,
            ..limits(2, 1, 60_000)
        })
        .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (open_save, save_gate) = mpsc::channel();
        let save = gated(&s, Priority::Background, "save", &log, save_gate);
        while log.lock().unwrap().is_empty() {
            std::thread::sleep(Duration::from_millis(1));
        }
        let (open_query, query_gate) = mpsc::channel();
        let query = gated(&s, Priority::UserVisible, "query", &log, query_gate);
        while log.lock().unwrap().len() < 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
        // Every worker is held: other work waits, a page takes the urgent slot.
        let other = quick(&s, Priority::UserVisible, "other", &log);
        let page = quick(&s, Priority::Urgent, "page", &log);
        let deadline = Instant::now() + Duration::from_secs(10);
        while log.lock().unwrap().len() < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(*log.lock().unwrap(), ["save", "query", "page"]);
        page.blocking_result().unwrap();
        open_save.send(()).unwrap();
        save.blocking_result().unwrap();
        other.blocking_result().unwrap();
        open_query.send(()).unwrap();
        query.blocking_result().unwrap();
        assert_eq!(*log.lock().unwrap(), ["save", "query", "page", "other"]);
    }

    #[test]
    fn a_page_in_the_urgent_slot_never_keeps_a_worker_from_other_work() {
        let s = Scheduler::new(SchedulerLimits {
            urgent_extra: 1,
            ..limits(2, 1, 60_000)
        })
        .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let started = |n: usize| {
            let deadline = Instant::now() + Duration::from_secs(10);
            while log.lock().unwrap().len() < n && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
        };
        let (open_save, save_gate) = mpsc::channel();
        let save = gated(&s, Priority::Background, "save", &log, save_gate);
        started(1);
        let (open_query, query_gate) = mpsc::channel();
        let query = gated(&s, Priority::UserVisible, "query", &log, query_gate);
        started(2);
        let (open_page, page_gate) = mpsc::channel();
        let page = gated(&s, Priority::Urgent, "page", &log, page_gate);
        started(3);
        // The query ends while the page still holds the urgent slot: its worker goes to the
        // next job at once.
        let other = quick(&s, Priority::UserVisible, "other", &log);
        open_query.send(()).unwrap();
        query.blocking_result().unwrap();
        started(4);
        assert_eq!(*log.lock().unwrap(), ["save", "query", "page", "other"]);
        other.blocking_result().unwrap();
        open_page.send(()).unwrap();
        open_save.send(()).unwrap();
        page.blocking_result().unwrap();
        save.blocking_result().unwrap();
    }

    #[test]
    fn cancelling_waiting_and_running_jobs() {
        let s = Scheduler::new(limits(1, 0, 60_000)).unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        // Running async work that would never end: cancel drops its future.
        let forever = s.submit(Priority::Urgent, JobKind::Query, None, |_| {
            std::future::pending::<Result<(), QueueError>>()
        });
        let waiting = quick(&s, Priority::Urgent, "never", &log);
        waiting.cancel();
        let started = Instant::now();
        forever.cancel();
        assert!(matches!(
            forever.blocking_result(),
            Err(QueueError::Cancelled)
        ));
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "{:?}",
            started.elapsed()
        );
        assert!(matches!(
            waiting.blocking_result(),
            Err(QueueError::Cancelled)
        ));
        assert!(
            log.lock().unwrap().is_empty(),
            "a cancelled waiting job never starts"
        );

        // Running blocking work stops at its next check of the token.
        let blocking = s.submit_blocking(Priority::Background, JobKind::Export, None, |token| {
            for _ in 0..10_000 {
                if token.is_cancelled() {
                    return Err(QueueError::Cancelled);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(())
        });
        std::thread::sleep(Duration::from_millis(20));
        let started = Instant::now();
        blocking.cancel();
        assert!(matches!(
            blocking.blocking_result(),
            Err(QueueError::Cancelled)
        ));
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(s.stats().cancelled, 3);
    }

    #[test]
    fn stale_page_fetches_are_dropped_before_they_run() {
        let s = Scheduler::new(limits(1, 0, 60_000)).unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (open, gate) = mpsc::channel();
        let blocker = gated(&s, Priority::Urgent, "blocker", &log, gate);
        let names: [&'static str; 6] = ["p1", "p2", "p3", "p4", "p5", "p6"];
        let pages: Vec<_> = names
            .into_iter()
            .map(|name| {
                let log = log.clone();
                s.submit_blocking(
                    Priority::Urgent,
                    JobKind::Page,
                    Some("grid:t".into()),
                    move |_| {
                        log.lock().unwrap().push(name);
                        Ok(())
                    },
                )
            })
            .collect();
        open.send(()).unwrap();
        blocker.blocking_result().unwrap();
        let results: Vec<bool> = pages
            .into_iter()
            .map(|p| p.blocking_result().is_ok())
            .collect();
        assert_eq!(
            results,
            [false, false, false, true, true, true],
            "only the newest 3 stay"
        );
        assert_eq!(*log.lock().unwrap(), ["blocker", "p4", "p5", "p6"]);
        assert_eq!(s.stats().dropped_stale, 3);
    }

    #[test]
    fn a_job_that_panics_gives_its_slot_back() {
        let s = Scheduler::new(limits(1, 0, 1000)).unwrap();
        let panicked = s.submit_blocking(Priority::UserVisible, JobKind::Other, None, |_| {
            if true {
                panic!("a bug in a job");
            }
            Ok(())
        });
        assert!(matches!(
            panicked.blocking_result(),
            Err(QueueError::Stopped)
        ));
        let log = Arc::new(Mutex::new(Vec::new()));
        quick(&s, Priority::UserVisible, "after", &log)
            .blocking_result()
            .unwrap();
        assert_eq!(*log.lock().unwrap(), ["after"]);
        // The slot is given back just after the result is sent.
        let deadline = Instant::now() + Duration::from_secs(5);
        while s.stats().running != [0; 4] {
            assert!(Instant::now() < deadline, "a job still shows as running");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

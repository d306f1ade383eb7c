//! Events from the engine to whoever listens (the shell forwards them to the UI).
//!
//! Every event gets a sequence number so a UI that reloads can tell what it missed, and asks
//! the ring buffer for it ([`EventBus::since`]). The engine never knows who listens: it emits
//! into the [`EventBus`], which batches (time window, size cap, dedup by key, critical events
//! at once) and hands batches to an [`EventSink`] on its own thread.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::emit::Emitter;
use crate::metrics::{Counter, Metrics, MetricsSummary};
use crate::notebooks::{NotebookEvent, NotebookId, NotebookSummary, SaveState};
use crate::snapshots::SnapshotEvent;
use crate::tables::TableInfo;

/// What happened, as the UI needs to know it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EngineEvent {
    /// A notebook exists now (in memory; it may not be on disk yet).
    NotebookCreated { notebook: NotebookSummary },
    /// A notebook's title, cells or file changed (rename, reload from disk).
    NotebookChanged { notebook: NotebookSummary },
    /// A notebook was deleted (its folder is in the workspace's `.trash`).
    NotebookDeleted { notebook: NotebookId },
    /// A notebook's save state changed. `revision` counts its edits; `saved_revision` is the
    /// newest revision known to be durable on disk.
    SaveStatus {
        notebook: NotebookId,
        status: SaveState,
        revision: u64,
        saved_revision: u64,
    },
    /// A table's snapshot state changed (pending, saving with progress, saved, failed).
    TableSaveStatus(crate::snapshots::TableSaveStatus),
    /// Something the user should know about a table: it was opened from an older saved copy
    /// because the newest is damaged, or it could not be opened at all.
    TableNotice {
        notebook: NotebookId,
        table: Option<String>,
        message: String,
    },
    /// A table was added to a notebook (imported, kept from a result, renamed to this name).
    TableAdded {
        notebook: NotebookId,
        table: TableInfo,
    },
    /// A table has a new current version (an edit, a transform, a restore, an undo, a redo).
    TableChanged {
        notebook: NotebookId,
        table: TableInfo,
    },
    /// A table left a notebook (deleted, or renamed away from this name).
    TableRemoved { notebook: NotebookId, table: String },
    /// The status bar's figures. Rides along with batches, at most once a second, and only
    /// when something changed: an idle engine sends none.
    Metrics(MetricsSummary),
}

impl From<NotebookEvent> for EngineEvent {
    fn from(e: NotebookEvent) -> EngineEvent {
        match e {
            NotebookEvent::Created { notebook } => EngineEvent::NotebookCreated { notebook },
            NotebookEvent::Changed { notebook } => EngineEvent::NotebookChanged { notebook },
            NotebookEvent::Deleted { notebook } => EngineEvent::NotebookDeleted { notebook },
            NotebookEvent::SaveStatus {
                notebook,
                status,
                revision,
                saved_revision,
            } => EngineEvent::SaveStatus {
                notebook,
                status,
                revision,
                saved_revision,
            },
        }
    }
}

impl From<SnapshotEvent> for EngineEvent {
    fn from(e: SnapshotEvent) -> EngineEvent {
        match e {
            SnapshotEvent::Notice {
                notebook,
                table,
                message,
            } => EngineEvent::TableNotice {
                notebook,
                table,
                message,
            },
            SnapshotEvent::SaveStatus(status) => EngineEvent::TableSaveStatus(status),
        }
    }
}

/// An area's emitter that feeds the bus (the engine's wiring, and tests that build an area
/// with a bus of their own).
impl<T: Into<EngineEvent> + 'static> From<Arc<EventBus>> for Emitter<T> {
    fn from(bus: Arc<EventBus>) -> Emitter<T> {
        Emitter::new(move |e: T| bus.emit(e.into()))
    }
}

/// An event with its place in the engine's sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct Sequenced {
    pub seq: u64,
    pub event: EngineEvent,
}

/// Receives batches of events. Implementations must return quickly and never block.
pub trait EventSink: Send + Sync {
    fn deliver(&self, batch: Vec<Sequenced>);
}

/// A sink for headless use (CLI, benches) where nobody listens.
pub struct NullSink;

impl EventSink for NullSink {
    fn deliver(&self, _batch: Vec<Sequenced>) {}
}

impl EngineEvent {
    /// Errors and failures go to the UI at once, never batched, never dropped.
    pub fn is_critical(&self) -> bool {
        match self {
            EngineEvent::SaveStatus { status, .. } => matches!(
                status,
                SaveState::Failed { .. } | SaveState::ChangedOnDisk | SaveState::Unreadable { .. }
            ),
            EngineEvent::TableSaveStatus(t) => matches!(t.status, SaveState::Failed { .. }),
            EngineEvent::TableNotice { .. } => true,
            _ => false,
        }
    }

    /// Events with the same key describe the same thing (one notebook's save state, one
    /// table's progress): only the latest matters, so a batch keeps only the latest.
    fn dedup_key(&self) -> Option<String> {
        match self {
            EngineEvent::SaveStatus { notebook, .. } => Some(format!("save/{notebook}")),
            EngineEvent::NotebookChanged { notebook } => Some(format!("changed/{}", notebook.id)),
            EngineEvent::TableSaveStatus(t) => Some(format!("table/{}/{}", t.notebook, t.table)),
            EngineEvent::TableChanged { notebook, table } => {
                Some(format!("content/{notebook}/{}", table.name))
            }
            EngineEvent::Metrics(_) => Some("metrics".into()),
            _ => None,
        }
    }
}

/// What the batcher did, for the metrics panel and the `events` bench.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, specta::Type)]
pub struct EventStats {
    pub events_in: u64,
    /// Batches (messages) handed to the sink.
    pub messages_out: u64,
    pub deduplicated: u64,
    /// Non-critical events dropped because the UI fell behind (critical ones never are).
    pub dropped: u64,
    pub critical: u64,
}

impl EventStats {
    /// Messages saved by batching, as a % of events.
    pub fn reduction_pct(&self) -> f64 {
        if self.events_in == 0 {
            return 0.0;
        }
        100.0 * (1.0 - self.messages_out as f64 / self.events_in as f64)
    }
}

/// A catch-up request reached further back than the ring buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooOld {
    pub oldest_kept: u64,
}

#[derive(Default)]
struct State {
    next_seq: u64,
    /// Non-critical events waiting for their batch, deduplicated, in sequence order.
    pending: std::collections::VecDeque<Sequenced>,
    first_pending_at: Option<Instant>,
    /// The last `ring_size` events, for a UI that reloads or missed some.
    ring: std::collections::VecDeque<Sequenced>,
    stats: EventStats,
    stopping: bool,
    /// Deliver everything pending now (a critical event, a flush).
    urgent: bool,
    /// The batcher is handing a batch to the sink (outside the lock).
    delivering: bool,
    metrics_sent_at: Option<Instant>,
    /// `Metrics::activity` when the last metrics event was made.
    metrics_seen: u64,
}

impl State {
    /// Gives the event the next sequence number and keeps it in the catch-up ring.
    fn sequence(&mut self, event: EngineEvent, ring_size: usize) -> Sequenced {
        let item = Sequenced {
            seq: self.next_seq,
            event,
        };
        self.next_seq += 1;
        if self.ring.len() == ring_size {
            self.ring.pop_front();
        }
        self.ring.push_back(item.clone());
        item
    }
}

struct Inner {
    sink: Arc<dyn EventSink>,
    metrics: Arc<Metrics>,
    window: Duration,
    max_batch: usize,
    ring_size: usize,
    /// Metrics events go out at most this often; `None` sends none.
    metrics_every: Option<Duration>,
    /// Pending events kept at most; beyond it the oldest non-critical ones are dropped.
    capacity: usize,
    state: Mutex<State>,
    wake: Condvar,
    /// Signalled after each delivery, for `flush`.
    idle: Condvar,
}

/// Numbers events, keeps the last ones for catch-up, and hands them to the sink in batches:
/// a batch goes out `window` after its first event or when it holds `max_batch`; events with
/// the same dedup key keep only the latest; critical events skip the batch and go at once.
/// Emitting never waits on the sink: a batcher thread delivers, and when the UI falls behind
/// the oldest non-critical events are dropped (and counted). A window of 0 delivers each
/// event from `emit` itself (no batching: the baseline the bench compares with).
pub struct EventBus {
    inner: Arc<Inner>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl EventBus {
    pub fn new(sink: Arc<dyn EventSink>, metrics: Arc<Metrics>) -> Self {
        Self::with_config(sink, metrics, &EventConfig::default())
    }

    pub fn with_config(
        sink: Arc<dyn EventSink>,
        metrics: Arc<Metrics>,
        config: &EventConfig,
    ) -> Self {
        let max_batch = (config.max_batch as usize).max(1);
        let inner = Arc::new(Inner {
            sink,
            metrics,
            window: Duration::from_millis(config.window_ms),
            max_batch,
            ring_size: (config.ring_size as usize).max(1),
            metrics_every: (config.metrics_every_ms > 0)
                .then(|| Duration::from_millis(config.metrics_every_ms)),
            capacity: max_batch * 20,
            state: Mutex::new(State {
                next_seq: 1,
                ..State::default()
            }),
            wake: Condvar::new(),
            idle: Condvar::new(),
        });
        let thread = (!inner.window.is_zero()).then(|| {
            let inner = inner.clone();
            std::thread::Builder::new()
                .name("quire-events".into())
                .spawn(move || batcher(&inner))
                .expect("the event batcher thread starts")
        });
        EventBus {
            inner,
            thread: Mutex::new(thread),
        }
    }

    pub fn emit(&self, event: EngineEvent) {
        let inner = &self.inner;
        inner.metrics.record_events(1);
        let mut st = inner.lock();
        let item = st.sequence(event, inner.ring_size);
        st.stats.events_in += 1;
        let critical = item.event.is_critical();
        if critical {
            st.stats.critical += 1;
        }
        if inner.window.is_zero() {
            st.stats.messages_out += 1;
            inner.metrics.add(Counter::MessagesOut, 1);
            drop(st);
            inner.sink.deliver(vec![item]);
            return;
        }
        if let Some(key) = item.event.dedup_key() {
            if let Some(at) = st
                .pending
                .iter()
                // A critical event is never replaced: it goes out as it is.
                .position(|e| {
                    !e.event.is_critical() && e.event.dedup_key().as_deref() == Some(key.as_str())
                })
            {
                st.pending.remove(at);
                st.stats.deduplicated += 1;
            }
        }
        st.pending.push_back(item);
        if st.pending.len() > inner.capacity {
            if let Some(at) = st.pending.iter().position(|e| !e.event.is_critical()) {
                st.pending.remove(at);
                st.stats.dropped += 1;
                inner.metrics.add(Counter::EventsDropped, 1);
            }
        }
        let first = st.first_pending_at.is_none();
        st.first_pending_at.get_or_insert_with(Instant::now);
        let full = st.pending.len() >= inner.max_batch;
        // A critical event goes out at once, with everything pending before it: one thread
        // delivers, in sequence order, so the UI never sees a number before a smaller one.
        st.urgent |= critical;
        drop(st);
        if first || full || critical {
            inner.wake.notify_all();
        }
    }

    /// Delivers everything pending now and returns once it is delivered (Flush, shutdown, and
    /// tests that read what was sent). With the batcher running it does the delivering, so
    /// the order stays the sequence order; the wait is bounded for a sink that hangs.
    pub fn flush(&self) {
        let inner = &self.inner;
        let batcher_running = self
            .thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some();
        if batcher_running {
            let deadline = Instant::now() + Duration::from_secs(5);
            let mut st = inner.lock();
            st.urgent = true;
            inner.wake.notify_all();
            while !st.pending.is_empty() || st.delivering {
                let now = Instant::now();
                if now >= deadline || st.stopping {
                    break;
                }
                st = inner
                    .idle
                    .wait_timeout(st, deadline - now)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            if st.pending.is_empty() {
                st.first_pending_at = None;
            }
            return;
        }
        loop {
            let mut st = inner.lock();
            if st.pending.is_empty() {
                st.first_pending_at = None;
                return;
            }
            let n = st.pending.len().min(inner.max_batch);
            let batch: Vec<Sequenced> = st.pending.drain(..n).collect();
            st.stats.messages_out += 1;
            inner.metrics.add(Counter::MessagesOut, 1);
            drop(st);
            inner.sink.deliver(batch);
        }
    }

    /// Every kept event after `seq`, for a UI that reloaded or missed some; `TooOld` when the
    /// ring no longer reaches back that far (the UI then reloads its state instead).
    pub fn since(&self, seq: u64) -> Result<Vec<Sequenced>, TooOld> {
        let st = self.inner.lock();
        let oldest = st.ring.front().map_or(st.next_seq, |e| e.seq);
        if seq + 1 < oldest && seq + 1 < st.next_seq {
            return Err(TooOld {
                oldest_kept: oldest,
            });
        }
        Ok(st.ring.iter().filter(|e| e.seq > seq).cloned().collect())
    }

    pub fn stats(&self) -> EventStats {
        self.inner.lock().stats
    }

    /// Flushes and stops the batcher thread. Idempotent.
    pub fn shutdown(&self) {
        self.flush();
        self.inner.lock().stopping = true;
        self.inner.wake.notify_all();
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = thread {
            let _ = t.join();
        }
        self.flush();
    }
}

impl Drop for EventBus {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The batcher thread: sleeps until the pending batch is due (window elapsed or full),
/// delivers it outside the lock, repeats. Never polls.
fn batcher(inner: &Inner) {
    let mut st = inner.lock();
    loop {
        if st.stopping {
            return;
        }
        let now = Instant::now();
        let batch_due = st.first_pending_at.map(|first| {
            if st.urgent || st.pending.len() >= inner.max_batch {
                now
            } else {
                first + inner.window
            }
        });
        // Figures changed and no batch will carry them: they go alone once the throttle allows.
        let metrics_due = inner
            .metrics_every
            .filter(|_| batch_due.is_none() && inner.metrics.activity() != st.metrics_seen)
            .map(|every| st.metrics_sent_at.map_or(now, |t| t + every));
        match batch_due.or(metrics_due) {
            None => {
                st = inner.wake.wait(st).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            Some(due) if now < due => {
                st = inner
                    .wake
                    .wait_timeout(st, due - now)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
                continue;
            }
            Some(_) => {}
        }
        let n = if st.urgent {
            st.pending.len()
        } else {
            st.pending.len().min(inner.max_batch)
        };
        st.urgent = false;
        let mut batch: Vec<Sequenced> = st.pending.drain(..n).collect();
        st.first_pending_at = (!st.pending.is_empty()).then(Instant::now);
        if let Some(m) = take_metrics(inner, &mut st, now) {
            batch.push(m);
        }
        if !batch.is_empty() {
            st.stats.messages_out += 1;
            inner.metrics.add(Counter::MessagesOut, 1);
            st.delivering = true;
            drop(st);
            // A slow sink holds only this thread; producers keep appending (and dropping).
            inner.sink.deliver(batch);
            st = inner.lock();
            st.delivering = false;
        }
        inner.idle.notify_all();
    }
}

/// A metrics event with the next sequence number, when the figures changed and the last one
/// went out at least `metrics_every` ago.
fn take_metrics(inner: &Inner, st: &mut State, now: Instant) -> Option<Sequenced> {
    let every = inner.metrics_every?;
    let activity = inner.metrics.activity();
    if activity == st.metrics_seen || st.metrics_sent_at.is_some_and(|t| now < t + every) {
        return None;
    }
    st.metrics_seen = activity;
    st.metrics_sent_at = Some(now);
    Some(st.sequence(
        EngineEvent::Metrics(inner.metrics.summary()),
        inner.ring_size,
    ))
}

#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Mutex;

    use super::*;

    /// Keeps every delivered batch, for assertions.
    #[derive(Default)]
    pub struct RecordingSink(pub Mutex<Vec<Vec<Sequenced>>>);

    impl EventSink for RecordingSink {
        fn deliver(&self, batch: Vec<Sequenced>) {
            self.0.lock().unwrap().push(batch);
        }
    }

    impl RecordingSink {
        /// Every event delivered so far, in order, without sequence numbers.
        pub fn events(&self) -> Vec<EngineEvent> {
            self.0
                .lock()
                .unwrap()
                .iter()
                .flatten()
                .map(|s| s.event.clone())
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::testing::RecordingSink;
    use super::*;
    use crate::notebooks::NotebookId;

    fn status(n: u128, state: SaveState, revision: u64) -> EngineEvent {
        EngineEvent::SaveStatus {
            notebook: NotebookId(uuid::Uuid::from_u128(n)),
            status: state,
            revision,
            saved_revision: 0,
        }
    }

    fn bus(sink: Arc<dyn EventSink>, window_ms: u64, max_batch: u32) -> EventBus {
        EventBus::with_config(
            sink,
            Arc::default(),
            &EventConfig {
                window_ms,
                max_batch,
                ring_size: 1000,
                metrics_every_ms: 0,
            },
        )
    }

    #[test]
    fn the_window_batches_and_dedup_keeps_the_latest() {
        let sink = Arc::new(RecordingSink::default());
        let b = bus(sink.clone(), 50, 50);
        for r in 0..10 {
            b.emit(status(1, SaveState::Unsaved, r)); // one notebook: deduplicated
            b.emit(status(2 + r as u128, SaveState::Unsaved, r)); // ten notebooks
        }
        assert!(
            sink.0.lock().unwrap().is_empty(),
            "nothing before the window ends"
        );
        std::thread::sleep(Duration::from_millis(150));
        let batches = sink.0.lock().unwrap().clone();
        assert_eq!(batches.len(), 1, "one message for twenty events");
        assert_eq!(batches[0].len(), 11);
        let latest = batches[0].iter().find_map(|e| match &e.event {
            EngineEvent::SaveStatus {
                notebook, revision, ..
            } if notebook.0.as_u128() == 1 => Some(*revision),
            _ => None,
        });
        assert_eq!(latest, Some(9), "the latest status of notebook 1");
        assert!(batches[0].windows(2).all(|w| w[0].seq < w[1].seq));
        let s = b.stats();
        assert_eq!((s.events_in, s.messages_out, s.deduplicated), (20, 1, 9));
    }

    #[test]
    fn the_size_cap_sends_before_the_window_and_critical_events_go_at_once() {
        let sink = Arc::new(RecordingSink::default());
        let b = bus(sink.clone(), 10_000, 5);
        for n in 0..5 {
            b.emit(status(n, SaveState::Unsaved, 1));
        }
        let started = Instant::now();
        while sink.0.lock().unwrap().is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "the full batch never went"
            );
            std::thread::yield_now();
        }
        let failed = Instant::now();
        b.emit(status(
            9,
            SaveState::Failed {
                message: "disk full".into(),
            },
            2,
        ));
        // The window is 10 s: only the critical bypass can send it now.
        while sink.0.lock().unwrap().len() < 2 {
            assert!(
                failed.elapsed() < Duration::from_millis(200),
                "the critical event waited for the window"
            );
            std::thread::yield_now();
        }
        let batches = sink.0.lock().unwrap().clone();
        assert_eq!(
            batches.last().unwrap().len(),
            1,
            "a critical event bypasses the batch"
        );
        assert_eq!(b.stats().critical, 1);
    }

    /// A sink that blocks until released, like a frozen webview.
    struct Stalled(AtomicBool, Mutex<Vec<Vec<Sequenced>>>);

    impl EventSink for Stalled {
        fn deliver(&self, batch: Vec<Sequenced>) {
            while !self.0.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
            self.1.lock().unwrap().push(batch);
        }
    }

    #[test]
    fn a_stalled_consumer_never_blocks_producers_and_drops_only_non_critical_events() {
        let sink = Arc::new(Stalled(AtomicBool::new(false), Mutex::default()));
        let b = bus(sink.clone(), 1, 10);
        b.emit(EngineEvent::NotebookDeleted {
            notebook: NotebookId(uuid::Uuid::nil()),
        });
        std::thread::sleep(Duration::from_millis(20)); // the batcher is now stuck in deliver
        let started = Instant::now();
        for n in 0..1000u128 {
            b.emit(EngineEvent::NotebookDeleted {
                notebook: NotebookId(uuid::Uuid::from_u128(n)),
            });
            if n % 200 == 0 {
                b.emit(status(
                    10_000 + n,
                    SaveState::Failed {
                        message: "disk full".into(),
                    },
                    1,
                ));
            }
        }
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "producers never wait: {:?}",
            started.elapsed()
        );
        let s = b.stats();
        assert_eq!(
            s.dropped,
            1005 - 200,
            "the queue keeps 20 batches, critical ones included"
        );
        sink.0.store(true, Ordering::SeqCst);
        b.shutdown();
        let delivered: Vec<Sequenced> = sink.1.lock().unwrap().iter().flatten().cloned().collect();
        let critical = delivered.iter().filter(|e| e.event.is_critical()).count();
        assert_eq!(critical, 5, "critical events are never dropped");
        assert_eq!(
            delivered.len(),
            1 + 200,
            "the first event and the newest 200 (five of them critical)"
        );
        assert!(
            delivered.windows(2).all(|w| w[0].seq < w[1].seq),
            "delivered in sequence order"
        );
        assert_eq!(b.stats().critical, 5);
    }

    #[test]
    fn shutdown_flushes_and_the_ring_returns_exactly_what_was_missed() {
        let sink = Arc::new(RecordingSink::default());
        let b = bus(sink.clone(), 60_000, 1000);
        for n in 0..30 {
            b.emit(EngineEvent::NotebookDeleted {
                notebook: NotebookId(uuid::Uuid::from_u128(n)),
            });
        }
        let missed = b.since(25).unwrap();
        assert_eq!(
            missed.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [26, 27, 28, 29, 30]
        );
        b.shutdown();
        assert_eq!(
            sink.events().len(),
            30,
            "everything pending went out at shutdown"
        );

        let small = EventBus::with_config(
            Arc::new(NullSink),
            Arc::default(),
            &EventConfig {
                window_ms: 0,
                max_batch: 1,
                ring_size: 10,
                metrics_every_ms: 0,
            },
        );
        for n in 0..25 {
            small.emit(EngineEvent::NotebookDeleted {
                notebook: NotebookId(uuid::Uuid::from_u128(n)),
            });
        }
        assert_eq!(small.since(3).unwrap_err().oldest_kept, 16);
        assert_eq!(small.since(20).unwrap().len(), 5);
        assert!(small.since(25).unwrap().is_empty());
    }

    #[test]
    fn metrics_ride_along_at_most_once_a_second_and_never_while_idle() {
        let sink = Arc::new(RecordingSink::default());
        let metrics = Arc::new(Metrics::default());
        let b = EventBus::with_config(
            sink.clone(),
            metrics.clone(),
            &EventConfig {
                window_ms: 20,
                max_batch: 50,
                ring_size: 1000,
                metrics_every_ms: 1000,
            },
        );
        let is_metrics = |e: &EngineEvent| matches!(e, EngineEvent::Metrics(_));
        metrics.record_write(100);
        b.emit(status(1, SaveState::Saving, 1));
        std::thread::sleep(Duration::from_millis(150));
        let events = sink.events();
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(matches!(&events[1], EngineEvent::Metrics(m) if m.disk_writes == 1));

        // Within the second: the batch goes without figures, which follow alone once allowed.
        metrics.record_write(100);
        b.emit(status(1, SaveState::Saved, 1));
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(sink.events().iter().filter(|e| is_metrics(e)).count(), 1);
        std::thread::sleep(Duration::from_millis(1100));
        let events = sink.events();
        assert_eq!(events.len(), 4, "{events:?}");
        assert!(matches!(&events[3], EngineEvent::Metrics(m) if m.disk_writes == 2));

        // Nothing changed: nothing is sent, however long it stays idle.
        std::thread::sleep(Duration::from_millis(1200));
        assert_eq!(sink.events().len(), 4);
        // Metrics events are numbered like any other and are in the catch-up ring.
        let ring = b.since(0).unwrap();
        assert_eq!(ring.len(), 4);
        assert!(ring.windows(2).all(|w| w[0].seq < w[1].seq));
    }

    mod model {
        use proptest::prelude::*;

        use super::*;

        #[derive(Debug, Clone)]
        enum Op {
            /// A save status of one of a few notebooks (deduplicated by notebook).
            Status(u8),
            /// A failure of one of a few notebooks (critical).
            Failure(u8),
            /// An event without a key.
            Deleted(u8),
            Flush,
            Pause,
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                5 => (0u8..4).prop_map(Op::Status),
                1 => (0u8..4).prop_map(Op::Failure),
                2 => (0u8..50).prop_map(Op::Deleted),
                1 => Just(Op::Flush),
                1 => Just(Op::Pause),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

            /// Against a reference: whatever the timing, the sink receives events in sequence
            /// order, each at most once, every critical one, every keyless one, and for each
            /// key the latest event; what it misses is only ever superseded by a later event
            /// with the same key.
            #[test]
            fn the_batcher_loses_nothing_and_keeps_the_order(ops in proptest::collection::vec(op(), 1..80)) {
                let sink = Arc::new(RecordingSink::default());
                let b = EventBus::with_config(
                    sink.clone(),
                    Arc::default(),
                    &EventConfig { window_ms: 2, max_batch: 4, ring_size: 1000, metrics_every_ms: 0 },
                );
                let mut emitted: Vec<(u64, EngineEvent)> = Vec::new();
                let mut seq = 0;
                for op in &ops {
                    let event = match op {
                        Op::Status(n) => status(u128::from(*n), SaveState::Unsaved, seq),
                        Op::Failure(n) => status(u128::from(*n), SaveState::Failed { message: "x".into() }, seq),
                        Op::Deleted(n) => EngineEvent::NotebookDeleted { notebook: NotebookId(uuid::Uuid::from_u128(1000 + u128::from(*n))) },
                        Op::Flush => { b.flush(); continue; }
                        Op::Pause => { std::thread::sleep(Duration::from_millis(3)); continue; }
                    };
                    seq += 1;
                    emitted.push((seq, event.clone()));
                    b.emit(event);
                }
                b.shutdown();
                let delivered: Vec<Sequenced> = sink.0.lock().unwrap().iter().flatten().cloned().collect();
                prop_assert!(delivered.windows(2).all(|w| w[0].seq < w[1].seq), "order: {:?}", delivered.iter().map(|e| e.seq).collect::<Vec<_>>());
                let got: std::collections::HashMap<u64, &EngineEvent> = delivered.iter().map(|e| (e.seq, &e.event)).collect();
                for (i, (seq, event)) in emitted.iter().enumerate() {
                    match got.get(seq) {
                        Some(e) => prop_assert_eq!(*e, event),
                        None => {
                            prop_assert!(!event.is_critical(), "critical event {} lost", seq);
                            let key = event.dedup_key();
                            prop_assert!(key.is_some(), "keyless event {} lost", seq);
                            prop_assert!(
                                emitted[i + 1..].iter().any(|(_, later)| later.dedup_key() == key),
                                "event {} lost without a later one for its key", seq
                            );
                        }
                    }
                }
                let mut latest = std::collections::HashMap::new();
                for (seq, event) in &emitted {
                    if let Some(k) = event.dedup_key() { latest.insert(k, *seq); }
                }
                for seq in latest.values() {
                    prop_assert!(got.contains_key(seq), "the latest event {} of its key is missing", seq);
                }
            }
        }
    }
}

/// Event batching towards the UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(default, deny_unknown_fields)]
pub struct EventConfig {
    /// Time window of one batch. Default 100 ms.
    pub window_ms: u64,
    /// Events in one batch at most. Default 50.
    pub max_batch: u32,
    /// Events kept for a UI that reloads and catches up. Default 1000.
    pub ring_size: u32,
    /// A metrics summary rides along with batches at most this often, and only when the
    /// figures changed. Default 1000 ms; 0 sends none.
    pub metrics_every_ms: u64,
}

impl Default for EventConfig {
    fn default() -> Self {
        Self {
            window_ms: 100,
            max_batch: 50,
            ring_size: 1000,
            metrics_every_ms: 1000,
        }
    }
}

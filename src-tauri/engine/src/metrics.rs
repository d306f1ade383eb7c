//! I/O and engine metrics: totals since start plus one-minute windows kept for an hour.
//!
//! Recording is a couple of relaxed atomic adds and never waits on a reader or a thread: the
//! window for the current minute is found by index (`minute % 60`) and reset by the first
//! recorder of a new minute. Nothing ticks; a minute with no activity is simply a window
//! nobody reset, which a report reads as zeros.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// One-minute windows kept (an hour).
pub const WINDOWS_KEPT: usize = 60;

/// What one counter adds up. Kept as indexes into flat arrays of atomics so that totals and
/// windows share one layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    DiskWrites,
    BytesWritten,
    Fsyncs,
    /// User changes that reached disk: notebook edits and table versions, counted when the
    /// write that carries them completes.
    Changes,
    /// Writes of user content (notebook files, committed snapshots): changes minus these rode
    /// along in a write instead of causing their own (coalesced).
    ContentWrites,
    Snapshots,
    SnapshotMicros,
    SnapshotBytes,
    EventsIn,
    MessagesOut,
    EventsDropped,
    TasksQueued,
    TasksCompleted,
    TasksFailed,
    TasksCancelled,
    Checkpoints,
}

const QUEUE_STARTED: usize = 16;
const QUEUE_WAIT_US: usize = QUEUE_STARTED + 4;
/// Slots from here on keep the largest value of the window, not a sum.
const FIRST_MAX: usize = QUEUE_WAIT_US + 4;
const SNAPSHOT_MAX_US: usize = FIRST_MAX;
const QUEUE_WAIT_MAX_US: usize = SNAPSHOT_MAX_US + 1;
const QUEUE_DEPTH_MAX: usize = QUEUE_WAIT_MAX_US + 4;
const SLOTS: usize = QUEUE_DEPTH_MAX + 4;

type Values = [AtomicU64; SLOTS];

fn zeros() -> Values {
    std::array::from_fn(|_| AtomicU64::new(0))
}

struct Window {
    /// The unix minute these values belong to; `u64::MAX` when never used.
    minute: AtomicU64,
    values: Values,
}

pub struct Metrics {
    totals: Values,
    windows: Box<[Window]>,
    /// Taken only by the first recorder of a new minute, to reset its window.
    roll: Mutex<()>,
    queue_waiting: [AtomicU64; 4],
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            totals: zeros(),
            windows: (0..WINDOWS_KEPT)
                .map(|_| Window {
                    minute: AtomicU64::new(u64::MAX),
                    values: zeros(),
                })
                .collect(),
            roll: Mutex::new(()),
            queue_waiting: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// The counters since start, for tests and quick readouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, specta::Type)]
pub struct MetricsSnapshot {
    /// Files durably replaced.
    pub disk_writes: u64,
    pub bytes_written: u64,
    /// `fsync` calls on files (folder syncs are part of each write).
    pub fsyncs: u64,
    /// Events handed to the UI bridge.
    pub events_emitted: u64,
}

/// One window's figures (or the totals since start), as the metrics panel charts them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, specta::Type)]
pub struct MetricsWindow {
    /// Start of the window in unix minutes (0 for totals).
    pub minute: u64,
    pub disk_writes: u64,
    pub bytes_written: u64,
    pub fsyncs: u64,
    pub changes: u64,
    pub content_writes: u64,
    /// Changes that rode along in a later write instead of causing their own.
    pub coalesced: u64,
    /// `coalesced` as a % of `changes`: the writes debouncing saved.
    pub coalesced_pct: f64,
    pub snapshots: u64,
    pub snapshot_ms_total: f64,
    pub snapshot_ms_max: f64,
    pub snapshot_bytes: u64,
    /// Snapshot bytes per second of snapshot time.
    pub snapshot_mb_s: f64,
    pub events_in: u64,
    pub messages_out: u64,
    pub events_dropped: u64,
    pub tasks_queued: u64,
    pub tasks_completed: u64,
    pub tasks_failed: u64,
    pub tasks_cancelled: u64,
    pub checkpoints: u64,
    /// Per priority (urgent, visible, background, idle).
    pub queue_started: [u64; 4],
    pub queue_wait_ms_mean: [f64; 4],
    pub queue_wait_ms_max: [f64; 4],
    pub queue_depth_max: [u64; 4],
}

/// Totals, the last hour minute by minute (oldest first, the current minute last) and the
/// queue as it is now.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct MetricsReport {
    pub totals: MetricsWindow,
    pub windows: Vec<MetricsWindow>,
    pub queue_waiting: [u64; 4],
}

/// What rides along with event batches for the status bar: totals, the current minute and
/// the queue now.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, specta::Type)]
pub struct MetricsSummary {
    pub disk_writes: u64,
    pub bytes_written: u64,
    pub fsyncs: u64,
    pub coalesced_pct: f64,
    pub events_in: u64,
    pub messages_out: u64,
    pub tasks_changed: u64,
    /// The current minute's figures.
    pub minute_writes: u64,
    pub minute_bytes: u64,
    pub queue_waiting: [u64; 4],
}

pub fn unix_minute() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 60)
}

impl Metrics {
    pub fn add(&self, counter: Counter, n: u64) {
        self.add_slot(unix_minute(), counter as usize, n);
    }

    pub fn record_write(&self, bytes: u64) {
        let minute = unix_minute();
        self.add_slot(minute, Counter::DiskWrites as usize, 1);
        self.add_slot(minute, Counter::BytesWritten as usize, bytes);
    }

    pub fn record_fsync(&self) {
        self.add(Counter::Fsyncs, 1);
    }

    pub fn record_events(&self, n: u64) {
        self.add(Counter::EventsIn, n);
    }

    /// A notebook file written with `changes` edits in it.
    pub fn record_content_write(&self, changes: u64) {
        let minute = unix_minute();
        self.add_slot(minute, Counter::ContentWrites as usize, 1);
        self.add_slot(minute, Counter::Changes as usize, changes.max(1));
    }

    /// A snapshot committed after `took`, carrying `changes` table versions.
    pub fn record_snapshot(&self, took: Duration, bytes: u64, changes: u64) {
        let minute = unix_minute();
        let us = took.as_micros() as u64;
        self.add_slot(minute, Counter::Snapshots as usize, 1);
        self.add_slot(minute, Counter::ContentWrites as usize, 1);
        self.add_slot(minute, Counter::Changes as usize, changes.max(1));
        self.add_slot(minute, Counter::SnapshotMicros as usize, us);
        self.add_slot(minute, Counter::SnapshotBytes as usize, bytes);
        self.max_slot(minute, SNAPSHOT_MAX_US, us);
    }

    /// A queued job of priority `level` started after waiting `waited`.
    pub fn record_queue_start(&self, level: usize, waited: Duration) {
        let (minute, level) = (unix_minute(), level.min(3));
        let us = waited.as_micros() as u64;
        self.add_slot(minute, QUEUE_STARTED + level, 1);
        self.add_slot(minute, QUEUE_WAIT_US + level, us);
        self.max_slot(minute, QUEUE_WAIT_MAX_US + level, us);
    }

    /// How many jobs wait at each priority now.
    pub fn record_queue_depth(&self, waiting: [usize; 4]) {
        let minute = unix_minute();
        for (level, n) in waiting.into_iter().enumerate() {
            self.queue_waiting[level].store(n as u64, Ordering::Relaxed);
            self.max_slot(minute, QUEUE_DEPTH_MAX + level, n as u64);
        }
    }

    fn add_slot(&self, minute: u64, slot: usize, n: u64) {
        self.totals[slot].fetch_add(n, Ordering::Relaxed);
        if let Some(w) = self.window(minute) {
            w.values[slot].fetch_add(n, Ordering::Relaxed);
        }
    }

    fn max_slot(&self, minute: u64, slot: usize, n: u64) {
        self.totals[slot].fetch_max(n, Ordering::Relaxed);
        if let Some(w) = self.window(minute) {
            w.values[slot].fetch_max(n, Ordering::Relaxed);
        }
    }

    /// The window of `minute`, reset first if it still holds an hour-old minute. `None` for a
    /// minute older than the window's (a clock stepped back): totals still count it.
    fn window(&self, minute: u64) -> Option<&Window> {
        let w = &self.windows[(minute % WINDOWS_KEPT as u64) as usize];
        let stamp = w.minute.load(Ordering::Acquire);
        if stamp == minute {
            return Some(w);
        }
        if stamp != u64::MAX && stamp > minute {
            return None;
        }
        let _roll = self.roll.lock().unwrap_or_else(|p| p.into_inner());
        let stamp = w.minute.load(Ordering::Acquire);
        if stamp == u64::MAX || stamp < minute {
            for v in &w.values {
                v.store(0, Ordering::Relaxed);
            }
            w.minute.store(minute, Ordering::Release);
        }
        (w.minute.load(Ordering::Acquire) == minute).then_some(w)
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        let t = |c: Counter| self.totals[c as usize].load(Ordering::Relaxed);
        MetricsSnapshot {
            disk_writes: t(Counter::DiskWrites),
            bytes_written: t(Counter::BytesWritten),
            fsyncs: t(Counter::Fsyncs),
            events_emitted: t(Counter::EventsIn),
        }
    }

    pub fn report(&self) -> MetricsReport {
        self.report_at(unix_minute())
    }

    /// The hour ending with `now` (a unix minute).
    pub fn report_at(&self, now: u64) -> MetricsReport {
        let windows = (0..WINDOWS_KEPT as u64)
            .map(|i| {
                let minute = (now + 1 + i).saturating_sub(WINDOWS_KEPT as u64);
                let w = &self.windows[(minute % WINDOWS_KEPT as u64) as usize];
                if w.minute.load(Ordering::Acquire) == minute {
                    figures(minute, &w.values)
                } else {
                    MetricsWindow {
                        minute,
                        ..MetricsWindow::default()
                    }
                }
            })
            .collect();
        MetricsReport {
            totals: figures(0, &self.totals),
            windows,
            queue_waiting: self.queue_now(),
        }
    }

    fn queue_now(&self) -> [u64; 4] {
        std::array::from_fn(|i| self.queue_waiting[i].load(Ordering::Relaxed))
    }

    /// A few figures for the status bar, cheap enough to send with event batches.
    pub fn summary(&self) -> MetricsSummary {
        let minute = unix_minute();
        let totals = figures(0, &self.totals);
        let current = self
            .window(minute)
            .map(|w| figures(minute, &w.values))
            .unwrap_or_default();
        MetricsSummary {
            disk_writes: totals.disk_writes,
            bytes_written: totals.bytes_written,
            fsyncs: totals.fsyncs,
            coalesced_pct: totals.coalesced_pct,
            events_in: totals.events_in,
            messages_out: totals.messages_out,
            tasks_changed: totals.tasks_queued
                + totals.tasks_completed
                + totals.tasks_failed
                + totals.tasks_cancelled,
            minute_writes: current.disk_writes,
            minute_bytes: current.bytes_written,
            queue_waiting: self.queue_now(),
        }
    }

    /// Something that shows in the summary changed since `seen` (a value of this function).
    pub fn activity(&self) -> u64 {
        [
            Counter::DiskWrites,
            Counter::Fsyncs,
            Counter::Changes,
            // Real events only: metrics events themselves are not counted as events in.
            Counter::EventsIn,
            Counter::TasksQueued,
            Counter::TasksCompleted,
            Counter::TasksFailed,
            Counter::TasksCancelled,
        ]
        .iter()
        .map(|c| self.totals[*c as usize].load(Ordering::Relaxed))
        .sum::<u64>()
            + self.queue_now().iter().sum::<u64>()
    }
}

fn figures(minute: u64, v: &Values) -> MetricsWindow {
    let g = |slot: usize| v[slot].load(Ordering::Relaxed);
    let c = |c: Counter| g(c as usize);
    let changes = c(Counter::Changes);
    let coalesced = changes.saturating_sub(c(Counter::ContentWrites));
    let snapshot_us = c(Counter::SnapshotMicros);
    MetricsWindow {
        minute,
        disk_writes: c(Counter::DiskWrites),
        bytes_written: c(Counter::BytesWritten),
        fsyncs: c(Counter::Fsyncs),
        changes,
        content_writes: c(Counter::ContentWrites),
        coalesced,
        coalesced_pct: if changes == 0 {
            0.0
        } else {
            100.0 * coalesced as f64 / changes as f64
        },
        snapshots: c(Counter::Snapshots),
        snapshot_ms_total: snapshot_us as f64 / 1000.0,
        snapshot_ms_max: g(SNAPSHOT_MAX_US) as f64 / 1000.0,
        snapshot_bytes: c(Counter::SnapshotBytes),
        snapshot_mb_s: if snapshot_us == 0 {
            0.0
        } else {
            c(Counter::SnapshotBytes) as f64 / snapshot_us as f64
        },
        events_in: c(Counter::EventsIn),
        messages_out: c(Counter::MessagesOut),
        events_dropped: c(Counter::EventsDropped),
        tasks_queued: c(Counter::TasksQueued),
        tasks_completed: c(Counter::TasksCompleted),
        tasks_failed: c(Counter::TasksFailed),
        tasks_cancelled: c(Counter::TasksCancelled),
        checkpoints: c(Counter::Checkpoints),
        queue_started: std::array::from_fn(|i| g(QUEUE_STARTED + i)),
        queue_wait_ms_mean: std::array::from_fn(|i| {
            let n = g(QUEUE_STARTED + i);
            if n == 0 {
                0.0
            } else {
                g(QUEUE_WAIT_US + i) as f64 / n as f64 / 1000.0
            }
        }),
        queue_wait_ms_max: std::array::from_fn(|i| g(QUEUE_WAIT_MAX_US + i) as f64 / 1000.0),
        queue_depth_max: std::array::from_fn(|i| g(QUEUE_DEPTH_MAX + i)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_hold_each_minute_for_an_hour_and_then_roll_over() {
        let m = Metrics::default();
        let start = 29_000_000;
        m.add_slot(start, Counter::DiskWrites as usize, 3);
        m.add_slot(start + 1, Counter::DiskWrites as usize, 5);
        m.max_slot(start + 1, SNAPSHOT_MAX_US, 7_000);
        m.max_slot(start + 1, SNAPSHOT_MAX_US, 2_000);

        let r = m.report_at(start + 1);
        assert_eq!(r.windows.len(), WINDOWS_KEPT);
        assert_eq!(r.windows[58].minute, start);
        assert_eq!(r.windows[58].disk_writes, 3);
        assert_eq!(r.windows[59].disk_writes, 5);
        assert_eq!(r.windows[59].snapshot_ms_max, 7.0);
        assert_eq!(r.totals.disk_writes, 8);

        // An hour later the first minute's slot is reused; its old figures are gone.
        m.add_slot(start + 60, Counter::DiskWrites as usize, 1);
        let r = m.report_at(start + 60);
        assert_eq!(r.windows[59].minute, start + 60);
        assert_eq!(r.windows[59].disk_writes, 1);
        assert_eq!(
            r.windows[58].disk_writes, 0,
            "nothing happened at start + 59"
        );
        assert_eq!(r.windows[0].minute, start + 1);
        assert_eq!(r.windows[0].disk_writes, 5);
        assert_eq!(r.totals.disk_writes, 9);

        // A minute older than a slot's (the clock stepped back) counts only in the totals.
        m.add_slot(start, Counter::DiskWrites as usize, 100);
        assert_eq!(m.report_at(start + 60).windows[59].disk_writes, 1);
        assert_eq!(m.report_at(start + 60).totals.disk_writes, 109);
    }

    #[test]
    fn coalesced_writes_queue_waits_and_throughput_are_derived() {
        let m = Metrics::default();
        m.record_content_write(7);
        m.record_snapshot(Duration::from_millis(20), 2_000_000, 3);
        m.record_queue_start(2, Duration::from_millis(4));
        m.record_queue_start(2, Duration::from_millis(2));
        m.record_queue_depth([0, 1, 3, 0]);
        m.record_queue_depth([0, 0, 1, 0]);
        let r = m.report();
        let w = r.windows.last().unwrap();
        assert_eq!(w.changes, 10);
        assert_eq!(w.content_writes, 2);
        assert_eq!(w.coalesced, 8);
        assert!((w.coalesced_pct - 80.0).abs() < 1e-9);
        assert_eq!(w.snapshots, 1);
        assert!(
            (w.snapshot_mb_s - 100.0).abs() < 1e-9,
            "{}",
            w.snapshot_mb_s
        );
        assert_eq!(w.queue_started, [0, 0, 2, 0]);
        assert!((w.queue_wait_ms_mean[2] - 3.0).abs() < 1e-9);
        assert!((w.queue_wait_ms_max[2] - 4.0).abs() < 1e-9);
        assert_eq!(w.queue_depth_max, [0, 1, 3, 0]);
        assert_eq!(r.queue_waiting, [0, 0, 1, 0]);
        assert_eq!(m.summary().queue_waiting, [0, 0, 1, 0]);
    }

    #[test]
    fn recorders_on_many_threads_lose_nothing() {
        let m = std::sync::Arc::new(Metrics::default());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        m.record_write(10);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let s = m.snapshot();
        assert_eq!(s.disk_writes, 40_000);
        assert_eq!(s.bytes_written, 400_000);
    }
}

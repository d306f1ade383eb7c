//! Counters that the status bar and the metrics panel read. Lock-free so that recording one
//! never waits on a reader; one-minute windows and charts come with the events issue.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

#[derive(Debug, Default)]
pub struct Metrics {
    disk_writes: AtomicU64,
    bytes_written: AtomicU64,
    fsyncs: AtomicU64,
    events_emitted: AtomicU64,
}

/// A consistent-enough copy of the counters for display.
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

impl Metrics {
    pub fn record_write(&self, bytes: u64) {
        self.disk_writes.fetch_add(1, Ordering::Relaxed);
        self.bytes_written.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn record_fsync(&self) {
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
    }

    pub fn record_events(&self, n: u64) {
        self.events_emitted.fetch_add(n, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            disk_writes: self.disk_writes.load(Ordering::Relaxed),
            bytes_written: self.bytes_written.load(Ordering::Relaxed),
            fsyncs: self.fsyncs.load(Ordering::Relaxed),
            events_emitted: self.events_emitted.load(Ordering::Relaxed),
        }
    }
}

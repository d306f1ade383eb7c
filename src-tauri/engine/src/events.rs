//! Events from the engine to whoever listens (the shell forwards them to the UI).
//!
//! Every event gets a sequence number so a UI that reloads can tell what it missed. The engine
//! never knows who listens: it calls an [`EventSink`], which must not block (the shell's sink
//! hands the batch to Tauri and returns). Time-window batching, dedup and the catch-up ring
//! buffer arrive with the events issue; today each event is delivered as a batch of one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::metrics::Metrics;
use crate::notebooks::{NotebookId, NotebookSummary, SaveState};

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

/// Numbers events and hands them to the sink.
pub struct EventBus {
    sink: Arc<dyn EventSink>,
    next_seq: AtomicU64,
    metrics: Arc<Metrics>,
}

impl EventBus {
    pub fn new(sink: Arc<dyn EventSink>, metrics: Arc<Metrics>) -> Self {
        Self {
            sink,
            next_seq: AtomicU64::new(1),
            metrics,
        }
    }

    pub fn emit(&self, event: EngineEvent) {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        self.metrics.record_events(1);
        self.sink.deliver(vec![Sequenced { seq, event }]);
    }
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

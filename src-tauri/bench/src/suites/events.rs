//! `events`: a burst of 10,000 engine events (snapshot progress of 20 tables, save states of
//! 10 notebooks, and 1 % critical notices) through the batcher with the default settings,
//! against the same burst unbatched (every event its own message) in the same run.
//!
//! - `messages_per_event` (value, %): messages the UI receives per event (target under 2 %).
//! - `critical_p99_ms` (value): from `emit` of a critical event to its delivery (target < 5 ms).
//! - `batched_vs_unbatched_messages`: ratio = unbatched messages / batched messages.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quire_engine::config::EventConfig;
use quire_engine::events::{EngineEvent, EventBus, EventSink, Sequenced};
use quire_engine::notebooks::{NotebookId, SaveState};
use quire_engine::snapshots::TableSaveStatus;

use crate::report::Measure;
use crate::stats::{micros, Samples};

const SUITE: &str = "events";
const EVENTS: u64 = 10_000;

/// Counts messages and notes when each critical notice arrived.
#[derive(Default)]
struct Counting {
    messages: Mutex<u64>,
    critical_at: Mutex<Vec<(u64, Instant)>>,
}

impl EventSink for Counting {
    fn deliver(&self, batch: Vec<Sequenced>) {
        let now = Instant::now();
        *self.messages.lock().unwrap() += 1;
        for e in batch {
            if let EngineEvent::TableNotice { message, .. } = e.event {
                if let Ok(i) = message.parse() {
                    self.critical_at.lock().unwrap().push((i, now));
                }
            }
        }
    }
}

fn burst(config: &EventConfig) -> (u64, Samples) {
    let sink = Arc::new(Counting::default());
    let bus = EventBus::with_config(sink.clone(), Arc::default(), config);
    let notebooks: Vec<NotebookId> = (0..10).map(|_| NotebookId(uuid::Uuid::now_v7())).collect();
    let mut sent_at = Vec::new();
    for i in 0..EVENTS {
        let event = if i % 100 == 99 {
            EngineEvent::TableNotice {
                notebook: notebooks[0],
                table: None,
                message: i.to_string(),
            }
        } else if i % 10 == 0 {
            EngineEvent::SaveStatus {
                notebook: notebooks[(i / 10 % 10) as usize],
                status: SaveState::Unsaved,
                revision: i,
                saved_revision: 0,
            }
        } else {
            EngineEvent::TableSaveStatus(TableSaveStatus {
                notebook: notebooks[(i % 10) as usize],
                table: format!("t{}", i % 20),
                status: SaveState::Saving,
                version: 2,
                saved_version: 1,
                generation: 1,
                rows_written: i * 100,
                total_rows: EVENTS * 100,
                bytes_written: i * 1000,
            })
        };
        if i % 100 == 99 {
            sent_at.push((i, Instant::now()));
        }
        bus.emit(event);
        // About a second of work: the burst spans many batching windows.
        if i % 100 == 0 {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    bus.shutdown();
    let arrived = sink.critical_at.lock().unwrap().clone();
    let latencies = sent_at
        .iter()
        .filter_map(|(i, sent)| {
            arrived
                .iter()
                .find(|(j, _)| j == i)
                .map(|(_, at)| micros(at.duration_since(*sent)))
        })
        .collect();
    let messages = *sink.messages.lock().unwrap();
    (messages, Samples::from(latencies))
}

pub fn run() -> Result<Vec<Measure>, String> {
    let (batched, critical) = burst(&EventConfig::default());
    let (unbatched, _) = burst(&EventConfig {
        window_ms: 0,
        ..EventConfig::default()
    });
    if critical.p50() == 0.0 && batched == 0 {
        return Err("no event arrived".into());
    }
    Ok(vec![
        Measure::value(
            SUITE,
            "messages_per_event",
            100.0 * batched as f64 / EVENTS as f64,
            "%",
        ),
        Measure::value(
            SUITE,
            "critical_p99_ms",
            critical.quantile(0.99) / 1000.0,
            "ms",
        ),
        Measure::against(
            SUITE,
            "batched_vs_unbatched_messages",
            batched as f64,
            unbatched as f64,
            "messages",
        ),
    ])
}

//! Events, flushes, what is still pending, and shutdown.

use super::{CatchUp, Engine, EngineInfo, FlushAllReport, PendingWork, ShutdownReport};
use crate::config::{NotebookConfig, NotebookMode};
use crate::error::Error;
use crate::metrics::{MetricsReport, MetricsSnapshot};
use crate::snapshots::SnapshotFlush;
use crate::tasks::{Task, TaskKind, TaskPayload, TaskStatus};

/// How long shutdown waits for pending snapshots; a snapshot not committed by then leaves the
/// previous generation, which is what the user was told is saved.
const SHUTDOWN_SNAPSHOT_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

impl Engine {
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
            tables: self.ledger.snapshots().pending(),
            tasks: self.pending_tasks(),
        }
    }

    /// Imports, exports and transforms waiting or running.
    fn pending_tasks(&self) -> Vec<Task> {
        [TaskStatus::Running, TaskStatus::Pending]
            .into_iter()
            .flat_map(|s| self.task_store().list(Some(s), 100).unwrap_or_default())
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
            let waited = self.scheduler.block_on(self.task_store().wait_for(task.id));
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
        let tables = self.ledger.snapshots().flush(None);
        self.save_all_linked_edits();
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
        self.ledger.snapshots().stop_now();
        self.closing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        for t in self.pending_tasks() {
            // A conversion is left to stop with the process: it resumes at the next start.
            let converting = matches!(
                TaskPayload::parse(t.kind, &t.payload),
                Ok(TaskPayload::Import {
                    converted: Some(_),
                    ..
                })
            );
            if !converting {
                self.cancel_task(t.id);
            }
        }
        self.shutdown()
    }

    /// Writes everything pending and stops background work. Idempotent: a second call finds
    /// nothing to do.
    pub fn shutdown(&self) -> ShutdownReport {
        // Jobs on a cluster stop with Quire: nobody will read their results.
        #[cfg(feature = "cluster")]
        crate::cluster::cancel_all();
        self.closing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let notebooks = self.notebooks.shutdown();
        // Journaled already, so a failure loses nothing; saved, the next open replays less.
        self.save_all_linked_edits();
        let tables = if self
            .skip_snapshots
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            SnapshotFlush::default()
        } else {
            self.ledger.snapshots().shutdown(SHUTDOWN_SNAPSHOT_LIMIT)
        };
        if let Err(e) = self.task_store().checkpoint(true) {
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

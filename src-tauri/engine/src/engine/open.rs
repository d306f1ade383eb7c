//! Startup: the workspace and its lock, then every area, wired together.

use std::sync::Arc;
use std::time::Duration;

use super::{Engine, EnginePaths};
use crate::config::Config;
use crate::error::Error;
use crate::events::{EventBus, EventSink};
use crate::ledger::Ledger;
use crate::metrics::Metrics;
use crate::notebooks::Notebooks;
use crate::queue::{Scheduler, SchedulerLimits};
use crate::snapshots::Snapshots;
use crate::tables::{self, Catalog};
use crate::tasks::{Housekeeper, TaskStore, Tracker};
use crate::workspace::Workspace;

/// Where queries that outgrow `limits.query_memory_mb` spill, inside the data dir.
const SPILL_DIR: &str = "spill";

/// Removes temp files of snapshots a crash interrupted, in every notebook's `tables/` folder,
/// before anything reads or writes them.
fn sweep_table_folders(workspace: &Workspace, notebooks: &Notebooks) {
    for nb in notebooks.list() {
        let Some(folder) = nb.folder else { continue };
        let dir = workspace
            .root()
            .join(folder)
            .join(crate::snapshots::TABLES_DIR);
        match crate::snapshots::store::sweep(&dir) {
            Ok(0) => {}
            Ok(n) => log::info!("removed {n} unfinished snapshot files in {}", dir.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => log::warn!("could not clean up {}: {e}", dir.display()),
        }
    }
}

impl Engine {
    /// Opens the workspace (creating it if needed), takes its single-writer lock, sweeps temp
    /// files a crash left, and loads its notebooks.
    pub fn open(
        config: Config,
        paths: EnginePaths,
        sink: Arc<dyn EventSink>,
    ) -> Result<Engine, Error> {
        let workspace_dir = config
            .workspace
            .clone()
            .unwrap_or_else(|| paths.default_workspace());
        let workspace = Workspace::open(&workspace_dir)?;
        let lock = workspace.lock()?;
        let swept = crate::durable::sweep_temp_files(workspace.root()).map_err(|source| {
            crate::workspace::WorkspaceError::Unavailable {
                path: workspace_dir.clone(),
                source,
            }
        })?;
        if swept > 0 {
            log::info!(
                "removed {swept} temp files left by an earlier crash in {}",
                workspace.root().display()
            );
        }
        let limits = SchedulerLimits {
            workers: match config.queue.workers {
                0 => SchedulerLimits::default().workers,
                n => n as usize,
            },
            reserved_for_interactive: config.queue.reserved_for_interactive as usize,
            ..SchedulerLimits::default()
        };
        let metrics = Arc::new(Metrics::default());
        let scheduler = Arc::new(
            Scheduler::with_metrics(limits, metrics.clone())
                .map_err(|e| crate::queue::QueueError::Start(e.to_string()))?,
        );
        let events = Arc::new(EventBus::with_config(sink, metrics.clone(), &config.events));
        std::fs::create_dir_all(&paths.data_dir).map_err(|e| {
            crate::tasks::TaskError::Store(format!(
                "could not create {}: {e}",
                paths.data_dir.display()
            ))
        })?;
        let spill_dir = paths.data_dir.join(SPILL_DIR);
        // Spill files of a run that crashed are never read again.
        let _ = std::fs::remove_dir_all(&spill_dir);
        std::fs::create_dir_all(&spill_dir).map_err(|e| {
            crate::tasks::TaskError::Store(format!("could not create {}: {e}", spill_dir.display()))
        })?;
        let data_limits = tables::Limits::new(&config.limits, Some(&spill_dir))?;
        let tasks = Arc::new(
            TaskStore::open(&paths.data_dir.join(crate::tasks::FILE_NAME))?
                .with_metrics(metrics.clone())
                .with_finished_cap(config.tasks.max_finished as usize),
        );
        let mut recovery = tasks.restore()?;
        tasks.cleanup(Duration::from_secs(
            config.tasks.retention_hours as u64 * 3600,
        ))?;
        tasks.prune_finished()?;
        // After the task store: it holds the notebook drafts a crash may have left.
        let notebooks = Notebooks::open(
            workspace.clone(),
            config.notebooks.clone(),
            metrics.clone(),
            events.clone(),
            Some(tasks.clone() as Arc<dyn crate::notebooks::DraftStore>),
        )?;
        sweep_table_folders(&workspace, &notebooks);
        recovery.notebooks = u32::try_from(notebooks.adopted().notebooks).unwrap_or(u32::MAX);
        if let Some(message) = recovery.message() {
            log::warn!("{message}");
        }
        let housekeeper = Housekeeper::start(
            tasks.clone(),
            Duration::from_secs(config.tasks.checkpoint_interval_s as u64),
            Duration::from_secs(config.tasks.retention_hours as u64 * 3600),
        )
        .map_err(|e| crate::tasks::TaskError::Store(e.to_string()))?;
        let start_failed = |e: std::io::Error| {
            crate::queue::QueueError::Start(format!("the snapshot writer could not start: {e}"))
        };
        let threads = match config.snapshots.threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n as usize,
        };
        let writer =
            crate::snapshots::Writer::new(threads, config.snapshots.codec, metrics.clone())
                .map_err(start_failed)?;
        let snapshots = Snapshots::start(
            config.snapshots.clone(),
            writer,
            scheduler.clone(),
            events.clone(),
            notebooks.folder_resolver(crate::snapshots::TABLES_DIR),
            Some(tasks.clone()),
        )
        .map_err(start_failed)?;
        let ledger = Ledger::new(
            Catalog::new(data_limits),
            snapshots,
            tasks.clone(),
            events.clone(),
            scheduler.clone(),
        );
        Ok(Engine {
            config,
            paths,
            workspace,
            notebooks: Arc::new(notebooks),
            ledger: Arc::new(ledger),
            tracker: Arc::new(Tracker::new(tasks)),
            recovery,
            _housekeeper: housekeeper,
            events,
            scheduler,
            metrics,
            profiles: Default::default(),
            skip_snapshots: Default::default(),
            closing: Default::default(),
            _lock: lock,
        })
    }
}

//! [`Engine`]: the one object the shell, the CLI and the benches hold.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::config::Config;
use crate::error::Error;
use crate::events::{EngineEvent, EventBus, EventSink};
use crate::metrics::{Metrics, MetricsSnapshot};
use crate::notebooks::{NotebookSummary, Notebooks};
use crate::tables::{self, Tables};
use crate::workspace::Workspace;

/// Where the engine keeps its files, decided by the caller (the shell uses the platform dirs).
#[derive(Debug, Clone)]
pub struct EnginePaths {
    /// The app's data dir: the task store and, by default, the workspace live here.
    pub data_dir: PathBuf,
}

impl EnginePaths {
    pub fn default_workspace(&self) -> PathBuf {
        self.data_dir.join("workspace")
    }
}

/// What the about box and the status bar show.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct EngineInfo {
    pub version: String,
    pub datafusion_version: String,
    pub workspace: PathBuf,
    pub data_dir: PathBuf,
    pub config: Config,
}

/// What shutdown did, for the log line and the exit path.
#[derive(Debug, Clone, Default, PartialEq, Serialize, specta::Type)]
pub struct ShutdownReport {
    pub notebooks_flushed: u32,
}

pub struct Engine {
    config: Config,
    paths: EnginePaths,
    workspace: Workspace,
    notebooks: Notebooks,
    tables: Tables,
    events: EventBus,
    metrics: Arc<Metrics>,
}

impl Engine {
    /// Opens the workspace (creating it if needed) and sweeps temp files a crash left there.
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
        let metrics = Arc::new(Metrics::default());
        Ok(Engine {
            events: EventBus::new(sink, metrics.clone()),
            config,
            paths,
            workspace,
            notebooks: Notebooks::default(),
            tables: Tables::default(),
            metrics,
        })
    }

    pub fn info(&self) -> EngineInfo {
        EngineInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            datafusion_version: tables::datafusion_version().to_string(),
            workspace: self.workspace.root().to_path_buf(),
            data_dir: self.paths.data_dir.clone(),
            config: self.config.clone(),
        }
    }

    pub fn workspace(&self) -> &Path {
        self.workspace.root()
    }

    pub fn create_notebook(&self, title: &str) -> Result<NotebookSummary, Error> {
        let notebook = self.notebooks.create(title)?;
        log::info!(
            "created notebook {} ({:?}) in memory",
            notebook.id,
            notebook.title
        );
        self.events.emit(EngineEvent::NotebookCreated {
            notebook: notebook.clone(),
        });
        Ok(notebook)
    }

    pub fn list_notebooks(&self) -> Vec<NotebookSummary> {
        self.notebooks.list()
    }

    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    pub fn metrics(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }

    /// Flushes everything pending. Idempotent: a second call finds nothing to do.
    pub fn shutdown(&self) -> ShutdownReport {
        ShutdownReport::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::testing::RecordingSink;
    use crate::events::Sequenced;
    use crate::HasCode;

    fn open(dir: &Path, sink: Arc<dyn EventSink>) -> Engine {
        Engine::open(
            Config::default(),
            EnginePaths {
                data_dir: dir.to_path_buf(),
            },
            sink,
        )
        .unwrap()
    }

    #[test]
    fn opens_default_workspace_and_sweeps_orphans() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = tmp.path().join("workspace");
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::write(ws.join(".quire-crashed.tmp"), b"half").unwrap();
        let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
        assert_eq!(engine.workspace(), ws.canonicalize().unwrap());
        assert!(!ws.join(".quire-crashed.tmp").exists());
    }

    #[test]
    fn creating_a_notebook_is_lazy_and_emits_an_event() {
        let tmp = tempfile::tempdir().unwrap();
        let sink = Arc::new(RecordingSink::default());
        let engine = open(tmp.path(), sink.clone());
        let before: Vec<_> = std::fs::read_dir(engine.workspace()).unwrap().collect();
        let nb = engine.create_notebook("Trips").unwrap();
        let after: Vec<_> = std::fs::read_dir(engine.workspace()).unwrap().collect();
        assert_eq!(before.len(), after.len(), "lazy creation touches no disk");
        assert_eq!(engine.list_notebooks(), vec![nb.clone()]);
        let batches = sink.0.lock().unwrap().clone();
        assert_eq!(
            batches,
            vec![vec![Sequenced {
                seq: 1,
                event: EngineEvent::NotebookCreated { notebook: nb }
            }]]
        );
        assert_eq!(engine.metrics().events_emitted, 1);
        assert_eq!(engine.metrics().disk_writes, 0);
    }

    #[test]
    fn bad_title_is_typed_and_changes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
        let err = engine.create_notebook("../../etc").unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::InvalidTitle);
        assert!(engine.list_notebooks().is_empty());
    }
}

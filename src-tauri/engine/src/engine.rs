//! [`Engine`]: the one object the shell, the CLI and the benches hold.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::config::{Config, NotebookConfig, NotebookMode};
use crate::error::Error;
use crate::events::{EngineEvent, EventBus, EventSink};
use crate::metrics::{Metrics, MetricsSnapshot};
use crate::notebooks::{CellId, CellKind, FlushReport, NotebookId, NotebookSummary, Notebooks};
use crate::tables::{self, QueryPreview, Tables};
use crate::workspace::{Workspace, WorkspaceLock};

/// Where the engine keeps its files, decided by the caller (the shell uses the platform dirs).
#[derive(Debug, Clone)]
pub struct EnginePaths {
    /// The app's data dir: the task store and, by default, the workspace live here.
    pub data_dir: PathBuf,
    /// Where settings changed in the app are saved (`config.toml`); None keeps them in memory.
    pub config_dir: Option<PathBuf>,
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct ShutdownReport {
    pub notebooks: FlushReport,
}

/// The outcome of running one cell.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CellOutput {
    /// A SQL cell's result (its first rows).
    Table { preview: QueryPreview },
    /// A Markdown cell has nothing to run; the UI renders it.
    Markdown,
}

pub struct Engine {
    config: Config,
    paths: EnginePaths,
    workspace: Workspace,
    notebooks: Notebooks,
    tables: Tables,
    events: Arc<EventBus>,
    metrics: Arc<Metrics>,
    // Last field: dropped after the notebooks' final flush, so no other process can get in first.
    _lock: WorkspaceLock,
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
        let metrics = Arc::new(Metrics::default());
        let events = Arc::new(EventBus::new(sink, metrics.clone()));
        let notebooks = Notebooks::open(
            workspace.clone(),
            config.notebooks.clone(),
            metrics.clone(),
            events.clone(),
        )?;
        Ok(Engine {
            config,
            paths,
            workspace,
            notebooks,
            tables: Tables::default(),
            events,
            metrics,
            _lock: lock,
        })
    }

    pub fn info(&self) -> EngineInfo {
        let mut config = self.config.clone();
        config.notebooks = self.notebooks.config();
        EngineInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            datafusion_version: tables::datafusion_version().to_string(),
            workspace: self.workspace.root().to_path_buf(),
            data_dir: self.paths.data_dir.clone(),
            config,
        }
    }

    pub fn workspace(&self) -> &Path {
        self.workspace.root()
    }

    pub fn notebooks(&self) -> &Notebooks {
        &self.notebooks
    }

    pub fn create_notebook(&self, title: &str) -> Result<NotebookSummary, Error> {
        let notebook = self.notebooks.create(title)?;
        log::info!("created notebook {} ({:?})", notebook.id, notebook.title);
        Ok(notebook)
    }

    pub fn list_notebooks(&self) -> Vec<NotebookSummary> {
        self.notebooks.list()
    }

    /// Runs a cell: its notebook is written first (hydrating it), so what ran is on disk.
    pub async fn run_cell(&self, notebook: NotebookId, cell: CellId) -> Result<CellOutput, Error> {
        let cell = self.notebooks.cell(notebook, cell)?;
        self.notebooks.flush(notebook)?;
        match cell.kind {
            CellKind::Markdown => Ok(CellOutput::Markdown),
            CellKind::Sql => {
                let started = Instant::now();
                let batches = self.tables.run_sql(&cell.source).await?;
                Ok(CellOutput::Table {
                    preview: QueryPreview::from_batches(&batches, started.elapsed()),
                })
            }
        }
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

    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    pub fn metrics(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }

    pub fn emit(&self, event: EngineEvent) {
        self.events.emit(event);
    }

    /// Writes everything pending and stops background work. Idempotent: a second call finds
    /// nothing to do.
    pub fn shutdown(&self) -> ShutdownReport {
        ShutdownReport {
            notebooks: self.notebooks.shutdown(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::testing::RecordingSink;
    use crate::notebooks::SaveState;
    use crate::HasCode;

    fn open(dir: &Path, sink: Arc<dyn EventSink>) -> Engine {
        Engine::open(
            Config::default(),
            EnginePaths {
                data_dir: dir.to_path_buf(),
                config_dir: None,
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
        let nb = engine.create_notebook("Trips").unwrap();
        let folders = crate::notebooks::tests_support::folders(engine.workspace());
        assert!(
            folders.is_empty(),
            "lazy creation touches no disk: {folders:?}"
        );
        assert_eq!(engine.list_notebooks(), vec![nb.clone()]);
        let events = sink.events();
        assert_eq!(events, vec![EngineEvent::NotebookCreated { notebook: nb }]);
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

    #[tokio::test]
    async fn running_a_cell_hydrates_its_notebook_first() {
        let tmp = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.notebooks.auto_flush = false; // only the run may write
        let engine = Engine::open(
            config,
            EnginePaths {
                data_dir: tmp.path().to_path_buf(),
                config_dir: None,
            },
            Arc::new(crate::events::NullSink),
        )
        .unwrap();
        let nb = engine.create_notebook("Runs").unwrap();
        let cell = engine
            .notebooks()
            .add_cell(nb.id, CellKind::Sql, None, "SELECT 6 * 7 AS answer".into())
            .unwrap();
        let out = engine.run_cell(nb.id, cell.id).await.unwrap();
        let CellOutput::Table { preview } = out else {
            panic!("{out:?}")
        };
        assert_eq!(preview.rows, vec![vec![Some("42".to_string())]]);
        let summary = engine.notebooks().summary(nb.id).unwrap();
        assert_eq!(summary.status, SaveState::Saved);
        let file = engine.workspace().join("runs.quire/notebook.json");
        assert!(std::fs::read_to_string(file)
            .unwrap()
            .contains("SELECT 6 * 7"));
    }

    #[test]
    fn a_second_engine_on_the_same_workspace_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let _first = open(tmp.path(), Arc::new(crate::events::NullSink));
        let second = Engine::open(
            Config::default(),
            EnginePaths {
                data_dir: tmp.path().to_path_buf(),
                config_dir: None,
            },
            Arc::new(crate::events::NullSink),
        );
        assert_eq!(
            second.err().unwrap().code(),
            crate::ErrorCode::WorkspaceLocked
        );
    }
}

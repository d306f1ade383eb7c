//! What the engine hands its callers: paths, reports, requests and outcomes.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::notebooks::{FlushReport, NotebookSummary};
use crate::snapshots::{SnapshotFlush, TableSaveStatus};
use crate::tables::import::{CsvOptions, ImportFormat, SheetOptions, SkippedRow};
use crate::tables::{QueryPreview, TableInfo};
use crate::tasks::Task;

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

/// Rows added to a table: the table now, and the id of the first new row (the others follow
/// it), so the grid can fill them in (a paste longer than the table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct AddedRows {
    pub table: TableInfo,
    pub first_row_id: u64,
}

/// What shutdown did, for the log line and the exit path.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct ShutdownReport {
    pub notebooks: FlushReport,
    pub tables: SnapshotFlush,
}

/// Everything that is not on disk yet, for the prompt shown when a window closes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct PendingWork {
    /// Notebooks with edits not yet written (or a write that failed and is retried).
    pub notebooks: Vec<NotebookSummary>,
    /// Tables whose newest version is not in a committed snapshot yet.
    pub tables: Vec<TableSaveStatus>,
    /// Imports, exports and transforms waiting or running.
    pub tasks: Vec<Task>,
}

impl PendingWork {
    pub fn is_empty(&self) -> bool {
        self.notebooks.is_empty() && self.tables.is_empty() && self.tasks.is_empty()
    }
}

/// What a flush of everything did: notebook files and table snapshots.
pub type FlushAllReport = ShutdownReport;

/// What to import: the file, and optionally the table name (default: from the file name), the
/// format (default: from the extension) and how to read a CSV (default: detected).
#[derive(Debug, Clone, Copy)]
pub struct ImportRequest<'a> {
    pub path: &'a Path,
    pub table: Option<&'a str>,
    pub format: Option<ImportFormat>,
    pub csv: Option<&'a CsvOptions>,
    /// Which sheet of a spreadsheet (default: the first, its header detected).
    pub sheet: Option<&'a SheetOptions>,
    /// Convert a CSV or JSON file into Parquet parts inside the notebook's folder and link
    /// them (a file too big to hold in memory), instead of copying it in.
    pub convert: bool,
}

impl<'a> ImportRequest<'a> {
    pub fn file(path: &'a Path) -> ImportRequest<'a> {
        ImportRequest {
            path,
            table: None,
            format: None,
            csv: None,
            sheet: None,
            convert: false,
        }
    }

    pub fn named(self, table: &'a str) -> ImportRequest<'a> {
        ImportRequest {
            table: Some(table),
            ..self
        }
    }
}

/// What an import made.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct ImportOutcome {
    pub table: TableInfo,
    /// Rows left out (skip mode): the first 100, and how many in all.
    pub skipped: Vec<SkippedRow>,
    pub skipped_total: u64,
}

/// The outcome of running one cell.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CellOutput {
    /// A SQL cell's result (its first rows).
    Table { preview: QueryPreview },
    /// A chart cell's points and the spec that draws them.
    Chart { chart: crate::charts::ChartOutput },
    /// A Markdown cell has nothing to run; the UI renders it.
    Markdown,
}

/// The events a UI missed, from the ring buffer.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct CatchUp {
    pub events: Vec<crate::events::Sequenced>,
    /// False when some were too old to keep: the UI reloads its state instead.
    pub complete: bool,
}

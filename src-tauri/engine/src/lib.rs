//! Quire's engine: everything that touches disk or data, with no knowledge of Tauri or windows.
//!
//! The shell (`src-tauri/src`) adapts this crate to IPC; the benches and tests drive it directly.
//! [`Engine`] is the entry point: it owns the [`workspace::Workspace`] on disk, the
//! [`notebooks::Notebooks`] in memory, the [`tables::Catalog`] (Arrow + DataFusion), the
//! [`events::EventBus`] that reports to whoever listens, and the [`metrics::Metrics`].
//!
//! Crate map (one purpose per module):
//! - [`config`]: the one [`Config`], its documented defaults, file + `QUIRE_*` overrides.
//! - [`code`]: the stable [`ErrorCode`] every area error maps to; the UI branches on it.
//! - [`error`]: [`Error`], any engine error (one variant per area), for callers across areas.
//! - [`workspace`]: the workspace folder and the only way to turn a name into a path inside it.
//! - [`durable`]: atomic, fsynced file replacement and the orphaned-temp-file sweep; its
//!   `trace` reports every durable step to a watching test.
//! - [`powercut`]: the simulated disk that replays a trace into every power-cut state.
//! - [`notebooks`]: notebook documents (lazy hydration, batched writes: issue 4).
//! - [`tables`]: Arrow tables per notebook, imports, paging, restricted SQL, Parquet on disk.
//! - [`snapshots`]: debounced atomic Parquet snapshots with history, leases and crash recovery.
//! - [`queue`]: the priority query queue (issue 6).
//! - `cluster`: SQL cells run on an Apache DataFusion Ballista cluster (feature `cluster`).
//! - [`remote`]: object storage (S3 and compatible stores) through `object_store`: connections,
//!   credentials from where users keep them, the runtime requests run on.
//! - [`tasks`]: the SQLite task store and edit journal, and the [`tasks::Tracker`] of tasks.
//! - [`charts`]: chart cells: Vega-Lite specs whose bins and aggregates run in SQL.
//! - [`profiles`]: column profiles of tables and results, cached per table version.
//! - [`ledger`]: every table's versions and the one way they change (journal first).
//! - [`events`]: events to the UI, with sequence numbers (batching: issue 10).
//! - [`metrics`]: counters the status bar and metrics panel read.
//!
//! Deliberately absent: no `tauri`, no windows, no IPC types beyond serde/specta derives, no
//! global state but the durable trace's watch list (empty unless a test watches) and the
//! runtime object-store requests run on (`remote::io`, started by the first request). Every disk
//! write goes through [`durable`].

pub mod charts;
#[cfg(feature = "cluster")]
pub mod cluster;
pub mod code;
pub mod config;
pub mod durable;
pub mod emit;
pub mod error;
pub mod events;
pub mod ids;
pub mod ledger;
pub mod metrics;
pub mod notebooks;
pub mod powercut;
pub mod profiles;
pub mod queue;
pub mod remote;
pub mod save_state;
pub mod snapshots;
pub mod tables;
pub mod tasks;
pub mod workspace;

mod engine;
#[cfg(test)]
mod recovery_model;

/// The DataFusion (and Arrow) this engine is built on, for tools that hand it tables (fuzz
/// targets, benchmarks) without pinning a second copy.
pub use datafusion;

pub use code::{ErrorCode, HasCode, Position};
pub use config::Config;
pub use engine::{
    converts_when_linked, AddedRows, CatchUp, CellOutput, Engine, EngineInfo, EnginePaths,
    FlushAllReport, ImportOutcome, ImportRequest, PendingWork, ShutdownReport,
};
pub use error::Error;
pub use ledger::{DiffPage, DiffRow, TableVersions, TransformPreview};

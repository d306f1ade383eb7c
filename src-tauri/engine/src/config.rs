//! The one [`Config`]: documented defaults, a TOML file in the app's config dir, and `QUIRE_*`
//! environment variables on top, in that order.
//!
//! Environment keys: `QUIRE_WORKSPACE` (the workspace folder), `QUIRE_LOG` (the log level), and
//! any field by its path with `__` between levels, e.g. `QUIRE_NOTEBOOKS__FLUSH_DELAY_MS=50`.
//! `QUIRE_DATA_DIR` belongs to the shell (where data, config and logs live) and is not a field.
//! Unknown keys are errors, so a typo is reported instead of silently ignored.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::code::{ErrorCode, HasCode};

/// The config file's name inside the app's config dir.
pub const CONFIG_FILE_NAME: &str = "config.toml";

/// Environment variables with the `QUIRE_` prefix that are not config fields: the data dir
/// override and the test answers to the native file dialogs (all read by the shell).
const NON_CONFIG_ENV: &[&str] = &[
    "data_dir",
    "test_pick_file",
    "test_save_file",
    "test_slow_snapshot_ms",
];

/// Whether a `QUIRE_` variable (without its prefix) names a setting: `LOG`, or a top-level
/// field, alone or followed by `__` and a field inside it (a misspelt field inside a known
/// section is still reported, as it is in the file).
fn is_config_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    let top = key.split("__").next().unwrap_or_default();
    top == "log"
        || serde_json::to_value(Config::default())
            .ok()
            .and_then(|v| v.as_object().map(|o| o.contains_key(top)))
            .unwrap_or(false)
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the settings could not be read: {0}")]
    Invalid(String),
}

impl HasCode for ConfigError {
    fn code(&self) -> ErrorCode {
        ErrorCode::ConfigInvalid
    }
}

/// Everything a user or a test can tune. Every field has a default; see each section.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, specta::Type)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The workspace folder holding one `<slug>.quire/` folder per notebook.
    /// Default: `workspace/` inside the app's data dir.
    pub workspace: Option<PathBuf>,
    pub notebooks: NotebookConfig,
    pub snapshots: SnapshotConfig,
    pub queue: QueueConfig,
    pub tasks: TaskConfig,
    pub events: EventConfig,
    pub log: LogConfig,
    pub limits: LimitsConfig,
}

/// How notebook edits reach disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(default, deny_unknown_fields)]
pub struct NotebookConfig {
    /// Quiet time after an edit before the batched write. Default 100 ms; 0 writes through.
    pub flush_delay_ms: u64,
    /// Longest an edit may wait for its write while edits keep coming. Default 1000 ms.
    pub max_wait_ms: u64,
    /// Write automatically after the delay; when false only flush and shutdown write. Default true.
    pub auto_flush: bool,
    /// Create notebooks in memory and touch disk on first flush or run. Default true.
    pub lazy_hydration: bool,
}

/// The three ways of saving notebooks the settings screen offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum NotebookMode {
    /// Batched writes 100 ms after edits pause (1 s at most), lazy creation.
    Optimized,
    /// Every edit on disk before the command returns; notebooks written when created.
    Immediate,
    /// Only Flush (and quitting) writes.
    Manual,
    /// Values set by hand in the config file.
    Custom,
}

impl NotebookConfig {
    pub fn preset(mode: NotebookMode) -> Option<NotebookConfig> {
        let (flush_delay_ms, auto_flush, lazy_hydration) = match mode {
            NotebookMode::Optimized => (100, true, true),
            NotebookMode::Immediate => (0, true, false),
            NotebookMode::Manual => (1000, false, true),
            NotebookMode::Custom => return None,
        };
        Some(NotebookConfig {
            flush_delay_ms,
            auto_flush,
            lazy_hydration,
            ..NotebookConfig::default()
        })
    }

    pub fn mode(&self) -> NotebookMode {
        [
            NotebookMode::Optimized,
            NotebookMode::Immediate,
            NotebookMode::Manual,
        ]
        .into_iter()
        .find(|m| NotebookConfig::preset(*m).as_ref() == Some(self))
        .unwrap_or(NotebookMode::Custom)
    }
}

impl Default for NotebookConfig {
    fn default() -> Self {
        Self {
            flush_delay_ms: 100,
            max_wait_ms: 1000,
            auto_flush: true,
            lazy_hydration: true,
        }
    }
}

/// How table snapshots are debounced and kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(default, deny_unknown_fields)]
pub struct SnapshotConfig {
    /// Quiet window after a change before a snapshot is written. Default 2000 ms.
    pub debounce_ms: u64,
    /// Changes after which a snapshot is forced even without a quiet window. Default 10.
    pub max_pending_changes: u32,
    /// Longest a change may wait for its snapshot while changes keep coming. Default 10000 ms.
    pub max_wait_ms: u64,
    /// Generations kept per table. Default 5.
    pub history: u32,
    /// Parquet codec of snapshot files: zstd (default), snappy or uncompressed.
    pub codec: crate::snapshots::Codec,
    /// Threads of the persistence pool that encodes snapshots; 0 means one per core.
    pub threads: u32,
}

impl Default for SnapshotConfig {
    fn default() -> Self {
        Self {
            debounce_ms: 2000,
            max_pending_changes: 10,
            max_wait_ms: 10_000,
            history: 5,
            codec: crate::snapshots::Codec::Zstd,
            threads: 0,
        }
    }
}

/// The priority query queue's capacity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(default, deny_unknown_fields)]
pub struct QueueConfig {
    /// Worker threads for CPU-heavy work; 0 means one per core. Default 0.
    pub workers: u32,
    /// Workers kept free for urgent and user-visible work. Default 1.
    pub reserved_for_interactive: u32,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            workers: 0,
            reserved_for_interactive: 1,
        }
    }
}

/// The SQLite task store's housekeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(default, deny_unknown_fields)]
pub struct TaskConfig {
    /// Finished tasks older than this are deleted. Default 24 h.
    pub retention_hours: u32,
    /// At most about this many finished tasks are kept, newest first, however young; so a
    /// busy session cannot grow the task table without bound. 0 keeps all. Default 10,000.
    pub max_finished: u32,
    /// Interval of the passive WAL checkpoint. Default 300 s.
    pub checkpoint_interval_s: u32,
}

impl Default for TaskConfig {
    fn default() -> Self {
        Self {
            retention_hours: 24,
            max_finished: 10_000,
            checkpoint_interval_s: 300,
        }
    }
}

/// Event batching towards the UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(default, deny_unknown_fields)]
pub struct EventConfig {
    /// Time window of one batch. Default 100 ms.
    pub window_ms: u64,
    /// Events in one batch at most. Default 50.
    pub max_batch: u32,
    /// Events kept for a UI that reloads and catches up. Default 1000.
    pub ring_size: u32,
    /// A metrics summary rides along with batches at most this often, and only when the
    /// figures changed. Default 1000 ms; 0 sends none.
    pub metrics_every_ms: u64,
}

impl Default for EventConfig {
    fn default() -> Self {
        Self {
            window_ms: 100,
            max_batch: 50,
            ring_size: 1000,
            metrics_every_ms: 1000,
        }
    }
}

/// How much memory and disk data work may take, so that a file or a result larger than the
/// machine fails with a clear error instead of taking the machine down.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Memory that query operators (sorts, joins, aggregations) may hold at once, shared by
    /// every query; past it they spill to disk where they can, else the query stops with an
    /// error. Default 2048 MiB.
    pub query_memory_mb: u64,
    /// The largest imported table or query result kept in memory. Default 4096 MiB.
    pub table_memory_mb: u64,
    /// Disk that spilling queries may fill, in `spill/` in the data dir. Default 10240 MiB.
    pub spill_disk_mb: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            query_memory_mb: 2048,
            table_memory_mb: 4096,
            spill_disk_mb: 10240,
        }
    }
}

/// Logging. The shell writes the log; the engine only names the level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// One of error, warn, info, debug, trace. Default info. `QUIRE_LOG` overrides it.
    pub level: String,
    /// Size at which the log file rotates. Default 5 MiB.
    pub max_file_bytes: u64,
    /// Rotated files kept. Default 5.
    pub keep_files: u32,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            max_file_bytes: 5 * 1024 * 1024,
            keep_files: 5,
        }
    }
}

impl Config {
    /// Defaults, then `<config_dir>/config.toml` if it exists, then `QUIRE_*` variables.
    pub fn load(config_dir: &Path) -> Result<Config, ConfigError> {
        Self::figment(config_dir)
            .extract()
            .map_err(|e| ConfigError::Invalid(e.to_string()))
    }

    fn figment(config_dir: &Path) -> Figment {
        let env = Env::prefixed("QUIRE_")
            .ignore(NON_CONFIG_ENV)
            .filter(|key| is_config_key(key.as_str()))
            .map(|key| match key.as_str().to_ascii_lowercase().as_str() {
                "log" => "log.level".into(),
                other => other.replace("__", ".").into(),
            });
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(config_dir.join(CONFIG_FILE_NAME)))
            .merge(env)
    }

    /// `QUIRE_*` variables that name no setting: ignored (so one stray variable, from another
    /// tool or an older Quire, cannot void every setting), and reported here for the log.
    pub fn ignored_env() -> Vec<String> {
        std::env::vars()
            .filter_map(|(k, _)| k.strip_prefix("QUIRE_").map(str::to_string))
            .filter(|k| {
                !NON_CONFIG_ENV.contains(&k.to_ascii_lowercase().as_str()) && !is_config_key(k)
            })
            .map(|k| format!("QUIRE_{k}"))
            .collect()
    }

    /// Writes the config to `<config_dir>/config.toml`, atomically.
    pub fn save(
        &self,
        config_dir: &Path,
        metrics: &crate::metrics::Metrics,
    ) -> Result<(), ConfigError> {
        let text = toml::to_string_pretty(self).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        std::fs::create_dir_all(config_dir)
            .map_err(|e| ConfigError::Invalid(format!("{}: {e}", config_dir.display())))?;
        let header =
            "# Quire settings. Every field and its default: src-tauri/engine/src/config.rs\n";
        crate::durable::write_atomic(
            &config_dir.join(CONFIG_FILE_NAME),
            format!("{header}{text}").as_bytes(),
            metrics,
        )
        .map_err(|e| ConfigError::Invalid(e.to_string()))
    }

    /// The log level as the `log` crate understands it; unknown names fall back to info.
    pub fn log_level(&self) -> log::LevelFilter {
        self.log.level.parse().unwrap_or(log::LevelFilter::Info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // figment::Jail serialises tests that touch the process environment and cwd. Its closure
    // type is figment's, so the size of figment's error is not ours to choose.
    #[allow(clippy::result_large_err)]
    #[test]
    fn defaults_then_file_then_env() {
        figment::Jail::expect_with(|jail| {
            let dir = jail.directory().to_path_buf();
            assert_eq!(Config::load(&dir).unwrap(), Config::default());

            jail.create_file(
                CONFIG_FILE_NAME,
                "[notebooks]\nflush_delay_ms = 250\n[snapshots]\nhistory = 9\n",
            )?;
            let from_file = Config::load(&dir).unwrap();
            assert_eq!(from_file.notebooks.flush_delay_ms, 250);
            assert_eq!(from_file.snapshots.history, 9);
            assert_eq!(
                from_file.notebooks.max_wait_ms, 1000,
                "untouched fields keep defaults"
            );

            jail.set_env("QUIRE_NOTEBOOKS__FLUSH_DELAY_MS", "7");
            jail.set_env("QUIRE_LOG", "debug");
            jail.set_env("QUIRE_WORKSPACE", "/tmp/quire-ws");
            jail.set_env("QUIRE_DATA_DIR", "/tmp/ignored-by-config");
            let from_env = Config::load(&dir).unwrap();
            assert_eq!(
                from_env.notebooks.flush_delay_ms, 7,
                "env wins over the file"
            );
            assert_eq!(from_env.log_level(), log::LevelFilter::Debug);
            assert_eq!(from_env.workspace, Some(PathBuf::from("/tmp/quire-ws")));

            // A stray variable names no setting: it is ignored, every setting still applies.
            jail.set_env("QUIRE_SOMETHING_ELSE", "1");
            let stray = Config::load(&dir).unwrap();
            assert_eq!(stray.notebooks.flush_delay_ms, 7);
            assert_eq!(stray.snapshots.history, 9);
            assert_eq!(Config::ignored_env(), ["QUIRE_SOMETHING_ELSE"]);
            Ok(())
        });
    }

    #[test]
    fn modes_are_presets() {
        assert_eq!(NotebookConfig::default().mode(), NotebookMode::Optimized);
        for mode in [
            NotebookMode::Optimized,
            NotebookMode::Immediate,
            NotebookMode::Manual,
        ] {
            assert_eq!(NotebookConfig::preset(mode).unwrap().mode(), mode);
        }
        let manual = NotebookConfig::preset(NotebookMode::Manual).unwrap();
        assert_eq!(
            (
                manual.flush_delay_ms,
                manual.auto_flush,
                manual.lazy_hydration
            ),
            (1000, false, true)
        );
        let odd = NotebookConfig {
            flush_delay_ms: 7,
            ..NotebookConfig::default()
        };
        assert_eq!(odd.mode(), NotebookMode::Custom);
    }

    #[allow(clippy::result_large_err)]
    #[test]
    fn saved_config_loads_back() {
        figment::Jail::expect_with(|jail| {
            let dir = jail.directory().join("nested");
            let config = Config {
                notebooks: NotebookConfig::preset(NotebookMode::Manual).unwrap(),
                workspace: Some("/data/ws".into()),
                ..Config::default()
            };
            config
                .save(&dir, &crate::metrics::Metrics::default())
                .unwrap();
            assert_eq!(Config::load(&dir).unwrap(), config);
            Ok(())
        });
    }

    #[allow(clippy::result_large_err)]
    #[test]
    fn typos_and_bad_values_are_reported() {
        figment::Jail::expect_with(|jail| {
            let dir = jail.directory().to_path_buf();
            jail.create_file(CONFIG_FILE_NAME, "[notebooks]\nflush_dealy_ms = 5\n")?;
            let err = Config::load(&dir).unwrap_err();
            assert_eq!(err.code(), ErrorCode::ConfigInvalid);
            assert!(err.to_string().contains("flush_dealy_ms"), "{err}");

            jail.create_file(CONFIG_FILE_NAME, "[notebooks]\nflush_delay_ms = \"soon\"\n")?;
            assert!(Config::load(&dir).is_err());
            Ok(())
        });
    }
}

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

// Each area owns its section; the one `Config` gathers them (config sits above the areas).
pub use crate::events::EventConfig;
pub use crate::notebooks::{NotebookConfig, NotebookMode};
pub use crate::queue::QueueConfig;
pub use crate::snapshots::SnapshotConfig;
pub use crate::tables::limits::LimitsConfig;
pub use crate::tasks::TaskConfig;

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

//! The log: a rotated file in the app's log dir plus stdout, at the configured level.

use std::path::Path;

use quire_engine::Config;
use tauri::plugin::TauriPlugin;
use tauri::Runtime;
use tauri_plugin_log::{RotationStrategy, Target, TargetKind};

pub fn plugin<R: Runtime>(config: &Config, log_dir: &Path) -> TauriPlugin<R> {
    tauri_plugin_log::Builder::new()
        .targets([
            Target::new(TargetKind::Stdout),
            Target::new(TargetKind::Folder {
                path: log_dir.to_path_buf(),
                file_name: Some("quire".into()),
            }),
        ])
        .max_file_size(u128::from(config.log.max_file_bytes))
        .rotation_strategy(RotationStrategy::KeepSome(config.log.keep_files as usize))
        // The effective level is `log::set_max_level`, set from the config after this plugin.
        .level(log::LevelFilter::Trace)
        .level_for("tao", log::LevelFilter::Warn)
        .level_for("wry", log::LevelFilter::Warn)
        .level_for("datafusion", log::LevelFilter::Warn)
        .build()
}

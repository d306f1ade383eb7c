//! Where the app keeps its data, config and logs: the platform's conventions (Tauri's path
//! resolver), or everything under `QUIRE_DATA_DIR` when it is set (tests use a fresh one each).

use std::path::PathBuf;

use tauri::{AppHandle, Manager, Runtime};

/// Overrides the data, config and log dirs at once.
pub const DATA_DIR_ENV: &str = "QUIRE_DATA_DIR";

#[derive(Debug, Clone)]
pub struct AppDirs {
    pub data: PathBuf,
    pub config: PathBuf,
    pub logs: PathBuf,
}

impl AppDirs {
    pub fn resolve<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<AppDirs> {
        if let Some(root) = std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
            return Ok(Self::under(PathBuf::from(root)));
        }
        let path = app.path();
        Ok(AppDirs {
            data: path.app_data_dir()?,
            config: path.app_config_dir()?,
            logs: path.app_log_dir()?,
        })
    }

    pub fn under(root: PathBuf) -> AppDirs {
        AppDirs {
            data: root.join("data"),
            config: root.join("config"),
            logs: root.join("logs"),
        }
    }
}

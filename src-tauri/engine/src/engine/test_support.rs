//! What every engine scenario test needs: an engine on a temp dir, and files to import.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Engine, EnginePaths};
use crate::config::Config;
use crate::events::EventSink;

/// An engine with default settings whose data dir (and workspace) is `dir`.
pub(super) fn open(dir: &Path, sink: Arc<dyn EventSink>) -> Engine {
    open_with(dir, Config::default(), sink)
}

/// An engine with `config` whose data dir (and workspace) is `dir`.
pub(super) fn open_with(dir: &Path, config: Config, sink: Arc<dyn EventSink>) -> Engine {
    Engine::open(
        config,
        EnginePaths {
            data_dir: dir.to_path_buf(),
            config_dir: None,
        },
        sink,
    )
    .unwrap()
}

/// A CSV of `rows` trips (`id`, `city`, `amount`) named "Trips 2026.csv" in `dir`.
pub(super) fn csv_file(dir: &Path, rows: usize) -> PathBuf {
    let mut text = String::from("id,city,amount\n");
    for i in 0..rows {
        text.push_str(&format!(
            "{i},{},{}.5\n",
            ["Lyon", "Paris", "Nice"][i % 3],
            i
        ));
    }
    let p = dir.join("Trips 2026.csv");
    std::fs::write(&p, text).unwrap();
    p
}

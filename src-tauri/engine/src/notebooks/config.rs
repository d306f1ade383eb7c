//! How notebook edits reach disk: this area's section of the settings.

use serde::{Deserialize, Serialize};

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

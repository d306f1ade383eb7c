//! A CSV or JSON file too big to hold, converted once into Parquet parts inside the notebook's
//! folder (`converted/<id>/`) and linked: it then pages and queries like a linked Parquet
//! folder, and no step holds the whole file in memory.
//!
//! The folder's `plan.json` names the source (path, size, modification time) and how it is
//! read. A run that finds the same plan keeps the parts already written: the task run again
//! after a crash resumes at the first missing part. A different plan (the file changed) starts
//! the folder afresh. A conversion that fails or is cancelled removes its folder.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use datafusion::arrow::datatypes::SchemaRef;

use crate::durable;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::tables::import::sink::{Parts, Sink};
use crate::tables::import::{self, CsvOptions, ImportFormat, ImportProgress, Imported};
use crate::tables::limits::Budget;
use crate::tables::TableError;
use crate::{ErrorCode, HasCode};

#[cfg(test)]
pub use crate::ledger::links::CONVERTED_DIR;
pub use crate::ledger::links::{converted_folder as folder, is_converted_folder as is_converted};

const PLAN_FILE: &str = "plan.json";
const PLAN_VERSION: u32 = 1;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Plan {
    version: u32,
    source: PathBuf,
    bytes: u64,
    modified: (u64, u32),
    format: ImportFormat,
    csv: Option<CsvOptions>,
    /// The JSON columns the file is read with, when they were fixed (as Arrow prints them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    json: Option<String>,
    /// Where the parts are cut: a rerun with another size would cut other parts.
    part_bytes: u64,
}

impl Plan {
    fn of(conversion: &Conversion<'_>) -> Result<Plan, TableError> {
        let meta = std::fs::metadata(conversion.source)
            .map_err(|e| TableError::file(conversion.source, e))?;
        let modified = modified_at(&meta);
        Ok(Plan {
            version: PLAN_VERSION,
            source: conversion.source.to_path_buf(),
            bytes: meta.len(),
            modified,
            format: import::resolve_format(conversion.source, conversion.format)?,
            csv: conversion.csv.cloned(),
            json: conversion
                .json
                .map(|columns| format!("{:?}", columns.fields())),
            part_bytes: conversion.part_bytes,
        })
    }

    fn read(folder: &Path) -> Option<Plan> {
        let bytes = std::fs::read(folder.join(PLAN_FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// The columns the conversion in `folder` was planned with for `source` as it is now, when
/// they were fixed (a rerun of a many-file conversion starts from them, so its first file's
/// parts are kept); None when the plan was for another file or the file changed since.
pub(super) fn planned_columns(folder: &Path, source: &Path) -> Option<Vec<import::ColumnSpec>> {
    let plan = Plan::read(folder)?;
    let meta = std::fs::metadata(source).ok()?;
    let same =
        plan.source == source && plan.bytes == meta.len() && plan.modified == modified_at(&meta);
    same.then_some(plan.csv?.columns).flatten()
}

/// A file's modification time as a plan records it (seconds, nanoseconds).
fn modified_at(meta: &std::fs::Metadata) -> (u64, u32) {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or((0, 0), |d| (d.as_secs(), d.subsec_nanos()))
}

pub(super) struct Conversion<'a> {
    pub source: &'a Path,
    pub format: Option<ImportFormat>,
    pub csv: Option<&'a CsvOptions>,
    /// A JSON file's columns, when fixed (one of many files read as one table).
    pub json: Option<&'a SchemaRef>,
    pub folder: &'a Path,
    /// Bytes of the source per part.
    pub part_bytes: u64,
}

impl Conversion<'_> {
    /// Converts the source into parts in the folder, keeping what an earlier run of the same
    /// plan wrote. Returns what was read (no batches: they are in the parts).
    pub fn run(
        &self,
        metrics: &Arc<Metrics>,
        progress: &(dyn Fn(ImportProgress) + Sync),
        cancel: &CancellationToken,
        budget: &Budget,
        closing: &AtomicBool,
    ) -> Result<Imported, Error> {
        let result = self.write_parts(metrics, progress, cancel, budget);
        if let Err(e) = &result {
            // Stopped by Quire closing: the parts stay for the next start to resume.
            let resumable = e.code() == ErrorCode::Cancelled && closing.load(Ordering::SeqCst);
            if !resumable {
                self.remove();
            }
        }
        result
    }

    /// Removes the folder and everything in it.
    pub fn remove(&self) {
        if let Err(e) = std::fs::remove_dir_all(self.folder) {
            if e.kind() != std::io::ErrorKind::NotFound {
                log::warn!(
                    "could not remove the folder of a stopped conversion, {}: {e}",
                    self.folder.display()
                );
            }
        }
    }

    fn write_parts(
        &self,
        metrics: &Arc<Metrics>,
        progress: &(dyn Fn(ImportProgress) + Sync),
        cancel: &CancellationToken,
        budget: &Budget,
    ) -> Result<Imported, Error> {
        let folder = self.folder;
        let fail = |e: std::io::Error| TableError::file(folder, e);
        std::fs::create_dir_all(folder).map_err(fail)?;
        if let Some(parent) = folder.parent() {
            durable::sync_dir(parent).map_err(fail)?;
        }
        durable::sweep_temp_files(folder).map_err(fail)?;
        let parts = Parts::new(folder, self.part_bytes, metrics.clone());
        let plan = Plan::of(self)?;
        match Plan::read(folder) {
            Some(found) if found == plan => {
                log::info!("resuming the conversion in {}", folder.display())
            }
            _ => {
                parts.clear()?;
                let bytes = serde_json::to_vec_pretty(&plan)
                    .map_err(|e| TableError::Persist(e.to_string()))?;
                durable::write_atomic(&folder.join(PLAN_FILE), &bytes, metrics)
                    .map_err(|e| TableError::Persist(e.to_string()))?;
            }
        }
        let imported = match self.json {
            Some(columns) => {
                import::convert_json(self.source, columns, progress, cancel, budget, &parts)?
            }
            None => import::convert(
                self.source,
                self.format,
                self.csv,
                progress,
                cancel,
                budget,
                &parts,
            )?,
        };
        // Every part's rename is durable before the table is linked.
        durable::sync_dir(folder).map_err(fail)?;
        Ok(imported)
    }
}

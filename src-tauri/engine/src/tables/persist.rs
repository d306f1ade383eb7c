//! Tables on disk: `<notebook folder>/tables/<name>.parquet`, written atomically (temp file in
//! the same folder, fsync, rename, fsync the folder). The snapshots issue adds debouncing,
//! generations and history on top of this; the file is never written in place, because a
//! Parquet file's footer is written last and a cut-off file is unreadable.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatchReader;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::table::TableVersion;
use super::TableError;
use crate::durable;
use crate::metrics::Metrics;

/// The folder inside a notebook folder that holds its tables.
pub const TABLES_DIR: &str = "tables";

pub fn table_path(notebook_dir: &Path, name: &str) -> PathBuf {
    notebook_dir
        .join(TABLES_DIR)
        .join(format!("{name}.parquet"))
}

/// Writes the version as Parquet (zstd) through a temp file, durably: the same atomic write
/// as an export, into the notebook's `tables/` folder.
pub fn save(
    notebook_dir: &Path,
    name: &str,
    version: &TableVersion,
    metrics: &Metrics,
) -> Result<u64, TableError> {
    let dir = notebook_dir.join(TABLES_DIR);
    if !dir.is_dir() {
        let io =
            |e: std::io::Error| TableError::Persist(format!("could not save table {name}: {e}"));
        std::fs::create_dir_all(&dir).map_err(io)?;
        durable::sync_dir(notebook_dir).map_err(io)?;
    }
    super::export::write(
        &table_path(notebook_dir, name),
        &version.schema,
        &version.batches,
        metrics,
        &|_| {},
        &tokio_util::sync::CancellationToken::new(),
    )
}

/// Every table saved in a notebook folder, by name (temp files a crash left are swept first).
pub fn load_all(notebook_dir: &Path) -> Result<Vec<(String, TableVersion)>, TableError> {
    let dir = notebook_dir.join(TABLES_DIR);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let _ = durable::sweep_temp_files(&dir);
    let mut out = Vec::new();
    let entries = std::fs::read_dir(&dir).map_err(|e| TableError::file(&dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| TableError::file(&dir, e))?.path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".parquet"))
        else {
            continue;
        };
        if super::name::validate(name).is_err() {
            continue;
        }
        let file = File::open(&path).map_err(|e| TableError::file(&path, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.with_batch_size(super::import::BATCH_ROWS).build())
            .map_err(|e| TableError::Persist(format!("table {name} cannot be read: {e}")))?;
        let schema = reader.schema();
        let batches = reader.collect::<Result<Vec<_>, _>>()?;
        out.push((
            name.to_string(),
            TableVersion::first(Arc::clone(&schema), batches),
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_atomically_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let t = super::super::table::tests::numbers(50_000, 4096);
        let metrics = Metrics::default();
        let bytes = save(dir.path(), "numbers", &t, &metrics).unwrap();
        assert!(bytes > 0);
        assert_eq!(metrics.snapshot().disk_writes, 1);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join(TABLES_DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, ["numbers.parquet"]);
        let loaded = load_all(dir.path()).unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].0, "numbers");
        assert_eq!(loaded[0].1.rows, 50_000);
        assert_eq!(
            loaded[0].1.page(49_999, 1).unwrap(),
            t.page(49_999, 1).unwrap()
        );
    }
}

//! Writing tables and results to files the user picked: CSV (with a header row) or Parquet,
//! chosen by extension, atomically (temp file beside the target, fsync, rename, fsync folder).

use std::io::Write;
use std::path::Path;

use datafusion::arrow::csv::WriterBuilder;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::TableError;
use crate::durable;
use crate::metrics::Metrics;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Csv,
    Parquet,
}

impl ExportFormat {
    pub fn from_path(path: &Path) -> Result<ExportFormat, TableError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Ok(ExportFormat::Csv),
            Some("parquet") | Some("pq") => Ok(ExportFormat::Parquet),
            _ => Err(TableError::Import {
                line: None,
                message: format!("{} must end in .csv or .parquet", path.display()),
            }),
        }
    }
}

/// Writes the batches to `path` in the format its extension names; returns the bytes written.
/// `progress` hears the rows written so far after every batch; `cancel` is checked before each.
pub fn write(
    path: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    metrics: &Metrics,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &CancellationToken,
) -> Result<u64, TableError> {
    let mut rows = 0u64;
    let mut advance = |batch: &RecordBatch| {
        rows += batch.num_rows() as u64;
        progress(rows);
    };
    let format = ExportFormat::from_path(path)?;
    let fail = |e: &dyn std::fmt::Display| {
        TableError::Persist(format!("could not write {}: {e}", path.display()))
    };
    // An export is the user's own file: created as any program creates one (0666 less the
    // umask), not with a temp file's private 0600.
    let mut tmp = durable::AtomicFile::create_shared(path).map_err(|e| fail(&e))?;
    match format {
        ExportFormat::Csv => {
            let mut out = std::io::BufWriter::new(tmp.file_mut());
            let mut writer = WriterBuilder::new().with_header(true).build(&mut out);
            if batches.is_empty() {
                writer
                    .write(&RecordBatch::new_empty(schema.clone()))
                    .map_err(|e| fail(&e))?;
            }
            for batch in batches {
                // A cancelled write stops between batches; dropping the temp file deletes it.
                if cancel.is_cancelled() {
                    return Err(TableError::Cancelled);
                }
                writer.write(batch).map_err(|e| fail(&e))?;
                advance(batch);
            }
            drop(writer);
            out.flush().map_err(|e| fail(&e))?;
        }
        ExportFormat::Parquet => {
            let props = WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::default()))
                .build();
            let mut writer = ArrowWriter::try_new(tmp.file_mut(), schema.clone(), Some(props))
                .map_err(|e| fail(&e))?;
            for batch in batches {
                // A cancelled write stops between batches; dropping the temp file deletes it.
                if cancel.is_cancelled() {
                    return Err(TableError::Cancelled);
                }
                writer.write(batch).map_err(|e| fail(&e))?;
                advance(batch);
            }
            writer.close().map_err(|e| fail(&e))?;
        }
    }
    let bytes = tmp.commit(metrics).map_err(|e| fail(&e))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::import;
    use crate::{ErrorCode, HasCode};

    #[test]
    fn a_cancelled_export_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let t = crate::tables::table::tests::numbers(10_000, 1000);
        let cancel = CancellationToken::new();
        let stop_after_two = |rows: u64| {
            if rows >= 2000 {
                cancel.cancel();
            }
        };
        let path = dir.path().join("out.parquet");
        let err = write(
            &path,
            &t.schema,
            &t.batches,
            &Metrics::default(),
            &stop_after_two,
            &cancel,
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Cancelled);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "no file, no temp file"
        );
    }

    #[test]
    fn csv_and_parquet_round_trip_through_the_importers() {
        let dir = tempfile::tempdir().unwrap();
        let t = crate::tables::table::tests::numbers(3000, 1000);
        for name in ["out.csv", "out.parquet"] {
            let path = dir.path().join(name);
            write(
                &path,
                &t.schema,
                &t.batches,
                &Metrics::default(),
                &|_| {},
                &CancellationToken::new(),
            )
            .unwrap();
            let back = import::read(
                &path,
                None,
                None,
                &|_| {},
                &Default::default(),
                &crate::tables::Limits::default().budget("test"),
            )
            .unwrap();
            assert_eq!(
                back.batches.iter().map(|b| b.num_rows()).sum::<usize>(),
                3000,
                "{name}"
            );
        }
        let text = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
        assert!(text.starts_with("n\n0\n1\n"), "a header row, then the rows");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 2, "no temp files: {leftovers:?}");
        let err = write(
            &dir.path().join("out.xlsx"),
            &t.schema,
            &t.batches,
            &Metrics::default(),
            &|_| {},
            &CancellationToken::new(),
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::ImportFailed);
    }

    #[cfg(unix)]
    #[test]
    fn an_export_gets_the_permissions_of_a_file_the_user_creates() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let version = crate::tables::table::tests::numbers(10, 10);
        let reference = dir.path().join("reference.txt");
        std::fs::write(&reference, "x").unwrap();
        let expected = std::fs::metadata(&reference).unwrap().permissions().mode() & 0o777;
        let out = dir.path().join("out.csv");
        write(
            &out,
            &version.schema,
            &version.batches,
            &crate::metrics::Metrics::default(),
            &|_| {},
            &tokio_util::sync::CancellationToken::new(),
        )
        .unwrap();
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, expected, "{mode:o} vs {expected:o}");
    }
}

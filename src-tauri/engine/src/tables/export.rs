//! Writing tables and results to files the user picked: CSV (with a header row) or Parquet,
//! chosen by extension, atomically (temp file beside the target, fsync, rename, fsync folder);
//! or to an object in a bucket, as one multipart upload that completes or leaves nothing.

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

/// Batches to write, made as they are written (a linked table's, row group by row group).
pub type Rows<'a> = &'a mut dyn Iterator<Item = Result<RecordBatch, TableError>>;

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
    let mut rows = batches.iter().cloned().map(Ok);
    write_rows(path, schema, &mut rows, metrics, progress, cancel)
}

/// [`write`] of batches made as they are written.
pub fn write_rows(
    path: &Path,
    schema: &SchemaRef,
    batches: Rows<'_>,
    metrics: &Metrics,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &CancellationToken,
) -> Result<u64, TableError> {
    let mut file = FileExport::create(path)?;
    file.start(schema)?;
    let mut rows = 0u64;
    for batch in batches {
        if cancel.is_cancelled() {
            return Err(TableError::Cancelled);
        }
        let batch = batch?;
        rows += batch.num_rows() as u64;
        file.push(batch)?;
        progress(rows);
    }
    file.commit(metrics)
}

/// Where a query's rows go as they come: the columns first (known even when no row comes),
/// then each batch. An error stops the query.
pub trait RowSink: Send {
    fn start(&mut self, schema: &SchemaRef) -> Result<(), TableError>;
    fn push(&mut self, batch: RecordBatch) -> Result<(), TableError>;
    /// What the user may not expect of the answer (see `QueryPreview::notes`); a sink that
    /// shows nothing beside the rows drops it.
    fn notes(&mut self, _notes: Vec<String>) {}
}

/// An export to a file written as the rows come (a result never held whole), committed
/// atomically by [`FileExport::commit`]; dropped before that, it leaves no file.
pub struct FileExport {
    path: std::path::PathBuf,
    format: ExportFormat,
    /// Until the columns are known, the temp file alone.
    state: Encoding,
}

enum Encoding {
    Waiting(durable::AtomicFile),
    Csv(datafusion::arrow::csv::Writer<std::io::BufWriter<durable::AtomicFile>>),
    Parquet(ArrowWriter<std::io::BufWriter<durable::AtomicFile>>),
    /// Between states, and after a failure.
    Gone,
}

impl FileExport {
    /// The temp file beside `path`, in the format its extension names.
    pub fn create(path: &Path) -> Result<FileExport, TableError> {
        let format = ExportFormat::from_path(path)?;
        // An export is the user's own file: created as any program creates one (0666 less the
        // umask), not with a temp file's private 0600.
        let tmp = durable::AtomicFile::create_shared(path).map_err(|e| export_failed(path, &e))?;
        Ok(FileExport {
            path: path.to_path_buf(),
            format,
            state: Encoding::Waiting(tmp),
        })
    }

    fn fail(&self, e: &dyn std::fmt::Display) -> TableError {
        export_failed(&self.path, e)
    }

    /// Finishes the encoding and renames the file into place; returns its bytes.
    pub fn commit(mut self, metrics: &Metrics) -> Result<u64, TableError> {
        let tmp = match std::mem::replace(&mut self.state, Encoding::Gone) {
            Encoding::Waiting(_) | Encoding::Gone => {
                return Err(self.fail(&"the rows never started"))
            }
            Encoding::Csv(writer) => writer.into_inner(),
            Encoding::Parquet(writer) => writer.into_inner().map_err(|e| self.fail(&e))?,
        };
        let tmp = tmp.into_inner().map_err(|e| self.fail(&e.into_error()))?;
        tmp.commit(metrics).map_err(|e| self.fail(&e))
    }
}

fn export_failed(path: &Path, e: &dyn std::fmt::Display) -> TableError {
    TableError::Persist(format!("could not write {}: {e}", path.display()))
}

impl RowSink for FileExport {
    fn start(&mut self, schema: &SchemaRef) -> Result<(), TableError> {
        let Encoding::Waiting(tmp) = std::mem::replace(&mut self.state, Encoding::Gone) else {
            return Err(self.fail(&"the rows started twice"));
        };
        let out = std::io::BufWriter::new(tmp);
        self.state = match self.format {
            ExportFormat::Csv => {
                let mut writer = WriterBuilder::new().with_header(true).build(out);
                // The header, whatever follows.
                writer
                    .write(&RecordBatch::new_empty(schema.clone()))
                    .map_err(|e| self.fail(&e))?;
                Encoding::Csv(writer)
            }
            ExportFormat::Parquet => {
                super::cell_text::check_storable(schema, "a Parquet file")?;
                let props = WriterProperties::builder()
                    .set_compression(Compression::ZSTD(ZstdLevel::default()))
                    .build();
                Encoding::Parquet(
                    ArrowWriter::try_new(out, schema.clone(), Some(props))
                        .map_err(|e| self.fail(&e))?,
                )
            }
        };
        Ok(())
    }

    fn push(&mut self, batch: RecordBatch) -> Result<(), TableError> {
        let written = match &mut self.state {
            Encoding::Csv(writer) => super::cell_text::with_times_as_text(&batch)
                .and_then(|batch| writer.write(&batch))
                .map_err(|e| e.to_string()),
            Encoding::Parquet(writer) => writer.write(&batch).map_err(|e| e.to_string()),
            Encoding::Waiting(_) | Encoding::Gone => Err("rows came before their columns".into()),
        };
        written.map_err(|e| self.fail(&e))
    }
}

/// Parts of an upload to object storage: S3's smallest part but the last is 5 MiB.
const UPLOAD_PART: usize = 8 * 1024 * 1024;
/// Parts uploading at once; writing waits beyond that, so memory stays bounded.
const UPLOADS_AT_ONCE: usize = 4;

/// Writes the batches to the object `url` names (`s3://bucket/key.parquet` or `.csv`) as one
/// multipart upload: the object appears whole when the upload completes, and an error, a
/// cancel or a killed process leaves nothing under the key (a failed or cancelled upload is
/// aborted; one a crash cut off never completes, though its parts stay in the bucket until a
/// lifecycle rule such as S3's `AbortIncompleteMultipartUpload` removes them). An object
/// already at the key is never replaced. Returns the bytes written.
pub fn write_to_store(
    store: std::sync::Arc<dyn object_store::ObjectStore>,
    endpoint: &str,
    url: &str,
    schema: &SchemaRef,
    batches: Rows<'_>,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &CancellationToken,
) -> Result<u64, TableError> {
    use crate::remote::{io, split_address, RemoteError};
    use object_store::ObjectStoreExt;
    let (service, bucket, key) = split_address(url)?;
    let format = ExportFormat::from_path(Path::new(&key))?;
    // Past the check below that nothing is at the key, "not found" can only be the bucket.
    let failed = |e: object_store::Error| {
        TableError::from(match e {
            object_store::Error::NotFound { .. } => RemoteError::NoBucket {
                endpoint: endpoint.to_string(),
                bucket: bucket.clone(),
                word: service.bucket_word(),
            },
            e => RemoteError::from_store(endpoint, url, &e),
        })
    };
    let location = object_store::path::Path::parse(&key).map_err(|e| RemoteError::Invalid {
        what: format!("the address {url}"),
        why: e.to_string(),
    })?;
    // Parts are spawned on the IO runtime as they fill, from this thread's sync writer.
    let _context = io::enter();
    // Never over an object already there (a linked table's own file, say).
    match io::wait(store.head(&location)) {
        Ok(_) => {
            return Err(RemoteError::Exists {
                url: url.to_string(),
            }
            .into())
        }
        Err(object_store::Error::NotFound { .. }) => {}
        Err(e) => return Err(RemoteError::from_store(endpoint, url, &e).into()),
    }
    let upload = io::wait(store.put_multipart(&location)).map_err(failed)?;
    let mut parts = object_store::WriteMultipart::new_with_chunk_size(upload, UPLOAD_PART);
    let written = {
        let mut sink = Upload {
            parts: &mut parts,
            bytes: 0,
            failed: None,
        };
        let result = encode(format, url, &mut sink, schema, batches, progress, cancel);
        match (result, sink.failed.take()) {
            (_, Some(e)) => Err(failed(e)),
            (Err(e), None) => Err(e),
            (Ok(()), None) => Ok(sink.bytes),
        }
    };
    // Every part is sent before the upload completes; a part that failed aborts it below.
    let written = written.and_then(|bytes| {
        io::wait(parts.wait_for_capacity(0))
            .map(|()| bytes)
            .map_err(failed)
    });
    match written {
        Ok(bytes) => {
            io::wait(parts.finish()).map_err(failed)?;
            Ok(bytes)
        }
        Err(e) => {
            // Nothing under the key: the parts sent so far are discarded with the upload.
            if let Err(abort) = io::wait(parts.abort()) {
                log::warn!("aborting the upload to {url} failed ({abort}); its parts stay in the bucket until a lifecycle rule or the user removes them");
            }
            Err(e)
        }
    }
}

/// A sync writer that feeds a multipart upload, waiting when too many parts are in flight.
struct Upload<'a> {
    parts: &'a mut object_store::WriteMultipart,
    bytes: u64,
    /// The first upload error: the encoder hears a broken pipe, the caller the store's words.
    failed: Option<object_store::Error>,
}

impl Write for Upload<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.failed.is_some() {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        if let Err(e) = crate::remote::io::wait(self.parts.wait_for_capacity(UPLOADS_AT_ONCE)) {
            self.failed = Some(e);
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        self.parts.write(buf);
        self.bytes += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The batches as CSV or Parquet into `out`, checking `cancel` before each batch.
fn encode<W: Write + Send>(
    format: ExportFormat,
    target: &str,
    out: W,
    schema: &SchemaRef,
    batches: Rows<'_>,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &CancellationToken,
) -> Result<(), TableError> {
    let fail =
        |e: &dyn std::fmt::Display| TableError::Persist(format!("could not write {target}: {e}"));
    let mut rows = 0u64;
    match format {
        ExportFormat::Csv => {
            let mut writer = WriterBuilder::new().with_header(true).build(out);
            // The header, whatever follows.
            writer
                .write(&RecordBatch::new_empty(schema.clone()))
                .map_err(|e| fail(&e))?;
            for batch in batches {
                if cancel.is_cancelled() {
                    return Err(TableError::Cancelled);
                }
                let batch = batch?;
                let shown = super::cell_text::with_times_as_text(&batch).map_err(|e| fail(&e))?;
                writer.write(&shown).map_err(|e| fail(&e))?;
                rows += batch.num_rows() as u64;
                progress(rows);
            }
        }
        ExportFormat::Parquet => {
            super::cell_text::check_storable(schema, "a Parquet file")?;
            let props = WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::default()))
                .build();
            let mut writer =
                ArrowWriter::try_new(out, schema.clone(), Some(props)).map_err(|e| fail(&e))?;
            for batch in batches {
                if cancel.is_cancelled() {
                    return Err(TableError::Cancelled);
                }
                let batch = batch?;
                writer.write(&batch).map_err(|e| fail(&e))?;
                rows += batch.num_rows() as u64;
                progress(rows);
            }
            writer.close().map_err(|e| fail(&e))?;
        }
    }
    Ok(())
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

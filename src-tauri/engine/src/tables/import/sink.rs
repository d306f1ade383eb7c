//! Where an import's batches go: held in memory within the table budget (an import), or
//! written as Parquet parts into a folder (a conversion of a file too big to hold).
//!
//! A CSV is read in parts that start at record boundaries, each by one thread; a part is
//! written to a temp file and renamed to `part-NNNNN.parquet` only when complete, so a
//! conversion cut short by a crash leaves whole parts and runs again from the first missing
//! one (the parts are cut at the same boundaries every time the same file is read).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;

use crate::durable::{self, AtomicFile};
use crate::metrics::Metrics;
use crate::tables::limits::Budget;
use crate::tables::TableError;

/// Where the batches of one import go.
pub trait Sink: Sync {
    /// Bytes of CSV per part; `None`: one part per reading thread.
    fn part_bytes(&self) -> Option<u64>;
    /// The rows of part `part` when it is already written with these columns (by a run cut
    /// short).
    fn written(&self, part: usize, schema: &SchemaRef) -> Option<u64>;
    fn open(&self, part: usize, schema: &SchemaRef) -> Result<Box<dyn Part + '_>, TableError>;
    /// Drops every part written so far: the columns changed under them.
    fn clear(&self) -> Result<(), TableError>;
    /// The columns of the parts an earlier run wrote: a column it widened past the sample
    /// (integers, then decimals) is read wide again from the start.
    fn resumed_schema(&self) -> Option<SchemaRef> {
        None
    }
}

/// One part being filled, in file order.
pub trait Part: Send {
    fn push(&mut self, batch: RecordBatch) -> Result<(), TableError>;
    /// Ends the part: its batches when they are held, none when they were written.
    fn finish(self: Box<Self>) -> Result<Vec<RecordBatch>, TableError>;
}

/// Batches held in memory, charged to the table budget.
pub struct Memory<'a>(pub &'a Budget);

struct Held<'a> {
    budget: &'a Budget,
    batches: Vec<RecordBatch>,
}

impl Sink for Memory<'_> {
    fn part_bytes(&self) -> Option<u64> {
        None
    }

    fn written(&self, _: usize, _: &SchemaRef) -> Option<u64> {
        None
    }

    fn open(&self, _: usize, _: &SchemaRef) -> Result<Box<dyn Part + '_>, TableError> {
        Ok(Box::new(Held {
            budget: self.0,
            batches: Vec::new(),
        }))
    }

    fn clear(&self) -> Result<(), TableError> {
        Ok(())
    }
}

impl Part for Held<'_> {
    fn push(&mut self, batch: RecordBatch) -> Result<(), TableError> {
        self.budget.charge(&batch)?;
        self.batches.push(batch);
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Vec<RecordBatch>, TableError> {
        Ok(self.batches)
    }
}

/// Parquet parts written into `folder`, durably (each part synced before its rename, the
/// folder synced after).
pub struct Parts {
    folder: PathBuf,
    part_bytes: u64,
    metrics: Arc<Metrics>,
}

impl Parts {
    pub fn new(folder: &Path, part_bytes: u64, metrics: Arc<Metrics>) -> Parts {
        Parts {
            folder: folder.to_path_buf(),
            part_bytes: part_bytes.max(1),
            metrics,
        }
    }

    pub fn folder(&self) -> &Path {
        &self.folder
    }

    fn path(&self, part: usize) -> PathBuf {
        self.folder.join(format!("part-{part:05}.parquet"))
    }

    /// The parts on disk, in order.
    pub fn listed(&self) -> Result<Vec<PathBuf>, TableError> {
        let mut parts = Vec::new();
        let entries =
            std::fs::read_dir(&self.folder).map_err(|e| TableError::file(&self.folder, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| TableError::file(&self.folder, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("part-") && name.ends_with(".parquet") {
                parts.push(entry.path());
            }
        }
        parts.sort();
        Ok(parts)
    }
}

fn parquet_error(path: &Path, e: impl std::fmt::Display) -> TableError {
    TableError::Persist(format!("could not write {}: {e}", path.display()))
}

struct Writing {
    path: PathBuf,
    writer: ArrowWriter<AtomicFile>,
    metrics: Arc<Metrics>,
}

impl Sink for Parts {
    fn part_bytes(&self) -> Option<u64> {
        Some(self.part_bytes)
    }

    fn written(&self, part: usize, schema: &SchemaRef) -> Option<u64> {
        let file = std::fs::File::open(self.path(part)).ok()?;
        let footer = ParquetRecordBatchReaderBuilder::try_new(file).ok()?;
        (footer.schema().fields() == schema.fields())
            .then(|| footer.metadata().file_metadata().num_rows().max(0) as u64)
    }

    fn open(&self, part: usize, schema: &SchemaRef) -> Result<Box<dyn Part + '_>, TableError> {
        let path = self.path(part);
        let file = AtomicFile::create(&path).map_err(|e| TableError::file(&path, e))?;
        // Row groups of 128 Ki rows: the grid reads a page from the row group that holds it.
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(128 * 1024))
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
            .map_err(|e| parquet_error(&path, e))?;
        Ok(Box::new(Writing {
            path,
            writer,
            metrics: self.metrics.clone(),
        }))
    }

    fn resumed_schema(&self) -> Option<SchemaRef> {
        let first = self.listed().ok()?.into_iter().next()?;
        let file = std::fs::File::open(first).ok()?;
        Some(
            ParquetRecordBatchReaderBuilder::try_new(file)
                .ok()?
                .schema()
                .clone(),
        )
    }

    fn clear(&self) -> Result<(), TableError> {
        for part in self.listed()? {
            crate::durable::trace::remove_file(&part).map_err(|e| TableError::file(&part, e))?;
        }
        Ok(())
    }
}

impl Part for Writing {
    fn push(&mut self, batch: RecordBatch) -> Result<(), TableError> {
        self.writer
            .write(&batch)
            .map_err(|e| parquet_error(&self.path, e))
    }

    fn finish(self: Box<Self>) -> Result<Vec<RecordBatch>, TableError> {
        let Writing {
            path,
            writer,
            metrics,
        } = *self;
        let file = writer.into_inner().map_err(|e| parquet_error(&path, e))?;
        match file.commit(&metrics) {
            Ok(_) => Ok(Vec::new()),
            // Renamed, folder not synced: the part is in place; the conversion's last folder
            // sync decides, and a part lost to a power cut is written again by the rerun.
            Err(durable::CommitError::Unsure { path, source }) => {
                log::warn!(
                    "{} was written but its folder could not be synced: {source}",
                    path.display()
                );
                Ok(Vec::new())
            }
            Err(e) => Err(parquet_error(&path, e)),
        }
    }
}

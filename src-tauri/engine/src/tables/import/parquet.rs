//! Parquet: the schema and row count come from the footer; batches stream row group by row group.

use std::fs::File;
use std::path::Path;

use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::parquet::arrow::arrow_reader::{
    ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::errors::ParquetError;

use super::{
    preview_rows, ColumnSpec, ImportFormat, ImportPreview, ImportProgress, Imported, Reading,
    BATCH_ROWS,
};
use crate::tables::TableError;

/// What a file is called whose decoding panicked (see [`super::contained`]).
const DAMAGED: &str = "the Parquet file is damaged: its data cannot be decoded";

fn not_parquet(e: ParquetError) -> TableError {
    TableError::Import {
        line: None,
        message: format!("this is not a Parquet file, or it is damaged or cut short ({e})"),
    }
}

/// Opens a Parquet file for import with its column types taken from the Parquet schema
/// itself. The Arrow schema some writers embed (`ARROW:schema`) is skipped: arrow-ipc panics
/// on malformed ones (fuzzing found it), and the Parquet types give the same Quire column
/// types (only dictionary and large-string encodings, which Quire does not keep, are lost).
fn open(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>, TableError> {
    crate::tables::footer_guard::check_file(path).map_err(|why| TableError::Import {
        line: None,
        message: format!("the Parquet file is damaged: {why}"),
    })?;
    let file = File::open(path).map_err(|e| TableError::file(path, e))?;
    let options = ArrowReaderOptions::new().with_skip_arrow_metadata(true);
    let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)
        .map_err(not_parquet)?;
    crate::tables::footer_guard::check_pages(path, builder.metadata()).map_err(|problem| {
        match problem {
            crate::tables::footer_guard::Problem::Io(e) => TableError::file(path, e),
            why => TableError::Import {
                line: None,
                message: format!("the Parquet file is damaged: {why}"),
            },
        }
    })?;
    Ok(builder)
}

pub fn preview(path: &Path, file_bytes: u64) -> Result<ImportPreview, TableError> {
    super::contained(DAMAGED, || preview_unguarded(path, file_bytes))
}

fn preview_unguarded(path: &Path, file_bytes: u64) -> Result<ImportPreview, TableError> {
    let builder = open(path)?;
    let columns = ColumnSpec::all(builder.schema());
    let data_types = super::data_types(builder.schema());
    let mut reader = builder
        .with_batch_size(super::PREVIEW_ROWS)
        .with_limit(super::PREVIEW_ROWS)
        .build()
        .map_err(not_parquet)?;
    let batches: Vec<_> = reader.next().transpose()?.into_iter().collect();
    Ok(ImportPreview {
        format: ImportFormat::Parquet,
        csv: None,
        sheet: None,
        columns,
        data_types,
        rows: preview_rows(&batches),
        layout_doubts: Vec::new(),
        file_bytes,
        skipped_lines: Vec::new(),
        problem: None,
    })
}

/// The least memory `rows` rows of `schema` take in Arrow: each fixed-width value's width
/// (a bit per boolean), a 4-byte offset per string; nested columns count nothing.
fn least_bytes(schema: &datafusion::arrow::datatypes::Schema, rows: u64) -> u64 {
    use datafusion::arrow::datatypes::DataType;
    let bits_per_row: u64 = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Boolean => 1,
            DataType::Utf8 | DataType::Binary => 32,
            DataType::LargeUtf8 | DataType::LargeBinary => 64,
            t => t.primitive_width().map_or(0, |w| w as u64 * 8),
        })
        .sum();
    rows.saturating_mul(bits_per_row) / 8
}

pub fn read(path: &Path, read: &Reading) -> Result<Imported, TableError> {
    super::contained(DAMAGED, || read_unguarded(path, read))
}

fn read_unguarded(path: &Path, read: &Reading) -> Result<Imported, TableError> {
    let &Reading {
        total_bytes,
        progress,
        cancel,
        budget,
        ..
    } = read;
    let builder = open(path)?;
    let total_rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
    let schema = builder.schema().clone();
    // A few bytes of run-length encoding can stand for billions of rows: what the row groups
    // say they hold must fit the table's memory before a single one is decoded, or a small
    // file keeps the import decoding for minutes only to be stopped at the limit.
    let rows_claimed = builder.metadata().row_groups().iter().fold(0u64, |sum, g| {
        sum.saturating_add(g.num_rows().max(0) as u64)
    });
    budget.fits(least_bytes(&schema, rows_claimed))?;
    let parquet_schema = builder.parquet_schema().clone();
    drop(builder);
    // Columns are decoded in parallel, one group of columns per thread. Every thread reads the
    // same row groups with the same batch size, so their batches line up row for row.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(schema.fields().len())
        .max(1);
    let groups: Vec<Vec<usize>> = (0..threads)
        .map(|t| (t..schema.fields().len()).step_by(threads).collect())
        .collect();
    let rows_done = AtomicU64::new(0);
    let parts: Vec<Result<Vec<RecordBatch>, TableError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = groups
            .iter()
            .enumerate()
            .map(|(t, columns)| {
                let (parquet_schema, rows_done) = (&parquet_schema, &rows_done);
                scope.spawn(move || -> Result<Vec<RecordBatch>, TableError> {
                    let mask = ProjectionMask::roots(parquet_schema, columns.iter().copied());
                    let reader = open(path)?
                        .with_projection(mask)
                        .with_batch_size(BATCH_ROWS)
                        .build()
                        .map_err(not_parquet)?;
                    let mut batches = Vec::new();
                    for batch in reader {
                        if cancel.is_cancelled() {
                            return Err(TableError::Cancelled);
                        }
                        let batch = batch.map_err(|e| TableError::Import {
                            line: None,
                            message: format!("the Parquet file is damaged: {e}"),
                        })?;
                        if t == 0 {
                            // One thread speaks for all: they advance together.
                            let rows = rows_done
                                .fetch_add(batch.num_rows() as u64, Ordering::Relaxed)
                                + batch.num_rows() as u64;
                            let bytes = (total_bytes * rows)
                                .checked_div(total_rows)
                                .unwrap_or(total_bytes);
                            progress(ImportProgress {
                                rows,
                                bytes,
                                total_bytes,
                            });
                        }
                        budget.charge(&batch)?;
                        batches.push(batch);
                    }
                    Ok(batches)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(TableError::Persist("a Parquet reader thread failed".into()))
                })
            })
            .collect()
    });
    let parts: Vec<Vec<RecordBatch>> = parts.into_iter().collect::<Result<_, _>>()?;
    let count = parts.first().map_or(0, Vec::len);
    let mut batches = Vec::with_capacity(count);
    for i in 0..count {
        let mut columns: Vec<Option<ArrayRef>> = vec![None; schema.fields().len()];
        for (group, part) in groups.iter().zip(&parts) {
            let batch = part.get(i).ok_or_else(|| {
                TableError::Persist("Parquet readers disagreed on the row count".into())
            })?;
            for (slot, column) in group.iter().zip(batch.columns()) {
                columns[*slot] = Some(column.clone());
            }
        }
        let columns: Vec<ArrayRef> = columns
            .into_iter()
            .map(|c| c.expect("every column is read by one thread"))
            .collect();
        batches.push(RecordBatch::try_new(schema.clone(), columns)?);
    }
    let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
    Ok(Imported::complete(
        schema,
        batches,
        rows,
        (Vec::new(), 0),
        total_bytes,
        progress,
    ))
}

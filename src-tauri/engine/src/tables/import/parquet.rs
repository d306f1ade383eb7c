//! Parquet: the schema and row count come from the footer; batches stream row group by row group.

use std::fs::File;
use std::path::Path;

use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::errors::ParquetError;
use tokio_util::sync::CancellationToken;

use super::{
    preview_rows, ColumnSpec, ColumnType, ImportFormat, ImportPreview, ImportProgress, Imported,
    BATCH_ROWS,
};
use crate::tables::TableError;

fn not_parquet(e: ParquetError) -> TableError {
    TableError::Import {
        line: None,
        message: format!("this is not a Parquet file, or it is damaged or cut short ({e})"),
    }
}

fn open(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>, TableError> {
    let file = File::open(path).map_err(|e| TableError::file(path, e))?;
    ParquetRecordBatchReaderBuilder::try_new(file).map_err(not_parquet)
}

pub fn preview(path: &Path, file_bytes: u64) -> Result<ImportPreview, TableError> {
    let builder = open(path)?;
    let columns = builder
        .schema()
        .fields()
        .iter()
        .map(|f| ColumnSpec {
            name: f.name().clone(),
            kind: ColumnType::of(f.data_type()),
        })
        .collect();
    let mut reader = builder
        .with_batch_size(super::PREVIEW_ROWS)
        .with_limit(super::PREVIEW_ROWS)
        .build()
        .map_err(not_parquet)?;
    let batches: Vec<_> = reader.next().transpose()?.into_iter().collect();
    Ok(ImportPreview {
        format: ImportFormat::Parquet,
        csv: None,
        columns,
        rows: preview_rows(&batches),
        file_bytes,
    })
}

pub fn read(
    path: &Path,
    total_bytes: u64,
    progress: &dyn Fn(ImportProgress),
    cancel: &CancellationToken,
) -> Result<Imported, TableError> {
    let builder = open(path)?;
    let total_rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
    let schema = builder.schema().clone();
    let reader = builder
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(not_parquet)?;
    let mut batches = Vec::new();
    let mut rows = 0u64;
    for batch in reader {
        if cancel.is_cancelled() {
            return Err(TableError::Cancelled);
        }
        let batch = batch.map_err(|e| TableError::Import {
            line: None,
            message: format!("the Parquet file is damaged: {e}"),
        })?;
        rows += batch.num_rows() as u64;
        batches.push(batch);
        // Bytes in proportion to rows: Parquet is read by column chunk, not front to back.
        let bytes = (total_bytes * rows)
            .checked_div(total_rows)
            .unwrap_or(total_bytes);
        progress(ImportProgress {
            rows,
            bytes,
            total_bytes,
        });
    }
    progress(ImportProgress {
        rows,
        bytes: total_bytes,
        total_bytes,
    });
    Ok(Imported {
        schema,
        batches,
        skipped: Vec::new(),
        skipped_total: 0,
    })
}

//! One generation file: `<table>.<gen>.parquet`, written through `<table>.<gen>.parquet.tmp`
//! in the same folder (encode, fsync, rename, fsync the folder) and read back.
//!
//! Columns of a row group are encoded in parallel on the persistence pool (rayon), then
//! appended to the file in order; a row group is the unit of progress and of cancellation. The
//! table's row ids travel in the file as a last column, so a restored or reopened table keeps
//! the ids its diffs and edits speak of.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, RecordBatchReader, UInt64Array};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnChunk, ArrowRowGroupWriterFactory,
};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, Encoding, ZstdLevel};
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::KeyValue;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::ColumnPath;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::faults::Faults;
use super::SnapshotError;
use crate::durable;
use crate::metrics::Metrics;
use crate::tables::table::{page_schema, TableVersion, ROW_ID_COLUMN};

/// Suffix of a generation being written; the startup sweep removes these.
pub const TEMP_SUFFIX: &str = ".parquet.tmp";

/// Parquet key-value metadata naming the table version a generation file holds.
pub const VERSION_KEY: &str = "quire.version";
/// The first row id the table had not handed out when the copy was written: ids of rows
/// deleted since (the highest ones too) are never given to a new row after a reload, so a
/// diff by id never mistakes a new row for an old one changed.
const NEXT_ROW_ID_KEY: &str = "quire.next_row_id";

/// Rows per Parquet row group: the unit of parallel encoding, progress and cancellation. Small
/// enough that two row groups' encoded columns stay a small part of a large table's memory
/// (the `snapshots` bench measures the peak), large enough to keep both cores busy.
pub const ROW_GROUP_ROWS: usize = 64 * 1024;

/// The codec of snapshot files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Codec {
    /// zstd level 1: small files, fast enough to write in the background.
    #[default]
    Zstd,
    Snappy,
    Uncompressed,
}

impl Codec {
    fn compression(self) -> Compression {
        match self {
            Codec::Zstd => Compression::ZSTD(ZstdLevel::default()),
            Codec::Snappy => Compression::SNAPPY,
            Codec::Uncompressed => Compression::UNCOMPRESSED,
        }
    }
}

pub fn file_name(table: &str, generation: u64) -> String {
    format!("{table}.{generation}.parquet")
}

/// `(table, generation)` of a generation file's name, if it is one.
pub fn parse_file_name(name: &str) -> Option<(&str, u64)> {
    let stem = name.strip_suffix(".parquet")?;
    let (table, generation) = stem.rsplit_once('.')?;
    Some((table, generation.parse().ok()?))
}

/// What a written generation holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub rows: u64,
    pub bytes: u64,
}

/// Rows and bytes written so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteProgress {
    pub rows: u64,
    pub total_rows: u64,
    pub bytes: u64,
}

/// A file that counts what passes through it and fails where the test seam says.
struct Counted<'a> {
    inner: BufWriter<&'a File>,
    bytes: u64,
    faults: &'a Faults,
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.faults.before_write(self.bytes, buf.len())?;
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Removes the temp file unless the write got as far as renaming it.
/// Writes `version` as generation `generation` of `table` in `dir`. On any error or cancel the
/// temp file is removed and nothing else in `dir` changed; the caller writes again from memory
/// (a failed fsync is never retried on the same file).
#[allow(clippy::too_many_arguments)]
pub fn write(
    dir: &Path,
    table: &str,
    generation: u64,
    version: &TableVersion,
    codec: Codec,
    faults: &Faults,
    metrics: &Metrics,
    progress: &(dyn Fn(WriteProgress) + Sync),
    cancel: &CancellationToken,
) -> Result<Written, SnapshotError> {
    let target = dir.join(file_name(table, generation));
    let temp = format!("{table}.{generation}{TEMP_SUFFIX}");
    let io = |action: &'static str| {
        let path = target.clone();
        move |source: std::io::Error| SnapshotError::Io {
            action,
            path,
            source,
        }
    };
    let mut file = durable::AtomicFile::create_named(&target, &temp).map_err(io("create"))?;

    let schema: SchemaRef = Arc::new(page_schema(&version.schema));
    let row_ids = ColumnPath::from(ROW_ID_COLUMN);
    let mut props = WriterProperties::builder()
        // The table version this generation holds: a manifest rebuilt from the files after a
        // loss needs it, so the journal replays onto the right base.
        .set_key_value_metadata(Some(vec![
            KeyValue::new(VERSION_KEY.to_string(), version.version.to_string()),
            KeyValue::new(NEXT_ROW_ID_KEY.to_string(), version.next_row_id.to_string()),
        ]))
        .set_compression(codec.compression())
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        // Min/max per column chunk, as pyarrow writes by default; page-level statistics and
        // the page index cost time on every save and only help selective scans, which a
        // snapshot (always read whole) never does.
        .set_statistics_enabled(EnabledStatistics::Chunk)
        // Row ids are nearly sequential: deltas store them in a few bits, where a dictionary
        // of unique values would be built only to be abandoned.
        .set_column_dictionary_enabled(row_ids.clone(), false)
        .set_column_encoding(row_ids, Encoding::DELTA_BINARY_PACKED);
    for column in mostly_unique_columns(version) {
        props = props.set_column_dictionary_enabled(ColumnPath::from(column), false);
    }
    let props = props.build();
    let counted = Counted {
        inner: BufWriter::with_capacity(1 << 20, file.file()),
        bytes: 0,
        faults,
    };
    let (mut writer, factory) = ArrowWriter::try_new(counted, schema.clone(), Some(props))
        .and_then(|w| w.into_serialized_writer())
        .map_err(|e| SnapshotError::encode(&target, e))?;

    let total_rows = version.rows as u64;
    let mut rows = 0u64;
    // Each row group's columns are encoded as tasks on the pool while the row group before is
    // appended to the file, so the file writes overlap the encoding. A wider window (several
    // row groups encoded at once) was measured: no faster on two cores, and every open column
    // writer holds its own buffers and compressor, which pushed peak memory past 25 % of the
    // table. Memory stays at about two row groups of encoded columns.
    let groups: Vec<Vec<RecordBatch>> = row_groups(version).collect();
    let window = 1;
    let encode_err = |e| SnapshotError::encode(&target, e);
    let mut encoded: Vec<Encoded> = Vec::new();
    let mut next_index = 0;
    for batch_of_groups in groups.chunks(window).map(Some).chain([None]) {
        faults.before_row_group();
        if cancel.is_cancelled() {
            return Err(SnapshotError::Cancelled);
        }
        let previous = std::mem::take(&mut encoded);
        let first_index = next_index;
        next_index += batch_of_groups.map_or(0, <[_]>::len);
        let (fresh, appended) = rayon::join(
            || match batch_of_groups {
                Some(groups) => encode_window(&schema, &factory, first_index, groups),
                None => Ok(Vec::new()),
            },
            || -> Result<(), SnapshotError> {
                for group in previous {
                    let mut row_group = writer.next_row_group().map_err(encode_err)?;
                    for chunk in group.chunks {
                        chunk
                            .append_to_row_group(&mut row_group)
                            .map_err(encode_err)?;
                    }
                    row_group.close().map_err(encode_err)?;
                    rows += group.rows;
                    progress(WriteProgress {
                        rows,
                        total_rows,
                        bytes: writer.bytes_written() as u64,
                    });
                }
                Ok(())
            },
        );
        appended?;
        encoded = fresh.map_err(encode_err)?;
    }
    let mut counted = writer
        .into_inner()
        .map_err(|e| SnapshotError::encode(&target, e))?;
    counted.flush().map_err(io("write"))?;
    drop(counted);

    faults.before_fsync().map_err(io("sync"))?;
    // A commit error already names the step and the file.
    let bytes = file
        .sync(metrics)
        .map_err(|e| SnapshotError::Write(e.into()))?;
    faults.before_rename().map_err(io("rename"))?;
    file.place().map_err(|e| SnapshotError::Write(e.into()))?;
    metrics.record_write(bytes);
    Ok(Written { rows, bytes })
}

/// Flat columns whose first values are mostly distinct. A dictionary for them would be built
/// value by value and abandoned once it outgrows its page, so they are written without one;
/// a sample of a few thousand values decides, at a cost of microseconds.
fn mostly_unique_columns(version: &TableVersion) -> Vec<String> {
    const SAMPLE: usize = 4096;
    let Some(first) = version.batches.first() else {
        return Vec::new();
    };
    let n = first.num_rows().min(SAMPLE);
    if n < 256 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (field, column) in version.schema.fields().iter().zip(first.columns()) {
        if field.data_type().is_nested() {
            continue;
        }
        let Ok(rows) = datafusion::arrow::row::RowConverter::new(vec![
            datafusion::arrow::row::SortField::new(field.data_type().clone()),
        ])
        .and_then(|c| c.convert_columns(&[column.slice(0, n)])) else {
            continue;
        };
        let distinct: std::collections::HashSet<_> = rows.iter().collect();
        if distinct.len() * 2 > n {
            out.push(field.name().clone());
        }
    }
    out
}

/// The version's batches (with their row ids as a last column) cut into row groups of about
/// [`ROW_GROUP_ROWS`] rows. Slices share the batches' buffers: nothing is copied.
fn row_groups(version: &TableVersion) -> impl Iterator<Item = Vec<RecordBatch>> + '_ {
    let schema = Arc::new(page_schema(&version.schema));
    let mut pieces = version
        .batches
        .iter()
        .zip(version.row_ids.iter())
        .flat_map(move |(batch, ids)| {
            let schema = schema.clone();
            let n = batch.num_rows();
            (0..n).step_by(ROW_GROUP_ROWS).map(move |start| {
                let len = ROW_GROUP_ROWS.min(n - start);
                let mut columns: Vec<ArrayRef> = batch.slice(start, len).columns().to_vec();
                columns.push(Arc::new(ids.slice(start, len)) as ArrayRef);
                RecordBatch::try_new(schema.clone(), columns)
                    .expect("a table's batches match its schema")
            })
        })
        .peekable();
    std::iter::from_fn(move || {
        let mut group = Vec::new();
        let mut rows = 0;
        while let Some(next) = pieces.peek() {
            if rows > 0 && rows + next.num_rows() > ROW_GROUP_ROWS {
                break;
            }
            rows += next.num_rows();
            group.push(pieces.next()?);
        }
        (!group.is_empty()).then_some(group)
    })
}

/// One row group's encoded column chunks, in column order, ready to append.
struct Encoded {
    rows: u64,
    chunks: Vec<ArrowColumnChunk>,
}

/// Encodes several row groups at once: every (row group, column) pair is a task on the pool.
fn encode_window(
    schema: &Schema,
    factory: &ArrowRowGroupWriterFactory,
    first_index: usize,
    groups: &[Vec<RecordBatch>],
) -> datafusion::parquet::errors::Result<Vec<Encoded>> {
    let mut tasks = Vec::new();
    for (offset, group) in groups.iter().enumerate() {
        let writers = factory.create_column_writers(first_index + offset)?;
        // Leaves of every field, in the writers' order (a nested field has several leaves).
        let mut leaves: Vec<Vec<_>> = (0..writers.len()).map(|_| Vec::new()).collect();
        for batch in group {
            let mut slot = 0;
            for (field, column) in schema.fields().iter().zip(batch.columns()) {
                for leaf in compute_leaves(field, column)? {
                    leaves[slot].push(leaf);
                    slot += 1;
                }
            }
        }
        tasks.extend(writers.into_iter().zip(leaves).map(move |w| (offset, w)));
    }
    let mut chunks: Vec<(usize, ArrowColumnChunk)> = tasks
        .into_par_iter()
        .map(|(offset, (mut writer, leaves))| {
            for leaf in &leaves {
                writer.write(leaf)?;
            }
            Ok((offset, writer.close()?))
        })
        .collect::<datafusion::parquet::errors::Result<_>>()?;
    // collect() keeps the order of the tasks: row group by row group, column by column.
    let mut out: Vec<Encoded> = groups
        .iter()
        .map(|g| Encoded {
            rows: g.iter().map(|b| b.num_rows() as u64).sum(),
            chunks: Vec::new(),
        })
        .collect();
    for (offset, chunk) in chunks.drain(..) {
        out[offset].chunks.push(chunk);
    }
    Ok(out)
}

/// The disk's own error when decoding stopped because a read failed (EIO), not because the
/// bytes were wrong.
pub(super) fn failed_read(e: ParquetError) -> Result<std::io::Error, ParquetError> {
    use std::io::ErrorKind::{InvalidData, UnexpectedEof};
    match e {
        ParquetError::External(inner) => match inner.downcast::<std::io::Error>() {
            // Only the operating system's own errors: a codec (zstd, lz4) reports bad bytes as
            // io errors too, and those are damage.
            Ok(io)
                if io.raw_os_error().is_some()
                    && !matches!(io.kind(), InvalidData | UnexpectedEof) =>
            {
                Ok(*io)
            }
            Ok(io) => Err(ParquetError::External(io)),
            Err(inner) => Err(ParquetError::External(inner)),
        },
        other => Err(other),
    }
}

/// Reads a generation file back as a table version: its row ids come from the file's id
/// column, or are numbered afresh if the file has none.
pub fn read(path: &Path, version: u64) -> Result<TableVersion, SnapshotError> {
    let fail = |e: &dyn std::fmt::Display| SnapshotError::Unreadable {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    // A file the disk will not read is not a damaged file: the caller must not replace it.
    let io = |source: std::io::Error| SnapshotError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    };
    // A missing file is one no copy can come from: the caller opens an older one.
    let mut file = crate::durable::trace::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => fail(&e),
        _ => io(e),
    })?;
    crate::tables::footer_guard::check_open_file(&mut file).map_err(|problem| match problem {
        crate::tables::footer_guard::Problem::Io(e) if e.raw_os_error().is_some() => io(e),
        crate::tables::footer_guard::Problem::Io(e) => fail(&e),
        crate::tables::footer_guard::Problem::Footer(why) => fail(&why),
    })?;
    // arrow-ipc panics on some malformed `ARROW:schema` metadata (found by fuzzing the
    // importer); a generation file from elsewhere is user data, so that is a damaged file.
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
        // A flipped bit in a page header can claim billions of values, which the parquet crate
        // allocates or skips through before decoding one: such a copy is damaged.
        crate::tables::footer_guard::check_pages(path, builder.metadata()).map_err(|problem| {
            match problem {
                crate::tables::footer_guard::Problem::Io(e) => ParquetError::External(Box::new(e)),
                why => ParquetError::General(why.to_string()),
            }
        })?;
        let handed_out = builder
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|k| k.key == NEXT_ROW_ID_KEY))
            .and_then(|k| k.value.as_deref()?.parse::<u64>().ok())
            .unwrap_or(0);
        let reader = builder
            .with_batch_size(crate::tables::import::BATCH_ROWS)
            .build()?;
        let schema = reader.schema();
        Ok::<_, datafusion::parquet::errors::ParquetError>((
            schema,
            reader.collect::<Result<Vec<_>, _>>()?,
            handed_out,
        ))
    }));
    let (file_schema, batches, handed_out) = match read {
        Ok(read) => read.map_err(|e| match failed_read(e) {
            Ok(source) => io(source),
            Err(e) => fail(&e),
        })?,
        Err(_) => return Err(fail(&"its metadata is damaged")),
    };
    let Some(id_index) = file_schema
        .fields()
        .iter()
        .position(|f| f.name() == ROW_ID_COLUMN)
    else {
        let mut t = TableVersion::first(file_schema, batches);
        t.version = version;
        return Ok(t);
    };
    let mut fields: Vec<_> = file_schema.fields().iter().cloned().collect();
    fields.remove(id_index);
    let schema = Arc::new(Schema::new_with_metadata(
        fields,
        file_schema.metadata().clone(),
    ));
    let mut data = Vec::with_capacity(batches.len());
    let mut ids = Vec::with_capacity(batches.len());
    let mut next_row_id = handed_out;
    for batch in batches {
        let id_column = batch
            .column(id_index)
            .as_any()
            .downcast_ref::<UInt64Array>()
            .ok_or_else(|| fail(&"its row id column is not UInt64"))?
            .clone();
        if id_column.null_count() > 0 {
            return Err(fail(&"its row id column has nulls"));
        }
        if let Some(max) = datafusion::arrow::compute::max(&id_column) {
            next_row_id = next_row_id.max(max + 1);
        }
        let mut columns = batch.columns().to_vec();
        columns.remove(id_index);
        data.push(RecordBatch::try_new(schema.clone(), columns).map_err(|e| fail(&e))?);
        ids.push(Arc::new(id_column));
    }
    let rows = data.iter().map(RecordBatch::num_rows).sum();
    Ok(TableVersion {
        version,
        schema,
        batches: data.into(),
        row_ids: ids.into(),
        rows,
        next_row_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::table::tests::numbers;

    #[test]
    fn round_trips_rows_and_ids_across_row_groups() {
        let dir = tempfile::tempdir().unwrap();
        let t = numbers(300_000, 50_000);
        let metrics = Metrics::default();
        let seen = std::sync::Mutex::new(Vec::new());
        let w = write(
            dir.path(),
            "numbers",
            7,
            &t,
            Codec::Zstd,
            &Faults::default(),
            &metrics,
            &|p| seen.lock().unwrap().push(p.rows),
            &CancellationToken::new(),
        )
        .unwrap();
        assert_eq!(w.rows, 300_000);
        // Row groups never split a batch and never exceed ROW_GROUP_ROWS (64 Ki): one batch each.
        assert_eq!(
            *seen.lock().unwrap(),
            [50_000, 100_000, 150_000, 200_000, 250_000, 300_000]
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["numbers.7.parquet"]);
        let back = read(&dir.path().join("numbers.7.parquet"), 3).unwrap();
        assert_eq!(
            (back.rows, back.version, back.next_row_id),
            (300_000, 3, 300_000)
        );
        assert_eq!(back.schema, t.schema);
        assert_eq!(back.page(123_456, 3).unwrap(), t.page(123_456, 3).unwrap());
        assert_eq!(metrics.snapshot().fsyncs, 1);
    }

    #[test]
    fn names_parse_back() {
        assert_eq!(parse_file_name("trips.12.parquet"), Some(("trips", 12)));
        assert_eq!(parse_file_name("trips.parquet"), None);
        assert_eq!(parse_file_name("trips.x.parquet"), None);
        assert_eq!(parse_file_name("a.b.3.parquet"), Some(("a.b", 3)));
    }
}

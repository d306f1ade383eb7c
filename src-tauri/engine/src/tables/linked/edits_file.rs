//! A linked table's edits on disk: a small Parquet file in the notebook's `edits/` folder,
//! named by `links.json`, that holds every edited cell (row position, column, value as typed),
//! the deleted rows (a roaring bitmap of their positions) and the version it is. Saving the edits writes only them, however large the linked files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BinaryArray, RecordBatch, StringArray, UInt64Array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;

use super::edits::Edits;
use crate::tables::edit::CellEdit;
use crate::tables::{footer_guard, TableError};

/// The folder of a notebook's folder that holds linked tables' edits.
pub const EDITS_DIR: &str = "edits";

/// Footer key holding the edits' version.
const VERSION_KEY: &str = "quire.linked_edits.version";

/// Footer key holding how many rows were added after the files' rows (absent: none, as files
/// written before rows could be added say).
const ADDED_KEY: &str = "quire.linked_edits.added";

/// Footer key saying the edits of date-time columns were typed as Quire shows them, in UTC.
/// Absent in files saved before a link showed a zoned column in UTC: those edits were typed in
/// the zone the file writes, and are read in it (see `LinkedTable::file_zones`).
const IN_UTC_KEY: &str = "quire.linked_edits.zoned_in_utc";

/// A new file name for `table`'s edits at `version`, in the notebook's `edits/` folder. Each
/// save gets its own name, so a save never replaces the file `links.json` names (a compaction
/// saves other edits at the same version).
pub fn new_name(table: &str, version: u64) -> String {
    let tag = uuid::Uuid::now_v7().simple().to_string();
    format!("{table}.v{version}.{}.parquet", &tag[tag.len() - 8..])
}

/// Whether a file name in `edits/` is one Quire writes.
pub fn is_edits_name(name: &str) -> bool {
    name.ends_with(".parquet") && name.contains(".v") && !name.contains(['/', '\\']) && name != ".."
}

/// Where the edits file `name` (as `links.json` names it) lies in the notebook folder `dir`:
/// only ever inside its `edits/` folder.
pub fn path_in(dir: &Path, name: &str) -> Result<PathBuf, TableError> {
    if !is_edits_name(name) {
        return Err(TableError::Persist(format!(
            "links.json names the edits file {name:?}, which is not a name Quire writes"
        )));
    }
    Ok(dir.join(EDITS_DIR).join(name))
}

/// The file's columns: a cell per row (`row`, `column`, `value`); with deletes, a `deleted`
/// column too, set in one row of its own (no column) to the deleted rows' roaring bitmap
/// (portable serialization), so a filter that deletes 50M rows saves a few MB, not a row each.
/// Without deletes the file is what builds before deletes wrote (`column` never null), which
/// they read.
fn file_schema(deletes: bool) -> SchemaRef {
    let mut fields = vec![
        Field::new("row", DataType::UInt64, false),
        Field::new("column", DataType::Utf8, deletes),
        Field::new("value", DataType::Utf8, true),
    ];
    if deletes {
        fields.push(Field::new("deleted", DataType::Binary, true));
    }
    Arc::new(Schema::new(fields))
}

/// `edits` of a table with columns `schema` as the bytes of a Parquet file.
pub fn encode(edits: &Edits, schema: &Schema) -> Result<Vec<u8>, TableError> {
    encode_as(edits, schema, true)
}

/// [`encode`]; `in_utc` false writes a file as Quire wrote them before zoned date-times of a
/// link were shown in UTC (for the test of reading those).
fn encode_as(edits: &Edits, schema: &Schema, in_utc: bool) -> Result<Vec<u8>, TableError> {
    let deletes = edits.deleted_count() > 0;
    let mut rows = Vec::with_capacity(edits.len() + 1);
    let mut columns = Vec::with_capacity(edits.len() + 1);
    let mut values = Vec::with_capacity(edits.len() + 1);
    for (row, col, cell) in edits.cells() {
        rows.push(row);
        columns.push(Some(schema.field(col).name().clone()));
        values.push(cell.typed.clone());
    }
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(4);
    let mut bitmap = Vec::new();
    if deletes {
        edits
            .deleted_bitmap()
            .serialize_into(&mut bitmap)
            .map_err(|e| TableError::Persist(format!("could not write the edits: {e}")))?;
        rows.push(0);
        columns.push(None);
        values.push(None);
    }
    arrays.push(Arc::new(UInt64Array::from(rows)));
    arrays.push(Arc::new(StringArray::from(columns)));
    arrays.push(Arc::new(StringArray::from(values)));
    if deletes {
        let mut deleted: Vec<Option<&[u8]>> = vec![None; edits.len()];
        deleted.push(Some(&bitmap));
        arrays.push(Arc::new(BinaryArray::from(deleted)));
    }
    let file_schema = file_schema(deletes);
    let batch = RecordBatch::try_new(file_schema.clone(), arrays)?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_key_value_metadata(Some(
            [(VERSION_KEY, edits.version)]
                .into_iter()
                .chain(in_utc.then_some((IN_UTC_KEY, 1)))
                .chain((edits.added() > 0).then_some((ADDED_KEY, edits.added())))
                .map(|(key, value)| {
                    datafusion::parquet::file::metadata::KeyValue::new(
                        key.to_string(),
                        value.to_string(),
                    )
                })
                .collect(),
        ))
        .build();
    let mut bytes = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut bytes, file_schema, Some(properties))
        .map_err(|e| TableError::Persist(format!("could not write the edits: {e}")))?;
    writer
        .write(&batch)
        .and_then(|()| writer.close().map(|_| ()))
        .map_err(|e| TableError::Persist(format!("could not write the edits: {e}")))?;
    Ok(bytes)
}

/// The edits in the file at `path`, checked against the table they were made on (its columns
/// `schema` and its `rows`; `file_zones`, the zones its files write date-times in).
pub fn read(
    path: &Path,
    schema: &SchemaRef,
    rows: u64,
    file_zones: &HashMap<String, Arc<str>>,
) -> Result<Edits, TableError> {
    let damaged = |why: String| TableError::File {
        path: path.display().to_string(),
        message: format!("the saved edits of the linked table are damaged ({why})"),
    };
    footer_guard::check_file(path).map_err(&damaged)?;
    let file = crate::durable::trace::open(path).map_err(|e| TableError::file(path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| damaged(e.to_string()))?;
    let footer = |key: &str| {
        builder
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|k| k.key == key))
            .map(|k| k.value.as_deref().and_then(|v| v.parse::<u64>().ok()))
    };
    let version = footer(VERSION_KEY)
        .flatten()
        .ok_or_else(|| damaged("it does not say which version it is".into()))?;
    let added = match footer(ADDED_KEY) {
        None => 0,
        Some(Some(n)) => n,
        Some(None) => return Err(damaged("it does not say how many rows were added".into())),
    };
    let typed_in_file_zone = footer(IN_UTC_KEY).is_none();
    let fields = builder.schema().fields().clone();
    let expected = file_schema(fields.len() == 4);
    let same = |a: &Field, b: &Field| a.name() == b.name() && a.data_type() == b.data_type();
    if fields.len() != expected.fields().len()
        || !fields
            .iter()
            .zip(expected.fields())
            .all(|(a, b)| same(a, b))
    {
        return Err(damaged("its columns are not row, column, value".into()));
    }
    let mut cells = Vec::new();
    let mut deleted = roaring::RoaringTreemap::new();
    for batch in builder.build().map_err(|e| damaged(e.to_string()))? {
        let batch = batch.map_err(|e| damaged(e.to_string()))?;
        let (Some(row), Some(column), Some(value)) = (
            batch.column(0).as_any().downcast_ref::<UInt64Array>(),
            batch.column(1).as_any().downcast_ref::<StringArray>(),
            batch.column(2).as_any().downcast_ref::<StringArray>(),
        ) else {
            return Err(damaged("its columns have other types".into()));
        };
        let bitmaps = batch
            .columns()
            .get(3)
            .and_then(|c| c.as_any().downcast_ref::<BinaryArray>());
        for i in 0..batch.num_rows() {
            if column.is_null(i) {
                match bitmaps.filter(|b| b.is_valid(i)) {
                    Some(b) => {
                        let more = roaring::RoaringTreemap::deserialize_from(b.value(i))
                            .map_err(|e| damaged(format!("its deleted rows do not read: {e}")))?;
                        deleted |= more;
                    }
                    None => return Err(damaged("a row names no column".into())),
                }
                continue;
            }
            let typed = (!value.is_null(i)).then(|| value.value(i));
            let zone = file_zones
                .get(column.value(i))
                .filter(|_| typed_in_file_zone);
            cells.push(CellEdit {
                row_id: row.value(i),
                column: column.value(i).to_string(),
                value: typed.map(|text| match zone {
                    Some(zone) => in_utc(text, zone),
                    None => text.to_string(),
                }),
            });
        }
    }
    // Added rows first (cells may be theirs), then cells: a deleted row's cells were edited
    // before it was deleted (undo brings them back), and an edit of a deleted row is refused.
    let edits = Edits::linked()
        .with_saved_rows_added(rows, added)
        .and_then(|e| e.with(schema, rows, &cells))
        .and_then(|e| e.without(rows, deleted))
        .map_err(|e| damaged(format!("an edit does not fit the linked files: {e}")))?;
    Ok(edits.at_version(version))
}

/// A date-time typed in `zone` (`2026-01-31 14:05` in Berlin, or with its own offset) as the
/// same instant written in UTC; as typed when it reads as no date-time (the edit then says
/// why, as it did).
fn in_utc(text: &str, zone: &str) -> String {
    use datafusion::arrow::array::{Array, TimestampNanosecondArray};
    use datafusion::arrow::datatypes::{DataType, TimeUnit};
    let zoned = DataType::Timestamp(TimeUnit::Nanosecond, Some(zone.into()));
    let read = datafusion::arrow::compute::cast(&StringArray::from(vec![text]), &zoned);
    let instant = read.ok().and_then(|a| {
        let a = a.as_any().downcast_ref::<TimestampNanosecondArray>()?;
        (!a.is_null(0)).then(|| a.value(0))
    });
    match instant {
        Some(ns) => chrono::DateTime::from_timestamp_nanos(ns)
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_read_back_as_written_and_a_damaged_file_says_so() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("s", DataType::Utf8, true),
        ]));
        let edits = Edits::linked()
            .with(
                &schema,
                1_000,
                &[
                    CellEdit {
                        row_id: 999,
                        column: "n".into(),
                        value: Some(" 42 ".into()),
                    },
                    CellEdit {
                        row_id: 3,
                        column: "s".into(),
                        value: None,
                    },
                ],
            )
            .unwrap()
            .without_rows(1_000, &[3, 500])
            .unwrap()
            .at_version(17);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.v17.parquet");
        std::fs::write(&path, encode(&edits, &schema).unwrap()).unwrap();
        let back = read(&path, &schema, 1_000, &HashMap::new()).unwrap();
        assert_eq!(back.version, 17);
        let cells: Vec<(u64, usize, Option<String>)> = back
            .cells()
            .map(|(r, c, cell)| (r, c, cell.typed.clone()))
            .collect();
        assert_eq!(cells, [(3, 1, None), (999, 0, Some(" 42 ".into()))]);
        assert_eq!(back.deleted_bitmap().iter().collect::<Vec<_>>(), [3, 500]);
        // Without deletes: the three columns builds before deletes read (`column` never null).
        let cells_only = Edits::linked()
            .with(
                &schema,
                1_000,
                &[CellEdit {
                    row_id: 1,
                    column: "n".into(),
                    value: Some("5".into()),
                }],
            )
            .unwrap();
        let plain = dir.path().join("t.v2.parquet");
        std::fs::write(&plain, encode(&cells_only, &schema).unwrap()).unwrap();
        let written =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&plain).unwrap())
                .unwrap()
                .schema()
                .clone();
        assert_eq!(written.fields().len(), 3);
        assert!(!written.field(1).is_nullable());
        assert_eq!(
            read(&plain, &schema, 1_000, &HashMap::new()).unwrap().len(),
            1
        );
        // Fewer rows than the edits name: the files changed under them.
        assert!(read(&path, &schema, 500, &HashMap::new()).is_err());
        // Added rows: their count and their cells come back, and files from before rows
        // could be added read as none added.
        let grown = edits
            .with_rows_added(1_000, 1_000, 3)
            .unwrap()
            .with(
                &schema,
                1_000,
                &[CellEdit {
                    row_id: 1_002,
                    column: "s".into(),
                    value: Some("new".into()),
                }],
            )
            .unwrap()
            .without_rows(1_000, &[1_001])
            .unwrap();
        let added = dir.path().join("t.v20.parquet");
        std::fs::write(&added, encode(&grown, &schema).unwrap()).unwrap();
        let back = read(&added, &schema, 1_000, &HashMap::new()).unwrap();
        assert_eq!(back.added(), 3);
        assert_eq!(back.visible_rows(1_000), 1_000 + 3 - 3);
        assert!(back.is_deleted(1_001));
        assert_eq!(
            back.cells().last().map(|(r, c, _)| (r, c)),
            Some((1_002, 1))
        );
        assert_eq!(
            read(&path, &schema, 1_000, &HashMap::new())
                .unwrap()
                .added(),
            0
        );
        // Cut short, as a file written without its end.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 40]).unwrap();
        let err = read(&path, &schema, 1_000, &HashMap::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("damaged"), "{err}");
    }

    #[test]
    fn date_times_saved_before_a_link_showed_them_in_utc_keep_their_instants() {
        // A link of a Berlin column showed it in Berlin's zone, and an edit typed there
        // ("2026-01-31 14:05:00") meant 13:05 UTC. The link now shows the column in UTC: read
        // as typed, that edit would move an hour.
        use datafusion::arrow::array::TimestampMicrosecondArray;
        use datafusion::arrow::datatypes::TimeUnit;
        let schema: SchemaRef = Arc::new(Schema::new(vec![Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        )]));
        let zones: HashMap<String, Arc<str>> =
            [("ts".to_string(), Arc::from("Europe/Berlin"))].into();
        let typed = |row_id: u64, text: &str| CellEdit {
            row_id,
            column: "ts".into(),
            value: Some(text.into()),
        };
        let edits = Edits::linked().with(
            &schema,
            10,
            &[
                typed(1, "2026-01-31 14:05:00"),
                typed(2, "2026-07-01 12:00:00+00:00"),
                typed(3, "not a date"),
            ],
        );
        // A text that is no date-time is refused as an edit: none is ever saved.
        assert!(edits.is_err());
        let edits = Edits::linked()
            .with(
                &schema,
                10,
                &[
                    typed(1, "2026-01-31 14:05:00"),
                    typed(2, "2026-07-01 12:00:00+00:00"),
                ],
            )
            .unwrap();
        let micros = |e: &Edits| -> Vec<i64> {
            e.cells()
                .map(|(_, _, cell)| {
                    cell.value
                        .as_any()
                        .downcast_ref::<TimestampMicrosecondArray>()
                        .unwrap()
                        .value(0)
                })
                .collect()
        };
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.parquet");
        std::fs::write(&old, encode_as(&edits, &schema, false).unwrap()).unwrap();
        let back = read(&old, &schema, 10, &zones).unwrap();
        // 13:05 UTC (Berlin is UTC+1 in January); an offset typed with the value is kept.
        assert_eq!(
            micros(&back),
            [1_769_864_700_000_000, 1_782_907_200_000_000]
        );
        // Saved now, the same text reads in UTC, the zone the column is shown in.
        let new = dir.path().join("new.parquet");
        std::fs::write(&new, encode(&edits, &schema).unwrap()).unwrap();
        let back = read(&new, &schema, 10, &zones).unwrap();
        assert_eq!(
            micros(&back),
            [1_769_868_300_000_000, 1_782_907_200_000_000]
        );
    }
}

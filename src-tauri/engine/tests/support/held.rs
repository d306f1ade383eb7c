//! The held dataset and query set that Quire's answers elsewhere (a bucket, a Ballista
//! cluster) are compared on: 6 columns (ints, floats with nulls, strings with nulls, a
//! boolean) in parts of consecutive ids, and five queries (a whole-table aggregate, a group
//! by, a selective string filter, a filtered group by, a top-k).

use std::sync::Arc;

use quire_engine::datafusion::arrow::array::{
    BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use quire_engine::datafusion::arrow::datatypes::{DataType, Field, Schema};
use quire_engine::datafusion::parquet::arrow::ArrowWriter;
use quire_engine::datafusion::parquet::file::properties::WriterProperties;

/// Rows per row group of a part.
pub const GROUP: usize = 50_000;

/// `{t}` is the table's name.
pub const QUERIES: [&str; 5] = [
    "SELECT count(*), sum(amount), min(id), max(id) FROM {t}",
    "SELECT category, count(*) AS n, round(avg(value), 6) AS v FROM {t} GROUP BY category",
    "SELECT id, note FROM {t} WHERE note LIKE '%row 00001%' ORDER BY id",
    "SELECT flag, count(*) FROM {t} WHERE value > 50 GROUP BY flag",
    "SELECT id, value FROM {t} ORDER BY value DESC NULLS LAST, id LIMIT 20",
];

pub fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("value", DataType::Float64, true),
        Field::new("category", DataType::Utf8, false),
        Field::new("note", DataType::Utf8, true),
        Field::new("amount", DataType::Int64, false),
        Field::new("flag", DataType::Boolean, false),
    ]))
}

/// Part `part` of the dataset as Parquet bytes: ids `[part * per, (part + 1) * per)`.
pub fn part_bytes(part: usize, per: usize) -> Result<Vec<u8>, String> {
    let ids: Vec<i64> = (part * per..(part + 1) * per).map(|i| i as i64).collect();
    let batch = RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Int64Array::from(ids.clone())),
            Arc::new(Float64Array::from_iter(ids.iter().map(|i| {
                (i % 13 != 0).then(|| (*i as f64 * 0.37).sin() * 100.0)
            }))),
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("c{}", i % 20)),
            )),
            Arc::new(StringArray::from_iter(ids.iter().map(|i| {
                (i % 7 != 0).then(|| format!("note {} for row {i:09}", (i * 7919) % 100_003))
            }))),
            Arc::new(Int64Array::from_iter_values(
                ids.iter().map(|i| (i * 31) % 10_007),
            )),
            Arc::new(BooleanArray::from_iter(
                ids.iter().map(|i| Some(i % 3 == 0)),
            )),
        ],
    )
    .map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(GROUP))
        .build();
    let mut writer =
        ArrowWriter::try_new(&mut bytes, schema(), Some(props)).map_err(|e| e.to_string())?;
    writer.write(&batch).map_err(|e| e.to_string())?;
    writer.close().map_err(|e| e.to_string())?;
    Ok(bytes)
}

//! A table and its versions. A version is an immutable list of Arrow record batches plus the
//! stable row ids of their rows; a new version shares every batch it did not change (the
//! batches are reference-counted), so versions are cheap.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, UInt64Array};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use serde::Serialize;

use super::TableError;

/// The hidden column that carries row ids in pages sent to the grid.
pub const ROW_ID_COLUMN: &str = "__quire_row_id";

/// One immutable version of a table.
#[derive(Debug, Clone)]
pub struct TableVersion {
    pub version: u64,
    pub schema: SchemaRef,
    pub batches: Arc<[RecordBatch]>,
    /// `row_ids[i]` holds the ids of `batches[i]`'s rows.
    pub row_ids: Arc<[Arc<UInt64Array>]>,
    pub rows: usize,
    /// Row ids below this were handed out; new rows get ids from here.
    pub next_row_id: u64,
}

/// A column's name and type, as the UI shows them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, specta::Type)]
pub struct ColumnInfo {
    pub name: String,
    pub data_type: String,
}

/// What the UI shows of a table.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, specta::Type)]
pub struct TableInfo {
    pub name: String,
    pub version: u64,
    pub rows: u64,
    pub columns: Vec<ColumnInfo>,
    /// Bytes of Arrow memory the current version holds.
    pub memory_bytes: u64,
    /// The file or folder a linked table reads where it lies; None for a table the notebook
    /// holds.
    pub linked: Option<String>,
    /// The linked files are a conversion Quire made in the notebook's folder (deleting the
    /// table deletes them), not the user's own.
    pub converted: bool,
    /// For a conversion or a copy in the notebook's folder: the user's file, folder or address
    /// its rows came from (that file is never written). None when not known.
    pub origin: Option<String>,
    /// Why a linked table cannot be read (its files moved or a drive is not plugged in): it
    /// is listed so it can be removed, and reads nothing.
    pub missing: Option<String>,
}

impl TableVersion {
    /// The first version of a table: rows get ids 0, 1, 2, ... in file order.
    pub fn first(schema: SchemaRef, batches: Vec<RecordBatch>) -> TableVersion {
        let mut next = 0u64;
        let row_ids: Vec<Arc<UInt64Array>> = batches
            .iter()
            .map(|b| {
                let ids = UInt64Array::from_iter_values(next..next + b.num_rows() as u64);
                next += b.num_rows() as u64;
                Arc::new(ids)
            })
            .collect();
        TableVersion {
            version: 1,
            schema,
            rows: next as usize,
            batches: batches.into(),
            row_ids: row_ids.into(),
            next_row_id: next,
        }
    }

    pub fn memory_bytes(&self) -> u64 {
        let data: usize = self
            .batches
            .iter()
            .map(RecordBatch::get_array_memory_size)
            .sum();
        let ids: usize = self.row_ids.iter().map(|a| a.get_array_memory_size()).sum();
        (data + ids) as u64
    }

    pub fn info(&self, name: &str) -> TableInfo {
        TableInfo {
            name: name.to_string(),
            version: self.version,
            rows: self.rows as u64,
            columns: columns_of(&self.schema),
            memory_bytes: self.memory_bytes(),
            linked: None,
            converted: false,
            origin: None,
            missing: None,
        }
    }

    /// Where the row with this id is: (batch, row in batch). Rows are in increasing id order
    /// (an invariant of every operation that makes a version), so this is two binary searches
    /// (empty batches, which have no first id, are skipped).
    pub fn locate(&self, id: u64) -> Option<(usize, usize)> {
        let starts: Vec<(u64, usize)> = self
            .row_ids
            .iter()
            .enumerate()
            .filter_map(|(b, ids)| ids.values().first().map(|first| (*first, b)))
            .collect();
        let k = starts
            .partition_point(|(first, _)| *first <= id)
            .checked_sub(1)?;
        let batch = starts[k].1;
        let row = self.row_ids[batch].values().binary_search(&id).ok()?;
        Some((batch, row))
    }

    /// Rows `[offset, offset + limit)` in table order, with their row ids as a last column.
    /// Paging by position over the version's own batches is exact: no query engine can
    /// reorder it.
    pub fn page(&self, offset: usize, limit: usize) -> Result<RecordBatch, TableError> {
        let schema = Arc::new(page_schema(&self.schema));
        let end = offset.saturating_add(limit).min(self.rows);
        let mut parts = Vec::new();
        let mut start_of_batch = 0usize;
        for (batch, ids) in self.batches.iter().zip(self.row_ids.iter()) {
            let n = batch.num_rows();
            let (lo, hi) = (offset.max(start_of_batch), end.min(start_of_batch + n));
            if lo < hi {
                let (from, len) = (lo - start_of_batch, hi - lo);
                let mut columns: Vec<ArrayRef> = batch.slice(from, len).columns().to_vec();
                columns.push(Arc::new(ids.slice(from, len)));
                parts.push(RecordBatch::try_new(schema.clone(), columns)?);
            }
            start_of_batch += n;
            if start_of_batch >= end {
                break;
            }
        }
        Ok(concat_batches(&schema, &parts)?)
    }
}

/// A schema's columns as the UI shows them.
pub fn columns_of(schema: &Schema) -> Vec<ColumnInfo> {
    schema
        .fields()
        .iter()
        .map(|f| ColumnInfo {
            name: f.name().clone(),
            data_type: f.data_type().to_string(),
        })
        .collect()
}

/// The table's schema plus the row id column.
pub fn page_schema(schema: &Schema) -> Schema {
    let mut fields: Vec<Arc<Field>> = schema.fields().iter().cloned().collect();
    fields.push(Arc::new(Field::new(ROW_ID_COLUMN, DataType::UInt64, false)));
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

#[cfg(test)]
pub(crate) mod tests {
    use datafusion::arrow::array::Int64Array;

    use super::*;

    /// A table of `rows` rows in batches of `batch` rows, value = row number.
    pub fn numbers(rows: i64, batch: i64) -> TableVersion {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let batches = (0..rows)
            .step_by(batch as usize)
            .map(|start| {
                let end = (start + batch).min(rows);
                RecordBatch::try_new(
                    schema.clone(),
                    vec![Arc::new(Int64Array::from_iter_values(start..end))],
                )
                .unwrap()
            })
            .collect();
        TableVersion::first(schema, batches)
    }

    fn values(b: &RecordBatch) -> Vec<i64> {
        b.column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .values()
            .to_vec()
    }

    #[test]
    fn pages_are_exact_at_the_start_middle_and_end() {
        let t = numbers(10_007, 1000); // 11 batches, the last one short
        assert_eq!(values(&t.page(0, 5).unwrap()), [0, 1, 2, 3, 4]);
        assert_eq!(
            values(&t.page(998, 5).unwrap()),
            [998, 999, 1000, 1001, 1002],
            "across a batch edge"
        );
        let last = t.page(10_000, 100).unwrap();
        assert_eq!(values(&last), (10_000..10_007).collect::<Vec<_>>());
        assert!(t.page(20_000, 10).unwrap().num_rows() == 0);
        let ids = last
            .column(1)
            .as_any()
            .downcast_ref::<UInt64Array>()
            .unwrap();
        assert_eq!(ids.value(0), 10_000);
        assert_eq!(last.schema().field(1).name(), ROW_ID_COLUMN);
    }

    #[test]
    fn info_reports_shape_and_memory() {
        let t = numbers(100, 10);
        let info = t.info("numbers");
        assert_eq!((info.rows, info.version), (100, 1));
        assert_eq!(info.columns[0].name, "n");
        assert!(info.memory_bytes >= 100 * 8);
    }
}

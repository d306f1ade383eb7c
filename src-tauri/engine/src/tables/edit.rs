//! Cell edits: values typed into the grid, checked against their column's type and applied as
//! a new table version that shares every batch it did not touch.

use std::collections::{BTreeMap, HashMap};

use std::sync::Arc;

use datafusion::arrow::array::{
    new_null_array, Array, ArrayRef, BooleanArray, RecordBatch, StringArray, UInt64Array,
};
use datafusion::arrow::compute::{
    cast_with_options, concat, filter, filter_record_batch, interleave, CastOptions,
};
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::arrow::util::display::FormatOptions;
use serde::{Deserialize, Serialize};

use super::table::TableVersion;
use super::TableError;

/// One cell set to a value (as typed) or to null. Serialisable, so the task store can journal
/// it and replay it after a crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct CellEdit {
    pub row_id: u64,
    pub column: String,
    /// `None` sets the cell to null; an empty string does too in a non-text column.
    pub value: Option<String>,
}

/// The value as the column's type: a one-element array, or a message a user understands.
pub(crate) fn convert(
    data_type: &DataType,
    nullable: bool,
    edit: &CellEdit,
) -> Result<ArrayRef, TableError> {
    let text_column = matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    );
    let value = match &edit.value {
        Some(v) if !text_column && v.trim().is_empty() => None,
        Some(v) if !text_column => Some(v.trim().to_string()),
        other => other.clone(),
    };
    let invalid = |why: String| TableError::InvalidValue {
        column: edit.column.clone(),
        message: why,
    };
    if value.is_none() && !nullable {
        return Err(invalid(format!("column {} cannot be empty", edit.column)));
    }
    // `2013-01-01 06:00`, as people type a time: arrow reads a date-time only with its seconds.
    let typed = match (&value, data_type) {
        (Some(v), DataType::Timestamp(..)) => to_the_second(v).or_else(|| value.clone()),
        _ => value.clone(),
    };
    let input = StringArray::from(vec![typed]);
    let strict = CastOptions {
        safe: false,
        format_options: FormatOptions::default(),
    };
    cast_with_options(&input, data_type, &strict).map_err(|_| {
        invalid(format!(
            "{:?} is not {} (column {})",
            value.unwrap_or_default(),
            describe_type(data_type),
            edit.column
        ))
    })
}

/// A date and a time to the minute (`2013-01-01 06:00`, `2013-01-01T6:00`) with its seconds
/// (`2013-01-01 06:00:00`); None for anything else.
fn to_the_second(v: &str) -> Option<String> {
    let (day, time) = v.split_once([' ', 'T'])?;
    let (hours, minutes) = time.split_once(':')?;
    let digits = |s: &str, n: std::ops::RangeInclusive<usize>| {
        n.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    (day.len() == 10 && digits(hours, 1..=2) && digits(minutes, 2..=2))
        .then(|| format!("{day} {hours:0>2}:{minutes}:00"))
}

/// The most rows one step adds: a grid adds a few at a time, and each is held in memory.
pub const MAX_ADDED_ROWS: u64 = 10_000;

/// Appends `rows` empty rows (every cell NULL) to `version` with the ids
/// `first_id..first_id + rows`: the result is version + 1, sharing every array. Refused when an
/// id may already have been handed out (below `next_row_id`).
pub fn add_rows(
    version: &TableVersion,
    first_id: u64,
    rows: u64,
) -> Result<TableVersion, TableError> {
    let refused = |message: String| TableError::InvalidValue {
        column: String::new(),
        message,
    };
    if rows == 0 || rows > MAX_ADDED_ROWS {
        return Err(refused(format!(
            "rows are added 1 to {MAX_ADDED_ROWS} at a time, not {rows}"
        )));
    }
    if first_id < version.next_row_id {
        return Err(refused(format!(
            "row {first_id} may already have been a row of this table; new rows start at {}",
            version.next_row_id
        )));
    }
    let end = first_id
        .checked_add(rows)
        .ok_or_else(|| refused("the table has no row ids left".into()))?;
    // A new row starts empty: columns that said "never empty" (a query's result often does)
    // now may be, and the batches say so too (the same arrays, no copy).
    let schema = Arc::new(Schema::new_with_metadata(
        version
            .schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect::<Vec<_>>(),
        version.schema.metadata().clone(),
    ));
    let mut batches = if schema == version.schema {
        version.batches.to_vec()
    } else {
        version
            .batches
            .iter()
            .map(|b| b.clone().with_schema(schema.clone()))
            .collect::<Result<Vec<_>, _>>()?
    };
    let columns = schema
        .fields()
        .iter()
        .map(|f| new_null_array(f.data_type(), rows as usize))
        .collect();
    batches.push(RecordBatch::try_new(schema.clone(), columns)?);
    let mut row_ids = version.row_ids.to_vec();
    row_ids.push(Arc::new(UInt64Array::from_iter_values(first_id..end)));
    Ok(TableVersion {
        version: version.version + 1,
        schema,
        batches: batches.into(),
        row_ids: row_ids.into(),
        rows: version.rows + rows as usize,
        next_row_id: end,
    })
}

/// Removes the rows `ids` from `version`: the result is version + 1, sharing every batch that
/// loses no row. Refused (nothing changes) when an id is not a row of the table.
pub fn delete_rows(version: &TableVersion, ids: &[u64]) -> Result<TableVersion, TableError> {
    let wanted: std::collections::HashSet<u64> = ids.iter().copied().collect();
    let mut found = 0usize;
    let mut batches = Vec::with_capacity(version.batches.len());
    let mut row_ids = Vec::with_capacity(version.batches.len());
    for (batch, batch_ids) in version.batches.iter().zip(version.row_ids.iter()) {
        let keep = BooleanArray::from_iter(
            batch_ids
                .values()
                .iter()
                .map(|id| Some(!wanted.contains(id))),
        );
        let gone = batch.num_rows() - keep.true_count();
        found += gone;
        if gone == 0 {
            batches.push(batch.clone());
            row_ids.push(batch_ids.clone());
        } else if gone < batch.num_rows() {
            batches.push(filter_record_batch(batch, &keep)?);
            let kept = filter(batch_ids.as_ref(), &keep)?;
            let kept = kept
                .as_any()
                .downcast_ref::<UInt64Array>()
                .expect("row ids are UInt64")
                .clone();
            row_ids.push(Arc::new(kept));
        }
    }
    if found < wanted.len() {
        let present: std::collections::HashSet<u64> = version
            .row_ids
            .iter()
            .flat_map(|ids| ids.values().iter().copied())
            .filter(|id| wanted.contains(id))
            .collect();
        let mut missing: Vec<u64> = wanted.difference(&present).copied().collect();
        missing.sort_unstable();
        return Err(TableError::InvalidValue {
            column: String::new(),
            message: format!("row {} no longer exists in this table", missing[0]),
        });
    }
    let rows = batches.iter().map(RecordBatch::num_rows).sum();
    Ok(TableVersion {
        version: version.version + 1,
        schema: version.schema.clone(),
        batches: batches.into(),
        row_ids: row_ids.into(),
        rows,
        next_row_id: version.next_row_id,
    })
}

/// A column type in the words the grid's header uses.
pub fn describe_type(t: &DataType) -> &'static str {
    match t {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => "a whole number",
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            "a whole number of 0 or more"
        }
        DataType::Float16 | DataType::Float32 | DataType::Float64 | DataType::Decimal128(..) => {
            "a number"
        }
        DataType::Boolean => "true or false",
        DataType::Date32 | DataType::Date64 => "a date like 2026-01-31",
        DataType::Timestamp(..) => "a date and time like 2026-01-31 14:05:00",
        DataType::Time32(_) | DataType::Time64(_) => "a time of day like 14:05:00",
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "text",
        _ => "a value of this column's type",
    }
}

/// Applies `edits` to `version`: the result is version + 1, sharing every batch no edit
/// touched. Nothing changes if any edit is refused.
pub fn apply(version: &TableVersion, edits: &[CellEdit]) -> Result<TableVersion, TableError> {
    let schema = version.schema.clone();
    let mut wanted: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut converted = Vec::with_capacity(edits.len());
    for (i, edit) in edits.iter().enumerate() {
        let (col, field) =
            schema
                .column_with_name(&edit.column)
                .ok_or_else(|| TableError::InvalidValue {
                    column: edit.column.clone(),
                    message: format!("the table has no column {:?}", edit.column),
                })?;
        converted.push((col, convert(field.data_type(), field.is_nullable(), edit)?));
        wanted.entry(edit.row_id).or_default().push(i);
    }

    // (batch, column) -> [(row in batch, edit)], the last edit of a cell winning.
    let mut touched: BTreeMap<(usize, usize), BTreeMap<usize, usize>> = BTreeMap::new();
    for (id, list) in &wanted {
        let (b, row) = version
            .locate(*id)
            .ok_or_else(|| TableError::InvalidValue {
                column: String::new(),
                message: format!("row {id} no longer exists in this table"),
            })?;
        for &e in list {
            touched
                .entry((b, converted[e].0))
                .or_default()
                .insert(row, e);
        }
    }

    let mut batches: Vec<RecordBatch> = version.batches.to_vec();
    let mut columns_by_batch: BTreeMap<usize, Vec<ArrayRef>> = BTreeMap::new();
    for ((b, col), rows) in touched {
        let columns = columns_by_batch
            .entry(b)
            .or_insert_with(|| batches[b].columns().to_vec());
        let values: Vec<&dyn Array> = rows.values().map(|&e| converted[e].1.as_ref()).collect();
        let values = concat(&values)?;
        let mut indices: Vec<(usize, usize)> = (0..columns[col].len()).map(|i| (0, i)).collect();
        for (k, row) in rows.keys().enumerate() {
            indices[*row] = (1, k);
        }
        columns[col] = interleave(&[columns[col].as_ref(), values.as_ref()], &indices)?;
    }
    for (b, columns) in columns_by_batch {
        batches[b] = RecordBatch::try_new(schema.clone(), columns)?;
    }
    Ok(TableVersion {
        version: version.version + 1,
        schema,
        batches: batches.into(),
        row_ids: Arc::clone(&version.row_ids),
        rows: version.rows,
        next_row_id: version.next_row_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::table::tests::numbers;
    use crate::{ErrorCode, HasCode};
    use datafusion::arrow::array::Int64Array;

    fn edit(row_id: u64, value: &str) -> CellEdit {
        CellEdit {
            row_id,
            column: "n".into(),
            value: Some(value.into()),
        }
    }

    /// A date-time typed to the minute, as people type one, is that minute (arrow refused it
    /// without seconds); a time that is not one is still refused.
    #[test]
    fn a_date_time_typed_to_the_minute_is_read() {
        use datafusion::arrow::datatypes::{TimeUnit, TimestampMicrosecondType};
        let ts = DataType::Timestamp(TimeUnit::Microsecond, None);
        let at = |v: &str| {
            let edit = CellEdit {
                row_id: 0,
                column: "at".into(),
                value: Some(v.into()),
            };
            convert(&ts, true, &edit).map(|a| {
                datafusion::arrow::array::AsArray::as_primitive::<TimestampMicrosecondType>(&a)
                    .value(0)
            })
        };
        let six = 1_357_020_000_000_000; // 2013-01-01 06:00:00
        assert_eq!(at("2013-01-01 06:00").unwrap(), six);
        assert_eq!(at("2013-01-01T6:00").unwrap(), six);
        assert_eq!(at("2013-01-01 06:00:00").unwrap(), six);
        assert!(at("2013-01-01 6").is_err());
        assert!(at("2013-01-01 06:61").is_err());
    }

    #[test]
    fn deleted_rows_are_gone_and_untouched_batches_shared() {
        let t = numbers(10_000, 1000);
        let next = delete_rows(&t, &[1500, 1502, 9999]).unwrap();
        assert_eq!(next.version, t.version + 1);
        assert_eq!(next.rows, 9_997);
        let page = next.page(1499, 3).unwrap();
        let values = page
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(values.values(), &[1499, 1501, 1503]);
        assert!(Arc::ptr_eq(&next.row_ids[0], &t.row_ids[0]));
        // An id that is not a row refuses the whole delete.
        let err = delete_rows(&next, &[7, 1500]).unwrap_err();
        assert!(err.to_string().contains("row 1500"), "{err}");
        assert_eq!(err.code(), ErrorCode::InvalidValue);
        // Every row of a batch: the batch goes.
        let ids: Vec<u64> = (0..1000).collect();
        assert_eq!(delete_rows(&t, &ids).unwrap().batches.len(), 9);
    }

    #[test]
    fn edits_share_untouched_batches_and_refuse_bad_values() {
        let t = numbers(10_000, 1000);
        let next = apply(&t, &[edit(1500, " 42 "), edit(1501, "-7")]).unwrap();
        assert_eq!(next.version, t.version + 1);
        let page = next.page(1500, 2).unwrap();
        let values = page
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(values.values(), &[42, -7]);
        for b in [0, 2, 9] {
            assert!(
                next.batches[b]
                    .column(0)
                    .to_data()
                    .ptr_eq(&t.batches[b].column(0).to_data()),
                "batch {b} is shared, not copied"
            );
        }
        assert_eq!(
            t.page(1500, 1)
                .unwrap()
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .value(0),
            1500,
            "the old version is unchanged"
        );

        let err = apply(&t, &[edit(3, "12"), edit(4, "twelve")]).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidValue);
        assert!(
            err.to_string().contains("\"twelve\" is not a whole number"),
            "{err}"
        );
        let err = apply(&t, &[edit(3, "")]).unwrap_err();
        assert!(err.to_string().contains("cannot be empty"), "{err}");
        let err = apply(&t, &[edit(99_999, "1")]).unwrap_err();
        assert!(err.to_string().contains("no longer exists"), "{err}");
    }
}

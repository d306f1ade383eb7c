//! Diffs between two versions of a table, as sets of row ids: added, removed, and changed with
//! the changed columns of each row, held as roaring bitmaps.
//!
//! Rows of a table are always in increasing row-id order (imports number rows in order; edits,
//! transforms and restores never reorder them; sorting is a view), so a diff is a merge of two
//! sorted sequences. Batches the two versions share (the same arrays, by pointer) are skipped
//! without reading a value, so a diff costs time in proportion to what changed, not to the
//! table's size; within a batch, a column whose array is shared is skipped too.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    make_comparator, Array, ArrayRef, RecordBatch, UInt32Array, UInt64Array,
};
use datafusion::arrow::compute::kernels::cmp::distinct;
use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::compute::{cast, take};
use datafusion::arrow::datatypes::DataType;
use roaring::RoaringTreemap;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::table::TableVersion;
use super::TableError;

/// What changed from one version to another.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableDiff {
    pub added: RoaringTreemap,
    pub removed: RoaringTreemap,
    /// Rows present in both whose value changed in at least one common column.
    pub changed: RoaringTreemap,
    /// Per common column (by name), the rows whose value in it changed.
    pub by_column: BTreeMap<String, RoaringTreemap>,
    pub columns_added: Vec<String>,
    pub columns_removed: Vec<String>,
    /// Common columns whose type changed: name, old type, new type.
    pub columns_retyped: Vec<(String, String, String)>,
    /// Batch pairs skipped because the versions share them.
    pub shared_batches: u64,
}

/// The counts the UI shows above a diff.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct DiffSummary {
    pub from_version: u64,
    pub to_version: u64,
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    /// Changed rows per column, for columns with any change.
    pub changed_by_column: Vec<(String, u64)>,
    pub columns_added: Vec<String>,
    pub columns_removed: Vec<String>,
    /// Columns whose type changed (a text column made dates, which may read the same):
    /// name, old type, new type, as Arrow names them.
    pub columns_retyped: Vec<(String, String, String)>,
}

impl TableDiff {
    /// Whether the two versions hold the same columns, of the same types, and the same values.
    pub fn changes_nothing(&self) -> bool {
        self.is_empty()
            && self.columns_added.is_empty()
            && self.columns_removed.is_empty()
            && self.columns_retyped.is_empty()
    }

    pub fn summary(&self, from_version: u64, to_version: u64) -> DiffSummary {
        DiffSummary {
            from_version,
            to_version,
            added: self.added.len(),
            removed: self.removed.len(),
            changed: self.changed.len(),
            changed_by_column: self
                .by_column
                .iter()
                .filter(|(_, rows)| !rows.is_empty())
                .map(|(c, rows)| (c.clone(), rows.len()))
                .collect(),
            columns_added: self.columns_added.clone(),
            columns_removed: self.columns_removed.clone(),
            columns_retyped: self.columns_retyped.clone(),
        }
    }

    /// Every row id in the diff, in order, with its kind.
    pub fn len(&self) -> u64 {
        self.added.len() + self.removed.len() + self.changed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row ids `[offset, offset + limit)` of all rows in the diff, in row-id order.
    pub fn page_ids(&self, offset: u64, limit: u64) -> Vec<(u64, DiffKind)> {
        let all = &(&self.added | &self.removed) | &self.changed;
        all.iter()
            .skip(offset as usize)
            .take(limit as usize)
            .map(|id| {
                let kind = if self.added.contains(id) {
                    DiffKind::Added
                } else if self.removed.contains(id) {
                    DiffKind::Removed
                } else {
                    DiffKind::Changed
                };
                (id, kind)
            })
            .collect()
    }

    /// The common columns whose value changed in `row`.
    pub fn changed_columns(&self, row: u64) -> Vec<String> {
        self.by_column
            .iter()
            .filter(|(_, rows)| rows.contains(row))
            .map(|(c, _)| c.clone())
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    Added,
    Removed,
    Changed,
}

/// A batch with its row ids, cut down to rows `[start, end)`.
struct Cursor<'a> {
    version: &'a TableVersion,
    batch: usize,
    row: usize,
}

impl Cursor<'_> {
    fn done(&self) -> bool {
        self.batch >= self.version.batches.len()
    }

    fn ids(&self) -> &UInt64Array {
        &self.version.row_ids[self.batch]
    }

    fn remaining(&self) -> usize {
        self.version.batches[self.batch].num_rows() - self.row
    }

    fn advance(&mut self, n: usize) {
        self.row += n;
        while !self.done() && self.row >= self.version.batches[self.batch].num_rows() {
            self.batch += 1;
            self.row = 0;
        }
    }
}

fn same_array(a: &ArrayRef, b: &ArrayRef) -> bool {
    Arc::ptr_eq(a, b) || a.to_data().ptr_eq(&b.to_data())
}

/// The columns of `old` that `new` holds with another type: name, old type, new type.
pub fn retyped_columns(
    old: &datafusion::arrow::datatypes::Schema,
    new: &datafusion::arrow::datatypes::Schema,
) -> Vec<(String, String, String)> {
    old.fields()
        .iter()
        .filter_map(|f| {
            let to = new.field_with_name(f.name()).ok()?.data_type();
            (to != f.data_type())
                .then(|| (f.name().clone(), f.data_type().to_string(), to.to_string()))
        })
        .collect()
}

/// Computes the diff from `old` to `new`. Checks `cancel` between batches.
pub fn diff(
    old: &TableVersion,
    new: &TableVersion,
    cancel: &CancellationToken,
) -> Result<TableDiff, TableError> {
    let mut out = TableDiff {
        columns_retyped: retyped_columns(&old.schema, &new.schema),
        ..TableDiff::default()
    };
    // Common columns by name: (index in old, index in new, same type).
    let mut common = Vec::new();
    for (i, f) in old.schema.fields().iter().enumerate() {
        match new.schema.index_of(f.name()) {
            Ok(j) => {
                let same_type = f.data_type() == new.schema.field(j).data_type();
                common.push((f.name().clone(), i, j, same_type));
                out.by_column
                    .insert(f.name().clone(), RoaringTreemap::new());
            }
            Err(_) => out.columns_removed.push(f.name().clone()),
        }
    }
    for f in new.schema.fields() {
        if old.schema.index_of(f.name()).is_err() {
            out.columns_added.push(f.name().clone());
        }
    }
    let schema_same = old.schema == new.schema;

    let mut a = Cursor {
        version: old,
        batch: 0,
        row: 0,
    };
    let mut b = Cursor {
        version: new,
        batch: 0,
        row: 0,
    };
    a.advance(0);
    b.advance(0);
    while !a.done() || !b.done() {
        if cancel.is_cancelled() {
            return Err(TableError::Cancelled);
        }
        if a.done() {
            out.added.extend(b.ids().values()[b.row..].iter().copied());
            b.advance(b.remaining());
            continue;
        }
        if b.done() {
            out.removed
                .extend(a.ids().values()[a.row..].iter().copied());
            a.advance(a.remaining());
            continue;
        }
        // The fast path: both cursors at the start of the very same batch.
        if schema_same
            && a.row == 0
            && b.row == 0
            && Arc::ptr_eq(&old.row_ids[a.batch], &new.row_ids[b.batch])
            && old.batches[a.batch]
                .columns()
                .iter()
                .zip(new.batches[b.batch].columns())
                .all(|(x, y)| same_array(x, y))
        {
            out.shared_batches += 1;
            a.advance(a.remaining());
            b.advance(b.remaining());
            continue;
        }
        compare_run(&mut a, &mut b, &common, &mut out)?;
    }
    out.changed = out
        .by_column
        .values()
        .fold(RoaringTreemap::new(), |acc, rows| acc | rows);
    Ok(out)
}

/// Merges the rest of the two current batches by row id (up to the end of whichever batch
/// ends first), comparing the values of matching rows column by column.
fn compare_run(
    a: &mut Cursor<'_>,
    b: &mut Cursor<'_>,
    common: &[(String, usize, usize, bool)],
    out: &mut TableDiff,
) -> Result<(), TableError> {
    let (ids_a, ids_b) = (a.ids().values(), b.ids().values());
    let (mut i, mut j) = (a.row, b.row);
    let (end_a, end_b) = (ids_a.len(), ids_b.len());
    let mut take_a: Vec<u32> = Vec::new();
    let mut take_b: Vec<u32> = Vec::new();
    let mut matched: Vec<u64> = Vec::new();
    while i < end_a && j < end_b {
        match ids_a[i].cmp(&ids_b[j]) {
            std::cmp::Ordering::Equal => {
                take_a.push(i as u32);
                take_b.push(j as u32);
                matched.push(ids_a[i]);
                i += 1;
                j += 1;
            }
            std::cmp::Ordering::Less => {
                out.removed.insert(ids_a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.added.insert(ids_b[j]);
                j += 1;
            }
        }
    }
    let batch_a = &a.version.batches[a.batch];
    let batch_b = &b.version.batches[b.batch];
    // Rows at the same positions in both batches: compare slices without gathering.
    let aligned = take_a.first().zip(take_b.first()).is_some_and(|(x, y)| {
        take_a.len() as u32 == take_a.last().unwrap() - x + 1
            && take_b.len() as u32 == take_b.last().unwrap() - y + 1
    });
    if !matched.is_empty() {
        let idx_a = UInt32Array::from(take_a);
        let idx_b = UInt32Array::from(take_b);
        let ids_shared =
            Arc::ptr_eq(&a.version.row_ids[a.batch], &b.version.row_ids[b.batch]) && a.row == b.row;
        for (name, ia, ib, same_type) in common {
            let (col_a, col_b) = (batch_a.column(*ia), batch_b.column(*ib));
            if ids_shared && same_array(col_a, col_b) {
                continue; // the whole column of this batch is shared
            }
            let rows = out
                .by_column
                .get_mut(name)
                .expect("every common column has a set");
            let (x, y) = if aligned {
                let (sa, sb) = (idx_a.value(0) as usize, idx_b.value(0) as usize);
                (
                    col_a.slice(sa, matched.len()),
                    col_b.slice(sb, matched.len()),
                )
            } else {
                (take(col_a, &idx_a, None)?, take(col_b, &idx_b, None)?)
            };
            // A changed type changes a value unless each reads as the other in the other's
            // type: `11 → 11.0` is the same number; `11.9 → 11` is not (11.9 read as a whole
            // number is 11, but 11 is not 11.9), nor `' 11' → 11`.
            let differs = if *same_type {
                differing(&x, &y)?
            } else if !alike(x.data_type(), y.data_type()) {
                // 19580329 → +55579-02-14 (days since 1970), 1 → true: each reads back as
                // the other, yet means something else. Every value there changes.
                (0..x.len())
                    .map(|k| Some(x.is_valid(k) || y.is_valid(k)))
                    .collect()
            } else {
                match (cast(&x, y.data_type()), cast(&y, x.data_type())) {
                    (Ok(x_as_new), Ok(y_as_old)) => {
                        let (there, back) = (differing(&x_as_new, &y)?, differing(&x, &y_as_old)?);
                        there
                            .iter()
                            .zip(back.iter())
                            .map(|(t, b)| Some(t == Some(true) || b == Some(true)))
                            .collect()
                    }
                    _ => {
                        rows.extend(matched.iter().copied());
                        continue;
                    }
                }
            };
            for (k, d) in differs.iter().enumerate() {
                if d == Some(true) {
                    rows.insert(matched[k]);
                }
            }
        }
    }
    a.advance(i - a.row);
    b.advance(j - b.row);
    Ok(())
}

/// Whether a value of type `a` and one of type `b` can be the same value: two numbers, two
/// dates or date-times, or text and anything (`"11"` and 11). A whole number and a date, or a
/// number and true or false, never are.
fn alike(a: &DataType, b: &DataType) -> bool {
    let text =
        |t: &DataType| matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
    let when = |t: &DataType| {
        matches!(
            t,
            DataType::Date32 | DataType::Date64 | DataType::Timestamp(..)
        )
    };
    text(a) || text(b) || (a.is_numeric() && b.is_numeric()) || (when(a) && when(b))
}

/// Which rows of `x` and `y` (same type, same length) hold different values. Arrow's
/// `distinct` takes flat values only; lists and structs are compared value by value, missing
/// equal to missing.
fn differing(
    x: &ArrayRef,
    y: &ArrayRef,
) -> Result<datafusion::arrow::array::BooleanArray, TableError> {
    if !x.data_type().is_nested() {
        return Ok(distinct(x, y)?);
    }
    let cmp = make_comparator(x.as_ref(), y.as_ref(), SortOptions::default())?;
    Ok((0..x.len()).map(|i| Some(cmp(i, i).is_ne())).collect())
}

/// The position of each row id in a version (rows are in increasing id order), for fetching
/// the rows of a diff page.
pub fn positions(version: &TableVersion, ids: &[u64]) -> Vec<Option<usize>> {
    let mut offsets = Vec::with_capacity(version.row_ids.len());
    let mut offset = 0usize;
    for batch_ids in version.row_ids.iter() {
        offsets.push(offset);
        offset += batch_ids.len();
    }
    ids.iter()
        .map(|id| version.locate(*id).map(|(batch, row)| offsets[batch] + row))
        .collect()
}

/// Rows at the given positions (None: absent), as display strings per column.
pub fn display_rows(
    version: &TableVersion,
    at: &[Option<usize>],
) -> Result<Vec<Option<Vec<Option<String>>>>, TableError> {
    let mut out = Vec::with_capacity(at.len());
    for p in at {
        let Some(p) = p else {
            out.push(None);
            continue;
        };
        let row: RecordBatch = version.page(*p, 1)?;
        let mut values = Vec::with_capacity(version.schema.fields().len());
        for c in 0..version.schema.fields().len() {
            let col = row.column(c);
            if col.is_null(0) {
                values.push(None);
            } else {
                let f = crate::tables::cell_text::CellText::try_new(col.as_ref())?;
                values.push(Some(f.value(0)));
            }
        }
        out.push(Some(values));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::edit::{apply, CellEdit};
    use crate::tables::table::tests::numbers;

    #[test]
    fn an_edit_diffs_as_one_changed_row_and_skips_shared_batches() {
        let t = numbers(100_000, 1000);
        let e = apply(
            &t,
            &[CellEdit {
                row_id: 54_321,
                column: "n".into(),
                value: Some("-1".into()),
            }],
        )
        .unwrap();
        let d = diff(&t, &e, &CancellationToken::new()).unwrap();
        assert_eq!(d.changed.iter().collect::<Vec<_>>(), [54_321]);
        assert!(d.added.is_empty() && d.removed.is_empty());
        assert_eq!(d.shared_batches, 99, "only the edited batch was read");
        assert_eq!(d.changed_columns(54_321), ["n"]);
        assert!(diff(&e, &e, &CancellationToken::new()).unwrap().is_empty());
        assert_eq!(
            positions(&e, &[0, 54_321, 99_999, 100_000]),
            [Some(0), Some(54_321), Some(99_999), None]
        );
    }

    /// A list column is compared value by value: arrow's `distinct` refused it, and with it
    /// the preview of every transform of a table with such a column (a JSON import).
    #[test]
    fn lists_are_compared_value_by_value() {
        use datafusion::arrow::array::{Int64Array, ListArray};
        use datafusion::arrow::datatypes::{Field, Int64Type, Schema};
        let version = |tags: Vec<Option<Vec<Option<i64>>>>| {
            let list = ListArray::from_iter_primitive::<Int64Type, _, _>(tags);
            let schema = Arc::new(Schema::new(vec![
                Field::new("id", DataType::Int64, false),
                Field::new("tags", list.data_type().clone(), true),
            ]));
            let batch = RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef,
                    Arc::new(list) as ArrayRef,
                ],
            )
            .unwrap();
            TableVersion::first(schema, vec![batch])
        };
        let before = version(vec![Some(vec![Some(1)]), None, Some(vec![Some(2), None])]);
        let after = version(vec![
            Some(vec![Some(1)]),
            None,
            Some(vec![Some(2), Some(3)]),
        ]);
        let d = diff(&before, &after, &CancellationToken::new()).unwrap();
        assert_eq!(d.changed.iter().collect::<Vec<_>>(), [2]);
        assert_eq!(d.changed_columns(2), ["tags"]);
    }

    /// "Change type" of a column whose values stay the same lists no row as changed.
    #[test]
    fn a_type_change_counts_only_the_values_it_changes() {
        use crate::tables::transform::{apply, Transform};
        let t = crate::tables::table::tests::numbers(100, 10);
        let as_double = apply(
            &t,
            &Transform::SetColumn {
                column: "n".into(),
                expr: "CAST(n AS DOUBLE)".into(),
            },
            &|_| {},
            &CancellationToken::new(),
        )
        .unwrap();
        let d = diff(&t, &as_double, &CancellationToken::new()).unwrap();
        assert!(d.changed.is_empty(), "{:?}", d.changed);
        let halved = apply(
            &t,
            &Transform::SetColumn {
                column: "n".into(),
                expr: "CAST(n AS DOUBLE) / 2".into(),
            },
            &|_| {},
            &CancellationToken::new(),
        )
        .unwrap();
        let d = diff(&t, &halved, &CancellationToken::new()).unwrap();
        assert_eq!(d.changed.len(), 99, "every value but 0 changes");
        // A whole number read as days since 1970, or as true or false, means something else
        // though it reads back: every value changes (the preview said "No differences").
        // (A CAST of a whole number to a date is refused now; arrow_cast still does it.)
        for to in ["arrow_cast(n, 'Date32')", "CAST(n AS BOOLEAN)"] {
            let retyped = apply(
                &t,
                &Transform::SetColumn {
                    column: "n".into(),
                    expr: to.into(),
                },
                &|_| {},
                &CancellationToken::new(),
            )
            .unwrap();
            let d = diff(&t, &retyped, &CancellationToken::new()).unwrap();
            assert_eq!(d.changed.len(), 100, "{to}");
        }
    }
}

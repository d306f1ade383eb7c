//! Cell edits and row deletes over a linked table: a delta merged on read, never written into
//! its files.
//!
//! A linked table's row ids are positions in its files, which Quire never changes, so an edit
//! is kept as (position, column) -> value beside them, and a deleted row as its position in a
//! roaring bitmap (Delta Lake's deletion vectors, Iceberg's position deletes): a filter that
//! removes half of 100M rows costs at most a bit per row (about 12 MB), not eight bytes. Every read (a grid page, a view, SQL)
//! reads the files and puts the edited values in place, so the files stay the user's and the
//! edit costs what it changes, not the table's size. Versions are immutable: an edit makes a
//! new [`Edits`] sharing nothing mutable with the one before, so a query that started on the
//! old version finishes on it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use roaring::RoaringTreemap;

use datafusion::arrow::array::{
    new_null_array, Array, ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions, UInt64Array,
};
use datafusion::arrow::compute::{filter_record_batch, interleave};
use datafusion::arrow::datatypes::SchemaRef;

use crate::tables::edit::{self, CellEdit};
use crate::tables::TableError;

/// Undo steps kept per linked table, as for held tables.
const KEPT_STEPS: usize = 100;

/// Cells all kept undo steps may list together: each step is a whole map (its values shared
/// with the others), so a huge paste keeps fewer steps rather than many copies of its map.
const KEPT_ENTRIES: usize = 4_000_000;

/// Bytes of one map entry besides its value (key, pointer, the tree's share).
const ENTRY_BYTES: u64 = 48;

/// One cell's edited value: as the user typed it (for the delta file) and as its column's type.
#[derive(Debug, Clone)]
pub struct Cell {
    pub typed: Option<String>,
    pub value: ArrayRef,
}

/// One version of a linked table's edits.
#[derive(Debug, Clone, Default)]
pub struct Edits {
    /// 1 for the files as linked; each edit, undo or redo adds one.
    pub version: u64,
    /// (row position, column index in the table's schema) -> value, shared between versions.
    cells: BTreeMap<(u64, usize), Arc<Cell>>,
    /// Positions of the deleted rows, shared between versions that delete nothing.
    deleted: Arc<RoaringTreemap>,
    /// Rows the user added after the files' rows: positions `rows..rows + added` of a table
    /// of `rows`, empty (every cell NULL) but for their edited cells.
    added: u64,
}

impl Edits {
    pub fn linked() -> Edits {
        Edits {
            version: 1,
            cells: BTreeMap::new(),
            deleted: Arc::default(),
            added: 0,
        }
    }

    /// Whether the files are read as they are: no cell edited, no row deleted or added.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty() && self.deleted.is_empty() && self.added == 0
    }

    /// How many rows were added after the files' rows.
    pub fn added(&self) -> u64 {
        self.added
    }

    /// The positions a table of `rows` rows in its files has with these edits: its files'
    /// rows, then the added ones.
    pub fn positions(&self, rows: u64) -> u64 {
        rows.saturating_add(self.added)
    }

    /// These edits with `n` added rows in all, as a saved file says (not one step's worth).
    pub fn with_saved_rows_added(self, rows: u64, n: u64) -> Result<Edits, TableError> {
        if rows.checked_add(n).is_none() {
            return Err(TableError::InvalidValue {
                column: String::new(),
                message: format!("{n} added rows do not fit after {rows} rows"),
            });
        }
        Ok(Edits { added: n, ..self })
    }

    /// `n` empty rows added at the end, as version + 1: positions `first..first + n`, where
    /// `first` must be the next one (a replayed journal entry says which it was).
    pub fn with_rows_added(&self, rows: u64, first: u64, n: u64) -> Result<Edits, TableError> {
        let refused = |message: String| TableError::InvalidValue {
            column: String::new(),
            message,
        };
        if n == 0 || n > edit::MAX_ADDED_ROWS {
            return Err(refused(format!(
                "rows are added 1 to {} at a time, not {n}",
                edit::MAX_ADDED_ROWS
            )));
        }
        let next = self.positions(rows);
        if first != next {
            return Err(refused(format!(
                "new rows of this table start at row {next}, not {first}"
            )));
        }
        if next.checked_add(n).is_none() {
            return Err(refused("the table has no row positions left".into()));
        }
        Ok(Edits {
            version: self.version + 1,
            cells: self.cells.clone(),
            deleted: self.deleted.clone(),
            added: self.added + n,
        })
    }

    fn deleted_bytes(&self) -> usize {
        bitmap_bytes(&self.deleted)
    }

    /// The deleted rows' positions as a bitmap (for the edits file).
    pub fn deleted_bitmap(&self) -> &RoaringTreemap {
        &self.deleted
    }

    /// How many rows are deleted.
    pub fn deleted_count(&self) -> u64 {
        self.deleted.len()
    }

    pub fn is_deleted(&self, position: u64) -> bool {
        self.deleted.contains(position)
    }

    /// Whether `other` shows the same rows with the same values in `columns` (a view sorted
    /// or filtered by those columns stays true from one to the other).
    pub fn same_rows_and_columns(&self, other: &Edits, columns: &[usize]) -> bool {
        if self.added != other.added
            || (!Arc::ptr_eq(&self.deleted, &other.deleted) && self.deleted != other.deleted)
        {
            return false;
        }
        // Versions share their cells: an unchanged cell is the same allocation in both.
        let of = |e: &Edits| {
            e.cells
                .iter()
                .filter(|((_, c), _)| columns.contains(c))
                .map(|(k, cell)| (*k, Arc::as_ptr(cell)))
                .collect::<Vec<_>>()
        };
        of(self) == of(other)
    }

    /// The rows a table of `rows` rows in its files shows with these edits.
    pub fn visible_rows(&self, rows: u64) -> u64 {
        self.positions(rows).saturating_sub(self.deleted.len())
    }

    /// How many deleted rows lie before `position`.
    fn deleted_before(&self, position: u64) -> u64 {
        match position {
            0 => 0,
            p => self.deleted.rank(p - 1),
        }
    }

    /// The position of the `k`-th row shown (from 0), skipping deleted rows.
    pub fn position_of(&self, k: u64) -> u64 {
        if self.deleted.is_empty() {
            return k;
        }
        // The rows shown up to p (p + 1 - deleted ones) never decrease with p: the smallest p
        // with k + 1 of them is the k-th row shown.
        let (mut lo, mut hi) = (k, k + self.deleted.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if mid + 1 - self.deleted.rank(mid) > k {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    }

    /// The rows shown `[offset, offset + limit)` of a table of `rows` rows in its files, as
    /// runs of consecutive positions `[start, end)`: a page reads only them, however many
    /// deleted rows lie between.
    pub fn visible_runs(&self, rows: u64, offset: u64, limit: u64) -> Vec<(u64, u64)> {
        let end = offset.saturating_add(limit).min(self.visible_rows(rows));
        let rows = self.positions(rows);
        let mut runs = Vec::new();
        let mut k = offset;
        while k < end {
            let start = self.position_of(k);
            // The first deleted row after `start` (which is shown) ends its run.
            let stop = self
                .deleted
                .select(self.deleted_before(start))
                .unwrap_or(rows)
                .min(rows);
            let n = (stop - start).min(end - k);
            runs.push((start, start + n));
            k += n;
        }
        runs
    }

    /// How many deleted rows lie in `[first, first + rows)`.
    fn deleted_in(&self, first: u64, rows: u64) -> u64 {
        self.deleted_before(first.saturating_add(rows)) - self.deleted_before(first)
    }

    /// The rows `positions` deleted too, as version + 1; refused (nothing changes) when one
    /// of them is not a row shown.
    pub fn without_rows(&self, rows: u64, positions: &[u64]) -> Result<Edits, TableError> {
        self.without(rows, positions.iter().copied().collect())
    }

    /// The rows of `added` deleted too, as version + 1; refused when one of them is deleted
    /// already or not a row of a table of `rows` rows in its files.
    pub fn without(&self, rows: u64, added: RoaringTreemap) -> Result<Edits, TableError> {
        let rows = self.positions(rows);
        if let Some(p) = added.max().filter(|&p| p >= rows) {
            return Err(TableError::InvalidValue {
                column: String::new(),
                message: format!("row {p} does not exist in this table"),
            });
        }
        if let Some(p) = (&added & self.deleted.as_ref()).min() {
            return Err(TableError::InvalidValue {
                column: String::new(),
                message: format!("row {p} does not exist in this table"),
            });
        }
        Ok(Edits {
            version: self.version + 1,
            cells: self.cells.clone(),
            deleted: Arc::new(added | self.deleted.as_ref()),
            added: self.added,
        })
    }

    /// These edits over a copy of the table in which the rows deleted in `folded` are gone
    /// (and its added rows are rows of the copy): every position moves down by the deleted
    /// rows before it.
    pub fn renumbered(&self, folded: &Edits) -> Edits {
        if folded.deleted.is_empty() {
            return self.clone();
        }
        let shift = |p: u64| p - folded.deleted_before(p);
        Edits {
            version: self.version,
            cells: self
                .cells
                .iter()
                .map(|(&(row, col), cell)| ((shift(row), col), cell.clone()))
                .collect(),
            deleted: Arc::new(self.deleted.iter().map(shift).collect()),
            added: self.added,
        }
    }

    /// The same cells as version `version` (read back from a saved file).
    pub fn at_version(self, version: u64) -> Edits {
        Edits { version, ..self }
    }

    /// How many cells hold a value other than the file's (deleted rows aside).
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Every edited cell in position order: (row, column index, cell).
    pub fn cells(&self) -> impl Iterator<Item = (u64, usize, &Cell)> {
        self.cells
            .iter()
            .map(|(&(row, col), cell)| (row, col, cell.as_ref()))
    }

    /// Bytes the edited values hold (the delta's share of the memory budget).
    pub fn memory_bytes(&self) -> u64 {
        let cells: u64 = self
            .cells
            .values()
            .map(|c| {
                64 + c.value.get_array_memory_size() as u64
                    + c.typed.as_ref().map_or(0, |t| t.len() as u64)
            })
            .sum();
        cells + self.deleted_bytes() as u64
    }

    /// `edits` checked against the table's columns and rows, as version + 1. Nothing changes
    /// when any of them is refused.
    pub fn with(
        &self,
        schema: &SchemaRef,
        rows: u64,
        edits: &[CellEdit],
    ) -> Result<Edits, TableError> {
        let mut cells = self.cells.clone();
        let positions = self.positions(rows);
        for e in edits {
            let (col, field) =
                schema
                    .column_with_name(&e.column)
                    .ok_or_else(|| TableError::InvalidValue {
                        column: e.column.clone(),
                        message: format!("the table has no column {:?}", e.column),
                    })?;
            if e.row_id >= positions || self.is_deleted(e.row_id) {
                return Err(TableError::InvalidValue {
                    column: e.column.clone(),
                    message: format!("row {} does not exist in this table", e.row_id),
                });
            }
            let value = edit::convert(field.data_type(), field.is_nullable(), e)?;
            cells.insert(
                (e.row_id, col),
                Arc::new(Cell {
                    typed: e.value.clone(),
                    value,
                }),
            );
        }
        Ok(Edits {
            version: self.version + 1,
            cells,
            deleted: self.deleted.clone(),
            added: self.added,
        })
    }

    /// The cells, deletes and added rows of these edits that `earlier` does not hold as they
    /// are (edits made since it), at this version and in the same positions; None when a
    /// cell, delete or added row of `earlier` is gone or other here (undone since), which
    /// edits over `earlier`'s content cannot say.
    pub fn since(&self, earlier: &Edits) -> Option<Edits> {
        if !earlier.deleted.is_subset(&self.deleted) || self.added < earlier.added {
            return None;
        }
        let deleted = self.deleted.as_ref() - earlier.deleted.as_ref();
        let mut cells = self.cells.clone();
        for (key, old) in &earlier.cells {
            match cells.get(key) {
                Some(now) if Arc::ptr_eq(now, old) => {
                    cells.remove(key);
                }
                Some(_) => {} // edited again since: kept
                None => return None,
            }
        }
        Some(Edits {
            version: self.version,
            cells,
            deleted: Arc::new(deleted),
            added: self.added - earlier.added,
        })
    }

    /// Whether any row of `[first, first + rows)` has an edited cell or was deleted.
    pub fn touches(&self, first: u64, rows: u64) -> bool {
        self.cells
            .range((first, 0)..(first.saturating_add(rows), 0))
            .next()
            .is_some()
            || self.deleted_in(first, rows) > 0
    }

    /// `batch` (rows at positions `first..`, with the table's columns `columns` in order) with
    /// the edited values in place and the deleted rows left out. Batches no edit touches come
    /// back as they are.
    pub fn merge(
        &self,
        batch: RecordBatch,
        first: u64,
        columns: &[usize],
    ) -> Result<RecordBatch, TableError> {
        let n = batch.num_rows() as u64;
        if !self.touches(first, n) {
            return Ok(batch);
        }
        let batch = self.merge_cells(batch, first, columns)?;
        if self.deleted_in(first, n) == 0 {
            return Ok(batch);
        }
        let keep = BooleanArray::from_iter((first..first + n).map(|p| Some(!self.is_deleted(p))));
        Ok(filter_record_batch(&batch, &keep)?)
    }

    /// The added rows at positions `[from, to)` (all past the files' rows) as a batch of
    /// `schema`, whose columns are the table's `columns` in order (`usize::MAX`: the row id
    /// column): empty cells, edited values in place, deleted rows left out.
    pub fn added_batch(
        &self,
        schema: &SchemaRef,
        columns: &[usize],
        from: u64,
        to: u64,
    ) -> Result<RecordBatch, TableError> {
        let n = to.saturating_sub(from) as usize;
        let arrays: Vec<ArrayRef> = schema
            .fields()
            .iter()
            .zip(columns)
            .map(|(field, &c)| match c {
                usize::MAX => Arc::new(UInt64Array::from_iter_values(from..to)) as ArrayRef,
                _ => new_null_array(field.data_type(), n),
            })
            .collect();
        let batch = RecordBatch::try_new_with_options(
            schema.clone(),
            arrays,
            &RecordBatchOptions::new().with_row_count(Some(n)),
        )?;
        self.merge(batch, from, columns)
    }

    fn merge_cells(
        &self,
        batch: RecordBatch,
        first: u64,
        columns: &[usize],
    ) -> Result<RecordBatch, TableError> {
        let n = batch.num_rows() as u64;
        // Output column -> [(row in batch, value)].
        let mut by_column: BTreeMap<usize, Vec<(usize, &ArrayRef)>> = BTreeMap::new();
        for (&(row, col), cell) in self.cells.range((first, 0)..(first + n, 0)) {
            if let Some(out) = columns.iter().position(|c| *c == col) {
                by_column
                    .entry(out)
                    .or_default()
                    .push(((row - first) as usize, &cell.value));
            }
        }
        if by_column.is_empty() {
            return Ok(batch);
        }
        let mut arrays = batch.columns().to_vec();
        for (out, values) in by_column {
            let original = arrays[out].clone();
            let mut sources: Vec<&dyn Array> = vec![original.as_ref()];
            let mut indices: Vec<(usize, usize)> = (0..original.len()).map(|i| (0, i)).collect();
            for (row, value) in values {
                sources.push(value.as_ref());
                indices[row] = (sources.len() - 1, 0);
            }
            arrays[out] = interleave(&sources, &indices)?;
        }
        Ok(RecordBatch::try_new(batch.schema(), arrays)?)
    }
}

/// A linked table's edits now, and the versions undo and redo move between.
#[derive(Debug)]
pub struct EditLog {
    inner: Mutex<Steps>,
}

#[derive(Debug)]
struct Steps {
    current: Arc<Edits>,
    /// Earlier versions' contents, newest last.
    back: Vec<Arc<Edits>>,
    /// Versions undone, the next redo last.
    forward: Vec<Arc<Edits>>,
}

impl Default for EditLog {
    fn default() -> Self {
        EditLog::starting_at(Edits::linked())
    }
}

impl EditLog {
    /// A log whose current edits are `edits` (read back from a delta file), nothing to undo.
    pub fn starting_at(edits: Edits) -> EditLog {
        EditLog {
            inner: Mutex::new(Steps {
                current: Arc::new(edits),
                back: Vec::new(),
                forward: Vec::new(),
            }),
        }
    }

    /// A log with the same versions, for the same files linked again (a moved notebook).
    pub fn carried(&self) -> EditLog {
        let steps = self.steps();
        EditLog {
            inner: Mutex::new(Steps {
                current: steps.current.clone(),
                back: steps.back.clone(),
                forward: steps.forward.clone(),
            }),
        }
    }

    /// Whether undo (`back`) or redo would show a version older than `version`.
    pub fn reaches_before(&self, back: bool, version: u64) -> bool {
        let steps = self.steps();
        let target = if back {
            steps.back.last()
        } else {
            steps.forward.last()
        };
        target.is_some_and(|t| t.version < version)
    }

    fn steps(&self) -> std::sync::MutexGuard<'_, Steps> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn current(&self) -> Arc<Edits> {
        self.steps().current.clone()
    }

    /// Whether undo (`back`) or redo has somewhere to go.
    pub fn can_move(&self, back: bool) -> bool {
        let steps = self.steps();
        if back {
            !steps.back.is_empty()
        } else {
            !steps.forward.is_empty()
        }
    }

    /// Makes `next` current after an edit (redo's steps are gone).
    pub fn push(&self, next: Edits) -> Arc<Edits> {
        let mut steps = self.steps();
        let next = Arc::new(next);
        let before = std::mem::replace(&mut steps.current, next.clone());
        steps.back.push(before);
        steps.forward.clear();
        while steps.back.len() > KEPT_STEPS
            || (listed(&steps.back) > KEPT_ENTRIES && steps.back.len() > 1)
        {
            steps.back.remove(0);
        }
        next
    }

    /// The content undo (`back`) or redo would show, as the next version; None when there is
    /// nowhere to go. Nothing moves until [`EditLog::step`].
    pub fn peek(&self, back: bool) -> Option<Edits> {
        let steps = self.steps();
        let target = if back {
            steps.back.last()
        } else {
            steps.forward.last()
        }?;
        Some(Edits {
            version: steps.current.version + 1,
            cells: target.cells.clone(),
            deleted: target.deleted.clone(),
            added: target.added,
        })
    }

    /// Moves one step back or forward, `shown` (from [`EditLog::peek`]) becoming current.
    pub fn step(&self, back: bool, shown: Edits) -> Arc<Edits> {
        let mut steps = self.steps();
        let shown = Arc::new(shown);
        let before = std::mem::replace(&mut steps.current, shown.clone());
        if back {
            steps.back.pop();
            steps.forward.push(before);
        } else {
            steps.forward.pop();
            steps.back.push(before);
        }
        shown
    }

    /// Bytes the kept versions hold: the current one's values and map, and the other
    /// versions' maps (their values are mostly the current one's, shared).
    pub fn memory_bytes(&self) -> u64 {
        let steps = self.steps();
        let others: Vec<Arc<Edits>> = steps.back.iter().chain(&steps.forward).cloned().collect();
        let cells: usize = others.iter().map(|e| e.cells.len()).sum();
        let bitmaps: usize = distinct_bitmaps(&others)
            .filter(|b| !Arc::ptr_eq(b, &steps.current.deleted))
            .map(|b| bitmap_bytes(b))
            .sum();
        steps.current.memory_bytes() + cells as u64 * ENTRY_BYTES + bitmaps as u64
    }
}

/// The deleted rows' bitmaps of `versions`, each once (versions that delete nothing share it).
fn distinct_bitmaps(versions: &[Arc<Edits>]) -> impl Iterator<Item = &Arc<RoaringTreemap>> {
    let mut seen: Vec<&Arc<RoaringTreemap>> = Vec::new();
    for e in versions {
        if !seen.iter().any(|b| Arc::ptr_eq(b, &e.deleted)) {
            seen.push(&e.deleted);
        }
    }
    seen.into_iter()
}

fn bitmap_bytes(bitmap: &RoaringTreemap) -> usize {
    match bitmap.is_empty() {
        true => 0,
        false => bitmap.serialized_size(),
    }
}

/// What kept versions list, for the undo limit: their cells, and each bitmap once, in eights
/// of its bytes.
fn listed(versions: &[Arc<Edits>]) -> usize {
    let cells: usize = versions.iter().map(|e| e.cells.len()).sum();
    let bitmaps: usize = distinct_bitmaps(versions).map(|b| bitmap_bytes(b)).sum();
    cells + bitmaps / 8
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("s", DataType::Utf8, true),
        ]))
    }

    fn edit(row: u64, column: &str, value: &str) -> CellEdit {
        CellEdit {
            row_id: row,
            column: column.into(),
            value: Some(value.into()),
        }
    }

    #[test]
    fn merged_values_replace_the_files_and_only_in_their_rows() {
        let e = Edits::linked()
            .with(&schema(), 100, &[edit(12, "n", "-5"), edit(13, "s", "x")])
            .unwrap();
        assert_eq!(e.version, 2);
        let batch = RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int64Array::from_iter_values(10..15)),
                Arc::new(StringArray::from(vec!["a", "b", "c", "d", "e"])),
            ],
        )
        .unwrap();
        let merged = e.merge(batch.clone(), 10, &[0, 1]).unwrap();
        let n = merged
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(n.values(), &[10, 11, -5, 13, 14]);
        let s = merged
            .column(1)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(s.value(3), "x");
        assert_eq!(s.value(2), "c");
        // The same batch read at other positions is untouched.
        assert_eq!(e.merge(batch.clone(), 50, &[0, 1]).unwrap(), batch);
        // A projection of only `s` (output column 0 is the table's column 1).
        let only_s = RecordBatch::try_new(
            Arc::new(schema().project(&[1]).unwrap()),
            vec![batch.column(1).clone()],
        )
        .unwrap();
        let merged = e.merge(only_s, 10, &[1]).unwrap();
        let s = merged
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(s.value(3), "x");
    }

    #[test]
    fn deleted_rows_are_skipped_counted_and_renumbered_after_a_fold() {
        let base = Edits::linked()
            .with(&schema(), 20, &[edit(9, "n", "90")])
            .unwrap();
        let e = base.without_rows(20, &[7, 2, 3]).unwrap();
        assert_eq!(e.deleted_bitmap().iter().collect::<Vec<_>>(), [2, 3, 7]);
        assert_eq!(e.visible_rows(20), 17);
        let shown: Vec<u64> = (0..17).map(|k| e.position_of(k)).collect();
        let expected: Vec<u64> = (0..20).filter(|p| ![2, 3, 7].contains(p)).collect();
        assert_eq!(shown, expected);
        assert_eq!(e.visible_runs(20, 0, 17), [(0, 2), (4, 7), (8, 20)]);
        assert_eq!(e.visible_runs(20, 1, 3), [(1, 2), (4, 6)]);
        assert_eq!(e.visible_runs(20, 16, 10), [(19, 20)]);
        assert!(e.visible_runs(20, 17, 10).is_empty());
        assert!(e.without_rows(20, &[3]).is_err(), "deleted already");
        assert!(e.without_rows(20, &[20]).is_err(), "past the end");
        assert!(e.with(&schema(), 20, &[edit(7, "n", "1")]).is_err());
        // Merged: the deleted rows are left out, the edit stays at its row.
        let batch = RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int64Array::from_iter_values(0..10)),
                Arc::new(StringArray::from_iter_values(
                    (0..10).map(|i| i.to_string()),
                )),
            ],
        )
        .unwrap();
        let merged = e.merge(batch, 0, &[0, 1]).unwrap();
        let n = merged
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(n.values(), &[0, 1, 4, 5, 6, 8, 90]);
        // What came after a fold of `e`, at the folded copy's positions.
        let later = e
            .with(&schema(), 20, &[edit(12, "n", "5")])
            .unwrap()
            .without_rows(20, &[15])
            .unwrap();
        let remaining = later.since(&e).unwrap().renumbered(&e);
        assert_eq!(remaining.deleted_bitmap().iter().collect::<Vec<_>>(), [12]);
        assert_eq!(
            remaining.cells().map(|(r, _, _)| r).collect::<Vec<_>>(),
            [9]
        );
        // An undone delete cannot be carried over the fold.
        assert!(base.since(&e).is_none());
    }

    #[test]
    fn added_rows_come_after_the_files_and_move_with_a_fold() {
        let e = Edits::linked()
            .without_rows(20, &[3])
            .unwrap()
            .with_rows_added(20, 20, 2)
            .unwrap();
        assert!(
            e.with_rows_added(20, 21, 1).is_err(),
            "not the next position"
        );
        assert_eq!((e.positions(20), e.visible_rows(20)), (22, 21));
        assert_eq!(e.visible_runs(20, 18, 10), [(19, 22)]);
        let e = e.with(&schema(), 20, &[edit(21, "s", "new")]).unwrap();
        assert!(e.with(&schema(), 20, &[edit(22, "s", "x")]).is_err());
        // Empty but for their edited cells, with their positions as ids.
        let ids_schema = Arc::new(Schema::new(vec![
            Field::new("s", DataType::Utf8, true),
            Field::new("id", DataType::UInt64, false),
        ]));
        let batch = e
            .added_batch(&ids_schema, &[1, usize::MAX], 20, 22)
            .unwrap();
        let s = batch
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert!(s.is_null(0));
        assert_eq!(s.value(1), "new");
        let ids = batch
            .column(1)
            .as_any()
            .downcast_ref::<UInt64Array>()
            .unwrap();
        assert_eq!(ids.values(), &[20, 21]);
        // After a fold of `e` (19 + 2 rows), a row added since is the copy's position 21 and
        // its cell moves with it.
        let later = e
            .with_rows_added(20, 22, 1)
            .unwrap()
            .with(&schema(), 20, &[edit(22, "n", "7")])
            .unwrap();
        let remaining = later.since(&e).unwrap().renumbered(&e);
        assert_eq!(remaining.added(), 1);
        assert_eq!(remaining.positions(21), 22);
        assert_eq!(
            remaining.cells().map(|(r, _, _)| r).collect::<Vec<_>>(),
            [21]
        );
        // An added row undone since the fold cannot be carried over it.
        assert!(Edits::linked().since(&e).is_none());
    }

    #[test]
    fn a_refused_value_or_row_changes_nothing() {
        let e = Edits::linked();
        assert!(e.with(&schema(), 100, &[edit(1, "n", "many")]).is_err());
        assert!(e.with(&schema(), 100, &[edit(100, "n", "1")]).is_err());
        assert!(e.with(&schema(), 100, &[edit(1, "nope", "1")]).is_err());
        assert!(e.is_empty());
    }

    #[test]
    fn undo_and_redo_move_between_versions_and_an_edit_clears_redo() {
        let log = EditLog::default();
        let one = log
            .current()
            .with(&schema(), 10, &[edit(1, "n", "7")])
            .unwrap();
        log.push(one);
        let undone = log.peek(true).unwrap();
        assert_eq!(undone.version, 3);
        assert!(undone.is_empty());
        log.step(true, undone);
        assert!(log.current().is_empty());
        assert!(log.can_move(false));
        let redone = log.peek(false).unwrap();
        log.step(false, redone);
        assert_eq!(log.current().version, 4);
        assert_eq!(log.current().len(), 1);
        let two = log
            .current()
            .with(&schema(), 10, &[edit(2, "n", "8")])
            .unwrap();
        log.push(two);
        assert!(!log.can_move(false));
        assert_eq!(log.current().version, 5);
    }
}

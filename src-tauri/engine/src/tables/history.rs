//! Each table's version history in memory: the versions its edits, transforms and restores
//! made, with the record of each operation, for undo / redo, the history list and diffs.
//!
//! Undo and redo move a cursor; the version they make current has the earlier content (the
//! very same batches) under a new version number, because version numbers only grow (the
//! snapshots, the view cache and the UI key on them).
//!
//! The history holds memory: each entry keeps the arrays its change made (an edit shares every
//! array it did not touch with the entry before; a transform of a whole column does not). What
//! the entries hold beyond the current version is capped (`with_cap`, the table budget of
//! `limits.table_memory_mb`): past it the oldest entries go, so undo on a big table reaches
//! fewer steps back instead of growing the process without bound.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::edit::CellEdit;
use super::table::TableVersion;
use super::transform::Transform;
use crate::ids::NotebookId;

/// What made a version: small and serialisable, so the task store can journal it and replay it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum TableOp {
    /// The table as it was loaded or created.
    Opened,
    Edit {
        edits: Vec<CellEdit>,
    },
    Transform {
        transform: Transform,
    },
    Restore {
        generation: u64,
    },
    /// Rows removed by their ids (for a linked table, their positions in its files).
    DeleteRows {
        row_ids: Vec<u64>,
    },
    /// Empty rows (every cell NULL) appended with the ids `first_row_id..first_row_id + rows`:
    /// the ids are in the record, so a replay gives them the same ids and the edits after it
    /// find them.
    AddRows {
        first_row_id: u64,
        rows: u64,
    },
}

impl TableOp {
    pub fn label(&self) -> String {
        match self {
            TableOp::Opened => "Opened".into(),
            // Rows are counted from 1, as the grid counts them (ids count from 0).
            TableOp::Edit { edits } if edits.len() == 1 => {
                let e = &edits[0];
                let row = e.row_id + 1;
                match &e.value {
                    // Quoted as typed: a debug quote escaped the quotes inside.
                    Some(v) => format!("Set {} of row {row} to \"{v}\"", e.column),
                    None => format!("Set {} of row {row} to NULL", e.column),
                }
            }
            TableOp::Edit { edits } => format!("Edited {} cells", edits.len()),
            TableOp::Transform { transform } => transform.label(),
            TableOp::Restore { generation } => format!("Restored saved copy {generation}"),
            TableOp::DeleteRows { row_ids } if row_ids.len() == 1 => {
                format!("Deleted row {}", row_ids[0] + 1)
            }
            TableOp::DeleteRows { row_ids } => format!("Deleted {} rows", row_ids.len()),
            TableOp::AddRows {
                first_row_id,
                rows: 1,
            } => format!("Added row {first_row_id}"),
            TableOp::AddRows { rows, .. } => format!("Added {rows} rows"),
        }
    }
}

/// One entry of the history list.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct HistoryItem {
    pub version: u64,
    pub label: String,
    pub op: TableOp,
    pub at_ms: i64,
    /// The entry the table shows now.
    pub current: bool,
    pub rows: u64,
}

struct Entry {
    version: Arc<TableVersion>,
    op: TableOp,
    at_ms: i64,
    /// Bytes of the arrays this entry holds that the entry before it does not (the first
    /// entry: all of its arrays).
    new_bytes: u64,
}

/// The arrays a version holds, by identity (shared arrays are one allocation).
fn arrays(v: &TableVersion) -> impl Iterator<Item = (usize, &dyn datafusion::arrow::array::Array)> {
    v.batches
        .iter()
        .flat_map(|b| b.columns().iter().map(|c| c.as_ref()))
        .chain(
            v.row_ids
                .iter()
                .map(|a| a.as_ref() as &dyn datafusion::arrow::array::Array),
        )
        .map(|a| {
            (
                a as *const dyn datafusion::arrow::array::Array as *const () as usize,
                a,
            )
        })
}

/// Bytes of the arrays of all `versions`, each array once.
pub(crate) fn distinct_bytes<'a>(versions: impl Iterator<Item = &'a TableVersion>) -> u64 {
    let mut seen = HashSet::new();
    let mut bytes = 0;
    for v in versions {
        for (id, a) in arrays(v) {
            if seen.insert(id) {
                bytes += a.get_array_memory_size() as u64;
            }
        }
    }
    bytes
}

/// Bytes of `v`'s arrays that `before` does not hold too.
pub(crate) fn bytes_beyond(v: &TableVersion, before: Option<&TableVersion>) -> u64 {
    let shared: HashSet<usize> = before
        .map(|b| arrays(b).map(|(id, _)| id).collect())
        .unwrap_or_default();
    arrays(v)
        .filter(|(id, _)| !shared.contains(id))
        .map(|(_, a)| a.get_array_memory_size() as u64)
        .sum()
}

#[derive(Default)]
struct History {
    entries: Vec<Entry>,
    cursor: usize,
    /// The version shown after an undo or redo: the entry's content under a new number.
    restamped: Option<Arc<TableVersion>>,
}

impl History {
    /// What the entries hold beyond `current` bytes (the current version's own).
    fn held_beyond(&self, current: u64) -> u64 {
        let held: u64 = self.entries.iter().map(|e| e.new_bytes).sum();
        held.saturating_sub(current)
    }

    fn held_beyond_current(&self) -> u64 {
        let current = self
            .entries
            .get(self.cursor)
            .map_or(0, |e| bytes_beyond(&e.version, None));
        self.held_beyond(current)
    }

    /// Forgets the oldest entry; the next one becomes the first and counts all it holds.
    fn drop_oldest(&mut self) {
        self.entries.remove(0);
        if let Some(first) = self.entries.first_mut() {
            first.new_bytes = bytes_beyond(&first.version, None);
        }
        self.cursor = self.cursor.saturating_sub(1);
    }
}

/// Entries kept per table; the oldest go first (their versions may still be saved snapshots).
const KEEP: usize = 100;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

type Key = (NotebookId, String);

pub struct Histories {
    tables: Mutex<HashMap<Key, History>>,
    /// Bytes a table's history may hold beyond its current version.
    cap_bytes: u64,
}

impl Default for Histories {
    fn default() -> Self {
        Histories::with_cap(u64::MAX)
    }
}

impl Histories {
    /// Histories that hold at most `cap_bytes` per table beyond its current version.
    pub fn with_cap(cap_bytes: u64) -> Histories {
        Histories {
            tables: Mutex::default(),
            cap_bytes,
        }
    }

    /// Bytes the history of `table` holds beyond its current version.
    pub fn held_beyond_current(&self, notebook: NotebookId, table: &str) -> u64 {
        self.lock()
            .get(&(notebook, table.to_string()))
            .map_or(0, History::held_beyond_current)
    }

    /// Bytes every table's history holds beyond its current version.
    pub fn held_beyond_current_all(&self) -> u64 {
        self.lock().values().map(History::held_beyond_current).sum()
    }

    /// Frees at least `need` bytes if it can by forgetting undo steps, the oldest of the
    /// history holding the most first (never the version shown; redo steps go when nothing
    /// is left to undo). Returns the bytes freed.
    pub fn shed(&self, need: u64) -> u64 {
        let mut tables = self.lock();
        let mut freed = 0;
        while freed < need {
            let Some(h) = tables
                .values_mut()
                .filter(|h| h.entries.len() > 1)
                .max_by_key(|h| h.held_beyond_current())
            else {
                break;
            };
            let before = h.held_beyond_current();
            if before == 0 {
                break;
            }
            if h.cursor > 0 {
                h.drop_oldest();
            } else {
                h.entries.truncate(h.cursor + 1);
            }
            freed += before.saturating_sub(h.held_beyond_current());
        }
        freed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, History>> {
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records that `op` turned `base` into `next`. Entries after the cursor (undone work) are
    /// dropped: a new change after an undo starts a new branch, as in every editor.
    pub fn record(
        &self,
        notebook: NotebookId,
        table: &str,
        base: &Arc<TableVersion>,
        next: Arc<TableVersion>,
        op: TableOp,
    ) {
        let mut tables = self.lock();
        let h = tables.entry((notebook, table.to_string())).or_default();
        if h.entries.is_empty() {
            h.entries.push(Entry {
                new_bytes: bytes_beyond(base, None),
                version: base.clone(),
                op: TableOp::Opened,
                at_ms: now_ms(),
            });
        }
        h.entries.truncate(h.cursor + 1);
        let new_bytes = bytes_beyond(&next, h.entries.last().map(|e| e.version.as_ref()));
        // The current version stays while old entries go: its size is taken once.
        let current = bytes_beyond(&next, None);
        h.entries.push(Entry {
            version: next,
            op,
            at_ms: now_ms(),
            new_bytes,
        });
        h.cursor = h.entries.len() - 1;
        h.restamped = None;
        while h.entries.len() > KEEP
            || (h.entries.len() > 1 && h.held_beyond(current) > self.cap_bytes)
        {
            h.drop_oldest();
        }
    }

    /// The content one step back (`back`) or forward would show, without moving; None at
    /// either end.
    pub fn peek(&self, notebook: NotebookId, table: &str, back: bool) -> Option<Arc<TableVersion>> {
        let tables = self.lock();
        let h = tables.get(&(notebook, table.to_string()))?;
        let cursor = match back {
            true => h.cursor.checked_sub(1)?,
            false if h.cursor + 1 < h.entries.len() => h.cursor + 1,
            false => return None,
        };
        Some(h.entries[cursor].version.clone())
    }

    /// Moves the cursor one step back (`back`) or forward; returns the content to show, or
    /// None at either end.
    pub fn step(&self, notebook: NotebookId, table: &str, back: bool) -> Option<Arc<TableVersion>> {
        let mut tables = self.lock();
        let h = tables.get_mut(&(notebook, table.to_string()))?;
        let cursor = match back {
            true => h.cursor.checked_sub(1)?,
            false if h.cursor + 1 < h.entries.len() => h.cursor + 1,
            false => return None,
        };
        h.cursor = cursor;
        Some(h.entries[cursor].version.clone())
    }

    /// After an undo or redo: the version now shown (the entry's content, renumbered).
    pub fn restamp(&self, notebook: NotebookId, table: &str, shown: Arc<TableVersion>) {
        if let Some(h) = self.lock().get_mut(&(notebook, table.to_string())) {
            h.restamped = Some(shown);
        }
    }

    /// Whether undo / redo can move, for the buttons.
    pub fn can_move(&self, notebook: NotebookId, table: &str) -> (bool, bool) {
        self.lock()
            .get(&(notebook, table.to_string()))
            .map_or((false, false), |h| {
                (h.cursor > 0, h.cursor + 1 < h.entries.len())
            })
    }

    pub fn list(&self, notebook: NotebookId, table: &str) -> Vec<HistoryItem> {
        let tables = self.lock();
        let Some(h) = tables.get(&(notebook, table.to_string())) else {
            return Vec::new();
        };
        h.entries
            .iter()
            .enumerate()
            .map(|(i, e)| HistoryItem {
                version: e.version.version,
                label: e.op.label(),
                op: e.op.clone(),
                at_ms: e.at_ms,
                current: i == h.cursor,
                rows: e.version.rows as u64,
            })
            .collect()
    }

    /// A version of the table by number: an entry's, or the renumbered one now shown.
    pub fn find(
        &self,
        notebook: NotebookId,
        table: &str,
        version: u64,
    ) -> Option<Arc<TableVersion>> {
        let tables = self.lock();
        let h = tables.get(&(notebook, table.to_string()))?;
        h.restamped
            .iter()
            .chain(h.entries.iter().map(|e| &e.version))
            .find(|v| v.version == version)
            .cloned()
    }

    pub fn forget_table(&self, notebook: NotebookId, table: &str) {
        self.lock()
            .retain(|k, _| !(k.0 == notebook && k.1 == table));
    }

    pub fn forget(&self, notebook: NotebookId) {
        self.lock().retain(|k, _| k.0 != notebook);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{ArrayRef, Int64Array, UInt64Array};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;

    const ROWS: usize = 1 << 17; // 1 MiB per Int64 column

    /// The changes list counts rows from 1, as the grid does, and shows a value as typed.
    #[test]
    fn a_change_names_its_row_as_the_grid_counts_it() {
        let edit = TableOp::Edit {
            edits: vec![crate::tables::edit::CellEdit {
                row_id: 0,
                column: "city".into(),
                value: Some("N1A1, \"edited\"".into()),
            }],
        };
        assert_eq!(edit.label(), "Set city of row 1 to \"N1A1, \"edited\"\"");
        let deleted = TableOp::DeleteRows { row_ids: vec![151] };
        assert_eq!(deleted.label(), "Deleted row 152");
    }

    fn version(n: u64, big: ArrayRef, small: i64) -> Arc<TableVersion> {
        let ids = Arc::new(UInt64Array::from_iter_values(0..ROWS as u64));
        version_with_ids(n, big, small, ids)
    }

    fn version_with_ids(
        n: u64,
        big: ArrayRef,
        small: i64,
        ids: Arc<UInt64Array>,
    ) -> Arc<TableVersion> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("big", DataType::Int64, false),
            Field::new("small", DataType::Int64, false),
        ]));
        let small: ArrayRef = Arc::new(Int64Array::from(vec![small; ROWS]));
        let batch = RecordBatch::try_new(schema.clone(), vec![big, small]).unwrap();
        let mut v = TableVersion::first(schema, vec![batch]);
        v.row_ids = vec![ids].into();
        v.version = n;
        Arc::new(v)
    }

    fn big(seed: i64) -> ArrayRef {
        Arc::new(Int64Array::from_iter_values(
            (0..ROWS as i64).map(|i| i + seed),
        ))
    }

    #[test]
    fn undo_history_beyond_the_current_version_stays_under_its_cap() {
        let nb = NotebookId(uuid::Uuid::nil());
        let mib = 1u64 << 20;
        let h = Histories::with_cap(8 * mib);
        // Ten whole-column transforms: each entry holds a new 1 MiB big column and small column.
        let mut base = version(1, big(0), 0);
        for n in 2..=11 {
            let next = version(n, big(n as i64), n as i64);
            h.record(nb, "t", &base, next.clone(), TableOp::Opened);
            base = next;
        }
        let held = h.held_beyond_current(nb, "t");
        assert!(
            held <= 8 * mib,
            "the history holds {held} bytes beyond the current version"
        );
        let kept = h.list(nb, "t").len();
        assert!((3..11).contains(&kept), "{kept} entries kept");
        // Undo still works back to the oldest kept entry, and no further.
        let steps = std::iter::from_fn(|| h.step(nb, "t", true)).count();
        assert_eq!(steps, kept - 1);
    }

    #[test]
    fn arrays_shared_between_entries_are_counted_once() {
        let nb = NotebookId(uuid::Uuid::nil());
        let h = Histories::with_cap(8 << 20);
        let shared = big(0);
        let ids = Arc::new(UInt64Array::from_iter_values(0..ROWS as u64));
        let mut base = version_with_ids(1, shared.clone(), 0, ids.clone());
        // Each "edit" replaces only the small column; the big column and the row ids are shared.
        for n in 2..=30 {
            let next = version_with_ids(n, shared.clone(), n as i64, ids.clone());
            h.record(nb, "t", &base, next.clone(), TableOp::Opened);
            base = next;
        }
        // Each entry adds 1 MiB (its small column), so about 8 entries fit beyond the current
        // one; counting the shared arrays per entry would keep only 2 or 3.
        let held = h.held_beyond_current(nb, "t");
        assert!(held <= 8 << 20, "{held}");
        let kept = h.list(nb, "t").len();
        assert!(kept >= 8, "{kept} entries kept");
    }
}

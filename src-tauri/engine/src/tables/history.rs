//! Each table's version history in memory: the versions its edits, transforms and restores
//! made, with the record of each operation, for undo / redo, the history list and diffs.
//!
//! Undo and redo move a cursor; the version they make current has the earlier content (the
//! very same batches) under a new version number, because version numbers only grow (the
//! snapshots, the view cache and the UI key on them).

use std::collections::HashMap;
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
}

impl TableOp {
    pub fn label(&self) -> String {
        match self {
            TableOp::Opened => "Opened".into(),
            TableOp::Edit { edits } if edits.len() == 1 => {
                let e = &edits[0];
                match &e.value {
                    Some(v) => format!("Set {} of row {} to {v:?}", e.column, e.row_id),
                    None => format!("Set {} of row {} to NULL", e.column, e.row_id),
                }
            }
            TableOp::Edit { edits } => format!("Edited {} cells", edits.len()),
            TableOp::Transform { transform } => transform.label(),
            TableOp::Restore { generation } => format!("Restored saved copy {generation}"),
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
}

#[derive(Default)]
struct History {
    entries: Vec<Entry>,
    cursor: usize,
    /// The version shown after an undo or redo: the entry's content under a new number.
    restamped: Option<Arc<TableVersion>>,
}

/// Entries kept per table; the oldest go first (their versions may still be saved snapshots).
const KEEP: usize = 100;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

type Key = (NotebookId, String);

#[derive(Default)]
pub struct Histories {
    tables: Mutex<HashMap<Key, History>>,
}

impl Histories {
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
                version: base.clone(),
                op: TableOp::Opened,
                at_ms: now_ms(),
            });
        }
        h.entries.truncate(h.cursor + 1);
        h.entries.push(Entry {
            version: next,
            op,
            at_ms: now_ms(),
        });
        if h.entries.len() > KEEP {
            h.entries.remove(0);
        }
        h.cursor = h.entries.len() - 1;
        h.restamped = None;
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

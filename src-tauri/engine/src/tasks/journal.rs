//! The edit journal: every acknowledged table change, appended before it is visible, trimmed
//! when a snapshot covers it, replayed on top of the newest snapshot after a crash.

use rusqlite::params;

use super::{now_ms, TaskError, TaskStore};
use crate::ids::NotebookId;

impl TaskStore {
    /// Appends an acknowledged table change; committed and synced when this returns.
    pub fn journal_append(
        &self,
        notebook: NotebookId,
        table: &str,
        version: u64,
        op: &serde_json::Value,
    ) -> Result<(), TaskError> {
        self.synced(|conn| {
            conn.prepare_cached(
                "INSERT INTO journal (notebook, table_name, version, op, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                notebook.to_string(),
                table,
                version as i64,
                op.to_string(),
                now_ms()
            ])?;
            Ok(())
        })
    }

    /// Takes back the entry for `version`: its change could not be made visible, so it must
    /// never be replayed.
    pub fn journal_remove(
        &self,
        notebook: NotebookId,
        table: &str,
        version: u64,
    ) -> Result<usize, TaskError> {
        self.forget_synced(
            "DELETE FROM journal WHERE notebook = ?1 AND table_name = ?2 AND version = ?3",
            params![notebook.to_string(), table, version as i64],
        )
    }

    /// A snapshot of `version` is committed: the entries it covers are no longer needed.
    pub fn journal_cover(
        &self,
        notebook: NotebookId,
        table: &str,
        version: u64,
    ) -> Result<usize, TaskError> {
        self.forget_unsynced(
            "DELETE FROM journal WHERE notebook = ?1 AND table_name = ?2 AND version <= ?3",
            params![notebook.to_string(), table, version as i64],
        )
    }

    /// A table is deleted (or its name is taken by a new table): none of its entries may
    /// ever be replayed.
    pub fn journal_drop(&self, notebook: NotebookId, table: &str) -> Result<usize, TaskError> {
        self.forget_synced(
            "DELETE FROM journal WHERE notebook = ?1 AND table_name = ?2",
            params![notebook.to_string(), table],
        )
    }

    /// Entries of a table after `version`, in order: (resulting version, op).
    pub fn journal_after(
        &self,
        notebook: NotebookId,
        table: &str,
        version: u64,
    ) -> Result<Vec<(u64, serde_json::Value)>, TaskError> {
        let conn = self.lock();
        let mut q = conn.prepare_cached(
            "SELECT version, op FROM journal WHERE notebook = ?1 AND table_name = ?2 AND version > ?3
             ORDER BY seq",
        )?;
        let rows = q.query_map(params![notebook.to_string(), table, version as i64], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?))
        })?;
        rows.map(|r| {
            let (v, op) = r?;
            Ok((
                v,
                serde_json::from_str(&op).map_err(|e| TaskError::Store(e.to_string()))?,
            ))
        })
        .collect()
    }

    /// Tables of a notebook with journal entries (their changes must be replayed on open).
    pub fn journaled_tables(&self, notebook: NotebookId) -> Result<Vec<String>, TaskError> {
        let conn = self.lock();
        let mut q =
            conn.prepare_cached("SELECT DISTINCT table_name FROM journal WHERE notebook = ?1")?;
        let rows = q.query_map([notebook.to_string()], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Removes the entries after `version`: replay could not apply them, and left in place they
    /// would replay (and fail) first after every later crash, ahead of newer entries that reuse
    /// their version numbers.
    pub fn journal_drop_after(
        &self,
        notebook: NotebookId,
        table: &str,
        version: u64,
    ) -> Result<usize, TaskError> {
        self.forget_unsynced(
            "DELETE FROM journal WHERE notebook = ?1 AND table_name = ?2 AND version > ?3",
            params![notebook.to_string(), table, version as i64],
        )
    }
}

//! Notebook drafts: the newest unsaved state of each notebook, made durable before the edit
//! that produced it is acknowledged, deleted once `notebook.json` holds it, adopted at the next
//! start after a crash.
//!
//! One row per notebook (the whole document, a few KB), so a burst of keystrokes leaves one
//! row, and saves are group-committed: callers that arrive while a commit is syncing wait for
//! the next one, which carries all of them in one transaction (one WAL sync for the burst).

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use rusqlite::params;

use super::{now_ms, TaskError, TaskStore};
use crate::ids::NotebookId;
use crate::notebooks::{Draft, DraftStore};

type Outcome = Arc<OnceLock<Result<(), String>>>;

/// Saves waiting for the next group commit, and whether one is running.
#[derive(Default)]
pub(super) struct GroupCommit {
    state: Mutex<Queued>,
    settled: Condvar,
}

#[derive(Default)]
struct Queued {
    rows: HashMap<NotebookId, Draft>,
    waiting: Vec<Outcome>,
    committing: bool,
}

impl TaskStore {
    /// Makes `row` durable (or fails). Concurrent callers share one transaction: the first one
    /// in commits everything queued while others wait for its outcome.
    /// A row is only ever replaced by a higher revision.
    pub fn draft_save(&self, row: Draft) -> Result<(), TaskError> {
        let group = &self.drafts;
        let mine: Outcome = Arc::default();
        let mut q = group.state.lock().unwrap_or_else(|p| p.into_inner());
        match q.rows.get(&row.notebook) {
            Some(queued) if queued.revision >= row.revision => {}
            _ => {
                q.rows.insert(row.notebook, row);
            }
        }
        q.waiting.push(mine.clone());
        loop {
            if let Some(outcome) = mine.get() {
                return outcome.clone().map_err(TaskError::Store);
            }
            if !q.committing {
                q.committing = true;
                let rows: Vec<Draft> = q.rows.drain().map(|(_, r)| r).collect();
                let waiting = std::mem::take(&mut q.waiting);
                drop(q);
                let outcome = self.write_drafts(&rows).map_err(|e| e.to_string());
                for w in waiting {
                    let _ = w.set(outcome.clone());
                }
                q = group.state.lock().unwrap_or_else(|p| p.into_inner());
                q.committing = false;
                group.settled.notify_all();
                continue;
            }
            q = group.settled.wait(q).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn write_drafts(&self, rows: &[Draft]) -> Result<(), TaskError> {
        self.synced(|conn| {
            let tx = conn.transaction()?;
            {
                let mut upsert = tx.prepare_cached(
                    "INSERT INTO drafts (notebook, revision, base, doc, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(notebook) DO UPDATE SET
                   revision = excluded.revision, base = excluded.base, doc = excluded.doc,
                   created_ms = excluded.created_ms
                 WHERE excluded.revision > drafts.revision",
                )?;
                for r in rows {
                    upsert.execute(params![
                        r.notebook.to_string(),
                        r.revision as i64,
                        r.base.as_ref().map(|b| b.as_slice()),
                        r.doc,
                        now_ms()
                    ])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// `notebook.json` now holds `revision`: drafts up to it are no longer needed.
    pub fn draft_trim(&self, notebook: NotebookId, revision: u64) -> Result<usize, TaskError> {
        self.forget_unsynced(
            "DELETE FROM drafts WHERE notebook = ?1 AND revision <= ?2",
            params![notebook.to_string(), revision as i64],
        )
    }

    /// The notebook was deleted, or its file replaced what was in memory: its draft must never
    /// be adopted.
    pub fn draft_forget(&self, notebook: NotebookId) -> Result<usize, TaskError> {
        self.forget_synced(
            "DELETE FROM drafts WHERE notebook = ?1",
            params![notebook.to_string()],
        )
    }

    /// Every draft, for adopting them at start.
    pub fn drafts(&self) -> Result<Vec<Draft>, TaskError> {
        let conn = self.lock();
        let mut q = conn.prepare_cached("SELECT notebook, revision, base, doc FROM drafts")?;
        let rows = q.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<Vec<u8>>>(2)?,
                r.get::<_, Vec<u8>>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (notebook, revision, base, doc) = row?;
            let Ok(notebook) = notebook.parse().map(NotebookId) else {
                log::warn!("ignoring a draft for {notebook:?}, which is not a notebook id");
                continue;
            };
            out.push(Draft {
                notebook,
                revision: revision.max(0) as u64,
                base: base.and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok()),
                doc,
            });
        }
        Ok(out)
    }
}

/// The notebooks' drafts live here, beside the table journal: one database, one WAL, one sync
/// per group commit for both.
impl DraftStore for TaskStore {
    fn save(&self, draft: Draft) -> Result<(), String> {
        self.draft_save(draft).map_err(|e| e.to_string())
    }

    fn trim(&self, notebook: NotebookId, revision: u64) -> Result<(), String> {
        self.draft_trim(notebook, revision)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    fn forget(&self, notebook: NotebookId) -> Result<(), String> {
        self.draft_forget(notebook)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    fn all(&self) -> Result<Vec<Draft>, String> {
        self.drafts().map_err(|e| e.to_string())
    }
}

//! The notebooks' drafts live in the task store, beside the table journal: one database, one
//! WAL, one sync per group commit for both.

use crate::notebooks::{Draft, DraftStore, NotebookId};
use crate::tasks::{DraftRow, TaskStore};

impl DraftStore for TaskStore {
    fn save(&self, d: Draft) -> Result<(), String> {
        self.draft_save(DraftRow {
            notebook: d.notebook,
            revision: d.revision,
            base: d.base,
            doc: d.doc,
        })
        .map_err(|e| e.to_string())
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
        Ok(self
            .drafts()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|r| Draft {
                notebook: r.notebook,
                revision: r.revision,
                base: r.base,
                doc: r.doc,
            })
            .collect())
    }
}

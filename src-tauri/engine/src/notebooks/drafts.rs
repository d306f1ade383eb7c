//! Drafts: every acknowledged notebook edit is durable before its call returns, long before the
//! batched writer puts it in `notebook.json`. After each edit the notebook's whole document goes
//! to a [`DraftStore`] (the engine's task store, group-committed); a write of `notebook.json`
//! trims it; at the next start a draft newer than the file is adopted as unsaved edits.

use std::time::Instant;

use super::disk::{self, Loaded};
use super::model::{Document, NotebookId};
use super::naming::same_title;
use super::state::{Entry, Hold};

/// A notebook's unsaved state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub notebook: NotebookId,
    /// The notebook's edit counter when this was captured: a newer draft has a higher one.
    pub revision: u64,
    /// The hash of `notebook.json` this state was edited from (none: never written).
    pub base: Option<[u8; 32]>,
    /// The document as `notebook.json` would hold it.
    pub doc: Vec<u8>,
}

/// Where drafts are kept. `save` returns once the draft is durable.
pub trait DraftStore: Send + Sync {
    fn save(&self, draft: Draft) -> Result<(), String>;
    /// `notebook.json` holds `revision`: drafts up to it may go.
    fn trim(&self, notebook: NotebookId, revision: u64) -> Result<(), String>;
    /// The notebook is gone, or its file replaced what was in memory.
    fn forget(&self, notebook: NotebookId) -> Result<(), String>;
    fn all(&self) -> Result<Vec<Draft>, String>;
}

/// The draft of an entry as it is now.
pub(super) fn capture(entry: &Entry) -> Draft {
    Draft {
        notebook: entry.id(),
        revision: entry.revision,
        base: entry.disk_hash.map(|h| *h.as_bytes()),
        doc: entry.doc.to_bytes(),
    }
}

/// What adopting the drafts found, for the log and the recovery notice.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Adopted {
    /// Notebooks whose unsaved edits came back.
    pub notebooks: usize,
    /// Of those, notebooks whose file had also changed outside Quire: the user chooses.
    pub conflicts: usize,
}

/// Applies the drafts a previous run left to the entries just loaded from disk. A draft equal
/// to its file is stale (the write landed, the trim did not) and is forgotten.
pub(super) fn adopt(
    entries: &mut Vec<Entry>,
    drafts: Vec<Draft>,
    store: &dyn DraftStore,
) -> Adopted {
    let mut adopted = Adopted::default();
    let now = Instant::now();
    for draft in drafts {
        let doc = match disk::parse(&draft.doc) {
            Loaded::Ok { doc, .. } => Document {
                id: draft.notebook,
                ..doc
            },
            Loaded::Unreadable { message } => {
                log::error!(
                    "the draft of notebook {} cannot be read: {message}",
                    draft.notebook
                );
                continue;
            }
            Loaded::Empty => continue,
        };
        let existing = entries.iter_mut().find(|e| e.id() == draft.notebook);
        let entry = match existing {
            Some(e) if matches!(e.hold, Some(Hold::Unreadable(_))) => {
                // Its file cannot be read now; keep the draft until it can.
                log::warn!(
                    "notebook {} has a draft but its file is unreadable",
                    draft.notebook
                );
                continue;
            }
            Some(e) if e.doc.to_bytes() == draft.doc => {
                if let Err(err) = store.forget(draft.notebook) {
                    log::warn!(
                        "could not drop the saved draft of {}: {err}",
                        draft.notebook
                    );
                }
                continue;
            }
            Some(e) => {
                if e.disk_hash.map(|h| *h.as_bytes()) != draft.base {
                    e.hold = Some(Hold::ChangedOnDisk);
                    adopted.conflicts += 1;
                }
                e.doc = doc;
                e
            }
            None => {
                let mut doc = doc;
                let base = doc.title.clone();
                let taken = |t: &str| entries.iter().any(|e| same_title(&e.doc.title, t));
                if taken(&base) {
                    doc.title = (2..)
                        .map(|n| format!("{base} (recovered {n})"))
                        .find(|t| !taken(t))
                        .expect("an unbounded range always finds a free title");
                }
                entries.push(Entry::new_in_memory(doc));
                entries.last_mut().expect("just pushed")
            }
        };
        // Unsaved: the writer writes it as if the edits had just been made, and later drafts
        // of it keep counting up from this one's revision.
        entry.revision = draft.revision.max(1);
        entry.saved_revision = 0;
        entry.pending_since = Some(now);
        entry.last_edit = Some(now);
        entry.announced = None;
        adopted.notebooks += 1;
    }
    adopted
}

//! In-memory notebook state and the bookkeeping that decides when each one is written.
//!
//! Every edit bumps `revision`; a write records the revision it captured in `saved_revision`.
//! `pending_since` is the time of the oldest edit no write has captured yet: the max-wait bound
//! counts from it, so a steady stream of edits cannot postpone a write forever (the quiet-time
//! timer alone would starve).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::config::NotebookConfig;
use super::model::{Document, NotebookId};

pub use crate::save_state::SaveState;

/// Why a notebook is held back from writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// The file on disk is corrupt or from a newer Quire: never overwrite it.
    Unreadable(String),
    /// The file changed under us: wait for the user's choice.
    ChangedOnDisk,
}

pub struct Entry {
    pub doc: Document,
    /// The folder name inside the workspace, reserved at the first write.
    pub folder: Option<String>,
    /// `notebook.json` exists (written by Quire or read from disk).
    pub on_disk: bool,
    /// The save state last reported to listeners, so only changes are reported.
    pub announced: Option<SaveState>,
    pub revision: u64,
    pub saved_revision: u64,
    pub pending_since: Option<Instant>,
    pub last_edit: Option<Instant>,
    /// Hash of `notebook.json` as Quire last wrote or read it.
    pub disk_hash: Option<blake3::Hash>,
    pub hold: Option<Hold>,
    /// After a failed write: not before this instant, and the message to show.
    pub failure: Option<(Instant, String)>,
    pub failures_in_a_row: u32,
    pub writing: bool,
    /// Serialises writes of this notebook so an older capture never lands after a newer one.
    pub write_lock: Arc<std::sync::Mutex<()>>,
}

impl Entry {
    pub fn new_in_memory(doc: Document) -> Entry {
        Entry {
            doc,
            folder: None,
            on_disk: false,
            announced: None,
            revision: 0,
            saved_revision: 0,
            pending_since: None,
            last_edit: None,
            disk_hash: None,
            hold: None,
            failure: None,
            failures_in_a_row: 0,
            writing: false,
            write_lock: Arc::default(),
        }
    }

    pub fn loaded(doc: Document, folder: String, hash: blake3::Hash) -> Entry {
        let announced = Some(SaveState::Saved);
        Entry {
            folder: Some(folder),
            on_disk: true,
            disk_hash: Some(hash),
            announced,
            ..Entry::new_in_memory(doc)
        }
    }

    pub fn unreadable(doc: Document, folder: String, message: String) -> Entry {
        Entry {
            folder: Some(folder),
            on_disk: true,
            hold: Some(Hold::Unreadable(message)),
            ..Entry::new_in_memory(doc)
        }
    }

    pub fn id(&self) -> NotebookId {
        self.doc.id
    }

    /// Unsaved edits, or never written at all.
    pub fn dirty(&self) -> bool {
        self.revision != self.saved_revision
    }

    pub fn mark_edited(&mut self, now: Instant) {
        self.revision += 1;
        self.last_edit = Some(now);
        self.pending_since.get_or_insert(now);
    }

    pub fn status(&self) -> SaveState {
        match &self.hold {
            Some(Hold::Unreadable(message)) => {
                return SaveState::Unreadable {
                    message: message.clone(),
                }
            }
            Some(Hold::ChangedOnDisk) => return SaveState::ChangedOnDisk,
            None => {}
        }
        if self.writing {
            SaveState::Saving
        } else if let Some((_, message)) = &self.failure {
            SaveState::Failed {
                message: message.clone(),
            }
        } else if self.dirty() {
            SaveState::Unsaved
        } else {
            SaveState::Saved
        }
    }

    /// When the background writer should write this notebook, if it should at all.
    pub fn due_at(&self, config: &NotebookConfig) -> Option<Instant> {
        if !config.auto_flush || !self.dirty() || self.hold.is_some() || self.writing {
            return None;
        }
        let pending_since = self.pending_since?;
        let quiet =
            self.last_edit.unwrap_or(pending_since) + Duration::from_millis(config.flush_delay_ms);
        let bound = pending_since + Duration::from_millis(config.max_wait_ms);
        let due = quiet.min(bound);
        Some(match &self.failure {
            Some((retry_at, _)) => due.max(*retry_at),
            None => due,
        })
    }
}

/// How long to wait before retrying after `failures` failed writes in a row: 1 s doubling to 30 s.
pub fn retry_backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.saturating_sub(1).min(5)).min(Duration::from_secs(30))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(flush_delay_ms: u64, max_wait_ms: u64) -> NotebookConfig {
        NotebookConfig {
            flush_delay_ms,
            max_wait_ms,
            auto_flush: true,
            lazy_hydration: true,
        }
    }

    #[test]
    fn quiet_time_or_max_wait_whichever_comes_first() {
        let t0 = Instant::now();
        let mut e = Entry::new_in_memory(Document::new("t".into()));
        let c = config(100, 1000);
        assert_eq!(e.due_at(&c), None, "clean: nothing to write");
        e.mark_edited(t0);
        assert_eq!(e.due_at(&c), Some(t0 + Duration::from_millis(100)));
        // Edits every 50 ms keep pushing the quiet time, but never past the max wait.
        for i in 1..=40 {
            e.mark_edited(t0 + Duration::from_millis(50 * i));
        }
        assert_eq!(e.due_at(&c), Some(t0 + Duration::from_millis(1000)));
        assert_eq!(e.status(), SaveState::Unsaved);
    }

    #[test]
    fn manual_held_and_failed_entries() {
        let t0 = Instant::now();
        let mut e = Entry::new_in_memory(Document::new("t".into()));
        e.mark_edited(t0);
        let manual = NotebookConfig {
            auto_flush: false,
            ..config(1000, 1000)
        };
        assert_eq!(e.due_at(&manual), None, "manual mode: only flush writes");
        e.failure = Some((t0 + Duration::from_secs(5), "disk full".into()));
        assert_eq!(
            e.due_at(&config(100, 1000)),
            Some(t0 + Duration::from_secs(5))
        );
        assert_eq!(
            e.status(),
            SaveState::Failed {
                message: "disk full".into()
            }
        );
        e.hold = Some(Hold::ChangedOnDisk);
        assert_eq!(e.due_at(&config(100, 1000)), None);
        assert_eq!(e.status(), SaveState::ChangedOnDisk);
    }

    #[test]
    fn backoff_doubles_to_a_cap() {
        assert_eq!(retry_backoff(1), Duration::from_secs(1));
        assert_eq!(retry_backoff(2), Duration::from_secs(2));
        assert_eq!(retry_backoff(4), Duration::from_secs(8));
        assert_eq!(retry_backoff(50), Duration::from_secs(30));
    }
}

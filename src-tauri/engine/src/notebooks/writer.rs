//! Writing notebooks: the one write procedure every path uses (background writer, flush,
//! write-through edits, shutdown), and the background writer thread that batches edits.

use std::sync::Arc;
use std::time::Instant;

use super::disk;
use super::model::{NotebookId, FILE_NAME};
use super::naming::free_folder_name;
use super::state::{retry_backoff, Hold};
use super::{NotebookError, Shared};
use crate::durable;

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The file now holds this revision.
    Yes,
    /// Nothing was pending: the file already held the latest revision.
    AlreadySaved,
}

struct Capture {
    bytes: Vec<u8>,
    revision: u64,
    folder: String,
    expected_hash: Option<blake3::Hash>,
    pending_since: Option<Instant>,
}

/// Writes the notebook's current document if it has unsaved edits or was never written.
///
/// Writes of one notebook are serialised by its `write_lock`, and the document is captured
/// after taking it, so a write never replaces a newer revision with an older one.
pub fn write_one(shared: &Shared, id: NotebookId) -> Result<Written, NotebookError> {
    let write_lock = shared.with_entry(id, |e| Ok(e.write_lock.clone()))?;
    let _serialised = write_lock.lock().unwrap_or_else(|p| p.into_inner());

    let capture = {
        let mut st = shared.lock();
        let taken: Vec<String> = st.entries.iter().filter_map(|e| e.folder.clone()).collect();
        let root = shared.workspace.root().to_path_buf();
        let entry = st.entry_mut(id)?;
        match &entry.hold {
            Some(Hold::Unreadable(m)) => return Err(NotebookError::Unreadable(m.clone())),
            Some(Hold::ChangedOnDisk) => {
                return Err(NotebookError::ChangedOnDisk(entry.doc.title.clone()))
            }
            None => {}
        }
        if !entry.dirty() && entry.on_disk {
            return Ok(Written::AlreadySaved);
        }
        let folder = entry.folder.get_or_insert_with(|| {
            free_folder_name(&entry.doc.title, |n| {
                taken.iter().any(|t| t == n) || root.join(n).exists()
            })
        });
        let capture = Capture {
            bytes: entry.doc.to_bytes(),
            revision: entry.revision,
            folder: folder.clone(),
            expected_hash: entry.disk_hash,
            pending_since: entry.pending_since.take(),
        };
        entry.writing = true;
        shared.announce(entry);
        capture
    };

    let result = write_capture(shared, &capture);

    let mut st = shared.lock();
    let Ok(entry) = st.entry_mut(id) else {
        return result.map(|()| Written::Yes); // deleted while writing: nothing to record
    };
    entry.writing = false;
    let outcome = match result {
        Ok(()) => {
            // Every edit since the last write rode along in this one.
            let covered = capture.revision.saturating_sub(entry.saved_revision);
            shared.metrics.record_content_write(covered);
            entry.saved_revision = entry.saved_revision.max(capture.revision);
            entry.disk_hash = Some(blake3::hash(&capture.bytes));
            entry.on_disk = true;
            entry.failure = None;
            entry.failures_in_a_row = 0;
            log::info!(
                "saved notebook {id} revision {} to {}",
                capture.revision,
                capture.folder
            );
            Ok(Written::Yes)
        }
        Err(e) => {
            if let NotebookError::Durable(durable::DurableError::Unsure { .. }) = e {
                // Committed, unsure: the new file is in place though its folder did not sync.
                // It is what Quire last wrote, so the retry must not take it for a change made
                // outside Quire; the retry writes it again and syncs the folder.
                entry.disk_hash = Some(blake3::hash(&capture.bytes));
                entry.on_disk = true;
            }
            // The edits are still in memory: the pending clock restarts from the oldest of them.
            entry.pending_since = match (capture.pending_since, entry.pending_since) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if let NotebookError::ChangedOnDisk(_) = e {
                entry.hold = Some(Hold::ChangedOnDisk);
                log::warn!("notebook {id} changed on disk; waiting for reload or keep-mine");
            } else {
                entry.failures_in_a_row += 1;
                let retry_at = Instant::now() + retry_backoff(entry.failures_in_a_row);
                entry.failure = Some((retry_at, e.to_string()));
                log::error!(
                    "saving notebook {id} failed (attempt {}): {e}",
                    entry.failures_in_a_row
                );
            }
            Err(e)
        }
    };
    shared.announce(entry);
    drop(st);
    shared.wake.notify_all();
    if let (Ok(Written::Yes), Some(drafts)) = (&outcome, &shared.drafts) {
        // A failed trim leaves a draft equal to the file, forgotten at the next start.
        if let Err(e) = drafts.trim(id, capture.revision) {
            log::warn!("could not drop the saved draft of notebook {id}: {e}");
        }
    }
    outcome
}

fn write_capture(shared: &Shared, c: &Capture) -> Result<(), NotebookError> {
    let root = shared.workspace.root();
    let dir = shared.workspace.resolve(std::path::Path::new(&c.folder))?;
    disk::ensure_dir(root, &dir)
        .map_err(|e| NotebookError::Io(format!("could not create {}: {e}", dir.display())))?;
    if let Some(expected) = c.expected_hash {
        let current = disk::read_current(&dir).map_err(|e| {
            NotebookError::Io(format!(
                "could not read {}: {e}",
                dir.join(FILE_NAME).display()
            ))
        })?;
        // A missing file is written again from memory; only different content is a conflict.
        if current.is_some_and(|bytes| blake3::hash(&bytes) != expected) {
            return Err(NotebookError::ChangedOnDisk(c.folder.clone()));
        }
    }
    durable::write_atomic(&dir.join(FILE_NAME), &c.bytes, &shared.metrics)?;
    Ok(())
}

/// The background writer: sleeps until the earliest notebook is due (quiet time or max wait),
/// writes every due notebook, and repeats until told to stop. Never polls.
pub fn run(shared: Arc<Shared>) {
    let mut st = shared.lock();
    loop {
        if st.stopping {
            return;
        }
        let now = Instant::now();
        let mut due = Vec::new();
        let mut next: Option<Instant> = None;
        for entry in &st.entries {
            match entry.due_at(&st.config) {
                Some(at) if at <= now => due.push(entry.id()),
                Some(at) => next = Some(next.map_or(at, |n| n.min(at))),
                None => {}
            }
        }
        if !due.is_empty() {
            drop(st);
            for id in due {
                // Failures are recorded on the entry (status, retry time) and logged there.
                let _ = write_one(&shared, id);
            }
            st = shared.lock();
            continue;
        }
        st = match next {
            Some(at) => {
                shared
                    .wake
                    .wait_timeout(st, at - now)
                    .unwrap_or_else(|p| p.into_inner())
                    .0
            }
            None => shared.wake.wait(st).unwrap_or_else(|p| p.into_inner()),
        };
    }
}

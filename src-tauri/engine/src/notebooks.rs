//! Notebooks: Quire's documents, an ordered list of SQL and Markdown cells with a title.
//!
//! A notebook is created in memory and touches no disk until it is hydrated (first flush, first
//! cell run, or opened from disk). The on-disk format, batched writes and flush arrive with the
//! notebooks issue; this module already owns the rules for titles and ids.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ErrorCode, HasCode};

/// Longest title accepted, in characters.
pub const MAX_TITLE_CHARS: usize = 120;

#[derive(Debug, thiserror::Error)]
pub enum NotebookError {
    #[error("a notebook needs a title")]
    EmptyTitle,
    #[error("a title can have at most {MAX_TITLE_CHARS} characters")]
    TitleTooLong,
    #[error("a title cannot contain {0:?}")]
    ForbiddenCharacter(char),
    #[error("there is no notebook with id {0}")]
    NotFound(NotebookId),
}

impl HasCode for NotebookError {
    fn code(&self) -> ErrorCode {
        match self {
            NotebookError::EmptyTitle
            | NotebookError::TitleTooLong
            | NotebookError::ForbiddenCharacter(_) => ErrorCode::InvalidTitle,
            NotebookError::NotFound(_) => ErrorCode::NotebookNotFound,
        }
    }
}

/// A notebook's identity, stable across renames.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, specta::Type,
)]
#[serde(transparent)]
pub struct NotebookId(pub Uuid);

impl std::fmt::Display for NotebookId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What the sidebar shows of a notebook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct NotebookSummary {
    pub id: NotebookId,
    pub title: String,
    pub cell_count: u32,
    /// Whether the notebook has a folder on disk yet.
    pub hydrated: bool,
}

/// Trims a title and checks it can name a folder on every platform.
pub fn validate_title(raw: &str) -> Result<String, NotebookError> {
    let title = raw.trim();
    if title.is_empty() {
        return Err(NotebookError::EmptyTitle);
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(NotebookError::TitleTooLong);
    }
    if let Some(c) = title
        .chars()
        .find(|c| c.is_control() || "/\\:*?\"<>|".contains(*c))
    {
        return Err(NotebookError::ForbiddenCharacter(c));
    }
    Ok(title.to_string())
}

#[derive(Debug)]
struct Notebook {
    id: NotebookId,
    title: String,
    hydrated: bool,
}

impl Notebook {
    fn summary(&self) -> NotebookSummary {
        NotebookSummary {
            id: self.id,
            title: self.title.clone(),
            cell_count: 0,
            hydrated: self.hydrated,
        }
    }
}

/// The open notebooks, in creation order.
#[derive(Debug, Default)]
pub struct Notebooks {
    open: Mutex<Vec<Notebook>>,
}

impl Notebooks {
    /// Creates a notebook in memory only: no folder, no file.
    pub fn create(&self, title: &str) -> Result<NotebookSummary, NotebookError> {
        let title = validate_title(title)?;
        let notebook = Notebook {
            id: NotebookId(Uuid::now_v7()),
            title,
            hydrated: false,
        };
        let summary = notebook.summary();
        self.lock().push(notebook);
        Ok(summary)
    }

    pub fn list(&self) -> Vec<NotebookSummary> {
        self.lock().iter().map(Notebook::summary).collect()
    }

    pub fn get(&self, id: NotebookId) -> Result<NotebookSummary, NotebookError> {
        self.lock()
            .iter()
            .find(|n| n.id == id)
            .map(Notebook::summary)
            .ok_or(NotebookError::NotFound(id))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Notebook>> {
        // A panic while holding this lock cannot leave a half-updated Vec (every mutation is a
        // single push), so a poisoned lock is still consistent.
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_checked() {
        assert_eq!(validate_title("  Sales 2026 ").unwrap(), "Sales 2026");
        assert!(matches!(
            validate_title("   "),
            Err(NotebookError::EmptyTitle)
        ));
        assert!(matches!(
            validate_title("a/b"),
            Err(NotebookError::ForbiddenCharacter('/'))
        ));
        assert!(matches!(
            validate_title("a\\b"),
            Err(NotebookError::ForbiddenCharacter('\\'))
        ));
        assert!(matches!(
            validate_title("tab\there"),
            Err(NotebookError::ForbiddenCharacter('\t'))
        ));
        let long = "x".repeat(MAX_TITLE_CHARS + 1);
        assert!(matches!(
            validate_title(&long),
            Err(NotebookError::TitleTooLong)
        ));
        assert_eq!(validate_title("Ünïcødé ✓").unwrap(), "Ünïcødé ✓");
    }

    #[test]
    fn create_list_get() {
        let books = Notebooks::default();
        let a = books.create("First").unwrap();
        let b = books.create("Second").unwrap();
        assert!(!a.hydrated);
        let titles: Vec<_> = books.list().into_iter().map(|s| s.title).collect();
        assert_eq!(titles, ["First", "Second"]);
        assert_eq!(books.get(b.id).unwrap().title, "Second");
        let missing = NotebookId(Uuid::nil());
        assert_eq!(
            books.get(missing).unwrap_err().code(),
            ErrorCode::NotebookNotFound
        );
    }
}

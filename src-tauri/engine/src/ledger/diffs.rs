//! Diffs between two versions of a table, and the pages of them the UI shows.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::Ledger;
use crate::error::Error;
use crate::ids::NotebookId;
use crate::queue::{JobKind, Priority};
use crate::tables::diff::{self, DiffKind, DiffSummary, TableDiff};
use crate::tables::history::HistoryItem;
use crate::tables::{TableError, TableVersion};

/// A table's history list and whether undo / redo can move.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct TableVersions {
    pub items: Vec<HistoryItem>,
    pub can_undo: bool,
    pub can_redo: bool,
}

/// One row of a diff: its id, what happened to it, the columns that changed, and its values
/// in the old and new versions (None where the row is absent), as display text.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct DiffRow {
    pub row_id: u64,
    pub kind: DiffKind,
    pub changed: Vec<String>,
    pub old: Option<Vec<Option<String>>>,
    pub new: Option<Vec<Option<String>>>,
}

/// A page of a diff, fetched on demand by joining row ids with the two versions.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct DiffPage {
    pub old_columns: Vec<String>,
    pub new_columns: Vec<String>,
    /// Rows in the whole diff.
    pub total: u64,
    pub offset: u64,
    pub rows: Vec<DiffRow>,
}

/// What a transform would do, shown before it is applied.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct TransformPreview {
    pub sql: String,
    pub summary: DiffSummary,
    /// The first affected rows, old and new values side by side.
    pub sample: DiffPage,
}

type DiffKey = (NotebookId, String, u64, u64);

/// The last few diffs and diff pages, so paging back and forth does not compute again.
#[derive(Default)]
pub(super) struct RecentDiffs {
    diffs: VecDeque<(DiffKey, Arc<TableDiff>)>,
    pages: VecDeque<((DiffKey, u64, u64), Arc<DiffPage>)>,
}

/// A page of `d` with the values of each row in `old` and `new`.
pub(super) fn diff_page(
    d: &TableDiff,
    old: &TableVersion,
    new: &TableVersion,
    offset: u64,
    limit: u64,
) -> Result<DiffPage, TableError> {
    let ids = d.page_ids(offset, limit);
    let just_ids: Vec<u64> = ids.iter().map(|(id, _)| *id).collect();
    let old_rows = diff::display_rows(old, &diff::positions(old, &just_ids))?;
    let new_rows = diff::display_rows(new, &diff::positions(new, &just_ids))?;
    let names = |v: &TableVersion| v.schema.fields().iter().map(|f| f.name().clone()).collect();
    Ok(DiffPage {
        old_columns: names(old),
        new_columns: names(new),
        total: d.len(),
        offset,
        rows: ids
            .into_iter()
            .zip(old_rows.into_iter().zip(new_rows))
            .map(|((row_id, kind), (old, new))| DiffRow {
                row_id,
                kind,
                changed: d.changed_columns(row_id),
                old,
                new,
            })
            .collect(),
    })
}

impl Ledger {
    pub(super) fn forget_diffs(&self, notebook: NotebookId, table: &str) {
        let mut recent = self.recent();
        recent
            .diffs
            .retain(|((n, t, _, _), _)| !(*n == notebook && t == table));
        recent
            .pages
            .retain(|(((n, t, _, _), _, _), _)| !(*n == notebook && t == table));
    }

    fn recent(&self) -> std::sync::MutexGuard<'_, RecentDiffs> {
        self.diffs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A version of the table by number: the current one, or one its history keeps.
    fn version_of(
        &self,
        notebook: NotebookId,
        table: &str,
        version: u64,
    ) -> Result<Arc<TableVersion>, Error> {
        let current = self.catalog.version(notebook, table)?;
        if current.version == version {
            return Ok(current);
        }
        self.histories
            .find(notebook, table, version)
            .ok_or_else(|| {
                TableError::VersionNotFound {
                    table: table.to_string(),
                    version,
                }
                .into()
            })
    }

    /// The diff between two versions of a table, computed once in the background (idle
    /// priority, cancellable) and kept among the last few.
    async fn diff_of(
        &self,
        notebook: NotebookId,
        table: &str,
        from: u64,
        to: u64,
        cancel: &CancellationToken,
    ) -> Result<(Arc<TableDiff>, Arc<TableVersion>, Arc<TableVersion>), Error> {
        let (old, new) = (
            self.version_of(notebook, table, from)?,
            self.version_of(notebook, table, to)?,
        );
        let key: DiffKey = (notebook, table.to_string(), from, to);
        if let Some((_, d)) = self.recent().diffs.iter().find(|(k, _)| k == &key) {
            return Ok((d.clone(), old, new));
        }
        let (a, b, cancel) = (old.clone(), new.clone(), cancel.clone());
        let job = self
            .scheduler
            .submit_blocking(Priority::Idle, JobKind::Diff, None, move |_| {
                Ok(diff::diff(&a, &b, &cancel))
            });
        let d = Arc::new(job.result().await??);
        let mut recent = self.recent();
        recent.diffs.push_front((key, d.clone()));
        recent.diffs.truncate(4);
        Ok((d, old, new))
    }

    /// What changed between two versions of a table: counts per kind and per column.
    pub async fn diff_versions(
        &self,
        notebook: NotebookId,
        table: &str,
        from: u64,
        to: u64,
        cancel: &CancellationToken,
    ) -> Result<DiffSummary, Error> {
        let (d, _, _) = self.diff_of(notebook, table, from, to, cancel).await?;
        Ok(d.summary(from, to))
    }

    /// Rows `[offset, offset + limit)` of a diff with their old and new values, fetched on
    /// demand (never a materialised diff table); recent pages are kept.
    pub async fn diff_page(
        &self,
        notebook: NotebookId,
        table: &str,
        from: u64,
        to: u64,
        offset: u64,
        limit: u64,
    ) -> Result<Arc<DiffPage>, Error> {
        let page_key = ((notebook, table.to_string(), from, to), offset, limit);
        if let Some((_, p)) = self.recent().pages.iter().find(|(k, _)| k == &page_key) {
            return Ok(p.clone());
        }
        let (d, old, new) = self
            .diff_of(notebook, table, from, to, &CancellationToken::new())
            .await?;
        let page = Arc::new(diff_page(&d, &old, &new, offset, limit.min(500))?);
        let mut recent = self.recent();
        recent.pages.push_front((page_key, page.clone()));
        recent.pages.truncate(16);
        Ok(page)
    }
}

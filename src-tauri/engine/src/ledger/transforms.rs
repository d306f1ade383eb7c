//! Transforms: computed in the background, previewed as a diff, applied as one step.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::diffs::{diff_page, TransformPreview};
use super::{Change, Ledger};
use crate::error::Error;
use crate::ids::NotebookId;
use crate::queue::{JobKind, Priority};
use crate::tables::diff;
use crate::tables::history::TableOp;
use crate::tables::transform::{self, Transform};
use crate::tables::TableVersion;

/// A computed but not yet applied transform: applying it right after its preview reuses it.
pub(super) struct PreviewedTransform {
    notebook: NotebookId,
    table: String,
    base: u64,
    transform: Transform,
    result: Arc<TableVersion>,
    /// Known once the preview's diff ran: applying then needs no second diff.
    changes_nothing: Option<bool>,
}

/// A transform's result beside the version it was computed from.
struct Computed {
    base: Arc<TableVersion>,
    result: Arc<TableVersion>,
    /// Whether the result equals `base`, when a preview already found out.
    changes_nothing: Option<bool>,
}

impl Ledger {
    pub(super) fn forget_preview(&self, notebook: NotebookId, table: &str) {
        let mut previewed = self.previewed();
        if previewed
            .as_ref()
            .is_some_and(|p| p.notebook == notebook && p.table == table)
        {
            *previewed = None;
        }
    }

    fn previewed(&self) -> std::sync::MutexGuard<'_, Option<PreviewedTransform>> {
        self.previewed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Computes `transform` over the table on the queue (user-visible: someone waits).
    async fn compute_transform(
        &self,
        notebook: NotebookId,
        table: &str,
        transform: &Transform,
        progress: Arc<dyn Fn(u64) + Send + Sync>,
        cancel: &CancellationToken,
    ) -> Result<Computed, Error> {
        let base = self.catalog.version(notebook, table)?;
        if let Some(p) = self.previewed().as_ref() {
            if p.notebook == notebook
                && p.table == table
                && p.base == base.version
                && &p.transform == transform
            {
                return Ok(Computed {
                    base,
                    result: p.result.clone(),
                    changes_nothing: p.changes_nothing,
                });
            }
        }
        let (input, t, cancel) = (base.clone(), transform.clone(), cancel.clone());
        let job = self.scheduler.submit_blocking(
            Priority::UserVisible,
            JobKind::Other,
            None,
            move |_| Ok(transform::apply(&input, &t, &*progress, &cancel)),
        );
        let result = Arc::new(job.result().await??);
        // The result is a second copy of what the transform changed, kept until it is applied
        // or another preview replaces it: it must fit what one table may hold, like the table.
        self.catalog
            .limits()
            .budget(format!("the transform of {table}"))
            .fits(crate::tables::history::bytes_beyond(&result, Some(&base)))?;
        *self.previewed() = Some(PreviewedTransform {
            notebook,
            table: table.to_string(),
            base: base.version,
            transform: transform.clone(),
            result: result.clone(),
            changes_nothing: None,
        });
        Ok(Computed {
            base,
            result,
            changes_nothing: None,
        })
    }

    /// What `transform` would change: the counts and the first affected rows. Runs in the
    /// background with progress (rows) and cancellation; the table does not change.
    pub async fn preview_transform(
        &self,
        notebook: NotebookId,
        table: &str,
        transform: &Transform,
        progress: Arc<dyn Fn(u64) + Send + Sync>,
        cancel: &CancellationToken,
    ) -> Result<TransformPreview, Error> {
        let Computed { base, result, .. } = self
            .compute_transform(notebook, table, transform, progress, cancel)
            .await?;
        let d = diff::diff(&base, &result, cancel)?;
        if let Some(p) = self.previewed().as_mut() {
            if Arc::ptr_eq(&p.result, &result) {
                p.changes_nothing = Some(d.changes_nothing());
            }
        }
        Ok(TransformPreview {
            sql: transform.to_sql(table),
            summary: d.summary(base.version, result.version),
            sample: diff_page(&d, &base, &result, 0, 20)?,
        })
    }

    /// Applies `transform` as a new version (reusing its preview when the table has not
    /// changed since). A cancelled transform leaves the table as it was.
    pub async fn apply_transform(
        &self,
        notebook: NotebookId,
        table: &str,
        transform: &Transform,
        progress: Arc<dyn Fn(u64) + Send + Sync>,
        cancel: &CancellationToken,
    ) -> Result<Arc<TableVersion>, Error> {
        let Computed {
            base,
            result,
            changes_nothing,
        } = self
            .compute_transform(notebook, table, transform, progress, cancel)
            .await?;
        *self.previewed() = None;
        // A transform that changes nothing (a date column cast to DATE, a trim of trimmed text)
        // makes no version: nothing to save, and no step in the history that undoes nothing.
        let changes_nothing = match changes_nothing {
            Some(known) => known,
            None => match diff::diff(&base, &result, cancel) {
                Ok(d) => d.changes_nothing(),
                Err(crate::tables::TableError::Cancelled) => {
                    return Err(crate::tables::TableError::Cancelled.into())
                }
                // Values the diff cannot compare (lists, structs) are no reason to refuse the
                // change.
                Err(_) => false,
            },
        };
        if changes_nothing {
            return Ok(base);
        }
        self.apply(
            notebook,
            table,
            &base,
            Change::Op {
                op: TableOp::Transform {
                    transform: transform.clone(),
                },
                next: TableVersion::clone(&result),
            },
        )
    }

    /// [`Ledger::apply_transform`] on the calling thread, for a retry from a command thread
    /// that may not start a runtime of its own.
    pub fn apply_transform_here(
        &self,
        notebook: NotebookId,
        table: &str,
        transform: Transform,
    ) -> Result<Arc<TableVersion>, Error> {
        let base = self.catalog.version(notebook, table)?;
        let next = transform::apply(&base, &transform, &|_| {}, &CancellationToken::new())?;
        self.apply(
            notebook,
            table,
            &base,
            Change::Op {
                op: TableOp::Transform { transform },
                next,
            },
        )
    }
}

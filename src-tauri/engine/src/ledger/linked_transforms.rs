//! Transforms of linked tables that remove rows ("keep rows where", "remove duplicates").
//!
//! Quire never writes a linked file, and a transform over 100M rows must not copy them: the
//! rows a transform removes are found over the link as edited, through DataFusion (streamed, a
//! duplicate search sorting under the memory pool and spilling), and kept as deleted rows
//! beside the files, like rows deleted by hand. The positions can be millions, so the change is
//! not journaled: it is saved at once (the edits file, then `links.json`), as an undo past the
//! saved edits is, and acknowledged only once saved. Transforms that change values or columns
//! stay refused: they need a copy (Copy into the notebook).

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, BooleanArray, RecordBatch, UInt64Array};
use datafusion::common::Column;
use datafusion::logical_expr::{lit, Expr};
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::StreamExt;
use roaring::RoaringTreemap;
use tokio_util::sync::CancellationToken;

use super::diffs::{DiffPage, DiffRow, TransformPreview};
use super::{Ledger, LinkedChange};
use crate::error::Error;
use crate::ids::NotebookId;
use crate::metrics::Metrics;
use crate::queue::{JobKind, Priority};
use crate::tables::diff::{self, DiffKind, DiffSummary};
use crate::tables::linked::Edits;
use crate::tables::sql::ident;
use crate::tables::table::ROW_ID_COLUMN;
use crate::tables::transform::{self, Transform};
use crate::tables::{LinkedTable, TableError, TableVersion};

/// Rows of a preview's sample.
const SAMPLE: usize = 20;

/// The rows a transform removes from a link, found over its edits at `version`.
pub(super) struct Removals {
    notebook: NotebookId,
    table: String,
    link: u64,
    version: u64,
    transform: Transform,
    rows: Arc<RoaringTreemap>,
}

impl Ledger {
    /// What `transform` would remove from link `table`: the count and the first rows. None
    /// when `table` is not a link.
    pub async fn preview_linked_transform(
        &self,
        notebook: NotebookId,
        table: &str,
        transform: &Transform,
        progress: Arc<dyn Fn(u64) + Send + Sync>,
        cancel: &CancellationToken,
    ) -> Result<Option<TransformPreview>, Error> {
        let Some(linked) = self.catalog.linked(notebook, table) else {
            return Ok(None);
        };
        let (edits, removed) = self
            .removals(notebook, table, &linked, transform, progress, cancel)
            .await?;
        let first: Vec<u64> = removed.iter().take(SAMPLE).collect();
        let rows = linked.rows_at(&edits, &first)?;
        let shown = TableVersion::first(linked.schema.clone(), vec![rows]);
        let at: Vec<Option<usize>> = (0..first.len()).map(Some).collect();
        let old = diff::display_rows(&shown, &at)?;
        let columns: Vec<String> = linked
            .schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        Ok(Some(TransformPreview {
            sql: transform.to_sql(table),
            summary: DiffSummary {
                from_version: edits.version,
                to_version: edits.version + 1,
                added: 0,
                removed: removed.len(),
                changed: 0,
                changed_by_column: Vec::new(),
                columns_added: Vec::new(),
                columns_removed: Vec::new(),
            },
            sample: DiffPage {
                old_columns: columns.clone(),
                new_columns: columns,
                total: removed.len(),
                offset: 0,
                rows: first
                    .iter()
                    .zip(old)
                    .map(|(&row_id, old)| DiffRow {
                        row_id,
                        kind: DiffKind::Removed,
                        changed: Vec::new(),
                        old,
                        new: None,
                    })
                    .collect(),
            },
        }))
    }

    /// Applies `transform` to link `table` (notebook folder `dir`) as deleted rows, saved
    /// before it is acknowledged; None when `table` is not a link.
    #[allow(clippy::too_many_arguments)]
    pub async fn apply_linked_transform(
        &self,
        notebook: NotebookId,
        dir: &Path,
        table: &str,
        transform: &Transform,
        progress: Arc<dyn Fn(u64) + Send + Sync>,
        cancel: &CancellationToken,
        metrics: &Metrics,
    ) -> Result<Option<LinkedChange>, Error> {
        let Some(linked) = self.catalog.linked(notebook, table) else {
            return Ok(None);
        };
        let (edits, removed) = self
            .removals(notebook, table, &linked, transform, progress, cancel)
            .await?;
        let _commit = self.lock_commit();
        let now = self.catalog.linked(notebook, table);
        let current = now
            .as_ref()
            .filter(|now| now.id == linked.id)
            .map(|now| now.edits.current());
        if current.is_none_or(|c| c.version != edits.version) {
            return Err(TableError::InvalidValue {
                column: String::new(),
                message: format!(
                    "{table} changed while the transform ran; run it again to apply it to the table as it is now"
                ),
            }
            .into());
        }
        *self.linked_previewed() = None;
        let next = edits.without(linked.rows, RoaringTreemap::clone(&removed))?;
        self.save_locked(notebook, dir, table, &linked, &next, metrics)?;
        let now = linked.edits.push(next);
        log::info!(
            "{} on the linked table {table} of notebook {notebook}: {} rows deleted (version {})",
            transform.label(),
            removed.len(),
            now.version
        );
        Ok(Some(LinkedChange {
            info: self.linked_changed(notebook, table, &linked),
            save_now: false,
            cells: now.len() as u64,
        }))
    }

    fn linked_previewed(&self) -> std::sync::MutexGuard<'_, Option<Removals>> {
        self.linked_previewed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The rows `transform` removes from `linked` as edited now, and those edits; reused from
    /// the preview when nothing changed since.
    async fn removals(
        &self,
        notebook: NotebookId,
        table: &str,
        linked: &Arc<LinkedTable>,
        transform: &Transform,
        progress: Arc<dyn Fn(u64) + Send + Sync>,
        cancel: &CancellationToken,
    ) -> Result<(Arc<Edits>, Arc<RoaringTreemap>), Error> {
        let edits = linked.edits.current();
        if let Some(p) = self.linked_previewed().as_ref() {
            if p.notebook == notebook
                && p.table == table
                && p.link == linked.id
                && p.version == edits.version
                && &p.transform == transform
            {
                return Ok((edits, p.rows.clone()));
            }
        }
        let query = RemovalQuery::new(linked, transform)?;
        let (input, limits, cancel) = (
            linked.clone(),
            self.catalog.limits().clone(),
            cancel.clone(),
        );
        let job = self.scheduler.submit(
            Priority::UserVisible,
            JobKind::Other,
            None,
            move |token| async move {
                Ok(query
                    .run(&input, &limits, &*progress, &cancel, &token)
                    .await)
            },
        );
        let removed = Arc::new(job.result().await??);
        // The scan read the edits current when it started: the same ones, or it ran again.
        if linked.edits.current().version != edits.version {
            return Err(TableError::InvalidValue {
                column: String::new(),
                message: format!(
                    "{table} changed while the transform ran; run it again to apply it to the table as it is now"
                ),
            }
            .into());
        }
        *self.linked_previewed() = Some(Removals {
            notebook,
            table: table.to_string(),
            link: linked.id,
            version: edits.version,
            transform: transform.clone(),
            rows: removed.clone(),
        });
        Ok((edits, removed))
    }
}

/// How the rows a transform removes are found: a column per row saying whether it goes.
enum RemovalQuery {
    /// Rows for which the condition is not true (NULL removes, as in SQL's WHERE).
    Filter(String),
    /// Every row after the first (in file order) of its group of equal `columns`.
    Duplicates(Vec<String>),
}

impl RemovalQuery {
    fn new(linked: &LinkedTable, transform: &Transform) -> Result<RemovalQuery, TableError> {
        match transform {
            Transform::FilterRows { predicate } => {
                transform::check_condition(&linked.schema, predicate)?;
                Ok(RemovalQuery::Filter(predicate.clone()))
            }
            Transform::RemoveDuplicates { columns } => {
                let keys = transform::duplicate_keys(&linked.schema, columns)?;
                Ok(RemovalQuery::Duplicates(
                    keys.iter()
                        .map(|&i| linked.schema.field(i).name().clone())
                        .collect(),
                ))
            }
            other => Err(TableError::InvalidValue {
                column: String::new(),
                message: format!(
                    "a linked table is read where it lies, so \"{}\" cannot change it; keep rows \
                     and remove duplicates can, and Copy into the notebook makes a copy every \
                     transform can change",
                    other.label()
                ),
            }),
        }
    }

    /// The positions of the rows that go, streamed under the memory pool; `progress` hears the
    /// rows looked at.
    async fn run(
        &self,
        linked: &Arc<LinkedTable>,
        limits: &crate::tables::limits::Limits,
        progress: &(dyn Fn(u64) + Send + Sync),
        cancel: &CancellationToken,
        job: &CancellationToken,
    ) -> Result<RoaringTreemap, TableError> {
        let mut config = SessionConfig::new();
        limits.tune(&mut config);
        let ctx = SessionContext::new_with_config_rt(config, limits.runtime());
        ctx.register_table("source", linked.provider_with_ids()?)?;
        let frame = match self {
            RemovalQuery::Filter(predicate) => {
                let frame = ctx.table("source").await?;
                // Parsed as one expression (never spliced into a statement).
                let keep = frame.parse_sql_expr(predicate)?;
                let goes = Expr::Not(Box::new(datafusion::functions::expr_fn::coalesce(vec![
                    keep,
                    lit(false),
                ])));
                frame.select(vec![
                    Expr::Column(Column::new_unqualified(ROW_ID_COLUMN)),
                    goes.alias("goes"),
                ])?
            }
            RemovalQuery::Duplicates(columns) => {
                let keys = columns
                    .iter()
                    .map(|c| ident(c))
                    .collect::<Vec<_>>()
                    .join(", ");
                let id = ident(ROW_ID_COLUMN);
                ctx.sql(&format!(
                    "SELECT {id}, row_number() OVER (PARTITION BY {keys} ORDER BY {id}) > 1 AS goes FROM source"
                ))
                .await?
            }
        };
        let mut stream = frame
            .execute_stream()
            .await
            .map_err(|e| exhausted(limits, e))?;
        let mut removed = RoaringTreemap::new();
        let mut seen = 0u64;
        while let Some(batch) = stream.next().await {
            if cancel.is_cancelled() || job.is_cancelled() {
                return Err(TableError::Cancelled);
            }
            let batch: RecordBatch = batch.map_err(|e| exhausted(limits, e))?;
            let (Some(ids), Some(goes)) = (
                batch.column(0).as_any().downcast_ref::<UInt64Array>(),
                batch.column(1).as_any().downcast_ref::<BooleanArray>(),
            ) else {
                return Err(TableError::Persist(
                    "internal: the transform lost its row ids".into(),
                ));
            };
            for i in 0..batch.num_rows() {
                if goes.is_valid(i) && goes.value(i) {
                    removed.insert(ids.value(i));
                }
            }
            seen += batch.num_rows() as u64;
            progress(seen);
        }
        Ok(removed)
    }
}

/// A DataFusion failure in words: `too_large` naming the setting when memory ran out.
fn exhausted(
    limits: &crate::tables::limits::Limits,
    e: datafusion::error::DataFusionError,
) -> TableError {
    limits.exhausted(&e).unwrap_or_else(|| e.into())
}

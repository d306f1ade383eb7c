//! Transforms of linked tables: those that remove rows ("keep rows where", "remove
//! duplicates") and those that change a column's values (trim, replace, fill empty cells, an
//! SQL expression).
//!
//! Quire never writes a linked file, and a transform over 100M rows must not copy them: what a
//! transform changes is found over the link as edited, through DataFusion (streamed, a
//! duplicate search sorting under the memory pool and spilling), and kept beside the files as
//! the edits by hand are: removed rows as deleted rows, new values as edited cells (only those
//! that differ, so a trim that changes 40 cells of 100M rows keeps 40). The change can be
//! millions of rows, so it is not journaled: it is saved at once (the edits file, then
//! `links.json`), as an undo past the saved edits is, and acknowledged only once saved.
//! A value change keeps the column's type and at most [`MAX_CHANGED_CELLS`] cells; changing a
//! type, every row of a huge table, or the columns needs a copy (Copy into the notebook).

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, BooleanArray, RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Column;
use datafusion::logical_expr::{binary_expr, cast, lit, when, Expr, Operator};
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
use crate::tables::edit::CellEdit;
use crate::tables::linked::Edits;
use crate::tables::sql::ident;
use crate::tables::table::ROW_ID_COLUMN;
use crate::tables::transform::{self, Transform};
use crate::tables::{LinkedTable, TableError, TableVersion};

/// Rows of a preview's sample.
const SAMPLE: usize = 20;

/// The most cells one transform may change on a linked table: each is kept in memory beside
/// the files (with its undo steps), as a cell edited by hand is.
pub const MAX_CHANGED_CELLS: u64 = 1_000_000;

/// What a transform does to a link, found over its edits at `version`.
pub(super) struct Found {
    notebook: NotebookId,
    table: String,
    link: u64,
    version: u64,
    transform: Transform,
    delta: Delta,
}

/// A transform's change to a link, kept beside its files.
#[derive(Clone)]
enum Delta {
    /// The positions of the rows it removes, deleted.
    Removed(Arc<RoaringTreemap>),
    /// A column's new values where they differ from the old, as edits (in position order).
    Changed(Arc<Vec<CellEdit>>),
}

impl Delta {
    /// The rows it touches first (in position order), for a preview's sample.
    fn first_rows(&self) -> Vec<u64> {
        match self {
            Delta::Removed(rows) => rows.iter().take(SAMPLE).collect(),
            Delta::Changed(cells) => cells.iter().take(SAMPLE).map(|c| c.row_id).collect(),
        }
    }

    /// `edits` with the change made, as version + 1.
    fn applied(
        &self,
        edits: &Edits,
        linked: &LinkedTable,
        cells: Option<usize>,
    ) -> Result<Edits, TableError> {
        match self {
            Delta::Removed(rows) => edits.without(linked.rows, RoaringTreemap::clone(rows)),
            Delta::Changed(changed) => {
                let n = cells.unwrap_or(changed.len()).min(changed.len());
                edits.with(&linked.schema, linked.rows, &changed[..n])
            }
        }
    }
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
        let (edits, delta) = self
            .found(notebook, table, &linked, transform, progress, cancel)
            .await?;
        let first = delta.first_rows();
        let shown_at = |edits: &Edits| -> Result<Vec<Option<Vec<Option<String>>>>, TableError> {
            let rows = linked.rows_at(edits, &first)?;
            let shown = TableVersion::first(linked.schema.clone(), vec![rows]);
            let at: Vec<Option<usize>> = (0..first.len()).map(Some).collect();
            diff::display_rows(&shown, &at)
        };
        let old = shown_at(&edits)?;
        // The sample's new values: the change made to its rows only.
        let new = match &delta {
            Delta::Removed(_) => vec![None; first.len()],
            Delta::Changed(_) => shown_at(&delta.applied(&edits, &linked, Some(SAMPLE))?)?,
        };
        let columns: Vec<String> = linked
            .schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let (removed, changed, kind) = match &delta {
            Delta::Removed(rows) => (rows.len(), 0, DiffKind::Removed),
            Delta::Changed(cells) => (0, cells.len() as u64, DiffKind::Changed),
        };
        let by_column = match (&delta, transform) {
            (Delta::Changed(_), Transform::SetColumn { column, .. }) => vec![column.clone()],
            _ => Vec::new(),
        };
        Ok(Some(TransformPreview {
            sql: transform.to_sql(table),
            summary: DiffSummary {
                from_version: edits.version,
                to_version: edits.version + 1,
                added: 0,
                removed,
                changed,
                changed_by_column: by_column.iter().map(|c| (c.clone(), changed)).collect(),
                columns_added: Vec::new(),
                columns_removed: Vec::new(),
            },
            sample: DiffPage {
                old_columns: columns.clone(),
                new_columns: columns,
                total: removed + changed,
                offset: 0,
                rows: first
                    .iter()
                    .zip(old.into_iter().zip(new))
                    .map(|(&row_id, (old, new))| DiffRow {
                        row_id,
                        kind,
                        changed: by_column.clone(),
                        old,
                        new,
                    })
                    .collect(),
            },
        }))
    }

    /// Applies `transform` to link `table` (notebook folder `dir`) as deleted rows or edited
    /// cells, saved before it is acknowledged; None when `table` is not a link.
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
        let (edits, delta) = self
            .found(notebook, table, &linked, transform, progress, cancel)
            .await?;
        // Made before the commit lock (a million cells take a moment), from the version the
        // change was found at: it is applied only if that version is still the current one.
        let next = delta.applied(&edits, &linked, None)?;
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
        self.save_locked(notebook, dir, table, &linked, &next, metrics)?;
        let now = linked.edits.push(next);
        let (what, n) = match &delta {
            Delta::Removed(rows) => ("rows deleted", rows.len()),
            Delta::Changed(cells) => ("cells changed", cells.len() as u64),
        };
        log::info!(
            "{} on the linked table {table} of notebook {notebook}: {n} {what} (version {})",
            transform.label(),
            now.version
        );
        Ok(Some(LinkedChange {
            info: self.linked_changed(notebook, table, &linked),
            save_now: false,
            cells: now.len() as u64,
        }))
    }

    fn linked_previewed(&self) -> std::sync::MutexGuard<'_, Option<Found>> {
        self.linked_previewed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// What `transform` does to `linked` as edited now, and those edits; reused from the
    /// preview when nothing changed since.
    async fn found(
        &self,
        notebook: NotebookId,
        table: &str,
        linked: &Arc<LinkedTable>,
        transform: &Transform,
        progress: Arc<dyn Fn(u64) + Send + Sync>,
        cancel: &CancellationToken,
    ) -> Result<(Arc<Edits>, Delta), Error> {
        let edits = linked.edits.current();
        if let Some(p) = self.linked_previewed().as_ref() {
            if p.notebook == notebook
                && p.table == table
                && p.link == linked.id
                && p.version == edits.version
                && &p.transform == transform
            {
                return Ok((edits, p.delta.clone()));
            }
        }
        let query = DeltaQuery::new(linked, transform)?;
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
        let delta = job.result().await??;
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
        *self.linked_previewed() = Some(Found {
            notebook,
            table: table.to_string(),
            link: linked.id,
            version: edits.version,
            transform: transform.clone(),
            delta: delta.clone(),
        });
        Ok((edits, delta))
    }
}

/// How a transform's change is found: a column per row saying whether it goes, or the rows'
/// new values where they differ.
enum DeltaQuery {
    /// Rows for which the condition is not true (NULL removes, as in SQL's WHERE).
    Filter(String),
    /// Every row after the first (in file order) of its group of equal `columns`.
    Duplicates(Vec<String>),
    /// A column's values replaced by an expression over the row (cast to the column's type
    /// `kept`), where they differ.
    Set {
        column: String,
        expr: String,
        kept: DataType,
    },
}

impl DeltaQuery {
    fn new(linked: &LinkedTable, transform: &Transform) -> Result<DeltaQuery, TableError> {
        match transform {
            Transform::FilterRows { predicate } => {
                transform::check_condition(&linked.schema, predicate)?;
                Ok(DeltaQuery::Filter(predicate.clone()))
            }
            Transform::RemoveDuplicates { columns } => {
                let keys = transform::duplicate_keys(&linked.schema, columns)?;
                Ok(DeltaQuery::Duplicates(
                    keys.iter()
                        .map(|&i| linked.schema.field(i).name().clone())
                        .collect(),
                ))
            }
            Transform::SetColumn { column, expr } => Ok(DeltaQuery::Set {
                kept: transform::check_same_type(&linked.schema, column, expr)?,
                column: column.clone(),
                expr: expr.clone(),
            }),
            other => Err(TableError::InvalidValue {
                column: String::new(),
                message: format!(
                    "a linked table is read where it lies, so \"{}\" cannot change its columns; \
                     transforms that change values or remove rows can, and Copy into the \
                     notebook makes a copy every transform can change",
                    other.label()
                ),
            }),
        }
    }

    /// The change, streamed under the memory pool; `progress` hears the rows looked at.
    async fn run(
        &self,
        linked: &Arc<LinkedTable>,
        limits: &crate::tables::limits::Limits,
        progress: &(dyn Fn(u64) + Send + Sync),
        cancel: &CancellationToken,
        job: &CancellationToken,
    ) -> Result<Delta, TableError> {
        let mut config = SessionConfig::new();
        limits.tune(&mut config);
        let ctx = SessionContext::new_with_config_rt(config, limits.runtime());
        ctx.register_table("source", linked.provider_with_ids()?)?;
        let row_id = Expr::Column(Column::new_unqualified(ROW_ID_COLUMN));
        let frame = match self {
            DeltaQuery::Filter(predicate) => {
                let frame = ctx.table("source").await?;
                // Parsed as one expression (never spliced into a statement).
                let keep = frame.parse_sql_expr(predicate)?;
                let goes = Expr::Not(Box::new(datafusion::functions::expr_fn::coalesce(vec![
                    keep,
                    lit(false),
                ])));
                frame.select(vec![row_id, goes.alias("goes")])?
            }
            DeltaQuery::Duplicates(columns) => {
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
            DeltaQuery::Set { column, expr, kept } => {
                let frame = ctx.table("source").await?;
                // Cast to the column's type here, so a value it cannot hold is refused before
                // anything changes, and a value that casts back to the old one is no change.
                let new = cast(frame.parse_sql_expr(expr)?, kept.clone());
                let old = Expr::Column(Column::new_unqualified(column));
                let changed = binary_expr(new.clone(), Operator::IsDistinctFrom, old);
                // Every row comes (the bar counts the rows looked at); the new value, as text
                // (the way a value typed into the cell is kept, so the edits file holds it as a
                // hand edit), only where it differs.
                let shown = when(changed.clone(), cast(new, DataType::Utf8)).end()?;
                frame.select(vec![row_id, changed.alias("goes"), shown.alias("new")])?
            }
        };
        let failed = |e: datafusion::error::DataFusionError| match self {
            DeltaQuery::Set { column, expr, kept } if is_cast_error(&e) => {
                TableError::InvalidValue {
                    column: column.clone(),
                    message: format!(
                        "{expr:?} does not give {} for every row of column {column} (a value \
                         cannot be converted), so nothing changed",
                        crate::tables::edit::describe_type(kept)
                    ),
                }
            }
            _ => exhausted(limits, e),
        };
        let mut stream = frame.execute_stream().await.map_err(failed)?;
        let mut removed = RoaringTreemap::new();
        let mut changed = Vec::new();
        let mut seen = 0u64;
        while let Some(batch) = stream.next().await {
            if cancel.is_cancelled() || job.is_cancelled() {
                return Err(TableError::Cancelled);
            }
            let batch: RecordBatch = batch.map_err(failed)?;
            let lost = || TableError::Persist("internal: the transform lost its row ids".into());
            let ids = (batch.column(0).as_any())
                .downcast_ref::<UInt64Array>()
                .ok_or_else(lost)?;
            let goes = (batch.column(1).as_any())
                .downcast_ref::<BooleanArray>()
                .ok_or_else(lost)?;
            let rows = (0..batch.num_rows()).filter(|&i| goes.is_valid(i) && goes.value(i));
            match self {
                DeltaQuery::Set { column, .. } => {
                    let new = (batch.column(2).as_any())
                        .downcast_ref::<StringArray>()
                        .ok_or_else(lost)?;
                    for i in rows {
                        if changed.len() as u64 >= MAX_CHANGED_CELLS {
                            return Err(too_many_changes(column));
                        }
                        changed.push(CellEdit {
                            row_id: ids.value(i),
                            column: column.clone(),
                            value: new.is_valid(i).then(|| new.value(i).to_string()),
                        });
                    }
                }
                _ => rows.for_each(|i| {
                    removed.insert(ids.value(i));
                }),
            }
            seen += batch.num_rows() as u64;
            progress(seen);
        }
        Ok(match self {
            DeltaQuery::Set { .. } => {
                // Partitions come in any order; the sample and the edits go by position.
                changed.sort_by_key(|c| c.row_id);
                Delta::Changed(Arc::new(changed))
            }
            _ => Delta::Removed(Arc::new(removed)),
        })
    }
}

/// Whether `e` is a value that would not cast (a text that is no number, a number too big).
fn is_cast_error(e: &datafusion::error::DataFusionError) -> bool {
    use datafusion::arrow::error::ArrowError;
    match e.find_root() {
        datafusion::error::DataFusionError::ArrowError(inner, _) => matches!(
            &**inner,
            ArrowError::CastError(_) | ArrowError::ParseError(_) | ArrowError::ComputeError(_)
        ),
        _ => false,
    }
}

/// Why a transform that changes too many values of a link is refused.
fn too_many_changes(column: &str) -> TableError {
    TableError::InvalidValue {
        column: column.to_string(),
        message: format!(
            "the transform changes more than {MAX_CHANGED_CELLS} values of column {column}; a \
             linked table keeps changed values beside its files, at most {MAX_CHANGED_CELLS} at \
             a time: Copy into the notebook makes a copy whose every value can change"
        ),
    }
}

/// A DataFusion failure in words: `too_large` naming the setting when memory ran out.
fn exhausted(
    limits: &crate::tables::limits::Limits,
    e: datafusion::error::DataFusionError,
) -> TableError {
    limits.exhausted(&e).unwrap_or_else(|| e.into())
}

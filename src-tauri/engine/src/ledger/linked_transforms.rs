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

/// What a transform of a linked table came to.
pub enum LinkedTransformed {
    /// Kept beside the files as edits, and saved.
    Changed(LinkedChange),
    /// To be written into a copy (see [`Ledger::copy_linked`]).
    NeedsCopy,
}

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
    /// More than the edits beside the files can hold: the columns change (a name, a type, one
    /// added or dropped) or more than [`MAX_CHANGED_CELLS`] values do. The table as edited is
    /// written, transformed, into a copy in the notebook (see `linked_compact`). `changed`:
    /// how many values change, when counted (a preview counts past the limit; a change of
    /// type changes every value); `first`: the positions of the first rows it changes, when
    /// counted (else a preview shows the table's first rows).
    Copy {
        changed: Option<u64>,
        first: Vec<u64>,
    },
}

impl Delta {
    /// The rows it touches first (in position order), for a preview's sample.
    fn first_rows(&self) -> Vec<u64> {
        match self {
            Delta::Removed(rows) => rows.iter().take(SAMPLE).collect(),
            Delta::Changed(cells) => cells.iter().take(SAMPLE).map(|c| c.row_id).collect(),
            Delta::Copy { .. } => Vec::new(),
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
            Delta::Copy { .. } => Err(TableError::Persist(
                "internal: a transform written into a copy has no edits".into(),
            )),
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
            .found(notebook, table, &linked, transform, true, progress, cancel)
            .await?;
        if let Delta::Copy { changed, first } = &delta {
            return copy_preview(table, &linked, &edits, transform, *changed, first).map(Some);
        }
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
            Delta::Removed(_) | Delta::Copy { .. } => vec![None; first.len()],
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
            Delta::Copy { .. } => unreachable!("previewed above"),
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
                columns_retyped: Vec::new(),
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
    /// cells, saved before it is acknowledged; None when `table` is not a link. A transform
    /// the edits cannot hold is left to [`Ledger::copy_linked`] (`NeedsCopy`).
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
    ) -> Result<Option<LinkedTransformed>, Error> {
        let Some(linked) = self.catalog.linked(notebook, table) else {
            return Ok(None);
        };
        let (edits, delta) = self
            .found(notebook, table, &linked, transform, false, progress, cancel)
            .await?;
        if let Delta::Copy { .. } = delta {
            return Ok(Some(LinkedTransformed::NeedsCopy));
        }
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
            return Err(changed_meanwhile(table).into());
        }
        *self.linked_previewed() = None;
        self.save_locked(notebook, dir, table, &linked, &next, metrics)?;
        let now = linked.edits.push(next);
        let (what, n) = match &delta {
            Delta::Removed(rows) => ("rows deleted", rows.len()),
            Delta::Changed(cells) => ("cells changed", cells.len() as u64),
            Delta::Copy { .. } => ("rows copied", 0),
        };
        log::info!(
            "{} on the linked table {table} of notebook {notebook}: {n} {what} (version {})",
            transform.label(),
            now.version
        );
        Ok(Some(LinkedTransformed::Changed(LinkedChange {
            info: self.linked_changed(notebook, table, &linked),
            save_now: false,
            cells: now.len() as u64,
        })))
    }

    fn linked_previewed(&self) -> std::sync::MutexGuard<'_, Option<Found>> {
        self.linked_previewed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// What `transform` does to `linked` as edited now, and those edits; reused from the
    /// preview when nothing changed since.
    /// `exact`: count every value a change too big for edits makes (a preview), rather than
    /// stop at the limit (an apply, which writes a copy next).
    #[allow(clippy::too_many_arguments)]
    async fn found(
        &self,
        notebook: NotebookId,
        table: &str,
        linked: &Arc<LinkedTable>,
        transform: &Transform,
        exact: bool,
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
                // An apply's count stopped at the limit; a preview counts on.
                && !(exact && matches!(p.delta, Delta::Copy { changed: None, .. }))
            {
                return Ok((edits, p.delta.clone()));
            }
        }
        let Some(query) = DeltaQuery::new(linked, transform)? else {
            copy_allowed(table, linked, transform)?;
            return Ok((
                edits,
                Delta::Copy {
                    changed: None,
                    first: Vec::new(),
                },
            ));
        };
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
                    .run(&input, &limits, exact, &*progress, &cancel, &token)
                    .await)
            },
        );
        let delta = job.result().await??;
        if let Delta::Copy { .. } = delta {
            copy_allowed(table, linked, transform)?;
        }
        // The scan read the edits current when it started: the same ones, or it ran again.
        if linked.edits.current().version != edits.version {
            return Err(changed_meanwhile(table).into());
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
    /// None for a transform the edits cannot hold (see [`Delta::Copy`]).
    fn new(linked: &LinkedTable, transform: &Transform) -> Result<Option<DeltaQuery>, TableError> {
        Ok(match transform {
            Transform::FilterRows { predicate } => {
                transform::check_condition(&linked.schema, predicate)?;
                Some(DeltaQuery::Filter(predicate.clone()))
            }
            Transform::RemoveDuplicates { columns } => {
                let keys = transform::duplicate_keys(&linked.schema, columns)?;
                Some(DeltaQuery::Duplicates(
                    keys.iter()
                        .map(|&i| linked.schema.field(i).name().clone())
                        .collect(),
                ))
            }
            Transform::SetColumn { column, expr } => {
                transform::kept_type(&linked.schema, column, expr)?.map(|kept| DeltaQuery::Set {
                    kept,
                    column: column.clone(),
                    expr: expr.clone(),
                })
            }
            other => {
                // Refused now, in words, if it names no column or a taken name.
                transform::Reshape::new(&linked.schema, other)?;
                None
            }
        })
    }

    /// The change, streamed under the memory pool; `progress` hears the rows looked at.
    async fn run(
        &self,
        linked: &Arc<LinkedTable>,
        limits: &crate::tables::limits::Limits,
        exact: bool,
        progress: &(dyn Fn(u64) + Send + Sync),
        cancel: &CancellationToken,
        job: &CancellationToken,
    ) -> Result<Delta, TableError> {
        let mut config = SessionConfig::new();
        limits.tune(&mut config);
        let ctx = SessionContext::new_with_config_rt(config, limits.runtime());
        crate::tables::checked_arithmetic::install(&ctx);
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
        let mut changed: Vec<CellEdit> = Vec::new();
        // Once past the limit: the values changed (counted) and the positions of the first
        // changed rows (kept a few at a time, for the preview's sample).
        let mut beyond: Option<(u64, Vec<u64>)> = None;
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
                        if let Some((n, first)) = beyond.as_mut() {
                            *n += 1;
                            first.push(ids.value(i));
                            if first.len() > 64 * SAMPLE {
                                keep_first(first);
                            }
                            continue;
                        }
                        if changed.len() as u64 >= MAX_CHANGED_CELLS {
                            log::info!(
                                "the transform changes more than {MAX_CHANGED_CELLS} values of column {column}: the table is written into a copy"
                            );
                            if !exact {
                                return Ok(Delta::Copy {
                                    changed: None,
                                    first: Vec::new(),
                                });
                            }
                            // The cells are not kept: the change goes into a copy.
                            let mut first: Vec<u64> = changed.iter().map(|c| c.row_id).collect();
                            first.push(ids.value(i));
                            keep_first(&mut first);
                            changed = Vec::new();
                            beyond = Some((MAX_CHANGED_CELLS + 1, first));
                            continue;
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
        if let Some((n, mut first)) = beyond {
            keep_first(&mut first);
            return Ok(Delta::Copy {
                changed: Some(n),
                first,
            });
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

/// A DataFusion failure in words: `too_large` naming the setting when memory ran out.
fn exhausted(
    limits: &crate::tables::limits::Limits,
    e: datafusion::error::DataFusionError,
) -> TableError {
    limits.exhausted(&e).unwrap_or_else(|| e.into())
}

/// A preview of a transform written into a copy: its first rows before and after, the columns
/// it adds and removes; a value change counts every row, since every row is written again.
fn copy_preview(
    table: &str,
    linked: &LinkedTable,
    edits: &Edits,
    transform: &Transform,
    counted: Option<u64>,
    changed_rows: &[u64],
) -> Result<TransformPreview, Error> {
    let reshape = transform::Reshape::for_link(&linked.schema, transform)?.ok_or_else(|| {
        TableError::Persist("internal: a transform that removes rows was sent to a copy".into())
    })?;
    let shown = edits.visible_rows(linked.rows);
    let first: Vec<u64> = match changed_rows {
        [] => (0..shown.min(SAMPLE as u64))
            .map(|k| edits.position_of(k))
            .collect(),
        rows => rows.to_vec(),
    };
    let before = linked.rows_at(edits, &first)?;
    let after = reshape.apply(&before)?;
    let all: Vec<Option<usize>> = (0..first.len()).map(Some).collect();
    let old = diff::display_rows(
        &TableVersion::first(linked.schema.clone(), vec![before]),
        &all,
    )?;
    let new = diff::display_rows(
        &TableVersion::first(reshape.schema.clone(), vec![after]),
        &all,
    )?;
    let names = |schema: &datafusion::arrow::datatypes::Schema| -> Vec<String> {
        schema.fields().iter().map(|f| f.name().clone()).collect()
    };
    let (old_columns, new_columns) = (names(&linked.schema), names(&reshape.schema));
    let missing_from = |a: &[String], b: &[String]| -> Vec<String> {
        a.iter().filter(|c| !b.contains(c)).cloned().collect()
    };
    let columns_added = missing_from(&new_columns, &old_columns);
    let columns_removed = missing_from(&old_columns, &new_columns);
    // The columns whose values the sample shows changed, and how many values change.
    let (changed, by_column) = match transform {
        Transform::SetColumn { column, .. } => (counted.unwrap_or(shown), vec![column.clone()]),
        Transform::AddColumn { column, .. } | Transform::DropColumn { column } => {
            (0, vec![column.clone()])
        }
        Transform::RenameColumn { column, to } => (0, vec![column.clone(), to.clone()]),
        _ => (0, Vec::new()),
    };
    let changed_by_column = match transform {
        Transform::SetColumn { column, .. } => vec![(column.clone(), changed)],
        _ => Vec::new(),
    };
    Ok(TransformPreview {
        sql: transform.to_sql(table),
        summary: DiffSummary {
            from_version: edits.version,
            to_version: edits.version + 1,
            added: 0,
            removed: 0,
            changed,
            changed_by_column,
            columns_added,
            columns_removed,
            columns_retyped: diff::retyped_columns(&linked.schema, &reshape.schema),
        },
        sample: DiffPage {
            old_columns,
            new_columns,
            total: first.len() as u64,
            offset: 0,
            rows: first
                .iter()
                .zip(old.into_iter().zip(new))
                .map(|(&row_id, (old, new))| DiffRow {
                    row_id,
                    kind: DiffKind::Changed,
                    changed: by_column.clone(),
                    old,
                    new,
                })
                .collect(),
        },
    })
}

/// Refuses to write a copy of a link read from a bucket: a copy would fetch every object of it
/// onto this machine, which a change of a column name should not do unasked.
fn copy_allowed(
    table: &str,
    linked: &LinkedTable,
    transform: &Transform,
) -> Result<(), TableError> {
    match &linked.remote {
        None => Ok(()),
        Some(remote) => Err(TableError::InvalidValue {
            column: String::new(),
            message: format!(
                "\"{}\" would write a copy of {table} into the notebook, and {table} is read \
                 from {}: every object of it would be fetched onto this machine. A SQL cell \
                 can select what you need (kept as a table), or Copy into the notebook makes \
                 the copy",
                transform.label(),
                remote.url
            ),
        }),
    }
}

/// `positions` cut to the first [`SAMPLE`] of them, in order.
fn keep_first(positions: &mut Vec<u64>) {
    positions.sort_unstable();
    positions.dedup();
    positions.truncate(SAMPLE);
}

/// The refusal of a transform whose table was edited while it ran: it was worked out (or
/// written) from the table as it was.
pub(super) fn changed_meanwhile(table: &str) -> TableError {
    TableError::InvalidValue {
        column: String::new(),
        message: format!(
            "{table} changed while the transform ran; run it again to apply it to the table as it is now"
        ),
    }
}

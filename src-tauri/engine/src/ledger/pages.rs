//! Grid pages: a table, or its sorted and filtered view, one page at a time.

use std::sync::Arc;

use super::Ledger;
use crate::error::Error;
use crate::ids::NotebookId;
use crate::queue::{JobKind, Priority, QueueError};
use crate::tables::limits::SPILL_SETTING;
use crate::tables::position_view;
use crate::tables::view::{self, ViewSpec};
use crate::tables::view_cache::{Basis, View, ViewCache, ViewProgress, Wanted};
use crate::tables::{ipc, TableError, TableVersion};

/// Rows one grid page carries at most, whatever the caller asks: the grid asks for a screenful
/// (a few hundred), and a page is copied whole into the IPC buffer, outside every memory budget.
pub const MAX_PAGE_ROWS: u64 = 10_000;

impl Ledger {
    /// Rows `[offset, offset + limit)` of a table (at most [`MAX_PAGE_ROWS`]), as Arrow IPC
    /// stream bytes: in table order, or in the order and with the filters of `view`.
    pub async fn page(
        &self,
        notebook: NotebookId,
        table: &str,
        view: Option<&ViewSpec>,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<u8>, Error> {
        let limit = limit.min(MAX_PAGE_ROWS);
        // One group per grid: when scrolling outruns the engine, older page requests that have
        // not started are stale and dropped.
        let group = format!("page:{notebook}/{table}");
        if let Some(linked) = self.catalog.linked(notebook, table) {
            if view.is_none_or(ViewSpec::is_plain) {
                // A page of a link reads its files synchronously (a bucket's over the network,
                // for seconds when the server is slow): a blocking job, so the worker hands its
                // other tasks on meanwhile.
                let job = self.scheduler.submit_blocking(
                    Priority::Urgent,
                    JobKind::Page,
                    Some(group),
                    move |_| {
                        let page = linked
                            .page(offset, limit)
                            .map_err(Error::from)
                            .and_then(|batch| Ok(ipc::to_stream_bytes(&batch)?));
                        Ok(page)
                    },
                );
                return job.result().await?;
            }
        }
        let view = self.view(notebook, table, view).await?;
        let job = match view {
            View::Held(_) => self.scheduler.submit(
                Priority::Urgent,
                JobKind::Page,
                Some(group),
                move |_| async move { Ok(page_bytes(&view, offset, limit)) },
            ),
            // Reads the linked files: a blocking job, as a plain page of a link.
            View::Positions(_) => self.scheduler.submit_blocking(
                Priority::Urgent,
                JobKind::Page,
                Some(group),
                move |_| Ok(page_bytes(&view, offset, limit)),
            ),
        };
        job.result().await?
    }

    /// How many rows a view of a table has.
    pub async fn view_rows(
        &self,
        notebook: NotebookId,
        table: &str,
        view: Option<&ViewSpec>,
    ) -> Result<u64, Error> {
        if let Some(linked) = self.catalog.linked(notebook, table) {
            if view.is_none_or(ViewSpec::is_plain) {
                return Ok(linked.visible_rows());
            }
        }
        Ok(self.view(notebook, table, view).await?.rows())
    }

    /// How far the sorted or filtered view of a table being made has come (`None`: none is).
    pub fn view_progress(&self, notebook: NotebookId, table: &str) -> Option<ViewProgress> {
        self.views.progress(&notebook.to_string(), table)
    }

    /// How many sorted or filtered views were made so far (not taken from the cache).
    #[cfg(test)]
    pub(crate) fn views_made(&self) -> u64 {
        self.views.made()
    }

    /// How many sorted or filtered views are cached.
    #[cfg(test)]
    pub(crate) fn views_cached(&self) -> usize {
        self.views.cached()
    }

    /// Stops making the sorted or filtered view of a table; whether one was being made. Its
    /// page requests end with `cancelled`.
    pub fn cancel_view(&self, notebook: NotebookId, table: &str) -> bool {
        self.views.cancel(&notebook.to_string(), table)
    }

    /// The table itself, or its sorted and filtered view: cached, or being made (awaited here,
    /// outside the queue, so requests waiting for one view hold no worker), or made now by one
    /// urgent job of its own.
    async fn view(
        &self,
        notebook: NotebookId,
        table: &str,
        view: Option<&ViewSpec>,
    ) -> Result<View, Error> {
        let linked = self.catalog.linked(notebook, table);
        let version = match &linked {
            // Stands in for the linked table when no view is asked for (never: see `page`).
            Some(l) => Arc::new(TableVersion::first(l.schema.clone(), Vec::new())),
            None => self.catalog.version(notebook, table)?,
        };
        let Some(spec) = view.filter(|v| !v.is_plain()).cloned() else {
            return Ok(View::Held(version));
        };
        // A link's id is new each time it is made: a table linked again under the same name
        // never gets the old link's views.
        let number = linked.as_ref().map_or(version.version, |l| l.id);
        // A link's view holds for as long as its edits leave the view's columns and rows be.
        let basis = linked.as_ref().map(|l| Basis {
            edits: l.edits.current(),
            columns: spec_columns(&spec, &l.schema),
        });
        let total = match &linked {
            Some(l) => l.visible_rows(),
            None => version.rows as u64,
        };
        let notebook = notebook.to_string();
        let wanted = Wanted {
            notebook: &notebook,
            table,
            key: ViewCache::key(&notebook, table, number, &spec),
            total,
            basis: basis.clone(),
        };
        let scheduler = self.scheduler.clone();
        let views = self.views.clone();
        let limits = self.catalog.limits().clone();
        let what = format!("the sorted or filtered view of {table}");
        let make = |work: Arc<view::ViewWork>| async move {
            let job = scheduler.submit(Priority::Urgent, JobKind::Page, None, move |_| {
                async move {
                    let made = async {
                        Ok::<_, TableError>(match (linked, basis) {
                            // Out of memory: positions in a scratch file.
                            (Some(linked), Some(basis)) => {
                                let edits = basis.edits;
                                let first = position_view::compute(
                                    &linked,
                                    edits.clone(),
                                    &spec,
                                    &limits,
                                    &work,
                                )
                                .await;
                                let positions = match first {
                                    // Cached views' positions count against the spill disk
                                    // too: past it (not past the memory, which they do not
                                    // hold), they go before this one is refused.
                                    Err(e @ TableError::TooLarge { .. })
                                        if e.to_string().contains(SPILL_SETTING)
                                            && views.drop_positions() > 0 =>
                                    {
                                        work.read.store(0, std::sync::atomic::Ordering::Relaxed);
                                        position_view::compute(
                                            &linked, edits, &spec, &limits, &work,
                                        )
                                        .await?
                                    }
                                    other => other?,
                                };
                                View::Positions(Arc::new(positions))
                            }
                            _ => {
                                // A sorted copy is about the table's size; a filter's is at
                                // most that.
                                limits.account().admit(&what, version.memory_bytes())?;
                                View::Held(Arc::new(
                                    view::compute(&version, &spec, &limits, &work).await?,
                                ))
                            }
                        })
                    };
                    Ok(made.await)
                }
            });
            match job.result().await {
                Ok(made) => made,
                Err(QueueError::Cancelled) => Err(TableError::ViewCancelled),
                Err(e) => Err(TableError::Persist(format!(
                    "the sorted or filtered view could not be made: {e}"
                ))),
            }
        };
        let before = self.views.made();
        let made = self.views.get_or_make(wanted, make).await?;
        if self.views.made() != before {
            // A held view made is memory the ledger now holds (a cached one changes nothing).
            self.tally().count();
        }
        Ok(made)
    }
}

/// Rows `[offset, offset + limit)` of `view` as Arrow IPC stream bytes.
fn page_bytes(view: &View, offset: u64, limit: u64) -> Result<Vec<u8>, Error> {
    let batch = view.page(offset, limit)?;
    Ok(ipc::to_stream_bytes(&batch)?)
}
/// The columns (indices in `schema`) a view sorts or filters by.
fn spec_columns(spec: &ViewSpec, schema: &datafusion::arrow::datatypes::Schema) -> Vec<usize> {
    let mut columns: Vec<usize> = spec
        .sort
        .iter()
        .map(|k| k.column.as_str())
        .chain(spec.filters.iter().map(|f| f.column.as_str()))
        .chain(
            spec.either
                .iter()
                .flatten()
                .flatten()
                .map(|f| f.column.as_str()),
        )
        .filter_map(|c| schema.index_of(c).ok())
        .collect();
    columns.sort_unstable();
    columns.dedup();
    columns
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::tables::view::{ColumnFilter, FilterOp};

    /// A view is made again when a column it sorts or filters by changes, also one filtered
    /// with OR alone (its column was left out, so an edit kept a stale view of a link).
    #[test]
    fn a_views_columns_include_those_its_or_filters_read() {
        let schema = Schema::new(vec![
            Field::new("city", DataType::Utf8, true),
            Field::new("amount", DataType::Float64, true),
        ]);
        let below = |v: &str| ColumnFilter {
            column: "amount".into(),
            op: FilterOp::LessThan,
            value: Some(v.into()),
        };
        let spec = ViewSpec {
            sort: vec![],
            filters: vec![],
            either: vec![vec![vec![below("0")], vec![below("-5")]]],
        };
        assert_eq!(spec_columns(&spec, &schema), [1]);
    }
}

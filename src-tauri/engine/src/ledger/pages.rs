//! Grid pages: a table, or its sorted and filtered view, one page at a time.

use std::sync::Arc;

use super::Ledger;
use crate::error::Error;
use crate::ids::NotebookId;
use crate::queue::{JobKind, Priority};
use crate::tables::view::{self, ViewCache, ViewSpec};
use crate::tables::{ipc, TableVersion};

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
        let view = self.view_future(notebook, table, view)?;
        let job = self.scheduler.submit(
            Priority::Urgent,
            JobKind::Page,
            Some(group),
            move |_| async move {
                let page = async {
                    let version = view.await?;
                    let batch = version.page(offset as usize, limit as usize)?;
                    Ok::<_, Error>(ipc::to_stream_bytes(&batch)?)
                };
                Ok(page.await)
            },
        );
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
        let view = self.view_future(notebook, table, view)?;
        let job =
            self.scheduler
                .submit(Priority::Urgent, JobKind::Page, None, move |_| async move {
                    Ok(view.await.map(|v| v.rows as u64))
                });
        job.result().await?
    }

    /// The table itself, or its sorted and filtered view (computed once, then cached), as a
    /// future for a job to await. It runs inside the page job itself: a job that waited on
    /// another job could hold every worker while the work it waits for cannot start.
    fn view_future(
        &self,
        notebook: NotebookId,
        table: &str,
        view: Option<&ViewSpec>,
    ) -> Result<
        impl std::future::Future<Output = Result<Arc<TableVersion>, Error>> + Send + 'static,
        Error,
    > {
        let linked = self.catalog.linked(notebook, table);
        let version = match &linked {
            // Stands in for the linked table when no view is asked for (never: see `page`).
            Some(l) => Arc::new(TableVersion::first(l.schema.clone(), Vec::new())),
            None => self.catalog.version(notebook, table)?,
        };
        let spec = view.filter(|v| !v.is_plain()).cloned();
        // A link's id is new each time it is made: a table linked again under the same name
        // never gets the old link's views.
        let number = linked.as_ref().map_or(version.version, |l| l.id);
        // A link's view is of its edits as they are now.
        let shown = match &linked {
            Some(l) => format!("{table}@{}", l.edits.current().version),
            None => table.to_string(),
        };
        let key = spec
            .as_ref()
            .map(|spec| ViewCache::key(&notebook.to_string(), &shown, number, spec));
        let views = self.views.clone();
        let limits = self.catalog.limits().clone();
        let tally = self.tally();
        let name = table.to_string();
        Ok(async move {
            let (Some(spec), Some(key)) = (spec, key) else {
                return Ok(version);
            };
            if let Some(hit) = views.get(&key) {
                return Ok(hit);
            }
            let computed = match linked {
                Some(linked) => Arc::new(view::compute_linked(&linked, &spec, &limits).await?),
                None => {
                    // A sorted copy is about the table's size; a filter's is at most that.
                    limits.account().admit(
                        &format!("the sorted or filtered view of {name}"),
                        version.memory_bytes(),
                    )?;
                    Arc::new(view::compute(&version, &spec, &limits).await?)
                }
            };
            views.put(key, computed.clone());
            tally.count();
            Ok(computed)
        })
    }
}

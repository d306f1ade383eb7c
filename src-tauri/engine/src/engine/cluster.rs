//! Cells that run on a Ballista cluster connection, and the test of one.

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use tokio_util::sync::CancellationToken;

use super::Engine;
use crate::error::Error;
use crate::notebooks::{CellId, NotebookError, NotebookId};
use crate::remote::{ClusterConnection, Connection, ConnectionCheck};
use crate::tables::export::RowSink;

impl Engine {
    /// Where a SQL cell runs: on the notebook's cluster connection `on`, or here (none).
    pub fn set_cell_runs_on(
        &self,
        notebook: NotebookId,
        cell: CellId,
        on: Option<String>,
    ) -> Result<(), Error> {
        Ok(self.notebooks.set_cell_runs_on(notebook, cell, on)?)
    }

    /// The settings of the notebook's cluster connection `name`.
    pub(super) fn cluster_of(
        &self,
        notebook: NotebookId,
        name: &str,
    ) -> Result<ClusterConnection, Error> {
        let connection = self.notebooks.connection(notebook, name)?;
        Ok(connection.cluster().map_err(NotebookError::from)?.clone())
    }

    /// Tests a cluster connection: the scheduler's version, its executors and task slots.
    pub(super) fn check_cluster(&self, connection: &Connection) -> Result<ConnectionCheck, Error> {
        let cluster = connection.cluster().map_err(NotebookError::from)?;
        #[cfg(feature = "cluster")]
        {
            let cluster = cluster.clone();
            Ok(
                crate::remote::io::wait(async move { crate::cluster::check(&cluster).await })
                    .map_err(NotebookError::from)?,
            )
        }
        #[cfg(not(feature = "cluster"))]
        {
            Err(no_cluster(cluster))
        }
    }
}

/// Runs `sql` on the notebook's cluster connection `name`: refused before anything is sent
/// when it names a table the cluster cannot read.
#[allow(clippy::too_many_arguments)]
pub(super) async fn on_cluster(
    catalog: std::sync::Arc<crate::tables::Catalog>,
    notebook: NotebookId,
    name: String,
    cluster: ClusterConnection,
    sql: String,
    on_rows: std::sync::Arc<dyn Fn(u64) + Send + Sync>,
    cancel: CancellationToken,
) -> Result<(SchemaRef, Vec<RecordBatch>), Error> {
    let held = crate::tables::sql::Collected::new(catalog.limits());
    let held =
        on_cluster_into(catalog, notebook, name, cluster, sql, on_rows, cancel, held).await?;
    Ok(held.into_parts())
}

/// [`on_cluster`], the rows going to `sink` as they come back; the sink is handed back.
#[allow(clippy::too_many_arguments)]
pub(super) async fn on_cluster_into<S: RowSink + 'static>(
    catalog: std::sync::Arc<crate::tables::Catalog>,
    notebook: NotebookId,
    name: String,
    cluster: ClusterConnection,
    sql: String,
    on_rows: std::sync::Arc<dyn Fn(u64) + Send + Sync>,
    cancel: CancellationToken,
    sink: S,
) -> Result<S, Error> {
    #[cfg(feature = "cluster")]
    {
        let tables = crate::cluster::resolve(&catalog, notebook, &name, &cluster, &sql).await?;
        let limits = catalog.limits().clone();
        let endpoint = cluster.endpoint();
        // The gRPC and Flight clients run on the network runtime, like every remote request.
        let run = crate::remote::io::handle().spawn(async move {
            let mut sink = OffTheRuntime(sink);
            crate::cluster::run_into(
                &cluster, tables, &sql, &limits, &*on_rows, &cancel, &mut sink,
            )
            .await
            .map(|()| sink.0)
        });
        let outcome = run.await.map_err(|e| {
            // A panic inside the Ballista client: the user gets words, the log the panic.
            log::error!("the cluster run stopped: {e}");
            crate::tables::TableError::from(crate::remote::RemoteError::Failed {
                endpoint,
                detail: "Quire's cluster client stopped unexpectedly (the log has why); run the cell again".into(),
            })
        });
        Ok(outcome??)
    }
    #[cfg(not(feature = "cluster"))]
    {
        let _ = (catalog, notebook, name, sql, on_rows, cancel, sink);
        Err(no_cluster(&cluster))
    }
}

/// A sink fed on the network runtime, its work (encoding and writing a file) handed off that
/// runtime's few threads, so other requests go on meanwhile.
#[cfg(feature = "cluster")]
struct OffTheRuntime<S>(S);

#[cfg(feature = "cluster")]
impl<S: RowSink> RowSink for OffTheRuntime<S> {
    fn start(&mut self, schema: &SchemaRef) -> Result<(), crate::tables::TableError> {
        tokio::task::block_in_place(|| self.0.start(schema))
    }

    fn push(&mut self, batch: RecordBatch) -> Result<(), crate::tables::TableError> {
        tokio::task::block_in_place(|| self.0.push(batch))
    }
}

#[cfg(not(feature = "cluster"))]
fn no_cluster(cluster: &ClusterConnection) -> Error {
    NotebookError::from(crate::remote::RemoteError::Invalid {
        what: cluster.endpoint(),
        why: "this build of Quire was made without Ballista clusters".into(),
    })
    .into()
}

impl Engine {
    /// Runs `sql` on the notebook's cluster connection `name` at the priority of what the user
    /// waits for, as [`Engine::query`] runs it here.
    pub async fn query_on(
        &self,
        notebook: NotebookId,
        sql: &str,
        name: &str,
    ) -> Result<Vec<RecordBatch>, Error> {
        Ok(self
            .result_on(notebook, sql, name, CancellationToken::new())
            .await?
            .1)
    }

    /// A query's answer and its columns from the notebook's cluster connection `name` (what an
    /// export or a profile of a cell that runs there reads), stopped by `cancel`.
    pub(crate) async fn result_on(
        &self,
        notebook: NotebookId,
        sql: &str,
        name: &str,
        cancel: CancellationToken,
    ) -> Result<(SchemaRef, Vec<RecordBatch>), Error> {
        let held = crate::tables::sql::Collected::new(self.ledger.catalog().limits());
        let held = self
            .result_into_on(notebook, sql, name, cancel, held)
            .await?;
        Ok(held.into_parts())
    }

    /// [`Engine::result_on`], the rows going to `sink` as they come back; the sink is handed
    /// back.
    pub(crate) async fn result_into_on<S: RowSink + 'static>(
        &self,
        notebook: NotebookId,
        sql: &str,
        name: &str,
        cancel: CancellationToken,
        sink: S,
    ) -> Result<S, Error> {
        self.ensure_tables(notebook)?;
        let cluster = self.cluster_of(notebook, name)?;
        let (catalog, sql, name) = (
            self.ledger.catalog().clone(),
            sql.to_string(),
            name.to_string(),
        );
        let job = self.scheduler.submit(
            crate::queue::Priority::UserVisible,
            crate::queue::JobKind::Query,
            None,
            move |queue_cancel| async move {
                // Stopped by the queue (a child sees its parent's cancel) or by the caller
                // (relayed), whichever comes first.
                let either = queue_cancel.child_token();
                let relay = tokio::spawn({
                    let either = either.clone();
                    async move {
                        cancel.cancelled().await;
                        either.cancel();
                    }
                });
                let out = on_cluster_into(
                    catalog,
                    notebook,
                    name,
                    cluster,
                    sql,
                    std::sync::Arc::new(|_| {}),
                    either,
                    sink,
                )
                .await;
                relay.abort();
                Ok(out)
            },
        );
        job.result().await?
    }
}

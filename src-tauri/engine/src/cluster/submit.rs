//! A query sent to a Ballista scheduler, its result streamed back, its job cancelled there.

use std::sync::Arc;
use std::time::Duration;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use ballista_core::config::BALLISTA_CLIENT_PULL;
use ballista_core::execution_plans::DistributedQueryExec;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_core::serde::protobuf::CancelJobParams;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::config::ConfigExtension;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SQLOptions;
use datafusion::execution::SessionStateBuilder;
use datafusion::physical_plan::execute_stream;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_proto::protobuf::LogicalPlanNode;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::reach::ClusterTables;
use crate::remote::{io, ClusterConnection, RemoteError, S3Connection};
use crate::tables::{Limits, TableError};

/// How long reaching the scheduler may take before it counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

datafusion::common::extensions_options! {
    /// The object store a cluster query reads, under the keys Ballista's executors take
    /// (`s3.endpoint`, `s3.region`, `s3.allow_http`). Never keys or secrets: the executors
    /// read with their own credentials.
    pub struct ClusterStore {
        pub endpoint: Option<String>, default = None
        pub region: Option<String>, default = None
        pub allow_http: Option<bool>, default = None
    }
}

impl ConfigExtension for ClusterStore {
    const PREFIX: &'static str = "s3";
}

impl PartialEq for ClusterStore {
    fn eq(&self, other: &Self) -> bool {
        (&self.endpoint, &self.region, self.allow_http)
            == (&other.endpoint, &other.region, other.allow_http)
    }
}

impl ClusterStore {
    /// What a link's connection says of where its objects are.
    pub fn of(settings: &S3Connection) -> ClusterStore {
        let endpoint = settings.endpoint.clone();
        ClusterStore {
            allow_http: endpoint
                .as_deref()
                .map(|e| e.starts_with("http://"))
                .filter(|plain| *plain),
            endpoint,
            region: settings.region.clone(),
        }
    }
}

/// Runs `sql` on the cluster over `tables`, reporting rows as they come back; `cancel` stops
/// the stream and cancels the job on the cluster.
pub async fn run(
    cluster: &ClusterConnection,
    tables: ClusterTables,
    sql: &str,
    limits: &Limits,
    on_rows: &(dyn Fn(u64) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<(SchemaRef, Vec<RecordBatch>), TableError> {
    let endpoint = cluster.endpoint();
    let failed = |e: DataFusionError| -> TableError {
        if let Some(too_large) = limits.exhausted(&e) {
            return too_large;
        }
        failure(&endpoint, &e).into()
    };
    let scheduler = cluster.scheduler_url()?;
    let target = cluster.address()?;
    tokio::task::spawn_blocking(move || io::reach(&target, CONNECT_TIMEOUT))
        .await
        .unwrap_or_else(|e| Err(e.to_string()))
        .map_err(|detail| RemoteError::Unreachable {
            endpoint: endpoint.clone(),
            detail,
        })?;

    // Pulling the job's state (rather than waiting for the scheduler to push it) gives the job
    // its id as soon as the scheduler accepts it, so a cancel can always name it.
    let mut config = SessionConfig::new_with_ballista()
        .with_information_schema(true)
        .set_bool(BALLISTA_CLIENT_PULL, true);
    if let Some(store) = tables.store {
        config = config.with_option_extension(store);
    }
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .build();
    let ctx = SessionContext::remote_with_state(&endpoint, state)
        .await
        .map_err(failed)?;
    for (name, provider) in tables.tables {
        ctx.register_table(name.as_str(), provider)
            .map_err(failed)?;
    }
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let frame = ctx
        .sql_with_options(sql, options)
        .await
        .map_err(crate::tables::sql::describe)?;
    let task = Arc::new(frame.task_ctx());
    let plan = frame.create_physical_plan().await.map_err(failed)?;
    let job = plan
        .downcast_ref::<DistributedQueryExec<LogicalPlanNode>>()
        .cloned();
    let mut stream = execute_stream(plan, task).map_err(failed)?;
    let schema = stream.schema();
    let budget = limits.budget("the query's result");
    let mut batches = Vec::new();
    let mut rows = 0u64;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => {
                if let Some(job) = &job {
                    // A cancel while the query is being submitted: wait briefly for the
                    // scheduler to name the job, so it is not left running unwatched.
                    let deadline = tokio::time::Instant::now() + CONNECT_TIMEOUT;
                    while job.job_id().is_none() && tokio::time::Instant::now() < deadline {
                        tokio::select! {
                            next = stream.next() => if !matches!(next, Some(Ok(_))) { break },
                            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                        }
                    }
                    drop(stream);
                    if let Some(id) = job.job_id() {
                        cancel_job(&scheduler, id.as_ref()).await;
                    }
                }
                return Err(TableError::Cancelled);
            }
            next = stream.next() => match next {
                None => return Ok((schema, batches)),
                Some(batch) => {
                    let batch = batch.map_err(failed)?;
                    budget.charge(&batch)?;
                    rows += batch.num_rows() as u64;
                    on_rows(rows);
                    batches.push(batch);
                }
            }
        }
    }
}

/// Asks the scheduler to cancel `job`: its tasks stop on the executors. A failure is logged
/// only (the user already stopped waiting).
async fn cancel_job(scheduler: &str, job: &str) {
    let cancelled = async {
        let mut client = SchedulerGrpcClient::connect(scheduler.to_string())
            .await
            .map_err(|e| e.to_string())?;
        client
            .cancel_job(CancelJobParams {
                job_id: job.to_string(),
            })
            .await
            .map_err(|e| e.to_string())
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, cancelled).await {
        Ok(Ok(_)) => log::info!("cluster job {job} cancelled"),
        Ok(Err(e)) => log::warn!("cluster job {job} could not be cancelled: {e}"),
        Err(_) => log::warn!("cluster job {job}: the scheduler did not answer the cancel in time"),
    }
}

/// A failure on the cluster in words: the job's own reason where Ballista gives one, without
/// the Rust debug text around it. The whole text goes to the log.
fn failure(endpoint: &str, e: &DataFusionError) -> RemoteError {
    let text = e.to_string();
    log::warn!("cluster {endpoint}: {text}");
    let unreachable = [
        "transport error",
        "Connection refused",
        "tcp connect error",
        "Unavailable",
    ];
    if unreachable.iter().any(|u| text.contains(u)) {
        return RemoteError::Unreachable {
            endpoint: endpoint.to_string(),
            detail: "the scheduler or an executor stopped answering while the query ran".into(),
        };
    }
    let reason = text
        .split_once(" failed: ")
        .map_or(text.as_str(), |(_, why)| why)
        .trim_start_matches("Execution error: ")
        .trim();
    RemoteError::Failed {
        endpoint: endpoint.to_string(),
        detail: format!("the cluster could not run the query: {reason}"),
    }
}

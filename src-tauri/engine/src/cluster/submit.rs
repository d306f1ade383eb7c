//! A query sent to a Ballista scheduler, its result streamed back, its job cancelled there.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use ballista_core::config::BALLISTA_CLIENT_PULL;
use ballista_core::execution_plans::DistributedQueryExec;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_core::serde::protobuf::CancelJobParams;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::execution::SessionStateBuilder;
use datafusion::physical_plan::{execute_stream, ExecutionPlan};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_proto::protobuf::LogicalPlanNode;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::reach::ClusterTables;
use crate::remote::{io, ClusterConnection, RemoteError};
use crate::tables::export::RowSink;
use crate::tables::sql::Collected;
use crate::tables::{Limits, TableError};

/// How long reaching the scheduler may take before it counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

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
    let mut held = Collected::new(limits);
    run_into(cluster, tables, sql, limits, on_rows, cancel, &mut held).await?;
    Ok(held.into_parts())
}

/// [`run`], the rows going to `sink` as they come back (a file, never held whole here).
pub async fn run_into(
    cluster: &ClusterConnection,
    tables: ClusterTables,
    sql: &str,
    limits: &Limits,
    on_rows: &(dyn Fn(u64) + Send + Sync),
    cancel: &CancellationToken,
    sink: &mut dyn RowSink,
) -> Result<(), TableError> {
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
    // Parquet statistics leave NaN out of a float column's bounds (see
    // `tables/linked/float_stats.rs`): with a float column, no answer is read from them and no
    // TopK's or join's dynamic filter skips row groups by them.
    let floats = tables.tables.iter().any(|(_, provider)| {
        provider
            .schema()
            .fields()
            .iter()
            .any(|f| f.data_type().is_floating())
    });
    let mut config = SessionConfig::new_with_ballista()
        .with_information_schema(true)
        .set_bool(BALLISTA_CLIENT_PULL, true)
        .set_bool(
            "datafusion.optimizer.enable_dynamic_filter_pushdown",
            !floats,
        )
        .set_bool("datafusion.execution.collect_statistics", !floats);
    if let Some(store) = tables.store {
        config = store.configure(config);
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
    // The same restrictions as a cell run here.
    let frame = ctx
        .sql_with_options(sql, crate::tables::sql::restricted())
        .await
        .map_err(crate::tables::sql::describe)?;
    let task = Arc::new(frame.task_ctx());
    let plan = frame.create_physical_plan().await.map_err(failed)?;
    let job = job_of(&plan);
    // Listed while it runs, so quitting Quire cancels it on the cluster too.
    let _live = job.clone().map(|j| Live::add(&scheduler, j));
    let mut stream = execute_stream(plan, task).map_err(failed)?;
    sink.start(&stream.schema())?;
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
                None => return Ok(()),
                Some(batch) => {
                    let pushed = batch.map_err(failed).and_then(|batch| {
                        rows += batch.num_rows() as u64;
                        sink.push(batch)
                    });
                    if let Err(e) = pushed {
                        // Past the budget, or the file cannot be written: the job stops too.
                        drop(stream);
                        if let Some(id) = job.as_ref().and_then(|j| j.job_id()) {
                            cancel_job(&scheduler, id.as_ref()).await;
                        }
                        return Err(e);
                    }
                    on_rows(rows);
                }
            }
        }
    }
}

/// The node that submits the job, wherever the plan has it (`EXPLAIN ANALYZE` wraps it).
fn job_of(plan: &Arc<dyn ExecutionPlan>) -> Option<DistributedQueryExec<LogicalPlanNode>> {
    if let Some(job) = plan.downcast_ref::<DistributedQueryExec<LogicalPlanNode>>() {
        return Some(job.clone());
    }
    plan.children().into_iter().find_map(job_of)
}

/// The cluster jobs running now, each with its scheduler.
static LIVE: Mutex<Vec<(u64, String, DistributedQueryExec<LogicalPlanNode>)>> =
    Mutex::new(Vec::new());
static NEXT_LIVE: AtomicU64 = AtomicU64::new(0);

/// A job listed in [`LIVE`] until the run ends, however it ends.
struct Live(u64);

impl Live {
    fn add(scheduler: &str, job: DistributedQueryExec<LogicalPlanNode>) -> Live {
        let id = NEXT_LIVE.fetch_add(1, Ordering::Relaxed);
        LIVE.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((id, scheduler.to_string(), job));
        Live(id)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        LIVE.lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(id, ..)| *id != self.0);
    }
}

/// Cancels every cluster job still running (Quire is closing): Ballista would otherwise run
/// them to the end with nobody waiting. Bounded by the cancel's own timeout.
pub fn cancel_all() {
    let jobs: Vec<(String, String)> = LIVE
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter_map(|(_, scheduler, job)| Some((scheduler.clone(), job.job_id()?.to_string())))
        .collect();
    if jobs.is_empty() {
        return;
    }
    io::wait(futures::future::join_all(
        jobs.iter()
            .map(|(scheduler, job)| cancel_job(scheduler, job)),
    ));
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
    if !text.contains("ObjectStore(") && unreachable.iter().any(|u| text.contains(u)) {
        return RemoteError::Unreachable {
            endpoint: endpoint.to_string(),
            detail: "the scheduler or an executor stopped answering while the query ran".into(),
        };
    }
    RemoteError::Failed {
        endpoint: endpoint.to_string(),
        detail: format!("the cluster could not run the query: {}", readable(&text)),
    }
}

/// The text between the first `open` in `text` and the next `close` after it.
fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}

/// Ballista reports a job's failure as the debug text of the error it met: the words a user
/// can act on are inside it.
fn readable(text: &str) -> String {
    if text.contains("failed to serialize logical plan") {
        return "the query uses something Ballista cannot send to a cluster (a table function, or a table made on this machine); run the cell on this machine".into();
    }
    // A local path the cluster does not see where this machine does.
    if text.contains("ObjectStore(NotFound") {
        let what = between(text, "path: \"", "\"").unwrap_or("a linked file");
        return format!(
            "it does not find {what}; is its shared folder mounted at the same path on the scheduler and every executor?"
        );
    }
    if text.contains("ObjectStore(") {
        // The innermost cause is the last quoted error text.
        let why = text
            .rfind("error: \"")
            .and_then(|at| between(&text[at..], "error: \"", "\""));
        let what = between(text, "uri: Some(", ")")
            .or_else(|| between(text, "path: \"", "\""))
            .map_or("the linked objects".to_string(), str::to_string);
        return match why {
            Some(why) => format!(
                "it could not read {what} ({why}); check that its executors reach the store and hold its keys"
            ),
            None => format!(
                "it could not read {what}; check that its executors reach the store and hold its keys"
            ),
        };
    }
    // The scheduler refused the plan, or answered with a gRPC status: their own messages.
    if let Some(why) = between(text, "PlanParsingFailure(\"", "\")") {
        return format!(
            "its scheduler could not read the plan: {}",
            why.replace("\\\"", "\"")
        );
    }
    if let Some(why) = between(text, "message: \"", "\", details") {
        return why.replace("\\\"", "\"");
    }
    let reason = text.rsplit_once(" failed: ").map_or(text, |(_, r)| r);
    let reason = match reason.strip_prefix("Error planning job ") {
        Some(rest) => rest.split_once(": ").map_or(rest, |(_, r)| r),
        None => reason,
    };
    // `DataFusionError(Plan("..."))`: the quoted words.
    match between(reason, "(\"", "\")") {
        Some(inner) if reason.starts_with("DataFusionError(") => inner.replace("\\\"", "\""),
        _ => reason
            .trim_start_matches("Execution error: ")
            .trim()
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::readable;

    #[test]
    fn a_failed_jobs_reason_is_told_without_its_debug_text() {
        // As the scheduler reported an object store it could not reach (seen in a test).
        let text = r#"Execution error: Job 038J2SSJ2M000 failed: Error planning job 038J2SSJ2M000: DataFusionError(ObjectStore(Generic { store: "S3", source: RetryError(RetryErrorImpl { method: HEAD, uri: Some(https://s3.us-east-1.amazonaws.com/lake/sales/part-2.parquet), retries: 10, max_retries: 10, elapsed: 1.720289389s, retry_timeout: 180s, inner: Http(HttpError { kind: Connect, source: reqwest::Error { kind: Request, source: hyper_util::client::legacy::Error(Connect, ConnectError("dns error", Custom { kind: Uncategorized, error: "failed to lookup address information: Name or service not known" })) } }) }) }))"#;
        assert_eq!(
            readable(text),
            "it could not read https://s3.us-east-1.amazonaws.com/lake/sales/part-2.parquet (failed to lookup address information: Name or service not known); check that its executors reach the store and hold its keys"
        );
        let text = r#"Execution error: Job 1 failed: Error planning job 1: DataFusionError(Plan("table 'x' not found"))"#;
        assert_eq!(readable(text), "table 'x' not found");
        assert_eq!(
            readable("Execution error: Job 2 failed: Task failed due to a lost executor"),
            "Task failed due to a lost executor"
        );
        let text = r#"Execution error: Job 3 failed: Error planning job 3: DataFusionError(ObjectStore(NotFound { path: "/mnt/data/sales/part-0.parquet", source: Os { code: 2, kind: NotFound, message: "No such file or directory" } }))"#;
        assert_eq!(
            readable(text),
            "it does not find /mnt/data/sales/part-0.parquet; is its shared folder mounted at the same path on the scheduler and every executor?"
        );
        let text = r#"Execution error: Fail to execute query due to ExecuteQueryFailureResult { failure: Some(PlanParsingFailure("could not decode the plan")) }"#;
        assert_eq!(
            readable(text),
            "its scheduler could not read the plan: could not decode the plan"
        );
        let text = r#"Execution error: Status { code: Internal, message: "Failed to create SessionContext: no such setting", details: [], metadata: MetadataMap { headers: {} } }"#;
        assert_eq!(
            readable(text),
            "Failed to create SessionContext: no such setting"
        );
    }
}

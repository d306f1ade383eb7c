//! What a scheduler says of itself and its jobs, through its REST API (served on its gRPC
//! port by `ballista-scheduler` 55 and `quire-scheduler`).

use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::remote::{ClusterConnection, ConnectionCheck, RemoteError};

/// How long the scheduler has to answer one request.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Deserialize)]
struct Version {
    version: String,
    datafusion_version: String,
}

#[derive(Deserialize)]
struct Executor {
    specification: Specification,
}

#[derive(Deserialize)]
struct Specification {
    vcores: u32,
}

/// A job as the scheduler lists it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct JobState {
    pub job_id: String,
    /// `Queued`, `Running`, `Completed`, `Failed` or `Invalid` (cancelled jobs are `Failed`).
    pub status: String,
    /// The detail, with a failure's reason.
    pub job_status: String,
}

async fn get<T: for<'de> Deserialize<'de>>(
    cluster: &ClusterConnection,
    path: &str,
) -> Result<T, RemoteError> {
    let endpoint = cluster.endpoint();
    let url = format!("{}{path}", cluster.scheduler_url()?);
    let client = reqwest::Client::builder()
        .timeout(ANSWER_TIMEOUT)
        .connect_timeout(ANSWER_TIMEOUT)
        .build()
        .map_err(|e| RemoteError::Failed {
            endpoint: endpoint.clone(),
            detail: format!("no HTTP client: {e}"),
        })?;
    let response = client.get(&url).send().await.map_err(|e| {
        log::warn!("{url}: {e}");
        RemoteError::Unreachable {
            endpoint: endpoint.clone(),
            detail: if e.is_timeout() {
                "it did not answer in time".into()
            } else {
                "nothing answered there; check the host and port and that the scheduler runs".into()
            },
        }
    })?;
    if !response.status().is_success() {
        return Err(RemoteError::Failed {
            endpoint,
            detail: format!(
                "it answered {} to {path}; is this a Ballista 55 scheduler with its REST API on?",
                response.status()
            ),
        });
    }
    let body = response.bytes().await.map_err(|e| RemoteError::Failed {
        endpoint: endpoint.clone(),
        detail: format!("its answer was cut short: {e}"),
    })?;
    serde_json::from_slice(&body).map_err(|_| RemoteError::Failed {
        endpoint,
        detail: format!("its answer to {path} is not what a Ballista 55 scheduler sends"),
    })
}

/// Tests a cluster connection: the scheduler's version and the executors registered with it.
/// A cluster without executors is reachable but cannot run anything, and says so.
pub async fn check(cluster: &ClusterConnection) -> Result<ConnectionCheck, RemoteError> {
    let started = Instant::now();
    let version: Version = get(cluster, "/api/version").await?;
    let executors: Vec<Executor> = get(cluster, "/api/executors").await?;
    let slots: u32 = executors.iter().map(|e| e.specification.vcores).sum();
    Ok(ConnectionCheck {
        endpoint: cluster.endpoint(),
        objects: executors.len().try_into().unwrap_or(u32::MAX),
        folders: slots,
        elapsed_ms: started.elapsed().as_millis().try_into().unwrap_or(u32::MAX),
        server: Some(format!(
            "Ballista {} (DataFusion {})",
            version.version, version.datafusion_version
        )),
    })
}

/// Every job the scheduler knows, as it reports them.
pub async fn job_states(cluster: &ClusterConnection) -> Result<Vec<JobState>, RemoteError> {
    get(cluster, "/api/jobs").await
}

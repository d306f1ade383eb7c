//! `quire-executor`: Ballista's executor with its command line (`--scheduler-port`,
//! `--bind-port`, `--bind-grpc-port`, `--work-dir`, …), reading object storage as Ballista's own
//! binary does, and Azure Blob Storage too (`quire_cluster::stores`). The Kubernetes health server of that binary is left out: on one machine its
//! fixed port would keep a second executor from starting.

use std::sync::Arc;

use ballista_executor::config::Config;
use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ballista_core::error::Result<()> {
    let opt = Config::parse();
    let mut config: ExecutorProcessConfig = opt.try_into()?;
    config.override_config_producer = Some(Arc::new(quire_cluster::stores::session_config));
    config.override_runtime_producer = Some(Arc::new(quire_cluster::stores::runtime_env));
    let filter =
        std::env::var(EnvFilter::DEFAULT_ENV).unwrap_or(config.special_mod_log_level.clone());
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_env_filter(EnvFilter::new(filter))
        .init();
    start_executor_process(Arc::new(config)).await
}

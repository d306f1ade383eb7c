//! A Ballista cluster of this crate's binaries on loopback, and the held dataset, for the
//! cluster tests.
#![allow(dead_code)] // each test binary uses its part

#[path = "../../../engine/tests/support/held.rs"]
pub mod held;
#[path = "../../../engine/tests/support/session.rs"]
pub mod session;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use quire_engine::ids::NotebookId;
use quire_engine::remote::{ClusterConnection, Connection, ConnectionKind};
use quire_engine::Engine;

use session::block;
pub use session::text;

/// A scheduler and its executors, killed when dropped.
pub struct Cluster {
    scheduler: Child,
    pub executors: Vec<Child>,
    port: u16,
    logs: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.executors.iter_mut().chain([&mut self.scheduler]) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Cluster {
    pub fn url(&self) -> String {
        format!("df://127.0.0.1:{}", self.port)
    }

    pub fn connection(&self, shared: &Path) -> ClusterConnection {
        ClusterConnection {
            url: self.url(),
            shared_folders: vec![shared.display().to_string()],
        }
    }

    /// The last lines each process wrote, for a failure's message.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for entry in std::fs::read_dir(&self.logs)
            .into_iter()
            .flatten()
            .flatten()
        {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            out += &format!("--- {}\n", entry.path().display());
            for line in tail.into_iter().rev() {
                out += line;
                out.push('\n');
            }
        }
        out
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The cluster's own S3 credentials (moto takes any): not the ones this process has.
pub const CLUSTER_KEYS: [(&str, &str); 2] = [
    ("AWS_ACCESS_KEY_ID", "AKIACLUSTEROWN"),
    ("AWS_SECRET_ACCESS_KEY", "cluster-own-secret"),
];

/// One of the cluster's processes, with the cluster's own keys and `env` (another store's).
pub fn spawn_with(binary: &str, args: &[String], log: &Path, env: &[(&str, &str)]) -> Child {
    let out = std::fs::File::create(log).unwrap();
    Command::new(binary)
        .args(args)
        .env("RUST_LOG", "info")
        .envs(CLUSTER_KEYS)
        .envs(env.iter().copied())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{binary} did not start: {e}"))
}

/// A scheduler and `executors` executors on loopback, every executor registered. The
/// scheduler counts an executor dead after 6 s without a heartbeat (180 s by default), so a
/// killed one is noticed within the test's time.
pub fn start(dir: &Path, executors: usize) -> Cluster {
    start_with(dir, executors, &[])
}

/// [`start`], every process with `env` too.
pub fn start_with(dir: &Path, executors: usize, env: &[(&str, &str)]) -> Cluster {
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let port = free_port();
    let scheduler = spawn_with(
        env!("CARGO_BIN_EXE_quire-scheduler"),
        &[
            "--bind-host=127.0.0.1".into(),
            format!("--bind-port={port}"),
            "--external-host=127.0.0.1".into(),
            "--executor-timeout-seconds=6".into(),
            "--expire-dead-executor-interval-seconds=1".into(),
        ],
        &logs.join("scheduler.log"),
        env,
    );
    let mut cluster = Cluster {
        scheduler,
        executors: Vec::new(),
        port,
        logs,
    };
    for n in 0..executors {
        let work = dir.join(format!("executor-{n}"));
        std::fs::create_dir_all(&work).unwrap();
        let child = spawn_with(
            env!("CARGO_BIN_EXE_quire-executor"),
            &[
                "--scheduler-host=127.0.0.1".into(),
                format!("--scheduler-port={port}"),
                "--scheduler-connect-timeout-seconds=30".into(),
                "--bind-host=127.0.0.1".into(),
                "--external-host=127.0.0.1".into(),
                format!("--bind-port={}", free_port()),
                format!("--bind-grpc-port={}", free_port()),
                format!("--work-dir={}", work.display()),
                "--vcores=2".into(),
                "--executor-heartbeat-interval-seconds=1".into(),
            ],
            &cluster.logs.join(format!("executor-{n}.log")),
            env,
        );
        cluster.executors.push(child);
    }
    // Ready when the scheduler lists every executor.
    let settings = cluster.connection(dir);
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let seen = block(quire_engine::cluster::check(&settings));
        if matches!(&seen, Ok(check) if check.objects as usize == executors) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cluster did not come up in 90 s ({seen:?})\n{}",
            cluster.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    cluster
}

/// The held dataset, `parts` x `per` rows, as Parquet files in `dir/sales`.
pub fn write_dataset(dir: &Path, parts: usize, per: usize) -> PathBuf {
    let folder = dir.join("sales");
    std::fs::create_dir_all(&folder).unwrap();
    for part in 0..parts {
        let bytes = held::part_bytes(part, per).unwrap();
        std::fs::write(folder.join(format!("part-{part}.parquet")), bytes).unwrap();
    }
    folder
}

/// A notebook with the dataset linked as `sales` and the cluster as the connection `lab`.
pub fn notebook(
    engine: &Engine,
    cluster: &Cluster,
    dir: &Path,
    parts: usize,
    per: usize,
) -> NotebookId {
    let nb = engine.create_notebook("Cluster").unwrap().id;
    engine
        .save_connection(
            nb,
            Connection {
                name: "lab".into(),
                kind: ConnectionKind::Ballista,
                s3: None,
                postgres: None,
                cluster: Some(cluster.connection(dir)),
                azure: None,
            },
        )
        .unwrap();
    engine
        .link_table(nb, &write_dataset(dir, parts, per), Some("sales"))
        .unwrap();
    nb
}

/// Waits until the scheduler lists a job as running, and returns its id.
pub fn running_job(cluster: &Cluster, settings: &ClusterConnection) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let jobs = block(quire_engine::cluster::job_states(settings)).unwrap_or_default();
        if let Some(job) = jobs.iter().find(|j| j.status == "Running") {
            return job.job_id.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no job ran within 60 s ({jobs:?})\n{}",
            cluster.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

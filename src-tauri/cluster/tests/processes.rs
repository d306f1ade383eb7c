//! A real Ballista cluster on loopback: `quire-scheduler` and two `quire-executor` processes
//! (this crate's binaries, built from the ballista crates on crates.io), started and stopped
//! here, running Quire's cluster cells over Parquet files in a folder both sides share.
//!
//! - the held query set answers on the cluster exactly as it does locally;
//! - a connection test sees the scheduler's version and both executors;
//! - cancelling a cell stops its job on the cluster (the scheduler lists it as no longer
//!   running), not only the stream on this machine;
//! - an executor killed mid-query ends in an answer (Ballista ran its tasks again elsewhere)
//!   or a failure in words, never a hang.

#[path = "../../engine/tests/support/held.rs"]
mod held;
#[path = "../../engine/tests/support/session.rs"]
mod session;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use quire_engine::datafusion::arrow::record_batch::RecordBatch;
use quire_engine::datafusion::arrow::util::display::array_value_to_string;
use quire_engine::ids::NotebookId;
use quire_engine::notebooks::CellKind;
use quire_engine::remote::{ClusterConnection, Connection, ConnectionKind};
use quire_engine::{Engine, ErrorCode, HasCode};
use tokio_util::sync::CancellationToken;

use session::{answer, block, engine};

/// A scheduler and its executors, killed when dropped.
struct Cluster {
    scheduler: Child,
    executors: Vec<Child>,
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
    fn url(&self) -> String {
        format!("df://127.0.0.1:{}", self.port)
    }

    fn connection(&self, shared: &Path) -> ClusterConnection {
        ClusterConnection {
            url: self.url(),
            shared_folders: vec![shared.display().to_string()],
        }
    }

    /// The last lines each process wrote, for a failure's message.
    fn logs(&self) -> String {
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(binary: &str, args: &[String], log: &Path) -> Child {
    let out = std::fs::File::create(log).unwrap();
    Command::new(binary)
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{binary} did not start: {e}"))
}

/// A scheduler and `executors` executors on loopback, every executor registered. The
/// scheduler counts an executor dead after 6 s without a heartbeat (180 s by default), so a
/// killed one is noticed within the test's time.
fn start(dir: &Path, executors: usize) -> Cluster {
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let port = free_port();
    let scheduler = spawn(
        env!("CARGO_BIN_EXE_quire-scheduler"),
        &[
            "--bind-host=127.0.0.1".into(),
            format!("--bind-port={port}"),
            "--external-host=127.0.0.1".into(),
            "--executor-timeout-seconds=6".into(),
            "--expire-dead-executor-interval-seconds=1".into(),
        ],
        &logs.join("scheduler.log"),
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
        let child = spawn(
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
fn write_dataset(dir: &Path, parts: usize, per: usize) -> PathBuf {
    let folder = dir.join("sales");
    std::fs::create_dir_all(&folder).unwrap();
    for part in 0..parts {
        let bytes = held::part_bytes(part, per).unwrap();
        std::fs::write(folder.join(format!("part-{part}.parquet")), bytes).unwrap();
    }
    folder
}

/// A notebook with the dataset linked as `sales` and the cluster as the connection `lab`.
fn notebook(
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
            },
        )
        .unwrap();
    engine
        .link_table(nb, &write_dataset(dir, parts, per), Some("sales"))
        .unwrap();
    nb
}

fn text(batches: &[RecordBatch]) -> String {
    let mut rows = Vec::new();
    for batch in batches {
        for r in 0..batch.num_rows() {
            let cells: Vec<String> = batch
                .columns()
                .iter()
                .map(|c| {
                    if c.is_null(r) {
                        String::new()
                    } else {
                        array_value_to_string(c, r).unwrap()
                    }
                })
                .collect();
            rows.push(cells.join(" | "));
        }
    }
    rows.sort();
    rows.join("\n")
}

/// Waits until the scheduler lists a job as running, and returns its id.
fn running_job(cluster: &Cluster, settings: &ClusterConnection) -> String {
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

/// A query that keeps two executors busy for many seconds: every pair of rows of a category.
const HEAVY: &str = "SELECT count(*) AS pairs FROM sales a JOIN sales b ON a.category = b.category";

#[test]
fn two_executors_answer_the_held_queries_as_this_machine_does() {
    let tmp = tempfile::tempdir().unwrap();
    let cluster = start(tmp.path(), 2);
    let engine = engine(&tmp.path().join("data"));
    let nb = notebook(&engine, &cluster, tmp.path(), 4, 25_000);
    for q in held::QUERIES {
        let sql = q.replace("{t}", "sales");
        let local = answer(&engine, nb, &sql);
        let remote = block(engine.query_on(nb, &sql, "lab"))
            .unwrap_or_else(|e| panic!("{sql}: {e}\n{}", cluster.logs()));
        assert!(!local.is_empty(), "{sql} has an empty answer");
        assert_eq!(text(&remote), local, "{sql}");
    }
    // The connection test sees both executors and what the scheduler is.
    let connection = engine.notebooks().connection(nb, "lab").unwrap();
    let check = engine.check_connection(nb, &connection, "").unwrap();
    assert_eq!(check.objects, 2, "{check:?}");
    assert_eq!(check.folders, 4, "{check:?}");
    let server = check.server.unwrap_or_default();
    assert!(server.starts_with("Ballista 55."), "{server}");
    // Every job the scheduler ran completed.
    let jobs = block(quire_engine::cluster::job_states(
        &cluster.connection(tmp.path()),
    ))
    .unwrap();
    assert_eq!(jobs.len(), held::QUERIES.len(), "{jobs:?}");
    assert!(jobs.iter().all(|j| j.status == "Completed"), "{jobs:?}");
}

#[test]
fn cancelling_a_cell_stops_its_job_on_the_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let cluster = start(tmp.path(), 2);
    let settings = cluster.connection(tmp.path());
    let engine = Arc::new(engine(&tmp.path().join("data")));
    let nb = notebook(&engine, &cluster, tmp.path(), 4, 40_000);
    let cell = engine
        .notebooks()
        .add_cell(nb, CellKind::Sql, None, HEAVY.into())
        .unwrap();
    engine
        .set_cell_runs_on(nb, cell.id, Some("lab".into()))
        .unwrap();
    let cancel = CancellationToken::new();
    let run = {
        let (engine, cancel) = (engine.clone(), cancel.clone());
        std::thread::spawn(move || {
            block(engine.run_cell_with(nb, cell.id, Arc::new(|_| {}), &cancel))
        })
    };
    let job = running_job(&cluster, &settings);
    let cancelled_at = Instant::now();
    cancel.cancel();
    let e = run.join().unwrap().unwrap_err();
    assert_eq!(e.code(), ErrorCode::Cancelled, "{e}");
    assert!(
        cancelled_at.elapsed() < Duration::from_secs(10),
        "the cell took {:?} to stop",
        cancelled_at.elapsed()
    );
    // The scheduler no longer runs it: Ballista lists a cancelled job as failed.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let jobs = block(quire_engine::cluster::job_states(&settings)).unwrap();
        let state = jobs.iter().find(|j| j.job_id == job).cloned();
        match state {
            Some(j) if j.status != "Running" && j.status != "Queued" => {
                assert_eq!(j.status, "Failed", "{j:?}");
                assert!(j.job_status.to_lowercase().contains("cancel"), "{j:?}");
                break;
            }
            _ => assert!(
                Instant::now() < deadline,
                "the job still runs 30 s after the cancel: {state:?}\n{}",
                cluster.logs()
            ),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_executor_killed_mid_query_ends_in_an_answer_or_words_never_a_hang() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cluster = start(tmp.path(), 2);
    let settings = cluster.connection(tmp.path());
    let engine = Arc::new(engine(&tmp.path().join("data")));
    let nb = notebook(&engine, &cluster, tmp.path(), 4, 10_000);
    let expected = answer(&engine, nb, HEAVY);
    let (sent, outcome) = std::sync::mpsc::channel();
    {
        let engine = engine.clone();
        std::thread::spawn(move || {
            let _ = sent.send(block(engine.query_on(nb, HEAVY, "lab")));
        });
    }
    running_job(&cluster, &settings);
    let victim = &mut cluster.executors[0];
    victim.kill().unwrap();
    victim.wait().unwrap();
    let killed_at = Instant::now();
    let outcome = outcome
        .recv_timeout(Duration::from_secs(180))
        .unwrap_or_else(|_| panic!("no outcome 180 s after the kill\n{}", cluster.logs()));
    match outcome {
        Ok(batches) => {
            eprintln!(
                "executor killed: Ballista ran the tasks again; the answer came {:?} after the kill",
                killed_at.elapsed()
            );
            assert_eq!(text(&batches), expected);
        }
        Err(e) => {
            eprintln!("executor killed: the user sees \"{e}\" ({:?})", e.code());
            assert!(
                matches!(
                    e.code(),
                    ErrorCode::ConnectionFailed | ErrorCode::ConnectionUnreachable
                ),
                "{e}"
            );
            let message = e.to_string();
            for raw in ["Status {", "tonic", "DataFusionError", "Some("] {
                assert!(!message.contains(raw), "raw engine text in {message}");
            }
            assert!(message.contains(&cluster.url()), "{message}");
        }
    }
}

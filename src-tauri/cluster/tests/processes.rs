//! A real Ballista cluster on loopback: `quire-scheduler` and two `quire-executor` processes
//! (this crate's binaries, built from the ballista crates on crates.io), started and stopped
//! here, running Quire's cluster cells over Parquet files in a folder both sides share.
//!
//! - the held query set answers on the cluster exactly as it does locally;
//! - a connection test sees the scheduler's version and both executors;
//! - cancelling a cell stops its job on the cluster (the scheduler lists it as no longer
//!   running), not only the stream on this machine;
//! - an executor killed mid-query ends in an answer (Ballista ran its tasks again elsewhere)
//!   or a failure in words, never a hang;
//!
//! Parquet in a bucket read by the executors is `bucket.rs`.

#[path = "support/cluster.rs"]
mod cluster;

use std::sync::Arc;
use std::time::{Duration, Instant};

use quire_engine::notebooks::CellKind;
use quire_engine::remote::ClusterConnection;
use quire_engine::{ErrorCode, HasCode};
use tokio_util::sync::CancellationToken;

use cluster::held;
use cluster::session::{answer, block, engine};
use cluster::{notebook, running_job, start, text};

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
    // A result kept as a table is computed there too: one more job, the same rows.
    let sql = "SELECT category, count(*) AS n FROM sales GROUP BY category";
    let kept = block(engine.keep_result(nb, sql, "by_category", Some("lab"))).unwrap();
    assert_eq!(kept.rows, 20);
    let jobs = block(quire_engine::cluster::job_states(
        &cluster.connection(tmp.path()),
    ))
    .unwrap();
    assert_eq!(jobs.len(), held::QUERIES.len() + 1, "{jobs:?}");
    assert_eq!(
        answer(&engine, nb, "SELECT * FROM by_category"),
        answer(&engine, nb, sql)
    );
    // An export and a profile of a cell that runs there read the cluster's answer: one job
    // each, the same rows.
    let out = tmp.path().join("by_category.parquet");
    let bytes = block(engine.export_query(nb, sql, &out, Some("lab"))).unwrap();
    assert!(bytes > 0);
    engine.link_table(nb, &out, Some("exported")).unwrap();
    assert_eq!(
        answer(&engine, nb, "SELECT * FROM exported"),
        answer(&engine, nb, sql)
    );
    let none = tokio_util::sync::CancellationToken::new();
    let profile = block(engine.profile_query(nb, sql, Some("lab"), &none)).unwrap();
    assert_eq!(profile.rows, 20);
    let jobs = block(quire_engine::cluster::job_states(
        &cluster.connection(tmp.path()),
    ))
    .unwrap();
    assert_eq!(jobs.len(), held::QUERIES.len() + 3, "{jobs:?}");
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
    stopped_on_cluster(&cluster, &settings, &job);

    // EXPLAIN ANALYZE wraps the job in a node of its own: cancelled there too.
    let explain = engine
        .notebooks()
        .add_cell(nb, CellKind::Sql, None, format!("EXPLAIN ANALYZE {HEAVY}"))
        .unwrap();
    engine
        .set_cell_runs_on(nb, explain.id, Some("lab".into()))
        .unwrap();
    let cancel = CancellationToken::new();
    let run = {
        let (engine, cancel) = (engine.clone(), cancel.clone());
        std::thread::spawn(move || {
            block(engine.run_cell_with(nb, explain.id, Arc::new(|_| {}), &cancel))
        })
    };
    let job = running_job(&cluster, &settings);
    cancel.cancel();
    let e = run.join().unwrap().unwrap_err();
    assert_eq!(e.code(), ErrorCode::Cancelled, "{e}");
    stopped_on_cluster(&cluster, &settings, &job);
}

/// Waits (30 s at most) until the scheduler lists `job` as cancelled.
fn stopped_on_cluster(cluster: &cluster::Cluster, settings: &ClusterConnection, job: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let jobs = block(quire_engine::cluster::job_states(settings)).unwrap();
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

//! `remote`: Parquet in a bucket of a real S3 API server on loopback (moto's server mode, from
//! PyPI into the bench venv, started and stopped here), against the same files linked locally.
//!
//! The dataset: `QUIRE_BENCH_REMOTE_ROWS` rows (default 4,000,000) x 6 columns in 8 objects of
//! 50,000-row groups, ids ascending. Measures:
//!
//! - `s3_pushdown_bytes_ratio` (value; target <= 0.1): bytes fetched for a one-column, 1 %
//!   -selective query (`sum(value)` over an id range) over the dataset's bytes.
//! - `s3_full_scan_bytes_ratio` (value): the same for `SELECT *` counted whole: what a query
//!   without pushdown fetches.
//! - `s3_answers_equal` (1 when each of the five queries answers the same over the bucket as
//!   over the local files).
//! - `s3_queries_vs_local` (ratio = local time / bucket time for the five queries in all, best
//!   of `REPEATS`): the cost of the network path. One machine and a Python server on loopback:
//!   this is no figure for a real bucket's latency, only a check that nothing is pathological.
//! - `s3_page_ms` (value): a 200-row grid page in the middle of the table, through the bucket.
//!
//!
//! And against PostgreSQL (Debian's, a fresh cluster on loopback started and stopped here, by
//! the engine tests' own helper): the same rows made in Postgres by SQL, attached to the
//! notebook, five queries run by Quire over `pg.public.sales` and by `psql` itself:
//!
//! - `postgres_answers_equal` (1 when every answer equals Postgres's own, row for row).
//! - `postgres_vs_direct` (ratio = psql's time / Quire's for the five queries, best of
//!   `REPEATS`; psql's includes starting the process). Quire sends Postgres the columns and the
//!   filters but aggregates itself, so what it pays for is the rows travelling.
//!
//! And on a Ballista cluster (this workspace's `quire-scheduler` and two `quire-executor`
//! processes on loopback, built with the bench's profile when missing, started and stopped
//! here), over the same files on disk (their folder shared with the cluster):
//!
//! - `ballista_answers_equal` (1 when each of the five queries answers on the cluster as it
//!   does on this machine).
//! - `ballista_vs_local` (ratio = this machine's time / the cluster's for the five queries, best
//!   of `REPEATS`). One machine cannot show a cluster's speed-up: the two executors share its
//!   cores, and every query pays for planning, scheduling, shuffles and Flight transfers.
//! - `ballista_vs_duckdb` (ratio = DuckDB's time / the cluster's, DuckDB reading the same files
//!   where they lie, in the bench venv) and `local_vs_duckdb` (the same for this machine).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::util::display::array_value_to_string;
use quire_engine::events::NullSink;
use quire_engine::ids::NotebookId;
use quire_engine::remote::{Connection, ConnectionKind, PostgresConnection, S3Connection};
use quire_engine::{Config, Engine, EnginePaths};

use crate::report::Measure;
use crate::stats::micros;

const SUITE: &str = "remote";
const PARTS: usize = 8;
const REPEATS: usize = 3;
const BUCKET: &str = "bench";

/// The engine tests' PostgreSQL helper (a cluster in a temporary folder, on loopback); the
/// bench uses part of it (not the statement log).
#[cfg(unix)]
#[allow(dead_code)]
#[path = "../../../engine/tests/support/postgres.rs"]
mod pg_server;

/// The dataset and five queries every remote measure runs (shared with the cluster tests).
#[path = "../../../engine/tests/support/held.rs"]
mod held;
use held::{part_bytes, QUERIES};

fn rows() -> usize {
    std::env::var("QUIRE_BENCH_REMOTE_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4_000_000)
}

/// moto's S3 server on a free loopback port, killed when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The bench venv's Python with moto's server installed.
fn moto_python() -> Result<PathBuf, String> {
    let python = super::tables::venv()?;
    let ready = Command::new(&python)
        .args(["-c", "import moto.server, flask"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        eprintln!("installing moto's S3 server into the bench venv ...");
        let ok = Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "moto[server]==5.2.5"])
            .status()
            .map_err(|e| e.to_string())?
            .success();
        if !ok {
            return Err("could not install moto[server] for the remote bench".into());
        }
    }
    Ok(python)
}

fn start_moto() -> Result<Moto, String> {
    let python = moto_python()?;
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let child = Command::new(python)
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("moto's server did not start: {e}"))?;
    let moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    while http(&moto.endpoint, "GET", "/").is_none() {
        if Instant::now() > deadline {
            return Err("moto's server did not answer within 90 s".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(moto)
}

/// One plain HTTP request; the status code, or None when nothing answered.
fn http(endpoint: &str, method: &str, path: &str) -> Option<u16> {
    let host = endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(f)
}

/// A query's answer as sorted rows of values (the headers name the table).
fn answer(engine: &Engine, nb: NotebookId, sql: &str) -> Result<String, String> {
    let batches = block(engine.query(nb, sql)).map_err(|e| format!("{sql}: {e}"))?;
    Ok(rows_of(&batches))
}

/// Batches as sorted rows of values, ` | ` between cells.
fn rows_of(batches: &[datafusion::arrow::record_batch::RecordBatch]) -> String {
    let mut rows = Vec::new();
    for batch in batches {
        for r in 0..batch.num_rows() {
            let cells: Vec<String> = batch
                .columns()
                .iter()
                .map(|c| array_value_to_string(c, r).unwrap_or_default())
                .collect();
            rows.push(cells.join(" | "));
        }
    }
    rows.sort();
    rows.join("\n")
}

pub fn run() -> Result<Vec<Measure>, String> {
    let rows = rows();
    let per = rows / PARTS;
    // The bucket is private, as most are: requests are signed (moto takes any keys).
    for (key, value) in [
        ("AWS_ACCESS_KEY_ID", "AKIAQUIREBENCH"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
    ] {
        if std::env::var_os(key).is_none() {
            std::env::set_var(key, value);
        }
    }
    let moto = start_moto()?;
    if http(&moto.endpoint, "PUT", &format!("/{BUCKET}")) != Some(200) {
        return Err("moto did not create the bucket".into());
    }
    let settings = S3Connection {
        endpoint: Some(moto.endpoint.clone()),
        region: None,
        profile: None,
    };
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let local = tmp.path().join("local");
    let store = settings.store(BUCKET).map_err(|e| e.to_string())?.store;
    let mut dataset = 0u64;
    for part in 0..PARTS {
        let bytes = part_bytes(part, per)?;
        dataset += bytes.len() as u64;
        let folder = local.join(format!("part={part}"));
        std::fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
        std::fs::write(folder.join("data.parquet"), &bytes).map_err(|e| e.to_string())?;
        block(object_store::ObjectStoreExt::put(
            store.as_ref(),
            &object_store::path::Path::from(format!("data/part={part}/data.parquet")),
            bytes.into(),
        ))
        .map_err(|e| e.to_string())?;
    }
    eprintln!("remote: {rows} rows, {dataset} bytes in {PARTS} objects");

    let engine = Engine::open(
        Config::default(),
        EnginePaths {
            data_dir: tmp.path().join("data"),
            config_dir: None,
        },
        Arc::new(NullSink),
    )
    .map_err(|e| e.to_string())?;
    let nb = engine
        .create_notebook("Remote")
        .map_err(|e| e.to_string())?
        .id;
    engine
        .notebooks()
        .save_connection(
            nb,
            Connection {
                name: "bench".into(),
                kind: ConnectionKind::S3,
                s3: Some(settings.clone()),
                postgres: None,
                cluster: None,
                azure: None,
            },
        )
        .map_err(|e| e.to_string())?;
    engine
        .link_through(nb, "bench", &format!("s3://{BUCKET}/data/"), Some("remote"))
        .map_err(|e| e.to_string())?;
    engine
        .link_table(nb, Path::new(&local), Some("local"))
        .map_err(|e| e.to_string())?;
    let traffic = engine
        .remote_traffic(nb, "remote")
        .ok_or("the remote link has no traffic counter")?;

    let mut equal = true;
    let (mut remote_ms, mut local_ms) = (f64::MAX, f64::MAX);
    for _ in 0..REPEATS {
        let (mut r_total, mut l_total) = (0.0, 0.0);
        for q in QUERIES {
            let start = Instant::now();
            let r = answer(&engine, nb, &q.replace("{t}", "remote"))?;
            r_total += micros(start.elapsed()) / 1000.0;
            let start = Instant::now();
            let l = answer(&engine, nb, &q.replace("{t}", "local"))?;
            l_total += micros(start.elapsed()) / 1000.0;
            if r != l {
                eprintln!("remote: answers differ for {q}");
                equal = false;
            }
        }
        remote_ms = remote_ms.min(r_total);
        local_ms = local_ms.min(l_total);
    }

    let fetched = |sql: &str| -> Result<f64, String> {
        let before = traffic.bytes();
        answer(&engine, nb, sql)?;
        Ok((traffic.bytes() - before) as f64 / dataset as f64)
    };
    let low = rows as i64 / 2;
    let pushdown = fetched(&format!(
        "SELECT sum(value) FROM remote WHERE id BETWEEN {low} AND {}",
        low + rows as i64 / 100 - 1
    ))?;
    let full = fetched("SELECT * FROM remote")?;

    let start = Instant::now();
    block(engine.page(nb, "remote", None, rows as u64 / 2, 200)).map_err(|e| e.to_string())?;
    let page_ms = micros(start.elapsed()) / 1000.0;
    drop(moto);

    Ok(vec![
        Measure::value(SUITE, "s3_pushdown_bytes_ratio", pushdown, "ratio"),
        Measure::value(SUITE, "s3_full_scan_bytes_ratio", full, "ratio"),
        Measure::value(
            SUITE,
            "s3_answers_equal",
            if equal { 1.0 } else { 0.0 },
            "bool",
        ),
        Measure::against(SUITE, "s3_queries_vs_local", remote_ms, local_ms, "ms"),
        Measure::value(SUITE, "s3_page_ms", page_ms, "ms"),
    ]
    .into_iter()
    .chain(postgres(&engine, nb, rows)?)
    .chain(cluster(&engine, nb, tmp.path(), &local)?)
    .collect())
}

/// The cluster binaries beside this bench's own (`target/<profile>/`), built when missing.
fn cluster_binaries() -> Result<(PathBuf, PathBuf), String> {
    let dir = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .parent()
        .ok_or("the bench binary has no folder")?
        .to_path_buf();
    let (scheduler, executor) = (dir.join("quire-scheduler"), dir.join("quire-executor"));
    if !scheduler.exists() || !executor.exists() {
        eprintln!("remote: building quire-cluster ...");
        let mut build = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        build
            .args(["build", "-p", "quire-cluster"])
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
        if !cfg!(debug_assertions) {
            build.arg("--release");
        }
        if !build.status().map_err(|e| e.to_string())?.success() {
            return Err("could not build quire-cluster for the remote bench".into());
        }
    }
    Ok((scheduler, executor))
}

/// A scheduler and two executors on loopback, killed when dropped.
struct Ballista {
    children: Vec<Child>,
    url: String,
}

impl Drop for Ballista {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> Result<u16, String> {
    Ok(TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port())
}

fn start_ballista(work: &Path) -> Result<Ballista, String> {
    let (scheduler, executor) = cluster_binaries()?;
    let port = free_port()?;
    let spawn = |binary: &Path, args: Vec<String>| {
        Command::new(binary)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{} did not start: {e}", binary.display()))
    };
    let mut cluster = Ballista {
        children: vec![spawn(
            &scheduler,
            vec![
                "--bind-host=127.0.0.1".into(),
                format!("--bind-port={port}"),
                "--external-host=127.0.0.1".into(),
            ],
        )?],
        url: format!("df://127.0.0.1:{port}"),
    };
    for n in 0..2 {
        let dir = work.join(format!("executor-{n}"));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        cluster.children.push(spawn(
            &executor,
            vec![
                "--scheduler-host=127.0.0.1".into(),
                format!("--scheduler-port={port}"),
                "--scheduler-connect-timeout-seconds=30".into(),
                "--bind-host=127.0.0.1".into(),
                "--external-host=127.0.0.1".into(),
                format!("--bind-port={}", free_port()?),
                format!("--bind-grpc-port={}", free_port()?),
                format!("--work-dir={}", dir.display()),
            ],
        )?);
    }
    let settings = quire_engine::remote::ClusterConnection {
        url: cluster.url.clone(),
        shared_folders: Vec::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    while !matches!(block(quire_engine::cluster::check(&settings)), Ok(c) if c.objects == 2) {
        if Instant::now() > deadline {
            return Err("the Ballista cluster did not come up within 90 s".into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(cluster)
}

fn cluster(
    engine: &Engine,
    nb: NotebookId,
    tmp: &Path,
    local: &Path,
) -> Result<Vec<Measure>, String> {
    let ballista = start_ballista(&tmp.join("ballista"))?;
    engine
        .save_connection(
            nb,
            Connection {
                name: "lab".into(),
                kind: ConnectionKind::Ballista,
                s3: None,
                postgres: None,
                cluster: Some(quire_engine::remote::ClusterConnection {
                    url: ballista.url.clone(),
                    shared_folders: vec![local.display().to_string()],
                }),
                azure: None,
            },
        )
        .map_err(|e| e.to_string())?;
    let mut equal = true;
    let (mut cluster_ms, mut local_ms) = (f64::MAX, f64::MAX);
    for _ in 0..REPEATS {
        let (mut c_total, mut l_total) = (0.0, 0.0);
        for q in QUERIES {
            let sql = q.replace("{t}", "local");
            let start = Instant::now();
            let there =
                block(engine.query_on(nb, &sql, "lab")).map_err(|e| format!("{sql}: {e}"))?;
            c_total += micros(start.elapsed()) / 1000.0;
            let start = Instant::now();
            let here = answer(engine, nb, &sql)?;
            l_total += micros(start.elapsed()) / 1000.0;
            if rows_of(&there) != here {
                eprintln!("remote: the cluster answers differently: {q}");
                equal = false;
            }
        }
        cluster_ms = cluster_ms.min(c_total);
        local_ms = local_ms.min(l_total);
    }
    drop(ballista);
    let glob = local.join("*").join("*.parquet");
    let mut args: Vec<std::ffi::OsString> = vec![glob.into(), REPEATS.to_string().into()];
    args.extend(QUERIES.iter().map(|q| std::ffi::OsString::from(*q)));
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let anchor = super::tables::run_anchor("remote.py", &args)?;
    let duckdb_ms = super::tables::anchor_value(&anchor, "ms")?;
    eprintln!(
        "remote: five queries in {cluster_ms:.0} ms on the cluster, {local_ms:.0} ms here, {duckdb_ms:.0} ms in DuckDB"
    );
    Ok(vec![
        Measure::value(
            SUITE,
            "ballista_answers_equal",
            if equal { 1.0 } else { 0.0 },
            "bool",
        ),
        Measure::against(SUITE, "ballista_vs_local", cluster_ms, local_ms, "ms"),
        Measure::against(SUITE, "ballista_vs_duckdb", cluster_ms, duckdb_ms, "ms"),
        Measure::against(SUITE, "local_vs_duckdb", local_ms, duckdb_ms, "ms"),
    ])
}

/// What both Quire (over the attached table) and psql run as they are: the boolean is said
/// in words, as psql prints `t`/`f` where Arrow prints `true`/`false`.
const PG_QUERIES: [&str; 5] = [
    "SELECT count(*), sum(amount), min(id), max(id) FROM {t}",
    "SELECT category, count(*) AS n, sum(amount) AS a FROM {t} GROUP BY category",
    "SELECT id, note FROM {t} WHERE note LIKE '%row 00077%' ORDER BY id",
    "SELECT CASE WHEN flag THEN 'yes' ELSE 'no' END AS f, count(*) FROM {t} WHERE value > 50 GROUP BY flag",
    "SELECT id, value FROM {t} ORDER BY value DESC NULLS LAST, id LIMIT 20",
];

#[cfg(unix)]
fn postgres(engine: &Engine, nb: NotebookId, rows: usize) -> Result<Vec<Measure>, String> {
    let server = pg_server::Postgres::start();
    server.psql("postgres", "CREATE DATABASE bench");
    // The S3 dataset's columns, made by Postgres itself.
    server.psql(
        "bench",
        &format!(
            "CREATE TABLE sales AS SELECT i AS id, \
             CASE WHEN i % 13 <> 0 THEN sin(i * 0.37) * 100 END AS value, \
             'c' || (i % 20) AS category, \
             CASE WHEN i % 7 <> 0 THEN 'note ' || ((i * 7919) % 100003) || ' for row ' || lpad(i::text, 9, '0') END AS note, \
             (i * 31) % 10007 AS amount, i % 3 = 0 AS flag \
             FROM generate_series(0, {}::bigint) AS i; ANALYZE sales;",
            rows - 1
        ),
    );
    // Where psql users keep it; Quire reads it there.
    std::env::set_var("PGPASSWORD", pg_server::PASSWORD);
    engine
        .save_connection(
            nb,
            Connection {
                name: "pg".into(),
                kind: ConnectionKind::Postgres,
                s3: None,
                postgres: Some(PostgresConnection {
                    host: "127.0.0.1".into(),
                    port: server.port,
                    user: server.user.into(),
                    database: "bench".into(),
                    sslmode: None,
                }),
                cluster: None,
                azure: None,
            },
        )
        .map_err(|e| e.to_string())?;
    let mut equal = true;
    let (mut quire_ms, mut direct_ms) = (f64::MAX, f64::MAX);
    for _ in 0..REPEATS {
        let (mut q_total, mut d_total) = (0.0, 0.0);
        for q in PG_QUERIES {
            let start = Instant::now();
            let ours = answer(engine, nb, &q.replace("{t}", "pg.public.sales"))?;
            q_total += micros(start.elapsed()) / 1000.0;
            let start = Instant::now();
            let theirs = server.psql("bench", &q.replace("{t}", "sales"));
            d_total += micros(start.elapsed()) / 1000.0;
            let mut theirs: Vec<&str> = theirs.lines().collect();
            theirs.sort();
            if ours != theirs.join("\n") {
                eprintln!("remote: Quire and Postgres answer differently: {q}");
                equal = false;
            }
        }
        quire_ms = quire_ms.min(q_total);
        direct_ms = direct_ms.min(d_total);
    }
    Ok(vec![
        Measure::value(
            SUITE,
            "postgres_answers_equal",
            if equal { 1.0 } else { 0.0 },
            "bool",
        ),
        Measure::against(SUITE, "postgres_vs_direct", quire_ms, direct_ms, "ms"),
    ])
}

#[cfg(not(unix))]
fn postgres(_: &Engine, _: NotebookId, _: usize) -> Result<Vec<Measure>, String> {
    Ok(Vec::new())
}

//! Parquet linked from a bucket (moto's S3 server on loopback, from PyPI) and run on a real
//! Ballista cluster (`quire-scheduler`, two `quire-executor`s): the executors read the objects
//! themselves, with the cluster's own credentials (Quire sends the endpoint and region, never a
//! key), and answer the held queries as this machine does over the same files on disk.
//!
//! Its own test binary: this process's keys are set once, before anything reads them.

#[path = "support/cluster.rs"]
mod cluster;
#[path = "../../engine/tests/support/moto.rs"]
mod moto;

use std::path::Path;

use quire_engine::remote::{ClusterConnection, Connection, ConnectionKind, S3Connection};
use quire_engine::{ErrorCode, HasCode};

use cluster::held;
use cluster::session::{answer, block, engine};
use cluster::{start, text, write_dataset};

/// One object put into moto's bucket (moto takes unsigned requests).
fn put(endpoint: &str, path: &str, body: &[u8]) {
    use std::io::{Read, Write};
    let host = endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "PUT {path}: {answer}");
}

/// A GET's body (HTTP/1.1, the connection closed after it).
fn get(host: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "GET {path}: {answer}");
    answer
}

#[test]
fn linked_objects_in_a_bucket_are_read_by_the_executors_with_their_own_keys() {
    // This machine's keys: not the cluster's (moto takes any).
    std::env::set_var("AWS_ACCESS_KEY_ID", "AKIATHISMACHINE");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "this-machine-secret");
    let moto = moto::Moto::start(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/s3/requirements.txt"),
    );
    assert_eq!(moto::http(&moto.endpoint, "PUT", "/lake"), Some(200));
    let tmp = tempfile::tempdir().unwrap();
    let (parts, per) = (3, 20_000);
    let local = write_dataset(tmp.path(), parts, per);
    for part in 0..parts {
        let bytes = std::fs::read(local.join(format!("part-{part}.parquet"))).unwrap();
        put(
            &moto.endpoint,
            &format!("/lake/sales/part-{part}.parquet"),
            &bytes,
        );
    }
    let cluster = start(tmp.path(), 2);
    let engine = engine(&tmp.path().join("data"));
    let nb = engine.create_notebook("Lake").unwrap().id;
    for connection in [
        Connection {
            name: "lake".into(),
            kind: ConnectionKind::S3,
            s3: Some(S3Connection {
                endpoint: Some(moto.endpoint.clone()),
                region: None,
                profile: None,
            }),
            postgres: None,
            cluster: None,
            azure: None,
        },
        Connection {
            name: "lab".into(),
            kind: ConnectionKind::Ballista,
            s3: None,
            postgres: None,
            // No shared folders: only the bucket reaches the cluster.
            cluster: Some(ClusterConnection {
                url: cluster.url(),
                shared_folders: Vec::new(),
            }),
            azure: None,
        },
    ] {
        engine.save_connection(nb, connection).unwrap();
    }
    engine
        .link_through(nb, "lake", "s3://lake/sales/", Some("remote"))
        .unwrap();
    engine.link_table(nb, &local, Some("local")).unwrap();
    for q in held::QUERIES {
        let expected = answer(&engine, nb, &q.replace("{t}", "local"));
        let sql = q.replace("{t}", "remote");
        let remote = block(engine.query_on(nb, &sql, "lab"))
            .unwrap_or_else(|e| panic!("{sql}: {e}\n{}", cluster.logs()));
        assert_eq!(text(&remote), expected, "{sql}");
    }
    // What each job carried: the store's address, never this machine's keys.
    let jobs = block(quire_engine::cluster::job_states(&ClusterConnection {
        url: cluster.url(),
        shared_folders: Vec::new(),
    }))
    .unwrap();
    assert_eq!(jobs.len(), held::QUERIES.len(), "{jobs:?}");
    for job in &jobs {
        let config = get(
            &cluster.url().replace("df://", ""),
            &format!("/api/job/{}/config", job.job_id),
        );
        assert!(config.contains(&moto.endpoint), "{config}");
        for secret in ["AKIATHISMACHINE", "this-machine-secret"] {
            assert!(
                !config.contains(secret),
                "the job carried {secret}: {config}"
            );
        }
    }
    // The local copy is outside every shared folder: refused, in words.
    let e = block(engine.query_on(nb, "SELECT count(*) FROM local", "lab")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotOnCluster, "{e}");
    assert!(e.to_string().contains("it shares no folders"), "{e}");
}

//! Parquet linked from an Azure container (Azurite, Microsoft's Azure Storage server, from the
//! npm registry, on loopback) and run on a real Ballista cluster (`quire-scheduler`, two
//! `quire-executor`s): the scheduler and executors read the blobs themselves, with the
//! cluster's own key from their environment (Quire sends the account and endpoint, never a
//! key), and answer the held queries as this machine does over the same files on disk.
//!
//! Its own test binary: this process's Azure variables are set once, before anything reads them.

#[path = "../../engine/tests/support/azurite.rs"]
mod azurite;
#[path = "support/cluster.rs"]
mod cluster;

use quire_engine::remote::{AzureConnection, ClusterConnection, Connection, ConnectionKind};
use quire_engine::{ErrorCode, HasCode};

use cluster::held;
use cluster::session::{answer, block, engine};
use cluster::{start_with, text, write_dataset};

#[test]
fn linked_blobs_are_read_by_the_executors_with_the_clusters_own_key() {
    // This machine's key for the account: the cluster gets its own, in its environment.
    std::env::set_var("AZURE_STORAGE_ACCOUNT", azurite::ACCOUNT);
    std::env::set_var("AZURE_STORAGE_KEY", azurite::KEY);
    std::env::remove_var("AZURE_STORAGE_CONNECTION_STRING");
    let azurite = azurite::Azurite::start(&[]);
    azurite.create_container("lake");
    let settings = AzureConnection {
        account: azurite::ACCOUNT.into(),
        endpoint: Some(azurite.endpoint.clone()),
    };
    let tmp = tempfile::tempdir().unwrap();
    let (parts, per) = (3, 20_000);
    let local = write_dataset(tmp.path(), parts, per);
    let store = settings.store("lake").unwrap().store;
    for part in 0..parts {
        let bytes = std::fs::read(local.join(format!("part-{part}.parquet"))).unwrap();
        block(object_store::ObjectStoreExt::put(
            store.as_ref(),
            &object_store::path::Path::from(format!("sales/part-{part}.parquet")),
            bytes.into(),
        ))
        .unwrap();
    }
    let cluster = start_with(
        tmp.path(),
        2,
        &[
            ("AZURE_STORAGE_ACCOUNT", azurite::ACCOUNT),
            ("AZURE_STORAGE_KEY", azurite::KEY),
        ],
    );
    let engine = engine(&tmp.path().join("data"));
    let nb = engine.create_notebook("Blobs").unwrap().id;
    for connection in [
        Connection {
            name: "blobs".into(),
            kind: ConnectionKind::Azure,
            s3: None,
            postgres: None,
            cluster: None,
            azure: Some(settings.clone()),
        },
        Connection {
            name: "lab".into(),
            kind: ConnectionKind::Ballista,
            s3: None,
            postgres: None,
            // No shared folders: only the container reaches the cluster.
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
        .link_through(nb, "blobs", "az://lake/sales/", Some("remote"))
        .unwrap();
    engine.link_table(nb, &local, Some("local")).unwrap();
    for q in held::QUERIES {
        let expected = answer(&engine, nb, &q.replace("{t}", "local"));
        let sql = q.replace("{t}", "remote");
        let remote = block(engine.query_on(nb, &sql, "lab"))
            .unwrap_or_else(|e| panic!("{sql}: {e}\n{}", cluster.logs()));
        assert_eq!(text(&remote), expected, "{sql}");
    }
    // What each job carried: the account and its endpoint, never this machine's key.
    let jobs = block(quire_engine::cluster::job_states(&ClusterConnection {
        url: cluster.url(),
        shared_folders: Vec::new(),
    }))
    .unwrap();
    assert_eq!(jobs.len(), held::QUERIES.len(), "{jobs:?}");
    for job in &jobs {
        let config = http_get(
            &cluster.url().replace("df://", ""),
            &format!("/api/job/{}/config", job.job_id),
        );
        assert!(
            config.contains(&azurite.endpoint) && config.contains(azurite::ACCOUNT),
            "{config}"
        );
        assert!(
            !config.contains(azurite::KEY),
            "the job carried the key: {config}"
        );
    }
    // A table in the container and one outside every shared folder: refused, in words.
    let e = block(engine.query_on(
        nb,
        "SELECT count(*) FROM remote JOIN local USING (id)",
        "lab",
    ))
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotOnCluster, "{e}");
}

/// A GET's body (HTTP/1.1, the connection closed after it).
fn http_get(host: &str, path: &str) -> String {
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

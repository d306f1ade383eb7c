//! Azure Blob Storage against a real Blob API server: Azurite (Microsoft's emulator, from the
//! npm registry, installed into the target dir by this test) listening on 127.0.0.1, started
//! and stopped here.
//!
//! A partitioned Parquet dataset is written to a private container and linked through an
//! Azure connection whose key comes from `AZURE_STORAGE_CONNECTION_STRING`, as Azure's own
//! tools read it: queries return what the same files linked locally return, a selective
//! one-column query fetches a small share of the dataset, grid pages equal the local ones, the
//! link comes back after the notebook is opened again, and exports land whole or not at all.
//! An address for another service, a container that is not there, a refused key and a server
//! that does not answer are typed errors in words.
//!
//! One scenario: the connection string is set once, before anything reads it.

#[path = "support/azurite.rs"]
mod azurite;
#[path = "support/session.rs"]
mod session;

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quire_engine::datafusion::arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use quire_engine::datafusion::arrow::datatypes::{DataType, Field, Schema};
use quire_engine::datafusion::parquet::arrow::ArrowWriter;
use quire_engine::datafusion::parquet::file::properties::WriterProperties;
use quire_engine::ids::NotebookId;
use quire_engine::remote::{AzureConnection, Connection, ConnectionKind, StoreSettings};
use quire_engine::{Engine, ErrorCode, HasCode};
use tokio_util::sync::CancellationToken;

use azurite::Azurite;
use session::{answer, block, engine};

const ROWS: i64 = 400_000;
const PARTS: i64 = 4;
const GROUP: usize = 10_000;
const CONTAINER: &str = "lake";

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("value", DataType::Float64, true),
        Field::new("category", DataType::Utf8, false),
        Field::new("note", DataType::Utf8, true),
    ]))
}

/// Part `part` as Parquet bytes: ids ascending across parts.
fn part_bytes(part: i64) -> Vec<u8> {
    let per = ROWS / PARTS;
    let ids: Vec<i64> = (part * per..(part + 1) * per).collect();
    let batch = RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Int64Array::from(ids.clone())),
            Arc::new(Float64Array::from_iter(ids.iter().map(|i| {
                (i % 11 != 0).then(|| (*i as f64 * 0.61).cos() * 1000.0)
            }))),
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("k{}", i % 17)),
            )),
            Arc::new(StringArray::from_iter(ids.iter().map(|i| {
                (i % 5 != 0).then(|| format!("row {i:08} of the lake, {}", (i * 104_729) % 99_991))
            }))),
        ],
    )
    .unwrap();
    let mut bytes = Vec::new();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(GROUP))
        .build();
    let mut writer = ArrowWriter::try_new(&mut bytes, schema(), Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    bytes
}

fn page(engine: &Engine, nb: NotebookId, table: &str, offset: u64) -> Vec<RecordBatch> {
    let bytes = block(engine.page(nb, table, None, offset, 30)).unwrap();
    quire_engine::datafusion::arrow::ipc::reader::StreamReader::try_new(&bytes[..], None)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn parquet_in_an_azure_container_links_queries_exports_and_fails_in_words() {
    // A second account, whose key the user does not have: the key named for it is wrong.
    let azurite = Azurite::start(&[(
        "strangeraccount",
        "c3RyYW5nZXIga2V5IG9mIGFub3RoZXIgYWNjb3VudA==",
    )]);
    // The key reaches Quire as Azure's tools find it; none of it may land in a file.
    for name in [
        "AZURE_STORAGE_KEY",
        "AZURE_STORAGE_ACCOUNT_KEY",
        "AZURE_STORAGE_SAS_TOKEN",
    ] {
        std::env::remove_var(name);
    }
    // A key named for another account stays unused.
    std::env::set_var("AZURE_STORAGE_ACCOUNT", "strangeraccount");
    std::env::set_var("AZURE_STORAGE_KEY", azurite::KEY);
    std::env::set_var(
        "AZURE_STORAGE_CONNECTION_STRING",
        format!(
            "DefaultEndpointsProtocol=http;AccountName={};AccountKey={};BlobEndpoint={};",
            azurite::ACCOUNT,
            azurite::KEY,
            azurite.endpoint
        ),
    );
    azurite.create_container(CONTAINER);
    let settings = AzureConnection {
        account: azurite::ACCOUNT.into(),
        endpoint: Some(azurite.endpoint.clone()),
    };

    // The dataset: in the container under a prefix beside a marker blob, and on disk.
    let local = tempfile::tempdir().unwrap();
    let store = settings.store(CONTAINER).unwrap().store;
    let mut dataset_bytes = 0u64;
    for part in 0..PARTS {
        let bytes = part_bytes(part);
        dataset_bytes += bytes.len() as u64;
        let folder = local.path().join(format!("part={part}"));
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("data.parquet"), &bytes).unwrap();
        block(object_store::ObjectStoreExt::put(
            store.as_ref(),
            &object_store::path::Path::from(format!("trips/part={part}/data.parquet")),
            bytes.into(),
        ))
        .unwrap();
    }
    block(object_store::ObjectStoreExt::put(
        store.as_ref(),
        &object_store::path::Path::from("trips/_SUCCESS"),
        Vec::<u8>::new().into(),
    ))
    .unwrap();

    let data = tempfile::tempdir().unwrap();
    let engine = engine(data.path());
    let nb = engine.create_notebook("Blobs").unwrap().id;
    let url = format!("az://{CONTAINER}/trips/");
    let blobs = Connection {
        name: "blobs".into(),
        kind: ConnectionKind::Azure,
        s3: None,
        postgres: None,
        cluster: None,
        azure: Some(settings.clone()),
    };
    let check = engine.check_connection(nb, &blobs, &url).unwrap();
    assert_eq!(
        (check.folders, check.objects),
        (PARTS as u32, 1),
        "{check:?}"
    );
    engine
        .notebooks()
        .save_connection(nb, blobs.clone())
        .unwrap();
    let linked = engine.link_through(nb, "blobs", &url, None).unwrap();
    assert_eq!(linked.name, "trips");
    assert_eq!(linked.rows, ROWS as u64);
    assert_eq!(linked.linked.as_deref(), Some(url.as_str()));
    engine
        .link_table(nb, local.path(), Some("trips_local"))
        .unwrap();
    let queries = [
        "SELECT count(*), min(id), max(id), count(note) FROM {t}",
        "SELECT category, count(*) AS n, round(avg(value), 6) AS v FROM {t} GROUP BY category",
        "SELECT id, note FROM {t} WHERE note LIKE '%of the lake, 4242%' ORDER BY id",
        "SELECT id, value FROM {t} ORDER BY value DESC NULLS LAST, id LIMIT 15",
    ];
    for q in queries {
        assert_eq!(
            answer(&engine, nb, &q.replace("{t}", "trips")),
            answer(&engine, nb, &q.replace("{t}", "trips_local")),
            "{q}"
        );
    }
    // A glob under the container, as a pattern on disk.
    let some = engine
        .link_through(
            nb,
            "blobs",
            &format!("az://{CONTAINER}/trips/part=[12]/*.parquet"),
            Some("middle"),
        )
        .unwrap();
    assert_eq!(some.rows, (ROWS / PARTS * 2) as u64);
    assert_eq!(
        answer(&engine, nb, "SELECT min(id), max(id) FROM middle"),
        format!("{} | {}", ROWS / PARTS, ROWS / PARTS * 3 - 1)
    );

    // Pushdown: one column of 1 % of the rows fetches a small share of the dataset.
    let traffic = engine.remote_traffic(nb, "trips").unwrap();
    let before = traffic.bytes();
    let selective = "SELECT sum(value) FROM {t} WHERE id BETWEEN 200000 AND 203999";
    assert_eq!(
        answer(&engine, nb, &selective.replace("{t}", "trips")),
        answer(&engine, nb, &selective.replace("{t}", "trips_local")),
    );
    let fetched = traffic.bytes() - before;
    let ratio = fetched as f64 / dataset_bytes as f64;
    println!("azure pushdown bytes ratio {ratio:.4} ({fetched} of {dataset_bytes} bytes)");
    assert!(fetched > 0, "the query did not read the container");
    assert!(ratio <= 0.1, "a 1 %-selective query fetched {ratio:.3}");
    for offset in [0, 123_456, ROWS as u64 - 7] {
        assert_eq!(
            page(&engine, nb, "trips", offset),
            page(&engine, nb, "trips_local", offset),
            "page at {offset}"
        );
    }

    // Kept in links.json with the account and endpoint, never the key; back after a reopen.
    let links = std::fs::read_to_string(
        walk(data.path())
            .into_iter()
            .find(|p| p.ends_with("links.json"))
            .expect("links.json written"),
    )
    .unwrap();
    assert!(
        links.contains(&url) && links.contains(azurite::ACCOUNT) && links.contains("\"azure\""),
        "{links}"
    );
    assert!(!links.contains(&azurite::KEY[..20]), "{links}");
    drop(engine);
    let engine = self::engine(data.path());
    assert_eq!(
        engine.notebooks().get(nb).unwrap().connections,
        vec![blobs.clone()]
    );
    let thousandths = "SELECT count(*) FROM {t} WHERE id % 1000 = 0";
    assert_eq!(
        answer(&engine, nb, &thousandths.replace("{t}", "trips")),
        (ROWS / 1000).to_string()
    );

    // Export: one blob, whole, read back through a new link; never over a blob already there.
    let exported = format!("az://{CONTAINER}/exports/trips.parquet");
    let export =
        |url: &str, cancel: &CancellationToken, progress: Arc<dyn Fn(u64) + Send + Sync>| {
            block(engine.export_to_bucket(nb, "trips_local", "blobs", url, progress, cancel))
        };
    assert!(export(&exported, &CancellationToken::new(), Arc::new(|_| {})).unwrap() > 0);
    engine
        .link_through(nb, "blobs", &exported, Some("exported"))
        .unwrap();
    let totals = "SELECT count(*), sum(id), count(note), round(sum(value), 3) FROM {t}";
    assert_eq!(
        answer(&engine, nb, &totals.replace("{t}", "exported")),
        answer(&engine, nb, &totals.replace("{t}", "trips_local")),
    );
    let e = export(&exported, &CancellationToken::new(), Arc::new(|_| {})).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ObjectExists, "{e}");
    let e = export(
        "az://no-such-container/trips.csv",
        &CancellationToken::new(),
        Arc::new(|_| {}),
    )
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::BucketNotFound, "{e}");
    assert!(
        e.to_string()
            .contains("no container named no-such-container"),
        "{e}"
    );
    // Cancelled halfway: nothing under the name (blocks never committed are not a blob).
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let e = export(
        &format!("az://{CONTAINER}/exports/cancelled.csv"),
        &cancel,
        Arc::new(move |rows| {
            if rows >= 150_000 {
                stop.cancel();
            }
        }),
    )
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Cancelled, "{e}");
    let gone = block(object_store::ObjectStoreExt::head(
        store.as_ref(),
        &object_store::path::Path::from("exports/cancelled.csv"),
    ));
    assert!(
        matches!(gone, Err(object_store::Error::NotFound { .. })),
        "{gone:?}"
    );

    // Bad input, in words.
    let e = engine
        .link_through(nb, "blobs", "s3://lake/trips/", Some("wrong"))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConnectionInvalid, "{e}");
    assert!(e.to_string().contains("start with az://"), "{e}");
    let e = engine
        .link_through(nb, "blobs", "az://nowhere/trips/", Some("nowhere"))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::FileUnreadable, "{e}");
    assert!(
        e.to_string().contains("nothing is stored at az://nowhere/"),
        "{e}"
    );
    println!("a container that is not there: {e}");
    // Another account on the same server, signed with a key that is not its own: refused.
    let stranger = StoreSettings::Azure(AzureConnection {
        account: "strangeraccount".into(),
        endpoint: Some(
            azurite
                .endpoint
                .replace(azurite::ACCOUNT, "strangeraccount"),
        ),
    });
    let e = engine
        .link_remote_table(nb, "stranger", &stranger, &url, Some("stranger"))
        .unwrap_err();
    println!("a wrong key: {e}");
    assert_eq!(e.code(), ErrorCode::ConnectionRefused, "{e}");
    assert!(e.to_string().contains("AZURE_STORAGE_KEY"), "{e}");
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = StoreSettings::Azure(AzureConnection {
        account: azurite::ACCOUNT.into(),
        endpoint: Some(format!("http://127.0.0.1:{closed}/{}", azurite::ACCOUNT)),
    });
    let started = Instant::now();
    let e = engine
        .link_remote_table(nb, "down", &down, &url, Some("down"))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConnectionUnreachable, "{e}");
    assert!(e.to_string().contains("did not answer"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );

    // The server goes away: a query over the link says so, in words.
    drop(azurite);
    let e = block(engine.query(nb, "SELECT count(*) FROM trips WHERE value > 1")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConnectionUnreachable, "{e}");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

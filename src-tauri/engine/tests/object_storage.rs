//! Object storage against a real S3 API server: moto's server mode (from PyPI, installed into
//! a venv of the target dir by this test) listening on 127.0.0.1, started and stopped here.
//!
//! A partitioned Parquet dataset is written to a bucket and linked through a connection whose
//! credentials come from a profile of a shared credentials file; queries over it return what
//! the same files linked locally return, a 1 %-selective query over one column fetches a small
//! share of the dataset (pushdown), grid pages at any row equal the local ones, an object
//! replaced after linking is refused rather than read at stale positions, the link comes back
//! after the notebook is opened again, and a server that does not answer, an address with no
//! Parquet under it and a malformed endpoint are typed errors in words.
//!
//! Exports to the bucket land whole or not at all: a cancelled one and a process killed in
//! the middle of its multipart upload leave nothing under the key.
//!
//! One scenario: the credentials file is named by an environment variable, set once before
//! anything reads it (the other test function is the child it kills, a no-op on its own).

#[path = "support/moto.rs"]
mod moto;
#[path = "support/session.rs"]
mod session;

use std::io::{BufRead, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use quire_engine::datafusion::arrow::array::{
    BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use quire_engine::datafusion::arrow::datatypes::{DataType, Field, Schema};
use quire_engine::datafusion::parquet::arrow::ArrowWriter;
use quire_engine::datafusion::parquet::file::properties::WriterProperties;
use quire_engine::ids::NotebookId;
use quire_engine::remote::{Connection, ConnectionKind, S3Connection, StoreSettings};
use quire_engine::{Engine, ErrorCode, HasCode};
use tokio_util::sync::CancellationToken;

use moto::{http, Moto};
use session::{answer, block, engine};

/// Rows of the dataset, in `PARTS` files of row groups of `GROUP` rows.
const ROWS: i64 = 1_000_000;
const PARTS: i64 = 4;
const GROUP: usize = 25_000;
const BUCKET: &str = "quire-data";

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("value", DataType::Float64, true),
        Field::new("category", DataType::Utf8, false),
        Field::new("note", DataType::Utf8, true),
        Field::new("amount", DataType::Int64, false),
        Field::new("flag", DataType::Boolean, false),
    ]))
}

/// Part `part` of the dataset as Parquet bytes: ids ascending across parts, so a range of ids
/// lies in one or two row groups.
fn part_bytes(part: i64) -> Vec<u8> {
    let per = ROWS / PARTS;
    let ids: Vec<i64> = (part * per..(part + 1) * per).collect();
    let batch = RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Int64Array::from(ids.clone())),
            Arc::new(Float64Array::from_iter(ids.iter().map(|i| {
                (i % 13 != 0).then(|| (*i as f64 * 0.37).sin() * 100.0)
            }))),
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("c{}", i % 20)),
            )),
            Arc::new(StringArray::from_iter(ids.iter().map(|i| {
                (i % 7 != 0).then(|| format!("note {} for row {i:09}", (i * 7919) % 100_003))
            }))),
            Arc::new(Int64Array::from_iter_values(
                ids.iter().map(|i| (i * 31) % 10_007),
            )),
            Arc::new(BooleanArray::from_iter(
                ids.iter().map(|i| Some(i % 3 == 0)),
            )),
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

fn page(engine: &Engine, nb: NotebookId, table: &str, offset: u64, limit: u64) -> Vec<RecordBatch> {
    let bytes = block(engine.page(nb, table, None, offset, limit)).unwrap();
    quire_engine::datafusion::arrow::ipc::reader::StreamReader::try_new(&bytes[..], None)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn parquet_in_a_bucket_links_queries_with_pushdown_and_fails_in_words() {
    let home = tempfile::tempdir().unwrap();
    // The connection names a profile; its keys are in the user's credentials file (moto
    // takes any keys, and signed requests prove they were read and used).
    let credentials = home.path().join("credentials");
    std::fs::write(
        &credentials,
        "[default]\naws_access_key_id = wrong\n\n[quire-test]\naws_access_key_id = AKIAQUIRETEST\naws_secret_access_key = quire/secret=1\n",
    )
    .unwrap();
    std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", &credentials);
    std::env::set_var("AWS_CONFIG_FILE", home.path().join("no-config"));

    let moto =
        Moto::start(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/s3/requirements.txt"));
    assert_eq!(
        http(&moto.endpoint, "PUT", &format!("/{BUCKET}")),
        Some(200)
    );
    let connection = S3Connection {
        endpoint: Some(moto.endpoint.clone()),
        region: Some("eu-west-1".into()),
        profile: Some("quire-test".into()),
    };

    // The dataset: in the bucket under a prefix with a marker file, and on disk for the peer.
    let local = tempfile::tempdir().unwrap();
    let store = connection.store(BUCKET).unwrap().store;
    let mut dataset_bytes = 0u64;
    for part in 0..PARTS {
        let bytes = part_bytes(part);
        dataset_bytes += bytes.len() as u64;
        let key = format!("sales/part={part}/data-{part}.parquet");
        let folder = local.path().join(format!("part={part}"));
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join(format!("data-{part}.parquet")), &bytes).unwrap();
        block(object_store::ObjectStoreExt::put(
            store.as_ref(),
            &object_store::path::Path::from(key),
            bytes.into(),
        ))
        .unwrap();
    }
    block(object_store::ObjectStoreExt::put(
        store.as_ref(),
        &object_store::path::Path::from("sales/_SUCCESS"),
        Vec::<u8>::new().into(),
    ))
    .unwrap();

    let data = tempfile::tempdir().unwrap();
    let engine = engine(data.path());
    let nb = engine.create_notebook("Remote").unwrap().id;
    let url = format!("s3://{BUCKET}/sales/");
    // The connection, tested before it is saved, then kept in the notebook.
    let lake = Connection {
        name: "lake".into(),
        kind: ConnectionKind::S3,
        s3: Some(connection.clone()),
        postgres: None,
        cluster: None,
        azure: None,
    };
    let check = engine.check_connection(nb, &lake, &url).unwrap();
    assert_eq!(
        (check.folders, check.objects),
        (PARTS as u32, 1),
        "{check:?}"
    );
    engine
        .notebooks()
        .save_connection(nb, lake.clone())
        .unwrap();
    assert_eq!(
        engine.notebooks().get(nb).unwrap().connections,
        vec![lake.clone()]
    );
    let remote = engine.link_through(nb, "lake", &url, None).unwrap();
    assert_eq!(remote.name, "sales");
    assert_eq!(remote.rows, ROWS as u64);
    assert_eq!(remote.linked.as_deref(), Some(url.as_str()));
    let local_info = engine
        .link_table(nb, local.path(), Some("sales_local"))
        .unwrap();
    assert_eq!(local_info.rows, ROWS as u64);

    // The same answers as the files linked locally.
    let queries = [
        "SELECT count(*), sum(amount), min(id), max(id) FROM {t}",
        "SELECT category, count(*) AS n, round(avg(value), 6) AS v FROM {t} GROUP BY category",
        "SELECT id, note FROM {t} WHERE note LIKE '%row 00077%' ORDER BY id",
        "SELECT flag, count(*) FROM {t} WHERE value > 50 GROUP BY flag",
        "SELECT id, value FROM {t} ORDER BY value DESC NULLS LAST, id LIMIT 20",
    ];
    for q in queries {
        assert_eq!(
            answer(&engine, nb, &q.replace("{t}", "sales")),
            answer(&engine, nb, &q.replace("{t}", "sales_local")),
            "{q}"
        );
    }

    // A glob chooses among the keys under its prefix, as a pattern does on disk.
    let some = engine
        .link_through(
            nb,
            "lake",
            &format!("s3://{BUCKET}/sales/part=[0-2]/*.parquet"),
            Some("sales_2"),
        )
        .unwrap();
    let some_local = engine
        .link_matching(
            nb,
            local.path(),
            Some("part=[0-2]/*.parquet"),
            Some("some_local"),
        )
        .unwrap();
    assert!(some.rows > 0 && some.rows < ROWS as u64, "{}", some.rows);
    assert_eq!(some.rows, some_local.rows);
    for q in &queries[..2] {
        assert_eq!(
            answer(&engine, nb, &q.replace("{t}", "sales_2")),
            answer(&engine, nb, &q.replace("{t}", "some_local")),
            "{q}"
        );
    }
    let none = engine
        .link_through(
            nb,
            "lake",
            &format!("s3://{BUCKET}/sales/*.csv"),
            Some("csvs"),
        )
        .unwrap_err();
    assert!(
        none.to_string().contains("*.csv") && none.to_string().contains("matches it"),
        "{none}"
    );

    // Pushdown: one column of 1 % of the rows fetches a small share of the dataset.
    let traffic = engine.remote_traffic(nb, "sales").unwrap();
    let before = traffic.bytes();
    let selective = "SELECT sum(value) FROM {t} WHERE id BETWEEN 500000 AND 509999";
    assert_eq!(
        answer(&engine, nb, &selective.replace("{t}", "sales")),
        answer(&engine, nb, &selective.replace("{t}", "sales_local")),
    );
    let fetched = traffic.bytes() - before;
    let ratio = fetched as f64 / dataset_bytes as f64;
    println!(
        "s3_pushdown_bytes_ratio {ratio:.4} ({fetched} of {dataset_bytes} bytes, {} requests in all)",
        traffic.requests()
    );
    assert!(
        fetched > 0,
        "the query fetched nothing: it did not read the bucket"
    );
    assert!(
        ratio <= 0.1,
        "a 1 %-selective one-column query fetched {ratio:.3} of the dataset"
    );

    // Grid pages anywhere in the table are the local ones, row ids included.
    for offset in [0, 249_990, 612_345, ROWS as u64 - 5] {
        let (r, l) = (
            page(&engine, nb, "sales", offset, 40),
            page(&engine, nb, "sales_local", offset, 40),
        );
        assert_eq!(r, l, "page at {offset}");
        assert!(r.iter().map(|b| b.num_rows()).sum::<usize>() > 0);
    }

    // The link is kept in links.json with its connection's settings, never a secret.
    let links =
        std::fs::read_to_string(find(data.path(), "links.json").expect("links.json written"))
            .unwrap();
    assert!(
        links.contains(&url) && links.contains("quire-test"),
        "{links}"
    );
    assert!(
        !links.contains("AKIAQUIRETEST") && !links.contains("secret"),
        "{links}"
    );

    // Opened again (a new engine over the same folder), the link reads the bucket again.
    drop(engine);
    let engine = self::engine(data.path());
    assert_eq!(
        engine.notebooks().get(nb).unwrap().connections,
        vec![lake.clone()]
    );
    let e = engine
        .link_through(nb, "elsewhere", &url, None)
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConnectionNotFound, "{e}");
    let again = engine.tables(nb).unwrap();
    assert!(
        again
            .iter()
            .any(|t| t.name == "sales" && t.rows == ROWS as u64),
        "{again:?}"
    );
    let thousandths = "SELECT count(*) FROM {t} WHERE id % 1000 = 0";
    assert_eq!(
        answer(&engine, nb, &thousandths.replace("{t}", "sales")),
        answer(&engine, nb, &thousandths.replace("{t}", "sales_local")),
    );
    assert_eq!(
        answer(&engine, nb, &thousandths.replace("{t}", "sales")),
        "1000"
    );

    // A column change would write a copy of the table on this machine, fetching every
    // object: refused in words, nothing fetched or changed.
    let rename = quire_engine::tables::transform::Transform::RenameColumn {
        column: "amount".into(),
        to: "total".into(),
    };
    let e = block(engine.apply_transform(
        nb,
        "sales",
        &rename,
        Arc::new(|_| {}),
        &CancellationToken::new(),
    ))
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidValue, "{e}");
    assert!(
        e.to_string()
            .contains("every object of it would be fetched")
            && e.to_string().contains("s3://"),
        "{e}"
    );
    assert!(engine.tables(nb).unwrap().iter().any(|t| t.name == "sales"
        && !t.converted
        && t.columns.iter().any(|c| c.name == "amount")));

    // An object replaced after linking is refused, not read at stale positions.
    block(object_store::ObjectStoreExt::put(
        store.as_ref(),
        &object_store::path::Path::from("sales/part=2/data-2.parquet"),
        part_bytes(1).into(),
    ))
    .unwrap();
    let e = block(engine.page(nb, "sales", None, 600_000, 10)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::FileUnreadable, "{e}");
    assert!(e.to_string().contains("changed since it was linked"), "{e}");
    println!("an object replaced: {e}");
    // A query reads it no more than a page does: every read asks for the linked entity tag.
    let e = block(engine.query(nb, "SELECT sum(amount) FROM sales")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::FileUnreadable, "{e}");
    assert!(e.to_string().contains("changed since it was linked"), "{e}");

    // Keys with spaces, `#` and `=` link as typed.
    block(object_store::ObjectStoreExt::put(
        store.as_ref(),
        &object_store::path::Path::parse("odd names/a b#1=x.parquet").unwrap(),
        part_bytes(3).into(),
    ))
    .unwrap();
    let odd = engine
        .link_through(
            nb,
            "lake",
            &format!("s3://{BUCKET}/odd names/a b#1=x.parquet"),
            Some("odd"),
        )
        .unwrap();
    assert_eq!(odd.rows, (ROWS / PARTS) as u64);
    assert_eq!(
        answer(&engine, nb, "SELECT min(id), count(*) FROM odd"),
        format!("{} | {}", 3 * ROWS / PARTS, ROWS / PARTS)
    );

    // Nothing under the address, a malformed endpoint, a server that does not answer.
    let e = engine
        .link_remote_table(
            nb,
            "lake",
            &StoreSettings::S3(connection.clone()),
            &format!("s3://{BUCKET}/nothing/"),
            None,
        )
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::FileUnreadable, "{e}");
    assert!(e.to_string().contains("no Parquet objects"), "{e}");
    let bad = S3Connection {
        endpoint: Some("127.0.0.1:9".into()),
        ..connection.clone()
    };
    let e = engine
        .link_remote_table(nb, "bad", &StoreSettings::S3(bad), &url, Some("bad"))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConnectionInvalid, "{e}");
    println!("a malformed endpoint: {e}");
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = S3Connection {
        endpoint: Some(format!("http://127.0.0.1:{closed}")),
        ..connection.clone()
    };
    let started = Instant::now();
    let e = engine
        .link_remote_table(nb, "down", &StoreSettings::S3(down), &url, Some("down"))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConnectionUnreachable, "{e}");
    println!("a closed port, after {:?}: {e}", started.elapsed());
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?} to report a closed port",
        started.elapsed()
    );
    assert!(e.to_string().contains("did not answer"), "{e}");
    let e = engine
        .link_remote_table(
            nb,
            "lake",
            &StoreSettings::S3(S3Connection {
                profile: Some("nobody".into()),
                ..connection.clone()
            }),
            &url,
            Some("nobody"),
        )
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConnectionInvalid, "{e}");
    assert!(e.to_string().contains("[nobody]"), "{e}");
    println!("a profile not in the file: {e}");

    // Export to the bucket: a table written as one object, read back through a new link.
    let exported = format!("s3://{BUCKET}/exports/sales.parquet");
    let bytes = block(engine.export_to_bucket(
        nb,
        "sales_local",
        "lake",
        &exported,
        Arc::new(|_| {}),
        &CancellationToken::new(),
    ))
    .unwrap();
    assert!(bytes > 0);
    engine
        .link_through(nb, "lake", &exported, Some("exported"))
        .unwrap();
    let totals = "SELECT count(*), sum(amount), count(note) FROM {t}";
    assert_eq!(
        answer(&engine, nb, &totals.replace("{t}", "exported")),
        answer(&engine, nb, &totals.replace("{t}", "sales_local")),
    );
    // An object already there is never replaced (here: the link's own file).
    let e = block(engine.export_to_bucket(
        nb,
        "sales_local",
        "lake",
        &exported,
        Arc::new(|_| {}),
        &CancellationToken::new(),
    ))
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ObjectExists, "{e}");
    assert_eq!(
        answer(&engine, nb, &totals.replace("{t}", "exported")),
        answer(&engine, nb, &totals.replace("{t}", "sales_local")),
    );

    // A bucket the store does not have is named as such, not as a file that cannot be read.
    let e = block(engine.export_to_bucket(
        nb,
        "sales_local",
        "lake",
        "s3://no-such-bucket/sales.parquet",
        Arc::new(|_| {}),
        &CancellationToken::new(),
    ))
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::BucketNotFound, "{e}");
    assert!(
        e.to_string().contains("no bucket named no-such-bucket"),
        "{e}"
    );
    println!("an export to a missing bucket: {e}");

    // A cancelled export leaves nothing under its key, and no upload behind.
    let cancelled = format!("s3://{BUCKET}/exports/cancelled.csv");
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let e = block(engine.export_to_bucket(
        nb,
        "sales_local",
        "lake",
        &cancelled,
        Arc::new(move |rows| {
            if rows >= 200_000 {
                stop.cancel();
            }
        }),
        &cancel,
    ))
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Cancelled, "{e}");
    assert_eq!(
        http(
            &moto.endpoint,
            "HEAD",
            &format!("/{BUCKET}/exports/cancelled.csv")
        ),
        Some(404)
    );
    assert!(
        !uploads(&moto.endpoint).contains("cancelled.csv"),
        "{}",
        uploads(&moto.endpoint)
    );

    // A process killed in the middle of an upload leaves nothing under the key either.
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "an_export_child_that_is_killed",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, &moto.endpoint)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    // The harness prints the test's name before its output, on the same line.
    let halfway = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("uploading"));
    let Some(halfway) = halfway else {
        let _ = child.kill();
        panic!("the child never reported its upload under way");
    };
    let halfway = halfway[halfway.find("uploading").unwrap()..].to_string();
    let listed = uploads(&moto.endpoint);
    child.kill().unwrap();
    assert!(listed.contains("killed.csv"), "{halfway}: {listed}");
    child.wait().unwrap();
    assert_eq!(
        http(
            &moto.endpoint,
            "HEAD",
            &format!("/{BUCKET}/exports/killed.csv")
        ),
        Some(404)
    );
    println!("killed {halfway}: no object under the key");

    text_objects_are_fetched_and_converted(&engine, nb, &store, data.path());

    // The server goes away: a query and a page over the link say so, in words, in seconds.
    drop(moto);
    let started = Instant::now();
    let e = block(engine.query(nb, "SELECT count(*) FROM sales WHERE value > 1")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConnectionUnreachable, "{e}");
    println!(
        "a query once the server stopped, after {:?}: {e}",
        started.elapsed()
    );
    let e = block(engine.page(nb, "sales", None, 10, 10)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConnectionUnreachable, "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

/// Set in the child the test kills: moto's endpoint.
const CHILD: &str = "QUIRE_TEST_EXPORT_CHILD";

/// The child: uploads a large CSV export and, once some parts are in the store, says so and
/// waits for its parent (which kills it) on stdin. Does nothing when run as a test of its own.
#[test]
fn an_export_child_that_is_killed() {
    let Ok(endpoint) = std::env::var(CHILD) else {
        return;
    };
    let connection = S3Connection {
        endpoint: Some(endpoint),
        region: None,
        profile: None,
    };
    let target = connection.store(BUCKET).unwrap();
    let batches: Vec<RecordBatch> = (0..PARTS)
        .flat_map(|p| {
            let bytes = part_bytes(p);
            quire_engine::datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                bytes::Bytes::from(bytes),
            )
            .unwrap()
            .build()
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
        })
        .collect();
    let waited = std::sync::atomic::AtomicBool::new(false);
    let progress = |rows: u64| {
        // Past 40 % of the rows, several 8 MiB parts have gone up.
        if rows >= ROWS as u64 * 2 / 5 && !waited.swap(true, std::sync::atomic::Ordering::SeqCst) {
            println!("uploading, {rows} rows written");
            std::io::stdout().flush().unwrap();
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).unwrap();
        }
    };
    let store: Arc<dyn object_store::ObjectStore> = target.store.clone();
    let _ = quire_engine::tables::export::write_to_store(
        store,
        &target.endpoint,
        &format!("s3://{BUCKET}/exports/killed.csv"),
        &schema(),
        &mut batches.iter().cloned().map(Ok),
        &progress,
        &CancellationToken::new(),
    );
}

/// The bucket's multipart uploads in progress, as moto lists them (XML).
fn uploads(endpoint: &str) -> String {
    let host = endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET /{BUCKET}?uploads HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
        if path.is_dir() {
            if let Some(found) = find(&path, name) {
                return Some(found);
            }
        }
    }
    None
}

/// A CSV file as a spreadsheet export writes it (quoted commas, R's `NA`, non-ASCII names),
/// of `rows` rows.
fn trips_csv(rows: usize) -> String {
    let cities = [
        "Zürich",
        "São Paulo",
        "\"Washington, D.C.\"",
        "Kraków",
        "Oslo",
    ];
    let mut text = String::from("trip_id,city,fare,day\n");
    for i in 0..rows {
        let fare = if i % 17 == 0 {
            "NA".to_string()
        } else {
            format!("{}.{:02}", i % 250, i % 100)
        };
        let day = format!("2024-{:02}-{:02}", i % 12 + 1, i % 28 + 1);
        text.push_str(&format!("{i},{},{fare},{day}\n", cities[i % cities.len()]));
    }
    text
}

fn put(store: &Arc<quire_engine::remote::CountedStore>, key: &str, bytes: Vec<u8>) {
    block(object_store::ObjectStoreExt::put(
        store.as_ref(),
        &object_store::path::Path::parse(key).unwrap(),
        bytes.into(),
    ))
    .unwrap();
}

/// Links the CSV or JSON object (or prefix) at `url` through the `lake` connection, with no
/// progress to hear and no cancel.
fn link_text(
    engine: &Engine,
    nb: NotebookId,
    url: &str,
    name: Option<&str>,
) -> Result<quire_engine::ImportOutcome, quire_engine::Error> {
    block(engine.link_remote_text(
        nb,
        "lake",
        url,
        name,
        None,
        None,
        Arc::new(|_| {}),
        &CancellationToken::new(),
    ))
}

/// The rows of `csv` (its header kept) from `from` to `to`.
fn rows_of(csv: &str, from: usize, to: usize) -> String {
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    let mut out = format!("{header}\n");
    for line in lines.skip(from).take(to - from) {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A prefix of CSV part files (one gzipped, Spark's `_SUCCESS` and a hidden file beside them),
/// as a cluster job writes its output, links as one table that answers as the whole file
/// does; a glob picks some of them; parts of two kinds, or of other columns, are said in
/// words naming the objects, and leave nothing.
fn prefixes_of_text_objects_are_fetched_and_converted_as_one_table(
    engine: &Engine,
    nb: NotebookId,
    store: &Arc<quire_engine::remote::CountedStore>,
    csv: &str,
) {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(rows_of(csv, 100_000, 250_000).as_bytes())
        .unwrap();
    put(
        store,
        "parts/part-00000.csv",
        rows_of(csv, 0, 100_000).into_bytes(),
    );
    put(store, "parts/part-00001.csv.gz", gz.finish().unwrap());
    put(
        store,
        "parts/part-00002.csv",
        rows_of(csv, 250_000, 300_000).into_bytes(),
    );
    put(store, "parts/_SUCCESS", Vec::new());
    put(store, "parts/.part-00000.csv.crc", b"not csv".to_vec());
    let prefix = format!("s3://{BUCKET}/parts/");
    assert!(engine.remote_converts(nb, "lake", &prefix).unwrap());
    assert!(
        !engine
            .remote_converts(nb, "lake", &format!("s3://{BUCKET}/sales/"))
            .unwrap(),
        "Parquet objects are linked where they lie"
    );
    // Parquet beside a CSV object is refused, naming both, not linked without the CSV; a note
    // beside Parquet parts is no CSV.
    put(store, "both/a.parquet", part_bytes(0));
    put(store, "both/b.csv", rows_of(csv, 0, 10).into_bytes());
    put(store, "noted/a.parquet", part_bytes(0));
    put(
        store,
        "noted/README.txt",
        b"Written by the nightly job.\n".to_vec(),
    );
    let both = engine
        .remote_converts(nb, "lake", &format!("s3://{BUCKET}/both/"))
        .unwrap_err();
    assert!(
        both.to_string().contains("both/a.parquet is Parquet and")
            && both.to_string().contains("both/b.csv is CSV"),
        "{both}"
    );
    assert!(!engine
        .remote_converts(nb, "lake", &format!("s3://{BUCKET}/noted/"))
        .unwrap());
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let heard = seen.clone();
    let linked = block(engine.link_remote_text(
        nb,
        "lake",
        &prefix,
        None,
        None,
        None,
        Arc::new(move |p| heard.lock().unwrap().push((p.bytes, p.total_bytes))),
        &CancellationToken::new(),
    ))
    .unwrap();
    assert_eq!(
        (linked.table.name.as_str(), linked.table.rows),
        ("parts", 300_000)
    );
    let seen = seen.lock().unwrap().clone();
    let (last, total) = *seen.last().unwrap();
    assert_eq!(last, total, "the last report is 100 %");
    assert!(
        seen.windows(2).all(|w| w[0].0 <= w[1].0),
        "progress never goes back: {seen:?}"
    );
    for q in [
        // Rounded: the parts are summed in another order than the one file.
        "SELECT count(*), count(fare), round(sum(fare), 2), min(day), max(day) FROM {t}",
        "SELECT city, count(*), round(avg(fare), 6) FROM {t} GROUP BY city ORDER BY city",
        "SELECT trip_id, city, fare FROM {t} WHERE trip_id IN (0, 99999, 100000, 249999, 250000, 299999) ORDER BY trip_id",
    ] {
        assert_eq!(
            answer(engine, nb, &q.replace("{t}", "parts")),
            answer(engine, nb, &q.replace("{t}", "trips_local")),
            "{q}"
        );
    }
    let some = link_text(
        engine,
        nb,
        &format!("s3://{BUCKET}/parts/*.csv"),
        Some("plain_parts"),
    )
    .unwrap();
    assert_eq!(some.table.rows, 150_000, "the two plain parts");

    // A later object holds decimals only deep inside: every object is read again
    // with the wider column (the fetched copies are still there for it).
    let mut deep = String::from("n,v\n");
    let mut tenths = 0u64;
    // Whole numbers for the first 40,000 rows: past the 256 KiB its header is sampled from.
    for i in 0..50_000u64 {
        if i < 40_000 {
            deep.push_str(&format!("{i},{i}\n"));
            tenths += i * 10;
        } else {
            deep.push_str(&format!("{i},{i}.5\n"));
            tenths += i * 10 + 5;
        }
    }
    put(store, "widen/a.csv", b"n,v\n1,1\n2,2\n".to_vec());
    put(store, "widen/b.csv", deep.into_bytes());
    let widened = link_text(engine, nb, &format!("s3://{BUCKET}/widen/"), None).unwrap();
    assert_eq!(widened.table.rows, 50_002);
    assert_eq!(
        answer(
            engine,
            nb,
            "SELECT CAST(round(sum(v) * 10) AS BIGINT) FROM widen"
        ),
        (tenths + 30).to_string()
    );

    // The user's choices for every object: a line with a field too many is skipped, named by
    // its object's address; "-" is a gap, in both objects' first rows.
    put(store, "chosen/a.csv", b"id,v\n1,10\n2,-\n".to_vec());
    put(
        store,
        "chosen/b.csv",
        b"id,v\n3,-\n4,40,extra\n5,50\n".to_vec(),
    );
    let choices = quire_engine::tables::import::CsvChoices {
        on_bad_row: quire_engine::tables::import::OnBadRow::Skip,
        missing: Some(vec!["-".into()]),
    };
    let with_choices = |key: &str, name: Option<&str>| {
        block(engine.link_remote_text(
            nb,
            "lake",
            &format!("s3://{BUCKET}/{key}"),
            name,
            None,
            Some(&choices),
            Arc::new(|_| {}),
            &CancellationToken::new(),
        ))
        .unwrap()
    };
    let chosen = with_choices("chosen/", None);
    assert_eq!(chosen.table.rows, 4);
    assert_eq!(chosen.skipped_total, 1, "{:?}", chosen.skipped);
    assert_eq!(chosen.skipped[0].line, 3);
    let object = format!("s3://{BUCKET}/chosen/b.csv");
    assert_eq!(chosen.skipped[0].file.as_deref(), Some(object.as_str()));
    assert_eq!(
        answer(engine, nb, "SELECT count(v), sum(v) FROM chosen"),
        "2 | 60"
    );
    // One object read with the same choices: "-" is a gap there too, so v stays a number.
    let one = with_choices("chosen/a.csv", Some("chosen_one"));
    assert_eq!(one.table.rows, 2);
    assert_eq!(
        answer(engine, nb, "SELECT count(v), sum(v) FROM chosen_one"),
        "1 | 10"
    );

    put(store, "mixed/a.csv", rows_of(csv, 0, 10).into_bytes());
    put(store, "mixed/b.json", b"{\"trip_id\": 1}\n".to_vec());
    put(store, "other/a.csv", rows_of(csv, 0, 10).into_bytes());
    put(store, "other/b.csv", b"trip_id,city\n1,Oslo\n".to_vec());
    // The same number of columns under other names is not read as the first object's.
    put(store, "renamed/a.csv", rows_of(csv, 0, 10).into_bytes());
    put(
        store,
        "renamed/b.csv",
        b"id,town,price,date\n1,Oslo,2.5,2024-01-01\n".to_vec(),
    );
    for (prefix, says) in [
        ("mixed/", "one table is read from files of one kind"),
        ("other/", "other/b.csv has other columns than"),
        ("renamed/", "renamed/b.csv has other columns than"),
        ("nothing/", "there are no CSV or JSON files in"),
    ] {
        let e = link_text(
            engine,
            nb,
            &format!("s3://{BUCKET}/{prefix}"),
            Some("refused"),
        )
        .unwrap_err();
        println!("# {prefix}: {e}");
        assert!(e.to_string().contains(says), "{prefix}: {e}");
    }
    assert!(engine
        .tables(nb)
        .unwrap()
        .iter()
        .all(|t| t.name != "refused"));
}

/// A CSV object as a European spreadsheet exports it (`;` between fields, decimal commas,
/// Windows-1252 text) is read as the import dialog would propose for the same file on disk,
/// not as a comma-separated file of one column.
fn a_european_csv_object_is_read_in_its_own_dialect(
    engine: &Engine,
    nb: NotebookId,
    store: &Arc<quire_engine::remote::CountedStore>,
) {
    let mut text = String::from("id;Stadt;Betrag\n");
    let mut cents = 0i64;
    for i in 0..2_000i64 {
        let city = ["Zürich", "Köln", "Málaga"][(i % 3) as usize];
        text.push_str(&format!("{i};{city};{},{:02}\n", i / 100, i % 100));
        cents += i;
    }
    let (latin, _, lossy) = encoding_rs::WINDOWS_1252.encode(&text);
    assert!(!lossy);
    put(store, "eu/zahlungen.csv", latin.into_owned());
    let linked = link_text(engine, nb, &format!("s3://{BUCKET}/eu/zahlungen.csv"), None).unwrap();
    assert_eq!(linked.table.rows, 2_000);
    assert_eq!(
        linked
            .table
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["id", "Stadt", "Betrag"]
    );
    // Row i's amount is i / 100 (whole part i / 100, cents i % 100): in cents, the ids' sum.
    assert_eq!(
        answer(
            engine,
            nb,
            "SELECT CAST(round(sum(\"Betrag\") * 100) AS BIGINT), count(DISTINCT \"Stadt\") FROM zahlungen"
        ),
        format!("{cents} | 3")
    );
    assert_eq!(
        answer(engine, nb, "SELECT \"Stadt\" FROM zahlungen WHERE id = 0"),
        "Zürich"
    );
}

/// A CSV object (plain and gzipped) linked through the connection is fetched and converted
/// into Parquet in the notebook: it answers as the same file imported from disk, the fetched
/// copy does not stay, progress runs from fetching to converting, a cancel leaves nothing, and
/// a missing object is said in words.
fn text_objects_are_fetched_and_converted(
    engine: &Engine,
    nb: NotebookId,
    store: &Arc<quire_engine::remote::CountedStore>,
    data: &Path,
) {
    let csv = trips_csv(300_000);
    let local = tempfile::tempdir().unwrap();
    let on_disk = local.path().join("trips.csv");
    std::fs::write(&on_disk, &csv).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(csv.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    for (key, bytes) in [
        ("raw/trips.csv", csv.as_bytes().to_vec()),
        ("raw/2024 trips.csv.gz", gz),
    ] {
        block(object_store::ObjectStoreExt::put(
            store.as_ref(),
            &object_store::path::Path::parse(key).unwrap(),
            bytes.into(),
        ))
        .unwrap();
    }
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let heard = seen.clone();
    let started = Instant::now();
    let linked = block(engine.link_remote_text(
        nb,
        "lake",
        &format!("s3://{BUCKET}/raw/trips.csv"),
        None,
        None,
        None,
        Arc::new(move |p| heard.lock().unwrap().push((p.bytes, p.total_bytes))),
        &CancellationToken::new(),
    ))
    .unwrap();
    let remote_ms = started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(linked.table.name, "trips");
    assert_eq!(linked.table.rows, 300_000);
    assert!(linked.table.converted);
    // It names the object it is a copy of, not the fetched file it was converted from.
    let address = format!("s3://{BUCKET}/raw/trips.csv");
    assert_eq!(linked.table.origin.as_deref(), Some(address.as_str()));
    let seen = seen.lock().unwrap().clone();
    let total = csv.len() as u64;
    assert_eq!(
        seen.last(),
        Some(&(total, total)),
        "the last report is 100 %"
    );
    assert!(
        seen.iter().any(|&(b, _)| b > 0 && b < total / 2)
            && seen.iter().any(|&(b, _)| b > total / 2 && b < total),
        "progress through fetching and converting: {:?}",
        &seen[..seen.len().min(20)]
    );
    assert_eq!(
        find(data, "_source"),
        None,
        "the fetched copy is removed once converted"
    );
    let gzipped = link_text(
        engine,
        nb,
        &format!("s3://{BUCKET}/raw/2024 trips.csv.gz"),
        Some("trips_gz"),
    )
    .unwrap();
    assert_eq!(gzipped.table.rows, 300_000);
    let request = quire_engine::ImportRequest {
        path: &on_disk,
        table: Some("trips_local"),
        format: None,
        csv: None,
        sheet: None,
        convert: true,
    };
    let started = Instant::now();
    block(engine.import(nb, request, Arc::new(|_| {}), &CancellationToken::new())).unwrap();
    let local_ms = started.elapsed().as_secs_f64() * 1000.0;
    println!(
        "remote_csv_link_ms {remote_ms:.0} (fetched from moto and converted, {} bytes); the same file converted from disk in {local_ms:.0} ms",
        csv.len()
    );
    let questions = [
        "SELECT count(*), count(fare), sum(fare), min(day), max(day) FROM {t}",
        "SELECT city, count(*), round(avg(fare), 6) FROM {t} GROUP BY city ORDER BY city",
        "SELECT trip_id, city, fare FROM {t} WHERE trip_id IN (0, 17, 299999) ORDER BY trip_id",
    ];
    for q in questions {
        let expected = answer(engine, nb, &q.replace("{t}", "trips_local"));
        assert_eq!(
            answer(engine, nb, &q.replace("{t}", "trips")),
            expected,
            "{q}"
        );
        assert_eq!(
            answer(engine, nb, &q.replace("{t}", "trips_gz")),
            expected,
            "{q}"
        );
    }
    // R's NA is a missing fare, the quoted comma stays in its name.
    assert_eq!(
        answer(engine, nb, "SELECT count(*) - count(fare) FROM trips"),
        (300_000usize.div_ceil(17)).to_string()
    );
    assert_eq!(
        answer(
            engine,
            nb,
            "SELECT count(*) FROM trips WHERE city = 'Washington, D.C.'"
        ),
        "60000"
    );

    prefixes_of_text_objects_are_fetched_and_converted_as_one_table(engine, nb, store, &csv);
    a_european_csv_object_is_read_in_its_own_dialect(engine, nb, store);

    // Cancelled while fetching: no table, no conversion folder left.
    let folders =
        |dir: &Path| find(dir, "converted").map_or(0, |c| std::fs::read_dir(c).unwrap().count());
    let before = folders(data);
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let e = block(engine.link_remote_text(
        nb,
        "lake",
        &format!("s3://{BUCKET}/raw/trips.csv"),
        Some("trips_cancelled"),
        None,
        None,
        Arc::new(move |p| {
            if p.bytes > 0 {
                stop.cancel();
            }
        }),
        &cancel,
    ))
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Cancelled, "{e}");
    assert_eq!(
        folders(data),
        before,
        "a cancelled conversion leaves no folder"
    );
    assert!(engine
        .tables(nb)
        .unwrap()
        .iter()
        .all(|t| t.name != "trips_cancelled"));

    // A missing object, and an address that is not one text object, are said in words.
    let e = link_text(engine, nb, &format!("s3://{BUCKET}/raw/missing.csv"), None).unwrap_err();
    assert_eq!(e.code(), ErrorCode::FileUnreadable, "{e}");
    assert!(e.to_string().contains("nothing is stored at"), "{e}");
    assert_eq!(folders(data), before);
    let e = link_text(
        engine,
        nb,
        &format!("s3://{BUCKET}/raw/trips.parquet"),
        None,
    )
    .unwrap_err();
    assert!(e.to_string().contains("not a CSV or JSON object"), "{e}");
    let e = link_text(engine, nb, &format!("s3://{BUCKET}/raw/trips.csv"), None).unwrap_err();
    assert_eq!(e.code(), ErrorCode::TableExists, "{e}");
    assert_eq!(folders(data), before, "a name taken leaves nothing");
    assert!(quire_engine::converts_when_linked("s3://b/x/a.ndjson.zst"));
    assert!(!quire_engine::converts_when_linked("s3://b/x/*.csv"));
    assert!(!quire_engine::converts_when_linked("s3://b/x/a.parquet"));
}

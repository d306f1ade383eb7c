//! SQL cells on an Apache DataFusion Ballista cluster, against the in-process standalone
//! cluster of the `ballista` crates (a scheduler and an executor in this test's process, on
//! loopback): the held query set answers as it does locally, and what the cluster cannot read
//! is refused before anything is sent. The real processes (one scheduler, two executors, an
//! executor killed, a job cancelled) are tested in `src-tauri/cluster/tests`.

#[path = "support/held.rs"]
mod held;
#[path = "support/session.rs"]
mod session;

use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::Path;

use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_core::serde::BallistaCodec;
use quire_engine::ids::NotebookId;
use quire_engine::notebooks::CellKind;
use quire_engine::remote::{ClusterConnection, Connection, ConnectionKind};
use quire_engine::{CellOutput, Engine, ErrorCode, HasCode};

use session::{answer, block, engine, text};

const PARTS: usize = 3;
const PER: usize = 20_000;

/// The held dataset as Parquet parts in `dir/sales`.
fn write_dataset(dir: &Path) -> std::path::PathBuf {
    let folder = dir.join("sales");
    std::fs::create_dir_all(&folder).unwrap();
    for part in 0..PARTS {
        let bytes = held::part_bytes(part, PER).unwrap();
        std::fs::write(folder.join(format!("part-{part}.parquet")), bytes).unwrap();
    }
    folder
}

/// `dir/nan.parquet`: two row groups, the second of 0.5s and one NaN (id 1500), the first of
/// 1..1000 and a NaN with its sign bit set (id 700): statistics that say "max 0.5" and "min 1".
fn write_nan(dir: &Path) -> std::path::PathBuf {
    use datafusion::arrow::array::{Float64Array, Int64Array, RecordBatch};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::file::properties::WriterProperties;
    use std::sync::Arc;
    let path = dir.join("nan.parquet");
    let x: Vec<f64> = (0..2_000)
        .map(|i| match i {
            1_500 => f64::NAN,
            700 => -f64::NAN,
            i if i < 1_000 => (i + 1) as f64,
            _ => 0.5,
        })
        .collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("x", DataType::Float64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from_iter_values(0..2_000)),
            Arc::new(Float64Array::from(x)),
        ],
    )
    .unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(1_000))
        .build();
    let mut w =
        ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    path
}

fn cluster_connection(name: &str, url: &str, shared: &[&Path]) -> Connection {
    Connection {
        name: name.into(),
        kind: ConnectionKind::Ballista,
        s3: None,
        postgres: None,
        cluster: Some(ClusterConnection {
            url: url.into(),
            shared_folders: shared.iter().map(|p| p.display().to_string()).collect(),
        }),
        azure: None,
    }
}

/// A notebook with the dataset linked as `sales` and the cluster connection `lab`.
fn notebook(engine: &Engine, data: &Path, url: &str, shared: &[&Path]) -> NotebookId {
    let nb = engine.create_notebook("Cluster").unwrap().id;
    engine
        .save_connection(nb, cluster_connection("lab", url, shared))
        .unwrap();
    engine
        .link_table(nb, &write_dataset(data), Some("sales"))
        .unwrap();
    nb
}

#[test]
fn what_the_cluster_cannot_read_is_refused_before_anything_is_sent() {
    let tmp = tempfile::tempdir().unwrap();
    // Something listens where the scheduler would be: no connection may ever reach it.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("df://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let engine = engine(&tmp.path().join("data"));
    let nb = notebook(&engine, tmp.path(), &url, &[&elsewhere]);
    block(engine.save_query_as_table(nb, "SELECT 1 AS n", "mine")).unwrap();

    // A table held in the notebook.
    let e = block(engine.query_on(nb, "SELECT * FROM mine", "lab")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotOnCluster, "{e}");
    assert!(
        e.to_string()
            .starts_with("the table mine is held in this notebook"),
        "{e}"
    );
    // A linked file outside the shared folders, even joined with nothing else.
    let e = block(engine.query_on(nb, "SELECT count(*) FROM sales", "lab")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotOnCluster, "{e}");
    let message = e.to_string();
    assert!(message.contains("part-0.parquet"), "{message}");
    assert!(
        message.contains(&elsewhere.display().to_string()),
        "{message}"
    );
    // Inside a subquery and a CTE too.
    let e = block(engine.query_on(nb, "WITH x AS (SELECT n FROM mine) SELECT * FROM x", "lab"))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotOnCluster, "{e}");
    // Named with its schema, or its catalog too.
    for sql in [
        "SELECT * FROM public.mine",
        "SELECT * FROM datafusion.public.mine",
    ] {
        let e = block(engine.query_on(nb, sql, "lab")).unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotOnCluster, "{sql}: {e}");
    }
    // Rows a table function makes here cannot be sent.
    let e =
        block(engine.query_on(nb, "SELECT value FROM generate_series(1, 3)", "lab")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotOnCluster, "{e}");
    assert!(e.to_string().contains("function generate_series"), "{e}");
    // A mistake in the query is told as it is locally, with where it is.
    let e = block(engine.query_on(nb, "SELECT nope FROM nowhere", "lab")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::SqlInvalid, "{e}");
    assert!(e.position().is_some(), "{e}");

    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == ErrorKind::WouldBlock),
        "a refused query reached the scheduler's address"
    );
}

#[test]
fn an_unreachable_scheduler_is_said_in_words() {
    let tmp = tempfile::tempdir().unwrap();
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let engine = engine(&tmp.path().join("data"));
    let nb = notebook(
        &engine,
        tmp.path(),
        &format!("df://127.0.0.1:{port}"),
        &[tmp.path()],
    );
    let e = block(engine.query_on(nb, "SELECT count(*) FROM sales", "lab")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConnectionUnreachable, "{e}");
    assert!(
        e.to_string().contains(&format!(
            "df://127.0.0.1:{port} did not answer: nothing is listening"
        )),
        "{e}"
    );
    let e = engine
        .check_connection(
            nb,
            &cluster_connection("lab", &format!("df://127.0.0.1:{port}"), &[]),
            "",
        )
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConnectionUnreachable, "{e}");
}

#[test]
fn where_a_cell_runs_is_kept_in_the_notebook_file() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = engine(&tmp.path().join("data"));
    let nb = notebook(&engine, tmp.path(), "df://127.0.0.1:50050", &[tmp.path()]);
    let cell = engine
        .notebooks()
        .add_cell(nb, CellKind::Sql, None, "SELECT 1".into())
        .unwrap();
    engine
        .set_cell_runs_on(nb, cell.id, Some("lab".into()))
        .unwrap();
    // Only a cluster connection can run a cell.
    let e = engine
        .set_cell_runs_on(nb, cell.id, Some("nowhere".into()))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConnectionNotFound, "{e}");
    engine.notebooks().flush(nb).unwrap();
    let dir = engine.notebooks().folder_path(nb).unwrap().unwrap();
    let file = std::fs::read_to_string(dir.join("notebook.json")).unwrap();
    assert!(file.contains("\"version\": 5"), "{file}");
    assert!(file.contains("\"runs_on\": \"lab\""), "{file}");
    assert!(file.contains("\"kind\": \"ballista\""), "{file}");
    // A copy of the notebook has no connections: its cells run here.
    let copy = engine.notebooks().duplicate(nb).unwrap().id;
    let copied = engine.notebooks().get(copy).unwrap();
    assert!(
        copied.cells.iter().all(|c| c.runs_on.is_none()),
        "{copied:?}"
    );
    // A cell that stops being SQL stops running on the cluster.
    engine
        .notebooks()
        .set_cell_kind(nb, cell.id, CellKind::Markdown)
        .unwrap();
    assert_eq!(engine.notebooks().cell(nb, cell.id).unwrap().runs_on, None);
    engine
        .notebooks()
        .set_cell_kind(nb, cell.id, CellKind::Sql)
        .unwrap();
    engine
        .set_cell_runs_on(nb, cell.id, Some("lab".into()))
        .unwrap();
    // Removing the cluster puts its cells back on this machine.
    engine.remove_connection(nb, "lab").unwrap();
    assert_eq!(engine.notebooks().cell(nb, cell.id).unwrap().runs_on, None);
}

#[test]
fn the_held_queries_answer_on_the_standalone_cluster_as_they_do_locally() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(async {
        let addr = ballista_scheduler::standalone::new_standalone_scheduler()
            .await
            .unwrap();
        let url = format!("http://localhost:{}", addr.port());
        let scheduler = loop {
            match SchedulerGrpcClient::connect(url.clone()).await {
                Ok(client) => break client,
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        };
        ballista_executor::new_standalone_executor(scheduler, 2, BallistaCodec::default())
            .await
            .unwrap();
        format!("df://localhost:{}", addr.port())
    });
    let tmp = tempfile::tempdir().unwrap();
    let engine = engine(&tmp.path().join("data"));
    let nb = notebook(&engine, tmp.path(), &url, &[tmp.path()]);
    for q in held::QUERIES {
        let sql = q.replace("{t}", "sales");
        let local = answer(&engine, nb, &sql);
        let remote =
            block(engine.query_on(nb, &sql, "lab")).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(text(&remote), local, "{sql}");
        assert!(!local.is_empty(), "{sql} has an empty answer");
    }
    // NaN, which Parquet's statistics leave out of a float column's bounds, answers there as
    // here (the cluster skips nothing by a float's statistics either).
    engine
        .link_table(nb, &write_nan(tmp.path()), Some("nan"))
        .unwrap();
    for sql in [
        "SELECT id FROM nan ORDER BY x DESC, id LIMIT 2",
        "SELECT id FROM nan ORDER BY x, id LIMIT 2",
        "SELECT count(*) FROM nan WHERE x > 5000",
        "SELECT count(*) FROM nan WHERE x < 0",
        "SELECT isnan(max(x)), isnan(min(x)) FROM nan",
    ] {
        let local = answer(&engine, nb, sql);
        let remote =
            block(engine.query_on(nb, sql, "lab")).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(text(&remote), local, "{sql}");
    }
    assert_eq!(
        answer(
            &engine,
            nb,
            "SELECT id FROM nan ORDER BY x DESC, id LIMIT 2"
        ),
        answer(
            &engine,
            nb,
            "SELECT 1500 AS id UNION ALL SELECT 999 ORDER BY id DESC"
        ),
    );
    // A cell set to run there shows the same first rows, and is listed as a run.
    let sql = "SELECT category, count(*) AS n FROM sales GROUP BY category ORDER BY category";
    let cell = engine
        .notebooks()
        .add_cell(nb, CellKind::Sql, None, sql.into())
        .unwrap();
    engine
        .set_cell_runs_on(nb, cell.id, Some("lab".into()))
        .unwrap();
    let CellOutput::Table { preview } = block(engine.run_cell(nb, cell.id)).unwrap() else {
        panic!("a SQL cell shows a table");
    };
    assert_eq!(preview.row_count, 20);
    assert_eq!(preview.rows[0][0].as_deref(), Some("c0"));
    assert_eq!(
        preview.rows[0][1].as_deref(),
        Some(&*(PARTS * PER / 20).to_string())
    );
    // Kept as a local table, from the cluster's answer.
    let kept = block(engine.keep_result(nb, sql, "by_category", Some("lab"))).unwrap();
    assert_eq!(kept.rows, 20);
    // Written straight into a Parquet file as the cluster's rows come back: every row.
    let every = "SELECT * FROM sales";
    let out = tmp.path().join("from-cluster.parquet");
    let bytes = block(engine.export_query(nb, every, &out, Some("lab"))).unwrap();
    assert_eq!(bytes, std::fs::metadata(&out).unwrap().len());
    engine.link_table(nb, &out, Some("exported")).unwrap();
    for q in [
        "SELECT count(*), count(DISTINCT id) FROM {t}",
        "SELECT category, count(*), sum(id) FROM {t} GROUP BY category ORDER BY category",
    ] {
        assert_eq!(
            answer(&engine, nb, &q.replace("{t}", "exported")),
            answer(&engine, nb, &q.replace("{t}", "sales")),
            "{q}"
        );
    }
    drop(rt);
}

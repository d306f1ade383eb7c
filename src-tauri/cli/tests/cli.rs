//! Every documented form of quire-cli, run as a real process on real files, plus its error exits.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

struct Ws {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    files: PathBuf,
}

fn ws() -> Ws {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("workspace");
    let files = tmp.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    Ws {
        dir,
        files,
        _tmp: tmp,
    }
}

fn cli(ws: &Ws, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quire-cli"))
        .arg("--workspace")
        .arg(&ws.dir)
        .args(args)
        .env_remove("QUIRE_WORKSPACE")
        .env_remove("QUIRE_DATA_DIR")
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn failed(out: &Output, code: i32, error_code: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    if !error_code.is_empty() {
        assert!(
            stderr.starts_with(&format!("error[{error_code}]: ")),
            "stderr: {stderr}"
        );
    }
    stderr
}

fn sales_csv(dir: &Path) -> PathBuf {
    let p = dir.join("sales.csv");
    std::fs::write(&p, "region,amount\nnorth,10\nsouth,20\nnorth,5\n").unwrap();
    p
}

#[test]
fn import_tables_query_export_notebooks() {
    let ws = ws();
    let csv = sales_csv(&ws.files);
    let out = ok(&cli(
        &ws,
        &["import", csv.to_str().unwrap(), "--notebook", "Q1 Review"],
    ));
    assert_eq!(out.trim(), "imported 3 rows into sales");
    // Persisted the way the app does it: the notebook folder with its table inside.
    assert!(ws.dir.join("q1-review.quire/notebook.json").is_file());
    assert!(ws
        .dir
        .join("q1-review.quire/tables/sales.1.parquet")
        .is_file());
    assert!(ws
        .dir
        .join("q1-review.quire/tables/manifest.json")
        .is_file());

    let json = ws.files.join("more.data");
    std::fs::write(&json, "{\"region\": \"east\", \"amount\": 7}\n").unwrap();
    ok(&cli(
        &ws,
        &[
            "import",
            json.to_str().unwrap(),
            "--notebook",
            "q1 review",
            "--table",
            "more",
            "--format",
            "json",
        ],
    ));

    let out = ok(&cli(&ws, &["notebooks"]));
    assert!(out.contains("\tQ1 Review\t"), "{out}");
    let out = ok(&cli(&ws, &["tables", "--notebook", "Q1 Review"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("more\t1 rows\t"), "{out}");
    assert!(
        lines[1].starts_with("sales\t3 rows\tregion Utf8, amount Int64"),
        "{out}"
    );

    let sql = "SELECT region, sum(amount) AS total FROM sales GROUP BY region ORDER BY region";
    let table = ok(&cli(&ws, &["query", "--notebook", "Q1 Review", sql]));
    assert!(table.contains("| north  | 15    |"), "{table}");
    let csv_out = ok(&cli(
        &ws,
        &["query", "--notebook", "Q1 Review", sql, "--format", "csv"],
    ));
    assert_eq!(csv_out, "region,total\nnorth,15\nsouth,20\n");
    let json_out = ok(&cli(
        &ws,
        &["query", "--notebook", "Q1 Review", sql, "--format", "json"],
    ));
    assert_eq!(
        json_out,
        "{\"region\":\"north\",\"total\":15}\n{\"region\":\"south\",\"total\":20}\n"
    );
    let to_file = ws.files.join("totals.csv");
    ok(&cli(
        &ws,
        &[
            "query",
            "--notebook",
            "Q1 Review",
            sql,
            "--format",
            "csv",
            "--out",
            to_file.to_str().unwrap(),
        ],
    ));
    assert_eq!(std::fs::read_to_string(&to_file).unwrap(), csv_out);

    for name in ["export.csv", "export.parquet"] {
        let path = ws.files.join(name);
        let out = ok(&cli(
            &ws,
            &[
                "export",
                "--notebook",
                "Q1 Review",
                "--table",
                "sales",
                "--out",
                path.to_str().unwrap(),
            ],
        ));
        assert!(out.starts_with("wrote "), "{out}");
        assert!(path.is_file());
    }
    assert_eq!(
        std::fs::read_to_string(ws.files.join("export.csv")).unwrap(),
        "region,amount\nnorth,10\nsouth,20\nnorth,5\n"
    );
    // The exported Parquet imports back to the same rows.
    let back = ok(&cli(
        &ws,
        &[
            "import",
            ws.files.join("export.parquet").to_str().unwrap(),
            "--notebook",
            "Back",
            "--table",
            "again",
        ],
    ));
    assert_eq!(back.trim(), "imported 3 rows into again");
}

#[test]
fn errors_exit_1_with_a_stable_code_and_bad_usage_exits_2() {
    let ws = ws();
    failed(&cli(&ws, &["frobnicate"]), 2, "");
    failed(&cli(&ws, &["query", "--notebook", "X"]), 2, "");
    failed(
        &cli(
            &ws,
            &["query", "--notebook", "X", "SELECT 1", "--format", "xml"],
        ),
        2,
        "",
    );

    let csv = sales_csv(&ws.files);
    ok(&cli(
        &ws,
        &["import", csv.to_str().unwrap(), "--notebook", "N"],
    ));
    failed(
        &cli(&ws, &["tables", "--notebook", "Nope"]),
        1,
        "notebook_not_found",
    );
    let e = failed(
        &cli(&ws, &["query", "--notebook", "N", "SELEC 1"]),
        1,
        "sql_invalid",
    );
    assert!(e.contains("Line: 1") || e.contains("line 1"), "{e}");
    failed(
        &cli(&ws, &["query", "--notebook", "N", "SELECT * FROM missing"]),
        1,
        "sql_invalid",
    );
    failed(
        &cli(&ws, &["import", csv.to_str().unwrap(), "--notebook", "N"]),
        1,
        "table_exists",
    );
    failed(
        &cli(
            &ws,
            &[
                "import",
                csv.to_str().unwrap(),
                "--notebook",
                "N",
                "--table",
                "Bad Name",
            ],
        ),
        1,
        "invalid_table_name",
    );
    let ragged = ws.files.join("ragged.csv");
    std::fs::write(&ragged, "a,b\n1,2\n3\n").unwrap();
    let e = failed(
        &cli(
            &ws,
            &["import", ragged.to_str().unwrap(), "--notebook", "N"],
        ),
        1,
        "import_failed",
    );
    assert!(e.contains("line"), "{e}");
    failed(
        &cli(
            &ws,
            &[
                "import",
                ws.files.join("absent.csv").to_str().unwrap(),
                "--notebook",
                "N",
            ],
        ),
        1,
        "file_unreadable",
    );
    failed(
        &cli(
            &ws,
            &[
                "export",
                "--notebook",
                "N",
                "--table",
                "nope",
                "--out",
                "/tmp/x.csv",
            ],
        ),
        1,
        "table_not_found",
    );
    let outside = ws.files.join("x.xlsx");
    failed(
        &cli(
            &ws,
            &[
                "export",
                "--notebook",
                "N",
                "--table",
                "sales",
                "--out",
                outside.to_str().unwrap(),
            ],
        ),
        1,
        "import_failed",
    );
}

#[test]
fn the_cli_respects_the_workspace_lock() {
    let ws = ws();
    let config = quire_engine::Config {
        workspace: Some(ws.dir.clone()),
        ..Default::default()
    };
    let paths = quire_engine::EnginePaths {
        data_dir: ws.dir.clone(),
        config_dir: None,
    };
    let held = quire_engine::Engine::open(config, paths, Arc::new(quire_engine::events::NullSink))
        .unwrap();
    let e = failed(&cli(&ws, &["notebooks"]), 1, "workspace_locked");
    assert!(
        e.contains(&std::process::id().to_string()),
        "names the holder: {e}"
    );
    drop(held);
    ok(&cli(&ws, &["notebooks"]));
}

#[test]
fn a_workspace_of_its_own_never_has_its_files_touched() {
    // It used to be the CLI's data dir: its `spill/` was deleted and `tasks.sqlite` put in it.
    let ws = ws();
    std::fs::create_dir_all(ws.dir.join("spill")).unwrap();
    std::fs::write(ws.dir.join("spill").join("notes.txt"), "mine").unwrap();
    ok(&cli(&ws, &["notebooks"]));
    assert_eq!(
        std::fs::read_to_string(ws.dir.join("spill").join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(!ws.dir.join("tasks.sqlite").exists());
    assert!(ws.dir.join(".quire-data").join("tasks.sqlite").exists());
}

#[test]
fn on_the_apps_workspace_the_cli_sees_the_edits_the_app_journaled_before_a_crash() {
    let root = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let csv = files.path().join("trips.csv");
    std::fs::write(&csv, "id,city\n1,Lyon\n2,Paris\n").unwrap();
    {
        // The app: data dir <root>/data, its default workspace inside it.
        let engine = quire_engine::Engine::open(
            quire_engine::Config::default(),
            quire_engine::EnginePaths {
                data_dir: root.path().join("data"),
                config_dir: None,
            },
            Arc::new(quire_engine::events::NullSink),
        )
        .unwrap();
        let nb = engine.create_notebook("Trips").unwrap().id;
        engine
            .import_file(
                nb,
                quire_engine::ImportRequest::file(&csv).named("trips"),
                &|_| {},
                &tokio_util::sync::CancellationToken::new(),
            )
            .unwrap();
        engine.flush_all();
        let row = |id: u64| quire_engine::tables::edit::CellEdit {
            row_id: id,
            column: "city".into(),
            value: Some("Rome".into()),
        };
        engine.edit_cells(nb, "trips", &[row(0)]).unwrap();
        // Closed without writing the snapshot: the edit is only in the journal.
        engine.shutdown_without_waiting();
    }
    let out = files.path().join("out.csv");
    let done = Command::new(env!("CARGO_BIN_EXE_quire-cli"))
        .args(["export", "--notebook", "Trips", "--table", "trips", "--out"])
        .arg(&out)
        .env_remove("QUIRE_WORKSPACE")
        .env("QUIRE_DATA_DIR", root.path())
        .output()
        .unwrap();
    ok(&done);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("Rome"),
        "the journaled edit is exported: {text}"
    );
}

/// The identity of a file: a part a resumed conversion kept is the same file.
fn identity(path: &Path) -> (u64, std::time::SystemTime) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).unwrap();
    (m.ino(), m.modified().unwrap())
}

fn parts_in(converted: &Path) -> Vec<PathBuf> {
    let mut parts: Vec<PathBuf> = std::fs::read_dir(converted)
        .into_iter()
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).into_iter().flatten())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    parts.sort();
    parts
}

#[test]
fn a_conversion_killed_midway_resumes_at_the_next_start_past_the_parts_it_wrote() {
    let root = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let csv = files.path().join("big.csv");
    let mut text = String::from("id,city,amount\n");
    for i in 0..1_200_000u64 {
        text.push_str(&format!(
            "{i},{},{}.5\n",
            ["Lyon", "Paris", "Nice"][(i % 3) as usize],
            i % 1000
        ));
    }
    std::fs::write(&csv, &text).unwrap();
    let part_mb = 1;
    let parts_in_all = (text.len() as u64).div_ceil(part_mb << 20) as usize;
    let mut child = Command::new(env!("CARGO_BIN_EXE_quire-cli"))
        .args(["import", "--notebook", "Big", "--table", "big", "--convert"])
        .arg(&csv)
        .env_remove("QUIRE_WORKSPACE")
        .env("QUIRE_DATA_DIR", root.path())
        .env("QUIRE_LIMITS__CONVERSION_PART_MB", part_mb.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let converted = root.path().join("data/workspace/big.quire/converted");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while parts_in(&converted).len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "no parts were written"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the conversion ended before the kill"
        );
        std::thread::yield_now();
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let kept: Vec<_> = parts_in(&converted)
        .into_iter()
        .map(|p| (identity(&p), p))
        .collect();
    assert!(
        kept.len() < parts_in_all,
        "killed before the end: {} parts",
        kept.len()
    );

    // The app's next start runs the interrupted import again: it resumes in the same folder.
    let mut config = quire_engine::Config::default();
    config.limits.conversion_part_mb = part_mb;
    let engine = quire_engine::Engine::open(
        config,
        quire_engine::EnginePaths {
            data_dir: root.path().join("data"),
            config_dir: None,
        },
        Arc::new(quire_engine::events::NullSink),
    )
    .unwrap();
    engine.resume();
    let nb = engine.notebooks().find("Big").unwrap().id;
    let tables = engine.tables(nb).unwrap();
    let big = tables
        .iter()
        .find(|t| t.name == "big")
        .expect("the table exists");
    assert_eq!(big.rows, 1_200_000);
    assert!(big.linked.is_some());
    for (id, part) in &kept {
        assert_eq!(identity(part), *id, "{} was written again", part.display());
    }
    assert_eq!(parts_in(&converted).len(), parts_in_all);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sums = rt
        .block_on(engine.query(
            nb,
            "SELECT count(*) AS n, sum(id) AS ids, sum(amount) AS a FROM big",
        ))
        .unwrap();
    let text = datafusion::arrow::util::pretty::pretty_format_batches(&sums)
        .unwrap()
        .to_string();
    let n = 1_200_000u64;
    let amounts: f64 = (0..n).map(|i| (i % 1000) as f64 + 0.5).sum();
    assert!(text.contains(&format!("| {n} ")), "{text}");
    assert!(text.contains(&format!("| {} ", n * (n - 1) / 2)), "{text}");
    assert!(text.contains(&format!("| {amounts:.1} ")), "{text}");
    engine.shutdown();
}

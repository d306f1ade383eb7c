//! `tables`: importing and querying a million rows, against DuckDB and pyarrow on the same
//! files in the same run. The anchors run in a private venv (created with pip on first use
//! under the cargo target dir, or `QUIRE_BENCH_VENV`).
//!
//! - `import_csv_1m_ms` (value): CSV file to in-memory Arrow table in Quire.
//! - `import_csv_vs_duckdb`: ratio = DuckDB `CREATE TABLE AS read_csv` time / Quire time.
//! - `import_csv_vs_pyarrow`: ratio = `pyarrow.csv.read_csv` time / Quire time.
//! - `import_parquet_1m_ms` (value), `parquet_read_vs_pyarrow`: ratio = `pyarrow.parquet.read_table`
//!   time / Quire time.
//! - `page_fetch_p50_us`, `page_fetch_p99_us` (values): one 200-row grid page at a random
//!   offset, encoded as Arrow IPC, in-process.
//! - `groupby_vs_duckdb`: a filter + group-by; ratio = DuckDB time / Quire time.
//!
//! - `checked_arithmetic_vs_plain`: whole-number `+ - *` over the 1M rows, which Quire checks
//!   for overflow (`tables/checked_arithmetic.rs`); ratio = plain DataFusion's time on the same
//!   batches / Quire's (1.0: the check costs nothing).
//! - `percentile_vs_plain`: `percentile_cont` over the 1M rows, Quire's exact one
//!   (`tables/exact_percentile.rs`) against DataFusion's own on the same batches.
//!
//! Every time is the best of `REPEATS` runs on both sides.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use quire_engine::events::NullSink;
use quire_engine::notebooks::NotebookId;
use quire_engine::{Config, Engine, EnginePaths, ImportRequest};
use tokio_util::sync::CancellationToken;

use crate::report::Measure;
use crate::stats::{micros, Samples};

const SUITE: &str = "tables";
const ROWS: usize = 1_000_000;
const REPEATS: usize = 3;
const GROUP_BY: &str =
    "SELECT city, count(*) AS n, sum(amount) AS total FROM t WHERE amount > 1000 GROUP BY city ORDER BY city";

const ARITHMETIC: &str =
    "SELECT sum(id * 3 + id - 7) AS a, sum(id * 5 - 1) AS b, max(id * id + id) AS c FROM t";
const PERCENTILE: &str =
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY amount) AS m, percentile_cont(0.9) WITHIN GROUP (ORDER BY amount) AS p FROM t";

/// An engine on a fresh temp workspace with one notebook holding the 1M-row CSV imported as
/// table `t`, the way the app imports it. Returns the temp dir (keep it alive) and the CSV.
pub(crate) fn million_row_engine(
) -> Result<(tempfile::TempDir, PathBuf, Engine, NotebookId), String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let csv = tmp.path().join("t.csv");
    write_csv(&csv).map_err(|e| e.to_string())?;
    let err = |e: quire_engine::Error| e.to_string();
    let paths = EnginePaths {
        data_dir: tmp.path().join("data"),
        config_dir: None,
    };
    let engine = Engine::open(Config::default(), paths, Arc::new(NullSink)).map_err(err)?;
    let nb = engine.create_notebook("Bench").map_err(err)?.id;
    engine
        .import_file(
            nb,
            ImportRequest::file(&csv).named("t"),
            &|_| {},
            &CancellationToken::new(),
        )
        .map_err(err)?;
    Ok((tmp, csv, engine, nb))
}

fn write_csv(path: &Path) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "id,city,amount,paid,day")?;
    let cities = ["Lyon", "Paris", "Nice", "Lille", "Nantes", "Brest", "Metz"];
    for i in 0..ROWS {
        writeln!(
            out,
            "{i},{},{}.{:02},{},2026-{:02}-{:02}",
            cities[i % cities.len()],
            (i * 7919) % 100_000,
            i % 100,
            i % 3 == 0,
            1 + i % 12,
            1 + i % 28
        )?;
    }
    out.flush()
}

pub(crate) fn venv() -> Result<PathBuf, String> {
    let dir = std::env::var_os("QUIRE_BENCH_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("target"));
            target.join("bench-venv")
        });
    let python = dir.join("bin/python");
    let ready = Command::new(&python)
        .args(["-c", "import duckdb, pyarrow"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        eprintln!(
            "creating the anchor venv in {} (pip install duckdb pyarrow) ...",
            dir.display()
        );
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&dir)
            .status()
            .map_err(|e| e.to_string())?
            .success()
            && Command::new(&python)
                .args(["-m", "pip", "install", "--quiet", "duckdb", "pyarrow"])
                .status()
                .map_err(|e| e.to_string())?
                .success();
        if !ok {
            return Err("could not install duckdb and pyarrow for the anchors".into());
        }
    }
    Ok(python)
}

/// Runs an anchor script of `anchors/` in the private venv with `args`; returns the JSON object
/// it prints.
pub(crate) fn run_anchor(
    script: &str,
    args: &[&std::ffi::OsStr],
) -> Result<serde_json::Value, String> {
    let python = venv()?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("anchors")
        .join(script);
    let out = Command::new(&python)
        .arg(&script)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "the anchor {} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

/// A number the anchor printed.
pub(crate) fn anchor_value(anchors: &serde_json::Value, key: &str) -> Result<f64, String> {
    anchors[key]
        .as_f64()
        .ok_or_else(|| format!("the anchor gave no {key}"))
}

pub(crate) fn best(mut op: impl FnMut() -> Result<(), String>) -> Result<f64, String> {
    let mut best = f64::MAX;
    for _ in 0..REPEATS {
        let start = Instant::now();
        op()?;
        best = best.min(micros(start.elapsed()) / 1000.0);
    }
    Ok(best)
}

pub fn run() -> Result<Vec<Measure>, String> {
    let (tmp, csv, engine, nb) = million_row_engine()?;
    let parquet = tmp.path().join("t.parquet");
    let err = |e: quire_engine::Error| e.to_string();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;

    // Reading only, as the anchors do: file to in-memory Arrow.
    let cancel = CancellationToken::new();
    let read = |path: &Path| -> Result<(), String> {
        quire_engine::tables::import::read(
            path,
            None,
            None,
            &|_| {},
            &cancel,
            &quire_engine::tables::Limits::default().budget("the file"),
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
    };
    let quire_csv = best(|| read(&csv))?;
    engine
        .export_table(nb, "t", &parquet, &|_| {}, &cancel)
        .map_err(err)?;
    let quire_parquet = best(|| read(&parquet))?;

    let mut offsets = (0..1000u64).map(|i| (i * 7_919_993) % (ROWS as u64 - 200));
    let pages = Samples::collect(20, 1000, || {
        let offset = offsets.next().unwrap_or(0);
        rt.block_on(engine.page(nb, "t", None, offset, 200))
            .expect("a page");
    });
    let quire_groupby = best(|| {
        rt.block_on(engine.query(nb, GROUP_BY))
            .map(|_| ())
            .map_err(err)
    })?;

    // The same SQL on a plain DataFusion session over the same batches: what Quire's own
    // functions cost.
    let batches = rt
        .block_on(engine.query(nb, "SELECT id, amount FROM t"))
        .map_err(err)?;
    let plain = datafusion::prelude::SessionContext::new();
    let schema = batches
        .first()
        .map(|b| b.schema())
        .ok_or("the table has no batches")?;
    let table = datafusion::datasource::MemTable::try_new(schema, vec![batches])
        .map_err(|e| e.to_string())?;
    plain
        .register_table("t", Arc::new(table))
        .map_err(|e| e.to_string())?;
    let timed = |sql: &'static str| -> Result<(f64, f64), String> {
        let quire = best(|| rt.block_on(engine.query(nb, sql)).map(|_| ()).map_err(err))?;
        let theirs = best(|| {
            rt.block_on(async { plain.sql(sql).await?.collect().await })
                .map(|_| ())
                .map_err(|e| e.to_string())
        })?;
        Ok((quire, theirs))
    };
    let arithmetic = timed(ARITHMETIC)?;
    let percentile = timed(PERCENTILE)?;

    let repeats = REPEATS.to_string();
    let anchors = run_anchor(
        "tables.py",
        &[csv.as_os_str(), parquet.as_os_str(), repeats.as_ref()],
    )?;
    let anchor = |key: &str| anchor_value(&anchors, key);

    Ok(vec![
        Measure::value(SUITE, "import_csv_1m_ms", quire_csv, "ms"),
        Measure::against(
            SUITE,
            "import_csv_vs_duckdb",
            quire_csv,
            anchor("duckdb_import_csv_ms")?,
            "ms",
        ),
        Measure::against(
            SUITE,
            "import_csv_vs_pyarrow",
            quire_csv,
            anchor("pyarrow_read_csv_ms")?,
            "ms",
        ),
        Measure::value(SUITE, "import_parquet_1m_ms", quire_parquet, "ms"),
        Measure::against(
            SUITE,
            "parquet_read_vs_pyarrow",
            quire_parquet,
            anchor("pyarrow_read_parquet_ms")?,
            "ms",
        ),
        Measure::value(SUITE, "page_fetch_p50_us", pages.p50(), "us"),
        Measure::value(SUITE, "page_fetch_p99_us", pages.quantile(0.99), "us"),
        Measure::against(
            SUITE,
            "checked_arithmetic_vs_plain",
            arithmetic.0,
            arithmetic.1,
            "ms",
        ),
        Measure::against(
            SUITE,
            "percentile_vs_plain",
            percentile.0,
            percentile.1,
            "ms",
        ),
        Measure::against(
            SUITE,
            "groupby_vs_duckdb",
            quire_groupby,
            anchor("duckdb_groupby_ms")?,
            "ms",
        ),
    ])
}

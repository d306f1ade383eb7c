//! `smoke`: proves the plumbing end to end and prices the engine's thin layers.
//!
//! - `engine_open_ms` (value): opening an engine on a fresh workspace.
//! - `sql_select_p50_us`: `SELECT 1` through the engine; baseline a bare DataFusion
//!   `SessionContext`; ratio = baseline / Quire (1.0 means the engine adds nothing).
//! - `durable_write_4k_p50_us`: a 4 KiB atomic replace (temp, fsync, rename, fsync folder);
//!   baseline an in-place write + fsync of the same bytes, which is not crash-safe;
//!   ratio = baseline / Quire, i.e. what atomicity costs (below 1 is expected).

use std::sync::Arc;
use std::time::Instant;

use datafusion::prelude::SessionContext;
use quire_engine::events::NullSink;
use quire_engine::metrics::Metrics;
use quire_engine::{Config, Engine, EnginePaths};

use crate::report::Measure;
use crate::stats::{micros, Samples};

const SUITE: &str = "smoke";

pub fn run() -> Result<Vec<Measure>, String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;

    let start = Instant::now();
    let paths = EnginePaths {
        data_dir: tmp.path().to_path_buf(),
        config_dir: None,
    };
    let engine =
        Engine::open(Config::default(), paths, Arc::new(NullSink)).map_err(|e| e.to_string())?;
    let open_ms = micros(start.elapsed()) / 1000.0;

    let nb = engine.create_notebook("Smoke").map_err(|e| e.to_string())?;
    let quire = Samples::collect(20, 300, || {
        rt.block_on(engine.query(nb.id, "SELECT 1"))
            .expect("SELECT 1 runs");
    });
    let ctx = SessionContext::new();
    let raw = Samples::collect(20, 300, || {
        rt.block_on(async { ctx.sql("SELECT 1").await.unwrap().collect().await.unwrap() });
    });

    let metrics = Metrics::default();
    let bytes = vec![b'q'; 4096];
    let target = engine.workspace().join("smoke.bin");
    let mut failure = None;
    let atomic = Samples::collect(5, 100, || {
        if let Err(e) = quire_engine::durable::write_atomic(&target, &bytes, &metrics) {
            failure.get_or_insert(e.to_string());
        }
    });
    let in_place_path = engine.workspace().join("in-place.bin");
    let in_place = Samples::collect(5, 100, || {
        use std::io::Write;
        let mut f = std::fs::File::create(&in_place_path).expect("create");
        f.write_all(&bytes).expect("write");
        f.sync_all().expect("fsync");
    });
    if let Some(e) = failure {
        return Err(e);
    }

    Ok(vec![
        Measure::value(SUITE, "engine_open_ms", open_ms, "ms"),
        Measure::against(SUITE, "sql_select_p50_us", quire.p50(), raw.p50(), "us"),
        Measure::against(
            SUITE,
            "durable_write_4k_p50_us",
            atomic.p50(),
            in_place.p50(),
            "us",
        ),
    ])
}

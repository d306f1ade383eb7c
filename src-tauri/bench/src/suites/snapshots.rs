//! `snapshots`: writing a 1M-row x 10-column table as a snapshot generation (encode on the
//! persistence pool, fsync, rename, fsync the folder), against `pyarrow.parquet.write_table`
//! on the same data and codec in the same run, and against the disk's raw sequential write
//! speed.
//!
//! - `snapshot_1m_snappy_ms`, `snapshot_1m_zstd_ms` (values).
//! - `snapshot_1m_snappy_vs_pyarrow`, `snapshot_1m_zstd_vs_pyarrow`: ratio = pyarrow time
//!   (write_table + fsync) / Quire time.
//! - `snapshot_zstd_bytes_vs_pyarrow`: file size; ratio = pyarrow's bytes / Quire's (Quire's
//!   files carry the row ids, and skip dictionaries for mostly-unique columns).
//! - `disk_seq_write_mb_s` (value): 256 MiB in 1 MiB writes plus one fsync.
//! - `snapshot_vs_disk_limit`: ratio = Quire's snappy throughput (file bytes / time) / raw
//!   disk write speed.
//! - `snapshot_peak_rss_growth_pct` (value): the highest resident memory seen during a zstd
//!   snapshot, above the resident memory before it, as a % of the table's in-memory size.
//! - `page_p99_during_snapshot_us`: grid page p99 while a 1M-row snapshot runs through the
//!   engine; ratio = that / the idle p99 (near 1 means the UI does not feel the save).

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use quire_engine::metrics::Metrics;
use quire_engine::snapshots::{Codec, Writer};
use quire_engine::tables::edit::CellEdit;
use quire_engine::tables::TableVersion;
use tokio_util::sync::CancellationToken;

use super::tables::{anchor_value, best, million_row_engine, run_anchor};
use crate::report::Measure;
use crate::stats::{micros, Samples};

const SUITE: &str = "snapshots";
const ROWS: usize = 1_000_000;
const BATCH: usize = 64 * 1024;
const REPEATS: usize = 3;

fn table() -> TableVersion {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("qty", DataType::Int32, false),
        Field::new("price", DataType::Float64, false),
        Field::new("score", DataType::Float64, true),
        Field::new("city", DataType::Utf8, false),
        Field::new("note", DataType::Utf8, true),
        Field::new("code", DataType::Utf8, false),
        Field::new("paid", DataType::Boolean, false),
        Field::new(
            "at",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        Field::new("bucket", DataType::Int64, false),
    ]));
    let cities = ["Lyon", "Paris", "Nice", "Lille", "Nantes", "Brest", "Metz"];
    let batches = (0..ROWS)
        .step_by(BATCH)
        .map(|start| {
            let r = start..(start + BATCH).min(ROWS);
            let columns: Vec<ArrayRef> = vec![
                Arc::new(Int64Array::from_iter_values(r.clone().map(|i| i as i64))),
                Arc::new(Int32Array::from_iter_values(
                    r.clone().map(|i| (i % 97) as i32),
                )),
                Arc::new(Float64Array::from_iter_values(
                    r.clone().map(|i| ((i * 7919) % 100_000) as f64 / 100.0),
                )),
                Arc::new(Float64Array::from_iter(
                    r.clone().map(|i| (i % 11 != 0).then(|| (i as f64).sqrt())),
                )),
                Arc::new(StringArray::from_iter_values(
                    r.clone().map(|i| cities[i % cities.len()]),
                )),
                Arc::new(StringArray::from_iter(r.clone().map(|i| {
                    (i % 5 != 0).then(|| format!("order {} for customer {}", i, i % 4099))
                }))),
                Arc::new(StringArray::from_iter_values(
                    r.clone().map(|i| format!("C{:06}", (i * 31) % 1_000_003)),
                )),
                Arc::new(BooleanArray::from_iter(r.clone().map(|i| Some(i % 3 == 0)))),
                Arc::new(TimestampMicrosecondArray::from_iter_values(
                    r.clone()
                        .map(|i| 1_767_225_600_000_000 + i as i64 * 1_000_003),
                )),
                Arc::new(Int64Array::from_iter_values(r.map(|i| (i / 1000) as i64))),
            ];
            RecordBatch::try_new(schema.clone(), columns).expect("bench batch")
        })
        .collect();
    TableVersion::first(schema, batches)
}

fn rss_bytes() -> u64 {
    // statm's second field is resident pages; 4 KiB pages on the machines this runs on.
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn disk_speed_mb_s(dir: &Path) -> Result<f64, String> {
    let path = dir.join("raw.bin");
    let chunk = vec![0x5au8; 1 << 20];
    let ms = best(|| {
        let mut f = std::fs::File::create(&path).map_err(|e| e.to_string())?;
        for _ in 0..256 {
            f.write_all(&chunk).map_err(|e| e.to_string())?;
        }
        f.sync_all().map_err(|e| e.to_string())
    })?;
    let _ = std::fs::remove_file(&path);
    Ok(256.0 / (ms / 1000.0))
}

pub fn run() -> Result<Vec<Measure>, String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let version = table();
    let metrics = Arc::new(Metrics::default());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    // Peak memory during a save, measured first (before other writes leave freed memory in the
    // allocator): sample the resident set while one zstd snapshot runs.
    let before = rss_bytes();
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_bytes(), Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        })
    };
    let writer = Writer::new(threads, Codec::Zstd, metrics.clone()).map_err(|e| e.to_string())?;
    writer
        .write(
            tmp.path(),
            "t",
            999,
            &version,
            &|_| {},
            &CancellationToken::new(),
        )
        .map_err(|e| e.to_string())?;
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let growth_pct = (peak.load(Ordering::Relaxed).saturating_sub(before)) as f64 * 100.0
        / version.memory_bytes() as f64;

    let mut generation = 0u64;
    let mut quire = |codec: Codec| -> Result<(f64, u64), String> {
        let writer = Writer::new(threads, codec, metrics.clone()).map_err(|e| e.to_string())?;
        let mut bytes = 0;
        let ms = best(|| {
            generation += 1;
            let w = writer
                .write(
                    tmp.path(),
                    "t",
                    generation,
                    &version,
                    &|_| {},
                    &CancellationToken::new(),
                )
                .map_err(|e| e.to_string())?;
            bytes = w.bytes;
            Ok(())
        })?;
        Ok((ms, bytes))
    };
    let (snappy_ms, snappy_bytes) = quire(Codec::Snappy)?;
    let (zstd_ms, zstd_bytes) = quire(Codec::Zstd)?;

    let disk = disk_speed_mb_s(tmp.path())?;
    let quire_mb_s = snappy_bytes as f64 / 1e6 / (snappy_ms / 1000.0);

    // The same data for pyarrow, as an Arrow IPC file it reads before timing.
    let arrow_file = tmp.path().join("t.arrow");
    {
        let file = std::fs::File::create(&arrow_file).map_err(|e| e.to_string())?;
        let mut w = datafusion::arrow::ipc::writer::FileWriter::try_new(file, &version.schema)
            .map_err(|e| e.to_string())?;
        for b in version.batches.iter() {
            w.write(b).map_err(|e| e.to_string())?;
        }
        w.finish().map_err(|e| e.to_string())?;
    }
    drop(version);
    let repeats = REPEATS.to_string();
    let anchors = run_anchor(
        "snapshots.py",
        &[
            arrow_file.as_os_str(),
            tmp.path().as_os_str(),
            repeats.as_ref(),
        ],
    )?;
    let anchor = |key: &str| anchor_value(&anchors, key);

    let (idle, during) = pages_during_snapshot()?;

    Ok(vec![
        Measure::value(SUITE, "snapshot_1m_snappy_ms", snappy_ms, "ms"),
        Measure::against(
            SUITE,
            "snapshot_1m_snappy_vs_pyarrow",
            snappy_ms,
            anchor("pyarrow_snappy_ms")?,
            "ms",
        ),
        Measure::value(SUITE, "snapshot_1m_zstd_ms", zstd_ms, "ms"),
        Measure::against(
            SUITE,
            "snapshot_1m_zstd_vs_pyarrow",
            zstd_ms,
            anchor("pyarrow_zstd_ms")?,
            "ms",
        ),
        Measure::against(
            SUITE,
            "snapshot_zstd_bytes_vs_pyarrow",
            zstd_bytes as f64 / 1e6,
            anchor("pyarrow_zstd_bytes")? / 1e6,
            "MB",
        ),
        Measure::value(SUITE, "disk_seq_write_mb_s", disk, "MB/s"),
        Measure::relative(SUITE, "snapshot_vs_disk_limit", quire_mb_s, disk, "MB/s"),
        Measure::value(SUITE, "snapshot_peak_rss_growth_pct", growth_pct, "%"),
        Measure::relative(
            SUITE,
            "page_p99_during_snapshot_us",
            during.quantile(0.99),
            idle.quantile(0.99),
            "us",
        ),
    ])
}

/// Grid pages of a 1M-row table fetched idle, then while the engine snapshots it (an edit
/// and a flush on another thread), until the snapshot is committed.
fn pages_during_snapshot() -> Result<(Samples, Samples), String> {
    let (_tmp, _csv, engine, nb) = million_row_engine()?;
    let engine = Arc::new(engine);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut offsets = (0..u64::MAX).map(|i| (i * 7_919_993) % (ROWS as u64 - 200));
    let mut page = || {
        let offset = offsets.next().unwrap_or(0);
        let start = Instant::now();
        rt.block_on(engine.page(nb, "t", None, offset, 200))
            .expect("a page");
        micros(start.elapsed())
    };
    let idle = Samples::from((0..500).map(|_| page()).collect());
    let mut during = Vec::new();
    for round in 0..3 {
        engine
            .edit_cells(
                nb,
                "t",
                &[CellEdit {
                    row_id: round,
                    column: "city".into(),
                    value: Some("Quimper".into()),
                }],
            )
            .map_err(|e| e.to_string())?;
        let saving = {
            let engine = engine.clone();
            std::thread::spawn(move || engine.flush_all())
        };
        while !saving.is_finished() {
            during.push(page());
        }
        let report = saving.join().map_err(|_| "the flush panicked")?;
        if report.tables.saved != 1 {
            return Err(format!("the snapshot did not commit: {report:?}"));
        }
    }
    Ok((idle, Samples::from(during)))
}

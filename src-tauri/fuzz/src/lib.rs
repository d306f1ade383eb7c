//! What the fuzz targets share: writing the input to a file and importing it the way the app
//! does (preview, then read), under a small memory budget so a hostile file cannot make the
//! fuzzer itself run out of memory.

use std::io::Write;

use quire_engine::config::LimitsConfig;
use quire_engine::tables::import::{self, ImportFormat, OnBadRow};
use quire_engine::tables::Limits;
use tokio_util::sync::CancellationToken;

/// Limits for everything a target builds: 32 MiB per table, a 64 MiB query pool.
pub fn limits() -> &'static Limits {
    static LIMITS: std::sync::OnceLock<Limits> = std::sync::OnceLock::new();
    LIMITS.get_or_init(|| {
        let config = LimitsConfig {
            query_memory_mb: 64,
            table_memory_mb: 32,
            spill_disk_mb: 0,
            ..Default::default()
        };
        Limits::new(&config, None).expect("limits")
    })
}

/// The Parquet importer contains panics of the parquet and arrow crates on corrupt files (it
/// refuses the file instead), as the app does. libFuzzer's hook would abort on the panic
/// before it is contained, so this target puts Rust's default hook back: a panic that escapes
/// the importer still aborts (libfuzzer-sys aborts on any unwind out of the target).
pub fn contain_decoder_panics() {
    let _ = std::panic::take_hook();
}

/// Previews and imports `data` as a file of `format`. Errors are fine (typed, for the user);
/// a panic, a hang or a crash is what the fuzzer is looking for.
pub fn import(format: ImportFormat, extension: &str, data: &[u8]) {
    let mut file = tempfile::Builder::new()
        .suffix(extension)
        .tempfile()
        .expect("temp file");
    file.write_all(data).expect("write");
    let path = file.path();
    let cancel = CancellationToken::new();
    let Ok(preview) = import::preview(path, Some(format)) else {
        // What the preview refuses, a read must refuse too (or read), never panic.
        let budget = limits().budget("the file");
        let _ = import::read(path, Some(format), None, &|_| {}, &cancel, &budget);
        return;
    };
    let budget = limits().budget("the file");
    let read = match &preview.sheet {
        Some(sheet) => import::read_sheet(path, sheet, &|_| {}, &cancel, &budget),
        None => import::read(path, Some(format), preview.csv.as_ref(), &|_| {}, &cancel, &budget),
    };
    if let Ok(imported) = &read {
        for batch in &imported.batches {
            assert_eq!(batch.schema(), imported.schema, "every batch has the table's schema");
        }
    }
    // Skip mode is what the dialog offers when a file is refused: tried on those files.
    if read.is_ok() {
        return;
    }
    if let Some(mut csv) = preview.csv {
        csv.on_bad_row = OnBadRow::Skip;
        let budget = limits().budget("the file");
        let _ = import::read(path, Some(format), Some(&csv), &|_| {}, &cancel, &budget);
    }
}

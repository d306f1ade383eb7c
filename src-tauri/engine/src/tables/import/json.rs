//! JSON: newline-delimited objects (NDJSON) stream in batches, and so do the objects of a file
//! holding one top-level array of them (parsed one at a time, never the array whole).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute::{cast_with_options, CastOptions};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::json::reader::infer_json_schema_from_iterator;
use datafusion::arrow::json::reader::Decoder;
use datafusion::arrow::json::ReaderBuilder;
use datafusion::arrow::record_batch::RecordBatch;

use super::json_dates::Dates;
use super::{
    preview_rows, ColumnSpec, Counting, ImportFormat, ImportPreview, ImportProgress, Imported,
    Reading, BATCH_ROWS,
};
use crate::tables::TableError;
use tokio_util::sync::CancellationToken;

/// Records read to infer the schema of NDJSON.
const INFER_RECORDS: usize = 10_000;

fn bad_json(e: impl std::fmt::Display) -> TableError {
    let message = e.to_string();
    // Arrow names its error kinds ("Json error: …"); the user needs only what follows.
    let message = [
        "Json error: ",
        "Cast error: ",
        "Parser error: ",
        "External error: ",
    ]
    .iter()
    .find_map(|kind| message.strip_prefix(kind))
    .map_or(message.clone(), str::to_string);
    TableError::Import {
        line: line_of(&message),
        message: format!("the JSON cannot be read: {message}"),
    }
}

/// The line a reader's message names: where serde_json puts it ("… at line 5 column 3", at
/// the end) or where the full read of the records does ("line 12: …", at the start); never
/// from a value quoted in the message ("cannot cast 'met at line 5' …").
fn line_of(message: &str) -> Option<u64> {
    let number = |digits: &str| digits.parse::<u64>().ok();
    if let Some(rest) = message.strip_prefix("line ") {
        return rest.split_once(':').and_then(|(n, _)| number(n));
    }
    let (_, tail) = message.rsplit_once(" at line ")?;
    let (n, column) = tail.split_once(" column ")?;
    column.bytes().all(|b| b.is_ascii_digit()).then_some(())?;
    number(n)
}

/// Whether the first non-blank byte opens an array.
fn is_array(path: &Path) -> Result<bool, TableError> {
    let mut head = [0u8; 4096];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| TableError::file(path, e))?;
    Ok(opens_array(&head[..n]))
}

/// Whether text (a byte-order mark allowed) opens with an array.
pub(super) fn opens_array(head: &[u8]) -> bool {
    // A byte-order mark (UTF-8 or UTF-16) and UTF-16's NUL halves are not content.
    let head = head
        .strip_prefix(b"\xef\xbb\xbf")
        .or_else(|| head.strip_prefix(b"\xff\xfe"))
        .or_else(|| head.strip_prefix(b"\xfe\xff"))
        .unwrap_or(head);
    head.iter().find(|b| **b != 0 && !b.is_ascii_whitespace()) == Some(&b'[')
}

/// How a JSON file holds its records.
#[derive(Clone, Copy)]
enum Layout {
    /// One per line (NDJSON).
    Lines,
    /// One top-level array of them.
    Array,
}

impl Layout {
    fn of(path: &Path) -> Result<Layout, TableError> {
        Ok(if is_array(path)? {
            Layout::Array
        } else {
            Layout::Lines
        })
    }
}

/// The objects of a JSON array, each as its own text, as they are parsed: serde_json would
/// parse the array whole, at several times the file's size in memory, so a thread of its own
/// parses one object at a time and hands it over, a few at most waiting. It stops once the
/// iterator is dropped. `read` counts the bytes read (for progress).
///
/// The text, not a parsed value, goes on to arrow's reader, so an array is read exactly as
/// NDJSON is: a number in a text column keeps the file's digits (`1.50`, not `1.5`), a whole
/// number past 64 bits is not rounded to a double on the way.
fn array_records(path: &Path, read: Option<Arc<AtomicU64>>) -> Result<ArrayRecords, TableError> {
    let file = File::open(path).map_err(|e| TableError::file(path, e))?;
    let path = path.to_path_buf();
    let (records, received) = std::sync::mpsc::sync_channel(256);
    let parse = move || {
        let bytes = read.unwrap_or_default();
        let input = BufReader::with_capacity(1 << 20, Counting { inner: file, bytes });
        let mut parser = serde_json::Deserializer::from_reader(input);
        let mut objects = Objects {
            records: &records,
            seen: 0,
        };
        let parsed = serde::Deserializer::deserialize_seq(&mut parser, &mut objects)
            .and_then(|stopped| if stopped { Ok(()) } else { parser.end() });
        if let Err(e) = parsed {
            let message = match e.is_data() {
                // serde_json's place is past the element by now: found again where it starts.
                true => not_an_object_where(&path, objects.seen).unwrap_or(e.to_string()),
                false => e.to_string(),
            };
            // Nobody listens any more when the reader stopped early.
            let _ = records.send(Err(unparsable(message)));
        }
    };
    let parser = std::thread::Builder::new()
        .name("quire-json-array".into())
        .spawn(parse)
        .map_err(|e| TableError::Import {
            line: None,
            message: format!("the JSON array cannot be read: no thread to parse it ({e})"),
        })?;
    Ok(ArrayRecords {
        received,
        parser: Some(parser),
    })
}

type RawObject = Box<serde_json::value::RawValue>;

/// The objects [`array_records`] parses, in order; the end of the array once its thread is
/// done, or an error if that thread stopped short (a panic must not look like the end).
struct ArrayRecords {
    received: std::sync::mpsc::Receiver<Result<RawObject, ArrowError>>,
    parser: Option<std::thread::JoinHandle<()>>,
}

impl Iterator for ArrayRecords {
    type Item = Result<RawObject, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.received.recv() {
            Ok(record) => Some(record),
            Err(_) => match self.parser.take()?.join() {
                Ok(()) => None,
                Err(_) => Some(Err(unparsable(
                    "the JSON array's reader stopped unexpectedly".into(),
                ))),
            },
        }
    }
}

/// What makes a file unreadable whatever its columns (its text is not JSON, an element is not
/// an object): reading every record for the columns would stop at the same place.
#[derive(Debug)]
struct Unparsable(String);

impl std::fmt::Display for Unparsable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unparsable {}

fn unparsable(message: String) -> ArrowError {
    ArrowError::ExternalError(Box::new(Unparsable(message)))
}

/// Hands each object of an array over; `true` once nobody takes them any more. An element
/// that is not an object is refused; `seen` counts the objects before it.
struct Objects<'a> {
    records: &'a std::sync::mpsc::SyncSender<Result<RawObject, ArrowError>>,
    seen: usize,
}

impl<'de> serde::de::Visitor<'de> for &mut Objects<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of objects, one per row")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while let Some(record) = seq.next_element::<RawObject>()? {
            if let Some(other) = not_an_object(record.get()) {
                return Err(serde::de::Error::invalid_type(other, &Object));
            }
            if self.records.send(Ok(record)).is_err() {
                return Ok(true);
            }
            self.seen += 1;
        }
        Ok(false)
    }
}

/// serde_json's words for element `index` of the array at `path`, which is not an object,
/// with the line where it starts: the file parsed again up to it (only to tell the error).
fn not_an_object_where(path: &Path, index: usize) -> Option<String> {
    struct Skip(usize);
    impl<'de> serde::de::Visitor<'de> for Skip {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an array of objects, one per row")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            for _ in 0..self.0 {
                seq.next_element::<serde::de::IgnoredAny>()?;
            }
            seq.next_element_seed(Object)?;
            Ok(())
        }
    }
    let input = BufReader::with_capacity(1 << 20, File::open(path).ok()?);
    let mut parser = serde_json::Deserializer::from_reader(input);
    serde::Deserializer::deserialize_seq(&mut parser, Skip(index))
        .err()
        .map(|e| e.to_string())
}

/// One element of the array, which must be an object: anything else is refused where it is
/// (serde_json names the line of the value, not of what follows it).
struct Object;

impl<'de> serde::de::DeserializeSeed<'de> for Object {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Object {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object (the array must hold one per row)")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(())
    }
}

/// What an element of the array is when it is not an object, by its first character (the
/// text is JSON: serde_json has parsed it).
fn not_an_object(text: &str) -> Option<serde::de::Unexpected<'static>> {
    use serde::de::Unexpected;
    Some(match text.trim_start().bytes().next()? {
        b'{' => return None,
        b'[' => Unexpected::Seq,
        b'"' => Unexpected::Other("text"),
        b't' | b'f' => Unexpected::Other("true or false"),
        b'n' => Unexpected::Unit,
        _ => Unexpected::Other("a number"),
    })
}

/// `record`'s text parsed, for what needs a value (the columns' inference).
fn parsed(record: Result<RawObject, ArrowError>) -> Result<serde_json::Value, ArrowError> {
    serde_json::from_str(record?.get()).map_err(|e| unparsable(e.to_string()))
}

/// Feeds each object's text to `decoder`, flushing a batch every `rows` objects, and once at
/// the end. Each object is dropped once decoded: parsed objects take several times their text.
fn decoded(
    mut records: impl Iterator<Item = Result<RawObject, ArrowError>>,
    mut decoder: Decoder,
    rows: usize,
) -> impl Iterator<Item = Result<RecordBatch, ArrowError>> {
    std::iter::from_fn(move || loop {
        match records.next() {
            Some(Ok(record)) => {
                let text = record.get().as_bytes();
                // The decoder takes a whole object at once: it is flushed before it is full.
                match decoder.decode(text) {
                    Ok(n) if n == text.len() => {}
                    Ok(_) => {
                        return Some(Err(unparsable(
                            "the JSON array's reader stopped inside an object".into(),
                        )))
                    }
                    Err(e) => return Some(Err(e)),
                }
                if decoder.len() >= rows {
                    return decoder.flush().transpose();
                }
            }
            Some(Err(e)) => return Some(Err(e)),
            None => return decoder.flush().transpose(),
        }
    })
}

/// The records of a file as they are parsed, Cancel heard between them.
fn every_record<'a>(
    path: &Path,
    layout: Layout,
    cancel: &'a CancellationToken,
) -> Result<Box<dyn Iterator<Item = Result<serde_json::Value, ArrowError>> + 'a>, TableError> {
    Ok(match layout {
        Layout::Lines => Box::new(records(path, cancel)?),
        Layout::Array => {
            let mut n = 0usize;
            Box::new(array_records(path, None)?.map(move |record| {
                n += 1;
                if n.is_multiple_of(4096) && cancel.is_cancelled() {
                    return Err(ArrowError::ExternalError("cancelled".into()));
                }
                parsed(record)
            }))
        }
    })
}

/// The columns the first 10,000 records show.
fn infer(path: &Path, layout: Layout) -> Result<SchemaRef, TableError> {
    let never = CancellationToken::new();
    let first = every_record(path, layout, &never)?.take(INFER_RECORDS);
    Ok(Arc::new(not_maps(with_dates(first).map_err(bad_json)?)?))
}

/// The columns `records` show, text fields of ISO dates typed as dates (see [`Dates`]).
fn with_dates(
    records: impl Iterator<Item = Result<serde_json::Value, ArrowError>>,
) -> Result<Schema, ArrowError> {
    let mut dates = Dates::default();
    let schema = infer_json_schema_from_iterator(records.inspect(|record| {
        if let Ok(record) = record {
            dates.see(record);
        }
    }))?;
    Ok(dates.typed(schema))
}

/// The records of an NDJSON file, one per line that is not blank, parsed; one that is not
/// JSON names its line in the file (arrow's own schema reader parses each line on its own, so
/// serde_json would say "line 1" of every one). Cancel is heard between records.
fn records<'a>(
    path: &Path,
    cancel: &'a CancellationToken,
) -> Result<impl Iterator<Item = Result<serde_json::Value, ArrowError>> + 'a, TableError> {
    let file = File::open(path).map_err(|e| TableError::file(path, e))?;
    let mut lines = BufReader::with_capacity(1 << 20, file).lines().enumerate();
    Ok(std::iter::from_fn(move || loop {
        let (n, line) = lines.next()?;
        if n % 4096 == 0 && cancel.is_cancelled() {
            return Some(Err(ArrowError::ExternalError("cancelled".into())));
        }
        let line = match line {
            Ok(line) => line,
            Err(e) => return Some(Err(ArrowError::from(e))),
        };
        if line.trim().is_empty() {
            continue;
        }
        return Some(
            serde_json::from_str::<serde_json::Value>(&line).map_err(|e| {
                // serde_json counts lines within the one record: only its column is said.
                let text = e.to_string();
                let place = format!(" at line {} column {}", e.line(), e.column());
                let text = text
                    .strip_suffix(&place)
                    .map_or(text.clone(), |t| format!("{t} at column {}", e.column()));
                ArrowError::JsonError(format!("line {}: {text}", n + 1))
            }),
        );
    }))
}

/// `schema`, refused past [`MAX_JSON_COLUMNS`] columns.
fn not_maps(schema: Schema) -> Result<Schema, TableError> {
    if count_columns(schema.fields()) > MAX_JSON_COLUMNS {
        return Err(TableError::Import {
            line: None,
            message: format!(
                "the records hold more than {MAX_JSON_COLUMNS} different fields (counting the \
                 keys of their objects): objects keyed by ids or names are maps, which Quire \
                 cannot read as columns"
            ),
        });
    }
    Ok(schema)
}

/// The file's columns as its first 10,000 records show them.
pub fn columns(path: &Path) -> Result<SchemaRef, TableError> {
    infer(path, Layout::of(path)?)
}

/// The columns of many JSON files read as one table: every file's, in the order they first
/// appear, each as wide as every file needs (a whole number where another file has decimals is
/// a number; a column that is a number in one file and text, or true/false, in another is
/// text; objects merge key by key and lists item by item, by the same rules; a column no file
/// gave a value in the records read is text); every column may be empty, since a file may lack
/// it. A column that holds objects or lists in one file and something else in another is
/// refused, naming both files.
pub fn widen(files: &[(&str, SchemaRef)]) -> Result<SchemaRef, TableError> {
    // (name, type, the file that last set its type)
    let mut columns: Vec<(String, DataType, &str)> = Vec::new();
    for (file, schema) in files {
        for field in schema.fields() {
            let t = field.data_type();
            match columns.iter_mut().find(|(name, _, _)| name == field.name()) {
                None => columns.push((field.name().clone(), t.clone(), *file)),
                Some((_, seen, _)) if seen == t => {}
                Some((name, seen, from)) => match merged(seen, t) {
                    Some(wider) => {
                        if wider != *seen {
                            *from = *file;
                        }
                        *seen = wider;
                    }
                    None => {
                        return Err(TableError::Import {
                            line: None,
                            message: format!(
                                "column {name} holds {} in {from} and {} in {file}; the files \
                                 cannot be one table",
                                kind(seen),
                                kind(t)
                            ),
                        })
                    }
                },
            }
        }
    }
    Ok(Arc::new(not_maps(Schema::new(
        columns
            .into_iter()
            .map(|(name, t, _)| Field::new(name, without_null(&t), true))
            .collect::<Vec<_>>(),
    ))?))
}

fn scalar(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int64
            | DataType::Float64
            | DataType::Boolean
            | DataType::Utf8
            | DataType::Date32
            | DataType::Timestamp(_, _)
    )
}

/// The type that holds values of both `a` and `b` as arrow-json reads them; None when there is
/// none (an object against a list or a scalar).
fn merged(a: &DataType, b: &DataType) -> Option<DataType> {
    Some(match (a, b) {
        (a, b) if a == b => a.clone(),
        (DataType::Null, t) | (t, DataType::Null) => t.clone(),
        (DataType::Int64, DataType::Float64) | (DataType::Float64, DataType::Int64) => {
            DataType::Float64
        }
        (a, b) if scalar(a) && scalar(b) => DataType::Utf8,
        (DataType::List(x), DataType::List(y)) => {
            let item = merged(x.data_type(), y.data_type())?;
            DataType::List(Arc::new(Field::new(x.name(), item, true)))
        }
        (DataType::Struct(x), DataType::Struct(y)) => {
            let mut fields: Vec<Field> = Vec::new();
            for f in x.iter().chain(y.iter()) {
                match fields.iter_mut().find(|g| g.name() == f.name()) {
                    None => fields.push(f.as_ref().clone().with_nullable(true)),
                    Some(g) => {
                        let t = merged(g.data_type(), f.data_type())?;
                        *g = Field::new(f.name(), t, true);
                    }
                }
            }
            DataType::Struct(fields.into())
        }
        _ => return None,
    })
}

/// `t` with text where no record read gave a value (a column, list item or object key only
/// ever empty): a value past the records read is then kept as text, not refused.
fn without_null(t: &DataType) -> DataType {
    match t {
        DataType::Null => DataType::Utf8,
        DataType::List(item) => DataType::List(Arc::new(Field::new(
            item.name(),
            without_null(item.data_type()),
            true,
        ))),
        DataType::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .map(|f| Field::new(f.name(), without_null(f.data_type()), true))
                .collect::<Vec<_>>()
                .into(),
        ),
        other => other.clone(),
    }
}

/// What a column holds, in words.
fn kind(t: &DataType) -> &'static str {
    match t {
        DataType::Int64 => "whole numbers",
        DataType::Float64 => "numbers",
        DataType::Boolean => "true or false",
        DataType::Utf8 => "text",
        DataType::Date32 => "dates",
        DataType::Timestamp(_, _) => "dates and times",
        DataType::List(_) | DataType::LargeList(_) => "lists",
        DataType::Struct(_) => "objects",
        _ => "other values",
    }
}

pub fn preview(path: &Path, file_bytes: u64) -> Result<ImportPreview, TableError> {
    let layout = Layout::of(path)?;
    let schema = infer(path, layout)?;
    let first = match layout {
        Layout::Lines => {
            let file = BufReader::new(File::open(path).map_err(|e| TableError::file(path, e))?);
            // Coercing: a number in a text column (the records mix them) is its text.
            let mut reader = ReaderBuilder::new(schema.clone())
                .with_coerce_primitive(true)
                .with_batch_size(super::PREVIEW_ROWS)
                .build(file)
                .map_err(bad_json)?;
            reader.next().transpose().map_err(bad_json)?
        }
        Layout::Array => {
            let decoder = ReaderBuilder::new(schema.clone())
                .with_coerce_primitive(true)
                .with_batch_size(super::PREVIEW_ROWS)
                .build_decoder()
                .map_err(bad_json)?;
            let first = array_records(path, None)?.take(super::PREVIEW_ROWS);
            decoded(first, decoder, super::PREVIEW_ROWS)
                .next()
                .transpose()
                .map_err(bad_json)?
        }
    };
    let batches: Vec<RecordBatch> = first.into_iter().collect();
    Ok(ImportPreview {
        format: ImportFormat::Json,
        csv: None,
        sheet: None,
        columns: ColumnSpec::all(&schema),
        data_types: super::data_types(&schema),
        rows: preview_rows(&batches),
        layout_doubts: Vec::new(),
        file_bytes,
        skipped_lines: Vec::new(),
        problem: None,
    })
}

/// Reads the file with the columns `given` (None: as its records show them).
pub fn read(
    path: &Path,
    given: Option<&SchemaRef>,
    read: &Reading,
) -> Result<Imported, TableError> {
    let progress = read.progress;
    let layout = Layout::of(path)?;
    let first = match given {
        Some(schema) => schema.clone(),
        None => infer(path, layout)?,
    };
    // The bar never goes back, though the file may be read again with wider columns.
    let high = AtomicU64::new(0);
    let forward = |p: ImportProgress| {
        if p.bytes >= high.fetch_max(p.bytes, Ordering::Relaxed) {
            progress(p);
        }
    };
    let read = &Reading {
        progress: &forward,
        ..*read
    };
    match read_records(path, layout, &first, read) {
        Err(Stop::Misfit(why)) => {
            // The columns came from the first 10,000 records (or, for many files, every file's
            // first ones); a later record holds a field they lack or a value they cannot hold.
            // Every record is read for the columns, and the file read again with them.
            log::info!(
                "JSON import: a record past those the columns came from does not fit them \
                 ({why}); reading every record for the columns"
            );
            read.budget.dropped();
            let every = every_records_columns(path, layout, read.cancel)?;
            let wide = match given {
                None => every,
                Some(given) => widen(&[("the other files", given.clone()), ("this file", every)])?,
            };
            if wide.fields() == first.fields() {
                // Every record shows the same columns: the value itself cannot be read.
                return Err(why);
            }
            read_records(path, layout, &wide, read).map_err(Stop::into_error)
        }
        done => done.map_err(Stop::into_error),
    }
}

/// The most columns (counting the fields of objects, at any depth) the records of one JSON
/// file may make: past it, objects are maps (a key per id), not columns.
const MAX_JSON_COLUMNS: usize = 10_000;

fn count_columns(fields: &datafusion::arrow::datatypes::Fields) -> usize {
    fields
        .iter()
        .map(|f| {
            1 + match f.data_type() {
                DataType::Struct(inner) => count_columns(inner),
                DataType::List(item) => match item.data_type() {
                    DataType::Struct(inner) => count_columns(inner),
                    _ => 0,
                },
                _ => 0,
            }
        })
        .sum()
}

/// Why a read of NDJSON records stopped.
enum Stop {
    /// A record the columns cannot hold: a field they lack, a decimal in a whole-number
    /// column, text in a number column, anything JSON cannot parse.
    Misfit(TableError),
    Failed(TableError),
}

impl Stop {
    fn into_error(self) -> TableError {
        match self {
            Stop::Misfit(e) | Stop::Failed(e) => e,
        }
    }
}

/// Reads every record with the columns `schema`, refusing (not dropping, not cutting) what
/// they cannot hold: arrow-json ignores a field the columns lack and cuts a decimal read
/// into a whole-number column to its whole part, so fields are checked strictly and whole
/// numbers are read as their text, then cast, which a decimal fails.
fn read_records(
    path: &Path,
    layout: Layout,
    schema: &SchemaRef,
    read: &Reading,
) -> Result<Imported, Stop> {
    let &Reading {
        total_bytes,
        progress,
        cancel,
        sink,
        ..
    } = read;
    let failed = |e| Stop::Failed(e);
    let misfit = |e: ArrowError| match e {
        ArrowError::IoError(_, io) => Stop::Failed(TableError::file(path, io)),
        ArrowError::ExternalError(e) if e.is::<Unparsable>() => Stop::Failed(bad_json(e)),
        e => Stop::Misfit(bad_json(e)),
    };
    let as_read = Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| {
                f.as_ref()
                    .clone()
                    .with_data_type(whole_numbers_as_text(f.data_type()))
            })
            .collect::<Vec<_>>(),
    ));
    let bytes = Arc::new(AtomicU64::new(0));
    // Coercing takes a number or true/false into a text column as its text (columns widened
    // over several files).
    let strict = ReaderBuilder::new(as_read)
        .with_coerce_primitive(true)
        .with_strict_mode(true)
        .with_batch_size(BATCH_ROWS);
    let batches: Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>>> = match layout {
        Layout::Lines => {
            let file = File::open(path).map_err(|e| failed(TableError::file(path, e)))?;
            let counting: Box<dyn BufRead> = Box::new(BufReader::with_capacity(
                1 << 20,
                Counting {
                    inner: file,
                    bytes: bytes.clone(),
                },
            ));
            Box::new(strict.build(counting).map_err(|e| failed(bad_json(e)))?)
        }
        Layout::Array => {
            let decoder = strict.build_decoder().map_err(|e| failed(bad_json(e)))?;
            let records = array_records(path, Some(bytes.clone())).map_err(failed)?;
            Box::new(decoded(records, decoder, BATCH_ROWS))
        }
    };
    let mut out = sink.open(0, schema).map_err(failed)?;
    let mut rows = 0u64;
    for batch in batches {
        if cancel.is_cancelled() {
            return Err(failed(TableError::Cancelled));
        }
        let batch = typed(batch.map_err(misfit)?, schema).map_err(misfit)?;
        rows += batch.num_rows() as u64;
        out.push(batch).map_err(failed)?;
        progress(ImportProgress {
            rows,
            bytes: bytes.load(Ordering::Relaxed).min(total_bytes),
            total_bytes,
        });
    }
    Ok(Imported::complete(
        schema.clone(),
        out.finish().map_err(failed)?,
        rows,
        (Vec::new(), 0),
        total_bytes,
        progress,
    ))
}

/// `t` with whole numbers read as their text (at any depth), and dates and date-times (typed
/// at the top level only, see [`Dates`]) too: [`typed`] checks them before they are cast.
fn whole_numbers_as_text(t: &DataType) -> DataType {
    match t {
        DataType::Int64 | DataType::Date32 | DataType::Timestamp(_, _) => DataType::Utf8,
        DataType::List(item) => DataType::List(Arc::new(
            item.as_ref()
                .clone()
                .with_data_type(whole_numbers_as_text(item.data_type())),
        )),
        DataType::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .map(|f| {
                    f.as_ref()
                        .clone()
                        .with_data_type(whole_numbers_as_text(f.data_type()))
                })
                .collect::<Vec<_>>()
                .into(),
        ),
        other => other.clone(),
    }
}

/// `batch` (read by [`whole_numbers_as_text`]) with the types of `schema`; a value that is
/// not a whole number, or not a date as the column's others are, where one is expected is an
/// error, not cut short.
fn typed(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, ArrowError> {
    let strict = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    let columns = (batch.columns().iter())
        .zip(schema.fields())
        .map(
            |(column, field)| match column.data_type() == field.data_type() {
                true => Ok(column.clone()),
                false
                    if column.as_string_opt::<i32>().is_some_and(|texts| {
                        !super::json_dates::fits(texts, field.data_type())
                    }) =>
                {
                    Err(ArrowError::JsonError(format!(
                        "field {} holds a value that is not one of its {}",
                        field.name(),
                        kind(field.data_type())
                    )))
                }
                false => cast_with_options(column, field.data_type(), &strict).map_err(|e| {
                    // Arrow says "Cannot cast string '…' to value of Int64 type": the value, quoted.
                    let text = e.to_string();
                    let value = text
                        .split_once('\'')
                        .and_then(|(_, rest)| rest.rsplit_once('\''))
                        .map(|(value, _)| format!(" {value}"))
                        .unwrap_or_default();
                    ArrowError::JsonError(format!(
                        "field {} holds{value}, which is not one of its {}",
                        field.name(),
                        kind(field.data_type())
                    ))
                }),
            },
        )
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), columns)
}

/// The columns every record of the file shows, read to its end (Cancel heard between records).
fn every_records_columns(
    path: &Path,
    layout: Layout,
    cancel: &CancellationToken,
) -> Result<SchemaRef, TableError> {
    let schema = with_dates(every_record(path, layout, cancel)?);
    if cancel.is_cancelled() {
        return Err(TableError::Cancelled);
    }
    Ok(Arc::new(not_maps(schema.map_err(bad_json)?)?))
}

#[cfg(test)]
mod line_tests {
    use super::line_of;

    #[test]
    fn a_line_comes_from_where_the_reader_puts_it_never_from_a_quoted_value() {
        assert_eq!(line_of("expected value at line 5 column 3"), Some(5));
        assert_eq!(line_of("line 12: whilst decoding field 'x'"), Some(12));
        // serde_json's place after a value that reads like one.
        assert_eq!(
            line_of(
                "invalid type: string \"met at line 7 column 2\", expected f64 at line 9 column 14"
            ),
            Some(9)
        );
        // A quoted value alone names no line.
        assert_eq!(
            line_of("Cannot cast string 'met at line 5' to value of Int64 type"),
            None
        );
        assert_eq!(
            line_of("Cannot cast string 'met at line 5 column x' to Int64"),
            None
        );
        assert_eq!(line_of("the field 'line 3' is not a column"), None);
    }
}

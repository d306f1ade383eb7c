//! One table converted from many CSV or JSON files: the part files a job wrote into a folder
//! (or under a prefix of a bucket, fetched first). Each file is converted as `convert.rs`
//! converts one, into a folder of parts of its own (`converted/<id>/<n>/`, so a rerun after a
//! crash resumes each), the later ones read with the columns the first one got (JSON files:
//! every file's columns, each as wide as any file needs); then the whole folder is linked, in
//! file order.

use std::path::{Path, PathBuf};

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use tokio_util::sync::CancellationToken;

use super::files::Importer;
use super::ImportOutcome;
use crate::error::Error;
use crate::notebooks::NotebookId;
use crate::tables::import::{
    self, ColumnSpec, ColumnType, CsvChoices, CsvOptions, ImportFormat, ImportProgress,
};
use crate::tables::{LinkedTable, TableError};

/// One of the files.
#[derive(Debug, Clone)]
pub(super) struct Piece {
    /// How the user knows it (its address, its path), for messages.
    pub label: String,
    pub path: PathBuf,
    pub size: u64,
    pub format: ImportFormat,
}

/// Refuses a set of files that cannot make one table: none, or of two kinds.
pub(super) fn one_kind<'a>(
    source: &str,
    mut files: impl Iterator<Item = (&'a str, ImportFormat)>,
) -> Result<(), Error> {
    let Some((first, kind)) = files.next() else {
        return Err(TableError::Import {
            line: None,
            message: format!(
                "there are no CSV or JSON files in {source}; Quire converts those, and links Parquet where it lies"
            ),
        }
        .into());
    };
    if let Some((other, other_kind)) = files.find(|(_, k)| *k != kind) {
        return Err(TableError::Import {
            line: None,
            message: format!(
                "{first} is {} and {other} is {}: one table is read from files of one kind; a pattern such as *.csv picks them",
                kind_of(kind),
                kind_of(other_kind),
            ),
        }
        .into());
    }
    Ok(())
}

/// The files of one table, and where it goes.
pub(super) struct ManyFiles<'a> {
    /// Where they are (a folder, an address), for messages.
    pub source: &'a str,
    pub table: &'a str,
    /// The user's CSV options; None: the first file's, as the import dialog proposes them.
    pub csv: Option<&'a CsvOptions>,
    /// The user's choices for every file read with its own options (not `csv`'s).
    pub choices: Option<&'a CsvChoices>,
    pub pieces: &'a [Piece],
    /// The conversion's folder in the notebook's `converted/`.
    pub folder: &'a Path,
}

impl ManyFiles<'_> {
    /// Converts every file and links the folder as the table; `progress` hears the rows read
    /// and the bytes of the files converted so far. On failure the caller removes the folder
    /// (unless Quire is closing: then a rerun resumes it).
    pub fn convert_and_link(
        &self,
        importer: &Importer<'_>,
        notebook: NotebookId,
        dir: &Path,
        progress: &(dyn Fn(u64, u64) + Sync),
        cancel: &CancellationToken,
    ) -> Result<ImportOutcome, Error> {
        let &Importer {
            notebooks,
            ledger,
            metrics,
            ..
        } = importer;
        let first = self.pieces.first().ok_or_else(|| TableError::Import {
            line: None,
            message: format!("there are no files to convert in {}", self.source),
        })?;
        let table = crate::tables::name::validate(self.table)?;
        ledger.ensure_loaded(notebook, Some(dir), metrics)?;
        if ledger.exists(notebook, &table) {
            return Err(TableError::Exists(table).into());
        }
        notebooks.flush(notebook)?;
        clear_beyond(self.folder, self.pieces.len());
        // Every CSV file's header and first rows, read now: each later header must name the
        // first one's columns (before anything is converted), their rows widen its types,
        // and each file keeps its own dialect (delimiter, encoding, decimal separator).
        let heads = match first.format {
            ImportFormat::Csv => {
                let heads = self
                    .pieces
                    .iter()
                    .map(|p| proposed(&p.path, self.choices).map_err(|e| in_file(e, &p.label)))
                    .collect::<Result<Vec<_>, _>>()?;
                let named = |c: &[ColumnSpec]| c.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
                for (piece, head) in self.pieces.iter().zip(&heads).skip(1) {
                    if named(&head.columns) != named(&heads[0].columns) {
                        return Err(other_columns(
                            piece,
                            first,
                            &named(&head.columns).join(", "),
                            &named(&heads[0].columns).join(", "),
                        ));
                    }
                }
                heads
            }
            _ => Vec::new(),
        };
        // Every JSON file's columns, read now: the table has them all, each as wide as any
        // file needs, and every file is read with them.
        let mut json = match first.format {
            ImportFormat::Json => {
                let limits = ledger.catalog().limits();
                let found = (self.pieces.iter())
                    .map(|p| {
                        // Given back once read: a file's array is held only while it is.
                        let budget = limits.budget(format!("the file {}", p.label));
                        import::json_columns(&p.path, &budget, cancel)
                            .map(|columns| (p.label.as_str(), columns))
                            .map_err(|e| in_file(e.into(), &p.label))
                    })
                    .collect::<Result<Vec<_>, Error>>()?;
                Some(import::widen_json(&found)?)
            }
            _ => None,
        };
        // The bar never goes back, though a file may be read again with wider columns.
        let high = std::sync::Mutex::new((0u64, 0u64));
        let report = |rows: u64, bytes: u64| {
            let mut high = high.lock().unwrap_or_else(|p| p.into_inner());
            *high = (high.0.max(rows), high.1.max(bytes));
            progress(high.0, high.1);
        };
        // A rerun starts from the columns its first run fixed for the same first file (so the
        // parts it wrote are kept), if they still name its header's columns; the later files'
        // first rows widen them as they would a first run's.
        let mut fixed = match (first.format, heads.first()) {
            (ImportFormat::Csv, Some(head)) => {
                super::convert::planned_columns(&self.folder.join(part_folder(0)), &first.path)
                    .filter(|planned| {
                        planned
                            .iter()
                            .map(|c| &c.name)
                            .eq(head.columns.iter().map(|c| &c.name))
                    })
                    .map(|planned| widened(&planned, &heads.iter().skip(1).collect::<Vec<_>>()))
            }
            _ => None,
        };
        let mut attempts = 0;
        let (rows, skipped, skipped_total) = loop {
            attempts += 1;
            let attempt = self.convert_all(
                importer,
                &heads,
                json.as_ref(),
                fixed.clone(),
                &report,
                cancel,
            );
            match attempt {
                Ok(done) => break done,
                // A file needed wider columns than its first rows showed: every file is read
                // again with them (what they share is kept: each file's plan says).
                Err(Attempt::Widen(wider)) if attempts < 4 => fixed = Some(wider),
                // A JSON file's records past its first held more: every file is read again
                // with the columns widened by all of them.
                Err(Attempt::WidenJson(wider)) if attempts < 4 => json = Some(wider),
                Err(Attempt::Widen(_) | Attempt::WidenJson(_)) => {
                    return Err(TableError::Import {
                        line: None,
                        message: format!(
                            "the files of {} do not settle on one type per column",
                            self.source
                        ),
                    }
                    .into())
                }
                Err(Attempt::Failed(e)) => return Err(e),
            }
        };
        let mut linked = LinkedTable::open(self.folder)?;
        linked.converted = true;
        linked.origin = Some(self.source.to_string());
        let info = ledger.link(notebook, dir, &table, linked, metrics)?;
        log::info!(
            "converted {} files of {} ({rows} rows read, {attempts} pass{}) as the linked table {table} of notebook {notebook}: {} rows, {skipped_total} skipped",
            self.pieces.len(),
            self.source,
            if attempts == 1 { "" } else { "es" },
            info.rows
        );
        Ok(ImportOutcome {
            table: info,
            skipped,
            skipped_total,
        })
    }
}

/// Why reading every file stopped.
enum Attempt {
    /// A file needs these wider columns: read every file again with them.
    Widen(Vec<ColumnSpec>),
    /// A JSON file needs these wider columns: read every file again with them.
    WidenJson(SchemaRef),
    Failed(Error),
}

impl From<Error> for Attempt {
    fn from(e: Error) -> Attempt {
        Attempt::Failed(e)
    }
}

/// The folder of file `k`'s parts in the conversion's folder (names that sort in file order).
fn part_folder(k: usize) -> String {
    format!("{k:06}")
}

impl ManyFiles<'_> {
    /// Converts every file with the columns `fixed` (CSV; None: the first file's own,
    /// widened by the later files' first rows) or `json` (JSON: every file's, widened); the
    /// rows read, the rows skipped.
    fn convert_all(
        &self,
        importer: &Importer<'_>,
        heads: &[import::ImportPreview],
        json: Option<&SchemaRef>,
        mut fixed: Option<Vec<ColumnSpec>>,
        progress: &(dyn Fn(u64, u64) + Sync),
        cancel: &CancellationToken,
    ) -> Result<(u64, Vec<import::SkippedRow>, u64), Attempt> {
        let &Importer {
            ledger,
            metrics,
            closing,
            ..
        } = importer;
        let first = &self.pieces[0];
        let options_of = |k: usize, columns: Option<&Vec<ColumnSpec>>| -> Option<CsvOptions> {
            let mut options = self
                .csv
                .cloned()
                .or_else(|| heads.get(k).and_then(|h| h.csv.clone()))?;
            options.columns = columns.cloned();
            Some(options)
        };
        let types_of = |schema: &Schema, columns: &[ColumnSpec]| {
            schema.fields().len() == columns.len()
                && schema
                    .fields()
                    .iter()
                    .zip(columns)
                    .all(|(f, c)| *f.data_type() == c.kind.arrow())
        };
        let mut columns: Option<SchemaRef> = None;
        // The wider columns this pass found some file needs.
        let mut needs: Option<Vec<ColumnSpec>> = None;
        let mut needs_json: Option<SchemaRef> = None;
        let (mut rows, mut converted) = (0u64, 0u64);
        let (mut skipped, mut skipped_total) = (Vec::new(), 0u64);
        for (k, piece) in self.pieces.iter().enumerate() {
            let converting = |p: ImportProgress| {
                let share = match p.total_bytes {
                    0 => piece.size,
                    t => (piece.size as f64 * p.bytes.min(t) as f64 / t as f64) as u64,
                };
                progress(rows + p.rows, converted + share);
            };
            // A budget per file: what a reader that holds a whole file charges is given back
            // when it is written.
            let budget = ledger
                .catalog()
                .limits()
                .budget(format!("the file {}", piece.label));
            let convert = |csv: Option<CsvOptions>| {
                let conversion = super::convert::Conversion {
                    source: &piece.path,
                    format: None,
                    csv: csv.as_ref(),
                    json,
                    folder: &self.folder.join(part_folder(k)),
                    part_bytes: ledger.catalog().limits().conversion_part_bytes(),
                };
                conversion
                    .run(metrics, &converting, cancel, &budget, closing)
                    .map_err(|e| in_file(e, &piece.label))
            };
            let mut imported = convert(options_of(k, fixed.as_ref()))?;
            if piece.format == ImportFormat::Csv {
                // The columns as read, with how each date column is written (as the file's first
                // rows showed it): a later file is read with them, `31.12.2020` included.
                let read = with_layouts(
                    ColumnSpec::all(&imported.schema),
                    heads.get(k).map_or(&[][..], |h| &h.columns[..]),
                );
                match &fixed {
                    // The first file's columns (as wide as it needed, and as the later files'
                    // first rows need) read every file; the first is read again when they are
                    // not what its own inference gave.
                    None => {
                        let wide = widened(&read, &heads.iter().skip(1).collect::<Vec<_>>());
                        if !types_of(&imported.schema, &wide) {
                            imported = convert(options_of(k, Some(&wide)))?;
                        }
                        fixed = Some(wide);
                    }
                    // Read past its first rows, the file needed wider columns: the pass goes on
                    // (every file's needs are known at its end), then all are read again.
                    Some(given) if !types_of(&imported.schema, given) => {
                        let so_far = needs.as_ref().unwrap_or(given);
                        let wide: Vec<ColumnSpec> = so_far
                            .iter()
                            .zip(&read)
                            .map(|(g, r)| ColumnSpec {
                                name: g.name.clone(),
                                kind: wider(g.kind, r.kind),
                                layout: g.layout.clone(),
                            })
                            .collect();
                        if read.len() != given.len() || !types_of(&imported.schema, &wide) {
                            return Err(Attempt::Failed(other_columns(
                                piece,
                                first,
                                &typed(&imported.schema),
                                &described(given),
                            )));
                        }
                        needs = Some(wide);
                        continue;
                    }
                    Some(_) => {}
                }
            }
            if let Some(given) = json.filter(|given| given.fields() != imported.schema.fields()) {
                // Read past its first records, the file needed wider columns (it was read
                // with them): the pass goes on, then all are read again.
                let so_far = needs_json.clone().unwrap_or_else(|| given.clone());
                let found = [
                    ("the other files", so_far),
                    (piece.label.as_str(), imported.schema.clone()),
                ];
                needs_json =
                    Some(import::widen_json(&found).map_err(|e| Attempt::Failed(e.into()))?);
                continue;
            }
            match &columns {
                None => columns = Some(imported.schema.clone()),
                Some(first_columns) if first_columns.fields() != imported.schema.fields() => {
                    return Err(Attempt::Failed(other_columns(
                        piece,
                        first,
                        &typed(&imported.schema),
                        &typed(first_columns),
                    )));
                }
                Some(_) => {}
            }
            rows += imported.rows;
            converted += piece.size;
            skipped_total += imported.skipped_total;
            let room = 100usize.saturating_sub(skipped.len());
            skipped.extend(
                imported
                    .skipped
                    .into_iter()
                    .take(room)
                    .map(|row| import::SkippedRow {
                        file: Some(piece.label.clone()),
                        ..row
                    }),
            );
        }
        match (needs, needs_json) {
            (Some(wide), _) => Err(Attempt::Widen(wide)),
            (None, Some(wide)) => Err(Attempt::WidenJson(wide)),
            (None, None) => Ok((rows, skipped, skipped_total)),
        }
    }
}

/// The wider of two column types: decimals hold whole numbers; anything else, text.
fn wider(a: ColumnType, b: ColumnType) -> ColumnType {
    match (a, b) {
        (a, b) if a == b => a,
        (ColumnType::Integer, ColumnType::Float) | (ColumnType::Float, ColumnType::Integer) => {
            ColumnType::Float
        }
        _ => ColumnType::Text,
    }
}

/// Columns with their types, for an error.
fn described(columns: &[ColumnSpec]) -> String {
    columns
        .iter()
        .map(|c| format!("{} ({})", c.name, word(c.kind)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The types of `read` (the first file's columns) widened by what the later files' first rows
/// hold: an integer column with decimals in another file is a decimal one; one with other
/// values there, text. A column a file's first rows leave empty says nothing.
fn widened(read: &[ColumnSpec], later: &[&import::ImportPreview]) -> Vec<ColumnSpec> {
    let mut wide = read.to_vec();
    for preview in later {
        for (i, (column, seen)) in wide.iter_mut().zip(&preview.columns).enumerate() {
            let empty = preview
                .rows
                .iter()
                .all(|row| row.get(i).is_none_or(Option::is_none));
            column.kind = match (column.kind, seen.kind) {
                _ if empty => column.kind,
                // Dates written one way in one file and another way in the next: text.
                (a, b) if a == b && column.layout == seen.layout => a,
                (ColumnType::Integer, ColumnType::Float)
                | (ColumnType::Float, ColumnType::Integer) => ColumnType::Float,
                _ => ColumnType::Text,
            };
            if column.kind == ColumnType::Text {
                column.layout = None;
            }
        }
    }
    wide
}

fn other_columns(piece: &Piece, first: &Piece, has: &str, first_has: &str) -> Error {
    TableError::Import {
        line: Some(1),
        message: format!(
            "{} has other columns than {} ({has}, not {first_has}); every file of one table needs the same columns",
            piece.label,
            first.label,
        ),
    }
    .into()
}

/// The CSV options to read `source` with: the user's, else what the import dialog would
/// propose for it (its delimiter, quote, header, encoding and decimal separator sniffed, its
/// columns typed with the user's `choices` of gap markers, which it then holds); None for
/// JSON.
pub(super) fn sniffed(
    given: Option<&CsvOptions>,
    choices: Option<&CsvChoices>,
    source: &Path,
) -> Result<Option<CsvOptions>, Error> {
    if given.is_some() || ImportFormat::from_path(source) != Some(ImportFormat::Csv) {
        return Ok(given.cloned());
    }
    Ok(proposed(source, choices)?.csv)
}

/// What the import dialog would propose for the CSV file `source`, with the user's `choices`
/// over it: its columns typed with their gap markers (so a gap is no text to widen to).
fn proposed(source: &Path, choices: Option<&CsvChoices>) -> Result<import::ImportPreview, Error> {
    let missing = choices.and_then(|c| c.missing.as_deref());
    let mut preview = import::preview_missing(source, None, missing)?;
    if let Some(choices) = choices {
        preview.csv = preview.csv.map(|own| choices.over(own));
    }
    Ok(preview)
}

/// Whether the files of `source` are converted: its CSV or JSON files `text` (each a label
/// and its kind), unless Parquet files lie beside them (`parquet`, the first one's label):
/// then those are linked where they lie, and text files that are data too are refused, naming
/// one of each, rather than left out unsaid. A `.txt` beside Parquet parts is a note
/// (README.txt), not data.
pub(super) fn converts_text<'a>(
    source: &str,
    parquet: Option<&str>,
    text: impl IntoIterator<Item = (&'a str, ImportFormat)>,
) -> Result<bool, Error> {
    let mut text = text.into_iter().peekable();
    let Some(parquet) = parquet else {
        return Ok(text.peek().is_some());
    };
    if let Some(data) = text.find(|(label, _)| !label.to_ascii_lowercase().ends_with(".txt")) {
        one_kind(source, [(parquet, ImportFormat::Parquet), data].into_iter())?;
    }
    Ok(false)
}

fn kind_of(format: ImportFormat) -> &'static str {
    match format {
        ImportFormat::Csv => "CSV",
        ImportFormat::Json => "JSON",
        ImportFormat::Parquet => "Parquet",
        ImportFormat::Excel => "a spreadsheet",
    }
}

/// A conversion's error about a file's content, naming the file as the user knows it (a
/// fetched copy's local name means nothing to them).
pub(super) fn in_file(e: Error, label: &str) -> Error {
    match e {
        Error::Table(TableError::Import { line, message }) => TableError::Import {
            line,
            message: format!("{label}: {message}"),
        }
        .into(),
        Error::Table(TableError::File { message, .. }) => TableError::File {
            path: label.to_string(),
            message,
        }
        .into(),
        other => other,
    }
}

/// The columns of `schema` with their types, for an error.
fn typed(schema: &Schema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| format!("{} ({})", f.name(), word(ColumnType::of(f.data_type()))))
        .collect::<Vec<_>>()
        .join(", ")
}

fn word(kind: ColumnType) -> &'static str {
    match kind {
        ColumnType::Integer => "whole numbers",
        ColumnType::Float => "decimal numbers",
        ColumnType::Boolean => "true or false",
        ColumnType::Date => "dates",
        ColumnType::Timestamp => "dates and times",
        ColumnType::TimestampTz => "dates and times with a zone",
        ColumnType::Text => "text",
    }
}

/// Removes the folders of parts of files numbered `count` and up: a run cut short before the
/// files were fewer (one removed, a pattern that picks fewer) would link their rows too.
fn clear_beyond(folder: &Path, count: usize) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let stale = name
            .to_str()
            .filter(|n| n.len() == part_folder(0).len())
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|n| n >= count);
        if stale {
            if let Err(e) = std::fs::remove_dir_all(entry.path()) {
                log::warn!("the stale parts {} stay: {e}", entry.path().display());
            }
        }
    }
}

/// `read` with the date layouts of `proposed` (a file's first rows as the import dialog reads
/// them) where a column of the same name and type has one.
fn with_layouts(read: Vec<ColumnSpec>, proposed: &[ColumnSpec]) -> Vec<ColumnSpec> {
    read.into_iter()
        .map(|c| {
            let layout = proposed
                .iter()
                .find(|p| p.name == c.name && p.kind == c.kind)
                .and_then(|p| p.layout.clone());
            ColumnSpec { layout, ..c }
        })
        .collect()
}

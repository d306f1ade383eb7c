//! A scratch copy of a CSV file with some columns' values rewritten into what arrow's reader
//! reads: numbers with decimal commas (see [`super::decimal`]) and dates in other layouts than
//! ISO 8601 (see [`super::layouts`]). Records keep their order and their lines, so line numbers
//! in errors still point into the user's file; a value that does not fit is copied as written,
//! and the reader then names it.

use std::io::{Read, Write};
use std::path::Path;

use tokio_util::sync::CancellationToken;

use super::decimal;
use super::layouts::Layout;
use crate::tables::TableError;

/// What a column's values are rewritten from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewrite {
    DecimalComma,
    Layout(Layout),
    /// A number with spaces around it (` .01138`), which the reader would not take: trimmed.
    Padded,
    /// True or false written as spreadsheets and surveys write it (`Yes`, `n`, `on`, `0`),
    /// which the reader takes only as `true` or `false`: as a CAST to BOOLEAN reads it.
    Boolean,
}

impl Rewrite {
    fn apply(&self, text: &str) -> Option<String> {
        match self {
            Rewrite::DecimalComma => decimal::is_comma_number(text).then(|| decimal::pointed(text)),
            Rewrite::Padded => Some(text.trim().to_string()),
            Rewrite::Layout(layout) => layout.iso(text),
            Rewrite::Boolean => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "t" | "yes" | "y" | "on" | "1" => Some("true".into()),
                "false" | "f" | "no" | "n" | "off" | "0" => Some("false".into()),
                _ => None,
            },
        }
    }
}

/// Rewrites `input` into `output`: each value of the `columns` that [`Rewrite`] reads is
/// replaced, unless it is a missing-value marker (`31.12.9999` for "never" stays the marker the
/// reader makes NULL). The header row, when there is one, is copied as it is (a column named
/// `2,5` keeps its name); a quoted line break stays quoted, and blank lines are kept, so a
/// record's line is the line it has in the user's file.
pub fn rewrite(
    input: impl Read,
    mut output: impl Write,
    (delimiter, quote, has_header): (u8, u8, bool),
    columns: &[(usize, Rewrite)],
    missing: &dyn Fn(&str) -> bool,
    cancel: &CancellationToken,
) -> Result<(), TableError> {
    let width = columns.iter().map(|(i, _)| i + 1).max().unwrap_or(0);
    let mut by_index: Vec<Option<Rewrite>> = vec![None; width];
    for &(i, rewrite) in columns {
        by_index[i] = Some(rewrite);
    }
    let mut reader = super::lenient::lenient(input, (delimiter, quote, false));
    let mut builder = csv::WriterBuilder::new();
    builder
        .delimiter(delimiter)
        .quote(quote)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'));
    let mut writer = builder.from_writer(&mut output);
    let mut record = csv::ByteRecord::new();
    let mut out = csv::ByteRecord::new();
    let mut records = 0u64;
    // The reader skips blank lines; the copy writes them back, so lines match. A record's blank
    // lines before it are the lines read for it past its own.
    let mut before = reader.position().line();
    let failed = |e: csv::Error| {
        let line = e.position().map(|p| p.line());
        TableError::Import {
            line,
            message: match line {
                Some(line) => format!("line {line}: {e}"),
                None => e.to_string(),
            },
        }
    };
    loop {
        records += 1;
        if records.is_multiple_of(65_536) && cancel.is_cancelled() {
            return Err(TableError::Cancelled);
        }
        if !reader.read_byte_record(&mut record).map_err(failed)? {
            break;
        }
        let after = reader.position().line();
        let own = 1 + record
            .iter()
            .map(|f| f.iter().filter(|&&b| b == b'\n').count() as u64)
            .sum::<u64>();
        let blank = (after - before).saturating_sub(own);
        before = after;
        out.clear();
        let header = has_header && records == 1;
        if blank > 0 {
            // Written past the csv writer, which has no blank record.
            let inner = writer.into_inner().map_err(|e| written(e.into_error()))?;
            inner
                .write_all(&vec![b'\n'; blank as usize])
                .map_err(written)?;
            writer = builder.from_writer(inner);
        }
        for (i, field) in record.iter().enumerate() {
            let rewritten = match (header, by_index.get(i).copied().flatten()) {
                (false, Some(rewrite)) => std::str::from_utf8(field)
                    .ok()
                    .filter(|text| !missing(text))
                    .and_then(|text| rewrite.apply(text)),
                _ => None,
            };
            match rewritten {
                Some(text) => out.push_field(text.as_bytes()),
                None => out.push_field(field),
            }
        }
        writer.write_byte_record(&out).map_err(failed)?;
    }
    writer.flush().map_err(written)?;
    drop(writer);
    output.flush().map_err(written)
}

fn written(e: std::io::Error) -> TableError {
    TableError::Persist(format!("the rewritten import could not be written: {e}"))
}

/// [`rewrite`] of a file into a scratch file in `scratch`.
pub fn rewrite_file(
    path: &Path,
    dialect: (u8, u8, bool),
    columns: &[(usize, Rewrite)],
    missing: &dyn Fn(&str) -> bool,
    scratch: Option<&Path>,
    cancel: &CancellationToken,
) -> Result<tempfile::TempPath, TableError> {
    let builder = tempfile::Builder::new()
        .prefix("import-")
        .suffix(".rewritten")
        .to_owned();
    let file = match scratch {
        Some(dir) => builder.tempfile_in(dir),
        None => builder.tempfile(),
    }
    .map_err(|e| TableError::Persist(format!("no scratch file for the import: {e}")))?;
    let (out, scratch_path) = file.into_parts();
    let input = std::fs::File::open(path).map_err(|e| TableError::file(path, e))?;
    rewrite(
        std::io::BufReader::with_capacity(1 << 20, input),
        std::io::BufWriter::with_capacity(1 << 20, out),
        dialect,
        columns,
        missing,
        cancel,
    )?;
    Ok(scratch_path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::import::ColumnType;

    fn rewritten(input: &str, columns: &[(usize, Rewrite)]) -> String {
        let mut out = Vec::new();
        let never = CancellationToken::new();
        let missing = |t: &str| t.is_empty() || t == "NA" || t == "31.12.9999";
        rewrite(
            input.as_bytes(),
            &mut out,
            (b';', b'"', true),
            columns,
            &missing,
            &never,
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn only_number_columns_are_rewritten_and_lines_are_kept() {
        // The header keeps its names, even one that looks like a number (`2,5`).
        let input = "name;2,5;code\n\"a;b\";3,5;1,2\n\"multi\nline\";-0,25;x\n";
        let expected = "name;2,5;code\n\"a;b\";3.5;1,2\n\"multi\nline\";-0.25;x\n";
        assert_eq!(rewritten(input, &[(1, Rewrite::DecimalComma)]), expected);
    }

    #[test]
    fn dates_become_iso_and_a_value_that_is_no_date_stays_for_the_reader_to_name() {
        // A marker that is a date stays the marker; a blank line stays, so lines match.
        let input = "day;price\n31.12.2020;1,5\nNA;2\n\n31.12.9999;4\nsoon;3,25\n";
        let layout = Layout {
            kind: ColumnType::Date,
            format: "%d.%m.%Y",
        };
        let columns = [(0, Rewrite::Layout(layout)), (1, Rewrite::DecimalComma)];
        assert_eq!(
            rewritten(input, &columns),
            "day;price\n2020-12-31;1.5\nNA;2\n\n31.12.9999;4\nsoon;3.25\n"
        );
    }
}

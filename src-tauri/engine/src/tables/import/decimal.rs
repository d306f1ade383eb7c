//! Decimal commas (`3,14`), as European spreadsheets and statistics offices export numbers,
//! with `;` between fields. Arrow's CSV reader knows only the decimal point, so the number
//! columns of such a file are rewritten, comma to point, into a scratch copy the reader then
//! reads; text columns are copied untouched, so `"3,5 kg"` or a code `1,2` in a text column
//! never changes.

use std::io::{Read, Write};
use std::path::Path;

use tokio_util::sync::CancellationToken;

use crate::tables::TableError;

/// A whole cell that is a number written with a decimal comma (no thousands separators:
/// `1.234,5` is not read as a number, so it is reported rather than guessed).
fn is_comma_number(text: &str) -> bool {
    let t = text.trim();
    let t = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(at) => (&t[..at], Some(&t[at + 1..])),
        None => (t, None),
    };
    let (whole, fraction) = match mantissa.split_once(',') {
        Some((w, f)) => (w, Some(f)),
        None => (mantissa, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let number = match fraction {
        Some(f) => (whole.is_empty() || digits(whole)) && digits(f),
        None => digits(whole),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    number && exponent_ok
}

/// The text of a comma number with a decimal point instead (and no padding, which the
/// reader would not take).
fn pointed(text: &str) -> String {
    text.trim().replacen(',', ".", 1)
}

/// Which columns of a sample read as text are numbers with decimal commas: every value that
/// is not missing is one, and at least one has a comma (else the column is an integer column
/// and arrow already read it as such).
pub fn sniff_columns(
    sample: &[u8],
    delimiter: u8,
    quote: u8,
    has_header: bool,
    text_columns: &[usize],
    missing: &dyn Fn(&str) -> bool,
) -> Vec<usize> {
    // Only `;` files: the decimal comma is why they use `;`. In a tab- or pipe-separated file
    // `52,000` is far more often a thousands separator, and reading it as 52.0 would be wrong
    // by a factor of a thousand; the user can still choose the comma there.
    if delimiter != b';' || text_columns.is_empty() {
        return Vec::new();
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .quote(quote)
        .has_headers(has_header)
        .flexible(true)
        .from_reader(sample);
    // (every value a comma number, some value has a comma)
    let mut seen: Vec<(bool, bool)> = vec![(true, false); text_columns.len()];
    for record in reader.records().filter_map(Result::ok) {
        for (k, &column) in text_columns.iter().enumerate() {
            let Some(text) = record.get(column) else {
                continue;
            };
            if missing(text) {
                continue;
            }
            seen[k].0 &= is_comma_number(text);
            seen[k].1 |= text.contains(',');
        }
    }
    text_columns
        .iter()
        .zip(seen)
        .filter(|(_, (all, some))| *all && *some)
        .map(|(&column, _)| column)
        .collect()
}

/// Rewrites `input` into `output` with the decimal commas of `columns` made points (the header
/// row, when there is one, is copied as it is: a column named `2,5` keeps its name). Records
/// keep their order and their lines (a quoted line break stays quoted), so line numbers in
/// errors still point into the user's file. A value that is not a comma number is copied as it
/// is, and the reader then names it.
pub fn rewrite(
    input: impl Read,
    output: impl Write,
    (delimiter, quote, has_header): (u8, u8, bool),
    columns: &[usize],
    cancel: &CancellationToken,
) -> Result<(), TableError> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .quote(quote)
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .quote(quote)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(output);
    let mut record = csv::ByteRecord::new();
    let mut out = csv::ByteRecord::new();
    let mut records = 0u64;
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
        out.clear();
        let header = has_header && records == 1;
        for (i, field) in record.iter().enumerate() {
            match std::str::from_utf8(field) {
                Ok(text) if !header && columns.contains(&i) && is_comma_number(text) => {
                    out.push_field(pointed(text).as_bytes())
                }
                _ => out.push_field(field),
            }
        }
        writer.write_byte_record(&out).map_err(failed)?;
    }
    writer
        .flush()
        .map_err(|e| TableError::Persist(format!("the rewritten import could not be written: {e}")))
}

/// [`rewrite`] of a file into a scratch file beside it in `scratch`.
pub fn rewrite_file(
    path: &Path,
    dialect: (u8, u8, bool),
    columns: &[usize],
    scratch: Option<&Path>,
    cancel: &CancellationToken,
) -> Result<tempfile::TempPath, TableError> {
    let builder = tempfile::Builder::new()
        .prefix("import-")
        .suffix(".points")
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
        cancel,
    )?;
    Ok(scratch_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comma_numbers_are_whole_cells_with_one_comma_and_no_grouping() {
        for yes in [
            "3,14", "-0,5", "+12", "7", ",5", "1,5e3", "2,0E-2", " 4,25 ",
        ] {
            assert!(is_comma_number(yes), "{yes}");
        }
        for no in [
            "", "1.234,5", "1,2,3", "3,5 kg", "abc", "1,", "-", "1e", "1.5",
        ] {
            assert!(!is_comma_number(no), "{no}");
        }
    }

    #[test]
    fn only_number_columns_are_rewritten_and_lines_are_kept() {
        // The header keeps its names, even one that looks like a number (`2,5`).
        let input = "name;2,5;code\n\"a;b\";3,5;1,2\n\"multi\nline\";-0,25;x\n";
        let mut out = Vec::new();
        let never = CancellationToken::new();
        rewrite(input.as_bytes(), &mut out, (b';', b'"', true), &[1], &never).unwrap();
        let out = String::from_utf8(out).unwrap();
        let expected = "name;2,5;code\n\"a;b\";3.5;1,2\n\"multi\nline\";-0.25;x\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn sniffing_finds_the_comma_columns_only() {
        let sample = b"name;price;qty;code\nx;3,5;2;1,2\ny;NA;3;ab\nz;4;1;7\n";
        let missing = |t: &str| t.is_empty() || t == "NA";
        let found = sniff_columns(sample, b';', b'"', true, &[0, 1, 3], &missing);
        assert_eq!(found, vec![1]);
        // In a tab-separated file `52,000` is a thousands separator as often as not: not sniffed.
        let tabs = b"name\tsalary\nx\t52,000\ny\t48,500\n";
        assert!(sniff_columns(tabs, b'\t', b'"', true, &[1], &missing).is_empty());
    }
}

//! Decimal commas (`3,14`), as European spreadsheets and statistics offices export numbers,
//! with `;` between fields. Arrow's CSV reader knows only the decimal point, so the number
//! columns of such a file are rewritten, comma to point, into a scratch copy the reader then
//! reads (see [`super::rewrite`]); text columns are copied untouched, so `"3,5 kg"` or a code
//! `1,2` in a text column never changes.

/// A whole cell that is a number written with a decimal comma (no thousands separators:
/// `1.234,5` is not read as a number, so it is reported rather than guessed).
pub(super) fn is_comma_number(text: &str) -> bool {
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
pub(super) fn pointed(text: &str) -> String {
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
    let mut reader = super::lenient::lenient(sample, (delimiter, quote, has_header));
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

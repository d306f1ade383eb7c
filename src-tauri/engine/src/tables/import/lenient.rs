//! The one way the sniffs, the rewrite and the skipping read take a CSV's records.

use std::io::Read;

/// A reader of records that may differ in width (a ragged row is the caller's to judge).
pub(super) fn lenient<R: Read>(
    input: R,
    (delimiter, quote, has_header): (u8, u8, bool),
) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .quote(quote)
        .has_headers(has_header)
        .flexible(true)
        .from_reader(input)
}

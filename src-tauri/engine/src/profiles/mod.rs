//! Column profiles (issue 20): for every column of a table or a result, its type, missing
//! values, distinct count, range, mean, quartiles and a histogram or its most frequent values,
//! computed by DataFusion in three queries whatever the number of columns.
//!
//! - [`compute`]: the queries and their reading.
//! - [`calendar`]: the bins of date and date-time columns, on the calendar.
//! - [`cache`]: profiles kept per table version, and the one in flight per table, cancelled
//!   when a newer version asks.
//!
//! Past `functions::EXACT_MAX` rows (and for linked tables, whatever their size) distinct counts
//! are estimates (HyperLogLog: DataFusion's `approx_distinct`), and so are the quartiles of a
//! column of more numbers than that (a t-digest, as `approx_percentile_cont` builds it), so
//! memory stays bounded on any table; the profile says which figures are exact, and counts,
//! ranges and means always are.

pub mod cache;
pub mod calendar;
pub mod compute;
pub mod functions;
#[cfg(test)]
mod tests;

use serde::Serialize;

pub use cache::ProfileCache;
pub use compute::{profile_query, profile_result, profile_table_in, profile_version};

/// How a column is profiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ProfileKind {
    /// Range, mean, quartiles and a histogram.
    Number,
    /// Range and the most frequent values.
    Temporal,
    /// The most frequent values.
    Text,
    /// Lists, structs, binary: counted only.
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct HistogramBin {
    pub start: f64,
    pub end: f64,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct TopValue {
    /// As the grid shows it; `None` is a missing value.
    pub value: Option<String>,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct ColumnProfile {
    pub name: String,
    pub data_type: String,
    pub kind: ProfileKind,
    /// Missing values (SQL NULL).
    pub nulls: u64,
    /// Distinct values other than missing: counted up to `functions::EXACT_MAX` rows,
    /// estimated (within a few percent) past it and for linked tables.
    pub distinct: Option<u64>,
    pub distinct_exact: bool,
    /// Smallest and largest values, as the grid shows them.
    pub min: Option<String>,
    pub max: Option<String>,
    pub mean: Option<f64>,
    pub stddev: Option<f64>,
    /// The 25th, 50th and 75th percentiles: exact up to `functions::EXACT_MAX` numbers,
    /// estimated past it.
    pub quartiles: Option<[f64; 3]>,
    pub quartiles_exact: bool,
    /// NaN and infinities in a float column: counted here and left out of the mean, the
    /// quartiles and the histogram, which describe the numbers (one `-inf` would make the
    /// mean `-inf`, one NaN every bin edge NaN).
    pub not_finite: u64,
    /// Numbers, and dates and date-times as UTC milliseconds: counts in nice bins over
    /// [min, max], those of dates on the calendar (whole days, weeks, months, years...; the
    /// last ends past the max) (missing values are in none).
    pub histogram: Vec<HistogramBin>,
    /// The most frequent values, most frequent first (ties by value), when the column is not
    /// mostly unique.
    pub top: Vec<TopValue>,
    /// Rows holding a value not in `top`.
    pub others: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct Profile {
    /// The table version profiled (`None` for a query's result).
    pub version: Option<u64>,
    pub rows: u64,
    pub columns: Vec<ColumnProfile>,
    pub elapsed_ms: f64,
}

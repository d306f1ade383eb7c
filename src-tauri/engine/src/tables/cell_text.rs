//! How one value reads in a result, a preview, a diff or a profile: Arrow's own formatter
//! (with [`display_options`]), except for lengths of time, which
//! read as PostgreSQL and DuckDB write them (`1 year 2 months 3 days 04:05:06.500`) rather than
//! Arrow's `0 years 14 mons 3 days 4 hours 5 mins 6.500000000 secs`, or ISO 8601's `PT97200S`
//! for the difference of two date-times. The grid writes them the same way (ui/src/format.ts).
//!
//! Also what a table cannot keep: Parquet has no type for an interval of months, days and
//! nanoseconds, so such a column is refused in words before anything is written.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, RecordBatch, RecordBatchOptions, StringArray,
};
use datafusion::arrow::datatypes::{
    DataType, DurationMicrosecondType, DurationMillisecondType, DurationNanosecondType,
    DurationSecondType, Field, IntervalDayTimeType, IntervalUnit, IntervalYearMonthType, Schema,
    TimeUnit,
};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::util::display::{ArrayFormatter, DurationFormat, FormatOptions};

use super::TableError;

const NANOS_PER_SECOND: i128 = 1_000_000_000;
const NANOS_PER_DAY: i128 = 86_400 * NANOS_PER_SECOND;

/// How a value reads in a result, an import preview or a diff: dates and times as the grid
/// writes them (`2024-01-31 14:05:00.5`, `Z` after a UTC one, else its offset), not Arrow's
/// RFC 3339 `2024-01-31T14:05:00.500`. A value inside a list or struct that is missing reads
/// `null` (`{total: 12.1, rem: null}`, not `rem: ` as if it were empty text).
pub(crate) fn display_options(data_type: &DataType) -> &'static FormatOptions<'static> {
    const LOCAL: &str = "%Y-%m-%d %H:%M:%S%.f";
    const BASE: FormatOptions<'static> = FormatOptions::new()
        .with_null("null")
        // "365 days 1 hours 0 mins 0 secs", not ISO 8601's "PT31539600S".
        .with_duration_format(DurationFormat::Pretty)
        .with_datetime_format(Some(LOCAL))
        .with_timestamp_format(Some(LOCAL));
    static UTC: FormatOptions<'static> =
        BASE.with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.fZ"));
    static ZONED: FormatOptions<'static> =
        BASE.with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.f%:z"));
    match data_type {
        DataType::Timestamp(_, Some(zone))
            // The zones the grid writes `Z` after (ui/src/format.ts).
            if ["utc", "z", "+00:00", "+0000", "+00", "-00:00", "etc/utc", "gmt", "etc/gmt"]
                .contains(&zone.to_lowercase().as_str()) =>
        {
            &UTC
        }
        _ => &ZONED,
    }
}

/// The text of each value of one column.
pub(crate) enum CellText<'a> {
    Arrow(ArrayFormatter<'a>),
    /// An interval or a duration, written by [`interval_text`].
    Time(&'a dyn Array),
}

impl<'a> CellText<'a> {
    pub(crate) fn try_new(array: &'a dyn Array) -> Result<CellText<'a>, ArrowError> {
        Ok(match array.data_type() {
            DataType::Interval(_) | DataType::Duration(_) => CellText::Time(array),
            data_type => {
                CellText::Arrow(ArrayFormatter::try_new(array, display_options(data_type))?)
            }
        })
    }

    /// The value at `row`, which the caller checked is not null.
    pub(crate) fn value(&self, row: usize) -> String {
        match self {
            CellText::Arrow(f) => f.value(row).to_string(),
            CellText::Time(array) => time_text(*array, row),
        }
    }
}

fn time_text(array: &dyn Array, row: usize) -> String {
    match array.data_type() {
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            let v = array.as_primitive::<datafusion::arrow::datatypes::IntervalMonthDayNanoType>();
            let v = v.value(row);
            interval_text(v.months, v.days.into(), v.nanoseconds.into())
        }
        DataType::Interval(IntervalUnit::DayTime) => {
            let v = array.as_primitive::<IntervalDayTimeType>().value(row);
            interval_text(0, v.days.into(), i128::from(v.milliseconds) * 1_000_000)
        }
        DataType::Interval(IntervalUnit::YearMonth) => interval_text(
            array.as_primitive::<IntervalYearMonthType>().value(row),
            0,
            0,
        ),
        DataType::Duration(unit) => {
            let (value, nanos) = match unit {
                TimeUnit::Second => (
                    array.as_primitive::<DurationSecondType>().value(row),
                    NANOS_PER_SECOND,
                ),
                TimeUnit::Millisecond => (
                    array.as_primitive::<DurationMillisecondType>().value(row),
                    1_000_000,
                ),
                TimeUnit::Microsecond => (
                    array.as_primitive::<DurationMicrosecondType>().value(row),
                    1_000,
                ),
                TimeUnit::Nanosecond => {
                    (array.as_primitive::<DurationNanosecondType>().value(row), 1)
                }
            };
            let total = i128::from(value) * nanos;
            // Days as PostgreSQL counts them in an interval; the rest, under a day, as a clock.
            interval_text(0, total / NANOS_PER_DAY, total % NANOS_PER_DAY)
        }
        _ => unreachable!("CellText::Time holds intervals and durations"),
    }
}

/// `batch` with its lengths of time (durations, intervals) as text, as [`interval_text`] writes
/// them: a CSV export, which a spreadsheet reads (arrow's CSV writer writes ISO 8601's
/// `PT240S`, `P0D`).
pub(crate) fn with_times_as_text(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let is_time = |t: &DataType| matches!(t, DataType::Interval(_) | DataType::Duration(_));
    if !batch
        .schema()
        .fields()
        .iter()
        .any(|f| is_time(f.data_type()))
    {
        return Ok(batch.clone());
    }
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if is_time(field.data_type()) {
            let text: StringArray = (0..column.len())
                .map(|i| column.is_valid(i).then(|| time_text(column.as_ref(), i)))
                .collect();
            fields.push(Field::new(field.name(), DataType::Utf8, true));
            columns.push(Arc::new(text) as ArrayRef);
        } else {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
        }
    }
    RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
}

/// A length of time given in seconds (`date_part('epoch', …)` of a duration), as
/// [`interval_text`] writes it, to the microsecond.
pub(crate) fn seconds_text(seconds: f64) -> String {
    let nanos = (seconds * 1e6).round() as i128 * 1_000;
    interval_text(0, nanos / NANOS_PER_DAY, nanos % NANOS_PER_DAY)
}

/// `1 year 2 months 3 days 04:05:06.500`: each part only when it is not zero, the clock also
/// when nothing else is (`00:00:00`), signs on the parts that have them (`-3 months`,
/// `1 day -02:00:00`), as PostgreSQL and DuckDB write an interval.
pub(crate) fn interval_text(months: i32, days: i128, nanos: i128) -> String {
    let mut parts = Vec::new();
    let (years, months) = (months / 12, months % 12);
    for (n, unit) in [
        (years.into(), "year"),
        (months.into(), "month"),
        (days, "day"),
    ] {
        if n != 0 {
            parts.push(format!("{n} {unit}{}", if n.abs() == 1 { "" } else { "s" }));
        }
    }
    if nanos != 0 || parts.is_empty() {
        let sign = if nanos < 0 { "-" } else { "" };
        let abs = nanos.unsigned_abs();
        let seconds = abs / NANOS_PER_SECOND as u128;
        let fraction = abs % NANOS_PER_SECOND as u128;
        let mut clock = format!(
            "{sign}{:02}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        );
        if fraction != 0 {
            // In threes, as a date-time's fraction reads (`.250`, `.000005`).
            let mut digits = format!("{fraction:09}");
            while digits.len() > 3 && digits.ends_with("000") {
                digits.truncate(digits.len() - 3);
            }
            clock.push('.');
            clock.push_str(&digits);
        }
        parts.push(clock);
    }
    parts.join(" ")
}

/// Refuses a result whose columns a table cannot keep (nor a Parquet export write): an
/// interval of months, days and nanoseconds, which Parquet has no type for. `what` says what
/// was being made ("a table", "a Parquet file").
pub(crate) fn check_storable(schema: &Schema, what: &str) -> Result<(), TableError> {
    let Some(field) = schema.fields().iter().find(|f| holds_interval(f)) else {
        return Ok(());
    };
    Err(TableError::Sql {
        message: format!(
            "column {} holds intervals (lengths of time such as 1 day 02:00:00), which {what} \
             cannot keep; keep it as text with CAST({} AS VARCHAR), or as seconds with \
             date_part('epoch', {})",
            field.name(),
            super::name::ident(field.name()),
            super::name::ident(field.name()),
        ),
        line: None,
        column: None,
    })
}

fn holds_interval(field: &Field) -> bool {
    match field.data_type() {
        DataType::Interval(IntervalUnit::MonthDayNano) => true,
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::FixedSizeList(f, _)
        | DataType::Map(f, _) => holds_interval(f),
        DataType::Struct(fields) => fields.iter().any(|f| holds_interval(f)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_of_time_read_as_postgresql_writes_them() {
        let hour = 3600 * NANOS_PER_SECOND;
        for (months, days, nanos, text) in [
            (0, 0, 0, "00:00:00"),
            (
                14,
                3,
                4 * hour + 5 * 60 * NANOS_PER_SECOND + 6_500_000_000,
                "1 year 2 months 3 days 04:05:06.500",
            ),
            (-3, 0, 0, "-3 months"),
            (12, 0, 0, "1 year"),
            (0, 1, -2 * hour, "1 day -02:00:00"),
            (0, 0, 27 * hour + 1, "27:00:00.000000001"),
            (0, -2, 0, "-2 days"),
        ] {
            assert_eq!(interval_text(months, days, nanos), text);
        }
    }
}

//! Dates in JSON: JSON has no date type, so exports write dates as ISO 8601 text
//! (`"2012-01-31"`, `"2012-01-31T14:05:00Z"`). A top-level field whose every text value read
//! for the columns is one becomes a date or date-time column, as DuckDB reads it (a date-time
//! with a zone as the instant it names, in UTC); one other value anywhere keeps it text.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::types::{Date32Type, TimestampMicrosecondType};
use datafusion::arrow::compute::kernels::cast_utils::Parser;
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};

/// What the text values of one field were.
#[derive(Default)]
struct Seen {
    dates: bool,
    zoned: bool,
    naive: bool,
    other: bool,
}

/// The text values of each top-level field, as records go by.
#[derive(Default)]
pub(super) struct Dates(HashMap<String, Seen>);

impl Dates {
    pub fn see(&mut self, record: &serde_json::Value) {
        let serde_json::Value::Object(fields) = record else {
            return;
        };
        for (name, value) in fields {
            if value.is_null() {
                continue;
            }
            let seen = match self.0.get_mut(name) {
                Some(seen) => seen,
                None => self.0.entry(name.clone()).or_default(),
            };
            if seen.other {
                continue;
            }
            // A number or true/false beside dates (`false` for "no date") makes the column text,
            // as arrow's inference does: typed as dates, 20120131 would read as a day count.
            let serde_json::Value::String(text) = value else {
                seen.other = true;
                continue;
            };
            if is_date(text) {
                seen.dates = true;
            } else if is_date_time(text) {
                if super::csv::has_zone(text) {
                    seen.zoned = true;
                } else {
                    seen.naive = true;
                }
            } else {
                seen.other = true;
            }
        }
    }

    /// `schema` with its text fields of dates or date-times typed so.
    pub fn typed(&self, schema: Schema) -> Schema {
        let fields: Vec<Arc<Field>> = schema
            .fields()
            .iter()
            .map(|f| match (f.data_type(), self.0.get(f.name())) {
                (DataType::Utf8, Some(seen)) => match kind_of(seen) {
                    Some(t) => Arc::new(f.as_ref().clone().with_data_type(t)),
                    None => f.clone(),
                },
                _ => f.clone(),
            })
            .collect();
        Schema::new_with_metadata(fields, schema.metadata().clone())
    }
}

/// Whether every text of `column` (read as text) is what `target` holds as [`Dates`] sorted
/// them: arrow's own parsers would take a date-time into a date column (dropping its time) or a
/// zoned one into a zone-less column without a word. A value that is not makes the read stop,
/// and the file is read again with the columns every record shows.
pub(super) fn fits(column: &datafusion::arrow::array::StringArray, target: &DataType) -> bool {
    use datafusion::arrow::array::Array;
    let texts = (0..column.len())
        .filter(|&i| column.is_valid(i))
        .map(|i| column.value(i));
    match target {
        DataType::Date32 => texts.into_iter().all(is_date),
        DataType::Timestamp(_, zone) => texts.into_iter().all(|t| {
            (is_date(t) && zone.is_none())
                || (is_date_time(t) && super::csv::has_zone(t) == zone.is_some())
        }),
        _ => true,
    }
}

fn kind_of(seen: &Seen) -> Option<DataType> {
    match seen {
        Seen { other: true, .. } => None,
        // A zone on some values and none on others: which instant a bare one names is unknown.
        Seen { zoned: true, .. } if seen.naive || seen.dates => None,
        Seen { zoned: true, .. } => Some(DataType::Timestamp(
            TimeUnit::Microsecond,
            Some("UTC".into()),
        )),
        Seen { naive: true, .. } => Some(DataType::Timestamp(TimeUnit::Microsecond, None)),
        Seen { dates: true, .. } => Some(DataType::Date32),
        _ => None,
    }
}

/// `YYYY-MM-DD`, a day that exists.
fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10 && iso_day(b) && Date32Type::parse(text).is_some()
}

/// `YYYY-MM-DDThh:mm…` or with a space, optionally seconds, fractions and a zone.
fn is_date_time(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 16
        && iso_day(&b[..10])
        && matches!(b[10], b'T' | b' ')
        && b[11..13].iter().all(u8::is_ascii_digit)
        && b[13] == b':'
        && TimestampMicrosecondType::parse(text).is_some()
}

fn iso_day(b: &[u8]) -> bool {
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn typed(records: &[serde_json::Value], field: &str, inferred: DataType) -> DataType {
        let mut dates = Dates::default();
        records.iter().for_each(|r| dates.see(r));
        let schema = dates.typed(Schema::new(vec![Field::new(field, inferred, true)]));
        schema.field(0).data_type().clone()
    }

    #[test]
    fn text_fields_of_iso_dates_and_date_times_are_typed_and_anything_else_stays_text() {
        let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let naive = DataType::Timestamp(TimeUnit::Microsecond, None);
        let of = |values: &[&str]| {
            let records: Vec<_> = values.iter().map(|v| json!({ "x": v })).collect();
            typed(&records, "x", DataType::Utf8)
        };
        assert_eq!(of(&["2012-01-31", "1999-12-31"]), DataType::Date32);
        assert_eq!(
            of(&["2012-01-31T14:05:00Z", "2012-02-01T00:00:00+02:00"]),
            utc
        );
        assert_eq!(of(&["2012-01-31 14:05:00", "2012-01-31"]), naive);
        assert_eq!(of(&["2012-01-31", "soon"]), DataType::Utf8);
        assert_eq!(of(&["2012-02-30"]), DataType::Utf8);
        assert_eq!(
            of(&["2012-01-31T14:05:00Z", "2012-01-31T14:05:00"]),
            DataType::Utf8
        );
        assert_eq!(of(&["20120131"]), DataType::Utf8);
        // Gaps and other fields change nothing; a field that is not text is left as inferred,
        // and a number or true/false beside dates keeps the column text.
        let with_false = [json!({ "x": "2012-01-31" }), json!({ "x": false })];
        assert_eq!(typed(&with_false, "x", DataType::Utf8), DataType::Utf8);
        let with_number = [json!({ "x": "2012-01-31" }), json!({ "x": 20120131 })];
        assert_eq!(typed(&with_number, "x", DataType::Utf8), DataType::Utf8);
        let records = [
            json!({ "x": "2012-01-31", "n": 1 }),
            json!({ "x": null }),
            json!({}),
        ];
        assert_eq!(typed(&records, "x", DataType::Utf8), DataType::Date32);
        assert_eq!(typed(&records, "n", DataType::Int64), DataType::Int64);
    }
}

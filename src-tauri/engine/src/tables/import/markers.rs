//! Missing-value markers (`NA`, `NaN`, `NULL`, …) applied to a CSV read after arrow-csv parsed
//! it, instead of by arrow-csv's null regex. The regex is tested against every cell of the
//! file, a fifth of a million-row import's time; most files hold no marker at all.
//!
//! Read without the regex, a marker either stays a text cell (set NULL here, once per text
//! column), or fails to parse in a typed column (the read is then done again with the regex),
//! or, as `NaN` in a number column, is read as NaN (the read is done again with the regex
//! when a NaN shows up). A marker that is a value of one of the file's types (`-999` in a
//! number column) could be none of these: such files are read with the regex from the start.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::csv::reader::Format;
use datafusion::arrow::csv::ReaderBuilder;
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Schema};
use datafusion::arrow::record_batch::RecordBatch;

use super::bad_value::BadValue;

/// The markers a read without the regex sets NULL afterwards.
pub(super) struct AfterRead {
    /// Markers by their length in bytes, so a cell is compared only with markers as long.
    by_len: Vec<Vec<Box<[u8]>>>,
    /// Whether a marker reads as NaN in a number column (`NaN`, `nan`, `-nan`).
    nan: bool,
}

/// A NaN in a number column of a read without the regex, where a marker reads as NaN: the
/// file must be read again with the regex.
#[derive(Debug)]
pub(super) struct NeedsRegex;

impl AfterRead {
    /// None when no marker needs looking for (then no regex is needed either) or when a
    /// marker is a value of one of `schema`'s typed columns (then only the regex tells it).
    pub(super) fn of(tokens: &[String], schema: &Schema) -> Option<AfterRead> {
        let tokens: Vec<&str> = tokens
            .iter()
            .map(String::as_str)
            .filter(|t| !t.is_empty())
            .collect();
        if tokens.is_empty() {
            return None;
        }
        let mut nan = false;
        let mut types: Vec<&DataType> = schema
            .fields()
            .iter()
            .map(|f| f.data_type())
            .filter(|t| **t != DataType::Utf8)
            .collect();
        // Each type once: a wide file has hundreds of columns of a few types.
        types.sort();
        types.dedup();
        for data_type in types {
            for value in read_as(&tokens, data_type)? {
                match value {
                    Parsed::NotAValue => {}
                    Parsed::NaN => nan = true,
                    Parsed::Value => return None,
                }
            }
        }
        let longest = tokens.iter().map(|t| t.len()).max().unwrap_or(0);
        let mut by_len = vec![Vec::new(); longest + 1];
        for t in tokens {
            by_len[t.len()].push(t.as_bytes().into());
        }
        Some(AfterRead { by_len, nan })
    }

    /// Whether `text` is a marker.
    pub(super) fn is(&self, text: &str) -> bool {
        self.by_len
            .get(text.len())
            .is_some_and(|same| same.iter().any(|m| **m == *text.as_bytes()))
    }

    /// `batch` with the marker cells of its text columns NULL.
    pub(super) fn apply(&self, batch: RecordBatch) -> Result<RecordBatch, NeedsRegex> {
        let mut columns: Option<Vec<ArrayRef>> = None;
        for (i, column) in batch.columns().iter().enumerate() {
            match column.data_type() {
                DataType::Utf8 => {
                    if let Some(nulled) = self.nulled(column.as_string::<i32>()) {
                        columns.get_or_insert_with(|| batch.columns().to_vec())[i] =
                            Arc::new(nulled);
                    }
                }
                DataType::Float64 if self.nan => {
                    let floats = column.as_primitive::<Float64Type>();
                    let nan = match floats.nulls() {
                        None => floats.values().iter().any(|v| v.is_nan()),
                        Some(_) => floats.iter().any(|v| v.is_some_and(f64::is_nan)),
                    };
                    if nan {
                        return Err(NeedsRegex);
                    }
                }
                _ => {}
            }
        }
        match columns {
            None => Ok(batch),
            Some(columns) => {
                Ok(RecordBatch::try_new(batch.schema(), columns).expect("the same columns"))
            }
        }
    }

    /// `texts` with its markers NULL, None when it holds none. Built anew, so a NULL holds
    /// no text (and takes no memory), as with the regex.
    fn nulled(&self, texts: &StringArray) -> Option<StringArray> {
        texts
            .iter()
            .flatten()
            .any(|t| self.is(t))
            .then(|| texts.iter().map(|t| t.filter(|t| !self.is(t))).collect())
    }
}

enum Parsed {
    /// Refused with an error naming it.
    NotAValue,
    NaN,
    /// Read as a value, or refused in words that do not name it.
    Value,
}

/// How arrow-csv reads each of `tokens` in a column of `data_type`, with no regex: the same
/// parser the read uses, so the answer is exact.
fn read_as(tokens: &[&str], data_type: &DataType) -> Option<Vec<Parsed>> {
    let schema = Arc::new(Schema::new(vec![Field::new("v", data_type.clone(), true)]));
    tokens
        .iter()
        .map(|token| {
            let cell = format!("\"{}\"\n", token.replace('"', "\"\""));
            let reader = ReaderBuilder::new(schema.clone())
                .with_format(Format::default().with_header(false))
                .build(cell.as_bytes())
                .ok()?;
            let batches = match reader.collect::<Result<Vec<RecordBatch>, _>>() {
                Ok(batches) => batches,
                // Only an error that names the marker lets the read tell it from a bad value.
                Err(e) => {
                    let named =
                        BadValue::parse(&e.to_string()).is_some_and(|bad| bad.value == *token);
                    return Some(if named {
                        Parsed::NotAValue
                    } else {
                        Parsed::Value
                    });
                }
            };
            let column = batches.first()?.column(0).clone();
            Some(match (column.is_null(0), data_type) {
                (true, _) => Parsed::NotAValue,
                (false, DataType::Float64)
                    if column.as_primitive::<Float64Type>().value(0).is_nan() =>
                {
                    Parsed::NaN
                }
                (false, _) => Parsed::Value,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::TimeUnit;

    fn tokens(t: &[&str]) -> Vec<String> {
        t.iter().map(|t| t.to_string()).collect()
    }

    fn schema(types: &[DataType]) -> Schema {
        Schema::new(
            types
                .iter()
                .enumerate()
                .map(|(i, t)| Field::new(format!("c{i}"), t.clone(), true))
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn the_default_markers_are_looked_for_after_the_read_in_every_column_type() {
        let every = schema(&[
            DataType::Int64,
            DataType::Float64,
            DataType::Boolean,
            DataType::Date32,
            DataType::Timestamp(TimeUnit::Microsecond, None),
            DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
            DataType::Utf8,
        ]);
        let markers = super::super::missing_default();
        let after = AfterRead::of(&markers, &every).expect("no default marker is a value");
        assert!(after.nan, "NaN reads as a float");
        assert!(after.is("NA") && after.is("#N/A N/A") && !after.is("") && !after.is("N"));
    }

    #[test]
    fn a_marker_that_is_a_value_of_a_column_type_is_left_to_the_regex() {
        let numbers = schema(&[DataType::Float64, DataType::Utf8]);
        assert!(AfterRead::of(&tokens(&["NA", "-999"]), &numbers).is_none());
        assert!(AfterRead::of(&tokens(&["NA", "inf"]), &numbers).is_none());
        // arrow-csv refuses this one in words that do not name it (a zone it cannot read).
        let times = schema(&[DataType::Timestamp(TimeUnit::Microsecond, None)]);
        assert!(AfterRead::of(&tokens(&["NA", "1900-01-01 00:00:00 unknown"]), &times).is_none());
        assert!(AfterRead::of(&tokens(&["NA"]), &times).is_some());
        let flags = schema(&[DataType::Boolean]);
        assert!(AfterRead::of(&tokens(&["TRUE"]), &flags).is_none());
        // Only text columns: any marker is looked for after the read.
        let texts = schema(&[DataType::Utf8]);
        assert!(AfterRead::of(&tokens(&["-999", "TRUE"]), &texts).is_some());
        assert!(
            AfterRead::of(&tokens(&[""]), &texts).is_none(),
            "nothing to look for"
        );
    }

    #[test]
    fn marker_cells_of_text_columns_become_null_and_a_nan_asks_for_the_regex() {
        let after =
            AfterRead::of(&tokens(&["NA", "nan"]), &schema(&[DataType::Float64])).expect("markers");
        let texts = StringArray::from(vec![Some("NA"), None, Some("NAN"), Some("nan"), Some("")]);
        let floats =
            datafusion::arrow::array::Float64Array::from(vec![Some(1.5), None, None, None, None]);
        let batch = |columns: Vec<ArrayRef>| {
            let fields: Vec<Field> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| Field::new(format!("c{i}"), c.data_type().clone(), true))
                .collect();
            RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
        };
        let read = after
            .apply(batch(vec![Arc::new(texts), Arc::new(floats.clone())]))
            .unwrap();
        let nulled = read.column(0).as_string::<i32>();
        let cells: Vec<Option<&str>> = nulled.iter().collect();
        assert_eq!(cells, [None, None, Some("NAN"), None, Some("")]);
        let nan = datafusion::arrow::array::Float64Array::from(vec![None, Some(f64::NAN)]);
        assert!(after.apply(batch(vec![Arc::new(nan)])).is_err());
        let unchanged = after.apply(batch(vec![Arc::new(floats)])).unwrap();
        assert_eq!(unchanged.num_rows(), 5);
    }

    /// What arrow-csv reads with the regex, given the columns Quire read with.
    fn with_regex(
        path: &std::path::Path,
        schema: datafusion::arrow::datatypes::SchemaRef,
    ) -> Option<RecordBatch> {
        let markers = super::super::missing_default();
        let alternatives: Vec<String> = std::iter::once(String::new())
            .chain(markers.iter().map(|t| regex::escape(t)))
            .collect();
        let regex = regex::Regex::new(&format!("^(?:{})$", alternatives.join("|"))).unwrap();
        let reader = ReaderBuilder::new(schema.clone())
            .with_format(Format::default().with_header(true).with_null_regex(regex))
            .build(std::fs::File::open(path).unwrap())
            .unwrap();
        let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().ok()?;
        Some(datafusion::arrow::compute::concat_batches(&schema, &batches).unwrap())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(96))]
        #[test]
        fn markers_set_null_after_the_read_give_what_the_regex_gives(
            kinds in proptest::collection::vec(0usize..5, 1..4),
            rows in proptest::collection::vec(
                proptest::collection::vec((proptest::bool::weighted(0.2), 0usize..9), 3), 1..30),
        ) {
            let pools: [&[&str]; 5] = [
                &["1", "-7", "42"],
                &["2.5", "-0.25", "1e3"],
                &["true", "false"],
                &["2026-01-02", "1999-12-31"],
                &["x", "NAN", "N", "\"NA,\""],
            ];
            let markers = ["NA", "nan", "NaN", "", "\"NA\"", "N/A", "-nan", "#N/A N/A", "null"];
            let mut text = (0..kinds.len()).map(|i| format!("c{i}")).collect::<Vec<_>>().join(",");
            text.push('\n');
            for row in &rows {
                let cells: Vec<&str> = kinds.iter().zip(row).map(|(&kind, &(marker, pick))| {
                    if marker { markers[pick] } else { pools[kind][pick % pools[kind].len()] }
                }).collect();
                text.push_str(&cells.join(","));
                text.push('\n');
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("t.csv");
            std::fs::write(&path, &text).unwrap();
            let budget = crate::tables::Limits::default().budget("the file");
            let cancel = tokio_util::sync::CancellationToken::new();
            let read = super::super::read(&path, None, None, &|_| {}, &cancel, &budget);
            let Ok(read) = read else {
                // Only a file the regex cannot read either may be refused.
                proptest::prop_assert!(false, "refused: {text}");
                unreachable!()
            };
            let quire = datafusion::arrow::compute::concat_batches(&read.schema, &read.batches).unwrap();
            let expected = with_regex(&path, read.schema.clone());
            proptest::prop_assert_eq!(Some(quire), expected, "{}", text);
        }
    }
}

//! Hive-style partition folders (`sales/year=2024/month=01/part-0.parquet`, as Spark, Hive,
//! pyarrow and DuckDB write them): when every file of a linked folder lies under folders that
//! are all `key=value`, with the same keys in the same order, each key is a column of the table,
//! after the files' own columns (where DuckDB and pyarrow put them), its value read from the
//! file's path. A key whose every value is a whole number is a BIGINT column, any other a text
//! one; values are percent-decoded (`a%2Fb` is `a/b`), and Hive's
//! `__HIVE_DEFAULT_PARTITION__` is a missing value.

use std::sync::Arc;

use datafusion::arrow::array::{new_null_array, ArrayRef};
use datafusion::arrow::datatypes::{DataType, Field, SchemaRef};
use datafusion::common::ScalarValue;

/// Hive's name for a missing partition value.
const MISSING: &str = "__HIVE_DEFAULT_PARTITION__";

/// The partition columns of a linked folder and each file's values.
#[derive(Debug, Clone)]
pub struct Partitioning {
    pub fields: Vec<Field>,
    /// One row per file, in the files' order: a value per field.
    pub values: Vec<Vec<ScalarValue>>,
}

/// The partitioning the files' folders show, if they all show the same keys. `folders` holds,
/// per file, the names of the folders between the linked folder and the file.
pub fn detect(folders: &[Vec<String>]) -> Option<Partitioning> {
    let mut keys: Option<Vec<String>> = None;
    let mut raw: Vec<Vec<Option<String>>> = Vec::with_capacity(folders.len());
    for path in folders {
        if path.is_empty() {
            return None;
        }
        let mut these = Vec::with_capacity(path.len());
        let mut values = Vec::with_capacity(path.len());
        for folder in path {
            let (key, value) = folder.split_once('=')?;
            if key.is_empty() {
                return None;
            }
            these.push(decode(key));
            let value = decode(value);
            values.push((value != MISSING).then_some(value));
        }
        match &keys {
            None => keys = Some(these),
            Some(k) if *k != these => return None,
            Some(_) => {}
        }
        raw.push(values);
    }
    let keys = keys?;
    let whole: Vec<bool> = (0..keys.len())
        .map(|i| {
            raw.iter()
                .filter_map(|values| values[i].as_deref())
                .all(|v| v.parse::<i64>().is_ok())
        })
        .collect();
    let fields = keys
        .iter()
        .zip(&whole)
        .map(|(key, &whole)| {
            let kind = if whole {
                DataType::Int64
            } else {
                DataType::Utf8
            };
            Field::new(key, kind, true)
        })
        .collect();
    let values = raw
        .into_iter()
        .map(|values| {
            values
                .into_iter()
                .zip(&whole)
                .map(|(value, &whole)| match (value, whole) {
                    (None, true) => ScalarValue::Int64(None),
                    (None, false) => ScalarValue::Utf8(None),
                    (Some(v), true) => ScalarValue::Int64(v.parse().ok()),
                    (Some(v), false) => ScalarValue::Utf8(Some(v)),
                })
                .collect()
        })
        .collect();
    Some(Partitioning { fields, values })
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

impl Partitioning {
    /// A key that is also a column of the files: the link would show two columns of one name.
    pub fn clash(&self, files: &SchemaRef) -> Option<&str> {
        self.fields
            .iter()
            .map(|f| f.name().as_str())
            .find(|name| files.field_with_name(name).is_ok())
    }

    /// The columns of file `file`'s values for `rows` rows.
    pub fn columns(&self, file: usize, rows: usize) -> Vec<ArrayRef> {
        self.values[file]
            .iter()
            .zip(&self.fields)
            .map(|(value, field)| {
                value
                    .to_array_of_size(rows)
                    .unwrap_or_else(|_| new_null_array(field.data_type(), rows))
            })
            .collect()
    }
}

/// The table's schema: the files' columns, then the partition keys.
pub fn schema_with(files: &SchemaRef, partitioning: Option<&Partitioning>) -> SchemaRef {
    let Some(p) = partitioning else {
        return files.clone();
    };
    let mut fields: Vec<Field> = files.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.extend(p.fields.iter().cloned());
    Arc::new(datafusion::arrow::datatypes::Schema::new_with_metadata(
        fields,
        files.metadata().clone(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(list: &[&str]) -> Vec<Vec<String>> {
        list.iter()
            .map(|p| p.split('/').map(String::from).collect())
            .collect()
    }

    #[test]
    fn keys_in_every_path_are_columns_typed_by_their_values() {
        let p = detect(&paths(&[
            "year=2024/city=Lyon",
            "year=2024/city=Saint%20%C3%89tienne",
            "year=2025/city=__HIVE_DEFAULT_PARTITION__",
        ]))
        .unwrap();
        assert_eq!(p.fields[0], Field::new("year", DataType::Int64, true));
        assert_eq!(p.fields[1], Field::new("city", DataType::Utf8, true));
        assert_eq!(
            p.values[1][1],
            ScalarValue::Utf8(Some("Saint Étienne".into()))
        );
        assert_eq!(p.values[2][1], ScalarValue::Utf8(None));
        assert_eq!(p.values[2][0], ScalarValue::Int64(Some(2025)));
    }

    #[test]
    fn folders_that_are_not_all_keys_are_plain_folders() {
        assert!(detect(&paths(&["year=2024", "2025"])).is_none());
        assert!(detect(&paths(&["year=2024", "month=1"])).is_none());
        assert!(detect(&[Vec::new()]).is_none(), "a file at the top");
        assert!(detect(&paths(&["=1"])).is_none());
        // A value that is not a whole number makes the column text.
        let p = detect(&paths(&["v=1", "v=1.5"])).unwrap();
        assert_eq!(p.fields[0].data_type(), &DataType::Utf8);
    }
}

//! Table names: SQL identifiers the user can type unquoted, checked before anything is created.

use super::TableError;

/// `name` as a quoted SQL identifier, whatever characters it holds.
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Longest table name, in characters.
pub const MAX_NAME_CHARS: usize = 63;

/// Words that would need quoting in every query; refused so a table is always easy to type.
const RESERVED: &[&str] = &[
    "all",
    "and",
    "as",
    "asc",
    "between",
    "by",
    "case",
    "cast",
    "create",
    "cross",
    "delete",
    "desc",
    "distinct",
    "drop",
    "else",
    "end",
    "except",
    "exists",
    "false",
    "from",
    "full",
    "group",
    "having",
    "in",
    "inner",
    "insert",
    "intersect",
    "into",
    "is",
    "join",
    "left",
    "like",
    "limit",
    "not",
    "null",
    "offset",
    "on",
    "or",
    "order",
    "outer",
    "right",
    "select",
    "set",
    "table",
    "then",
    "true",
    "union",
    "update",
    "using",
    "values",
    "when",
    "where",
    "with",
];

/// Checks a table name: a letter or `_`, then letters, digits or `_`; lowercase ASCII so that
/// SQL, file names and every platform agree; not a reserved word.
pub fn validate(name: &str) -> Result<String, TableError> {
    let bad = |why: &str| TableError::InvalidName {
        name: name.to_string(),
        why: why.to_string(),
    };
    if name.is_empty() {
        return Err(bad("a table needs a name"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(bad(&format!("use at most {MAX_NAME_CHARS} characters")));
    }
    // The name an import would have made of it ("Monthly rain" → monthly_rain), offered.
    let instead = || format!(", such as {}", from_file_stem(name));
    let mut chars = name.chars();
    let first = chars.next().unwrap_or('_');
    if !(first.is_ascii_lowercase() || first == '_') {
        return Err(bad(&format!(
            "start with a lowercase letter or _{}",
            instead()
        )));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        return Err(bad(&format!(
            "{c:?} is not allowed: use lowercase letters, digits and _{}",
            instead()
        )));
    }
    if RESERVED.contains(&name) {
        return Err(bad("that is an SQL keyword"));
    }
    // The name becomes `<name>.<generation>.parquet`, which Windows cannot create for these.
    if crate::workspace::is_windows_reserved(name) {
        return Err(bad(
            "that is a device name on Windows, where it cannot name a file",
        ));
    }
    Ok(name.to_string())
}

/// A valid table name made from a file name: `Sales 2026.csv` becomes `sales_2026`.
pub fn from_file_stem(stem: &str) -> String {
    let mut out = String::new();
    for c in stem.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let mut out = out
        .trim_matches('_')
        .chars()
        .take(MAX_NAME_CHARS - 2)
        .collect::<String>();
    if out.is_empty()
        || out.starts_with(|c: char| c.is_ascii_digit())
        || RESERVED.contains(&out.as_str())
        || crate::workspace::is_windows_reserved(&out)
    {
        out = format!("t_{out}");
    }
    out.trim_end_matches('_').to_string()
}

/// A schema whose column names are unique, or `None` when they already are. A join's
/// `SELECT *` repeats names (`year` from both sides); such a table could never be queried
/// (every reference is ambiguous), so a repeated name gets the first free `_2`, `_3`, ... suffix,
/// and so does a column named as Quire's own row id column. Names are compared with their case, as SQL does (`p95` and `P95` are two columns).
pub fn unique_columns(
    schema: &datafusion::arrow::datatypes::Schema,
) -> Option<datafusion::arrow::datatypes::SchemaRef> {
    use std::collections::HashSet;
    let key = |s: &str| s.to_string();
    let reserved = super::table::ROW_ID_COLUMN;
    let mut all: HashSet<String> = schema.fields().iter().map(|f| key(f.name())).collect();
    if all.len() == schema.fields().len() && !all.contains(reserved) {
        return None;
    }
    // Quire's row id column is added to every table: a column of the same name is renamed.
    all.insert(key(reserved));
    let mut seen = HashSet::from([key(reserved)]);
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .map(|f| {
            if seen.insert(key(f.name())) {
                return f.as_ref().clone();
            }
            let name = (2..)
                .map(|n| format!("{}_{n}", f.name()))
                .find(|candidate| !all.contains(&key(candidate)))
                .unwrap_or_else(|| f.name().clone());
            all.insert(key(&name));
            seen.insert(key(&name));
            f.as_ref().clone().with_name(name)
        })
        .collect();
    Some(std::sync::Arc::new(
        datafusion::arrow::datatypes::Schema::new_with_metadata(fields, schema.metadata().clone()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorCode, HasCode};

    #[test]
    fn names_are_plain_identifiers() {
        assert_eq!(validate("sales_2026").unwrap(), "sales_2026");
        assert_eq!(validate("_tmp").unwrap(), "_tmp");
        for bad in [
            "",
            "Sales",
            "2026",
            "a-b",
            "a b",
            "select",
            "x;drop",
            "é",
            "con",
            "nul",
            "com1",
            "lpt9",
            &"a".repeat(64),
        ] {
            let err = validate(bad).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidTableName, "{bad:?}");
        }
        // A name an import would have turned into a valid one is offered that one.
        for (typed, offered) in [("monthly rain", "monthly_rain"), ("Sales", "sales")] {
            let err = validate(typed).unwrap_err().to_string();
            assert!(err.ends_with(&format!("such as {offered}")), "{err}");
            assert!(validate(offered).is_ok());
        }
    }

    #[test]
    fn file_stems_become_valid_names() {
        assert_eq!(from_file_stem("Sales 2026"), "sales_2026");
        assert_eq!(from_file_stem("2026-report"), "t_2026_report");
        assert_eq!(from_file_stem("select"), "t_select");
        assert_eq!(from_file_stem("ünï"), "n");
        assert_eq!(from_file_stem("---"), "t");
        assert_eq!(from_file_stem("CON"), "t_con");
        assert_eq!(from_file_stem("aux"), "t_aux");
        for stem in [
            "Sales 2026",
            "2026-report",
            "select",
            "---",
            "ünï",
            "Nul",
            "com3",
        ] {
            validate(&from_file_stem(stem)).unwrap();
        }
    }

    #[test]
    fn repeated_column_names_get_the_first_free_suffix() {
        use datafusion::arrow::datatypes::{DataType, Field, Schema};
        let schema = Schema::new(vec![
            Field::new("year", DataType::Int64, true),
            Field::new("tailnum", DataType::Utf8, true),
            Field::new("year_2", DataType::Int64, true),
            Field::new("Year", DataType::Int64, true),
            Field::new("tailnum", DataType::Utf8, true),
            Field::new("year", DataType::Int64, true),
        ]);
        let unique = unique_columns(&schema).expect("renamed");
        let names: Vec<&str> = unique.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names,
            ["year", "tailnum", "year_2", "Year", "tailnum_2", "year_3"]
        );
        assert!(unique_columns(&unique).is_none());
    }
}

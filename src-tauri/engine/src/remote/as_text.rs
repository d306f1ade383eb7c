//! Postgres values `datafusion-table-providers` 0.15 reads wrong travel as text, and arrow
//! reads them instead:
//!
//! - a `numeric`: the provider decodes it through `rust_decimal`, which holds 28 significant
//!   digits, so a `numeric(38,10)` with more was silently rounded (a wrong answer), and an
//!   unconstrained one with more failed the whole query;
//! - an array with a NULL element: the provider reads `Vec<T>`, so any NULL inside failed the
//!   query ("error deserializing column").
//!
//! - `money`: mapped to a whole number of cents (12.34 read as 1234);
//! - a type it has no Arrow match for, or cannot decode (`inet`, `macaddr`, `xml`, `bit`,
//!   `tsvector`, ranges, `timetz`, arrays of date-times…): a query naming one failed, and one
//!   it cannot map at all made the whole table unreadable.
//!
//! [`readable`] gives a table's schema those columns as Quire reads them: a `money` a decimal of
//! two places, the others text (as `psql` shows them), marked to travel as text. The provider's
//! `SELECT "a", "b" FROM … WHERE … LIMIT …` is parsed and each such column asked for as
//! `"a"::numeric::text` (a number as Postgres writes it, every digit), `format('%s', "b")` or
//! `array_to_json("c")::text` (a JSON array, NULLs as `null`), under its own name; each batch then
//! gets the column back in its declared type: the text cast by arrow (exactly, or an error naming
//! the value that does not fit), the JSON read by arrow's JSON reader. A query of another shape
//! is sent as it was.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::{cast_with_options, CastOptions};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::sql::sqlparser::ast::{Expr, SelectItem, SetExpr, Statement};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

/// How a column travels instead of as itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carried {
    /// `::numeric::text`, cast back to its decimal type.
    Number,
    /// `array_to_json(…)::text`, read back as its list type.
    Json,
    /// As its type's output writes it (`format('%s', …)`), and kept as text.
    Text,
}

/// The field metadata key marking a column [`readable`] made text.
const AS_TEXT: &str = "quire.as_text";

/// One column of a table as Postgres's catalog gives it: name, type (`format_type`), nullable.
pub(super) type Listed = (String, String, bool);

/// The catalog query listing `table`'s columns in order, for [`readable`].
pub(super) fn columns_query(schema: Option<&str>, table: &str) -> String {
    let quoted = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
    let name = match schema {
        Some(schema) => format!("{}.{}", quoted(schema), quoted(table)),
        None => quoted(table),
    };
    format!(
        "SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod)::text AS type, \
         NOT a.attnotnull AS nullable FROM pg_attribute a WHERE a.attrelid = to_regclass('{}') \
         AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        name.replace('\'', "''")
    )
}

/// `known` (the provider's schema, which leaves out columns of a type it cannot map) with every
/// column `listed` has, in its order: those the provider reads wrong or not at all as Quire
/// reads them (see the module's notes).
pub(super) fn readable(known: &Schema, listed: &[Listed]) -> SchemaRef {
    let fields: Vec<Field> = listed
        .iter()
        .map(|(name, pg_type, nullable)| {
            let known = known.field_with_name(name).ok();
            let source = [(
                datafusion_table_providers_common::SOURCE_TYPE_METADATA_KEY.to_string(),
                pg_type.clone(),
            )];
            if pg_type == "money" {
                return Field::new(name, DataType::Decimal128(19, 2), *nullable)
                    .with_metadata(source.into_iter().collect());
            }
            match known {
                Some(field) if !needs_text(pg_type, field.data_type()) => field.clone(),
                _ => Field::new(name, DataType::Utf8, *nullable).with_metadata(
                    source
                        .into_iter()
                        .chain([(AS_TEXT.to_string(), "text".to_string())])
                        .collect(),
                ),
            }
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, known.metadata().clone()))
}

/// Whether a column of Postgres type `pg_type`, which the provider maps to `mapped`, must be
/// read as text: a type whose values the provider cannot decode, or an array whose elements
/// the JSON reader cannot read.
fn needs_text(pg_type: &str, mapped: &DataType) -> bool {
    let base = pg_type.split('(').next().unwrap_or(pg_type).trim();
    if base.ends_with("[]") {
        return !matches!(mapped, DataType::List(item) if json_element(item.data_type()));
    }
    matches!(
        base,
        "inet"
            | "cidr"
            | "macaddr"
            | "macaddr8"
            | "xml"
            | "tsvector"
            | "tsquery"
            | "bit"
            | "bit varying"
            | "time with time zone"
            | "line"
            | "lseg"
            | "box"
            | "path"
            | "polygon"
            | "circle"
    ) || base.ends_with("range")
}

/// The columns of one query that travel as text, by name, with the type each is read back as.
#[derive(Debug, Default)]
pub(super) struct AsText {
    columns: Vec<(String, Field, Carried)>,
}

impl AsText {
    /// `sql` with the columns Quire reads itself asked for as text, and what to read them back
    /// as; None when no column needs it (or the query is not of the provider's shape).
    pub(super) fn rewrite(sql: &str, schema: &Schema) -> Option<(String, AsText)> {
        let dialect = PostgreSqlDialect {};
        let mut statements = Parser::parse_sql(&dialect, sql).ok()?;
        let [Statement::Query(query)] = statements.as_mut_slice() else {
            return None;
        };
        let SetExpr::Select(select) = query.body.as_mut() else {
            return None;
        };
        let mut columns = Vec::new();
        for item in select.projection.iter_mut() {
            // `"big"` or, as the provider writes it, `"exact"."big"`.
            let (column, name) = match item {
                SelectItem::UnnamedExpr(Expr::Identifier(name)) => (name.to_string(), name.clone()),
                SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => match parts.last() {
                    Some(name) => (
                        parts
                            .iter()
                            .map(|p| p.to_string())
                            .collect::<Vec<_>>()
                            .join("."),
                        name.clone(),
                    ),
                    None => continue,
                },
                _ => continue,
            };
            let Ok(field) = schema.field_with_name(&name.value) else {
                continue;
            };
            let Some(carried) = carried(field) else {
                continue;
            };
            let text = match carried {
                Carried::Number => format!("{column}::numeric::text"),
                Carried::Json => format!("array_to_json({column})::text"),
                // The type's own output, as psql shows it (`inet`'s `::text` adds `/32`);
                // format() makes NULL empty text, so NULL stays NULL apart.
                Carried::Text => {
                    format!("CASE WHEN {column} IS NULL THEN NULL ELSE format('%s', {column}) END")
                }
            };
            let expr = Parser::new(&dialect)
                .try_with_sql(&text)
                .and_then(|mut p| p.parse_expr())
                .ok()?;
            *item = SelectItem::ExprWithAlias {
                expr,
                alias: name.clone(),
            };
            columns.push((name.value.clone(), field.clone(), carried));
        }
        if columns.is_empty() {
            return None;
        }
        Some((statements[0].to_string(), AsText { columns }))
    }

    /// `projected` with each column carried as text typed as text: what the provider is told
    /// to expect (told a list, it would read the JSON text itself, as the provider does).
    pub(super) fn sent(&self, projected: &Schema) -> SchemaRef {
        let fields: Vec<Field> = projected
            .fields()
            .iter()
            .map(
                |f| match self.columns.iter().any(|(name, ..)| name == f.name()) {
                    true => Field::new(f.name(), DataType::Utf8, true),
                    false => f.as_ref().clone(),
                },
            )
            .collect();
        Arc::new(Schema::new_with_metadata(
            fields,
            projected.metadata().clone(),
        ))
    }

    /// The schema of the batches once read back: `sent`'s, with each column carried as text
    /// in its own type again.
    pub(super) fn schema(&self, sent: &Schema) -> SchemaRef {
        let fields: Vec<Field> = sent
            .fields()
            .iter()
            .map(
                |f| match self.columns.iter().find(|(name, ..)| name == f.name()) {
                    Some((_, wanted, _)) => wanted.clone().with_nullable(true),
                    None => f.as_ref().clone(),
                },
            )
            .collect();
        Arc::new(Schema::new_with_metadata(fields, sent.metadata().clone()))
    }

    /// `batch` with each column that came as text read back into `schema` (from
    /// [`AsText::schema`]).
    pub(super) fn read_back(
        &self,
        batch: RecordBatch,
        schema: &SchemaRef,
    ) -> Result<RecordBatch, ArrowError> {
        let mut columns = batch.columns().to_vec();
        for (name, wanted, carried) in &self.columns {
            let Ok(at) = batch.schema().index_of(name) else {
                continue;
            };
            let text = &columns[at];
            columns[at] = match carried {
                Carried::Number => number(text, wanted)?,
                Carried::Json => json_list(text, wanted)?,
                Carried::Text => text.clone(),
            };
        }
        RecordBatch::try_new(schema.clone(), columns)
    }
}

/// How `field` must travel, if not as itself.
fn carried(field: &Field) -> Option<Carried> {
    if field.metadata().contains_key(AS_TEXT) {
        return Some(Carried::Text);
    }
    match field.data_type() {
        DataType::Decimal128(..) => Some(Carried::Number),
        DataType::List(item) if json_element(item.data_type()) => Some(Carried::Json),
        _ => None,
    }
}

/// Element types arrow's JSON reader reads from what `array_to_json` writes.
fn json_element(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Boolean
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Float32
            | DataType::Float64
            | DataType::Utf8
            | DataType::Decimal128(..)
    )
}

/// Numbers as Postgres wrote them, in `wanted`'s decimal type: every digit kept, and a value
/// it cannot hold (more digits before the point, NaN, infinity) an error naming it.
fn number(text: &ArrayRef, wanted: &Field) -> Result<ArrayRef, ArrowError> {
    let strict = CastOptions {
        safe: false,
        ..Default::default()
    };
    cast_with_options(text, wanted.data_type(), &strict).map_err(|_| {
        let first = (0..text.len()).find_map(|i| {
            let one = text.slice(i, 1);
            cast_with_options(&one, wanted.data_type(), &strict)
                .is_err()
                .then(|| text.as_string::<i32>().value(i).to_string())
        });
        let (precision, scale) = match wanted.data_type() {
            DataType::Decimal128(p, s) => (*p, *s),
            _ => unreachable!("numbers are read back as decimals"),
        };
        ArrowError::CastError(format!(
            "column {} holds {}, which Quire cannot read as a number of {precision} digits with \
             {scale} after the point; CAST it to text (or to double precision) in a view in \
             the database to read it",
            wanted.name(),
            first.unwrap_or_else(|| "a value".into()),
        ))
    })
}

/// JSON arrays (`[1,null,3]`) read as `wanted`'s list type; a missing array stays missing.
fn json_list(text: &ArrayRef, wanted: &Field) -> Result<ArrayRef, ArrowError> {
    let text = text.as_string::<i32>();
    let field = Field::new("v", wanted.data_type().clone(), true);
    let mut decoder = arrow_json::ReaderBuilder::new(Arc::new(Schema::new(vec![field])))
        .with_batch_size(text.len().max(1))
        .build_decoder()?;
    let mut lines = String::with_capacity(text.value_data().len() + 8 * text.len());
    for value in text.iter() {
        lines.push_str("{\"v\":");
        lines.push_str(value.unwrap_or("null"));
        lines.push_str("}\n");
    }
    decoder.decode(lines.as_bytes())?;
    let read = decoder
        .flush()?
        .ok_or_else(|| ArrowError::JsonError("no rows were read".into()))?;
    Ok(read.column(0).clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringArray;

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("id", DataType::Int32, true),
            Field::new("big", DataType::Decimal128(38, 10), true),
            Field::new(
                "arr",
                DataType::List(Arc::new(Field::new("item", DataType::Int32, true))),
                true,
            ),
            Field::new("Note", DataType::Utf8, true),
        ])
    }

    #[test]
    fn numbers_and_arrays_are_asked_for_as_text_under_their_own_names() {
        let (sql, _) = AsText::rewrite(
            r#"SELECT "id", "big", "arr", "Note" FROM "public"."misc" WHERE ("id" > 1) LIMIT 3"#,
            &schema(),
        )
        .unwrap();
        assert_eq!(
            sql,
            r#"SELECT "id", "big"::NUMERIC::TEXT AS "big", array_to_json("arr")::TEXT AS "arr", "Note" FROM "public"."misc" WHERE ("id" > 1) LIMIT 3"#
        );
        // As the provider writes it: each column named with its table.
        let (sql, _) = AsText::rewrite(
            r#"SELECT "misc"."id", "misc"."big" FROM "public"."misc" WHERE "misc"."big" IS NOT NULL"#,
            &schema(),
        )
        .unwrap();
        assert_eq!(
            sql,
            r#"SELECT "misc"."id", "misc"."big"::NUMERIC::TEXT AS "big" FROM "public"."misc" WHERE "misc"."big" IS NOT NULL"#
        );
        assert!(AsText::rewrite(r#"SELECT "id", "Note" FROM "t""#, &schema()).is_none());
        assert!(AsText::rewrite("not sql at all", &schema()).is_none());
    }

    #[test]
    fn text_is_read_back_exactly_or_refused_in_words() {
        let schema = Arc::new(schema());
        let (_, as_text) = AsText::rewrite(r#"SELECT "big", "arr" FROM "misc""#, &schema).unwrap();
        let sent = Schema::new(vec![
            Field::new("big", DataType::Utf8, true),
            Field::new("arr", DataType::Utf8, true),
        ]);
        let back = as_text.schema(&sent);
        let batch = RecordBatch::try_new(
            Arc::new(sent.clone()),
            vec![
                Arc::new(StringArray::from(vec![
                    Some("12345678901234567890.0123456789"),
                    None,
                    Some("-0.5000000000"),
                ])),
                Arc::new(StringArray::from(vec![
                    Some("[1,null,3]"),
                    None,
                    Some("[]"),
                ])),
            ],
        )
        .unwrap();
        let read = as_text.read_back(batch, &back).unwrap();
        let shown = datafusion::arrow::util::pretty::pretty_format_batches(&[read])
            .unwrap()
            .to_string();
        assert!(
            shown.contains("| 12345678901234567890.0123456789 | [1, , 3] |"),
            "{shown}"
        );
        assert!(
            shown.contains("| -0.5000000000                   | []       |"),
            "{shown}"
        );
        let too_big = RecordBatch::try_new(
            Arc::new(sent),
            vec![
                Arc::new(StringArray::from(vec![Some("1.5"), Some("NaN")])),
                Arc::new(StringArray::from(vec![None::<&str>, None])),
            ],
        )
        .unwrap();
        let e = as_text.read_back(too_big, &back).unwrap_err().to_string();
        assert!(e.contains("column big holds NaN"), "{e}");
    }
}

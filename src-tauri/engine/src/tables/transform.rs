//! Transforms: the cleaning operations users expect (per-column expressions, filter rows,
//! remove duplicates, rename / drop / add a column), each producing a new version that shares
//! what it did not change: a column expression replaces one column's arrays and keeps the
//! others; a filter keeps every batch it removes nothing from.
//!
//! Expressions are SQL (DataFusion), evaluated batch by batch against the table's columns, so
//! the row order and the row ids are kept and progress and cancellation work per batch.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, UInt64Array};
use datafusion::arrow::compute::{filter, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::common::DFSchema;
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::ExprSchemable;
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::table::{TableVersion, ROW_ID_COLUMN};
use super::TableError;

/// One transform, serialisable so the task store can journal it and replay it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Transform {
    /// Replaces a column's values with a SQL expression over the row, e.g. `trim(city)`,
    /// `upper(city)`, `replace(city, 'St.', 'Saint')`, `CAST(amount AS BIGINT)`,
    /// `coalesce(amount, 0)`, `split_part(name, ' ', 1)`.
    SetColumn {
        column: String,
        expr: String,
    },
    /// Adds a column computed by a SQL expression.
    AddColumn {
        column: String,
        expr: String,
    },
    /// Keeps the rows for which the SQL predicate is true.
    FilterRows {
        predicate: String,
    },
    /// Keeps the first row of each group of rows equal on `columns` (all columns when empty).
    RemoveDuplicates {
        columns: Vec<String>,
    },
    RenameColumn {
        column: String,
        to: String,
    },
    DropColumn {
        column: String,
    },
}

use super::sql::ident as quote;

impl Transform {
    /// The transform as SQL over the table, for the history list and the journal.
    pub fn to_sql(&self, table: &str) -> String {
        let t = quote(table);
        match self {
            Transform::SetColumn { column, expr } => {
                format!("UPDATE {t} SET {} = {expr}", quote(column))
            }
            Transform::AddColumn { column, expr } => {
                format!("ALTER TABLE {t} ADD COLUMN {} AS ({expr})", quote(column))
            }
            Transform::FilterRows { predicate } => {
                // NULL (unknown) keeps no row, as in a WHERE: the rows deleted are those where
                // the condition is not true, missing values included.
                format!("DELETE FROM {t} WHERE ({predicate}) IS NOT TRUE")
            }
            Transform::RemoveDuplicates { columns } if columns.is_empty() => {
                format!("DELETE duplicate rows FROM {t}")
            }
            Transform::RemoveDuplicates { columns } => format!(
                "DELETE duplicate rows FROM {t} ON ({})",
                columns
                    .iter()
                    .map(|c| quote(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Transform::RenameColumn { column, to } => {
                format!(
                    "ALTER TABLE {t} RENAME COLUMN {} TO {}",
                    quote(column),
                    quote(to)
                )
            }
            Transform::DropColumn { column } => {
                format!("ALTER TABLE {t} DROP COLUMN {}", quote(column))
            }
        }
    }

    /// A few words for the history list.
    pub fn label(&self) -> String {
        match self {
            Transform::SetColumn { column, expr } => format!("Set {column} = {expr}"),
            Transform::AddColumn { column, expr } => format!("Add column {column} = {expr}"),
            Transform::FilterRows { predicate } => format!("Keep rows where {predicate}"),
            Transform::RemoveDuplicates { columns } if columns.is_empty() => {
                "Remove duplicate rows".into()
            }
            Transform::RemoveDuplicates { columns } => {
                format!("Remove duplicates on {}", columns.join(", "))
            }
            Transform::RenameColumn { column, to } => format!("Rename {column} to {to}"),
            Transform::DropColumn { column } => format!("Drop column {column}"),
        }
    }
}

fn invalid(column: &str, message: String) -> TableError {
    TableError::InvalidValue {
        column: column.to_string(),
        message,
    }
}

fn column_index(schema: &Schema, column: &str) -> Result<usize, TableError> {
    schema
        .index_of(column)
        .map_err(|_| TableError::Column(format!("the table has no column {column:?}")))
}

fn check_new_name(schema: &Schema, name: &str) -> Result<(), TableError> {
    if name.trim().is_empty() || name == ROW_ID_COLUMN {
        return Err(TableError::Column(format!("{name:?} cannot name a column")));
    }
    if schema.index_of(name).is_ok() {
        return Err(TableError::Column(format!(
            "the table already has a column {name:?}"
        )));
    }
    Ok(())
}

/// A SQL expression compiled against the table's columns.
struct Compiled {
    expr: Arc<dyn PhysicalExpr>,
    data_type: DataType,
    nullable: bool,
}

fn compile(schema: &SchemaRef, sql: &str) -> Result<Compiled, TableError> {
    super::parse_guard::check(sql)?;
    let ctx = SessionContext::new();
    let df_schema = Arc::new(DFSchema::try_from(schema.as_ref().clone())?);
    let expr = ctx.parse_sql_expr(sql, &df_schema)?;
    // Some functions exist only as rewrites (`coalesce`, `nvl` become CASE): the planner runs
    // the simplifier before evaluating, and so must an expression evaluated outside a plan.
    let simplifier = ExprSimplifier::new(
        SimplifyContext::builder()
            .with_schema(df_schema.clone())
            .build(),
    );
    // Checked before the simplifier folds constants, which it would do wrapping around.
    let expr =
        super::checked_arithmetic::checked(simplifier.coerce(expr, &df_schema)?, &df_schema)?;
    let expr = simplifier.simplify(expr)?;
    let (_, field) = expr.to_field(&df_schema)?;
    let (data_type, nullable) = (field.data_type().clone(), field.is_nullable());
    let expr = ctx.create_physical_expr(expr, &df_schema)?;
    Ok(Compiled {
        expr,
        data_type,
        nullable,
    })
}

/// `predicate` compiled as a condition over the columns `schema`; refused in words when it is
/// not SQL, names no such column, or gives something other than true or false.
fn condition(schema: &SchemaRef, predicate: &str) -> Result<Compiled, TableError> {
    let c = compile(schema, predicate)?;
    if c.data_type != DataType::Boolean {
        return Err(TableError::Sql {
            message: format!(
                "{predicate:?} is not a condition: it gives {}, not true or false (a \
                 comparison such as amount > 0 is one)",
                super::edit::describe_type(&c.data_type)
            ),
            line: None,
            column: None,
        });
    }
    Ok(c)
}

/// Checks a "keep rows where" condition against the columns `schema` (for a table whose rows
/// are filtered elsewhere: a linked table's, through DataFusion).
pub fn check_condition(schema: &SchemaRef, predicate: &str) -> Result<(), TableError> {
    condition(schema, predicate).map(|_| ())
}

/// The kind of value a column holds, as far as a value of another type may stand for it: a
/// whole number of any width or sign, a number (floats, decimals), text (also dictionary
/// encoded), true or false, a date, a date and time, a time of day. None for the rest (lists,
/// structs, bytes), which cannot be typed into a cell.
fn family(t: &DataType) -> Option<&'static str> {
    Some(match t {
        t if t.is_integer() => "whole",
        t if t.is_numeric() => "number",
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "text",
        DataType::Dictionary(_, value) => family(value).filter(|f| *f == "text")?,
        DataType::Boolean => "boolean",
        DataType::Date32 | DataType::Date64 => "date",
        DataType::Timestamp(_, _) => "timestamp",
        DataType::Time32(_) | DataType::Time64(_) => "time",
        _ => return None,
    })
}

/// The type a "set column" keeps, for a table that keeps new values as edits of the column (a
/// linked table's, whose columns are its files'): the column's, when the expression gives its
/// kind of value (a whole number for a number column too; its values are then cast to that
/// type, refused in words if one does not fit); None when the column's type would change (or
/// it holds values no cell takes: lists, objects), which needs a copy of the table.
pub fn kept_type(
    schema: &SchemaRef,
    column: &str,
    expr: &str,
) -> Result<Option<DataType>, TableError> {
    let kept = schema.field(column_index(schema, column)?).data_type();
    let given = compile(schema, expr)?.data_type;
    let Some(kind) = family(kept) else {
        return Ok(None);
    };
    let fits = match family(&given) {
        _ if given == DataType::Null => true,
        Some(g) => g == kind || (kind == "number" && g == "whole"),
        None => false,
    };
    Ok(fits.then(|| kept.clone()))
}

/// The columns "remove duplicates" compares: `columns`, or every column when none is named.
pub fn duplicate_keys(schema: &Schema, columns: &[String]) -> Result<Vec<usize>, TableError> {
    if columns.is_empty() {
        return Ok((0..schema.fields().len()).collect());
    }
    columns.iter().map(|c| column_index(schema, c)).collect()
}

fn evaluate(c: &Compiled, batch: &RecordBatch) -> Result<ArrayRef, TableError> {
    Ok(c.expr.evaluate(batch)?.into_array(batch.num_rows())?)
}

/// A transform that changes columns (their values, names, types or number) and no rows, done
/// batch by batch: the same for a table held in memory and for a linked one written into a
/// copy.
pub struct Reshape {
    /// The columns after it.
    pub schema: SchemaRef,
    change: Change,
}

enum Change {
    /// Column `Some(i)` replaced, or one added (None), by an expression's values (cast to the
    /// column's type when it keeps it).
    Values(Option<usize>, Compiled, Option<KeptType>),
    /// The same arrays under new names.
    Renamed,
    Dropped(usize),
}

impl Reshape {
    /// The reshape `transform` makes of a table of `schema`; None for a transform that
    /// removes rows.
    pub fn new(schema: &SchemaRef, transform: &Transform) -> Result<Option<Reshape>, TableError> {
        let with_fields = |fields: Vec<Arc<Field>>| {
            Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
        };
        let mut fields: Vec<Arc<Field>> = schema.fields().iter().cloned().collect();
        let (schema, change) = match transform {
            Transform::SetColumn { column, expr } | Transform::AddColumn { column, expr } => {
                let target = match transform {
                    Transform::SetColumn { .. } => Some(column_index(schema, column)?),
                    _ => {
                        check_new_name(schema, column)?;
                        None
                    }
                };
                let c = compile(schema, expr)?;
                let field = Arc::new(Field::new(column, c.data_type.clone(), c.nullable));
                match target {
                    Some(i) => fields[i] = field,
                    None => fields.push(field),
                }
                (with_fields(fields), Change::Values(target, c, None))
            }
            Transform::RenameColumn { column, to } => {
                let i = column_index(schema, column)?;
                check_new_name(schema, to)?;
                fields[i] = Arc::new(fields[i].as_ref().clone().with_name(to));
                (with_fields(fields), Change::Renamed)
            }
            Transform::DropColumn { column } => {
                let i = column_index(schema, column)?;
                if schema.fields().len() == 1 {
                    return Err(TableError::Column(
                        "a table needs at least one column".into(),
                    ));
                }
                fields.remove(i);
                (with_fields(fields), Change::Dropped(i))
            }
            Transform::FilterRows { .. } | Transform::RemoveDuplicates { .. } => return Ok(None),
        };
        Ok(Some(Reshape { schema, change }))
    }

    /// The reshape a linked table's copy makes: as [`Reshape::new`], but a "set column" whose
    /// values are of the column's kind keeps the column's type (its values cast to it, as the
    /// edits beside the files would be), so that how many values change never decides a type.
    pub fn for_link(
        schema: &SchemaRef,
        transform: &Transform,
    ) -> Result<Option<Reshape>, TableError> {
        let mut reshape = Reshape::new(schema, transform)?;
        if let (Transform::SetColumn { column, expr }, Some(r)) = (transform, reshape.as_mut()) {
            if let Some(kept) = kept_type(schema, column, expr)? {
                let i = column_index(schema, column)?;
                let mut fields: Vec<Arc<Field>> = r.schema.fields().iter().cloned().collect();
                fields[i] = schema.fields()[i].clone();
                r.schema = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
                if let Change::Values(_, _, keep) = &mut r.change {
                    *keep = Some(KeptType {
                        column: column.clone(),
                        expr: expr.clone(),
                        data_type: kept,
                    });
                }
            }
        }
        Ok(reshape)
    }

    /// `batch` (of the columns before) reshaped.
    pub fn apply(&self, batch: &RecordBatch) -> Result<RecordBatch, TableError> {
        let mut columns = batch.columns().to_vec();
        match &self.change {
            Change::Values(target, c, kept) => {
                let mut values = evaluate(c, batch)?;
                if let Some(kept) = kept {
                    values = kept.cast(&values)?;
                }
                match target {
                    Some(i) => columns[*i] = values,
                    None => columns.push(values),
                }
            }
            Change::Renamed => {}
            Change::Dropped(i) => {
                columns.remove(*i);
            }
        }
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

/// The type a column keeps through a "set column" (see [`Reshape::for_link`]).
struct KeptType {
    column: String,
    expr: String,
    data_type: DataType,
}

impl KeptType {
    fn cast(&self, values: &ArrayRef) -> Result<ArrayRef, TableError> {
        let strict = datafusion::arrow::compute::CastOptions {
            safe: false,
            ..Default::default()
        };
        datafusion::arrow::compute::cast_with_options(values, &self.data_type, &strict).map_err(
            |_| {
                invalid(
                    &self.column,
                    format!(
                        "{:?} does not give {} for every row of column {} (a value cannot be \
                         converted), so nothing changed",
                        self.expr,
                        super::edit::describe_type(&self.data_type),
                        self.column
                    ),
                )
            },
        )
    }
}

/// Applies `transform` to `version`: the result is version + 1. `progress` hears the rows done
/// after each batch; `cancel` is checked between batches, and a cancelled transform changes
/// nothing (the input version is immutable).
pub fn apply(
    version: &TableVersion,
    transform: &Transform,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &CancellationToken,
) -> Result<TableVersion, TableError> {
    let schema = version.schema.clone();
    let mut done = 0u64;
    let mut step = |batch: &RecordBatch| -> Result<(), TableError> {
        if cancel.is_cancelled() {
            return Err(TableError::Cancelled);
        }
        done += batch.num_rows() as u64;
        progress(done);
        Ok(())
    };
    let (new_schema, batches, row_ids): (SchemaRef, Vec<RecordBatch>, Vec<Arc<UInt64Array>>) =
        match transform {
            Transform::SetColumn { .. }
            | Transform::AddColumn { .. }
            | Transform::RenameColumn { .. }
            | Transform::DropColumn { .. } => {
                let each = Reshape::new(&schema, transform)?.expect("a transform of columns");
                let mut out = Vec::with_capacity(version.batches.len());
                for batch in version.batches.iter() {
                    step(batch)?;
                    out.push(each.apply(batch)?);
                }
                (each.schema.clone(), out, version.row_ids.to_vec())
            }
            Transform::FilterRows { predicate } => {
                let c = condition(&schema, predicate)?;
                keep_rows(version, &mut step, |batch| {
                    let keep = evaluate(&c, batch)?;
                    let keep = keep
                        .as_any()
                        .downcast_ref::<BooleanArray>()
                        .expect("a Boolean expression gives a BooleanArray");
                    // NULL (unknown) does not keep a row, as in SQL's WHERE.
                    Ok(BooleanArray::from_iter(
                        keep.iter().map(|k| Some(k == Some(true))),
                    ))
                })?
            }
            Transform::RemoveDuplicates { columns } => {
                let indices = duplicate_keys(&schema, columns)?;
                let converter = RowConverter::new(
                    indices
                        .iter()
                        .map(|i| SortField::new(schema.field(*i).data_type().clone()))
                        .collect(),
                )?;
                let mut seen = HashSet::new();
                keep_rows(version, &mut step, |batch| {
                    let keys: Vec<ArrayRef> =
                        indices.iter().map(|i| batch.column(*i).clone()).collect();
                    let rows = converter.convert_columns(&keys)?;
                    Ok(BooleanArray::from_iter(
                        rows.iter().map(|r| Some(seen.insert(r.owned()))),
                    ))
                })?
            }
        };
    let rows = batches.iter().map(RecordBatch::num_rows).sum();
    Ok(TableVersion {
        version: version.version + 1,
        schema: new_schema,
        batches: batches.into(),
        row_ids: row_ids.into(),
        rows,
        next_row_id: version.next_row_id,
    })
}

type Kept = (SchemaRef, Vec<RecordBatch>, Vec<Arc<UInt64Array>>);

/// Keeps the rows `mask` says of each batch; a batch that loses no row is shared as it is,
/// and batches that lose every row are dropped.
fn keep_rows(
    version: &TableVersion,
    step: &mut dyn FnMut(&RecordBatch) -> Result<(), TableError>,
    mut mask: impl FnMut(&RecordBatch) -> Result<BooleanArray, TableError>,
) -> Result<Kept, TableError> {
    let mut batches = Vec::with_capacity(version.batches.len());
    let mut ids = Vec::with_capacity(version.batches.len());
    for (batch, batch_ids) in version.batches.iter().zip(version.row_ids.iter()) {
        step(batch)?;
        let keep = mask(batch)?;
        let kept = keep.true_count();
        if kept == batch.num_rows() {
            batches.push(batch.clone());
            ids.push(batch_ids.clone());
        } else if kept > 0 {
            batches.push(filter_record_batch(batch, &keep)?);
            let kept_ids = filter(batch_ids.as_ref(), &keep)?;
            let kept_ids = kept_ids
                .as_any()
                .downcast_ref::<UInt64Array>()
                .expect("row ids are UInt64")
                .clone();
            ids.push(Arc::new(kept_ids));
        }
    }
    Ok((version.schema.clone(), batches, ids))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::diff::diff;
    use crate::tables::table::tests::numbers;
    use crate::{ErrorCode, HasCode};

    fn run(t: &TableVersion, tr: Transform) -> Result<TableVersion, TableError> {
        apply(t, &tr, &|_| {}, &CancellationToken::new())
    }

    #[test]
    fn dates_written_another_way_become_a_date_column_with_their_layout() {
        use datafusion::arrow::array::{Array, AsArray, StringArray};
        use datafusion::arrow::datatypes::{Date32Type, Field, Schema};
        let schema = Arc::new(Schema::new(vec![Field::new("day", DataType::Utf8, true)]));
        let days = StringArray::from(vec![Some("2012/01/31"), None, Some("2015/12/01")]);
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(days)]).unwrap();
        let t = TableVersion::first(schema, vec![batch]);
        // What the transform dialog builds for "Change type to date, written as 2012/01/31".
        let set = |expr: &str| {
            run(
                &t,
                Transform::SetColumn {
                    column: "day".into(),
                    expr: expr.into(),
                },
            )
        };
        let dated = set("to_date(CAST(\"day\" AS VARCHAR), '%Y/%m/%d')").unwrap();
        assert_eq!(dated.schema.field(0).data_type(), &DataType::Date32);
        let column = dated.batches[0].column(0).as_primitive::<Date32Type>();
        assert_eq!(column.value(0), 15_370, "2012-01-31");
        assert!(column.is_null(1));
        assert_eq!(column.value(2), 16_770, "2015-12-01");
        // A layout that does not fit is refused in words, and the table is as it was.
        let err = set("to_date(CAST(\"day\" AS VARCHAR), '%d.%m.%Y')").unwrap_err();
        assert!(
            err.to_string()
                .contains("\"2012/01/31\" is not a date written as %d.%m.%Y"),
            "{err}"
        );
    }

    #[test]
    fn each_transform_changes_what_it_says_and_shares_the_rest() {
        let t = numbers(10_000, 1000);
        let plus = run(
            &t,
            Transform::AddColumn {
                column: "m".into(),
                expr: "n % 3".into(),
            },
        )
        .unwrap();
        assert_eq!(plus.schema.fields().len(), 2);
        assert!(plus.batches[4]
            .column(0)
            .to_data()
            .ptr_eq(&t.batches[4].column(0).to_data()));

        let kept = run(
            &plus,
            Transform::FilterRows {
                predicate: "n < 500 OR n >= 9000".into(),
            },
        )
        .unwrap();
        assert_eq!(kept.rows, 1500);
        assert_eq!(kept.batches.len(), 2, "batches 1..=8 lose every row");
        // The SQL the preview shows deletes what the filter deletes, missing values included.
        let filter = Transform::FilterRows {
            predicate: "n >= 10".into(),
        };
        assert_eq!(
            filter.to_sql("t"),
            "DELETE FROM \"t\" WHERE (n >= 10) IS NOT TRUE"
        );
        let d = diff(&plus, &kept, &CancellationToken::new()).unwrap();
        assert_eq!(d.removed.len(), 8500);
        assert_eq!(
            d.shared_batches, 1,
            "the last batch lost nothing and is shared"
        );

        let dedup = run(
            &plus,
            Transform::RemoveDuplicates {
                columns: vec!["m".into()],
            },
        )
        .unwrap();
        assert_eq!(dedup.rows, 3, "one row per value of m, the first of each");
        assert_eq!(dedup.row_ids[0].values(), &[0, 1, 2]);

        let renamed = run(
            &plus,
            Transform::RenameColumn {
                column: "m".into(),
                to: "mod3".into(),
            },
        )
        .unwrap();
        assert_eq!(renamed.schema.field(1).name(), "mod3");
        let dropped = run(
            &renamed,
            Transform::DropColumn {
                column: "mod3".into(),
            },
        )
        .unwrap();
        assert_eq!(dropped.schema, t.schema);
        assert!(diff(&t, &dropped, &CancellationToken::new())
            .unwrap()
            .is_empty());

        let set = run(
            &t,
            Transform::SetColumn {
                column: "n".into(),
                expr: "CASE WHEN n = 7 THEN -7 ELSE n END".into(),
            },
        )
        .unwrap();
        let d = diff(&t, &set, &CancellationToken::new()).unwrap();
        assert_eq!(d.changed.iter().collect::<Vec<_>>(), [7]);
    }

    /// "Fill empty cells" as the UI writes it, on every column type: `coalesce` exists only as
    /// a rewrite to CASE, which failed with "coalesce should have been simplified to case".
    #[test]
    fn fill_empty_cells_works_for_every_type() {
        use datafusion::arrow::array::{
            Date32Array, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray,
        };
        let schema = Arc::new(Schema::new(vec![
            Field::new("i", DataType::Int64, true),
            Field::new("f", DataType::Float64, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("d", DataType::Date32, true),
            Field::new(
                "t",
                DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Microsecond, None),
                true,
            ),
            Field::new(
                "z",
                DataType::Timestamp(
                    datafusion::arrow::datatypes::TimeUnit::Microsecond,
                    Some("UTC".into()),
                ),
                true,
            ),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![Some(1), None])),
                Arc::new(Float64Array::from(vec![Some(1.5), None])),
                Arc::new(StringArray::from(vec![Some("a"), None])),
                Arc::new(Date32Array::from(vec![Some(1), None])),
                Arc::new(TimestampMicrosecondArray::from(vec![Some(1), None])),
                Arc::new(TimestampMicrosecondArray::from(vec![Some(1), None]).with_timezone("UTC")),
            ],
        )
        .unwrap();
        let t = TableVersion::first(schema, vec![batch]);
        for (column, value) in [
            ("i", "0"),
            ("f", "0.5"),
            ("s", "'unknown'"),
            // As ui/src/transforms.ts writes them (fillLiteral).
            ("d", "arrow_cast('2013-01-01', 'Date32')"),
            ("t", "arrow_cast('2013-01-01 00:00:00', 'TYPE_T')"),
            ("z", "arrow_cast('2013-01-01 00:00:00Z', 'TYPE_Z')"),
        ] {
            let type_of = |c: &str| t.schema.field_with_name(c).unwrap().data_type().to_string();
            let value = value
                .replace("TYPE_T", &type_of("t"))
                .replace("TYPE_Z", &type_of("z"));
            let out = run(
                &t,
                Transform::SetColumn {
                    column: column.into(),
                    expr: format!("coalesce(\"{column}\", {value})"),
                },
            )
            .unwrap_or_else(|e| panic!("fill {column}: {e}"));
            let filled = out.batches[0].column_by_name(column).unwrap();
            assert_eq!(filled.null_count(), 0, "{column}");
            assert_eq!(
                filled.data_type(),
                t.schema.field_with_name(column).unwrap().data_type()
            );
        }
    }

    #[test]
    fn bad_expressions_and_names_are_refused_in_words() {
        let t = numbers(100, 10);
        let err = run(
            &t,
            Transform::SetColumn {
                column: "n".into(),
                expr: "nosuch + 1".into(),
            },
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::SqlInvalid);
        let err = run(
            &t,
            Transform::FilterRows {
                predicate: "n + 1".into(),
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("is not a condition"), "{err}");
        let err = run(
            &t,
            Transform::AddColumn {
                column: "n".into(),
                expr: "1".into(),
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("already has a column"), "{err}");
        let err = run(&t, Transform::DropColumn { column: "n".into() }).unwrap_err();
        assert!(err.to_string().contains("at least one column"), "{err}");
        // A whole-number result past BIGINT is refused, never written wrapped around.
        let err = run(
            &t,
            Transform::SetColumn {
                column: "n".into(),
                expr: "n * 9223372036854775807".into(),
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("out of range"), "{err}");
        // Also when the part past it is constants, which the simplifier folds.
        let err = run(
            &t,
            Transform::SetColumn {
                column: "n".into(),
                expr: "n * (1000000 * 1000000 * 1000000 * 1000000)".into(),
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("out of range"), "{err}");
    }

    /// Expressions the fuzzer found that held sqlparser for seconds (a long dotted chain that
    /// does not parse) are refused before parsing, in words, pointing at the step too many.
    #[test]
    fn expressions_that_would_hang_the_parser_are_refused_at_once() {
        let t = numbers(100, 10);
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/regressions/command_args");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let transform: Transform = serde_json::from_slice(&bytes[1..]).unwrap();
            let err = run(&t, transform).unwrap_err();
            assert_eq!(err.code(), ErrorCode::SqlInvalid);
            assert!(err.to_string().contains("names with `.`"), "{err}");
            checked += 1;
        }
        assert!(checked >= 2);
        let chain = format!("{}.#", ["n"; 25].join("."));
        let err = run(
            &t,
            Transform::SetColumn {
                column: "n".into(),
                expr: chain,
            },
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                TableError::Sql {
                    column: Some(26),
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_cancelled_transform_returns_cancelled() {
        let t = numbers(100_000, 1000);
        let cancel = CancellationToken::new();
        let err = apply(
            &t,
            &Transform::SetColumn {
                column: "n".into(),
                expr: "n * 2".into(),
            },
            &|rows| {
                if rows >= 5000 {
                    cancel.cancel();
                }
            },
            &cancel,
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Cancelled);
    }
}

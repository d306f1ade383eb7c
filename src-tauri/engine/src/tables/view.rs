//! Sorted and filtered views of a table for the grid, computed as a DataFusion query over the
//! table's batches plus their row ids, and kept as a [`TableVersion`] so the grid pages through
//! it by position exactly like through the table itself. Ties are broken by row id, so a view's
//! order is deterministic.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::datasource::MemTable;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::execute_stream;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::TryStreamExt;
use tokio_util::sync::CancellationToken;

use super::interrupt::{interruptible_counting, is_interrupted};

use super::limits::Limits;
use serde::{Deserialize, Serialize};

use super::table::{page_schema, TableVersion, ROW_ID_COLUMN};
use super::TableError;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
pub struct SortKey {
    pub column: String,
    pub descending: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    Contains,
    NotContains,
    Equals,
    NotEquals,
    StartsWith,
    EndsWith,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
    Blank,
    NotBlank,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
pub struct ColumnFilter {
    pub column: String,
    pub op: FilterOp,
    /// The value to compare with (text; compared as the column's type). Unused for blank tests.
    pub value: Option<String>,
}

/// How the grid wants a table: sorted by these keys, keeping rows that pass every filter and
/// one alternative of every `either`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
pub struct ViewSpec {
    pub sort: Vec<SortKey>,
    pub filters: Vec<ColumnFilter>,
    /// Conditions joined with OR (a grid filter's "less than 0 OR greater than 35"): a row
    /// stays when, in each entry, every filter of one of its alternatives holds.
    #[serde(default)]
    pub either: Vec<Vec<Vec<ColumnFilter>>>,
}

impl ViewSpec {
    pub fn is_plain(&self) -> bool {
        self.sort.is_empty() && self.filters.is_empty() && self.either.is_empty()
    }
}

use super::sql::ident;

fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// The SQL for a view over the table registered as `source` (with its row ids). Columns must
/// exist in `schema`.
pub fn view_sql(spec: &ViewSpec, schema: &Schema, source: &str) -> Result<String, TableError> {
    view_sql_ordered(spec, schema, source, "*", &[ident(ROW_ID_COLUMN)])
}

/// [`view_sql`] answering only the row ids, in view order (what a view of a linked table
/// keeps).
pub fn view_ids_sql(spec: &ViewSpec, schema: &Schema, source: &str) -> Result<String, TableError> {
    let id = ident(ROW_ID_COLUMN);
    view_sql_ordered(spec, schema, source, &id, std::slice::from_ref(&id))
}

fn view_sql_ordered(
    spec: &ViewSpec,
    schema: &Schema,
    source: &str,
    select: &str,
    ties: &[String],
) -> Result<String, TableError> {
    let check = |c: &str| -> Result<String, TableError> {
        schema
            .index_of(c)
            .map(|_| ident(c))
            .map_err(|_| TableError::Sql {
                message: format!("the table has no column named {c:?}"),
                line: None,
                column: None,
            })
    };
    let condition = |f: &ColumnFilter| -> Result<String, TableError> {
        let col = check(&f.column)?;
        let text = format!("lower(CAST({col} AS VARCHAR))");
        let v = f.value.clone().unwrap_or_default();
        // A bar of a date column's profile starts at an instant ("2012-02-27 14:30:00"),
        // which a date cannot be compared with: the dates are compared as midnights.
        let is_date = matches!(
            schema.field_with_name(&f.column).map(|f| f.data_type()),
            Ok(DataType::Date32 | DataType::Date64)
        );
        let cmp = if is_date && v.trim().len() > 10 {
            format!("CAST({col} AS TIMESTAMP)")
        } else {
            col.clone()
        };
        let lower = literal(&v.to_lowercase());
        Ok(match f.op {
            FilterOp::Contains => format!("strpos({text}, {lower}) > 0"),
            FilterOp::NotContains => format!("({col} IS NULL OR strpos({text}, {lower}) = 0)"),
            FilterOp::StartsWith => format!("starts_with({text}, {lower})"),
            FilterOp::EndsWith => format!("ends_with({text}, {lower})"),
            FilterOp::Equals => format!("{cmp} = {}", literal(&v)),
            FilterOp::NotEquals => format!("({col} IS NULL OR {cmp} <> {})", literal(&v)),
            FilterOp::GreaterThan => format!("{cmp} > {}", literal(&v)),
            FilterOp::GreaterThanOrEqual => format!("{cmp} >= {}", literal(&v)),
            FilterOp::LessThan => format!("{cmp} < {}", literal(&v)),
            FilterOp::LessThanOrEqual => format!("{cmp} <= {}", literal(&v)),
            FilterOp::Blank => format!("{col} IS NULL"),
            FilterOp::NotBlank => format!("{col} IS NOT NULL"),
        })
    };
    let mut conditions = spec
        .filters
        .iter()
        .map(condition)
        .collect::<Result<Vec<_>, _>>()?;
    for alternatives in &spec.either {
        let mut any = Vec::new();
        for all in alternatives {
            let all = all.iter().map(condition).collect::<Result<Vec<_>, _>>()?;
            any.push(match all.is_empty() {
                true => "TRUE".to_string(),
                false => format!("({})", all.join(" AND ")),
            });
        }
        if !any.is_empty() {
            conditions.push(format!("({})", any.join(" OR ")));
        }
    }
    let mut order: Vec<String> = Vec::new();
    for k in &spec.sort {
        // Gaps last either way, as pandas, DuckDB and spreadsheets sort: a column sorted up
        // starts with its smallest value, not with its thousands of empty cells.
        order.push(format!(
            "{} {} NULLS LAST",
            check(&k.column)?,
            if k.descending { "DESC" } else { "ASC" }
        ));
    }
    order.extend(ties.iter().cloned());
    let mut sql = format!("SELECT {select} FROM {}", ident(source));
    if !conditions.is_empty() {
        sql.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
    }
    if !order.is_empty() {
        sql.push_str(&format!(" ORDER BY {}", order.join(", ")));
    }
    Ok(sql)
}

/// Computes a view of `version`: its rows filtered and sorted, row ids kept.
pub async fn compute(
    version: &TableVersion,
    spec: &ViewSpec,
    limits: &Limits,
    work: &ViewWork,
) -> Result<TableVersion, TableError> {
    let with_ids = Arc::new(page_schema(&version.schema));
    let batches: Vec<RecordBatch> = version
        .batches
        .iter()
        .zip(version.row_ids.iter())
        .map(|(b, ids)| {
            let mut columns: Vec<ArrayRef> = b.columns().to_vec();
            columns.push(ids.clone() as ArrayRef);
            RecordBatch::try_new(with_ids.clone(), columns)
        })
        .collect::<Result<_, _>>()?;
    // A private session: the view's source is invisible to the notebook's SQL. It shares the
    // engine's memory pool, so sorting a huge table spills or fails instead of exhausting RAM.
    let mut config = SessionConfig::new();
    limits.tune(&mut config);
    let ctx = SessionContext::new_with_config_rt(config, limits.runtime());
    super::checked_arithmetic::install(&ctx);
    let partitions = ctx.copied_config().target_partitions().max(1);
    let mut parts: Vec<Vec<RecordBatch>> = vec![Vec::new(); partitions.min(batches.len().max(1))];
    let n = parts.len();
    for (i, b) in batches.into_iter().enumerate() {
        parts[i % n].push(b);
    }
    ctx.register_table(
        "source",
        Arc::new(MemTable::try_new(with_ids.clone(), parts)?),
    )?;
    let sql = view_sql(spec, &version.schema, "source")?;
    let run = async {
        let stream = view_stream(&ctx, &sql, work).await?;
        stream.try_collect::<Vec<_>>().await
    };
    let result = match run.await {
        Ok(result) => result,
        Err(e) if is_interrupted(&e) => return Err(TableError::ViewCancelled),
        Err(e) => return Err(limits.exhausted(&e).unwrap_or_else(|| e.into())),
    };
    with_ids_split(version, result)
}

/// The rows of the view query `sql` in `ctx`, stopped by `work`'s cancel, the rows its scans
/// read counted into `work`.
pub(super) async fn view_stream(
    ctx: &SessionContext,
    sql: &str,
    work: &ViewWork,
) -> datafusion::error::Result<SendableRecordBatchStream> {
    let frame = ctx.sql(sql).await?;
    let task = Arc::new(frame.task_ctx());
    let plan = interruptible_counting(
        frame.create_physical_plan().await?,
        &work.token,
        Some(work.read.clone()),
    )?;
    execute_stream(plan, task)
}

/// A view being made: how far it has read, out of how many rows, and its cancel.
pub struct ViewWork {
    pub read: Arc<AtomicU64>,
    pub total: u64,
    pub token: CancellationToken,
}

impl ViewWork {
    pub fn new(total: u64) -> ViewWork {
        ViewWork {
            read: Arc::default(),
            total,
            token: CancellationToken::new(),
        }
    }

    /// Rows read so far, never past the total (a filter pushed into the scan may skip some).
    pub fn rows_read(&self) -> u64 {
        self.read.load(Ordering::Relaxed).min(self.total)
    }
}

/// A view's result (the table's columns, then its row ids) as a version of `of`'s columns.
fn with_ids_split(of: &TableVersion, result: Vec<RecordBatch>) -> Result<TableVersion, TableError> {
    let id_index = of.schema.fields().len();
    let mut data = Vec::with_capacity(result.len());
    let mut ids = Vec::with_capacity(result.len());
    let mut rows = 0;
    for batch in result.into_iter().filter(|b| b.num_rows() > 0) {
        let id = batch
            .column(id_index)
            .as_any()
            .downcast_ref::<UInt64Array>()
            .cloned()
            .ok_or_else(|| TableError::Sql {
                message: "internal: the view lost its row ids".into(),
                line: None,
                column: None,
            })?;
        rows += batch.num_rows();
        let columns: Vec<ArrayRef> = batch.columns()[..id_index].to_vec();
        data.push(RecordBatch::try_new(of.schema.clone(), columns)?);
        ids.push(Arc::new(id));
    }
    Ok(TableVersion {
        version: of.version,
        schema: of.schema.clone(),
        batches: data.into(),
        row_ids: ids.into(),
        rows,
        next_row_id: of.next_row_id,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use datafusion::arrow::array::{Float64Array, Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field};

    use super::*;

    pub(crate) fn sample() -> TableVersion {
        let schema = Arc::new(Schema::new(vec![
            Field::new("city", DataType::Utf8, true),
            Field::new("amount", DataType::Float64, true),
            Field::new("n", DataType::Int64, false),
        ]));
        let batch = |cities: Vec<Option<&str>>, amounts: Vec<Option<f64>>, ns: Vec<i64>| {
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from(cities)),
                    Arc::new(Float64Array::from(amounts)),
                    Arc::new(Int64Array::from(ns)),
                ],
            )
            .unwrap()
        };
        TableVersion::first(
            schema.clone(),
            vec![
                batch(
                    vec![Some("Lyon"), Some("Paris"), None],
                    vec![Some(3.0), Some(1.0), Some(2.0)],
                    vec![0, 1, 2],
                ),
                batch(
                    vec![Some("Nice"), Some("lyon-sud")],
                    vec![None, Some(3.0)],
                    vec![3, 4],
                ),
            ],
        )
    }

    fn ns(v: &TableVersion) -> Vec<i64> {
        v.batches
            .iter()
            .flat_map(|b| {
                b.column(2)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap()
                    .values()
                    .to_vec()
            })
            .collect()
    }

    #[tokio::test]
    async fn sorts_with_ties_broken_by_row_id_and_keeps_ids() {
        let t = sample();
        let spec = ViewSpec {
            either: Vec::new(),
            sort: vec![SortKey {
                column: "amount".into(),
                descending: true,
            }],
            filters: vec![],
        };
        let v = compute(&t, &spec, &Limits::default(), &ViewWork::new(0))
            .await
            .unwrap();
        assert_eq!(
            ns(&v),
            [0, 4, 2, 1, 3],
            "3.0 (ids 0, 4), 2.0, 1.0, then NULL last"
        );
        let page = v.page(0, 2).unwrap();
        let ids = page
            .column(3)
            .as_any()
            .downcast_ref::<UInt64Array>()
            .unwrap();
        assert_eq!(
            ids.values().to_vec(),
            [0, 4],
            "row ids travel with their rows"
        );
    }

    /// Gaps sort last up as well as down (they came first up: a column of 53,573 missing
    /// budgets sorted up showed no value on its first thousand pages).
    #[tokio::test]
    async fn gaps_sort_last_up_and_down() {
        let t = sample();
        for (descending, want) in [(false, [1, 2, 0, 4, 3]), (true, [0, 4, 2, 1, 3])] {
            let spec = ViewSpec {
                either: Vec::new(),
                sort: vec![SortKey {
                    column: "amount".into(),
                    descending,
                }],
                filters: vec![],
            };
            let v = compute(&t, &spec, &Limits::default(), &ViewWork::new(0))
                .await
                .unwrap();
            assert_eq!(ns(&v), want, "descending: {descending}");
        }
    }

    /// A profile's bar of dates is a range from one instant to another; a date column is
    /// compared as midnights, a date-time one as UTC instants.
    #[tokio::test]
    async fn filters_dates_and_date_times_by_instants() {
        use datafusion::arrow::array::{Date32Array, TimestampMicrosecondArray};
        use datafusion::arrow::datatypes::TimeUnit;
        let schema = Arc::new(Schema::new(vec![
            Field::new("day", DataType::Date32, true),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("n", DataType::Int64, false),
            Field::new(
                "zoned",
                DataType::Timestamp(TimeUnit::Microsecond, Some("+05:30".into())),
                true,
            ),
        ]));
        let day = |d: &str| {
            (chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap()
                - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
            .num_days() as i32
        };
        let at = |t: &str| {
            chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M")
                .unwrap()
                .and_utc()
                .timestamp_micros()
        };
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Date32Array::from(vec![
                    Some(day("2012-01-01")),
                    Some(day("2012-02-27")),
                    Some(day("2012-02-28")),
                    None,
                ])),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![
                        Some(at("2012-02-27 14:29")),
                        Some(at("2012-02-27 14:30")),
                        Some(at("2012-02-28 00:00")),
                        None,
                    ])
                    .with_timezone("UTC"),
                ),
                Arc::new(Int64Array::from(vec![0, 1, 2, 3])),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![
                        Some(at("2012-02-27 14:29")),
                        Some(at("2012-02-27 14:30")),
                        Some(at("2012-02-28 00:00")),
                        None,
                    ])
                    .with_timezone("+05:30"),
                ),
            ],
        )
        .unwrap();
        let t = TableVersion::first(schema, vec![batch]);
        let range = |column: &str, from: &str, to: &str| ViewSpec {
            either: Vec::new(),
            sort: vec![],
            filters: vec![
                ColumnFilter {
                    column: column.into(),
                    op: FilterOp::GreaterThanOrEqual,
                    value: Some(from.into()),
                },
                ColumnFilter {
                    column: column.into(),
                    op: FilterOp::LessThan,
                    value: Some(to.into()),
                },
            ],
        };
        // A bar's instants are UTC, said so (`Z`), whatever the column's zone; a day picked in
        // the grid has none, and is the column's own day.
        for (spec, rows) in [
            (
                range("day", "2012-02-27 14:30:00Z", "2012-02-28 00:00:01Z"),
                vec![2],
            ),
            (
                range("day", "2012-01-01", "2012-02-27 14:30:00Z"),
                vec![0, 1],
            ),
            (
                range("at", "2012-02-27 14:30:00Z", "2012-02-28 00:00:00Z"),
                vec![1],
            ),
            (
                range("at", "2012-02-27", "2012-02-28 00:00:01Z"),
                vec![0, 1, 2],
            ),
            (
                range("zoned", "2012-02-27 14:30:00Z", "2012-02-28 00:00:00Z"),
                vec![1],
            ),
            (
                range("zoned", "2012-02-27 14:29:00Z", "2012-02-28 00:00:01Z"),
                vec![0, 1, 2],
            ),
        ] {
            let view = compute(&t, &spec, &Limits::default(), &ViewWork::new(0))
                .await
                .unwrap();
            assert_eq!(ns(&view), rows, "{spec:?}");
        }
    }

    #[tokio::test]
    async fn filters_by_text_and_number() {
        let t = sample();
        let contains = ViewSpec {
            either: Vec::new(),
            sort: vec![],
            filters: vec![ColumnFilter {
                column: "city".into(),
                op: FilterOp::Contains,
                value: Some("LYON".into()),
            }],
        };
        assert_eq!(
            ns(
                &compute(&t, &contains, &Limits::default(), &ViewWork::new(0))
                    .await
                    .unwrap()
            ),
            [0, 4],
            "case-insensitive"
        );
        let numeric = ViewSpec {
            either: Vec::new(),
            sort: vec![SortKey {
                column: "n".into(),
                descending: true,
            }],
            filters: vec![ColumnFilter {
                column: "amount".into(),
                op: FilterOp::GreaterThanOrEqual,
                value: Some("2".into()),
            }],
        };
        assert_eq!(
            ns(
                &compute(&t, &numeric, &Limits::default(), &ViewWork::new(0))
                    .await
                    .unwrap()
            ),
            [4, 2, 0]
        );
        // "amount < 2 OR amount >= 3", with the city not blank (AND).
        let either = ViewSpec {
            either: vec![vec![
                vec![ColumnFilter {
                    column: "amount".into(),
                    op: FilterOp::LessThan,
                    value: Some("2".into()),
                }],
                vec![ColumnFilter {
                    column: "amount".into(),
                    op: FilterOp::GreaterThanOrEqual,
                    value: Some("3".into()),
                }],
            ]],
            sort: vec![],
            filters: vec![ColumnFilter {
                column: "city".into(),
                op: FilterOp::NotBlank,
                value: None,
            }],
        };
        assert_eq!(
            ns(&compute(&t, &either, &Limits::default(), &ViewWork::new(0))
                .await
                .unwrap()),
            [0, 1, 4]
        );
        let blank = ViewSpec {
            either: Vec::new(),
            sort: vec![],
            filters: vec![ColumnFilter {
                column: "city".into(),
                op: FilterOp::Blank,
                value: None,
            }],
        };
        assert_eq!(
            ns(&compute(&t, &blank, &Limits::default(), &ViewWork::new(0))
                .await
                .unwrap()),
            [2]
        );
        let quote = ViewSpec {
            either: Vec::new(),
            sort: vec![],
            filters: vec![ColumnFilter {
                column: "city".into(),
                op: FilterOp::Equals,
                value: Some("x' OR '1'='1".into()),
            }],
        };
        assert_eq!(
            compute(&t, &quote, &Limits::default(), &ViewWork::new(0))
                .await
                .unwrap()
                .rows,
            0,
            "values are literals, never SQL"
        );
        let unknown = ViewSpec {
            either: Vec::new(),
            sort: vec![SortKey {
                column: "nope".into(),
                descending: false,
            }],
            filters: vec![],
        };
        assert!(compute(&t, &unknown, &Limits::default(), &ViewWork::new(0))
            .await
            .is_err());
    }
}

//! The profile queries: one for counts, ranges, means and quartiles of every column (one scan),
//! one for the histograms of the number and date columns and one for the most frequent values
//! of the others (a scan per column each, in one plan).

use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type, SchemaRef};
use tokio_util::sync::CancellationToken;

use super::calendar::CalendarBins;
use super::functions::{EXACT_MAX, FLOAT_BITS, QUARTILES};
use super::{ColumnProfile, HistogramBin, Profile, ProfileKind, TopValue};
use crate::charts::bins::Bins;
use crate::charts::query::{finite, source};
use crate::tables::sql::ident;
use crate::tables::{Limits, SqlSession, TableError, TableVersion};

/// Bins of a column's histogram, at most.
pub const HISTOGRAM_BINS: u32 = 20;
/// Most frequent values listed per column.
pub const TOP_VALUES: usize = 8;
/// Past this many distinct values a column is "mostly unique": its top values mean little and
/// counting each would hold every value in memory.
pub const TOP_DISTINCT_LIMIT: u64 = 100_000;
/// Longest value text kept in a profile (a long text is cut, with an ellipsis). The UI keeps the
/// same number (`ui/src/profiles/format.ts`) to filter the grid by a cut value.
const VALUE_CHARS: usize = 200;

/// A date or date-time column's values as UTC milliseconds, what its histogram bins (and what
/// a chart's time axis takes).
fn epoch_ms(c: &str) -> String {
    format!("CAST(date_part('epoch', CAST({c} AS TIMESTAMP)) * 1000 AS DOUBLE)")
}

/// The table name a version is profiled under, in a session of its own.
const TABLE: &str = "quire_profiled";

/// Profiles one version of a table in a session holding only it, so an edit made meanwhile
/// changes nothing in what is measured.
pub async fn profile_version(
    limits: &Limits,
    version: &TableVersion,
    cancel: &CancellationToken,
) -> Result<Profile, TableError> {
    let session = SqlSession::new(limits);
    session.register(TABLE, version)?;
    let counted = if version.rows <= EXACT_MAX {
        Distinct::Exact
    } else {
        Distinct::Estimated
    };
    let sql = format!("SELECT * FROM {TABLE}");
    let mut profile = profile_rows(&session, &sql, counted, cancel).await?;
    profile.version = Some(version.version);
    Ok(profile)
}

/// Profiles the result of `sql` on `session`: the query runs once (its result within the
/// result budget), and the profile reads that result, so a `LIMIT` without `ORDER BY` or a
/// table edited meanwhile cannot make the figures disagree. Repeated column names get the
/// suffixes a kept result would (`id`, `id_2`).
pub async fn profile_query(
    session: &SqlSession,
    sql: &str,
    cancel: &CancellationToken,
) -> Result<Profile, TableError> {
    let started = Instant::now();
    let (schema, batches) = session.run_with_schema(sql, &|_| {}, cancel).await?;
    let mut profile = profile_result(session.limits(), schema, batches, cancel).await?;
    profile.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(profile)
}

/// Profiles a query's answer already in hand (a cluster's, read back).
pub async fn profile_result(
    limits: &crate::tables::Limits,
    schema: datafusion::arrow::datatypes::SchemaRef,
    batches: Vec<RecordBatch>,
    cancel: &CancellationToken,
) -> Result<Profile, TableError> {
    let started = Instant::now();
    let schema = crate::tables::name::unique_columns(&schema).unwrap_or(schema);
    let batches = batches
        .into_iter()
        .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()))
        .collect::<Result<Vec<_>, _>>()?;
    let result = TableVersion::first(schema, batches);
    let mut profile = profile_version(limits, &result, cancel).await?;
    profile.version = None;
    profile.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(profile)
}

/// Profiles a table of `rows` rows registered in `session` where it is (a linked table: its
/// files are scanned, never held).
pub async fn profile_table_in(
    session: &SqlSession,
    table: &str,
    rows: u64,
    cancel: &CancellationToken,
) -> Result<Profile, TableError> {
    let sql = format!("SELECT * FROM {}", ident(table));
    // Counted as a held table's are: exactly up to `EXACT_MAX` rows (a link and a copy of
    // one small file said "≈ 40" and "all 40"), estimated in fixed memory past it.
    let counted = if rows <= EXACT_MAX as u64 {
        Distinct::Exact
    } else {
        Distinct::Estimated
    };
    let mut profile = profile_rows(session, &sql, counted, cancel).await?;
    profile.version = Some(1);
    Ok(profile)
}

/// How a profile counts distinct values.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Distinct {
    /// `count(DISTINCT …)`: for a table of at most `EXACT_MAX` rows, whose values fit in memory.
    Exact,
    /// HyperLogLog, within a few percent, in fixed memory whatever the size.
    Estimated,
}

/// Profiles the rows `sql` returns on `session` (a table registered there).
async fn profile_rows(
    session: &SqlSession,
    sql: &str,
    counted: Distinct,
    cancel: &CancellationToken,
) -> Result<Profile, TableError> {
    let started = Instant::now();
    let schema = session.schema_of(sql).await?;
    let kinds: Vec<ProfileKind> = schema
        .fields()
        .iter()
        .map(|f| kind_of(f.data_type()))
        .collect();
    super::functions::register(session);
    let stats = run(session, &stats_sql(sql, &schema, &kinds, counted), cancel).await?;
    let mut reader = Row::new(&stats);
    let rows = reader.u64().unwrap_or(0);
    let mut columns = Vec::with_capacity(kinds.len());
    // Per column, the SQL of a date's bin on the calendar (see [`CalendarBins`]).
    let mut calendar = Vec::with_capacity(kinds.len());
    for (field, &kind) in schema.fields().iter().zip(&kinds) {
        let valid = reader.u64().unwrap_or(0);
        let mut column = ColumnProfile {
            name: field.name().clone(),
            data_type: field.data_type().to_string(),
            kind,
            nulls: rows - valid.min(rows),
            distinct: None,
            distinct_exact: false,
            min: None,
            max: None,
            mean: None,
            stddev: None,
            quartiles: None,
            quartiles_exact: false,
            not_finite: 0,
            histogram: Vec::new(),
            top: Vec::new(),
            others: 0,
        };
        let (mut lo, mut hi) = (None, None);
        if kind != ProfileKind::Other {
            column.distinct = reader.u64();
            column.distinct_exact = counted == Distinct::Exact && column.distinct.is_some();
            (column.min, lo) = reader.value();
            (column.max, hi) = reader.value();
        }
        if kind == ProfileKind::Temporal {
            // Binned as UTC milliseconds, as the min and max above are not numbers.
            (lo, hi) = (reader.f64(), reader.f64());
        }
        if kind == ProfileKind::Number {
            column.mean = reader.f64();
            column.stddev = reader.f64();
            if let Some((quartiles, exact)) = reader.quartiles() {
                column.quartiles = Some(quartiles);
                column.quartiles_exact = exact;
            }
            if is_float(field.data_type()) {
                column.not_finite = reader.u64().unwrap_or(0);
                // The bins span the numbers, not a NaN or an infinity.
                (lo, hi) = (reader.f64(), reader.f64());
            }
        }
        let dates = matches!(field.data_type(), DataType::Date32 | DataType::Date64);
        let on_calendar = match (kind, lo, hi) {
            (ProfileKind::Temporal, Some(lo), Some(hi)) => {
                CalendarBins::over(lo, hi, HISTOGRAM_BINS, dates)
            }
            _ => None,
        };
        if let Some(bins) = &on_calendar {
            column.histogram = (0..bins.count())
                .map(|i| HistogramBin {
                    start: bins.edge(i),
                    end: bins.edge(i + 1),
                    count: 0,
                })
                .collect();
            let name = ident(&column.name);
            calendar.push(Some(
                bins.index_sql(&epoch_ms(&name), &format!("CAST({name} AS TIMESTAMP)")),
            ));
        } else {
            calendar.push(None);
        }
        if on_calendar.is_none() && matches!(kind, ProfileKind::Number | ProfileKind::Temporal) {
            if let (Some(lo), Some(hi)) = (lo, hi) {
                if lo.is_finite() && hi.is_finite() {
                    let bins = Bins::nice(lo, hi, HISTOGRAM_BINS, None);
                    column.histogram = (0..bins.count())
                        .map(|i| HistogramBin {
                            start: bins.edge(i),
                            end: bins.edge(i + 1),
                            count: 0,
                        })
                        .collect();
                }
            }
        }
        columns.push(column);
    }
    histograms(session, sql, &mut columns, &calendar, cancel).await?;
    top_values(session, sql, rows, &mut columns, cancel).await?;
    Ok(Profile {
        version: None,
        rows,
        columns,
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}

fn kind_of(data_type: &DataType) -> ProfileKind {
    match data_type {
        DataType::Dictionary(_, value) => kind_of(value),
        t if t.is_numeric() => ProfileKind::Number,
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _) => ProfileKind::Temporal,
        DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Boolean
        | DataType::Time32(_)
        | DataType::Time64(_)
        // Lengths of time: their least and greatest and most frequent, in words (`05:07:00`).
        | DataType::Duration(_) => ProfileKind::Text,
        _ => ProfileKind::Other,
    }
}

/// A distinct count of column `c`. Estimated: DataFusion's HyperLogLog takes integers, text,
/// dates, times and booleans as they are; a float by its bits; anything else by its text.
fn distinct_sql(c: &str, data_type: &DataType, counted: Distinct) -> String {
    if counted == Distinct::Exact {
        return format!("count(DISTINCT {c})");
    }
    match data_type {
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            format!("approx_distinct({FLOAT_BITS}(CAST({c} AS DOUBLE)))")
        }
        t if t.is_integer()
            || t.is_temporal()
            || matches!(
                t,
                DataType::Boolean
                    | DataType::Utf8
                    | DataType::LargeUtf8
                    | DataType::Utf8View
                    | DataType::Decimal128(_, _)
                    | DataType::Decimal256(_, _)
            ) =>
        {
            format!("approx_distinct({c})")
        }
        _ => format!("approx_distinct(CAST({c} AS VARCHAR))"),
    }
}

fn stats_sql(sql: &str, schema: &SchemaRef, kinds: &[ProfileKind], counted: Distinct) -> String {
    let mut parts = vec!["count(*)".to_string()];
    for (field, kind) in schema.fields().iter().zip(kinds) {
        let c = ident(field.name());
        parts.push(format!("count({c})"));
        if *kind == ProfileKind::Other {
            continue;
        }
        parts.push(distinct_sql(&c, field.data_type(), counted));
        parts.push(format!("min({c})"));
        parts.push(format!("max({c})"));
        if *kind == ProfileKind::Temporal {
            parts.push(format!("min({})", epoch_ms(&c)));
            parts.push(format!("max({})", epoch_ms(&c)));
        }
        if *kind == ProfileKind::Number {
            let x = format!("CAST({c} AS DOUBLE)");
            // A float's NaN and infinities are NULL to the figures that describe its numbers.
            let numbers = if is_float(field.data_type()) {
                finite(&x)
            } else {
                x.clone()
            };
            parts.push(format!("avg({numbers})"));
            parts.push(format!("stddev_samp({numbers})"));
            parts.push(format!("{QUARTILES}({numbers})"));
            if is_float(field.data_type()) {
                // Not `count(x) - count(…)`: a second `count(x)` clashes with the one above.
                parts.push(format!(
                    "sum(CAST({x} IS NOT NULL AND {numbers} IS NULL AS BIGINT))"
                ));
                parts.push(format!("min({numbers})"));
                parts.push(format!("max({numbers})"));
            }
        }
    }
    // Aliased: DataFusion refuses two outputs it would name alike (`min(x)` twice, cast apart).
    let parts: Vec<String> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{p} AS s{i}"))
        .collect();
    format!("SELECT {} FROM {}", parts.join(", "), source(sql))
}

fn is_float(data_type: &DataType) -> bool {
    match data_type {
        DataType::Dictionary(_, value) => is_float(value),
        t => t.is_floating(),
    }
}

/// Counts per bin for every number and date column, in one query.
async fn histograms(
    session: &SqlSession,
    sql: &str,
    columns: &mut [ColumnProfile],
    calendar: &[Option<String>],
    cancel: &CancellationToken,
) -> Result<(), TableError> {
    let branches: Vec<String> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.histogram.is_empty())
        .map(|(i, c)| {
            if let Some(Some(index)) = calendar.get(i) {
                let x = ident(&c.name);
                return format!(
                    "SELECT CAST({i} AS BIGINT) AS col, CAST({index} AS BIGINT) AS bin, count(*) AS n FROM {} WHERE {x} IS NOT NULL GROUP BY 2",
                    source(sql)
                );
            }
            let first = &c.histogram[0];
            let count = c.histogram.len() as f64;
            let bins = Bins {
                start: first.start,
                step: (c.histogram[c.histogram.len() - 1].end - first.start) / count,
                stop: c.histogram[c.histogram.len() - 1].end,
            };
            let x = match c.kind {
                ProfileKind::Temporal => epoch_ms(&ident(&c.name)),
                _ => format!("CAST({} AS DOUBLE)", ident(&c.name)),
            };
            format!(
                "SELECT CAST({i} AS BIGINT) AS col, CAST(round(({} - {:?}) / {:?}) AS BIGINT) AS bin, count(*) AS n FROM {} WHERE {} GROUP BY 2",
                bins.start_sql(&x),
                bins.start,
                bins.step,
                source(sql),
                match c.kind {
                    ProfileKind::Number => format!("{} IS NOT NULL", finite(&x)),
                    _ => format!("{x} IS NOT NULL"),
                }
            )
        })
        .collect();
    if branches.is_empty() {
        return Ok(());
    }
    let batches = run(session, &branches.join("\nUNION ALL\n"), cancel).await?;
    for batch in &batches {
        let (col, bin, n) = (
            int64s(batch.column(0))?,
            int64s(batch.column(1))?,
            int64s(batch.column(2))?,
        );
        for row in 0..batch.num_rows() {
            let column = &mut columns[col.value(row) as usize];
            let last = column.histogram.len() - 1;
            let at = (bin.value(row).max(0) as usize).min(last);
            column.histogram[at].count += n.value(row) as u64;
        }
    }
    Ok(())
}

/// The most frequent values of every column that is not numbers and not mostly unique.
async fn top_values(
    session: &SqlSession,
    sql: &str,
    rows: u64,
    columns: &mut [ColumnProfile],
    cancel: &CancellationToken,
) -> Result<(), TableError> {
    let branches: Vec<String> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| match c.kind {
            ProfileKind::Text => true,
            // Dates have their histogram: their most frequent ones only say something when
            // dates repeat (a few report days), not when nearly every row has its own.
            ProfileKind::Temporal => c
                .distinct
                .is_some_and(|d| d.saturating_mul(2) <= rows.saturating_sub(c.nulls)),
            _ => false,
        })
        .filter(|(_, c)| c.distinct.is_some_and(|d| d <= TOP_DISTINCT_LIMIT))
        .map(|(i, c)| {
            let v = ident(&c.name);
            // A length of time as its seconds, written in words below (its VARCHAR is
            // arrow's `0 days 5 hours 7 mins …`).
            let text = match is_duration(c) {
                true => format!("CAST(date_part('epoch', {v}) AS VARCHAR)"),
                false => format!("CAST({v} AS VARCHAR)"),
            };
            format!(
                "SELECT * FROM (SELECT CAST({i} AS BIGINT) AS col, {text} AS value, count(*) AS n FROM {} WHERE {v} IS NOT NULL GROUP BY {v} ORDER BY n DESC, value LIMIT {TOP_VALUES})",
                source(sql)
            )
        })
        .collect();
    if branches.is_empty() {
        return Ok(());
    }
    let batches = run(session, &branches.join("\nUNION ALL\n"), cancel).await?;
    for batch in &batches {
        let col = int64s(batch.column(0))?;
        let value = cast(batch.column(1), &DataType::Utf8)?;
        let value = value.as_string::<i32>();
        let n = int64s(batch.column(2))?;
        for row in 0..batch.num_rows() {
            let column = &mut columns[col.value(row) as usize];
            let temporal = column.kind == ProfileKind::Temporal;
            let duration = is_duration(column);
            column.top.push(TopValue {
                value: (!value.is_null(row)).then(|| {
                    let text = value.value(row);
                    // As the grid writes a date-time: a space, not SQL's `T`.
                    match text.get(10..11) {
                        _ if duration => text
                            .parse::<f64>()
                            .map_or_else(|_| shorten(text), crate::tables::cell_text::seconds_text),
                        Some("T") if temporal => {
                            shorten(&format!("{} {}", &text[..10], &text[11..]))
                        }
                        _ => shorten(text),
                    }
                }),
                count: n.value(row) as u64,
            });
        }
    }
    for column in columns.iter_mut().filter(|c| !c.top.is_empty()) {
        // UNION ALL keeps no order across branches: most frequent first, ties by value.
        column
            .top
            .sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        let listed: u64 = column.top.iter().map(|t| t.count).sum();
        column.others = rows.saturating_sub(column.nulls).saturating_sub(listed);
    }
    Ok(())
}

fn is_duration(column: &ColumnProfile) -> bool {
    column.data_type.starts_with("Duration")
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= VALUE_CHARS {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(VALUE_CHARS).collect();
    cut.push('…');
    cut
}

async fn run(
    session: &SqlSession,
    sql: &str,
    cancel: &CancellationToken,
) -> Result<Vec<RecordBatch>, TableError> {
    // The generated SQL is not the user's: its positions would point at text they never wrote.
    session
        .run_cancellable(sql, &|_| {}, cancel)
        .await
        .map_err(|e| match e {
            TableError::Sql { message, .. } => TableError::Sql {
                message,
                line: None,
                column: None,
            },
            other => other,
        })
}

fn int64s(array: &ArrayRef) -> Result<Arc<datafusion::arrow::array::Int64Array>, TableError> {
    let array = cast(array, &DataType::Int64)?;
    Ok(Arc::new(array.as_primitive::<Int64Type>().clone()))
}

/// Reads the one row of the stats query, column after column.
struct Row<'a> {
    batch: Option<&'a RecordBatch>,
    at: usize,
}

impl<'a> Row<'a> {
    fn new(batches: &'a [RecordBatch]) -> Row<'a> {
        Row {
            batch: batches.iter().find(|b| b.num_rows() > 0),
            at: 0,
        }
    }

    fn next(&mut self) -> Option<&'a ArrayRef> {
        let column = self.batch?.columns().get(self.at);
        self.at += 1;
        column.filter(|c| !c.is_null(0))
    }

    fn u64(&mut self) -> Option<u64> {
        let column = self.next()?;
        let column = cast(column, &DataType::Int64).ok()?;
        Some(column.as_primitive::<Int64Type>().value(0).max(0) as u64)
    }

    fn f64(&mut self) -> Option<f64> {
        let column = self.next()?;
        if column.is_null(0) {
            return None;
        }
        let column = cast(column, &DataType::Float64).ok()?;
        Some(column.as_primitive::<Float64Type>().value(0)).filter(|v| v.is_finite())
    }

    /// The three quartiles `quire_quartiles` computes, when every one is a finite number, and
    /// whether they are exact.
    fn quartiles(&mut self) -> Option<([f64; 3], bool)> {
        let list = self.next()?.as_list_opt::<i32>()?.value(0);
        let q = list.as_primitive_opt::<Float64Type>()?;
        match q.iter().collect::<Vec<_>>()[..] {
            [Some(a), Some(b), Some(c), Some(exact)] if [a, b, c].iter().all(|v| v.is_finite()) => {
                Some(([a, b, c], exact == 1.0))
            }
            _ => None,
        }
    }

    /// A value as the grid shows it, and as a number when it is one.
    fn value(&mut self) -> (Option<String>, Option<f64>) {
        let Some(column) = self.next() else {
            return (None, None);
        };
        let text = crate::tables::cell_text::CellText::try_new(column.as_ref())
            .ok()
            .map(|f| shorten(&f.value(0)));
        let number = column
            .data_type()
            .is_numeric()
            .then(|| cast(column, &DataType::Float64).ok())
            .flatten()
            .map(|n| n.as_primitive::<Float64Type>().value(0));
        (text, number)
    }
}

//! Chart cells: a Vega-Lite spec over a SQL query, drawn in the webview from points the engine
//! computed (issue 20).
//!
//! - [`spec`]: the cell's source, a Vega-Lite spec with its SQL in `usermeta.quire.sql`.
//! - [`bins`]: Vega's nice bin boundaries, so engine bins are the bins Vega-Lite would draw.
//! - [`query`]: the SQL that bins, cuts dates and aggregates over the whole result.
//! - [`render`]: the spec to draw, with the points inline and each channel pointed at them.
//!
//! Invariant: the webview never receives more than [`query::MAX_POINTS`] points, however many
//! rows the query has; bins and aggregates are exact over every row.

pub mod bins;
pub mod query;
pub mod render;
pub mod spec;
#[cfg(test)]
mod tests;

use std::time::Instant;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::{Int64Type, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::code::{ErrorCode, HasCode, Position};
use crate::tables::{ColumnInfo, SqlSession, TableError};
use bins::Bins;
use query::{Kind, MAX_POINTS};
use spec::ChartSpec;

/// Why a chart cannot be drawn, in words for the person who wrote it.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("the chart's spec is not valid JSON ({0})")]
    NotJson(String),
    #[error("the chart has no query yet: write the SQL whose result it draws")]
    NoQuery,
    #[error("the chart uses the column {column:?}, which its query does not return (it returns {available})")]
    UnknownColumn { column: String, available: String },
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("{0}")]
    Internal(String),
}

impl HasCode for ChartError {
    fn code(&self) -> ErrorCode {
        match self {
            ChartError::Table(e) => e.code(),
            ChartError::Internal(_) => ErrorCode::Internal,
            _ => ErrorCode::ChartInvalid,
        }
    }

    fn position(&self) -> Option<Position> {
        match self {
            ChartError::Table(e) => e.position(),
            _ => None,
        }
    }
}

/// Rows a binned column had no number in (missing, infinite or NaN), so they are in no bin.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct LeftOut {
    pub column: String,
    pub rows: u64,
}

/// A chart cell's output.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct ChartOutput {
    /// The columns the chart's query returns, for the chart builder.
    pub columns: Vec<ColumnInfo>,
    /// The Vega-Lite spec to draw, its points inline; `None` while the spec has no mark or no
    /// channel over the data (a new chart the builder has not filled in).
    pub spec: Option<String>,
    pub points: u64,
    /// More points than a chart carries: the first [`query::MAX_POINTS`] are drawn.
    pub truncated: bool,
    pub left_out: Vec<LeftOut>,
    pub elapsed_ms: f64,
}

/// Plans and runs a chart cell's queries on `session`, stopping when `cancel` fires.
pub async fn draw(
    session: &SqlSession,
    source: &str,
    cancel: &CancellationToken,
) -> Result<ChartOutput, ChartError> {
    let started = Instant::now();
    let spec = ChartSpec::parse(source)?;
    let schema = session.schema_of(&spec.sql).await?;
    let columns = schema
        .fields()
        .iter()
        .map(|f| ColumnInfo {
            name: f.name().clone(),
            data_type: f.data_type().to_string(),
        })
        .collect();
    let mut output = ChartOutput {
        columns,
        spec: None,
        points: 0,
        truncated: false,
        left_out: Vec::new(),
        elapsed_ms: 0.0,
    };
    if !spec.drawable() {
        output.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        return Ok(output);
    }
    check_columns(&spec, &schema)?;
    let (bins, mut left_out) = bins_of(session, &spec, cancel).await?;
    for missing in missing_of(session, &spec, &schema, cancel).await? {
        if !left_out.iter().any(|l| l.column == missing.column) {
            left_out.push(missing);
        }
    }
    output.left_out = left_out;
    let plan = query::plan(&spec.sql, &spec.channels, &schema, &bins);
    let batches = generated(session.run_cancellable(&plan.sql, &|_| {}, cancel).await)?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    output.truncated = rows > MAX_POINTS;
    output.points = rows.min(MAX_POINTS) as u64;
    let mut kept = first_rows(&batches, MAX_POINTS);
    let one_row_each = match plan.rows {
        Some(rows) => {
            let one = kept.iter().all(|b| {
                b.column_by_name(rows).is_some_and(|c| {
                    c.as_primitive_opt::<Int64Type>()
                        .is_some_and(|n| n.values().iter().all(|&n| n == 1))
                })
            });
            // The count is for the title only, not a point's value.
            for b in &mut kept {
                if let Ok(i) = b.schema().index_of(rows) {
                    b.remove_column(i);
                }
            }
            one
        }
        None => false,
    };
    output.spec = Some(render::render(&spec, &plan.outputs, &kept, one_row_each)?);
    output.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(output)
}

/// Every channel's column exists, and fits what the channel does with it.
fn check_columns(spec: &ChartSpec, schema: &Schema) -> Result<(), ChartError> {
    for channel in &spec.channels {
        let Some(field) = channel.field.as_deref() else {
            continue;
        };
        let Ok(column) = schema.field_with_name(field) else {
            let available = schema
                .fields()
                .iter()
                .map(|f| format!("{:?}", f.name()))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(ChartError::UnknownColumn {
                column: field.to_string(),
                available,
            });
        };
        let kind = query::kind(column.data_type());
        let lengths = matches!(
            column.data_type(),
            datafusion::arrow::datatypes::DataType::Duration(_)
                | datafusion::arrow::datatypes::DataType::Interval(_)
        );
        let holds = match kind {
            Kind::Temporal => "dates or times",
            _ if lengths => "lengths of time",
            _ => "text",
        };
        // A length of time becomes a number in the query: seconds, or minutes, hours.
        let as_number = match lengths {
            true => format!(
                "; date_part('epoch', {}) / 60 in the query gives them in minutes",
                crate::tables::name::ident(field)
            ),
            false => String::new(),
        };
        if let Some(op) = channel.aggregate.filter(|op| op.numeric()) {
            if kind != Kind::Number {
                return Err(ChartError::Unsupported(format!(
                    "the {} cannot be computed: {field:?} holds {holds}, not numbers{as_number}",
                    op.title(Some(field)).to_lowercase()
                )));
            }
        }
        if channel.bin.is_some() && kind != Kind::Number {
            return Err(ChartError::Unsupported(format!(
                "{field:?} holds {holds}, and bins need numbers{}",
                if kind == Kind::Temporal {
                    "; cut dates into periods with a time unit instead"
                } else {
                    &as_number
                }
            )));
        }
        if channel.time_unit.is_some() && kind != Kind::Temporal {
            return Err(ChartError::Unsupported(format!(
                "{field:?} is not a date or time, so it cannot be cut into periods"
            )));
        }
    }
    Ok(())
}

/// Rows left out of unbinned continuous positions (see `query::drops_missing`), per column.
async fn missing_of(
    session: &SqlSession,
    spec: &ChartSpec,
    schema: &Schema,
    cancel: &CancellationToken,
) -> Result<Vec<LeftOut>, ChartError> {
    let mut fields: Vec<(&str, Kind)> = Vec::new();
    for channel in &spec.channels {
        let Some(field) = channel.field.as_deref() else {
            continue;
        };
        let kind = schema
            .field_with_name(field)
            .map(|f| query::kind(f.data_type()))
            .unwrap_or(Kind::Other);
        if query::drops_missing(channel, kind) && !fields.iter().any(|(f, _)| *f == field) {
            fields.push((field, kind));
        }
    }
    if fields.is_empty() {
        return Ok(Vec::new());
    }
    let sql = query::missing_sql(&spec.sql, &fields);
    let batches = generated(session.run_cancellable(&sql, &|_| {}, cancel).await)?;
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok(Vec::new());
    };
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::Int64Type;
    Ok(fields
        .iter()
        .zip(batch.columns())
        .filter_map(|((field, _), c)| {
            let rows = c.as_primitive_opt::<Int64Type>()?.value(0);
            (rows > 0).then(|| LeftOut {
                column: field.to_string(),
                rows: rows as u64,
            })
        })
        .collect())
}

/// Each binned channel's bins, from its column's extent over every row.
async fn bins_of(
    session: &SqlSession,
    spec: &ChartSpec,
    cancel: &CancellationToken,
) -> Result<(Vec<Option<Bins>>, Vec<LeftOut>), ChartError> {
    let binned: Vec<&str> = spec
        .channels
        .iter()
        .filter(|c| c.bin.is_some())
        .filter_map(|c| c.field.as_deref())
        .collect();
    if binned.is_empty() {
        return Ok((vec![None; spec.channels.len()], Vec::new()));
    }
    let sql = query::extents_sql(&spec.sql, &binned);
    let batches = generated(session.run_cancellable(&sql, &|_| {}, cancel).await)?;
    let numbers: Vec<Option<f64>> = match batches.iter().find(|b| b.num_rows() > 0) {
        Some(batch) => batch
            .columns()
            .iter()
            .map(|c| {
                use datafusion::arrow::array::{Array, AsArray};
                use datafusion::arrow::datatypes::{Float64Type, Int64Type};
                match c.data_type() {
                    _ if c.is_null(0) => None,
                    datafusion::arrow::datatypes::DataType::Float64 => {
                        Some(c.as_primitive::<Float64Type>().value(0))
                    }
                    datafusion::arrow::datatypes::DataType::Int64 => {
                        Some(c.as_primitive::<Int64Type>().value(0) as f64)
                    }
                    _ => None,
                }
            })
            .collect(),
        None => Vec::new(),
    };
    let mut extents = numbers.chunks(3);
    let mut left_out = Vec::new();
    let mut bins = Vec::new();
    for channel in &spec.channels {
        let (Some(params), Some(field)) = (channel.bin, channel.field.as_deref()) else {
            bins.push(None);
            continue;
        };
        let extent = extents.next().unwrap_or(&[]);
        let missing = extent.get(2).copied().flatten().unwrap_or(0.0) as u64;
        if missing > 0 {
            left_out.push(LeftOut {
                column: field.to_string(),
                rows: missing,
            });
        }
        bins.push(match (extent.first(), extent.get(1)) {
            (Some(Some(min)), Some(Some(max))) if min.is_finite() && max.is_finite() => {
                Some(Bins::nice(*min, *max, params.maxbins, params.step))
            }
            // No value at all: no bins, and no points.
            _ => Some(Bins::nice(0.0, 0.0, params.maxbins, params.step)),
        });
    }
    Ok((bins, left_out))
}

/// A generated query's error: its position would point into SQL the user never wrote.
fn generated<T>(result: Result<T, TableError>) -> Result<T, ChartError> {
    result.map_err(|e| match e {
        TableError::Sql { message, .. } => ChartError::Table(TableError::Sql {
            message,
            line: None,
            column: None,
        }),
        other => ChartError::Table(other),
    })
}

fn first_rows(batches: &[RecordBatch], n: usize) -> Vec<RecordBatch> {
    let mut left = n;
    let mut kept = Vec::new();
    for batch in batches {
        if left == 0 {
            break;
        }
        let take = batch.num_rows().min(left);
        kept.push(batch.slice(0, take));
        left -= take;
    }
    kept
}

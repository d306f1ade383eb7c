//! The SQL that turns a chart's query into only the points it draws: bins, time periods and
//! aggregates computed by DataFusion over the whole result, so a chart over 100M rows sends a
//! few hundred points to the webview.

use datafusion::arrow::datatypes::{DataType, Schema};

use super::bins::Bins;
use super::spec::{Aggregate, Channel};

/// Points a chart carries at most; past it the first ones are drawn and the chart says so.
pub const MAX_POINTS: usize = 10_000;

use crate::tables::sql::ident;

/// The user's query as a subquery, without a closing `;`. On lines of its own, so a trailing
/// `-- comment` ends there.
pub fn source(sql: &str) -> String {
    format!(
        "(\n{}\n) AS quire_source",
        crate::tables::sql::without_terminator(sql)
    )
}

/// A column's kind, as the chart cares about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Number,
    Temporal,
    Other,
}

pub fn kind(data_type: &DataType) -> Kind {
    match data_type {
        t if t.is_numeric() => Kind::Number,
        // Times of day stay text: Vega's time scales are instants.
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _) => Kind::Temporal,
        DataType::Dictionary(_, value) => kind(value),
        _ => Kind::Other,
    }
}

/// `value` as what the webview draws: numbers as doubles, dates and times as milliseconds since
/// 1970 in UTC (Vega's own time values), the rest as it is.
fn drawn(value: String, kind: Kind) -> String {
    match kind {
        Kind::Number => format!("CAST({value} AS DOUBLE)"),
        Kind::Temporal => {
            format!("CAST(date_part('epoch', CAST({value} AS TIMESTAMP)) * 1000 AS DOUBLE)")
        }
        Kind::Other => value,
    }
}

/// `value` where it is a finite number, else NULL: infinities and NaN have no place on an axis.
pub(crate) fn finite(value: &str) -> String {
    format!("CASE WHEN abs({value}) <= 1.7976931348623157e308 THEN {value} END")
}

/// What one channel became in the query's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The result column holding the channel's value (a bin's start).
    pub alias: String,
    /// For a binned channel, the column holding each bin's end.
    pub end: Option<String>,
    /// The source column's kind (numbers for aggregates and bins).
    pub kind: Kind,
}

/// The query whose rows are the chart's points, and where each channel is in them.
pub struct Plan {
    pub sql: String,
    pub outputs: Vec<Output>,
    /// The column counting each point's rows ([`ROWS`]), when an aggregate would read the
    /// same as its value on one row (a sum, mean, median, min or max): when every point has
    /// one row, the axis is titled by the column alone, not "Sum of" a value nothing summed.
    pub rows: Option<&'static str>,
}

/// The name of [`Plan::rows`]'s column.
pub const ROWS: &str = "__rows";

/// The min and max of each binned column, and how many rows have no value there.
pub fn extents_sql(sql: &str, binned: &[&str]) -> String {
    let parts: Vec<String> = binned
        .iter()
        .map(|f| {
            let c = ident(f);
            let x = finite(&format!("CAST({c} AS DOUBLE)"));
            format!("min({x}), max({x}), count(*) - count({x})")
        })
        .collect();
    format!("SELECT {} FROM {}", parts.join(", "), source(sql))
}

/// A channel whose rows Vega-Lite would drop where they have no value: an unbinned,
/// unaggregated position on a continuous scale (numbers, dates). The engine drops them itself,
/// so the points it counts are the points drawn, and says how many rows it left out.
pub fn drops_missing(channel: &Channel, kind: Kind) -> bool {
    channel.aggregate.is_none()
        && channel.bin.is_none()
        && channel.field.is_some()
        && matches!(channel.name.as_str(), "x" | "y" | "x2" | "y2")
        && matches!(kind, Kind::Number | Kind::Temporal)
}

/// How many rows have no drawable value in each of `fields` (NULL, or a non-finite number).
pub fn missing_sql(sql: &str, fields: &[(&str, Kind)]) -> String {
    let parts: Vec<String> = fields
        .iter()
        .map(|(f, kind)| {
            let value = finite(&drawn(ident(f), *kind));
            format!("count(*) - count({value})")
        })
        .collect();
    format!("SELECT {} FROM {}", parts.join(", "), source(sql))
}

/// `bins[i]` are channel `i`'s bins when it has any.
pub fn plan(sql: &str, channels: &[Channel], schema: &Schema, bins: &[Option<Bins>]) -> Plan {
    let kind_of = |field: &str| {
        schema
            .field_with_name(field)
            .map(|f| kind(f.data_type()))
            .unwrap_or(Kind::Other)
    };
    let mut select = Vec::new();
    let mut keys = Vec::new();
    let mut outputs = Vec::new();
    let mut not_null = Vec::new();
    let grouped = channels
        .iter()
        .any(|c| c.aggregate.is_some() || c.bin.is_some());
    for (i, channel) in channels.iter().enumerate() {
        // Named apart from any column a query may return (`c0` is a common name).
        let alias = format!("__c{i}");
        let column = channel.field.as_deref().map(ident);
        let source_kind = channel.field.as_deref().map_or(Kind::Number, kind_of);
        if let Some(op) = channel.aggregate {
            let c = column.clone().unwrap_or_default();
            let number = format!("CAST({c} AS DOUBLE)");
            let (expr, kind) = match op {
                Aggregate::Count => ("count(*)".to_string(), Kind::Number),
                Aggregate::Valid => (format!("count({c})"), Kind::Number),
                Aggregate::Missing => (format!("count(*) - count({c})"), Kind::Number),
                Aggregate::Distinct => (format!("count(DISTINCT {c})"), Kind::Number),
                Aggregate::Sum => (format!("sum({number})"), Kind::Number),
                Aggregate::Mean => (format!("avg({number})"), Kind::Number),
                Aggregate::Median => (format!("median({number})"), Kind::Number),
                Aggregate::Stdev => (format!("stddev_samp({number})"), Kind::Number),
                Aggregate::Variance => (format!("var_samp({number})"), Kind::Number),
                Aggregate::Min => (drawn(format!("min({c})"), source_kind), source_kind),
                Aggregate::Max => (drawn(format!("max({c})"), source_kind), source_kind),
            };
            select.push(format!("{expr} AS {alias}"));
            outputs.push(Output {
                alias,
                end: None,
                kind,
            });
            continue;
        }
        let c = column.unwrap_or_default();
        if let Some(bins) = bins.get(i).copied().flatten() {
            let start = bins.start_sql(&format!("CAST({c} AS DOUBLE)"));
            let end = format!("{alias}_end");
            select.push(format!("{start} AS {alias}"));
            select.push(format!("{start} + {:?} AS {end}", bins.step));
            keys.extend([alias.clone(), end.clone()]);
            not_null.push(format!(
                "{} IS NOT NULL",
                finite(&format!("CAST({c} AS DOUBLE)"))
            ));
            outputs.push(Output {
                alias,
                end: Some(end),
                kind: Kind::Number,
            });
            continue;
        }
        // A time zone's instants are cut at that zone's midnight, then drawn as wall-clock time.
        let local = match channel
            .field
            .as_deref()
            .and_then(|f| schema.field_with_name(f).ok())
        {
            Some(f) if matches!(f.data_type(), DataType::Timestamp(_, Some(_))) => {
                format!("to_local_time({c})")
            }
            _ => c,
        };
        let value = match channel.time_unit {
            Some(unit) => format!("date_trunc('{}', {local})", unit.trunc()),
            None => local,
        };
        let value = drawn(value, source_kind);
        if drops_missing(channel, source_kind) {
            not_null.push(format!("{} IS NOT NULL", finite(&value)));
        }
        select.push(format!("{value} AS {alias}"));
        keys.push(alias.clone());
        outputs.push(Output {
            alias,
            end: None,
            kind: source_kind,
        });
    }
    let rows = (grouped
        && !keys.is_empty()
        && channels
            .iter()
            .any(|c| c.aggregate.is_some_and(Aggregate::same_on_one_row)))
    .then_some(ROWS);
    if let Some(rows) = rows {
        select.push(format!("count(*) AS {rows}"));
    }
    let mut sql = format!("SELECT {} FROM {}", select.join(", "), source(sql));
    if !not_null.is_empty() {
        sql.push_str(&format!(" WHERE {}", not_null.join(" AND ")));
    }
    if grouped && !keys.is_empty() {
        sql.push_str(&format!(
            " GROUP BY {keys} ORDER BY {keys}",
            keys = keys.join(", ")
        ));
    }
    sql.push_str(&format!(" LIMIT {}", MAX_POINTS + 1));
    Plan { sql, outputs, rows }
}

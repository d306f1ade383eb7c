//! A chart cell's source: a Vega-Lite spec, with the SQL that feeds it kept in
//! `usermeta.quire.sql` (Vega-Lite's place for a tool's own data), so the file stays a spec that
//! other Vega-Lite tools read.
//!
//! Quire draws one view per cell; its encoding channels may `bin`, `aggregate` or take a
//! `timeUnit`, which the engine computes in SQL. What would need the raw rows in the webview
//! (`transform`, layers, concatenation, repeat) is refused with the way round it.

use serde_json::{Map, Value};

use super::ChartError;

/// The parsed spec: the query, the spec as written, and what each channel asks of the data.
#[derive(Debug, Clone)]
pub struct ChartSpec {
    pub sql: String,
    pub spec: Map<String, Value>,
    /// Encoding channels that read the data (a field or an aggregate), in the spec's order.
    pub channels: Vec<Channel>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    /// The Vega-Lite channel: `x`, `y`, `color`, `column`…
    pub name: String,
    pub field: Option<String>,
    pub aggregate: Option<Aggregate>,
    pub bin: Option<BinParams>,
    pub time_unit: Option<TimeUnit>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BinParams {
    pub maxbins: u32,
    pub step: Option<f64>,
}

/// The aggregates Quire computes, with Vega-Lite's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Count,
    Valid,
    Missing,
    Distinct,
    Sum,
    Mean,
    Median,
    Min,
    Max,
    Stdev,
    Variance,
}

/// Time units that cut a date or time down to a period (Vega-Lite's `year`, `yearmonth`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Year,
    Quarter,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

/// Vega-Lite's default number of bins on a position channel.
const DEFAULT_MAXBINS: u32 = 10;
/// Spec keys that would make Vega-Lite work on the raw rows in the webview.
const REFUSED: [(&str, &str); 8] = [
    (
        "transform",
        "write filters and calculations in the chart's SQL",
    ),
    ("layer", "put each layer in its own chart cell"),
    ("concat", "put each chart in its own cell"),
    ("hconcat", "put each chart in its own cell"),
    ("vconcat", "put each chart in its own cell"),
    ("repeat", "put each chart in its own cell"),
    ("facet", "use the row or column channel of the encoding"),
    ("spec", "use the row or column channel of the encoding"),
];

impl Aggregate {
    fn parse(name: &str) -> Result<Aggregate, ChartError> {
        Ok(match name {
            "count" => Aggregate::Count,
            "valid" => Aggregate::Valid,
            "missing" => Aggregate::Missing,
            "distinct" => Aggregate::Distinct,
            "sum" => Aggregate::Sum,
            "mean" | "average" => Aggregate::Mean,
            "median" => Aggregate::Median,
            "min" => Aggregate::Min,
            "max" => Aggregate::Max,
            "stdev" => Aggregate::Stdev,
            "variance" => Aggregate::Variance,
            other => {
                return Err(ChartError::Unsupported(format!(
                    "the aggregate {other:?} is not one Quire computes (it computes count, sum, \
                     mean, median, min, max, distinct, stdev, variance, valid and missing)"
                )))
            }
        })
    }

    /// Needs numbers (a sum of text means nothing).
    pub fn numeric(self) -> bool {
        matches!(
            self,
            Aggregate::Sum
                | Aggregate::Mean
                | Aggregate::Median
                | Aggregate::Stdev
                | Aggregate::Variance
        )
    }

    /// Whether it is the value itself over one row (so "Sum of x" over one row each is x).
    pub fn same_on_one_row(self) -> bool {
        matches!(
            self,
            Aggregate::Sum | Aggregate::Mean | Aggregate::Median | Aggregate::Min | Aggregate::Max
        )
    }

    /// How an axis names it, as Vega-Lite does ("Sum of fare").
    pub fn title(self, field: Option<&str>) -> String {
        let op = match self {
            Aggregate::Count => return "Count of rows".into(),
            Aggregate::Valid => "Count of values in",
            Aggregate::Missing => "Missing values in",
            Aggregate::Distinct => "Distinct values of",
            Aggregate::Sum => "Sum of",
            Aggregate::Mean => "Mean of",
            Aggregate::Median => "Median of",
            Aggregate::Min => "Min of",
            Aggregate::Max => "Max of",
            Aggregate::Stdev => "Standard deviation of",
            Aggregate::Variance => "Variance of",
        };
        format!("{op} {}", field.unwrap_or("rows"))
    }
}

impl TimeUnit {
    fn parse(name: &str) -> Result<TimeUnit, ChartError> {
        let unit = name.strip_prefix("utc").unwrap_or(name);
        Ok(match unit {
            "year" => TimeUnit::Year,
            "yearquarter" => TimeUnit::Quarter,
            "yearmonth" => TimeUnit::Month,
            "yearmonthdate" => TimeUnit::Day,
            "yearmonthdatehours" => TimeUnit::Hour,
            "yearmonthdatehoursminutes" => TimeUnit::Minute,
            "yearmonthdatehoursminutesseconds" => TimeUnit::Second,
            other => {
                return Err(ChartError::Unsupported(format!(
                    "the time unit {other:?} is not one Quire computes; it cuts dates to a \
                     period: year, yearquarter, yearmonth, yearmonthdate, yearmonthdatehours, \
                     yearmonthdatehoursminutes"
                )))
            }
        })
    }

    /// DataFusion's `date_trunc` granularity.
    pub fn trunc(self) -> &'static str {
        match self {
            TimeUnit::Year => "year",
            TimeUnit::Quarter => "quarter",
            TimeUnit::Month => "month",
            TimeUnit::Day => "day",
            TimeUnit::Hour => "hour",
            TimeUnit::Minute => "minute",
            TimeUnit::Second => "second",
        }
    }

    /// The same unit in UTC, which is how the engine hands dates to the webview.
    pub fn vega_utc(self) -> &'static str {
        match self {
            TimeUnit::Year => "utcyear",
            TimeUnit::Quarter => "utcyearquarter",
            TimeUnit::Month => "utcyearmonth",
            TimeUnit::Day => "utcyearmonthdate",
            TimeUnit::Hour => "utcyearmonthdatehours",
            TimeUnit::Minute => "utcyearmonthdatehoursminutes",
            TimeUnit::Second => "utcyearmonthdatehoursminutesseconds",
        }
    }
}

impl ChartSpec {
    pub fn parse(source: &str) -> Result<ChartSpec, ChartError> {
        let value: Value = serde_json::from_str(source).map_err(|e| {
            ChartError::NotJson(format!("line {}, column {}: {e}", e.line(), e.column()))
        })?;
        let Value::Object(spec) = value else {
            return Err(ChartError::NotJson(
                "a chart's spec is a JSON object ({ … })".into(),
            ));
        };
        // A link on a mark would take the app's window to a web page when clicked.
        let mark_links =
            matches!(spec.get("mark"), Some(Value::Object(m)) if m.contains_key("href"));
        let channel_links = spec
            .get("encoding")
            .and_then(Value::as_object)
            .is_some_and(|e| e.contains_key("href") || e.contains_key("url"));
        if mark_links || channel_links {
            return Err(ChartError::Unsupported(
                "charts in Quire do not open links: remove `href` from the spec".into(),
            ));
        }
        for (key, instead) in REFUSED {
            if spec.contains_key(key) {
                return Err(ChartError::Unsupported(format!(
                    "Quire draws one chart per cell from its SQL, so `{key}` is not drawn: \
                     {instead}"
                )));
            }
        }
        let sql = spec
            .get("usermeta")
            .and_then(|m| m.get("quire"))
            .and_then(|q| q.get("sql"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string();
        if sql.is_empty() {
            return Err(ChartError::NoQuery);
        }
        let mut channels = Vec::new();
        if let Some(encoding) = spec.get("encoding") {
            let Value::Object(encoding) = encoding else {
                return Err(ChartError::Unsupported(
                    "`encoding` is an object of channels ({ \"x\": … })".into(),
                ));
            };
            for (name, def) in encoding {
                if let Some(channel) = Channel::parse(name, def)? {
                    channels.push(channel);
                }
            }
        }
        Ok(ChartSpec {
            sql,
            spec,
            channels,
        })
    }

    /// A mark and at least one channel over the data: something to draw. The builder fills in
    /// the rest of a new chart.
    pub fn drawable(&self) -> bool {
        self.spec.contains_key("mark") && !self.channels.is_empty()
    }
}

impl Channel {
    /// `None` for a channel that reads no data (a constant `value` or `datum`).
    fn parse(name: &str, def: &Value) -> Result<Option<Channel>, ChartError> {
        let Value::Object(def) = def else {
            return Err(ChartError::Unsupported(format!(
                "the {name} channel must be an object ({{ \"field\": … }}); several \
                 definitions per channel are not drawn"
            )));
        };
        let field = match def.get("field") {
            None => None,
            Some(Value::String(f)) => Some(f.clone()),
            Some(_) => {
                return Err(ChartError::Unsupported(format!(
                    "the {name} channel's field must be a column name"
                )))
            }
        };
        let aggregate = match def.get("aggregate") {
            None => None,
            Some(Value::String(op)) => Some(Aggregate::parse(op)?),
            Some(_) => {
                return Err(ChartError::Unsupported(format!(
                    "the {name} channel's aggregate must be a name such as \"sum\""
                )))
            }
        };
        let bin = match def.get("bin") {
            None | Some(Value::Bool(false)) | Some(Value::Null) => None,
            // Data the query already binned: drawn as it is.
            Some(Value::String(s)) if s == "binned" => None,
            Some(Value::Bool(true)) => Some(BinParams {
                maxbins: DEFAULT_MAXBINS,
                step: None,
            }),
            Some(Value::Object(params)) => {
                if params.get("binned").and_then(Value::as_bool) == Some(true) {
                    None
                } else {
                    let maxbins = params
                        .get("maxbins")
                        .and_then(Value::as_u64)
                        .map_or(DEFAULT_MAXBINS, |m| m.clamp(1, 10_000) as u32);
                    let step = params.get("step").and_then(Value::as_f64);
                    Some(BinParams { maxbins, step })
                }
            }
            Some(_) => {
                return Err(ChartError::Unsupported(format!(
                    "the {name} channel's bin must be true or {{ \"maxbins\": … }}"
                )))
            }
        };
        if bin.is_some() && !matches!(name, "x" | "y") {
            return Err(ChartError::Unsupported(format!(
                "bins are drawn on x and y; the {name} channel cannot bin"
            )));
        }
        let time_unit = match def.get("timeUnit") {
            None => None,
            Some(Value::String(unit)) => Some(TimeUnit::parse(unit)?),
            Some(_) => {
                return Err(ChartError::Unsupported(format!(
                    "the {name} channel's timeUnit must be a name such as \"yearmonth\""
                )))
            }
        };
        if let Some(Value::Object(sort)) = def.get("sort") {
            if sort.contains_key("field") || sort.contains_key("op") {
                return Err(ChartError::Unsupported(format!(
                    "the {name} channel sorts by another field, which is not drawn; sort by \
                     \"x\", \"y\", \"-x\" or \"-y\" instead"
                )));
            }
        }
        if field.is_none() && aggregate != Some(Aggregate::Count) {
            if aggregate.is_some() {
                return Err(ChartError::Unsupported(format!(
                    "the {name} channel's aggregate needs a field (only count counts rows)"
                )));
            }
            return Ok(None);
        }
        Ok(Some(Channel {
            name: name.to_string(),
            field: field.filter(|_| aggregate != Some(Aggregate::Count)),
            aggregate,
            bin,
            time_unit,
        }))
    }
}

//! The spec the webview draws: the user's spec with the computed points inline and each channel
//! pointed at the column the engine filled for it (bins as `bin: "binned"` start and end,
//! aggregates as plain numbers), titled as Vega-Lite would have titled the raw encoding.

use arrow_json::writer::JsonArray;
use arrow_json::WriterBuilder;
use datafusion::arrow::record_batch::RecordBatch;
use serde_json::{json, Map, Value};

use super::query::{Kind, Output};
use super::spec::ChartSpec;
use super::ChartError;

/// The channel that carries a binned channel's end.
fn end_channel(name: &str) -> Option<&'static str> {
    match name {
        "x" => Some("x2"),
        "y" => Some("y2"),
        _ => None,
    }
}

/// `one_row_each`: every point aggregates one row, so a sum, mean, median, min or max is the
/// value itself and is titled by its column alone.
pub fn render(
    spec: &ChartSpec,
    outputs: &[Output],
    batches: &[RecordBatch],
    one_row_each: bool,
) -> Result<String, ChartError> {
    let mut out: Map<String, Value> = spec.spec.clone();
    if let Some(Value::Object(meta)) = out.get_mut("usermeta") {
        meta.remove("quire");
        if meta.is_empty() {
            out.remove("usermeta");
        }
    }
    out.insert("data".into(), json!({ "values": values(batches)? }));
    let mut encoding = match out.remove("encoding") {
        Some(Value::Object(e)) => e,
        _ => Map::new(),
    };
    for (channel, output) in spec.channels.iter().zip(outputs) {
        let Some(Value::Object(mut def)) = encoding.remove(&channel.name) else {
            continue;
        };
        for key in ["field", "aggregate", "bin", "timeUnit"] {
            def.remove(key);
        }
        let field = channel.field.as_deref();
        let title = match channel.aggregate {
            Some(op) if !(one_row_each && op.same_on_one_row()) => op.title(field),
            _ => field.unwrap_or_default().to_string(),
        };
        def.entry("title").or_insert(Value::String(title));
        def.insert("field".into(), Value::String(output.alias.clone()));
        // Aggregates are numbers, but the min or max of dates is a date.
        let inferred = if channel.bin.is_some() {
            "quantitative"
        } else if output.kind == Kind::Temporal {
            "temporal"
        } else if output.kind == Kind::Number {
            "quantitative"
        } else {
            "nominal"
        };
        def.entry("type").or_insert(Value::String(inferred.into()));
        if def.get("type").and_then(Value::as_str) == Some("quantitative")
            && channel.bin.is_none()
            && matches!(channel.name.as_str(), "x" | "y")
            && years_only(batches, &output.alias)
        {
            // Whole numbers from 1000 to 9999 on an axis are years far more often than counts:
            // 1950, not Vega's grouped 1,950.
            let axis = def.entry("axis").or_insert_with(|| json!({}));
            if let Value::Object(axis) = axis {
                axis.entry("format").or_insert(json!("d"));
            }
        }
        if def.get("type").and_then(Value::as_str) == Some("temporal") {
            // The engine hands instants over as UTC milliseconds, so they are drawn in UTC: the
            // wall-clock values the table holds.
            let scale = def.entry("scale").or_insert_with(|| json!({}));
            if let Value::Object(scale) = scale {
                scale.entry("type").or_insert(json!("utc"));
            }
            if let Some(unit) = channel.time_unit {
                def.insert("timeUnit".into(), json!(unit.vega_utc()));
            } else if is_bar(&out)
                && channel.aggregate.is_none()
                && matches!(channel.name.as_str(), "x" | "y")
            {
                // A bar at an instant is a hairline on a time axis; dates that each start a
                // year, month or day are drawn that period wide.
                if let Some(unit) = aligned_unit(batches, &output.alias) {
                    def.insert("timeUnit".into(), json!(unit));
                }
            }
        }
        if let Some(end) = &output.end {
            def.insert("bin".into(), json!({ "binned": true }));
            if let Some(end_channel) = end_channel(&channel.name) {
                encoding.insert(end_channel.into(), json!({ "field": end }));
            }
        }
        encoding.insert(channel.name.clone(), Value::Object(def));
    }
    out.insert("encoding".into(), Value::Object(encoding));
    serde_json::to_string(&Value::Object(out))
        .map_err(|e| ChartError::Internal(format!("the chart cannot be written out: {e}")))
}

/// Whether every value of `column` is a whole number from 1000 to 9999 (and there is one).
fn years_only(batches: &[RecordBatch], column: &str) -> bool {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::Float64Type;
    let mut seen = false;
    for batch in batches {
        let Some(values) = batch
            .column_by_name(column)
            .and_then(|c| c.as_primitive_opt::<Float64Type>())
        else {
            return false;
        };
        for i in (0..values.len()).filter(|&i| values.is_valid(i)) {
            let v = values.value(i);
            if v.fract() != 0.0 || !(1000.0..=9999.0).contains(&v) {
                return false;
            }
            seen = true;
        }
    }
    seen
}

/// Whether the spec's mark is a bar (`"bar"` or `{"type": "bar", …}`).
fn is_bar(spec: &Map<String, Value>) -> bool {
    match spec.get("mark") {
        Some(Value::String(mark)) => mark == "bar",
        Some(Value::Object(mark)) => mark.get("type").and_then(Value::as_str) == Some("bar"),
        _ => false,
    }
}

/// The longest period (Vega-Lite's UTC year, month or day) that every instant of `column` (UTC
/// milliseconds) starts; None when some instant is within a day, or there is none.
fn aligned_unit(batches: &[RecordBatch], column: &str) -> Option<&'static str> {
    use chrono::{Datelike, Timelike};
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::Float64Type;
    // (every instant starts a year, a month, a day)
    let (mut year, mut month, mut day) = (true, true, true);
    let mut seen = false;
    for batch in batches {
        let values = batch
            .column_by_name(column)?
            .as_primitive_opt::<Float64Type>()?;
        for i in (0..values.len()).filter(|&i| values.is_valid(i)) {
            let at = chrono::DateTime::from_timestamp_millis(values.value(i) as i64)?;
            seen = true;
            day &= at.num_seconds_from_midnight() == 0 && at.timestamp_subsec_nanos() == 0;
            month &= day && at.day() == 1;
            year &= month && at.month() == 1;
            if !day {
                return None;
            }
        }
    }
    match (seen, year, month) {
        (false, _, _) => None,
        (true, true, _) => Some("utcyear"),
        (true, false, true) => Some("utcyearmonth"),
        (true, false, false) => Some("utcyearmonthdate"),
    }
}

/// The rows as JSON objects, keyed by result column. A missing value is an explicit `null`:
/// Vega-Lite leaves it out of a number scale, and on a category axis shows it as `null`; a key
/// left out would be drawn as a category named "undefined".
fn values(batches: &[RecordBatch]) -> Result<Value, ChartError> {
    let mut writer = WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, JsonArray>(Vec::new());
    for batch in batches {
        // Lengths of time as categories read as the result shows them (arrow's JSON writes
        // ISO 8601's `PT18420S`).
        let batch = crate::tables::cell_text::with_times_as_text(batch)
            .map_err(|e| ChartError::Internal(format!("the chart's points: {e}")))?;
        writer
            .write(&batch)
            .map_err(|e| ChartError::Internal(format!("the chart's points: {e}")))?;
    }
    writer
        .finish()
        .map_err(|e| ChartError::Internal(format!("the chart's points: {e}")))?;
    let bytes = writer.into_inner();
    if bytes.is_empty() {
        return Ok(Value::Array(Vec::new()));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| ChartError::Internal(format!("the chart's points: {e}")))
}

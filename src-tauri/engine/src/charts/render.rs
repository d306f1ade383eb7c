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
        if def.get("type").and_then(Value::as_str) == Some("temporal") {
            // The engine hands instants over as UTC milliseconds, so they are drawn in UTC: the
            // wall-clock values the table holds.
            let scale = def.entry("scale").or_insert_with(|| json!({}));
            if let Value::Object(scale) = scale {
                scale.entry("type").or_insert(json!("utc"));
            }
            if let Some(unit) = channel.time_unit {
                def.insert("timeUnit".into(), json!(unit.vega_utc()));
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

/// The rows as JSON objects, keyed by result column. A missing value is an explicit `null`:
/// Vega-Lite leaves it out of a number scale, and on a category axis shows it as `null`; a key
/// left out would be drawn as a category named "undefined".
fn values(batches: &[RecordBatch]) -> Result<Value, ChartError> {
    let mut writer = WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, JsonArray>(Vec::new());
    for batch in batches {
        writer
            .write(batch)
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

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::query::MAX_POINTS;
use super::*;
use crate::tables::TableVersion;

/// `trips`: 1,005 rows; `fare` 0.0, 0.1 … 99.9 plus 5 missing; `city` cycles through three
/// names; `day` walks through 2024 one day per row (from Jan 1); `n` is the row number.
fn session() -> SqlSession {
    let rows = 1005usize;
    let fare: Float64Array = (0..rows)
        .map(|i| (i < 1000).then(|| i as f64 / 10.0))
        .collect();
    let city: StringArray = (0..rows)
        .map(|i| Some(["Lyon", "Oslo", "Pune"][i % 3]))
        .collect();
    let day: Date32Array = (0..rows).map(|i| Some(19723 + (i as i32 % 366))).collect();
    let n: Int64Array = (0..rows as i64).map(Some).collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("fare", DataType::Float64, true),
        Field::new("city", DataType::Utf8, true),
        Field::new("day", DataType::Date32, true),
        Field::new("n", DataType::Int64, true),
    ]));
    let columns: Vec<ArrayRef> = vec![Arc::new(fare), Arc::new(city), Arc::new(day), Arc::new(n)];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let session = SqlSession::default();
    session
        .register("trips", &TableVersion::first(schema, vec![batch]))
        .unwrap();
    session
}

fn chart(sql: &str, mark: &str, encoding: Value) -> String {
    json!({
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "usermeta": { "quire": { "sql": sql } },
        "mark": mark,
        "encoding": encoding,
    })
    .to_string()
}

async fn draw_ok(session: &SqlSession, source: &str) -> (ChartOutput, Value) {
    let out = draw(session, source, &CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let spec: Value = serde_json::from_str(out.spec.as_deref().expect("a drawable chart")).unwrap();
    (out, spec)
}

fn values(spec: &Value) -> &Vec<Value> {
    spec["data"]["values"].as_array().unwrap()
}

#[tokio::test]
async fn a_histogram_is_binned_in_sql_where_vega_would_bin() {
    let s = session();
    let source = chart(
        "SELECT * FROM trips;",
        "bar",
        json!({
            "x": { "field": "fare", "bin": { "maxbins": 10 } },
            "y": { "aggregate": "count" },
        }),
    );
    let (out, spec) = draw_ok(&s, &source).await;
    assert_eq!(
        out.left_out,
        vec![LeftOut {
            column: "fare".into(),
            rows: 5
        }]
    );
    let points = values(&spec);
    assert_eq!(points.len(), 10, "{points:?}");
    for (i, p) in points.iter().enumerate() {
        assert_eq!(p["__c0"], json!(i as f64 * 10.0), "{p}");
        assert_eq!(p["__c0_end"], json!(i as f64 * 10.0 + 10.0), "{p}");
        assert_eq!(p["__c1"], json!(100), "{p}");
    }
    let x = &spec["encoding"]["x"];
    assert_eq!(x["bin"], json!({ "binned": true }));
    assert_eq!(x["field"], "__c0");
    assert_eq!(x["title"], "fare");
    assert_eq!(x["type"], "quantitative");
    assert_eq!(spec["encoding"]["x2"]["field"], "__c0_end");
    assert_eq!(spec["encoding"]["y"]["title"], "Count of rows");
    assert!(
        spec.get("usermeta").is_none(),
        "the SQL stays out of the drawn spec"
    );
}

#[tokio::test]
async fn the_top_of_the_range_falls_in_the_last_bin() {
    let s = session();
    // 0, 10 … 100: Vega puts 100 (the end of the last bin) into [90, 100].
    let source = chart(
        "SELECT n * 10.0 AS v FROM trips WHERE n <= 10",
        "bar",
        json!({ "x": { "field": "v", "bin": true }, "y": { "aggregate": "count" } }),
    );
    let (_, spec) = draw_ok(&s, &source).await;
    let counts: Vec<i64> = values(&spec)
        .iter()
        .map(|p| p["__c1"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, vec![1, 1, 1, 1, 1, 1, 1, 1, 1, 2]);
}

#[tokio::test]
async fn aggregates_match_the_same_sql_by_hand() {
    let s = session();
    for (op, expr) in [
        ("sum", "sum(fare)"),
        ("mean", "avg(fare)"),
        ("median", "median(fare)"),
        ("min", "min(fare)"),
        ("max", "max(fare)"),
        ("distinct", "CAST(count(DISTINCT fare) AS DOUBLE)"),
        ("valid", "CAST(count(fare) AS DOUBLE)"),
        ("missing", "CAST(count(*) - count(fare) AS DOUBLE)"),
        ("stdev", "stddev_samp(fare)"),
    ] {
        let source = chart(
            "SELECT city, fare FROM trips",
            "bar",
            json!({ "x": { "field": "city" }, "y": { "field": "fare", "aggregate": op } }),
        );
        let (_, spec) = draw_ok(&s, &source).await;
        let expected = s
            .run(&format!(
                "SELECT city, CAST({expr} AS DOUBLE) AS v FROM trips GROUP BY city ORDER BY city"
            ))
            .await
            .unwrap();
        let cities = expected[0]
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        let wanted = expected[0]
            .column(1)
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        let points = values(&spec);
        assert_eq!(points.len(), 3, "{op}");
        for (i, p) in points.iter().enumerate() {
            assert_eq!(p["__c0"], cities.value(i), "{op}");
            let got = p["__c1"].as_f64().unwrap();
            assert!(
                (got - wanted.value(i)).abs() < 1e-9,
                "{op}: {got} vs {}",
                wanted.value(i)
            );
        }
        assert_eq!(spec["encoding"]["x"]["type"], "nominal", "{op}");
        assert_eq!(spec["encoding"]["y"]["type"], "quantitative", "{op}");
    }
}

/// A missing category is a point whose value is null, so Vega-Lite draws it as `null`: with
/// its key left out, the bar was labelled "undefined".
#[tokio::test]
async fn a_missing_category_is_a_null_point_not_a_missing_key() {
    let s = session();
    let source = chart(
        "SELECT CASE WHEN n % 5 = 0 THEN NULL ELSE city END AS c FROM trips",
        "bar",
        json!({ "x": { "field": "c" }, "y": { "aggregate": "count" } }),
    );
    let (_, spec) = draw_ok(&s, &source).await;
    let points = values(&spec);
    assert_eq!(points.len(), 4, "{points:?}");
    let missing: Vec<&Value> = points.iter().filter(|p| p["__c0"].is_null()).collect();
    assert_eq!(missing.len(), 1, "{points:?}");
    assert!(
        missing[0].as_object().unwrap().contains_key("__c0"),
        "the key is there, its value null: {points:?}"
    );
    assert_eq!(missing[0]["__c1"].as_f64(), Some(201.0), "{points:?}");
}

/// A result already one row per x (a mean per month): "Sum of" would title a sum of nothing;
/// the axis is titled by the column, and the points carry no row count. Several rows per x
/// keep the aggregate's title.
#[tokio::test]
async fn an_aggregate_over_one_row_per_point_is_titled_by_its_column() {
    let s = session();
    let one_each = chart(
        "SELECT n, fare FROM trips",
        "line",
        json!({ "x": { "field": "n" }, "y": { "field": "fare", "aggregate": "sum" } }),
    );
    let (_, spec) = draw_ok(&s, &one_each).await;
    assert_eq!(spec["encoding"]["y"]["title"], "fare");
    let point = values(&spec)[0].as_object().unwrap().clone();
    assert_eq!(point.len(), 2, "x and y only: {point:?}");
    let many_each = chart(
        "SELECT city, fare FROM trips",
        "bar",
        json!({ "x": { "field": "city" }, "y": { "field": "fare", "aggregate": "sum" } }),
    );
    let (_, spec) = draw_ok(&s, &many_each).await;
    assert_eq!(spec["encoding"]["y"]["title"], "Sum of fare");
}

/// A line over a whole-number x (a result per year): the mean per value, one point each.
#[tokio::test]
async fn a_line_over_whole_numbers_draws_a_mean_per_value() {
    let s = session();
    let source = chart(
        "SELECT n % 10 AS k, fare FROM trips",
        "line",
        json!({ "x": { "field": "k" }, "y": { "field": "fare", "aggregate": "mean" } }),
    );
    let (_, spec) = draw_ok(&s, &source).await;
    assert_eq!(values(&spec).len(), 10, "{spec}");
    assert_eq!(spec["encoding"]["x"]["type"], "quantitative");
    assert!(
        spec["encoding"]["x"].get("axis").is_none(),
        "0..9 keep Vega's format"
    );

    // Years on the axis read 1952, not 1,952 (analyst session on gapminder).
    let years = chart(
        "SELECT 1952 + 5 * (n % 12) AS year, fare FROM trips",
        "line",
        json!({ "x": { "field": "year" }, "y": { "field": "fare", "aggregate": "mean" } }),
    );
    let (_, spec) = draw_ok(&s, &years).await;
    assert_eq!(spec["encoding"]["x"]["axis"]["format"], "d");
    assert!(spec["encoding"]["y"].get("axis").is_none());
}

#[tokio::test]
async fn dates_cut_into_months_are_utc_instants() {
    let s = session();
    let source = chart(
        "SELECT * FROM trips",
        "line",
        json!({
            "x": { "field": "day", "timeUnit": "yearmonth" },
            "y": { "aggregate": "count" },
        }),
    );
    let (_, spec) = draw_ok(&s, &source).await;
    let points = values(&spec);
    // 1,005 days from 2024-01-01 wrap at 366: every month of 2024, January with 31 * 3 rows.
    assert_eq!(points.len(), 12, "{points:?}");
    assert_eq!(
        points[0]["__c0"],
        json!(1_704_067_200_000.0),
        "2024-01-01T00:00Z"
    );
    assert_eq!(
        points[1]["__c0"],
        json!(1_706_745_600_000.0),
        "2024-02-01T00:00Z"
    );
    let total: i64 = points.iter().map(|p| p["__c1"].as_i64().unwrap()).sum();
    assert_eq!(total, 1005);
    let x = &spec["encoding"]["x"];
    assert_eq!(x["type"], "temporal");
    assert_eq!(x["timeUnit"], "utcyearmonth");
    assert_eq!(x["scale"]["type"], "utc");
}

/// Bars over dates that each start a year (or month, or day) are that period wide: at an instant
/// they were hairlines (analyst session: `make_date(year, 1, 1)` drew 3-pixel bars).
#[tokio::test]
async fn bars_over_dates_that_start_a_period_are_that_period_wide() {
    let s = session();
    let bars = |sql: &str| {
        chart(
            sql,
            "bar",
            json!({ "x": { "field": "d" }, "y": { "field": "n", "aggregate": "sum" } }),
        )
    };
    for (sql, unit) in [
        (
            "SELECT make_date(2000 + CAST(n % 16 AS INT), 1, 1) AS d, n FROM trips",
            Some("utcyear"),
        ),
        (
            "SELECT make_date(2024, 1 + CAST(n % 12 AS INT), 1) AS d, n FROM trips",
            Some("utcyearmonth"),
        ),
        ("SELECT day AS d, n FROM trips", Some("utcyearmonthdate")),
        (
            "SELECT to_timestamp_seconds(1704067200 + n * 3600) AS d, n FROM trips",
            None,
        ),
    ] {
        let (_, spec) = draw_ok(&s, &bars(sql)).await;
        let x = &spec["encoding"]["x"];
        assert_eq!(x["type"], "temporal", "{sql}");
        assert_eq!(x["timeUnit"].as_str(), unit, "{sql}");
    }
    // A line is drawn through its instants as they are.
    let line = chart(
        "SELECT make_date(2000 + CAST(n % 16 AS INT), 1, 1) AS d, n FROM trips",
        "line",
        json!({ "x": { "field": "d" }, "y": { "field": "n", "aggregate": "sum" } }),
    );
    let (_, spec) = draw_ok(&s, &line).await;
    assert!(spec["encoding"]["x"].get("timeUnit").is_none());
}

/// Small multiples wrap: the `facet` channel with `columns` (the builder's facet) groups by its
/// field and keeps `columns` for Vega-Lite, so panels go on the next row instead of past the
/// cell's edge (analyst session: a chart faceted by continent was 1,312 px in a 954 px cell).
#[tokio::test]
async fn a_wrapped_facet_groups_by_its_field_and_keeps_its_columns() {
    let s = session();
    let source = chart(
        "SELECT * FROM trips",
        "bar",
        json!({
            "x": { "field": "city" },
            "y": { "field": "fare", "aggregate": "sum" },
            "facet": { "field": "n", "type": "nominal", "columns": 3 },
        }),
    );
    let source = source.replace(
        "SELECT * FROM trips",
        "SELECT city, fare, n % 5 AS n FROM trips",
    );
    let (_, spec) = draw_ok(&s, &source).await;
    // 3 cities x 5 panels.
    assert_eq!(values(&spec).len(), 15, "{spec}");
    assert_eq!(spec["encoding"]["facet"]["columns"], 3);
    assert_eq!(spec["encoding"]["facet"]["type"], "nominal");
}

#[tokio::test]
async fn a_heatmap_bins_both_axes_and_counts() {
    let s = session();
    let source = chart(
        "SELECT fare, n FROM trips",
        "rect",
        json!({
            "x": { "field": "fare", "bin": { "maxbins": 5 } },
            "y": { "field": "n", "bin": { "maxbins": 5 } },
            "color": { "aggregate": "count" },
        }),
    );
    let (out, spec) = draw_ok(&s, &source).await;
    let total: i64 = values(&spec)
        .iter()
        .map(|p| p["__c2"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 1000, "rows with no fare are in no bin");
    assert_eq!(out.left_out.len(), 1);
    assert_eq!(spec["encoding"]["y2"]["field"], "__c1_end");
    assert_eq!(spec["encoding"]["color"]["type"], "quantitative");
}

#[tokio::test]
async fn a_scatter_of_many_rows_sends_at_most_the_limit() {
    let s = session();
    let source = chart(
        "SELECT a.n AS x, b.n AS y FROM trips a CROSS JOIN (SELECT n FROM trips WHERE n < 20) b",
        "point",
        json!({ "x": { "field": "x" }, "y": { "field": "y" } }),
    );
    let (out, spec) = draw_ok(&s, &source).await;
    assert!(out.truncated);
    assert_eq!(out.points, MAX_POINTS as u64);
    assert_eq!(values(&spec).len(), MAX_POINTS);
}

#[tokio::test]
async fn a_chart_without_mark_or_channels_lists_its_columns_for_the_builder() {
    let s = session();
    let source = json!({ "usermeta": { "quire": { "sql": "SELECT city, fare FROM trips" } } });
    let out = draw(&s, &source.to_string(), &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(out.spec, None);
    let names: Vec<_> = out.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["city", "fare"]);
}

#[tokio::test]
async fn what_cannot_be_drawn_is_said_in_words() {
    let s = session();
    let cases: Vec<(String, &str)> = vec![
        ("{ not json".into(), "not valid JSON"),
        ("[1]".into(), "JSON object"),
        (json!({ "mark": "bar" }).to_string(), "no query"),
        (
            chart(
                "SELECT * FROM trips",
                "bar",
                json!({ "x": { "field": "cty" } }),
            ),
            "\"cty\", which its query does not return (it returns \"fare\", \"city\"",
        ),
        (
            chart(
                "SELECT * FROM trips",
                "bar",
                json!({ "x": { "field": "city" }, "y": { "field": "city", "aggregate": "sum" } }),
            ),
            "the sum of city cannot be computed: \"city\" holds text, not numbers",
        ),
        (
            chart(
                "SELECT * FROM trips",
                "bar",
                json!({ "x": { "field": "day", "bin": true } }),
            ),
            "cut dates into periods with a time unit instead",
        ),
        (
            chart(
                "SELECT * FROM trips",
                "bar",
                json!({ "x": { "field": "fare", "timeUnit": "yearmonth" } }),
            ),
            "cannot be cut into periods",
        ),
        (
            chart(
                "SELECT * FROM trips",
                "bar",
                json!({ "y": { "field": "fare", "aggregate": "q1" } }),
            ),
            "is not one Quire computes",
        ),
        (
            chart(
                "SELECT * FROM trips",
                "bar",
                json!({ "color": { "field": "fare", "bin": true } }),
            ),
            "bins are drawn on x and y",
        ),
        (
            json!({ "usermeta": { "quire": { "sql": "SELECT 1" } }, "transform": [] }).to_string(),
            "write filters and calculations in the chart's SQL",
        ),
    ];
    for (source, expected) in cases {
        let err = draw(&s, &source, &CancellationToken::new())
            .await
            .unwrap_err();
        assert!(err.to_string().contains(expected), "{source}: {err}");
        assert_eq!(err.code(), ErrorCode::ChartInvalid, "{source}: {err}");
    }
}

#[tokio::test]
async fn an_error_in_the_charts_sql_points_into_that_sql() {
    let s = session();
    let source = chart(
        "SELECT city,\n  fair FROM trips",
        "bar",
        json!({ "x": { "field": "city" } }),
    );
    let err = draw(&s, &source, &CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::SqlInvalid, "{err}");
    let at = err.position().expect("a position");
    assert_eq!((at.line, at.column), (2, 3), "{err}");
}

#[tokio::test]
async fn a_cancelled_chart_stops_with_cancelled() {
    let s = session();
    let source = chart(
        "SELECT a.n + b.n + c.n AS v FROM trips a, trips b, trips c",
        "bar",
        json!({ "x": { "field": "v", "bin": true }, "y": { "aggregate": "count" } }),
    );
    let cancel = CancellationToken::new();
    cancel.cancel();
    let err = draw(&s, &source, &cancel).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Cancelled, "{err}");
}

#[tokio::test]
async fn infinities_and_nan_are_left_out_of_bins_and_counted() {
    let s = session();
    let source = chart(
        "SELECT CASE WHEN n < 3 THEN n / 0.0 WHEN n = 3 THEN 'NaN'::double ELSE n END AS v FROM trips WHERE n < 100;  -- odd values first",
        "bar",
        json!({ "x": { "field": "v", "bin": true }, "y": { "aggregate": "count" } }),
    );
    let (out, spec) = draw_ok(&s, &source).await;
    // n = 0 is 0/0 = NaN, 1 and 2 are infinite, 3 is NaN: four rows with no number.
    assert_eq!(
        out.left_out,
        vec![LeftOut {
            column: "v".into(),
            rows: 4
        }]
    );
    let total: i64 = values(&spec)
        .iter()
        .map(|p| p["__c1"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 96);
    assert_eq!(
        values(&spec)[0]["__c0"],
        json!(0.0),
        "bins span 4 ..= 99, not the infinities"
    );
}

#[tokio::test]
async fn a_chart_that_would_open_links_is_refused() {
    let s = session();
    for source in [
        chart("SELECT * FROM trips", "point", json!({ "x": { "field": "n" }, "href": { "value": "https://example.com" } })),
        json!({ "usermeta": { "quire": { "sql": "SELECT 1" } }, "mark": { "type": "point", "href": "https://example.com" } }).to_string(),
    ] {
        let err = draw(&s, &source, &CancellationToken::new()).await.unwrap_err();
        assert!(err.to_string().contains("do not open links"), "{err}");
    }
}

#[tokio::test]
async fn months_of_zoned_instants_are_the_zones_months() {
    let s = session();
    // 23:30 on January 31st in Tokyo is still January there (and already the 31st 14:30 UTC).
    let source = chart(
        "SELECT arrow_cast('2024-01-31T14:30:00Z', 'Timestamp(Second, Some(\"Asia/Tokyo\"))') AS at \
         UNION ALL SELECT arrow_cast('2024-01-31T15:30:00Z', 'Timestamp(Second, Some(\"Asia/Tokyo\"))')",
        "bar",
        json!({ "x": { "field": "at", "timeUnit": "yearmonth" }, "y": { "aggregate": "count" } }),
    );
    let (_, spec) = draw_ok(&s, &source).await;
    let months: Vec<_> = values(&spec)
        .iter()
        .map(|p| (p["__c0"].as_f64().unwrap(), p["__c1"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        months,
        [(1_704_067_200_000.0, 1), (1_706_745_600_000.0, 1)],
        "January, then February"
    );
}

#[tokio::test]
async fn a_scatter_leaves_out_rows_with_no_position_and_counts_them() {
    let s = session();
    // fare is NULL in the last 5 rows; and 'NaN' is no position either.
    let source = chart(
        "SELECT n, CASE WHEN n = 0 THEN 'NaN'::double ELSE fare END AS fare, city FROM trips",
        "point",
        json!({ "x": { "field": "n" }, "y": { "field": "fare" }, "color": { "field": "city" } }),
    );
    let (out, spec) = draw_ok(&s, &source).await;
    assert_eq!(
        out.points, 999,
        "every point sent is a point Vega-Lite draws"
    );
    assert_eq!(values(&spec).len(), 999);
    assert!(values(&spec).iter().all(|p| p["__c1"].is_number()));
    assert_eq!(
        out.left_out,
        vec![LeftOut {
            column: "fare".into(),
            rows: 6
        }]
    );
}

/// Lengths of time (the difference of two date-times) are categories that read as the result
/// shows them, not ISO 8601's `PT86400S`; binning them says how to make them numbers.
#[tokio::test]
async fn lengths_of_time_read_as_the_result_shows_them() {
    let s = session();
    let late = "SELECT CAST(day AS TIMESTAMP) - TIMESTAMP '2024-01-01 00:00:00' AS late, city FROM trips WHERE n < 3";
    let source = chart(
        late,
        "bar",
        json!({ "x": { "field": "late" }, "y": { "aggregate": "count" } }),
    );
    let (_, spec) = draw_ok(&s, &source).await;
    let shown: Vec<&str> = values(&spec)
        .iter()
        .map(|p| p["__c0"].as_str().unwrap())
        .collect();
    assert_eq!(shown, ["00:00:00", "1 day", "2 days"]);
    let binned = chart(
        late,
        "bar",
        json!({ "x": { "field": "late", "bin": true }, "y": { "aggregate": "count" } }),
    );
    let e = draw(&s, &binned, &CancellationToken::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("\"late\" holds lengths of time, and bins need numbers; date_part('epoch', \"late\") / 60"),
        "{e}"
    );
}

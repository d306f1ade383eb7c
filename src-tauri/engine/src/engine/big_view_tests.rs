//! Sorted and filtered views of a linked table bigger than one table may hold in memory: made
//! out of memory (positions in a scratch file), paged exactly, as edited, shown while being
//! made, and cancelled.

use std::cmp::Ordering;
use std::sync::Arc;

use super::link_tests::{decode, ids, parquet};
use super::test_support::open_with;
use super::*;
use crate::tables::edit::CellEdit;
use crate::tables::view::{ColumnFilter, FilterOp, SortKey, ViewSpec};
use crate::{ErrorCode, HasCode};

const ROWS: i64 = 200_000;
const CITIES: [&str; 3] = ["Lyon", "Paris", "Nice"];

/// The trips data's city and amount of row `id` (see `link_tests::trips`).
fn city(id: i64) -> &'static str {
    CITIES[(id % 3) as usize]
}

fn amount(id: i64) -> Option<f64> {
    (id % 7 != 0).then_some(id as f64 / 2.0)
}

fn sort(keys: &[(&str, bool)]) -> ViewSpec {
    ViewSpec {
        either: Vec::new(),
        sort: keys
            .iter()
            .map(|(column, descending)| SortKey {
                column: column.to_string(),
                descending: *descending,
            })
            .collect(),
        filters: vec![],
    }
}

async fn page(engine: &Engine, nb: NotebookId, view: &ViewSpec, at: u64, n: u64) -> Vec<i64> {
    ids(&decode(
        &engine.page(nb, "trips", Some(view), at, n).await.unwrap(),
    ))
}

/// One table may hold 1 MiB, so a sorted copy of the 200,000-row link (about 5 MB) is
/// `too_large`: the view must be made and paged without one.
fn engine(dir: &std::path::Path) -> Engine {
    let mut config = Config::default();
    config.limits.table_memory_mb = 1;
    open_with(dir, config, Arc::new(crate::events::NullSink))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sorted_view_of_a_link_bigger_than_a_table_may_hold_pages_exactly_as_edited() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = data.path().join("trips.parquet");
    parquet(&file, 0, ROWS);
    let engine = engine(tmp.path());
    let nb = engine.create_notebook("Big").unwrap().id;
    engine.link_table(nb, &file, Some("trips")).unwrap();

    // City ascending, then amount descending with missing amounts last, ties by position.
    let by_city = sort(&[("city", false), ("amount", true)]);
    let mut expected: Vec<i64> = (0..ROWS).collect();
    expected.sort_by(|&a, &b| {
        city(a)
            .cmp(city(b))
            .then_with(|| match (amount(a), amount(b)) {
                (Some(x), Some(y)) => y.total_cmp(&x),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            })
            .then(a.cmp(&b))
    });
    assert_eq!(
        engine.view_rows(nb, "trips", Some(&by_city)).await.unwrap(),
        ROWS as u64
    );
    for at in [0, 66_660, 99_995, ROWS - 4] {
        let got = page(&engine, nb, &by_city, at as u64, 10).await;
        let want = &expected[at as usize..(at as usize + 10).min(ROWS as usize)];
        assert_eq!(got, want, "the page at {at}");
    }
    assert_eq!(
        engine.view_progress(nb, "trips"),
        None,
        "nothing is being made"
    );

    // An edit of a column the view neither sorts nor filters by keeps the view (no new sort);
    // the page shows the new value.
    let made = engine.ledger().views_made();
    engine
        .edit_cells(
            nb,
            "trips",
            &[CellEdit {
                row_id: expected[1] as u64,
                column: "id".into(),
                value: Some("-1".into()),
            }],
        )
        .unwrap();
    assert_eq!(
        page(&engine, nb, &by_city, 0, 3).await,
        [expected[0], -1, expected[2]]
    );
    assert_eq!(engine.ledger().views_made(), made, "the view was kept");
    engine.undo_redo(nb, "trips", true).unwrap();
    assert_eq!(page(&engine, nb, &by_city, 0, 3).await, expected[..3]);
    assert_eq!(engine.ledger().views_made(), made, "the view was kept");

    // An edited city moves its row; a deleted row is gone from the view.
    engine
        .edit_cells(
            nb,
            "trips",
            &[CellEdit {
                row_id: 5,
                column: "city".into(),
                value: Some("Aachen".into()),
            }],
        )
        .unwrap();
    assert_eq!(page(&engine, nb, &by_city, 0, 2).await, [5, expected[0]]);
    assert_eq!(engine.ledger().views_made(), made + 1, "sorted again");
    engine
        .delete_rows(nb, "trips", &[5, expected[0] as u64])
        .unwrap();
    assert_eq!(
        engine.view_rows(nb, "trips", Some(&by_city)).await.unwrap(),
        ROWS as u64 - 2
    );
    assert_eq!(page(&engine, nb, &by_city, 0, 3).await, expected[1..4]);

    // A filter with a sort: amounts of at least 90,000 (ids from 180,000), smallest first.
    let big = ViewSpec {
        either: Vec::new(),
        sort: vec![SortKey {
            column: "amount".into(),
            descending: false,
        }],
        filters: vec![ColumnFilter {
            column: "amount".into(),
            op: FilterOp::GreaterThanOrEqual,
            value: Some("90000".into()),
        }],
    };
    let kept: Vec<i64> = (180_000..ROWS)
        .filter(|&i| i % 7 != 0 && i != expected[0])
        .collect();
    assert_eq!(
        engine.view_rows(nb, "trips", Some(&big)).await.unwrap(),
        kept.len() as u64
    );
    assert_eq!(page(&engine, nb, &big, 0, 4).await, kept[..4]);
    let last = kept.len() as u64 - 3;
    assert_eq!(
        page(&engine, nb, &big, last, 10).await,
        kept[last as usize..]
    );

    // Deleted (the link goes, the file stays), its views go with their scratch files.
    assert!(engine.ledger().views_cached() > 0);
    engine.delete_table(nb, "trips").unwrap();
    assert_eq!(engine.ledger().views_cached(), 0);
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_being_made_shows_how_far_it_has_read_and_stops_when_cancelled() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = data.path().join("trips.parquet");
    parquet(&file, 0, ROWS);
    let engine = Arc::new(engine(tmp.path()));
    let nb = engine.create_notebook("Big").unwrap().id;
    engine.link_table(nb, &file, Some("trips")).unwrap();
    assert!(!engine.cancel_view(nb, "trips"), "nothing to cancel yet");

    let by_amount = sort(&[("amount", true)]);
    let making = {
        let (engine, view) = (engine.clone(), by_amount.clone());
        tokio::spawn(async move { engine.view_rows(nb, "trips", Some(&view)).await })
    };
    // A sort answers only once it has read every row: seen reading, it cannot have finished.
    let seen = loop {
        if let Some(p) = engine
            .view_progress(nb, "trips")
            .filter(|p| p.rows_read > 0)
        {
            break p;
        }
        assert!(
            !making.is_finished(),
            "the view was made before it was seen"
        );
        tokio::task::yield_now().await;
    };
    assert_eq!(seen.rows_total, ROWS as u64);
    assert!(seen.rows_read <= seen.rows_total);
    assert!(engine.cancel_view(nb, "trips"));
    let stopped = making.await.unwrap().unwrap_err();
    assert_eq!(stopped.code(), ErrorCode::ViewCancelled, "{stopped}");
    assert_eq!(engine.view_progress(nb, "trips"), None);

    // Asked for again, it is made.
    assert_eq!(
        engine
            .view_rows(nb, "trips", Some(&by_amount))
            .await
            .unwrap(),
        ROWS as u64
    );
    assert_eq!(
        page(&engine, nb, &by_amount, 0, 2).await,
        [ROWS - 1, ROWS - 2]
    );
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_whose_positions_pass_the_spill_disk_limit_is_refused_in_words() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = data.path().join("trips.parquet");
    parquet(&file, 0, ROWS);
    // The sort fits in the query memory; its 200,000 positions (1.6 MB) do not fit in the
    // 1 MiB the spill folder may hold.
    let mut config = Config::default();
    config.limits.table_memory_mb = 1;
    config.limits.spill_disk_mb = 1;
    let engine = open_with(tmp.path(), config, Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Big").unwrap().id;
    engine.link_table(nb, &file, Some("trips")).unwrap();
    let err = engine
        .view_rows(nb, "trips", Some(&sort(&[("amount", true)])))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::TooLarge, "{err}");
    assert!(err.to_string().contains("limits.spill_disk_mb"), "{err}");
    // A filter keeping a tenth of the rows needs a tenth of the positions: it is made.
    let few = ViewSpec {
        either: Vec::new(),
        sort: vec![],
        filters: vec![ColumnFilter {
            column: "id".into(),
            op: FilterOp::LessThan,
            value: Some("20000".into()),
        }],
    };
    assert_eq!(
        engine.view_rows(nb, "trips", Some(&few)).await.unwrap(),
        20_000
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_views_give_their_spill_room_to_a_new_one() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = data.path().join("trips.parquet");
    parquet(&file, 0, ROWS);
    // One view's 200,000 positions (1.6 MB) fit in the 2 MiB the spill folder may hold; two
    // do not.
    let mut config = Config::default();
    config.limits.table_memory_mb = 1;
    config.limits.spill_disk_mb = 2;
    let engine = open_with(tmp.path(), config, Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Big").unwrap().id;
    engine.link_table(nb, &file, Some("trips")).unwrap();
    let by_amount = sort(&[("amount", true)]);
    let by_city = sort(&[("city", false)]);
    assert_eq!(
        engine
            .view_rows(nb, "trips", Some(&by_amount))
            .await
            .unwrap(),
        ROWS as u64
    );
    // The cached view by amount goes so the one by city can be made.
    assert_eq!(
        engine.view_rows(nb, "trips", Some(&by_city)).await.unwrap(),
        ROWS as u64
    );
    assert_eq!(page(&engine, nb, &by_city, 0, 3).await, vec![0, 3, 6]);
    // And back: made again in the room the other gives up.
    assert_eq!(page(&engine, nb, &by_amount, 0, 1).await, vec![ROWS - 1]);
}

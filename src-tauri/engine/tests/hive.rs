//! A hive-partitioned folder nobody here wrote, linked as one table: palmerpenguins'
//! penguins.csv (from PyPI) written by pyarrow as `island=…/year=…/` Parquet folders, linked in
//! Quire, and the same questions answered by pyarrow's own hive reading (`tests/hive/
//! reference.py`, in the corpus test's venv); then edited, rows deleted and transformed in Quire
//! (kept beside the files) and answered as pyarrow answers after the same changes. The same
//! folder linked with a pattern (two years' files) answers as pyarrow reading the files a glob
//! matched.
//! `QUIRE_SKIP_CORPUS=1` skips it (offline work).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

#[path = "support/session.rs"]
mod session;
#[path = "support/venv.rs"]
mod venv;

fn engine_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests")
}

#[test]
fn a_hive_partitioned_folder_links_as_one_table_and_answers_as_pyarrow_reads_it() {
    if std::env::var_os("QUIRE_SKIP_CORPUS").is_some() {
        eprintln!("QUIRE_SKIP_CORPUS is set: skipped");
        return;
    }
    let python = venv::ensure(
        &venv::dir("corpus-venv"),
        &engine_dir().join("corpus").join("requirements.txt"),
    );
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(&python)
        .arg(engine_dir().join("hive").join("reference.py"))
        .arg(out.path())
        .status()
        .unwrap();
    assert!(status.success(), "reference.py failed ({status})");
    let answers: BTreeMap<String, Vec<String>> =
        serde_json::from_slice(&std::fs::read(out.path().join("answers.json")).unwrap()).unwrap();

    let data = tempfile::tempdir().unwrap();
    let engine = session::engine(data.path());
    let nb = engine.create_notebook("Penguins").unwrap().id;
    let info = engine
        .link_table(nb, &out.path().join("penguins"), Some("penguins"))
        .unwrap();
    let columns: Vec<String> = info.columns.iter().map(|c| c.name.clone()).collect();
    assert_eq!(
        columns, answers["columns"],
        "the keys come after the files' columns"
    );
    let year = info.columns.iter().find(|c| c.name == "year").unwrap();
    assert_eq!(year.data_type, "Int64", "whole-number keys are numbers");

    let lines = |text: String| -> Vec<String> {
        let mut rows: Vec<String> = text.lines().map(String::from).collect();
        rows.sort();
        rows
    };
    let ask = |sql: &str| lines(session::answer(&engine, nb, sql));
    assert_eq!(ask("SELECT count(*) FROM penguins"), answers["count"]);
    // The same folder, only the files a pattern matches (as a glob chooses them for pyarrow).
    engine
        .link_matching(
            nb,
            &out.path().join("penguins"),
            Some("island=*/year=200[89]/*.parquet"),
            Some("later"),
        )
        .unwrap();
    assert_eq!(
        ask("SELECT island, year, sum(body_mass_g), count(*) FROM later GROUP BY island, year"),
        answers["glob_by_island_year"]
    );
    assert_eq!(
        ask("SELECT island, year, count(*) FROM penguins GROUP BY island, year"),
        answers["by_island_year"]
    );
    // A filter on a key: the other folders' files are not in the plan, and the answer is
    // pyarrow's.
    let plan = session::answer(
        &engine,
        nb,
        "EXPLAIN SELECT species, sum(body_mass_g) FROM penguins WHERE year = 2008 GROUP BY species",
    );
    assert!(
        plan.contains("year=2008") && !plan.contains("year=2007") && !plan.contains("year=2009"),
        "{plan}"
    );
    assert_eq!(
        ask("SELECT species, sum(body_mass_g) FROM penguins WHERE year = 2008 GROUP BY species"),
        answers["mass_2008"]
    );
    // The grid's pages carry the keys too: counted from one page of every row, the same.
    let bytes = session::block(engine.page(nb, "penguins", None, 0, 1_000)).unwrap();
    let reader = quire_engine::datafusion::arrow::ipc::reader::StreamReader::try_new(
        std::io::Cursor::new(bytes),
        None,
    )
    .unwrap();
    let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
    for batch in reader {
        let batch = batch.unwrap();
        let cell = |name: &str, r: usize| {
            let c = batch.column_by_name(name).unwrap();
            quire_engine::datafusion::arrow::util::display::array_value_to_string(c, r).unwrap()
        };
        for r in 0..batch.num_rows() {
            *counts
                .entry((cell("island", r), cell("year", r)))
                .or_default() += 1;
        }
    }
    let from_page: Vec<String> = counts
        .into_iter()
        .map(|((island, year), n)| format!("{island} | {year} | {n}"))
        .collect();
    assert_eq!(lines(from_page.join("\n")), answers["by_island_year"]);

    // A filter alone keeps the files' order: Dream's rows in the order the plain pages show
    // them (each partition folder is a scan of its own; they must not interleave).
    let rows_of = |bytes: Vec<u8>| -> Vec<String> {
        let mut out = Vec::new();
        for batch in quire_engine::datafusion::arrow::ipc::reader::StreamReader::try_new(
            std::io::Cursor::new(bytes),
            None,
        )
        .unwrap()
        {
            let batch = batch.unwrap();
            // Every column but the row id (positions differ between a view and the table).
            let columns = batch.num_columns() - 1;
            for r in 0..batch.num_rows() {
                let cells: Vec<String> = (0..columns)
                    .map(|c| {
                        quire_engine::datafusion::arrow::util::display::array_value_to_string(
                            batch.column(c),
                            r,
                        )
                        .unwrap()
                    })
                    .collect();
                out.push(cells.join(" | "));
            }
        }
        out
    };
    let island = answers["columns"]
        .iter()
        .position(|c| c == "island")
        .unwrap();
    let plain: Vec<String> =
        rows_of(session::block(engine.page(nb, "penguins", None, 0, 1_000)).unwrap())
            .into_iter()
            .filter(|row| row.split(" | ").nth(island) == Some("Dream"))
            .collect();
    let only_dream = quire_engine::tables::view::ViewSpec {
        either: Vec::new(),
        sort: Vec::new(),
        filters: vec![quire_engine::tables::view::ColumnFilter {
            column: "island".into(),
            op: quire_engine::tables::view::FilterOp::Equals,
            value: Some("Dream".into()),
        }],
    };
    let filtered =
        rows_of(session::block(engine.page(nb, "penguins", Some(&only_dream), 0, 1_000)).unwrap());
    assert!(!plain.is_empty());
    assert_eq!(filtered, plain, "a filter keeps the files' order");

    // The grid's sorted and filtered view over the keys: Dream's rows, newest year first.
    use quire_engine::tables::view::{ColumnFilter, FilterOp, SortKey, ViewSpec};
    let view = ViewSpec {
        either: Vec::new(),
        sort: vec![SortKey {
            column: "year".into(),
            descending: true,
        }],
        filters: vec![ColumnFilter {
            column: "island".into(),
            op: FilterOp::Equals,
            value: Some("Dream".into()),
        }],
    };
    let dream: u64 = answers["by_island_year"]
        .iter()
        .filter(|r| r.starts_with("Dream |"))
        .map(|r| r.rsplit(" | ").next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(
        session::block(engine.view_rows(nb, "penguins", Some(&view))).unwrap(),
        dream
    );
    let bytes = session::block(engine.page(nb, "penguins", Some(&view), 0, 1)).unwrap();
    let first = quire_engine::datafusion::arrow::ipc::reader::StreamReader::try_new(
        std::io::Cursor::new(bytes),
        None,
    )
    .unwrap()
    .next()
    .unwrap()
    .unwrap();
    let year = first.column_by_name("year").unwrap();
    assert_eq!(
        quire_engine::datafusion::arrow::util::display::array_value_to_string(year, 0).unwrap(),
        "2009"
    );

    // Sorted on a key and a column with missing values, as pyarrow sorts the same dataset
    // (`pc.sort_indices`, a missing value counted as the smallest): the same sequence of year
    // and mass, row by row.
    let by_year_mass = ViewSpec {
        either: Vec::new(),
        sort: vec![
            SortKey {
                column: "year".into(),
                descending: true,
            },
            SortKey {
                column: "body_mass_g".into(),
                descending: false,
            },
        ],
        filters: Vec::new(),
    };
    let (year_at, mass_at) = (
        answers["columns"].iter().position(|c| c == "year").unwrap(),
        answers["columns"]
            .iter()
            .position(|c| c == "body_mass_g")
            .unwrap(),
    );
    let sorted: Vec<String> = rows_of(
        session::block(engine.page(nb, "penguins", Some(&by_year_mass), 0, 1_000)).unwrap(),
    )
    .into_iter()
    .map(|row| {
        let cells: Vec<&str> = row.split(" | ").collect();
        format!("{} | {}", cells[year_at], cells[mass_at])
    })
    .collect();
    assert_eq!(sorted.len(), answers["sorted_year_mass"].len());
    assert_eq!(
        sorted, answers["sorted_year_mass"],
        "sorted as pyarrow sorts"
    );

    // Changed as a user would in the grid, by row (Quire keeps the changes beside the files):
    // Dream's 2009 penguins set to 5000 g, the penguins whose sex is unknown deleted; then
    // transformed: keep those of at least 3500 g, remove duplicates. Answered as pyarrow does
    // after the same changes.
    let bytes = session::block(engine.page(nb, "penguins", None, 0, 1_000)).unwrap();
    let (mut heavier, mut unknown) = (Vec::new(), Vec::new());
    for batch in quire_engine::datafusion::arrow::ipc::reader::StreamReader::try_new(
        std::io::Cursor::new(bytes),
        None,
    )
    .unwrap()
    {
        use quire_engine::datafusion::arrow::array::{Array, AsArray};
        let batch = batch.unwrap();
        let cell = |name: &str, r: usize| {
            let c = batch.column_by_name(name).unwrap();
            quire_engine::datafusion::arrow::util::display::array_value_to_string(c, r).unwrap()
        };
        let ids = batch
            .column(batch.num_columns() - 1)
            .as_primitive::<quire_engine::datafusion::arrow::datatypes::UInt64Type>();
        let sex = batch.column_by_name("sex").unwrap();
        for r in 0..batch.num_rows() {
            if cell("island", r) == "Dream" && cell("year", r) == "2009" {
                heavier.push(quire_engine::tables::edit::CellEdit {
                    row_id: ids.value(r),
                    column: "body_mass_g".into(),
                    value: Some("5000".into()),
                });
            }
            if sex.is_null(r) || cell("sex", r) == "NA" {
                unknown.push(ids.value(r));
            }
        }
    }
    assert!(
        !heavier.is_empty() && !unknown.is_empty(),
        "{} to change, {} to delete",
        heavier.len(),
        unknown.len()
    );
    engine.edit_cells(nb, "penguins", &heavier).unwrap();
    engine.delete_rows(nb, "penguins", &unknown).unwrap();
    let never = tokio_util::sync::CancellationToken::new();
    let transform = |t: quire_engine::tables::transform::Transform| {
        session::block(engine.apply_transform(
            nb,
            "penguins",
            &t,
            std::sync::Arc::new(|_| {}),
            &never,
        ))
        .unwrap()
    };
    let kept = transform(quire_engine::tables::transform::Transform::FilterRows {
        predicate: "body_mass_g >= 3500".into(),
    });
    assert_eq!(vec![kept.rows.to_string()], answers["edited_count"]);
    assert_eq!(
        ask("SELECT count(*) FROM penguins"),
        answers["edited_count"]
    );
    assert_eq!(
        ask("SELECT species, island, year, count(*), sum(body_mass_g) FROM penguins GROUP BY species, island, year"),
        answers["edited_by_group"]
    );
    transform(
        quire_engine::tables::transform::Transform::RemoveDuplicates {
            columns: vec![
                "species".into(),
                "island".into(),
                "year".into(),
                "sex".into(),
            ],
        },
    );
    assert_eq!(
        ask("SELECT species, island, year, count(*) FROM penguins GROUP BY species, island, year"),
        answers["deduped_by_group"]
    );
    engine.shutdown();
}

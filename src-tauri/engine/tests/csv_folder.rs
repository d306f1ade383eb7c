//! A folder of CSV exports nobody here wrote, linked as one table: palmerpenguins' penguins.csv
//! (from PyPI) written by pandas one file per year as three tools export (R's `NA` gaps; `;`
//! with decimal commas, gzipped; tab-separated with one line a field too many), linked with
//! "Link a folder" choosing to skip rows that do not fit, and the same questions answered as
//! pandas answers them from the table it read (`tests/csv_folder/reference.py`, in the corpus
//! test's venv). Each file is read in its own dialect; the skipped line is named with its file.
//! `QUIRE_SKIP_CORPUS=1` skips it (offline work).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use quire_engine::tables::import::{CsvChoices, OnBadRow};
use quire_engine::tasks::FolderImport;
use tokio_util::sync::CancellationToken;

#[path = "support/session.rs"]
mod session;
#[path = "support/venv.rs"]
mod venv;

fn engine_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests")
}

#[test]
fn a_folder_of_public_csv_exports_links_as_one_table_and_answers_as_pandas() {
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
        .arg(engine_dir().join("csv_folder").join("reference.py"))
        .arg(out.path())
        .status()
        .unwrap();
    assert!(status.success(), "reference.py failed ({status})");
    let answers: BTreeMap<String, Vec<String>> =
        serde_json::from_slice(&std::fs::read(out.path().join("answers.json")).unwrap()).unwrap();

    let data = tempfile::tempdir().unwrap();
    let engine = session::engine(data.path());
    let nb = engine.create_notebook("Penguins").unwrap().id;
    let folder = out.path().join("exports");
    let never = CancellationToken::new();
    // As each file's first rows show it, the line with a field too many refuses the folder,
    // naming the file; nothing is created.
    let refused = session::block(engine.link_folder(
        nb,
        &folder,
        &FolderImport::default(),
        Some("penguins"),
        Arc::new(|_| {}),
        &never,
    ))
    .unwrap_err();
    assert!(refused.to_string().contains("2009.tsv"), "{refused}");
    assert!(engine.tables(nb).unwrap().is_empty());

    let skipping = FolderImport {
        pattern: None,
        csv: Some(CsvChoices {
            on_bad_row: OnBadRow::Skip,
            missing: None,
        }),
    };
    let linked = session::block(engine.link_folder(
        nb,
        &folder,
        &skipping,
        Some("penguins"),
        Arc::new(|_| {}),
        &never,
    ))
    .unwrap();
    assert!(linked.table.converted);
    assert_eq!(linked.skipped_total, 1, "{:?}", linked.skipped);
    let skipped = &linked.skipped[0];
    assert_eq!(skipped.line.to_string(), answers["skipped_line"][0]);
    assert!(
        skipped
            .file
            .as_deref()
            .is_some_and(|f| f.ends_with("2009.tsv")),
        "{skipped:?}"
    );
    let columns: Vec<String> = linked
        .table
        .columns
        .iter()
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(columns, answers["columns"]);
    let kinds: BTreeMap<&str, &str> = linked
        .table
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.data_type.as_str()))
        .collect();
    assert_eq!(
        kinds["bill_length_mm"], "Float64",
        "decimal commas read as numbers"
    );
    assert_eq!(kinds["year"], "Int64");

    let lines = |text: String| -> Vec<String> {
        let mut rows: Vec<String> = text.lines().map(String::from).collect();
        rows.sort();
        rows
    };
    let ask = |sql: &str| lines(session::answer(&engine, nb, sql));
    assert_eq!(ask("SELECT count(*) FROM penguins"), answers["count"]);
    assert_eq!(
        ask(
            "SELECT species, year, count(*), sum(body_mass_g), round(avg(bill_length_mm), 6), \
             count(*) - count(flipper_length_mm) FROM penguins GROUP BY species, year"
        ),
        answers["by_species_year"]
    );
    assert_eq!(
        ask("SELECT island, coalesce(sex, 'unknown'), count(*) FROM penguins GROUP BY 1, 2"),
        answers["sex_by_island"]
    );
    engine.shutdown();
}

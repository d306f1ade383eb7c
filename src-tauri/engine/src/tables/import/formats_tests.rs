//! Files as analysts are sent them: spreadsheets, compressed and re-encoded CSV, decimal commas.
//! (Compared value by value with pandas over a public corpus in `tests/corpus.rs`; these pin
//! the details.)

use std::io::Write;
use std::path::Path;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::arrow::record_batch::RecordBatch;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use tokio_util::sync::CancellationToken;

use super::*;

/// What the dialog does when the user changes nothing: preview, then read as proposed.
fn import_as_proposed(
    path: &Path,
    scratch: Option<&Path>,
) -> Result<(ImportPreview, RecordBatch), TableError> {
    let preview = preview(path, None)?;
    let config = crate::config::LimitsConfig::default();
    let limits = crate::tables::Limits::new(&config, scratch)?;
    let budget = limits.budget("the file");
    let cancel = CancellationToken::new();
    let imported = match &preview.sheet {
        Some(sheet) => read_sheet(path, sheet, &|_| {}, &cancel, &budget)?,
        None => read(path, None, preview.csv.as_ref(), &|_| {}, &cancel, &budget)?,
    };
    let batch = concat_batches(&imported.schema, &imported.batches).unwrap();
    Ok((preview, batch))
}

fn texts(batch: &RecordBatch, column: &str) -> Vec<Option<String>> {
    let array = batch.column_by_name(column).unwrap();
    (0..array.len())
        .map(|i| {
            array
                .is_valid(i)
                .then(|| datafusion::arrow::util::display::array_value_to_string(array, i).unwrap())
        })
        .collect()
}

fn workbook(path: &Path) {
    let mut book = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let stamp = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let first = book.add_worksheet().set_name("2024").unwrap();
    for (c, name) in ["city", "pop", "rank", "ok", "day", "at", "note"]
        .iter()
        .enumerate()
    {
        first.write_string(0, c as u16, *name).unwrap();
    }
    first.write_string(1, 0, "Zürich").unwrap();
    first.write_number(1, 1, 0.42).unwrap();
    first.write_number(1, 2, 3).unwrap();
    first.write_boolean(1, 3, true).unwrap();
    first
        .write_datetime_with_format(1, 4, ExcelDateTime::from_ymd(2024, 1, 2).unwrap(), &date)
        .unwrap();
    let at = ExcelDateTime::from_ymd(2024, 1, 2)
        .unwrap()
        .and_hms(10, 30, 0)
        .unwrap();
    first.write_datetime_with_format(1, 5, &at, &stamp).unwrap();
    first.write_string(1, 6, "late").unwrap();
    first.write_string(2, 0, "Kraków").unwrap();
    first.write_number(2, 1, 1.5).unwrap();
    // rank left empty: a gap
    first.write_boolean(2, 3, false).unwrap();
    first
        .write_datetime_with_format(2, 4, ExcelDateTime::from_ymd(2024, 2, 3).unwrap(), &date)
        .unwrap();
    let midnight = ExcelDateTime::from_ymd(2024, 2, 3).unwrap();
    first
        .write_datetime_with_format(2, 5, &midnight, &stamp)
        .unwrap();
    first.write_number(2, 6, 12).unwrap(); // a number in a text column
    first.write_string(3, 0, "NA").unwrap(); // R's and pandas' missing value; the rest empty
    let second = book.add_worksheet().set_name("2025").unwrap();
    second.write_number(0, 0, 1.25).unwrap();
    second.write_number(0, 1, 7).unwrap();
    second.write_number(1, 0, 2.5).unwrap();
    book.save(path).unwrap();
}

#[test]
fn a_workbook_sheet_imports_with_the_types_its_cells_carry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cities.xlsx");
    workbook(&path);
    let (preview, batch) = import_as_proposed(&path, None).unwrap();
    let sheet = preview.sheet.clone().unwrap();
    assert_eq!((sheet.sheet.as_str(), sheet.has_header), ("2024", true));
    assert_eq!(sheet.sheets, ["2024", "2025"]);
    let kinds: Vec<ColumnType> = preview.columns.iter().map(|c| c.kind).collect();
    use ColumnType::*;
    assert_eq!(
        kinds,
        [Text, Float, Integer, Boolean, Date, Timestamp, Text]
    );
    assert_eq!(
        texts(&batch, "city"),
        [Some("Zürich".into()), Some("Kraków".into()), None]
    );
    let pop = batch
        .column_by_name("pop")
        .unwrap()
        .as_primitive::<Float64Type>();
    assert_eq!((pop.value(0), pop.value(1)), (0.42, 1.5));
    let rank = batch
        .column_by_name("rank")
        .unwrap()
        .as_primitive::<Int64Type>();
    assert_eq!((rank.value(0), rank.is_null(1)), (3, true));
    assert_eq!(
        texts(&batch, "day"),
        [Some("2024-01-02".into()), Some("2024-02-03".into()), None]
    );
    assert_eq!(
        texts(&batch, "at"),
        [
            Some("2024-01-02T10:30:00".into()),
            Some("2024-02-03T00:00:00".into()),
            None
        ]
    );
    // A whole number among texts shows as Excel shows it.
    assert_eq!(
        texts(&batch, "note"),
        [Some("late".into()), Some("12".into()), None]
    );

    // The other sheet: no header row, so its columns are named by position.
    let other = preview_sheet(&path, "2025").unwrap();
    let sheet = other.sheet.unwrap();
    assert!(!sheet.has_header);
    let names: Vec<&str> = other.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["column_1", "column_2"]);
    let budget = crate::tables::Limits::default().budget("the file");
    let read = read_sheet(&path, &sheet, &|_| {}, &CancellationToken::new(), &budget).unwrap();
    assert_eq!(read.batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);

    let missing = preview_sheet(&path, "2026").unwrap_err();
    assert!(
        missing.to_string().contains("its sheets are 2024, 2025"),
        "{missing}"
    );
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn a_gzipped_latin_1_export_with_decimal_commas_reads_as_written_and_leaves_no_scratch_file() {
    let dir = tempfile::tempdir().unwrap();
    let spill = tempfile::tempdir().unwrap();
    // "Gemeinde;Fläche;Code" in Windows-1252, as Excel on a German Windows saves "CSV".
    let text = "Gemeinde;Fl\u{e4}che km\u{b2};Code\nK\u{f6}ln;405,02;1,2\nM\u{fc}nchen;310,7;x\nNA;-0,5;3\n";
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
    assert!(!unmappable);
    let path = dir.path().join("gemeinden.csv.gz");
    std::fs::write(&path, gzip(&bytes)).unwrap();
    let (preview, batch) = import_as_proposed(&path, Some(spill.path())).unwrap();
    let csv = preview.csv.unwrap();
    assert_eq!(csv.encoding.as_deref(), Some("windows-1252"));
    assert_eq!((csv.delimiter.as_str(), csv.decimal.as_str()), (";", ","));
    assert_eq!(
        texts(&batch, "Gemeinde"),
        [Some("Köln".into()), Some("München".into()), None]
    );
    let area = batch.column_by_name("Fläche km²").unwrap();
    assert_eq!(area.data_type(), &DataType::Float64);
    let area = area.as_primitive::<Float64Type>();
    assert_eq!(
        (area.value(0), area.value(1), area.value(2)),
        (405.02, 310.7, -0.5)
    );
    // Codes that look like decimal-comma numbers, in a column that is not all numbers, stay text.
    assert_eq!(
        texts(&batch, "Code"),
        [Some("1,2".into()), Some("x".into()), Some("3".into())]
    );
    assert_eq!(
        std::fs::read_dir(spill.path()).unwrap().count(),
        0,
        "scratch files left"
    );
    assert_eq!(file_stem(&path), "gemeinden");
}

#[test]
fn utf_16_and_zstd_files_read_like_their_utf_8_original() {
    let dir = tempfile::tempdir().unwrap();
    let text = "name,score\nZoë,1.5\n東京,2\n";
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let utf16_path = dir.path().join("scores.csv");
    std::fs::write(&utf16_path, &utf16).unwrap();
    let zstd_path = dir.path().join("scores.csv.zst");
    std::fs::write(&zstd_path, zstd::encode_all(text.as_bytes(), 3).unwrap()).unwrap();
    for path in [&utf16_path, &zstd_path] {
        let (_, batch) = import_as_proposed(path, None).unwrap();
        assert_eq!(
            texts(&batch, "name"),
            [Some("Zoë".into()), Some("東京".into())],
            "{path:?}"
        );
        assert_eq!(
            batch.column_by_name("score").unwrap().data_type(),
            &DataType::Float64
        );
    }
}

#[test]
fn a_damaged_archive_and_a_bad_decimal_are_refused_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let whole = gzip("a,b\n1,2\n".repeat(10_000).as_bytes());
    let cut = dir.path().join("cut.csv.gz");
    std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
    let budget = crate::tables::Limits::default().budget("the file");
    let err = read(
        &cut,
        None,
        None,
        &|_| {},
        &CancellationToken::new(),
        &budget,
    )
    .unwrap_err();
    assert!(err.to_string().contains("cannot be decompressed"), "{err}");

    // A grouped number in a decimal-comma column: the error names the column, line and value.
    let path = dir.path().join("preise.csv");
    std::fs::write(&path, "artikel;preis\nA;3,5\nB;1.234,5\n").unwrap();
    let options = CsvOptions {
        delimiter: ";".into(),
        decimal: ",".into(),
        columns: Some(vec![
            ColumnSpec {
                name: "artikel".into(),
                kind: ColumnType::Text,
                layout: None,
            },
            ColumnSpec {
                name: "preis".into(),
                kind: ColumnType::Float,
                layout: None,
            },
        ]),
        ..CsvOptions::default()
    };
    let err = read(
        &path,
        None,
        Some(&options),
        &|_| {},
        &CancellationToken::new(),
        &budget,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("preis") && text.contains("1.234,5") && text.contains("line 3"),
        "{text}"
    );
}

#[test]
fn nested_json_becomes_struct_and_list_columns_and_gzip_json_reads_too() {
    let dir = tempfile::tempdir().unwrap();
    let lines = concat!(
        r#"{"id":1,"user":{"name":"Zoë","langs":["fr","de"]},"tags":["a","b"]}"#,
        "\n",
        r#"{"id":2,"user":{"name":"Ann","langs":[]},"tags":null}"#,
        "\n",
    );
    let path = dir.path().join("events.ndjson.gz");
    std::fs::write(&path, gzip(lines.as_bytes())).unwrap();
    let (preview, batch) = import_as_proposed(&path, None).unwrap();
    assert_eq!(preview.format, ImportFormat::Json);
    assert!(matches!(
        batch.column_by_name("user").unwrap().data_type(),
        DataType::Struct(_)
    ));
    assert!(matches!(
        batch.column_by_name("tags").unwrap().data_type(),
        DataType::List(_)
    ));
    assert_eq!(
        texts(&batch, "user")[0].as_deref(),
        Some("{name: Zoë, langs: [fr, de]}")
    );
    assert_eq!(texts(&batch, "tags"), [Some("[a, b]".into()), None]);
    // The preview shows the nested values the same way.
    assert_eq!(
        preview.rows[0][1].as_deref(),
        Some("{name: Zoë, langs: [fr, de]}")
    );
}

#[test]
fn a_json_array_is_told_from_ndjson_through_a_byte_order_mark_and_utf_16() {
    assert!(json::opens_array(b" \n[{\"a\":1}]"));
    assert!(json::opens_array(b"\xef\xbb\xbf[{}]"));
    assert!(json::opens_array(b"\xff\xfe[\x00{\x00"));
    assert!(json::opens_array(b"\xfe\xff\x00[\x00{"));
    assert!(!json::opens_array(b"{\"a\":1}\n{\"a\":2}\n"));
    assert!(!json::opens_array(b"\xff\xfe{\x00"));
}

/// A few KB of Parquet can stand for more rows than a table may hold (a constant column is
/// one dictionary entry and a run): the import refuses it before decoding a row, instead of
/// decoding until the limit stops it.
#[test]
fn a_parquet_file_claiming_more_rows_than_fit_is_refused_before_decoding() {
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{Field, Schema};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("constant.parquet");
    let schema = std::sync::Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
    let mut writer = datafusion::parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&path).unwrap(),
        schema.clone(),
        None,
    )
    .unwrap();
    // 6 M rows of 8 bytes: 48 MB in memory, a few KB on disk.
    let chunk = RecordBatch::try_new(
        schema,
        vec![std::sync::Arc::new(Int64Array::from(vec![7i64; 1 << 20]))],
    )
    .unwrap();
    for _ in 0..6 {
        writer.write(&chunk).unwrap();
    }
    writer.close().unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 1 << 20);
    let config = crate::config::LimitsConfig {
        table_memory_mb: 32,
        ..Default::default()
    };
    let limits = crate::tables::Limits::new(&config, None).unwrap();
    let budget = limits.budget("the file");
    let decoded = std::sync::atomic::AtomicU64::new(0);
    let progress = |p: ImportProgress| {
        decoded.fetch_max(p.rows, std::sync::atomic::Ordering::Relaxed);
    };
    let cancel = CancellationToken::new();
    let err = read(
        &path,
        Some(ImportFormat::Parquet),
        None,
        &progress,
        &cancel,
        &budget,
    )
    .unwrap_err();
    assert!(matches!(err, TableError::TooLarge { .. }), "{err}");
    assert_eq!(
        decoded.into_inner(),
        0,
        "rows were decoded before the refusal"
    );
}

#[test]
fn decimal_comma_reading_refuses_an_unclosed_quote_and_takes_padded_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let options = |columns: Vec<ColumnSpec>| CsvOptions {
        delimiter: ";".into(),
        decimal: ",".into(),
        columns: Some(columns),
        ..CsvOptions::default()
    };
    let spec = |name: &str, kind| ColumnSpec {
        name: name.into(),
        kind,
        layout: None,
    };
    let budget = crate::tables::Limits::default().budget("the file");
    let cancel = CancellationToken::new();
    let open = dir.path().join("open.csv");
    std::fs::write(&open, "id;price;note\n1;3,5;\"Zoll\n2;4,0;x\n").unwrap();
    let columns = vec![
        spec("id", ColumnType::Integer),
        spec("price", ColumnType::Float),
        spec("note", ColumnType::Text),
    ];
    let err = read(
        &open,
        None,
        Some(&options(columns.clone())),
        &|_| {},
        &cancel,
        &budget,
    )
    .unwrap_err();
    assert!(err.to_string().contains("never closed"), "{err}");
    let padded = dir.path().join("padded.csv");
    std::fs::write(&padded, "id;price;note\n1; 4,25 ;a\n").unwrap();
    let read = read(
        &padded,
        None,
        Some(&options(columns)),
        &|_| {},
        &cancel,
        &budget,
    )
    .unwrap();
    let price = read.batches[0].column(1).as_primitive::<Float64Type>();
    assert_eq!(price.value(0), 4.25);
}

#[test]
fn a_compressed_utf_8_file_with_a_bad_byte_is_refused_at_its_line_not_mangled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("names.csv.gz");
    std::fs::write(
        &path,
        gzip(b"\xef\xbb\xbfid,name\n1,Zo\xc3\xab\n2,bad\xff\n"),
    )
    .unwrap();
    let options = CsvOptions {
        encoding: Some("utf-8".into()),
        ..CsvOptions::default()
    };
    let budget = crate::tables::Limits::default().budget("the file");
    let err = read(
        &path,
        None,
        Some(&options),
        &|_| {},
        &CancellationToken::new(),
        &budget,
    )
    .unwrap_err();
    assert!(err.to_string().contains("line 3"), "{err}");
}

#[test]
fn an_empty_sheet_and_times_of_day_are_said_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shifts.xlsx");
    let mut book = Workbook::new();
    let time = Format::new().set_num_format("hh:mm");
    let sheet = book.add_worksheet().set_name("shifts").unwrap();
    sheet.write_string(0, 0, "starts").unwrap();
    sheet
        .write_datetime_with_format(1, 0, ExcelDateTime::from_hms(8, 30, 0).unwrap(), &time)
        .unwrap();
    book.add_worksheet().set_name("blank").unwrap();
    book.save(&path).unwrap();
    let (preview, batch) = import_as_proposed(&path, None).unwrap();
    assert_eq!(preview.columns[0].kind, ColumnType::Text);
    assert_eq!(texts(&batch, "starts"), [Some("08:30:00".into())]);
    let err = preview_sheet(&path, "blank").unwrap_err();
    assert!(
        err.to_string().contains("the sheet \"blank\" is empty"),
        "{err}"
    );
}

#[test]
fn dates_written_month_first_or_day_first_import_as_dates_with_their_layout_named() {
    let dir = tempfile::tempdir().unwrap();
    // A US export: month first, times without seconds, a missing value, a quoted line break.
    let us = dir.path().join("orders.csv");
    std::fs::write(
        &us,
        "id,ordered,shipped,note\n1,01/31/2012,01/31/2012 14:05,\"two\nlines\"\n\
         2,2/1/2012,NA,x\n3,NA,2/3/2012 09:00,y\n",
    )
    .unwrap();
    let (preview, batch) = import_as_proposed(&us, None).unwrap();
    let column = |name: &str| preview.columns.iter().find(|c| c.name == name).unwrap();
    assert_eq!(column("ordered").kind, ColumnType::Date);
    assert_eq!(column("ordered").layout.as_deref(), Some("%m/%d/%Y"));
    assert_eq!(column("shipped").kind, ColumnType::Timestamp);
    assert_eq!(column("shipped").layout.as_deref(), Some("%m/%d/%Y %H:%M"));
    assert_eq!(column("note").layout, None);
    // The preview shows the values as they will be read.
    assert_eq!(preview.rows[0][1].as_deref(), Some("2012-01-31"));
    assert_eq!(
        batch.column_by_name("ordered").unwrap().data_type(),
        &DataType::Date32
    );
    assert_eq!(
        texts(&batch, "ordered"),
        [Some("2012-01-31".into()), Some("2012-02-01".into()), None]
    );
    assert_eq!(
        texts(&batch, "shipped"),
        [
            Some("2012-01-31T14:05:00".into()),
            None,
            Some("2012-02-03T09:00:00".into())
        ]
    );
    assert_eq!(texts(&batch, "note")[0].as_deref(), Some("two\nlines"));

    // A German export: day first with points, `;` and decimal commas, read through one copy.
    let de = dir.path().join("umsatz.csv");
    std::fs::write(&de, "datum;betrag\n31.12.2020;1,5\n1.2.2021;2,25\n").unwrap();
    let (preview, batch) = import_as_proposed(&de, None).unwrap();
    assert_eq!(preview.columns[0].layout.as_deref(), Some("%d.%m.%Y"));
    assert_eq!(
        texts(&batch, "datum"),
        [Some("2020-12-31".into()), Some("2021-02-01".into())]
    );
    assert_eq!(
        batch
            .column_by_name("betrag")
            .unwrap()
            .as_primitive::<Float64Type>()
            .values(),
        &[1.5, 2.25]
    );

    // Month names, as vega_datasets' stocks.csv writes them.
    let stocks = dir.path().join("stocks.csv");
    std::fs::write(
        &stocks,
        "symbol,date,price\nMSFT,Jan 1 2000,39.81\nMSFT,Feb 1 2000,36.35\nIBM,Mar 31 2010,128.25\n",
    )
    .unwrap();
    let (preview, batch) = import_as_proposed(&stocks, None).unwrap();
    assert_eq!(preview.columns[1].kind, ColumnType::Date);
    assert_eq!(preview.columns[1].layout.as_deref(), Some("%B %d %Y"));
    assert_eq!(
        texts(&batch, "date"),
        [
            Some("2000-01-01".into()),
            Some("2000-02-01".into()),
            Some("2010-03-31".into())
        ]
    );

    // Two-digit years stay text: 25/11/63 could be either century.
    let baboon = dir.path().join("baboon.csv");
    std::fs::write(&baboon, "date,time\n25/11/63,656\n29/10/63,659\n").unwrap();
    let (preview, _) = import_as_proposed(&baboon, None).unwrap();
    assert_eq!(preview.columns[0].kind, ColumnType::Text);
}

#[test]
fn a_value_that_is_not_a_date_in_the_layout_is_named_and_a_chosen_layout_reads_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("visits.csv");
    std::fs::write(&path, "day,n\n01/02/2012,1\n03/04/2012,2\nsoon,3\n").unwrap();
    let spec = |layout: &str| CsvOptions {
        columns: Some(vec![
            ColumnSpec {
                name: "day".into(),
                kind: ColumnType::Date,
                layout: Some(layout.into()),
            },
            ColumnSpec {
                name: "n".into(),
                kind: ColumnType::Integer,
                layout: None,
            },
        ]),
        ..CsvOptions::default()
    };
    let budget = crate::tables::Limits::default().budget("the file");
    let cancel = CancellationToken::new();
    let err = read(
        &path,
        None,
        Some(&spec("%m/%d/%Y")),
        &|_| {},
        &cancel,
        &budget,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("day") && text.contains("soon") && text.contains("line 4"),
        "{text}"
    );
    assert!(
        text.contains("Choose how day's dates are written"),
        "{text}"
    );
    // Without the bad row, the day-first layout the user chose reads 01/02 as 1 February.
    std::fs::write(&path, "day,n\n01/02/2012,1\n03/04/2012,2\n").unwrap();
    let imported = read(
        &path,
        None,
        Some(&spec("%d/%m/%Y")),
        &|_| {},
        &cancel,
        &budget,
    )
    .unwrap();
    let batch = concat_batches(&imported.schema, &imported.batches).unwrap();
    assert_eq!(
        texts(&batch, "day"),
        [Some("2012-02-01".into()), Some("2012-04-03".into())]
    );
    // Skipping rows that do not fit names their lines in the user's file, blank lines counted
    // (the copy the dates are rewritten into keeps them), and a marker that is a date in the
    // layout stays a gap.
    std::fs::write(
        &path,
        "day,n\n01/02/2012,1\n\n\nsoon,2\n12/31/9999,3\n03/04/2012,4\n",
    )
    .unwrap();
    let skipping = CsvOptions {
        on_bad_row: OnBadRow::Skip,
        missing: vec!["12/31/9999".into()],
        ..spec("%m/%d/%Y")
    };
    let imported = read(&path, None, Some(&skipping), &|_| {}, &cancel, &budget).unwrap();
    assert_eq!(imported.skipped_total, 1);
    assert_eq!(imported.skipped[0].line, 5, "{:?}", imported.skipped);
    let batch = concat_batches(&imported.schema, &imported.batches).unwrap();
    assert_eq!(
        texts(&batch, "day"),
        [Some("2012-01-02".into()), None, Some("2012-03-04".into())]
    );

    // The dialog shows the rows read with the layout the user picks, and says at once when
    // the chosen type cannot read them.
    std::fs::write(&path, "day,n\n01/02/2012,1\n03/04/2012,2\n").unwrap();
    // Both orders read 01/02 and 03/04: the proposal (month first) is a guess, said as one.
    let proposed = preview(&path, None).unwrap();
    assert_eq!(proposed.columns[0].layout.as_deref(), Some("%m/%d/%Y"));
    assert_eq!(
        proposed.layout_doubts,
        [LayoutDoubt {
            column: 0,
            also: "%d/%m/%Y".into()
        }]
    );
    let shown = preview_csv(&path, &spec("%d/%m/%Y")).unwrap();
    assert_eq!(shown.rows[0][0].as_deref(), Some("2012-02-01"));
    assert!(shown.layout_doubts.is_empty(), "the user chose");
    let iso = CsvOptions {
        columns: Some(vec![
            ColumnSpec {
                name: "day".into(),
                kind: ColumnType::Date,
                layout: None,
            },
            ColumnSpec {
                name: "n".into(),
                kind: ColumnType::Integer,
                layout: None,
            },
        ]),
        ..CsvOptions::default()
    };
    let said = preview_csv(&path, &iso).unwrap_err().to_string();
    assert!(
        said.contains("01/02/2012") && said.contains("Choose how day's dates are written"),
        "{said}"
    );

    // A layout Quire does not know is refused in words before anything is read.
    let err = read(&path, None, Some(&spec("%Y%j")), &|_| {}, &cancel, &budget).unwrap_err();
    assert!(err.to_string().contains("cannot be read as dates"), "{err}");
}

#[test]
fn json_dates_are_dates_and_a_later_value_that_is_not_one_keeps_the_column_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.ndjson");
    std::fs::write(
        &path,
        concat!(
            r#"{"day":"2012-01-31","at":"2012-01-31T14:05:00+02:00","local":"2012-01-31 14:05:00","code":"A1"}"#,
            "\n",
            r#"{"day":null,"at":"2012-02-01T00:00:00Z","local":"2012-02-01 00:00:00","code":"2012-01-31"}"#,
            "\n",
        ),
    )
    .unwrap();
    let (preview, batch) = import_as_proposed(&path, None).unwrap();
    let kinds: Vec<_> = preview
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("day", ColumnType::Date),
            ("at", ColumnType::TimestampTz),
            ("local", ColumnType::Timestamp),
            ("code", ColumnType::Text)
        ]
    );
    assert_eq!(texts(&batch, "day"), [Some("2012-01-31".into()), None]);
    // The instant each names, in UTC.
    assert_eq!(
        texts(&batch, "at"),
        [
            Some("2012-01-31T12:05:00Z".into()),
            Some("2012-02-01T00:00:00Z".into())
        ]
    );
    assert_eq!(
        texts(&batch, "local")[0].as_deref(),
        Some("2012-01-31T14:05:00")
    );

    // The columns come from the first 10,000 records: a record past them that holds no date
    // makes the column text when the file is read, never a refusal.
    let late = dir.path().join("late.ndjson");
    let mut lines: String = (0..10_050)
        .map(|i| format!("{{\"day\":\"2012-01-{:02}\"}}\n", 1 + i % 28))
        .collect();
    lines.push_str("{\"day\":\"soon\"}\n");
    std::fs::write(&late, lines).unwrap();
    let (preview, batch) = import_as_proposed(&late, None).unwrap();
    assert_eq!(preview.columns[0].kind, ColumnType::Date);
    assert_eq!(batch.num_rows(), 10_051);
    assert_eq!(texts(&batch, "day")[10_050].as_deref(), Some("soon"));
    assert_eq!(texts(&batch, "day")[0].as_deref(), Some("2012-01-01"));

    // A later date-time in a column of dates keeps its time (arrow's date parser would drop
    // it without a word): the column becomes date-times.
    let timed = dir.path().join("timed.ndjson");
    let mut lines: String = (0..10_050)
        .map(|i| format!("{{\"day\":\"2012-01-{:02}\"}}\n", 1 + i % 28))
        .collect();
    lines.push_str("{\"day\":\"2012-02-01T14:05:00\"}\n");
    std::fs::write(&timed, lines).unwrap();
    let (_, batch) = import_as_proposed(&timed, None).unwrap();
    assert_eq!(
        batch.column_by_name("day").unwrap().data_type(),
        &DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Microsecond, None)
    );
    assert_eq!(
        texts(&batch, "day")[10_050].as_deref(),
        Some("2012-02-01T14:05:00")
    );
}

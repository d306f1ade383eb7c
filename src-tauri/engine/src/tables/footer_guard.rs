//! A check of a Parquet file's footer before the parquet crate decodes it.
//!
//! The crate's Thrift reader skips an unknown `list<bool>` by counting its elements without
//! reading them, so a footer of a few bytes that claims a list of two billion booleans spins
//! for seconds, and a footer with many such lists for minutes (found by fuzzing the importer;
//! the same class of bug as pgcolumnar#694). A valid footer cannot hold a container with more
//! elements than it has bytes left (every element takes at least one byte in Thrift's compact
//! encoding), so walking the footer once without building anything, refusing such claims,
//! costs microseconds and keeps a hostile file from hanging an import, a link or a reopen.
//! Page headers are decoded by the same reader; [`check_pages`] walks them too before an
//! import decodes a file (one small read per page, cheap beside the decoding that follows).

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Thrift nesting a footer never needs (the schema is a flat list).
const MAX_DEPTH: u32 = 64;
/// A footer larger than this is refused by the crate anyway; this only bounds our read.
const MAX_FOOTER: u64 = 256 * 1024 * 1024;

/// Ok when the file has no footer to check (too short, not `PAR1`): the parquet crate refuses
/// those in its own words. Err with the reason when the footer claims the impossible.
pub fn check_file(path: &Path) -> Result<(), String> {
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    check_open_file(&mut file).map_err(|problem| match problem {
        Problem::Io(e) => e.to_string(),
        Problem::Footer(why) => why,
    })
}

/// Why [`check_open_file`] refused a file.
#[derive(Debug)]
pub enum Problem {
    /// The disk would not read it: nothing is known of its footer.
    Io(std::io::Error),
    /// The footer (or a page header) claims the impossible.
    Footer(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Io(e) => write!(f, "{e}"),
            Problem::Footer(why) => f.write_str(why),
        }
    }
}

/// [`check_file`] on a file already open (its position moves).
pub fn check_open_file(file: &mut std::fs::File) -> Result<(), Problem> {
    let len = file.metadata().map_err(Problem::Io)?.len();
    if len < 12 {
        return Ok(());
    }
    let mut tail = [0u8; 8];
    file.seek(SeekFrom::End(-8)).map_err(Problem::Io)?;
    file.read_exact(&mut tail).map_err(Problem::Io)?;
    if &tail[4..] != b"PAR1" {
        return Ok(());
    }
    let footer_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if footer_len + 8 > len || footer_len > MAX_FOOTER {
        return Ok(());
    }
    let mut footer = vec![0u8; footer_len as usize];
    file.seek(SeekFrom::End(-8 - footer_len as i64))
        .map_err(Problem::Io)?;
    file.read_exact(&mut footer).map_err(Problem::Io)?;
    check_footer(&footer).map_err(Problem::Footer)
}

/// Walks Thrift compact-encoded bytes holding one struct (a `FileMetaData`).
pub fn check_footer(bytes: &[u8]) -> Result<(), String> {
    let mut walk = Walk {
        bytes,
        room: bytes.len(),
        at: 0,
        page_header: false,
        page_size: None,
        uncompressed: None,
        dictionary_values: None,
        in_dictionary: false,
    };
    walk.structure(0).map_err(|bad| match bad {
        Bad::Short => "its footer ends early".into(),
        Bad::Impossible(why) => format!("its footer {why}"),
    })
}

/// Why a walk stopped.
enum Bad {
    /// It ran past the bytes it was given (a longer read may settle it).
    Short,
    /// What no valid file holds, whatever follows.
    Impossible(String),
}

/// Walks every page header of every column chunk the footer names, hopping from header to
/// header by their compressed sizes. A header it cannot make sense of is left to the parquet
/// crate (which refuses it in its own words); one that claims the impossible is refused here.
pub fn check_pages(
    path: &Path,
    metadata: &datafusion::parquet::file::metadata::ParquetMetaData,
) -> Result<(), Problem> {
    let mut file = crate::durable::trace::open(path).map_err(Problem::Io)?;
    let len = file.metadata().map_err(Problem::Io)?.len();
    let mut buf = Vec::new();
    for group in metadata.row_groups() {
        for chunk in group.columns() {
            let (start, size) = chunk.byte_range();
            let end = start.saturating_add(size).min(len);
            let mut at = start;
            let value_bits = min_value_bits(chunk.column_descr());
            while at < end {
                let Some(page) = page_header(&mut file, at, end, &mut buf)? else {
                    break;
                };
                // The crate sizes a dictionary by the count its header claims before decoding
                // a value: a few bytes claiming four billion doubles asked for 32 GB (found by
                // fuzzing the importer). Every value takes at least `value_bits` of the page.
                if let (Some(values), Some(bytes)) = (page.dictionary_values, page.uncompressed) {
                    if values.saturating_mul(value_bits) > bytes.saturating_mul(8) {
                        return Err(Problem::Footer(format!(
                            "a dictionary page claims {values} values in {bytes} bytes"
                        )));
                    }
                }
                at = at.saturating_add(page.header).saturating_add(page.size);
            }
        }
    }
    Ok(())
}

/// The fewest bits one value of the column takes in a PLAIN-encoded page (a dictionary).
fn min_value_bits(column: &datafusion::parquet::schema::types::ColumnDescriptor) -> u64 {
    use datafusion::parquet::basic::Type;
    match column.physical_type() {
        Type::BOOLEAN => 1,
        Type::INT32 | Type::FLOAT => 32,
        Type::INT64 | Type::DOUBLE => 64,
        Type::INT96 => 96,
        // A length prefix of four bytes, then the bytes.
        Type::BYTE_ARRAY => 32,
        Type::FIXED_LEN_BYTE_ARRAY => 8 * column.type_length().max(0) as u64,
    }
}

/// What a page header says of its page.
struct Page {
    /// The header's own length.
    header: u64,
    /// The page's bytes in the file after the header.
    size: u64,
    uncompressed: Option<u64>,
    /// The values a dictionary page claims.
    dictionary_values: Option<u64>,
}

/// The page header at `at`; None when the header cannot be read as one (the crate will say
/// why).
fn page_header(
    file: &mut std::fs::File,
    at: u64,
    end: u64,
    buf: &mut Vec<u8>,
) -> Result<Option<Page>, Problem> {
    // Most headers are a few dozen bytes; statistics can make them larger.
    for want in [256u64, 64 * 1024, 4 * 1024 * 1024] {
        let n = want.min(end - at) as usize;
        buf.resize(n, 0);
        file.seek(SeekFrom::Start(at)).map_err(Problem::Io)?;
        file.read_exact(buf).map_err(Problem::Io)?;
        let mut walk = Walk {
            bytes: buf,
            // A header and its containers cannot run past the column chunk.
            room: usize::try_from(end - at).unwrap_or(usize::MAX),
            at: 0,
            page_header: true,
            page_size: None,
            uncompressed: None,
            dictionary_values: None,
            in_dictionary: false,
        };
        match walk.structure(0) {
            Ok(()) => {
                return Ok(Some(Page {
                    header: walk.at as u64,
                    size: walk.page_size.unwrap_or(0),
                    uncompressed: walk.uncompressed,
                    dictionary_values: walk.dictionary_values,
                }))
            }
            Err(Bad::Impossible(why)) => {
                return Err(Problem::Footer(format!("a page header {why}")))
            }
            // Every byte left in the chunk read, and the header still goes on: the crate's
            // reader would skip on past the chunk, one read at a time (a fuzz finding spun
            // there for seconds), so it is refused here.
            Err(Bad::Short) if n as u64 == end - at => {
                return Err(Problem::Footer(
                    "a page header runs past the end of its column chunk".into(),
                ))
            }
            Err(Bad::Short) => continue,
        }
    }
    Ok(None)
}

struct Walk<'a> {
    bytes: &'a [u8],
    /// Bytes the walked struct may take from the start of `bytes` (more than `bytes` holds when
    /// only the start of a page header was read).
    room: usize,
    at: usize,
    /// Walking a page header, whose field 3 (`compressed_page_size`) is kept in `page_size`,
    /// field 2 (`uncompressed_page_size`) in `uncompressed`, and field 1 of its field 7 (the
    /// dictionary page header's `num_values`) in `dictionary_values`.
    page_header: bool,
    page_size: Option<u64>,
    uncompressed: Option<u64>,
    dictionary_values: Option<u64>,
    in_dictionary: bool,
}

impl Walk<'_> {
    fn byte(&mut self) -> Result<u8, Bad> {
        let b = *self.bytes.get(self.at).ok_or(Bad::Short)?;
        self.at += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, Bad> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Bad::Impossible("holds a number too long".into()))
    }

    /// A zigzag-encoded i32, as a size or a count (negative ones read as 0).
    fn i32(&mut self) -> Result<u64, Bad> {
        let zigzag = self.varint()?;
        Ok(((zigzag >> 1) as i64 ^ -((zigzag & 1) as i64)).max(0) as u64)
    }

    fn skip(&mut self, n: u64) -> Result<(), Bad> {
        if n > (self.bytes.len() - self.at) as u64 {
            return Err(Bad::Short);
        }
        self.at += n as usize;
        Ok(())
    }

    /// At least one byte per element: a container claiming more than the struct has room
    /// for is impossible.
    fn count(&mut self, n: u64, per_element: u64) -> Result<u64, Bad> {
        let left = self.room.saturating_sub(self.at);
        if n.saturating_mul(per_element) > left as u64 {
            return Err(Bad::Impossible(format!(
                "claims a list of {n} values in {left} bytes"
            )));
        }
        Ok(n)
    }

    fn structure(&mut self, depth: u32) -> Result<(), Bad> {
        if depth > MAX_DEPTH {
            return Err(Bad::Impossible("nests too deep".into()));
        }
        let mut field = 0i64;
        loop {
            let header = self.byte()?;
            if header == 0 {
                return Ok(());
            }
            field = match header >> 4 {
                0 => {
                    let id = self.varint()?; // the field id, zigzag, when not a delta
                    (id >> 1) as i64 ^ -((id & 1) as i64)
                }
                delta => field + i64::from(delta),
            };
            match header & 0x0f {
                // A boolean field carries its value in its type.
                1 | 2 => {}
                5 if depth == 0 && (field == 2 || field == 3) && self.page_header => {
                    let size = self.i32()?;
                    if field == 3 {
                        self.page_size = Some(size);
                    } else {
                        self.uncompressed = Some(size);
                    }
                }
                5 if depth == 1 && field == 1 && self.in_dictionary => {
                    self.dictionary_values = Some(self.i32()?);
                }
                12 if depth == 0 && field == 7 && self.page_header => {
                    self.in_dictionary = true;
                    let walked = self.structure(1);
                    self.in_dictionary = false;
                    walked?;
                }
                kind => self.value(kind, depth)?,
            }
        }
    }

    fn value(&mut self, kind: u8, depth: u32) -> Result<(), Bad> {
        match kind {
            // Inside a list a boolean takes one byte.
            1..=3 => self.skip(1),
            4..=6 => self.varint().map(|_| ()),
            7 => self.skip(8),
            8 => {
                let n = self.varint()?;
                self.skip(n)
            }
            9 | 10 => {
                let header = self.byte()?;
                let size = match header >> 4 {
                    15 => self.varint()?,
                    n => u64::from(n),
                };
                let element = header & 0x0f;
                for _ in 0..self.count(size, 1)? {
                    self.value(element, depth + 1)?;
                }
                Ok(())
            }
            11 => {
                let size = self.varint()?;
                if size == 0 {
                    return Ok(());
                }
                let types = self.byte()?;
                for _ in 0..self.count(size, 2)? {
                    self.value(types >> 4, depth + 1)?;
                    self.value(types & 0x0f, depth + 1)?;
                }
                Ok(())
            }
            12 => self.structure(depth + 1),
            13 => self.skip(16),
            other => Err(Bad::Impossible(format!(
                "holds an unknown value type {other}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_footer_passes_and_a_list_of_two_billion_booleans_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let t = crate::tables::table::tests::numbers(10_000, 1000);
        crate::tables::export::write(
            &path,
            &t.schema,
            &t.batches,
            &crate::metrics::Metrics::default(),
            &|_| {},
            &tokio_util::sync::CancellationToken::new(),
        )
        .unwrap();
        check_file(&path).unwrap();
        // A struct whose field 1 is a list of 2^31 - 1 booleans, in 7 bytes.
        let hostile = [0x19, 0xf1, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00];
        let err = check_footer(&hostile).unwrap_err();
        assert!(err.contains("2147483647 values"), "{err}");
        // The fuzzer's file: refused at once instead of spinning.
        let found = Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "../fuzz/regressions/import_parquet/timeout-75dcc11b62c485aed426bf60fec44b55be9b4ce3",
        );
        let started = std::time::Instant::now();
        assert!(check_file(&found).is_err());
        assert!(started.elapsed() < std::time::Duration::from_millis(100));
    }

    #[test]
    fn every_page_header_of_a_real_file_passes_and_the_slow_one_the_fuzzer_found_does_not() {
        use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let t = crate::tables::table::tests::numbers(100_000, 1000);
        crate::tables::export::write(
            &path,
            &t.schema,
            &t.batches,
            &crate::metrics::Metrics::default(),
            &|_| {},
            &tokio_util::sync::CancellationToken::new(),
        )
        .unwrap();
        let meta = SerializedFileReader::new(std::fs::File::open(&path).unwrap())
            .unwrap()
            .metadata()
            .clone();
        check_pages(&path, &meta).unwrap();
        // A page header with a list of two billion booleans (the footer is sound).
        let slow = Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "../fuzz/regressions/import_parquet_slow/import_parquet-timeout-4c8f687c1b9001f2f2deeac0395118bf21fd653f",
        );
        check_file(&slow).unwrap();
        let meta = SerializedFileReader::new(std::fs::File::open(&slow).unwrap())
            .unwrap()
            .metadata()
            .clone();
        let started = std::time::Instant::now();
        let err = check_pages(&slow, &meta).unwrap_err().to_string();
        assert!(err.starts_with("a page header"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_millis(100));
        // The import refuses it in words at once (it spun for 15 s in a debug build before).
        let started = std::time::Instant::now();
        let refused = crate::tables::import::preview(
            &slow,
            Some(crate::tables::import::ImportFormat::Parquet),
        )
        .unwrap_err();
        assert!(refused.to_string().contains("damaged"), "{refused}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    /// Dictionary pages of every physical type pass; the one the fuzzer found (a few bytes
    /// claiming four billion doubles, which made the crate ask for 32 GB) is refused.
    #[test]
    fn dictionaries_are_checked_against_their_page_size() {
        use datafusion::arrow::array::{
            ArrayRef, BooleanArray, FixedSizeBinaryArray, Float64Array, Int32Array, StringArray,
        };
        use datafusion::arrow::record_batch::RecordBatch;
        use datafusion::parquet::arrow::ArrowWriter;
        use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dict.parquet");
        let n = 50_000;
        let columns: Vec<(&str, ArrayRef)> = vec![
            (
                "f",
                Arc::new(Float64Array::from_iter_values(
                    (0..n).map(|i| (i % 97) as f64 / 3.0),
                )),
            ),
            (
                "i",
                Arc::new(Int32Array::from_iter_values((0..n).map(|i| i % 13))),
            ),
            (
                "s",
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("city {}", i % 50)),
                )),
            ),
            (
                "b",
                Arc::new(BooleanArray::from_iter((0..n).map(|i| Some(i % 3 == 0)))),
            ),
            (
                "x",
                Arc::new(
                    FixedSizeBinaryArray::try_from_iter((0..n).map(|i| [(i % 7) as u8; 5]))
                        .unwrap(),
                ),
            ),
        ];
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let mut writer =
            ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), None)
                .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let meta = SerializedFileReader::new(std::fs::File::open(&path).unwrap())
            .unwrap()
            .metadata()
            .clone();
        let dictionaries = meta
            .row_groups()
            .iter()
            .flat_map(|g| g.columns())
            .filter(|c| c.dictionary_page_offset().is_some())
            .count();
        // Doubles, integers and text (arrow-rs writes booleans and fixed-size binary plainly).
        assert!(dictionaries >= 3, "{dictionaries} dictionary pages");
        check_pages(&path, &meta).unwrap();

        let found = Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "../fuzz/regressions/import_parquet/oom-cc39cfe0c9edc1bc7322bbe68a24501f9448e65e",
        );
        let meta = SerializedFileReader::new(std::fs::File::open(&found).unwrap())
            .unwrap()
            .metadata()
            .clone();
        // Its dictionary header also runs past its column chunk, which is checked first.
        let err = check_pages(&found, &meta).unwrap_err().to_string();
        assert!(
            err.contains("dictionary page claims") || err.contains("runs past the end"),
            "{err}"
        );
        // A header that goes on past its chunk (the crate's reader skipped on, one read at a
        // time, for seconds: a fuzz finding).
        let spinning = Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "../fuzz/regressions/import_parquet_slow/timeout-0359f557c9b5bf2c247b463fadf31001c07708fa",
        );
        let meta = SerializedFileReader::new(std::fs::File::open(&spinning).unwrap())
            .unwrap()
            .metadata()
            .clone();
        let err = check_pages(&spinning, &meta).unwrap_err().to_string();
        assert!(err.contains("runs past the end"), "{err}");
        let refused = crate::tables::import::preview(
            &found,
            Some(crate::tables::import::ImportFormat::Parquet),
        )
        .unwrap_err();
        assert!(refused.to_string().contains("damaged"), "{refused}");
    }
}

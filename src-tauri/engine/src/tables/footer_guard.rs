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
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    if len < 12 {
        return Ok(());
    }
    let mut tail = [0u8; 8];
    file.seek(SeekFrom::End(-8)).map_err(|e| e.to_string())?;
    file.read_exact(&mut tail).map_err(|e| e.to_string())?;
    if &tail[4..] != b"PAR1" {
        return Ok(());
    }
    let footer_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if footer_len + 8 > len || footer_len > MAX_FOOTER {
        return Ok(());
    }
    let mut footer = vec![0u8; footer_len as usize];
    file.seek(SeekFrom::End(-8 - footer_len as i64))
        .map_err(|e| e.to_string())?;
    file.read_exact(&mut footer).map_err(|e| e.to_string())?;
    check_footer(&footer)
}

/// Walks Thrift compact-encoded bytes holding one struct (a `FileMetaData`).
pub fn check_footer(bytes: &[u8]) -> Result<(), String> {
    let mut walk = Walk {
        bytes,
        room: bytes.len(),
        at: 0,
        page_header: false,
        page_size: None,
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
) -> Result<(), String> {
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let mut buf = Vec::new();
    for group in metadata.row_groups() {
        for chunk in group.columns() {
            let (start, size) = chunk.byte_range();
            let end = start.saturating_add(size).min(len);
            let mut at = start;
            while at < end {
                let Some((header, page)) = page_header(&mut file, at, end, &mut buf)? else {
                    break;
                };
                at = at.saturating_add(header).saturating_add(page);
            }
        }
    }
    Ok(())
}

/// The length of the page header at `at` and the size of the page after it; None when the
/// header cannot be read as one (the crate will say why).
fn page_header(
    file: &mut std::fs::File,
    at: u64,
    end: u64,
    buf: &mut Vec<u8>,
) -> Result<Option<(u64, u64)>, String> {
    // Most headers are a few dozen bytes; statistics can make them larger.
    for want in [256u64, 64 * 1024, 4 * 1024 * 1024] {
        let n = want.min(end - at) as usize;
        buf.resize(n, 0);
        file.seek(SeekFrom::Start(at)).map_err(|e| e.to_string())?;
        file.read_exact(buf).map_err(|e| e.to_string())?;
        let mut walk = Walk {
            bytes: buf,
            // A header and its containers cannot run past the column chunk.
            room: usize::try_from(end - at).unwrap_or(usize::MAX),
            at: 0,
            page_header: true,
            page_size: None,
        };
        match walk.structure(0) {
            Ok(()) => return Ok(Some((walk.at as u64, walk.page_size.unwrap_or(0)))),
            Err(Bad::Impossible(why)) => return Err(format!("a page header {why}")),
            Err(Bad::Short) if n as u64 == end - at => return Ok(None),
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
    /// Walking a page header, whose field 3 (`compressed_page_size`) is kept in `page_size`.
    page_header: bool,
    page_size: Option<u64>,
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
                5 if depth == 0 && field == 3 && self.page_header => {
                    let zigzag = self.varint()?;
                    let size = (zigzag >> 1) as i64 ^ -((zigzag & 1) as i64);
                    self.page_size = Some(size.max(0) as u64);
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
        let err = check_pages(&slow, &meta).unwrap_err();
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
}

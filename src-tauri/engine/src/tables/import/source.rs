//! What a file is before it is a table: compressed or not, and in which text encoding.
//!
//! The CSV and JSON readers take plain UTF-8 files (they seek, split the file into chunks and
//! count lines). A gzip or zstd file, a UTF-16 or Latin-1 file, or one that opens with a
//! byte-order mark is therefore first decoded, streaming, into a scratch file beside the
//! engine's spill files, and read from there; the scratch file goes when the import ends.
//! A plain UTF-8 file is read where it lies, with no copy.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use encoding_rs::Encoding;
use encoding_rs_io::DecodeReaderBytesBuilder;
use tokio_util::sync::CancellationToken;

use crate::tables::TableError;

/// How a file is compressed, from its first bytes (never its name: `.csv` files that are
/// really gzip exist, and so do `.gz` files that are not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
}

impl Compression {
    fn of(start: &[u8]) -> Option<Compression> {
        match start {
            [0x1f, 0x8b, ..] => Some(Compression::Gzip),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Some(Compression::Zstd),
            _ => None,
        }
    }
}

/// The start of a file's content (decompressed), read once for everything sniffed from it.
pub struct Head {
    pub compression: Option<Compression>,
    pub bytes: Vec<u8>,
}

impl Head {
    /// Up to `limit` bytes of the content: one read of the file, or, when it is compressed,
    /// a second that decompresses.
    pub fn read(path: &Path, limit: usize) -> Result<Head, TableError> {
        let mut raw = Vec::with_capacity(limit.min(1 << 20));
        File::open(path)
            .and_then(|f| f.take(limit as u64).read_to_end(&mut raw))
            .map_err(|e| TableError::file(path, e))?;
        let compression = Compression::of(&raw);
        let bytes = match compression {
            None => raw,
            Some(_) => head(path, compression, limit)?,
        };
        Ok(Head { compression, bytes })
    }
}

/// The file's bytes, decompressed.
fn open(path: &Path, compression: Option<Compression>) -> Result<Box<dyn Read>, TableError> {
    let file = BufReader::with_capacity(
        1 << 20,
        File::open(path).map_err(|e| TableError::file(path, e))?,
    );
    Ok(match compression {
        None => Box::new(file),
        // Multi-member: `cat a.gz b.gz` and bgzip files are one stream to gzip(1) too.
        Some(Compression::Gzip) => Box::new(flate2::bufread::MultiGzDecoder::new(file)),
        Some(Compression::Zstd) => Box::new(
            zstd::stream::read::Decoder::with_buffer(file)
                .map_err(|e| TableError::file(path, e))?,
        ),
    })
}

/// Reads up to `limit` bytes of the file's content (decompressed), for sniffing.
fn head(
    path: &Path,
    compression: Option<Compression>,
    limit: usize,
) -> Result<Vec<u8>, TableError> {
    let mut out = Vec::with_capacity(limit.min(1 << 20));
    open(path, compression)?
        .take(limit as u64)
        .read_to_end(&mut out)
        .map_err(|e| unreadable(path, compression, e))?;
    Ok(out)
}

fn unreadable(path: &Path, compression: Option<Compression>, e: std::io::Error) -> TableError {
    match compression {
        Some(kind) => TableError::Import {
            line: None,
            message: format!(
                "the {} file cannot be decompressed ({e}); it may be cut short or damaged",
                match kind {
                    Compression::Gzip => "gzip",
                    Compression::Zstd => "zstd",
                }
            ),
        },
        None => TableError::file(path, e),
    }
}

/// The text encoding of a sample: a byte-order mark names it; UTF-16 when nearly every byte
/// at even or odd places is NUL (a BOM-less UTF-16 file of Latin text); UTF-8 when the sample
/// is valid UTF-8 (a character cut at the sample's end allowed), or when its valid multi-byte
/// characters outnumber its invalid bytes (a UTF-8 file with a stray bad byte, which the reader
/// then names); otherwise Windows-1252, which is what "Latin-1" files written on Windows and by
/// Excel are (the WHATWG encoding standard reads the label `latin1` as Windows-1252 too).
pub fn sniff_encoding(sample: &[u8]) -> &'static Encoding {
    if let Some((encoding, _)) = Encoding::for_bom(sample) {
        return encoding;
    }
    let pairs = sample.len() / 2;
    if pairs >= 2 {
        let nul_at = |parity: usize| {
            sample
                .chunks_exact(2)
                .filter(|pair| pair[parity] == 0)
                .count()
        };
        if nul_at(1) * 10 >= pairs * 9 {
            return encoding_rs::UTF_16LE;
        }
        if nul_at(0) * 10 >= pairs * 9 {
            return encoding_rs::UTF_16BE;
        }
    }
    let (mut rest, mut multibyte, mut invalid) = (sample, 0usize, 0usize);
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                multibyte += valid.chars().filter(|c| !c.is_ascii()).count();
                break;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                multibyte += std::str::from_utf8(valid)
                    .map_or(0, |v| v.chars().filter(|c| !c.is_ascii()).count());
                match e.error_len() {
                    // Cut at the sample's end.
                    None => break,
                    Some(n) => {
                        invalid += 1;
                        rest = &after[n..];
                    }
                }
            }
        }
    }
    if invalid == 0 || multibyte > invalid {
        encoding_rs::UTF_8
    } else {
        encoding_rs::WINDOWS_1252
    }
}

/// The encoding a label names (`utf-8`, `utf-16le`, `latin1`, `windows-1252`, `shift_jis`…,
/// as the WHATWG encoding standard spells them).
pub fn encoding(label: &str) -> Result<&'static Encoding, TableError> {
    Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| TableError::Import {
        line: None,
        message: format!(
            "{label:?} is not a text encoding Quire knows; try utf-8, utf-16le, utf-16be or \
             windows-1252"
        ),
    })
}

/// The name the import dialog shows and sends back for an encoding.
pub fn label(encoding: &'static Encoding) -> String {
    encoding.name().to_ascii_lowercase()
}

/// A file the readers can take: plain UTF-8 with no byte-order mark.
pub struct Plain {
    path: PathBuf,
    /// The decoded copy, deleted when the import is done with it.
    _scratch: Option<tempfile::TempPath>,
}

impl Plain {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file as it is, when it needs no decoding.
    pub fn as_is(path: &Path) -> Plain {
        Plain {
            path: path.to_path_buf(),
            _scratch: None,
        }
    }
}

/// Where the line that starts at `at` of `text` ends, past its line end: `\n`, `\r\n` or a
/// lone `\r` (classic Mac OS files), as the CSV reader ends lines; the text's end when no
/// line end follows.
pub fn next_line(text: &[u8], at: usize) -> usize {
    match text[at.min(text.len())..]
        .iter()
        .position(|&b| matches!(b, b'\n' | b'\r'))
    {
        None => text.len(),
        Some(n) => {
            let end = at + n;
            if text[end] == b'\r' && text.get(end + 1) == Some(&b'\n') {
                end + 2
            } else {
                end + 1
            }
        }
    }
}

/// How many line ends `text` holds, counted as [`next_line`] finds them.
pub fn line_ends(text: &[u8]) -> usize {
    let mut at = 0;
    let mut ends = 0;
    while at < text.len() {
        let next = next_line(text, at);
        if matches!(text[next - 1], b'\n' | b'\r') {
            ends += 1;
        }
        at = next;
    }
    ends
}

/// Leaves out one line of `reader`, its line end found as [`next_line`] finds it. False when
/// the text had ended.
fn skip_line(reader: &mut impl BufRead) -> std::io::Result<bool> {
    let mut any = false;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(any);
        }
        any = true;
        match buf.iter().position(|&b| matches!(b, b'\n' | b'\r')) {
            None => {
                let n = buf.len();
                reader.consume(n);
            }
            Some(n) => {
                let cr = buf[n] == b'\r';
                reader.consume(n + 1);
                if cr && reader.fill_buf()?.first() == Some(&b'\n') {
                    reader.consume(1);
                }
                return Ok(true);
            }
        }
    }
}

/// How a CSV file's text starts, for its reader.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    /// Lines before the header or rows, left out.
    pub skip_lines: u32,
    /// A byte written before the first line kept: the delimiter, so that a header one name
    /// short of its rows (R's row names) names an empty first column.
    pub lead: Option<u8>,
}

/// The file as plain UTF-8: as it is when it already is (no compression, UTF-8 with no BOM,
/// nothing to change at its `start`), else decoded into a scratch file in `scratch` (the OS
/// temp folder when `None`), its start changed as `start` says. `limit` stops after that many
/// decoded bytes (a preview). Invalid bytes in a UTF-8 file are kept as they are, so the
/// reader names the line where they are rather than reading U+FFFD.
pub fn plain(
    path: &Path,
    head: &Head,
    (encoding, start): (&'static Encoding, Start),
    limit: Option<u64>,
    scratch: Option<&Path>,
    cancel: &CancellationToken,
) -> Result<Plain, TableError> {
    let compression = head.compression;
    let has_bom = Encoding::for_bom(&head.bytes).is_some();
    if compression.is_none()
        && encoding == encoding_rs::UTF_8
        && !has_bom
        && start == Start::default()
    {
        return Ok(Plain::as_is(path));
    }
    // A BOM in the file wins over the encoding chosen, as in browsers and pandas.
    let (encoding, bom) = Encoding::for_bom(&head.bytes).unwrap_or((encoding, 0));
    let mut content = open(path, compression)?;
    std::io::copy(&mut (&mut content).take(bom as u64), &mut std::io::sink())
        .map_err(|e| unreadable(path, compression, e))?;
    // UTF-8 is copied as it is (only decompressed, its BOM dropped): a stray invalid byte is
    // then named by the reader with its line, as in an uncompressed file, not made U+FFFD.
    let decoded: Box<dyn Read> = if encoding == encoding_rs::UTF_8 {
        content
    } else {
        Box::new(
            DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding))
                .bom_sniffing(false)
                .build(content),
        )
    };
    let mut decoded = BufReader::with_capacity(1 << 20, decoded);
    for _ in 0..start.skip_lines {
        if !skip_line(&mut decoded).map_err(|e| unreadable(path, compression, e))? {
            break;
        }
    }
    // The lead goes before the first line that is not blank: the header's.
    let mut blank = Vec::new();
    while start.lead.is_some() {
        let buf = decoded
            .fill_buf()
            .map_err(|e| unreadable(path, compression, e))?;
        let n = buf
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        let more = n == buf.len() && !buf.is_empty();
        blank.extend_from_slice(&buf[..n]);
        decoded.consume(n);
        if !more {
            break;
        }
    }
    let mut decoded: Box<dyn Read> = match limit {
        Some(limit) => Box::new(decoded.take(limit)),
        None => Box::new(decoded),
    };
    let builder = tempfile::Builder::new()
        .prefix("import-")
        .suffix(".decoded")
        .to_owned();
    let file = match scratch {
        Some(dir) => builder.tempfile_in(dir),
        None => builder.tempfile(),
    }
    .map_err(|e| TableError::Persist(format!("no scratch file for decoding the import: {e}")))?;
    let (file, scratch_path) = file.into_parts();
    let written = |e: std::io::Error| {
        TableError::Persist(format!("the decoded import could not be written: {e}"))
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 20, &file);
    let mut buf = vec![0u8; 1 << 20];
    // (bytes written, bytes up to and including the last line end)
    let (mut total, mut whole_lines) = (0u64, 0u64);
    if let Some(lead) = start.lead {
        out.write_all(&blank).map_err(written)?;
        out.write_all(&[lead]).map_err(written)?;
        total += blank.len() as u64 + 1;
    }
    loop {
        if cancel.is_cancelled() {
            return Err(TableError::Cancelled);
        }
        let n = match decoded.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(unreadable(path, compression, e)),
        };
        if let Some(at) = buf[..n].iter().rposition(|b| matches!(b, b'\n' | b'\r')) {
            whole_lines = total + at as u64 + 1;
        }
        total += n as u64;
        out.write_all(&buf[..n]).map_err(written)?;
    }
    out.flush().map_err(written)?;
    drop(out);
    // A preview cut at its limit ends at its last whole line, never in half a record.
    if limit.is_some_and(|limit| total >= limit) && whole_lines > 0 {
        file.set_len(whole_lines).map_err(written)?;
    }
    Ok(Plain {
        path: scratch_path.to_path_buf(),
        _scratch: Some(scratch_path),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_told_apart_by_their_bytes() {
        assert_eq!(
            sniff_encoding("id,näme\n1,ö\n".as_bytes()),
            encoding_rs::UTF_8
        );
        // "é" cut in half at the end of a sample is still UTF-8.
        assert_eq!(sniff_encoding(&"a,é".as_bytes()[..4]), encoding_rs::UTF_8);
        assert_eq!(
            sniff_encoding(b"id,n\xe4me\n1,\xf6\n"),
            encoding_rs::WINDOWS_1252
        );
        assert_eq!(sniff_encoding(b"\xef\xbb\xbfid\n"), encoding_rs::UTF_8);
        assert_eq!(sniff_encoding(b"\xff\xfei\x00d\x00"), encoding_rs::UTF_16LE);
        assert_eq!(
            sniff_encoding(b"i\x00d\x00,\x00n\x00\n\x00"),
            encoding_rs::UTF_16LE
        );
        assert_eq!(
            sniff_encoding(b"\x00i\x00d\x00,\x00n\x00\n"),
            encoding_rs::UTF_16BE
        );
        // Mostly UTF-8 with one bad byte: UTF-8, so the reader names the bad line.
        assert_eq!(
            sniff_encoding(b"\xc3\xa9,\xc3\xbc,\xc3\xb6\n\xff\n"),
            encoding_rs::UTF_8
        );
        assert_eq!(encoding("latin1").unwrap(), encoding_rs::WINDOWS_1252);
        assert!(encoding("klingon").is_err());
    }
}

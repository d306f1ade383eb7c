//! The notebook document and its on-disk format, `notebook.json` (format version 1).
//!
//! ```json
//! {
//!   "format": "quire-notebook",
//!   "version": 1,
//!   "id": "0193…",
//!   "title": "Trips",
//!   "cells": [
//!     { "id": "0193…", "kind": "sql", "source": "SELECT * FROM trips" },
//!     { "id": "0193…", "kind": "markdown", "source": "# Notes" }
//!   ]
//! }
//! ```
//! Pretty-printed with two-space indents, keys in this order and a final newline, so a notebook
//! diffs well in git. A file whose `version` is newer than [`FORMAT_VERSION`] is refused, never
//! rewritten: an older Quire must not destroy what a newer one wrote.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The `format` marker of every notebook file.
pub const FORMAT_MARKER: &str = "quire-notebook";
/// The newest format this build reads and the one it writes.
pub const FORMAT_VERSION: u32 = 1;
/// The file inside each notebook folder.
pub const FILE_NAME: &str = "notebook.json";

pub use crate::ids::{CellId, NotebookId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum CellKind {
    Sql,
    Markdown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct Cell {
    pub id: CellId,
    pub kind: CellKind,
    pub source: String,
}

/// The document itself: what `notebook.json` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub id: NotebookId,
    pub title: String,
    pub cells: Vec<Cell>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileV1 {
    format: String,
    version: u32,
    id: NotebookId,
    title: String,
    cells: Vec<Cell>,
}

/// Why a file is not a notebook this build can open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseProblem {
    /// Not JSON, not a Quire notebook, or a field is wrong; the text says where.
    Corrupt(String),
    /// Written by a newer Quire.
    NewerVersion(u32),
}

impl Document {
    pub fn new(title: String) -> Document {
        Document {
            id: NotebookId(Uuid::now_v7()),
            title,
            cells: Vec::new(),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let file = FileV1 {
            format: FORMAT_MARKER.into(),
            version: FORMAT_VERSION,
            id: self.id,
            title: self.title.clone(),
            cells: self.cells.clone(),
        };
        let mut bytes = serde_json::to_vec_pretty(&file).expect("a notebook always serialises");
        bytes.push(b'\n');
        bytes
    }

    pub fn parse(bytes: &[u8]) -> Result<Document, ParseProblem> {
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| ParseProblem::Corrupt(format!("not valid JSON ({e})")))?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT_MARKER) {
            return Err(ParseProblem::Corrupt("not a Quire notebook file".into()));
        }
        match value.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v > u64::from(FORMAT_VERSION) => {
                return Err(ParseProblem::NewerVersion(
                    u32::try_from(v).unwrap_or(u32::MAX),
                ))
            }
            Some(v) if v >= 1 => {}
            _ => {
                return Err(ParseProblem::Corrupt(
                    "the format version is missing or invalid".into(),
                ))
            }
        }
        let file: FileV1 = serde_json::from_value(value)
            .map_err(|e| ParseProblem::Corrupt(format!("unexpected content ({e})")))?;
        Ok(Document {
            id: file.id,
            title: file.title,
            cells: file.cells,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_is_stable_text() {
        let mut doc = Document::new("Trips".into());
        doc.cells.push(Cell {
            id: CellId(Uuid::now_v7()),
            kind: CellKind::Sql,
            source: "SELECT 1".into(),
        });
        let bytes = doc.to_bytes();
        assert_eq!(Document::parse(&bytes).unwrap(), doc);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.starts_with("{\n  \"format\": \"quire-notebook\",\n  \"version\": 1,"),
            "{text}"
        );
        assert!(text.ends_with("}\n"));
        assert_eq!(doc.to_bytes(), bytes, "serialising is deterministic");
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(matches!(
            Document::parse(b"{not json"),
            Err(ParseProblem::Corrupt(_))
        ));
        assert!(matches!(
            Document::parse(b"{\"a\":1}"),
            Err(ParseProblem::Corrupt(_))
        ));
        assert!(matches!(
            Document::parse(b""),
            Err(ParseProblem::Corrupt(_))
        ));
        let newer = br#"{"format":"quire-notebook","version":2,"id":"x","title":"t","cells":[]}"#;
        assert_eq!(Document::parse(newer), Err(ParseProblem::NewerVersion(2)));
        let bad_cell = br#"{"format":"quire-notebook","version":1,"id":"0193a1b2-0000-7000-8000-000000000000","title":"t","cells":[{"id":"0193a1b2-0000-7000-8000-000000000001","kind":"python","source":""}]}"#;
        match Document::parse(bad_cell) {
            Err(ParseProblem::Corrupt(msg)) => assert!(msg.contains("python"), "{msg}"),
            other => panic!("{other:?}"),
        }
    }
}

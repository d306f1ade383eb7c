//! The notebook document and its on-disk format, `notebook.json` (format version 2).
//!
//! ```json
//! {
//!   "format": "quire-notebook",
//!   "version": 2,
//!   "id": "0193…",
//!   "title": "Trips",
//!   "cells": [
//!     {
//!       "id": "0193…",
//!       "kind": "sql",
//!       "source": [
//!         "SELECT city, count(*)",
//!         "FROM trips",
//!         "GROUP BY city"
//!       ]
//!     },
//!     { "id": "0193…", "kind": "markdown", "source": "# Notes" }
//!   ]
//! }
//! ```
//! A notebook with connections (version 3) lists them after the cells, without secrets:
//! `"connections": [{ "name": "lake", "kind": "s3", "s3": { "endpoint": "http://…",
//! "profile": "work" } }]`. A notebook without connections is still written as version 2, so
//! the Quire before connections opens it. A PostgreSQL connection (`"kind": "postgres"`, with
//! `"postgres": { "host", "port", "user", "database", "sslmode" }`) makes it version 4, so the
//! Quire before databases says "made by a newer Quire" rather than "damaged". A Ballista
//! cluster connection (`"kind": "ballista"`, with `"cluster": { "url": "df://…",
//! "shared_folders": [...] }`) or a cell that runs on one (`"runs_on": "<connection>"`) makes
//! it version 5, for the same reason, and an Azure Blob Storage connection (`"kind": "azure"`,
//! with `"azure": { "account", "endpoint" }`) version 6.
//!
//! Pretty-printed with two-space indents, keys in this order and a final newline, so a notebook
//! diffs well in git. A source with a line break is stored as its lines (joined by `\n` when
//! read), so a one-line change in a cell is a one-line change in `git diff`; a single line stays
//! a string. A file whose `version` is newer than [`FORMAT_VERSION`] is refused, never
//! rewritten: an older Quire must not destroy what a newer one wrote. Version 1 (every source
//! one string, no chart cells) is read as it is and written as version 2 at the next change.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::remote::Connection;

/// The `format` marker of every notebook file.
pub const FORMAT_MARKER: &str = "quire-notebook";
/// The newest format this build reads, and the one it writes for a notebook with an Azure
/// connection.
pub const FORMAT_VERSION: u32 = 6;
/// The version of a notebook with a cluster (a cell may run on it).
const CLUSTERS_VERSION: u32 = 5;
/// The version of a notebook with a database and no cluster.
const DATABASES_VERSION: u32 = 4;
/// The version of a notebook whose connections are all buckets.
const BUCKETS_VERSION: u32 = 3;
/// The format of a notebook without connections (what builds before them read).
const PLAIN_VERSION: u32 = 2;
/// The file inside each notebook folder.
pub const FILE_NAME: &str = "notebook.json";

pub use crate::ids::{CellId, NotebookId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum CellKind {
    Sql,
    Markdown,
    /// A Vega-Lite chart over a query's result; the source is the spec (see `crate::charts`).
    Chart,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct Cell {
    pub id: CellId,
    pub kind: CellKind,
    pub source: String,
    /// The cluster connection a SQL cell runs on; none runs it on this machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs_on: Option<String>,
}

/// The document itself: what `notebook.json` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub id: NotebookId,
    pub title: String,
    pub cells: Vec<Cell>,
    pub connections: Vec<Connection>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    format: String,
    version: u32,
    id: NotebookId,
    title: String,
    cells: Vec<FileCell>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    connections: Vec<Connection>,
}

/// A cell as stored: what [`Cell`] is, with the source split into lines.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCell {
    id: CellId,
    kind: CellKind,
    source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    runs_on: Option<String>,
}

/// Version 1 wrote every source as one string; version 2 writes a source with a line break as
/// its lines. Both read either shape, so a hand-edited file may use either.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Source {
    Text(String),
    Lines(Vec<String>),
}

impl Source {
    fn of(text: &str) -> Source {
        if text.contains('\n') {
            Source::Lines(text.split('\n').map(str::to_owned).collect())
        } else {
            Source::Text(text.to_owned())
        }
    }

    fn into_text(self) -> String {
        match self {
            Source::Text(text) => text,
            Source::Lines(lines) => lines.join("\n"),
        }
    }
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
            connections: Vec::new(),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let file = File {
            format: FORMAT_MARKER.into(),
            // The oldest version that holds what the notebook has, so older builds open it.
            version: if self
                .connections
                .iter()
                .any(|c| c.kind == crate::remote::ConnectionKind::Azure || c.azure.is_some())
            {
                FORMAT_VERSION
            } else if self.cells.iter().any(|c| c.runs_on.is_some())
                || self
                    .connections
                    .iter()
                    .any(|c| c.kind == crate::remote::ConnectionKind::Ballista)
            {
                CLUSTERS_VERSION
            } else if self.connections.is_empty() {
                PLAIN_VERSION
            } else if self
                .connections
                .iter()
                .all(|c| c.kind == crate::remote::ConnectionKind::S3)
            {
                BUCKETS_VERSION
            } else {
                DATABASES_VERSION
            },
            id: self.id,
            title: self.title.clone(),
            cells: self
                .cells
                .iter()
                .map(|c| FileCell {
                    id: c.id,
                    kind: c.kind,
                    source: Source::of(&c.source),
                    runs_on: c.runs_on.clone(),
                })
                .collect(),
            connections: self.connections.clone(),
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
        let version = match value.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v > u64::from(FORMAT_VERSION) => {
                return Err(ParseProblem::NewerVersion(
                    u32::try_from(v).unwrap_or(u32::MAX),
                ))
            }
            Some(v) if v >= 1 => v,
            _ => {
                return Err(ParseProblem::Corrupt(
                    "the format version is missing or invalid".into(),
                ))
            }
        };
        let file: File = serde_json::from_value(value)
            .map_err(|e| ParseProblem::Corrupt(format!("unexpected content ({e})")))?;
        if version == 1 && file.cells.iter().any(|c| c.kind == CellKind::Chart) {
            return Err(ParseProblem::Corrupt(
                "a version 1 notebook cannot hold chart cells".into(),
            ));
        }
        Ok(Document {
            id: file.id,
            title: file.title,
            cells: file
                .cells
                .into_iter()
                .map(|c| Cell {
                    id: c.id,
                    kind: c.kind,
                    source: c.source.into_text(),
                    runs_on: c.runs_on,
                })
                .collect(),
            connections: file.connections,
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
            runs_on: None,
        });
        let bytes = doc.to_bytes();
        assert_eq!(Document::parse(&bytes).unwrap(), doc);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.starts_with("{\n  \"format\": \"quire-notebook\",\n  \"version\": 2,"),
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
        let newer = br#"{"format":"quire-notebook","version":7,"id":"x","title":"t","cells":[]}"#;
        assert_eq!(Document::parse(newer), Err(ParseProblem::NewerVersion(7)));
        let chart_in_v1 = br#"{"format":"quire-notebook","version":1,"id":"0193a1b2-0000-7000-8000-000000000000","title":"t","cells":[{"id":"0193a1b2-0000-7000-8000-000000000001","kind":"chart","source":"{}"}]}"#;
        assert!(matches!(
            Document::parse(chart_in_v1),
            Err(ParseProblem::Corrupt(_))
        ));
        let bad_cell = br#"{"format":"quire-notebook","version":1,"id":"0193a1b2-0000-7000-8000-000000000000","title":"t","cells":[{"id":"0193a1b2-0000-7000-8000-000000000001","kind":"python","source":""}]}"#;
        match Document::parse(bad_cell) {
            Err(ParseProblem::Corrupt(msg)) => assert!(msg.contains("python"), "{msg}"),
            other => panic!("{other:?}"),
        }
    }

    fn cell(kind: CellKind, source: &str) -> Cell {
        Cell {
            id: CellId(Uuid::now_v7()),
            kind,
            source: source.into(),
            runs_on: None,
        }
    }

    #[test]
    fn a_one_line_change_in_a_cell_is_a_one_line_change_in_the_file() {
        let mut doc = Document::new("Trips".into());
        let sql = "SELECT city,\n  count(*) AS trips\nFROM trips\nGROUP BY city\n";
        doc.cells.push(cell(CellKind::Sql, sql));
        doc.cells.push(cell(CellKind::Markdown, "# One line"));
        doc.cells.push(cell(CellKind::Sql, ""));
        let before = String::from_utf8(doc.to_bytes()).unwrap();
        assert_eq!(Document::parse(before.as_bytes()).unwrap(), doc);
        assert!(before.contains("\"source\": \"# One line\""), "{before}");
        doc.cells[0].source = sql.replace("count(*) AS trips", "count(*) AS rides");
        let after = String::from_utf8(doc.to_bytes()).unwrap();
        let changed: Vec<_> = before
            .lines()
            .zip(after.lines())
            .filter(|(a, b)| a != b)
            .collect();
        assert_eq!(before.lines().count(), after.lines().count());
        assert_eq!(
            changed,
            vec![(
                "        \"  count(*) AS trips\",",
                "        \"  count(*) AS rides\","
            )]
        );
    }

    #[test]
    fn sources_keep_every_character_through_lines() {
        for source in ["", "\n", "a\n\nb", "a\r\nb", "ends\n", "\u{1F600}\t\"q\"\\"] {
            let mut doc = Document::new("t".into());
            doc.cells.push(cell(CellKind::Chart, source));
            assert_eq!(Document::parse(&doc.to_bytes()).unwrap(), doc, "{source:?}");
        }
    }

    #[test]
    fn connections_are_kept_without_secrets_and_only_they_make_version_3() {
        use crate::remote::{ConnectionKind, S3Connection};
        let mut doc = Document::new("Lake".into());
        assert!(String::from_utf8(doc.to_bytes())
            .unwrap()
            .contains("\"version\": 2"));
        doc.connections.push(Connection {
            name: "lake".into(),
            kind: ConnectionKind::S3,
            s3: Some(S3Connection {
                endpoint: Some("http://127.0.0.1:9000".into()),
                region: None,
                profile: Some("work".into()),
            }),
            postgres: None,
            cluster: None,
            azure: None,
        });
        let text = String::from_utf8(doc.to_bytes()).unwrap();
        assert!(text.contains("\"version\": 3"), "{text}");
        assert!(text.contains("\"kind\": \"s3\""), "{text}");
        assert!(!text.contains("region"), "{text}");
        assert_eq!(Document::parse(text.as_bytes()).unwrap(), doc);
        // A key where none belongs is refused, not kept and written back.
        let secret = text.replace(
            "\"profile\": \"work\"",
            "\"profile\": \"work\", \"secret\": \"x\"",
        );
        assert!(matches!(
            Document::parse(secret.as_bytes()),
            Err(ParseProblem::Corrupt(_))
        ));
        // A database makes it version 4: the build before databases calls it newer, not damaged.
        doc.connections.push(Connection {
            name: "shop".into(),
            kind: ConnectionKind::Postgres,
            s3: None,
            postgres: Some(crate::remote::PostgresConnection {
                host: "127.0.0.1".into(),
                port: 5432,
                user: "ana".into(),
                database: "shop".into(),
                sslmode: None,
            }),
            cluster: None,
            azure: None,
        });
        let text = String::from_utf8(doc.to_bytes()).unwrap();
        assert!(text.contains("\"version\": 4"), "{text}");
        assert!(text.contains("\"kind\": \"postgres\""), "{text}");
        assert_eq!(Document::parse(text.as_bytes()).unwrap(), doc);
        // An Azure account makes it version 6: builds before it call the file newer.
        doc.connections.push(Connection {
            name: "blobs".into(),
            kind: ConnectionKind::Azure,
            s3: None,
            postgres: None,
            cluster: None,
            azure: Some(crate::remote::AzureConnection {
                account: "devstoreaccount1".into(),
                endpoint: Some("http://127.0.0.1:10000/devstoreaccount1".into()),
            }),
        });
        let text = String::from_utf8(doc.to_bytes()).unwrap();
        assert!(text.contains("\"version\": 6"), "{text}");
        assert!(text.contains("\"kind\": \"azure\""), "{text}");
        assert_eq!(Document::parse(text.as_bytes()).unwrap(), doc);
    }

    #[test]
    fn version_1_files_are_read_as_they_are() {
        let v1 = br#"{
  "format": "quire-notebook",
  "version": 1,
  "id": "0193a1b2-0000-7000-8000-000000000000",
  "title": "Old",
  "cells": [
    {
      "id": "0193a1b2-0000-7000-8000-000000000001",
      "kind": "sql",
      "source": "SELECT 1\nFROM t"
    }
  ]
}
"#;
        let doc = Document::parse(v1).unwrap();
        assert_eq!(doc.title, "Old");
        assert_eq!(doc.cells[0].source, "SELECT 1\nFROM t");
        let v2 = String::from_utf8(doc.to_bytes()).unwrap();
        assert!(v2.contains("\"version\": 2"), "{v2}");
        assert!(v2.contains("\"SELECT 1\",\n        \"FROM t\""), "{v2}");
    }
}

//! What a recorded task needs to run again, typed. The store keeps it as one JSON object per
//! kind (the shape every earlier Quire wrote), and nothing outside this file reads that JSON.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{TaskError, TaskKind};
use crate::tables::import::{CsvChoices, CsvOptions, ImportFormat, SheetOptions};
use crate::tables::transform::Transform;

#[derive(Debug, Clone, PartialEq)]
// One per recorded task, never held in bulk: the size of its largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum TaskPayload {
    /// Run a notebook cell's SQL.
    CellRun { sql: String },
    /// Import `path` (how to read a CSV: detected when None).
    Import {
        path: PathBuf,
        csv: Option<CsvOptions>,
        /// The sheet of a spreadsheet (`None`: its first, header sniffed).
        sheet: Option<SheetOptions>,
        /// The format chosen (`None`: from the extension).
        format: Option<ImportFormat>,
        /// Converted into Parquet parts in this folder of the notebook's `converted/` (the same
        /// folder when the task runs again, so it resumes) and linked, instead of copied.
        converted: Option<String>,
        /// Fetched through the notebook's connection of this name: `path` is then the object's
        /// address (`s3://bucket/key`), not a local file.
        connection: Option<String>,
        /// `path` is a folder whose CSV or JSON files (those matching `pattern`, if given) are
        /// converted into one table.
        folder: Option<FolderImport>,
    },
    /// Apply a transform to the task's target table.
    Transform { transform: Transform },
    /// Write a snapshot of the target table (its version at the time).
    Snapshot { version: u64 },
    /// Export the target table to `path`.
    Export { path: PathBuf },
}

/// A folder's files converted into one table, as its task records them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FolderImport {
    /// The files below the folder that are read (a glob), when not all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// How every CSV file is read, when the user chose (each file's dialect is still its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<CsvChoices>,
}

impl FolderImport {
    /// The files matching `pattern`, each read as its first rows show it.
    pub fn matching(pattern: &str) -> FolderImport {
        FolderImport {
            pattern: Some(pattern.to_string()),
            csv: None,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct CellRunJson {
    sql: String,
}

#[derive(Serialize, Deserialize)]
struct ImportJson {
    path: PathBuf,
    #[serde(default)]
    csv: Option<CsvOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sheet: Option<SheetOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    format: Option<ImportFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    converted: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    connection: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    folder: Option<FolderImport>,
}

#[derive(Serialize, Deserialize)]
struct TransformJson {
    transform: Transform,
}

#[derive(Serialize, Deserialize)]
struct SnapshotJson {
    #[serde(default)]
    version: u64,
}

#[derive(Serialize, Deserialize)]
struct ExportJson {
    path: PathBuf,
}

impl TaskPayload {
    pub fn kind(&self) -> TaskKind {
        match self {
            TaskPayload::CellRun { .. } => TaskKind::CellRun,
            TaskPayload::Import { .. } => TaskKind::Import,
            TaskPayload::Transform { .. } => TaskKind::Transform,
            TaskPayload::Snapshot { .. } => TaskKind::Snapshot,
            TaskPayload::Export { .. } => TaskKind::Export,
        }
    }

    /// The stored form.
    pub fn to_json(&self) -> serde_json::Value {
        let value = match self {
            TaskPayload::CellRun { sql } => serde_json::to_value(CellRunJson { sql: sql.clone() }),
            TaskPayload::Import {
                path,
                csv,
                sheet,
                format,
                converted,
                connection,
                folder,
            } => serde_json::to_value(ImportJson {
                path: path.clone(),
                csv: csv.clone(),
                sheet: sheet.clone(),
                format: *format,
                converted: converted.clone(),
                connection: connection.clone(),
                folder: folder.clone(),
            }),
            TaskPayload::Transform { transform } => serde_json::to_value(TransformJson {
                transform: transform.clone(),
            }),
            TaskPayload::Snapshot { version } => {
                serde_json::to_value(SnapshotJson { version: *version })
            }
            TaskPayload::Export { path } => serde_json::to_value(ExportJson { path: path.clone() }),
        };
        value.expect("a task payload always serialises")
    }

    /// Reads the stored form of a task of `kind`.
    pub fn parse(kind: TaskKind, json: &str) -> Result<TaskPayload, TaskError> {
        fn read<T: serde::de::DeserializeOwned>(
            kind: TaskKind,
            json: &str,
        ) -> Result<T, TaskError> {
            serde_json::from_str(json).map_err(|e| {
                TaskError::Store(format!("a recorded {kind:?} task cannot be read: {e}"))
            })
        }
        Ok(match kind {
            TaskKind::CellRun => {
                let p: CellRunJson = read(kind, json)?;
                TaskPayload::CellRun { sql: p.sql }
            }
            TaskKind::Import => {
                let p: ImportJson = read(kind, json)?;
                TaskPayload::Import {
                    path: p.path,
                    csv: p.csv,
                    sheet: p.sheet,
                    format: p.format,
                    converted: p.converted,
                    connection: p.connection,
                    folder: p.folder,
                }
            }
            TaskKind::Transform => {
                let p: TransformJson = read(kind, json)?;
                TaskPayload::Transform {
                    transform: p.transform,
                }
            }
            TaskKind::Snapshot => {
                let p: SnapshotJson = read(kind, json)?;
                TaskPayload::Snapshot { version: p.version }
            }
            TaskKind::Export => {
                let p: ExportJson = read(kind, json)?;
                TaskPayload::Export { path: p.path }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::import::OnBadRow;

    #[test]
    fn every_payload_reads_back_as_written_and_keeps_the_stored_shape() {
        let all = [
            TaskPayload::CellRun {
                sql: "SELECT 1".into(),
            },
            TaskPayload::Import {
                path: "/data/a.csv".into(),
                csv: Some(CsvOptions::default()),
                sheet: None,
                format: None,
                converted: None,
                connection: None,
                folder: None,
            },
            TaskPayload::Import {
                path: "/data/big.csv".into(),
                csv: None,
                sheet: None,
                format: Some(ImportFormat::Json),
                converted: Some("0192a0b0-aaaa-7bbb-8ccc-0123456789ab".into()),
                connection: None,
                folder: None,
            },
            TaskPayload::Import {
                path: "s3://lake/logs/2024.csv.gz".into(),
                csv: None,
                sheet: None,
                format: None,
                converted: Some("0192a0b0-aaaa-7bbb-8ccc-0123456789ac".into()),
                connection: Some("lake".into()),
                folder: None,
            },
            // A bucket prefix read with the user's choices (they ride in the many-files record).
            TaskPayload::Import {
                path: "s3://lake/jobs/out/".into(),
                csv: None,
                sheet: None,
                format: None,
                converted: Some("0192a0b0-aaaa-7bbb-8ccc-0123456789ae".into()),
                connection: Some("lake".into()),
                folder: Some(FolderImport {
                    pattern: None,
                    csv: Some(CsvChoices {
                        on_bad_row: OnBadRow::Skip,
                        missing: None,
                    }),
                }),
            },
            TaskPayload::Import {
                path: "/data/exports [2024]".into(),
                csv: None,
                sheet: None,
                format: None,
                converted: Some("0192a0b0-aaaa-7bbb-8ccc-0123456789ad".into()),
                connection: None,
                folder: Some(FolderImport {
                    pattern: Some("part-*.csv".into()),
                    csv: Some(CsvChoices {
                        on_bad_row: OnBadRow::Skip,
                        missing: Some(vec!["-".into()]),
                    }),
                }),
            },
            TaskPayload::Import {
                path: "/data/a.xlsx".into(),
                csv: None,
                sheet: Some(SheetOptions {
                    sheet: "Q3".into(),
                    has_header: true,
                    sheets: Vec::new(),
                }),
                format: None,
                converted: None,
                connection: None,
                folder: None,
            },
            TaskPayload::Import {
                path: "/data/b.csv".into(),
                csv: None,
                sheet: None,
                format: None,
                converted: None,
                connection: None,
                folder: None,
            },
            TaskPayload::Snapshot { version: 7 },
            TaskPayload::Export {
                path: "/out/t.parquet".into(),
            },
        ];
        for p in all {
            let json = p.to_json().to_string();
            assert_eq!(TaskPayload::parse(p.kind(), &json).unwrap(), p, "{json}");
        }
        // What Quire wrote before payloads were typed still reads.
        let old =
            TaskPayload::parse(TaskKind::Import, r#"{"path":"/d/x.csv","csv":null}"#).unwrap();
        assert_eq!(
            old,
            TaskPayload::Import {
                path: "/d/x.csv".into(),
                csv: None,
                sheet: None,
                format: None,
                converted: None,
                connection: None,
                folder: None,
            }
        );
        let bad = TaskPayload::parse(TaskKind::Export, "{}").unwrap_err();
        assert!(
            bad.to_string().contains("Export task cannot be read"),
            "{bad}"
        );
    }
}

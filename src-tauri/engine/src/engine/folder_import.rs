//! A folder of CSV or JSON files on this machine (the part files a job wrote, monthly exports)
//! linked as one table: text cannot be paged by row position where it lies, so the files are
//! converted once into Parquet inside the notebook (`convert_many.rs`) and the copy is linked,
//! as a big CSV file is. A folder of Parquet files is linked where it lies instead.
//!
//! It is an import task like a file's: recorded with the folder and its pattern, queued at
//! background priority, with progress and cancel; run again after
//! a crash, it resumes each file's conversion where it stopped.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::convert_many::{converts_text, one_kind, ManyFiles, Piece};
use super::files::Importer;
use super::{Engine, ImportOutcome};
use crate::error::Error;
use crate::notebooks::NotebookId;
use crate::queue::Priority;
use crate::tables::import::{self, ImportFormat, ImportProgress};
use crate::tables::linked::{files_below, FilePattern};
use crate::tables::{name, TableError};
use crate::tasks::{FolderImport, TaskPayload, Tracked};
use crate::{ErrorCode, HasCode};

/// The CSV and JSON files of `folder` a link reads (hidden files and `_` markers left out),
/// in path order.
fn text_files(folder: &Path, pattern: Option<&FilePattern>) -> Result<Vec<Piece>, Error> {
    let is_text = |name: &str| {
        matches!(
            ImportFormat::from_path(Path::new(name)),
            Some(ImportFormat::Csv | ImportFormat::Json)
        )
    };
    let pieces: Result<Vec<Piece>, Error> = files_below(folder, pattern, &is_text)?
        .into_iter()
        .map(|path| {
            let size = std::fs::metadata(&path)
                .map_err(|e| TableError::file(&path, e))?
                .len();
            let format = import::resolve_format(&path, None)?;
            Ok(Piece {
                label: path.display().to_string(),
                path,
                size,
                format,
            })
        })
        .collect();
    // An empty file (a job's part that got no rows) adds nothing, and has no header to check.
    Ok(pieces?.into_iter().filter(|p| p.size > 0).collect())
}

/// Whether `folder` (the files matching `pattern` in it) holds CSV or JSON files: then linking
/// it converts; Parquet files are linked where they lie. Both kinds are refused, named, rather
/// than one left out unsaid.
pub(crate) fn converts(folder: &Path, pattern: Option<&FilePattern>) -> Result<bool, Error> {
    if !folder.is_dir() {
        return Ok(false);
    }
    let is_parquet =
        |name: &str| ImportFormat::from_path(Path::new(name)) == Some(ImportFormat::Parquet);
    let parquet = files_below(folder, pattern, &is_parquet)?;
    let text = text_files(folder, pattern)?;
    let first_parquet = parquet.first().map(|p| p.display().to_string());
    converts_text(
        &folder.display().to_string(),
        first_parquet.as_deref(),
        text.iter().map(|p| (p.label.as_str(), p.format)),
    )
}

/// A folder's conversion, as its task runs it.
struct FolderConversion<'a> {
    folder: &'a Path,
    choices: &'a FolderImport,
    table: &'a str,
    /// The id of its folder in the notebook's `converted/`.
    id: &'a str,
}

impl FolderConversion<'_> {
    fn run(
        &self,
        importer: &Importer<'_>,
        notebook: NotebookId,
        progress: &(dyn Fn(ImportProgress) + Sync),
        cancel: &CancellationToken,
    ) -> Result<ImportOutcome, Error> {
        let dir = importer
            .notebooks
            .folder_path(notebook)?
            .ok_or_else(|| TableError::Persist("the notebook has no folder".into()))?;
        let folder = super::convert::folder(&dir, self.id)?;
        let outcome = (|| {
            let pattern = (self.choices.pattern.as_deref())
                .map(FilePattern::parse)
                .transpose()?;
            let pieces = text_files(self.folder, pattern.as_ref())?;
            // As a link shows it: the folder and the pattern below it (the table's origin).
            let shown = match &pattern {
                Some(p) => self.folder.join(p.as_str()),
                None => self.folder.to_path_buf(),
            }
            .display()
            .to_string();
            one_kind(&shown, pieces.iter().map(|p| (p.label.as_str(), p.format)))?;
            let total = pieces.iter().map(|p| p.size).sum::<u64>().max(1);
            let many = ManyFiles {
                source: &shown,
                table: self.table,
                csv: None,
                choices: self.choices.csv.as_ref(),
                pieces: &pieces,
                folder: &folder,
            };
            many.convert_and_link(
                importer,
                notebook,
                &dir,
                &|rows, done| {
                    progress(ImportProgress {
                        rows,
                        bytes: done.min(total),
                        total_bytes: total,
                    })
                },
                cancel,
            )
        })();
        if let Err(e) = &outcome {
            // Stopped by Quire closing: the parts stay for the rerun to resume.
            let resumable =
                e.code() == ErrorCode::Cancelled && importer.closing.load(Ordering::SeqCst);
            if !resumable {
                if let Err(e) = std::fs::remove_dir_all(&folder) {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        log::warn!("could not remove {}: {e}", folder.display());
                    }
                }
            }
        }
        outcome
    }
}

impl Engine {
    /// Whether linking the folder `path` (its files matching `pattern`) converts CSV or JSON
    /// files rather than linking Parquet ones where they lie.
    pub fn folder_converts(&self, path: &Path, pattern: Option<&str>) -> Result<bool, Error> {
        let parsed = pattern.map(FilePattern::parse).transpose()?;
        converts(path, parsed.as_ref())
    }

    /// Links the folder `path` (its files matching `choices.pattern`, if given) as one table:
    /// Parquet files where they lie (footers only, at once), CSV or JSON files converted into
    /// Parquet in the notebook as a recorded import with progress and cancel. The name
    /// defaults to the folder's.
    pub async fn link_folder(
        &self,
        notebook: NotebookId,
        path: &Path,
        choices: &FolderImport,
        table: Option<&str>,
        progress: Arc<dyn Fn(ImportProgress) + Send + Sync>,
        cancel: &CancellationToken,
    ) -> Result<ImportOutcome, Error> {
        let pattern = choices.pattern.as_deref();
        let parsed = pattern.map(FilePattern::parse).transpose()?;
        if !converts(path, parsed.as_ref())? {
            let table = self.link_matching(notebook, path, pattern, table)?;
            return Ok(ImportOutcome {
                table,
                skipped: Vec::new(),
                skipped_total: 0,
            });
        }
        self.notebooks.summary(notebook)?;
        let stem = name::from_file_stem(&import::file_stem(path));
        let table = self.new_table_name(notebook, table.unwrap_or(&stem))?;
        // On disk before the task is recorded: run again after a crash, it finds its notebook.
        self.notebooks.flush(notebook)?;
        let id = uuid::Uuid::now_v7().to_string();
        let task = self.tracker.record(
            Some(notebook),
            Some(table.clone()),
            &TaskPayload::Import {
                path: path.to_path_buf(),
                csv: None,
                sheet: None,
                format: None,
                converted: Some(id.clone()),
                connection: None,
                folder: Some(choices.clone()),
            },
            Priority::Background,
        );
        let (folder, choices) = (path.to_path_buf(), choices.clone());
        self.queue_import(task, progress, cancel, move |importer, report, token| {
            let conversion = FolderConversion {
                folder: &folder,
                choices: &choices,
                table: &table,
                id: &id,
            };
            conversion.run(importer, notebook, report, token)
        })
        .await
    }

    /// A recorded folder conversion run again (after a crash or a stop by closing).
    pub(super) fn link_folder_tracked(
        &self,
        task: &Tracked,
        notebook: NotebookId,
        folder: &Path,
        choices: &FolderImport,
        table: &str,
        id: &str,
    ) -> Result<ImportOutcome, Error> {
        let conversion = FolderConversion {
            folder,
            choices,
            table,
            id,
        };
        self.run_import(
            task,
            &|_| {},
            &CancellationToken::new(),
            |importer, report, never| conversion.run(importer, notebook, report, never),
        )
    }
}

//! A CSV or JSON object in a bucket, linked: fetched into its conversion's folder
//! (`converted/<id>/_source/`, a name the link's folder walk skips) and converted there into
//! Parquet parts like a local file too big to hold (`convert.rs`), then linked. Text cannot be
//! paged by row position where it lies, as Parquet can; the fetched copy goes once the parts
//! are written.
//!
//! It is an import task like any other: recorded with the connection's name and the address,
//! queued at background priority, with progress (the first half fetching, the second
//! converting) and cancel. Run again after a crash it fetches the object again; the copy gets
//! the object's modification time, so an unchanged object makes the same plan and the
//! conversion keeps the parts it wrote.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::convert_many::{in_file, one_kind, sniffed, ManyFiles, Piece};
use super::files::{import_now, Importer};
use super::remote_listing::{self, names_many};
use super::{Engine, ImportOutcome, ImportRequest};
use crate::error::Error;
use crate::notebooks::{NotebookError, NotebookId};
use crate::queue::Priority;
use crate::remote::download::{download, Stopped};
use crate::remote::StoreSettings;
use crate::tables::import::{CsvChoices, CsvOptions, ImportFormat, ImportProgress};
use crate::tables::TableError;
use crate::tasks::{FolderImport, TaskPayload, Tracked};
use crate::{ErrorCode, HasCode};

/// The folder of a conversion the fetched object is kept in until it is converted.
const FETCHED_DIR: &str = "_source";

/// Whether linking `url` fetches and converts it: one CSV or JSON object (compressed or not),
/// named by its ending. Anything else (Parquet, a prefix, a glob) is linked where it lies.
pub fn converts_when_linked(url: &str) -> bool {
    let globbed = url.contains(['*', '?', '[']);
    !globbed
        && !url.ends_with('/')
        && matches!(
            ImportFormat::from_path(Path::new(url)),
            Some(ImportFormat::Csv | ImportFormat::Json)
        )
}

/// A conversion from a bucket, as its task runs it.
struct RemoteConversion<'a> {
    pub settings: &'a StoreSettings,
    pub url: &'a str,
    pub table: &'a str,
    pub csv: Option<&'a CsvOptions>,
    /// What the user chose for every CSV object read with its own options (not `csv`'s).
    pub choices: Option<&'a CsvChoices>,
    /// The id of its folder in the notebook's `converted/`.
    pub folder: &'a str,
}

impl RemoteConversion<'_> {
    /// Fetches the object (or every CSV or JSON object under the prefix), converts it and
    /// links the parts as the table.
    pub fn run(
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
        let folder = super::convert::folder(&dir, self.folder)?;
        if names_many(self.url) {
            let outcome = self.run_many(importer, notebook, &dir, &folder, progress, cancel);
            match &outcome {
                Ok(_) => remove(&folder.join(FETCHED_DIR)),
                Err(e) if !resumable(e, importer) => remove(&folder),
                Err(_) => {}
            }
            return outcome;
        }
        let fetched = download(
            self.settings,
            self.url,
            &folder.join(FETCHED_DIR),
            &|got, size| {
                progress(ImportProgress {
                    rows: 0,
                    bytes: got / 2,
                    total_bytes: size,
                })
            },
            cancel,
        );
        let source = match fetched {
            Ok(path) => path,
            Err(e) => {
                let e = stopped(e);
                if !resumable(&e, importer) {
                    remove(&folder);
                }
                return Err(e);
            }
        };
        let size = std::fs::metadata(&source)
            .map_err(|e| TableError::file(&source, e))?
            .len();
        let converting = |p: ImportProgress| {
            let done = if p.total_bytes == 0 || p.bytes >= p.total_bytes {
                size
            } else {
                size / 2 + (size as f64 / 2.0 * p.bytes as f64 / p.total_bytes as f64) as u64
            };
            progress(ImportProgress {
                rows: p.rows,
                bytes: done,
                total_bytes: size,
            })
        };
        let csv = match sniffed(self.csv, self.choices, &source).map_err(|e| in_file(e, self.url)) {
            Ok(csv) => csv,
            Err(e) => {
                remove(&folder);
                return Err(e);
            }
        };
        let request = ImportRequest {
            path: &source,
            table: Some(self.table),
            format: None,
            csv: csv.as_ref(),
            sheet: None,
            convert: true,
        };
        let outcome = import_now(
            importer,
            notebook,
            request,
            Some(self.folder),
            Some(self.url),
            &converting,
            cancel,
        );
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(e) => {
                // The conversion removes its folder when it fails, but the import can stop
                // before it starts (the name taken meanwhile): the fetched copy goes too.
                if !resumable(&e, importer) {
                    remove(&folder);
                }
                return Err(e);
            }
        };
        // The parts are linked; the copy of the object is not needed any more.
        remove(&folder.join(FETCHED_DIR));
        log::info!("{} was fetched and converted as {}", self.url, self.table);
        Ok(outcome)
    }
}

impl RemoteConversion<'_> {
    /// Every CSV or JSON object under the prefix fetched (the first half of the progress),
    /// then converted into one table (`convert_many.rs`, the second half).
    fn run_many(
        &self,
        importer: &Importer<'_>,
        notebook: NotebookId,
        dir: &Path,
        folder: &Path,
        progress: &(dyn Fn(ImportProgress) + Sync),
        cancel: &CancellationToken,
    ) -> Result<ImportOutcome, Error> {
        let objects = remote_listing::list(self.settings, self.url)?.text;
        one_kind(self.url, objects.iter().map(|o| (o.url.as_str(), o.format)))?;
        let total = objects.iter().map(|o| o.size).sum::<u64>().max(1);
        let mut pieces = Vec::with_capacity(objects.len());
        let mut before = 0u64;
        for (k, object) in objects.iter().enumerate() {
            let got = download(
                self.settings,
                &object.url,
                &folder.join(FETCHED_DIR).join(format!("{k:05}")),
                &|got, _| {
                    progress(ImportProgress {
                        rows: 0,
                        bytes: (before + got) / 2,
                        total_bytes: total,
                    })
                },
                cancel,
            );
            pieces.push(Piece {
                label: object.url.clone(),
                path: got.map_err(stopped)?,
                size: object.size,
                format: object.format,
            });
            before += object.size;
        }
        let many = ManyFiles {
            source: self.url,
            table: self.table,
            csv: self.csv,
            choices: self.choices,
            pieces: &pieces,
            folder,
        };
        many.convert_and_link(
            importer,
            notebook,
            dir,
            &|rows, done| {
                progress(ImportProgress {
                    rows,
                    bytes: if done >= total {
                        total
                    } else {
                        total / 2 + done / 2
                    },
                    total_bytes: total,
                })
            },
            cancel,
        )
    }
}

/// A stopped download as the error it is.
fn stopped(stopped: Stopped) -> Error {
    match stopped {
        Stopped::Remote(e) => Error::from(TableError::from(e)),
        Stopped::File(path, e) => TableError::file(&path, e).into(),
        Stopped::Cancelled => TableError::Cancelled.into(),
    }
}

/// Stopped by Quire closing: the folder stays, and the task runs again at the next start (and
/// fetches again).
fn resumable(e: &Error, importer: &Importer<'_>) -> bool {
    e.code() == ErrorCode::Cancelled && importer.closing.load(Ordering::SeqCst)
}

/// Removes the fetched copy of a conversion whose table was linked (a rerun after a crash
/// between the link and the copy's removal).
pub(super) fn remove_fetched(dir: &Path, folder: &str) {
    if let Ok(folder) = super::convert::folder(dir, folder) {
        remove(&folder.join(FETCHED_DIR));
    }
}

fn remove(folder: &Path) {
    if let Err(e) = std::fs::remove_dir_all(folder) {
        if e.kind() != std::io::ErrorKind::NotFound {
            log::warn!("could not remove {}: {e}", folder.display());
        }
    }
}

impl Engine {
    /// Whether linking `url` through the notebook's connection `connection` fetches and
    /// converts (one CSV or JSON object, or a prefix or glob with such objects and no Parquet
    /// one) rather than linking Parquet where it lies. A prefix is listed to know.
    pub fn remote_converts(
        &self,
        notebook: NotebookId,
        connection: &str,
        url: &str,
    ) -> Result<bool, Error> {
        if converts_when_linked(url) {
            return Ok(true);
        }
        if !names_many(url) {
            return Ok(false);
        }
        let settings = self
            .notebooks
            .connection(notebook, connection)?
            .store_settings()
            .map_err(NotebookError::from)?;
        let listed = remote_listing::list(&settings, url)?;
        super::convert_many::converts_text(
            url,
            listed.parquet.first().map(String::as_str),
            listed.text.iter().map(|o| (o.url.as_str(), o.format)),
        )
    }

    /// Links the CSV or JSON object `url` through the notebook's connection `connection`:
    /// fetched and converted into Parquet inside the notebook (see [`converts_when_linked`]),
    /// recorded and queued as an import, with progress and cancel. The name defaults to the
    /// object's.
    #[allow(clippy::too_many_arguments)]
    pub async fn link_remote_text(
        &self,
        notebook: NotebookId,
        connection: &str,
        url: &str,
        table: Option<&str>,
        csv: Option<&CsvOptions>,
        choices: Option<&CsvChoices>,
        progress: Arc<dyn Fn(ImportProgress) + Send + Sync>,
        cancel: &CancellationToken,
    ) -> Result<ImportOutcome, Error> {
        let settings = self
            .notebooks
            .connection(notebook, connection)?
            .store_settings()
            .map_err(NotebookError::from)?;
        // Refused before anything is recorded: a Parquet object is linked instead.
        if !converts_when_linked(url) && !names_many(url) {
            return Err(TableError::Import {
                line: None,
                message: format!("{url} is not a CSV or JSON object, nor a prefix of them"),
            }
            .into());
        }
        settings.store_for(url).map_err(TableError::from)?;
        let table = self.new_table_name(
            notebook,
            table.unwrap_or(&super::tables::name_of_address(url)),
        )?;
        // On disk before the task is recorded: run again after a crash, it finds its notebook.
        self.notebooks.flush(notebook)?;
        let folder = uuid::Uuid::now_v7().to_string();
        let task = self.tracker.record(
            Some(notebook),
            Some(table.clone()),
            &TaskPayload::Import {
                path: url.into(),
                csv: csv.cloned(),
                sheet: None,
                format: None,
                converted: Some(folder.clone()),
                connection: Some(connection.to_string()),
                // The choices ride in the many-files record (its pattern is the address's).
                folder: choices.map(|c| FolderImport {
                    pattern: None,
                    csv: Some(c.clone()),
                }),
            },
            Priority::Background,
        );
        let (url, csv, choices) = (url.to_string(), csv.cloned(), choices.cloned());
        self.queue_import(task, progress, cancel, move |importer, report, token| {
            let conversion = RemoteConversion {
                settings: &settings,
                url: &url,
                table: &table,
                csv: csv.as_ref(),
                choices: choices.as_ref(),
                folder: &folder,
            };
            conversion.run(importer, notebook, report, token)
        })
        .await
    }

    /// A recorded conversion from a bucket run again (after a crash or a stop by closing),
    /// through the notebook's connection as it is now.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn link_remote_text_tracked(
        &self,
        task: &Tracked,
        notebook: NotebookId,
        connection: &str,
        url: &str,
        table: &str,
        (csv, choices): (Option<&CsvOptions>, Option<&CsvChoices>),
        folder: &str,
    ) -> Result<ImportOutcome, Error> {
        let settings = self
            .notebooks
            .connection(notebook, connection)
            .and_then(|c| c.store_settings().map_err(NotebookError::from));
        if settings.is_err() {
            // The connection is gone or unusable: what an earlier run left goes.
            if let Ok(Some(dir)) = self.notebooks.folder_path(notebook) {
                if let Ok(folder) = super::convert::folder(&dir, folder) {
                    remove(&folder);
                }
            }
        }
        self.run_import(
            task,
            &|_| {},
            &CancellationToken::new(),
            |importer, report, never| {
                let settings = settings?;
                let conversion = RemoteConversion {
                    settings: &settings,
                    url,
                    table,
                    csv,
                    choices,
                    folder,
                };
                conversion.run(importer, notebook, report, never)
            },
        )
    }
}

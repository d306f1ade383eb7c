//! Imports and exports: each is recorded as a task before it is queued (so a crash runs it
//! again and the task list shows it), runs at background priority, reports progress and stops
//! when cancelled. quire-cli's are recorded the same way, in the task store of the data dir it
//! opens.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::{Engine, ImportOutcome, ImportRequest};
use crate::error::Error;
use crate::ledger::Ledger;
use crate::metrics::Metrics;
use crate::notebooks::{NotebookId, Notebooks};
use crate::queue::{Job, JobKind, Priority};
use crate::tables::import::{self, CsvOptions, ImportFormat, ImportProgress, SheetOptions};
use crate::tables::{self, name, TableError, TableVersion};
use crate::tasks::{TaskPayload, Tracked};

/// An [`ImportRequest`] that can travel to the queue's thread.
struct OwnedImport {
    path: PathBuf,
    table: Option<String>,
    format: Option<ImportFormat>,
    csv: Option<CsvOptions>,
    sheet: Option<SheetOptions>,
    convert: bool,
}

impl OwnedImport {
    fn of(request: &ImportRequest<'_>) -> OwnedImport {
        OwnedImport {
            path: request.path.to_path_buf(),
            table: request.table.map(str::to_string),
            format: request.format,
            csv: request.csv.cloned(),
            sheet: request.sheet.cloned(),
            convert: request.convert,
        }
    }

    fn request(&self) -> ImportRequest<'_> {
        ImportRequest {
            path: &self.path,
            table: self.table.as_deref(),
            format: self.format,
            csv: self.csv.as_ref(),
            sheet: self.sheet.as_ref(),
            convert: self.convert,
        }
    }
}

/// Reads the file to the end, then saves the table (hydrating the notebook) before adding it,
/// so a table Quire shows is always on disk. The table name defaults to the file's. With
/// `converted` (the folder id of a conversion), the file is converted and linked instead.
/// What an import works with, apart from the request.
pub(super) struct Importer<'a> {
    pub notebooks: &'a Notebooks,
    pub ledger: &'a Ledger,
    pub metrics: &'a Arc<Metrics>,
    /// The engine is shutting down: a conversion it stops is left to resume.
    pub closing: &'a AtomicBool,
}

/// `origin`: where a conversion's rows came from when that is not `request.path` (an object
/// fetched into the notebook folder first).
pub(super) fn import_now(
    importer: &Importer<'_>,
    notebook: NotebookId,
    request: ImportRequest<'_>,
    converted: Option<&str>,
    origin: Option<&str>,
    progress: &(dyn Fn(ImportProgress) + Sync),
    cancel: &CancellationToken,
) -> Result<ImportOutcome, Error> {
    let ImportRequest {
        path,
        table,
        format,
        csv,
        sheet,
        convert: _,
    } = request;
    let &Importer {
        notebooks,
        ledger,
        metrics,
        closing,
    } = importer;
    notebooks.summary(notebook)?;
    let table = match table {
        Some(t) => name::validate(t)?,
        None => name::from_file_stem(&import::file_stem(path)),
    };
    ledger.ensure_loaded(
        notebook,
        notebooks.folder_path(notebook)?.as_deref(),
        metrics,
    )?;
    if ledger.exists(notebook, &table) {
        return Err(TableError::Exists(table).into());
    }
    let started = Instant::now();
    let budget = ledger.catalog().limits().budget(format!(
        "the file {}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    if let Some(folder) = converted {
        notebooks.flush(notebook)?;
        let dir = notebooks
            .folder_path(notebook)?
            .ok_or_else(|| TableError::Persist("the notebook has no folder".into()))?;
        let folder = super::convert::folder(&dir, folder)?;
        let conversion = super::convert::Conversion {
            source: path,
            format,
            csv,
            json: None,
            folder: &folder,
            part_bytes: ledger.catalog().limits().conversion_part_bytes(),
        };
        let imported = conversion.run(metrics, progress, cancel, &budget, closing)?;
        let mut linked = tables::LinkedTable::open(conversion.folder)?;
        linked.converted = true;
        linked.origin = Some(origin.map_or_else(|| path.display().to_string(), str::to_string));
        let info = match ledger.link(notebook, &dir, &table, linked, metrics) {
            Ok(info) => info,
            Err(e) => {
                // Nothing names the parts (the name was taken meanwhile): they go.
                conversion.remove();
                return Err(e);
            }
        };
        log::info!(
            "converted {} into {} as the linked table {table} of notebook {notebook}: {} rows in {:.0} ms, {} skipped",
            path.display(),
            conversion.folder.display(),
            info.rows,
            started.elapsed().as_secs_f64() * 1000.0,
            imported.skipped_total
        );
        return Ok(ImportOutcome {
            table: info,
            skipped: imported.skipped,
            skipped_total: imported.skipped_total,
        });
    }
    let imported = match sheet {
        Some(sheet) => import::read_sheet(path, sheet, progress, cancel, &budget)?,
        None => import::read(path, format, csv, progress, cancel, &budget)?,
    };
    let version = TableVersion::first(imported.schema, imported.batches);
    notebooks.flush(notebook)?;
    let dir = notebooks
        .folder_path(notebook)?
        .ok_or_else(|| TableError::Persist("the notebook has no folder".into()))?;
    budget.handed_over();
    let info = ledger.add(notebook, &dir, &table, version)?;
    log::info!(
        "imported {} as {table} into notebook {notebook}: {} rows in {:.0} ms, {} skipped",
        path.display(),
        info.rows,
        started.elapsed().as_secs_f64() * 1000.0,
        imported.skipped_total
    );
    Ok(ImportOutcome {
        table: info,
        skipped: imported.skipped,
        skipped_total: imported.skipped_total,
    })
}

/// Awaits a queued job, cancelling it when `cancel` fires first.
pub(super) async fn until_done_or_cancelled<T: Send + 'static>(
    job: Job<Result<T, Error>>,
    cancel: &CancellationToken,
) -> Result<T, Error> {
    let canceller = job.canceller();
    let result = job.result();
    tokio::pin!(result);
    let done = tokio::select! {
        r = &mut result => r,
        _ = cancel.cancelled() => {
            canceller.cancel();
            result.await
        }
    };
    done.map_err(Error::from).and_then(|r| r)
}

impl Engine {
    /// Records an import under the table name it will make (the file's when none is given),
    /// so a rerun after a crash finds the table if it was committed.
    /// A conversion is given its folder here, kept in the record, so running it again after a
    /// crash resumes in the same folder.
    fn record_import(
        &self,
        notebook: NotebookId,
        request: &ImportRequest<'_>,
    ) -> (Tracked, Option<String>) {
        let table = match request.table {
            Some(t) => t.to_string(),
            None => name::from_file_stem(&import::file_stem(request.path)),
        };
        let converted = request.convert.then(|| uuid::Uuid::now_v7().to_string());
        let task = self.tracker.record(
            Some(notebook),
            Some(table),
            &TaskPayload::Import {
                path: request.path.to_path_buf(),
                csv: request.csv.cloned(),
                sheet: request.sheet.cloned(),
                format: request.format,
                converted: converted.clone(),
                connection: None,
                folder: None,
            },
            Priority::Background,
        );
        (task, converted)
    }

    /// Imports a file as a new table of the notebook, queued at background priority: it never
    /// takes the worker kept for grid pages and queries. Progress goes to `progress`; `cancel`
    /// (or Cancel in the task list) stops it and leaves nothing behind.
    pub async fn import(
        &self,
        notebook: NotebookId,
        request: ImportRequest<'_>,
        progress: Arc<dyn Fn(ImportProgress) + Send + Sync>,
        cancel: &CancellationToken,
    ) -> Result<ImportOutcome, Error> {
        // The notebook goes to disk first (it may still be only in memory): an import that a
        // crash cuts short must find its notebook when it runs again.
        self.notebooks.flush(notebook)?;
        let (task, converted) = self.record_import(notebook, &request);
        let owned = OwnedImport::of(&request);
        self.queue_import(task, progress, cancel, move |importer, report, token| {
            import_now(
                importer,
                notebook,
                owned.request(),
                converted.as_deref(),
                None,
                report,
                token,
            )
        })
        .await
    }

    /// Runs the recorded import `task` as a background job (never on the worker kept for grid
    /// pages and queries), awaited until it is done or `cancel` (or Cancel in the task list)
    /// stops it: `work` gets what an import works with, the progress (heard by the task and
    /// by `progress`) and the job's token. The record ends with the outcome.
    pub(super) async fn queue_import<W>(
        &self,
        task: Tracked,
        progress: Arc<dyn Fn(ImportProgress) + Send + Sync>,
        cancel: &CancellationToken,
        work: W,
    ) -> Result<ImportOutcome, Error>
    where
        W: FnOnce(
                &Importer<'_>,
                &(dyn Fn(ImportProgress) + Sync),
                &CancellationToken,
            ) -> Result<ImportOutcome, Error>
            + Send
            + 'static,
    {
        let task = Arc::new(task);
        task.watch(cancel.clone());
        let (notebooks, ledger, metrics, closing, running) = (
            self.notebooks.clone(),
            self.ledger.clone(),
            self.metrics.clone(),
            self.closing.clone(),
            task.clone(),
        );
        let job = self.scheduler.submit_blocking(
            Priority::Background,
            JobKind::Import,
            None,
            move |token| {
                running.start();
                let report = |p: ImportProgress| {
                    running.progress(p.bytes as f64 / p.total_bytes.max(1) as f64);
                    progress(p);
                };
                let importer = Importer {
                    notebooks: &notebooks,
                    ledger: &ledger,
                    metrics: &metrics,
                    closing: &closing,
                };
                Ok(work(&importer, &report, token))
            },
        );
        let result = until_done_or_cancelled(job, cancel).await;
        self.end_import(&task, &result);
        result
    }

    /// [`Engine::import`] on the calling thread (quire-cli), recorded the same way.
    pub fn import_file(
        &self,
        notebook: NotebookId,
        request: ImportRequest<'_>,
        progress: &(dyn Fn(ImportProgress) + Sync),
        cancel: &CancellationToken,
    ) -> Result<ImportOutcome, Error> {
        let (task, converted) = self.record_import(notebook, &request);
        self.import_tracked(
            &task,
            notebook,
            request,
            converted.as_deref(),
            progress,
            cancel,
        )
    }

    pub(super) fn import_tracked(
        &self,
        task: &Tracked,
        notebook: NotebookId,
        request: ImportRequest<'_>,
        converted: Option<&str>,
        progress: &(dyn Fn(ImportProgress) + Sync),
        cancel: &CancellationToken,
    ) -> Result<ImportOutcome, Error> {
        self.run_import(task, progress, cancel, |importer, report, cancel| {
            import_now(importer, notebook, request, converted, None, report, cancel)
        })
    }

    /// Runs the recorded import `task` on this thread (the CLI, a rerun after a crash): `work`
    /// as [`Engine::queue_import`] gives it, `cancel` also fired by Cancel in the task list.
    /// The record ends with the outcome.
    pub(super) fn run_import(
        &self,
        task: &Tracked,
        progress: &(dyn Fn(ImportProgress) + Sync),
        cancel: &CancellationToken,
        work: impl FnOnce(
            &Importer<'_>,
            &(dyn Fn(ImportProgress) + Sync),
            &CancellationToken,
        ) -> Result<ImportOutcome, Error>,
    ) -> Result<ImportOutcome, Error> {
        task.watch(cancel.clone());
        task.start();
        let report = |p: ImportProgress| {
            task.progress(p.bytes as f64 / p.total_bytes.max(1) as f64);
            progress(p);
        };
        let importer = Importer {
            notebooks: &self.notebooks,
            ledger: &self.ledger,
            metrics: &self.metrics,
            closing: &self.closing,
        };
        let result = work(&importer, &report, cancel);
        self.end_import(task, &result);
        result
    }

    /// Records how an import ended; one stopped by the engine shutting down stays running in
    /// the store, so the next start runs it again (a conversion resumes past its parts).
    pub(super) fn end_import<T>(&self, task: &Tracked, result: &Result<T, Error>) {
        let stopped_by_closing = self.closing.load(Ordering::SeqCst)
            && matches!(result, Err(e) if crate::HasCode::code(e) == crate::ErrorCode::Cancelled);
        if stopped_by_closing {
            task.leave_running();
        } else {
            task.finish(result);
        }
    }

    fn record_export(&self, notebook: NotebookId, table: &str, out: &Path) -> Tracked {
        self.tracker.record(
            Some(notebook),
            Some(table.to_string()),
            &TaskPayload::Export {
                path: out.to_path_buf(),
            },
            Priority::Background,
        )
    }

    /// Writes a picked file whole (a chart image): atomically, so the path holds the old file or
    /// the new one, never half of it. Returns the bytes written.
    pub fn save_file(&self, path: &Path, bytes: &[u8]) -> Result<u64, Error> {
        crate::durable::write_atomic(path, bytes, &self.metrics)?;
        Ok(bytes.len() as u64)
    }

    /// Writes a table to a file the user picked (CSV or Parquet by extension), atomically,
    /// queued at background priority; `progress` gets the rows written so far.
    pub async fn export(
        &self,
        notebook: NotebookId,
        table: &str,
        out: &Path,
        progress: Arc<dyn Fn(u64) + Send + Sync>,
        cancel: &CancellationToken,
    ) -> Result<u64, Error> {
        self.ensure_tables(notebook)?;
        // A linked table is streamed from its files, a row group at a time, edits merged (any
        // size); a held one is written from memory.
        let source = match self.ledger.catalog().linked(notebook, table) {
            Some(linked) => Source::Linked(linked),
            None => Source::Held(self.ledger.version(notebook, table)?),
        };
        let task = Arc::new(self.record_export(notebook, table, out));
        task.watch(cancel.clone());
        let (metrics, running, out, table) = (
            self.metrics.clone(),
            task.clone(),
            out.to_path_buf(),
            table.to_string(),
        );
        let job = self.scheduler.submit_blocking(
            Priority::Background,
            JobKind::Export,
            None,
            move |token| {
                running.start();
                Ok(match &source {
                    Source::Linked(linked) => {
                        write_linked(linked, &table, &out, &metrics, &*progress, token)
                    }
                    Source::Held(version) => {
                        write_export(version, &table, &out, &metrics, &*progress, token)
                    }
                })
            },
        );
        let result = until_done_or_cancelled(job, cancel).await;
        task.finish(&result);
        result
    }

    /// [`Engine::export`] on the calling thread (quire-cli, benches), recorded the same way.
    pub fn export_table(
        &self,
        notebook: NotebookId,
        table: &str,
        out: &Path,
        progress: &(dyn Fn(u64) + Sync),
        cancel: &CancellationToken,
    ) -> Result<u64, Error> {
        let task = self.record_export(notebook, table, out);
        self.export_tracked(&task, notebook, table, out, progress, cancel)
    }

    pub(super) fn export_tracked(
        &self,
        task: &Tracked,
        notebook: NotebookId,
        table: &str,
        out: &Path,
        progress: &(dyn Fn(u64) + Sync),
        cancel: &CancellationToken,
    ) -> Result<u64, Error> {
        task.run(cancel, || {
            self.ensure_tables(notebook)?;
            if let Some(linked) = self.ledger.catalog().linked(notebook, table) {
                return write_linked(&linked, table, out, &self.metrics, progress, cancel);
            }
            let version = self.ledger.version(notebook, table)?;
            write_export(&version, table, out, &self.metrics, progress, cancel)
        })
    }

    /// Writes a table to an object in a bucket (`s3://bucket/key.parquet`, `az://container/key.csv`) through
    /// the notebook's connection `connection`, as one multipart upload: the object appears
    /// whole or not at all. Queued at background priority; `progress` gets the rows written.
    pub async fn export_to_bucket(
        &self,
        notebook: NotebookId,
        table: &str,
        connection: &str,
        url: &str,
        progress: Arc<dyn Fn(u64) + Send + Sync>,
        cancel: &CancellationToken,
    ) -> Result<u64, Error> {
        self.ensure_tables(notebook)?;
        let found = self.notebooks.connection(notebook, connection)?;
        let settings = found
            .store_settings()
            .map_err(crate::notebooks::NotebookError::from)?;
        let (target, _) = settings
            .store_for(url)
            .map_err(crate::tables::TableError::from)?;
        // A linked table is streamed from its files (edits merged), a held one from memory.
        let linked = self.ledger.catalog().linked(notebook, table);
        let version = match linked {
            Some(_) => None,
            None => Some(self.ledger.version(notebook, table)?),
        };
        let url = url.to_string();
        let job = self.scheduler.submit_blocking(
            Priority::Background,
            JobKind::Export,
            None,
            move |token| {
                let store: Arc<dyn object_store::ObjectStore> = target.store.clone();
                let write = |schema: &datafusion::arrow::datatypes::SchemaRef,
                             rows: tables::export::Rows<'_>| {
                    tables::export::write_to_store(
                        store.clone(),
                        &target.endpoint,
                        &url,
                        schema,
                        rows,
                        &*progress,
                        token,
                    )
                };
                let written = match (&linked, &version) {
                    (Some(linked), _) => {
                        let edits = linked.edits.current();
                        let mut rows = linked.merged(&edits);
                        let written = write(&linked.schema, &mut rows);
                        drop(rows);
                        written
                    }
                    (None, Some(version)) => write(
                        &version.schema,
                        &mut version.batches.iter().cloned().map(Ok),
                    ),
                    (None, None) => unreachable!("a table is linked or held"),
                };
                if let Ok(bytes) = &written {
                    log::info!("exported a table to {url} ({bytes} bytes)");
                }
                Ok(written.map_err(Error::from))
            },
        );
        until_done_or_cancelled(job, cancel).await
    }

    /// Runs a query and writes its result to a file the user picked (CSV or Parquet), atomically.
    pub async fn export_query(
        &self,
        notebook: NotebookId,
        sql: &str,
        out: &Path,
        runs_on: Option<&str>,
    ) -> Result<u64, Error> {
        self.ensure_tables(notebook)?;
        // The rows go into the file as they come, never held whole: a result bigger than
        // memory exports. Where the cell runs: a cluster's answer is read back from the
        // cluster, not made again here.
        let mut file = tables::export::FileExport::create(out)?;
        let file = match runs_on {
            Some(cluster) => {
                self.result_into_on(notebook, sql, cluster, CancellationToken::new(), file)
                    .await?
            }
            None => {
                self.ledger
                    .catalog()
                    .result_into(notebook, sql, &mut file)
                    .await?;
                file
            }
        };
        let bytes = file.commit(&self.metrics)?;
        log::info!(
            "exported a query result of notebook {notebook} to {} ({bytes} bytes)",
            out.display()
        );
        Ok(bytes)
    }
}

/// What an export reads: a linked table's files, or a held table's version.
enum Source {
    Linked(Arc<crate::tables::LinkedTable>),
    Held(Arc<TableVersion>),
}

/// Writes a linked table (its files with its edits) to `out`, row group by row group.
fn write_linked(
    linked: &crate::tables::LinkedTable,
    table: &str,
    out: &Path,
    metrics: &crate::metrics::Metrics,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &CancellationToken,
) -> Result<u64, Error> {
    let edits = linked.edits.current();
    let bytes = tables::export::write_rows(
        out,
        &linked.schema,
        &mut linked.merged(&edits),
        metrics,
        progress,
        cancel,
    )?;
    log::info!(
        "exported the linked table {table} to {} ({bytes} bytes)",
        out.display()
    );
    Ok(bytes)
}

fn write_export(
    version: &TableVersion,
    table: &str,
    out: &Path,
    metrics: &crate::metrics::Metrics,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &CancellationToken,
) -> Result<u64, Error> {
    let bytes = tables::export::write(
        out,
        &version.schema,
        &version.batches,
        metrics,
        progress,
        cancel,
    )?;
    log::info!("exported {table} to {} ({bytes} bytes)", out.display());
    Ok(bytes)
}

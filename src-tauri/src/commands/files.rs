//! Files the user picks: imports and exports.

use super::prelude::*;
use crate::files::Use;

/// Shows the native open dialog (from Rust, so the page never names a path it was not given)
/// and remembers the choice as a file this window may read.
#[tauri::command]
#[specta::specta]
pub async fn pick_import_file(
    app: AppHandle,
    state: State<'_, AppState>,
) -> Reply<Option<PathBuf>> {
    let picked = match crate::files::test_answer(crate::files::TEST_PICK_ENV) {
        Some(path) => Some(path),
        None => tauri::async_runtime::spawn_blocking(move || {
            app.dialog()
                .file()
                .set_title("Import a data file")
                .add_filter(
                    "Data files",
                    &[
                        "csv", "tsv", "txt", "parquet", "pq", "json", "ndjson", "jsonl", "gz",
                        "zst", "xlsx", "xlsm", "xlsb", "xls", "ods",
                    ],
                )
                .blocking_pick_file()
                .and_then(|f| f.into_path().ok())
        })
        .await
        .map_err(blocking_failed)?,
    };
    if let Some(path) = &picked {
        state.picked.allow(path, Use::Read);
    }
    Ok(picked)
}

/// The preview of a picked CSV file read as the user chose in the import dialog (delimiter,
/// quote, header, encoding, decimal separator, missing values): its columns found again.
#[tauri::command]
#[specta::specta]
pub async fn preview_csv(
    state: State<'_, AppState>,
    path: PathBuf,
    options: import::CsvOptions,
) -> Reply<ImportPreview> {
    state.picked.check(&path, Use::Read)?;
    let preview =
        tauri::async_runtime::spawn_blocking(move || import::preview_csv(&path, &options))
            .await
            .map_err(blocking_failed)?;
    Ok(preview?)
}

/// Proposes how to read a picked file; `sheet` picks a spreadsheet's sheet (default: its first).
#[tauri::command]
#[specta::specta]
pub async fn preview_import(
    state: State<'_, AppState>,
    path: PathBuf,
    sheet: Option<String>,
) -> Reply<ImportPreview> {
    state.picked.check(&path, Use::Read)?;
    let preview = tauri::async_runtime::spawn_blocking(move || match sheet {
        Some(sheet) => import::preview_sheet(&path, &sheet),
        None => import::preview_to_choose(&path),
    })
    .await
    .map_err(blocking_failed)?;
    Ok(preview?)
}

/// Imports a picked file as a table (with `convert`, a CSV or JSON file is converted into
/// Parquet inside the notebook and linked); progress streams over `on_progress`; `job` names
/// the import for [`cancel_job`].
#[tauri::command]
#[specta::specta]
#[allow(clippy::too_many_arguments)]
pub async fn import_file(
    state: State<'_, AppState>,
    notebook: NotebookId,
    path: PathBuf,
    table: Option<String>,
    csv: Option<CsvOptions>,
    sheet: Option<SheetOptions>,
    convert: bool,
    job: String,
    on_progress: Channel<ImportProgress>,
) -> Reply<ImportOutcome> {
    state.picked.check(&path, Use::Read)?;
    // The last update (100 %) always goes out.
    let progress = throttled(on_progress, |p: &ImportProgress| p.bytes == p.total_bytes);
    let request = ImportRequest {
        path: &path,
        table: table.as_deref(),
        format: None,
        csv: csv.as_ref(),
        sheet: sheet.as_ref(),
        convert,
    };
    let cancel = state.jobs.start(&job);
    let result = state
        .engine
        .import(notebook, request, Arc::new(progress), &cancel)
        .await;
    state.jobs.finish(&job);
    if result.is_ok() {
        state
            .recent
            .record(&path, &|file, bytes| state.engine.save_file(file, bytes));
    }
    Ok(result?)
}

/// Shows the native folder dialog (for a folder of files to link) and remembers the
/// choice as a folder this window may read.
#[tauri::command]
#[specta::specta]
pub async fn pick_link_folder(
    app: AppHandle,
    state: State<'_, AppState>,
) -> Reply<Option<PathBuf>> {
    let picked = match crate::files::test_answer(crate::files::TEST_PICK_FOLDER_ENV) {
        Some(path) => Some(path),
        None => tauri::async_runtime::spawn_blocking(move || {
            app.dialog()
                .file()
                .set_title("Link a folder of Parquet, CSV or JSON files")
                .blocking_pick_folder()
                .and_then(|f| f.into_path().ok())
        })
        .await
        .map_err(blocking_failed)?,
    };
    if let Some(path) = &picked {
        state.picked.allow(path, Use::Read);
    }
    Ok(picked)
}

/// Links a picked Parquet file or folder as a table read where it lies (footers only now);
/// with `pattern`, only the folder's files whose path below it matches (a pattern cannot reach
/// outside the picked folder).
#[tauri::command]
#[specta::specta]
pub async fn link_file(
    state: State<'_, AppState>,
    notebook: NotebookId,
    path: PathBuf,
    pattern: Option<String>,
    table: Option<String>,
) -> Reply<TableInfo> {
    state.picked.check(&path, Use::Read)?;
    // Footers of a large folder take a moment: this worker may block, the others go on.
    let linked = tokio::task::block_in_place(|| {
        state
            .engine
            .link_matching(notebook, &path, pattern.as_deref(), table.as_deref())
    });
    Ok(linked?)
}

/// Links a picked folder as one table (only the files below it matching `pattern`, if given):
/// Parquet files where they lie; CSV or JSON files converted into Parquet inside the notebook
/// (with `csv`, what the user chose for every CSV file: skip bad rows, missing markers), the
/// progress streaming over `on_progress`, cancelled by its job id.
#[allow(clippy::too_many_arguments)]
#[tauri::command]
#[specta::specta]
pub async fn link_folder(
    state: State<'_, AppState>,
    notebook: NotebookId,
    path: PathBuf,
    pattern: Option<String>,
    csv: Option<import::CsvChoices>,
    table: Option<String>,
    job: String,
    on_progress: Channel<ImportProgress>,
) -> Reply<ImportOutcome> {
    state.picked.check(&path, Use::Read)?;
    let cancel = state.jobs.start(&job);
    // The folder's walk and a Parquet link's footers take a moment: this worker may block,
    // the others go on.
    let converts = on_disk(|| state.engine.folder_converts(&path, pattern.as_deref()));
    let linked = match converts {
        Err(e) => Err(e),
        Ok(false) => on_disk(|| {
            state
                .engine
                .link_matching(notebook, &path, pattern.as_deref(), table.as_deref())
        })
        .map(|table| ImportOutcome {
            table,
            skipped: Vec::new(),
            skipped_total: 0,
        }),
        Ok(true) => {
            // The last update (100 %) always goes out.
            let progress = throttled(on_progress, |p: &ImportProgress| p.bytes == p.total_bytes);
            let choices = quire_engine::tasks::FolderImport { pattern, csv };
            state
                .engine
                .link_folder(
                    notebook,
                    &path,
                    &choices,
                    table.as_deref(),
                    Arc::new(progress),
                    &cancel,
                )
                .await
        }
    };
    state.jobs.finish(&job);
    Ok(linked?)
}

/// Copies a linked table, in file order, into the notebook as an editable table `to`.
#[tauri::command]
#[specta::specta]
pub async fn copy_linked_table(
    state: State<'_, AppState>,
    notebook: NotebookId,
    table: String,
    to: String,
) -> Reply<TableInfo> {
    // Reading a big file takes a moment: this worker may block, the others go on.
    let copied =
        tokio::task::block_in_place(|| state.engine.copy_linked_table(notebook, &table, &to));
    Ok(copied?)
}

/// Cancels a running job; false when it already ended.
#[tauri::command]
#[specta::specta]
pub async fn cancel_job(state: State<'_, AppState>, job: String) -> Reply<bool> {
    Ok(state.jobs.cancel(&job))
}

/// Shows the native save dialog and remembers the choice as a file this window may write.
#[tauri::command]
#[specta::specta]
pub async fn pick_export_path(
    app: AppHandle,
    state: State<'_, AppState>,
    suggested: String,
) -> Reply<Option<PathBuf>> {
    let picked = match crate::files::test_answer(crate::files::TEST_SAVE_ENV) {
        Some(path) => Some(path),
        None => tauri::async_runtime::spawn_blocking(move || {
            app.dialog()
                .file()
                .set_title("Export")
                .set_file_name(suggested)
                .add_filter("CSV", &["csv"])
                .add_filter("Parquet", &["parquet"])
                .blocking_save_file()
                .and_then(|f| f.into_path().ok())
        })
        .await
        .map_err(blocking_failed)?,
    };
    if let Some(path) = &picked {
        state.picked.allow(path, Use::Write);
    }
    Ok(picked)
}

#[tauri::command]
#[specta::specta]
pub async fn export_table(
    state: State<'_, AppState>,
    notebook: NotebookId,
    table: String,
    path: PathBuf,
    job: String,
    on_rows: Channel<u64>,
) -> Reply<u64> {
    state.picked.check(&path, Use::Write)?;
    let cancel = state.jobs.start(&job);
    let result = state
        .engine
        .export(
            notebook,
            &table,
            &path,
            Arc::new(throttled(on_rows, |_| false)),
            &cancel,
        )
        .await;
    state.jobs.finish(&job);
    Ok(result?)
}

/// Runs a query (on the cluster `runs_on` names, if any) and writes its result to a picked
/// file.
#[tauri::command]
#[specta::specta]
pub async fn export_query(
    state: State<'_, AppState>,
    notebook: NotebookId,
    sql: String,
    path: PathBuf,
    runs_on: Option<String>,
) -> Reply<u64> {
    state.picked.check(&path, Use::Write)?;
    Ok(state
        .engine
        .export_query(notebook, &sql, &path, runs_on.as_deref())
        .await?)
}

/// Shows the save dialog for a chart image and remembers the choice as a file this window may
/// write.
#[tauri::command]
#[specta::specta]
pub async fn pick_chart_image_path(
    app: AppHandle,
    state: State<'_, AppState>,
    suggested: String,
) -> Reply<Option<PathBuf>> {
    let svg = suggested.ends_with(".svg");
    let picked = match crate::files::test_answer(crate::files::TEST_SAVE_ENV) {
        Some(path) => Some(path),
        None => tauri::async_runtime::spawn_blocking(move || {
            let dialog = app
                .dialog()
                .file()
                .set_title("Save the chart")
                .set_file_name(suggested);
            let dialog = if svg {
                dialog.add_filter("SVG image", &["svg"])
            } else {
                dialog.add_filter("PNG image", &["png"])
            };
            dialog.blocking_save_file().and_then(|f| f.into_path().ok())
        })
        .await
        .map_err(blocking_failed)?,
    };
    if let Some(path) = &picked {
        state.picked.allow(path, Use::Write);
    }
    Ok(picked)
}

/// Writes a chart image the page drew to a path the user picked for it. Returns the bytes
/// written.
#[tauri::command]
#[specta::specta]
pub async fn save_chart_image(
    state: State<'_, AppState>,
    path: PathBuf,
    bytes: Vec<u8>,
) -> Reply<u64> {
    state.picked.check(&path, Use::Write)?;
    Ok(state.engine.save_file(&path, &bytes)?)
}

/// Files imported lately, newest first, for the first screen.
#[tauri::command]
#[specta::specta]
pub async fn recent_files(state: State<'_, AppState>) -> Reply<Vec<RecentFile>> {
    Ok(state.recent.list())
}

/// Reopens a recent file by its place in the list and its name (the list may have changed since
/// the page read it): allowed to be read again, like a picked file.
#[tauri::command]
#[specta::specta]
pub async fn open_recent(state: State<'_, AppState>, index: u32, name: String) -> Reply<PathBuf> {
    let path = state
        .recent
        .path(index)
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy() == name))
        .ok_or_else(|| IpcError {
            code: quire_engine::ErrorCode::FileUnreadable,
            message: "that file is no longer in the recent list".into(),
            position: None,
        })?;
    if !path.is_file() {
        return Err(IpcError {
            code: quire_engine::ErrorCode::FileUnreadable,
            message: format!("{} is no longer there (moved or deleted)", path.display()),
            position: None,
        });
    }
    state.picked.allow(&path, Use::Read);
    Ok(path)
}

//! A notebook's connections (object storage, databases) and the tables reached through them.
//! Every call that reaches a server runs on a worker that may block (a slow or absent server
//! takes seconds to report); the window never waits on it.

use quire_engine::remote::{Connection, ConnectionCheck, DatabaseTable};

use super::prelude::*;

/// Adds a connection to the notebook, or replaces the one of the same name (nothing is sent:
/// a malformed endpoint or a profile missing from the credentials file is refused in words).
/// A database's tables are reachable from the notebook's SQL at once.
#[tauri::command]
#[specta::specta]
pub async fn save_connection(
    state: State<'_, AppState>,
    notebook: NotebookId,
    connection: Connection,
) -> Reply<NotebookView> {
    on_disk(|| state.engine.save_connection(notebook, connection))?;
    Ok(state
        .engine
        .notebooks()
        .get(notebook)
        .map_err(quire_engine::Error::from)?)
}

/// Removes a connection; tables linked through it keep reading, a database is detached.
#[tauri::command]
#[specta::specta]
pub async fn remove_connection(
    state: State<'_, AppState>,
    notebook: NotebookId,
    name: String,
) -> Reply<NotebookView> {
    on_disk(|| state.engine.remove_connection(notebook, &name))?;
    Ok(state
        .engine
        .notebooks()
        .get(notebook)
        .map_err(quire_engine::Error::from)?)
}

/// Reaches `url` through `connection` (saved or not) and lists what is directly under it.
#[tauri::command]
#[specta::specta]
pub async fn test_connection(
    state: State<'_, AppState>,
    notebook: NotebookId,
    connection: Connection,
    url: String,
) -> Reply<ConnectionCheck> {
    Ok(on_disk(|| {
        state.engine.check_connection(notebook, &connection, &url)
    })?)
}

/// The tables and views a database connection may read (with Postgres's row estimates), to
/// browse and query as `connection.schema.table`.
#[tauri::command]
#[specta::specta]
pub async fn browse_connection(
    state: State<'_, AppState>,
    notebook: NotebookId,
    name: String,
) -> Reply<Vec<DatabaseTable>> {
    // The notebook's tables load (and its databases attach) on a worker that may block.
    on_disk(|| state.engine.tables(notebook))?;
    Ok(state.engine.browse_connection(notebook, &name).await?)
}

/// Links an address through the notebook's connection `connection`: a Parquet object, or the
/// Parquet objects under a prefix, are listed and their footers read now, queried where they
/// lie; a CSV or JSON object, or those under a prefix or glob, are fetched and converted into
/// Parquet inside the notebook (with `csv`, what the user chose for every CSV object: skip bad
/// rows, missing markers), the progress streaming over `on_progress`, cancelled by its job id.
#[tauri::command]
#[specta::specta]
#[allow(clippy::too_many_arguments)]
pub async fn link_remote(
    state: State<'_, AppState>,
    notebook: NotebookId,
    connection: String,
    url: String,
    table: Option<String>,
    csv: Option<import::CsvChoices>,
    job: String,
    on_progress: Channel<ImportProgress>,
) -> Reply<ImportOutcome> {
    // Registered first: a Cancel while a folder is listed is not lost.
    let cancel = state.jobs.start(&job);
    let converts = on_disk(|| state.engine.remote_converts(notebook, &connection, &url));
    let result = match converts {
        Err(e) => Err(e),
        Ok(false) => on_disk(|| {
            state
                .engine
                .link_through(notebook, &connection, &url, table.as_deref())
        })
        .map(|table| ImportOutcome {
            table,
            skipped: Vec::new(),
            skipped_total: 0,
        }),
        Ok(true) if cancel.is_cancelled() => {
            Err(quire_engine::tables::TableError::Cancelled.into())
        }
        Ok(true) => {
            // The last update (100 %) always goes out.
            let progress = throttled(on_progress, |p: &ImportProgress| p.bytes == p.total_bytes);
            state
                .engine
                .link_remote_text(
                    notebook,
                    &connection,
                    &url,
                    table.as_deref(),
                    None,
                    csv.as_ref(),
                    Arc::new(progress),
                    &cancel,
                )
                .await
        }
    };
    state.jobs.finish(&job);
    Ok(result?)
}

/// Writes a table to an object in a bucket through the notebook's connection `connection`:
/// one multipart upload, so the object appears whole or not at all. Cancelled by its job id.
#[tauri::command]
#[specta::specta]
pub async fn export_to_bucket(
    state: State<'_, AppState>,
    notebook: NotebookId,
    table: String,
    connection: String,
    url: String,
    job: String,
    on_rows: Channel<u64>,
) -> Reply<u64> {
    let cancel = state.jobs.start(&job);
    let result = state
        .engine
        .export_to_bucket(
            notebook,
            &table,
            &connection,
            &url,
            Arc::new(throttled(on_rows, |_| false)),
            &cancel,
        )
        .await;
    state.jobs.finish(&job);
    Ok(result?)
}

//! A notebook's `tables/` folder: committing a generation (file, then manifest, then garbage
//! collection), and opening the folder again after a clean exit or a crash.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use super::file::{self, WriteProgress};
use super::leases::{Asset, Leases};
use super::manifest::{self, Generation, Manifest, TableGenerations};
use super::{SnapshotError, Writer};
use crate::durable;
use crate::ids::NotebookId;
use crate::tables::table::TableVersion;

/// The folder inside a notebook folder that holds its tables.
pub const TABLES_DIR: &str = "tables";

/// A table as it was opened from its folder.
#[derive(Debug)]
pub struct Opened {
    pub name: String,
    pub version: TableVersion,
    pub generation: Generation,
    /// Set when the newest generation could not be read and an older one was opened.
    pub fallback: Option<String>,
}

/// What opening a `tables/` folder found.
#[derive(Debug, Default)]
pub struct OpenedFolder {
    pub manifest: Manifest,
    pub tables: Vec<Opened>,
    /// Problems the user should hear of (a damaged manifest, an unreadable table).
    pub warnings: Vec<String>,
    pub swept: usize,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A `tables/` folder that is a link: Quire never writes through it, so it never deletes
/// through it either (a link could point anywhere).
fn refuse_link(dir: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(dir)?.file_type().is_symlink() {
        return Err(std::io::Error::other(
            "it is a link to another folder; Quire does not follow it",
        ));
    }
    Ok(())
}

/// Removes temp files of interrupted writes: generation temps and manifest temps.
pub fn sweep(dir: &Path) -> std::io::Result<usize> {
    refuse_link(dir)?;
    let mut removed = durable::sweep_temp_files(dir)?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry
            .file_name()
            .to_string_lossy()
            .ends_with(file::TEMP_SUFFIX)
            && entry.file_type()?.is_file()
        {
            durable::trace::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Opens a notebook's `tables/` folder: sweeps temp files, reads the manifest (or rebuilds it
/// from the generation files when it is missing or damaged), removes generation files no
/// manifest names (writes a crash cut short before their commit), and reads every table from
/// its newest readable generation.
pub fn open(notebook_dir: &Path) -> Result<OpenedFolder, SnapshotError> {
    let dir = notebook_dir.join(TABLES_DIR);
    let io = |action: &'static str| {
        let path = dir.clone();
        move |source: std::io::Error| SnapshotError::Io {
            action,
            path,
            source,
        }
    };
    if std::fs::symlink_metadata(&dir).is_ok() {
        refuse_link(&dir).map_err(io("open"))?;
    }
    if !dir.is_dir() {
        return Ok(OpenedFolder::default());
    }
    let swept = sweep(&dir).map_err(io("clean up"))?;
    let mut on_disk: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).map_err(io("list"))? {
        let name = entry.map_err(io("list"))?.file_name();
        if let Some((table, generation)) = name.to_str().and_then(file::parse_file_name) {
            on_disk
                .entry(table.to_string())
                .or_default()
                .insert(generation);
        }
    }
    let mut warnings = Vec::new();
    let manifest = match manifest::read(&dir) {
        manifest::Read::Ok(m) => {
            remove_unnamed(&dir, &m, &on_disk);
            m
        }
        manifest::Read::Missing if on_disk.is_empty() => Manifest::default(),
        manifest::Read::Missing => {
            warnings.push(format!(
                "the table list in {} was missing; it was rebuilt from the table files",
                dir.display()
            ));
            rebuild(&dir, &on_disk)?
        }
        manifest::Read::Damaged(why) => {
            warnings.push(format!(
                "the table list in {} was damaged ({why}); it was rebuilt from the table files",
                dir.display()
            ));
            rebuild(&dir, &on_disk)?
        }
        // A list that could not be read is not a damaged one: rebuilding it would bring back
        // tables the user deleted and drop what it alone knew. Nothing is opened or changed.
        manifest::Read::Unreadable(source) => {
            return Err(SnapshotError::Io {
                action: "read",
                path: dir.join(manifest::FILE_NAME),
                source,
            })
        }
    };

    let mut tables = Vec::new();
    for (name, t) in &manifest.tables {
        let mut failures = Vec::new();
        for g in t.generations.iter().rev() {
            let path = dir.join(file::file_name(name, g.generation));
            match file::read(&path, g.version) {
                Ok(version) => {
                    let fallback = (!failures.is_empty()).then(|| {
                        format!(
                            "table {name} was damaged ({}); opened the copy saved as generation {} with {} rows",
                            failures.join("; "),
                            g.generation,
                            g.rows
                        )
                    });
                    if let Some(f) = &fallback {
                        log::warn!("{f}");
                    }
                    tables.push(Opened {
                        name: name.clone(),
                        version,
                        generation: g.clone(),
                        fallback,
                    });
                    break;
                }
                // The disk would not read the newest copy: it may be intact, so an older copy
                // is not opened in its place (edits would then be made on the older one).
                Err(e @ SnapshotError::Io { .. }) => return Err(e),
                Err(e) => failures.push(e.to_string()),
            }
        }
        if tables.last().is_none_or(|o| &o.name != name) && !failures.is_empty() {
            let w = format!(
                "table {name} could not be opened: no saved copy is readable ({})",
                failures.join("; ")
            );
            log::error!("{w}");
            warnings.push(w);
        }
    }
    Ok(OpenedFolder {
        manifest,
        tables,
        warnings,
        swept,
    })
}

fn remove_unnamed(dir: &Path, m: &Manifest, on_disk: &BTreeMap<String, BTreeSet<u64>>) {
    for (table, generations) in on_disk {
        let named: BTreeSet<u64> = m
            .tables
            .get(table)
            .map(|t| t.generations.iter().map(|g| g.generation).collect())
            .unwrap_or_default();
        for g in generations.difference(&named) {
            let path = dir.join(file::file_name(table, *g));
            match durable::trace::remove_file(&path) {
                Ok(()) => log::info!("removed uncommitted snapshot {}", path.display()),
                Err(e) => log::warn!("could not remove {}: {e}", path.display()),
            }
        }
    }
}

/// A manifest made from the files themselves: every generation file is a complete file (it is
/// only renamed into place after its fsync), so each is a version the user had.
fn rebuild(
    dir: &Path,
    on_disk: &BTreeMap<String, BTreeSet<u64>>,
) -> Result<Manifest, SnapshotError> {
    let mut m = Manifest::default();
    for (table, generations) in on_disk {
        let mut t = TableGenerations::default();
        for g in generations {
            let path = dir.join(file::file_name(table, *g));
            let meta = std::fs::metadata(&path).ok();
            // Rows and the table version from the file's footer; files written before the
            // version was recorded there fall back to the generation number, and so does a
            // damaged file (it is never opened as current: its read fails at open).
            let (rows, version) = match footer(&path) {
                Ok(found) => found,
                // A file the disk would not read may be intact: a made-up version would have
                // the journal replayed onto the wrong base. Nothing is rebuilt this time.
                Err(Some(source)) => {
                    return Err(SnapshotError::Io {
                        action: "read",
                        path,
                        source,
                    })
                }
                Err(None) => (0, None),
            };
            t.generations.push(Generation {
                generation: *g,
                version: version.unwrap_or(*g),
                rows,
                bytes: meta.as_ref().map_or(0, |m| m.len()),
                committed_ms: meta
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_millis() as i64),
            });
            t.next_generation = g + 1;
        }
        m.tables.insert(table.clone(), t);
    }
    Ok(m)
}

/// A generation file's row count and the table version its footer records, read through the
/// footer guard (a damaged footer can make the parquet crate spin or allocate without bound).
/// `Err(Some(_))`: the disk would not read it; `Err(None)`: its bytes are damaged.
fn footer(path: &Path) -> Result<(u64, Option<u64>), Option<std::io::Error>> {
    use crate::tables::footer_guard::{self, Problem};
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
    let os = |e: std::io::Error| e.raw_os_error().is_some().then_some(e);
    let mut file = crate::durable::trace::open(path).map_err(os)?;
    footer_guard::check_open_file(&mut file).map_err(|problem| match problem {
        Problem::Io(e) => os(e),
        Problem::Footer(_) => None,
    })?;
    let reader = SerializedFileReader::new(file).map_err(|e| file::failed_read(e).ok())?;
    let meta = reader.metadata().file_metadata();
    let version = meta
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == file::VERSION_KEY))
        .and_then(|k| k.value.as_deref()?.parse::<u64>().ok());
    Ok((meta.num_rows() as u64, version))
}

/// Everything a commit needs besides the data.
pub struct CommitContext<'a> {
    pub notebook: NotebookId,
    pub notebook_dir: &'a Path,
    pub history: usize,
    pub leases: &'a Leases,
    pub writer: &'a Writer,
}

/// Writes `version` as a new generation of `table` and commits it in the manifest, then
/// deletes generations beyond the history that no lease holds. `manifest` is the folder's
/// in-memory manifest; it changes only once the new manifest is durably on disk.
pub fn commit(
    cx: &CommitContext<'_>,
    manifest: &std::sync::Mutex<Manifest>,
    table: &str,
    version: &TableVersion,
    progress: &(dyn Fn(WriteProgress) + Sync),
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<Generation, SnapshotError> {
    let dir = cx.notebook_dir.join(TABLES_DIR);
    if !dir.is_dir() {
        let io = |source| SnapshotError::Io {
            action: "create",
            path: dir.clone(),
            source,
        };
        durable::trace::create_dir(&dir).map_err(io)?;
        durable::sync_dir(cx.notebook_dir).map_err(io)?;
    }
    {
        // A folder's first generation commits against a manifest already on disk (empty until
        // then): a kill before its own manifest leaves a file no manifest names, removed at the
        // next open, not a missing manifest that `open` would rebuild the uncommitted table
        // from. Under the manifest's lock, as every manifest write.
        let m = manifest.lock().unwrap_or_else(|p| p.into_inner());
        if !dir.join(manifest::FILE_NAME).exists() {
            manifest::write_with(&dir, &m, cx.writer.metrics(), cx.writer.faults())?;
        }
    }
    let generation = {
        let mut m = manifest.lock().unwrap_or_else(|p| p.into_inner());
        let t = m.tables.entry(table.to_string()).or_default();
        let g = t.next_generation.max(1);
        t.next_generation = g + 1;
        g
    };
    let written = cx
        .writer
        .write(&dir, table, generation, version, progress, cancel)?;
    let committed = Generation {
        generation,
        version: version.version,
        rows: written.rows,
        bytes: written.bytes,
        committed_ms: now_ms(),
    };

    // The manifest is updated under its lock so two tables' commits cannot lose each other.
    let mut guard = manifest.lock().unwrap_or_else(|p| p.into_inner());
    let mut next = guard.clone();
    let t = next.tables.entry(table.to_string()).or_default();
    t.generations.push(committed.clone());
    t.next_generation = t.next_generation.max(generation + 1);
    let collected = beyond_history(cx, table, t);
    match manifest::write_with(&dir, &next, cx.writer.metrics(), cx.writer.faults()) {
        Ok(()) => {}
        Err(e @ SnapshotError::Write(durable::DurableError::Unsure { .. })) => {
            // Committed, unsure: the manifest naming the new generation is in place, so its
            // file stays (deleting it would leave a manifest naming a missing file), and so do
            // the collected ones. The error keeps the table due: the next commit writes the
            // manifest again and syncs the folder.
            *guard = next;
            return Err(e);
        }
        Err(e) => {
            // Not committed: the file goes, the previous generation stays the latest.
            let _ = durable::trace::remove_file(dir.join(file::file_name(table, generation)));
            return Err(e);
        }
    }
    *guard = next;
    drop(guard);
    for g in collected {
        let path = dir.join(file::file_name(table, g));
        if let Err(e) = durable::trace::remove_file(&path) {
            // The manifest no longer names it: the next open removes it.
            log::warn!("could not delete old snapshot {}: {e}", path.display());
        }
    }
    Ok(committed)
}

/// Deletes a table's generations beyond the history that no lease holds (after a lease ends).
pub fn collect(
    cx: &CommitContext<'_>,
    manifest: &std::sync::Mutex<Manifest>,
    table: &str,
) -> Result<Vec<u64>, SnapshotError> {
    let dir = cx.notebook_dir.join(TABLES_DIR);
    let mut guard = manifest.lock().unwrap_or_else(|p| p.into_inner());
    let mut next = guard.clone();
    let Some(t) = next.tables.get_mut(table) else {
        return Ok(Vec::new());
    };
    let collected = beyond_history(cx, table, t);
    if collected.is_empty() {
        return Ok(collected);
    }
    manifest::write(&dir, &next, cx.writer.metrics())?;
    *guard = next;
    drop(guard);
    for g in &collected {
        let _ = durable::trace::remove_file(dir.join(file::file_name(table, *g)));
    }
    Ok(collected)
}

/// Removes a deleted table from the manifest, then its generation files. The table is gone
/// once the manifest is durably in place; a file left behind (a failed unlink) is unnamed and
/// removed at the next open.
pub fn remove_table(
    cx: &CommitContext<'_>,
    manifest: &std::sync::Mutex<Manifest>,
    table: &str,
) -> Result<usize, SnapshotError> {
    let dir = cx.notebook_dir.join(TABLES_DIR);
    let mut guard = manifest.lock().unwrap_or_else(|p| p.into_inner());
    let mut next = guard.clone();
    let Some(removed) = next.tables.remove(table) else {
        return Ok(0);
    };
    manifest::write(&dir, &next, cx.writer.metrics())?;
    *guard = next;
    drop(guard);
    for g in &removed.generations {
        let path = dir.join(file::file_name(table, g.generation));
        if let Err(e) = durable::trace::remove_file(&path) {
            log::warn!(
                "could not delete {} of a deleted table: {e}",
                path.display()
            );
        }
    }
    Ok(removed.generations.len())
}

/// Drops from `t` every generation older than the newest `history` ones, except those a live
/// lease holds; returns their numbers for deletion once the manifest is committed.
fn beyond_history(cx: &CommitContext<'_>, table: &str, t: &mut TableGenerations) -> Vec<u64> {
    let keep_from = t.generations.len().saturating_sub(cx.history.max(1));
    let mut collected = Vec::new();
    let mut index = 0;
    t.generations.retain(|g| {
        let old = index < keep_from;
        index += 1;
        let free = old
            && !cx.leases.is_leased(&Asset {
                notebook: cx.notebook,
                table: table.to_string(),
                generation: g.generation,
            });
        if free {
            collected.push(g.generation);
        }
        !free
    });
    collected
}

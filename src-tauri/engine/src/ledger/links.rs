//! A notebook's linked tables, and `links.json`, where its folder keeps them.
//!
//! `links.json` names each link and the path it reads (absolute, or relative to the notebook
//! folder for files inside it: conversions), and nothing of the files' content: linking again
//! after a restart reads the footers anew. It is replaced atomically and durably before a link
//! appears or after one goes from the list, so the list the user sees is never ahead of the
//! disk. A link whose files went missing stays in `links.json` (the user may
//! plug the drive back in) and is reported, not shown as an empty table.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Ledger;
use crate::durable::{self, DurableError};
use crate::error::Error;
use crate::events::EngineEvent;
use crate::ids::NotebookId;
use crate::metrics::Metrics;
use crate::remote::{AzureConnection, S3Connection, StoreSettings};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::tables::linked::{edits_file, EditLog, Edits, FilePattern};
use crate::tables::MissingLink;
use crate::tables::{name, LinkedTable, TableError, TableInfo};

/// The file, in a notebook's folder, that lists its links.
pub const LINKS_FILE: &str = "links.json";
/// The newest `links.json` this build reads. Version 2 added links to object storage, version 3
/// links with saved edits (an older build would open them without their edits, and drop the
/// file naming them), version 4 saved edits that delete rows (a version 3 build cannot read
/// their file), version 5 links of only the files of a folder that match a pattern (an older
/// build would link every file of the folder), version 6 links to Azure Blob Storage (an
/// older build knows only S3's settings), version 7 saved edits that add rows (an older build
/// would open the link without them, and save it so); a list without any of these is still
/// written as version 1, which older builds read.
const LINKS_VERSION: u32 = 7;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub name: String,
    /// The local file or folder (empty for a link to object storage).
    #[serde(default, skip_serializing_if = "is_empty_path")]
    pub path: PathBuf,
    /// The files of the folder `path` the link reads (a glob below it), when not all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Where a link to object storage reads, and the connection's settings it was made with
    /// (never a secret), so it opens again without the connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteLink>,
    /// Quire's own conversion (`converted/<id>` in the notebook folder), deleted with the
    /// table; false for the user's files.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub converted: bool,
    /// For such a conversion or copy: the user's file, folder or address its rows came from,
    /// as shown (`LinkedTable::origin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The linked files when the link was made (`LinkedTable::fingerprint`). Edits name rows
    /// by position, so a link with edits whose files changed does not open with them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<String>,
    /// The link's saved edits, when it has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edits: Option<SavedEdits>,
}

/// Where a link's edits are saved: a file of the notebook folder's `edits/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedEdits {
    /// The file's name in `edits/` (no folder: the same on every system).
    pub file: String,
    pub version: u64,
    /// The file deletes rows (a version 3 build would read it as damaged).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deletes: bool,
    /// The file adds rows after the files' rows (a version 6 build would lose them).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub added: bool,
}

impl SavedEdits {
    fn of(file: &str, edits: &Edits) -> SavedEdits {
        SavedEdits {
            file: file.to_string(),
            version: edits.version,
            deletes: edits.deleted_count() > 0,
            added: edits.added() > 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteLink {
    /// `s3://bucket/key`, `az://container/prefix/`.
    pub url: String,
    /// The connection's name in the notebook when it was linked.
    pub connection: String,
    /// Its settings then: S3's (every list before version 6 has them), or Azure's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Connection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureConnection>,
}

impl RemoteLink {
    fn of(remote: &crate::tables::linked::RemoteSource) -> RemoteLink {
        let (s3, azure) = match &remote.settings {
            StoreSettings::S3(s3) => (Some(s3.clone()), None),
            StoreSettings::Azure(azure) => (None, Some(azure.clone())),
        };
        RemoteLink {
            url: remote.url.clone(),
            connection: remote.connection.clone(),
            s3,
            azure,
        }
    }

    fn settings(&self) -> Result<StoreSettings, TableError> {
        match (&self.s3, &self.azure) {
            (Some(s3), None) => Ok(StoreSettings::S3(s3.clone())),
            (None, Some(azure)) => Ok(StoreSettings::Azure(azure.clone())),
            _ => Err(TableError::Persist(format!(
                "the link to {} has no settings of one service (S3 or Azure)",
                self.url
            ))),
        }
    }
}

fn is_empty_path(path: &Path) -> bool {
    path.as_os_str().is_empty()
}

/// The folder of a notebook's folder that holds its conversions, one folder each.
pub const CONVERTED_DIR: &str = "converted";

/// Where conversion `id` lives in the notebook folder `dir`. The id comes from a task record or
/// `links.json`, so it must be a plain name Quire makes (letters, digits, `-`) before it is
/// joined to a path.
pub fn converted_folder(dir: &Path, id: &str) -> Result<PathBuf, TableError> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(TableError::Persist(format!(
            "the conversion folder {id:?} is not a name Quire makes"
        )));
    }
    Ok(dir.join(CONVERTED_DIR).join(id))
}

/// Whether `path` is exactly a conversion's folder inside the notebook folder `dir`, neither it
/// nor `converted/` a symbolic link: the only files Quire deletes with a linked table.
pub fn is_converted_folder(dir: &Path, path: &Path) -> bool {
    let plain_dir = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
    has_converted_name(dir, path) && plain_dir(&dir.join(CONVERTED_DIR)) && plain_dir(path)
}

/// Whether `path` is named as a conversion's folder inside `dir`, there or not.
fn has_converted_name(dir: &Path, path: &Path) -> bool {
    path.file_name()
        .and_then(|id| id.to_str())
        .is_some_and(|id| converted_folder(dir, id).is_ok_and(|expected| expected == path))
}

#[derive(Serialize, Deserialize)]
struct LinksFile {
    version: u32,
    links: Vec<Link>,
}

/// The links a notebook folder lists; none when it has no `links.json`.
pub fn read(dir: &Path) -> Result<Vec<Link>, TableError> {
    let path = dir.join(LINKS_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(TableError::file(&path, e)),
    };
    let file: LinksFile = serde_json::from_slice(&bytes).map_err(|e| TableError::File {
        path: path.display().to_string(),
        message: format!("it is damaged ({e}); Quire left it as it is"),
    })?;
    if file.version > LINKS_VERSION {
        return Err(TableError::File {
            path: path.display().to_string(),
            message: format!(
                "it was written by a newer Quire (version {}); this one reads version {LINKS_VERSION}",
                file.version
            ),
        });
    }
    Ok(file.links)
}

/// Replaces `links.json` with `links`. An error after the rename ("committed, unsure") counts
/// as written: the new list may be on disk, so the caller acts as if it is.
fn write(dir: &Path, links: Vec<Link>, metrics: &Metrics) -> Result<(), TableError> {
    let path = dir.join(LINKS_FILE);
    let version = if links
        .iter()
        .any(|l| l.edits.as_ref().is_some_and(|e| e.added))
    {
        7
    } else if links
        .iter()
        .any(|l| l.remote.as_ref().is_some_and(|r| r.azure.is_some()))
    {
        6
    } else if links.iter().any(|l| l.pattern.is_some()) {
        5
    } else if links
        .iter()
        .any(|l| l.edits.as_ref().is_some_and(|e| e.deletes))
    {
        4
    } else if links.iter().any(|l| l.edits.is_some()) {
        3
    } else if links.iter().any(|l| l.remote.is_some()) {
        2
    } else {
        1
    };
    let bytes = serde_json::to_vec_pretty(&LinksFile { version, links })
        .map_err(|e| TableError::Persist(format!("could not write the list of links: {e}")))?;
    match durable::write_atomic(&path, &bytes, metrics) {
        Ok(()) => Ok(()),
        Err(DurableError::Unsure { path, source }) => {
            log::warn!(
                "{} was written but its folder could not be synced: {source}",
                path.display()
            );
            Ok(())
        }
        Err(e) => Err(TableError::Persist(e.to_string())),
    }
}

/// What opening a folder's links found: the links that opened and those that did not, by
/// name.
pub type OpenedLinks = (Vec<(String, LinkedTable)>, Vec<(String, MissingLink)>);

/// Opens every link a folder lists: each that opens is returned with its saved edits; each
/// that does not (its files moved, a drive unplugged, its files changed under its edits) is
/// returned as missing and stays listed in the file. `journaled(name)` says whether the
/// journal holds edits of a link not yet saved.
pub fn open_all(
    dir: &Path,
    journaled: impl Fn(&str) -> bool,
    metrics: &Metrics,
) -> Result<OpenedLinks, TableError> {
    let mut opened = Vec::new();
    let mut missing = Vec::new();
    let mut listed = read(dir)?;
    // Links without edits whose files changed since: the edits made from now on are made on
    // the files as they are now, so the list says so before any can be made.
    let mut refreshed = false;
    for link in listed.clone() {
        let (path, opening) = match &link.remote {
            Some(r) => (
                PathBuf::from(&r.url),
                r.settings().and_then(|settings| {
                    LinkedTable::open_remote(&r.connection, &settings, &r.url)
                }),
            ),
            None => {
                let path = dir.join(&link.path);
                // Shown as the link was made: the folder and the pattern below it.
                match &link.pattern {
                    Some(p) => (
                        path.join(p),
                        FilePattern::parse(p)
                            .and_then(|p| LinkedTable::open_matching(&path, Some(&p))),
                    ),
                    None => (path.clone(), LinkedTable::open(&path)),
                }
            }
        };
        let edited = link.edits.is_some() || journaled(&link.name);
        let opening = opening.and_then(|mut table| {
            // Only what has the shape of Quire's own conversion is treated as one (and
            // deleted with its table), whatever the file says.
            table.converted = link.converted && is_converted_folder(dir, &table.source);
            table.origin = link.origin.clone().filter(|_| table.converted);
            with_saved_edits(dir, &link, table, edited)
        });
        if let Ok(table) = &opening {
            let now = table.fingerprint();
            if !edited && link.files.as_ref() != Some(&now) {
                if let Some(entry) = listed.iter_mut().find(|l| l.name == link.name) {
                    entry.files = Some(now);
                    refreshed = true;
                }
            }
        }
        match opening {
            Ok(table) => opened.push((link.name, table)),
            Err(e) => {
                // Its folder may be gone: only its name tells a conversion.
                let converted = link.converted && has_converted_name(dir, &path);
                missing.push((
                    link.name,
                    MissingLink {
                        path,
                        // The path is said apart: the reason alone ("No such file or directory").
                        reason: match e {
                            TableError::File { message, .. } => message,
                            other => other.to_string(),
                        },
                        converted,
                        origin: link.origin.filter(|_| converted),
                    },
                ))
            }
        }
    }
    if refreshed {
        write(dir, listed, metrics)?;
    }
    Ok((opened, missing))
}

/// `table` with the edits `link` names read back; refused when it has edits (saved or in the
/// journal) and its files are not the ones they were made on.
fn with_saved_edits(
    dir: &Path,
    link: &Link,
    mut table: LinkedTable,
    edited: bool,
) -> Result<LinkedTable, TableError> {
    if edited
        && link
            .files
            .as_ref()
            .is_some_and(|f| *f != table.fingerprint())
    {
        return Err(TableError::File {
            path: table.source.display().to_string(),
            message: "its files changed since they were linked, and the table has edits made \
                      on the old rows (kept, not applied); put the old files back, or remove \
                      the link and link the files again"
                .into(),
        });
    }
    if let Some(saved) = &link.edits {
        let file = edits_file::path_in(dir, &saved.file)?;
        let edits = edits_file::read(&file, &table.schema, table.rows, &table.file_zones)?;
        if edits.version != saved.version {
            return Err(TableError::File {
                path: file.display().to_string(),
                message: format!(
                    "the saved edits are version {}, and links.json names version {}",
                    edits.version, saved.version
                ),
            });
        }
        table.saved_edits = AtomicU64::new(edits.version);
        table.edits = EditLog::starting_at(edits);
    }
    Ok(table)
}

/// Changes link `table`'s entry in `links.json` with `change` (one atomic write); the edits
/// file the entry named before, if any.
fn update_link(
    dir: &Path,
    table: &str,
    metrics: &Metrics,
    change: impl FnOnce(&mut Link) -> Result<(), TableError>,
) -> Result<Option<String>, TableError> {
    let mut listed = read(dir)?;
    let link = listed
        .iter_mut()
        .find(|l| l.name == table)
        .ok_or_else(|| TableError::NotFound(table.to_string()))?;
    let before = link.edits.clone().map(|e| e.file);
    change(link)?;
    write(dir, listed, metrics)?;
    Ok(before)
}

/// Names `file` as the saved edits of link `table` in `links.json`, with the fingerprint of
/// the files as open now (the ones the edits were made on); the file it named before, if any.
pub(super) fn name_saved_edits(
    dir: &Path,
    table: &str,
    linked: &LinkedTable,
    file: &str,
    saved: &Edits,
    metrics: &Metrics,
) -> Result<Option<String>, TableError> {
    update_link(dir, table, metrics, |link| {
        link.edits = Some(SavedEdits::of(file, saved));
        link.files = Some(linked.fingerprint());
        Ok(())
    })
}

/// Makes link `table` read the compacted copy `fresh` (inside the notebook folder `dir`) with
/// the edits file `file` holding `edits`: the one write that commits a compaction. The edits
/// file it named before, if any.
pub(super) fn name_compacted(
    dir: &Path,
    table: &str,
    fresh: &LinkedTable,
    file: &str,
    edits: &Edits,
    metrics: &Metrics,
) -> Result<Option<String>, TableError> {
    let inside = fresh
        .source
        .strip_prefix(dir)
        .map_err(|_| TableError::Persist("a compacted copy outside the notebook".into()))?
        .to_path_buf();
    update_link(dir, table, metrics, |link| {
        link.path = inside;
        link.pattern = None;
        link.remote = None;
        link.converted = true;
        link.origin = fresh.origin.clone();
        link.files = Some(fresh.fingerprint());
        link.edits = Some(SavedEdits::of(file, edits));
        Ok(())
    })
}

/// Removes the files in the notebook folder's `edits/` that `links.json` does not name (left
/// by a save or a removal that a crash interrupted), and temp files of unfinished writes.
pub fn sweep_unnamed_edits(dir: &Path) -> Result<usize, TableError> {
    let folder = dir.join(edits_file::EDITS_DIR);
    if !folder.is_dir() {
        return Ok(0);
    }
    let named: Vec<String> = read(dir)?
        .into_iter()
        .filter_map(|l| l.edits.map(|e| e.file))
        .collect();
    let mut removed =
        durable::sweep_temp_files(&folder).map_err(|e| TableError::file(&folder, e))?;
    for entry in std::fs::read_dir(&folder).map_err(|e| TableError::file(&folder, e))? {
        let entry = entry.map_err(|e| TableError::file(&folder, e))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if edits_file::is_edits_name(&name) && !named.contains(&name) {
            durable::trace::remove_file(&path).map_err(|e| TableError::file(&path, e))?;
            removed += 1;
        }
    }
    Ok(removed)
}

impl Ledger {
    /// Links `source` (a Parquet file or folder, footers already read) as `table`: written to
    /// `links.json` in the notebook's folder `dir` first, then shown.
    pub fn link(
        &self,
        notebook: NotebookId,
        dir: &Path,
        table: &str,
        linked: LinkedTable,
        metrics: &Metrics,
    ) -> Result<TableInfo, Error> {
        let _commit = self.lock_commit();
        self.link_locked(notebook, dir, table, linked, metrics)
    }

    /// [`Ledger::link`] with the commit lock held.
    fn link_locked(
        &self,
        notebook: NotebookId,
        dir: &Path,
        table: &str,
        linked: LinkedTable,
        metrics: &Metrics,
    ) -> Result<TableInfo, Error> {
        let table = name::validate(table)?;
        // A provider that cannot be made must fail before the link is written.
        linked.provider()?;
        if self.catalog.exists(notebook, &table)
            || self
                .adding
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .any(|(n, t)| *n == notebook && *t == table)
        {
            return Err(TableError::Exists(table).into());
        }
        // Read first: a list that cannot be read stops the link before anything is dropped.
        let mut listed = read(dir)?;
        listed.retain(|l| l.name != table);
        // Entries left by a deleted table of this name must never replay onto this link.
        self.journal.journal_drop(notebook, &table)?;
        // A conversion is named relative to the notebook folder, so the folder can move; the
        // user's files keep their absolute path.
        let (path, remote) = match &linked.remote {
            Some(r) => (PathBuf::new(), Some(RemoteLink::of(r))),
            None => match linked.source.strip_prefix(dir) {
                Ok(inside) if linked.converted => (inside.to_path_buf(), None),
                _ => (linked.source.clone(), None),
            },
        };
        listed.push(Link {
            name: table.clone(),
            path,
            pattern: linked.pattern.as_ref().map(|p| p.as_str().to_string()),
            remote,
            converted: linked.converted,
            origin: linked.origin.clone().filter(|_| linked.converted),
            files: Some(linked.fingerprint()),
            // A link starts with its edits unsaved (a rename saves them right after).
            edits: None,
        });
        write(dir, listed, metrics)?;
        let info = self.catalog.link(notebook, &table, linked)?;
        self.events.emit(EngineEvent::TableAdded {
            notebook,
            table: info.clone(),
        });
        Ok(info)
    }

    /// Removes a link (one that reads, or one whose files are missing): gone from `links.json`,
    /// then from the list. The files are not touched.
    pub fn unlink(
        &self,
        notebook: NotebookId,
        dir: &Path,
        table: &str,
        metrics: &Metrics,
    ) -> Result<(), Error> {
        let _commit = self.lock_commit();
        self.unlink_locked(notebook, dir, table, metrics)
    }

    /// [`Ledger::unlink`] with the commit lock held.
    fn unlink_locked(
        &self,
        notebook: NotebookId,
        dir: &Path,
        table: &str,
        metrics: &Metrics,
    ) -> Result<(), Error> {
        let missing = self.catalog.missing(notebook, table).is_some();
        if self.catalog.linked(notebook, table).is_none() && !missing {
            return Err(TableError::NotFound(table.to_string()).into());
        }
        let mut listed = read(dir)?;
        let saved_edits = listed
            .iter()
            .filter(|l| l.name == table)
            .find_map(|l| l.edits.clone());
        listed.retain(|l| l.name != table);
        write(dir, listed, metrics)?;
        // Unlisted first: a crash before these leaves a file no link names (swept at the next
        // open) and entries `link` drops before a link takes the name.
        if let Some(saved) = saved_edits {
            if let Ok(path) = edits_file::path_in(dir, &saved.file) {
                if let Err(e) = durable::trace::remove_file(&path) {
                    log::warn!(
                        "the edits file {} of a removed link stays: {e}",
                        path.display()
                    );
                }
            }
        }
        if let Err(e) = self.journal.journal_drop(notebook, table) {
            log::warn!("journal entries of the removed link {table} stay: {e}");
        }
        if missing {
            self.catalog.forget_missing(notebook, table);
        } else {
            self.catalog.unlink(notebook, table)?;
        }
        // Its views' scratch files go with it.
        self.views.forget(&notebook.to_string(), Some(table));
        self.events.emit(EngineEvent::TableRemoved {
            notebook,
            table: table.to_string(),
        });
        Ok(())
    }

    /// Reopens the notebook's conversions in its folder `dir` after the folder moved (a
    /// renamed notebook); `links.json` names them relative to it and needs no change.
    pub fn follow_folder(&self, notebook: NotebookId, dir: &Path) -> Result<(), Error> {
        let _commit = self.lock_commit();
        for (table, source) in self.catalog.links(notebook) {
            let Some(old) = self.catalog.linked(notebook, &table) else {
                continue;
            };
            let Some(id) = source.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !old.converted {
                continue;
            }
            let moved = converted_folder(dir, id)?;
            if moved == source {
                continue;
            }
            let mut reopened = LinkedTable::open(&moved)?;
            reopened.converted = true;
            reopened.origin = old.origin.clone();
            reopened.edits = old.edits.carried();
            reopened.saved_edits = AtomicU64::new(old.saved_edits.load(Ordering::SeqCst));
            self.catalog.unlink(notebook, &table)?;
            self.catalog.link(notebook, &table, reopened)?;
        }
        Ok(())
    }

    /// Renames a link (same files, new name).
    pub fn rename_link(
        &self,
        notebook: NotebookId,
        dir: &Path,
        table: &str,
        to: &str,
        metrics: &Metrics,
    ) -> Result<TableInfo, Error> {
        let to = name::validate(to)?;
        // One step under the commit lock: no edit, undo or compaction of the old name lands
        // between its edits being carried and the old name going.
        let _commit = self.lock_commit();
        let old = self
            .catalog
            .linked(notebook, table)
            .ok_or_else(|| TableError::NotFound(table.to_string()))?;
        let mut reopened = old.reopen()?;
        if reopened.fingerprint() != old.fingerprint() && !old.edits.current().is_empty() {
            return Err(TableError::File {
                path: old.source.display().to_string(),
                message: "its files changed since they were linked, so its edits cannot follow a new name; copy the table into the notebook first".into(),
            }
            .into());
        }
        // The edits go with the name: saved under the new one before the old one goes.
        reopened.edits = old.edits.carried();
        let info = self.link_locked(notebook, dir, &to, reopened, metrics)?;
        if let Err(e) = self.save_linked_edits_locked(notebook, dir, &to, metrics) {
            if let Err(undo) = self.unlink_locked(notebook, dir, &to, metrics) {
                log::error!("the half-made rename of {table} to {to} stays listed: {undo}");
            }
            return Err(e);
        }
        self.unlink_locked(notebook, dir, table, metrics)?;
        Ok(info)
    }
}

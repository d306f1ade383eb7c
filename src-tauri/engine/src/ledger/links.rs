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
use crate::tables::{name, LinkedTable, TableError, TableInfo};

/// The file, in a notebook's folder, that lists its links.
pub const LINKS_FILE: &str = "links.json";
const LINKS_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub name: String,
    pub path: PathBuf,
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
    let bytes = serde_json::to_vec_pretty(&LinksFile {
        version: LINKS_VERSION,
        links,
    })
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

/// What opening a folder's links found: the links that opened, by name, and a sentence for
/// each that did not.
pub type OpenedLinks = (Vec<(String, LinkedTable)>, Vec<String>);

/// Opens every link a folder lists: each that opens is returned; each that does not (its
/// files moved, a drive unplugged) is reported as a problem and stays listed in the file.
pub fn open_all(dir: &Path) -> Result<OpenedLinks, TableError> {
    let mut opened = Vec::new();
    let mut problems = Vec::new();
    for link in read(dir)? {
        match LinkedTable::open(&dir.join(&link.path)) {
            Ok(mut table) => {
                // Only Quire's own conversions live inside the notebook folder.
                table.converted = link.path.is_relative();
                opened.push((link.name, table))
            }
            Err(e) => problems.push(format!(
                "the linked table {} cannot be read: {e}",
                link.name
            )),
        }
    }
    Ok((opened, problems))
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
        let table = name::validate(table)?;
        // A provider that cannot be made must fail before the link is written.
        linked.provider()?;
        let _commit = self.lock_commit();
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
        let mut listed = read(dir)?;
        listed.retain(|l| l.name != table);
        // Files inside the notebook's folder (a conversion) are named relative to it, so the
        // notebook folder can move.
        let path = linked
            .source
            .strip_prefix(dir)
            .map_or_else(|_| linked.source.clone(), Path::to_path_buf);
        listed.push(Link {
            name: table.clone(),
            path,
        });
        write(dir, listed, metrics)?;
        let info = self.catalog.link(notebook, &table, linked)?;
        self.events.emit(EngineEvent::TableAdded {
            notebook,
            table: info.clone(),
        });
        Ok(info)
    }

    /// Removes a link: gone from `links.json`, then from the list. The files are not touched.
    pub fn unlink(
        &self,
        notebook: NotebookId,
        dir: &Path,
        table: &str,
        metrics: &Metrics,
    ) -> Result<(), Error> {
        let _commit = self.lock_commit();
        if self.catalog.linked(notebook, table).is_none() {
            return Err(TableError::NotFound(table.to_string()).into());
        }
        let mut listed = read(dir)?;
        listed.retain(|l| l.name != table);
        write(dir, listed, metrics)?;
        self.catalog.unlink(notebook, table)?;
        self.events.emit(EngineEvent::TableRemoved {
            notebook,
            table: table.to_string(),
        });
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
        let old = self
            .catalog
            .linked(notebook, table)
            .ok_or_else(|| TableError::NotFound(table.to_string()))?;
        let mut reopened = LinkedTable::open(&old.source)?;
        reopened.converted = old.converted;
        let info = self.link(notebook, dir, &to, reopened, metrics)?;
        self.unlink(notebook, dir, table, metrics)?;
        Ok(info)
    }
}

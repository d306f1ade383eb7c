//! Notebooks: Quire's documents, an ordered list of SQL and Markdown cells with a title, kept as
//! `<slug>.quire/notebook.json` in the workspace (format in [`model`]).
//!
//! [`Notebooks`] owns every open notebook in memory; the UI edits them only through its
//! methods. Creating one touches no disk (lazy hydration): the folder and file are written on
//! the first flush, the first cell run, or the first batched write after an edit. Edits are
//! batched: each marks the notebook dirty and the background writer ([`writer::run`]) writes it
//! once the edits pause for `flush_delay_ms`, or at the latest `max_wait_ms` after the oldest
//! unsaved edit. With `flush_delay_ms = 0` every edit is written before its call returns; with
//! `auto_flush = false` only [`Notebooks::flush`], [`Notebooks::flush_all`] and shutdown write.
//!
//! Writes are atomic ([`crate::durable`]), check that the file on disk is still the one Quire
//! last saw (content hash), and never touch a file Quire could not read. Between an edit and
//! the write, the edit is in a durable draft ([`drafts`]) before its call returns.

mod config;
pub use config::{NotebookConfig, NotebookMode};

mod disk;
pub mod drafts;
pub mod model;
pub mod naming;
pub mod state;
mod writer;

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use drafts::{Adopted, Draft, DraftStore};
pub use model::{Cell, CellId, CellKind, NotebookId};
pub use naming::{validate_title, MAX_TITLE_CHARS};
pub use state::SaveState;
pub use writer::Written;

use self::disk::Loaded;
use self::model::Document;
use self::naming::same_title;
use self::state::{Entry, Hold};
use crate::code::{ErrorCode, HasCode};
use crate::emit::Emitter;
use crate::metrics::Metrics;
use crate::workspace::Workspace;

#[derive(Debug, thiserror::Error)]
pub enum NotebookError {
    #[error("a notebook needs a title")]
    EmptyTitle,
    #[error("a title can have at most {MAX_TITLE_CHARS} characters")]
    TitleTooLong,
    #[error("a title cannot contain {0:?}")]
    ForbiddenCharacter(char),
    #[error("a notebook named {0:?} already exists")]
    TitleTaken(String),
    #[error("there is no notebook with id {0}")]
    NotFound(NotebookId),
    #[error("there is no notebook named {0:?}")]
    NoSuchNotebook(String),
    #[error("this notebook has no cell with id {0}")]
    CellNotFound(CellId),
    #[error("{0}")]
    Unreadable(String),
    #[error("{0:?} was changed outside Quire: reload it or keep your version")]
    ChangedOnDisk(String),
    #[error("{0}")]
    Io(String),
    /// Neither the draft nor the file could be written: the edit is only in memory.
    #[error("your edit could not be saved ({draft}; writing the notebook file failed too: {write}); it stays in this window, but would be lost if Quire stopped now")]
    NotSaved { draft: String, write: String },
    #[error(transparent)]
    Durable(#[from] crate::durable::DurableError),
    #[error(transparent)]
    Workspace(#[from] crate::workspace::WorkspaceError),
    #[error("this notebook has no connection named {0:?}")]
    ConnectionNotFound(String),
    #[error(transparent)]
    Connection(#[from] crate::remote::RemoteError),
}

impl HasCode for NotebookError {
    fn code(&self) -> ErrorCode {
        match self {
            NotebookError::EmptyTitle
            | NotebookError::TitleTooLong
            | NotebookError::ForbiddenCharacter(_) => ErrorCode::InvalidTitle,
            NotebookError::TitleTaken(_) => ErrorCode::NotebookExists,
            NotebookError::NotFound(_) | NotebookError::NoSuchNotebook(_) => {
                ErrorCode::NotebookNotFound
            }
            NotebookError::CellNotFound(_) => ErrorCode::CellNotFound,
            NotebookError::ConnectionNotFound(_) => ErrorCode::ConnectionNotFound,
            NotebookError::Connection(e) => e.code(),
            NotebookError::Unreadable(_) => ErrorCode::NotebookUnreadable,
            NotebookError::ChangedOnDisk(_) => ErrorCode::NotebookChangedOnDisk,
            NotebookError::Io(_) | NotebookError::NotSaved { .. } => ErrorCode::Io,
            NotebookError::Durable(e) => e.code(),
            NotebookError::Workspace(e) => e.code(),
        }
    }
}

/// What happened to a notebook, for whoever listens (the engine forwards it to the UI).
#[derive(Debug, Clone, PartialEq)]
pub enum NotebookEvent {
    /// A notebook exists now (in memory; it may not be on disk yet).
    Created { notebook: NotebookSummary },
    /// A notebook's title, cells or file changed (rename, reload from disk).
    Changed { notebook: NotebookSummary },
    /// A notebook was deleted (its folder is in the workspace's `.trash`).
    Deleted { notebook: NotebookId },
    /// A notebook's save state changed. `revision` counts its edits; `saved_revision` is the
    /// newest revision known to be durable on disk.
    SaveStatus {
        notebook: NotebookId,
        status: SaveState,
        revision: u64,
        saved_revision: u64,
    },
}

/// What the sidebar shows of a notebook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct NotebookSummary {
    pub id: NotebookId,
    pub title: String,
    pub cell_count: u32,
    /// `notebook.json` exists on disk.
    pub on_disk: bool,
    /// The folder inside the workspace, once one was chosen.
    pub folder: Option<String>,
    pub status: SaveState,
}

/// A whole notebook, for the notebook view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct NotebookView {
    pub summary: NotebookSummary,
    pub cells: Vec<Cell>,
    /// Where the notebook reaches beyond this machine (object storage), without secrets.
    pub connections: Vec<crate::remote::Connection>,
}

/// What the user chose for a notebook that changed on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum DiskChoice {
    /// Replace what is in Quire with the file on disk.
    Reload,
    /// Write Quire's version over the file on disk.
    KeepMine,
}

/// The result of flushing everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct FlushReport {
    /// Notebooks written by this flush.
    pub saved: u32,
    pub failures: Vec<FlushFailure>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct FlushFailure {
    pub notebook: NotebookId,
    pub title: String,
    pub message: String,
}

pub(crate) struct State {
    entries: Vec<Entry>,
    config: NotebookConfig,
    stopping: bool,
}

impl State {
    fn entry(&self, id: NotebookId) -> Result<&Entry, NotebookError> {
        self.entries
            .iter()
            .find(|e| e.id() == id)
            .ok_or(NotebookError::NotFound(id))
    }

    fn entry_mut(&mut self, id: NotebookId) -> Result<&mut Entry, NotebookError> {
        self.entries
            .iter_mut()
            .find(|e| e.id() == id)
            .ok_or(NotebookError::NotFound(id))
    }

    fn title_taken(&self, title: &str, except: Option<NotebookId>) -> bool {
        self.entries
            .iter()
            .any(|e| Some(e.id()) != except && same_title(&e.doc.title, title))
    }
}

pub(crate) struct Shared {
    state: Mutex<State>,
    /// Wakes the background writer when an edit or a config change may move its next deadline.
    wake: Condvar,
    workspace: Workspace,
    metrics: Arc<Metrics>,
    events: Emitter<NotebookEvent>,
    drafts: Option<Arc<dyn DraftStore>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every mutation under this lock leaves the state consistent before anything can panic,
        // so a poisoned lock still holds usable data.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn with_entry<T>(
        &self,
        id: NotebookId,
        f: impl FnOnce(&Entry) -> Result<T, NotebookError>,
    ) -> Result<T, NotebookError> {
        f(self.lock().entry(id)?)
    }

    /// The notebook's draft is of no use any more (deleted, or reloaded from its file).
    fn forget_draft(&self, id: NotebookId) {
        if let Some(drafts) = &self.drafts {
            if let Err(e) = drafts.forget(id) {
                log::warn!("could not drop the draft of notebook {id}: {e}");
            }
        }
    }

    /// Reports the entry's save state if it changed since the last report.
    fn announce(&self, entry: &mut Entry) {
        let status = entry.status();
        if entry.announced.as_ref() != Some(&status) {
            entry.announced = Some(status.clone());
            self.events.emit(NotebookEvent::SaveStatus {
                notebook: entry.id(),
                status,
                revision: entry.revision,
                saved_revision: entry.saved_revision,
            });
        }
    }
}

fn summary(e: &Entry) -> NotebookSummary {
    NotebookSummary {
        id: e.id(),
        title: e.doc.title.clone(),
        cell_count: u32::try_from(e.doc.cells.len()).unwrap_or(u32::MAX),
        on_disk: e.on_disk,
        folder: e.folder.clone(),
        status: e.status(),
    }
}

/// The open notebooks and their background writer.
pub struct Notebooks {
    shared: Arc<Shared>,
    writer: Mutex<Option<JoinHandle<()>>>,
    adopted: Adopted,
}

impl Notebooks {
    /// Loads every notebook folder in the workspace, adopts the drafts a crash left (unsaved
    /// edits come back as unsaved) and starts the background writer. Without a draft store,
    /// edits between writes live only in memory.
    pub fn open(
        workspace: Workspace,
        config: NotebookConfig,
        metrics: Arc<Metrics>,
        events: impl Into<Emitter<NotebookEvent>>,
        drafts: Option<Arc<dyn DraftStore>>,
    ) -> Result<Notebooks, NotebookError> {
        let folders = disk::notebook_folders(workspace.root()).map_err(|e| {
            NotebookError::Io(format!(
                "could not list {}: {e}",
                workspace.root().display()
            ))
        })?;
        let mut entries: Vec<Entry> = Vec::new();
        for folder in folders {
            if let Some(entry) = load_entry(&workspace, &folder, &entries) {
                entries.push(entry);
            }
        }
        log::info!(
            "loaded {} notebooks from {}",
            entries.len(),
            workspace.root().display()
        );
        let adopted = match &drafts {
            Some(store) => {
                let found = store.all().map_err(|e| {
                    NotebookError::Io(format!("could not read the unsaved notebook edits: {e}"))
                })?;
                drafts::adopt(&mut entries, found, store.as_ref())
            }
            None => Adopted::default(),
        };
        if adopted.notebooks > 0 {
            log::warn!(
                "recovered unsaved edits of {} notebooks ({} also changed on disk)",
                adopted.notebooks,
                adopted.conflicts
            );
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                entries,
                config,
                stopping: false,
            }),
            wake: Condvar::new(),
            workspace,
            metrics,
            events: events.into(),
            drafts,
        });
        let thread_shared = shared.clone();
        let writer = std::thread::Builder::new()
            .name("quire-notebook-writer".into())
            .spawn(move || writer::run(thread_shared))
            .map_err(|e| NotebookError::Io(format!("could not start the notebook writer: {e}")))?;
        Ok(Notebooks {
            shared,
            writer: Mutex::new(Some(writer)),
            adopted,
        })
    }

    /// The unsaved edits a crash left that came back at open.
    pub fn adopted(&self) -> Adopted {
        self.adopted
    }

    pub fn config(&self) -> NotebookConfig {
        self.shared.lock().config.clone()
    }

    /// Applies new settings at once; switching to write-through writes what is pending now.
    pub fn set_config(&self, config: NotebookConfig) -> FlushReport {
        let write_through = config.auto_flush && config.flush_delay_ms == 0;
        self.shared.lock().config = config;
        self.shared.wake.notify_all();
        if write_through {
            self.flush_all()
        } else {
            FlushReport::default()
        }
    }

    /// Creates a notebook in memory; with lazy hydration off it is written at once.
    pub fn create(&self, title: &str) -> Result<NotebookSummary, NotebookError> {
        let title = validate_title(title)?;
        let (id, lazy) = {
            let mut st = self.shared.lock();
            if st.title_taken(&title, None) {
                return Err(NotebookError::TitleTaken(title));
            }
            let entry = Entry::new_in_memory(Document::new(title));
            let id = entry.id();
            st.entries.push(entry);
            (id, st.config.lazy_hydration)
        };
        let created = self.summary(id)?;
        self.shared.events.emit(NotebookEvent::Created {
            notebook: created.clone(),
        });
        if !lazy {
            writer::write_one(&self.shared, id)?;
            return self.summary(id);
        }
        self.save_draft(id)?;
        Ok(created)
    }

    /// Every notebook, by title.
    pub fn list(&self) -> Vec<NotebookSummary> {
        let st = self.shared.lock();
        let mut out: Vec<_> = st.entries.iter().map(summary).collect();
        out.sort_by(|a, b| {
            a.title
                .to_lowercase()
                .cmp(&b.title.to_lowercase())
                .then(a.id.cmp(&b.id))
        });
        out
    }

    /// A notebook by id, or by title ignoring case (for scripts and the command line).
    pub fn find(&self, which: &str) -> Result<NotebookSummary, NotebookError> {
        let st = self.shared.lock();
        st.entries
            .iter()
            .find(|e| e.id().to_string() == which.trim())
            .or_else(|| {
                st.entries
                    .iter()
                    .find(|e| same_title(&e.doc.title, which.trim()))
            })
            .map(summary)
            .ok_or_else(|| NotebookError::NoSuchNotebook(which.to_string()))
    }

    pub fn summary(&self, id: NotebookId) -> Result<NotebookSummary, NotebookError> {
        self.shared.with_entry(id, |e| Ok(summary(e)))
    }

    pub fn get(&self, id: NotebookId) -> Result<NotebookView, NotebookError> {
        self.shared.with_entry(id, |e| {
            Ok(NotebookView {
                summary: summary(e),
                cells: e.doc.cells.clone(),
                connections: e.doc.connections.clone(),
            })
        })
    }

    /// The notebook's folder, once it is on disk (tables are saved inside it).
    pub fn folder_path(&self, id: NotebookId) -> Result<Option<std::path::PathBuf>, NotebookError> {
        let root = self.shared.workspace.root().to_path_buf();
        self.shared.with_entry(id, |e| {
            Ok(e.folder
                .as_ref()
                .filter(|_| e.on_disk)
                .map(|f| root.join(f)))
        })
    }

    /// A function that finds a notebook's folder (once on disk) whenever it is called, for
    /// work that writes into its `subfolder` later, after a rename may have moved it.
    pub fn folder_resolver(
        &self,
        subfolder: &'static str,
    ) -> Arc<dyn Fn(NotebookId) -> Option<std::path::PathBuf> + Send + Sync> {
        let shared = self.shared.clone();
        Arc::new(move |id| {
            let folder = shared
                .with_entry(id, |e| Ok(e.folder.clone().filter(|_| e.on_disk)))
                .ok()
                .flatten()?;
            // The work writes into `<folder>/<subfolder>/`: neither may be a link out of the
            // workspace.
            let inner = Path::new(&folder).join(subfolder);
            match shared.workspace.resolve(&inner) {
                Ok(_) => Some(shared.workspace.root().join(folder)),
                Err(e) => {
                    log::warn!("not writing the tables of notebook {id}: {e}");
                    None
                }
            }
        })
    }

    /// One cell, for running it.
    pub fn cell(&self, id: NotebookId, cell: CellId) -> Result<Cell, NotebookError> {
        self.shared.with_entry(id, |e| {
            e.doc
                .cells
                .iter()
                .find(|c| c.id == cell)
                .cloned()
                .ok_or(NotebookError::CellNotFound(cell))
        })
    }

    /// Renames a notebook; a folder on disk follows the new title, never replacing another one.
    pub fn rename(&self, id: NotebookId, title: &str) -> Result<NotebookSummary, NotebookError> {
        let title = validate_title(title)?;
        let write_lock = self.shared.with_entry(id, |e| Ok(e.write_lock.clone()))?;
        let _serialised = write_lock.lock().unwrap_or_else(|p| p.into_inner());
        {
            let mut st = self.shared.lock();
            if st.title_taken(&title, Some(id)) {
                return Err(NotebookError::TitleTaken(title));
            }
            let root = self.shared.workspace.root().to_path_buf();
            let taken: Vec<String> = st
                .entries
                .iter()
                .filter(|e| e.id() != id)
                .filter_map(|e| e.folder.clone())
                .collect();
            let entry = st.entry_mut(id)?;
            if let Some(Hold::Unreadable(m)) = &entry.hold {
                return Err(NotebookError::Unreadable(m.clone()));
            }
            if let Some(old) = entry.folder.clone() {
                let new = naming::free_folder_name(&title, |n| {
                    n != old && (taken.iter().any(|t| t == n) || root.join(n).exists())
                });
                if new != old && root.join(&old).exists() {
                    // Holding the state lock across this rename keeps the writer from choosing
                    // the same name; a rename inside one folder is quick.
                    disk::move_dir(&root, &root.join(&old), &root.join(&new)).map_err(|e| {
                        NotebookError::Io(format!("could not rename the folder {old}: {e}"))
                    })?;
                }
                entry.folder = Some(new);
            }
            entry.doc.title = title;
            entry.mark_edited(Instant::now());
            self.shared.announce(entry);
        }
        drop(_serialised);
        let renamed = self.after_edit(id)?;
        self.shared.events.emit(NotebookEvent::Changed {
            notebook: renamed.clone(),
        });
        Ok(renamed)
    }

    /// Removes a notebook; its folder, if any, moves to the workspace's `.trash`.
    pub fn delete(&self, id: NotebookId) -> Result<(), NotebookError> {
        let write_lock = self.shared.with_entry(id, |e| Ok(e.write_lock.clone()))?;
        let _serialised = write_lock.lock().unwrap_or_else(|p| p.into_inner());
        // The draft goes first: a crash after it leaves the notebook as last written, where a
        // crash after the trash and before it would bring the notebook back from its draft.
        if let Some(drafts) = &self.shared.drafts {
            drafts.forget(id).map_err(|e| {
                NotebookError::Io(format!(
                    "could not delete the notebook's unsaved edits: {e}"
                ))
            })?;
        }
        let mut st = self.shared.lock();
        let folder = st.entry(id)?.folder.clone();
        let root = self.shared.workspace.root();
        if let Some(folder) = folder.filter(|f| root.join(f).exists()) {
            let to = disk::trash(root, &folder).map_err(|e| {
                NotebookError::Io(format!("could not move {folder} to the trash: {e}"))
            })?;
            log::info!("moved notebook {id} to {}", to.display());
        }
        st.entries.retain(|e| e.id() != id);
        drop(st);
        self.shared
            .events
            .emit(NotebookEvent::Deleted { notebook: id });
        Ok(())
    }

    /// A copy with new ids and a free "<title> copy" title, in memory until written.
    pub fn duplicate(&self, id: NotebookId) -> Result<NotebookSummary, NotebookError> {
        let (doc, lazy) = {
            let st = self.shared.lock();
            let source = st.entry(id)?;
            let base = format!("{} copy", source.doc.title);
            let title = std::iter::once(base.clone())
                .chain((2..).map(|n| format!("{base} {n}")))
                .find(|t| !st.title_taken(t, None))
                .expect("an unbounded range always finds a free title");
            let title = validate_title(&title)
                .unwrap_or_else(|_| format!("Copy {}", Uuid::now_v7().simple()));
            let mut doc = Document::new(title);
            doc.cells = source
                .doc
                .cells
                .iter()
                .map(|c| Cell {
                    id: CellId(Uuid::now_v7()),
                    // The copy has no connections: its cells run here.
                    runs_on: None,
                    ..c.clone()
                })
                .collect();
            (doc, st.config.lazy_hydration)
        };
        let new_id = doc.id;
        {
            let mut entry = Entry::new_in_memory(doc);
            // A copy with content is an edit worth saving: the batched writer will hydrate it.
            if !entry.doc.cells.is_empty() {
                entry.mark_edited(Instant::now());
            }
            self.shared.lock().entries.push(entry);
        }
        self.shared.events.emit(NotebookEvent::Created {
            notebook: self.summary(new_id)?,
        });
        if !lazy {
            writer::write_one(&self.shared, new_id)?;
        }
        self.after_edit(new_id)
    }

    pub fn add_cell(
        &self,
        id: NotebookId,
        kind: CellKind,
        index: Option<u32>,
        source: String,
    ) -> Result<Cell, NotebookError> {
        self.edit(id, |doc| {
            let cell = Cell {
                id: CellId(Uuid::now_v7()),
                kind,
                source,
                runs_on: None,
            };
            let at = index.map_or(doc.cells.len(), |i| (i as usize).min(doc.cells.len()));
            doc.cells.insert(at, cell.clone());
            Ok(cell)
        })
    }

    /// The notebook's connections.
    pub fn connections(
        &self,
        id: NotebookId,
    ) -> Result<Vec<crate::remote::Connection>, NotebookError> {
        self.shared
            .with_entry(id, |e| Ok(e.doc.connections.clone()))
    }

    /// The notebook's connection of that name.
    pub fn connection(
        &self,
        id: NotebookId,
        name: &str,
    ) -> Result<crate::remote::Connection, NotebookError> {
        self.shared.with_entry(id, |e| {
            e.doc
                .connections
                .iter()
                .find(|c| c.name == name)
                .cloned()
                .ok_or_else(|| NotebookError::ConnectionNotFound(name.to_string()))
        })
    }

    /// Adds a connection, or replaces the one of the same name; checked first (a malformed
    /// endpoint is refused in words, nothing is sent).
    pub fn save_connection(
        &self,
        id: NotebookId,
        connection: crate::remote::Connection,
    ) -> Result<(), NotebookError> {
        connection.validate()?;
        self.edit(id, |doc| {
            match doc
                .connections
                .iter_mut()
                .find(|c| c.name == connection.name)
            {
                Some(existing) => *existing = connection.clone(),
                None => doc.connections.push(connection.clone()),
            }
            // A cluster replaced by another kind of connection: its cells run here again.
            if connection.kind != crate::remote::ConnectionKind::Ballista {
                for cell in &mut doc.cells {
                    if cell.runs_on.as_deref() == Some(connection.name.as_str()) {
                        cell.runs_on = None;
                    }
                }
            }
            Ok(())
        })
    }

    /// Removes a connection. Tables linked through it keep reading: each link keeps the
    /// settings it was made with.
    pub fn remove_connection(&self, id: NotebookId, name: &str) -> Result<(), NotebookError> {
        self.edit(id, |doc| {
            let before = doc.connections.len();
            doc.connections.retain(|c| c.name != name);
            if doc.connections.len() == before {
                return Err(NotebookError::ConnectionNotFound(name.to_string()));
            }
            // Cells that ran on a cluster now gone run here again.
            for cell in &mut doc.cells {
                if cell.runs_on.as_deref() == Some(name) {
                    cell.runs_on = None;
                }
            }
            Ok(())
        })
    }

    pub fn update_cell(
        &self,
        id: NotebookId,
        cell: CellId,
        source: String,
    ) -> Result<(), NotebookError> {
        self.edit(id, |doc| {
            find_cell(doc, cell)?.source = source;
            Ok(())
        })
    }

    pub fn set_cell_kind(
        &self,
        id: NotebookId,
        cell: CellId,
        kind: CellKind,
    ) -> Result<(), NotebookError> {
        self.edit(id, |doc| {
            let cell = find_cell(doc, cell)?;
            cell.kind = kind;
            // Only a SQL cell runs on a cluster (and its menu is gone with the kind).
            if kind != CellKind::Sql {
                cell.runs_on = None;
            }
            Ok(())
        })
    }

    /// Where a SQL cell runs: on the cluster connection `on`, or on this machine (none).
    pub fn set_cell_runs_on(
        &self,
        id: NotebookId,
        cell: CellId,
        on: Option<String>,
    ) -> Result<(), NotebookError> {
        self.edit(id, |doc| {
            if let Some(name) = &on {
                let connection = doc
                    .connections
                    .iter()
                    .find(|c| &c.name == name)
                    .ok_or_else(|| NotebookError::ConnectionNotFound(name.clone()))?;
                connection.cluster()?;
            }
            let target = find_cell(doc, cell)?;
            if on.is_some() && target.kind != CellKind::Sql {
                return Err(NotebookError::from(crate::remote::RemoteError::Invalid {
                    what: "this cell".into(),
                    why: "only a SQL cell runs on a cluster".into(),
                }));
            }
            target.runs_on = on;
            Ok(())
        })
    }

    pub fn delete_cell(&self, id: NotebookId, cell: CellId) -> Result<(), NotebookError> {
        self.edit(id, |doc| {
            let at = doc
                .cells
                .iter()
                .position(|c| c.id == cell)
                .ok_or(NotebookError::CellNotFound(cell))?;
            doc.cells.remove(at);
            Ok(())
        })
    }

    /// Moves a cell so that it ends up at `to` (clamped to the end).
    pub fn move_cell(&self, id: NotebookId, cell: CellId, to: u32) -> Result<(), NotebookError> {
        self.edit(id, |doc| {
            let from = doc
                .cells
                .iter()
                .position(|c| c.id == cell)
                .ok_or(NotebookError::CellNotFound(cell))?;
            let moved = doc.cells.remove(from);
            let to = (to as usize).min(doc.cells.len());
            doc.cells.insert(to, moved);
            Ok(())
        })
    }

    /// Writes one notebook now (hydrating it if it was never written).
    pub fn flush(&self, id: NotebookId) -> Result<Written, NotebookError> {
        writer::write_one(&self.shared, id)
    }

    /// Writes every notebook with unsaved edits or never written; reports each failure.
    pub fn flush_all(&self) -> FlushReport {
        let targets: Vec<NotebookId> = {
            let st = self.shared.lock();
            st.entries
                .iter()
                .filter(|e| e.dirty() || (!e.on_disk && e.hold.is_none()))
                .map(Entry::id)
                .collect()
        };
        let mut report = FlushReport::default();
        for id in targets {
            match writer::write_one(&self.shared, id) {
                Ok(Written::Yes) => report.saved += 1,
                Ok(Written::AlreadySaved) | Err(NotebookError::NotFound(_)) => {}
                Err(e) => {
                    let title = self.summary(id).map(|s| s.title).unwrap_or_default();
                    report.failures.push(FlushFailure {
                        notebook: id,
                        title,
                        message: e.to_string(),
                    });
                }
            }
        }
        report
    }

    /// Compares every notebook file with what Quire last saw. A clean notebook whose file
    /// changed is reloaded; one with unsaved edits waits for the user's [`DiskChoice`]. New
    /// notebook folders are loaded. Returns the notebooks that changed.
    pub fn check_disk(&self) -> Vec<NotebookId> {
        let root = self.shared.workspace.root().to_path_buf();
        let mut changed = Vec::new();
        let mut st = self.shared.lock();
        for entry in st
            .entries
            .iter_mut()
            .filter(|e| e.on_disk && e.hold.is_none() && !e.writing)
        {
            let Some(folder) = entry.folder.clone() else {
                continue;
            };
            let current = match disk::read_current(&root.join(&folder)) {
                Ok(current) => current,
                // A file that would not read is not a file someone changed: look again later.
                Err(e) => {
                    log::warn!("notebook {folder} could not be read to check it: {e}");
                    continue;
                }
            };
            if current.as_ref().map(|b| blake3::hash(b)) == entry.disk_hash {
                continue;
            }
            changed.push(entry.id());
            log::info!("notebook {} ({folder}) changed on disk", entry.id());
            match (entry.dirty(), current) {
                (false, Some(bytes)) => {
                    reload_from(entry, &bytes);
                    self.shared.forget_draft(entry.id());
                }
                _ => entry.hold = Some(Hold::ChangedOnDisk),
            }
            self.shared.announce(entry);
            self.shared.events.emit(NotebookEvent::Changed {
                notebook: summary(entry),
            });
        }
        let known: Vec<String> = st.entries.iter().filter_map(|e| e.folder.clone()).collect();
        for folder in disk::notebook_folders(&root).unwrap_or_default() {
            if known.contains(&folder) {
                continue;
            }
            if let Some(entry) = load_entry(&self.shared.workspace, &folder, &st.entries) {
                changed.push(entry.id());
                self.shared.events.emit(NotebookEvent::Created {
                    notebook: summary(&entry),
                });
                st.entries.push(entry);
            }
        }
        changed
    }

    /// Settles a notebook that changed on disk.
    pub fn resolve_disk_change(
        &self,
        id: NotebookId,
        choice: DiskChoice,
    ) -> Result<NotebookSummary, NotebookError> {
        let root = self.shared.workspace.root().to_path_buf();
        {
            let mut st = self.shared.lock();
            let entry = st.entry_mut(id)?;
            let dir = root.join(entry.folder.clone().unwrap_or_default());
            let current = disk::read_current(&dir).map_err(|e| NotebookError::Io(e.to_string()))?;
            match choice {
                DiskChoice::Reload => match current {
                    Some(bytes) => {
                        if let Loaded::Unreadable { message } = disk::parse(&bytes) {
                            return Err(NotebookError::Unreadable(message));
                        }
                        reload_from(entry, &bytes);
                        self.shared.forget_draft(id);
                    }
                    None => {
                        drop(st);
                        self.shared.forget_draft(id);
                        self.shared.lock().entries.retain(|e| e.id() != id);
                        self.shared
                            .events
                            .emit(NotebookEvent::Deleted { notebook: id });
                        return Err(NotebookError::NotFound(id));
                    }
                },
                DiskChoice::KeepMine => {
                    entry.hold = None;
                    entry.disk_hash = current.as_ref().map(|b| blake3::hash(b));
                    entry.mark_edited(Instant::now());
                }
            }
            self.shared.announce(entry);
        }
        if choice == DiskChoice::KeepMine {
            writer::write_one(&self.shared, id)?;
        }
        let s = self.summary(id)?;
        self.shared.events.emit(NotebookEvent::Changed {
            notebook: s.clone(),
        });
        Ok(s)
    }

    /// Stops the background writer and writes everything pending. Idempotent.
    pub fn shutdown(&self) -> FlushReport {
        self.shared.lock().stopping = true;
        self.shared.wake.notify_all();
        let handle = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(handle) = handle {
            if handle.join().is_err() {
                log::error!("the notebook writer thread panicked");
            }
        }
        self.flush_all()
    }

    fn edit<T>(
        &self,
        id: NotebookId,
        change: impl FnOnce(&mut Document) -> Result<T, NotebookError>,
    ) -> Result<T, NotebookError> {
        let out = {
            let mut st = self.shared.lock();
            let entry = st.entry_mut(id)?;
            if let Some(Hold::Unreadable(m)) = &entry.hold {
                return Err(NotebookError::Unreadable(m.clone()));
            }
            let out = change(&mut entry.doc)?;
            entry.mark_edited(Instant::now());
            self.shared.announce(entry);
            out
        };
        self.after_edit(id)?;
        Ok(out)
    }

    /// Write-through mode writes before returning; otherwise the background writer is woken
    /// and the edit is made durable as a draft before returning.
    fn after_edit(&self, id: NotebookId) -> Result<NotebookSummary, NotebookError> {
        let write_through = {
            let st = self.shared.lock();
            st.config.auto_flush && st.config.flush_delay_ms == 0
        };
        if write_through {
            writer::write_one(&self.shared, id)?;
        } else {
            self.shared.wake.notify_all();
            self.save_draft(id)?;
        }
        self.summary(id)
    }

    /// Makes the notebook's current state durable as its draft. If the draft store fails, the
    /// notebook file is written now instead; only when both fail is the edit unacknowledged.
    fn save_draft(&self, id: NotebookId) -> Result<(), NotebookError> {
        let Some(store) = &self.shared.drafts else {
            return Ok(());
        };
        let draft = self.shared.with_entry(id, |e| Ok(drafts::capture(e)))?;
        let Err(draft_error) = store.save(draft) else {
            return Ok(());
        };
        log::error!("the draft of notebook {id} could not be saved: {draft_error}");
        match writer::write_one(&self.shared, id) {
            Ok(_) => Ok(()),
            Err(e) => Err(NotebookError::NotSaved {
                draft: draft_error,
                write: e.to_string(),
            }),
        }
    }
}

impl Drop for Notebooks {
    fn drop(&mut self) {
        let report = self.shutdown();
        if !report.failures.is_empty() {
            log::error!(
                "{} notebooks could not be saved at shutdown",
                report.failures.len()
            );
        }
    }
}

fn find_cell(doc: &mut Document, cell: CellId) -> Result<&mut Cell, NotebookError> {
    doc.cells
        .iter_mut()
        .find(|c| c.id == cell)
        .ok_or(NotebookError::CellNotFound(cell))
}

fn reload_from(entry: &mut Entry, bytes: &[u8]) {
    match disk::parse(bytes) {
        Loaded::Ok { doc, hash } => {
            // Keep the id Quire knows the notebook by, whatever the file says.
            entry.doc = Document {
                id: entry.id(),
                ..doc
            };
            entry.disk_hash = Some(hash);
            entry.saved_revision = entry.revision;
            entry.pending_since = None;
            entry.hold = None;
            entry.failure = None;
        }
        Loaded::Unreadable { message } => entry.hold = Some(Hold::Unreadable(message)),
        Loaded::Empty => entry.hold = Some(Hold::ChangedOnDisk),
    }
}

/// Reads one folder into an entry; a duplicate id (a copied folder) gets a fresh one.
fn load_entry(workspace: &Workspace, folder: &str, existing: &[Entry]) -> Option<Entry> {
    let dir = workspace.root().join(folder);
    let stem = folder.trim_end_matches(naming::FOLDER_SUFFIX).to_string();
    match disk::load(&dir) {
        Loaded::Ok { doc, hash } => {
            let mut entry = Entry::loaded(doc, folder.to_string(), hash);
            if existing.iter().any(|e| e.id() == entry.id()) {
                log::warn!("{folder} has the id of another notebook; giving it a new one");
                entry.doc.id = NotebookId(Uuid::now_v7());
                entry.mark_edited(Instant::now());
            }
            Some(entry)
        }
        Loaded::Unreadable { message } => {
            log::warn!("{folder}: {message}");
            Some(Entry::unreadable(
                Document::new(stem),
                folder.to_string(),
                message,
            ))
        }
        Loaded::Empty => None,
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
pub(crate) mod tests_support {
    /// The notebook folders directly under `root`, sorted; none when it does not exist.
    pub fn folders(root: &std::path::Path) -> Vec<String> {
        super::disk::notebook_folders(root).unwrap_or_default()
    }
}

//! The tables of every open notebook, and each notebook's SQL session.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use datafusion::arrow::record_batch::RecordBatch;

use super::limits::Limits;
use super::linked::LinkedTable;
use super::sql::SqlSession;
use super::table::{TableInfo, TableVersion};
use super::{name, TableError};
use crate::ids::NotebookId;

struct NotebookTables {
    tables: RwLock<BTreeMap<String, Arc<TableVersion>>>,
    /// Tables read where they lie. Names are unique across the three maps.
    linked: RwLock<BTreeMap<String, Arc<LinkedTable>>>,
    /// Links whose files could not be read when the notebook opened: listed (so the user can
    /// remove them) but not queryable.
    missing: RwLock<BTreeMap<String, MissingLink>>,
    sql: SqlSession,
    /// Whether the tables saved in the notebook's folder were read (they load on first use).
    loaded: Mutex<bool>,
    /// Databases attached through the notebook's connections, by connection name.
    #[cfg(feature = "postgres")]
    databases: Mutex<BTreeMap<String, Arc<crate::remote::AttachedDatabase>>>,
}

/// Every notebook's tables. Lookups clone an `Arc`, so no lock is held while a query runs.
#[derive(Default)]
pub struct Catalog {
    notebooks: Mutex<HashMap<NotebookId, Arc<NotebookTables>>>,
    limits: Limits,
}

impl Catalog {
    pub fn new(limits: Limits) -> Catalog {
        Catalog {
            notebooks: Mutex::default(),
            limits,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn of(&self, notebook: NotebookId) -> Arc<NotebookTables> {
        let mut map = self.notebooks.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(notebook)
            .or_insert_with(|| {
                Arc::new(NotebookTables {
                    tables: RwLock::default(),
                    linked: RwLock::default(),
                    missing: RwLock::default(),
                    sql: SqlSession::new(&self.limits),
                    loaded: Mutex::new(false),
                    #[cfg(feature = "postgres")]
                    databases: Mutex::default(),
                })
            })
            .clone()
    }

    /// Loads the notebook's saved tables and links with `load` the first time its tables are
    /// needed.
    pub fn ensure_loaded<E: From<TableError>>(
        &self,
        notebook: NotebookId,
        load: impl FnOnce() -> Result<Loaded, E>,
    ) -> Result<(), E> {
        let nb = self.of(notebook);
        let mut loaded = nb.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if *loaded {
            return Ok(());
        }
        let Loaded {
            tables,
            links,
            missing,
        } = load()?;
        nb.missing
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .extend(missing);
        for (name, version) in tables {
            nb.sql.register(&name, &version)?;
            nb.tables
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(name, Arc::new(version));
        }
        for (name, linked) in links {
            let linked = Arc::new(linked);
            nb.sql.register_provider(&name, linked.sql_provider()?)?;
            self.register_store(&linked);
            nb.linked
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(name, linked);
        }
        *loaded = true;
        Ok(())
    }

    /// Attaches the notebook's database connections (`connections`: each one's name and
    /// settings) to its SQL as they are now: a new one attached, one gone detached, one whose
    /// settings changed attached afresh; an unchanged one keeps its open connections. Nothing
    /// is sent: each connects on first use.
    #[cfg(feature = "postgres")]
    pub fn sync_databases(
        &self,
        notebook: NotebookId,
        connections: &[(String, crate::remote::PostgresConnection)],
    ) {
        let nb = self.of(notebook);
        let mut attached = nb.databases.lock().unwrap_or_else(|p| p.into_inner());
        attached.retain(|name, _| {
            let kept = connections.iter().any(|(n, _)| n == name);
            if !kept {
                nb.sql.detach(name);
            }
            kept
        });
        for (name, settings) in connections {
            if attached.get(name).map(|d| d.settings()) != Some(settings) {
                let database = Arc::new(crate::remote::AttachedDatabase::new(settings.clone()));
                nb.sql.attach(name, database.clone());
                attached.insert(name.clone(), database);
            }
        }
    }

    /// The database attached under connection `name`, if one is.
    #[cfg(feature = "postgres")]
    pub fn database(
        &self,
        notebook: NotebookId,
        name: &str,
    ) -> Option<Arc<crate::remote::AttachedDatabase>> {
        let nb = self.of(notebook);
        let attached = nb.databases.lock().unwrap_or_else(|p| p.into_inner());
        attached.get(name).cloned()
    }

    /// Adds a linked table; refuses a name that is invalid or already taken in this notebook.
    pub fn link(
        &self,
        notebook: NotebookId,
        table: &str,
        linked: LinkedTable,
    ) -> Result<TableInfo, TableError> {
        let table = name::validate(table)?;
        let nb = self.of(notebook);
        let tables = nb.tables.read().unwrap_or_else(|p| p.into_inner());
        let mut links = nb.linked.write().unwrap_or_else(|p| p.into_inner());
        if tables.contains_key(&table)
            || links.contains_key(&table)
            || self.missing(notebook, &table).is_some()
        {
            return Err(TableError::Exists(table));
        }
        let linked = Arc::new(linked);
        nb.sql.register_provider(&table, linked.sql_provider()?)?;
        self.register_store(&linked);
        let info = linked.info(&table);
        links.insert(table, linked);
        Ok(info)
    }

    /// Makes a remote link's store known under its own address. Every session runs in the one
    /// runtime, so each of them (SQL, views, profiles) reaches it.
    fn register_store(&self, linked: &LinkedTable) {
        if let Some(remote) = &linked.remote {
            self.limits
                .runtime()
                .register_object_store(&remote.registered, remote.store.clone());
        }
    }

    /// The linked table of that name, if the name is a link.
    pub fn linked(&self, notebook: NotebookId, table: &str) -> Option<Arc<LinkedTable>> {
        self.of(notebook)
            .linked
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(table)
            .cloned()
    }

    /// Every link of every open notebook.
    pub fn all_links(&self) -> Vec<(NotebookId, String, Arc<LinkedTable>)> {
        let notebooks: Vec<(NotebookId, Arc<NotebookTables>)> = self
            .notebooks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(id, nb)| (*id, nb.clone()))
            .collect();
        let mut all = Vec::new();
        for (id, nb) in notebooks {
            let links = nb.linked.read().unwrap_or_else(|p| p.into_inner());
            all.extend(links.iter().map(|(name, l)| (id, name.clone(), l.clone())));
        }
        all
    }

    /// Every link of the notebook: name and source, in name order.
    pub fn links(&self, notebook: NotebookId) -> Vec<(String, std::path::PathBuf)> {
        self.of(notebook)
            .linked
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(name, t)| (name.clone(), t.source.clone()))
            .collect()
    }

    /// Forgets a link (the linked files stay as they are).
    pub fn unlink(&self, notebook: NotebookId, table: &str) -> Result<(), TableError> {
        let nb = self.of(notebook);
        let mut links = nb.linked.write().unwrap_or_else(|p| p.into_inner());
        let gone = links
            .remove(table)
            .ok_or_else(|| TableError::NotFound(table.to_string()))?;
        if let Some(remote) = &gone.remote {
            let _ = self
                .limits
                .runtime()
                .deregister_object_store(&remote.registered);
        }
        nb.sql.deregister(table)
    }

    /// Adds a new table; refuses a name that is invalid or already taken in this notebook.
    pub fn add(
        &self,
        notebook: NotebookId,
        table: &str,
        version: TableVersion,
    ) -> Result<TableInfo, TableError> {
        let table = name::validate(table)?;
        let nb = self.of(notebook);
        let mut tables = nb.tables.write().unwrap_or_else(|p| p.into_inner());
        let links = nb.linked.read().unwrap_or_else(|p| p.into_inner());
        if tables.contains_key(&table)
            || links.contains_key(&table)
            || self.missing(notebook, &table).is_some()
        {
            return Err(TableError::Exists(table));
        }
        nb.sql.register(&table, &version)?;
        let info = version.info(&table);
        tables.insert(table, Arc::new(version));
        Ok(info)
    }

    pub fn exists(&self, notebook: NotebookId, table: &str) -> bool {
        let nb = self.of(notebook);
        let held = nb
            .tables
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(table);
        held || nb
            .linked
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(table)
            || nb
                .missing
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .contains_key(table)
    }

    /// Bytes of the current versions of every notebook's tables held in memory (arrays shared
    /// between tables counted once).
    pub fn held_bytes(&self) -> u64 {
        let notebooks: Vec<Arc<NotebookTables>> = self
            .notebooks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        let mut versions = Vec::new();
        for nb in &notebooks {
            let tables = nb.tables.read().unwrap_or_else(|p| p.into_inner());
            versions.extend(tables.values().cloned());
        }
        let edits: u64 = notebooks
            .iter()
            .flat_map(|nb| {
                let links = nb.linked.read().unwrap_or_else(|p| p.into_inner());
                links
                    .values()
                    .map(|l| l.edits.memory_bytes())
                    .collect::<Vec<_>>()
            })
            .sum();
        crate::tables::history::distinct_bytes(versions.iter().map(|v| v.as_ref())) + edits
    }

    /// Every table, held and linked, in name order.
    pub fn list(&self, notebook: NotebookId) -> Vec<TableInfo> {
        let nb = self.of(notebook);
        let mut all: Vec<TableInfo> = {
            let tables = nb.tables.read().unwrap_or_else(|p| p.into_inner());
            tables.iter().map(|(name, v)| v.info(name)).collect()
        };
        let links = nb.linked.read().unwrap_or_else(|p| p.into_inner());
        all.extend(links.iter().map(|(name, t)| t.info(name)));
        let missing = nb.missing.read().unwrap_or_else(|p| p.into_inner());
        all.extend(missing.iter().map(|(name, m)| m.info(name)));
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// A link listed but unreadable since the notebook opened.
    pub fn missing(&self, notebook: NotebookId, table: &str) -> Option<MissingLink> {
        self.of(notebook)
            .missing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(table)
            .cloned()
    }

    /// Forgets a missing link; false when there is none of that name.
    pub fn forget_missing(&self, notebook: NotebookId, table: &str) -> bool {
        self.of(notebook)
            .missing
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(table)
            .is_some()
    }

    pub fn version(
        &self,
        notebook: NotebookId,
        table: &str,
    ) -> Result<Arc<TableVersion>, TableError> {
        let nb = self.of(notebook);
        let tables = nb.tables.read().unwrap_or_else(|p| p.into_inner());
        if let Some(version) = tables.get(table) {
            return Ok(version.clone());
        }
        // Everything that asks for a version changes or copies the table's batches, which a
        // linked table does not have in memory.
        let links = nb.linked.read().unwrap_or_else(|p| p.into_inner());
        if let Some(missing) = self.missing(notebook, table) {
            return Err(missing.error(table));
        }
        match links.get(table) {
            Some(linked) => Err(TableError::Linked {
                table: table.to_string(),
                path: linked.source.display().to_string(),
            }),
            None => Err(TableError::NotFound(table.to_string())),
        }
    }

    /// Makes `version` the table's current version (an edit, a restore). Refused when the
    /// table changed since `expected` was read, so two writers cannot lose each other's edit.
    pub fn replace(
        &self,
        notebook: NotebookId,
        table: &str,
        expected: u64,
        version: TableVersion,
    ) -> Result<Arc<TableVersion>, TableError> {
        let nb = self.of(notebook);
        let mut tables = nb.tables.write().unwrap_or_else(|p| p.into_inner());
        let current = tables
            .get(table)
            .ok_or_else(|| TableError::NotFound(table.to_string()))?;
        if current.version != expected {
            return Err(TableError::Persist(format!(
                "table {table} changed while the edit was prepared; try again"
            )));
        }
        nb.sql.register(table, &version)?;
        let version = Arc::new(version);
        tables.insert(table.to_string(), version.clone());
        Ok(version)
    }

    pub fn remove(&self, notebook: NotebookId, table: &str) -> Result<(), TableError> {
        let nb = self.of(notebook);
        let mut tables = nb.tables.write().unwrap_or_else(|p| p.into_inner());
        tables
            .remove(table)
            .ok_or_else(|| TableError::NotFound(table.to_string()))?;
        nb.sql.deregister(table)
    }

    /// Runs SQL against the notebook's tables.
    pub async fn query(
        &self,
        notebook: NotebookId,
        sql: &str,
    ) -> Result<Vec<RecordBatch>, TableError> {
        let result = self.of(notebook).sql.run(sql).await;
        result.map_err(|e| self.explain_missing(notebook, e))
    }

    /// A query that names a missing link hears why it cannot be read, not that no such table
    /// exists.
    fn explain_missing(&self, notebook: NotebookId, e: TableError) -> TableError {
        let TableError::Sql { message, .. } = &e else {
            return e;
        };
        let Some(unknown) = super::sql::unknown_table(message) else {
            return e;
        };
        let missing = self
            .of(notebook)
            .missing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some((name, m)) = missing.iter().find(|(name, _)| name.as_str() == unknown) {
            return m.error(name);
        }
        // A table named almost so (`stock` for `stocks`): said, as a column's is.
        let unknown = unknown.to_lowercase();
        let closest = self
            .list(notebook)
            .into_iter()
            .map(|t| {
                let distance = datafusion::common::utils::datafusion_strsim::levenshtein(
                    &unknown,
                    &t.name.to_lowercase(),
                );
                (distance, t.name)
            })
            .filter(|(distance, name)| *distance <= (name.chars().count() / 3).max(1))
            .min();
        match (e, closest) {
            (
                TableError::Sql {
                    message,
                    line,
                    column,
                },
                Some((_, guess)),
            ) => TableError::Sql {
                message: format!(
                    "{message}: did you mean {}?",
                    match guess
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    {
                        true => guess.clone(),
                        false => super::sql::ident(&guess),
                    }
                ),
                line,
                column,
            },
            (e, _) => e,
        }
    }

    /// Runs SQL and returns the result's schema with its batches (the schema even when empty).
    pub async fn result(
        &self,
        notebook: NotebookId,
        sql: &str,
    ) -> Result<(datafusion::arrow::datatypes::SchemaRef, Vec<RecordBatch>), TableError> {
        let result = self
            .of(notebook)
            .sql
            .run_with_schema(sql, &|_| {}, &tokio_util::sync::CancellationToken::new())
            .await;
        result.map_err(|e| self.explain_missing(notebook, e))
    }

    /// Runs `sql`, its rows going to `sink` as they come (an export of a result bigger than
    /// memory).
    pub async fn result_into(
        &self,
        notebook: NotebookId,
        sql: &str,
        sink: &mut dyn super::export::RowSink,
    ) -> Result<(), TableError> {
        let result = self
            .of(notebook)
            .sql
            .run_into(
                sql,
                &|_| {},
                &tokio_util::sync::CancellationToken::new(),
                sink,
            )
            .await;
        result.map_err(|e| self.explain_missing(notebook, e))
    }

    /// Runs SQL with progress (rows so far) and cancellation.
    pub async fn query_cancellable(
        &self,
        notebook: NotebookId,
        sql: &str,
        on_rows: &(dyn Fn(u64) + Send + Sync),
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Result<Vec<RecordBatch>, TableError> {
        let nb = self.of(notebook);
        let result = nb.sql.run_cancellable(sql, on_rows, cancel).await;
        result.map_err(|e| self.explain_missing(notebook, e))
    }

    /// [`Catalog::query_cancellable`], with what the user may not expect of the answer (a
    /// whole-number division).
    pub async fn query_noted(
        &self,
        notebook: NotebookId,
        sql: &str,
        on_rows: &(dyn Fn(u64) + Send + Sync),
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Result<(Vec<RecordBatch>, Vec<String>), TableError> {
        let nb = self.of(notebook);
        let result = nb.sql.run_noted(sql, on_rows, cancel).await;
        result.map_err(|e| self.explain_missing(notebook, e))
    }

    /// The notebook's SQL session, for work that plans its own queries (charts).
    pub fn session(&self, notebook: NotebookId) -> Session {
        Session(self.of(notebook))
    }

    /// Forgets a notebook's tables (the notebook was deleted).
    pub fn forget(&self, notebook: NotebookId) {
        let gone = self
            .notebooks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&notebook);
        // Its remote links' stores go with it (the address is the link's alone).
        for linked in gone.iter().flat_map(|nb| {
            nb.linked
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .values()
                .cloned()
                .collect::<Vec<_>>()
        }) {
            if let Some(remote) = &linked.remote {
                let _ = self
                    .limits
                    .runtime()
                    .deregister_object_store(&remote.registered);
            }
        }
    }
}

/// What a notebook's folder holds: its saved tables (journal replayed) and its links.
#[derive(Default)]
pub struct Loaded {
    pub tables: Vec<(String, TableVersion)>,
    pub links: Vec<(String, LinkedTable)>,
    pub missing: Vec<(String, MissingLink)>,
}

/// A link whose files could not be read (moved, deleted, a drive not plugged in).
#[derive(Debug, Clone, PartialEq)]
pub struct MissingLink {
    pub path: std::path::PathBuf,
    /// Why, in words.
    pub reason: String,
    /// Whether the files were Quire's copy in the notebook's folder (a conversion), and of
    /// what, when that is known.
    pub converted: bool,
    pub origin: Option<String>,
}

impl MissingLink {
    pub fn info(&self, name: &str) -> TableInfo {
        TableInfo {
            name: name.to_string(),
            version: 1,
            rows: 0,
            columns: Vec::new(),
            memory_bytes: 0,
            linked: Some(self.path.display().to_string()),
            converted: self.converted,
            origin: self.origin.clone(),
            missing: Some(self.reason.clone()),
        }
    }

    /// What reading it answers.
    pub fn error(&self, table: &str) -> TableError {
        TableError::File {
            path: self.path.display().to_string(),
            message: format!("{} (the linked table {table})", self.reason),
        }
    }
}

/// One notebook's [`SqlSession`], kept alive while a caller plans and runs on it.
pub struct Session(Arc<NotebookTables>);

impl std::ops::Deref for Session {
    type Target = SqlSession;

    fn deref(&self) -> &SqlSession {
        &self.0.sql
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::{ErrorCode, HasCode};

    #[tokio::test]
    async fn tables_are_per_notebook() {
        let c = Catalog::default();
        let (a, b) = (NotebookId(Uuid::now_v7()), NotebookId(Uuid::now_v7()));
        c.add(a, "numbers", super::super::table::tests::numbers(10, 4))
            .unwrap();
        assert_eq!(
            c.add(a, "numbers", super::super::table::tests::numbers(1, 1))
                .unwrap_err()
                .code(),
            ErrorCode::TableExists
        );
        assert_eq!(
            c.add(a, "Bad Name", super::super::table::tests::numbers(1, 1))
                .unwrap_err()
                .code(),
            ErrorCode::InvalidTableName
        );
        assert_eq!(c.list(a).len(), 1);
        assert!(c.list(b).is_empty());
        assert!(c.query(a, "SELECT * FROM numbers").await.is_ok());
        let err = c.query(b, "SELECT * FROM numbers").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::SqlInvalid, "b cannot see a's tables");
        c.remove(a, "numbers").unwrap();
        assert_eq!(
            c.version(a, "numbers").unwrap_err().code(),
            ErrorCode::TableNotFound
        );
    }
}

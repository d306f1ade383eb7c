//! The tables of every open notebook, and each notebook's SQL session.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use datafusion::arrow::record_batch::RecordBatch;

use super::limits::Limits;
use super::sql::SqlSession;
use super::table::{TableInfo, TableVersion};
use super::{name, TableError};
use crate::ids::NotebookId;

struct NotebookTables {
    tables: RwLock<BTreeMap<String, Arc<TableVersion>>>,
    sql: SqlSession,
    /// Whether the tables saved in the notebook's folder were read (they load on first use).
    loaded: Mutex<bool>,
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
                    sql: SqlSession::new(&self.limits),
                    loaded: Mutex::new(false),
                })
            })
            .clone()
    }

    /// Loads the notebook's saved tables with `load` the first time its tables are needed.
    pub fn ensure_loaded<E: From<TableError>>(
        &self,
        notebook: NotebookId,
        load: impl FnOnce() -> Result<Vec<(String, TableVersion)>, E>,
    ) -> Result<(), E> {
        let nb = self.of(notebook);
        let mut loaded = nb.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if *loaded {
            return Ok(());
        }
        for (name, version) in load()? {
            nb.sql.register(&name, &version)?;
            nb.tables
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(name, Arc::new(version));
        }
        *loaded = true;
        Ok(())
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
        if tables.contains_key(&table) {
            return Err(TableError::Exists(table));
        }
        nb.sql.register(&table, &version)?;
        let info = version.info(&table);
        tables.insert(table, Arc::new(version));
        Ok(info)
    }

    pub fn exists(&self, notebook: NotebookId, table: &str) -> bool {
        self.of(notebook)
            .tables
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(table)
    }

    pub fn list(&self, notebook: NotebookId) -> Vec<TableInfo> {
        let nb = self.of(notebook);
        let tables = nb.tables.read().unwrap_or_else(|p| p.into_inner());
        tables.iter().map(|(name, v)| v.info(name)).collect()
    }

    pub fn version(
        &self,
        notebook: NotebookId,
        table: &str,
    ) -> Result<Arc<TableVersion>, TableError> {
        let nb = self.of(notebook);
        let tables = nb.tables.read().unwrap_or_else(|p| p.into_inner());
        tables
            .get(table)
            .cloned()
            .ok_or_else(|| TableError::NotFound(table.to_string()))
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
        self.of(notebook).sql.run(sql).await
    }

    /// Runs SQL and returns the result's schema with its batches (the schema even when empty).
    pub async fn result(
        &self,
        notebook: NotebookId,
        sql: &str,
    ) -> Result<(datafusion::arrow::datatypes::SchemaRef, Vec<RecordBatch>), TableError> {
        self.of(notebook)
            .sql
            .run_with_schema(sql, &|_| {}, &tokio_util::sync::CancellationToken::new())
            .await
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
        nb.sql.run_cancellable(sql, on_rows, cancel).await
    }

    /// The notebook's SQL session, for work that plans its own queries (charts).
    pub fn session(&self, notebook: NotebookId) -> Session {
        Session(self.of(notebook))
    }

    /// Forgets a notebook's tables (the notebook was deleted).
    pub fn forget(&self, notebook: NotebookId) {
        self.notebooks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&notebook);
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

//! A notebook's connections as the engine keeps them: saved and removed with the notebook,
//! and, for a database, attached to the notebook's SQL (`name.schema.table`) and browsed.

use super::Engine;
use crate::error::Error;
use crate::notebooks::{NotebookError, NotebookId};
use crate::remote::{Connection, DatabaseTable};

impl Engine {
    /// Adds a connection, or replaces the one of the same name (checked first: nothing is
    /// sent). A database's tables are reachable from the notebook's SQL at once.
    pub fn save_connection(
        &self,
        notebook: NotebookId,
        connection: Connection,
    ) -> Result<(), Error> {
        self.notebooks.save_connection(notebook, connection)?;
        // Its tables load, and its databases attach as notebook.json now has them.
        self.ensure_tables(notebook)
    }

    /// Removes a connection: tables linked through it keep reading (each link keeps its
    /// settings); a database is detached, so SQL no longer reaches it.
    pub fn remove_connection(&self, notebook: NotebookId, name: &str) -> Result<(), Error> {
        self.notebooks.remove_connection(notebook, name)?;
        self.ensure_tables(notebook)
    }

    /// The tables and views the database connection `name` may read, with Postgres's own
    /// row estimates.
    pub async fn browse_connection(
        &self,
        notebook: NotebookId,
        name: &str,
    ) -> Result<Vec<DatabaseTable>, Error> {
        let connection = self.notebooks.connection(notebook, name)?;
        let settings = connection.postgres().map_err(NotebookError::from)?;
        self.ensure_tables(notebook)?;
        #[cfg(feature = "postgres")]
        {
            let _ = settings;
            // The one attached now, as notebook.json has it (never settings read before).
            let database = self
                .ledger
                .catalog()
                .database(notebook, name)
                .ok_or_else(|| NotebookError::ConnectionNotFound(name.to_string()))?;
            Ok(database.tables().await.map_err(NotebookError::from)?)
        }
        #[cfg(not(feature = "postgres"))]
        {
            Err(no_postgres(settings))
        }
    }

    /// Attaches the notebook's databases to its SQL as `notebook.json` has them now (a
    /// connection added, removed or changed, here or in the file on disk). Nothing is sent.
    pub(super) fn attach_databases(&self, notebook: NotebookId) {
        #[cfg(feature = "postgres")]
        {
            let databases: Vec<_> = self
                .notebooks
                .connections(notebook)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|c| Some((c.name, c.postgres?)))
                .collect();
            self.ledger.catalog().sync_databases(notebook, &databases);
        }
        #[cfg(not(feature = "postgres"))]
        let _ = notebook;
    }

    /// Tests a database connection: one login, the server's version, what it lets this user
    /// read.
    pub(super) fn check_database(
        &self,
        connection: &Connection,
    ) -> Result<crate::remote::ConnectionCheck, Error> {
        let settings = connection.postgres().map_err(NotebookError::from)?;
        #[cfg(feature = "postgres")]
        {
            let started = std::time::Instant::now();
            let database = crate::remote::AttachedDatabase::new(settings.clone());
            let (tables, server) = crate::remote::io::wait(async {
                let tables = database.tables().await?;
                let server = database.server().await?;
                Ok::<_, crate::remote::RemoteError>((tables, server))
            })
            .map_err(NotebookError::from)?;
            let mut schemas: Vec<&str> = tables.iter().map(|t| t.schema.as_str()).collect();
            schemas.dedup();
            Ok(crate::remote::ConnectionCheck {
                endpoint: settings.endpoint(),
                objects: tables.len().try_into().unwrap_or(u32::MAX),
                folders: schemas.len().try_into().unwrap_or(u32::MAX),
                elapsed_ms: started.elapsed().as_millis().try_into().unwrap_or(u32::MAX),
                server: Some(server),
            })
        }
        #[cfg(not(feature = "postgres"))]
        {
            Err(no_postgres(settings))
        }
    }
}

#[cfg(not(feature = "postgres"))]
fn no_postgres(settings: &crate::remote::PostgresConnection) -> Error {
    NotebookError::from(crate::remote::RemoteError::Invalid {
        what: settings.endpoint(),
        why: "this build of Quire was made without PostgreSQL".into(),
    })
    .into()
}

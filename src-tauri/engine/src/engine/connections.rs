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
        self.notebooks
            .save_connection(notebook, connection.clone())?;
        #[cfg(feature = "postgres")]
        {
            self.ensure_tables(notebook)?;
            match &connection.postgres {
                Some(settings) => {
                    self.ledger
                        .catalog()
                        .attach_database(notebook, &connection.name, settings);
                }
                // It may have been a database under the same name before.
                None => self
                    .ledger
                    .catalog()
                    .detach_database(notebook, &connection.name),
            }
        }
        Ok(())
    }

    /// Removes a connection: tables linked through it keep reading (each link keeps its
    /// settings); a database is detached, so SQL no longer reaches it.
    pub fn remove_connection(&self, notebook: NotebookId, name: &str) -> Result<(), Error> {
        self.notebooks.remove_connection(notebook, name)?;
        #[cfg(feature = "postgres")]
        self.ledger.catalog().detach_database(notebook, name);
        Ok(())
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
            let database = self
                .ledger
                .catalog()
                .attach_database(notebook, name, settings);
            Ok(database.tables().await.map_err(NotebookError::from)?)
        }
        #[cfg(not(feature = "postgres"))]
        {
            Err(no_postgres(settings))
        }
    }

    /// Attaches the notebook's databases to its SQL, once (nothing is sent).
    pub(super) fn attach_databases(&self, notebook: NotebookId) {
        #[cfg(feature = "postgres")]
        self.ledger.catalog().attach_databases_once(notebook, || {
            self.notebooks
                .connections(notebook)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|c| Some((c.name, c.postgres?)))
                .collect()
        });
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

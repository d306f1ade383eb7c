//! A notebook's connections: a name and where it reaches, kept in `notebook.json` (never a
//! secret: keys and passwords come from where the user keeps them, see `s3.rs` and
//! `postgres.rs`).

use serde::{Deserialize, Serialize};

use super::{
    AzureConnection, ClusterConnection, PostgresConnection, RemoteError, S3Connection,
    StoreSettings,
};

/// Longest connection name: it shows in a narrow sidebar.
const MAX_NAME: usize = 64;
/// Catalog names DataFusion already uses.
const RESERVED_CATALOGS: [&str; 1] = ["datafusion"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionKind {
    /// Amazon S3 or a server speaking its protocol.
    S3,
    /// Azure Blob Storage or a server speaking its protocol (Azurite).
    Azure,
    /// A PostgreSQL database, attached: its tables are `<name>.<schema>.<table>` in SQL.
    Postgres,
    /// An Apache DataFusion Ballista cluster: a SQL cell can run there instead of here.
    Ballista,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    pub name: String,
    pub kind: ConnectionKind,
    /// Set for `kind: s3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Connection>,
    /// Set for `kind: postgres`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<PostgresConnection>,
    /// Set for `kind: ballista`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterConnection>,
    /// Set for `kind: azure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureConnection>,
}

impl Connection {
    /// Refuses a connection that cannot be used, in words: an empty or long name, settings
    /// that do not match the kind, a malformed endpoint.
    pub fn validate(&self) -> Result<(), RemoteError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME || name != self.name {
            return Err(RemoteError::Invalid {
                what: format!("the connection name {:?}", self.name),
                why: format!("a name is 1 to {MAX_NAME} characters, without spaces around it"),
            });
        }
        if (self.kind == ConnectionKind::Azure) != self.azure.is_some() {
            return Err(RemoteError::Invalid {
                what: format!("the connection {}", self.name),
                why: "an Azure connection needs its storage account, and only it has one".into(),
            });
        }
        match (self.kind, &self.s3, &self.postgres) {
            _ if self.kind != ConnectionKind::Ballista && self.cluster.is_some() => {
                Err(RemoteError::Invalid {
                    what: format!("the connection {}", self.name),
                    why: "only a cluster connection has a scheduler address".into(),
                })
            }
            (ConnectionKind::Ballista, None, None) => match &self.cluster {
                Some(cluster) => cluster.validate(),
                None => Err(RemoteError::Invalid {
                    what: format!("the connection {}", self.name),
                    why: "a cluster connection needs its scheduler's address (df://host:port)"
                        .into(),
                }),
            },
            (ConnectionKind::Ballista, ..) => Err(RemoteError::Invalid {
                what: format!("the connection {}", self.name),
                why: "a cluster connection has a scheduler address and shared folders, and only those".into(),
            }),
            // Its settings are there: checked above.
            (ConnectionKind::Azure, None, None) => {
                self.azure.as_ref().map_or(Ok(()), AzureConnection::validate)
            }
            (ConnectionKind::Azure, ..) => Err(RemoteError::Invalid {
                what: format!("the connection {}", self.name),
                why: "an Azure connection has a storage account and an endpoint, and only those"
                    .into(),
            }),
            (ConnectionKind::S3, Some(s3), None) => {
                // Building a store checks the endpoint and profile without sending anything.
                s3.store("check")?;
                Ok(())
            }
            (ConnectionKind::Postgres, None, Some(postgres)) => {
                // Its name is the catalog's in SQL: one that needs no quotes there.
                let plain = self.name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                    && self
                        .name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if !plain || RESERVED_CATALOGS.contains(&self.name.as_str()) {
                    return Err(RemoteError::Invalid {
                        what: format!("the connection name {:?}", self.name),
                        why: "a database's name is how SQL reaches it (name.schema.table): lowercase letters, digits and '_', not starting with a digit, and not datafusion".into(),
                    });
                }
                postgres.validate()
            }
            (ConnectionKind::S3, ..) => Err(RemoteError::Invalid {
                what: format!("the connection {}", self.name),
                why: "an S3 connection needs its settings (endpoint, region or profile), and only those".into(),
            }),
            (ConnectionKind::Postgres, ..) => Err(RemoteError::Invalid {
                what: format!("the connection {}", self.name),
                why: "a PostgreSQL connection needs its settings (host, port, user, database), and only those".into(),
            }),
        }
    }

    /// The settings of a PostgreSQL connection.
    pub fn postgres(&self) -> Result<&PostgresConnection, RemoteError> {
        self.postgres.as_ref().ok_or_else(|| RemoteError::Invalid {
            what: format!("the connection {}", self.name),
            why: "it is not a PostgreSQL connection".into(),
        })
    }

    /// The settings of a Ballista cluster connection.
    pub fn cluster(&self) -> Result<&ClusterConnection, RemoteError> {
        self.cluster.as_ref().ok_or_else(|| RemoteError::Invalid {
            what: format!("the connection {}", self.name),
            why: "it is not a cluster connection".into(),
        })
    }

    /// The settings of an object storage connection (S3 or Azure).
    pub fn store_settings(&self) -> Result<StoreSettings, RemoteError> {
        match (self.kind, &self.s3, &self.azure) {
            (ConnectionKind::S3, Some(s3), _) => Ok(StoreSettings::S3(s3.clone())),
            (ConnectionKind::Azure, _, Some(azure)) => Ok(StoreSettings::Azure(azure.clone())),
            _ => Err(RemoteError::Invalid {
                what: format!("the connection {}", self.name),
                why: "it is not an object storage connection (S3 or Azure)".into(),
            }),
        }
    }

    /// The S3 settings of an S3 connection.
    pub fn s3(&self) -> Result<&S3Connection, RemoteError> {
        self.s3.as_ref().ok_or_else(|| RemoteError::Invalid {
            what: format!("the connection {}", self.name),
            why: "it is not an S3 connection".into(),
        })
    }
}

/// What a connection test found at an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct ConnectionCheck {
    /// Where requests went.
    pub endpoint: String,
    /// Objects directly under the address (for a database: tables and views it may read).
    pub objects: u32,
    /// Folders (common prefixes) directly under it (for a database: schemas).
    pub folders: u32,
    pub elapsed_ms: u32,
    /// The server's own name and version, when it says (`PostgreSQL 15.8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
}

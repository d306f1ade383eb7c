//! A notebook's connections: a name and where it reaches, kept in `notebook.json` (never a
//! secret: keys come from where the user keeps them, see `s3.rs`).

use serde::{Deserialize, Serialize};

use super::{RemoteError, S3Connection};

/// Longest connection name: it shows in a narrow sidebar.
const MAX_NAME: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionKind {
    /// Amazon S3 or a server speaking its protocol.
    S3,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    pub name: String,
    pub kind: ConnectionKind,
    /// Set for `kind: s3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Connection>,
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
        match (self.kind, &self.s3) {
            (ConnectionKind::S3, Some(s3)) => {
                // Building a store checks the endpoint and profile without sending anything.
                s3.store("check")?;
                Ok(())
            }
            (ConnectionKind::S3, None) => Err(RemoteError::Invalid {
                what: format!("the connection {}", self.name),
                why: "an S3 connection needs its settings (endpoint, region or profile)".into(),
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
    /// Objects directly under the address.
    pub objects: u32,
    /// Folders (common prefixes) directly under it.
    pub folders: u32,
    pub elapsed_ms: u32,
}

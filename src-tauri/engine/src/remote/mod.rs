//! Object storage: S3, S3-compatible stores and Azure Blob Storage reached through `object_store`, the crate
//! DataFusion reads through, so a remote Parquet file is linked and queried like a local one
//! (`tables::linked`), with the same projection and row-group pruning: only the byte ranges a
//! query needs travel.
//!
//! - `connection.rs`: a notebook's connections as `notebook.json` keeps them.
//! - `s3.rs`: a connection's settings (endpoint, region, profile; never a secret) and the store
//!   made from them, with credentials from where users keep them: the `AWS_*` environment
//!   variables or a profile of the shared credentials file. No credentials at all means
//!   anonymous requests (a public bucket), never a wait on a cloud metadata service.
//! - `azure.rs`: an Azure Blob Storage connection's settings (account, endpoint; never a
//!   key) and its store, signed with what Azure's own tools read (`AZURE_STORAGE_*`, `az login`).
//! - `store.rs`: addresses (`s3://bucket/key`, `az://container/key`) and the settings of the
//!   service behind one, as a link or an export keeps them.
//! - `io.rs`: the runtime every request runs on, so the engine's sync code (pages, footers)
//!   and DataFusion's streams can wait on a store from any thread.
//! - `download.rs`: one object copied into a local file (a CSV or JSON object converted on
//!   linking), with progress and cancel.
//! - `counted.rs`: a store wrapper that counts the bytes fetched (what pushdown saves).
//! - `reader.rs`: a Parquet reader over one object (footer, page index, byte ranges).
//! - `postgres.rs`: a PostgreSQL connection's settings (never a password: libpq's own places).
//! - `cluster.rs`: a Ballista cluster connection's settings (the scheduler's `df://` address,
//!   the folders its executors share with this machine); cells run there in `crate::cluster`.
//! - `as_text.rs`: numbers and arrays the Postgres provider reads wrong, asked for as text and
//!   read back by arrow (every digit of a numeric; arrays with NULL elements).
//! - `cancelling.rs`: the Postgres pool the providers use, whose dropped queries are cancelled on
//!   the server (a cancelled cell stops its query there too).
//! - `database.rs`: a PostgreSQL database attached as a DataFusion catalog (projection,
//!   filters and limits run in Postgres); only with the `postgres` feature.
//!
//! Every failure is a [`RemoteError`] in words: the store cannot be reached (or did not answer
//! in time), it refused the credentials, the object is not there or changed since it was
//! linked; the store's own text goes to the log.

#[cfg(feature = "postgres")]
mod as_text;
mod azure;
#[cfg(feature = "postgres")]
mod cancelling;
mod cluster;
mod connection;
mod counted;
#[cfg(feature = "postgres")]
mod database;
pub mod download;
pub mod io;
mod postgres;
mod reader;
mod s3;
mod store;

pub use azure::AzureConnection;
pub use cluster::{ClusterConnection, DEFAULT_SCHEDULER_PORT};
pub use connection::{Connection, ConnectionCheck, ConnectionKind};
pub use counted::{quoted_tag, CountedStore, Traffic};
#[cfg(feature = "postgres")]
pub use database::{from_postgres, pool as postgres_pool, AttachedDatabase};
pub use postgres::{pgpass_lookup, DatabaseTable, PostgresConnection};
pub use reader::StoreReader;
pub use s3::S3Connection;
pub use store::{split_address, split_url, BucketStore, Service, StoreSettings};

use crate::code::{ErrorCode, HasCode};

#[derive(Debug, Clone, thiserror::Error)]
pub enum RemoteError {
    /// The connection's settings cannot make a store (a malformed endpoint or URL).
    #[error("{what} is not usable: {why}")]
    Invalid { what: String, why: String },
    /// Nothing answered at the endpoint, or not in time.
    #[error("{endpoint} did not answer: {detail}")]
    Unreachable { endpoint: String, detail: String },
    /// The store answered and refused the credentials (or gave no access to the bucket).
    #[error("{endpoint} refused access: {detail}. Check the keys ({hint})")]
    Refused {
        endpoint: String,
        detail: String,
        /// Where the user keeps the keys, for the service asked.
        hint: &'static str,
    },
    /// A database server refused the login (user, password) or the access asked for.
    #[error("{endpoint} refused the login: {detail}")]
    LoginRefused { endpoint: String, detail: String },
    /// The object or prefix is not in the bucket (or the bucket is not there).
    #[error("nothing is stored at {url}: check the bucket or container and the path")]
    NotFound { url: String },
    /// The object is no longer the one that was linked (its entity tag moved).
    #[error("{url} changed since it was linked; delete the link and link it again")]
    Changed { url: String },
    /// An export names a bucket (or container) the store does not have: writing, unlike
    /// reading, cannot mean that the object is missing.
    #[error("{endpoint} has no {word} named {bucket}: create it there first, or check the name in the address")]
    NoBucket {
        endpoint: String,
        bucket: String,
        word: &'static str,
    },
    /// An export would replace an object that is already there.
    #[error("something is already stored at {url}; Quire does not replace objects in a bucket, so choose another name")]
    Exists { url: String },
    /// The store answered, with something Quire cannot use (a server error, say).
    #[error("{endpoint} failed: {detail}")]
    Failed { endpoint: String, detail: String },
}

impl HasCode for RemoteError {
    fn code(&self) -> ErrorCode {
        match self {
            RemoteError::Invalid { .. } => ErrorCode::ConnectionInvalid,
            RemoteError::Unreachable { .. } => ErrorCode::ConnectionUnreachable,
            RemoteError::Refused { .. } | RemoteError::LoginRefused { .. } => {
                ErrorCode::ConnectionRefused
            }
            RemoteError::NotFound { .. } | RemoteError::Changed { .. } => ErrorCode::FileUnreadable,
            RemoteError::Exists { .. } => ErrorCode::ObjectExists,
            RemoteError::NoBucket { .. } => ErrorCode::BucketNotFound,
            RemoteError::Failed { .. } => ErrorCode::ConnectionFailed,
        }
    }
}

impl RemoteError {
    /// An `object_store` error, told apart by what the user can do about it: `endpoint` names
    /// the store, `url` the object asked for. The store's own text goes to the log (without
    /// the XML body, which can quote a signed request), never to the user.
    pub fn from_store(endpoint: &str, url: &str, e: &object_store::Error) -> RemoteError {
        use object_store::client::HttpErrorKind as Kind;
        use object_store::Error as E;
        let text = chain(e);
        log::warn!("{endpoint}: {}", for_log(&text));
        let endpoint = endpoint.to_string();
        let unreachable = |detail: &str| RemoteError::Unreachable {
            endpoint: endpoint.clone(),
            detail: detail.to_string(),
        };
        let service = split_address(url).map_or(Service::S3, |(service, ..)| service);
        let refused = || RemoteError::Refused {
            endpoint: endpoint.clone(),
            detail: format!(
                "the key was not accepted, or it gives no access to this {}",
                service.bucket_word()
            ),
            hint: service.keys_hint(),
        };
        match e {
            E::NotFound { .. } => {
                return RemoteError::NotFound {
                    url: url.to_string(),
                }
            }
            E::Precondition { .. } => {
                return RemoteError::Changed {
                    url: url.to_string(),
                }
            }
            E::PermissionDenied { .. } | E::Unauthenticated { .. } => return refused(),
            _ => {}
        }
        match http_kind(e) {
            Some(Kind::Connect) if text.contains("onnection refused") => {
                return unreachable("nothing is listening there (connection refused); check the endpoint and that the server runs")
            }
            Some(Kind::Connect) if text.contains("dns error") || text.contains("failed to lookup") => {
                return unreachable("its host name does not resolve; check the endpoint")
            }
            Some(Kind::Connect) => return unreachable("no connection could be made to it"),
            Some(Kind::Timeout) => return unreachable("it did not answer in time"),
            Some(Kind::Request | Kind::Interrupted) => {
                return unreachable("the request did not go through")
            }
            _ => {}
        }
        match status_in(&text) {
            Some(401 | 403) => refused(),
            Some(404) => RemoteError::NotFound {
                url: url.to_string(),
            },
            Some(412) => RemoteError::Changed {
                url: url.to_string(),
            },
            Some(status) => RemoteError::Failed {
                endpoint,
                detail: format!("it answered with HTTP status {status}"),
            },
            None => RemoteError::Failed {
                endpoint,
                detail: "its answer could not be used (Quire's log has it)".into(),
            },
        }
    }
}

/// The kind of the HTTP failure under an error, if one is.
fn http_kind(e: &object_store::Error) -> Option<object_store::client::HttpErrorKind> {
    let mut at: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(error) = at {
        if let Some(http) = error.downcast_ref::<object_store::client::HttpError>() {
            return Some(http.kind());
        }
        at = error.source();
    }
    None
}

/// The status of a "Server returned non-2xx status code: 403 Forbidden" in the text.
fn status_in(text: &str) -> Option<u16> {
    let at = text.find("status code: ")? + "status code: ".len();
    text.get(at..at + 3)?.parse().ok()
}

/// The text without a response body: S3's XML can quote the canonical request, session
/// token included. Its `<Code>` is kept.
fn for_log(text: &str) -> String {
    let code = text
        .split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(code, _)| format!(" ({code})"))
        .unwrap_or_default();
    let head = text.split('<').next().unwrap_or(text);
    format!("{}{code}", short(head))
}

/// An error with its causes, which is where `object_store` keeps the HTTP status and reqwest's
/// reason.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

/// At most a few hundred characters: a store's XML error body can be long.
fn short(text: &str) -> String {
    const MAX: usize = 300;
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

//! Object storage: S3 and S3-compatible stores reached through `object_store`, the crate
//! DataFusion reads through, so a remote Parquet file is linked and queried like a local one
//! (`tables::linked`), with the same projection and row-group pruning: only the byte ranges a
//! query needs travel.
//!
//! - `connection.rs`: a notebook's connections as `notebook.json` keeps them.
//! - `s3.rs`: a connection's settings (endpoint, region, profile; never a secret) and the store
//!   made from them, with credentials from where users keep them: the `AWS_*` environment
//!   variables or a profile of the shared credentials file. No credentials at all means
//!   anonymous requests (a public bucket), never a wait on a cloud metadata service.
//! - `io.rs`: the runtime every request runs on, so the engine's sync code (pages, footers)
//!   and DataFusion's streams can wait on a store from any thread.
//! - `counted.rs`: a store wrapper that counts the bytes fetched (what pushdown saves).
//! - `reader.rs`: a Parquet reader over one object (footer, page index, byte ranges).
//!
//! Every failure is a [`RemoteError`] in words: the store cannot be reached (or did not answer
//! in time), it refused the credentials, or the object is not there.

mod connection;
mod counted;
pub mod io;
mod reader;
mod s3;

pub use connection::{Connection, ConnectionCheck, ConnectionKind};
pub use counted::{CountedStore, Traffic};
pub use reader::StoreReader;
pub use s3::{split_url, S3Connection, S3Store};

use crate::code::{ErrorCode, HasCode};

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The connection's settings cannot make a store (a malformed endpoint or URL).
    #[error("{what} is not usable: {why}")]
    Invalid { what: String, why: String },
    /// Nothing answered at the endpoint, or not in time.
    #[error("{endpoint} did not answer: {detail}")]
    Unreachable { endpoint: String, detail: String },
    /// The store answered and refused the credentials (or gave no access to the bucket).
    #[error("{endpoint} refused access: {detail}. Check the keys (the AWS_* variables or the profile the connection names)")]
    Refused { endpoint: String, detail: String },
    /// The object or prefix is not in the bucket.
    #[error("{url} is not in the bucket")]
    NotFound { url: String },
    /// Anything else the store said, in its words (kept short).
    #[error("{endpoint} failed: {detail}")]
    Failed { endpoint: String, detail: String },
}

impl HasCode for RemoteError {
    fn code(&self) -> ErrorCode {
        match self {
            RemoteError::Invalid { .. } => ErrorCode::ConnectionInvalid,
            RemoteError::Unreachable { .. } => ErrorCode::ConnectionUnreachable,
            RemoteError::Refused { .. } => ErrorCode::ConnectionRefused,
            RemoteError::NotFound { .. } => ErrorCode::FileUnreadable,
            RemoteError::Failed { .. } => ErrorCode::ConnectionUnreachable,
        }
    }
}

impl RemoteError {
    /// An `object_store` error, told apart by what the user can do about it: `endpoint` names
    /// the store, `url` the object asked for.
    pub fn from_store(endpoint: &str, url: &str, e: &object_store::Error) -> RemoteError {
        use object_store::Error as E;
        match e {
            E::NotFound { .. } => RemoteError::NotFound {
                url: url.to_string(),
            },
            E::PermissionDenied { source, .. } | E::Unauthenticated { source, .. } => {
                log::warn!("{endpoint}: {source}");
                RemoteError::Refused {
                    endpoint: endpoint.to_string(),
                    detail: "the access key or its secret was not accepted, or it has no access to this bucket".into(),
                }
            }
            other => {
                let text = chain(other);
                // The full text (request, retries) is for the log; the user gets the reason.
                log::warn!("{endpoint}: {text}");
                let has = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
                if has(&[
                    "403",
                    "401",
                    "AccessDenied",
                    "InvalidAccessKeyId",
                    "SignatureDoesNotMatch",
                ]) {
                    RemoteError::Refused {
                        endpoint: endpoint.to_string(),
                        detail: "the access key or its secret was not accepted".into(),
                    }
                } else if has(&["Connection refused", "connection refused"]) {
                    RemoteError::Unreachable {
                        endpoint: endpoint.to_string(),
                        detail: "nothing is listening there (connection refused); check the endpoint and that the server runs".into(),
                    }
                } else if has(&["dns error", "failed to lookup", "Name or service not known"]) {
                    RemoteError::Unreachable {
                        endpoint: endpoint.to_string(),
                        detail: "its host name does not resolve; check the endpoint".into(),
                    }
                } else if has(&["timed out", "deadline has elapsed", "Timeout"]) {
                    RemoteError::Unreachable {
                        endpoint: endpoint.to_string(),
                        detail: "it did not answer in time".into(),
                    }
                } else if has(&[
                    "error sending request",
                    "connection closed",
                    "tcp connect error",
                ]) {
                    RemoteError::Unreachable {
                        endpoint: endpoint.to_string(),
                        detail: "the request did not go through".into(),
                    }
                } else if has(&["404 Not Found", "NoSuchBucket", "NoSuchKey"]) {
                    RemoteError::NotFound {
                        url: url.to_string(),
                    }
                } else {
                    RemoteError::Failed {
                        endpoint: endpoint.to_string(),
                        detail: short(&text),
                    }
                }
            }
        }
    }
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

//! What a prefix or glob in a bucket holds, for linking it: the CSV and JSON objects a link
//! fetches and converts into one table, and whether Parquet objects (linked where they lie)
//! are there instead.

use std::path::Path;

use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectMeta, ObjectStore};

use crate::remote::{io, split_address, BucketStore, RemoteError, StoreSettings};
use crate::tables::import::ImportFormat;
use crate::tables::linked::FilePattern;
use crate::tables::TableError;

/// One CSV or JSON object under a prefix.
#[derive(Debug, Clone)]
pub struct TextObject {
    /// Its own address (`s3://bucket/key`).
    pub url: String,
    pub size: u64,
    pub format: ImportFormat,
}

/// The objects below a prefix or glob a link would read, in key order.
#[derive(Debug, Default)]
pub struct Listed {
    pub text: Vec<TextObject>,
    /// The Parquet objects' addresses.
    pub parquet: Vec<String>,
}

/// Whether `url` names many objects (a prefix ending in `/`, or a glob) rather than one.
pub fn names_many(url: &str) -> bool {
    url.ends_with('/') || url.contains(['*', '?', '['])
}

/// Lists the objects below the prefix or glob `url`: hidden objects and `_` markers (Spark's
/// `_SUCCESS`) left out, as a linked folder leaves them.
pub fn list(settings: &StoreSettings, url: &str) -> Result<Listed, TableError> {
    let (BucketStore { store, endpoint }, typed_key) = settings.store_for(url)?;
    let (service, bucket, _) = split_address(url)?;
    let (key, pattern) = FilePattern::split_key(&typed_key)?;
    let prefix = key.trim_end_matches('/');
    let typed = ObjectPath::parse(&key).map_err(|e| RemoteError::Invalid {
        what: format!("the address {url}"),
        why: e.to_string(),
    })?;
    let mut objects: Vec<ObjectMeta> = io::wait(
        store
            .list((!prefix.is_empty()).then_some(&typed))
            .try_collect(),
    )
    .map_err(|e| RemoteError::from_store(&endpoint, url, &e))?;
    objects.sort_by(|a, b| a.location.cmp(&b.location));
    let mut listed = Listed::default();
    for meta in objects {
        let full = meta.location.as_ref();
        let below = full
            .strip_prefix(prefix)
            .unwrap_or(full)
            .trim_start_matches('/');
        let hidden = below
            .split('/')
            .any(|part| part.starts_with('.') || part.starts_with('_'));
        if hidden
            || pattern
                .as_ref()
                .is_some_and(|p| !p.matches(Path::new(below)))
        {
            continue;
        }
        match ImportFormat::from_path(Path::new(below)) {
            Some(ImportFormat::Parquet) => listed
                .parquet
                .push(format!("{}://{bucket}/{full}", service.scheme())),
            // An empty object (a job's part that got no rows) adds nothing.
            Some(ImportFormat::Csv | ImportFormat::Json) if meta.size == 0 => {}
            Some(format @ (ImportFormat::Csv | ImportFormat::Json)) => {
                listed.text.push(TextObject {
                    url: format!("{}://{bucket}/{full}", service.scheme()),
                    size: meta.size,
                    format,
                })
            }
            _ => {}
        }
    }
    Ok(listed)
}

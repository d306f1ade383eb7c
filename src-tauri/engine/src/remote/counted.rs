//! A store that counts what it fetched (bytes and requests, the figure that shows a query read
//! only the columns and row groups it needed) and pins the objects a link read: every read of
//! a pinned key asks for the entity tag it had when linked, so an object replaced since then
//! fails (`Precondition`) instead of being read against the old footer, by queries and pages
//! alike.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};

/// Bytes fetched and requests made through one store, shared by its clones.
#[derive(Debug, Default)]
pub struct Traffic {
    bytes: AtomicU64,
    requests: AtomicU64,
}

impl Traffic {
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

/// `inner`, with every byte it hands back counted in `traffic`.
pub struct CountedStore {
    inner: Arc<dyn ObjectStore>,
    pub traffic: Arc<Traffic>,
    /// Entity tags reads must match, by key.
    pins: RwLock<HashMap<Path, String>>,
}

/// An entity tag as HTTP writes it, quoted: S3 quotes its tags everywhere, Azure answers a
/// HEAD with them quoted and lists them bare. `If-Match` takes the quoted form, and a link's
/// saved fingerprint was made from S3's quoted tags, so this is the form compared and kept.
pub fn quoted_tag(e_tag: &str) -> String {
    if e_tag.starts_with('"') || e_tag.starts_with("W/") {
        e_tag.to_string()
    } else {
        format!("\"{e_tag}\"")
    }
}

impl CountedStore {
    pub fn new(inner: Arc<dyn ObjectStore>) -> CountedStore {
        CountedStore {
            inner,
            traffic: Arc::default(),
            pins: RwLock::default(),
        }
    }

    /// From now on, reads of `key` ask for the object with entity tag `e_tag`.
    pub fn pin(&self, key: &Path, e_tag: &str) {
        self.pins
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), quoted_tag(e_tag));
    }

    fn request(&self) {
        self.traffic.requests.fetch_add(1, Ordering::Relaxed);
    }
}

impl fmt::Debug for CountedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountedStore({})", self.inner)
    }
}

impl fmt::Display for CountedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.inner)
    }
}

#[async_trait]
impl ObjectStore for CountedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.request();
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.request();
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, mut options: GetOptions) -> Result<GetResult> {
        self.request();
        if options.if_match.is_none() {
            options.if_match = self
                .pins
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(location)
                .cloned();
        }
        let mut result = self.inner.get_opts(location, options).await?;
        result.payload = match result.payload {
            GetResultPayload::Stream(stream) => {
                let traffic = self.traffic.clone();
                GetResultPayload::Stream(
                    stream
                        .inspect(move |chunk| {
                            if let Ok(bytes) = chunk {
                                traffic
                                    .bytes
                                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                            }
                        })
                        .boxed(),
                )
            }
            // A local file is read by its reader, not fetched.
            other => other,
        };
        Ok(result)
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.request();
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.request();
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.request();
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.request();
        self.inner.copy_opts(from, to, options).await
    }
}

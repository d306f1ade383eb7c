//! Linked tables: Parquet files read where they lie, never copied into the notebook.
//!
//! Linking reads each file's footer (its schema, row groups and page index) and nothing else,
//! so a file of any size opens at once. SQL reads it through a DataFusion listing table over
//! exactly the files that were linked (only the columns a query names, row groups and pages
//! pruned by their statistics, under the engine's one memory pool). The grid reads exact pages by row position:
//! the footers say which row groups hold rows `[offset, offset + limit)`, and a row selection
//! skips to the first of them inside its group (the page index lets the reader skip whole
//! pages), so a page at row 99,000,000 costs what a page at row 0 does.
//!
//! Row ids of a linked table are row positions: the files are not Quire's to change, so a
//! position names the same row for as long as the link stands. A file that changed since it
//! was linked (its size or modification time moved) is refused with a clear error rather than
//! read at the wrong positions.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, UInt64Array};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
    RowSelector,
};
use datafusion::parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use datafusion::parquet::file::metadata::PageIndexPolicy;
use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};

use crate::remote::{io, BucketStore, CountedStore, RemoteError, StoreReader, StoreSettings};

use super::table::{columns_of, page_schema, TableInfo};
use super::TableError;

mod edits;
pub mod edits_file;
mod float_stats;
mod hive;
mod pattern;
mod scan;

pub use edits::{Cell, EditLog, Edits};
pub use hive::Partitioning;
pub use pattern::FilePattern;
pub use scan::MergedProvider;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Rows per batch when reading a file: a grid page comes in one batch, a whole file in many.
const READ_BATCH: usize = 65_536;

/// File name endings a folder's Parquet files have.
const PARQUET_ENDINGS: [&str; 2] = [".parquet", ".pq"];

/// One linked table: its files in order, and where each file's rows start.
#[derive(Debug)]
pub struct LinkedTable {
    /// New for every link made, so caches keyed by it never outlive the link.
    pub id: u64,
    /// The file or folder the user linked.
    pub source: PathBuf,
    /// The files of the folder the link reads, when not all of them.
    pub pattern: Option<FilePattern>,
    /// The table's columns: the files' own, then any partition keys of their folders.
    pub schema: SchemaRef,
    /// The files' own columns.
    file_schema: SchemaRef,
    /// The zone the files write a date-time column in, for those Quire shows in UTC (see
    /// [`as_linked`]): edits saved before it did were typed in that zone.
    pub file_zones: std::collections::HashMap<String, Arc<str>>,
    /// Hive-style `key=value` folders above every file, as columns.
    partitioning: Option<Partitioning>,
    files: Vec<LinkedFile>,
    pub rows: u64,
    /// Bytes of the linked files on disk.
    pub bytes: u64,
    /// A conversion Quire made inside the notebook's folder (its files go with the table).
    pub converted: bool,
    /// For such a copy (a conversion, a compaction, a transform's copy): the user's file,
    /// folder or address its rows came from, as shown. None for the user's own files, and for
    /// copies made before Quire kept it.
    pub origin: Option<String>,
    /// Set when the files are in object storage (`source` is then the `s3://` address).
    pub remote: Option<RemoteSource>,
    /// Cells the user edited, merged on every read (`linked/edits.rs`).
    pub edits: EditLog,
    /// The version of the edits saved in the notebook's `edits/` folder (1: none saved).
    pub saved_edits: AtomicU64,
    /// Set when a compaction replaced this copy of Quire's: its folder goes once nothing reads
    /// it any more (a query or a page may still hold it).
    pub discard_when_unused: std::sync::atomic::AtomicBool,
    /// When a compaction of this link last failed (a full disk, say): the next is not tried
    /// on every edit meanwhile.
    pub compaction_failed: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Drop for LinkedTable {
    fn drop(&mut self) {
        if self.converted && self.discard_when_unused.load(Ordering::SeqCst) {
            if let Err(e) = std::fs::remove_dir_all(&self.source) {
                log::warn!("the replaced copy {} stays: {e}", self.source.display());
            }
        }
    }
}

/// Where a remote link reads: the connection it was made through and the store made from it.
pub struct RemoteSource {
    /// The connection's name in the notebook.
    pub connection: String,
    pub settings: StoreSettings,
    /// The `s3://bucket/prefix` (or `az://container/prefix`) the user linked.
    pub url: String,
    pub store: Arc<CountedStore>,
    pub endpoint: String,
    /// The address DataFusion reaches the store under: one per link, so two connections to
    /// buckets of the same name on different servers never meet in the shared registry.
    pub registered: url::Url,
}

impl std::fmt::Debug for RemoteSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RemoteSource({} via {})", self.url, self.connection)
    }
}

/// Where one linked file lies.
#[derive(Debug)]
enum FileAt {
    Local(PathBuf),
    Remote {
        key: ObjectPath,
        /// `s3://bucket/key`, for messages.
        url: String,
    },
}

impl FileAt {
    /// The file's name in messages: its path or address.
    fn shown(&self) -> PathBuf {
        match self {
            FileAt::Local(path) => path.clone(),
            FileAt::Remote { url, .. } => PathBuf::from(url),
        }
    }
}

#[derive(Debug)]
struct LinkedFile {
    at: FileAt,
    /// Position of the file's first row in the table.
    first_row: u64,
    rows: u64,
    /// Position of each row group's first row in the file.
    group_starts: Vec<u64>,
    metadata: ArrowReaderMetadata,
    /// Size and modification time (or a store's entity tag) when linked: a file that moved on
    /// is not read by position.
    stamp: Stamp,
}

type Stamp = (u64, String);

fn unreadable(path: &Path, message: impl Into<String>) -> TableError {
    TableError::File {
        path: path.display().to_string(),
        message: message.into(),
    }
}

fn stamp(path: &Path) -> Result<Stamp, TableError> {
    let meta = std::fs::metadata(path).map_err(|e| TableError::file(path, e))?;
    Ok((meta.len(), format!("{:?}", meta.modified().ok())))
}

/// An object's size and entity tag, the tag always quoted: Azure lists it bare and answers a
/// HEAD with it quoted, and the same object must not look changed (nor an S3 link saved
/// with quoted tags look changed after an upgrade).
fn remote_stamp(meta: &ObjectMeta) -> Stamp {
    let tag = meta
        .e_tag
        .as_deref()
        .map(crate::remote::quoted_tag)
        .unwrap_or_else(|| meta.last_modified.to_rfc3339());
    (meta.size, tag)
}

fn is_parquet_name(name: &str) -> bool {
    let name = name.to_lowercase();
    PARQUET_ENDINGS.iter().any(|end| name.ends_with(end))
}

/// Whether a key (below the linked prefix) is data: no part of it hidden (`.`) or a marker
/// (`_SUCCESS`, `_delta_log`), as for a local folder.
fn is_data_key(below: &str) -> bool {
    below
        .split('/')
        .all(|part| !part.starts_with('.') && !part.starts_with('_'))
        && is_parquet_name(below)
}

/// Every file below the folder `source` whose name `keep` takes (hidden files and
/// `_`-prefixed marker files such as `_SUCCESS` left out, and the folders of either) and whose
/// path below it matches `pattern`, if one is given, in path order.
pub(crate) fn files_below(
    source: &Path,
    pattern: Option<&FilePattern>,
    keep: &dyn Fn(&str) -> bool,
) -> Result<Vec<PathBuf>, TableError> {
    let mut found = Vec::new();
    let mut folders = vec![source.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).map_err(|e| TableError::file(&folder, e))? {
            let entry = entry.map_err(|e| TableError::file(&folder, e))?;
            let name = entry.file_name().to_string_lossy().to_lowercase();
            if name.starts_with('.') || name.starts_with('_') {
                continue;
            }
            let kind = entry
                .file_type()
                .map_err(|e| TableError::file(&folder, e))?;
            if kind.is_dir() {
                folders.push(entry.path());
            } else if keep(&name) {
                let path = entry.path();
                let chosen = match pattern {
                    None => true,
                    Some(p) => path
                        .strip_prefix(source)
                        .is_ok_and(|below| p.matches(below)),
                };
                if chosen {
                    found.push(path);
                }
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The Parquet files a link names: the file itself, or every Parquet file under the folder
/// (hidden files and `_`-prefixed marker files such as `_SUCCESS` left out) whose path below it
/// matches `pattern`, if one is given, in path order.
fn files_of(source: &Path, pattern: Option<&FilePattern>) -> Result<Vec<PathBuf>, TableError> {
    let meta = std::fs::metadata(source).map_err(|e| TableError::file(source, e))?;
    if meta.is_file() {
        if pattern.is_some() {
            return Err(unreadable(
                source,
                "it is a file; a pattern chooses among the files of a folder",
            ));
        }
        return Ok(vec![source.to_path_buf()]);
    }
    let found = files_below(source, pattern, &is_parquet_name)?;
    if found.is_empty() {
        return Err(match pattern {
            None => unreadable(
                source,
                "the folder holds no Parquet files (.parquet or .pq), nor CSV or JSON files to convert",
            ),
            Some(p) => p.matched_nothing(&source.display().to_string()),
        });
    }
    Ok(found)
}

/// How a listing table reads the linked Parquet files.
#[derive(Debug, Clone, Copy)]
enum Reader {
    /// Float maxima not trusted (see `float_stats`): this machine's queries.
    NanSafe,
    /// DataFusion's own format, the one a cluster's executors can be sent.
    DataFusion,
}

/// The table's columns, each of which may be empty: a row added after the files' rows starts
/// empty, whatever the files say of their own columns.
fn may_be_empty(schema: &Schema) -> SchemaRef {
    Arc::new(Schema::new_with_metadata(
        schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect::<Vec<_>>(),
        schema.metadata().clone(),
    ))
}

/// Keeps the first file's schema in `schema` and refuses a later file whose columns differ.
fn same_columns(
    schema: &mut Option<SchemaRef>,
    metadata: &ArrowReaderMetadata,
    file: &Path,
) -> Result<(), TableError> {
    match schema {
        None => *schema = Some(metadata.schema().clone()),
        Some(first) if first.fields() != metadata.schema().fields() => {
            return Err(unreadable(
                file,
                "its columns differ from the first file's; every file of a linked folder must have the same columns",
            ))
        }
        Some(_) => {}
    }
    Ok(())
}

/// Where each row group's first row is in its file, and the file's rows.
fn group_starts(metadata: &ArrowReaderMetadata) -> (Vec<u64>, u64) {
    let mut starts = Vec::new();
    let mut rows = 0u64;
    for group in metadata.metadata().row_groups() {
        starts.push(rows);
        rows += group.num_rows().max(0) as u64;
    }
    (starts, rows)
}

/// The table's columns and partitioning from the files' columns and the folders above each
/// file (below the linked folder).
fn partitioned(
    source: &Path,
    files: &SchemaRef,
    folders: &[Vec<String>],
) -> Result<(SchemaRef, Option<Partitioning>), TableError> {
    let partitioning = hive::detect(folders);
    if let Some(key) = partitioning.as_ref().and_then(|p| p.clash(files)) {
        return Err(unreadable(
            source,
            format!(
                "its folders are named {key}=…, and {key} is also a column of its files; \
                 link one partition folder, or rename the column"
            ),
        ));
    }
    Ok((
        hive::schema_with(files, partitioning.as_ref()),
        partitioning,
    ))
}

impl LinkedTable {
    /// Links a Parquet file or a folder of Parquet files with one schema: reads the footers
    /// only.
    pub fn open(source: &Path) -> Result<LinkedTable, TableError> {
        LinkedTable::open_matching(source, None)
    }

    /// [`LinkedTable::open`], of the folder's files that `pattern` matches when one is given.
    pub fn open_matching(
        source: &Path,
        pattern: Option<&FilePattern>,
    ) -> Result<LinkedTable, TableError> {
        let mut files = Vec::new();
        let mut first_row = 0u64;
        let mut bytes = 0u64;
        let mut schema: Option<SchemaRef> = None;
        for path in files_of(source, pattern)? {
            crate::tables::footer_guard::check_file(&path)
                .map_err(|why| unreadable(&path, format!("it is damaged: {why}")))?;
            let file = File::open(&path).map_err(|e| TableError::file(&path, e))?;
            let metadata =
                // The page index is optional: files without one page by row group instead.
                ArrowReaderMetadata::load(
                    &file,
                    ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional),
                )
                    .and_then(as_linked)
                    .map_err(|e| {
                        unreadable(
                            &path,
                            format!("it is not a readable Parquet file ({e}); Quire links Parquet files, and imports CSV and JSON"),
                        )
                    })?;
            same_columns(&mut schema, &metadata, &path)?;
            let (group_starts, rows) = group_starts(&metadata);
            let stamp = stamp(&path)?;
            bytes += stamp.0;
            files.push(LinkedFile {
                at: FileAt::Local(path),
                first_row,
                rows,
                group_starts,
                metadata,
                stamp,
            });
            first_row += rows;
        }
        let file_schema = schema.ok_or_else(|| unreadable(source, "there is nothing to link"))?;
        let folders: Vec<Vec<String>> = files
            .iter()
            .map(|f| match &f.at {
                FileAt::Local(path) => path
                    .parent()
                    .and_then(|p| p.strip_prefix(source).ok())
                    .map(|below| {
                        below
                            .components()
                            .map(|c| c.as_os_str().to_string_lossy().into_owned())
                            .collect()
                    })
                    .unwrap_or_default(),
                FileAt::Remote { .. } => Vec::new(),
            })
            .collect();
        let (schema, partitioning) = partitioned(source, &file_schema, &folders)?;
        let schema = may_be_empty(&schema);
        Ok(LinkedTable {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            source: source.to_path_buf(),
            pattern: pattern.cloned(),
            schema,
            file_zones: files
                .first()
                .map(|f| file_zones(&f.metadata))
                .unwrap_or_default(),
            file_schema,
            partitioning,
            files,
            rows: first_row,
            bytes,
            converted: false,
            origin: None,
            remote: None,
            edits: EditLog::default(),
            saved_edits: AtomicU64::new(1),
            discard_when_unused: Default::default(),
            compaction_failed: Default::default(),
        })
    }

    /// Links a Parquet object, or every Parquet object under a prefix (`s3://bucket/folder/`),
    /// through `connection`: lists the keys and reads each footer (two small ranges), nothing
    /// else.
    pub fn open_remote(
        connection: &str,
        settings: &StoreSettings,
        url: &str,
    ) -> Result<LinkedTable, TableError> {
        let (BucketStore { store, endpoint }, typed_key) = settings.store_for(url)?;
        let (service, bucket, _) = crate::remote::split_address(url)?;
        let scheme = service.scheme();
        // A glob lists its prefix and keeps the keys below it that match.
        let (key, pattern) = FilePattern::split_key(&typed_key)?;
        let failed = |e: object_store::Error| RemoteError::from_store(&endpoint, url, &e);
        // The key as typed (spaces, `#`, `=` and all), not percent-encoded a second time.
        let typed = ObjectPath::parse(&key).map_err(|e| RemoteError::Invalid {
            what: format!("the address {url}"),
            why: e.to_string(),
        })?;
        let objects: Vec<ObjectMeta> = if pattern.is_none() && is_parquet_name(&key) {
            vec![io::wait(store.head(&typed)).map_err(failed)?]
        } else {
            let prefix = key.trim_end_matches('/');
            let listed: Vec<ObjectMeta> = io::wait(
                store
                    .list((!prefix.is_empty()).then_some(&typed))
                    .try_collect(),
            )
            .map_err(failed)?;
            let mut data: Vec<ObjectMeta> = listed
                .into_iter()
                .filter(|m| {
                    let full = m.location.as_ref();
                    let below = full
                        .strip_prefix(prefix)
                        .unwrap_or(full)
                        .trim_start_matches('/');
                    is_data_key(below)
                        && pattern.as_ref().is_none_or(|p| p.matches(Path::new(below)))
                })
                .collect();
            data.sort_by(|a, b| a.location.cmp(&b.location));
            if data.is_empty() {
                return Err(match &pattern {
                    None => unreadable(
                        Path::new(url),
                        "there are no Parquet objects (.parquet or .pq) under it, nor CSV or JSON objects to convert",
                    ),
                    Some(p) => p.matched_nothing(&format!("{scheme}://{bucket}/{prefix}")),
                });
            }
            data
        };
        let mut files = Vec::new();
        let mut first_row = 0u64;
        let mut bytes = 0u64;
        let mut schema: Option<SchemaRef> = None;
        for meta in objects {
            let shown = format!("{scheme}://{bucket}/{}", meta.location);
            let at = PathBuf::from(&shown);
            let metadata = io::wait(remote_metadata(&store, &meta)).map_err(|e| match e {
                Footer::Store(e) => {
                    TableError::from(RemoteError::from_store(&endpoint, &shown, &e))
                }
                Footer::Damaged(why) => unreadable(&at, format!("it is damaged: {why}")),
                Footer::Parquet(e) => unreadable(
                    &at,
                    format!("it is not a readable Parquet file ({e}); Quire links Parquet files"),
                ),
            })?;
            same_columns(&mut schema, &metadata, &at)?;
            let (group_starts, rows) = group_starts(&metadata);
            bytes += meta.size;
            if let Some(tag) = &meta.e_tag {
                store.pin(&meta.location, tag);
            }
            files.push(LinkedFile {
                at: FileAt::Remote {
                    key: meta.location.clone(),
                    url: shown,
                },
                first_row,
                rows,
                group_starts,
                metadata,
                stamp: remote_stamp(&meta),
            });
            first_row += rows;
        }
        let file_schema =
            schema.ok_or_else(|| unreadable(Path::new(url), "there is nothing to link"))?;
        let prefix = key.trim_end_matches('/');
        let folders: Vec<Vec<String>> = files
            .iter()
            .map(|f| match &f.at {
                FileAt::Remote { key: object, .. }
                    if pattern.is_some() || !is_parquet_name(&key) =>
                {
                    let full = object.as_ref();
                    let below = full
                        .strip_prefix(prefix)
                        .unwrap_or(full)
                        .trim_start_matches('/');
                    let mut parts: Vec<String> = below.split('/').map(String::from).collect();
                    parts.pop(); // the object's own name
                    parts
                }
                _ => Vec::new(),
            })
            .collect();
        let (schema, partitioning) = partitioned(Path::new(url), &file_schema, &folders)?;
        let schema = may_be_empty(&schema);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let registered = url::Url::parse(&format!("quire-s3://link-{id}")).map_err(|e| {
            TableError::Persist(format!("the store's address could not be made: {e}"))
        })?;
        Ok(LinkedTable {
            id,
            source: PathBuf::from(url),
            pattern: None,
            schema,
            file_zones: files
                .first()
                .map(|f| file_zones(&f.metadata))
                .unwrap_or_default(),
            file_schema,
            partitioning,
            files,
            rows: first_row,
            bytes,
            converted: false,
            origin: None,
            remote: Some(RemoteSource {
                connection: connection.to_string(),
                settings: settings.clone(),
                url: url.to_string(),
                store,
                endpoint,
                registered,
            }),
            edits: EditLog::default(),
            saved_edits: AtomicU64::new(1),
            discard_when_unused: Default::default(),
            compaction_failed: Default::default(),
        })
    }

    /// The same link made again (its files read anew), for a rename.
    pub fn reopen(&self) -> Result<LinkedTable, TableError> {
        let mut again = match &self.remote {
            Some(r) => LinkedTable::open_remote(&r.connection, &r.settings, &r.url)?,
            None => LinkedTable::open_matching(&self.source, self.pattern.as_ref())?,
        };
        again.converted = self.converted;
        again.origin = self.origin.clone();
        Ok(again)
    }

    pub fn info(&self, name: &str) -> TableInfo {
        let edits = self.edits.current();
        TableInfo {
            name: name.to_string(),
            version: edits.version,
            rows: edits.visible_rows(self.rows),
            columns: columns_of(&self.schema),
            memory_bytes: self.edits.memory_bytes(),
            linked: Some(self.shown_source()),
            converted: self.converted,
            origin: self.origin.clone(),
            missing: None,
        }
    }

    /// Where a copy of this link's rows comes from, for the copy to say: the user's files, or
    /// where this copy's own rows came from.
    pub fn origin_of_copy(&self) -> Option<String> {
        if self.converted {
            self.origin.clone()
        } else {
            Some(self.shown_source())
        }
    }

    /// What the link reads, for people: the file or folder, and the pattern below it.
    pub fn shown_source(&self) -> String {
        match &self.pattern {
            Some(p) => self.source.join(p.as_str()).display().to_string(),
            None => self.source.display().to_string(),
        }
    }

    /// The files as they are now, as a short text: edits name rows by position, so they apply
    /// only to files with the same one. Each file's name below the link, size and rows, and
    /// for the user's files its time or tag too; not for Quire's own copies in the notebook
    /// folder, which it never changes and which move (and get new times) with the folder.
    pub fn fingerprint(&self) -> String {
        let mut hasher = blake3::Hasher::new();
        for f in &self.files {
            let shown = f.at.shown();
            let below = shown
                .strip_prefix(&self.source)
                .ok()
                .filter(|b| !b.as_os_str().is_empty())
                .map(Path::to_path_buf)
                .or_else(|| shown.file_name().map(PathBuf::from))
                .unwrap_or(shown.clone());
            let time = if self.converted {
                ""
            } else {
                f.stamp.1.as_str()
            };
            let line = format!("{}\t{}\t{}\t{}\n", below.display(), f.stamp.0, time, f.rows);
            hasher.update(line.as_bytes());
        }
        hasher.finalize().to_hex()[..32].to_string()
    }

    /// How many files the link reads.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// The table SQL sees: its files with its edits merged on read.
    pub fn sql_provider(self: &Arc<Self>) -> Result<Arc<dyn TableProvider>, TableError> {
        Ok(Arc::new(MergedProvider::new(self.clone(), false)?))
    }

    /// The table with its row ids (positions) as a last column, for the grid's views.
    pub fn provider_with_ids(self: &Arc<Self>) -> Result<Arc<dyn TableProvider>, TableError> {
        Ok(Arc::new(MergedProvider::new(self.clone(), true)?))
    }

    /// [`LinkedTable::provider_with_ids`] as of `edits`, whatever they are when it is read.
    pub fn provider_with_ids_at(
        self: &Arc<Self>,
        edits: Arc<Edits>,
    ) -> Result<Arc<dyn TableProvider>, TableError> {
        Ok(Arc::new(MergedProvider::pinned(
            self.clone(),
            true,
            Some(edits),
        )?))
    }

    /// A DataFusion table over exactly the linked files as they are (no edits): objects
    /// through this machine's store registered for the link.
    pub fn provider(&self) -> Result<Arc<dyn TableProvider>, TableError> {
        let registered = self.remote.as_ref().map(|r| r.registered.clone());
        self.listing(registered, Reader::NanSafe)
    }

    /// The same files as [`LinkedTable::provider`], addressed as a cluster reaches them: a
    /// local file by its path, an object by its real `s3://bucket/key` (the cluster's own store
    /// registry, not this machine's per-link one, reads it).
    pub fn cluster_provider(&self) -> Result<Arc<dyn TableProvider>, TableError> {
        let store = match &self.remote {
            Some(remote) => {
                let (service, bucket, _) = crate::remote::split_address(&remote.url)?;
                let scheme = service.scheme();
                Some(
                    url::Url::parse(&format!("{scheme}://{bucket}")).map_err(|e| {
                        TableError::Persist(format!(
                            "the address of {bucket} could not be made: {e}"
                        ))
                    })?,
                )
            }
            None => None,
        };
        // Ballista sends a plan to its executors in the formats it knows: DataFusion's own,
        // told to skip nothing by value when the files have a float column (see `files_table`).
        self.listing(store, Reader::DataFusion)
    }

    /// A listing table over the linked files, objects addressed under `store`, read by `reader`.
    fn listing(
        &self,
        store: Option<url::Url>,
        reader: Reader,
    ) -> Result<Arc<dyn TableProvider>, TableError> {
        let urls = self
            .files
            .iter()
            .map(|f| match (&f.at, &store) {
                (FileAt::Local(path), _) => {
                    let text = path.to_str().ok_or_else(|| {
                        unreadable(path, "its name is not valid Unicode, which SQL cannot read")
                    })?;
                    Ok(ListingTableUrl::parse(text)?)
                }
                (FileAt::Remote { key, .. }, Some(store)) => {
                    // Segment by segment, so `#`, `?` or `%` in a key stay part of the path.
                    let mut url = store.clone();
                    url.path_segments_mut()
                        .map_err(|()| {
                            TableError::Persist(format!("the address of {key} could not be made"))
                        })?
                        .extend(key.parts().map(|part| part.as_ref().to_string()));
                    Ok(ListingTableUrl::parse(url.as_str())?)
                }
                (FileAt::Remote { key, .. }, None) => Err(TableError::Persist(format!(
                    "the remote file {key} has no store"
                ))),
            })
            .collect::<Result<Vec<_>, TableError>>()?;
        let Some(partitioning) = &self.partitioning else {
            return self.files_table(urls, reader);
        };
        // One scan per partition (its files are next to each other: they are in path order),
        // its keys added as constants, all of them one after the other. A filter on a key
        // folds to false in the scans of other partitions, which are then not read.
        use datafusion::logical_expr::{cast, lit, LogicalPlanBuilder};
        let mut plans = Vec::new();
        let mut start = 0;
        while start < urls.len() {
            let values = &partitioning.values[start];
            let end = (start..urls.len())
                .find(|&i| partitioning.values[i] != *values)
                .unwrap_or(urls.len());
            let table = self.files_table(urls[start..end].to_vec(), reader)?;
            let mut columns: Vec<datafusion::logical_expr::Expr> = self
                .file_schema
                .fields()
                .iter()
                .map(|f| datafusion::prelude::col(datafusion::common::Column::from_name(f.name())))
                .collect();
            for (field, value) in partitioning.fields.iter().zip(values) {
                columns
                    .push(cast(lit(value.clone()), field.data_type().clone()).alias(field.name()));
            }
            let plan = LogicalPlanBuilder::scan(
                "files",
                datafusion::datasource::provider_as_source(table),
                None,
            )?
            .project(columns)?
            .build()?;
            plans.push(plan);
            start = end;
        }
        // One flat union, however many partitions (not a chain as deep as their number).
        let plan = match plans.len() {
            0 => {
                return Err(TableError::Persist(
                    "a partitioned link without files".into(),
                ))
            }
            1 => plans.remove(0),
            _ => datafusion::logical_expr::LogicalPlan::Union(
                datafusion::logical_expr::Union::try_new_with_loose_types(
                    plans.into_iter().map(Arc::new).collect(),
                )?,
            ),
        };
        Ok(Arc::new(datafusion::catalog::view::ViewTable::new(
            plan, None,
        )))
    }

    /// A listing table over `urls`, with the files' own columns.
    fn files_table(
        &self,
        urls: Vec<ListingTableUrl>,
        reader: Reader,
    ) -> Result<Arc<dyn TableProvider>, TableError> {
        let floats = self
            .file_schema
            .fields()
            .iter()
            .any(|f| f.data_type().is_floating());
        let format: Arc<dyn datafusion::datasource::file_format::FileFormat> = match reader {
            Reader::NanSafe => Arc::new(float_stats::NanSafeParquet::default()),
            Reader::DataFusion => {
                let mut parquet =
                    datafusion::datasource::file_format::parquet::ParquetFormat::default();
                if floats {
                    // Nothing skipped by value, as the NaN-safe reader skips nothing by a
                    // float's bounds: a cluster's answer is this machine's.
                    let mut options = parquet.options().clone();
                    options.global.pruning = false;
                    options.global.enable_page_index = false;
                    parquet = parquet.with_options(options);
                }
                Arc::new(parquet)
            }
        };
        // Every linked file is named explicitly, whatever its ending.
        let options = ListingOptions::new(format).with_file_extension("");
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(options)
            .with_schema(self.file_schema.clone());
        Ok(Arc::new(ListingTable::try_new(config)?))
    }

    /// The local files the link reads (none for a link to object storage).
    pub fn local_files(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().filter_map(|f| match &f.at {
            FileAt::Local(path) => Some(path.as_path()),
            FileAt::Remote { .. } => None,
        })
    }

    /// The rows the table shows: its files' rows less the deleted ones.
    pub fn visible_rows(&self) -> u64 {
        self.edits.current().visible_rows(self.rows)
    }

    /// Rows `[offset, offset + limit)` of those shown (deleted rows skipped), in file order,
    /// with their positions as the row id column and the edited cells in place: only the rows
    /// shown are read, from the row groups (and pages) that hold them.
    pub fn page(&self, offset: u64, limit: u64) -> Result<RecordBatch, TableError> {
        let edits = self.edits.current();
        self.rows_of(&edits, &edits.visible_runs(self.rows, offset, limit))
    }

    /// The rows at `positions` as of `edits`, in the table's columns (a preview's sample: a
    /// deleted position gives no row).
    pub fn rows_at(&self, edits: &Edits, positions: &[u64]) -> Result<RecordBatch, TableError> {
        let page = self.rows_with_ids(edits, positions)?;
        let n = self.schema.fields().len();
        Ok(RecordBatch::try_new(
            self.schema.clone(),
            page.columns()[..n].to_vec(),
        )?)
    }

    /// The rows at `positions` (ascending, no repeats) as of `edits`, with their positions as
    /// the row id column; a deleted position gives no row.
    pub fn rows_with_ids(
        &self,
        edits: &Edits,
        positions: &[u64],
    ) -> Result<RecordBatch, TableError> {
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for &p in positions {
            match runs.last_mut() {
                Some(run) if run.1 == p => run.1 = p + 1,
                _ => runs.push((p, p + 1)),
            }
        }
        self.rows_of(edits, &runs)
    }

    /// The rows of `runs` (ascending runs `[start, end)` of positions) as of `edits`, with
    /// their positions as the row id column.
    fn rows_of(&self, edits: &Edits, runs: &[(u64, u64)]) -> Result<RecordBatch, TableError> {
        let schema = Arc::new(page_schema(&self.schema));
        let columns: Vec<usize> = (0..self.schema.fields().len())
            .chain([usize::MAX])
            .collect();
        let mut parts = Vec::new();
        for (i, f) in self.files.iter().enumerate() {
            let (lo, hi) = (f.first_row, f.first_row + f.rows);
            let inside: Vec<(u64, u64)> = runs
                .iter()
                .map(|&(a, b)| (a.max(lo), b.min(hi)))
                .filter(|(a, b)| a < b)
                .map(|(a, b)| (a - lo, b - lo))
                .collect();
            if inside.is_empty() {
                continue;
            }
            for part in f.read_runs(self.remote.as_ref(), &inside)? {
                let mut batch_columns = self.with_keys(i, &part.batch);
                let at = f.first_row + part.first;
                let n = part.batch.num_rows() as u64;
                batch_columns.push(Arc::new(UInt64Array::from_iter_values(at..at + n)));
                let batch = RecordBatch::try_new(schema.clone(), batch_columns)?;
                parts.push(edits.merge(batch, at, &columns)?);
            }
        }
        for &(a, b) in runs {
            let (a, b) = (a.max(self.rows), b.min(edits.positions(self.rows)));
            if a < b {
                parts.push(edits.added_batch(&schema, &columns, a, b)?);
            }
        }
        Ok(concat_batches(&schema, &parts)?)
    }
}

impl LinkedTable {
    /// Every row, in file order and as edited, charged to `budget` batch by batch (a copy
    /// into the notebook: `too_large` once it does not fit, before memory runs out).
    pub fn read_all(&self, budget: &super::Budget) -> Result<Vec<RecordBatch>, TableError> {
        let edits = self.edits.current();
        let every: Vec<usize> = (0..self.schema.fields().len()).collect();
        let mut batches = Vec::new();
        for (i, f) in self.files.iter().enumerate() {
            if f.rows == 0 {
                continue;
            }
            for part in f.read(self.remote.as_ref(), 0, f.rows)? {
                let batch =
                    RecordBatch::try_new(self.schema.clone(), self.with_keys(i, &part.batch))?;
                let batch = edits.merge(batch, f.first_row + part.first, &every)?;
                budget.charge(&batch)?;
                batches.push(batch);
            }
        }
        for batch in self.added_batches(&edits) {
            let batch = batch?;
            budget.charge(&batch)?;
            batches.push(batch);
        }
        Ok(batches)
    }

    /// Every row as of `edits` written into `sink`, a part per linked file, row group by row
    /// group (never more than one in memory); stops at the next row group once `cancel` is.
    pub fn write_merged(
        &self,
        edits: &Edits,
        sink: &dyn super::import::sink::Sink,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Result<u64, TableError> {
        self.write_reshaped(edits, None, sink, &|_| {}, cancel)
    }

    /// [`Self::write_merged`] with every batch reshaped by `reshape` (a transform that changes
    /// columns, written into a copy); `progress` hears the rows written.
    pub fn write_reshaped(
        &self,
        edits: &Edits,
        reshape: Option<&super::transform::Reshape>,
        sink: &dyn super::import::sink::Sink,
        progress: &(dyn Fn(u64) + Sync),
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Result<u64, TableError> {
        let schema = reshape.map_or(&self.schema, |r| &r.schema);
        let shaped = |batch: RecordBatch| match reshape {
            Some(r) => r.apply(&batch),
            None => Ok(batch),
        };
        let mut rows = 0;
        for i in 0..self.files.len() {
            let mut part = sink.open(i, schema)?;
            for batch in self.merged_file(i, edits) {
                if cancel.is_cancelled() {
                    return Err(TableError::Cancelled);
                }
                let batch = shaped(batch?)?;
                rows += batch.num_rows() as u64;
                part.push(batch)?;
                progress(rows);
            }
            part.finish()?;
        }
        if edits.added() > 0 {
            let mut part = sink.open(self.files.len(), schema)?;
            for batch in self.added_batches(edits) {
                if cancel.is_cancelled() {
                    return Err(TableError::Cancelled);
                }
                let batch = shaped(batch?)?;
                rows += batch.num_rows() as u64;
                part.push(batch)?;
                progress(rows);
            }
            part.finish()?;
        }
        Ok(rows)
    }

    /// The rows added after the files' rows as of `edits`, a read batch at a time.
    fn added_batches<'a>(
        &'a self,
        edits: &'a Edits,
    ) -> impl Iterator<Item = Result<RecordBatch, TableError>> + 'a {
        let every: Vec<usize> = (0..self.schema.fields().len()).collect();
        let end = edits.positions(self.rows);
        (self.rows..end).step_by(READ_BATCH).map(move |from| {
            let to = (from + READ_BATCH as u64).min(end);
            edits.added_batch(&self.schema, &every, from, to)
        })
    }

    /// Every row in file order as of `edits`, read a row group at a time as it is asked for.
    pub fn merged<'a>(
        &'a self,
        edits: &'a Edits,
    ) -> impl Iterator<Item = Result<RecordBatch, TableError>> + 'a {
        (0..self.files.len())
            .flat_map(move |i| self.merged_file(i, edits))
            .chain(self.added_batches(edits))
    }

    /// The rows of linked file `i` as of `edits`, a row group at a time.
    fn merged_file<'a>(
        &'a self,
        i: usize,
        edits: &'a Edits,
    ) -> impl Iterator<Item = Result<RecordBatch, TableError>> + 'a {
        let f = &self.files[i];
        let every: Vec<usize> = (0..self.schema.fields().len()).collect();
        let ends = f.group_starts.iter().skip(1).copied().chain([f.rows]);
        let groups: Vec<(u64, u64)> = f
            .group_starts
            .iter()
            .copied()
            .zip(ends)
            .filter(|(start, end)| start < end)
            .collect();
        groups.into_iter().flat_map(move |(start, end)| {
            let merged = f.read(self.remote.as_ref(), start, end).and_then(|parts| {
                parts
                    .into_iter()
                    .map(|read| {
                        let batch = RecordBatch::try_new(
                            self.schema.clone(),
                            self.with_keys(i, &read.batch),
                        )?;
                        edits.merge(batch, f.first_row + read.first, &every)
                    })
                    .collect::<Result<Vec<_>, _>>()
            });
            match merged {
                Ok(batches) => batches.into_iter().map(Ok).collect::<Vec<_>>(),
                Err(e) => vec![Err(e)],
            }
        })
    }

    /// A batch of file `file`'s columns, with the partition keys' values after them.
    fn with_keys(&self, file: usize, batch: &RecordBatch) -> Vec<ArrayRef> {
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        if let Some(p) = &self.partitioning {
            columns.extend(p.columns(file, batch.num_rows()));
        }
        columns
    }
}

/// Rows read from one file, and the in-file position of the first.
struct Part {
    first: u64,
    batch: RecordBatch,
}

impl LinkedFile {
    /// Rows `[lo, hi)` of this file.
    fn read(
        &self,
        remote: Option<&RemoteSource>,
        lo: u64,
        hi: u64,
    ) -> Result<Vec<Part>, TableError> {
        self.read_runs(remote, &[(lo, hi)])
    }

    /// The rows of `runs` (ascending, apart, non-empty runs `[lo, hi)` of this file's rows),
    /// each part within one run: only the row groups holding them are read, and inside them a
    /// row selection skips the rest.
    fn read_runs(
        &self,
        remote: Option<&RemoteSource>,
        runs: &[(u64, u64)],
    ) -> Result<Vec<Part>, TableError> {
        let runs: Vec<(u64, u64)> = runs.iter().copied().filter(|(lo, hi)| lo < hi).collect();
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        let shown = self.at.shown();
        let group_of = |row: u64| self.group_starts.partition_point(|s| *s <= row) - 1;
        let group_end = |g: usize| self.group_starts.get(g + 1).copied().unwrap_or(self.rows);
        // The row groups the runs touch, and a selection over their rows, in order.
        let mut groups: Vec<usize> = Vec::new();
        for &(lo, hi) in &runs {
            for g in group_of(lo)..=group_of(hi - 1) {
                if groups.last() != Some(&g) {
                    groups.push(g);
                }
            }
        }
        let mut selectors = Vec::new();
        let mut run = runs.iter().peekable();
        for &g in &groups {
            let (mut at, end) = (self.group_starts[g], group_end(g));
            while let Some(&&(lo, hi)) = run.peek() {
                if lo >= end {
                    break;
                }
                let (from, to) = (lo.max(at), hi.min(end));
                if from > at {
                    selectors.push(RowSelector::skip((from - at) as usize));
                }
                selectors.push(RowSelector::select((to - from) as usize));
                at = to;
                if hi <= end {
                    run.next();
                } else {
                    break;
                }
            }
            if end > at {
                selectors.push(RowSelector::skip((end - at) as usize));
            }
        }
        let take: u64 = runs.iter().map(|(lo, hi)| hi - lo).sum();
        let batch_size = (take as usize).clamp(1, READ_BATCH);
        let failed = |e: datafusion::parquet::errors::ParquetError| {
            unreadable(&shown, format!("reading it failed: {e}"))
        };
        let changed = || {
            unreadable(
                &shown,
                "it changed since it was linked; delete the link and link the file again",
            )
        };
        let selection = RowSelection::from(selectors);
        let batches: Vec<RecordBatch> = match (&self.at, remote) {
            (FileAt::Local(path), _) => {
                if stamp(path)? != self.stamp {
                    return Err(changed());
                }
                let file = File::open(path).map_err(|e| TableError::file(path, e))?;
                ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.metadata.clone())
                    .with_row_groups(groups)
                    .with_row_selection(selection)
                    .with_batch_size(batch_size)
                    .build()
                    .map_err(failed)?
                    .collect::<Result<_, _>>()?
            }
            (FileAt::Remote { key, url }, Some(remote)) => {
                let store: Arc<dyn ObjectStore> = remote.store.clone();
                let gone = |e: object_store::Error| {
                    TableError::from(RemoteError::from_store(&remote.endpoint, url, &e))
                };
                let meta = io::wait(store.head(key)).map_err(gone)?;
                if remote_stamp(&meta) != self.stamp {
                    return Err(changed());
                }
                let reader = StoreReader::new(store, key.clone(), meta.size);
                let stream = ParquetRecordBatchStreamBuilder::new_with_metadata(
                    reader,
                    self.metadata.clone(),
                )
                .with_row_groups(groups)
                .with_row_selection(selection)
                .with_batch_size(batch_size)
                .build()
                .map_err(failed)?;
                io::wait(stream.try_collect::<Vec<_>>()).map_err(failed)?
            }
            (FileAt::Remote { .. }, None) => {
                return Err(TableError::Persist(
                    "a remote file without its store".into(),
                ))
            }
        };
        // The rows come in run order: cut where a run ends, so each part's rows are
        // consecutive positions.
        let mut parts = Vec::new();
        let mut runs_left = runs.iter();
        let mut current = runs_left.next().copied();
        let mut done_in_run = 0u64;
        for batch in batches {
            let mut offset = 0usize;
            while offset < batch.num_rows() {
                let Some((lo, hi)) = current else {
                    return Err(unreadable(
                        &shown,
                        "it holds more rows than its footer says",
                    ));
                };
                let n = ((hi - lo - done_in_run) as usize).min(batch.num_rows() - offset);
                parts.push(Part {
                    first: lo + done_in_run,
                    batch: batch.slice(offset, n),
                });
                offset += n;
                done_in_run += n as u64;
                if done_in_run == hi - lo {
                    current = runs_left.next().copied();
                    done_in_run = 0;
                }
            }
        }
        if let Some((lo, hi)) = current {
            return Err(unreadable(
                &shown,
                format!(
                    "it holds fewer rows than its footer says ({} of {hi})",
                    lo + done_in_run
                ),
            ));
        }
        Ok(parts)
    }
}

/// Why a remote footer did not read.
enum Footer {
    Store(object_store::Error),
    Damaged(String),
    Parquet(datafusion::parquet::errors::ParquetError),
}

/// A remote file's footer: its last bytes checked by the footer guard (as a local file's are),
/// then decoded with the page index when there is one.
async fn remote_metadata(
    store: &Arc<CountedStore>,
    meta: &ObjectMeta,
) -> Result<ArrowReaderMetadata, Footer> {
    let size = meta.size;
    if size >= 12 {
        let tail = store
            .get_range(&meta.location, size - 8..size)
            .await
            .map_err(Footer::Store)?;
        if tail.len() == 8 && &tail[4..] == b"PAR1" {
            let footer_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
            if footer_len + 8 <= size {
                let footer = store
                    .get_range(&meta.location, size - 8 - footer_len..size - 8)
                    .await
                    .map_err(Footer::Store)?;
                super::footer_guard::check_footer(&footer).map_err(Footer::Damaged)?;
            }
        }
    }
    let store: Arc<dyn ObjectStore> = store.clone();
    let mut reader = StoreReader::new(store, meta.location.clone(), size);
    ArrowReaderMetadata::load_async(
        &mut reader,
        ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional),
    )
    .await
    .and_then(as_linked)
    .map_err(Footer::Parquet)
}

/// The date-time columns the file writes in a zone other than UTC, and that zone (as the file
/// says it, before [`as_linked`] shows them in UTC).
fn file_zones(metadata: &ArrowReaderMetadata) -> std::collections::HashMap<String, Arc<str>> {
    let file = metadata.metadata().file_metadata();
    let Ok(written) = datafusion::parquet::arrow::parquet_to_arrow_schema(
        file.schema_descr(),
        file.key_value_metadata(),
    ) else {
        return Default::default();
    };
    written
        .fields()
        .iter()
        .filter_map(|f| Some((f.name().clone(), shown_in_utc(f.data_type())?.clone())))
        .collect()
}

/// The zone of a date-time column a link shows in UTC instead: any other than UTC.
fn shown_in_utc(data_type: &DataType) -> Option<&Arc<str>> {
    match data_type {
        DataType::Timestamp(_, Some(tz)) if tz.as_ref() != "UTC" => Some(tz),
        _ => None,
    }
}

/// The file's columns as a copy of it holds them: a date-time with a zone (`Europe/Berlin`)
/// in UTC, the same instants, and no schema-wide metadata. Kept in the file's zone, a link gave
/// other days to `date_trunc('day', ts)` and another display than the same file imported, and
/// the import dialog, which shows UTC, misdescribed it. And the metadata writers keep there
/// (pandas' `pandas` key, different in every file) broke joins of two links: DataFusion merges
/// both sides' metadata, and swapping the sides changed the merged value ("Schema metadata
/// mismatch").
fn as_linked(
    metadata: ArrowReaderMetadata,
) -> Result<ArrowReaderMetadata, datafusion::parquet::errors::ParquetError> {
    use datafusion::arrow::datatypes::Field;
    let schema = metadata.schema();
    let zoned = |f: &Field| shown_in_utc(f.data_type()).is_some();
    if schema.metadata().is_empty() && !schema.fields().iter().any(|f| zoned(f)) {
        return Ok(metadata);
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Timestamp(unit, Some(_)) if zoned(f) => f
                .as_ref()
                .clone()
                .with_data_type(DataType::Timestamp(*unit, Some("UTC".into()))),
            _ => f.as_ref().clone(),
        })
        .collect();
    let shown = Arc::new(Schema::new(fields));
    ArrowReaderMetadata::try_new(
        metadata.metadata().clone(),
        ArrowReaderOptions::new()
            .with_page_index_policy(PageIndexPolicy::Optional)
            .with_schema(shown),
    )
}

#[cfg(test)]
mod stamp_tests {
    use super::*;

    fn meta(e_tag: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            location: ObjectPath::from("a/b.parquet"),
            last_modified: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
            size: 42,
            e_tag: e_tag.map(str::to_string),
            version: None,
        }
    }

    #[test]
    fn an_objects_stamp_is_its_quoted_tag_however_the_store_wrote_it() {
        // S3 quotes its tags, and links saved before Azure hashed them quoted: that form
        // stays, so their fingerprints still match after an upgrade.
        let s3 = remote_stamp(&meta(Some("\"9b2cf535f27731c974343645a3985328\"")));
        assert_eq!(s3, (42, "\"9b2cf535f27731c974343645a3985328\"".to_string()));
        // Azure lists a tag bare and answers a HEAD with it quoted: one object, one stamp.
        assert_eq!(
            remote_stamp(&meta(Some("0x8DC0F3A1B2C3D4E"))),
            remote_stamp(&meta(Some("\"0x8DC0F3A1B2C3D4E\"")))
        );
        assert_eq!(remote_stamp(&meta(Some("W/\"x\""))).1, "W/\"x\"");
    }
}

//! SQL over a linked table with its edits merged on read.
//!
//! With no edits (and no row ids asked for), SQL reads the files through DataFusion's listing
//! table, with every pushdown it has. Once a cell is edited, a row's values depend on its
//! position, which a listing table's scan does not know once it prunes; [`MergedScan`] reads
//! the row groups itself, in order within each partition so it counts positions, with only the
//! columns asked for, and puts the edited values in place. Filters stay above it (they are
//! answered `Inexact`), so an edited value is filtered as the user sees it.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions, UInt64Array};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStore, ObjectStoreExt};

use super::edits::Edits;
use super::{remote_stamp, stamp, unreadable, FileAt, LinkedTable, READ_BATCH};
use crate::remote::{RemoteError, StoreReader};
use crate::tables::table::page_schema;
use crate::tables::TableError;

/// The table SQL sees for a link: its files, with its edits merged once there are any.
#[derive(Debug)]
pub struct MergedProvider {
    linked: Arc<LinkedTable>,
    /// The listing table over the files, used while nothing is edited.
    files: Arc<dyn TableProvider>,
    /// Whether the table's row ids (positions) come as a last column, for the grid's views.
    with_ids: bool,
    /// The edits to merge (a view made of the edits it was asked at); `None`: as they are
    /// when a query plans.
    pinned: Option<Arc<Edits>>,
    schema: SchemaRef,
}

impl MergedProvider {
    pub fn new(linked: Arc<LinkedTable>, with_ids: bool) -> Result<MergedProvider, TableError> {
        Self::pinned(linked, with_ids, None)
    }

    pub fn pinned(
        linked: Arc<LinkedTable>,
        with_ids: bool,
        pinned: Option<Arc<Edits>>,
    ) -> Result<MergedProvider, TableError> {
        let files = linked.provider()?;
        let schema = if with_ids {
            Arc::new(page_schema(&linked.schema))
        } else {
            linked.schema.clone()
        };
        Ok(MergedProvider {
            linked,
            files,
            with_ids,
            pinned,
            schema,
        })
    }
}

#[async_trait]
impl TableProvider for MergedProvider {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        if self.with_ids {
            return Ok(vec![
                TableProviderFilterPushDown::Unsupported;
                filters.len()
            ]);
        }
        // Inexact: the files' scan may prune with them, and the filter still runs above, on
        // the values as edited.
        Ok(self
            .files
            .supports_filters_pushdown(filters)?
            .into_iter()
            .map(|p| match p {
                TableProviderFilterPushDown::Exact => TableProviderFilterPushDown::Inexact,
                other => other,
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let edits = match &self.pinned {
            Some(edits) => edits.clone(),
            None => self.linked.edits.current(),
        };
        if edits.is_empty() && !self.with_ids {
            return self.files.scan(state, projection, filters, limit).await;
        }
        let projection = projection
            .cloned()
            .unwrap_or_else(|| (0..self.schema.fields().len()).collect());
        let partitions = state.config().target_partitions().max(1);
        Ok(Arc::new(MergedScan::new(
            self.linked.clone(),
            edits,
            projection,
            self.schema.clone(),
            partitions,
        )?))
    }
}

/// What one step of a partition reads.
#[derive(Debug, Clone)]
enum Run {
    /// Consecutive row groups of one file.
    Groups { file: usize, groups: Range<usize> },
    /// The rows added after the files' rows, by position.
    Added(Range<u64>),
}

/// Reads a linked table's row groups in order and merges its edits (see the module's doc).
#[derive(Debug)]
pub struct MergedScan {
    linked: Arc<LinkedTable>,
    edits: Arc<Edits>,
    /// Columns asked for, as indices in the provider's schema (the row id column last).
    projection: Vec<usize>,
    schema: SchemaRef,
    parts: Vec<Vec<Run>>,
    properties: Arc<PlanProperties>,
}

impl MergedScan {
    fn new(
        linked: Arc<LinkedTable>,
        edits: Arc<Edits>,
        projection: Vec<usize>,
        full: SchemaRef,
        partitions: usize,
    ) -> Result<MergedScan> {
        let schema = Arc::new(full.project(&projection)?);
        let mut parts = split(&linked, partitions);
        let end = edits.positions(linked.rows);
        if end > linked.rows {
            let last = parts.len() - 1;
            parts[last].push(Run::Added(linked.rows..end));
        }
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(parts.len().max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Ok(MergedScan {
            linked,
            edits,
            projection,
            schema,
            parts,
            properties,
        })
    }
}

/// The row groups in file order cut into about `n` parts of similar row counts, each a few
/// runs of consecutive groups.
fn split(linked: &LinkedTable, n: usize) -> Vec<Vec<Run>> {
    let share = linked.rows.div_ceil(n as u64).max(1);
    let mut parts: Vec<Vec<Run>> = vec![Vec::new()];
    let mut in_part = 0u64;
    for (i, f) in linked.files.iter().enumerate() {
        let groups = f.metadata.metadata().row_groups();
        for (g, group) in groups.iter().enumerate() {
            if in_part >= share {
                parts.push(Vec::new());
                in_part = 0;
            }
            let part = parts.last_mut().expect("never empty");
            match part.last_mut() {
                Some(Run::Groups { file, groups }) if *file == i && groups.end == g => {
                    groups.end = g + 1
                }
                _ => part.push(Run::Groups {
                    file: i,
                    groups: g..g + 1,
                }),
            }
            in_part += group.num_rows().max(0) as u64;
        }
    }
    parts
}

impl DisplayAs for MergedScan {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MergedScan: {} with {} edited cells",
            self.linked.source.display(),
            self.edits.len()
        )
    }
}

impl ExecutionPlan for MergedScan {
    fn name(&self) -> &str {
        "MergedScan"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if !children.is_empty() {
            return Err(DataFusionError::Internal(
                "MergedScan has no children".into(),
            ));
        }
        Ok(self)
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let runs = self.parts.get(partition).cloned().unwrap_or_default();
        let read = Reader {
            linked: self.linked.clone(),
            edits: self.edits.clone(),
            projection: self.projection.clone(),
            schema: self.schema.clone(),
        };
        let stream = futures::stream::iter(runs)
            .then(move |run| {
                let read = read.clone();
                async move { read.run(run).await }
            })
            .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            stream,
        )))
    }
}

/// What one partition needs to read its runs.
#[derive(Clone)]
struct Reader {
    linked: Arc<LinkedTable>,
    edits: Arc<Edits>,
    projection: Vec<usize>,
    schema: SchemaRef,
}

/// The top-level column whose chunks in the first row group are smallest: read whole (a map
/// column cannot be read by one of its leaves).
fn narrowest_root(
    metadata: &datafusion::parquet::arrow::arrow_reader::ArrowReaderMetadata,
) -> usize {
    let descr = metadata.metadata().file_metadata().schema_descr();
    let mut sizes: std::collections::BTreeMap<usize, i64> = std::collections::BTreeMap::new();
    if let Some(group) = metadata.metadata().row_groups().first() {
        for (leaf, chunk) in group.columns().iter().enumerate() {
            *sizes.entry(descr.get_column_root_idx(leaf)).or_default() += chunk.compressed_size();
        }
    }
    sizes
        .into_iter()
        .min_by_key(|(_, size)| *size)
        .map_or(0, |(root, _)| root)
}

fn external(e: TableError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

impl Reader {
    /// The batches of one run, merged and projected.
    async fn run(
        self,
        run: Run,
    ) -> Result<futures::stream::BoxStream<'static, Result<RecordBatch>>> {
        match run {
            Run::Groups { file, groups } => Ok(self.groups(file, groups).await?.boxed()),
            Run::Added(positions) => Ok(self.added(positions).boxed()),
        }
    }

    /// The added rows at `positions`, a read batch at a time, with the projected columns.
    fn added(
        self,
        positions: Range<u64>,
    ) -> impl futures::Stream<Item = Result<RecordBatch>> + Send + 'static {
        let table_columns = self.linked.schema.fields().len();
        let columns: Vec<usize> = self
            .projection
            .iter()
            .map(|&c| if c < table_columns { c } else { usize::MAX })
            .collect();
        let end = positions.end;
        futures::stream::iter(positions.step_by(READ_BATCH)).map(move |from| {
            let to = (from + READ_BATCH as u64).min(end);
            self.edits
                .added_batch(&self.schema, &columns, from, to)
                .map_err(external)
        })
    }

    /// The batches of row groups `groups` of file `file`, merged and projected.
    async fn groups(
        self,
        file: usize,
        groups: Range<usize>,
    ) -> Result<impl futures::Stream<Item = Result<RecordBatch>> + Send + 'static> {
        let run_groups = groups;
        let linked = self.linked.clone();
        let f = &linked.files[file];
        let shown = f.at.shown();
        let changed = || {
            external(unreadable(
                &shown,
                "it changed since it was linked; delete the link and link the file again",
            ))
        };
        let file_columns = linked.file_schema.fields().len();
        // The files' columns this query reads, in file order.
        let mut wanted: Vec<usize> = self
            .projection
            .iter()
            .copied()
            .filter(|&c| c < file_columns)
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let reader: Box<dyn AsyncFileReader> = match &f.at {
            FileAt::Local(path) => {
                if stamp(path).map_err(external)? != f.stamp {
                    return Err(changed());
                }
                let file = tokio::fs::File::open(path)
                    .await
                    .map_err(|e| external(TableError::file(path, e)))?;
                Box::new(file)
            }
            FileAt::Remote { key, url } => {
                let remote = linked.remote.as_ref().ok_or_else(|| {
                    external(TableError::Persist(
                        "a remote file without its store".into(),
                    ))
                })?;
                let store: Arc<dyn ObjectStore> = remote.store.clone();
                let meta = store.head(key).await.map_err(|e| {
                    external(RemoteError::from_store(&remote.endpoint, url, &e).into())
                })?;
                if remote_stamp(&meta) != f.stamp {
                    return Err(changed());
                }
                Box::new(StoreReader::new(store, key.clone(), meta.size))
            }
        };
        let descr = f.metadata.metadata().file_metadata().schema_descr();
        // A count reads no column but needs the rows: the narrowest column gives them.
        let mask = if wanted.is_empty() {
            ProjectionMask::roots(descr, [narrowest_root(&f.metadata)])
        } else {
            ProjectionMask::roots(descr, wanted.iter().copied())
        };
        let failed = {
            let shown = shown.clone();
            move |e: datafusion::parquet::errors::ParquetError| {
                external(unreadable(&shown, format!("reading it failed: {e}")))
            }
        };
        let stream = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, f.metadata.clone())
            .with_row_groups(run_groups.clone().collect())
            .with_projection(mask)
            .with_batch_size(READ_BATCH)
            .build()
            .map_err(&failed)?;
        let mut at = f.first_row + f.group_starts[run_groups.start];
        Ok(stream.map(move |batch| {
            let batch = batch.map_err(&failed)?;
            let first = at;
            at += batch.num_rows() as u64;
            self.assemble(file, &wanted, batch, first).map_err(external)
        }))
    }

    /// The projected columns of rows at `first..` (file columns `wanted` read into `batch`),
    /// with partition keys, edits and row ids put in.
    fn assemble(
        &self,
        file: usize,
        wanted: &[usize],
        batch: RecordBatch,
        first: u64,
    ) -> Result<RecordBatch, TableError> {
        let rows = batch.num_rows();
        let linked = &self.linked;
        let file_columns = linked.file_schema.fields().len();
        let table_columns = linked.schema.fields().len();
        let keys = linked
            .partitioning
            .as_ref()
            .map(|p| p.columns(file, rows))
            .unwrap_or_default();
        // The table's columns in the output, for the merge (the row id column is none of them).
        let mut table_cols = Vec::new();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.projection.len());
        for &c in &self.projection {
            if c < file_columns {
                let at = wanted.iter().position(|w| *w == c).expect("read above");
                columns.push(batch.column(at).clone());
                table_cols.push(c);
            } else if c < table_columns {
                columns.push(keys[c - file_columns].clone());
                table_cols.push(c);
            } else {
                columns.push(Arc::new(UInt64Array::from_iter_values(
                    first..first + rows as u64,
                )));
                table_cols.push(usize::MAX);
            }
        }
        let merged = RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )?;
        self.edits.merge(merged, first, &table_cols)
    }
}

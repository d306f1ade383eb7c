//! Parquet read without trusting its float statistics.
//!
//! Writers leave NaN out of a float column's min/max statistics (the format asks them to),
//! but SQL here orders floats as arrow does, in IEEE total order: NaN above every number, as
//! PostgreSQL has it, and a NaN with its sign bit set (what `0/0` or `inf - inf` make on x86)
//! below `-inf`. So a row group of `0.5` and `NaN` says "max 0.5", and DataFusion, pruning by
//! that, dropped the NaN row from `WHERE x > 1`, from the top of `ORDER BY x DESC LIMIT k` (its
//! TopK filter prunes the same way) and answered `max(x)` from the footer without it: a linked
//! file gave other answers than the same rows held in memory (DuckDB does the same on
//! Parquet). Neither bound of a float column is trusted, in the footer's row groups nor in its
//! page index: its scans skip nothing by value (null counts are kept).

use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::stats::Precision;
use datafusion::common::Statistics;
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::file_format::{FileFormat, FileMeta};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::ParquetFileReaderFactory;
use datafusion::datasource::physical_plan::{
    FileScanConfig, FileScanConfigBuilder, FileSinkConfig, FileSource, ParquetSource,
};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::error::{DataFusionError, Result};
use datafusion::parquet::arrow::arrow_reader::ArrowReaderOptions;
use datafusion::parquet::arrow::async_reader::AsyncFileReader;
use datafusion::parquet::basic::{LogicalType, Type as PhysicalType};
use datafusion::parquet::file::metadata::{
    ColumnChunkMetaData, PageIndexPolicy, ParquetMetaData, ParquetMetaDataBuilder,
};
use datafusion::parquet::file::page_index::column_index::ColumnIndexMetaData;
use datafusion::parquet::file::statistics::Statistics as ParquetStatistics;
use datafusion::physical_expr::LexRequirement;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion::physical_plan::ExecutionPlan;
use futures::future::BoxFuture;
use futures::FutureExt;
use object_store::{ObjectMeta, ObjectStore};

/// [`ParquetFormat`] whose scans and statistics never bound a float column.
#[derive(Debug, Default)]
pub(crate) struct NanSafeParquet {
    inner: ParquetFormat,
}

#[async_trait]
impl FileFormat for NanSafeParquet {
    fn get_ext(&self) -> String {
        self.inner.get_ext()
    }

    fn get_ext_with_compression(&self, compression: &FileCompressionType) -> Result<String> {
        self.inner.get_ext_with_compression(compression)
    }

    fn compression_type(&self) -> Option<FileCompressionType> {
        self.inner.compression_type()
    }

    async fn infer_schema(
        &self,
        state: &dyn Session,
        store: &Arc<dyn ObjectStore>,
        objects: &[ObjectMeta],
    ) -> Result<SchemaRef> {
        self.inner.infer_schema(state, store, objects).await
    }

    async fn infer_stats(
        &self,
        state: &dyn Session,
        store: &Arc<dyn ObjectStore>,
        table_schema: SchemaRef,
        object: &ObjectMeta,
    ) -> Result<Statistics> {
        let stats = self
            .inner
            .infer_stats(state, store, table_schema.clone(), object)
            .await?;
        Ok(without_float_bounds_in(stats, &table_schema))
    }

    async fn infer_stats_and_ordering(
        &self,
        state: &dyn Session,
        store: &Arc<dyn ObjectStore>,
        table_schema: SchemaRef,
        object: &ObjectMeta,
    ) -> Result<FileMeta> {
        let meta = self
            .inner
            .infer_stats_and_ordering(state, store, table_schema.clone(), object)
            .await?;
        let statistics = without_float_bounds_in(meta.statistics, &table_schema);
        Ok(FileMeta::new(statistics).with_ordering(meta.ordering))
    }

    async fn create_physical_plan(
        &self,
        state: &dyn Session,
        conf: FileScanConfig,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let plan = self.inner.create_physical_plan(state, conf).await?;
        let Some((conf, source)) = plan
            .downcast_ref::<DataSourceExec>()
            .and_then(|exec| exec.downcast_to_file_source::<ParquetSource>())
        else {
            return Err(DataFusionError::Internal(
                "a Parquet scan without its Parquet source".into(),
            ));
        };
        let Some(factory) = source.parquet_file_reader_factory().cloned() else {
            return Err(DataFusionError::Internal(
                "a Parquet scan without its file reader".into(),
            ));
        };
        let source = source
            .clone()
            .with_parquet_file_reader_factory(Arc::new(NanSafeReaders { inner: factory }));
        let conf = FileScanConfigBuilder::from(conf.clone())
            .with_source(Arc::new(source))
            .build();
        Ok(DataSourceExec::from_data_source(conf))
    }

    async fn create_writer_physical_plan(
        &self,
        input: Arc<dyn ExecutionPlan>,
        state: &dyn Session,
        conf: FileSinkConfig,
        order_requirements: Option<LexRequirement>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.inner
            .create_writer_physical_plan(input, state, conf, order_requirements)
            .await
    }

    fn file_source(&self, table_schema: TableSchema) -> Arc<dyn FileSource> {
        self.inner.file_source(table_schema)
    }
}

/// The table's statistics with no bound for a float column (so `max(x)` is computed, not read
/// from the footer, and no file is skipped for its bounds).
fn without_float_bounds_in(mut stats: Statistics, schema: &SchemaRef) -> Statistics {
    for (column, field) in stats.column_statistics.iter_mut().zip(schema.fields()) {
        if field.data_type().is_floating() {
            column.min_value = Precision::Absent;
            column.max_value = Precision::Absent;
        }
    }
    stats
}

/// Readers whose metadata holds no float bounds (see the module's note).
#[derive(Debug)]
struct NanSafeReaders {
    inner: Arc<dyn ParquetFileReaderFactory>,
}

impl ParquetFileReaderFactory for NanSafeReaders {
    fn create_reader(
        &self,
        partition_index: usize,
        file: PartitionedFile,
        metadata_size_hint: Option<usize>,
        metrics: &ExecutionPlanMetricsSet,
    ) -> Result<Box<dyn AsyncFileReader + Send>> {
        let inner = self
            .inner
            .create_reader(partition_index, file, metadata_size_hint, metrics)?;
        Ok(Box::new(NanSafeReader { inner }))
    }
}

struct NanSafeReader {
    inner: Box<dyn AsyncFileReader + Send>,
}

impl AsyncFileReader for NanSafeReader {
    fn get_bytes(
        &mut self,
        range: Range<u64>,
    ) -> BoxFuture<'_, datafusion::parquet::errors::Result<Bytes>> {
        self.inner.get_bytes(range)
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, datafusion::parquet::errors::Result<Vec<Bytes>>> {
        self.inner.get_byte_ranges(ranges)
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, datafusion::parquet::errors::Result<Arc<ParquetMetaData>>> {
        // The page index is asked for always: a scan that finds none in the metadata reads it
        // from the file itself, past this reader's cleaning.
        let options = options
            .cloned()
            .unwrap_or_default()
            .with_page_index_policy(PageIndexPolicy::Optional);
        async move {
            let metadata = self.inner.get_metadata(Some(&options)).await?;
            without_float_bounds(metadata)
        }
        .boxed()
    }
}

/// A float column of the file, by its Parquet leaf.
fn float_leaf(column: &ColumnChunkMetaData) -> bool {
    let descr = column.column_descr();
    matches!(
        descr.physical_type(),
        PhysicalType::FLOAT | PhysicalType::DOUBLE
    ) || matches!(descr.logical_type_ref(), Some(LogicalType::Float16))
}

/// `metadata` with float chunks' and float pages' bounds removed (as it is, not copied, when
/// the file has no float column).
fn without_float_bounds(
    metadata: Arc<ParquetMetaData>,
) -> datafusion::parquet::errors::Result<Arc<ParquetMetaData>> {
    let floats: Vec<bool> = match metadata.row_groups().first() {
        Some(group) => group.columns().iter().map(float_leaf).collect(),
        None => return Ok(metadata),
    };
    if !floats.contains(&true) {
        return Ok(metadata);
    }
    let mut builder = ParquetMetaDataBuilder::new_from_metadata(metadata.as_ref().clone());
    let groups = builder.take_row_groups();
    let mut cleaned = Vec::with_capacity(groups.len());
    for group in groups {
        let columns = group
            .columns()
            .iter()
            .zip(&floats)
            .map(|(column, &float)| {
                if float {
                    without_bounds(column.clone())
                } else {
                    Ok(column.clone())
                }
            })
            .collect::<datafusion::parquet::errors::Result<Vec<_>>>()?;
        cleaned.push(group.into_builder().set_column_metadata(columns).build()?);
    }
    builder = builder.set_row_groups(cleaned);
    if let Some(index) = metadata.column_index() {
        let index = index
            .iter()
            .map(|group| {
                group
                    .iter()
                    .zip(&floats)
                    .map(|(pages, &float)| {
                        if float {
                            ColumnIndexMetaData::NONE
                        } else {
                            pages.clone()
                        }
                    })
                    .collect()
            })
            .collect();
        builder = builder.set_column_index(Some(index));
    }
    Ok(Arc::new(builder.build()))
}

/// The chunk's statistics without min and max: its null count stays (`x IS NULL` still skips
/// chunks with none).
fn without_bounds(
    column: ColumnChunkMetaData,
) -> datafusion::parquet::errors::Result<ColumnChunkMetaData> {
    let nulls = column.statistics().and_then(|s| s.null_count_opt());
    let stats = match column.column_descr().physical_type() {
        PhysicalType::FLOAT => Some(ParquetStatistics::float(None, None, None, nulls, false)),
        PhysicalType::DOUBLE => Some(ParquetStatistics::double(None, None, None, nulls, false)),
        // Float16, stored as bytes.
        _ => None,
    };
    let builder = column.into_builder();
    match stats {
        Some(stats) if nulls.is_some() => builder.set_statistics(stats),
        _ => builder.clear_statistics(),
    }
    .build()
}

//! Memory limits for data work: one budget for everything in memory (`limits.memory_mb`,
//! [`super::memory`]), within it one DataFusion memory pool shared by every query (operators
//! that can spill do so into the data dir's `spill/` folder), and a budget for each table or
//! result kept in memory. Past any, the work stops with [`TableError::TooLarge`] naming the
//! setting, and nothing that was already in memory changes.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::SessionConfig;

use super::memory::{Account, SharedPool};
use super::TableError;

const MIB: u64 = 1024 * 1024;

/// The engine's limits, shared by every notebook's SQL session.
#[derive(Clone)]
pub struct Limits {
    runtime: Arc<RuntimeEnv>,
    account: Arc<Account>,
    pool_bytes: usize,
    table_bytes: u64,
    query_mb: u64,
    spill_mb: u64,
    /// Where imports put their decoded copies: the spill folder, or the OS temp folder.
    scratch: Option<std::path::PathBuf>,
    part_bytes: u64,
}

impl Default for Limits {
    /// The defaults of [`LimitsConfig`], spilling to the OS temp folder (tests, tools).
    fn default() -> Self {
        Limits::new(&LimitsConfig::default(), None).expect("the default limits are valid")
    }
}

/// The setting a query past the spill disk is told about (and what tells that case apart).
pub const SPILL_SETTING: &str = "limits.spill_disk_mb";

impl Limits {
    /// `spill_dir` is emptied by the caller at startup (spill files of a crashed run).
    pub fn new(config: &LimitsConfig, spill_dir: Option<&Path>) -> Result<Limits, TableError> {
        let pool =
            usize::try_from(config.query_memory_mb.saturating_mul(MIB)).unwrap_or(usize::MAX);
        let mut disk = DiskManagerBuilder::default()
            .with_max_temp_directory_size(config.spill_disk_mb.saturating_mul(MIB));
        if let Some(dir) = spill_dir {
            disk = disk.with_mode(DiskManagerMode::Directories(vec![dir.to_path_buf()]));
        }
        let memory_mb = match config.memory_mb {
            0 => super::memory::default_mb(),
            n => n,
        };
        let account = Arc::new(Account::new(memory_mb.saturating_mul(MIB)));
        let runtime = RuntimeEnvBuilder::new()
            // Fair between spilling operators, so one big sort cannot starve another query.
            .with_memory_pool(Arc::new(SharedPool::new(pool, account.clone())))
            .with_disk_manager_builder(disk)
            .build_arc()?;
        Ok(Limits {
            runtime,
            account,
            pool_bytes: pool,
            table_bytes: config.table_memory_mb.saturating_mul(MIB),
            query_mb: config.query_memory_mb,
            spill_mb: config.spill_disk_mb,
            scratch: spill_dir.map(Path::to_path_buf),
            part_bytes: config.conversion_part_mb.max(1).saturating_mul(MIB),
        })
    }

    /// Bytes of CSV per Parquet part of a conversion (the work a crash can lose).
    pub fn conversion_part_bytes(&self) -> u64 {
        self.part_bytes
    }

    /// What one table (or one result kept as a table) may hold in memory, in bytes.
    pub fn table_bytes(&self) -> u64 {
        self.table_bytes
    }

    /// Sizes what each sort sets aside for its final merge to the pool: DataFusion's fixed
    /// 10 MB per partition would, in a small pool or budget, leave nothing to sort with.
    pub fn tune(&self, config: &mut SessionConfig) {
        let execution = &mut config.options_mut().execution;
        // The pool is bounded by the one budget too: a 10 MB reservation per partition out of
        // a small budget would leave sorts nothing to sort with before they spill.
        let pool = self
            .pool_bytes
            .min(usize::try_from(self.account.limit()).unwrap_or(usize::MAX));
        let share = (pool / 8) / execution.target_partitions.max(1);
        execution.sort_spill_reservation_bytes = execution.sort_spill_reservation_bytes.min(share);
        // A join's side of up to 2M rows (or 64 MB) is hashed once and shared by every
        // partition (CollectLeft), as DuckDB does, instead of both sides being repartitioned
        // by key. DataFusion's defaults (128Ki rows, 1 MB) repartitioned the 10M-row side of
        // the bigdata join with its 1M-row dimension: 461 ms, against 331 ms with these
        // (10M rows, 2 cores, DuckDB 250 ms). The hash table is the same size either way.
        let optimizer = &mut config.options_mut().optimizer;
        optimizer.hash_join_single_partition_threshold_rows = 2_000_000;
        optimizer.hash_join_single_partition_threshold = 64 << 20;
        // Parquet filter pushdown (`execution.parquet.pushdown_filters`, evaluating filters
        // while decoding) stays off, DataFusion's default: measured on the `bigdata` suite
        // (100M rows, 2 cores) it made a 1 % filter 1.6x and a join 1.7x slower. Row-group and
        // page pruning by statistics work without it.
    }

    /// The spill folder, for scratch files of work that does not fit in memory (`None`: the
    /// OS's temp folder).
    pub fn scratch(&self) -> Option<&Path> {
        self.scratch.as_deref()
    }

    pub fn runtime(&self) -> Arc<RuntimeEnv> {
        self.runtime.clone()
    }

    /// The one budget everything in memory draws from.
    pub fn account(&self) -> &Arc<Account> {
        &self.account
    }

    /// A budget for one table or result being built; `what` names it in the error.
    pub fn budget(&self, what: impl Into<String>) -> Budget {
        Budget {
            what: what.into(),
            limit: self.table_bytes,
            used: AtomicU64::new(0),
            scratch: self.scratch.clone(),
            account: self.account.clone(),
            counted: AtomicU64::new(0),
        }
    }

    /// The typed error for a query that ran out of the shared pool or of spill disk, if that
    /// is why it failed. The disk limit arrives wrapped in an Arrow I/O error, hence the text.
    pub fn exhausted(&self, e: &DataFusionError) -> Option<TableError> {
        let text = e.to_string();
        if text.contains("spilling process has exceeded") {
            return Some(TableError::TooLarge {
                message: format!(
                    "the query needs more memory than the {} MiB queries may use together \
                     (limits.query_memory_mb) and more than the {} MiB of disk it may spill to \
                     ({SPILL_SETTING}); filter or aggregate the data first",
                    self.query_mb, self.spill_mb
                ),
            });
        }
        match e.find_root() {
            DataFusionError::ResourcesExhausted(detail)
                if detail.contains(super::memory::SETTING) =>
            {
                Some(TableError::TooLarge {
                    message: format!(
                        "the query needs more memory than is left of the {} MiB Quire may use \
                         in all ({}): the tables open now hold {} MiB; close or delete tables \
                         you do not need, or filter or aggregate the data first",
                        self.account.limit() / MIB,
                        super::memory::SETTING,
                        self.account.held() / MIB,
                    ),
                })
            }
            DataFusionError::ResourcesExhausted(detail) => Some(TableError::TooLarge {
                message: format!(
                    "the query needs more memory than the {} MiB queries may use together \
                     (limits.query_memory_mb); filter or aggregate the data first. \
                     DataFusion said: {detail}",
                    self.query_mb
                ),
            }),
            _ => None,
        }
    }
}

/// Memory one table or result may fill, charged batch by batch as it is built (from several
/// threads for a parallel import).
pub struct Budget {
    what: String,
    limit: u64,
    used: AtomicU64,
    scratch: Option<std::path::PathBuf>,
    account: Arc<Account>,
    /// Bytes this budget added to the account's "being built".
    counted: AtomicU64,
}

impl Drop for Budget {
    /// What was built is done with: handed to the ledger (counted there) or dropped.
    fn drop(&mut self) {
        self.handed_over();
    }
}

impl Budget {
    /// What was built is about to be held by the ledger, which counts it from then on: no
    /// longer counted as being built, so it is never counted twice.
    pub fn handed_over(&self) {
        let counted = self.counted.swap(0, Ordering::Relaxed);
        self.account.building(counted, false);
    }

    /// What was built so far was dropped, to be built again from the start (a file read
    /// again with wider columns): no longer charged.
    pub fn dropped(&self) {
        self.used.store(0, Ordering::Relaxed);
        self.handed_over();
    }

    /// The folder for scratch files of the work this budget is for (`None`: the OS's).
    pub fn scratch(&self) -> Option<&Path> {
        self.scratch.as_deref()
    }

    /// Charges a batch with the row ids a table made of it holds beside (8 bytes a row).
    pub fn charge(&self, batch: &RecordBatch) -> Result<(), TableError> {
        self.charge_bytes(batch.get_array_memory_size() as u64 + 8 * batch.num_rows() as u64)
    }

    /// Whether `size` more bytes would fit, charging nothing (a size known before the work).
    pub fn fits(&self, size: u64) -> Result<(), TableError> {
        let after = self.used.load(Ordering::Relaxed).saturating_add(size);
        if after > self.limit {
            return Err(self.too_large());
        }
        self.account.admit(&self.what, size)
    }

    pub fn charge_bytes(&self, size: u64) -> Result<(), TableError> {
        let used = self.used.fetch_add(size, Ordering::Relaxed) + size;
        if used > self.limit {
            return Err(self.too_large());
        }
        self.account.admit(&self.what, size)?;
        // Counted in the one budget while it is being built: two at once add up.
        self.account.building(size, true);
        self.counted.fetch_add(size, Ordering::Relaxed);
        Ok(())
    }

    fn too_large(&self) -> TableError {
        TableError::TooLarge {
            message: format!(
                "{} needs more than the {} MiB of memory one table may use \
                 (limits.table_memory_mb); it was stopped before the machine ran out",
                self.what,
                self.limit / MIB
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    fn batch(rows: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
        RecordBatch::try_new(
            schema,
            vec![Arc::new(Int64Array::from_iter_values(0..rows))],
        )
        .unwrap()
    }

    #[test]
    fn a_budget_refuses_the_batch_that_crosses_it() {
        let limits = Limits::new(
            &LimitsConfig {
                table_memory_mb: 1,
                ..LimitsConfig::default()
            },
            None,
        )
        .unwrap();
        let budget = limits.budget("the file big.csv");
        budget.charge(&batch(50_000)).unwrap(); // 400 kB and 400 kB of row ids
        let err = budget.charge(&batch(50_000)).unwrap_err();
        assert_eq!(
            crate::code::HasCode::code(&err),
            crate::code::ErrorCode::TooLarge
        );
        let text = err.to_string();
        assert!(
            text.contains("big.csv")
                && text.contains("1 MiB")
                && text.contains("limits.table_memory_mb"),
            "{text}"
        );
    }
}

/// How much memory and disk data work may take, so that a file or a result larger than the
/// machine fails with a clear error instead of taking the machine down.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, specta::Type)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Memory Quire may use in all: the tables open in every notebook with their undo steps,
    /// the grid's sorted views, results being built and running queries draw from it; past
    /// it, queries spill to disk where they can and other work stops with an error naming
    /// this setting. Default 0: half of the machine's memory (at least 1024 MiB).
    pub memory_mb: u64,
    /// Memory that query operators (sorts, joins, aggregations) may hold at once, shared by
    /// every query; past it they spill to disk where they can, else the query stops with an
    /// error. Default 2048 MiB.
    pub query_memory_mb: u64,
    /// The largest imported table or query result kept in memory. Default 4096 MiB.
    pub table_memory_mb: u64,
    /// Disk that spilling queries may fill, in `spill/` in the data dir. Default 10240 MiB.
    pub spill_disk_mb: u64,
    /// A CSV converted into Parquet is written in parts of this much of the file; a conversion
    /// cut short by a crash resumes at its first missing part. Default 256 MiB.
    pub conversion_part_mb: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            memory_mb: 0,
            query_memory_mb: 2048,
            table_memory_mb: 4096,
            spill_disk_mb: 10240,
            conversion_part_mb: 256,
        }
    }
}

//! SQL cells that run on an Apache DataFusion Ballista cluster (`ballista` 55, the release
//! made for DataFusion 55) instead of this machine.
//!
//! - `reach.rs`: what a cell may send. The query is planned here first (so a mistake in it is
//!   found as it would be locally, with its line and column); then every table it names must
//!   be one the cluster reads where it lies: a linked Parquet file under one of the
//!   connection's shared folders, or linked objects in a bucket. A table held in the notebook,
//!   a file outside the shared folders or a database table is refused before anything is sent
//!   ([`crate::tables::TableError::NotOnCluster`]).
//! - `submit.rs`: the run. A Ballista client session over exactly those tables sends the
//!   logical plan to the scheduler, streams the result back as Arrow under the engine's result
//!   budget, and on cancel tells the scheduler to cancel the job (dropping the stream alone
//!   would leave it running on the executors). The object store's address and region go with
//!   the query (`s3.*` or `azure.*` settings); credentials never do: executors read with their
//!   own.
//! - `store.rs`: `ClusterStore`, the object store a query reads: an S3 bucket's endpoint, region
//!   and `allow_http` as Ballista's `s3.*` settings, an Azure account's name and endpoint as
//!   `azure.*` settings (Quire's scheduler and executors read them); never a key.
//! - `check.rs`: a connection test through the scheduler's REST API (version, executors,
//!   task slots), and a job's state there.
//!
//! Invariant: nothing reaches a cluster but the plan and the store's address; no table's rows
//! leave this machine.

mod check;
mod reach;
mod store;
mod submit;

pub use check::{check, job_states, JobState};
pub use reach::{resolve, ClusterTables};
pub use submit::{cancel_all, run, run_into};

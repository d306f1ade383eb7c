//! Snapshots: every table persisted as Parquet in its notebook's folder, debounced, atomic,
//! written on a background pool, with history and leases. Filled by the snapshots issue; the
//! write protocol will be recorded in `DURABILITY.md` before the code.

use crate::error::{ErrorCode, HasCode};

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("the snapshot could not be written: {0}")]
    Write(#[from] crate::durable::DurableError),
}

impl HasCode for SnapshotError {
    fn code(&self) -> ErrorCode {
        match self {
            SnapshotError::Write(e) => e.code(),
        }
    }
}

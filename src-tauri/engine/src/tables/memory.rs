//! The one memory budget (`limits.memory_mb`): what the engine holds (every table's current
//! version, the undo histories, the grid's cached views) and what running work takes (queries'
//! operators in DataFusion's pool, a table or result being built) draw from one sum.
//!
//! The ledger reports what it holds after every change ([`Account::set_held`]); queries reserve
//! through [`SharedPool`], whose size is what the sum leaves (at most
//! `limits.query_memory_mb`), so a spilling operator spills and any other stops with
//! `too_large`; a [`super::limits::Budget`] asks
//! [`Account::admit`] as it grows. Before refusing, the account asks the ledger to shed what
//! it keeps only for convenience (undo steps, cached views).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::memory_pool::{
    MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};

use super::TableError;

const MIB: u64 = 1024 * 1024;

/// What the setting is called where the user changes it; every refusal names it.
pub const SETTING: &str = "limits.memory_mb";

/// Frees what it can of `need` bytes; returns what it freed.
type Shedder = Box<dyn Fn(u64) -> u64 + Send + Sync>;

pub struct Account {
    limit: u64,
    /// Bytes the ledger holds (tables, histories, views), as of its last change.
    held: AtomicU64,
    /// Bytes running queries' operators hold (kept by [`SharedPool`]).
    queries: AtomicU64,
    shed: Mutex<Option<Shedder>>,
}

impl Account {
    pub fn new(limit: u64) -> Account {
        Account {
            limit,
            held: AtomicU64::new(0),
            queries: AtomicU64::new(0),
            shed: Mutex::default(),
        }
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    pub fn set_held(&self, bytes: u64) {
        self.held.store(bytes, Ordering::Relaxed);
    }

    pub fn held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    /// Held plus what queries have reserved now.
    pub fn in_use(&self) -> u64 {
        self.held() + self.queries.load(Ordering::Relaxed)
    }

    /// Installs what frees memory kept for convenience (the ledger's undo steps and views).
    pub fn on_shortage(&self, shed: impl Fn(u64) -> u64 + Send + Sync + 'static) {
        *self.shed.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(shed));
    }

    /// Frees what is kept for convenience, as much as `need` if it can.
    fn shed(&self, need: u64) {
        // Taken out while it runs: the shedder reports back through set_held, and a second
        // shortage meanwhile does not wait for it.
        let shed = self.shed.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(shed) = shed {
            shed(need);
            let mut slot = self.shed.lock().unwrap_or_else(|p| p.into_inner());
            if slot.is_none() {
                *slot = Some(shed);
            }
        }
    }

    /// Admits `bytes` of a table or result being built (`what` names it in the error).
    pub fn admit(&self, what: &str, bytes: u64) -> Result<(), TableError> {
        if self.in_use().saturating_add(bytes) > self.limit {
            self.shed(self.in_use().saturating_add(bytes) - self.limit);
        }
        if self.in_use().saturating_add(bytes) <= self.limit {
            return Ok(());
        }
        Err(TableError::TooLarge {
            message: format!(
                "{what} needs more memory than is left of the {} MiB Quire may use in all \
                 ({SETTING}): the tables open now and their undo steps hold {} MiB and running \
                 queries {} MiB; close notebooks or delete tables you do not need, link big \
                 files instead of copying them, or raise the setting",
                self.limit / MIB,
                self.held() / MIB,
                self.queries.load(Ordering::Relaxed) / MIB,
            ),
        })
    }
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("limit", &self.limit)
            .field("held", &self.held())
            .finish()
    }
}

/// DataFusion's pool for every query: DataFusion's `FairSpillPool` policy (spilling operators
/// share what non-spilling ones leave, each at most an equal part) over a size that moves:
/// `limits.query_memory_mb`, or what the one budget leaves beside what the ledger holds, the
/// smaller. A spilling operator refused spills; another stops the query with `too_large`.
#[derive(Debug)]
pub struct SharedPool {
    query_cap: usize,
    account: Arc<Account>,
    state: Mutex<PoolState>,
}

#[derive(Debug, Default)]
struct PoolState {
    num_spill: usize,
    spillable: usize,
    unspillable: usize,
}

impl std::fmt::Display for SharedPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "quire pool: {} of {} bytes in use",
            self.account.in_use(),
            self.account.limit()
        )
    }
}

impl SharedPool {
    pub fn new(query_cap: usize, account: Arc<Account>) -> SharedPool {
        SharedPool {
            query_cap,
            account,
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What queries may hold now.
    fn size(&self) -> usize {
        let left = self.account.limit().saturating_sub(self.account.held());
        self.query_cap
            .min(usize::try_from(left).unwrap_or(usize::MAX))
    }

    fn publish(&self, state: &PoolState) {
        self.account.queries.store(
            (state.spillable + state.unspillable) as u64,
            Ordering::Relaxed,
        );
    }

    /// FairSpillPool's rule over [`SharedPool::size`]: how much `reservation` may still take.
    fn available(&self, state: &PoolState, reservation: &MemoryReservation) -> usize {
        let size = self.size();
        if reservation.consumer().can_spill() {
            let spill_available = size.saturating_sub(state.unspillable);
            spill_available
                .checked_div(state.num_spill)
                .unwrap_or(spill_available)
                .saturating_sub(reservation.size())
        } else {
            size.saturating_sub(state.unspillable + state.spillable)
        }
    }
}

impl MemoryPool for SharedPool {
    fn name(&self) -> &str {
        "quire"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        if consumer.can_spill() {
            self.lock().num_spill += 1;
        }
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        if consumer.can_spill() {
            let mut state = self.lock();
            state.num_spill = state.num_spill.saturating_sub(1);
        }
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        let mut state = self.lock();
        match reservation.consumer().can_spill() {
            true => state.spillable += additional,
            false => state.unspillable += additional,
        }
        self.publish(&state);
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        let mut state = self.lock();
        match reservation.consumer().can_spill() {
            true => state.spillable = state.spillable.saturating_sub(shrink),
            false => state.unspillable = state.unspillable.saturating_sub(shrink),
        }
        self.publish(&state);
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> DfResult<()> {
        let short = {
            let state = self.lock();
            additional.saturating_sub(self.available(&state, reservation))
        };
        if short > 0 {
            // Not under the pool's lock: shedding recounts what the ledger holds.
            self.account.shed(short as u64);
        }
        let mut state = self.lock();
        let available = self.available(&state, reservation);
        if additional > available {
            return Err(DataFusionError::ResourcesExhausted(format!(
                "{} asked for {additional} bytes with {available} left: the tables open now \
                 hold {} MiB of the {} MiB Quire may use in all ({SETTING})",
                reservation.consumer().name(),
                self.account.held() / MIB,
                self.account.limit() / MIB
            )));
        }
        match reservation.consumer().can_spill() {
            true => state.spillable += additional,
            false => state.unspillable += additional,
        }
        self.publish(&state);
        Ok(())
    }

    fn reserved(&self) -> usize {
        let state = self.lock();
        state.spillable + state.unspillable
    }

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.size())
    }
}

/// The default budget: half of the machine's memory, at least 1 GiB.
pub fn default_mb() -> u64 {
    let mut system = sysinfo::System::new();
    system.refresh_memory();
    (system.total_memory() / 2 / MIB).max(1024)
}

//! The one memory budget (`limits.memory_mb`): what the engine holds (every table's current
//! version, the undo histories, the grid's cached views) and what running work takes (queries'
//! operators in DataFusion's pool, a table or result being built) draw from one sum.
//!
//! The ledger reports what it holds after every change ([`Account::recount`]); queries reserve
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
type Shedder = Arc<dyn Fn(u64) -> u64 + Send + Sync>;

pub struct Account {
    limit: u64,
    /// Bytes the ledger holds (tables, histories, views), as of its last change.
    held: AtomicU64,
    /// Bytes running queries' operators hold (kept by [`SharedPool`]).
    queries: AtomicU64,
    /// Bytes of tables and results being built ([`super::limits::Budget`]s alive).
    building: AtomicU64,
    shed: Mutex<Option<Shedder>>,
    /// Held while the ledger counts, so two counts never finish out of order.
    counting: Mutex<()>,
}

impl Account {
    pub fn new(limit: u64) -> Account {
        Account {
            limit,
            held: AtomicU64::new(0),
            queries: AtomicU64::new(0),
            building: AtomicU64::new(0),
            shed: Mutex::default(),
            counting: Mutex::default(),
        }
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Counts what the ledger holds with `count` and keeps it; counts are one at a time, so
    /// the last to finish is the newest.
    pub fn recount(&self, count: impl FnOnce() -> u64) {
        let _one = self.counting.lock().unwrap_or_else(|p| p.into_inner());
        self.held.store(count(), Ordering::Relaxed);
    }

    pub fn held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    /// Held, plus what queries have reserved and what is being built now.
    pub fn in_use(&self) -> u64 {
        self.held() + self.queries.load(Ordering::Relaxed) + self.building.load(Ordering::Relaxed)
    }

    /// A table or result being built took `bytes` more (`grow`) or was dropped.
    pub(super) fn building(&self, bytes: u64, grow: bool) {
        if grow {
            self.building.fetch_add(bytes, Ordering::Relaxed);
        } else {
            let _ = self
                .building
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                    Some(b.saturating_sub(bytes))
                });
        }
    }

    /// Installs what frees memory kept for convenience (the ledger's undo steps and views).
    pub fn on_shortage(&self, shed: impl Fn(u64) -> u64 + Send + Sync + 'static) {
        *self.shed.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(shed));
    }

    /// Frees what is kept for convenience, as much as `need` if it can (not under the slot's
    /// lock: the shedder recounts, and two shortages at once both shed).
    fn shed(&self, need: u64) {
        let shed = self.shed.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(shed) = shed {
            shed(need);
        }
    }

    /// What to tell the user when what the ledger holds is already past the budget.
    pub fn over_budget(&self) -> Option<String> {
        let held = self.held();
        (held > self.limit).then(|| {
            format!(
                "the tables open now hold {} MiB, more than the {} MiB Quire may use in all \
                 ({SETTING}): queries will spill to disk or stop; close notebooks or delete \
                 tables you do not need, or raise the setting",
                held / MIB,
                self.limit / MIB
            )
        })
    }

    /// How far `more` bytes would go past the budget (0: they fit).
    fn short_by(&self, more: u64) -> u64 {
        self.in_use()
            .saturating_add(more)
            .saturating_sub(self.limit)
    }

    /// Admits `more` bytes of a table or result being built beyond what it has charged
    /// (`what` names it in the error).
    pub fn admit(&self, what: &str, more: u64) -> Result<(), TableError> {
        let short = self.short_by(more);
        // Nothing shed can make room for more than the whole budget.
        if short > 0 && more <= self.limit {
            self.shed(short);
        }
        if self.short_by(more) == 0 {
            return Ok(());
        }
        Err(TableError::TooLarge {
            message: format!(
                "{what} needs more memory than is left of the {} MiB Quire may use in all \
                 ({SETTING}): the tables open now and their undo steps hold {} MiB, running \
                 queries {} MiB and other tables being made {} MiB; close notebooks or delete \
                 tables you do not need, link big files instead of copying them, or raise the \
                 setting",
                self.limit / MIB,
                self.held() / MIB,
                self.queries.load(Ordering::Relaxed) / MIB,
                self.building.load(Ordering::Relaxed) / MIB,
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
/// The share of the pool (one part in this many) that spilling operators leave to the rest.
const HEADROOM: usize = 4;

/// DataFusion's pool for every query: DataFusion's `FairSpillPool` policy (spilling operators
/// share what non-spilling ones leave, each at most an equal part, leaving them at least
/// [`HEADROOM`]) over a size that moves: `limits.query_memory_mb`, or what the one budget
/// leaves beside what the ledger holds, the smaller. A spilling operator refused spills;
/// another stops the query with `too_large`.
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

    /// What the one budget leaves queries (beside what the ledger holds and what is being
    /// built).
    fn left(&self) -> usize {
        let others = self.account.held() + self.account.building.load(Ordering::Relaxed);
        usize::try_from(self.account.limit().saturating_sub(others)).unwrap_or(usize::MAX)
    }

    /// What queries may hold now.
    fn size(&self) -> usize {
        self.query_cap.min(self.left())
    }

    fn publish(&self, state: &PoolState) {
        self.account.queries.store(
            (state.spillable + state.unspillable) as u64,
            Ordering::Relaxed,
        );
    }

    /// FairSpillPool's rule over [`SharedPool::size`]: how much `reservation` may still take;
    /// except that spilling operators leave [`HEADROOM`] of it to those that cannot spill.
    /// Sorts fill their shares to the last byte before they spill, and the merges that follow
    /// (which cannot spill) then found nothing left: a 100M-row sort under a 2 GiB pool
    /// stopped with `too_large` after it had read everything.
    fn available(&self, state: &PoolState, reservation: &MemoryReservation) -> usize {
        let size = self.size();
        if reservation.consumer().can_spill() {
            let kept = state.unspillable.max(size / HEADROOM);
            let spill_available = size.saturating_sub(kept);
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
        // Only when the one budget is what binds (not the query cap, nor an operator's fair
        // share, which is how a sort learns to spill) is what is kept for convenience shed,
        // and only as much as the budget is short.
        let short = {
            let state = self.lock();
            let left = self.left();
            let budget_binds = left < self.query_cap;
            // Shedding can raise the pool to the query cap, no further.
            let wanted = (state.spillable + state.unspillable + additional).min(self.query_cap);
            match budget_binds && additional > self.available(&state, reservation) {
                true => wanted.saturating_sub(left),
                false => 0,
            }
        };
        if short > 0 {
            // Not under the pool's lock: shedding recounts what the ledger holds.
            self.account.shed(short as u64);
        }
        let mut state = self.lock();
        let available = self.available(&state, reservation);
        if additional > available {
            let message = if self.left() < self.query_cap {
                format!(
                    "{} asked for {additional} bytes with {available} left: the tables open \
                     now hold {} MiB of the {} MiB Quire may use in all ({SETTING})",
                    reservation.consumer().name(),
                    self.account.held() / MIB,
                    self.account.limit() / MIB
                )
            } else {
                format!(
                    "{} asked for {additional} bytes with {available} left of the {} bytes \
                     queries may use",
                    reservation.consumer().name(),
                    self.query_cap
                )
            };
            return Err(DataFusionError::ResourcesExhausted(message));
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

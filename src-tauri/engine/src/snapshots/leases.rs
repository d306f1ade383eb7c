//! Leases on generations: work that reads an older generation (a diff, an export, a restore)
//! holds one, and garbage collection never deletes a generation with a live lease. A lease
//! ends when its guard drops, or when it expires (a holder that hung or leaked its guard), so
//! a lost holder cannot pin a file forever. The task store issue persists them in SQLite.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::ids::NotebookId;

/// A generation of one table of one notebook.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Asset {
    pub notebook: NotebookId,
    pub table: String,
    pub generation: u64,
}

struct Held {
    asset: Asset,
    holder: String,
    expires: Instant,
    /// Its row in the task store's `leases` table, when recorded there.
    row: Option<u64>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    held: HashMap<u64, Held>,
}

#[derive(Default, Clone)]
pub struct Leases {
    state: Arc<Mutex<State>>,
    /// Where leases are also recorded, so the task list and `stats` see them.
    store: Option<Arc<crate::tasks::TaskStore>>,
}

/// A live lease; dropping it releases the generation.
pub struct Lease {
    id: u64,
    leases: Leases,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let held = self.leases.lock().held.remove(&self.id);
        self.leases.forget_row(held.and_then(|h| h.row));
    }
}

impl Leases {
    /// Leases also recorded in the task store.
    pub fn recorded(store: Arc<crate::tasks::TaskStore>) -> Leases {
        Leases {
            state: Arc::default(),
            store: Some(store),
        }
    }

    fn forget_row(&self, row: Option<u64>) {
        if let (Some(store), Some(row)) = (&self.store, row) {
            let _ = store.lease_release(row);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a lease on `asset` for `holder` (a task or a purpose, for the log) until `ttl`.
    pub fn take(&self, asset: Asset, holder: &str, ttl: Duration) -> Lease {
        let row = self.store.as_ref().and_then(|store| {
            let name = format!("{}/{}/{}", asset.notebook, asset.table, asset.generation);
            store.lease_record(&name, ttl).ok()
        });
        let mut st = self.lock();
        st.next_id += 1;
        let id = st.next_id;
        st.held.insert(
            id,
            Held {
                asset,
                holder: holder.to_string(),
                expires: Instant::now() + ttl,
                row,
            },
        );
        Lease {
            id,
            leases: self.clone(),
        }
    }

    /// Whether a live lease holds `asset`; expired leases are reclaimed on the way.
    pub fn is_leased(&self, asset: &Asset) -> bool {
        let now = Instant::now();
        let mut st = self.lock();
        let mut expired = Vec::new();
        st.held.retain(|_, h| {
            let live = h.expires > now;
            if !live {
                expired.push(h.row);
                log::info!(
                    "lease of {} on {}.{} expired and was reclaimed",
                    h.holder,
                    h.asset.table,
                    h.asset.generation
                );
            }
            live
        });
        let leased = st.held.values().any(|h| &h.asset == asset);
        drop(st);
        for row in expired {
            self.forget_row(row);
        }
        leased
    }

    pub fn count(&self) -> usize {
        self.lock().held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_and_expired_leases_end() {
        let leases = Leases::default();
        let asset = Asset {
            notebook: NotebookId(uuid::Uuid::nil()),
            table: "t".into(),
            generation: 3,
        };
        let lease = leases.take(asset.clone(), "diff", Duration::from_secs(60));
        assert!(leases.is_leased(&asset));
        drop(lease);
        assert!(!leases.is_leased(&asset));
        let _leaked = leases.take(asset.clone(), "hung", Duration::from_millis(1));
        std::thread::sleep(Duration::from_millis(5));
        assert!(!leases.is_leased(&asset), "expired");
        assert_eq!(leases.count(), 0, "reclaimed");
    }
}

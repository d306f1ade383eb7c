//! The grid's views (a table sorted and filtered), each made once however many page requests
//! ask for it at the same time, kept for the next pages, shown while being made (rows read)
//! and cancellable.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::RecordBatch;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::linked::Edits;
use super::position_view::PositionView;
use super::table::TableVersion;
use super::view::{ViewSpec, ViewWork};
use super::TableError;

/// A made view: a sorted copy held in memory (a table the notebook holds), or the rows'
/// positions in a scratch file (a linked table, which may not fit in memory).
#[derive(Clone)]
pub enum View {
    Held(Arc<TableVersion>),
    Positions(Arc<PositionView>),
}

impl View {
    pub fn rows(&self) -> u64 {
        match self {
            View::Held(v) => v.rows as u64,
            View::Positions(p) => p.rows(),
        }
    }

    /// Memory the view holds (a position view's positions are on disk).
    pub fn memory_bytes(&self) -> u64 {
        match self {
            View::Held(v) => v.memory_bytes(),
            View::Positions(_) => 0,
        }
    }

    /// Rows `[offset, offset + limit)` with their row ids; a position view reads files, so
    /// call it where blocking is allowed.
    pub fn page(&self, offset: u64, limit: u64) -> Result<RecordBatch, TableError> {
        match self {
            View::Held(v) => v.page(offset as usize, limit as usize),
            View::Positions(p) => p.page(offset, limit),
        }
    }
}

/// How far a view being made has come, for the grid's progress line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
pub struct ViewProgress {
    /// Rows read from the table so far.
    pub rows_read: u64,
    /// Rows the table has.
    pub rows_total: u64,
}

/// What a view of a linked table was made from: its edits then, and the columns the view sorts
/// and filters by. An edit of other columns leaves the view's rows and order true, so it is
/// kept (a cell typed into a sorted view of 100M rows does not sort them again).
#[derive(Clone)]
pub struct Basis {
    pub edits: Arc<Edits>,
    pub columns: Vec<usize>,
}

impl Basis {
    fn holds_for(&self, now: &Basis) -> bool {
        Arc::ptr_eq(&self.edits, &now.edits)
            || (self.columns == now.columns
                && self.edits.same_rows_and_columns(&now.edits, &self.columns))
    }
}

/// Whether a view made from `made` is still true for a request made at `now`.
fn holds(made: Option<&Basis>, now: Option<&Basis>) -> bool {
    match (made, now) {
        (None, None) => true,
        (Some(made), Some(now)) => made.holds_for(now),
        _ => false,
    }
}

/// A view being made, shared by every request that asks for it meanwhile.
struct Making {
    notebook: String,
    table: String,
    key: String,
    basis: Option<Basis>,
    work: Arc<ViewWork>,
    /// The outcome, failures too: every request that waited gets the same answer, and a
    /// failed sort is not run again for each of them.
    made: tokio::sync::OnceCell<Result<View, Arc<TableError>>>,
}

/// The view a request asks for: `key` names the table, its version and the view's spec.
pub struct Wanted<'a> {
    pub notebook: &'a str,
    pub table: &'a str,
    pub key: String,
    /// Rows the table has (the progress's total).
    pub total: u64,
    /// For a linked table, what the view is made from.
    pub basis: Option<Basis>,
}

/// The last few views, so scrolling a sorted grid does not sort again for every page. A held
/// view is a whole sorted copy of its table, so together they may hold at most `cap_bytes`
/// (the table budget): past it the least recently made go, the newest always stays.
pub struct ViewCache {
    entries: Mutex<VecDeque<Entry>>,
    making: Mutex<Vec<Arc<Making>>>,
    cap_bytes: u64,
    /// Views made so far (tests: which requests made one).
    made: std::sync::atomic::AtomicU64,
}

impl Default for ViewCache {
    fn default() -> Self {
        ViewCache::with_cap(u64::MAX)
    }
}

struct Entry {
    /// The notebook and table the view is of.
    of: (String, String),
    key: String,
    basis: Option<Basis>,
    view: View,
}

/// Views kept at once (a position view of 100M rows is 800 MB of scratch disk).
const CACHED_VIEWS: usize = 4;

impl ViewCache {
    pub fn with_cap(cap_bytes: u64) -> ViewCache {
        ViewCache {
            entries: Mutex::default(),
            making: Mutex::default(),
            cap_bytes,
            made: Default::default(),
        }
    }

    /// Bytes the cached views hold.
    pub fn held_bytes(&self) -> u64 {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.iter().map(|e| e.view.memory_bytes()).sum()
    }

    /// Forgets every cached view that holds memory (they are made again when asked for);
    /// returns their bytes. Views kept on disk stay: dropping them frees no memory, and making
    /// one again may take minutes.
    pub fn clear(&self) -> u64 {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let bytes = entries.iter().map(|e| e.view.memory_bytes()).sum();
        entries.retain(|e| matches!(e.view, View::Positions(_)));
        bytes
    }

    /// Forgets every cached view kept on disk (their position files count against the spill
    /// disk); returns how many went.
    pub fn drop_positions(&self) -> usize {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let before = entries.len();
        entries.retain(|e| !matches!(e.view, View::Positions(_)));
        before - entries.len()
    }

    pub fn key(notebook: &str, table: &str, version: u64, spec: &ViewSpec) -> String {
        format!(
            "{notebook}/{table}@{version}:{}",
            serde_json::to_string(spec).unwrap_or_default()
        )
    }

    /// The cached view under `key`, if it holds for `basis`.
    pub fn get(&self, key: &str, basis: Option<&Basis>) -> Option<View> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries
            .iter_mut()
            .find(|e| e.key == key && holds(e.basis.as_ref(), basis))?;
        // Holding is an equivalence: the newer edits stand in for the older ones, so the next
        // request with the same edits is answered by comparing pointers, not every edited cell.
        if let (Some(made), Some(now)) = (entry.basis.as_mut(), basis) {
            made.edits = now.edits.clone();
        }
        Some(entry.view.clone())
    }

    pub fn put(&self, of: (&str, &str), key: String, basis: Option<Basis>, view: View) {
        self.put_unless(&CancellationToken::new(), of, key, basis, view);
    }

    /// [`ViewCache::put`] unless `cancelled` is (checked under the lock [`ViewCache::forget`]
    /// takes after cancelling, so a forgotten table's view is never put back); whether it was.
    fn put_unless(
        &self,
        cancelled: &CancellationToken,
        of: (&str, &str),
        key: String,
        basis: Option<Basis>,
        view: View,
    ) -> bool {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if cancelled.is_cancelled() {
            return false;
        }
        entries.retain(|e| e.key != key);
        let of = (of.0.to_string(), of.1.to_string());
        entries.push_front(Entry {
            of,
            key,
            basis,
            view,
        });
        entries.truncate(CACHED_VIEWS);
        while entries.len() > 1
            && entries.iter().map(|e| e.view.memory_bytes()).sum::<u64>() > self.cap_bytes
        {
            entries.pop_back();
        }
        true
    }

    /// The view `wanted`: cached, or being made for another request (awaited, not made
    /// twice), or made now by `make`. A grid shows one view of a table, so starting a new one
    /// cancels those of the table still being made.
    pub async fn get_or_make<F, Fut>(&self, wanted: Wanted<'_>, make: F) -> Result<View, TableError>
    where
        F: FnOnce(Arc<ViewWork>) -> Fut,
        Fut: Future<Output = Result<View, TableError>>,
    {
        let Wanted {
            notebook,
            table,
            key,
            total,
            basis,
        } = wanted;
        if let Some(hit) = self.get(&key, basis.as_ref()) {
            return Ok(hit);
        }
        let making = {
            let mut list = self.making.lock().unwrap_or_else(|p| p.into_inner());
            let joined = list
                .iter()
                .find(|m| {
                    m.key == key
                        && !m.work.token.is_cancelled()
                        && holds(m.basis.as_ref(), basis.as_ref())
                })
                .cloned();
            match joined {
                Some(m) => m,
                None => {
                    for other in list
                        .iter()
                        .filter(|m| m.notebook == notebook && m.table == table)
                    {
                        other.work.token.cancel();
                    }
                    let m = Arc::new(Making {
                        notebook: notebook.to_string(),
                        table: table.to_string(),
                        key: key.clone(),
                        basis: basis.clone(),
                        work: Arc::new(ViewWork::new(total)),
                        made: tokio::sync::OnceCell::new(),
                    });
                    list.push(m.clone());
                    m
                }
            }
        };
        let made = making
            .made
            .get_or_init(|| async {
                // The request that started the making was dropped: a waiter carries on,
                // unless the making was cancelled meanwhile.
                if making.work.token.is_cancelled() {
                    return Err(Arc::new(TableError::ViewCancelled));
                }
                let view = make(making.work.clone()).await.map_err(Arc::new)?;
                self.made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                // Not kept when cancelled meanwhile: its table may be gone (`forget`), and a
                // new table under the name must never be served the old one's view.
                let kept = self.put_unless(
                    &making.work.token,
                    (notebook, table),
                    key.clone(),
                    making.basis.clone(),
                    view.clone(),
                );
                if !kept {
                    return Err(Arc::new(TableError::ViewCancelled));
                }
                Ok(view)
            })
            .await
            .clone();
        let mut list = self.making.lock().unwrap_or_else(|p| p.into_inner());
        list.retain(|m| !Arc::ptr_eq(m, &making));
        made.map_err(TableError::Again)
    }

    /// Drops the views of `notebook`'s `table` (`None`: of every table of it), cached or being
    /// made: the table is gone, and so are their scratch files.
    pub fn forget(&self, notebook: &str, table: Option<&str>) {
        let of = |n: &str, t: &str| n == notebook && table.is_none_or(|table| t == table);
        {
            let list = self.making.lock().unwrap_or_else(|p| p.into_inner());
            for m in list.iter().filter(|m| of(&m.notebook, &m.table)) {
                m.work.token.cancel();
            }
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|e| !of(&e.of.0, &e.of.1));
    }

    /// How many views are cached.
    #[cfg(test)]
    pub(crate) fn cached(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// How many views were made so far.
    pub fn made(&self) -> u64 {
        self.made.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How far the view of `notebook`'s `table` being made has come (`None`: none is).
    pub fn progress(&self, notebook: &str, table: &str) -> Option<ViewProgress> {
        let list = self.making.lock().unwrap_or_else(|p| p.into_inner());
        list.iter()
            .find(|m| m.notebook == notebook && m.table == table && !m.work.token.is_cancelled())
            .map(|m| ViewProgress {
                rows_read: m.work.rows_read(),
                rows_total: m.work.total,
            })
    }

    /// Cancels the views of `notebook`'s `table` being made; whether there was one.
    pub fn cancel(&self, notebook: &str, table: &str) -> bool {
        let list = self.making.lock().unwrap_or_else(|p| p.into_inner());
        let mut any = false;
        for m in list
            .iter()
            .filter(|m| m.notebook == notebook && m.table == table)
        {
            any |= !m.work.token.is_cancelled();
            m.work.token.cancel();
        }
        any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::HasCode;
    use crate::tables::limits::Limits;
    use crate::tables::view::tests::sample;
    use crate::tables::view::{compute, SortKey};

    fn wanted(key: &str) -> Wanted<'static> {
        Wanted {
            notebook: "nb",
            table: "t",
            key: key.into(),
            total: 5,
            basis: None,
        }
    }

    fn held(v: TableVersion) -> View {
        View::Held(Arc::new(v))
    }

    #[tokio::test]
    async fn cached_views_stay_under_their_byte_cap_and_the_newest_stays() {
        let t = sample();
        let sort = |column: &str| ViewSpec {
            either: Vec::new(),
            sort: vec![SortKey {
                column: column.into(),
                descending: false,
            }],
            filters: vec![],
        };
        let work = ViewWork::new(0);
        let by_amount = held(
            compute(&t, &sort("amount"), &Limits::default(), &work)
                .await
                .unwrap(),
        );
        let by_n = held(
            compute(&t, &sort("n"), &Limits::default(), &work)
                .await
                .unwrap(),
        );
        let one = by_amount.memory_bytes();
        // Room for one view and a half: the second evicts the first.
        let cache = ViewCache::with_cap(one + one / 2);
        cache.put(("nb", "t"), "a".into(), None, by_amount.clone());
        cache.put(("nb", "t"), "n".into(), None, by_n.clone());
        assert!(cache.get("a", None).is_none(), "the older view was evicted");
        assert!(cache.get("n", None).is_some(), "the newest view stays");
        assert!(cache.held_bytes() <= one + one / 2);
        // A cap below one view still keeps the newest: the grid needs it to page.
        let tight = ViewCache::with_cap(1);
        tight.put(("nb", "t"), "a".into(), None, by_amount);
        assert!(tight.get("a", None).is_some());
        // Without a byte cap, the count cap of 4 applies.
        let roomy = ViewCache::default();
        roomy.put(("nb", "t"), "a".into(), None, by_n.clone());
        roomy.put(("nb", "t"), "n".into(), None, by_n);
        assert!(roomy.get("a", None).is_some() && roomy.get("n", None).is_some());
    }

    #[tokio::test]
    async fn a_view_asked_for_twice_at_once_is_made_once_and_a_newer_one_cancels_it() {
        let cache = Arc::new(ViewCache::default());
        let made = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
        // The first request makes the view and waits until told to finish.
        let first = {
            let (cache, made) = (cache.clone(), made.clone());
            tokio::spawn(async move {
                cache
                    .get_or_make(wanted("k1"), |work| async move {
                        made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        work.read.fetch_add(2, std::sync::atomic::Ordering::Relaxed);
                        let _ = started_tx.send(());
                        let _ = go_rx.await;
                        Ok(held(sample()))
                    })
                    .await
                    .map(|v| v.rows())
            })
        };
        started_rx.await.unwrap();
        assert_eq!(
            cache.progress("nb", "t"),
            Some(ViewProgress {
                rows_read: 2,
                rows_total: 5
            })
        );
        assert_eq!(cache.progress("nb", "other"), None);
        // The same view asked for meanwhile waits for the first making.
        let second = {
            let (cache, made) = (cache.clone(), made.clone());
            tokio::spawn(async move {
                cache
                    .get_or_make(wanted("k1"), |_| async move {
                        made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        Ok(held(sample()))
                    })
                    .await
                    .map(|v| v.rows())
            })
        };
        tokio::task::yield_now().await;
        go_tx.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), 5);
        assert_eq!(second.await.unwrap().unwrap(), 5);
        assert_eq!(made.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert!(cache.get("k1", None).is_some());
        assert_eq!(cache.progress("nb", "t"), None, "nothing is being made");

        // A newer view of the same table cancels the one being made.
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let older = {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .get_or_make(wanted("k2"), |work| async move {
                        let _ = started_tx.send(());
                        work.token.cancelled().await;
                        Err(TableError::ViewCancelled)
                    })
                    .await
            })
        };
        started_rx.await.unwrap();
        let newer = cache
            .get_or_make(wanted("k3"), |_| async { Ok(held(sample())) })
            .await
            .unwrap();
        assert_eq!(newer.rows(), 5);
        let older = older.await.unwrap().map(|v| v.rows()).unwrap_err();
        assert_eq!(older.code(), crate::code::ErrorCode::ViewCancelled);
        assert!(!cache.cancel("nb", "t"), "nothing left to cancel");
    }

    #[tokio::test]
    async fn a_failure_is_the_answer_of_every_request_that_waited_and_is_not_cached() {
        let cache = Arc::new(ViewCache::default());
        let tries = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
        let failing = |tries: Arc<std::sync::atomic::AtomicU64>| {
            move |_work: Arc<ViewWork>| async move {
                tries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Err::<View, _>(TableError::TooLarge {
                    message: "too big".into(),
                })
            }
        };
        let first = {
            let (cache, tries) = (cache.clone(), tries.clone());
            tokio::spawn(async move {
                cache
                    .get_or_make(wanted("k"), |_| async move {
                        tries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let _ = started_tx.send(());
                        let _ = go_rx.await;
                        Err(TableError::TooLarge {
                            message: "too big".into(),
                        })
                    })
                    .await
                    .map(|v| v.rows())
            })
        };
        started_rx.await.unwrap();
        let waiter = {
            let (cache, tries) = (cache.clone(), tries.clone());
            tokio::spawn(async move {
                cache
                    .get_or_make(wanted("k"), failing(tries))
                    .await
                    .map(|v| v.rows())
            })
        };
        tokio::task::yield_now().await;
        go_tx.send(()).unwrap();
        for outcome in [first.await.unwrap(), waiter.await.unwrap()] {
            let e = outcome.unwrap_err();
            assert_eq!(e.code(), crate::code::ErrorCode::TooLarge);
            assert_eq!(e.to_string(), "too big");
        }
        assert_eq!(
            tries.load(std::sync::atomic::Ordering::Relaxed),
            1,
            "made once"
        );
        // Asked again later, it is tried again.
        let again = cache.get_or_make(wanted("k"), failing(tries.clone())).await;
        assert!(again.is_err());
        assert_eq!(tries.load(std::sync::atomic::Ordering::Relaxed), 2);
    }
}

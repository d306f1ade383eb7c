#![cfg(unix)]
//! A CPU-bound query (a self-join of a flights-like table feeding a hash aggregate, about a
//! billion joined rows) stops within a batch of being cancelled, in every partition task, and
//! leaves no thread burning CPU; grid pages meanwhile are served at once. Its own test binary,
//! so the process's CPU time is this test's alone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use quire_engine::datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
use quire_engine::datafusion::arrow::datatypes::{DataType, Field, Schema};
use quire_engine::queue::{JobKind, Priority, Scheduler, SchedulerLimits};
use quire_engine::tables::limits::Limits;
use quire_engine::tables::sql::SqlSession;
use quire_engine::tables::table::TableVersion;
use quire_engine::{ErrorCode, HasCode};
use tokio_util::sync::CancellationToken;

/// `rows` flights over `dests` destinations: the self-join on dest has rows²/dests rows.
fn flights(rows: i64, dests: i64) -> TableVersion {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("carrier", DataType::Utf8, false),
        Field::new("dest", DataType::Utf8, false),
    ]));
    let batches = (0..rows)
        .step_by(8192)
        .map(|start| {
            let ids: Vec<i64> = (start..(start + 8192).min(rows)).collect();
            let carriers: Vec<String> = ids.iter().map(|i| format!("C{}", i % 16)).collect();
            let dests: Vec<String> = ids.iter().map(|i| format!("D{}", i % dests)).collect();
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from(ids)),
                    Arc::new(StringArray::from(carriers)),
                    Arc::new(StringArray::from(dests)),
                ],
            )
            .unwrap()
        })
        .collect();
    TableVersion::first(schema, batches)
}

/// CPU time (user + system) the whole process has used.
fn process_cpu() -> Duration {
    // SAFETY: getrusage fills the struct we own.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut usage), 0);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

const HEAVY: &str =
    "SELECT a.carrier, count(*) FROM flights a JOIN flights b ON a.dest = b.dest GROUP BY a.carrier";

#[test]
fn a_cpu_bound_join_stops_at_once_when_cancelled_and_burns_nothing_after() {
    let scheduler = Scheduler::new(SchedulerLimits::default()).unwrap();
    let session = Arc::new(SqlSession::new(&Limits::default()));
    // 100,000 rows over 10 destinations: 10^9 joined rows.
    session.register("flights", &flights(100_000, 10)).unwrap();
    session.register("planes", &flights(50_000, 7)).unwrap();

    let cancel = CancellationToken::new();
    let (query_session, query_cancel) = (session.clone(), cancel.clone());
    let heavy = scheduler.submit(
        Priority::UserVisible,
        JobKind::Query,
        None,
        move |_| async move {
            Ok(query_session
                .run_cancellable(HEAVY, &|_| {}, &query_cancel)
                .await)
        },
    );

    // Let it get going, then page another table while it runs (as the grid would).
    std::thread::sleep(Duration::from_millis(500));
    let mut pages = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        let page = scheduler.submit(Priority::Urgent, JobKind::Page, None, |_| async move {
            Ok(flights(2_000, 7).batches.len())
        });
        assert!(page.blocking_result().unwrap() > 0);
        pages.push(started.elapsed());
    }
    pages.sort();
    let slowest = *pages.last().unwrap();
    assert!(
        slowest < Duration::from_millis(500),
        "a page waited {slowest:?} behind the heavy query"
    );

    let cancelled_at = Instant::now();
    cancel.cancel();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(heavy.blocking_result()));
    let outcome = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the cancelled query still runs 10 s later")
        .unwrap();
    let latency = cancelled_at.elapsed();
    let err = outcome.expect_err("the heavy query cannot finish in this time");
    assert_eq!(err.code(), ErrorCode::Cancelled, "{err}");
    assert!(
        latency < Duration::from_millis(1000),
        "cancelled only after {latency:?}"
    );

    // Nothing keeps running the cancelled plan: the process is idle in the second after.
    std::thread::sleep(Duration::from_millis(100));
    let before = process_cpu();
    std::thread::sleep(Duration::from_secs(1));
    let burnt = process_cpu() - before;
    assert!(
        burnt < Duration::from_millis(100),
        "{burnt:?} of CPU in the second after the query was cancelled"
    );
    eprintln!("cancel latency {latency:?}, page slowest {slowest:?}, CPU after cancel {burnt:?}");

    // The session still answers.
    let ok = scheduler
        .block_on(session.run_cancellable(
            "SELECT count(*) FROM planes",
            &|_| {},
            &CancellationToken::new(),
        ))
        .unwrap();
    assert_eq!(ok[0].num_rows(), 1);
}

#[cfg(target_os = "linux")]
#[test]
fn work_threads_run_below_the_urgent_ones() {
    let scheduler = Scheduler::new(SchedulerLimits::default()).unwrap();
    let nice_of = |p: Priority| {
        scheduler
            .submit(p, JobKind::Other, None, |_| async move {
                Ok(quire_engine::queue::priority::current_nice())
            })
            .blocking_result()
            .unwrap()
    };
    let urgent = nice_of(Priority::Urgent);
    let query = nice_of(Priority::UserVisible);
    let idle = nice_of(Priority::Idle);
    assert!(query > urgent, "query nice {query}, urgent {urgent}");
    assert_eq!(query, idle);
}

/// Linux 6.12 and later report a thread's own slice; older kernels neither keep nor report it.
#[cfg(target_os = "linux")]
fn kernel_keeps_slices() -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut parts = release
        .trim()
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (6, 12)
}

#[cfg(target_os = "linux")]
#[test]
fn urgent_threads_ask_for_the_shortest_slice_so_a_page_preempts_a_query() {
    use quire_engine::queue::priority::{current_slice_ns, URGENT_SLICE_NS};
    let scheduler = Scheduler::new(SchedulerLimits::default()).unwrap();
    let slice_of = |p: Priority| {
        scheduler
            .submit(p, JobKind::Other, None, |_| async move {
                Ok(current_slice_ns())
            })
            .blocking_result()
            .unwrap()
            .expect("sched_getattr answers")
    };
    let (urgent, query) = (slice_of(Priority::Urgent), slice_of(Priority::UserVisible));
    if kernel_keeps_slices() {
        assert_eq!(urgent, URGENT_SLICE_NS, "the urgent thread's slice");
        assert_ne!(
            query, URGENT_SLICE_NS,
            "a query thread kept the default slice"
        );
    }
}

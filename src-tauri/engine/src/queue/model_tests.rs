//! The scheduler against a reference model: random submits (every priority, with and without
//! a group), finishes and cancellations of waiting and running jobs; after each step the jobs
//! the real scheduler is running must be exactly the ones a plain, obviously-correct model
//! would run (priority order then arrival, the reserved interactive slot, the extra slot only
//! urgent work may take, the group depth that drops the oldest waiting job, aging: a waiting
//! job rises one level per `AGING` waited). The scheduler's clock is moved by the test (`Scheduler::advance_clock`) in half-`AGING` steps,
//! so aging is exact and no test waits for it.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use tokio::sync::oneshot;

use super::{Job, JobKind, Priority, Scheduler, SchedulerLimits};

const WORKERS: usize = 3;
const RESERVED: usize = 1;
const URGENT_EXTRA: usize = 1;
const GROUP_DEPTH: usize = 2;
/// Long enough that real time passing during a case never adds an aging step.
const AGING: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone)]
enum Op {
    Submit {
        priority: Priority,
        group: Option<u8>,
    },
    /// Let the `n % running`-th running job finish.
    Finish(usize),
    /// Cancel the `n % live`-th job still waiting or running.
    Cancel(usize),
    /// Move the clock forward by this many half-`AGING`s.
    Advance(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let priority = prop_oneof![
        Just(Priority::Urgent),
        Just(Priority::UserVisible),
        Just(Priority::Background),
        Just(Priority::Idle),
    ];
    prop_oneof![
        4 => (priority, proptest::option::of(0u8..2)).prop_map(|(priority, group)| Op::Submit { priority, group }),
        2 => any::<usize>().prop_map(Op::Finish),
        1 => any::<usize>().prop_map(Op::Cancel),
        1 => (1u8..=4).prop_map(Op::Advance),
    ]
}

/// The reference: waiting jobs in arrival order (with the clock, in half-`AGING`s, when each
/// arrived), and the ones running.
#[derive(Default)]
struct Model {
    waiting: Vec<(u64, Priority, Option<u8>, u64)>,
    running: BTreeSet<u64>,
    /// The running jobs that took an urgent-only slot.
    extra: BTreeSet<u64>,
    priority: HashMap<u64, Priority>,
    clock: u64,
}

impl Model {
    fn submit(&mut self, id: u64, priority: Priority, group: Option<u8>) {
        if let Some(g) = group {
            let same: Vec<u64> = self
                .waiting
                .iter()
                .filter(|w| w.2 == Some(g))
                .map(|w| w.0)
                .collect();
            let over = same.len().saturating_sub(GROUP_DEPTH - 1);
            let stale: Vec<u64> = same.into_iter().take(over).collect();
            self.waiting.retain(|w| !stale.contains(&w.0));
        }
        self.priority.insert(id, priority);
        self.waiting.push((id, priority, group, self.clock));
        self.dispatch();
    }

    fn dispatch(&mut self) {
        loop {
            let worker_free = self.running.len() - self.extra.len() < WORKERS;
            if !worker_free && self.extra.len() >= URGENT_EXTRA {
                return;
            }
            let background = self
                .running
                .iter()
                .filter(|id| !self.priority[id].interactive())
                .count();
            let cap = WORKERS.saturating_sub(RESERVED).max(1);
            let best = self
                .waiting
                .iter()
                .enumerate()
                .filter(|(_, w)| worker_free || w.1 == Priority::Urgent)
                .filter(|(_, w)| w.1.interactive() || background < cap)
                .min_by_key(|(i, w)| {
                    let aged = ((self.clock - w.3) / 2) as usize;
                    (w.1.level().saturating_sub(aged), *i)
                })
                .map(|(i, _)| i);
            let Some(i) = best else { return };
            let (id, ..) = self.waiting.remove(i);
            self.running.insert(id);
            if !worker_free {
                self.extra.insert(id);
            }
        }
    }

    fn end(&mut self, id: u64) {
        self.running.remove(&id);
        self.extra.remove(&id);
        self.waiting.retain(|w| w.0 != id);
        self.dispatch();
    }

    fn live(&self) -> Vec<u64> {
        let mut all: Vec<u64> = self
            .waiting
            .iter()
            .map(|w| w.0)
            .chain(self.running.iter().copied())
            .collect();
        all.sort();
        all
    }
}

/// Removes the job from the observed running set when its future ends or is dropped.
struct Running(Arc<Mutex<BTreeSet<u64>>>, u64);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.lock().unwrap().remove(&self.1);
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let scheduler = Scheduler::new(SchedulerLimits {
        workers: WORKERS,
        reserved_for_interactive: RESERVED,
        urgent_extra: URGENT_EXTRA,
        aging: AGING,
        group_depth: GROUP_DEPTH,
    })
    .unwrap();
    let observed = Arc::new(Mutex::new(BTreeSet::new()));
    let mut model = Model::default();
    let mut jobs: HashMap<u64, (Job<()>, Option<oneshot::Sender<()>>)> = HashMap::new();
    let mut next = 0u64;
    for op in ops {
        match op {
            Op::Submit { priority, group } => {
                next += 1;
                let (tx, rx) = oneshot::channel::<()>();
                let (seen, id) = (observed.clone(), next);
                let job = scheduler.submit(
                    priority,
                    JobKind::Other,
                    group.map(|g| format!("g{g}")),
                    move |_| async move {
                        seen.lock().unwrap().insert(id);
                        let _running = Running(seen, id);
                        let _ = rx.await;
                        Ok(())
                    },
                );
                jobs.insert(id, (job, Some(tx)));
                model.submit(id, priority, group);
            }
            Op::Finish(n) => {
                let running: Vec<u64> = model.running.iter().copied().collect();
                if running.is_empty() {
                    continue;
                }
                let id = running[n % running.len()];
                if let Some(tx) = jobs.get_mut(&id).and_then(|j| j.1.take()) {
                    let _ = tx.send(());
                }
                model.end(id);
            }
            Op::Cancel(n) => {
                let live = model.live();
                if live.is_empty() {
                    continue;
                }
                let id = live[n % live.len()];
                jobs[&id].0.cancel();
                model.end(id);
            }
            Op::Advance(halves) => {
                scheduler.advance_clock(AGING / 2 * u32::from(halves));
                model.clock += u64::from(halves);
            }
        }
        // The scheduler dispatches on other threads: give it a moment to agree with the model.
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let now: BTreeSet<u64> = observed.lock().unwrap().clone();
            if now == model.running {
                break;
            }
            prop_assert!(
                Instant::now() < deadline,
                "running {:?}, the model runs {:?}",
                now,
                model.running
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_scheduler_runs_what_the_reference_model_runs(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops)?;
    }
}

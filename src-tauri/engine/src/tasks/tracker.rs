//! [`Tracker`]: recorded tasks as handles. A task is recorded before its work is queued
//! (write-ahead), reports progress while it runs, and ends with its outcome; a handle dropped
//! before it ended (a panic, a path that forgot) marks the task interrupted, so the task list
//! never shows work running that no longer runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use super::{NewTask, Task, TaskPayload, TaskStatus, TaskStore};
use crate::code::{ErrorCode, HasCode};
use crate::ids::NotebookId;
use crate::queue::Priority;

#[derive(Default)]
struct Running {
    /// How to stop each running task, for Cancel in the task list.
    tokens: HashMap<u64, CancellationToken>,
    /// The last 5 % step of progress written for each running task.
    steps: HashMap<u64, i64>,
}

pub struct Tracker {
    store: Arc<TaskStore>,
    running: Arc<Mutex<Running>>,
}

/// One recorded task's work in progress. A store that could not record the task leaves a
/// handle without an id: the work goes on, unrecorded (the failure is logged).
#[must_use = "a task handle dropped unfinished marks its task interrupted"]
pub struct Tracked {
    id: Option<u64>,
    store: Arc<TaskStore>,
    running: Arc<Mutex<Running>>,
    ended: std::sync::atomic::AtomicBool,
}

impl Tracker {
    pub fn new(store: Arc<TaskStore>) -> Tracker {
        Tracker {
            store,
            running: Arc::default(),
        }
    }

    pub fn store(&self) -> &Arc<TaskStore> {
        &self.store
    }

    fn handle(&self, id: Option<u64>) -> Tracked {
        Tracked {
            id,
            store: self.store.clone(),
            running: self.running.clone(),
            ended: Default::default(),
        }
    }

    /// Records a task before its work is queued.
    pub fn record(
        &self,
        notebook: Option<NotebookId>,
        target: Option<String>,
        payload: &TaskPayload,
        priority: Priority,
    ) -> Tracked {
        let task = NewTask {
            kind: payload.kind(),
            notebook,
            target,
            payload: payload.to_json(),
            priority,
        };
        let id = self
            .store
            .enqueue(&task)
            .map_err(|e| log::error!("could not record a {:?} task: {e}", task.kind))
            .ok();
        self.handle(id)
    }

    /// A task already recorded (found pending at startup, or retried), run again.
    pub fn resume(&self, task: &Task) -> Tracked {
        self.handle(Some(task.id))
    }

    /// Cancels a running task; false when it is not running here.
    pub fn cancel(&self, id: u64) -> bool {
        let token = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .tokens
            .get(&id)
            .cloned();
        token.map(|t| t.cancel()).is_some()
    }
}

impl Tracked {
    pub fn id(&self) -> Option<u64> {
        self.id
    }

    fn running(&self) -> std::sync::MutexGuard<'_, Running> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Cancel in the task list stops the work through `token`.
    pub fn watch(&self, token: CancellationToken) {
        if let Some(id) = self.id {
            self.running().tokens.insert(id, token);
        }
    }

    /// The work started.
    pub fn start(&self) {
        if let Some(id) = self.id {
            let _ = self.store.start(id);
        }
    }

    /// Progress, 0 to 1 (written when it moved by 5 % or more).
    pub fn progress(&self, fraction: f64) {
        let Some(id) = self.id else { return };
        let step = (fraction * 20.0).floor() as i64;
        let mut running = self.running();
        if running.steps.get(&id) != Some(&step) {
            running.steps.insert(id, step);
            drop(running);
            let _ = self.store.progress(id, fraction);
        }
    }

    /// The work ended with `result`: completed, cancelled or failed with its message.
    pub fn finish<T, E: HasCode + std::fmt::Display>(&self, result: &Result<T, E>) {
        let (status, error) = match result {
            Ok(_) => (TaskStatus::Completed, None),
            Err(e) if e.code() == ErrorCode::Cancelled => (TaskStatus::Cancelled, None),
            Err(e) => (TaskStatus::Failed, Some(e.to_string())),
        };
        self.end(status, error.as_deref());
    }

    /// Runs `work` as this task on the calling thread: Cancel in the task list reaches
    /// `cancel`, and the task ends with the work's outcome.
    pub fn run<T, E: HasCode + std::fmt::Display>(
        &self,
        cancel: &CancellationToken,
        work: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        self.watch(cancel.clone());
        self.start();
        let result = work();
        self.finish(&result);
        result
    }

    /// Ends this handle without an outcome: the store keeps the task running, so the next
    /// start finds it interrupted and runs it again (work stopped by the engine closing).
    pub fn leave_running(&self) {
        if self.ended.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        if let Some(id) = self.id {
            let mut running = self.running();
            running.tokens.remove(&id);
            running.steps.remove(&id);
        }
    }

    /// Someone else records how this task ends (the snapshots service, the UI's rerun).
    pub fn hand_over(self) {
        self.ended.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn end(&self, status: TaskStatus, error: Option<&str>) {
        if self.ended.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return; // one outcome per task
        }
        let Some(id) = self.id else { return };
        {
            let mut running = self.running();
            running.tokens.remove(&id);
            running.steps.remove(&id);
        }
        if let Err(e) = self.store.finish(id, status, error) {
            log::warn!("could not record the end of task {id}: {e}");
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if !self.ended.load(std::sync::atomic::Ordering::SeqCst) {
            self.end(
                TaskStatus::Interrupted,
                Some("the work stopped before it could report how it ended"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::TaskKind;

    fn tracker() -> (tempfile::TempDir, Tracker) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(TaskStore::open(&dir.path().join("tasks.sqlite")).unwrap());
        (dir, Tracker::new(store))
    }

    #[test]
    fn a_handle_records_start_progress_and_outcome() {
        let (_dir, tracker) = tracker();
        let payload = TaskPayload::Export {
            path: "/out/t.csv".into(),
        };
        let t = tracker.record(None, Some("t".into()), &payload, Priority::Background);
        let id = t.id().unwrap();
        assert_eq!(tracker.store().get(id).unwrap().status, TaskStatus::Pending);
        t.start();
        t.progress(0.5);
        let task = tracker.store().get(id).unwrap();
        assert_eq!(task.status, TaskStatus::Running);
        assert_eq!(task.progress, Some(0.5));
        assert_eq!(task.kind, TaskKind::Export);
        assert_eq!(
            TaskPayload::parse(task.kind, &task.payload).unwrap(),
            payload
        );
        t.finish::<(), crate::Error>(&Ok(()));
        assert_eq!(
            tracker.store().get(id).unwrap().status,
            TaskStatus::Completed
        );
    }

    #[test]
    fn cancel_reaches_the_work_and_a_dropped_handle_is_interrupted() {
        let (_dir, tracker) = tracker();
        let payload = TaskPayload::CellRun {
            sql: "SELECT 1".into(),
        };
        let t = tracker.record(None, None, &payload, Priority::UserVisible);
        let id = t.id().unwrap();
        let token = CancellationToken::new();
        t.watch(token.clone());
        t.start();
        assert!(tracker.cancel(id));
        assert!(token.is_cancelled());
        drop(t); // as a panicking job would
        let task = tracker.store().get(id).unwrap();
        assert_eq!(task.status, TaskStatus::Interrupted);
        assert!(
            !tracker.cancel(id),
            "an ended task is no longer cancellable"
        );
    }
}

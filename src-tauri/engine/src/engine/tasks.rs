//! The task list, Retry, and running again what the last start found pending.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::{Engine, ImportRequest};
use crate::error::Error;
use crate::notebooks::NotebookId;
use crate::tasks::{
    Recovery, Task, TaskError, TaskKind, TaskPayload, TaskStats, TaskStatus, TaskStore,
};

impl Engine {
    /// What the task store found at startup: work to run again and interrupted work.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The task store, for the shell's waits and the benches.
    pub fn task_store(&self) -> &Arc<TaskStore> {
        self.tracker.store()
    }

    /// Records a task by hand (benches and tests that stand in for other work).
    pub fn tracker(&self) -> &crate::tasks::Tracker {
        &self.tracker
    }

    pub fn list_tasks(&self, status: Option<TaskStatus>, limit: u32) -> Result<Vec<Task>, Error> {
        Ok(self.task_store().list(status, limit)?)
    }

    pub fn task_stats(&self) -> Result<TaskStats, Error> {
        Ok(self.task_store().stats()?)
    }

    /// Cancels a running recorded task; false when it is not running here.
    pub fn cancel_task(&self, id: u64) -> bool {
        self.tracker.cancel(id)
    }

    /// Clears finished tasks from the task list (the user's "Clear finished").
    pub fn dismiss_finished_tasks(&self) -> Result<u64, Error> {
        Ok(self.task_store().dismiss_finished()? as u64)
    }

    /// Runs again what the last start found pending (saves, imports, exports), in order.
    /// Blocking: the shell calls it on a background thread after the window is up.
    pub fn resume(&self) {
        for task in self.recovery.requeued.clone() {
            if let Err(e) = self.rerun(&task) {
                log::error!(
                    "recovered task {} ({:?}) failed again: {e}",
                    task.id,
                    task.kind
                );
            }
        }
    }

    /// Makes a failed, cancelled or interrupted task pending and runs it again (cell runs are
    /// run again by the UI, which shows their result).
    pub fn retry_task(&self, id: u64) -> Result<Task, Error> {
        let task = self.task_store().retry(id)?;
        if task.kind != TaskKind::CellRun {
            self.rerun(&task)?;
        }
        Ok(self.task_store().get(id)?)
    }

    /// Runs a recorded task again; its record ends with the outcome.
    fn rerun(&self, task: &Task) -> Result<(), Error> {
        let tracked = self.tracker.resume(task);
        let notebook = task
            .notebook
            .as_deref()
            .and_then(|n| n.parse::<uuid::Uuid>().ok())
            .map(NotebookId);
        let (Some(notebook), Ok(payload)) =
            (notebook, TaskPayload::parse(task.kind, &task.payload))
        else {
            let unreadable: Result<(), Error> = Err(TaskError::Store(format!(
                "task {} cannot be run again: its record names no notebook or cannot be read",
                task.id
            ))
            .into());
            tracked.finish(&unreadable);
            return unreadable;
        };
        let target = task.target.clone().unwrap_or_default();
        let never = CancellationToken::new();
        log::info!(
            "running task {} ({:?} of {target}) again",
            task.id,
            task.kind
        );
        match payload {
            TaskPayload::Snapshot { .. } => {
                let r = self.ensure_tables(notebook);
                match &r {
                    // The snapshot's outcome is recorded by the snapshots service.
                    Ok(()) => {
                        tracked.hand_over();
                        self.ledger.snapshots().adopt(notebook, &target, task.id);
                    }
                    Err(_) => tracked.finish(&r),
                }
                r
            }
            TaskPayload::Import {
                path,
                csv,
                sheet,
                format,
                converted,
                connection,
                folder,
            } => {
                let loaded = self.ensure_tables(notebook);
                if loaded.is_err() {
                    tracked.finish(&loaded);
                    return loaded;
                }
                if task.target.is_some() && self.ledger.exists(notebook, &target) {
                    // The table was committed before the crash cut the bookkeeping short.
                    if let (Some(_), Some(folder), Ok(Some(dir))) = (
                        &connection,
                        &converted,
                        self.notebooks.folder_path(notebook),
                    ) {
                        super::remote_import::remove_fetched(&dir, folder);
                    }
                    tracked.finish::<(), Error>(&Ok(()));
                    return Ok(());
                }
                let choices = folder.as_ref().and_then(|f| f.csv.as_ref());
                if let (Some(connection), Some(folder)) = (&connection, &converted) {
                    return self
                        .link_remote_text_tracked(
                            &tracked,
                            notebook,
                            connection,
                            &path.to_string_lossy(),
                            &target,
                            (csv.as_ref(), choices),
                            folder,
                        )
                        .map(|_| ());
                }
                if let (Some(folder), Some(id)) = (&folder, &converted) {
                    return self
                        .link_folder_tracked(&tracked, notebook, &path, folder, &target, id)
                        .map(|_| ());
                }
                let request = ImportRequest {
                    path: &path,
                    table: task.target.as_deref(),
                    format,
                    csv: csv.as_ref(),
                    sheet: sheet.as_ref(),
                    convert: converted.is_some(),
                };
                let into = converted.as_deref();
                self.import_tracked(&tracked, notebook, request, into, &|_| {}, &never)
                    .map(|_| ())
            }
            TaskPayload::Export { path } => self
                .export_tracked(&tracked, notebook, &target, &path, &|_| {}, &never)
                .map(|_| ()),
            TaskPayload::Transform { transform } => {
                tracked.start();
                // On this thread, not through an async path: a retry is called from a command
                // thread that may not start a runtime of its own.
                let r = self.ensure_tables(notebook).and_then(|()| {
                    if self.ledger.catalog().linked(notebook, &target).is_some() {
                        // Its query runs as a job on the scheduler's runtime: only waited for.
                        return futures::executor::block_on(self.apply_linked_transform(
                            notebook,
                            &target,
                            &transform,
                            Arc::new(|_| {}),
                            &never,
                        ))
                        .map(|_| ());
                    }
                    self.ledger
                        .apply_transform_here(notebook, &target, transform)
                        .map(|_| ())
                });
                tracked.finish(&r);
                r
            }
            TaskPayload::CellRun { .. } => {
                // Run again by the UI, which shows the result; the record stays pending.
                tracked.hand_over();
                Ok(())
            }
        }
    }
}

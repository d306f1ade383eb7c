//! Cancellation that reaches inside a running plan.
//!
//! Dropping a DataFusion stream stops a query only when its operators yield, and a CPU-bound
//! operator does not: a partial hash aggregate reading from a hash join that turns each probe
//! batch into thousands of output batches loops in one `poll_next` for minutes, on every
//! partition task DataFusion spawned, and its task cannot even be aborted until it returns.
//! [`interruptible`] puts an [`Interruptible`] node above every node of a physical plan: each
//! batch that passes between two operators first checks the query's token, so a cancelled
//! query ends with [`Interrupted`] within one batch in every partition task at once.

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;

/// The error a plan ends with when its token was cancelled.
#[derive(Debug, thiserror::Error)]
#[error("the query was cancelled")]
pub struct Interrupted;

/// Whether `e` (however deeply DataFusion wrapped it) is an [`Interrupted`].
pub fn is_interrupted(e: &DataFusionError) -> bool {
    match e {
        DataFusionError::External(inner) => inner.downcast_ref::<Interrupted>().is_some(),
        DataFusionError::Shared(inner) => is_interrupted(inner),
        DataFusionError::Context(_, inner) => is_interrupted(inner),
        DataFusionError::Diagnostic(_, inner) => is_interrupted(inner),
        DataFusionError::ArrowError(inner, _) => {
            matches!(&**inner, datafusion::arrow::error::ArrowError::ExternalError(x)
                if x.downcast_ref::<Interrupted>().is_some()
                    || x.downcast_ref::<DataFusionError>().is_some_and(is_interrupted))
        }
        _ => false,
    }
}

/// `plan` with an [`Interruptible`] above each of its nodes.
pub fn interruptible(
    plan: Arc<dyn ExecutionPlan>,
    token: &CancellationToken,
) -> Result<Arc<dyn ExecutionPlan>> {
    interruptible_counting(plan, token, None)
}

/// [`interruptible`], adding to `read` the rows each leaf (a scan) hands up: how far a query
/// that must read everything before it answers (a sort) has come.
pub fn interruptible_counting(
    plan: Arc<dyn ExecutionPlan>,
    token: &CancellationToken,
    read: Option<Arc<AtomicU64>>,
) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|node| {
        let count = read.clone().filter(|_| node.children().is_empty());
        Ok(Transformed::yes(Arc::new(Interruptible {
            input: node,
            token: token.clone(),
            read: count,
        }) as Arc<dyn ExecutionPlan>))
    })
    .map(|t| t.data)
}

/// Passes its input's batches through unchanged until the token is cancelled.
#[derive(Debug)]
pub struct Interruptible {
    input: Arc<dyn ExecutionPlan>,
    token: CancellationToken,
    /// Counts the rows that pass (above a leaf only).
    read: Option<Arc<AtomicU64>>,
}

impl Interruptible {
    pub fn new(input: Arc<dyn ExecutionPlan>, token: CancellationToken) -> Self {
        Interruptible {
            input,
            token,
            read: None,
        }
    }
}

impl DisplayAs for Interruptible {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Interruptible")
    }
}

impl ExecutionPlan for Interruptible {
    fn name(&self) -> &str {
        "Interruptible"
    }

    // Code that downcasts a child (to find a data source, say) looks through this node.
    fn downcast_delegate(&self) -> Option<&dyn ExecutionPlan> {
        Some(self.input.as_ref())
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.len() != 1 {
            return Err(DataFusionError::Internal(
                "Interruptible has exactly one child".into(),
            ));
        }
        Ok(Arc::new(Interruptible {
            input: children.swap_remove(0),
            token: self.token.clone(),
            read: self.read.clone(),
        }))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if self.token.is_cancelled() {
            return Err(DataFusionError::External(Box::new(Interrupted)));
        }
        let inner = self.input.execute(partition, context)?;
        Ok(Box::pin(InterruptibleStream {
            inner,
            token: self.token.clone(),
            read: self.read.clone(),
            done: false,
        }))
    }
}

struct InterruptibleStream {
    inner: SendableRecordBatchStream,
    token: CancellationToken,
    read: Option<Arc<AtomicU64>>,
    done: bool,
}

impl Stream for InterruptibleStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if self.token.is_cancelled() {
            self.done = true;
            return Poll::Ready(Some(Err(DataFusionError::External(Box::new(Interrupted)))));
        }
        let next = self.inner.poll_next_unpin(cx);
        if let (Some(read), Poll::Ready(Some(Ok(batch)))) = (&self.read, &next) {
            read.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
        }
        next
    }
}

impl RecordBatchStream for InterruptibleStream {
    fn schema(&self) -> datafusion::arrow::datatypes::SchemaRef {
        self.inner.schema()
    }
}

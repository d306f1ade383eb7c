//! [`Emitter`]: how an area reports what happened without knowing who listens. A leaf: the
//! areas (notebooks, snapshots) emit their own event types through it, and the engine wires
//! each emitter to the event bus, which sits above them with the event enum the UI receives.

use std::sync::Arc;

pub struct Emitter<T>(Arc<dyn Fn(T) + Send + Sync>);

impl<T> Clone for Emitter<T> {
    fn clone(&self) -> Self {
        Emitter(self.0.clone())
    }
}

impl<T> Emitter<T> {
    pub fn new(f: impl Fn(T) + Send + Sync + 'static) -> Emitter<T> {
        Emitter(Arc::new(f))
    }

    /// Hands the event on; never waits on whoever listens.
    pub fn emit(&self, event: T) {
        (self.0)(event)
    }
}

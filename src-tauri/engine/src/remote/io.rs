//! The runtime every object-store request runs on.
//!
//! Stores are built with `object_store`'s spawning connector, which sends each request (and
//! its body) to this runtime's threads: the engine's sync code (a grid page, a footer read at
//! link time) can then wait on a store with [`wait`] from any thread, and DataFusion's streams
//! on the query runtimes never carry the network themselves.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle, Runtime};

/// Threads for requests: they mostly wait on sockets.
const IO_THREADS: usize = 2;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        Builder::new_multi_thread()
            .worker_threads(IO_THREADS)
            .thread_name("quire-remote-io")
            .enable_all()
            .build()
            // Without threads of its own there is no object storage at all; this only fails
            // when the OS refuses new threads.
            .expect("the object storage runtime could not start")
    })
}

/// The handle stores spawn their requests on.
pub fn handle() -> Handle {
    runtime().handle().clone()
}

/// Enters the IO runtime's context on this thread until the guard drops: what a multipart
/// upload needs while sync code feeds it (its parts are spawned as they fill).
pub fn enter() -> tokio::runtime::EnterGuard<'static> {
    runtime().enter()
}

/// Waits for `future`, whose requests run on the IO runtime, from any thread (sync code and
/// the engine's own runtimes alike). The runtime's context is entered meanwhile: a store's
/// retry waits on a tokio timer, which needs one (without it, a retried request panics).
pub fn wait<F: Future>(future: F) -> F::Output {
    let _context = runtime().enter();
    futures::executor::block_on(future)
}

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

/// Whether something listens at `host:port`, found by opening a TCP connection within
/// `timeout` (a server's own client may wait far longer on an address that drops packets). The
/// error says what the user can check.
pub fn reach(target: &(String, u16), timeout: std::time::Duration) -> Result<(), String> {
    use std::net::ToSocketAddrs;
    let addresses: Vec<_> = target
        .to_socket_addrs()
        .map_err(|_| "its host name does not resolve; check the host".to_string())?
        .collect();
    let mut refused = false;
    for address in &addresses {
        match std::net::TcpStream::connect_timeout(address, timeout) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => refused = true,
            Err(_) => {}
        }
    }
    Err(if refused {
        "nothing is listening there (connection refused); check the host and port and that the server runs".into()
    } else {
        "it did not answer in time".into()
    })
}

//! Thread priority for the scheduler's non-urgent runtime.
//!
//! The OS scheduler, not Quire's queue, decides which thread gets a core: a query's partition
//! tasks at full speed on every core would keep a grid page waiting however the queue ordered
//! them. Lowering the threads that run everything but urgent work makes the OS hand a core to
//! a grid page the moment it is runnable, while the query still gets every idle cycle.

/// The niceness of the lowered threads (Linux): far enough below 0 that a runnable normal
/// thread preempts them at once (CFS weight 110 against 1024), not so far that a query is
/// starved by unrelated programs.
#[cfg(target_os = "linux")]
pub const LOWERED_NICE: i32 = 10;

/// Lowers the calling thread's priority; a failure only costs responsiveness, so it is
/// logged, never raised.
pub fn lower_current_thread() {
    #[cfg(target_os = "linux")]
    {
        // On Linux, PRIO_PROCESS with a thread id sets that one thread's nice value.
        // SAFETY: plain syscalls on the calling thread's own id.
        let result = unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, LOWERED_NICE)
        };
        if result != 0 {
            log::warn!(
                "could not lower a work thread's priority: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    #[cfg(target_os = "macos")]
    {
        // The QoS class the system gives long-running user-requested work below the UI's.
        // SAFETY: sets the calling thread's own QoS class.
        let result =
            unsafe { libc::pthread_set_qos_class_self_np(libc::qos_class_t::QOS_CLASS_UTILITY, 0) };
        if result != 0 {
            log::warn!("could not lower a work thread's priority (error {result})");
        }
    }
}

/// The time slice the urgent threads ask for (Linux): the shortest the kernel allows.
#[cfg(target_os = "linux")]
pub const URGENT_SLICE_NS: u64 = 100_000;

/// Asks the OS to run the calling thread (an urgent one: grid pages) the moment it wakes, even
/// when every core runs a lowered query thread. A lower nice value alone lets the query
/// thread's slice end first: `queue`'s `page_p99_heavy_ms` went from 0.2 to 3.8 ms once queries
/// had every core, and back to 1.0 ms with this. Linux 6.12 and later (EEVDF) let a thread ask
/// for a shorter slice, and a woken thread with a shorter slice preempts the running one;
/// older kernels accept and ignore the request. Only a normal or batch thread's slice changes
/// (its policy and nice value stay), and threads it starts get the default slice again.
/// A failure only costs responsiveness, so it is logged once, never raised.
pub fn quicken_current_thread() {
    #[cfg(target_os = "linux")]
    if let Err(e) = set_urgent_slice() {
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| log::warn!("could not shorten the urgent threads' time slice: {e}"));
    }
}

#[cfg(target_os = "linux")]
fn set_urgent_slice() -> std::io::Result<()> {
    let mut attr = current_attr()?;
    let policy = attr.sched_policy as i32;
    if policy != libc::SCHED_OTHER && policy != libc::SCHED_BATCH {
        return Ok(());
    }
    attr.sched_runtime = URGENT_SLICE_NS;
    // A thread it starts gets the default slice (tokio's blocking-pool threads started from
    // an urgent worker ask for theirs again in `on_thread_start`).
    attr.sched_flags = libc::SCHED_FLAG_RESET_ON_FORK as u64;
    // SAFETY: the calling thread's own scheduling attributes (pid 0), from a struct whose
    // size field the kernel checks.
    let result = unsafe {
        libc::syscall(
            libc::SYS_sched_setattr,
            0,
            &attr as *const libc::sched_attr,
            0u32,
        )
    };
    if result != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The calling thread's scheduling attributes.
#[cfg(target_os = "linux")]
fn current_attr() -> std::io::Result<libc::sched_attr> {
    // SAFETY: an all-zero sched_attr is a valid value of this plain C struct.
    let mut attr: libc::sched_attr = unsafe { std::mem::zeroed() };
    // SAFETY: the calling thread's own attributes (pid 0), written into a struct of the size
    // passed.
    let result = unsafe {
        libc::syscall(
            libc::SYS_sched_getattr,
            0,
            &mut attr as *mut libc::sched_attr,
            std::mem::size_of::<libc::sched_attr>() as u32,
            0u32,
        )
    };
    if result != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(attr)
}

/// The calling thread's nice value (tests and the bench check the lowering took effect).
#[cfg(target_os = "linux")]
pub fn current_nice() -> i32 {
    // SAFETY: reads the calling thread's own priority.
    unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
}

/// The calling thread's time slice in ns as the kernel reports it (Linux 6.12 and later: the
/// default slice unless the thread asked for another; older kernels report 0). Tests check the
/// urgent threads asked for theirs.
#[cfg(target_os = "linux")]
pub fn current_slice_ns() -> std::io::Result<u64> {
    Ok(current_attr()?.sched_runtime)
}

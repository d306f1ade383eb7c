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
/// when every core runs a lowered query thread. A lower nice value alone gives the query
/// thread's slice time to end first: `queue`'s `page_p99_heavy_ms` went from 0.2 to 3.8 ms
/// once queries had every core. Linux 6.12 and later (EEVDF) let a thread ask for a shorter
/// slice, and a woken thread with a shorter slice preempts the running one; older kernels
/// ignore the request. A failure only costs responsiveness, so it is logged, never raised.
pub fn quicken_current_thread() {
    #[cfg(target_os = "linux")]
    {
        let attr = libc::sched_attr {
            size: std::mem::size_of::<libc::sched_attr>() as u32,
            sched_policy: libc::SCHED_OTHER as u32,
            sched_flags: 0,
            sched_nice: current_nice(),
            sched_priority: 0,
            sched_runtime: URGENT_SLICE_NS,
            sched_deadline: 0,
            sched_period: 0,
        };
        // SAFETY: the calling thread's own scheduling attributes (pid 0), from a struct of the
        // size it says it is.
        let result = unsafe {
            libc::syscall(
                libc::SYS_sched_setattr,
                0,
                &attr as *const libc::sched_attr,
                0u32,
            )
        };
        if result != 0 {
            log::warn!(
                "could not shorten an urgent thread's time slice: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

/// The calling thread's nice value (tests and the bench check the lowering took effect).
#[cfg(target_os = "linux")]
pub fn current_nice() -> i32 {
    // SAFETY: reads the calling thread's own priority.
    unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
}

/// The calling thread's time slice in ns as the kernel reports it: 0 when it keeps the
/// default (tests check the urgent threads asked for theirs).
#[cfg(target_os = "linux")]
pub fn current_slice_ns() -> std::io::Result<u64> {
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
    Ok(attr.sched_runtime)
}

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

/// The calling thread's nice value (tests and the bench check the lowering took effect).
#[cfg(target_os = "linux")]
pub fn current_nice() -> i32 {
    // SAFETY: reads the calling thread's own priority.
    unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
}

//! The bench binary's allocator: the app's (mimalloc), or the system's with
//! `QUIRE_BENCH_ALLOCATOR=system` (read on Unix only) to measure what the choice is worth,
//! plus a counter of bytes allocated, so a suite can report how much memory an operation
//! newly allocates (e.g. one cell edit).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use mimalloc::MiMalloc;

pub struct Counting;

static ALLOCATED: AtomicU64 = AtomicU64::new(0);

/// 0 until the first allocation reads the choice, then [`MIMALLOC`] or [`SYSTEM`]; never
/// changes after, so every block is freed by the allocator that gave it.
static CHOICE: AtomicU8 = AtomicU8::new(0);
const MIMALLOC: u8 = 1;
const SYSTEM: u8 = 2;

/// Whether the system allocator serves this process. The first allocation is made by the main
/// thread before any other starts, so the choice is read once.
fn system() -> bool {
    match CHOICE.load(Ordering::Relaxed) {
        MIMALLOC => false,
        SYSTEM => true,
        _ => {
            let chosen = chosen();
            CHOICE.store(chosen, Ordering::Relaxed);
            chosen == SYSTEM
        }
    }
}

#[cfg(unix)]
fn chosen() -> u8 {
    // SAFETY: getenv reads the environment without allocating (this runs inside the
    // allocator); the pointer is read at once, before anything could change the environment.
    let value = unsafe { libc::getenv(c"QUIRE_BENCH_ALLOCATOR".as_ptr()) };
    // SAFETY: a non-null result of getenv is a NUL-terminated string.
    if !value.is_null() && unsafe { std::ffi::CStr::from_ptr(value) }.to_bytes() == b"system" {
        SYSTEM
    } else {
        MIMALLOC
    }
}

#[cfg(not(unix))]
fn chosen() -> u8 {
    MIMALLOC
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the chosen allocator.
        unsafe {
            if system() {
                System.alloc(layout)
            } else {
                MiMalloc.alloc(layout)
            }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the chosen allocator.
        unsafe {
            if system() {
                System.alloc_zeroed(layout)
            } else {
                MiMalloc.alloc_zeroed(layout)
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the allocator that gave `ptr` (the choice never
        // changes once made).
        unsafe {
            if system() {
                System.dealloc(ptr, layout)
            } else {
                MiMalloc.dealloc(ptr, layout)
            }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.fetch_add(
            new_size.saturating_sub(layout.size()) as u64,
            Ordering::Relaxed,
        );
        // SAFETY: as for `dealloc`.
        unsafe {
            if system() {
                System.realloc(ptr, layout, new_size)
            } else {
                MiMalloc.realloc(ptr, layout, new_size)
            }
        }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bytes allocated so far by the whole process (never decreases).
pub fn allocated() -> u64 {
    ALLOCATED.load(Ordering::Relaxed)
}

/// Which allocator serves the process, for the report.
pub fn name() -> &'static str {
    if system() {
        "system"
    } else {
        "mimalloc"
    }
}

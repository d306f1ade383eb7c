//! Quire's desktop binary: everything is in the library so tests can reach it.
// No console window next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

/// mimalloc, not the system's: DataFusion's work allocates and frees in many threads at once,
/// and with it the `bigdata` bench's pages, group-by, compaction and CSV conversion ran faster
/// (see `Cargo.toml`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    quire_lib::run();
}

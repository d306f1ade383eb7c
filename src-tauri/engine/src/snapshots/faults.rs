//! The writer's test seam: a plan of I/O failures (disk full after N bytes, a failed fsync, a
//! failed rename) that the generation writer consults before each step. Empty in production;
//! the fault-injection tests arm it to prove the previous generation survives each failure.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Armed faults fire once, then disarm, so the retry that follows can succeed.
#[derive(Debug, Default)]
pub struct Faults {
    /// Fail a write once this many bytes of the file are written (`u64::MAX` = never).
    disk_full_after: AtomicU64,
    fail_fsync: AtomicBool,
    fail_rename: AtomicBool,
    fail_manifest_dir_sync: AtomicBool,
    armed: AtomicBool,
    /// Milliseconds to stall before each row group, so a test can act while a write runs.
    slow_row_groups_ms: AtomicU64,
}

/// One failure to inject into the next snapshot write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// ENOSPC once the file has this many bytes.
    DiskFullAfter(u64),
    /// EIO from the temp file's fsync.
    Fsync,
    /// The rename over the final name fails.
    Rename,
    /// The folder fsync after the manifest's rename fails: the new manifest is in place but
    /// may not be durable ("committed, unsure").
    ManifestFolderSync,
    /// Every row group waits this many milliseconds first (until disarmed with 0); not a
    /// failure, a way to hold a write in flight.
    SlowRowGroups(u64),
}

impl Faults {
    pub fn arm(&self, fault: Fault) {
        match fault {
            Fault::DiskFullAfter(n) => self.disk_full_after.store(n, Ordering::SeqCst),
            Fault::Fsync => self.fail_fsync.store(true, Ordering::SeqCst),
            Fault::Rename => self.fail_rename.store(true, Ordering::SeqCst),
            Fault::ManifestFolderSync => self.fail_manifest_dir_sync.store(true, Ordering::SeqCst),
            Fault::SlowRowGroups(ms) => {
                self.slow_row_groups_ms.store(ms, Ordering::SeqCst);
                return;
            }
        }
        self.armed.store(true, Ordering::SeqCst);
    }

    fn disarm(&self) {
        self.disk_full_after.store(0, Ordering::SeqCst);
        self.fail_fsync.store(false, Ordering::SeqCst);
        self.fail_rename.store(false, Ordering::SeqCst);
        self.fail_manifest_dir_sync.store(false, Ordering::SeqCst);
        self.armed.store(false, Ordering::SeqCst);
    }

    pub(super) fn before_row_group(&self) {
        let ms = self.slow_row_groups_ms.load(Ordering::Relaxed);
        if ms > 0 {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
    }

    pub(super) fn before_write(&self, written: u64, len: usize) -> std::io::Result<()> {
        if !self.armed.load(Ordering::Relaxed) {
            return Ok(());
        }
        let limit = self.disk_full_after.load(Ordering::SeqCst);
        if limit > 0 && written + len as u64 > limit {
            self.disarm();
            return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
        }
        Ok(())
    }

    pub(super) fn before_fsync(&self) -> std::io::Result<()> {
        if self.armed.load(Ordering::Relaxed) && self.fail_fsync.load(Ordering::SeqCst) {
            self.disarm();
            return Err(std::io::Error::other("injected fsync failure (EIO)"));
        }
        Ok(())
    }

    pub(super) fn before_rename(&self) -> std::io::Result<()> {
        if self.armed.load(Ordering::Relaxed) && self.fail_rename.load(Ordering::SeqCst) {
            self.disarm();
            return Err(std::io::Error::other("injected rename failure"));
        }
        Ok(())
    }

    pub(super) fn before_manifest_folder_sync(&self) -> std::io::Result<()> {
        if self.armed.load(Ordering::Relaxed) && self.fail_manifest_dir_sync.load(Ordering::SeqCst)
        {
            self.disarm();
            return Err(std::io::Error::other("injected folder fsync failure (EIO)"));
        }
        Ok(())
    }
}

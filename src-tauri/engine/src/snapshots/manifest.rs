//! The manifest: `tables/manifest.json`, the one record of which generation files are
//! committed. A generation exists for Quire once the manifest naming it is durably in place;
//! a generation file the manifest does not name is an interrupted write and is removed.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::faults::Faults;
use super::SnapshotError;
use crate::durable;
use crate::metrics::Metrics;

pub const FILE_NAME: &str = "manifest.json";
const FORMAT: u32 = 1;

/// One committed generation of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Generation {
    pub generation: u64,
    /// The table version the file holds.
    pub version: u64,
    pub rows: u64,
    pub bytes: u64,
    /// When it was committed, in milliseconds since the Unix epoch.
    pub committed_ms: i64,
}

/// A table's committed generations, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableGenerations {
    pub generations: Vec<Generation>,
    /// The number the next generation gets; never reused, even after a failed write.
    pub next_generation: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub tables: BTreeMap<String, TableGenerations>,
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            format: FORMAT,
            tables: BTreeMap::new(),
        }
    }
}

/// What reading the manifest found.
pub enum Read {
    Missing,
    Ok(Manifest),
    /// Present but not a manifest this Quire understands.
    Damaged(String),
    /// The disk would not give its bytes (EIO, permissions): nothing is known of its content,
    /// so nothing may be rebuilt or removed on its account.
    Unreadable(std::io::Error),
}

pub fn read(dir: &Path) -> Read {
    let path = dir.join(FILE_NAME);
    match crate::durable::trace::read(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Read::Missing,
        Err(e) => Read::Unreadable(e),
        Ok(bytes) => match parse(&bytes) {
            Ok(m) => Read::Ok(m),
            Err(why) => Read::Damaged(why),
        },
    }
}

pub fn parse(bytes: &[u8]) -> Result<Manifest, String> {
    let m: Manifest = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if m.format != FORMAT {
        return Err(format!("manifest format {} is not supported", m.format));
    }
    for (table, t) in &m.tables {
        // Table names become file names: a crafted manifest must not name `../x` or `/etc/x`.
        if let Err(e) = crate::tables::name::validate(table) {
            return Err(format!("it names a table Quire would never create: {e}"));
        }
        let ordered = t
            .generations
            .windows(2)
            .all(|w| w[0].generation < w[1].generation);
        let below_next = t
            .generations
            .last()
            .is_none_or(|g| g.generation < t.next_generation);
        if !ordered || !below_next {
            return Err(format!("the generations of {table} are out of order"));
        }
    }
    Ok(m)
}

/// Commits the manifest: temp file, fsync, rename, fsync the folder.
pub fn write(dir: &Path, manifest: &Manifest, metrics: &Metrics) -> Result<(), SnapshotError> {
    write_with(dir, manifest, metrics, &Faults::default())
}

/// [`write`] through the writer's fault seam. A failure after the rename is
/// `DurableError::Unsure`: the new manifest may be what the next open reads.
pub fn write_with(
    dir: &Path,
    manifest: &Manifest,
    metrics: &Metrics,
    faults: &Faults,
) -> Result<(), SnapshotError> {
    let bytes = serde_json::to_vec_pretty(manifest).expect("a manifest always serialises");
    durable::write_atomic_with(&dir.join(FILE_NAME), &bytes, metrics, || {
        faults.before_manifest_folder_sync()
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_damage() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(read(dir.path()), Read::Missing));
        let mut m = Manifest::default();
        m.tables.insert(
            "trips".into(),
            TableGenerations {
                generations: vec![Generation {
                    generation: 1,
                    version: 4,
                    rows: 10,
                    bytes: 99,
                    committed_ms: 1,
                }],
                next_generation: 2,
            },
        );
        write(dir.path(), &m, &Metrics::default()).unwrap();
        assert!(matches!(read(dir.path()), Read::Ok(back) if back == m));
        std::fs::write(dir.path().join(FILE_NAME), b"{\"format\": 1, \"tab").unwrap();
        assert!(matches!(read(dir.path()), Read::Damaged(_)));
        m.tables.get_mut("trips").unwrap().next_generation = 1;
        assert!(parse(&serde_json::to_vec(&m).unwrap()).is_err());
    }

    #[test]
    fn a_manifest_naming_a_path_instead_of_a_table_is_damaged() {
        for name in ["../../escape", "/etc/passwd", "a/b", "CON", ""] {
            let mut m = Manifest::default();
            m.tables.insert(name.into(), TableGenerations::default());
            let err = parse(&serde_json::to_vec(&m).unwrap()).unwrap_err();
            assert!(err.contains("never create"), "{name:?}: {err}");
        }
    }
}

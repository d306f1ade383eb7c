//! The task store's database: opening it with the pragmas Quire relies on, the versioned
//! migrations (`PRAGMA user_version`), and moving a damaged file aside.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

/// Migrations in order; `user_version` is the number applied. Never edit a shipped one: add.
pub const MIGRATIONS: &[&str] = &[
    // 1: tasks and leases.
    "CREATE TABLE tasks (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        notebook TEXT,
        target TEXT,
        payload TEXT NOT NULL,
        priority INTEGER NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_ms INTEGER NOT NULL,
        started_ms INTEGER,
        finished_ms INTEGER,
        error TEXT,
        progress REAL
    );
    CREATE INDEX tasks_by_status ON tasks(status, priority, id);
    CREATE TABLE leases (
        id INTEGER PRIMARY KEY,
        asset TEXT NOT NULL,
        holder INTEGER REFERENCES tasks(id) ON DELETE CASCADE,
        expires_ms INTEGER NOT NULL
    );",
    // 2: the edit journal.
    "CREATE TABLE journal (
        seq INTEGER PRIMARY KEY,
        notebook TEXT NOT NULL,
        table_name TEXT NOT NULL,
        version INTEGER NOT NULL,
        op TEXT NOT NULL,
        created_ms INTEGER NOT NULL
    );
    CREATE INDEX journal_by_table ON journal(notebook, table_name, version);",
    // 3: notebook drafts, one row per notebook with unsaved edits.
    "CREATE TABLE drafts (
        notebook TEXT PRIMARY KEY,
        revision INTEGER NOT NULL,
        base BLOB,
        doc BLOB NOT NULL,
        created_ms INTEGER NOT NULL
    );",
];

/// Applies the pragmas: WAL (readers never block the writer, a commit is one append),
/// `synchronous=NORMAL` (see DURABILITY.md for what it risks), a busy timeout, foreign keys.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}

/// Brings the database to the newest schema, one migration per transaction.
pub fn migrate(conn: &mut Connection, upto: usize) -> rusqlite::Result<()> {
    let current: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().take(upto).skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
        log::info!("task store migrated to schema {}", i + 1);
    }
    Ok(())
}

/// What opening found.
pub struct Opened {
    pub conn: Connection,
    /// Set when the old file was damaged and moved here; a fresh store was created.
    pub moved_aside: Option<PathBuf>,
}

fn try_open(path: &Path) -> rusqlite::Result<Connection> {
    let mut conn = Connection::open(path)?;
    configure(&conn)?;
    let ok: String = conn.pragma_query_value(None, "quick_check", |r| r.get(0))?;
    if ok != "ok" {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            Some(ok),
        ));
    }
    let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > MIGRATIONS.len() {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISMATCH),
            Some(format!("schema {version} is from a newer Quire")),
        ));
    }
    migrate(&mut conn, MIGRATIONS.len())?;
    Ok(conn)
}

/// Why the store cannot be opened. Only a damaged file is moved aside: every other failure
/// leaves the file as it is, because it holds the edit journal, and starting empty would lose
/// the acknowledged edits not yet in a snapshot.
#[derive(Debug)]
pub enum OpenError {
    /// Written by a newer Quire (its schema is above this build's).
    Newer(String),
    /// Cannot be read or written now (permissions, a full or failing disk, a folder in its
    /// place), or a damaged file could not be moved aside.
    Unavailable(String),
}

/// A file SQLite reads as not a database, or whose pages fail the check.
fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

/// Opens (creating) the store at `path`. A damaged file is moved aside as
/// `<name>.damaged-<unix ms>` (with its -wal and -shm) and a fresh store is created; any other
/// failure is returned and nothing is moved.
pub fn open(path: &Path) -> Result<Opened, OpenError> {
    match try_open(path) {
        Ok(conn) => Ok(Opened {
            conn,
            moved_aside: None,
        }),
        Err(e)
            if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::TypeMismatch)
            ) =>
        {
            Err(OpenError::Newer(e.to_string()))
        }
        Err(e) if !is_damage(&e) => Err(OpenError::Unavailable(e.to_string())),
        Err(first) => {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            let aside = path.with_extension(format!("sqlite.damaged-{stamp}"));
            log::error!(
                "the task store {} is damaged ({first}); moving it to {}",
                path.display(),
                aside.display()
            );
            std::fs::rename(path, &aside).map_err(|e| {
                OpenError::Unavailable(format!("it is damaged and could not be moved aside: {e}"))
            })?;
            for suffix in ["-wal", "-shm"] {
                let side = PathBuf::from(format!("{}{suffix}", path.display()));
                let _ = std::fs::rename(&side, format!("{}{suffix}", aside.display()));
            }
            let conn = try_open(path).map_err(|e| OpenError::Unavailable(e.to_string()))?;
            Ok(Opened {
                conn,
                moved_aside: Some(aside),
            })
        }
    }
}

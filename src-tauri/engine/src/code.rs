//! Stable error codes shared by every area of the engine: a leaf module, so every area can
//! name its codes without depending on [`crate::error::Error`], which wraps every area.
//!
//! Each area has its own `thiserror` enum (`ConfigError`, `NotebookError`, ...) and maps each
//! variant to one [`ErrorCode`]. The code is the wire identifier the UI branches on: codes never
//! change meaning once shipped; messages may be reworded freely. Add a code only when something
//! produces it.

use serde::{Deserialize, Serialize};

/// What kind of failure happened, stable across releases. Serialised in snake_case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The config file or a `QUIRE_*` variable could not be understood.
    ConfigInvalid,
    /// The workspace folder could not be created or opened.
    WorkspaceUnavailable,
    /// A path or name would leave the workspace (`..`, an absolute path, a separator).
    PathOutsideWorkspace,
    /// The window named a file the user did not pick in a dialog or drop on it.
    PathNotAllowed,
    /// Reading or writing a file failed (disk full, permissions, I/O error).
    Io,
    /// A notebook title is empty, too long or contains characters a folder name cannot hold.
    InvalidTitle,
    /// Another Quire (or quire-cli) has this workspace open.
    WorkspaceLocked,
    /// No notebook has the given id.
    NotebookNotFound,
    /// Another notebook already has this title.
    NotebookExists,
    /// The notebook's file is damaged or from a newer Quire; it is left untouched.
    NotebookUnreadable,
    /// The notebook's file changed outside Quire while it had unsaved edits.
    NotebookChangedOnDisk,
    /// The notebook has no cell with the given id.
    CellNotFound,
    /// The SQL could not be parsed, planned or executed; the message names the line and column.
    SqlInvalid,
    /// A file could not be imported (malformed, wrong types, empty); the message names the line.
    ImportFailed,
    /// A file could not be opened or read.
    FileUnreadable,
    /// A table name is not a plain SQL identifier.
    InvalidTableName,
    /// No table has the given name in this notebook.
    TableNotFound,
    /// Another table in this notebook has that name.
    TableExists,
    /// The table is linked: it reads a file where it lies, which Quire does not change (copy it
    /// into the notebook to edit it).
    TableLinked,
    /// A value typed into a cell does not fit its column (not a number, not a date, null in a
    /// column that cannot be empty).
    InvalidValue,
    /// A transform names a column the table does not have, a name a column cannot take or
    /// already has, or would drop the last column.
    ColumnInvalid,
    /// The table has no saved generation with that number (it was removed from the history).
    GenerationNotFound,
    /// A table version asked for (to compare) is no longer kept in memory.
    VersionNotFound,
    /// No task has the given id (it finished long ago and was cleaned up).
    TaskNotFound,
    /// A chart cell's spec cannot be drawn: not JSON, a column its query does not return, or a
    /// Vega-Lite feature Quire does not draw; the message says which and what to do instead.
    ChartInvalid,
    /// An import, a result or a query needs more memory than the `limits` settings allow.
    TooLarge,
    /// The work was cancelled before it finished.
    Cancelled,
    /// A sorted or filtered view of a table stopped being made: Cancel was pressed, or a newer
    /// view of the same table was asked for. Asking again makes it anew.
    ViewCancelled,
    /// A connection's settings cannot be used: a malformed endpoint or address, a profile
    /// that is not in the credentials file.
    ConnectionInvalid,
    /// A store or server did not answer, or not in time.
    ConnectionUnreachable,
    /// A store or server answered and refused the credentials.
    ConnectionRefused,
    /// The notebook has no connection of that name.
    ConnectionNotFound,
    /// A store or server answered with something Quire cannot use (a server error).
    ConnectionFailed,
    /// An export to a bucket would replace an object already there.
    ObjectExists,
    /// An export names a bucket (or Azure container) the store does not have.
    BucketNotFound,
    /// A cell set to run on a cluster names a table the cluster cannot read (one held in
    /// this notebook, a file outside the shared folders, a database).
    NotOnCluster,
    /// A pattern naming the files of a folder to link is empty, malformed, absolute, climbs
    /// out of the folder or matches none of its Parquet files.
    PatternInvalid,
    /// A bug in Quire: the message says what, the log has the context.
    Internal,
}

/// Implemented by every area error so the shell can serialise `{ code, message, position }`.
pub trait HasCode {
    fn code(&self) -> ErrorCode;

    /// Where in the user's input (a query, a file) the error is: 1-based line and column.
    fn position(&self) -> Option<Position> {
        None
    }
}

/// A place in a query or a file the user can go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Position {
    pub line: u64,
    /// 0 when only the line is known (a line of a file).
    pub column: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_snake_case_on_the_wire() {
        // The UI's union of codes is generated from this enum; pin the spelling of a few.
        assert_eq!(
            serde_json::to_string(&ErrorCode::PathOutsideWorkspace).unwrap(),
            "\"path_outside_workspace\""
        );
        assert_eq!(
            serde_json::to_string(&ErrorCode::NotebookNotFound).unwrap(),
            "\"notebook_not_found\""
        );
        let back: ErrorCode = serde_json::from_str("\"sql_invalid\"").unwrap();
        assert_eq!(back, ErrorCode::SqlInvalid);
    }
}

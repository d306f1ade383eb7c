//! The one error type every command returns: `{ code, message }`. The UI branches on `code`
//! (stable, from the engine's `ErrorCode`) and shows `message` (plain words, may change).

use quire_engine::{ErrorCode, HasCode, Position};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize, specta::Type, thiserror::Error)]
#[error("{message}")]
pub struct IpcError {
    pub code: ErrorCode,
    pub message: String,
    /// Where in the query or file the problem is, when the engine knows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
}

impl IpcError {
    pub fn from_coded<E: HasCode + std::fmt::Display>(e: &E) -> IpcError {
        IpcError {
            code: e.code(),
            message: e.to_string(),
            position: e.position(),
        }
    }
}

/// The one conversion: any engine error, or any area's error, becomes `{ code, message }`.
impl<E: Into<quire_engine::Error>> From<E> for IpcError {
    fn from(e: E) -> IpcError {
        let e: quire_engine::Error = e.into();
        log::warn!("command failed: {e}");
        IpcError::from_coded(&e)
    }
}

#[cfg(test)]
mod tests {
    use quire_engine::notebooks::NotebookError;

    use super::*;

    #[test]
    fn a_sql_error_carries_its_position() {
        let e = quire_engine::tables::TableError::Sql {
            message: "no column nope".into(),
            line: Some(2),
            column: Some(8),
        };
        let err: IpcError = quire_engine::Error::from(e).into();
        assert_eq!(
            serde_json::to_string(&err).unwrap(),
            r#"{"code":"sql_invalid","message":"no column nope","position":{"line":2,"column":8}}"#
        );
    }

    #[test]
    fn wire_format_is_code_and_message() {
        let err: IpcError = quire_engine::Error::from(NotebookError::EmptyTitle).into();
        assert_eq!(
            serde_json::to_string(&err).unwrap(),
            r#"{"code":"invalid_title","message":"a notebook needs a title"}"#
        );
    }
}

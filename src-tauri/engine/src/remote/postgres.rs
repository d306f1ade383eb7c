//! A PostgreSQL connection as a notebook keeps it: where the server is (host, port, user,
//! database, TLS mode), never a password. That comes from where libpq users keep it:
//! `PGPASSWORD`, or the password file `PGPASSFILE` names, else `~/.pgpass`. Attaching the
//! database (its tables in SQL) is `database.rs`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::RemoteError;

/// libpq's default port.
const DEFAULT_PORT: u16 = 5432;
const SSL_MODES: [&str; 5] = ["disable", "prefer", "require", "verify-ca", "verify-full"];

fn default_port() -> u16 {
    DEFAULT_PORT
}

/// What a notebook keeps of a PostgreSQL connection: where, never a password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct PostgresConnection {
    /// A host name or address; a path is the folder holding the server's Unix socket.
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    pub user: String,
    pub database: String,
    /// libpq's `sslmode`: disable, prefer (when none), require, verify-ca or verify-full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sslmode: Option<String>,
}

/// A table or view the database lets this user read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct DatabaseTable {
    pub schema: String,
    pub name: String,
    /// "table", "view", "materialized view", "partitioned table" or "foreign table".
    pub kind: String,
    /// Postgres's own estimate (from its statistics); none when it has not counted yet.
    pub estimated_rows: Option<f64>,
}

impl PostgresConnection {
    /// Where requests go, for messages (no password: there is none here).
    pub fn endpoint(&self) -> String {
        format!(
            "postgres://{}@{}:{}/{}",
            self.user, self.host, self.port, self.database
        )
    }

    /// Refuses settings libpq would misread, in words; nothing is sent.
    pub fn validate(&self) -> Result<(), RemoteError> {
        let invalid = |what: &str, why: &str| RemoteError::Invalid {
            what: what.to_string(),
            why: why.to_string(),
        };
        for (what, value) in [
            ("the host", &self.host),
            ("the user", &self.user),
            ("the database", &self.database),
        ] {
            if value.is_empty() {
                return Err(invalid(
                    &format!("{what} of a PostgreSQL connection"),
                    "it is empty",
                ));
            }
            // The pool reads a `key=value` string split at spaces.
            if value
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '=' | '\'' | '\\'))
            {
                return Err(invalid(
                    &format!("{what} {value:?}"),
                    "it cannot hold spaces, quotes, '=' or '\\'",
                ));
            }
        }
        if self.port == 0 {
            return Err(invalid("port 0", "a PostgreSQL port is 1 to 65535"));
        }
        if let Some(mode) = &self.sslmode {
            if !SSL_MODES.contains(&mode.as_str()) {
                return Err(invalid(
                    &format!("the TLS mode {mode:?}"),
                    "it is one of disable, prefer, require, verify-ca, verify-full",
                ));
            }
        }
        Ok(())
    }

    /// The password for this server and user: `PGPASSWORD`, else the first matching line of
    /// the password file, else none (the server may not ask for one).
    pub fn password(&self) -> Option<String> {
        if let Some(p) = std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()) {
            return Some(p);
        }
        let file = password_file()?;
        let meta = std::fs::metadata(&file).ok()?;
        if !meta.is_file() {
            return None;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // libpq ignores a password file others can read, and so does Quire.
            if meta.permissions().mode() & 0o077 != 0 {
                log::warn!(
                    "{} can be read by others; like psql, Quire does not use it (chmod 0600 it)",
                    file.display()
                );
                return None;
            }
        }
        let text = std::fs::read_to_string(&file).ok()?;
        pgpass_lookup(&text, &self.host, self.port, &self.database, &self.user)
    }
}

/// `PGPASSFILE`, else `~/.pgpass` (`%APPDATA%\postgresql\pgpass.conf` on Windows), as libpq.
fn password_file() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PGPASSFILE") {
        return Some(PathBuf::from(p));
    }
    if cfg!(windows) {
        return std::env::var_os("APPDATA")
            .map(|d| PathBuf::from(d).join("postgresql").join("pgpass.conf"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pgpass"))
}

/// The password of the first line of a libpq password file matching the server, as libpq
/// reads it (`fe-connect.c`): `host:port:database:user:password`, an unescaped `*` matching
/// anything, `\` escaping the next character, the password ending at the next unescaped `:`,
/// `#` starting a comment line.
pub fn pgpass_lookup(
    text: &str,
    host: &str,
    port: u16,
    database: &str,
    user: &str,
) -> Option<String> {
    let port = port.to_string();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_pgpass(line);
        let [h, p, d, u, password] = fields.as_slice() else {
            continue;
        };
        // libpq matches "localhost" against a connection over the default Unix socket too.
        let host_matches = h.matches(host) || (h.text == "localhost" && host.starts_with('/'));
        if host_matches && p.matches(&port) && d.matches(database) && u.matches(user) {
            return Some(password.text.clone());
        }
    }
    None
}

/// One field of a password file line.
#[derive(Default)]
struct Field {
    text: String,
    /// A lone unescaped `*`: matches any value.
    wildcard: bool,
}

impl Field {
    fn matches(&self, value: &str) -> bool {
        self.wildcard || self.text == value
    }
}

/// A line's fields: the fifth (the password) ends at the next unescaped `:`, as in libpq.
fn split_pgpass(line: &str) -> Vec<Field> {
    let mut fields = vec![Field::default()];
    // Whether a field holds an escaped character: then a `*` in it is that character.
    let mut escaped = vec![false];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    fields.last_mut().expect("starts with one").text.push(next);
                    *escaped.last_mut().expect("starts with one") = true;
                }
            }
            ':' if fields.len() < 5 => {
                fields.push(Field::default());
                escaped.push(false);
            }
            ':' => break,
            c => fields.last_mut().expect("starts with one").text.push(c),
        }
    }
    for (field, escaped) in fields.iter_mut().zip(escaped) {
        field.wildcard = field.text == "*" && !escaped;
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> PostgresConnection {
        PostgresConnection {
            host: "127.0.0.1".into(),
            port: 5432,
            user: "ana".into(),
            database: "shop".into(),
            sslmode: None,
        }
    }

    #[test]
    fn the_password_file_is_read_as_libpq_reads_it() {
        let text = "# comment\n\
                    other:5432:shop:ana:wrong\n\
                    127.0.0.1:5432:shop:bob:for-bob\n\
                    127.0.0.1:*:shop:ana:p\\:a\\\\ss:ignored after a colon\n\
                    \\*:*:*:carl:only-for-a-host-named-star\n\
                    *:*:*:*:fallback\n";
        // The password ends at the first unescaped colon; `\\` escapes.
        assert_eq!(
            pgpass_lookup(text, "127.0.0.1", 5432, "shop", "ana").as_deref(),
            Some("p:a\\ss")
        );
        assert_eq!(
            pgpass_lookup(text, "127.0.0.1", 5432, "shop", "bob").as_deref(),
            Some("for-bob")
        );
        // An escaped `*` is a star, not a wildcard.
        assert_eq!(
            pgpass_lookup(text, "db.example", 5432, "x", "carl").as_deref(),
            Some("fallback")
        );
        assert_eq!(
            pgpass_lookup(text, "*", 5432, "x", "carl").as_deref(),
            Some("only-for-a-host-named-star")
        );
        assert_eq!(
            pgpass_lookup(text, "db.example", 6000, "x", "y").as_deref(),
            Some("fallback")
        );
        assert_eq!(pgpass_lookup("a:b:c\n", "a", 1, "c", "d"), None);
    }

    #[test]
    fn settings_libpq_would_misread_are_refused_in_words() {
        assert!(settings().validate().is_ok());
        let spaced = PostgresConnection {
            database: "my shop".into(),
            ..settings()
        };
        let message = spaced.validate().unwrap_err().to_string();
        assert!(message.contains("\"my shop\""), "{message}");
        let mode = PostgresConnection {
            sslmode: Some("always".into()),
            ..settings()
        };
        assert!(mode
            .validate()
            .unwrap_err()
            .to_string()
            .contains("TLS mode"));
        assert_eq!(settings().endpoint(), "postgres://ana@127.0.0.1:5432/shop");
    }
}

//! Which files of a linked folder a link reads: all its Parquet files, or those whose path
//! below the folder matches a glob the user gave (`2024-*.parquet`, `year=2024/**/*.parquet`).
//!
//! A pattern only ever chooses among the files below the folder the user picked: it is matched
//! against their paths below it, never expanded against the file system, and one that is
//! absolute or climbs out (`..`) is refused before anything is read.

use std::path::{Component, Path};

use super::TableError;

#[derive(Debug, Clone)]
pub struct FilePattern {
    text: String,
    glob: glob::Pattern,
}

/// `*` and `?` stay inside one folder name and `**` crosses folders, as in a shell (and as
/// DuckDB and pyarrow read a glob).
const MATCHING: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: !cfg!(windows),
    require_literal_separator: true,
    require_literal_leading_dot: true,
};

impl FilePattern {
    pub fn parse(text: &str) -> Result<FilePattern, TableError> {
        let refused = |why: &str| TableError::BadPattern {
            pattern: text.to_string(),
            why: why.to_string(),
        };
        let text = text.trim().replace('\\', "/");
        if text.is_empty() {
            return Err(refused(
                "it is empty; leave it out to link every Parquet file of the folder",
            ));
        }
        let path = Path::new(&text);
        if path.has_root() || path.is_absolute() || text.contains(':') {
            return Err(refused(
                "it names files below the folder you picked, so it cannot start at a drive or the root (write e.g. *.parquet or 2024/*.parquet)",
            ));
        }
        if path.components().any(|c| c == Component::ParentDir) {
            return Err(refused("it cannot reach above the folder you picked (..)"));
        }
        let glob = glob::Pattern::new(&text)
            .map_err(|e| refused(&format!("it is not a pattern: {}", e.msg)))?;
        Ok(FilePattern { text, glob })
    }

    /// An object key that may hold a glob (`sales/2024-*/*.parquet`) as the prefix to list
    /// (`sales/`, up to the first part with `*`, `?` or `[`) and the pattern of the keys below
    /// it; the key and no pattern when it holds none.
    pub fn split_key(key: &str) -> Result<(String, Option<FilePattern>), TableError> {
        let parts: Vec<&str> = key.split('/').collect();
        let Some(first) = parts.iter().position(|p| p.contains(['*', '?', '['])) else {
            return Ok((key.to_string(), None));
        };
        let prefix: String = parts[..first].iter().map(|p| format!("{p}/")).collect();
        let pattern = FilePattern::parse(&parts[first..].join("/"))?;
        Ok((prefix, Some(pattern)))
    }

    /// The error for a pattern that chose no file below `folder`.
    pub fn matched_nothing(&self, folder: &str) -> TableError {
        TableError::BadPattern {
            pattern: self.text.clone(),
            why: format!(
                "no Parquet, CSV or JSON file below {folder} matches it (.gz and .zst endings count: *.csv does not match a.csv.gz); * stays inside one folder, ** reaches into the folders below"
            ),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the file at `below` (its path below the linked folder) is one the link reads.
    pub fn matches(&self, below: &Path) -> bool {
        let parts: Vec<String> = below
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        self.glob.matches_with(&parts.join("/"), MATCHING)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, path: &str) -> bool {
        FilePattern::parse(pattern)
            .unwrap()
            .matches(Path::new(path))
    }

    #[test]
    fn a_star_stays_in_its_folder_and_two_cross_folders() {
        assert!(matches("*.parquet", "a.parquet"));
        assert!(!matches("*.parquet", "2024/a.parquet"));
        assert!(matches("**/*.parquet", "2024/01/a.parquet"));
        assert!(matches("**/*.parquet", "a.parquet"));
        assert!(matches(
            "year=202[34]/*.parquet",
            "year=2023/part-0.parquet"
        ));
        assert!(!matches(
            "year=202[34]/*.parquet",
            "year=2022/part-0.parquet"
        ));
        assert!(matches("sales-??.parquet", "sales-07.parquet"));
        assert!(!matches("sales-??.parquet", "sales-107.parquet"));
    }

    #[test]
    fn a_pattern_cannot_leave_the_folder_or_be_empty_or_broken() {
        for bad in [
            "",
            "  ",
            "/etc/*.parquet",
            "../other/*.parquet",
            "a/../../b.parquet",
            "C:/x/*.pq",
            "[ab.parquet",
        ] {
            let e = FilePattern::parse(bad).unwrap_err();
            assert!(matches!(e, TableError::BadPattern { .. }), "{bad}: {e}");
        }
        assert_eq!(
            FilePattern::parse(" 2024\\*.parquet ").unwrap().as_str(),
            "2024/*.parquet"
        );
        let (prefix, pattern) = FilePattern::split_key("sales/year=202[34]/*.parquet").unwrap();
        assert_eq!(
            (prefix.as_str(), pattern.unwrap().as_str()),
            ("sales/", "year=202[34]/*.parquet")
        );
        let (prefix, pattern) = FilePattern::split_key("*.parquet").unwrap();
        assert_eq!(
            (prefix.as_str(), pattern.unwrap().as_str()),
            ("", "*.parquet")
        );
        let (prefix, pattern) = FilePattern::split_key("sales/part-0.parquet").unwrap();
        assert_eq!(
            (prefix.as_str(), pattern.is_none()),
            ("sales/part-0.parquet", true)
        );
    }
}

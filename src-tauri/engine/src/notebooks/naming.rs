//! Titles and the folder names derived from them.

use super::NotebookError;
use crate::workspace::is_windows_reserved;

/// Longest title accepted, in characters.
pub const MAX_TITLE_CHARS: usize = 120;
/// Longest slug part of a folder name, in characters.
const MAX_SLUG_CHARS: usize = 48;
/// Every notebook folder ends with this.
pub const FOLDER_SUFFIX: &str = ".quire";

/// Trims a title and checks it can be shown and stored everywhere.
pub fn validate_title(raw: &str) -> Result<String, NotebookError> {
    let title = raw.trim();
    if title.is_empty() {
        return Err(NotebookError::EmptyTitle);
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(NotebookError::TitleTooLong);
    }
    if let Some(c) = title
        .chars()
        .find(|c| c.is_control() || "/\\:*?\"<>|".contains(*c))
    {
        return Err(NotebookError::ForbiddenCharacter(c));
    }
    Ok(title.to_string())
}

/// Two titles name the same notebook when they differ only in case.
pub fn same_title(a: &str, b: &str) -> bool {
    // Compared char by char: creating a notebook checks every title, so no allocation per title.
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// A folder-safe stem for a title: lowercase letters and digits joined by `-`, never a name
/// Windows reserves, never empty.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed: String = out.trim_matches('-').chars().take(MAX_SLUG_CHARS).collect();
    let trimmed = trimmed.trim_end_matches('-').to_string();
    if trimmed.is_empty() {
        return "notebook".into();
    }
    if is_windows_reserved(&trimmed) {
        return format!("{trimmed}-notebook");
    }
    trimmed
}

/// `<slug>.quire`, or `<slug>-2.quire`, `<slug>-3.quire`, ... the first one `taken` refuses.
pub fn free_folder_name(title: &str, taken: impl Fn(&str) -> bool) -> String {
    let stem = slug(title);
    let first = format!("{stem}{FOLDER_SUFFIX}");
    if !taken(&first) {
        return first;
    }
    (2..)
        .map(|n| format!("{stem}-{n}{FOLDER_SUFFIX}"))
        .find(|name| !taken(name))
        .expect("an unbounded range always finds a free name")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_checked() {
        assert_eq!(validate_title("  Sales 2026 ").unwrap(), "Sales 2026");
        assert!(matches!(
            validate_title("   "),
            Err(NotebookError::EmptyTitle)
        ));
        assert!(matches!(
            validate_title("a/b"),
            Err(NotebookError::ForbiddenCharacter('/'))
        ));
        assert!(matches!(
            validate_title("a\\b"),
            Err(NotebookError::ForbiddenCharacter('\\'))
        ));
        assert!(matches!(
            validate_title("tab\there"),
            Err(NotebookError::ForbiddenCharacter('\t'))
        ));
        let long = "x".repeat(MAX_TITLE_CHARS + 1);
        assert!(matches!(
            validate_title(&long),
            Err(NotebookError::TitleTooLong)
        ));
        assert_eq!(validate_title("Ünïcødé ✓").unwrap(), "Ünïcødé ✓");
    }

    #[test]
    fn slugs_are_folder_safe() {
        assert_eq!(slug("Sales 2026 — Q1!"), "sales-2026-q1");
        assert_eq!(slug("Ünïcødé"), "ünïcødé");
        assert_eq!(slug("..."), "notebook");
        assert_eq!(slug("CON"), "con-notebook");
        assert_eq!(slug("com1"), "com1-notebook");
        assert_eq!(slug("Com10"), "com10");
        assert!(slug(&"ab ".repeat(60)).chars().count() <= MAX_SLUG_CHARS);
        assert!(!slug(&"ab ".repeat(60)).ends_with('-'));
    }

    #[test]
    fn titles_match_ignoring_case() {
        assert!(same_title("Trips", "tRIPS"));
        assert!(same_title("Ärger", "ärger"));
        assert!(!same_title("Trips", "Trip"));
    }

    #[test]
    fn free_names_count_up() {
        let taken = ["trips.quire", "trips-2.quire"];
        assert_eq!(
            free_folder_name("Trips", |n| taken.contains(&n)),
            "trips-3.quire"
        );
        assert_eq!(
            free_folder_name("Other", |n| taken.contains(&n)),
            "other.quire"
        );
    }
}

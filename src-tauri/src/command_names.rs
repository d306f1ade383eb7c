// Shared by build.rs (which turns each name into an `allow-<name>` permission) and by the shell
// (whose test checks the list equals the registered commands), so neither can drift.
pub const COMMANDS: &[&str] = &["app_info", "create_notebook", "list_notebooks", "metrics"];

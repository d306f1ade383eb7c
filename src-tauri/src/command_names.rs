// Shared by build.rs (which turns each name into an `allow-<name>` permission) and by the shell
// (whose test checks the list equals the registered commands), so neither can drift.
pub const COMMANDS: &[&str] = &[
    "add_cell",
    "app_info",
    "check_disk",
    "create_notebook",
    "delete_cell",
    "delete_notebook",
    "duplicate_notebook",
    "flush_all",
    "flush_notebook",
    "get_notebook",
    "list_notebooks",
    "metrics",
    "move_cell",
    "rename_notebook",
    "resolve_disk_change",
    "run_cell",
    "set_cell_kind",
    "set_notebook_mode",
    "update_cell",
];

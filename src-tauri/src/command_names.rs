// Shared by build.rs (which turns each name into an `allow-<name>` permission) and by the shell
// (whose test checks the list equals the registered commands), so neither can drift.
pub const COMMANDS: &[&str] = &[
    "add_cell",
    "app_info",
    "cancel_job",
    "check_disk",
    "create_notebook",
    "delete_cell",
    "delete_notebook",
    "duplicate_notebook",
    "edit_cells",
    "export_query",
    "export_table",
    "flush_all",
    "flush_notebook",
    "get_notebook",
    "import_file",
    "list_notebooks",
    "list_tables",
    "metrics",
    "move_cell",
    "pick_export_path",
    "pick_import_file",
    "preview_import",
    "queue_stats",
    "rename_notebook",
    "resolve_disk_change",
    "restore_generation",
    "retry_snapshot",
    "run_cell",
    "save_query_as_table",
    "set_cell_kind",
    "set_notebook_mode",
    "table_history",
    "table_page",
    "table_save_status",
    "update_cell",
    "view_rows",
];

// Commands registered outside the generated bindings (raw bytes, see commands::table_page).
#[allow(dead_code)] // used by the shell, not by build.rs
pub const RAW_COMMANDS: &[&str] = &["table_page"];

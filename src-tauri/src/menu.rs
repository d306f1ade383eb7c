//! The app menu: Save everything now, Quit (Quire's own item, so Cmd+Q on macOS takes the same guarded path
//! as every other way out, see `exit.rs`) and Help > Open log folder.

use std::path::Path;

use tauri::menu::{Menu, MenuBuilder, MenuEvent, MenuItemBuilder, SubmenuBuilder};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_opener::OpenerExt;

use crate::ipc_error::IpcError;
use crate::state::AppState;

pub const FLUSH: &str = "flush";
pub const QUIT: &str = "quit";
pub const OPEN_LOGS: &str = "open-logs";

pub fn build<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<Menu<R>> {
    let flush = MenuItemBuilder::with_id(FLUSH, "Save everything now").build(app)?;
    let quit = MenuItemBuilder::with_id(QUIT, "Quit Quire")
        .accelerator("CmdOrCtrl+Q")
        .build(app)?;
    let file = SubmenuBuilder::new(app, "File")
        .item(&flush)
        .separator()
        .item(&quit)
        .build()?;
    let logs = MenuItemBuilder::with_id(OPEN_LOGS, "Open log folder").build(app)?;
    let help = SubmenuBuilder::new(app, "Help").item(&logs).build()?;
    let mut menu = MenuBuilder::new(app);
    #[cfg(target_os = "macos")]
    {
        // macOS shows the first submenu under the app's name; keep the standard items there.
        let app_menu = SubmenuBuilder::new(app, "Quire")
            .about(None)
            .separator()
            .hide()
            .hide_others()
            .show_all()
            .build()?;
        menu = menu.item(&app_menu);
    }
    menu = menu.item(&file);
    #[cfg(target_os = "macos")]
    {
        // WKWebView gets copy and paste only through an Edit menu; elsewhere the webview has
        // its own shortcuts and a menu accelerator would only compete with the grid's keys.
        let edit = SubmenuBuilder::new(app, "Edit")
            .undo()
            .redo()
            .separator()
            .cut()
            .copy()
            .paste()
            .select_all()
            .build()?;
        menu = menu.item(&edit);
    }
    menu = menu.item(&help);
    menu.build()
}

pub fn on_event(app: &AppHandle, event: MenuEvent) {
    match event.id().as_ref() {
        QUIT => crate::exit::request_quit(app, "menu"),
        FLUSH => {
            let app = app.clone();
            // The engine's flush blocks until durable; the menu thread must not.
            std::thread::spawn(move || {
                if let Some(state) = app.try_state::<AppState>() {
                    let report = state.engine.flush_all();
                    log::info!("flush from the menu: {report:?}");
                }
            });
        }
        OPEN_LOGS => {
            if let Some(state) = app.try_state::<AppState>() {
                if let Err(e) = open_log_folder(app, &state.dirs.logs) {
                    log::warn!("{}", e.message);
                }
            }
        }
        _ => {}
    }
}

/// Shows the log folder in the platform's file manager.
pub fn open_log_folder<R: Runtime>(app: &AppHandle<R>, dir: &Path) -> Result<(), IpcError> {
    log::logger().flush();
    app.opener()
        .open_path(dir.to_string_lossy(), None::<&str>)
        .map_err(|e| IpcError {
            code: quire_engine::ErrorCode::Io,
            message: format!("Could not open the log folder {}: {e}", dir.display()),
            position: None,
        })
}

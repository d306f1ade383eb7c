//! Quire's Tauri shell: windows, plugins, typed commands, the event bridge and the exit paths.
//!
//! The shell owns no data logic: each command parses its arguments, calls the engine
//! (`quire_engine`) and maps the error to [`ipc_error::IpcError`]. Start with [`run`]; the
//! commands are in [`commands`], the generated TypeScript comes from [`bindings`].
//!
//! Deliberately absent: no SQL, no file formats, no disk writes of user data (the engine's
//! `durable` module does those).

pub mod bindings;
pub mod commands;
pub mod dirs;
pub mod events;
pub mod exit;
pub mod files;
pub mod ipc_error;
pub mod launch;
mod logging;
pub mod menu;
mod navigation;
pub mod recent;
pub mod state;

include!("command_names.rs");

use std::sync::Arc;

use quire_engine::{Config, Engine, EnginePaths};
use tauri::Manager;
use tauri_plugin_fs::FsExt;

use crate::ipc_error::IpcError;
use crate::state::AppState;

/// Builds and runs the app until the last window closes or it is asked to quit.
pub fn run() {
    let specta = bindings::builder();
    let typed = specta.invoke_handler();
    let raw = raw_handler();
    // `table_page` returns raw Arrow bytes and lives outside the generated bindings.
    let invoke_handler =
        move |invoke: tauri::ipc::Invoke<tauri::Wry>| match invoke.message.command() {
            "table_page" => raw(invoke),
            _ => typed(invoke),
        };
    let app = tauri::Builder::default()
        // First: a second launch must hand over its arguments and exit before it starts
        // anything else (it would find the workspace locked).
        .plugin(tauri_plugin_single_instance::init(|app, args, cwd| {
            launch::second_instance(app, args, cwd)
        }))
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_fs::init())
        // Used from Rust only (Open log folder); the webview is granted none of its commands.
        .plugin(tauri_plugin_opener::init())
        .plugin(navigation::guard())
        .menu(menu::build)
        .on_menu_event(menu::on_event)
        .invoke_handler(invoke_handler)
        .setup(move |app| {
            specta.mount_events(app);
            setup(app)?;
            Ok(())
        })
        .on_window_event(exit::on_window_event)
        .build(tauri::generate_context!())
        .expect("the Tauri runtime could not start");
    app.run(exit::on_run_event);
}

fn raw_handler() -> impl Fn(tauri::ipc::Invoke<tauri::Wry>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![commands::table_page]
}

fn setup(app: &mut tauri::App) -> Result<(), Box<dyn std::error::Error>> {
    let dirs = dirs::AppDirs::resolve(app.handle())?;
    let mut warnings = Vec::new();
    let config = Config::load(&dirs.config).unwrap_or_else(|e| {
        // Start with defaults rather than not at all, and tell the user why.
        warnings.push(IpcError::from_coded(&e));
        Config::default()
    });
    app.handle().plugin(logging::plugin(&config, &dirs.logs))?;
    log::set_max_level(config.log_level());
    for w in &warnings {
        log::warn!("{}", w.message);
    }
    for name in Config::ignored_env() {
        log::warn!("{name} names no Quire setting and is ignored");
    }

    let sink = Arc::new(events::TauriSink::new(app.handle().clone()));
    let paths = EnginePaths {
        data_dir: dirs.data.clone(),
        config_dir: Some(dirs.config.clone()),
    };
    let engine = match Engine::open(config, paths, sink) {
        Ok(engine) => engine,
        Err(e) => {
            // No window: nothing may run against a workspace this process does not own.
            refuse_to_start(app.handle(), &IpcError::from_coded(&e));
            return Ok(());
        }
    };
    // Debug builds only: hold every snapshot's row groups so e2e tests can act while one runs.
    #[cfg(debug_assertions)]
    if let Some(ms) = std::env::var("QUIRE_TEST_SLOW_SNAPSHOT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        log::warn!("test mode: every snapshot row group waits {ms} ms");
        engine
            .snapshots()
            .faults()
            .arm(quire_engine::snapshots::Fault::SlowRowGroups(ms));
    }
    // The webview may watch the workspace for changes made outside Quire, and nothing else.
    app.fs_scope().allow_directory(engine.workspace(), true)?;
    log::info!(
        "Quire {} started: workspace {}, data {}, logs {}",
        env!("CARGO_PKG_VERSION"),
        engine.workspace().display(),
        dirs.data.display(),
        dirs.logs.display()
    );
    let args: Vec<String> = std::env::args().collect();
    let cwd = std::env::current_dir().unwrap_or_default();
    let picked = files::PickedFiles::default();
    let dirs_data = dirs.data.clone();
    let launch = launch::request(&engine, &picked, &args, &cwd);
    app.manage(AppState {
        engine,
        dirs,
        launch,
        startup_warnings: warnings,
        picked,
        recent: recent::RecentFiles::open(&dirs_data),
        jobs: Default::default(),
    });
    exit::listen_for_signals(app.handle().clone());
    // Work the last run left pending (saves, imports, exports) runs again in the background.
    let handle = app.handle().clone();
    std::thread::Builder::new()
        .name("quire-resume".into())
        .spawn(move || handle.state::<AppState>().engine.resume())?;
    // The main window is declared in tauri.conf.json with `create: false` and opened only now,
    // once the engine (and its workspace lock) is ready for the commands it will send.
    let window = app
        .config()
        .app
        .windows
        .first()
        .ok_or("tauri.conf.json declares no window")?
        .clone();
    tauri::WebviewWindowBuilder::from_config(app.handle(), &window)?.build()?;
    Ok(())
}

/// Tells the user why Quire cannot start (another Quire has the workspace, the folder cannot be
/// opened) and exits when they dismiss the message.
fn refuse_to_start(app: &tauri::AppHandle, error: &IpcError) {
    use tauri_plugin_dialog::{DialogExt, MessageDialogKind};
    log::error!("Quire cannot start: {} ({:?})", error.message, error.code);
    eprintln!("Quire cannot start: {}", error.message);
    let handle = app.clone();
    app.dialog()
        .message(format!("{}.\n\nQuire will close.", error.message))
        .title("Quire cannot open its workspace")
        .kind(MessageDialogKind::Error)
        .show(move |_| handle.exit(1));
}

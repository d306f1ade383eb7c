//! Window and exit handling: every way out of the app ends in one engine shutdown.
//!
//! Today nothing is ever pending longer than a command, so a close needs no prompt; the close
//! prompt that holds a window while saves run arrives with the close-and-quit issue and hooks
//! into [`on_window_event`].

use std::sync::atomic::{AtomicBool, Ordering};

use tauri::{AppHandle, Manager, RunEvent, Window, WindowEvent};

use crate::state::AppState;

static SHUT_DOWN: AtomicBool = AtomicBool::new(false);

pub fn on_window_event(window: &Window, event: &WindowEvent) {
    match event {
        WindowEvent::CloseRequested { .. } => log::info!("window {} closing", window.label()),
        WindowEvent::DragDrop(tauri::DragDropEvent::Drop { paths, .. }) => {
            crate::files::dropped(window.app_handle(), paths.clone());
        }
        _ => {}
    }
}

pub fn on_run_event(app: &AppHandle, event: RunEvent) {
    if let RunEvent::Exit = event {
        shutdown(app, "exit");
    }
}

/// Flushes the engine once, whichever exit path gets here first.
fn shutdown(app: &AppHandle, why: &str) {
    if SHUT_DOWN.swap(true, Ordering::SeqCst) {
        return;
    }
    if let Some(state) = app.try_state::<AppState>() {
        let report = state.engine.shutdown();
        log::info!(
            "shut down ({why}): {} notebooks written, {} table snapshots written",
            report.notebooks.saved,
            report.tables.saved
        );
        for (table, message) in &report.tables.failed {
            log::error!("at shutdown, table {table} could not be saved: {message}");
        }
        for f in &report.notebooks.failures {
            log::error!(
                "at shutdown, notebook {} ({:?}) could not be saved: {}",
                f.notebook,
                f.title,
                f.message
            );
        }
    }
    log::logger().flush();
}

/// SIGINT and SIGTERM flush and exit with code 0; a second signal exits at once.
pub fn listen_for_signals(app: AppHandle) {
    #[cfg(unix)]
    tauri::async_runtime::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            log::error!("could not listen for SIGTERM/SIGINT");
            return;
        };
        let name = tokio::select! { _ = term.recv() => "SIGTERM", _ = int.recv() => "SIGINT" };
        log::info!("{name} received: flushing and exiting");
        let handle = app.clone();
        tauri::async_runtime::spawn(async move {
            tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
            log::warn!("second signal: exiting at once");
            std::process::exit(130);
        });
        shutdown(&handle, name);
        app.exit(0);
    });
    #[cfg(not(unix))]
    let _ = app;
}

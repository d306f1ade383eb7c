//! Window and exit handling: every way out of the app ends in one engine shutdown, and none of
//! them drops work in flight without asking.
//!
//! - Closing the window with nothing pending closes it at once (no question).
//! - With notebook writes, snapshots, imports or exports pending, the close is held
//!   (`prevent_close`, synchronously) and the UI gets a [`CloseRequested`] event; its dialog
//!   answers with the `resolve_close` command: wait (settle, then close), close without waiting
//!   (skip unstarted snapshots, never a torn file), or cancel.
//! - Quit (Quire's menu item, also Cmd+Q on macOS where `ExitRequested` never comes, tauri#9198)
//!   takes the same path.
//! - `ExitRequested` from anything else (the OS logging out): held once, everything is written,
//!   then the exit passes; the second request is let through, so there is no exit loop.
//! - SIGINT / SIGTERM: flush, log, exit 0; a second signal exits at once.
//! - `RunEvent::Exit`: the last, bounded flush (`Engine::shutdown`), whichever path got here.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use quire_engine::PendingWork;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager, RunEvent, Window, WindowEvent};
use tauri_specta::Event;

use crate::ipc_error::IpcError;
use crate::state::AppState;

static SHUT_DOWN: AtomicBool = AtomicBool::new(false);
/// The user answered the prompt (or nothing was pending): the next close or exit passes.
static APPROVED: AtomicBool = AtomicBool::new(false);
/// A prompt is showing; GTK may deliver `CloseRequested` twice, which must not prompt twice.
static PROMPTING: AtomicBool = AtomicBool::new(false);
/// How the app ends: 0 flush everything, 1 without waiting for snapshots.
static MODE: AtomicU8 = AtomicU8::new(0);

/// Why the UI is asked: a window close or a quit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    Window,
    Quit,
}

/// Sent to the UI when a close or quit was held because work is pending.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct CloseRequested {
    pub reason: CloseReason,
    pub pending: PendingWork,
}

/// The user's answer to the close prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum CloseChoice {
    /// Let running work finish, write everything, then close.
    Wait,
    /// Close now: unstarted snapshots are skipped (their changes stay in the edit journal).
    DontWait,
    /// Keep the window open.
    Cancel,
}

pub fn on_window_event(window: &Window, event: &WindowEvent) {
    match event {
        WindowEvent::CloseRequested { api, .. } => {
            if APPROVED.load(Ordering::SeqCst) {
                log::info!("window {} closing", window.label());
                return;
            }
            let Some(pending) = pending(window.app_handle()) else {
                return;
            };
            // Synchronously, before this handler returns: the close is held.
            api.prevent_close();
            prompt(window.app_handle(), CloseReason::Window, pending);
        }
        WindowEvent::DragDrop(tauri::DragDropEvent::Drop { paths, .. }) => {
            crate::files::dropped(window.app_handle(), paths.clone());
        }
        _ => {}
    }
}

pub fn on_run_event(app: &AppHandle, event: RunEvent) {
    match event {
        RunEvent::ExitRequested { api, code, .. } => {
            // `app.exit` after the prompt, or a second request after the flush below: pass.
            if APPROVED.load(Ordering::SeqCst) || code.is_some() {
                return;
            }
            let Some(pending) = pending(app) else {
                return;
            };
            api.prevent_exit();
            log::info!(
                "exit requested with work pending ({} notebooks, {} tables, {} tasks): writing it first",
                pending.notebooks.len(),
                pending.tables.len(),
                pending.tasks.len()
            );
            let app = app.clone();
            std::thread::spawn(move || {
                if let Some(state) = app.try_state::<AppState>() {
                    state.engine.settle();
                }
                APPROVED.store(true, Ordering::SeqCst);
                app.exit(0);
            });
        }
        RunEvent::Exit => shutdown(app, "exit"),
        _ => {}
    }
}

/// Quit from the menu (or Cmd+Q): prompt when work is pending, else exit now.
pub fn request_quit(app: &AppHandle, why: &str) {
    log::info!("quit requested ({why})");
    if APPROVED.load(Ordering::SeqCst) {
        app.exit(0);
        return;
    }
    match pending(app) {
        None => {
            APPROVED.store(true, Ordering::SeqCst);
            app.exit(0);
        }
        Some(pending) => {
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.set_focus();
            }
            prompt(app, CloseReason::Quit, pending);
        }
    }
}

/// What is pending, or `None` when nothing is (or the engine never started).
fn pending(app: &AppHandle) -> Option<PendingWork> {
    let state = app.try_state::<AppState>()?;
    let work = state.engine.pending_work();
    (!work.is_empty()).then_some(work)
}

fn prompt(app: &AppHandle, reason: CloseReason, pending: PendingWork) {
    if PROMPTING.swap(true, Ordering::SeqCst) {
        return;
    }
    log::info!(
        "close held ({reason:?}): {} notebooks, {} tables, {} tasks pending",
        pending.notebooks.len(),
        pending.tables.len(),
        pending.tasks.len()
    );
    if let Err(e) = (CloseRequested { reason, pending }).emit(app) {
        // Without a page to ask, waiting is the choice that loses nothing.
        log::warn!("could not show the close prompt ({e}); writing everything, then closing");
        let app = app.clone();
        std::thread::spawn(move || finish(&app, reason, CloseChoice::Wait));
    }
}

/// Carries out the user's answer. Returns once the work is done (wait) or the close started.
pub fn resolve(app: &AppHandle, reason: CloseReason, choice: CloseChoice) -> Result<(), IpcError> {
    if choice == CloseChoice::Cancel {
        log::info!("close cancelled by the user");
        PROMPTING.store(false, Ordering::SeqCst);
        return Ok(());
    }
    finish(app, reason, choice)
}

fn finish(app: &AppHandle, reason: CloseReason, choice: CloseChoice) -> Result<(), IpcError> {
    if let Some(state) = app.try_state::<AppState>() {
        if choice == CloseChoice::Wait {
            let report = state.engine.settle();
            let failed = report.notebooks.failures.len() + report.tables.failed.len();
            if failed > 0 || report.tables.timed_out {
                // Stay open: the dialog shows why, and the user may still close without waiting.
                let what = report
                    .notebooks
                    .failures
                    .iter()
                    .map(|f| format!("notebook {:?}: {}", f.title, f.message))
                    .chain(
                        report
                            .tables
                            .failed
                            .iter()
                            .map(|(t, m)| format!("table {t}: {m}")),
                    )
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(IpcError {
                    code: quire_engine::ErrorCode::Io,
                    message: format!("Some work could not be saved, so Quire stayed open: {what}"),
                    position: None,
                });
            }
        } else {
            MODE.store(1, Ordering::SeqCst);
            log::warn!("closing without waiting for pending snapshots (the edit journal keeps their changes)");
        }
    }
    APPROVED.store(true, Ordering::SeqCst);
    match reason {
        CloseReason::Quit => app.exit(0),
        CloseReason::Window => {
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.close();
            }
        }
    }
    Ok(())
}

/// Flushes the engine once, whichever exit path gets here first.
fn shutdown(app: &AppHandle, why: &str) {
    if SHUT_DOWN.swap(true, Ordering::SeqCst) {
        return;
    }
    if let Some(state) = app.try_state::<AppState>() {
        let report = if MODE.load(Ordering::SeqCst) == 1 {
            state.engine.shutdown_without_waiting()
        } else {
            state.engine.shutdown()
        };
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
            log::logger().flush();
            std::process::exit(130);
        });
        // The flush blocks: run it off the async runtime so the second-signal listener runs.
        let _ = tauri::async_runtime::spawn_blocking(move || shutdown(&handle, name)).await;
        APPROVED.store(true, Ordering::SeqCst);
        log::info!("exiting with code 0 after {name}");
        log::logger().flush();
        app.exit(0);
    });
    #[cfg(windows)]
    windows_console::listen(app);
    #[cfg(not(any(unix, windows)))]
    let _ = app;
}

/// The Windows console close / Ctrl+C / Ctrl+Break / shutdown events: flush, then exit.
#[cfg(windows)]
mod windows_console {
    use tauri::AppHandle;

    pub fn listen(app: AppHandle) {
        tauri::async_runtime::spawn(async move {
            use tokio::signal::windows::{ctrl_break, ctrl_c, ctrl_close, ctrl_shutdown};
            let (Ok(mut c), Ok(mut brk), Ok(mut close), Ok(mut shut)) =
                (ctrl_c(), ctrl_break(), ctrl_close(), ctrl_shutdown())
            else {
                log::error!("could not listen for console events");
                return;
            };
            let name = tokio::select! {
                _ = c.recv() => "Ctrl+C",
                _ = brk.recv() => "Ctrl+Break",
                _ = close.recv() => "console close",
                _ = shut.recv() => "system shutdown",
            };
            log::info!("{name}: flushing and exiting");
            let handle = app.clone();
            let _ =
                tauri::async_runtime::spawn_blocking(move || super::shutdown(&handle, name)).await;
            app.exit(0);
        });
    }
}

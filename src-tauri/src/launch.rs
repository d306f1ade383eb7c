//! What Quire is asked to open from its command line, at start or by a second launch (the
//! single-instance plugin hands the second process's arguments to the running one, which
//! focuses its window): a notebook folder of the workspace (`Sales.quire` or its
//! `notebook.json`) is opened, a data file goes to the import dialog (and counts as chosen by
//! the user, like a file dropped on the window).

use std::path::{Path, PathBuf};

use quire_engine::notebooks::{NotebookId, NotebookSummary};
use serde::{Deserialize, Serialize};

/// A request to open things, for the page. Also part of `AppInfo` for the first launch.
#[derive(
    Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type, tauri_specta::Event,
)]
pub struct OpenRequested {
    /// The notebook to show.
    pub notebook: Option<NotebookId>,
    /// Data files to import, already allowed like picked files.
    pub files: Vec<PathBuf>,
    /// What could not be opened, in words for the user.
    pub problems: Vec<String>,
}

/// The paths among a process's arguments (the first is the program), made absolute against
/// the directory it was started in. Flags are not paths.
pub fn paths_of(args: &[String], cwd: &Path) -> Vec<PathBuf> {
    args.iter()
        .skip(1)
        .filter(|a| !a.is_empty() && !a.starts_with('-'))
        .map(|a| cwd.join(a))
        .collect()
}

/// Sorts `paths` into a notebook to show, files to import and problems.
pub fn classify(
    paths: &[PathBuf],
    workspace: &Path,
    notebooks: &[NotebookSummary],
) -> OpenRequested {
    let mut request = OpenRequested::default();
    let workspace = workspace.canonicalize().unwrap_or(workspace.to_path_buf());
    for path in paths {
        let Ok(real) = path.canonicalize() else {
            request
                .problems
                .push(format!("{} does not exist", path.display()));
            continue;
        };
        let folder = if real.is_dir() {
            Some(real.clone())
        } else if real.file_name().is_some_and(|n| n == "notebook.json") {
            real.parent().map(Path::to_path_buf)
        } else {
            None
        };
        match folder {
            Some(folder) => {
                let name = folder.file_name().map(|n| n.to_string_lossy().into_owned());
                let inside = folder.parent() == Some(workspace.as_path());
                let found = notebooks
                    .iter()
                    .find(|n| inside && n.folder.is_some() && n.folder == name);
                match found {
                    Some(n) => request.notebook = Some(n.id),
                    None if inside => request.problems.push(format!(
                        "{} is not a notebook Quire could read",
                        folder.display()
                    )),
                    None => request.problems.push(format!(
                        "{} is outside your workspace ({}): Quire opens the notebooks in its \
                         workspace, so copy the folder there first",
                        folder.display(),
                        workspace.display()
                    )),
                }
            }
            None => request.files.push(real),
        }
    }
    request
}

/// Classifies a process's arguments against the engine and allows the data files; `None`
/// when they name no path. Used at start and for a second launch.
pub fn request(
    engine: &quire_engine::Engine,
    picked: &crate::files::PickedFiles,
    args: &[String],
    cwd: &Path,
) -> Option<OpenRequested> {
    let paths = paths_of(args, cwd);
    if paths.is_empty() {
        return None;
    }
    let request = classify(&paths, engine.workspace(), &engine.list_notebooks());
    for file in &request.files {
        picked.allow(file, crate::files::Use::Read);
    }
    log::info!(
        "asked to open {} path(s): notebook {:?}, {} file(s), {} problem(s)",
        paths.len(),
        request.notebook,
        request.files.len(),
        request.problems.len()
    );
    Some(request)
}

/// A second launch: bring the window forward and hand over what it was asked to open.
pub fn second_instance(app: &tauri::AppHandle, args: Vec<String>, cwd: String) {
    use tauri::Manager;
    use tauri_specta::Event;
    log::info!("Quire was launched again: focusing the open window");
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
    let Some(state) = app.try_state::<crate::state::AppState>() else {
        return;
    };
    if let Some(request) = request(&state.engine, &state.picked, &args, Path::new(&cwd)) {
        if let Err(e) = request.emit(app) {
            log::warn!("could not hand the page what to open: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quire_engine::notebooks::SaveState;

    fn summary(folder: &str) -> NotebookSummary {
        NotebookSummary {
            id: NotebookId(uuid::Uuid::new_v4()),
            title: folder.trim_end_matches(".quire").into(),
            cell_count: 0,
            on_disk: true,
            folder: Some(folder.into()),
            status: SaveState::Saved,
        }
    }

    #[test]
    fn arguments_become_absolute_paths_and_flags_are_skipped() {
        let args = ["quire", "sales.csv", "--verbose", "/tmp/x.quire", ""].map(String::from);
        assert_eq!(
            paths_of(&args, Path::new("/home/ada")),
            [
                PathBuf::from("/home/ada/sales.csv"),
                PathBuf::from("/tmp/x.quire")
            ]
        );
        assert!(paths_of(&["quire".into()], Path::new("/")).is_empty());
    }

    #[test]
    fn notebooks_of_the_workspace_open_and_data_files_go_to_import() {
        let root = tempfile::tempdir().unwrap();
        let workspace = root.path().join("workspace");
        let sales = workspace.join("Sales.quire");
        std::fs::create_dir_all(&sales).unwrap();
        std::fs::write(sales.join("notebook.json"), "{}").unwrap();
        let elsewhere = root.path().join("Elsewhere.quire");
        std::fs::create_dir_all(&elsewhere).unwrap();
        let data = root.path().join("trips.csv");
        std::fs::write(&data, "a\n1\n").unwrap();
        let notebooks = [summary("Other.quire"), summary("Sales.quire")];

        let by_folder = classify(std::slice::from_ref(&sales), &workspace, &notebooks);
        assert_eq!(by_folder.notebook, Some(notebooks[1].id));
        let by_file = classify(&[sales.join("notebook.json")], &workspace, &notebooks);
        assert_eq!(by_file.notebook, Some(notebooks[1].id));

        let mixed = classify(
            &[data.clone(), elsewhere, root.path().join("gone.csv")],
            &workspace,
            &notebooks,
        );
        assert_eq!(mixed.notebook, None);
        assert_eq!(mixed.files, [data.canonicalize().unwrap()]);
        assert_eq!(mixed.problems.len(), 2, "{:?}", mixed.problems);
        assert!(mixed.problems[0].contains("outside your workspace"));
        assert!(mixed.problems[1].contains("does not exist"));
    }
}

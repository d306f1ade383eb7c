//! Python venvs for tests that compare with, or run, real Python tools (pandas, moto): made
//! once per target dir from pinned requirements, remade when they change.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `$CARGO_TARGET_DIR/<name>`, else beside the target dir this test binary was built in.
pub fn dir(name: &str) -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        // <target>/debug/deps/<test>-<hash>
        _ => std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
            .unwrap_or_else(std::env::temp_dir),
    };
    target.join(name)
}

pub fn python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// The venv `venv` with `requirements` installed, made (or remade, when they changed) in a
/// sibling folder and renamed into place, so a concurrent run never sees half an install.
/// Returns its interpreter.
pub fn ensure(venv: &Path, requirements: &Path) -> PathBuf {
    let wanted = std::fs::read_to_string(requirements).unwrap();
    let stamp = |dir: &Path| dir.join("quire-requirements.txt");
    // The interpreter it links to may have gone (a Python upgraded): then it is made anew.
    if std::fs::read_to_string(stamp(venv)).is_ok_and(|s| s == wanted) && python(venv).exists() {
        return python(venv);
    }
    let parent = venv.parent().unwrap();
    let name = venv.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::create_dir_all(parent).unwrap();
    let building = parent.join(format!("{name}.building-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&building);
    let system_python = std::env::var_os("QUIRE_PYTHON")
        .unwrap_or_else(|| if cfg!(windows) { "python" } else { "python3" }.into());
    run(Command::new(&system_python)
        .args(["-m", "venv"])
        .arg(&building));
    run(Command::new(python(&building))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            "-r",
        ])
        .arg(requirements));
    std::fs::write(stamp(&building), &wanted).unwrap();
    // Move an outdated venv aside first; if another run got there first, use its venv.
    if venv.exists() {
        let old = parent.join(format!("{name}.old-{}", std::process::id()));
        if std::fs::rename(venv, &old).is_ok() {
            let _ = std::fs::remove_dir_all(&old);
        }
    }
    if std::fs::rename(&building, venv).is_err() {
        let _ = std::fs::remove_dir_all(&building);
    }
    python(venv)
}

pub fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?} cannot start: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

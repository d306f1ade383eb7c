//! Quire's benchmark runner: `cargo run --release -p quire-bench -- <suite>... [--json PATH]`.
//!
//! Each suite measures Quire and a baseline in the same run and reports both with their ratio,
//! so results compare across machines without fixed times. A suite is a function in
//! [`suites`] that returns [`report::Measure`]s; adding one is adding it to `suites::ALL`.

mod alloc;
mod report;
mod stats;
mod suites;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str =
    "usage: quire-bench <suite>... [--json PATH]   (suites: all, or one of the list below)";

fn main() -> ExitCode {
    let mut names = Vec::new();
    let mut json: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => match args.next() {
                Some(p) => json = Some(PathBuf::from(p)),
                None => return usage("--json needs a path"),
            },
            "-h" | "--help" => return usage(""),
            s if s.starts_with('-') => return usage(&format!("unknown option {s}")),
            _ => names.push(arg),
        }
    }
    if names.is_empty() {
        return usage("name at least one suite");
    }
    let selected = match suites::select(&names) {
        Ok(s) => s,
        Err(unknown) => return usage(&format!("unknown suite {unknown}")),
    };

    eprintln!("allocator: {}", alloc::name());
    let mut measures = Vec::new();
    for suite in selected {
        eprintln!("running suite {} ...", suite.name);
        match (suite.run)() {
            Ok(found) => measures.extend(found),
            Err(e) => {
                eprintln!("suite {} failed: {e}", suite.name);
                return ExitCode::FAILURE;
            }
        }
    }
    print!("{}", report::table(&measures));
    if let Some(path) = json {
        if let Err(e) = std::fs::write(&path, report::json_lines(&measures)) {
            eprintln!("could not write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

fn usage(problem: &str) -> ExitCode {
    if !problem.is_empty() {
        eprintln!("{problem}");
    }
    eprintln!("{USAGE}");
    for s in suites::ALL {
        eprintln!("  {:<10} {}", s.name, s.about);
    }
    ExitCode::from(2)
}

//! `quire-cli`: Quire's engine for scripts. It opens the workspace the same way the app does
//! (taking its single-writer lock), so what it imports the app opens, and it never runs while
//! the app has the workspace open.
//!
//! Exit codes: 0 success, 2 bad usage, 1 an error, printed on stderr as `error[<code>]: <message>`
//! with the engine's stable error code.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use quire_engine::config::{NotebookConfig, NotebookMode};
use quire_engine::events::NullSink;
use quire_engine::metrics::Metrics;
use quire_engine::notebooks::NotebookError;
use quire_engine::tables::import::ImportFormat;
use quire_engine::{Config, Engine, EnginePaths, Error, ErrorCode, HasCode, ImportRequest};
use tokio_util::sync::CancellationToken;

/// The identifier in tauri.conf.json: the app's data dir is `<platform data dir>/<identifier>`.
const APP_IDENTIFIER: &str = "app.quire.desktop";

#[derive(Parser)]
#[command(
    name = "quire-cli",
    version,
    about = "Quire's notebooks and tables from the command line"
)]
struct Cli {
    /// The workspace folder (default: the app's workspace, or $QUIRE_WORKSPACE).
    #[arg(long, global = true)]
    workspace: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the notebooks.
    Notebooks,
    /// Import a CSV, Parquet or JSON file as a table (creating the notebook if needed).
    Import {
        file: PathBuf,
        /// The notebook's title or id.
        #[arg(long)]
        notebook: String,
        /// The table name (default: made from the file name).
        #[arg(long)]
        table: Option<String>,
        /// The file's format (default: from its extension).
        #[arg(long, value_enum)]
        format: Option<FileFormat>,
        /// Convert a CSV or JSON file into Parquet inside the notebook and link it (for files
        /// too big to hold in memory) instead of copying it in.
        #[arg(long)]
        convert: bool,
    },
    /// List a notebook's tables.
    Tables {
        #[arg(long)]
        notebook: String,
    },
    /// Run SQL against a notebook's tables.
    Query {
        #[arg(long)]
        notebook: String,
        sql: String,
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
        /// Write the result here (atomically) instead of to stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write a table to a .csv or .parquet file.
    Export {
        #[arg(long)]
        notebook: String,
        #[arg(long)]
        table: String,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum FileFormat {
    Csv,
    Parquet,
    Json,
    /// A spreadsheet's first sheet (.xlsx, .xls, .ods).
    Excel,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    Table,
    Csv,
    Json,
}

/// The app's allocator (see its `main.rs`), so scripts run the engine as the app does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse(); // exits with 2 on bad usage
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The engine carries the place apart from the message (the app marks it in the
            // editor); a terminal needs it in words.
            let place = match e.position() {
                Some(p) if p.column > 0 => format!(" (line {}, column {})", p.line, p.column),
                Some(p) => format!(" (line {})", p.line),
                None => String::new(),
            };
            eprintln!("error[{}]: {e}{place}", code_name(e.code()));
            ExitCode::from(1)
        }
    }
}

fn code_name(code: ErrorCode) -> String {
    // Exactly the spelling the app's UI receives.
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "internal".into())
}

/// The app's data and config dirs, as the shell resolves them: under `QUIRE_DATA_DIR` when it is
/// set, else the platform's.
fn app_dirs() -> (PathBuf, PathBuf) {
    if let Some(root) = std::env::var_os("QUIRE_DATA_DIR").filter(|v| !v.is_empty()) {
        let root = PathBuf::from(root);
        return (root.join("data"), root.join("config"));
    }
    let base = |d: Option<PathBuf>| d.unwrap_or_else(|| PathBuf::from(".")).join(APP_IDENTIFIER);
    (base(dirs::data_dir()), base(dirs::config_dir()))
}

fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn open(workspace: Option<PathBuf>) -> Result<Engine, Error> {
    let (app_data, app_config) = app_dirs();
    // The app's settings (config.toml, QUIRE_* variables): its workspace and its limits.
    let app = Config::load(&app_config).unwrap_or_default();
    let app_workspace = app
        .workspace
        .clone()
        .unwrap_or_else(|| app_data.join("workspace"));
    let workspace = workspace.unwrap_or_else(|| app_workspace.clone());
    // On the app's workspace the CLI uses the app's data dir, so both read and write the one
    // task store and edit journal (the workspace lock keeps them from running together): after
    // an app crash the CLI sees the journaled edits. Any other workspace keeps the CLI's store
    // and spill folder in a hidden folder inside it: never the user's files, and never the
    // store of an app that may be running on another workspace.
    let data_dir = if same_folder(&workspace, &app_workspace) {
        app_data
    } else {
        workspace.join(".quire-data")
    };
    // Every change is written before the command returns: a script's next step sees it on disk.
    let notebooks = NotebookConfig::preset(NotebookMode::Immediate).expect("a preset mode");
    let config = Config {
        workspace: Some(workspace),
        notebooks,
        limits: app.limits,
        ..Config::default()
    };
    Engine::open(
        config,
        EnginePaths {
            data_dir,
            config_dir: None,
        },
        Arc::new(NullSink),
    )
}

fn run(cli: Cli) -> Result<(), Error> {
    let engine = open(cli.workspace)?;
    let result = dispatch(&engine, cli.command);
    let report = engine.shutdown();
    for f in report.notebooks.failures {
        eprintln!(
            "warning: notebook {:?} could not be saved: {}",
            f.title, f.message
        );
    }
    result
}

fn dispatch(engine: &Engine, command: Command) -> Result<(), Error> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(io)?;
    let mut stdout = std::io::stdout().lock();
    match command {
        Command::Notebooks => {
            for n in engine.list_notebooks() {
                writeln!(stdout, "{}\t{}\t{} cells", n.id, n.title, n.cell_count).map_err(io)?;
            }
        }
        Command::Import {
            file,
            notebook: which,
            table,
            format,
            convert,
        } => {
            let id = match engine.notebooks().find(&which) {
                Ok(n) => n.id,
                Err(NotebookError::NoSuchNotebook(_)) => engine.create_notebook(&which)?.id,
                Err(e) => return Err(e.into()),
            };
            let format = format.map(|f| match f {
                FileFormat::Csv => ImportFormat::Csv,
                FileFormat::Parquet => ImportFormat::Parquet,
                FileFormat::Json => ImportFormat::Json,
                FileFormat::Excel => ImportFormat::Excel,
            });
            let request = ImportRequest {
                path: &file,
                table: table.as_deref(),
                format,
                csv: None,
                sheet: None,
                convert,
            };
            let out = engine.import_file(id, request, &|_| {}, &CancellationToken::new())?;
            writeln!(
                stdout,
                "imported {} rows into {}",
                out.table.rows, out.table.name
            )
            .map_err(io)?;
        }
        Command::Tables { notebook: which } => {
            let id = engine.notebooks().find(&which)?.id;
            for t in engine.tables(id)? {
                let columns: Vec<String> = t
                    .columns
                    .iter()
                    .map(|c| format!("{} {}", c.name, c.data_type))
                    .collect();
                writeln!(
                    stdout,
                    "{}\t{} rows\t{}",
                    t.name,
                    t.rows,
                    columns.join(", ")
                )
                .map_err(io)?;
            }
        }
        Command::Query {
            notebook: which,
            sql,
            format,
            out,
        } => {
            let id = engine.notebooks().find(&which)?.id;
            let batches = rt.block_on(engine.query(id, &sql))?;
            match out {
                Some(path) => write_result(&path, format, &batches)?,
                None => stdout.write_all(&render(format, &batches)?).map_err(io)?,
            }
        }
        Command::Export {
            notebook: which,
            table,
            out,
        } => {
            let id = engine.notebooks().find(&which)?.id;
            let bytes =
                engine.export_table(id, &table, &out, &|_| {}, &CancellationToken::new())?;
            writeln!(stdout, "wrote {} ({bytes} bytes)", out.display()).map_err(io)?;
        }
    }
    Ok(())
}

fn io(e: std::io::Error) -> Error {
    quire_engine::tables::TableError::Persist(e.to_string()).into()
}

/// A result as bytes: an aligned text table, CSV with a header row, or JSON Lines.
fn render(format: OutputFormat, batches: &[RecordBatch]) -> Result<Vec<u8>, Error> {
    let arrow = |e: datafusion::arrow::error::ArrowError| -> Error {
        quire_engine::tables::TableError::Arrow(e).into()
    };
    let mut out = Vec::new();
    match format {
        OutputFormat::Table => {
            writeln!(out, "{}", pretty_format_batches(batches).map_err(arrow)?).map_err(io)?;
        }
        OutputFormat::Csv => {
            let mut writer = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut out);
            for batch in batches {
                writer.write(batch).map_err(arrow)?;
            }
        }
        OutputFormat::Json => {
            let mut writer = datafusion::arrow::json::LineDelimitedWriter::new(&mut out);
            for batch in batches {
                writer.write(batch).map_err(arrow)?;
            }
            writer.finish().map_err(arrow)?;
        }
    }
    Ok(out)
}

fn write_result(path: &Path, format: OutputFormat, batches: &[RecordBatch]) -> Result<(), Error> {
    let bytes = render(format, batches)?;
    let target = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_err(io)?.join(path)
    };
    quire_engine::durable::write_atomic(&target, &bytes, &Metrics::default())?;
    Ok(())
}

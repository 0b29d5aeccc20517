//! The command line: Java's `MultiLangDaemon [-p FILE] [-l FILE] [FILE]` plus the `check` and
//! `replay` subcommands. Parses arguments, sets up logging, runs, and maps the outcome to an exit
//! code: 0 success, 1 bad input (arguments, properties, records file), 2 a shard's application
//! failed during `replay`. Holds no protocol or lease logic.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing::{info, warn};

use crate::checkpoint::CheckpointError;
use crate::config::{self, ConfigError, Loaded};
use crate::replay::{self, EndMode, ReplayOptions};

/// Exit code for bad input: arguments, properties file, records file.
pub const EXIT_BAD_INPUT: u8 = 1;
/// Exit code when a shard's application failed during `replay`.
pub const EXIT_SHARD_FAILED: u8 = 2;

const AFTER_HELP: &str = "\
Runs your existing KCL MultiLang application (amazon_kclpy, aws-kcl, ...) from the same
.properties file the Java MultiLangDaemon reads. Logging goes to stderr; set KCL_BRIDGE_LOG
(e.g. KCL_BRIDGE_LOG=debug) to change its level. Record processors' stderr lines are shown at
any level (KCL_BRIDGE_LOG=warn,child=off drops them).";

#[derive(Debug, Parser)]
#[command(
    name = "kcl-bridge",
    version,
    about = "A native drop-in replacement for the Java KCL MultiLangDaemon",
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The properties file (the Java daemon's positional argument).
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The properties file; overrides FILE, as in Java.
    #[arg(short = 'p', long = "properties-file", value_name = "FILE")]
    properties_file: Option<PathBuf>,
    /// A logback XML file. Accepted for compatibility and ignored (use KCL_BRIDGE_LOG).
    #[arg(short = 'l', long = "log-configuration", value_name = "FILE")]
    log_configuration: Option<PathBuf>,
    /// Unknown keys in the properties file are errors, not warnings (Java ignores them).
    #[arg(long, global = true)]
    strict: bool,
    /// How long a record processor may take to exit after its stdin is closed (end of its
    /// shard session) before it is sent SIGTERM, then SIGKILL [default: 5000]. Java waits for
    /// ever.
    #[arg(long, global = true, value_name = "MILLIS")]
    child_exit_grace_millis: Option<u64>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate a properties file, find the executable, and print the effective configuration
    /// (credentials redacted). Exit 0 if it is usable, 1 if not.
    Check {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Run the application in the properties file against records from a file, one child per
    /// shard, with checkpoints kept in memory. No AWS account needed.
    Replay(ReplayArgs),
}

#[derive(Debug, clap::Args)]
struct ReplayArgs {
    /// The application's properties file.
    #[arg(value_name = "PROPERTIES")]
    properties: PathBuf,
    /// JSON lines with `data` or `dataBase64` (and optional `partitionKey`, `shardId`,
    /// `sequenceNumber`, `approximateArrivalTimestamp`), or the output of
    /// `aws kinesis get-records`.
    #[arg(long, value_name = "FILE")]
    records: PathBuf,
    /// How each shard's session ends after its last record.
    #[arg(long, value_enum, default_value = "shard-end")]
    end: EndMode,
    /// Make the N-th checkpoint write of each shard fail with this Java exception name
    /// (ShutdownException, ThrottlingException, InvalidStateException,
    /// KinesisClientLibDependencyException, IllegalArgumentException). Repeatable.
    #[arg(long = "fail-checkpoint", value_name = "N=ErrorName", value_parser = parse_failure)]
    fail_checkpoint: Vec<(u64, CheckpointError)>,
    /// Write every protocol line, both ways, to this file as JSON lines.
    #[arg(long, value_name = "FILE")]
    transcript: Option<PathBuf>,
    /// Print the per-shard summary as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn parse_failure(s: &str) -> Result<(u64, CheckpointError), String> {
    let names: Vec<&str> = CheckpointError::ALL.iter().map(|e| e.java_name()).collect();
    let (n, name) = s
        .split_once('=')
        .ok_or_else(|| format!("expected N=ErrorName, e.g. 2=ThrottlingException; got {s:?}"))?;
    let n: u64 = n
        .trim()
        .parse()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| format!("N must be a whole number from 1; got {n:?}"))?;
    let error = CheckpointError::from_java_name(name.trim()).ok_or_else(|| {
        format!(
            "unknown error {name:?}; expected one of {}",
            names.join(", ")
        )
    })?;
    Ok((n, error))
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    run(std::env::args_os())
}

/// Parses `args` (including the program name), runs, and returns the exit code.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_BAD_INPUT } else { 0 };
            // Printing help or an argument error to the terminal cannot usefully fail.
            e.print().unwrap_or_default();
            return ExitCode::from(code);
        }
    };
    init_logging();
    let options = config::Options {
        strict_unknown_keys: cli.strict,
        child_exit_grace: cli
            .child_exit_grace_millis
            .map(std::time::Duration::from_millis),
        purpose: config::Purpose::Consume,
    };
    match cli.command {
        Some(Command::Check { file }) => check(&file, options),
        Some(Command::Replay(args)) => replay(args, options),
        None => daemon(
            cli.files,
            cli.properties_file,
            cli.log_configuration,
            options,
        ),
    }
}

/// Logging to stderr. `KCL_BRIDGE_LOG` holds a level (`warn`) or comma-separated
/// `target=level` directives (`info,aws_smithy_runtime=debug`); `info` when unset. A value that
/// does not parse is reported and `info` is used. Children's stderr lines (target `child`) are
/// kept at any level unless the value names that target.
fn init_logging() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let info = Targets::new().with_default(tracing::Level::INFO);
    let (filter, bad) = match std::env::var("KCL_BRIDGE_LOG") {
        Err(_) => (info, None),
        Ok(v) => match v.parse::<Targets>() {
            Ok(t) => (t, None),
            Err(e) => (info, Some((v, e))),
        },
    };
    let filter = if filter
        .iter()
        .any(|(target, _)| target == crate::child::CHILD_OUTPUT_TARGET)
    {
        filter
    } else {
        filter.with_target(crate::child::CHILD_OUTPUT_TARGET, tracing::Level::INFO)
    };
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    // Fails only if a subscriber is already set (tests calling `run` twice): keep the first.
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .try_init()
        .unwrap_or_default();
    if let Some((value, e)) = bad {
        tracing::warn!(value, error = %e, "KCL_BRIDGE_LOG is not a level or target=level list; logging at info");
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("kcl-bridge: {message}");
    ExitCode::from(EXIT_BAD_INPUT)
}

/// Where a properties file named on the command line is: `path` if it exists (relative to the
/// current directory); else, for a relative name, the first directory of the `CLASSPATH`
/// environment variable holding it, as Java, which looks the name up as a class-path resource,
/// would find it there (multilang-protocol.md §5.1). Entries that are archives (`.jar`, `.zip`)
/// or wildcards are not searched.
fn locate(path: &Path) -> PathBuf {
    if path.exists() || path.is_absolute() {
        return path.to_owned();
    }
    let found =
        std::env::var_os("CLASSPATH").and_then(|cp| on_class_path(path, &cp, |p| p.is_file()));
    match found {
        Some(p) => {
            info!(file = %p.display(), "properties file found through CLASSPATH");
            p
        }
        None => path.to_owned(),
    }
}

/// The first `dir/name` for the directories of `class_path` (`:`-separated) that `is_file`.
fn on_class_path(
    name: &Path,
    class_path: &std::ffi::OsStr,
    is_file: impl Fn(&Path) -> bool,
) -> Option<PathBuf> {
    std::env::split_paths(class_path)
        .filter(|dir| {
            let s = dir.to_string_lossy();
            !(s.is_empty() || s.ends_with('*') || s.ends_with(".jar") || s.ends_with(".zip"))
        })
        .map(|dir| dir.join(name))
        .find(|candidate| is_file(candidate))
}

/// Loads a properties file, logging its warnings; on failure prints every problem.
fn load_config(path: &Path, options: config::Options) -> Result<Loaded, ExitCode> {
    let path = &locate(path);
    match config::load_with(path, options) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                warn!("{}", w.display_with(path));
            }
            Ok(loaded)
        }
        Err(e @ ConfigError::Io { .. }) => Err(fail(e)),
        Err(e @ ConfigError::Invalid { .. }) => {
            for line in e.report().lines() {
                eprintln!("kcl-bridge: {line}");
            }
            eprintln!("kcl-bridge: nothing was started");
            Err(ExitCode::from(EXIT_BAD_INPUT))
        }
    }
}

/// The Java daemon's invocation: `[-p FILE] [-l FILE] [FILE]`.
fn daemon(
    files: Vec<PathBuf>,
    properties_file: Option<PathBuf>,
    log_configuration: Option<PathBuf>,
    options: config::Options,
) -> ExitCode {
    if files.len() > 1 {
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        // `kcl-bridge --strict check FILE`: an option before a subcommand makes it a file name.
        let hint = match names[0].as_str() {
            sub @ ("check" | "replay") => {
                format!(" (options go after the subcommand: kcl-bridge {sub} --strict ...)")
            }
            _ => String::new(),
        };
        return fail(format!(
            "Expected a single argument, but found multiple arguments.  Arguments: {}{hint}",
            names.join(", ")
        ));
    }
    if let Some(logback) = &log_configuration {
        warn!(
            file = %logback.display(),
            "--log-configuration (logback XML) is accepted for compatibility and ignored; set KCL_BRIDGE_LOG instead"
        );
    }
    let path = match (properties_file, files.into_iter().next()) {
        (Some(p), Some(_)) => {
            warn!("Overriding the properties file with the --properties-file option");
            p
        }
        (Some(p), None) | (None, Some(p)) => p,
        (None, None) => {
            return fail(
                "Properties file missing, please provide a properties file (kcl-bridge --help)",
            )
        }
    };
    let loaded = match load_config(&path, options) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let changed = loaded.config.non_default_settings();
    if !changed.is_empty() {
        let changed: Vec<String> = changed.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        info!(
            "settings this file changes from the defaults: {}",
            changed.join("; ")
        );
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(crate::worker::run(loaded.config, shutdown_signal())) {
        Ok(()) => {
            info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            let message = crate::with_causes(e.to_string(), std::error::Error::source(&e));
            fail(message)
        }
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        warn!("cannot listen for SIGTERM/SIGINT; stop kcl-bridge with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => info!("SIGTERM received"),
        _ = int.recv() => info!("SIGINT received"),
    }
}

fn check(path: &Path, options: config::Options) -> ExitCode {
    let loaded = match load_config(path, options) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let config = &loaded.config;
    let argv = config.executable_argv();
    let resolved = match argv.first() {
        None => return fail(format!("{}: executableName is empty", path.display())),
        Some(program) => match crate::child::resolve_executable(program) {
            Ok(p) => p,
            Err(e) => return fail(format!("{}: executableName: {e}", path.display())),
        },
    };
    println!("{}: OK", path.display());
    println!("executable = {}", resolved.display());
    println!("arguments = {:?}", &argv[1..]);
    print!("{}", config.settings_report());
    ExitCode::SUCCESS
}

fn replay(args: ReplayArgs, options: config::Options) -> ExitCode {
    let loaded = match load_config(&args.properties, options) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let shards = match replay::read_records(&args.records, now_ms) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let options = ReplayOptions {
        records_file: args.records.clone(),
        end: args.end,
        fail_checkpoints: args.fail_checkpoint,
        transcript: args.transcript,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    let report = match runtime.block_on(replay::run(&loaded.config, shards, &options)) {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot write the transcript: {e}")),
    };
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => return fail(e),
        }
    } else {
        print!("{}", report.table());
    }
    if report.all_completed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_SHARD_FAILED)
    }
}

#[cfg(test)]
mod tests {
    use super::on_class_path;
    use std::ffi::OsStr;
    use std::path::{Path, PathBuf};

    #[test]
    fn class_path_directories_are_searched_in_order_and_archives_skipped() {
        let files = [
            "/jars/app.properties",
            "/b/app.properties",
            "/c/app.properties",
        ];
        let is_file = |p: &Path| files.iter().any(|f| Path::new(f) == p);
        let find = |cp: &str| on_class_path(Path::new("app.properties"), OsStr::new(cp), is_file);
        assert_eq!(find("/a:/b/:/c"), Some(PathBuf::from("/b/app.properties")));
        assert_eq!(
            find("/jars/*:/jars.jar:/x.zip::/c"),
            Some(PathBuf::from("/c/app.properties"))
        );
        assert_eq!(find("/a"), None);
        assert_eq!(find(""), None);
    }
}

//! The command line: Java's `MultiLangDaemon [-p FILE] [-l FILE] [FILE]` plus the `check` and
//! `replay` subcommands. Parses arguments, sets up logging, calls `config`, `worker` and `replay`,
//! prints, and maps the outcome to an exit code: 0 success, 1 bad input (arguments, properties,
//! records file, a missing executable), 2 a shard's application failed during `replay`. No
//! output panics: a closed stdout ends the output quietly. Holds no logic of its own.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing::{info, warn};

use crate::checkpoint::CheckpointError;
use crate::config::{self, Config, ConfigError, Loaded, Purpose};
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
    /// (credentials redacted), saying what kcl-bridge does where it differs from the value, and
    /// every warning the daemon would give at start. Exit 0 if it is usable, 1 if not.
    Check {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Run the application in the properties file against records from a file, one child per
    /// shard, with checkpoints kept in memory. No AWS account (nor AwsCredentialsProvider)
    /// needed.
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
            // Help or an argument error to a closed terminal or pipe: nothing more to say.
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
        purpose: Purpose::Consume,
    };
    let outcome = match cli.command {
        Some(Command::Check { file }) => check(&file, options),
        Some(Command::Replay(args)) => replay(
            args,
            config::Options {
                purpose: Purpose::Replay,
                ..options
            },
        ),
        None => daemon(
            &cli.files,
            cli.properties_file.as_deref(),
            cli.log_configuration.as_deref(),
            options,
        ),
    };
    outcome.unwrap_or_else(|code| code)
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

/// One line to stderr. A closed stderr loses it: there is nowhere else to say it.
fn say(message: impl std::fmt::Display) {
    writeln!(std::io::stderr(), "kcl-bridge: {message}").unwrap_or_default();
}

/// Bad input: says why, exit 1.
fn fail(message: impl std::fmt::Display) -> ExitCode {
    say(message);
    ExitCode::from(EXIT_BAD_INPUT)
}

/// Writes `text` to stdout. A closed stdout (the reader went away, as `| head` does) ends the
/// output quietly.
fn print(text: &str) -> Result<(), ExitCode> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(fail(format!("cannot write to stdout: {e}"))),
    }
}

/// Runs `future` to completion on kcl-bridge's runtime (tokio, one thread).
fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(format!("cannot start the async runtime: {e}")))?;
    Ok(runtime.block_on(future))
}

/// Finds and loads a properties file, logging its warnings and the start-up notices for
/// `options.purpose`; on failure prints every problem.
fn load(path: &Path, options: config::Options) -> Result<Loaded, ExitCode> {
    let exists = |p: &Path| p.exists();
    let class_path = std::env::var_os("CLASSPATH");
    let located = config::file::locate(path, class_path.as_deref(), &exists);
    if located.on_class_path {
        info!(file = %located.path.display(), "properties file found through CLASSPATH");
    }
    let path = &located.path;
    let loaded = match config::load_with(path, options) {
        Ok(loaded) => loaded,
        Err(e @ ConfigError::Io { .. }) => return Err(fail(e)),
        Err(e @ ConfigError::Invalid { .. }) => {
            for line in e.report().lines() {
                say(line);
            }
            return Err(fail("nothing was started"));
        }
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    let notices = loaded
        .config
        .startup_notices(options.purpose, &cwd, &exists);
    for w in loaded.warnings.iter().chain(&notices) {
        warn!("{}", w.display_with(path));
    }
    Ok(loaded)
}

/// The program `executableName` runs, as the child would be started: bad input if there is none.
fn executable(config: &Config) -> Result<PathBuf, ExitCode> {
    let path = config.source.display();
    let argv = config.executable_argv();
    let program = argv
        .first()
        .ok_or_else(|| fail(format!("{path}: executableName is empty")))?;
    crate::child::resolve_executable(program)
        .map_err(|e| fail(format!("{path}: executableName: {e}")))
}

/// The Java daemon's invocation: `[-p FILE] [-l FILE] [FILE]`.
fn daemon(
    files: &[PathBuf],
    properties_file: Option<&Path>,
    log_configuration: Option<&Path>,
    options: config::Options,
) -> Result<ExitCode, ExitCode> {
    let named = config::file::named(files, properties_file).map_err(fail)?;
    if let Some(logback) = log_configuration {
        warn!(
            file = %logback.display(),
            "--log-configuration (logback XML) is accepted for compatibility and ignored; set KCL_BRIDGE_LOG instead"
        );
    }
    if named.overrides_positional {
        warn!("Overriding the properties file with the --properties-file option");
    }
    let loaded = load(&named.path, options)?;
    let changed = loaded.config.non_default_settings();
    if !changed.is_empty() {
        let changed: Vec<String> = changed.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        info!(
            "settings this file changes from the defaults: {}",
            changed.join("; ")
        );
    }
    match block_on(crate::worker::run(loaded.config, shutdown_signal()))? {
        Ok(()) => {
            info!("stopped");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let message = crate::with_causes(e.to_string(), std::error::Error::source(&e));
            Err(fail(message))
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

fn check(path: &Path, options: config::Options) -> Result<ExitCode, ExitCode> {
    let loaded = load(path, options)?;
    let config = &loaded.config;
    let program = executable(config)?;
    let argv = config.executable_argv();
    let mut out = format!(
        "{}: OK\nexecutable = {}\narguments = {:?}\n",
        path.display(),
        program.display(),
        argv.get(1..).unwrap_or_default()
    );
    out.push_str(&config.settings_report());
    print(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn replay(args: ReplayArgs, options: config::Options) -> Result<ExitCode, ExitCode> {
    let loaded = load(&args.properties, options)?;
    executable(&loaded.config)?;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let shards = replay::read_records(&args.records, now_ms).map_err(fail)?;
    let options = ReplayOptions {
        records_file: args.records.clone(),
        end: args.end,
        fail_checkpoints: args.fail_checkpoint,
        transcript: args.transcript,
    };
    let report = block_on(replay::run(&loaded.config, shards, &options))?
        .map_err(|e| fail(format!("cannot write the transcript: {e}")))?;
    let text = if args.json {
        let mut json = serde_json::to_string_pretty(&report).map_err(fail)?;
        json.push('\n');
        json
    } else {
        report.table()
    };
    print(&text)?;
    Ok(if report.all_completed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_SHARD_FAILED)
    })
}

//! Starting a record processor: the program `executableName` names ([`Program`]), or anything
//! else that offers the same three pipes and a process to wait for ([`Launch`]; the unit tests
//! run in-process children over `tokio::io::duplex` pipes).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::process::{ExitStatus, Stdio};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::process::Command;
use tracing::debug;

use super::ChildError;

/// Starts record processors, one per shard session.
pub trait Launch: Send + Sync + std::fmt::Debug {
    /// Starts one for `shard_id`.
    fn launch(&self, shard_id: &str) -> Result<Pipes, ChildError>;
}

/// A started record processor: its three pipes and the process behind them.
pub struct Pipes {
    pub stdin: Box<dyn AsyncWrite + Send + Unpin>,
    pub stdout: Box<dyn AsyncRead + Send + Unpin>,
    pub stderr: Box<dyn AsyncRead + Send + Unpin>,
    pub process: Box<dyn Process>,
}

/// The process behind a record processor's pipes. Dropping it kills the process.
pub trait Process: Send {
    fn id(&self) -> Option<u32>;
    /// Resolves when the process has exited.
    fn wait(&mut self) -> Pin<Box<dyn Future<Output = io::Result<ExitStatus>> + Send + '_>>;
    /// Asks the process to stop (SIGTERM); best effort.
    fn terminate(&mut self);
    /// Stops the process at once (SIGKILL); best effort.
    fn kill(&mut self);
}

/// `executableName` split on spaces: a program and its arguments, started without a shell.
#[derive(Debug, Clone)]
pub struct Program {
    pub argv: Vec<String>,
}

impl Launch for Program {
    /// Starts the program with piped stdin, stdout and stderr. It inherits the daemon's
    /// environment and working directory, and runs in its own process group, so a Ctrl-C at the
    /// terminal reaches the daemon only and the daemon decides how the child ends.
    fn launch(&self, _shard_id: &str) -> Result<Pipes, ChildError> {
        let Some((program, args)) = self.argv.split_first() else {
            return Err(ChildError::Spawn {
                program: String::new(),
                source: io::Error::new(io::ErrorKind::InvalidInput, "executableName is empty"),
            });
        };
        let spawn_error = |source| ChildError::Spawn {
            program: program.clone(),
            source,
        };
        let mut process = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(spawn_error)?;
        let (Some(stdin), Some(stdout), Some(stderr)) = (
            process.stdin.take(),
            process.stdout.take(),
            process.stderr.take(),
        ) else {
            return Err(spawn_error(io::Error::other(
                "the child's pipes were not created",
            )));
        };
        Ok(Pipes {
            stdin: Box::new(stdin),
            stdout: Box::new(stdout),
            stderr: Box::new(stderr),
            process: Box::new(process),
        })
    }
}

impl Process for tokio::process::Child {
    fn id(&self) -> Option<u32> {
        tokio::process::Child::id(self)
    }

    fn wait(&mut self) -> Pin<Box<dyn Future<Output = io::Result<ExitStatus>> + Send + '_>> {
        Box::pin(tokio::process::Child::wait(self))
    }

    fn terminate(&mut self) {
        let Some(pid) = tokio::process::Child::id(self) else {
            return;
        };
        let pid = nix::unistd::Pid::from_raw(pid as i32);
        if let Err(e) = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM) {
            debug!(error = %e, "SIGTERM failed");
        }
    }

    fn kill(&mut self) {
        if let Err(e) = self.start_kill() {
            debug!(error = %e, "SIGKILL failed");
        }
    }
}

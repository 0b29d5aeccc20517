//! One record processor per shard session, and the exchanges with it (`docs/protocol.md`).
//!
//! A [`ShardChild`] starts a child through its [`ChildSpec`]'s [`Launch`] (in production the
//! [`Program`] of `executableName`, split on spaces, no shell), writes protocol lines to its stdin
//! from a writer task, reads its stdout on the caller's task and forwards its stderr line by line
//! from a third task, so a multi-MB message and a chatty child never deadlock. Each action is one
//! exchange: send it, answer checkpoint requests, wait for the matching `status`. A stdout line
//! longer than [`protocol::MAX_LINE`] fails the session (a child that never ends a line cannot
//! grow the daemon's memory); a longer stderr line is logged in pieces.
//!
//! Unlike Java, a failing child (spawn failure, crash, timeout, protocol violation) is an error
//! for its own shard only; the caller decides what happens next. Nothing here knows DynamoDB:
//! accepted checkpoints go to a [`CheckpointSink`].

use std::io;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::codec::Decoder;
use tracing::{debug, error, info, warn, Instrument};

use crate::checkpoint::{
    CheckpointSink, CheckpointState, Decision, ExtendedSequenceNumber, Window,
};
use crate::config::Config;
use crate::protocol::{self, Action, ChildLine, FromChild, LineDecoder, OverLong, Record};
use crate::transcript::{Direction, Transcript};

mod launch;
#[cfg(test)]
pub(crate) mod scripted;
#[cfg(test)]
mod tests;

pub use launch::{Launch, Pipes, Process, Program};

/// How to start and bound a child.
#[derive(Debug, Clone)]
pub struct ChildSpec {
    /// What starts a child: `executableName`'s program, split on spaces.
    pub launcher: Arc<dyn Launch>,
    /// `timeoutInSeconds`: the longest wait for each message from the child.
    pub timeout: Option<Duration>,
    /// After closing a child's stdin, how long it may take to exit before SIGTERM, then SIGKILL.
    pub exit_grace: Duration,
    /// `logWarningForTaskAfterMillis`: an action the child has not answered after this long is
    /// logged at WARN (once per action).
    pub slow_after: Option<Duration>,
}

impl ChildSpec {
    /// The children `config` describes: `executableName`, with its timeouts.
    pub fn from_config(config: &Config) -> ChildSpec {
        ChildSpec {
            launcher: Arc::new(Program {
                argv: config.executable_argv(),
            }),
            timeout: config.timeout,
            exit_grace: config.child_exit_grace,
            slow_after: config.lifecycle.log_warning_for_task_after,
        }
    }
}

/// Why a child's session ended early. Each is fatal to that child only.
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    #[error("cannot start the record processor {program:?}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },
    #[error("the record processor exited ({status}) while {action} was pending")]
    Exited { action: Action, status: String },
    #[error("the record processor did not answer {action} within {}s", timeout.as_secs_f64())]
    Timeout { action: Action, timeout: Duration },
    #[error("the record processor answered {got:?} while {action} was pending (expected status for {action})")]
    WrongResponse { action: Action, got: Option<String> },
    #[error("cannot write to the record processor while {action} was pending: {source}")]
    Write {
        action: Action,
        #[source]
        source: io::Error,
    },
    #[error("cannot read the record processor's output while {action} was pending: {source}")]
    Read {
        action: Action,
        #[source]
        source: io::Error,
    },
    #[error("{action} cannot be sent now: {reason}")]
    OutOfOrder {
        action: Action,
        reason: &'static str,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Started,
    Initialized,
    /// `shutdownRequested` was answered: only `leaseLost`/`shardEnded` may follow.
    ShutdownRequested,
    Ended,
    Failed,
}

/// Reads lines from a pipe with [`LineDecoder`]; cancel-safe (its state lives in `self`).
struct LineReader<R> {
    inner: R,
    buf: BytesMut,
    decoder: LineDecoder,
    eof: bool,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    fn new(inner: R, decoder: LineDecoder) -> Self {
        LineReader {
            inner,
            buf: BytesMut::with_capacity(8 * 1024),
            decoder,
            eof: false,
        }
    }

    /// The next line, or `None` at end of stream.
    async fn next_line(&mut self) -> io::Result<Option<BytesMut>> {
        loop {
            if let Some(line) = self.decoder.decode(&mut self.buf)? {
                return Ok(Some(line));
            }
            if self.eof {
                return self.decoder.decode_eof(&mut self.buf);
            }
            // Large reads, so that a multi-MB line is not read 64 bytes at a time.
            if self.buf.capacity() - self.buf.len() < 16 * 1024 {
                self.buf.reserve(64 * 1024);
            }
            if self.inner.read_buf(&mut self.buf).await? == 0 {
                self.eof = true;
            }
        }
    }
}

/// A running child process bound to one shard.
pub struct ShardChild {
    shard_id: String,
    /// Dropping it kills the child (`kill_on_drop`), so a session that ends without `close`
    /// leaves no process behind.
    process: Box<dyn Process>,
    /// Lines to write to stdin; dropping it closes the child's stdin once the queue drains.
    stdin: Option<mpsc::UnboundedSender<Vec<u8>>>,
    /// Fires with the error if a stdin write fails.
    write_failed: Option<oneshot::Receiver<io::Error>>,
    /// Written lines come back here to be the next batch's buffer: a batch line is many MB, and a
    /// fresh buffer for each would cost its page faults every time.
    spare: mpsc::Receiver<Vec<u8>>,
    writer: Option<JoinHandle<()>>,
    stdout: LineReader<Box<dyn AsyncRead + Send + Unpin>>,
    stderr: Option<JoinHandle<()>>,
    timeout: Option<Duration>,
    slow_after: Option<Duration>,
    exit_grace: Duration,
    transcript: Option<Transcript>,
    phase: Phase,
}

impl ShardChild {
    /// Starts the child for `shard_id` with `spec`'s launcher.
    pub fn spawn(
        spec: &ChildSpec,
        shard_id: &str,
        transcript: Option<Transcript>,
    ) -> Result<ShardChild, ChildError> {
        let Pipes {
            stdin,
            stdout,
            stderr,
            process,
        } = spec.launcher.launch(shard_id)?;
        info!(pid = process.id(), launcher = ?spec.launcher, "started record processor");
        let (tx, rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let (failed_tx, failed_rx) = oneshot::channel();
        let (spare_tx, spare_rx) = mpsc::channel(1);
        let writer = tokio::spawn(write_stdin(stdin, rx, failed_tx, spare_tx));
        let stderr = tokio::spawn(
            forward_stderr(stderr, shard_id.to_owned()).instrument(tracing::Span::current()),
        );
        Ok(ShardChild {
            shard_id: shard_id.to_owned(),
            process,
            stdin: Some(tx),
            write_failed: Some(failed_rx),
            spare: spare_rx,
            writer: Some(writer),
            stdout: LineReader::new(stdout, LineDecoder::default()),
            stderr: Some(stderr),
            timeout: spec.timeout,
            slow_after: spec.slow_after,
            exit_grace: spec.exit_grace,
            transcript,
            phase: Phase::Started,
        })
    }

    pub fn shard_id(&self) -> &str {
        &self.shard_id
    }

    pub fn pid(&self) -> Option<u32> {
        self.process.id()
    }

    /// `initialize` with the lease's checkpoint (`None` only if the lease has none).
    pub async fn initialize<S: CheckpointSink>(
        &mut self,
        checkpoint: Option<&ExtendedSequenceNumber>,
        state: &mut CheckpointState,
        sink: &mut S,
    ) -> Result<(), ChildError> {
        self.expect_phase(
            Action::Initialize,
            &[Phase::Started],
            "initialize was already sent",
        )?;
        let mut msg = Vec::new();
        protocol::encode_initialize(
            &mut msg,
            &self.shard_id,
            checkpoint.map(|c| c.sequence_number.as_str()),
            checkpoint.map(|c| c.sub_sequence_number),
        );
        self.exchange(Action::Initialize, msg, Window::Closed, state, sink)
            .await?;
        self.phase = Phase::Initialized;
        Ok(())
    }

    /// `processRecords`: the records become checkpointable before the message is sent.
    pub async fn process_records<S: CheckpointSink>(
        &mut self,
        records: &[Record],
        millis_behind_latest: Option<i64>,
        state: &mut CheckpointState,
        sink: &mut S,
    ) -> Result<(), ChildError> {
        self.expect_phase(
            Action::ProcessRecords,
            &[Phase::Initialized],
            "records go only to an initialized child that is not shutting down",
        )?;
        state.delivered_all(
            records
                .iter()
                .map(|r| (r.sequence_number.as_str(), r.sub_sequence_number)),
        );
        let mut msg = self.spare.try_recv().unwrap_or_default();
        msg.clear();
        protocol::encode_process_records(&mut msg, records, millis_behind_latest);
        self.exchange(
            Action::ProcessRecords,
            msg,
            Window::UpToDelivered,
            state,
            sink,
        )
        .await
    }

    /// `shutdownRequested`: the child may checkpoint what it was sent. As in Java, a wrong
    /// `status` here is logged and does not fail the session.
    pub async fn shutdown_requested<S: CheckpointSink>(
        &mut self,
        state: &mut CheckpointState,
        sink: &mut S,
    ) -> Result<(), ChildError> {
        self.expect_phase(
            Action::ShutdownRequested,
            &[Phase::Initialized],
            "not initialized, or already shutting down",
        )?;
        let mut msg = Vec::new();
        protocol::encode_bare(&mut msg, Action::ShutdownRequested);
        match self
            .exchange(
                Action::ShutdownRequested,
                msg,
                Window::UpToDelivered,
                state,
                sink,
            )
            .await
        {
            Err(ChildError::WrongResponse { got, .. }) => {
                error!(
                    ?got,
                    "record processor failed to complete the shutdown notification; continuing"
                );
                self.phase = Phase::ShutdownRequested;
                Ok(())
            }
            Err(e) => Err(e),
            Ok(()) => {
                self.phase = Phase::ShutdownRequested;
                Ok(())
            }
        }
    }

    /// `leaseLost`: no checkpoint is possible. Ends the session.
    pub async fn lease_lost<S: CheckpointSink>(
        &mut self,
        state: &mut CheckpointState,
        sink: &mut S,
    ) -> Result<(), ChildError> {
        self.end_session(Action::LeaseLost, Window::Closed, state, sink)
            .await
    }

    /// `shardEnded`: the child should checkpoint `SHARD_END`. Ends the session; the caller checks
    /// `state.last_checkpoint()` to see whether it did.
    pub async fn shard_ended<S: CheckpointSink>(
        &mut self,
        state: &mut CheckpointState,
        sink: &mut S,
    ) -> Result<(), ChildError> {
        self.end_session(Action::ShardEnded, Window::ShardEnd, state, sink)
            .await
    }

    /// The final exchange of a session (`leaseLost` or `shardEnded`).
    async fn end_session<S: CheckpointSink>(
        &mut self,
        action: Action,
        window: Window,
        state: &mut CheckpointState,
        sink: &mut S,
    ) -> Result<(), ChildError> {
        self.expect_phase(
            action,
            &[Phase::Initialized, Phase::ShutdownRequested],
            "not initialized",
        )?;
        let mut msg = Vec::new();
        protocol::encode_bare(&mut msg, action);
        self.exchange(action, msg, window, state, sink).await?;
        self.phase = Phase::Ended;
        Ok(())
    }

    fn expect_phase(
        &self,
        action: Action,
        allowed: &[Phase],
        reason: &'static str,
    ) -> Result<(), ChildError> {
        if allowed.contains(&self.phase) {
            Ok(())
        } else if self.phase == Phase::Failed {
            Err(ChildError::OutOfOrder {
                action,
                reason: "the record processor already failed",
            })
        } else {
            Err(ChildError::OutOfOrder { action, reason })
        }
    }

    fn send(&mut self, action: Action, msg: Vec<u8>) -> Result<(), ChildError> {
        if let Some(t) = &self.transcript {
            t.record(&self.shard_id, Direction::ToChild, &msg);
        }
        let sent = self.stdin.as_ref().map(|tx| tx.send(msg));
        match sent {
            Some(Ok(())) => Ok(()),
            _ => Err(ChildError::Write {
                action,
                source: io::Error::new(io::ErrorKind::BrokenPipe, "the child's stdin is closed"),
            }),
        }
    }

    /// One exchange: send `msg`, then serve checkpoint requests until the matching `status`.
    async fn exchange<S: CheckpointSink>(
        &mut self,
        action: Action,
        msg: Vec<u8>,
        window: Window,
        state: &mut CheckpointState,
        sink: &mut S,
    ) -> Result<(), ChildError> {
        let result = self.exchange_inner(action, msg, window, state, sink).await;
        if let Err(e) = &result {
            if !matches!(
                e,
                ChildError::WrongResponse {
                    action: Action::ShutdownRequested,
                    ..
                }
            ) {
                self.phase = Phase::Failed;
            }
        }
        result
    }

    async fn exchange_inner<S: CheckpointSink>(
        &mut self,
        action: Action,
        msg: Vec<u8>,
        window: Window,
        state: &mut CheckpointState,
        sink: &mut S,
    ) -> Result<(), ChildError> {
        self.send(action, msg)?;
        let mut warn_at = self.slow_after.map(|d| Instant::now() + d);
        loop {
            match self.next_message(action, &mut warn_at).await? {
                FromChild::Status { response_for } => {
                    if response_for.as_deref() == Some(action.as_str()) {
                        debug!(%action, "status received");
                        return Ok(());
                    }
                    return Err(ChildError::WrongResponse {
                        action,
                        got: response_for,
                    });
                }
                FromChild::Checkpoint {
                    sequence_number,
                    sub_sequence_number,
                } => {
                    let error =
                        match state.decide(window, sequence_number.as_deref(), sub_sequence_number)
                        {
                            Decision::NoOp => None,
                            Decision::Refuse(e) => Some(e),
                            Decision::Write(at) => match sink.save(&at).await {
                                Ok(()) => {
                                    debug!(checkpoint = %at, "checkpoint stored");
                                    state.saved(at);
                                    None
                                }
                                Err(e) => Some(e),
                            },
                        };
                    if let Some(e) = error {
                        warn!(%action, requested = ?sequence_number, error = e.java_name(), "checkpoint refused");
                    }
                    let mut reply = Vec::new();
                    protocol::encode_checkpoint_reply(
                        &mut reply,
                        sequence_number.as_deref(),
                        sub_sequence_number,
                        error.map(|e| e.java_name()),
                    );
                    self.send(action, reply)?;
                }
            }
        }
    }

    /// Waits for the next decodable message. Blank and skipped lines do not restart the clock.
    /// At `warn_at` (then cleared), logs that the child is slow to answer `action`.
    async fn next_message(
        &mut self,
        action: Action,
        warn_at: &mut Option<Instant>,
    ) -> Result<FromChild, ChildError> {
        let deadline = self.timeout.map(|t| Instant::now() + t);
        loop {
            let stdout = &mut self.stdout;
            let write_failed = &mut self.write_failed;
            let failed = async {
                match write_failed.as_mut() {
                    Some(rx) => rx.await,
                    None => std::future::pending().await,
                }
            };
            let expired = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            let slow = async {
                match *warn_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let line = tokio::select! {
                biased;
                line = stdout.next_line() => line,
                failed = failed => {
                    self.write_failed = None;
                    match failed {
                        Ok(source) => return Err(ChildError::Write { action, source }),
                        // The writer ended without an error: nothing to report here.
                        Err(_) => continue,
                    }
                }
                () = expired => {
                    error!(%action, "timed out waiting for the record processor's status; terminating it");
                    return Err(ChildError::Timeout { action, timeout: self.timeout.unwrap_or_default() });
                }
                () = slow => {
                    *warn_at = None;
                    warn!(
                        %action,
                        after = ?self.slow_after.unwrap_or_default(),
                        "the record processor has not finished {action} yet (logWarningForTaskAfterMillis)"
                    );
                    continue;
                }
            };
            let line = match line {
                Ok(Some(line)) => line,
                Ok(None) => {
                    let status =
                        match tokio::time::timeout(Duration::from_secs(1), self.process.wait())
                            .await
                        {
                            Ok(Ok(s)) => describe_exit(s),
                            _ => "still running, stdout closed".to_owned(),
                        };
                    return Err(ChildError::Exited { action, status });
                }
                Err(source) => return Err(ChildError::Read { action, source }),
            };
            if let Some(t) = &self.transcript {
                t.record(&self.shard_id, Direction::FromChild, &line);
            }
            match protocol::classify_line(&line) {
                ChildLine::Blank => {}
                ChildLine::Skipped(reason) => {
                    info!(reason, line = %String::from_utf8_lossy(&line), "skipping unexpected line on the record processor's stdout");
                }
                ChildLine::Message(m) => return Ok(m),
            }
        }
    }

    /// Ends the child: closes its stdin, drains its stdout and stderr, and waits for it to exit,
    /// sending SIGTERM and then SIGKILL if it outlives its grace period. After a failure the
    /// grace period is skipped (a hung child is not waited for).
    pub async fn close(mut self) -> Option<ExitStatus> {
        let grace = if self.phase == Phase::Failed {
            Duration::ZERO
        } else {
            self.exit_grace
        };
        self.stdin = None;
        let deadline = Instant::now() + grace;
        let drain = async {
            while let Ok(Some(line)) = self.stdout.next_line().await {
                if let Some(t) = &self.transcript {
                    t.record(&self.shard_id, Direction::FromChild, &line);
                }
                if !line.is_empty() {
                    info!(line = %String::from_utf8_lossy(&line), "drained line from the record processor's stdout");
                }
            }
        };
        if tokio::time::timeout_at(deadline, drain).await.is_err() {
            debug!("stdout still open after the grace period");
        }
        let status = match tokio::time::timeout_at(deadline, self.process.wait()).await {
            Ok(Ok(status)) => Some(status),
            _ => self.terminate().await,
        };
        if let Some(stderr) = self.stderr.take() {
            // The stderr pipe closes when the child exits, unless a grandchild still holds it.
            if tokio::time::timeout(Duration::from_secs(1), stderr)
                .await
                .is_err()
            {
                debug!("stderr still open after the record processor exited");
            }
        }
        if let Some(writer) = self.writer.take() {
            writer.abort();
        }
        match &status {
            Some(s) => info!(status = %describe_exit(*s), "record processor exited"),
            None => warn!("record processor could not be reaped"),
        }
        status
    }

    /// SIGTERM, a short wait, then SIGKILL.
    async fn terminate(&mut self) -> Option<ExitStatus> {
        warn!(
            pid = self.process.id(),
            "record processor did not exit; sending SIGTERM"
        );
        self.process.terminate();
        if let Ok(Ok(status)) =
            tokio::time::timeout(Duration::from_secs(2), self.process.wait()).await
        {
            return Some(status);
        }
        warn!("record processor ignored SIGTERM; sending SIGKILL");
        self.process.kill();
        self.process.wait().await.ok()
    }
}

/// Writes queued lines to the child's stdin until the queue closes, then closes stdin (the child
/// sees EOF). A failed write is reported once on `failed` and ends the writer.
async fn write_stdin(
    mut stdin: Box<dyn AsyncWrite + Send + Unpin>,
    mut lines: mpsc::UnboundedReceiver<Vec<u8>>,
    failed: oneshot::Sender<io::Error>,
    spare: mpsc::Sender<Vec<u8>>,
) {
    while let Some(line) = lines.recv().await {
        let written = match stdin.write_all(&line).await {
            Ok(()) => stdin.flush().await,
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            // The receiver is gone only if the child was already dropped.
            failed.send(e).unwrap_or_default();
            return;
        }
        // One spare is enough (one batch is in flight at a time); with the slot full, this
        // buffer is simply freed.
        drop(spare.try_send(line));
    }
    if let Err(e) = stdin.shutdown().await {
        debug!(error = %e, "closing the record processor's stdin");
    }
}

fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => status.to_string(),
    }
}

/// The log target of children's stderr lines. They are logged at INFO whatever level the daemon
/// logs at, unless `KCL_BRIDGE_LOG` names this target (`child=off`): users grep for what their
/// application printed (`docs/protocol.md`, "Child stderr").
pub const CHILD_OUTPUT_TARGET: &str = "child";

/// Forwards every stderr line of the child to the daemon's log; the caller's span carries the
/// shard id.
async fn forward_stderr(stderr: Box<dyn AsyncRead + Send + Unpin>, shard_id: String) {
    // At a level that leaves out the shard's span, the line names the shard itself.
    let untagged = tracing::Span::current().is_disabled();
    let mut reader = LineReader::new(
        stderr,
        LineDecoder::new(protocol::MAX_LINE, OverLong::Split),
    );
    loop {
        match reader.next_line().await {
            Ok(Some(line)) => {
                let line = String::from_utf8_lossy(&line);
                if untagged {
                    info!(target: CHILD_OUTPUT_TARGET, shard_id = %shard_id, "{line}");
                } else {
                    info!(target: CHILD_OUTPUT_TARGET, "{line}");
                }
            }
            Ok(None) => return,
            Err(e) => {
                debug!(error = %e, "stopped reading the record processor's stderr");
                return;
            }
        }
    }
}

/// Finds the program a child would run: a name with a `/` is a path (relative to the current
/// directory), any other name is searched in `PATH`, as `execvp` does. The file must be an
/// executable regular file.
pub fn resolve_executable(program: &str) -> Result<std::path::PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let usable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = std::path::PathBuf::from(program);
        return if usable(&p) {
            Ok(p)
        } else if p.exists() {
            Err(format!("{program} is not an executable file"))
        } else {
            Err(format!("{program} does not exist"))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| usable(p))
        .ok_or_else(|| {
            format!("{program:?} was not found on PATH (the child is started without a shell)")
        })
}

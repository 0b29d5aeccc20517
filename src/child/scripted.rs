//! An in-process record processor for unit tests. It runs as a task over `tokio::io::duplex`
//! pipes, answers as amazon_kclpy's processors do (a `status` for every action, optional
//! checkpoints), and writes what it receives and does to a [`Timeline`]:
//!
//! * `child <shard> #<n> started` when launched (`n` counts the shard's children from 1);
//! * `child <shard> #<n> got <action>` for each message (`initialize <checkpoint>`,
//!   `processRecords <first>..<last>` by sequence number, or `processRecords empty`);
//! * `child <shard> #<n> checkpoint -> ok` or `-> <Java exception name>` for each checkpoint it asked
//!   for, with the daemon's answer;
//! * `child <shard> #<n> exited <code>`, or `killed` when the daemon stopped it.
//!
//! Paused time runs over these pipes as it does over any other future, so a test can make a
//! child slow (`batch_time`) without waiting.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::pin::Pin;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines};
use tokio::task::JoinHandle;

use super::{ChildError, Launch, Pipes, Process};
use crate::testkit::Timeline;

/// How a scripted child behaves.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Asks for a checkpoint (no argument: everything delivered) after each batch.
    pub checkpoint_every_batch: bool,
    /// Asks for a checkpoint on `shutdownRequested`.
    pub checkpoint_on_shutdown: bool,
    /// Does not ask for the `SHARD_END` checkpoint on `shardEnded` (a broken processor).
    pub skip_shard_end_checkpoint: bool,
    /// How long each batch takes before its status (and its checkpoint).
    pub batch_time: Duration,
    /// Never answers this action (hangs until killed).
    pub hang_on: Option<&'static str>,
    /// Exits with code 1 on receiving this action.
    pub crash_on: Option<&'static str>,
    /// Writes this many bytes of output with no line end after `initialize`'s status.
    pub endless_line: Option<usize>,
    /// Does not exit when its stdin closes (until killed).
    pub linger: bool,
}

/// Launches scripted children, each shard's numbered from 1.
#[derive(Debug, Clone)]
pub struct Scripted {
    behaviour: Behaviour,
    timeline: Timeline,
    launched: Arc<Mutex<HashMap<String, u32>>>,
}

impl Scripted {
    pub fn new(behaviour: Behaviour, timeline: &Timeline) -> Scripted {
        Scripted {
            behaviour,
            timeline: timeline.clone(),
            launched: Arc::default(),
        }
    }
}

impl Launch for Scripted {
    fn launch(&self, shard_id: &str) -> Result<Pipes, ChildError> {
        let n = {
            let mut launched = self.launched.lock().unwrap_or_else(|p| p.into_inner());
            let n = launched.entry(shard_id.to_owned()).or_insert(0);
            *n += 1;
            *n
        };
        let name = format!("child {shard_id} #{n}");
        let (stdin, child_stdin) = tokio::io::duplex(64 << 10);
        let (child_stdout, stdout) = tokio::io::duplex(64 << 10);
        let (_child_stderr, stderr) = tokio::io::duplex(1 << 10);
        self.timeline.push(format!("{name} started"));
        let run = ScriptedRun {
            name: name.clone(),
            behaviour: self.behaviour.clone(),
            timeline: self.timeline.clone(),
            input: BufReader::new(child_stdin).lines(),
            output: child_stdout,
        };
        let task = tokio::spawn(async move {
            let code = run.run().await;
            // Dropped with the run: stdout and stderr close, as a process's do when it exits.
            drop(_child_stderr);
            code
        });
        Ok(Pipes {
            stdin: Box::new(stdin),
            stdout: Box::new(stdout),
            stderr: Box::new(stderr),
            process: Box::new(ScriptedProcess {
                task,
                name,
                timeline: self.timeline.clone(),
                signal: None,
                exited: None,
            }),
        })
    }
}

struct ScriptedRun {
    name: String,
    behaviour: Behaviour,
    timeline: Timeline,
    input: Lines<BufReader<DuplexStream>>,
    output: DuplexStream,
}

impl ScriptedRun {
    /// Serves messages until stdin closes (exit 0) or the behaviour says otherwise.
    async fn run(mut self) -> i32 {
        while let Ok(Some(line)) = self.input.next_line().await {
            let Ok(message) = serde_json::from_str::<Value>(&line) else {
                self.timeline
                    .push(format!("{} got a line that is not JSON", self.name));
                continue;
            };
            let action = message["action"].as_str().unwrap_or("").to_owned();
            self.timeline
                .push(format!("{} got {}", self.name, describe(&action, &message)));
            if self.behaviour.crash_on == Some(action.as_str()) {
                self.timeline.push(format!("{} exited 1", self.name));
                return 1;
            }
            if self.behaviour.hang_on == Some(action.as_str()) {
                std::future::pending::<()>().await;
            }
            let checkpoint = match action.as_str() {
                "processRecords" => {
                    tokio::time::sleep(self.behaviour.batch_time).await;
                    self.behaviour.checkpoint_every_batch
                }
                "shutdownRequested" => self.behaviour.checkpoint_on_shutdown,
                "shardEnded" => !self.behaviour.skip_shard_end_checkpoint,
                _ => false,
            };
            if checkpoint && !self.checkpoint().await {
                return 0;
            }
            let status = format!("{{\"action\":\"status\",\"responseFor\":\"{action}\"}}\n");
            if self.output.write_all(status.as_bytes()).await.is_err() {
                return 0;
            }
            if action == "initialize" {
                if let Some(n) = self.behaviour.endless_line {
                    let junk = vec![b'x'; n];
                    if self.output.write_all(&junk).await.is_err() {
                        return 0;
                    }
                }
            }
        }
        if self.behaviour.linger {
            std::future::pending::<()>().await;
        }
        self.timeline.push(format!("{} exited 0", self.name));
        0
    }

    /// Asks for a checkpoint at everything delivered and logs the answer; false if stdin closed
    /// first.
    async fn checkpoint(&mut self) -> bool {
        let request =
            b"{\"action\":\"checkpoint\",\"sequenceNumber\":null,\"subSequenceNumber\":null}\n";
        if self.output.write_all(request).await.is_err() {
            return false;
        }
        let Ok(Some(reply)) = self.input.next_line().await else {
            return false;
        };
        let reply: Value = serde_json::from_str(&reply).unwrap_or(Value::Null);
        let answer = reply["error"].as_str().unwrap_or("ok").to_owned();
        self.timeline
            .push(format!("{} checkpoint -> {answer}", self.name));
        true
    }
}

/// `initialize <checkpoint>`, `processRecords <first>..<last>` or `processRecords empty`, or the
/// action alone.
fn describe(action: &str, message: &Value) -> String {
    match action {
        "initialize" => format!(
            "initialize {}",
            message["sequenceNumber"].as_str().unwrap_or("null")
        ),
        "processRecords" => {
            let records = message["records"].as_array().cloned().unwrap_or_default();
            let seq = |r: Option<&Value>| {
                r.and_then(|r| r["sequenceNumber"].as_str())
                    .unwrap_or("")
                    .to_owned()
            };
            match records.len() {
                0 => "processRecords empty".to_owned(),
                _ => format!(
                    "processRecords {}..{}",
                    seq(records.first()),
                    seq(records.last())
                ),
            }
        }
        other => other.to_owned(),
    }
}

/// The task behind a scripted child, as the daemon sees a process.
struct ScriptedProcess {
    task: JoinHandle<i32>,
    name: String,
    timeline: Timeline,
    /// The signal the daemon stopped it with, once it did.
    signal: Option<i32>,
    /// How it ended, once waited for.
    exited: Option<ExitStatus>,
}

impl ScriptedProcess {
    fn stop(&mut self, signal: i32) {
        if self.exited.is_none() && !self.task.is_finished() && self.signal.is_none() {
            self.task.abort();
            self.signal = Some(signal);
            self.timeline.push(format!("{} killed", self.name));
        }
    }
}

impl Process for ScriptedProcess {
    fn id(&self) -> Option<u32> {
        None
    }

    fn wait(&mut self) -> Pin<Box<dyn Future<Output = io::Result<ExitStatus>> + Send + '_>> {
        Box::pin(async move {
            if let Some(status) = self.exited {
                return Ok(status);
            }
            let status = match (&mut self.task).await {
                Ok(code) => ExitStatus::from_raw(code << 8),
                Err(_) => ExitStatus::from_raw(self.signal.unwrap_or(9)),
            };
            self.exited = Some(status);
            Ok(status)
        })
    }

    fn terminate(&mut self) {
        self.stop(15);
    }

    fn kill(&mut self) {
        self.stop(9);
    }
}

impl Drop for ScriptedProcess {
    fn drop(&mut self) {
        self.stop(9);
    }
}

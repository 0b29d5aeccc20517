//! A real local AWS emulator for the worker tests: moto's server (Kinesis + DynamoDB) from the
//! test venv, through `scripts/moto_atomic.py`, on 127.0.0.1 and a port it picks, started and
//! stopped by the test.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_kinesis::primitives::Blob;

use crate::harness;

/// A running moto server; killed when dropped.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        Moto::start_with(&[])
    }

    /// With extra environment for moto (e.g. `INITIAL_NO_AUTH_ACTION_COUNT`).
    pub fn start_with(env: &[(&str, &str)]) -> Moto {
        let exe = harness::repo().join(".venv/bin/moto_server");
        assert!(
            exe.exists(),
            "{} is missing: run scripts/setup-test-env.sh",
            exe.display()
        );
        // moto_server with DynamoDB's conditional writes made atomic, as DynamoDB's are (moto's
        // own let two workers' takes of one lease both succeed now and then).
        let mut child = Command::new(harness::venv_python())
            .arg(harness::repo().join("scripts/moto_atomic.py"))
            .args(["-H", "127.0.0.1", "-p", "0"])
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start moto_server");
        // moto says where it listens on stderr: wait for that line.
        let stderr = child.stderr.take().expect("moto stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(rest) = line.split("Running on http://").nth(1) {
                        tx.send(format!("http://{}", rest.trim()))
                            .unwrap_or_default();
                        sent = true;
                    }
                }
                // Keep draining so moto never blocks on a full pipe.
            }
        });
        let endpoint = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("moto_server did not start within 30 s");
        Moto { child, endpoint }
    }

    fn sdk_config(&self) -> aws_config::SdkConfig {
        sdk_config(&self.endpoint)
    }

    pub fn kinesis(&self) -> aws_sdk_kinesis::Client {
        aws_sdk_kinesis::Client::new(&self.sdk_config())
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk_config())
    }

    /// Environment for a kcl-bridge process talking to this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.child.kill().unwrap_or_default();
        self.child.wait().map(|_| ()).unwrap_or_default();
    }
}

/// Creates a stream and waits until it is ACTIVE.
pub async fn create_stream(k: &aws_sdk_kinesis::Client, name: &str, shards: i32) {
    k.create_stream()
        .stream_name(name)
        .shard_count(shards)
        .send()
        .await
        .expect("CreateStream");
    eventually(
        Duration::from_secs(10),
        &format!("stream {name} ACTIVE"),
        || async move {
            let d = k
                .describe_stream_summary()
                .stream_name(name)
                .send()
                .await
                .expect("DescribeStreamSummary");
            d.stream_description_summary()
                .map(|s| s.stream_status().as_str())
                == Some("ACTIVE")
        },
    )
    .await;
}

/// Waits until ListShards shows `open` open shards (no ending sequence number): a split or merge
/// has taken effect, so records put from now on land in the new shards.
pub async fn wait_open_shards(k: &aws_sdk_kinesis::Client, name: &str, open: usize) {
    eventually(
        Duration::from_secs(10),
        &format!("{open} open shards in stream {name}"),
        || async move {
            let shards = k
                .list_shards()
                .stream_name(name)
                .send()
                .await
                .expect("ListShards");
            let now_open = shards
                .shards()
                .iter()
                .filter(|s| {
                    s.sequence_number_range()
                        .and_then(|r| r.ending_sequence_number())
                        .is_none()
                })
                .count();
            now_open == open
        },
    )
    .await;
}

/// Puts records `data-<i>` for i in `range` with partition keys spreading them over shards;
/// returns (shard id, sequence number, data) per record.
pub async fn put_records(
    k: &aws_sdk_kinesis::Client,
    stream: &str,
    range: std::ops::Range<usize>,
) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for i in range {
        let data = format!("data-{i}");
        let r = k
            .put_record()
            .stream_name(stream)
            .partition_key(format!("pk-{i}"))
            .data(Blob::new(data.clone().into_bytes()))
            .send()
            .await
            .expect("PutRecord");
        out.push((
            r.shard_id().to_owned(),
            r.sequence_number().to_owned(),
            data,
        ));
    }
    out
}

/// Every lease row of a table, as key → attributes.
pub async fn lease_rows(
    d: &aws_sdk_dynamodb::Client,
    table: &str,
) -> std::collections::BTreeMap<String, std::collections::HashMap<String, AttributeValue>> {
    let out = match d
        .scan()
        .table_name(table)
        .consistent_read(true)
        .send()
        .await
    {
        Ok(out) => out,
        // The worker has not created the table yet.
        Err(e)
            if aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&e)
                == Some("ResourceNotFoundException") =>
        {
            return Default::default()
        }
        Err(e) => panic!("Scan: {e:?}"),
    };
    out.items()
        .iter()
        .filter_map(|i| Some((i.get("leaseKey")?.as_s().ok()?.clone(), i.clone())))
        .collect()
}

pub fn attr_s(row: &std::collections::HashMap<String, AttributeValue>, k: &str) -> Option<String> {
    row.get(k).and_then(|v| v.as_s().ok()).cloned()
}

/// A running ferrokinesis (Kinesis only, with resharding and iterator expiry); killed on drop.
pub struct Ferro {
    child: Child,
    pub endpoint: String,
}

impl Ferro {
    /// Starts ferrokinesis on a free loopback port; `iterator_ttl` shortens iterator expiry.
    pub async fn start(iterator_ttl: Option<u32>) -> Ferro {
        let exe = harness::repo().join(".test-env/cargo/bin/ferrokinesis");
        assert!(
            exe.exists(),
            "{} is missing: run scripts/setup-test-env.sh",
            exe.display()
        );
        // ferrokinesis does not report an ephemeral port: pick a free one.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new(exe);
        cmd.args([
            "--port",
            &port.to_string(),
            "--create-stream-ms",
            "0",
            "--update-stream-ms",
            "0",
            "--shard-limit",
            "100",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        if let Some(ttl) = iterator_ttl {
            cmd.args(["--iterator-ttl-seconds", &ttl.to_string()]);
        }
        let child = cmd.spawn().expect("start ferrokinesis");
        let ferro = Ferro {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        // Ready when a signed call succeeds.
        let k = ferro.kinesis();
        for _ in 0..200 {
            if k.list_streams().send().await.is_ok() {
                return ferro;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("ferrokinesis did not answer within 5 s");
    }

    pub fn kinesis(&self) -> aws_sdk_kinesis::Client {
        aws_sdk_kinesis::Client::new(&sdk_config(&self.endpoint))
    }
}

impl Drop for Ferro {
    fn drop(&mut self) {
        self.child.kill().unwrap_or_default();
        self.child.wait().map(|_| ()).unwrap_or_default();
    }
}

/// SDK configuration for a local emulator: us-east-1, fixed test credentials.
pub fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .http_client(kcl_bridge::aws::http_client())
        .endpoint_url(endpoint)
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new("test", "test", None, None, "tests"),
            ),
        )
        .build()
}

/// A daemon process (kcl-bridge or Java) with its stderr in a log file; killed when dropped.
pub struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    /// Spawns `cmd` with no stdin, no stdout and stderr into `log`.
    pub fn spawn(mut cmd: Command, log: PathBuf) -> Daemon {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Daemon { child, log }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }

    /// Sends SIGTERM; the process must then exit 0 within `limit`.
    pub fn stop(&mut self, limit: Duration) {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        let code = self.wait(limit);
        assert_eq!(code, 0, "exit status after SIGTERM\n{}", tail(&self.log()));
    }

    /// Waits for the process to exit; fails the test after `limit`.
    pub fn wait(&mut self, limit: Duration) -> i32 {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "process did not exit within {limit:?}\n{}",
                tail(&self.log())
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.child.kill().unwrap_or_default();
        self.child.wait().map(|_| ()).unwrap_or_default();
    }
}

/// The end of a long log, for failure messages.
pub fn tail(s: &str) -> &str {
    let mut start = s.len().saturating_sub(6000);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// Polls `check` every 50 ms until it returns true; fails with `what` after `limit`.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

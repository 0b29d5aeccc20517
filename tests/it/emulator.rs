//! A real local AWS emulator for the worker tests: `moto_server` (Kinesis + DynamoDB) from the
//! test venv, on 127.0.0.1 and a port it picks, started and stopped by the test.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

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
        let exe = harness::repo().join(".venv/bin/moto_server");
        assert!(
            exe.exists(),
            "{} is missing: run scripts/setup-test-env.sh",
            exe.display()
        );
        let mut child = Command::new(exe)
            .args(["-H", "127.0.0.1", "-p", "0"])
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
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_credential_types::Credentials::new("test", "test", None, None, "tests"),
                ),
            )
            .build()
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
    for _ in 0..100 {
        let d = k
            .describe_stream_summary()
            .stream_name(name)
            .send()
            .await
            .expect("DescribeStreamSummary");
        if d.stream_description_summary()
            .map(|s| s.stream_status().as_str())
            == Some("ACTIVE")
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("stream {name} did not become ACTIVE");
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
        let conf = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_credential_types::Credentials::new("test", "test", None, None, "tests"),
                ),
            )
            .build();
        aws_sdk_kinesis::Client::new(&conf)
    }
}

impl Drop for Ferro {
    fn drop(&mut self) {
        self.child.kill().unwrap_or_default();
        self.child.wait().map(|_| ()).unwrap_or_default();
    }
}

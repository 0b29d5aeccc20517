//! Side by side with the real Java KCL 3.x MultiLangDaemon (jars from PyPI's kclpy-ext), on one
//! emulator: moto served by hypercorn (`scripts/java/moto_h2.py`), which speaks the cleartext
//! HTTP/2 Java's Kinesis client needs and the HTTP/1.1 kcl-bridge and the tests use. The child is
//! the real amazon_kclpy in both daemons. See `tests/java/README.md` for the recipe.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::emulator::{attr_s, create_stream, eventually, lease_rows, put_records, tail, Daemon};
use crate::harness::{self, workdir};

/// moto under hypercorn; stopped when dropped.
struct MotoH2 {
    child: Child,
    endpoint: String,
}

impl MotoH2 {
    fn start() -> MotoH2 {
        let repo = harness::repo();
        let mut child = Command::new(harness::venv_python())
            .arg(repo.join("scripts/java/moto_h2.py"))
            .arg("0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_h2.py");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("moto-h2 ready ") {
                    tx.send(url.trim().to_owned()).unwrap_or_default();
                }
            }
        });
        let endpoint = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("moto-h2 did not become ready");
        MotoH2 { child, endpoint }
    }

    fn sdk(&self) -> aws_config::SdkConfig {
        crate::emulator::sdk_config(&self.endpoint)
    }
}

impl Drop for MotoH2 {
    fn drop(&mut self) {
        self.child.kill().unwrap_or_default();
        self.child.wait().map(|_| ()).unwrap_or_default();
    }
}

/// Starts Java's MultiLangDaemon (`java`) or kcl-bridge on `<name>.properties` in `dir`.
fn start(dir: &Path, name: &str, java: bool, properties: &str, records_out: &Path) -> Daemon {
    let props = dir.join(format!("{name}.properties"));
    std::fs::write(&props, properties).unwrap();
    let mut cmd = if java {
        Command::new(harness::repo().join("scripts/java/run-daemon.sh"))
    } else {
        Command::new(harness::bin())
    };
    cmd.arg(&props)
        .current_dir(dir)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("KCLB_SCENARIO", "normal")
        .env("KCLB_RECORDS_OUT", records_out);
    Daemon::spawn(cmd, dir.join(format!("{name}.log")))
}

/// The properties both daemons read: the same file format, the same keys.
fn properties(endpoint: &str, app: &str, worker: &str, extra: &str) -> String {
    let repo = harness::repo();
    format!(
        "executableName = {py} {app_py}\nstreamName = {app}\napplicationName = {app}\nworkerId = {worker}\n\
         initialPositionInStream = TRIM_HORIZON\nAwsCredentialsProvider = DefaultCredentialsProvider\n\
         regionName = us-east-1\nkinesisEndpoint = {endpoint}\ndynamoDBEndpoint = {endpoint}\nmetricsLevel = NONE\n\
         idleTimeBetweenReadsInMillis = 250\nmaxRecords = 1000\nfailoverTimeMillis = 3000\n\
         shardSyncIntervalMillis = 1000\nleaseAssignmentIntervalMillis = 1000\nworkerMetricsReporterFreqInMillis = 1000\n\
         shutdownGraceMillis = 10000\nparentShardPollIntervalMillis = 500\n{extra}",
        py = harness::venv_python().display(),
        app_py = repo.join("tests/apps/kclpy_app.py").display(),
    )
}

const COMPATIBLE_WITH_2X: &str = "clientVersionConfig = CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X\n";

/// (shard, sequence number) of every record the children received, in order.
fn received(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Some((f.first()?.to_string(), f.get(1)?.to_string()))
        })
        .collect()
}

fn owners(
    rows: &std::collections::BTreeMap<
        String,
        std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    >,
) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for (key, r) in rows {
        if key.starts_with("shardId-") {
            *counts
                .entry(attr_s(r, "leaseOwner").unwrap_or_default())
                .or_insert(0) += 1;
        }
    }
    counts
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Whether every put record (shard, sequence number) was received at least once.
fn all_received(got: &[(String, String)], put: &[(String, String, String)]) -> bool {
    put.iter()
        .all(|p| got.iter().any(|g| g.0 == p.0 && g.1 == p.1))
}

/// One test's world: moto behind hypercorn, its clients, a new stream, a work directory and the
/// file the children write what they receive to.
struct World {
    moto: MotoH2,
    k: aws_sdk_kinesis::Client,
    d: aws_sdk_dynamodb::Client,
    app: String,
    dir: tempfile::TempDir,
    out: std::path::PathBuf,
}

impl World {
    /// A stream (and application) named `<prefix>-<uuid>` with `shards` shards.
    async fn new(prefix: &str, shards: i32) -> World {
        let moto = MotoH2::start();
        let k = aws_sdk_kinesis::Client::new(&moto.sdk());
        let d = aws_sdk_dynamodb::Client::new(&moto.sdk());
        let app = unique(prefix);
        create_stream(&k, &app, shards).await;
        let dir = workdir();
        let out = dir.path().join("received.tsv");
        World {
            moto,
            k,
            d,
            app,
            dir,
            out,
        }
    }
}

/// Starts a daemon after the previous one stopped, and waits until it has delivered `batch`: every
/// record of it, and nothing more (it resumed exactly after the previous one's checkpoints).
#[allow(clippy::too_many_arguments)]
async fn start_and_resume(
    dir: &Path,
    name: &str,
    java: bool,
    properties: &str,
    records_out: &Path,
    batch: &[(String, String, String)],
    limit: Duration,
    what: &str,
) -> Daemon {
    let before = received(records_out).len();
    let daemon = start(dir, name, java, properties, records_out);
    eventually(limit, what, || async {
        all_received(&received(records_out), batch)
    })
    .await;
    let got = received(records_out);
    assert_eq!(
        got.len() - before,
        batch.len(),
        "{what}: {:?}",
        &got[before..]
    );
    daemon
}

/// (a) Java consumes part of a stream and stops; kcl-bridge resumes from Java's checkpoints with
/// no loss. (b) The reverse: kcl-bridge stops, Java resumes from kcl-bridge's checkpoints.
#[tokio::test(flavor = "multi_thread")]
async fn java_then_kcl_bridge_then_java() {
    let World {
        moto,
        k,
        d,
        app,
        dir,
        out,
    } = World::new("handover", 2).await;
    let first = put_records(&k, &app, 0..20).await;

    // (a) Java, default (3.x) mode, consumes the first 20 and stops gracefully.
    let mut java = start(
        dir.path(),
        "java1",
        true,
        &properties(&moto.endpoint, &app, "java-1", ""),
        &out,
    );
    eventually(
        Duration::from_secs(120),
        "Java delivered the first 20 records",
        || async { received(&out).len() >= 20 },
    )
    .await;
    java.signal(nix::sys::signal::Signal::SIGTERM);
    java.wait(Duration::from_secs(60));
    let java_checkpoints: Vec<Option<String>> = lease_rows(&d, &app)
        .await
        .iter()
        .filter(|(k, _)| k.starts_with("shardId-"))
        .map(|(_, r)| attr_s(r, "checkpoint"))
        .collect();
    assert_eq!(
        java_checkpoints.len(),
        2,
        "Java created one lease per shard"
    );
    let second = put_records(&k, &app, 20..30).await;
    // Java never releases its leases: kcl-bridge waits out two worker-metrics periods (2 s),
    // sees the leases unchanged for failoverTimeMillis (3 s) and takes them at its next taker
    // run (every 6.05 s), so about 6 s; the limit allows four taker periods.
    let mut bridge = start_and_resume(
        dir.path(),
        "bridge",
        false,
        &properties(&moto.endpoint, &app, "rust-1", ""),
        &out,
        &second,
        Duration::from_secs(24),
        "kcl-bridge resumed after Java's checkpoints",
    )
    .await;
    assert!(
        bridge.log().contains("taking over a KCL 3.x application"),
        "{}",
        tail(&bridge.log())
    );
    bridge.stop(Duration::from_secs(30));

    // (b) Java resumes from kcl-bridge's checkpoints (the leases were released).
    let third = put_records(&k, &app, 30..40).await;
    let mut java = start_and_resume(
        dir.path(),
        "java2",
        true,
        &properties(&moto.endpoint, &app, "java-2", ""),
        &out,
        &third,
        Duration::from_secs(120),
        "Java resumed after kcl-bridge's checkpoints",
    )
    .await;
    assert!(
        all_received(&received(&out), &[first, second, third].concat()),
        "a record was lost"
    );
    java.signal(nix::sys::signal::Signal::SIGTERM);
    java.wait(Duration::from_secs(60));
}

/// (b) on a new application: kcl-bridge creates the lease table and the leases, consumes and
/// stops; Java, in its default (3.x) mode, reads that table and resumes from kcl-bridge's
/// checkpoints with no loss and no repeat.
#[tokio::test(flavor = "multi_thread")]
async fn java_resumes_on_a_table_kcl_bridge_created() {
    let World {
        moto,
        k,
        d,
        app,
        dir,
        out,
    } = World::new("created", 2).await;
    let first = put_records(&k, &app, 0..10).await;
    let mut bridge = start_and_resume(
        dir.path(),
        "bridge",
        false,
        &properties(&moto.endpoint, &app, "rust-1", ""),
        &out,
        &first,
        Duration::from_secs(60),
        "kcl-bridge consumed a new application",
    )
    .await;
    bridge.stop(Duration::from_secs(30));
    let rows = lease_rows(&d, &app).await;
    assert_eq!(
        rows.keys().filter(|k| k.starts_with("shardId-")).count(),
        2,
        "kcl-bridge created one lease per shard: {rows:?}"
    );

    let second = put_records(&k, &app, 10..20).await;
    let mut java = start_and_resume(
        dir.path(),
        "java",
        true,
        &properties(&moto.endpoint, &app, "java-1", ""),
        &out,
        &second,
        Duration::from_secs(120),
        "Java resumed on kcl-bridge's table",
    )
    .await;
    assert!(
        all_received(&received(&out), &[first, second].concat()),
        "a record was lost"
    );
    java.signal(nix::sys::signal::Signal::SIGTERM);
    java.wait(Duration::from_secs(60));
}

/// (c) Java in CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X and kcl-bridge share 4 shards and both
/// process; when Java is killed kcl-bridge takes over, and when kcl-bridge is killed Java does,
/// with no record lost.
#[tokio::test(flavor = "multi_thread")]
async fn java_2x_compatible_and_kcl_bridge_share_and_fail_over() {
    let World {
        moto,
        k,
        d,
        app,
        dir,
        out,
    } = World::new("share", 4).await;
    let mut java = start(
        dir.path(),
        "java",
        true,
        &properties(&moto.endpoint, &app, "java-1", COMPATIBLE_WITH_2X),
        &out,
    );
    let mut bridge = start(
        dir.path(),
        "bridge",
        false,
        &properties(&moto.endpoint, &app, "rust-1", COMPATIBLE_WITH_2X),
        &out,
    );
    eventually(Duration::from_secs(180), "both own leases", || async {
        let o = owners(&lease_rows(&d, &app).await);
        o.get("java-1").copied().unwrap_or(0) >= 1 && o.get("rust-1").copied().unwrap_or(0) >= 1
    })
    .await;
    let mut put = put_records(&k, &app, 0..40).await;
    eventually(Duration::from_secs(60), "all 40 records", || async {
        all_received(&received(&out), &put)
    })
    .await;

    // Kill Java: kcl-bridge takes its leases after they expire.
    java.signal(nix::sys::signal::Signal::SIGKILL);
    java.wait(Duration::from_secs(10));
    put.extend(put_records(&k, &app, 40..60).await);
    eventually(
        Duration::from_secs(60),
        "kcl-bridge owns all 4 leases",
        || async { owners(&lease_rows(&d, &app).await).get("rust-1") == Some(&4) },
    )
    .await;
    eventually(Duration::from_secs(60), "all 60 records", || async {
        all_received(&received(&out), &put)
    })
    .await;

    // A new Java worker shares again; then kill kcl-bridge: Java takes everything.
    let mut java = start(
        dir.path(),
        "java2",
        true,
        &properties(&moto.endpoint, &app, "java-2", COMPATIBLE_WITH_2X),
        &out,
    );
    eventually(Duration::from_secs(180), "Java took a share", || async {
        owners(&lease_rows(&d, &app).await)
            .get("java-2")
            .copied()
            .unwrap_or(0)
            >= 1
    })
    .await;
    bridge.signal(nix::sys::signal::Signal::SIGKILL);
    bridge.wait(Duration::from_secs(10));
    put.extend(put_records(&k, &app, 60..80).await);
    eventually(
        Duration::from_secs(120),
        "Java owns all 4 leases",
        || async { owners(&lease_rows(&d, &app).await).get("java-2") == Some(&4) },
    )
    .await;
    eventually(Duration::from_secs(60), "all 80 records", || async {
        all_received(&received(&out), &put)
    })
    .await;
    java.signal(nix::sys::signal::Signal::SIGTERM);
    java.wait(Duration::from_secs(60));
}

/// (d) Beside a running Java worker in its default 3.x mode, kcl-bridge takes no lease and exits
/// with the explanation.
#[tokio::test(flavor = "multi_thread")]
async fn beside_a_running_java_3x_worker_kcl_bridge_takes_nothing() {
    let World {
        moto,
        k,
        d,
        app,
        dir,
        out,
    } = World::new("v3live", 2).await;
    put_records(&k, &app, 0..10).await;
    let mut java = start(
        dir.path(),
        "java",
        true,
        &properties(&moto.endpoint, &app, "java-1", ""),
        &out,
    );
    eventually(Duration::from_secs(120), "Java is processing", || async {
        received(&out).len() >= 10
    })
    .await;
    let before = lease_rows(&d, &app).await;
    let mut bridge = start(
        dir.path(),
        "bridge",
        false,
        &properties(&moto.endpoint, &app, "rust-1", ""),
        &out,
    );
    let code = bridge.wait(Duration::from_secs(60));
    let log = bridge.log();
    assert_eq!(code, 1, "{}", tail(&log));
    assert!(
        log.contains("java-1") && log.contains("CLIENT_VERSION_3X"),
        "{}",
        tail(&log)
    );
    let after = lease_rows(&d, &app).await;
    assert_eq!(
        owners(&after).get("rust-1"),
        None,
        "kcl-bridge took a lease: {after:?}"
    );
    assert_eq!(owners(&before), owners(&after), "Java's leases untouched");
    java.signal(nix::sys::signal::Signal::SIGTERM);
    java.wait(Duration::from_secs(60));
}

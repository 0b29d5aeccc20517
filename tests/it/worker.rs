//! The Kinesis worker against a real local emulator (moto: Kinesis + DynamoDB), with the real
//! amazon_kclpy as the child. Each test asserts on what the child saw and on the lease rows.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;

use crate::emulator::{
    attr_s, create_stream, eventually, lease_rows, put_records, wait_open_shards, Daemon, Ferro,
    Moto,
};
use crate::harness::{self, workdir};

/// One test's world: its own moto (and ferrokinesis for Kinesis, if asked for), clients on them,
/// a stream named after the test (`app`, also the lease table's name) and a work directory for
/// the workers' properties and logs and for what their children received.
struct Scene {
    moto: Moto,
    ferro: Option<Ferro>,
    /// On ferrokinesis if the scene has it, else on moto.
    k: aws_sdk_kinesis::Client,
    d: aws_sdk_dynamodb::Client,
    app: String,
    dir: tempfile::TempDir,
    /// Where every worker's children write what they received (`received.tsv`).
    out: PathBuf,
}

impl Scene {
    /// A fresh moto with a stream of `shards` shards on it, named `<prefix>-<uuid>`.
    async fn new(prefix: &str, shards: i32) -> Scene {
        let scene = Scene::without_stream(Moto::start(), prefix);
        create_stream(&scene.k, &scene.app, shards).await;
        scene
    }

    /// A fresh moto for DynamoDB and ferrokinesis for Kinesis (its iterators living
    /// `iterator_ttl` seconds, if given), with a stream of `shards` shards on it.
    async fn with_ferro(prefix: &str, shards: i32, iterator_ttl: Option<u32>) -> Scene {
        let mut scene = Scene::without_stream(Moto::start(), prefix);
        let ferro = Ferro::start(iterator_ttl).await;
        scene.k = ferro.kinesis();
        scene.ferro = Some(ferro);
        create_stream(&scene.k, &scene.app, shards).await;
        scene
    }

    /// A scene on `moto` whose stream the test creates itself (or not at all).
    fn without_stream(moto: Moto, prefix: &str) -> Scene {
        let dir = workdir();
        Scene {
            ferro: None,
            k: moto.kinesis(),
            d: moto.dynamodb(),
            app: unique(prefix),
            out: dir.path().join("received.tsv"),
            dir,
            moto,
        }
    }

    /// The tests' properties for worker `name` (its `workerId`), with `extra` keys.
    fn properties(&self, name: &str, extra: &[(&str, &str)]) -> String {
        let mut keys = vec![("workerId", name)];
        keys.extend_from_slice(extra);
        let text = properties(&self.moto, &self.app, &keys);
        match &self.ferro {
            Some(ferro) => text.replace(
                &format!("kinesisEndpoint = {}\n", self.moto.endpoint),
                &format!("kinesisEndpoint = {}\n", ferro.endpoint),
            ),
            None => text,
        }
    }

    /// Starts worker `name` with the tests' properties and `extra` keys.
    fn worker(&self, name: &str, extra: &[(&str, &str)]) -> Daemon {
        self.start(name, &self.properties(name, extra), &[])
    }

    /// Starts `kcl-bridge <name>.properties` in the work directory with the kclpy test app as
    /// the child, and with more environment variables (set last, so they win).
    fn start(&self, name: &str, properties: &str, env: &[(&str, &std::ffi::OsStr)]) -> Daemon {
        let dir = self.dir.path();
        let props = dir.join(format!("{name}.properties"));
        std::fs::write(&props, properties).unwrap();
        let mut cmd = Command::new(harness::bin());
        cmd.arg(&props)
            .current_dir(dir)
            .env("KCLB_SCENARIO", "normal")
            .env("KCLB_RECORDS_OUT", &self.out)
            .env("KCLB_BATCHES_OUT", self.out.with_extension("batches"))
            .env("KCLB_WORKER", name)
            .env("KCL_BRIDGE_LOG", "info");
        for (k, v) in self.moto.env() {
            cmd.env(k, v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        Daemon::spawn(cmd, dir.join(format!("{name}.log")))
    }

    /// Puts records `data-<i>` for i in `range` into the stream (see [`put_records`]).
    async fn put(&self, range: std::ops::Range<usize>) -> Vec<(String, String, String)> {
        put_records(&self.k, &self.app, range).await
    }

    /// Every row of the lease table, by key.
    async fn rows(&self) -> BTreeMap<String, HashMap<String, AttributeValue>> {
        lease_rows(&self.d, &self.app).await
    }

    /// What the children received so far (see [`received`]).
    fn received(&self) -> Vec<(String, String, u64, String)> {
        received(&self.out)
    }

    /// The children received exactly the records `put` (as [`put_records`] returns them), each
    /// once, in this order.
    fn assert_received_in_order<'p>(
        &self,
        put: impl IntoIterator<Item = &'p (String, String, String)>,
    ) {
        let got: Vec<String> = self.received().into_iter().map(|g| g.1).collect();
        let want: Vec<String> = put.into_iter().map(|p| p.1.clone()).collect();
        assert_eq!(got, want, "every record once, in order");
    }

    /// Creates the lease table holding `rows`, starts worker "w" on it and waits until its
    /// children have received `records` records.
    async fn worker_on_table(
        &self,
        rows: Vec<Vec<(&str, AttributeValue)>>,
        records: usize,
    ) -> Daemon {
        create_lease_table_with(&self.d, &self.app, rows).await;
        let w = self.worker("w", &[]);
        eventually(
            Duration::from_secs(30),
            &format!("{records} records received"),
            || async { self.received().len() >= records },
        )
        .await;
        w
    }
}

/// What the children received: (shard, sequence number, sub-sequence number, data), in order.
fn received(path: &Path) -> Vec<(String, String, u64, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let data = base64::engine::general_purpose::STANDARD
                .decode(f.get(3)?)
                .ok()?;
            Some((
                f[0].to_owned(),
                f[1].to_owned(),
                f[2].parse().ok()?,
                String::from_utf8_lossy(&data).into_owned(),
            ))
        })
        .collect()
}

/// One processRecords call as a child saw it (`KCLB_BATCHES_OUT` of tests/apps/kclpy_app.py).
#[derive(Debug)]
struct HeldBatch {
    worker: String,
    shard: String,
    /// CLOCK_MONOTONIC nanoseconds: the call's start and return.
    from: u128,
    to: u128,
    first: String,
    last: String,
}

fn batches(records_out: &Path) -> Vec<HeldBatch> {
    std::fs::read_to_string(records_out.with_extension("batches"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 6, "batch line {l:?}");
            HeldBatch {
                worker: f[0].to_owned(),
                shard: f[1].to_owned(),
                from: f[2].parse().unwrap(),
                to: f[3].parse().unwrap(),
                first: f[4].to_owned(),
                last: f[5].to_owned(),
            }
        })
        .collect()
}

/// No record was held by two workers' children at the same time: any two batches of one shard
/// from different workers that share a record did not overlap in time. Returns how many pairs
/// of batches shared records (re-deliveries after a hand-over), so a caller can tell the check
/// had something to look at.
fn assert_no_record_held_twice_at_once(records_out: &Path) -> usize {
    let all = batches(records_out);
    let number = |s: &str| (s.len(), s.to_owned());
    let mut shared = 0;
    for (i, x) in all.iter().enumerate() {
        for y in &all[i + 1..] {
            if x.shard != y.shard || x.worker == y.worker {
                continue;
            }
            let records_meet =
                number(&x.first) <= number(&y.last) && number(&y.first) <= number(&x.last);
            if !records_meet {
                continue;
            }
            shared += 1;
            assert!(
                x.to < y.from || y.to < x.from,
                "two workers' children held records of {} at the same time:\n{x:?}\n{y:?}",
                x.shard
            );
        }
    }
    shared
}

fn properties(moto: &Moto, app: &str, extra: &[(&str, &str)]) -> String {
    let repo = harness::repo();
    let mut s = format!(
        "executableName = {} {}\napplicationName = {app}\nstreamName = {app}\n\
         AwsCredentialsProvider = DefaultCredentialsProvider\nregionName = us-east-1\n\
         kinesisEndpoint = {ep}\ndynamoDBEndpoint = {ep}\ninitialPositionInStream = TRIM_HORIZON\n\
         idleTimeBetweenReadsInMillis = 200\nfailoverTimeMillis = 3000\nshardSyncIntervalMillis = 5000\n\
         shutdownGraceMillis = 10000\nparentShardPollIntervalMillis = 500\n",
        harness::venv_python().display(),
        repo.join("tests/apps/kclpy_app.py").display(),
        ep = moto.endpoint,
    );
    for (k, v) in extra {
        s.push_str(&format!("{k} = {v}\n"));
    }
    s
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// 1 shard: every record exactly once, the stored checkpoint is the last sequence number, the
/// lease is released on SIGTERM, and a restart resumes after the checkpoint.
#[tokio::test(flavor = "multi_thread")]
async fn single_shard_exactly_once_checkpoint_and_resume() {
    let s = Scene::new("one", 1).await;
    let put = s.put(0..30).await;
    let mut w = s.worker("w1", &[]);
    eventually(Duration::from_secs(30), "30 records received", || async {
        s.received().len() >= 30
    })
    .await;
    let last_seq = put.last().unwrap().1.clone();
    eventually(
        Duration::from_secs(10),
        "checkpoint at the last record",
        || async {
            s.rows()
                .await
                .values()
                .any(|r| attr_s(r, "checkpoint").as_deref() == Some(last_seq.as_str()))
        },
    )
    .await;
    w.stop(Duration::from_secs(20));
    let log = w.log();
    // Each client's effective endpoint is logged at start.
    for client in ["Kinesis", "DynamoDB"] {
        assert!(
            log.lines().any(|l| l.contains("AWS client")
                && l.contains(&format!("client=\"{client}\""))
                && l.contains(&format!("endpoint={}", s.moto.endpoint))),
            "{client} endpoint logged:\n{log}"
        );
    }
    // Batches carry millisBehindLatest through; empty ones are not sent by default.
    assert!(log.contains("records, millisBehindLatest "), "{log}");
    assert!(
        !log.contains(": 0 records"),
        "no empty batch without the setting:\n{log}"
    );
    let rows = s.rows().await;
    assert_eq!(rows.len(), 1, "one lease: {rows:?}");
    let row = rows.values().next().unwrap();
    assert_eq!(attr_s(row, "leaseOwner"), None, "released on SIGTERM");
    assert_eq!(
        attr_s(row, "checkpoint").as_deref(),
        Some(last_seq.as_str())
    );
    let got = s.received();
    let want: Vec<(String, String, u64, String)> = put
        .iter()
        .map(|(shard, seq, data)| (shard.clone(), seq.clone(), 0, data.clone()))
        .collect();
    assert_eq!(got, want, "every record exactly once, in order");

    // Restart: only the new records arrive.
    let more = s.put(30..40).await;
    let mut w = s.start("w1b", &s.properties("w1", &[]), &[]);
    eventually(Duration::from_secs(30), "40 records received", || async {
        s.received().len() >= 40
    })
    .await;
    w.stop(Duration::from_secs(20));
    let got = s.received();
    assert_eq!(
        got.len(),
        40,
        "no record re-delivered after the checkpoint: {:?}",
        &got[30..]
    );
    let tail: Vec<String> = got[30..].iter().map(|r| r.3.clone()).collect();
    let want: Vec<String> = more.iter().map(|r| r.2.clone()).collect();
    assert_eq!(tail, want);
}

/// Two workers on 4 shards split the leases 2/2; SIGKILL of one hands all to the other after
/// the failover time with no record lost; SIGTERM of a worker hands its leases over at once.
#[tokio::test(flavor = "multi_thread")]
async fn two_workers_share_then_fail_over() {
    let s = Scene::new("four", 4).await;
    let first = s.put(0..80).await;
    let mut a = s.worker("a", &[]);
    let b = s.worker("b", &[]);
    let owners = |rows: BTreeMap<String, HashMap<String, AttributeValue>>| {
        let mut counts = BTreeMap::new();
        for r in rows.values() {
            *counts
                .entry(attr_s(r, "leaseOwner").unwrap_or_default())
                .or_insert(0) += 1;
        }
        counts
    };
    // The steal toward 2/2 comes at the lease taker's next run, every 2 × failoverTimeMillis
    // (6 s here): the limit allows three such periods.
    eventually(Duration::from_secs(18), "leases split 2/2", || async {
        let c = owners(s.rows().await);
        c.get("a") == Some(&2) && c.get("b") == Some(&2)
    })
    .await;
    eventually(
        Duration::from_secs(30),
        "the first 80 records received",
        || async {
            let got = s.received();
            first
                .iter()
                .all(|p| got.iter().any(|g| g.1 == p.1 && g.0 == p.0))
        },
    )
    .await;

    // SIGKILL a: b takes everything after the failover time, resuming from a's checkpoints.
    a.signal(nix::sys::signal::Signal::SIGKILL);
    a.wait(Duration::from_secs(5));
    // What a had checkpointed when it died (read before counting what was delivered, so that
    // every delivery counted after is one made after these checkpoints were final or read).
    let a_checkpoints: BTreeMap<String, String> = s
        .rows()
        .await
        .into_iter()
        .filter(|(_, row)| attr_s(row, "leaseOwner").as_deref() == Some("a"))
        .filter_map(|(key, row)| Some((key, attr_s(&row, "checkpoint")?)))
        .collect();
    let delivered_before_kill = s.received().len();
    let second = s.put(80..120).await;
    eventually(Duration::from_secs(60), "b owns all 4 leases", || async {
        owners(s.rows().await).get("b") == Some(&4)
    })
    .await;
    eventually(Duration::from_secs(30), "every record received", || async {
        let got = s.received();
        first
            .iter()
            .chain(&second)
            .all(|p| got.iter().any(|g| g.1 == p.1 && g.0 == p.0))
    })
    .await;
    // Each shard's records reached the children in order, without gaps; duplicates come only
    // from re-reading after the last checkpoint.
    let got = s.received();
    for shard in [
        "shardId-000000000000",
        "shardId-000000000001",
        "shardId-000000000002",
        "shardId-000000000003",
    ] {
        let want: Vec<&String> = first
            .iter()
            .chain(&second)
            .filter(|p| p.0 == shard)
            .map(|p| &p.1)
            .collect();
        let mut seen: Vec<&String> = got.iter().filter(|g| g.0 == shard).map(|g| &g.1).collect();
        seen.dedup();
        let mut unique_in_order = seen.clone();
        unique_in_order.sort_by(|x, y| x.len().cmp(&y.len()).then(x.cmp(y)));
        unique_in_order.dedup();
        assert_eq!(
            unique_in_order, want,
            "shard {shard}: records lost or foreign"
        );
    }
    // Duplicates only after the last checkpoint: nothing a had checkpointed was delivered again.
    let as_number = |s: &str| (s.len(), s.to_owned());
    for (shard, checkpoint) in &a_checkpoints {
        if !checkpoint.bytes().all(|b| b.is_ascii_digit()) {
            continue; // a sentinel: nothing checkpointed yet
        }
        let again: Vec<&String> = got[delivered_before_kill..]
            .iter()
            .filter(|g| &g.0 == shard && as_number(&g.1) <= as_number(checkpoint))
            .map(|g| &g.1)
            .collect();
        assert!(
            again.is_empty(),
            "{shard}: delivered again at or below a's checkpoint {checkpoint}: {again:?}"
        );
    }
    assert!(
        !a_checkpoints.is_empty(),
        "a held leases when it was killed"
    );

    // SIGTERM b with a new worker c running: c owns b's leases at once (released, not expired).
    let c = s.worker("c", &[]);
    let mut b = b;
    eventually(Duration::from_secs(60), "c took its share", || async {
        owners(s.rows().await).get("c").copied().unwrap_or(0) >= 1
    })
    .await;
    let signalled_at = Instant::now();
    b.signal(nix::sys::signal::Signal::SIGTERM);
    eventually(Duration::from_secs(10), "c owns all 4 leases", || async {
        owners(s.rows().await).get("c") == Some(&4)
    })
    .await;
    let took = signalled_at.elapsed();
    assert_eq!(b.wait(Duration::from_secs(20)), 0, "{}", b.log());
    assert!(
        took < Duration::from_secs(2),
        "c took b's leases {took:?} after the SIGTERM\n{}",
        c.log()
    );
    // Through the steals toward 2/2, the fail-over and the hand-over.
    assert_no_record_held_twice_at_once(&s.out);
}

/// Rows of a KCL 3.5 single-table application that are not leases are skipped and never written.
#[tokio::test(flavor = "multi_thread")]
async fn kcl35_non_lease_rows_are_left_alone() {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let s = Scene::new("rows", 1).await;
    s.put(0..5).await;
    // The table as a Java 3.5 leader would leave it: the leader lock and a stale worker row.
    let leader = vec![
        ("leaseKey", A::S("Leader".into())),
        ("entityType", A::S("LEADER".into())),
        ("ownerName", A::S("java-1".into())),
        ("recordVersionNumber", A::S("v1".into())),
    ];
    let metrics = vec![
        ("leaseKey", A::S("java-1".into())),
        ("entityType", A::S("WORKER_METRIC_STATS".into())),
        ("lut", A::N("1700000000".into())),
    ];
    let mut w = s.worker_on_table(vec![leader, metrics], 5).await;
    w.stop(Duration::from_secs(20));
    let rows = s.rows().await;
    assert_eq!(
        attr_s(&rows["Leader"], "recordVersionNumber").as_deref(),
        Some("v1")
    );
    assert_eq!(
        attr_s(&rows["Leader"], "ownerName").as_deref(),
        Some("java-1")
    );
    assert_eq!(rows["java-1"].get("lut"), Some(&A::N("1700000000".into())));
    assert!(
        !rows["java-1"].contains_key("leaseOwner") && !rows["Leader"].contains_key("leaseCounter"),
        "{rows:?}"
    );
}

/// A finished lease whose shard no longer exists (and has no children) is taken, then deleted
/// at a shard sync instead of being renewed for ever; the stream's own shard is consumed as usual.
#[tokio::test(flavor = "multi_thread")]
async fn finished_lease_of_a_shard_that_is_gone_is_deleted() {
    const GONE: &str = "shardId-000000000099";
    let s = Scene::new("gone", 1).await;
    let put = s.put(0..5).await;
    let mut w = s
        .worker_on_table(vec![lease_row(GONE, 7, "SHARD_END")], 5)
        .await;
    eventually(Duration::from_secs(30), "the lease deleted", || async {
        !s.rows().await.contains_key(GONE)
    })
    .await;
    // Logged once DeleteItem has returned: just after the row is gone.
    eventually(Duration::from_secs(5), "the deletion logged", || async {
        w.log().contains("deleted the finished shard's lease")
    })
    .await;
    let log = w.log();
    let deleted = log
        .lines()
        .find(|l| l.contains("deleted the finished shard's lease"))
        .unwrap_or_default();
    assert!(
        deleted.contains(GONE) && deleted.contains("its shard no longer exists"),
        "{log}"
    );
    w.stop(Duration::from_secs(20));
    let rows = s.rows().await;
    assert_eq!(
        rows.keys().cloned().collect::<Vec<_>>(),
        [put[0].0.clone()],
        "only the stream's own shard keeps a lease"
    );
}

/// LATEST starts at the tip: records put before the worker started are not delivered.
#[tokio::test(flavor = "multi_thread")]
async fn latest_starts_at_the_tip() {
    let s = Scene::new("latest", 1).await;
    s.put(0..5).await;
    let mut w = s.worker("l", &[("initialPositionInStream", "LATEST")]);
    eventually(
        Duration::from_secs(30),
        "the lease exists and is owned",
        || async {
            s.rows()
                .await
                .values()
                .any(|r| attr_s(r, "leaseOwner").as_deref() == Some("l"))
        },
    )
    .await;
    // Wait until the consumer is polling at the tip: the child was initialized at LATEST.
    eventually(Duration::from_secs(30), "consumer started", || async {
        w.log().contains("started record processor")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await; // two idle periods: the first GetRecords ran
    let later = s.put(5..8).await;
    eventually(Duration::from_secs(30), "the new records", || async {
        s.received().len() >= 3
    })
    .await;
    let got: Vec<String> = s.received().into_iter().map(|r| r.3).collect();
    assert_eq!(
        got,
        later.iter().map(|r| r.2.clone()).collect::<Vec<_>>(),
        "only records put after the start"
    );
    w.stop(Duration::from_secs(20));
}

/// AT_TIMESTAMP starts at the first record at or after the time: here one between two batches.
#[tokio::test(flavor = "multi_thread")]
async fn at_timestamp_starts_at_the_time() {
    let s = Scene::new("ts", 1).await;
    s.put(0..3).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let after = s.put(3..6).await;
    let props = s
        .properties("t", &[("initialPositionInStreamExtended", &ts.to_string())])
        .replace("initialPositionInStream = TRIM_HORIZON\n", "");
    let mut w = s.start("t", &props, &[]);
    eventually(
        Duration::from_secs(30),
        "records after the timestamp",
        || async { s.received().len() >= 3 },
    )
    .await;
    let got: Vec<String> = s.received().into_iter().map(|r| r.3).collect();
    assert_eq!(got, after.iter().map(|r| r.2.clone()).collect::<Vec<_>>());
    w.stop(Duration::from_secs(20));
}

/// Bad set-ups exit non-zero with a clear message instead of retrying for ever (or exiting 0,
/// as Java does after 20 attempts).
#[tokio::test(flavor = "multi_thread")]
async fn missing_stream_is_a_clear_error() {
    let s = Scene::without_stream(Moto::start(), "no-such-stream");
    let mut w = s.worker("m", &[]);
    let code = w.wait(Duration::from_secs(60));
    assert_eq!(code, 1, "{}", w.log());
    let last = w.log().lines().last().unwrap_or_default().to_owned();
    let said = format!(
        "kcl-bridge: stream {}: not found: ResourceNotFoundException",
        s.app
    );
    assert!(
        last.starts_with(&said)
            && !last.contains("SdkBody")
            && last.matches("ResourceNotFoundException").count() == 1,
        "one clear line, no dump of the response: {last}"
    );
    let tables = s.d.list_tables().send().await.unwrap();
    assert!(
        !tables.table_names().iter().any(|t| t == &s.app),
        "no lease table left behind: {tables:?}"
    );
}

/// Credentials the service rejects are a clear error and exit 1 (Java retries, then exits 0),
/// and the secret never reaches the log.
#[tokio::test(flavor = "multi_thread")]
async fn rejected_credentials_are_a_clear_error() {
    // moto checks signatures once this many requests have gone unchecked.
    let s = Scene::without_stream(
        Moto::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]),
        "creds",
    );
    let secret = "wrong-secret-0123456789";
    let mut w = s.start(
        "creds",
        &s.properties("creds", &[]),
        &[
            ("AWS_ACCESS_KEY_ID", std::ffi::OsStr::new("AKIDNOTAREALKEY")),
            ("AWS_SECRET_ACCESS_KEY", std::ffi::OsStr::new(secret)),
        ],
    );
    let code = w.wait(Duration::from_secs(60));
    let log = w.log();
    assert_eq!(code, 1, "{log}");
    let last = log.lines().last().unwrap_or_default();
    assert!(
        last.contains("kcl-bridge:")
            && last.contains("creds")
            && last.contains("HTTP 403 Forbidden: InvalidClientTokenId")
            && !last.contains("SdkBody"),
        "the last line says what failed: {last}"
    );
    assert!(
        !log.contains("initialization failed; retrying"),
        "rejected credentials are not retried: {log}"
    );
    assert!(!log.contains(secret), "{log}");
}

/// Throttled reads (GetRecords answered with ProvisionedThroughputExceededException, injected by
/// a proxy: the emulators never throttle reads) are retried with back-off on the same iterator:
/// nothing is lost or repeated, the worker does not fail, and the direct GetRecords path stays
/// on (a throttle proves the request was read and signed right).
#[tokio::test(flavor = "multi_thread")]
async fn throttled_reads_back_off_and_lose_nothing() {
    let s = Scene::new("throttled", 1).await;
    let proxy = crate::proxy::ForwardProxy::start();
    let put = s.put(0..3).await;
    proxy.fail(
        "Kinesis_20131202.GetRecords",
        "ProvisionedThroughputExceededException",
        4,
    );
    let mut w = s.start("t", &s.properties("t", &[]), &proxy.env());
    eventually(Duration::from_secs(30), "3 records", || async {
        s.received().len() >= 3
    })
    .await;
    w.stop(Duration::from_secs(20));
    let log = w.log();
    assert_eq!(
        log.matches("GetRecords failed; backing off").count(),
        4,
        "each injected throttle was backed off from once:\n{log}"
    );
    assert!(
        log.contains("ProvisionedThroughputExceededException"),
        "{log}"
    );
    assert!(!log.contains("succeeded through the SDK"), "{log}");
    s.assert_received_in_order(&put);
    let throttled_then_read = proxy
        .seen()
        .iter()
        .filter(|r| r.contains("Kinesis_20131202.GetRecords"))
        .count();
    assert!(throttled_then_read > 4, "the reads went through the proxy");
}

/// A throttled ListShards (LimitExceededException from the test proxy) is tried again
/// `listShardsBackoffTimeInMillis` apart, `maxListShardsRetryAttempts` times in all, as Java's
/// `KinesisShardDetector` does; then the start-up attempt fails and is retried as a whole.
/// Seven throttles outlast one start-up attempt whether or not the SDK retries each call itself.
#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_list_shards_is_tried_again_as_configured() {
    let s = Scene::new("listthrottled", 1).await;
    let proxy = crate::proxy::ForwardProxy::start();
    let put = s.put(0..3).await;
    proxy.fail("Kinesis_20131202.ListShards", "LimitExceededException", 7);
    let props = s.properties(
        "t",
        &[
            ("listShardsBackoffTimeInMillis", "100"),
            ("maxListShardsRetryAttempts", "2"),
            ("schedulerInitializationBackoffTimeMillis", "100"),
        ],
    );
    let mut w = s.start("t", &props, &proxy.env());
    eventually(Duration::from_secs(60), "every record", || async {
        s.received().len() >= put.len()
    })
    .await;
    w.stop(Duration::from_secs(20));
    let log = w.log();
    let tried_again: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("ListShards throttled; trying again"))
        .collect();
    assert!(!tried_again.is_empty(), "{log}");
    assert!(
        tried_again
            .iter()
            .all(|l| l.contains("attempt=2 of=2") && l.contains("retry_in=100ms")),
        "{tried_again:?}"
    );
    assert!(
        log.contains("initialization failed; retrying"),
        "two tries, then the start-up attempt gave up:\n{log}"
    );
    s.assert_received_in_order(&put);
}

/// A shard sync whose ListShards is slow (the test proxy holds it for 8 s) does not hold up
/// lease renewals: they go on meanwhile (`failoverTimeMillis` 3000, so one a second).
#[tokio::test(flavor = "multi_thread")]
async fn renewals_go_on_while_a_shard_sync_waits_for_list_shards() {
    const SHARD: &str = "shardId-000000000000";
    let s = Scene::new("slowlist", 1).await;
    let proxy = crate::proxy::ForwardProxy::start();
    let mut w = s.start("w", &s.properties("w", &[]), &proxy.env());
    eventually(Duration::from_secs(30), "the lease taken", || async {
        s.rows()
            .await
            .get(SHARD)
            .is_some_and(|r| attr_s(r, "leaseOwner").as_deref() == Some("w"))
    })
    .await;
    let held_from = Instant::now();
    proxy.slow_down("Kinesis_20131202.ListShards", Duration::from_secs(8));
    let list_shards_since = |t: Instant| {
        proxy
            .requests()
            .iter()
            .any(|r| r.at > t && r.line.contains("Kinesis_20131202.ListShards"))
    };
    // The next shard sync (every 5 s here) sends one, which the proxy now holds.
    eventually(Duration::from_secs(10), "a held ListShards", || async {
        list_shards_since(held_from)
    })
    .await;
    let counter = || async {
        s.rows().await[SHARD]["leaseCounter"]
            .as_n()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    let at_hold = counter().await;
    eventually(
        Duration::from_secs(6),
        "two renewals while ListShards is held",
        || async { counter().await >= at_hold + 2 },
    )
    .await;
    w.stop(Duration::from_secs(20));
}

/// `millisBehindLatestThresholdForReducedTps`: at the tip (moto says `MillisBehindLatest` 0 once
/// every record is read) GetRecords calls are at least the threshold apart instead of
/// `idleTimeBetweenReadsInMillis` (200 ms here), and records still arrive. The calls are timed
/// as the test proxy read them.
#[tokio::test(flavor = "multi_thread")]
async fn near_the_tip_reads_slow_down_to_the_reduced_tps_threshold() {
    let s = Scene::new("reduced", 1).await;
    let proxy = crate::proxy::ForwardProxy::start();
    let put = s.put(0..3).await;
    let props = s.properties("r", &[("millisBehindLatestThresholdForReducedTps", "2000")]);
    let mut w = s.start("r", &props, &proxy.env());
    let get_records = || -> Vec<Instant> {
        proxy
            .requests()
            .into_iter()
            .filter(|r| r.line.contains("Kinesis_20131202.GetRecords"))
            .map(|r| r.at)
            .collect()
    };
    eventually(Duration::from_secs(60), "five GetRecords calls", || async {
        get_records().len() >= 5
    })
    .await;
    let more = s.put(3..5).await;
    eventually(Duration::from_secs(30), "every record", || async {
        s.received().len() >= 5
    })
    .await;
    w.stop(Duration::from_secs(20));
    s.assert_received_in_order(put.iter().chain(&more));
    // Every response said the shard is at the tip, so no call follows the one before sooner
    // than the threshold (less a margin for when the proxy got to read each request).
    let calls = get_records();
    for pair in calls.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(1500),
            "GetRecords {gap:?} after the one before, at the tip: {:?}",
            calls.windows(2).map(|p| p[1] - p[0]).collect::<Vec<_>>()
        );
    }
}

/// Renewals that come back slowly (the test proxy holds every DynamoDB UpdateItem for 1.5 s;
/// with `failoverTimeMillis` 3000 a batch waits once the lease's last confirmation is 2 s old;
/// renewals then run back to back every 1.5 s, each confirming the lease as of its sending, so
/// the confirmation is over 2 s old two thirds of the time): the worker holds such a batch until a
/// renewal confirms the lease again, says so, and goes on. Records arrive one by one for a few
/// seconds (about twenty batches; the child does not checkpoint, so only renewals confirm);
/// every one arrives once, in order, and the lease stays the worker's.
#[tokio::test(flavor = "multi_thread")]
async fn slow_renewals_hold_batches_until_the_lease_is_confirmed() {
    let s = Scene::new("slowrenew", 1).await;
    let proxy = crate::proxy::ForwardProxy::start();
    proxy.slow_down("DynamoDB_20120810.UpdateItem", Duration::from_millis(1500));
    let mut env = proxy.env().to_vec();
    env.push(("KCLB_SCENARIO", std::ffi::OsStr::new("no-checkpoint")));
    let mut w = s.start("s", &s.properties("s", &[]), &env);
    eventually(
        Duration::from_secs(30),
        "the shard's lease taken",
        || async { w.log().contains("took lease") },
    )
    .await;
    let mut put = Vec::new();
    for i in 0..20 {
        put.extend(s.put(i..i + 1).await);
        tokio::time::sleep(Duration::from_millis(250)).await; // pacing the producer, not a wait
    }
    eventually(Duration::from_secs(60), "every record", || async {
        s.received().len() >= put.len()
    })
    .await;
    let log = w.log();
    assert!(
        log.contains("holding the next batch until a renewal confirms the lease"),
        "{log}"
    );
    assert_eq!(
        attr_s(&s.rows().await[&put[0].0], "leaseOwner").as_deref(),
        Some("s")
    );
    w.stop(Duration::from_secs(30));
    s.assert_received_in_order(&put);
}

/// A child that does not answer `shutdownRequested` within `shutdownGraceMillis` does not hold
/// the worker up: at the end of the grace period it is stopped, the lease is released anyway,
/// and the worker exits 0.
#[tokio::test(flavor = "multi_thread")]
async fn the_grace_period_bounds_a_slow_shutdown() {
    let s = Scene::new("grace", 1).await;
    s.put(0..3).await;
    let mut w = s.start(
        "g",
        &s.properties("g", &[("shutdownGraceMillis", "1500")]),
        &[("KCLB_SCENARIO", std::ffi::OsStr::new("slow-shutdown"))],
    );
    eventually(Duration::from_secs(30), "3 records", || async {
        s.received().len() >= 3
    })
    .await;
    let child = w
        .log()
        .lines()
        .find_map(|l| {
            l.split("started record processor pid=")
                .nth(1)
                .map(|rest| rest.split_whitespace().next().unwrap_or("").to_owned())
        })
        .expect("the child's pid is logged");
    let signalled = Instant::now();
    w.stop(Duration::from_secs(20));
    let took = signalled.elapsed();
    let log = w.log();
    assert!(log.contains("shutdown requested"), "{log}");
    assert!(log.contains("grace period over"), "{log}");
    assert!(
        took < Duration::from_secs(10),
        "exited {took:?} after SIGTERM, not after the child's 60 s"
    );
    let rows = s.rows().await;
    assert_eq!(
        attr_s(&rows["shardId-000000000000"], "leaseOwner"),
        None,
        "released: {rows:?}"
    );
    let pid = nix::unistd::Pid::from_raw(child.parse().unwrap());
    // Gone, or a zombie waiting for whoever inherited it to reap it: not running either way.
    eventually(Duration::from_secs(5), "the slow child gone", || async {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .chars()
            .next();
        nix::sys::signal::kill(pid, None).is_err() || state == Some('Z')
    })
    .await;
}

/// `callProcessRecordsEvenForEmptyRecordList = true`: a caught-up shard's empty batches reach
/// the child too, with millisBehindLatest.
#[tokio::test(flavor = "multi_thread")]
async fn empty_batches_reach_the_child_when_asked_for() {
    let s = Scene::new("empty", 1).await;
    s.put(0..2).await;
    let mut w = s.worker("e", &[("callProcessRecordsEvenForEmptyRecordList", "true")]);
    eventually(
        Duration::from_secs(30),
        "two empty batches after the records",
        || async { w.log().matches(": 0 records, millisBehindLatest ").count() >= 2 },
    )
    .await;
    assert_eq!(s.received().len(), 2);
    w.stop(Duration::from_secs(20));
}

/// A lease taken from under a worker (another worker's take, done here by the test): the
/// worker's next renewal fails, its child gets `leaseLost`, and nothing is checkpointed under the
/// lease while the other owner has it. Once that owner lets it expire, the worker takes it back
/// and goes on from the last checkpoint.
#[tokio::test(flavor = "multi_thread")]
async fn a_lease_taken_away_ends_the_child_and_its_checkpoints() {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let s = Scene::new("stolen", 1).await;
    let first = s.put(0..5).await;
    let mut w = s.worker("w", &[]);
    const SHARD: &str = "shardId-000000000000";
    let last = first.last().unwrap().1.clone();
    eventually(
        Duration::from_secs(30),
        "the first 5 records checkpointed",
        || async {
            let rows = s.rows().await;
            rows.get(SHARD)
                .and_then(|r| attr_s(r, "checkpoint"))
                .as_deref()
                == Some(last.as_str())
        },
    )
    .await;

    // Another worker takes the lease: owner and counter change, as a take does.
    let row = s.rows().await[SHARD].clone();
    let counter: u64 = row["leaseCounter"].as_n().unwrap().parse().unwrap();
    s.d.update_item()
        .table_name(&s.app)
        .key("leaseKey", A::S(SHARD.into()))
        .update_expression("SET leaseOwner = :thief, leaseCounter = :next")
        .condition_expression("leaseCounter = :c")
        .expression_attribute_values(":thief", A::S("thief".into()))
        .expression_attribute_values(":next", A::N((counter + 1).to_string()))
        .expression_attribute_values(":c", A::N(counter.to_string()))
        .send()
        .await
        .unwrap();
    let stolen_at = s.received().len();
    eventually(
        Duration::from_secs(15),
        "the child told its lease is lost",
        || async { w.log().contains("kclpy_app[v3/normal") && w.log().contains("lease lost") },
    )
    .await;
    let log = w.log();
    assert!(
        log.lines()
            .any(|l| l.contains("lease lost: another worker changed it")
                && l.contains(&format!("counter {} held by thief", counter + 1))),
        "the WARN says who has it now:\n{log}"
    );
    // Records that arrive now are not read, and nothing is checkpointed, for as long as the
    // thief holds the lease (watched until the worker takes it back).
    let second = s.put(5..8).await;
    let mut watched = 0;
    loop {
        let delivered = s.received().len();
        let row = s.rows().await[SHARD].clone();
        if attr_s(&row, "leaseOwner").as_deref() != Some("thief") {
            break;
        }
        watched += 1;
        assert_eq!(attr_s(&row, "checkpoint").as_deref(), Some(last.as_str()));
        assert_eq!(delivered, stolen_at, "delivered under a lost lease");
        assert!(
            watched < 300,
            "the worker never took the lease back:\n{}",
            w.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(watched > 0, "the thief's tenure was watched");

    // The thief never renews: after failoverTimeMillis the worker takes the lease back.
    eventually(
        Duration::from_secs(30),
        "the new records after the take-back",
        || async {
            let got = s.received();
            second.iter().all(|p| got.iter().any(|g| g.1 == p.1))
        },
    )
    .await;
    let rows = s.rows().await;
    assert_eq!(attr_s(&rows[SHARD], "leaseOwner").as_deref(), Some("w"));
    let got = s.received();
    assert!(
        got[stolen_at..]
            .iter()
            .all(|g| (g.1.len(), &g.1) > (last.len(), &last)),
        "resumed after the last checkpoint: {:?}",
        &got[stolen_at..]
    );
    w.stop(Duration::from_secs(20));
}

/// A lease stolen from a live worker (a new worker taking its even share) is processed by the
/// thief only after the victim has let go, so no record is in both workers' children at once.
/// The victim's children hold their first batch (the gate) until the victim knows it lost one
/// of the leases; without the hand-over wait the thief's child would get the same records and
/// hold them at the gate at the same time.
#[tokio::test(flavor = "multi_thread")]
async fn a_stolen_lease_starts_only_after_its_old_owner_let_go() {
    let s = Scene::new("handover", 2).await;
    let put = s.put(0..20).await;
    let gate = s.dir.path().join("gate");
    let env = [("KCLB_GATE", gate.as_os_str())];
    // Renewals every 2 s and a 6 s wait leave the test seconds to open the gate in between.
    let props = |me: &str| {
        s.properties(me, &[])
            .replace("failoverTimeMillis = 3000", "failoverTimeMillis = 6000")
    };
    let mut a = s.start("a", &props("a"), &env);
    eventually(
        Duration::from_secs(30),
        "both of a's children holding their first batch",
        || async {
            let holding = format!("waiting for {}", gate.display());
            a.log().matches(&holding).count() >= 2
        },
    )
    .await;
    let mut b = s.start("b", &props("b"), &env);
    eventually(
        Duration::from_secs(30),
        "a told that b took one of its leases",
        || async { a.log().contains("lease lost: another worker changed it") },
    )
    .await;
    let stolen: Vec<String> = s
        .rows()
        .await
        .into_iter()
        .filter(|(_, row)| attr_s(row, "leaseOwner").as_deref() == Some("b"))
        .map(|(key, _)| key)
        .collect();
    assert_eq!(stolen.len(), 1, "b stole one lease: {stolen:?}");
    std::fs::write(&gate, b"").unwrap();
    eventually(Duration::from_secs(30), "every record received", || async {
        let got = s.received();
        put.iter().all(|p| got.iter().any(|g| g.1 == p.1))
    })
    .await;
    eventually(
        Duration::from_secs(30),
        "b's child given the stolen shard's records",
        || async {
            batches(&s.out)
                .iter()
                .any(|x| x.worker == "b" && x.shard == stolen[0])
        },
    )
    .await;
    let shared = assert_no_record_held_twice_at_once(&s.out);
    // a could not checkpoint the stolen shard's batch, so b delivered the same records again.
    assert!(
        shared >= 1,
        "b re-delivered a's uncheckpointed batch: {:?}",
        batches(&s.out)
    );
    assert!(
        b.log()
            .contains("took lease from a worker that still renews it"),
        "{}",
        b.log()
    );
    for w in [&mut a, &mut b] {
        w.stop(Duration::from_secs(20));
    }
}

/// A lease table written by a multi-stream KCL application is refused at start-up
/// (`docs/leases.md`, "Multi-stream"): sharing it would start a second set of leases for the same
/// shards. Nothing is written.
#[tokio::test(flavor = "multi_thread")]
async fn a_multi_stream_lease_table_is_refused() {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let s = Scene::new("multi", 1).await;
    let key = format!("123456789012:{}:1700000000:shardId-000000000000", s.app);
    let multi = vec![
        ("leaseKey", A::S(key.clone())),
        ("leaseCounter", A::N("3".into())),
        ("leaseOwner", A::S("java-worker".into())),
        ("checkpoint", A::S("TRIM_HORIZON".into())),
        ("checkpointSubSequenceNumber", A::N("0".into())),
        ("ownerSwitchesSinceCheckpoint", A::N("0".into())),
        (
            "streamName",
            A::S(format!("123456789012:{}:1700000000", s.app)),
        ),
        ("shardId", A::S("shardId-000000000000".into())),
    ];
    create_lease_table_with(&s.d, &s.app, vec![multi]).await;
    let before = s.rows().await;
    let mut w = s.worker("m", &[]);
    assert_eq!(w.wait(Duration::from_secs(60)), 1, "{}", w.log());
    let log = w.log();
    assert!(
        log.contains("multi-stream leases") && log.contains(&key),
        "{log}"
    );
    assert_eq!(s.rows().await, before, "the table was left as it was");
}

/// `leaseTablePitrEnabled = true`: point-in-time recovery is switched on for the lease table
/// kcl-bridge creates.
#[tokio::test(flavor = "multi_thread")]
async fn point_in_time_recovery_on_the_table_kcl_bridge_creates() {
    let s = Scene::new("pitr", 1).await;
    s.put(0..2).await;
    let mut w = s.worker("p", &[("leaseTablePitrEnabled", "true")]);
    eventually(Duration::from_secs(30), "2 records received", || async {
        s.received().len() >= 2
    })
    .await;
    let backups =
        s.d.describe_continuous_backups()
            .table_name(&s.app)
            .send()
            .await
            .unwrap();
    let status = backups
        .continuous_backups_description()
        .and_then(|c| c.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status())
        .map(|s| s.as_str().to_owned());
    assert_eq!(status.as_deref(), Some("ENABLED"), "{}", w.log());
    w.stop(Duration::from_secs(20));
}

/// KPL aggregates: a valid one arrives as its sub-records; a corrupt one as one plain record
/// with a WARN; an out-of-range sub-record is dropped alone with a WARN. A checkpoint inside an
/// aggregate (as Java writes it) resumes at the next sub-record.
#[tokio::test(flavor = "multi_thread")]
async fn kpl_aggregates() {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    use kcl_bridge::retrieval::kpl::{encode_aggregate, SubRecord};
    let s = Scene::new("kpl", 2).await;
    let shard0_key = "12345"; // well inside shard 0's half of the hash-key space
    let shard1_key = (u128::MAX - 12345).to_string(); // inside shard 1's half
    let sub = |pk: &str, ehk: &str, data: &str| SubRecord {
        partition_key: pk.into(),
        explicit_hash_key: Some(ehk.into()),
        data: data.as_bytes().to_vec(),
    };
    let put = |bytes: Vec<u8>| {
        let (k, app) = (s.k.clone(), s.app.clone());
        async move {
            let r = k
                .put_record()
                .stream_name(&app)
                .partition_key("container")
                .explicit_hash_key(shard0_key)
                .data(aws_sdk_kinesis::primitives::Blob::new(bytes))
                .send()
                .await
                .unwrap();
            assert_eq!(r.shard_id(), "shardId-000000000000");
            r.sequence_number().to_owned()
        }
    };
    let seq_a = put(encode_aggregate(&[
        sub("a", shard0_key, "a0"),
        sub("b", shard0_key, "a1"),
        sub("c", shard0_key, "a2"),
    ]))
    .await;
    let mut corrupt = encode_aggregate(&[sub("x", shard0_key, "b0")]);
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff; // break the MD5
    let seq_b = put(corrupt.clone()).await;
    let seq_c = put(encode_aggregate(&[
        sub("p", shard0_key, "c0"),
        sub("q", &shard1_key, "c1"),
        sub("r", shard0_key, "c2"),
    ]))
    .await;

    let props = s.properties("w", &[]);
    let mut w = s.start("w", &props, &[]);
    eventually(Duration::from_secs(30), "6 records on shard 0", || async {
        s.received()
            .iter()
            .filter(|r| r.0 == "shardId-000000000000")
            .count()
            >= 6
    })
    .await;
    w.stop(Duration::from_secs(20));
    let got: Vec<(String, u64, String)> = s
        .received()
        .into_iter()
        .filter(|r| r.0 == "shardId-000000000000")
        .map(|r| (r.1, r.2, r.3))
        .collect();
    let corrupt_text = String::from_utf8_lossy(&corrupt).into_owned();
    assert_eq!(
        got,
        vec![
            (seq_a.clone(), 0, "a0".to_owned()),
            (seq_a.clone(), 1, "a1".to_owned()),
            (seq_a.clone(), 2, "a2".to_owned()),
            (seq_b.clone(), 0, corrupt_text.clone()),
            (seq_c.clone(), 0, "c0".to_owned()),
            (seq_c.clone(), 2, "c2".to_owned()),
        ]
    );
    let log = w.log();
    assert!(
        log.contains(&seq_b) && log.contains("MD5"),
        "WARN for the corrupt aggregate:\n{log}"
    );
    assert!(
        log.contains(&seq_c) && log.contains("dropped 1 sub-record"),
        "WARN for the out-of-range sub-record:\n{log}"
    );

    // A checkpoint inside aggregate A, as a Java worker writes it: resume at its sub-record 2.
    s.d.update_item()
        .table_name(&s.app)
        .key("leaseKey", A::S("shardId-000000000000".into()))
        .update_expression("SET checkpoint = :c, checkpointSubSequenceNumber = :s")
        .expression_attribute_values(":c", A::S(seq_a.clone()))
        .expression_attribute_values(":s", A::N("1".into()))
        .send()
        .await
        .unwrap();
    std::fs::remove_file(&s.out).unwrap();
    let mut w = s.start("w2", &props, &[]);
    eventually(
        Duration::from_secs(30),
        "4 records after the mid-aggregate checkpoint",
        || async {
            s.received()
                .iter()
                .filter(|r| r.0 == "shardId-000000000000")
                .count()
                >= 4
        },
    )
    .await;
    w.stop(Duration::from_secs(20));
    let got: Vec<(String, u64)> = s
        .received()
        .into_iter()
        .filter(|r| r.0 == "shardId-000000000000")
        .map(|r| (r.1, r.2))
        .collect();
    assert_eq!(
        got,
        vec![(seq_a, 2), (seq_b, 0), (seq_c.clone(), 0), (seq_c, 2)]
    );
}

/// amazon_kclpy's own sample.properties and sample_kclpy_app.py, unchanged, plus the two
/// endpoint keys that point them at the emulator.
#[tokio::test(flavor = "multi_thread")]
async fn kclpy_sample_properties_with_endpoint_keys() {
    let moto = Moto::start();
    let k = moto.kinesis();
    create_stream(&k, "kclpysample", 1).await;
    let put = put_records(&k, "kclpysample", 0..10).await;
    let samples = harness::kclpy_sdist().join("samples");
    let dir = workdir();
    let text = std::fs::read_to_string(samples.join("sample.properties")).unwrap();
    let props = format!(
        "{text}\nkinesisEndpoint = {ep}\ndynamoDBEndpoint = {ep}\n",
        ep = moto.endpoint
    );
    std::fs::write(dir.path().join("sample.properties"), props).unwrap();
    let log = dir.path().join("log");
    let path = format!(
        "{}:{}:{}",
        samples.display(),
        harness::repo().join(".venv/bin").display(),
        std::env::var("PATH").unwrap()
    );
    let mut cmd = Command::new(harness::bin());
    cmd.arg("sample.properties")
        .current_dir(dir.path())
        .env("PATH", path)
        .env("KCL_BRIDGE_LOG", "info,kcl_bridge=debug");
    for (k, v) in moto.env() {
        cmd.env(k, v);
    }
    let mut w = Daemon::spawn(cmd, log);
    // The sample writes its log to stderr without newlines (it appears when it exits), so wait
    // for the daemon's side: the child acknowledged a batch.
    eventually(
        Duration::from_secs(60),
        "a processRecords status",
        || async { w.log().contains("status received action=processRecords") },
    )
    .await;
    assert!(
        w.log().contains("enhanced fan-out"),
        "explains why it polls:\n{}",
        w.log()
    );
    w.stop(Duration::from_secs(30));
    let last = put.last().unwrap().1.clone();
    let log = w.log();
    assert!(
        log.contains(&format!("Sequence Number: {last}")),
        "the sample processed the last record:\n{log}"
    );
    assert!(
        log.contains("Shutdown has been requested, checkpointing."),
        "{log}"
    );
    let rows = lease_rows(&moto.dynamodb(), "PythonKCLSample").await;
    let row = &rows["shardId-000000000000"];
    assert_eq!(
        attr_s(row, "checkpoint"),
        Some(last),
        "the sample's shutdown checkpoint, in the table named after applicationName"
    );
    assert_eq!(attr_s(row, "leaseOwner"), None, "released");
}

/// Stop-and-switch from a Java KCL 3.x application: while a Java worker keeps its worker-metrics
/// row fresh, kcl-bridge takes nothing and then exits naming it; once the row stops changing it
/// takes over (after the old lease expires).
#[tokio::test(flavor = "multi_thread")]
async fn java_3x_application_guard() {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let s = Scene::new("v3", 1).await;
    s.put(0..5).await;
    let rows: Vec<Vec<(&str, A)>> = vec![
        vec![
            ("leaseKey", A::S("Migration3.0".into())),
            ("entityType", A::S("CLIENT_VERSION_MIGRATION".into())),
            ("cv", A::S("CLIENT_VERSION_3X".into())),
        ],
        vec![
            ("leaseKey", A::S("java-1".into())),
            ("entityType", A::S("WORKER_METRIC_STATS".into())),
            ("lut", A::N("1".into())),
        ],
        vec![
            ("leaseKey", A::S("shardId-000000000000".into())),
            ("leaseOwner", A::S("java-1".into())),
            ("leaseCounter", A::N("5".into())),
            ("ownerSwitchesSinceCheckpoint", A::N("0".into())),
            ("checkpoint", A::S("TRIM_HORIZON".into())),
            ("checkpointSubSequenceNumber", A::N("0".into())),
            ("entityType", A::S("LEASE".into())),
        ],
    ];
    create_lease_table_with(&s.d, &s.app, rows).await;
    // A live Java worker: its row changes every 200 ms (reporting period 500 ms below).
    let live = tokio_util::sync::CancellationToken::new();
    let heartbeat = {
        let (d, app, live) = (s.d.clone(), s.app.clone(), live.clone());
        tokio::spawn(async move {
            let mut lut = 2;
            while !live.is_cancelled() {
                d.update_item()
                    .table_name(&app)
                    .key("leaseKey", A::S("java-1".into()))
                    .update_expression("SET lut = :l")
                    .expression_attribute_values(":l", A::N(lut.to_string()))
                    .send()
                    .await
                    .unwrap();
                lut += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let props = s.properties("rust-1", &[("workerMetricsReporterFreqInMillis", "500")]);
    let mut w = s.start("live", &props, &[]);
    let code = w.wait(Duration::from_secs(30));
    let log = w.log();
    assert_eq!(code, 1, "{log}");
    assert!(
        log.contains("java-1")
            && log.contains("CLIENT_VERSION_3X")
            && log.contains("COMPATIBLE_WITH_2X"),
        "{log}"
    );
    let rows = s.rows().await;
    assert_eq!(
        attr_s(&rows["shardId-000000000000"], "leaseOwner").as_deref(),
        Some("java-1"),
        "took nothing"
    );
    assert!(s.received().is_empty());

    // The Java worker stops: its row and lease freeze. kcl-bridge takes over.
    live.cancel();
    heartbeat.await.unwrap();
    let mut w = s.start("stopped", &props, &[]);
    eventually(
        Duration::from_secs(60),
        "5 records after the take-over",
        || async { s.received().len() >= 5 },
    )
    .await;
    assert!(
        w.log().contains("taking over a KCL 3.x application"),
        "{}",
        w.log()
    );
    w.stop(Duration::from_secs(20));
    let rows = s.rows().await;
    assert_eq!(
        attr_s(&rows["shardId-000000000000"], "leaseOwner"),
        None,
        "released on shutdown"
    );
}

/// A crashing child is restarted from the last checkpoint (the lease is kept) and only its own
/// shard is affected: the other shard's child runs on untouched, and every record of both is
/// processed exactly once (the crashed batch was never acknowledged, so it is read again).
#[tokio::test(flavor = "multi_thread")]
async fn crashing_child_is_restarted_from_the_checkpoint() {
    const HEALTHY: &str = "shardId-000000000000";
    const CRASHING: &str = "shardId-000000000001";
    let s = Scene::new("crash", 2).await;
    // Few records: after each restart the first batch is one record (the checkpointed one is
    // re-read and filtered out) and the second crashes, so each crash moves on by one record.
    let put = s.put(0..8).await;
    let per_shard = |shard: &str| -> Vec<String> {
        put.iter()
            .filter(|p| p.0 == shard)
            .map(|p| p.1.clone())
            .collect()
    };
    assert!(
        per_shard(CRASHING).len() >= 4 && per_shard(HEALTHY).len() >= 2,
        "{put:?}"
    );
    // The kclpy app in scenario "crash" exits (status 3) on its second batch, every time, before
    // writing anything: here only in the child of CRASHING.
    let mut w = s.start(
        "w",
        &s.properties(
            "w",
            &[("maxRecords", "2"), ("taskBackoffTimeMillis", "200")],
        ),
        &[
            ("KCLB_SCENARIO", std::ffi::OsStr::new("crash")),
            ("KCLB_SCENARIO_SHARD", std::ffi::OsStr::new(CRASHING)),
        ],
    );
    let done = |shard: &'static str| {
        let last = per_shard(shard).last().unwrap().clone();
        let s = &s;
        async move {
            s.rows()
                .await
                .get(shard)
                .and_then(|r| attr_s(r, "checkpoint"))
                .as_deref()
                == Some(last.as_str())
        }
    };
    eventually(
        Duration::from_secs(60),
        "both shards checkpointed at their last record",
        || {
            let (a, b) = (done(HEALTHY), done(CRASHING));
            async move { a.await && b.await }
        },
    )
    .await;
    let log = w.log();
    let restarts: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("restarting the record processor from the last checkpoint"))
        .collect();
    assert!(restarts.len() >= 2, "{log}");
    assert!(
        restarts.iter().all(|l| l.contains(CRASHING)),
        "only the crashing shard restarts: {restarts:?}"
    );
    assert!(
        log.contains("exited (exit code 3) while processRecords was pending"),
        "{log}"
    );
    // Every record of each shard exactly once, in order: nothing lost, and the crashed batches
    // (never acknowledged) read again rather than skipped.
    let got = s.received();
    for shard in [HEALTHY, CRASHING] {
        let seqs: Vec<String> = got
            .iter()
            .filter(|g| g.0 == shard)
            .map(|g| g.1.clone())
            .collect();
        assert_eq!(seqs, per_shard(shard), "{shard}");
    }
    w.stop(Duration::from_secs(20));
}

/// The line index in `received` of every record of `shard`.
fn positions(got: &[(String, String, u64, String)], shard: &str) -> Vec<usize> {
    got.iter()
        .enumerate()
        .filter(|(_, r)| r.0 == shard)
        .map(|(i, _)| i)
        .collect()
}

/// Split then merge: parents finish (SHARD_END) before their children start, child leases carry
/// their parents, and no record is lost. ferrokinesis sends no ChildShards at shard end, so this
/// also proves the ListShards fallback (Java would retry for ever). Finished leases are kept
/// (`cleanupLeasesUponShardCompletion = false`) so that their rows can be read at any point.
#[tokio::test(flavor = "multi_thread")]
async fn split_and_merge() {
    let s = Scene::with_ferro("reshard", 1, None).await;
    let k = &s.k;
    let mut put = s.put(0..10).await;
    let mut w = s.worker("w", &[("cleanupLeasesUponShardCompletion", "false")]);
    eventually(Duration::from_secs(30), "10 records", || async {
        s.received().len() >= 10
    })
    .await;

    k.split_shard()
        .stream_name(&s.app)
        .shard_to_split("shardId-000000000000")
        .new_starting_hash_key((1u128 << 127).to_string())
        .send()
        .await
        .unwrap();
    wait_open_shards(k, &s.app, 2).await;
    put.extend(s.put(10..30).await);
    eventually(
        Duration::from_secs(60),
        "30 records after the split",
        || async { s.received().len() >= 30 },
    )
    .await;
    let rows = s.rows().await;
    assert_eq!(
        attr_s(&rows["shardId-000000000000"], "checkpoint").as_deref(),
        Some("SHARD_END"),
        "{rows:?}"
    );
    let children: Vec<String> = put
        .iter()
        .map(|p| p.0.clone())
        .filter(|s| s != "shardId-000000000000")
        .collect();
    let mut child_ids = children.clone();
    child_ids.sort();
    child_ids.dedup();
    assert_eq!(
        child_ids.len(),
        2,
        "records went to two children: {child_ids:?}"
    );
    for c in &child_ids {
        assert_eq!(
            rows[c]
                .get("parentShardId")
                .and_then(|v| v.as_ss().ok())
                .cloned(),
            Some(vec!["shardId-000000000000".to_owned()]),
            "child lease {c}"
        );
    }
    let got = s.received();
    let parent_last = *positions(&got, "shardId-000000000000").last().unwrap();
    for c in &child_ids {
        assert!(
            positions(&got, c).iter().all(|p| *p > parent_last),
            "{c} started before its parent ended"
        );
    }

    // Merge the two children.
    k.merge_shards()
        .stream_name(&s.app)
        .shard_to_merge(&child_ids[0])
        .adjacent_shard_to_merge(&child_ids[1])
        .send()
        .await
        .unwrap();
    wait_open_shards(k, &s.app, 1).await;
    let merged = s.put(30..40).await;
    put.extend(merged.clone());
    eventually(
        Duration::from_secs(60),
        "40 records after the merge",
        || async { s.received().len() >= 40 },
    )
    .await;
    let merged_id = merged[0].0.clone();
    assert!(merged.iter().all(|m| m.0 == merged_id));
    let rows = s.rows().await;
    let mut parents = rows[&merged_id]
        .get("parentShardId")
        .and_then(|v| v.as_ss().ok())
        .cloned()
        .unwrap_or_default();
    parents.sort();
    assert_eq!(
        parents, child_ids,
        "the merged shard's lease names both parents"
    );
    for c in &child_ids {
        assert_eq!(attr_s(&rows[c], "checkpoint").as_deref(), Some("SHARD_END"));
    }
    let got = s.received();
    let first_merged = positions(&got, &merged_id)[0];
    for c in &child_ids {
        assert!(
            positions(&got, c).iter().all(|p| *p < first_merged),
            "the merged shard started before {c} ended"
        );
    }
    // No record lost, none repeated.
    let mut got_keys: Vec<(String, String)> =
        got.iter().map(|g| (g.0.clone(), g.1.clone())).collect();
    let mut want_keys: Vec<(String, String)> =
        put.iter().map(|p| (p.0.clone(), p.1.clone())).collect();
    got_keys.sort();
    want_keys.sort();
    assert_eq!(got_keys, want_keys);
    w.stop(Duration::from_secs(20));
}

/// A merge whose other parent has no lease (here: a table holding one parent's lease, and a
/// worker told to skip the shard sync that would create the other's): the child's lease is
/// created at the leased parent's end all the same, a WARN names the parent without a lease
/// (`docs/leases.md`, "Child leases"), and the child's records follow the leased parent's.
#[tokio::test(flavor = "multi_thread")]
async fn a_merge_parent_without_a_lease_is_named() {
    let s = Scene::with_ferro("halfmerge", 2, None).await;
    let before = s.put(0..10).await;
    s.k.merge_shards()
        .stream_name(&s.app)
        .shard_to_merge("shardId-000000000000")
        .adjacent_shard_to_merge("shardId-000000000001")
        .send()
        .await
        .unwrap();
    wait_open_shards(&s.k, &s.app, 1).await;
    let after = s.put(10..15).await;
    let merged = after[0].0.clone();
    let leased = lease_row("shardId-000000000000", 0, "TRIM_HORIZON");
    create_lease_table_with(&s.d, &s.app, vec![leased]).await;
    let mut w = s.worker(
        "w",
        &[
            ("skipShardSyncAtWorkerInitializationIfLeasesExist", "true"),
            ("shardSyncIntervalMillis", "600000"),
        ],
    );
    let from_leased = before
        .iter()
        .filter(|p| p.0 == "shardId-000000000000")
        .count();
    eventually(
        Duration::from_secs(60),
        "the leased parent's and the merged shard's records",
        || async { s.received().len() >= from_leased + after.len() },
    )
    .await;
    let log = w.log();
    let warned = log
        .lines()
        .find(|l| l.contains("merge: no lease for the child's other parent shard"))
        .unwrap_or_default();
    assert!(
        warned.contains("shardId-000000000001") && warned.contains(&merged),
        "{log}"
    );
    let got = s.received();
    let parent_last = *positions(&got, "shardId-000000000000").last().unwrap();
    assert!(positions(&got, &merged).iter().all(|p| *p > parent_last));
    assert!(positions(&got, "shardId-000000000001").is_empty());
    w.stop(Duration::from_secs(20));
}

/// A shard list caught mid-reshard (a shard listed open while its parent is open too; here the
/// test proxy answers every ListShards with the stream's two shards plus such a child of the
/// second) does not stop the shard sync, as Java's default would: the other open shard's lease
/// is created and every record read, the child gets no lease, and an INFO line names it.
#[tokio::test(flavor = "multi_thread")]
async fn a_shard_list_caught_mid_reshard_leaves_out_only_the_unexpected_child() {
    use serde_json::json;
    const CHILD: &str = "shardId-000000000002";
    let s = Scene::new("midreshard", 2).await;
    let put = s.put(0..10).await;
    let listed = s.k.list_shards().stream_name(&s.app).send().await.unwrap();
    let mut shards: Vec<serde_json::Value> = listed
        .shards()
        .iter()
        .map(|shard| {
            let hash = shard.hash_key_range().unwrap();
            json!({
                "ShardId": shard.shard_id(),
                "HashKeyRange": {
                    "StartingHashKey": hash.starting_hash_key(),
                    "EndingHashKey": hash.ending_hash_key(),
                },
                "SequenceNumberRange": {
                    "StartingSequenceNumber":
                        shard.sequence_number_range().unwrap().starting_sequence_number(),
                },
            })
        })
        .collect();
    assert_eq!(shards.len(), 2, "{listed:?}");
    let (first, parent) = (
        shards[0]["ShardId"].as_str().unwrap().to_owned(),
        shards[1]["ShardId"].as_str().unwrap().to_owned(),
    );
    assert!(put.iter().any(|p| p.0 == parent), "{put:?}");
    let mut child = shards[1].clone();
    child["ShardId"] = json!(CHILD);
    child["ParentShardId"] = json!(parent);
    child["SequenceNumberRange"]["StartingSequenceNumber"] = json!("99999999999999999999");
    shards.push(child);
    let proxy = crate::proxy::ForwardProxy::start();
    proxy.answer(
        "Kinesis_20131202.ListShards",
        "200 OK",
        &json!({ "Shards": shards }).to_string(),
        usize::MAX,
    );
    // A table with a lease in it: the sync takes Java's non-empty-table path.
    let lease = lease_row(&first, 0, "TRIM_HORIZON");
    create_lease_table_with(&s.d, &s.app, vec![lease]).await;
    let mut w = s.start("w", &s.properties("w", &[]), &proxy.env());
    eventually(Duration::from_secs(30), "every record", || async {
        s.received().len() >= put.len()
    })
    .await;
    w.stop(Duration::from_secs(20));
    let log = w.log();
    let said = log
        .lines()
        .find(|l| l.contains("caught mid-reshard"))
        .unwrap_or_default();
    assert!(
        said.contains(" INFO ") && said.contains(CHILD) && !said.contains(&parent),
        "{log}"
    );
    let rows = s.rows().await;
    assert_eq!(
        rows.keys().cloned().collect::<Vec<_>>(),
        [first, parent],
        "leases for the two open shards, none for the child"
    );
}

/// `leaseTableScanTotalSegments = 3`: every scan of the lease table is three parallel segment
/// scans (seen at the test proxy), and together they find every lease: all four shards are
/// taken and read.
#[tokio::test(flavor = "multi_thread")]
async fn the_lease_table_is_scanned_in_the_configured_segments() {
    let s = Scene::new("segments", 4).await;
    let proxy = crate::proxy::ForwardProxy::start();
    let put = s.put(0..20).await;
    let props = s.properties("w", &[("leaseTableScanTotalSegments", "3")]);
    let mut w = s.start("w", &props, &proxy.env());
    eventually(Duration::from_secs(30), "every record", || async {
        s.received().len() >= put.len()
    })
    .await;
    w.stop(Duration::from_secs(20));
    let scans: Vec<String> = proxy
        .requests()
        .into_iter()
        .filter(|r| {
            r.line.contains("DynamoDB_20120810.Scan")
                && r.body.contains(&format!(r#""TableName":"{}""#, s.app))
        })
        .map(|r| r.body)
        .collect();
    assert!(!scans.is_empty());
    let segment = |body: &str| -> Option<(u64, u64)> {
        let v: serde_json::Value = serde_json::from_str(body).ok()?;
        Some((v["Segment"].as_u64()?, v["TotalSegments"].as_u64()?))
    };
    let mut seen: Vec<(u64, u64)> = scans
        .iter()
        .map(|b| segment(b).unwrap_or_else(|| panic!("a scan without segments: {b}")))
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen, [(0, 3), (1, 3), (2, 3)]);
    let rows = s.rows().await;
    assert_eq!(rows.len(), 4, "{rows:?}");
    let mut got: Vec<String> = s.received().into_iter().map(|g| g.1).collect();
    let mut want: Vec<String> = put.iter().map(|p| p.1.clone()).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "every record once");
}

/// Puts one record into the shard that owns `hash_key`; returns (shard, sequence number).
async fn put_at(
    k: &aws_sdk_kinesis::Client,
    stream: &str,
    hash_key: &str,
    i: usize,
) -> (String, String) {
    let r = k
        .put_record()
        .stream_name(stream)
        .partition_key(format!("pk-{i}"))
        .explicit_hash_key(hash_key)
        .data(aws_sdk_kinesis::primitives::Blob::new(format!("data-{i}")))
        .send()
        .await
        .expect("PutRecord");
    (r.shard_id().to_owned(), r.sequence_number().to_owned())
}

/// After a split, the parent's finished lease stays while a child has not begun, and is deleted
/// once both children have checkpointed (Java's cleanup rule); no record is lost. The parent's
/// `childShardIds` are removed first, as an old Java worker would have left them: they are
/// found again from ListShards.
#[tokio::test(flavor = "multi_thread")]
async fn finished_lease_is_deleted_once_every_child_has_begun() {
    use aws_sdk_dynamodb::types::AttributeValue;
    const PARENT: &str = "shardId-000000000000";
    let s = Scene::with_ferro("cleanup", 1, None).await;
    let mut put: Vec<(String, String)> = s
        .put(0..3)
        .await
        .into_iter()
        .map(|(shard, seq, _)| (shard, seq))
        .collect();
    let env = [("KCL_BRIDGE_LOG", "info,kcl_bridge::worker=debug".as_ref())];
    let mut w = s.start("w", &s.properties("w", &[]), &env);
    eventually(Duration::from_secs(30), "3 records", || async {
        s.received().len() >= 3
    })
    .await;
    let middle = (1u128 << 127).to_string();
    s.k.split_shard()
        .stream_name(&s.app)
        .shard_to_split(PARENT)
        .new_starting_hash_key(&middle)
        .send()
        .await
        .unwrap();
    wait_open_shards(&s.k, &s.app, 2).await;
    let children = |rows: &BTreeMap<String, HashMap<String, AttributeValue>>| {
        rows.get(PARENT)
            .and_then(|r| r.get("childShardIds"))
            .and_then(|v| v.as_ss().ok())
            .cloned()
            .unwrap_or_default()
    };
    eventually(
        Duration::from_secs(30),
        "the parent's shard end",
        || async { children(&s.rows().await).len() == 2 },
    )
    .await;
    s.d.update_item()
        .table_name(&s.app)
        .key("leaseKey", AttributeValue::S(PARENT.into()))
        .update_expression("REMOVE childShardIds")
        .send()
        .await
        .unwrap();

    // Records for the low child only: it begins, the high child does not.
    let (low, seq) = put_at(&s.k, &s.app, "0", 3).await;
    put.push((low.clone(), seq.clone()));
    eventually(
        Duration::from_secs(30),
        "the low child checkpoints",
        || async {
            s.rows()
                .await
                .get(&low)
                .is_some_and(|r| attr_s(r, "checkpoint").as_deref() == Some(seq.as_str()))
        },
    )
    .await;
    // Two more shard syncs decide on a table where the low child has begun.
    let kept = |log: &str| log.matches("keeping the finished lease").count();
    let before = kept(&w.log());
    eventually(Duration::from_secs(30), "two more shard syncs", || async {
        kept(&w.log()) >= before + 2
    })
    .await;
    let rows = s.rows().await;
    assert_eq!(
        attr_s(&rows[PARENT], "checkpoint").as_deref(),
        Some("SHARD_END"),
        "kept while a child has not begun: {rows:?}"
    );
    assert_eq!(children(&rows).len(), 2, "children found again: {rows:?}");
    assert!(!w.log().contains("deleted the finished shard's lease"));

    let (high, seq) = put_at(&s.k, &s.app, &middle, 4).await;
    assert_ne!(high, low);
    put.push((high, seq));
    eventually(
        Duration::from_secs(30),
        "the parent lease deleted",
        || async { !s.rows().await.contains_key(PARENT) },
    )
    .await;
    // The worker logs the deletion once DeleteItem has returned: just after the row is gone.
    eventually(Duration::from_secs(5), "the deletion logged", || async {
        w.log().contains("deleted the finished shard's lease")
    })
    .await;
    eventually(Duration::from_secs(30), "5 records", || async {
        s.received().len() >= 5
    })
    .await;
    w.stop(Duration::from_secs(20));
    let rows = s.rows().await;
    assert_eq!(rows.len(), 2, "the two children's leases stay: {rows:?}");
    let mut got: Vec<(String, String)> = s.received().into_iter().map(|r| (r.0, r.1)).collect();
    got.sort();
    put.sort();
    assert_eq!(got, put, "every record exactly once");
}

/// An expired iterator is replaced after the last record fetched: nothing lost, nothing repeated.
#[tokio::test(flavor = "multi_thread")]
async fn expired_iterator_is_recovered() {
    // Iterators live 1 s; the worker waits 1.5 s between reads, so every iterator has expired.
    let s = Scene::with_ferro("expiry", 1, Some(1)).await;
    let mut put = s.put(0..5).await;
    let props = s.properties("w", &[]).replace(
        "idleTimeBetweenReadsInMillis = 200\n",
        "idleTimeBetweenReadsInMillis = 1500\n",
    );
    let mut w = s.start("w", &props, &[]);
    eventually(Duration::from_secs(30), "5 records", || async {
        s.received().len() >= 5
    })
    .await;
    eventually(Duration::from_secs(30), "an expired iterator", || async {
        w.log().contains("shard iterator expired")
    })
    .await;
    put.extend(s.put(5..10).await);
    eventually(Duration::from_secs(30), "10 records", || async {
        s.received().len() >= 10
    })
    .await;
    w.stop(Duration::from_secs(20));
    s.assert_received_in_order(&put);
}

/// A child that holds its first batch stops the fetcher once 8 MiB wait for it (Java's prefetch
/// bound), and once it goes on, every record arrives: the bytes it takes are given back.
#[tokio::test(flavor = "multi_thread")]
async fn prefetch_stops_at_its_byte_bound() {
    const MIB: usize = 1 << 20;
    let s = Scene::new("bound", 1).await;
    let mut put = Vec::new();
    for i in 0..15u8 {
        let mut data = vec![b'a' + i; MIB];
        data[..4].copy_from_slice(&u32::from(i).to_be_bytes());
        let r =
            s.k.put_record()
                .stream_name(&s.app)
                .partition_key(format!("pk-{i}"))
                .data(aws_sdk_kinesis::primitives::Blob::new(data.clone()))
                .send()
                .await
                .expect("PutRecord");
        // Valid UTF-8 (bytes below 0x80), so `received` reads it back losslessly.
        put.push((
            r.sequence_number().to_owned(),
            String::from_utf8(data).unwrap(),
        ));
    }
    let gate = s.dir.path().join("gate");
    // 5 MiB batches: with the first held by the child, the second and third queue 10 MiB.
    let props = s.properties("w", &[("maxRecords", "5")]);
    let env = [
        ("KCLB_GATE", gate.as_os_str()),
        (
            "KCL_BRIDGE_LOG",
            "info,kcl_bridge::retrieval::prefetch=debug".as_ref(),
        ),
    ];
    let mut w = s.start("w", &props, &env);
    eventually(
        Duration::from_secs(30),
        "the fetcher waits at 8 MiB",
        || async { w.log().contains("prefetch queue full") },
    )
    .await;
    assert!(s.received().is_empty(), "the child holds its first batch");
    std::fs::write(&gate, b"").unwrap();
    eventually(Duration::from_secs(60), "15 records", || async {
        s.received().len() >= 15
    })
    .await;
    w.stop(Duration::from_secs(20));
    let got: Vec<(String, String)> = s.received().into_iter().map(|r| (r.1, r.3)).collect();
    // Not assert_eq: a failure would print 15 MiB.
    assert!(got == put, "every record exactly once, in order, intact");
}

/// An endpoint that is down is retried with back-off, then the worker exits 1 saying why.
#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_that_is_down_is_retried_then_given_up() {
    let s = Scene::without_stream(Moto::start(), "down");
    // Nothing listens on port 9 of loopback (discard, not served here).
    let props = s
        .properties("w", &[("schedulerInitializationBackoffTimeMillis", "20")])
        .replace(
            &format!("kinesisEndpoint = {}\n", s.moto.endpoint),
            "kinesisEndpoint = http://127.0.0.1:9\n",
        );
    let mut w = s.start("down", &props, &[]);
    let code = w.wait(Duration::from_secs(180));
    let log = w.log();
    assert_eq!(code, 1, "{log}");
    assert!(
        log.contains("initialization failed; retrying"),
        "retried with back-off:\n{log}"
    );
    assert!(log.contains("gave up after 10 attempts"), "{log}");
}

/// A workerId that collides with a KCL row key is refused at once.
#[tokio::test(flavor = "multi_thread")]
async fn a_worker_id_that_is_a_row_key_is_refused() {
    let s = Scene::new("reserved", 1).await;
    let mut w = s.worker("Leader", &[]);
    assert_eq!(w.wait(Duration::from_secs(30)), 1, "{}", w.log());
    assert!(
        w.log().contains("workerId") && w.log().contains("Leader"),
        "{}",
        w.log()
    );
}

/// An unowned lease row for `key` as a Java worker writes one, at `counter` and `checkpoint`.
fn lease_row(key: &str, counter: u64, checkpoint: &str) -> Vec<(&'static str, AttributeValue)> {
    vec![
        ("leaseKey", AttributeValue::S(key.into())),
        ("leaseCounter", AttributeValue::N(counter.to_string())),
        ("checkpoint", AttributeValue::S(checkpoint.into())),
        ("checkpointSubSequenceNumber", AttributeValue::N("0".into())),
        (
            "ownerSwitchesSinceCheckpoint",
            AttributeValue::N("0".into()),
        ),
    ]
}

/// Creates a lease table with KCL's key schema and puts these rows into it, as a Java worker
/// would have left it.
async fn create_lease_table_with(
    d: &aws_sdk_dynamodb::Client,
    table: &str,
    rows: Vec<Vec<(&str, aws_sdk_dynamodb::types::AttributeValue)>>,
) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    d.create_table()
        .table_name(table)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("leaseKey")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("leaseKey")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    for row in rows {
        let mut req = d.put_item().table_name(table);
        for (k, v) in row {
            req = req.item(k, v);
        }
        req.send().await.unwrap();
    }
}

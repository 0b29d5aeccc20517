//! The bundled samples and amazon_kclpy's own sample, on the unmodified client libraries, at
//! volume: every record delivered exactly once, the expected final checkpoints.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;

use crate::harness::{self, run, workdir};

const SHARDS: usize = 4;
const PER_SHARD: usize = 2_500;

/// 10,000 records over 4 shards, each with a unique payload.
fn write_records(path: &Path) -> BTreeSet<(String, String)> {
    let mut text = String::new();
    let mut want = BTreeSet::new();
    for i in 0..PER_SHARD {
        for s in 0..SHARDS {
            let shard = format!("shardId-{s:012}");
            let data = format!("payload shard {s} record {i} \u{e9}\u{1f600}");
            text.push_str(&serde_json::json!({"data": data, "shardId": shard, "partitionKey": format!("pk{}", i % 7)}).to_string());
            text.push('\n');
            want.insert((shard, data));
        }
    }
    std::fs::write(path, text).unwrap();
    want
}

/// Runs a bundled sample through `replay` from the repository root, as the README does.
fn replay_sample(properties: &str, extra_env: &[(&str, &str)]) {
    let work = workdir();
    let records = work.path().join("records.jsonl");
    let want = write_records(&records);
    let out_file = work.path().join("processed.tsv");
    let path = format!(
        "{}:{}",
        harness::repo().join(".venv/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out_str = out_file.display().to_string();
    let mut env = vec![
        ("PATH", path.as_str()),
        ("SAMPLE_OUTPUT_FILE", out_str.as_str()),
        ("SAMPLE_CHECKPOINT_EVERY", "1000"),
    ];
    env.extend_from_slice(extra_env);
    let records_str = records.display().to_string();
    let out = run(
        &harness::repo(),
        &["replay", properties, "--records", &records_str, "--json"],
        &env,
        Duration::from_secs(300),
    );
    assert_eq!(
        out.code,
        0,
        "stdout:\n{}\nstderr (tail):\n{}",
        out.stdout,
        &out.stderr[out.stderr.len().saturating_sub(4000)..]
    );
    for s in 0..SHARDS {
        let shard = out.shard(&format!("shardId-{s:012}"));
        assert_eq!(shard["result"], "completed", "{shard}");
        assert_eq!(shard["records_delivered"], PER_SHARD, "{shard}");
        assert_eq!(shard["final_checkpoint"], "SHARD_END", "{shard}");
        // Every 1000 records (2) plus the shard end; a sample may also checkpoint the tail.
        let n = shard["checkpoints"].as_u64().unwrap();
        assert!((3..=4).contains(&n), "{shard}");
    }
    // What the applications processed: each record exactly once, nothing else.
    let text = std::fs::read_to_string(&out_file).unwrap();
    let mut got = BTreeSet::new();
    let mut lines = 0;
    for line in text.lines() {
        let fields: Vec<&str> = line.splitn(4, '\t').collect();
        assert_eq!(fields.len(), 4, "bad output line {line:?}");
        got.insert((fields[0].to_owned(), fields[3].to_owned()));
        lines += 1;
    }
    assert_eq!(
        lines,
        SHARDS * PER_SHARD,
        "records processed more than once, or lost"
    );
    assert_eq!(got, want, "processed records differ from the input");
}

#[test]
fn kclpy_sample_replays_10000_records_over_4_shards_exactly_once() {
    harness::venv_python();
    replay_sample("samples/python/app.properties", &[]);
}

#[test]
fn aws_kcl_sample_replays_10000_records_over_4_shards_exactly_once() {
    harness::node_ready();
    replay_sample("samples/node/app.properties", &[]);
}

/// amazon_kclpy's own `samples/sample.properties` and `sample_kclpy_app.py`, unchanged, from
/// the sdist: found on PATH from the properties file's directory, as the Java launcher's
/// class path made it work.
#[test]
fn kclpy_own_sample_properties_and_app_run_unchanged() {
    let sdist = harness::kclpy_sdist();
    let samples = sdist.join("samples");
    let work = workdir();
    let records = work.path().join("records.jsonl");
    let mut text = String::new();
    for i in 0..50 {
        let data = base64::engine::general_purpose::STANDARD.encode(format!("word{i}"));
        text.push_str(&format!(
            "{{\"dataBase64\":\"{data}\",\"shardId\":\"shardId-00000000000{}\"}}\n",
            i % 2
        ));
    }
    std::fs::write(&records, text).unwrap();
    let path = format!(
        "{}:{}:{}",
        samples.display(),
        harness::repo().join(".venv/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let records_str = records.display().to_string();
    let out = run(
        &samples,
        &[
            "replay",
            "sample.properties",
            "--records",
            &records_str,
            "--json",
        ],
        &[("PATH", &path)],
        Duration::from_secs(120),
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for shard in ["shardId-000000000000", "shardId-000000000001"] {
        let s = out.shard(shard);
        assert_eq!(s["records_delivered"], 25, "{s}");
        assert_eq!(s["final_checkpoint"], "SHARD_END", "{s}");
    }
    // The sample logs each record on stderr (without newlines), which the daemon forwards.
    for needle in [
        "Sequence Number: 49000000000000000000000000000000000000000000000000000025",
        "Shard has ended checkpointing",
    ] {
        assert!(
            out.stderr.contains(needle),
            "{needle}: {}",
            &out.stderr[out.stderr.len().saturating_sub(3000)..]
        );
    }
}

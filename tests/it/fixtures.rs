//! Golden protocol transcripts (`protocol-fixtures/`), replayed two ways:
//! (a) against the daemon with a scripted child that plays the recorded child side byte for
//!     byte — the daemon's side must match the golden file exactly;
//! (b) with the real amazon_kclpy (v1, v2, v3 interfaces) and aws-kcl (v1, v2) libraries as the
//!     child — the exchange must match the golden file, compared as JSON (client libraries
//!     differ in spacing, blank lines and absent-vs-null fields, not in meaning).
//! The golden files were recorded from amazon_kclpy v3 by `scripts/record-fixtures.py`.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::harness::{self, diff, properties, run, transcript, workdir};

const SHARD: &str = "shardId-000000000000";

struct Fixture {
    name: String,
    dir: PathBuf,
    meta: Value,
}

fn fixtures() -> Vec<Fixture> {
    let root = harness::repo().join("protocol-fixtures");
    let mut out: Vec<Fixture> = std::fs::read_dir(&root)
        .expect("protocol-fixtures/")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("fixture.json").exists())
        .map(|e| {
            let dir = e.path();
            let meta: Value = serde_json::from_str(
                &std::fs::read_to_string(dir.join("fixture.json")).expect("read fixture.json"),
            )
            .expect("fixture.json is JSON");
            Fixture {
                name: e.file_name().to_string_lossy().into_owned(),
                dir,
                meta,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    // The lifecycles the fixtures must cover.
    for required in [
        "normal-checkpoints",
        "checkpoint-refused",
        "shard-end",
        "lease-lost",
        "shutdown-requested",
        "malformed-output",
        "child-crash",
        "child-timeout",
    ] {
        assert!(
            out.iter().any(|f| f.name == required),
            "protocol-fixtures/{required} is missing"
        );
    }
    out
}

#[derive(Clone, Copy, Debug)]
enum Child {
    Scripted,
    Kclpy(&'static str),
    Node(&'static str),
}

/// Runs one fixture with one kind of child; returns the failure, if any.
fn run_fixture(f: &Fixture, child: Child) -> Result<(), String> {
    let repo = harness::repo();
    let work = workdir();
    let golden = f.dir.join("transcript.jsonl");
    let (executable, env): (String, Vec<(String, String)>) = match child {
        Child::Scripted => (
            format!(
                "python3 {}",
                repo.join("tests/apps/scripted_child.py").display()
            ),
            vec![
                ("SCRIPTED_TRANSCRIPT".into(), golden.display().to_string()),
                (
                    "SCRIPTED_THEN".into(),
                    f.meta["then"].as_str().unwrap_or("eof").into(),
                ),
            ],
        ),
        Child::Kclpy(interface) => (
            format!(
                "{} {}",
                harness::venv_python().display(),
                repo.join("tests/apps/kclpy_app.py").display()
            ),
            vec![
                ("KCLB_INTERFACE".into(), interface.into()),
                (
                    "KCLB_SCENARIO".into(),
                    f.meta["scenario"].as_str().unwrap_or_default().into(),
                ),
            ],
        ),
        Child::Node(interface) => {
            harness::node_ready();
            (
                format!("node {}", repo.join("tests/apps/kcl_node_app.js").display()),
                vec![
                    ("KCLB_INTERFACE".into(), interface.into()),
                    (
                        "KCLB_SCENARIO".into(),
                        f.meta["scenario"].as_str().unwrap_or_default().into(),
                    ),
                ],
            )
        }
    };
    let extra: Vec<(String, String)> = f.meta["properties"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let extra_refs: Vec<(&str, &str)> = extra
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    std::fs::write(
        work.path().join("app.properties"),
        properties(&executable, &extra_refs),
    )
    .map_err(|e| e.to_string())?;
    let records = f.dir.join("records.jsonl");
    let got_path = work.path().join("transcript.jsonl");
    let mut args: Vec<String> = vec![
        "replay".into(),
        "app.properties".into(),
        "--records".into(),
        records.display().to_string(),
        "--end".into(),
        f.meta["end"].as_str().unwrap_or("shard-end").into(),
        "--json".into(),
        "--transcript".into(),
        got_path.display().to_string(),
    ];
    for fc in f.meta["fail_checkpoint"].as_array().into_iter().flatten() {
        args.push("--fail-checkpoint".into());
        args.push(fc.as_str().unwrap_or_default().into());
    }
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = run(work.path(), &arg_refs, &env_refs, Duration::from_secs(60));
    let context = || format!("fixture {} with {child:?}\nstderr:\n{}", f.name, out.stderr);

    // The outcome.
    let expect = &f.meta["expect"];
    if i64::from(out.code) != expect["exit"].as_i64().unwrap_or(-1) {
        return Err(format!(
            "exit code {} (want {})\n{}",
            out.code,
            expect["exit"],
            context()
        ));
    }
    let shard = out.shard(SHARD);
    for key in [
        "result",
        "final_checkpoint",
        "records_delivered",
        "checkpoints",
    ] {
        if shard[key] != expect[key] {
            return Err(format!(
                "{key} = {} (want {})\nreport: {shard}\n{}",
                shard[key],
                expect[key],
                context()
            ));
        }
    }
    if let Some(needle) = expect["error_contains"].as_str() {
        let error = shard["error"].as_str().unwrap_or_default();
        if !error.contains(needle) {
            return Err(format!(
                "error {error:?} does not contain {needle:?}\n{}",
                context()
            ));
        }
    }

    // The exchange.
    let want = transcript(&golden, SHARD);
    let got = transcript(&got_path, SHARD);
    let (want, got) = match child {
        Child::Scripted => (exact(&want), exact(&got)),
        _ => (normalized(&want), normalized(&got)),
    };
    if want != got {
        return Err(format!(
            "transcript differs from {}\n{}{}",
            golden.display(),
            diff(&want, &got),
            context()
        ));
    }
    Ok(())
}

fn exact(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["direction"].as_str().unwrap_or("?"),
                e["line"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

/// Daemon lines stay exact; child lines lose blank lines, and JSON child lines are compared by
/// value with null fields dropped (kclpy writes `"subSequenceNumber": null`, Node omits it).
fn normalized(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .filter_map(|e| {
            let line = e["line"].as_str().unwrap_or_default();
            if e["direction"] == "to_child" {
                return Some(format!("to_child {line}"));
            }
            if line.is_empty() {
                return None;
            }
            match serde_json::from_str::<Value>(line) {
                Ok(Value::Object(mut m)) => {
                    m.retain(|_, v| !v.is_null());
                    Some(format!("from_child {}", Value::Object(m)))
                }
                _ => Some(format!("from_child {line}")),
            }
        })
        .collect()
}

fn run_all(child: Child) {
    let failures: Vec<String> = fixtures()
        .iter()
        .filter_map(|f| run_fixture(f, child).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} fixture(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn fixtures_with_scripted_child() {
    run_all(Child::Scripted);
}

#[test]
fn fixtures_with_kclpy_v3() {
    run_all(Child::Kclpy("v3"));
}

#[test]
fn fixtures_with_kclpy_v2() {
    run_all(Child::Kclpy("v2"));
}

#[test]
fn fixtures_with_kclpy_v1() {
    run_all(Child::Kclpy("v1"));
}

#[test]
fn fixtures_with_aws_kcl_v2() {
    run_all(Child::Node("v2"));
}

#[test]
fn fixtures_with_aws_kcl_v1() {
    run_all(Child::Node("v1"));
}

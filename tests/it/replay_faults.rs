//! Faults: misbehaving children and bad records files. A failing child ends only its own
//! shard's session, with a clear error and nothing checkpointed that it did not acknowledge.

use std::path::Path;
use std::time::Duration;

use crate::harness::{properties, run, transcript, workdir, Output};

const LIMIT: Duration = Duration::from_secs(60);

/// A small Python child: `PRELUDE` + the scenario body.
const PRELUDE: &str = r#"
import json, os, sys, time
def read():
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    return json.loads(line)
def send(obj):
    sys.stdout.write(json.dumps(obj) + "\n"); sys.stdout.flush()
def status(action):
    send({"action": "status", "responseFor": action})
def checkpoint(seq=None, sub=None):
    send({"action": "checkpoint", "sequenceNumber": seq, "subSequenceNumber": sub})
    return read()
"#;

fn write_child(dir: &Path, body: &str) -> String {
    let path = dir.join("child.py");
    std::fs::write(&path, format!("{PRELUDE}\n{body}")).unwrap();
    format!("python3 {}", path.display())
}

fn replay(
    dir: &Path,
    child_body: &str,
    extra: &[(&str, &str)],
    records: &str,
    args: &[&str],
) -> Output {
    replay_with_env(dir, child_body, extra, records, args, &[])
}

fn replay_with_env(
    dir: &Path,
    child_body: &str,
    extra: &[(&str, &str)],
    records: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let exe = write_child(dir, child_body);
    std::fs::write(dir.join("app.properties"), properties(&exe, extra)).unwrap();
    std::fs::write(dir.join("records.jsonl"), records).unwrap();
    let mut all = vec![
        "replay",
        "app.properties",
        "--records",
        "records.jsonl",
        "--json",
        "--transcript",
        "t.jsonl",
    ];
    all.extend_from_slice(args);
    run(dir, &all, env, LIMIT)
}

const S0: &str = "shardId-000000000000";

/// Whether a process with this pid exists (signal 0 probes without sending anything).
fn is_alive(pid: &str) -> bool {
    let pid = nix::unistd::Pid::from_raw(pid.trim().parse().unwrap());
    nix::sys::signal::kill(pid, None).is_ok()
}

/// A well-behaved child: checkpoints each batch's last record and at shard end.
const GOOD: &str = r#"
while True:
    m = read()
    a = m["action"]
    if a == "processRecords":
        checkpoint(m["records"][-1]["sequenceNumber"])
    if a == "shardEnded":
        checkpoint()
    status(a)
"#;

fn records(n: usize, shard: &str) -> String {
    (0..n)
        .map(|i| format!("{{\"data\":\"r{i}\",\"shardId\":\"{shard}\"}}\n"))
        .collect()
}

#[test]
fn child_that_exits_at_once_fails_its_shard_only() {
    let d = workdir();
    let out = replay(d.path(), "sys.exit(1)", &[], &records(3, S0), &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let s = out.shard(S0);
    assert_eq!(s["result"], "child_failed");
    let e = s["error"].as_str().unwrap();
    assert!(
        e.contains("exited (exit code 1) while initialize was pending"),
        "{e}"
    );
    assert_eq!(s["records_delivered"], 0);
    assert_eq!(s["checkpoints"], 0);
    assert_eq!(s["final_checkpoint"], "TRIM_HORIZON");
}

/// A program that is there but cannot be started (its interpreter is missing) fails its shard
/// with a clear error. (A program that is not there at all is refused before anything runs:
/// `cli::replay_refuses_a_missing_executable_as_bad_input`.)
#[test]
fn executable_that_cannot_start_is_a_clear_shard_error() {
    use std::os::unix::fs::PermissionsExt as _;
    let d = workdir();
    let app = d.path().join("app.sh");
    std::fs::write(&app, "#!/no/such/interpreter-kclb\n").unwrap();
    std::fs::set_permissions(&app, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        d.path().join("app.properties"),
        properties("./app.sh x", &[]),
    )
    .unwrap();
    std::fs::write(d.path().join("records.jsonl"), records(1, S0)).unwrap();
    let out = run(
        d.path(),
        &[
            "replay",
            "app.properties",
            "--records",
            "records.jsonl",
            "--json",
        ],
        &[],
        LIMIT,
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    let e = out.shard(S0)["error"].as_str().unwrap().to_owned();
    assert!(
        e.contains("cannot start the record processor \"./app.sh\""),
        "{e}"
    );
}

#[test]
fn wrong_response_for_is_a_protocol_failure() {
    let d = workdir();
    let body = r#"
m = read()
status("init")
while read(): pass
"#;
    let out = replay(d.path(), body, &[], &records(2, S0), &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let e = out.shard(S0)["error"].as_str().unwrap().to_owned();
    assert!(
        e.contains("answered Some(\"init\") while initialize was pending"),
        "{e}"
    );
    // After the failure nothing more was sent to the child.
    let t = transcript(&d.path().join("t.jsonl"), S0);
    let sent: Vec<_> = t.iter().filter(|e| e["direction"] == "to_child").collect();
    assert_eq!(sent.len(), 1, "only initialize was sent: {sent:?}");
}

#[test]
fn garbage_on_stdout_is_skipped() {
    let d = workdir();
    let body = r#"
out = sys.stdout.buffer
while True:
    m = read()
    out.write(b"garbage \xff\xfe not utf-8\n\n   \r{\"action\":\"status\"\r\n[1,2]\nnull\n{\"action\":\"nope\"}\n"); out.flush()
    a = m["action"]
    if a == "processRecords":
        checkpoint(m["records"][-1]["sequenceNumber"])
    if a == "shardEnded":
        checkpoint()
    status(a)
"#;
    let out = replay(d.path(), body, &[("maxRecords", "2")], &records(5, S0), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let s = out.shard(S0);
    assert_eq!(s["result"], "completed");
    assert_eq!(s["records_delivered"], 5);
    assert_eq!(s["final_checkpoint"], "SHARD_END");
    assert!(
        out.stderr.contains("skipping unexpected line"),
        "skipped lines are logged:\n{}",
        out.stderr
    );
}

#[test]
fn child_that_never_answers_times_out_and_is_killed() {
    let d = workdir();
    let body = r#"
open("pid", "w").write(str(os.getpid()))
m = read()
status("initialize")
m = read()
time.sleep(600)
"#;
    let out = replay(
        d.path(),
        body,
        &[("timeoutInSeconds", "1")],
        &records(2, S0),
        &[],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    let e = out.shard(S0)["error"].as_str().unwrap().to_owned();
    assert!(e.contains("did not answer processRecords within 1s"), "{e}");
    assert_eq!(
        out.shard(S0)["records_delivered"],
        0,
        "the batch was not acknowledged"
    );
    let pid = std::fs::read_to_string(d.path().join("pid")).unwrap();
    let alive = is_alive(&pid);
    assert!(!alive, "the timed-out child {pid} is still running");
}

#[test]
fn checkpoint_requests_are_validated() {
    let d = workdir();
    let body = r#"
m = read()
r = checkpoint("1")            # during initialize: no checkpointer
sys.stderr.write("init:%s\n" % r["error"])
status("initialize")
m = read()
seqs = [r["sequenceNumber"] for r in m["records"]]
for seq, sub in [("12345", None), ("abc", None), (seqs[0], -1), ("99999999999999999999999999999999999999999999999999999999999", None)]:
    r = checkpoint(seq, sub)
    sys.stderr.write("bad:%s\n" % r["error"])
r = checkpoint(seqs[1])
sys.stderr.write("good:%s\n" % r["error"])
r = checkpoint(seqs[0])         # backwards
sys.stderr.write("back:%s\n" % r["error"])
status("processRecords")
m = read()
r = checkpoint()                # during leaseLost: refused
sys.stderr.write("lost:%s\n" % r["error"])
status("leaseLost")
"#;
    let out = replay(
        d.path(),
        body,
        &[],
        &records(3, S0),
        &["--end", "lease-lost"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    for needle in [
        "init:InvalidStateException",
        "bad:IllegalArgumentException",
        "good:None",
        "back:IllegalArgumentException",
        "lost:InvalidStateException",
    ] {
        assert!(
            out.stderr.contains(needle),
            "stderr lacks {needle}:\n{}",
            out.stderr
        );
    }
    assert_eq!(
        out.stderr.matches("bad:IllegalArgumentException").count(),
        4
    );
    let s = out.shard(S0);
    assert_eq!(s["checkpoints"], 1);
    assert_eq!(
        s["final_checkpoint"],
        "49000000000000000000000000000000000000000000000000000002"
    );
    // Replies echo the request.
    let t = transcript(&d.path().join("t.jsonl"), S0);
    assert!(t.iter().any(|e| e["line"] == "{\"action\":\"checkpoint\",\"sequenceNumber\":\"12345\",\"subSequenceNumber\":null,\"error\":\"IllegalArgumentException\"}"));
}

#[test]
fn one_failing_child_does_not_affect_other_shards() {
    let d = workdir();
    let body = r#"
m = read()
if m["shardId"] == "shardId-000000000001":
    os._exit(7)
status("initialize")
while True:
    m = read()
    a = m["action"]
    if a == "processRecords":
        checkpoint(m["records"][-1]["sequenceNumber"])
    if a == "shardEnded":
        checkpoint()
    status(a)
"#;
    let recs = [
        records(4, S0),
        records(4, "shardId-000000000001"),
        records(4, "shardId-000000000002"),
    ]
    .concat();
    let out = replay(d.path(), body, &[("maxRecords", "2")], &recs, &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    for ok in [S0, "shardId-000000000002"] {
        let s = out.shard(ok);
        assert_eq!(s["result"], "completed", "{s}");
        assert_eq!(s["records_delivered"], 4);
        assert_eq!(s["final_checkpoint"], "SHARD_END");
    }
    let bad = out.shard("shardId-000000000001");
    assert_eq!(bad["result"], "child_failed");
    assert!(bad["error"].as_str().unwrap().contains("exit code 7"));
}

#[test]
fn shard_end_without_checkpoint_is_reported() {
    let d = workdir();
    let body = r#"
while True:
    m = read()
    status(m["action"])
"#;
    let out = replay(d.path(), body, &[], &records(2, S0), &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.shard(S0)["result"], "shard_end_not_checkpointed");
    assert!(out.stdout.contains("shard_end_not_checkpointed"));
}

#[test]
fn multi_megabyte_lines_and_a_chatty_child_do_not_deadlock() {
    let d = workdir();
    // After initialize the child floods stdout and stderr (more than a pipe holds) before it
    // reads the next line, while the daemon is writing a ~12 MB processRecords line.
    let body = r#"
while True:
    m = read()
    a = m["action"]
    if a == "initialize":
        status(a)
        sys.stdout.write(("x" * 1000 + "\n") * 1000); sys.stdout.flush()
        sys.stderr.write(("e" * 1000 + "\n") * 1000); sys.stderr.flush()
        continue
    if a == "processRecords":
        sys.stderr.write("batch of %d records, %d bytes of data\n" % (len(m["records"]), sum(len(r["data"]) for r in m["records"])))
        checkpoint(m["records"][-1]["sequenceNumber"])
    if a == "shardEnded":
        checkpoint()
    status(a)
"#;
    let big = "y".repeat(3 * 1024 * 1024);
    let recs: String = (0..3)
        .map(|_| format!("{{\"data\":\"{big}\"}}\n"))
        .collect();
    let out = replay(d.path(), body, &[], &recs, &[]);
    assert_eq!(
        out.code,
        0,
        "{}",
        &out.stderr[out.stderr.len().saturating_sub(3000)..]
    );
    assert!(
        out.stderr
            .contains("batch of 3 records, 12582912 bytes of data"),
        "base64 of 9 MiB arrived whole"
    );
    assert_eq!(out.shard(S0)["final_checkpoint"], "SHARD_END");
}

/// Child code (Python, for `write_child`): answer every action until `leaseLost`.
const ANSWER_UNTIL_LEASE_LOST: &str = r#"while True:
    m = read()
    status(m["action"])
    if m["action"] == "leaseLost":
        break"#;

#[test]
fn child_that_ignores_eof_is_terminated_after_the_grace_period() {
    let d = workdir();
    let body = format!(
        r#"
open("pid", "w").write(str(os.getpid()))
{ANSWER_UNTIL_LEASE_LOST}
sys.stdin.close()
time.sleep(600)
"#
    );
    let out = replay(
        d.path(),
        &body,
        &[],
        &records(1, S0),
        &["--end", "lease-lost"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("SIGTERM"), "{}", out.stderr);
    let pid = std::fs::read_to_string(d.path().join("pid")).unwrap();
    let alive = is_alive(&pid);
    assert!(!alive, "child {pid} still running");
}

/// `--child-exit-grace-millis` gives a child that cleans up after EOF the time it needs: with 8 s
/// a child taking 6 s finishes and exits by itself; with the default 5 s it is sent SIGTERM
/// first.
#[test]
fn the_child_exit_grace_is_configurable() {
    let body = format!(
        r#"
{ANSWER_UNTIL_LEASE_LOST}
sys.stdin.close()
time.sleep(6)
open("cleaned-up", "w").write("yes")
"#
    );
    for (args, finished) in [
        (
            &["--end", "lease-lost", "--child-exit-grace-millis", "8000"][..],
            true,
        ),
        (&["--end", "lease-lost"][..], false),
    ] {
        let d = workdir();
        let out = replay(d.path(), &body, &[], &records(1, S0), args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(
            d.path().join("cleaned-up").exists(),
            finished,
            "{args:?}: {}",
            out.stderr
        );
        assert_eq!(out.stderr.contains("SIGTERM"), !finished, "{}", out.stderr);
    }
}

#[test]
fn bad_records_files_name_the_line() {
    let d = workdir();
    let cases = [
        (
            "{\"data\":\"a\"}\n{\"data\": oops}\n",
            "records.jsonl:2:10: not a record: expected value\n",
        ),
        (
            "{\"data\":\"a\"}\n{\"dataBase64\":\"%%%\"}\n",
            "records.jsonl:2: dataBase64 is not valid base64",
        ),
    ];
    for (text, needle) in cases {
        let out = replay(d.path(), GOOD, &[], text, &[]);
        assert_eq!(out.code, 1, "{text:?}");
        assert!(out.stderr.contains(needle), "{text:?}: {}", out.stderr);
        assert!(
            !d.path().join("t.jsonl").exists()
                || std::fs::read_to_string(d.path().join("t.jsonl"))
                    .unwrap()
                    .is_empty(),
            "no child was started"
        );
    }
    let out = run(
        d.path(),
        &["replay", "app.properties", "--records", "missing.jsonl"],
        &[],
        LIMIT,
    );
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("missing.jsonl"), "{}", out.stderr);
}

/// A records file that is a pipe (here a FIFO) is read as a regular file is: the child is sent
/// exactly what it is sent for the same records in a regular file.
#[test]
fn records_from_a_pipe_replay_as_from_a_file() {
    let d = workdir();
    let mut text = String::new();
    for i in 0..2500 {
        let shard = format!("shardId-00000000000{}", i % 3);
        let line = match i % 4 {
            0 => format!(
                r#"{{"data":"r{i} \u00e9\n","shardId":"{shard}","approximateArrivalTimestamp":{i}}}"#
            ),
            1 => format!(
                r#"{{"dataBase64":"cjE=","shardId":"{shard}","partitionKey":"p{i}","approximateArrivalTimestamp":{i}}}"#
            ),
            2 => format!(
                r#"{{"data":"{}","shardId":"{shard}","approximateArrivalTimestamp":{i}}}"#,
                "x".repeat(i)
            ),
            _ => format!(
                r#"{{"dataBase64":"{}","shardId":"{shard}","approximateArrivalTimestamp":{i}}}"#,
                "QUJD".repeat(i)
            ),
        };
        text.push_str(&line);
        text.push_str(if i % 5 == 0 { "\r\n" } else { "\n" });
    }
    let file = replay(d.path(), GOOD, &[("maxRecords", "300")], &text, &[]);
    assert_eq!(file.code, 0, "{}", file.stderr);
    let from_file = d.path().join("from-file.jsonl");
    std::fs::rename(d.path().join("t.jsonl"), &from_file).unwrap();

    let fifo = d.path().join("records.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let writer = {
        let (fifo, text) = (fifo.clone(), text.clone());
        std::thread::spawn(move || std::fs::write(fifo, text).unwrap())
    };
    let piped = run(
        d.path(),
        &[
            "replay",
            "app.properties",
            "--records",
            "records.fifo",
            "--json",
            "--transcript",
            "t.jsonl",
        ],
        &[],
        LIMIT,
    );
    writer.join().unwrap();
    assert_eq!(piped.code, 0, "{}", piped.stderr);
    for shard in [
        "shardId-000000000000",
        "shardId-000000000001",
        "shardId-000000000002",
    ] {
        let sent = |path: &Path| -> Vec<String> {
            transcript(path, shard)
                .into_iter()
                .filter(|e| e["direction"] == "to_child")
                .map(|e| e["line"].as_str().unwrap().to_owned())
                .collect()
        };
        let (a, b) = (sent(&from_file), sent(&d.path().join("t.jsonl")));
        assert!(a.len() > 4, "{shard}: {a:?}");
        assert_eq!(a, b, "{shard}");
        assert_eq!(file.shard(shard), piped.shard(shard));
    }
}

/// A child's stderr reaches the daemon's stderr, tagged with its shard, at whatever level the
/// daemon logs (users grep for their tracebacks; `docs/protocol.md`, "Child stderr"); `child=off`
/// silences it.
#[test]
fn child_stderr_survives_a_quieter_log_level() {
    let body = r#"
m = read()
sys.stderr.write("Traceback: the app's own words\n")
sys.stderr.flush()
status("initialize")
m = read()
status("processRecords")
m = read()
status("leaseLost")
"#;
    let run = |env: &[(&str, &str)]| {
        let d = workdir();
        replay_with_env(
            d.path(),
            body,
            &[],
            &records(2, S0),
            &["--end", "lease-lost"],
            env,
        )
    };
    for level in ["warn", "error", "kcl_bridge=warn"] {
        let out = run(&[("KCL_BRIDGE_LOG", level)]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let line = out
            .stderr
            .lines()
            .find(|l| l.contains("Traceback: the app's own words"))
            .unwrap_or_else(|| {
                panic!(
                    "KCL_BRIDGE_LOG={level} dropped the child's stderr:\n{}",
                    out.stderr
                )
            });
        assert!(line.contains(S0), "tagged with the shard: {line}");
        assert!(
            !out.stderr.contains("started record processor"),
            "the daemon's INFO lines are still filtered"
        );
    }
    let out = run(&[("KCL_BRIDGE_LOG", "warn,child=off")]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("Traceback"), "{}", out.stderr);
}

/// `logWarningForTaskAfterMillis`: an action the child is slow to answer is logged at WARN, once,
/// and the session goes on.
#[test]
fn a_slow_action_is_logged() {
    let body = r#"
m = read()
status("initialize")
m = read()
time.sleep(1.0)
status("processRecords")
m = read()
status("leaseLost")
"#;
    let d = workdir();
    let out = replay(
        d.path(),
        body,
        &[("logWarningForTaskAfterMillis", "300")],
        &records(2, S0),
        &["--end", "lease-lost"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let slow: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("has not finished"))
        .collect();
    assert_eq!(slow.len(), 1, "{}", out.stderr);
    assert!(
        slow[0].contains("WARN") && slow[0].contains("processRecords"),
        "{}",
        slow[0]
    );
    assert_eq!(out.shard(S0)["records_delivered"], 2);
    // Unset: no such line.
    let d = workdir();
    let out = replay(
        d.path(),
        body,
        &[],
        &records(2, S0),
        &["--end", "lease-lost"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("has not finished"), "{}", out.stderr);
}

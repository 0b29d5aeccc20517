//! Shared test helpers: paths, a per-test directory, running the binary with a watchdog.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kcl-bridge"))
}

/// The test venv's python, with amazon_kclpy importable. Fails loudly if the test environment
/// was not set up: these tests must not pass by skipping.
pub fn venv_python() -> PathBuf {
    let p = repo().join(".venv/bin/python3");
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup-test-env.sh (or scripts/test.sh)",
        p.display()
    );
    p
}

/// The unpacked amazon_kclpy 3.2.0 sdist.
pub fn kclpy_sdist() -> PathBuf {
    let p = repo().join(".test-env/amazon_kclpy-3.2.0");
    assert!(
        p.join("samples/sample.properties").exists(),
        "{} is missing: run scripts/setup-test-env.sh",
        p.display()
    );
    p
}

pub fn node_ready() {
    let p = repo().join("node_modules/aws-kcl/package.json");
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup-test-env.sh",
        p.display()
    );
}

/// A fresh directory for one test, removed at the end (kept, with the workers' logs in it, when
/// `KCLB_KEEP_WORKDIR` is set).
pub fn workdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("kclb-it-")
        .disable_cleanup(std::env::var_os("KCLB_KEEP_WORKDIR").is_some())
        .tempdir()
        .expect("temp dir")
}

/// Properties with the required keys filled in, plus `extra` (key, value) lines.
pub fn properties(executable: &str, extra: &[(&str, &str)]) -> String {
    let mut s = format!(
        "executableName = {executable}\napplicationName = it\nstreamName = it\n\
         AwsCredentialsProvider = DefaultCredentialsProvider\nregionName = us-east-1\n\
         initialPositionInStream = TRIM_HORIZON\n"
    );
    for (k, v) in extra {
        s.push_str(&format!("{k} = {v}\n"));
    }
    s
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The `--json` report of a replay run.
    pub fn report(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not a JSON report ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// The report entry of one shard.
    pub fn shard(&self, shard: &str) -> Value {
        let r = self.report();
        r["shards"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["shard_id"] == shard).cloned())
            .unwrap_or_else(|| panic!("no shard {shard} in the report: {r}"))
    }
}

/// Runs the binary in `dir` with `args` and extra environment; kills it after `limit`.
pub fn run(dir: &Path, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("spawn kcl-bridge");
    let pid = child.id();
    // A watchdog so that a hung daemon fails the test instead of hanging CI.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(limit).is_err() {
            let pid = nix::unistd::Pid::from_raw(pid as i32);
            if let Err(e) = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL) {
                eprintln!("watchdog: cannot kill kcl-bridge: {e}");
            }
            return true;
        }
        false
    });
    let out = child.wait_with_output().expect("wait for kcl-bridge");
    // The watchdog is gone only if it already fired, which the assertion below reports.
    done_tx.send(()).unwrap_or_default();
    let killed = watchdog.join().unwrap_or(false);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !killed,
        "kcl-bridge {args:?} did not finish within {limit:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout,
        stderr,
    }
}

/// Transcript entries of one shard.
pub fn transcript(path: &Path, shard: &str) -> Vec<Value> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<Value>(l).expect("transcript line is JSON"))
        .filter(|e| e["shard"] == shard)
        .collect()
}

/// Shows two line lists side by side from the first difference, for readable failures.
pub fn diff(want: &[String], got: &[String]) -> String {
    let first = want
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(got.len()));
    let mut s = format!(
        "first difference at line {} (want {} lines, got {})\n",
        first + 1,
        want.len(),
        got.len()
    );
    for i in first..(first + 6).min(want.len().max(got.len())) {
        s.push_str(&format!(
            "  want: {}\n  got:  {}\n",
            want.get(i).map(String::as_str).unwrap_or("<none>"),
            got.get(i).map(String::as_str).unwrap_or("<none>")
        ));
    }
    s
}

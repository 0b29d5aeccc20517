//! The command line: Java-compatible arguments, `check`, and bad input (exit 1, clear message,
//! no panic or backtrace).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::{properties, run, workdir};

const LIMIT: Duration = Duration::from_secs(30);

fn no_panic(stderr: &str) {
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "a panic:\n{stderr}"
    );
}

#[test]
fn help_and_version() {
    let d = workdir();
    let out = run(d.path(), &["--help"], &[], LIMIT);
    assert_eq!(out.code, 0);
    for needle in [
        "--properties-file",
        "--log-configuration",
        "check",
        "replay",
    ] {
        assert!(
            out.stdout.contains(needle),
            "--help lacks {needle}:\n{}",
            out.stdout
        );
    }
    let out = run(d.path(), &["--version"], &[], LIMIT);
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with("kcl-bridge "), "{}", out.stdout);
    let out = run(d.path(), &["replay", "--help"], &[], LIMIT);
    assert!(
        out.stdout.contains("--fail-checkpoint") && out.stdout.contains("shutdown-requested"),
        "{}",
        out.stdout
    );
}

#[test]
fn no_properties_file_is_javas_message() {
    let d = workdir();
    let out = run(d.path(), &[], &[], LIMIT);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("Properties file missing, please provide a properties file"),
        "{}",
        out.stderr
    );
}

#[test]
fn two_positional_files_is_javas_message() {
    let d = workdir();
    let out = run(d.path(), &["a.properties", "b.properties"], &[], LIMIT);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("Expected a single argument, but found multiple arguments.  Arguments: a.properties, b.properties"),
        "{}",
        out.stderr
    );
}

#[test]
fn missing_or_unreadable_properties_file() {
    let d = workdir();
    for args in [
        &["nope.properties"][..],
        &["-p", "nope.properties"],
        &["check", "nope.properties"],
    ] {
        let out = run(d.path(), args, &[], LIMIT);
        assert_eq!(out.code, 1, "{args:?}");
        assert!(
            out.stderr.contains("nope.properties"),
            "{args:?}: {}",
            out.stderr
        );
        no_panic(&out.stderr);
    }
    std::fs::create_dir(d.path().join("dir.properties")).unwrap();
    let out = run(d.path(), &["check", "dir.properties"], &[], LIMIT);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("dir.properties"), "{}", out.stderr);
}

#[test]
fn properties_file_option_overrides_positional_and_log_configuration_is_accepted() {
    let d = workdir();
    std::fs::write(
        d.path().join("good.properties"),
        properties("python3 app.py", &[]),
    )
    .unwrap();
    std::fs::write(d.path().join("bad.properties"), "maxRecords = many\n").unwrap();
    // The positional file is valid but -p wins, as in Java: the -p file's problems are reported
    // (and nothing starts, so nothing reaches for AWS).
    let out = run(
        d.path(),
        &[
            "good.properties",
            "-p",
            "bad.properties",
            "-l",
            "logback.xml",
        ],
        &[],
        LIMIT,
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("Overriding the properties file with the --properties-file option"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--log-configuration"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("bad.properties:1: maxRecords = \"many\""),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("good.properties"),
        "the positional file must not be read:\n{}",
        out.stderr
    );
    no_panic(&out.stderr);
}

#[test]
fn bad_properties_name_key_line_value_and_expectation() {
    let d = workdir();
    let text = format!(
        "{}maxRecords = lots\ncallProcessRecordsEvenForEmptyRecordList = treu\ninitialPositionInStream = SOMEWHERE\n",
        properties("python3 app.py", &[])
    );
    std::fs::write(d.path().join("app.properties"), text).unwrap();
    for args in [
        &["app.properties"][..],
        &["check", "app.properties"],
        &["replay", "app.properties", "--records", "r.jsonl"],
    ] {
        let out = run(d.path(), args, &[], LIMIT);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        // Every problem is reported at once, each with its line, key and value.
        for needle in [
            "app.properties:7",
            "maxRecords",
            "lots",
            "app.properties:8",
            "treu",
            "app.properties:9",
            "SOMEWHERE",
        ] {
            assert!(
                out.stderr.contains(needle),
                "{args:?}: stderr lacks {needle:?}:\n{}",
                out.stderr
            );
        }
        no_panic(&out.stderr);
    }
}

/// An unknown key is a warning (Java ignores it silently); with `--strict` (after the subcommand;
/// before it, a hint says so), an error naming its line, in every mode.
#[test]
fn strict_makes_unknown_keys_errors() {
    let d = workdir();
    let text = properties("python3 app.py", &[("maxRecord", "500")]);
    std::fs::write(d.path().join("app.properties"), text).unwrap();
    let out = run(d.path(), &["check", "app.properties"], &[], LIMIT);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("maxRecord") && out.stderr.contains("did you mean maxRecords"),
        "{}",
        out.stderr
    );
    for args in [
        &["check", "--strict", "app.properties"][..],
        &["--strict", "app.properties"],
        &[
            "replay",
            "app.properties",
            "--records",
            "r.jsonl",
            "--strict",
        ],
    ] {
        let out = run(d.path(), args, &[], LIMIT);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("app.properties:7") && out.stderr.contains("maxRecord"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("nothing was started"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("unknown key (an error with --strict")
                && !out.stderr.contains("ignored"),
            "{args:?}: an error, not ignored: {}",
            out.stderr
        );
        no_panic(&out.stderr);
    }
    // Before a subcommand, an option turns it into a file name (Java's argument rule): say so.
    let out = run(
        d.path(),
        &["--strict", "check", "app.properties"],
        &[],
        LIMIT,
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("kcl-bridge check --strict"),
        "{}",
        out.stderr
    );
}

#[test]
fn malformed_line_names_its_line() {
    let d = workdir();
    let text = format!(
        "{}workerId = bad\\uZZ12escape\n",
        properties("python3 app.py", &[])
    );
    std::fs::write(d.path().join("app.properties"), text).unwrap();
    let out = run(d.path(), &["check", "app.properties"], &[], LIMIT);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("app.properties:7"), "{}", out.stderr);
    assert!(
        out.stderr.contains("\\u"),
        "names the bad escape: {}",
        out.stderr
    );
    no_panic(&out.stderr);
}

#[test]
fn missing_executable_name() {
    let d = workdir();
    std::fs::write(d.path().join("app.properties"), "applicationName = a\nstreamName = s\nAwsCredentialsProvider = DefaultCredentialsProvider\n").unwrap();
    let out = run(d.path(), &["check", "app.properties"], &[], LIMIT);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("executableName"), "{}", out.stderr);
    no_panic(&out.stderr);
}

/// A bare file name that is not in the current directory is looked up in the `CLASSPATH`
/// directories, as Java finds it as a class-path resource (launch scripts put the properties
/// file's directory on the class path).
#[test]
fn a_properties_file_on_the_classpath_is_found() {
    let d = workdir();
    let conf = d.path().join("conf");
    std::fs::create_dir(&conf).unwrap();
    std::fs::write(
        conf.join("app.properties"),
        properties("python3 app.py", &[]),
    )
    .unwrap();
    let class_path = format!("/nonexistent/jars/*:{}", conf.display());
    let out = run(
        d.path(),
        &["check", "app.properties"],
        &[("CLASSPATH", &class_path)],
        LIMIT,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("found through CLASSPATH"),
        "{}",
        out.stderr
    );
    let without = run(d.path(), &["check", "app.properties"], &[], LIMIT);
    assert_eq!(without.code, 1, "{}", without.stderr);
}

#[test]
fn check_resolves_the_executable_and_redacts_credentials() {
    let d = workdir();
    let text = properties(
        "python3 app.py --flag",
        &[("AwsCredentialsProviderDynamoDB", "StsAssumeRoleCredentialsProvider|arn:aws:iam::123456789012:role/r|sess|externalId=spartacus")],
    );
    std::fs::write(d.path().join("app.properties"), text).unwrap();
    let out = run(d.path(), &["check", "app.properties"], &[], LIMIT);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("app.properties: OK"), "{}", out.stdout);
    assert!(
        out.stdout.contains("python3") && out.stdout.contains("--flag"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("applicationName = it"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("spartacus") && !out.stderr.contains("spartacus"),
        "secret leaked:\n{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(
        !out.stdout.contains("123456789012"),
        "role ARN not redacted:\n{}",
        out.stdout
    );
}

#[test]
fn check_fails_when_the_executable_is_not_found() {
    let d = workdir();
    std::fs::write(
        d.path().join("app.properties"),
        properties("no-such-program-kclb app.py", &[]),
    )
    .unwrap();
    let out = run(d.path(), &["check", "app.properties"], &[], LIMIT);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("no-such-program-kclb") && out.stderr.contains("PATH"),
        "{}",
        out.stderr
    );
    std::fs::write(
        d.path().join("app.properties"),
        properties("./missing.py", &[]),
    )
    .unwrap();
    let out = run(d.path(), &["check", "app.properties"], &[], LIMIT);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("./missing.py does not exist"),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_fail_checkpoint_argument() {
    let d = workdir();
    std::fs::write(
        d.path().join("app.properties"),
        properties("python3 app.py", &[]),
    )
    .unwrap();
    std::fs::write(d.path().join("r.jsonl"), "{\"data\":\"a\"}\n").unwrap();
    let out = run(
        d.path(),
        &[
            "replay",
            "app.properties",
            "--records",
            "r.jsonl",
            "--fail-checkpoint",
            "1=Oops",
        ],
        &[],
        LIMIT,
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("ThrottlingException"),
        "lists the valid names:\n{}",
        out.stderr
    );
}

/// `contrib/amazon_kclpy_helper.py` and `contrib/kcl-bootstrap` stand in for the launchers of
/// amazon_kclpy and aws-kcl: the same options, and the command they print (or, for
/// kcl-bootstrap -e, run) starts kcl-bridge on the named properties file.
#[test]
fn contrib_launchers_hand_the_properties_file_to_kcl_bridge() {
    use std::process::Command;
    let d = workdir();
    // No executableName: kcl-bridge itself must read this file and refuse it.
    std::fs::write(
        d.path().join("app.properties"),
        "streamName = s\napplicationName = a\n",
    )
    .unwrap();
    let bin = crate::harness::bin();
    let contrib = crate::harness::repo().join("contrib");
    let output = |cmd: &mut Command| {
        let out = cmd
            .current_dir(d.path())
            .env("KCL_BRIDGE", &bin)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let refused =
        |stderr: &str| stderr.contains("executableName") && stderr.contains("app.properties");

    let (code, printed, stderr) = output(
        Command::new(crate::harness::venv_python())
            .arg(contrib.join("amazon_kclpy_helper.py"))
            .args([
                "--print_command",
                "--java",
                "/usr/bin/java",
                "--properties",
                "app.properties",
            ])
            .args(["-l", "logback.xml", "--path", "/opt/extra"]),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        printed.trim(),
        format!(
            "{} --properties-file app.properties --log-configuration logback.xml",
            bin.display()
        )
    );
    // What launch scripts do with it: run the printed command.
    let (code, _, stderr) = output(Command::new("sh").args(["-c", printed.trim()]));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(refused(&stderr), "{stderr}");
    assert!(
        stderr.contains("--log-configuration"),
        "the -l warning: {stderr}"
    );

    let bootstrap = contrib.join("kcl-bootstrap");
    let (code, printed, stderr) = output(Command::new("sh").arg(&bootstrap).args([
        "-p",
        "app.properties",
        "-j",
        "/usr/bin/java",
    ]));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        printed.trim(),
        format!("{} --properties-file app.properties", bin.display())
    );
    let (code, _, stderr) =
        output(
            Command::new("sh")
                .arg(&bootstrap)
                .args(["-p", "app.properties", "-e"]),
        );
    assert_eq!(code, Some(1), "kcl-bridge's exit status: {stderr}");
    assert!(refused(&stderr), "{stderr}");
    let (code, _, stderr) =
        output(
            Command::new("sh")
                .arg(&bootstrap)
                .args(["-p", "missing.properties", "-e"]),
        );
    assert_eq!(code, Some(1));
    assert!(stderr.contains("missing.properties"), "{stderr}");
}

/// A record processor that checkpoints at shard end, for `replay` runs that must complete.
const GOOD_CHILD: &str = r#"
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m["action"] == "shardEnded":
        sys.stdout.write(json.dumps({"action": "checkpoint", "sequenceNumber": None}) + "\n")
        sys.stdout.flush()
        sys.stdin.readline()
    sys.stdout.write(json.dumps({"action": "status", "responseFor": m["action"]}) + "\n")
    sys.stdout.flush()
"#;

/// `app.properties` running [`GOOD_CHILD`], and a records file of one record.
fn good_replay(dir: &Path, extra: &[(&str, &str)]) {
    std::fs::write(dir.join("child.py"), GOOD_CHILD).unwrap();
    std::fs::write(
        dir.join("app.properties"),
        properties("python3 child.py", extra),
    )
    .unwrap();
    std::fs::write(dir.join("r.jsonl"), "{\"data\":\"a\"}\n").unwrap();
}

/// Runs the binary with its stdout a pipe whose reading end is already closed, as `| head -1`
/// leaves it once `head` has its line: every write to stdout fails (EPIPE). Returns the exit
/// code and stderr.
fn run_into_closed_pipe(dir: &Path, args: &[&str]) -> (i32, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let child = Command::new(crate::harness::bin())
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (done, finished) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let out = child.wait_with_output().unwrap();
        done.send(()).unwrap_or_default();
        out
    });
    if finished.recv_timeout(LIMIT).is_err() {
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap_or_default();
        panic!("kcl-bridge {args:?} did not finish within {LIMIT:?}");
    }
    let out = waiter.join().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `kcl-bridge check app.properties | head -1` and the like: a reader that goes away ends the
/// output quietly (no panic, no error), with the exit status the command has anyway.
#[test]
fn a_closed_stdout_ends_the_output_quietly() {
    let d = workdir();
    good_replay(d.path(), &[]);
    let replay = ["replay", "app.properties", "--records", "r.jsonl"];
    let replay_json = ["replay", "app.properties", "--records", "r.jsonl", "--json"];
    let cases: [&[&str]; 6] = [
        &["check", "app.properties"],
        &replay,
        &replay_json,
        &["--help"],
        &["--version"],
        &["replay", "--help"],
    ];
    for args in cases {
        let (code, stderr) = run_into_closed_pipe(d.path(), args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        no_panic(&stderr);
        assert!(
            !stderr.contains("Broken pipe") && !stderr.contains("kcl-bridge:"),
            "{args:?}: no error spew: {stderr}"
        );
    }
}

/// `check` says what the daemon will do where the file says something else, and every warning
/// the daemon gives at start.
#[test]
fn check_says_what_the_daemon_does_instead() {
    let d = workdir();
    let text = properties(
        "python3 app.py",
        &[("shutdownGraceMillis", "0"), ("metricsLevel", "DETAILED")],
    );
    std::fs::write(d.path().join("app.properties"), text).unwrap();
    std::fs::write(d.path().join("app.py"), "").unwrap();
    let out = run(d.path(), &["check", "app.properties"], &[], LIMIT);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for line in [
        "retrievalMode = FANOUT (retrievalMode DEFAULT and no polling key set)  # kcl-bridge polls with GetRecords",
        "shutdownGraceMillis = 0  # kcl-bridge gives record processors up to 30 s to checkpoint",
        "metricsLevel = DETAILED  # not used: kcl-bridge publishes no metrics",
        "gracefulLeaseHandoffTimeoutMillis = 30000  # not used yet",
        "fanoutConfig.consumerName = it  # not used yet: enhanced fan-out is not built",
        "failoverTimeMillis = 10000\n",
    ] {
        assert!(out.stdout.contains(line), "stdout lacks {line:?}:\n{}", out.stdout);
    }
    // The daemon's start-up warnings (no workerId, fan-out polled) and the file's own.
    for needle in [
        "warning: retrievalMode: no polling key is set, so Java's retrievalMode DEFAULT selects enhanced fan-out",
        "warning: workerId: not set: kcl-bridge uses a random worker id",
        "warning: shutdownGraceMillis: 0 means 30 s here",
        "metricsLevel: kcl-bridge publishes no CloudWatch metrics",
    ] {
        assert!(out.stderr.contains(needle), "stderr lacks {needle:?}:\n{}", out.stderr);
    }
    // A file that says what kcl-bridge does gets no such notes.
    let text = properties(
        "python3 app.py",
        &[
            ("retrievalMode", "POLLING"),
            ("workerId", "w1"),
            ("shutdownGraceMillis", "5000"),
            ("metricsLevel", "NONE"),
        ],
    );
    std::fs::write(d.path().join("app.properties"), text).unwrap();
    let out = run(d.path(), &["check", "app.properties"], &[], LIMIT);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("retrievalMode = POLLING (set by retrievalMode)\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("shutdownGraceMillis = 5000\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("metricsLevel = NONE\n"),
        "{}",
        out.stdout
    );
    assert!(!out.stderr.contains("WARN"), "{}", out.stderr);
}

/// A script argument of `executableName` that is not there is a warning naming the directory it
/// was looked for in (children start in kcl-bridge's working directory): from `check`, `replay`
/// and the daemon at start.
#[test]
fn a_missing_script_is_a_warning_naming_the_working_directory() {
    let d = workdir();
    std::fs::write(
        d.path().join("app.properties"),
        properties(
            "python3 samples/python/sampel_app.py",
            &[
                ("kinesisEndpoint", "http://127.0.0.1:1"),
                ("dynamoDBEndpoint", "http://127.0.0.1:1"),
            ],
        ),
    )
    .unwrap();
    std::fs::write(d.path().join("r.jsonl"), "{\"data\":\"a\"}\n").unwrap();
    let dir = d.path().canonicalize().unwrap();
    let warning = format!(
        "executableName: \"samples/python/sampel_app.py\" does not exist in {}",
        dir.display()
    );
    let out = run(d.path(), &["check", "app.properties"], &[], LIMIT);
    assert_eq!(out.code, 0, "a warning, not an error: {}", out.stderr);
    assert!(out.stderr.contains(&warning), "check: {}", out.stderr);
    let out = run(
        d.path(),
        &["replay", "app.properties", "--records", "r.jsonl"],
        &[],
        LIMIT,
    );
    assert!(out.stderr.contains(&warning), "replay: {}", out.stderr);
    // The daemon says it before it reaches for AWS (the endpoints here refuse connections).
    let mut daemon = Command::new(crate::harness::bin())
        .arg("app.properties")
        .current_dir(&dir)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = daemon.stderr.take().unwrap();
    let (line_tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let found = loop {
        match lines.recv_timeout(LIMIT) {
            Ok(line) if line.contains(&warning) => break true,
            Ok(line) => seen.push_str(&format!("{line}\n")),
            Err(_) => break false,
        }
    };
    daemon.kill().unwrap_or_default();
    daemon.wait().unwrap();
    assert!(found, "the daemon did not warn:\n{seen}");
}

/// `replay` finds the executable as `check` does before it runs anything: a missing one is bad
/// input (exit 1), not an application failure.
#[test]
fn replay_refuses_a_missing_executable_as_bad_input() {
    let d = workdir();
    std::fs::write(
        d.path().join("app.properties"),
        properties("no-such-program-kclb app.py", &[]),
    )
    .unwrap();
    std::fs::write(d.path().join("r.jsonl"), "{\"data\":\"a\"}\n").unwrap();
    let out = run(
        d.path(),
        &["replay", "app.properties", "--records", "r.jsonl", "--json"],
        &[],
        LIMIT,
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "app.properties: executableName: \"no-such-program-kclb\" was not found on PATH"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "nothing ran: {}", out.stdout);
    no_panic(&out.stderr);
}

/// `replay` makes no AWS calls, so it runs without `AwsCredentialsProvider` (with a warning);
/// the daemon and `check` still require it, as Java does.
#[test]
fn replay_runs_without_a_credentials_key() {
    let d = workdir();
    good_replay(d.path(), &[]);
    let text = std::fs::read_to_string(d.path().join("app.properties")).unwrap();
    let without: String = text
        .lines()
        .filter(|l| !l.starts_with("AwsCredentialsProvider"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(d.path().join("app.properties"), without).unwrap();
    let out = run(
        d.path(),
        &["replay", "app.properties", "--records", "r.jsonl", "--json"],
        &[],
        LIMIT,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.shard("shardId-000000000000")["result"], "completed");
    assert!(
        out.stderr
            .contains("warning: AwsCredentialsProvider: not set; replay makes no AWS calls"),
        "{}",
        out.stderr
    );
    for args in [&["check", "app.properties"][..], &["app.properties"]] {
        let out = run(d.path(), args, &[], LIMIT);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr
                .contains("required key \"AwsCredentialsProvider\" is missing"),
            "{args:?}: {}",
            out.stderr
        );
    }
}

/// Out-of-range numbers name a range a person can read, and say what 0 means.
#[test]
fn range_errors_are_readable() {
    let d = workdir();
    let text = properties(
        "python3 app.py",
        &[("failoverTimeMillis", "-5"), ("maxRecords", "20000")],
    );
    std::fs::write(d.path().join("app.properties"), text).unwrap();
    let out = run(d.path(), &["check", "app.properties"], &[], LIMIT);
    assert_eq!(out.code, 1, "{}", out.stderr);
    for needle in [
        "failoverTimeMillis = \"-5\": expected an integer number of milliseconds, 1 or more (0 means the default, 10000, as in Java)",
        "maxRecords = \"20000\": expected an integer number of records from 1 to 10000 (0 means the default, 10000, as in Java)",
    ] {
        assert!(out.stderr.contains(needle), "lacks {needle:?}: {}", out.stderr);
    }
    assert!(
        !out.stderr.contains("9223372036854775807"),
        "{}",
        out.stderr
    );
}

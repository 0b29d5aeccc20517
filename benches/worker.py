#!/usr/bin/env python3
"""Worker benchmark against moto: time from launch to the first record at the child, records/s,
kcl-bridge's own CPU and peak RSS (from /proc, children excluded), and idle cost.

Usage (after `cargo build --release` and `scripts/setup-test-env.sh`):
    .venv/bin/python3 benches/worker.py [--idle-seconds 60] [--daemon kcl-bridge|java] [--emulator moto|moto-h2]
`--daemon java` runs the Java MultiLangDaemon (scripts/java/run-daemon.sh) instead, which needs
`--emulator moto-h2` (moto behind hypercorn: Java's Kinesis client speaks only HTTP/2). `KCL_BRIDGE_BIN=path` runs another kcl-bridge build (for A/B runs). For a
side-by-side comparison run both daemons with `--emulator moto-h2`. Both read the same properties
(Java's start-up timers tuned to 1 s, metrics off). CPU and RSS are the daemon process's own
(for Java, the JVM's), children excluded.
Prints one line per measurement; copy them into BENCHMARKS.md with the machine and date.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import boto3

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("KCL_BRIDGE_BIN") or os.path.join(REPO, "target", "release", "kcl-bridge")
PY = os.path.join(REPO, ".venv", "bin", "python3")
APP = os.path.join(REPO, "tests", "apps", "kclpy_app.py")
TICKS = os.sysconf("SC_CLK_TCK")


def start_moto(kind):
    if kind == "moto-h2":
        p = subprocess.Popen([PY, os.path.join(REPO, "scripts", "java", "moto_h2.py"), "0"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for line in p.stdout:
            if line.startswith("moto-h2 ready "):
                return p, line.split()[2]
        sys.exit("moto-h2 did not start")
    p = subprocess.Popen([PY, os.path.join(REPO, "scripts", "moto_atomic.py"), "-H", "127.0.0.1", "-p", "0"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        m = re.search(r"Running on (http://\S+)", line)
        if m:
            return p, m.group(1)
    sys.exit("moto did not start")


def cpu_seconds(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime of the process itself


def rss_kb(pid, key):
    for line in open("/proc/%d/status" % pid):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def lines(path):
    try:
        with open(path) as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


def write_properties(work, name, endpoint, extra, dynamodb_endpoint=None):
    """`work`/app.properties: the test app on stream `name` (also the application name) at
    `endpoint` for both services (DynamoDB at `dynamodb_endpoint` if given), metrics off, then the
    `extra` lines. Returns its path."""
    props = os.path.join(work, "app.properties")
    with open(props, "w") as f:
        f.write("executableName = %s %s\napplicationName = %s\nstreamName = %s\n"
                "AwsCredentialsProvider = DefaultCredentialsProvider\nregionName = us-east-1\n"
                "kinesisEndpoint = %s\ndynamoDBEndpoint = %s\ninitialPositionInStream = TRIM_HORIZON\n"
                "metricsLevel = NONE\n%s" % (PY, APP, name, name, endpoint, dynamodb_endpoint or endpoint,
                                              extra))
    return props


def run(daemon, endpoint, name, shards, records, size, idle_ms, idle_seconds=0):
    k = boto3.client("kinesis", endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id="test", aws_secret_access_key="test")
    k.create_stream(StreamName=name, ShardCount=shards)
    blob = os.urandom(size)
    for start in range(0, records, 500):
        k.put_records(StreamName=name, Records=[
            {"Data": blob, "PartitionKey": "pk%d" % i} for i in range(start, min(records, start + 500))])
    work = tempfile.mkdtemp()
    out = os.path.join(work, "received.tsv")
    props = write_properties(work, name, endpoint,
                             "idleTimeBetweenReadsInMillis = %d\nworkerId = bench\nmaxRecords = 10000\n"
                             "shardSyncIntervalMillis = 1000\nleaseAssignmentIntervalMillis = 1000\n"
                             "workerMetricsReporterFreqInMillis = 1000\nshutdownGraceMillis = 10000\n"
                             % idle_ms)
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", KCL_BRIDGE_LOG="warn",
               KCLB_SCENARIO="normal", KCLB_RECORDS_OUT=out)
    t0 = time.monotonic()
    cmd = [os.path.join(REPO, "scripts", "java", "run-daemon.sh"), props] if daemon == "java" else [BIN, props]
    env["KCLB_JAVA_LOG_LEVEL"] = "ERROR"
    p = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = None
    while lines(out) < records:
        if first is None and lines(out) > 0:
            first = time.monotonic() - t0
        if p.poll() is not None:
            sys.exit("kcl-bridge exited early")
        time.sleep(0.005)
    if first is None:
        first = time.monotonic() - t0
    total = time.monotonic() - t0
    busy_cpu = cpu_seconds(p.pid)
    result = {"first_record_s": first, "all_records_s": total, "records_per_s": records / total,
              "cpu_s": busy_cpu, "peak_rss_mb": rss_kb(p.pid, "VmHWM") / 1024}
    if idle_seconds:
        time.sleep(5)
        c0 = cpu_seconds(p.pid)
        time.sleep(idle_seconds)
        c1 = cpu_seconds(p.pid)
        result["idle_cpu_s_per_min"] = (c1 - c0) * 60 / idle_seconds
        result["idle_rss_mb"] = rss_kb(p.pid, "VmRSS") / 1024
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=60)
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--idle-seconds", type=int, default=60)
    ap.add_argument("--daemon", choices=["kcl-bridge", "java"], default="kcl-bridge")
    ap.add_argument("--emulator", choices=["moto", "moto-h2"], default="moto")
    args = ap.parse_args()
    moto, endpoint = start_moto(args.emulator)
    print("%s on %s" % (args.daemon, args.emulator))
    try:
        r = run(args.daemon, endpoint, "b1", 1, 1000, 100, 250)
        print("1 shard x 1,000 x 100 B: first record %.3f s after launch, all in %.2f s (%.0f records/s), "
              "daemon CPU %.2f s, peak RSS %.1f MB" % (r["first_record_s"], r["all_records_s"],
                                                           r["records_per_s"], r["cpu_s"], r["peak_rss_mb"]))
        r = run(args.daemon, endpoint, "b4", 4, 80000, 1024, 250)
        print("4 shards x 20,000 x 1 KB: first record %.3f s, all in %.2f s (%.0f records/s), "
              "daemon CPU %.2f s, peak RSS %.1f MB" % (r["first_record_s"], r["all_records_s"],
                                                           r["records_per_s"], r["cpu_s"], r["peak_rss_mb"]))
        r = run(args.daemon, endpoint, "idle", 2, 2, 10, 250, idle_seconds=args.idle_seconds)
        print("idle, 2 shards polled every 250 ms: %.3f CPU-s per minute, RSS %.1f MB (over %d s)"
              % (r["idle_cpu_s_per_min"], r["idle_rss_mb"], args.idle_seconds))
    finally:
        moto.kill()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Idle cost of the Kinesis worker: N shards (2 unless told) polled every 250 ms (stock timers
otherwise), no records. kcl-bridge's own CPU (from /proc/<pid>/task/*/schedstat: the scheduler's
run time in nanoseconds, not clock ticks), wake-ups (context switches of all its threads) and RSS
over a window after warm-up. Several builds run one after another in each round, rounds repeated,
medians printed.

Usage (after `cargo build --release` and `scripts/setup-test-env.sh`):
    .venv/bin/python3 benches/idle.py [--seconds 60] [--rounds 3] [--emulator moto-h2|moto]
                                      [--shards 2] [--kinesis ferrokinesis] [--warmup 10]
                                      [--poll-ms 250]
                                      [BUILD ...]   (default: target/release/kcl-bridge)

`--emulator` serves DynamoDB, and Kinesis too unless `--kinesis ferrokinesis` puts Kinesis on
ferrokinesis (.test-env/cargo/bin/ferrokinesis, Rust), which keeps up with hundreds of
GetRecords a second where moto does not. With ferrokinesis the emulator's access log counts the
GetRecords calls inside each window, so each run also prints calls per second (expected: shards
x 4 at 250 ms) and kcl-bridge's CPU per call. `--poll-ms` sets idleTimeBetweenReadsInMillis (60000:
the lease work nearly alone). Warm-up: `--warmup` seconds, then, with more than 2 shards or on
ferrokinesis, until every lease is held and (polls at most 1 s apart) the GetRecords rate has
settled. Each run's stream and lease table are deleted after it.

The 200-shard comparison (its figures are in BENCHMARKS.md):
    .venv/bin/python3 benches/idle.py --shards 200 --kinesis ferrokinesis --warmup 20 BUILD ...
"""
import argparse
import datetime
import glob
import os
import re
import signal
import socket
import statistics
import subprocess
import tempfile
import time

import boto3

import worker

REPO = worker.REPO
FERRO = os.path.join(REPO, ".test-env", "cargo", "bin", "ferrokinesis")
WORKER_ID = "idle"


def run_time_ns(pid):
    total = 0
    for path in glob.glob("/proc/%d/task/*/schedstat" % pid):
        try:
            total += int(open(path).read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def switches(pid):
    n = 0
    for path in glob.glob("/proc/%d/task/*/status" % pid):
        try:
            for line in open(path):
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    n += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return n


class Ferro:
    """ferrokinesis on a free loopback port, its access log in a file (one line per request)."""

    def __init__(self, work):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.log = os.path.join(work, "ferrokinesis.log")
        self.endpoint = "http://127.0.0.1:%d" % port
        self.p = subprocess.Popen(
            [FERRO, "--port", str(port), "--create-stream-ms", "0", "--delete-stream-ms", "0",
             "--shard-limit", "100000", "--access-log", "--log-format", "json"],
            stdin=subprocess.DEVNULL, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        k = client("kinesis", self.endpoint)
        for _ in range(200):
            try:
                k.list_streams()
                return
            except Exception:  # not listening yet
                time.sleep(0.025)
        raise SystemExit("ferrokinesis did not answer within 5 s")

    def mark(self):
        """Where the log ends now: lines after it were written from now on."""
        return os.path.getsize(self.log)

    def get_records(self, start, end, mark=0):
        """GetRecords calls completed between wall-clock times `start` and `end` (seconds), and
        how many of them did not answer 200; `mark` taken before `start`."""
        n = bad = 0
        f = open(self.log)
        f.seek(mark)
        for line in f:
            if '"GetRecords"' not in line or "request completed" not in line:
                continue
            m = re.search(r'"timestamp":"([^"]+)"', line)
            if not m:
                continue
            t = datetime.datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp()
            if start <= t < end:
                n += 1
                if '"status_code":200' not in line:
                    bad += 1
        return n, bad

    def kill(self):
        self.p.kill()
        self.p.wait()


def client(service, endpoint):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def window(p, seconds, what, ferro):
    """`p`'s CPU-seconds, wake-ups and RSS (MB) over the next `seconds`, and on ferrokinesis its
    GetRecords calls (count, not 200) and CPU-seconds in that window; exits if `p` ends on the
    way."""
    if p.poll() is not None:
        raise SystemExit("%s exited early (status %s)" % (what, p.returncode))
    mark = ferro.mark() if ferro else 0
    f0 = run_time_ns(ferro.p.pid) if ferro else 0
    c0, s0, t0, w0 = run_time_ns(p.pid), switches(p.pid), time.monotonic(), time.time()
    time.sleep(seconds)
    c1, s1, t1, w1 = run_time_ns(p.pid), switches(p.pid), time.monotonic(), time.time()
    f1 = run_time_ns(ferro.p.pid) if ferro else 0
    if p.poll() is not None:
        raise SystemExit("%s exited early (status %s)" % (what, p.returncode))
    rss = worker.rss_kb(p.pid, "VmRSS") / 1024
    calls = None
    if ferro:
        time.sleep(0.5)  # the last calls' log lines
        calls = ferro.get_records(w0, w1, mark) + ((f1 - f0) / 1e9,)
    return (c1 - c0) / 1e9, s1 - s0, t1 - t0, rss, calls


def settle(p, name, dynamodb_endpoint, shards, ferro, what, poll_ms):
    """Waits (at most 5 minutes) until the worker holds all `shards` leases and, on
    ferrokinesis with polls at most 1 s apart, polls at least 95 % of the expected GetRecords
    rate over 3 s."""
    rate = shards * 1000 / poll_ms
    d = client("dynamodb", dynamodb_endpoint)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise SystemExit("%s exited early (status %s)" % (what, p.returncode))
        try:
            items = d.scan(TableName=name, ConsistentRead=True)["Items"]
        except d.exceptions.ResourceNotFoundException:
            items = []
        if sum(1 for i in items if i.get("leaseOwner", {}).get("S") == WORKER_ID) >= shards:
            break
        time.sleep(1)
    else:
        raise SystemExit("%s: the worker did not take all %d leases within 5 minutes" % (what, shards))
    while ferro and poll_ms <= 1000 and time.monotonic() < deadline:
        mark, t = ferro.mark(), time.time()
        time.sleep(3.2)
        n, _ = ferro.get_records(t, t + 3, mark)
        if n >= 0.95 * rate * 3:
            return
    if ferro and poll_ms <= 1000:
        raise SystemExit("%s: fewer than 95 %% of %g GetRecords/s after 5 minutes" % (what, rate))


def measure(build, endpoint, ferro, name, args):
    kinesis_endpoint = ferro.endpoint if ferro else endpoint
    k = client("kinesis", kinesis_endpoint)
    k.create_stream(StreamName=name, ShardCount=args.shards)
    work = tempfile.mkdtemp()
    props = worker.write_properties(work, name, kinesis_endpoint,
                                    "idleTimeBetweenReadsInMillis = %d\nworkerId = %s\n" % (args.poll_ms, WORKER_ID),
                                    dynamodb_endpoint=endpoint)
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", KCL_BRIDGE_LOG="warn",
               KCLB_SCENARIO="normal", KCLB_RECORDS_OUT=os.path.join(work, "received.tsv"))
    p = subprocess.Popen([build, props], cwd=work, env=env, stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(work, "kcl-bridge.log"), "w"))
    try:
        # Default 10 s: leases taken, children initialized, connections open.
        time.sleep(args.warmup)
        if args.shards > 2 or ferro:
            settle(p, name, endpoint, args.shards, ferro, build, args.poll_ms)
        cpu, wakes, seconds, rss, calls = window(p, args.seconds, build, ferro)
        if calls:
            n, bad, ferro_cpu = calls
            calls = (n / seconds, bad, cpu / n * 1e3 if n else float("nan"), ferro_cpu * 60 / seconds)
        return cpu * 60 / seconds, wakes / seconds, rss, calls
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        k.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
        try:
            client("dynamodb", endpoint).delete_table(TableName=name)
        except Exception:  # no lease table: nothing to clean up
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--emulator", choices=["moto", "moto-h2"], default="moto-h2",
                    help="DynamoDB's emulator, and Kinesis's unless --kinesis says otherwise")
    ap.add_argument("--kinesis", choices=["emulator", "ferrokinesis"], default="emulator")
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--poll-ms", type=int, default=250, help="idleTimeBetweenReadsInMillis")
    ap.add_argument("--warmup", type=int, default=10, help="seconds before the window (at least)")
    ap.add_argument("builds", nargs="*", default=[worker.BIN])
    args = ap.parse_args()
    results = {b: [] for b in args.builds}
    moto, endpoint = worker.start_moto(args.emulator)
    ferro = None
    try:
        if args.kinesis == "ferrokinesis":
            ferro = Ferro(tempfile.mkdtemp())
        for r in range(args.rounds):
            for i, b in enumerate(args.builds):
                cpu, wakes, rss, calls = measure(b, endpoint, ferro, "idle%d%d" % (r, i), args)
                results[b].append((cpu, wakes, rss, calls))
                line = "%s: %.3f CPU-s per minute, %.1f wake-ups/s, RSS %.1f MB" % (b, cpu, wakes, rss)
                if calls:
                    line += (", %.1f GetRecords/s (%d not 200), %.3f ms CPU per GetRecords"
                             " (ferrokinesis %.3f CPU-s per minute)" % calls)
                print(line, flush=True)
    finally:
        moto.kill()
        if ferro:
            ferro.kill()
    for b, rs in results.items():
        line = ("%s, median of %d: %.3f CPU-s per minute (runs: %s), %.1f wake-ups/s, RSS %.1f MB"
                % (b, len(rs), statistics.median(x[0] for x in rs),
                   ", ".join("%.3f" % x[0] for x in rs), statistics.median(x[1] for x in rs),
                   statistics.median(x[2] for x in rs)))
        if ferro:
            line += ", %.1f GetRecords/s, %.3f ms CPU per GetRecords" % (
                statistics.median(x[3][0] for x in rs), statistics.median(x[3][2] for x in rs))
        print(line)


if __name__ == "__main__":
    main()

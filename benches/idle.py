#!/usr/bin/env python3
"""Idle cost of the Kinesis worker: 2 shards polled every 250 ms (stock timers otherwise), no
records. kcl-bridge's own CPU (from /proc/<pid>/task/*/schedstat: the scheduler's run time in
nanoseconds, not clock ticks), wake-ups (context switches) and RSS over a window after warm-up.
Several builds run one after another in each round, rounds repeated, medians printed.

Usage (after `cargo build --release` and `scripts/setup-test-env.sh`):
    .venv/bin/python3 benches/idle.py [--seconds 60] [--rounds 3] [--emulator moto-h2|moto]
                                      [BUILD ...]   (default: target/release/kcl-bridge)
"""
import argparse
import glob
import os
import signal
import statistics
import subprocess
import tempfile
import time

import boto3

import worker

REPO = worker.REPO


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
    for line in open("/proc/%d/status" % pid):
        if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
            n += int(line.split()[1])
    return n


def window(p, warmup, seconds, what):
    """After `warmup` seconds, `p`'s CPU per minute, wake-ups per second and RSS (MB) over the
    next `seconds`; exits if `p` ends on the way."""
    time.sleep(warmup)
    if p.poll() is not None:
        raise SystemExit("%s exited early (status %s)" % (what, p.returncode))
    c0, s0, t0 = run_time_ns(p.pid), switches(p.pid), time.monotonic()
    time.sleep(seconds)
    c1, s1, t1 = run_time_ns(p.pid), switches(p.pid), time.monotonic()
    if p.poll() is not None:
        raise SystemExit("%s exited early (status %s)" % (what, p.returncode))
    return ((c1 - c0) / 1e9 * 60 / (t1 - t0), (s1 - s0) / (t1 - t0),
            worker.rss_kb(p.pid, "VmRSS") / 1024)


def measure(build, endpoint, name, seconds):
    k = boto3.client("kinesis", endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id="test", aws_secret_access_key="test")
    k.create_stream(StreamName=name, ShardCount=2)
    work = tempfile.mkdtemp()
    props = worker.write_properties(work, name, endpoint,
                                    "idleTimeBetweenReadsInMillis = 250\nworkerId = idle\n")
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", KCL_BRIDGE_LOG="warn",
               KCLB_SCENARIO="normal", KCLB_RECORDS_OUT=os.path.join(work, "received.tsv"))
    p = subprocess.Popen([build, props], cwd=work, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        # 10 s: leases taken, children initialized, connections open.
        return window(p, 10, seconds, build)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=60)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--emulator", choices=["moto", "moto-h2"], default="moto-h2")
    ap.add_argument("builds", nargs="*", default=[worker.BIN])
    args = ap.parse_args()
    results = {b: [] for b in args.builds}
    moto, endpoint = worker.start_moto(args.emulator)
    try:
        for r in range(args.rounds):
            for i, b in enumerate(args.builds):
                cpu, wakes, rss = measure(b, endpoint, "idle%d%d" % (r, i), args.seconds)
                results[b].append((cpu, wakes, rss))
                print("%s: %.3f CPU-s per minute, %.1f wake-ups/s, RSS %.1f MB" % (b, cpu, wakes, rss),
                      flush=True)
    finally:
        moto.kill()
    for b, rs in results.items():
        print("%s, median of %d: %.3f CPU-s per minute (runs: %s), %.1f wake-ups/s, RSS %.1f MB"
              % (b, len(rs), statistics.median(x[0] for x in rs),
                 ", ".join("%.3f" % x[0] for x in rs), statistics.median(x[1] for x in rs),
                 statistics.median(x[2] for x in rs)))


if __name__ == "__main__":
    main()

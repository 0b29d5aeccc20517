#!/usr/bin/env python3
"""The floor under idle CPU on this machine: `benches/idle-floor` (raw keep-alive HTTP/1.1 GetRecords
polls, 2 shards every 250 ms, no SDK, signing or JSON) against the same emulator `benches/worker.py`
uses. Its CPU per minute is what the kernel, the tokio runtime and the emulator's replies cost
here; kcl-bridge's idle figure cannot go below it.

CPU is the scheduler's run time (/proc/<pid>/task/*/schedstat, nanoseconds), as in
`benches/idle.py`. Each run measures both variants: shards on their own timers, and `ALIGNED`
(every shard on one timer, as kcl-bridge polls them).

Usage (after `scripts/setup-test-env.sh`):
    .venv/bin/python3 benches/idle_floor.py [--seconds 45] [--emulator moto|moto-h2] [--runs 3]
"""
import argparse
import os
import subprocess

import boto3

import idle
import worker

REPO = worker.REPO


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=45)
    ap.add_argument("--emulator", choices=["moto", "moto-h2"], default="moto-h2")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    manifest = os.path.join(REPO, "benches", "idle-floor", "Cargo.toml")
    target = os.path.join(REPO, "target", "idle-floor")
    subprocess.run(["cargo", "build", "--release", "--quiet", "--manifest-path", manifest,
                    "--target-dir", target], check=True)
    exe = os.path.join(target, "release", "idle-floor")
    for run in range(args.runs):
        for aligned in (False, True):
            moto, endpoint = worker.start_moto(args.emulator)
            try:
                k = boto3.client("kinesis", endpoint_url=endpoint, region_name="us-east-1",
                                 aws_access_key_id="test", aws_secret_access_key="test")
                k.create_stream(StreamName="floor", ShardCount=2)
                shards = [s["ShardId"] for s in k.list_shards(StreamName="floor")["Shards"]]
                env = dict(os.environ)
                if aligned:
                    env["ALIGNED"] = "1"
                p = subprocess.Popen([exe, endpoint.split("//", 1)[1], "floor"] + shards, env=env)
                try:
                    cpu, wakes, rss = idle.window(p, 5, args.seconds, "idle-floor")
                    print("floor on %s, 2 shards polled every 250 ms%s: %.3f CPU-s per minute, "
                          "%.1f wake-ups/s, RSS %.1f MB (over %d s)"
                          % (args.emulator, " on one timer" if aligned else "", cpu, wakes, rss,
                             args.seconds), flush=True)
                finally:
                    p.kill()
                    p.wait()
            finally:
                moto.kill()


if __name__ == "__main__":
    main()

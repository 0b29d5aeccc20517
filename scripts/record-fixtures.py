#!/usr/bin/env python3
"""Records the golden transcripts in protocol-fixtures/ from the real amazon_kclpy (v3).

Run after `cargo build` and `scripts/setup-test-env.sh`, when the protocol or a fixture changes:
    python3 scripts/record-fixtures.py [FIXTURE ...]
Each fixture's transcript.jsonl is replaced by what `kcl-bridge replay` exchanged with
tests/apps/kclpy_app.py. Review the diff before committing: the tests then hold the daemon
(with a scripted child) and every client library to exactly this exchange.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(REPO, "target", "debug", "kcl-bridge")
PYTHON = os.path.join(REPO, ".venv", "bin", "python3")
APP = os.path.join(REPO, "tests", "apps", "kclpy_app.py")
BASE = ("applicationName = it\nstreamName = it\nAwsCredentialsProvider = DefaultCredentialsProvider\n"
        "regionName = us-east-1\ninitialPositionInStream = TRIM_HORIZON\n")


def record(name):
    d = os.path.join(REPO, "protocol-fixtures", name)
    meta = json.load(open(os.path.join(d, "fixture.json")))
    with tempfile.TemporaryDirectory() as work:
        props = "executableName = %s %s\n%s" % (PYTHON, APP, BASE)
        for k, v in meta["properties"].items():
            props += "%s = %s\n" % (k, v)
        open(os.path.join(work, "app.properties"), "w").write(props)
        out = os.path.join(work, "transcript.jsonl")
        args = [BIN, "replay", "app.properties", "--records", os.path.join(d, "records.jsonl"),
                "--end", meta["end"], "--json", "--transcript", out]
        for fc in meta["fail_checkpoint"]:
            args += ["--fail-checkpoint", fc]
        env = dict(os.environ, KCLB_INTERFACE="v3", KCLB_SCENARIO=meta["scenario"])
        p = subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, timeout=120)
        if p.returncode != meta["expect"]["exit"]:
            sys.exit("%s: exit %d, want %d\n%s" % (name, p.returncode, meta["expect"]["exit"], p.stderr))
        shutil.copyfile(out, os.path.join(d, "transcript.jsonl"))
        print("%-26s %s" % (name, json.loads(p.stdout)["shards"][0]))


def main():
    names = sys.argv[1:] or sorted(n for n in os.listdir(os.path.join(REPO, "protocol-fixtures"))
                                   if os.path.exists(os.path.join(REPO, "protocol-fixtures", n, "fixture.json")))
    for n in names:
        record(n)


if __name__ == "__main__":
    main()

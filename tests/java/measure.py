#!/usr/bin/env python3
"""Run the real Java KCL 3.x MultiLangDaemon against moto-h2 once and report what happened.

    .venv/bin/python tests/java/measure.py [--client-version COMPATIBLE_WITH_2X]
        [--scenario normal|no-checkpoint] [--shards 2] [--records 10] [--observe 15]
        [--set KEY=VALUE ...] [--preseed] [--keep DIR] [--json]

Steps, each timed from the moment run-daemon.sh is started:
 1. scripts/java/moto_h2.py on a free port; wait for its readiness line.
 2. boto3 (HTTP/1.1): create a stream with --shards shards, put --records records.
 3. Render tests/java/app.properties.example; start scripts/java/run-daemon.sh with the child
    tests/apps/kclpy_app.py (KCLB_SCENARIO, KCLB_RECORDS_OUT).
 4. Wait for the first record in the records file (time to first record), then for all of them.
 5. Put --records more records and wait for them (steady-state latency).
 6. Scan every DynamoDB table once a second for --observe seconds; report the rows, and per row
    how often each of lut / leaseCounter / other attributes changed.
 7. SIGTERM Java; time its exit; scan the lease table: checkpoint per shard vs the last
    sequence number delivered.
Uses only loopback. Everything is stopped at the end (and on error).
"""
import argparse
import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import boto3

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PY = os.path.join(REPO, ".venv", "bin", "python3")


def log(msg):
    sys.stderr.write("measure: {}\n".format(msg))
    sys.stderr.flush()


def plain(av):
    """DynamoDB attribute value -> python value (only what KCL writes)."""
    (t, v), = av.items()
    if t == "N":
        return int(v) if v.lstrip("-").isdigit() else float(v)
    if t in ("S", "BOOL", "NULL"):
        return v
    if t == "SS":
        return sorted(v)
    if t == "L":
        return [plain(x) for x in v]
    if t == "M":
        return {k: plain(x) for k, x in v.items()}
    if t == "NS":
        return sorted(v)
    return {t: v}


def scan_all(ddb):
    out = {}
    for name in ddb.list_tables()["TableNames"]:
        items = []
        kwargs = {"TableName": name, "ConsistentRead": True}
        while True:
            page = ddb.scan(**kwargs)
            items += [{k: plain(v) for k, v in it.items()} for it in page["Items"]]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        out[name] = items
    return out


def row_key(table, item):
    for k in ("leaseKey", "wid", "key"):
        if k in item:
            return "{}:{}".format(table, item[k])
    return "{}:{}".format(table, json.dumps(item, sort_keys=True)[:60])


def read_records(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--client-version", default=None,
                    help="value after CLIENT_VERSION_CONFIG_ (e.g. COMPATIBLE_WITH_2X); unset = default")
    ap.add_argument("--scenario", default="normal")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="append 'KEY = VALUE' to the properties (a later key wins in Java)")
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--records", type=int, default=10)
    ap.add_argument("--observe", type=float, default=15)
    ap.add_argument("--timeout", type=float, default=180)
    ap.add_argument("--preseed", action="store_true",
                    help="create the lease table and one unowned TRIM_HORIZON lease per shard before "
                         "Java starts (as a 2.x-style peer would), so Java skips its 1-30 s wait")
    ap.add_argument("--keep", default=None, help="directory for logs (default: a temp dir)")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    args = ap.parse_args()

    work = args.keep or tempfile.mkdtemp(prefix="kclb-java-")
    os.makedirs(work, exist_ok=True)
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        env.pop(k, None)
    summary = {"work": work, "client_version": args.client_version, "scenario": args.scenario,
               "set": args.set, "preseed": args.preseed}
    procs = []

    try:
        # 1. moto-h2
        t = time.monotonic()
        moto_log = open(os.path.join(work, "moto.log"), "w")
        moto = subprocess.Popen([PY, os.path.join(REPO, "scripts/java/moto_h2.py"), "0",
                                 "--access-log", os.path.join(work, "access.log")],
                                stdout=subprocess.PIPE, stderr=moto_log, text=True, env=env)
        procs.append(moto)
        line = moto.stdout.readline()
        if not line.startswith("moto-h2 ready "):
            raise SystemExit("moto-h2 did not start: {!r} (see {}/moto.log)".format(line, work))
        endpoint = line.split()[-1]
        summary["moto_ready_s"] = round(time.monotonic() - t, 2)
        log("moto-h2 at {} after {} s".format(endpoint, summary["moto_ready_s"]))

        # 2. stream + records over HTTP/1.1 (boto3)
        kin = boto3.client("kinesis", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        stream, app, worker = "javastream", "javaapp", "java-worker-1"
        kin.create_stream(StreamName=stream, ShardCount=args.shards)
        kin.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2})
        sent = {}

        def put(n, tag):
            for i in range(n):
                r = kin.put_record(StreamName=stream, Data="{}-{}".format(tag, i).encode(),
                                   PartitionKey="pk-{}".format(i))
                sent[(r["ShardId"], r["SequenceNumber"])] = True

        put(args.records, "a")
        if args.preseed:
            ddb.create_table(TableName=app, BillingMode="PAY_PER_REQUEST",
                             AttributeDefinitions=[{"AttributeName": "leaseKey", "AttributeType": "S"}],
                             KeySchema=[{"AttributeName": "leaseKey", "KeyType": "HASH"}])
            for sh in kin.list_shards(StreamName=stream)["Shards"]:
                ddb.put_item(TableName=app, Item={
                    "leaseKey": {"S": sh["ShardId"]}, "leaseCounter": {"N": "0"},
                    "checkpoint": {"S": "TRIM_HORIZON"}, "checkpointSubSequenceNumber": {"N": "0"},
                    "ownerSwitchesSinceCheckpoint": {"N": "0"},
                    "startingHashKey": {"S": sh["HashKeyRange"]["StartingHashKey"]},
                    "endingHashKey": {"S": sh["HashKeyRange"]["EndingHashKey"]}})

        # 3. properties + Java
        with open(os.path.join(REPO, "tests/java/app.properties.example")) as f:
            props = f.read()
        for k, v in (("@REPO@", REPO), ("@ENDPOINT@", endpoint), ("@STREAM@", stream),
                     ("@APP@", app), ("@WORKER@", worker)):
            props = props.replace(k, v)
        if args.client_version:
            props += "\nclientVersionConfig = CLIENT_VERSION_CONFIG_{}\n".format(args.client_version)
        for kv in args.set:
            k, v = kv.split("=", 1)
            props += "\n{} = {}\n".format(k.strip(), v.strip())
        props_path = os.path.join(work, "app.properties")
        with open(props_path, "w") as f:
            f.write(props)
        records_out = os.path.join(work, "records.tsv")
        java_env = dict(env, KCLB_SCENARIO=args.scenario, KCLB_RECORDS_OUT=records_out)
        java_log = open(os.path.join(work, "java.log"), "w")
        t0 = time.monotonic()
        java = subprocess.Popen([os.path.join(REPO, "scripts/java/run-daemon.sh"), props_path],
                                stdout=java_log, stderr=subprocess.STDOUT, env=java_env)
        procs.append(java)
        log("java pid {} (logs {}/java.log)".format(java.pid, work))

        def wait_records(n, what):
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                if java.poll() is not None:
                    raise SystemExit("java exited with {} (see {}/java.log)".format(java.returncode, work))
                if len(read_records(records_out)) >= n:
                    return round(time.monotonic() - t0, 2)
                time.sleep(0.05)
            raise SystemExit("timed out waiting for {} ({} records)".format(what, n))

        # 4.
        summary["first_record_s"] = wait_records(1, "first record")
        summary["all_records_s"] = wait_records(args.records, "all records")
        log("first record after {} s, all {} after {} s".format(
            summary["first_record_s"], args.records, summary["all_records_s"]))

        # 5.
        t = time.monotonic()
        put(args.records, "b")
        wait_records(2 * args.records, "second batch")
        summary["second_batch_latency_s"] = round(time.monotonic() - t, 2)

        # 6. observe the tables
        changes, first_seen, last = {}, {}, {}
        t_obs = time.monotonic()
        while time.monotonic() - t_obs < args.observe:
            snap = scan_all(ddb)
            now = round(time.monotonic() - t0, 1)
            for table, items in snap.items():
                for it in items:
                    key = row_key(table, it)
                    first_seen.setdefault(key, now)
                    prev = last.get(key)
                    if prev is not None:
                        for attr in set(prev) | set(it):
                            if prev.get(attr) != it.get(attr):
                                changes.setdefault(key, {}).setdefault(attr, 0)
                                changes[key][attr] += 1
                    last[key] = it
            time.sleep(1)
        summary["observe_s"] = round(time.monotonic() - t_obs, 1)
        summary["tables_before_sigterm"] = scan_all(ddb)
        summary["attribute_changes_during_observe"] = changes
        summary["table_descriptions"] = {
            name: {k: v for k, v in ddb.describe_table(TableName=name)["Table"].items()
                   if k in ("KeySchema", "GlobalSecondaryIndexes", "BillingModeSummary")}
            for name in ddb.list_tables()["TableNames"]}

        # 7. SIGTERM
        last_seq = {}
        for shard, seq, _sub, _data in read_records(records_out):
            if int(seq) > int(last_seq.get(shard, "0")):
                last_seq[shard] = seq
        t = time.monotonic()
        java.send_signal(signal.SIGTERM)
        try:
            java.wait(timeout=60)
            summary["sigterm_exit_s"] = round(time.monotonic() - t, 2)
            summary["java_exit_code"] = java.returncode
        except subprocess.TimeoutExpired:
            summary["sigterm_exit_s"] = None
            java.kill()
            java.wait()
        lease_rows = {it["leaseKey"]: it for it in scan_all(ddb).get(app, [])}
        summary["tables_after_sigterm"] = scan_all(ddb)
        summary["checkpoint_after_sigterm"] = {
            shard: {"last_delivered": seq,
                    "checkpoint": lease_rows.get(shard, {}).get("checkpoint"),
                    "leaseOwner": lease_rows.get(shard, {}).get("leaseOwner")}
            for shard, seq in sorted(last_seq.items())}
        summary["records_delivered"] = len(read_records(records_out))
        summary["records_sent"] = len(sent)
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()

    with open(os.path.join(work, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True, default=str)
    if args.json:
        json.dump(summary, sys.stdout, indent=1, sort_keys=True, default=str)
        print()
    else:
        for k in ("first_record_s", "all_records_s", "second_batch_latency_s", "sigterm_exit_s",
                  "java_exit_code", "checkpoint_after_sigterm", "records_sent", "records_delivered"):
            print("{}: {}".format(k, summary.get(k)))
        print("summary: {}/summary.json".format(work))


if __name__ == "__main__":
    main()

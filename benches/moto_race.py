#!/usr/bin/env python3
"""How often two concurrent conditional UpdateItems on one item both succeed on a moto server:
the race behind scripts/moto_atomic.py. Each round puts an item with `c = 0`, then two threads
(each with its own client) send `SET c = 1 ... IF c = 0` at the same moment; DynamoDB lets exactly
one win. Busy CPUs make double wins likelier (e.g. run `yes > /dev/null` twice beside it).

Usage (after scripts/setup-test-env.sh):
    .venv/bin/python3 benches/moto_race.py [--rounds 1000] [--plain]
--plain runs .venv/bin/moto_server itself instead of scripts/moto_atomic.py.
Results, with machine and date, are in BENCHMARKS.md.
"""
import argparse
import os
import re
import subprocess
import sys
import threading

import boto3

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=1000)
    ap.add_argument("--plain", action="store_true")
    args = ap.parse_args()
    if args.plain:
        cmd = [os.path.join(REPO, ".venv", "bin", "moto_server")]
    else:
        cmd = [sys.executable, os.path.join(REPO, "scripts", "moto_atomic.py")]
    p = subprocess.Popen(cmd + ["-H", "127.0.0.1", "-p", "0"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    try:
        endpoint = None
        for line in p.stderr:
            m = re.search(r"Running on (http://\S+)", line)
            if m:
                endpoint = m.group(1)
                break
        if endpoint is None:
            sys.exit("moto did not start")
        # moto logs every request to stderr: keep reading it, or moto stops when the pipe fills.
        threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()

        def client():
            return boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                                aws_access_key_id="test", aws_secret_access_key="test")
        d = client()
        d.create_table(TableName="race", BillingMode="PAY_PER_REQUEST",
                       KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}])
        racers = [client(), client()]
        double = 0
        for i in range(args.rounds):
            key = {"k": {"S": "k%d" % i}}
            d.put_item(TableName="race", Item=dict(key, c={"N": "0"}))
            wins, start = [], threading.Barrier(2)

            def take(j):
                start.wait()
                try:
                    racers[j].update_item(
                        TableName="race", Key=key, UpdateExpression="SET c = :one, o = :me",
                        ConditionExpression="c = :zero",
                        ExpressionAttributeValues={":one": {"N": "1"}, ":zero": {"N": "0"},
                                                   ":me": {"S": str(j)}})
                    wins.append(j)
                except racers[j].exceptions.ConditionalCheckFailedException:
                    pass
            threads = [threading.Thread(target=take, args=(j,)) for j in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            double += len(wins) == 2
        print("%s: both writers won %d of %d races"
              % ("moto_server" if args.plain else "moto_atomic.py", double, args.rounds))
    finally:
        p.kill()
        p.wait()


if __name__ == "__main__":
    main()

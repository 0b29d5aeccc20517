#!/usr/bin/env bash
# Replay throughput with a trivial child on the real amazon_kclpy: records/s, payload MB/s, and
# the daemon's CPU against its children's (from getrusage, as `replay --json` reports it).
# Usage: [APP=path/to/processor.py] [RUNS=n] benches/replay.sh [RECORDS] [RECORD_BYTES] [SHARDS]
#        (defaults: the trivial benches/trivial_kclpy_app.py, 1 run, 40000 1024 4)
# Needs: cargo build --release; scripts/setup-test-env.sh (for .venv with amazon_kclpy).
# KCL_BRIDGE_BIN="path [path ...]" runs other builds, interleaved run by run (A/B), and prints
# each build's medians at the end; WRAP="perf record ..." profiles them.
# Each round also times the floor under the daemon's CPU: `cat` of the same records file into a
# pipe that a reader empties (reading the file and writing its bytes into a pipe, no parsing, no
# protocol, nothing held), from wait4's rusage, against the children's CPU of the same round.
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-40000}; size=${2:-1024}; shards=${3:-4}; runs=${RUNS:-1}
read -r -a builds <<< "${KCL_BRIDGE_BIN:-target/release/kcl-bridge}"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
python3 - "$records" "$size" "$shards" > "$work/records.jsonl" <<'PY'
import base64, json, os, sys
n, size, shards = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
blob = base64.b64encode(os.urandom(size)).decode()
for i in range(n):
    print(json.dumps({"dataBase64": blob, "shardId": "shardId-%012d" % (i % shards),
                      "partitionKey": "pk%d" % i, "approximateArrivalTimestamp": 1752000000000 + i}))
PY
cat > "$work/app.properties" <<PROPS
executableName = $PWD/.venv/bin/python3 ${APP:-$PWD/benches/trivial_kclpy_app.py}
applicationName = bench
streamName = bench
AwsCredentialsProvider = DefaultCredentialsProvider
regionName = us-east-1
initialPositionInStream = TRIM_HORIZON
maxRecords = 1000
PROPS
for ((run = 1; run <= runs; run++)); do
    for b in "${!builds[@]}"; do
        start=$(date +%s.%N)
        KCL_BRIDGE_LOG=warn ${WRAP:-} "${builds[$b]}" replay "$work/app.properties" --records "$work/records.jsonl" --json > "$work/report.json"
        end=$(date +%s.%N)
        python3 - "$work/report.json" "$start" "$end" "$records" "$size" "${builds[$b]}" >> "$work/runs.tsv" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); wall = float(sys.argv[3]) - float(sys.argv[2])
n, size = int(sys.argv[4]), int(sys.argv[5])
assert all(s["result"] == "completed" and s["final_checkpoint"] == "SHARD_END" for s in r["shards"]), r
d, b, c = r["cpu"]["daemon_seconds"], r["cpu"]["daemon_bridging_seconds"], r["cpu"]["record_processors_seconds"]
print("%s\t%f\t%f\t%f\t%f" % (sys.argv[6], wall, d, b, c))
PY
        python3 - "$work/records.jsonl" "$work/runs.tsv" >> "$work/floor.tsv" <<'PY'
import os, subprocess, sys
reader = subprocess.Popen([sys.executable, "-c", "import sys\nwhile sys.stdin.buffer.read(1 << 16): pass"],
                          stdin=subprocess.PIPE)
cat = subprocess.Popen(["cat", sys.argv[1]], stdout=reader.stdin)
reader.stdin.close()
_, status, ru = os.wait4(cat.pid, 0)
cat.returncode = os.waitstatus_to_exitcode(status)
assert reader.wait() == 0 and cat.returncode == 0
children = float(open(sys.argv[2]).read().splitlines()[-1].split("\t")[4])
print("%f\t%f" % (ru.ru_utime + ru.ru_stime, children))
PY
        tail -n 1 "$work/runs.tsv" | python3 -c '
import sys
b, wall, d, dr, c = sys.stdin.read().split("\t"); wall, d, dr, c = map(float, (wall, d, dr, c))
n, size = int(sys.argv[1]), int(sys.argv[2])
print("%s: %d records x %d B: wall %.2f s, %.0f records/s, %.1f MB/s of payload" % (b, n, size, wall, n / wall, n * size / wall / 1e6))
print("  CPU: kcl-bridge %.3f s in all (%.1f %% of the children'"'"'s), %.3f s driving the children (%.1f %%); record processors %.3f s"
      % (d, 100 * d / c, dr, 100 * dr / c, c))' "$records" "$size"
        tail -n 1 "$work/floor.tsv" | python3 -c '
import sys
f, c = map(float, sys.stdin.read().split("\t"))
print("  floor: cat of the records file into a pipe %.3f s (%.1f %% of these children'"'"'s CPU)" % (f, 100 * f / c))'
    done
done
if ((runs > 1)); then
    python3 - "$work/runs.tsv" "$work/floor.tsv" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    b, wall, d, dr, c = line.rstrip("\n").split("\t")
    rows.setdefault(b, []).append((float(d), float(dr), float(c)))
for b, rs in rows.items():
    med = lambda xs: statistics.median(xs)
    print("%s, median of %d runs: kcl-bridge %.3f s in all (%.1f %% of the children's), %.3f s driving (%.1f %%); children %.3f s"
          % (b, len(rs), med([r[0] for r in rs]), med([100 * r[0] / r[2] for r in rs]),
             med([r[1] for r in rs]), med([100 * r[1] / r[2] for r in rs]), med([r[2] for r in rs])))
floor = [tuple(map(float, line.split("\t"))) for line in open(sys.argv[2])]
print("floor, median of %d: cat of the records file into a pipe %.3f s (%.1f %% of the same rounds' children's CPU)"
      % (len(floor), statistics.median(f for f, _ in floor), statistics.median(100 * f / c for f, c in floor)))
PY
fi

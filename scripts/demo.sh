#!/usr/bin/env bash
# kcl-bridge in one command, no AWS account needed: replay samples/records.jsonl (two shards)
# through the unmodified amazon_kclpy sample processor samples/python/sample_app.py.
#
# Usage: scripts/demo.sh [extra kcl-bridge replay arguments...]
#
# 1. makes sure .venv/ exists and has amazon_kclpy (installed from the PyPI source archive by
#    scripts/install-kclpy.sh, because `pip install amazon-kclpy` wants to download Java jars);
# 2. cargo build --release;
# 3. runs, from the repository root with .venv/bin first in PATH (so the properties file's
#    `executableName = python3 samples/python/sample_app.py` finds amazon_kclpy):
#      target/release/kcl-bridge replay samples/python/app.properties --records samples/records.jsonl "$@"
#
# Try SAMPLE_OUTPUT_FILE=/tmp/out.tsv scripts/demo.sh to also get the processed records in a file.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

venv="$root/.venv"
if ! "$venv/bin/python" -c 'import amazon_kclpy.kcl' >/dev/null 2>&1; then
    echo "demo: installing amazon_kclpy into .venv (one-time)..." >&2
    "$venv/bin/python" -c '' >/dev/null 2>&1 || { rm -rf "$venv"; python3 -m venv "$venv"; }
    "$root/scripts/install-kclpy.sh" --python "$venv/bin/python"
fi

cargo build --release

export PATH="$venv/bin:$PATH"
exec target/release/kcl-bridge replay samples/python/app.properties --records samples/records.jsonl "$@"

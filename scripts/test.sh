#!/usr/bin/env bash
# Runs every test on a fresh machine: installs the test environment into ignored folders
# (.venv/ with amazon_kclpy from its source archive, moto and hypercorn; node_modules/ with
# aws-kcl; .test-env/ with the unpacked amazon_kclpy sdist), checks formatting and lints, then
# runs the unit and integration tests. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "== test environment (scripts/setup-test-env.sh)"
scripts/setup-test-env.sh

echo "== cargo fmt --check"
cargo fmt --check

echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --quiet -- -D warnings

echo "== cargo test"
cargo test --all-targets

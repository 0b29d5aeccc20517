#!/usr/bin/env bash
# Prepare everything kcl-bridge's tests need besides Rust, at the repository root:
#   .venv/                          Python venv with amazon_kclpy (copied from the PyPI sdist, see
#                                   scripts/install-kclpy.sh) plus scripts/test-requirements.txt
#                                   (moto[server], hypercorn) for the emulator tests
#   .test-env/amazon_kclpy-3.2.0/   the extracted kclpy sdist; tests use its samples/
#                                   (sample.properties, sample_kclpy_app.py)
#   node_modules/                   aws-kcl, from package.json / package-lock.json via `npm ci`
#   .test-env/cargo/bin/ferrokinesis  the Kinesis emulator used for resharding tests (crates.io)
#   .test-env/kcl-jars/             the Java KCL 3.x MultiLangDaemon jars (PyPI kclpy-ext wheel),
#                                   run by scripts/java/run-daemon.sh
#
# Idempotent: each step leaves a marker keyed on what it installed (version or file hash) and is
# skipped when the marker is present, so a re-run takes well under a second.
# Quiet on success; on failure prints the failing step's full output and exits non-zero.
# Logs of the last run of each step: .test-env/logs/.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

KCLPY_VERSION=3.2.0
venv="$root/.venv"
py="$venv/bin/python"
logs="$root/.test-env/logs"
mkdir -p "$logs"

fail() { echo "setup-test-env: FAILED: $*" >&2; exit 1; }

# run_step NAME CMD...: run CMD with its output in $logs/NAME.log; dump the log on failure.
run_step() {
    local name=$1; shift
    if ! "$@" >"$logs/$name.log" 2>&1; then
        {
            echo "setup-test-env: step '$name' failed: $*"
            echo "----- $logs/$name.log -----"
            cat "$logs/$name.log"
            echo "-----"
        } >&2
        exit 1
    fi
}

hash_of() { sha256sum "$1" | cut -c1-16; }

command -v python3 >/dev/null || fail "python3 not found"
command -v npm >/dev/null || fail "npm not found (Node.js is needed for the aws-kcl tests)"

# 1. The virtualenv. A venv whose interpreter vanished (python upgraded) is rebuilt.
if ! "$py" -c '' >/dev/null 2>&1; then
    rm -rf "$venv"
    run_step venv python3 -m venv "$venv"
fi

# 2. amazon_kclpy. Markers inside .venv disappear with it, so a recreated venv is refilled.
kclpy_marker="$venv/.kcl-bridge-kclpy-$KCLPY_VERSION"
if [ ! -f "$kclpy_marker" ] || [ ! -f ".test-env/amazon_kclpy-$KCLPY_VERSION/samples/sample.properties" ]; then
    run_step kclpy "$root/scripts/install-kclpy.sh" --python "$py" --version "$KCLPY_VERSION" \
        --sdist-dir "$root/.test-env"
    touch "$kclpy_marker"
fi

# 3. Emulator packages (moto[server], hypercorn), pinned in scripts/test-requirements.txt.
reqs="$root/scripts/test-requirements.txt"
reqs_marker="$venv/.kcl-bridge-test-requirements-$(hash_of "$reqs")"
if [ ! -f "$reqs_marker" ]; then
    run_step pip "$py" -m pip install --disable-pip-version-check --no-input -r "$reqs"
    rm -f "$venv"/.kcl-bridge-test-requirements-*
    touch "$reqs_marker"
fi

# 4. aws-kcl. `npm ci` wipes node_modules first, taking the old marker with it. aws-kcl has no
#    install scripts (its Java jars are fetched only when bin/kcl-bootstrap is run, which we never
#    do); --ignore-scripts makes sure nothing else runs either.
npm_marker="$root/node_modules/.kcl-bridge-$(hash_of package-lock.json)"
if [ ! -f "$npm_marker" ]; then
    run_step npm npm ci --ignore-scripts --no-audit --no-fund
    touch "$npm_marker"
fi

# Cheap final check (~0.1 s): what the tests import really is there.
# 5. ferrokinesis, the Kinesis emulator with resharding and iterator expiry, from crates.io into
# .test-env/cargo/bin (a few minutes to build, once).
FERRO_VERSION=0.7.0
ferro="$root/.test-env/cargo/bin/ferrokinesis"
ferro_marker="$root/.test-env/cargo/.kcl-bridge-ferrokinesis-$FERRO_VERSION"
if [ ! -f "$ferro_marker" ] || [ ! -x "$ferro" ]; then
    echo "setup-test-env: building ferrokinesis $FERRO_VERSION (one-time, a few minutes)..." >&2
    run_step ferrokinesis cargo install ferrokinesis --version "$FERRO_VERSION" --locked --root "$root/.test-env/cargo"
    touch "$ferro_marker"
fi

# 6. The real Java KCL 3.x MultiLangDaemon's jars (for tests that run Java beside kcl-bridge), unpacked
#    from PyPI's kclpy-ext wheel into .test-env/kcl-jars (the wheel is not installed). Pinned by
#    version and wheel sha256. See scripts/java/setup.sh and tests/java/README.md.
KCLPY_EXT_VERSION=3.1.3.post4
KCLPY_EXT_SHA256=6c8ced93674bd30103b9bdc319702e3637d2833641bbe58dda578f8a418858c2
kcl_jars="$root/.test-env/kcl-jars"
if [ ! -f "$kcl_jars/.kcl-bridge-kclpy-ext-$KCLPY_EXT_VERSION" ]; then
    run_step kcl-jars "$root/scripts/java/setup.sh" --python "$py" --version "$KCLPY_EXT_VERSION" \
        --sha256 "$KCLPY_EXT_SHA256" --dest "$kcl_jars"
fi

run_step check-python "$py" -c 'import amazon_kclpy.kcl, amazon_kclpy.v2.processor, amazon_kclpy.v3.processor, moto, hypercorn'
run_step check-node node -e 'require("aws-kcl")'

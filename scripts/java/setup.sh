#!/usr/bin/env bash
# Put the real Java KCL 3.x MultiLangDaemon's jars into a directory, from PyPI's kclpy-ext wheel
# (which ships them in amazon_kclpy/jars/: amazon-kinesis-client-multilang-3.1.3.jar and the 78
# jars it needs, AWS SDK v2 2.33.0, logback 1.3.16). The wheel is only unpacked, never installed:
# its amazon_kclpy package would replace the one .venv already has (amazon_kclpy 3.2.0 from sdist).
#
#   scripts/java/setup.sh [--python PY] [--version V] [--sha256 HASH] [--dest DIR]
#
# Defaults: PY = <repo>/.venv/bin/python, V = 3.1.3.post4 with its wheel's sha256,
# DIR = <repo>/.test-env/kcl-jars. Called by scripts/setup-test-env.sh (which pins V and HASH).
# Idempotent: DIR/.kcl-bridge-kclpy-ext-V marks a finished install; with it present this exits at
# once. Otherwise DIR is emptied and refilled. Needs network access to PyPI only when it installs.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
py="$root/.venv/bin/python"
version=3.1.3.post4
sha256=6c8ced93674bd30103b9bdc319702e3637d2833641bbe58dda578f8a418858c2
dest="$root/.test-env/kcl-jars"

while [ $# -gt 0 ]; do
    case $1 in
        --python) py=$2; shift 2 ;;
        --version) version=$2; shift 2 ;;
        --sha256) sha256=$2; shift 2 ;;
        --dest) dest=$2; shift 2 ;;
        *) echo "usage: $0 [--python PY] [--version V] [--sha256 HASH] [--dest DIR]" >&2; exit 2 ;;
    esac
done

marker="$dest/.kcl-bridge-kclpy-ext-$version"
if [ -f "$marker" ]; then
    exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$py" -m pip download --disable-pip-version-check --no-input --no-deps --only-binary=:all: \
    -d "$tmp" "kclpy-ext==$version"
wheel=$(ls "$tmp"/kclpy_ext-*.whl)
got=$(sha256sum "$wheel" | cut -d' ' -f1)
if [ "$got" != "$sha256" ]; then
    echo "setup.sh: $wheel has sha256 $got, expected $sha256" >&2
    exit 1
fi

rm -rf "$dest"
mkdir -p "$dest"
"$py" - "$wheel" "$dest" <<'EOF'
import os, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
n = 0
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith("amazon_kclpy/jars/") and name.endswith(".jar"):
            with open(os.path.join(dest, os.path.basename(name)), "wb") as out:
                out.write(z.read(name))
            n += 1
if not any(f.startswith("amazon-kinesis-client-multilang-") for f in os.listdir(dest)):
    sys.exit("no amazon-kinesis-client-multilang jar in " + wheel)
print("extracted {} jars into {}".format(n, dest))
EOF
touch "$marker"

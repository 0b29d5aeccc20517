#!/usr/bin/env bash
# Install the amazon_kclpy client library into a Python virtualenv WITHOUT running its setup.py.
#
# Why: `pip install amazon-kclpy` runs a setup.py that downloads the Java KCL jars from Maven
# Central. kcl-bridge replaces that Java daemon, so the jars are never needed, and the download
# fails wherever Maven is unreachable. The package itself (amazon_kclpy/) is pure Python with no
# import-time dependencies, so we take it from the PyPI source archive and copy it in.
#
# Usage: scripts/install-kclpy.sh [--python PY] [--version V] [--sdist-dir DIR] [--with-deps] [--force]
#   --python PY      interpreter of the target environment (default: $VIRTUAL_ENV/bin/python if a
#                    virtualenv is active, else python3)
#   --version V      amazon-kclpy version to install (default 3.2.0)
#   --sdist-dir DIR  also keep the extracted source archive as DIR/amazon_kclpy-V (its samples/ are
#                    handy: sample.properties, sample_kclpy_app.py); default: a temp dir, deleted
#   --with-deps      also `pip install` the runtime requirements the package declares (boto3).
#                    amazon_kclpy itself never imports them; only the upstream sample
#                    sample_kinesis_wordputter.py does.
#   --force          allow installing into a Python that is not a virtualenv
#
# The result looks like a normal install: `pip show amazon-kclpy` and `pip uninstall amazon-kclpy`
# work (we write a .dist-info with a RECORD). Re-running with the same version is a fast no-op.
set -euo pipefail

py=""
version="3.2.0"
sdist_dir=""
with_deps=0
force=0
while [ $# -gt 0 ]; do
    case "$1" in
        --python) py="$2"; shift 2 ;;
        --version) version="$2"; shift 2 ;;
        --sdist-dir) sdist_dir="$2"; shift 2 ;;
        --with-deps) with_deps=1; shift ;;
        --force) force=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "install-kclpy.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

die() { echo "install-kclpy.sh: error: $*" >&2; exit 1; }

if [ -z "$py" ]; then
    if [ -n "${VIRTUAL_ENV:-}" ]; then py="$VIRTUAL_ENV/bin/python"; else py="python3"; fi
fi
command -v "$py" >/dev/null 2>&1 || die "python interpreter not found: $py"

if [ "$force" -eq 0 ] && ! "$py" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)'; then
    die "$py is not a virtualenv; activate one, pass --python /path/to/venv/bin/python, or use --force"
fi

# Fast path: this version is already installed (and the kept sdist is there, if one was asked for).
installed=$("$py" -c 'import importlib.metadata as m
try: print(m.version("amazon-kclpy"))
except m.PackageNotFoundError: pass' 2>/dev/null || true)
if [ "$installed" = "$version" ] &&
   { [ -z "$sdist_dir" ] || [ -f "$sdist_dir/amazon_kclpy-$version/setup.py" ]; }; then
    exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# `pip download` of an sdist only runs setup.py egg_info (metadata), which downloads nothing.
"$py" -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    "amazon-kclpy==$version" -d "$tmp/dl" ||
    die "could not download the amazon-kclpy $version source archive from PyPI"
archive=$(ls "$tmp"/dl/amazon_kclpy-"$version".tar.gz 2>/dev/null) ||
    die "pip download did not produce amazon_kclpy-$version.tar.gz"

extract_to="$tmp/src"
if [ -n "$sdist_dir" ]; then
    mkdir -p "$sdist_dir"
    extract_to="$sdist_dir"
    rm -rf "$sdist_dir/amazon_kclpy-$version"
fi
mkdir -p "$extract_to"
tar -xzf "$archive" -C "$extract_to"
src="$extract_to/amazon_kclpy-$version"
[ -f "$src/amazon_kclpy/kcl.py" ] || die "unexpected archive layout: $src/amazon_kclpy/kcl.py missing"

# Copy the package into site-packages and write a minimal .dist-info (METADATA, INSTALLER,
# top_level.txt and a RECORD with hashes, which is what pip needs for show/uninstall).
"$py" - "$src" "$version" <<'PY'
import base64, hashlib, os, pathlib, shutil, sys, sysconfig

src, version = pathlib.Path(sys.argv[1]), sys.argv[2]
site = pathlib.Path(sysconfig.get_paths()["purelib"])
site.mkdir(parents=True, exist_ok=True)

# Remove any previous copy (ours or pip's).
shutil.rmtree(site / "amazon_kclpy", ignore_errors=True)
for old in site.glob("amazon_kclpy-*.dist-info"):
    shutil.rmtree(old)
for old in site.glob("amazon_kclpy-*.egg-info"):
    shutil.rmtree(old) if old.is_dir() else old.unlink()

shutil.copytree(src / "amazon_kclpy", site / "amazon_kclpy",
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))

info = site / f"amazon_kclpy-{version}.dist-info"
info.mkdir()
shutil.copyfile(src / "PKG-INFO", info / "METADATA")
(info / "INSTALLER").write_text("kcl-bridge-install-kclpy\n")
(info / "top_level.txt").write_text("amazon_kclpy\n")

def record_line(path):
    rel = path.relative_to(site).as_posix()
    digest = base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest()).rstrip(b"=").decode()
    return f"{rel},sha256={digest},{path.stat().st_size}"

files = sorted(p for p in (site / "amazon_kclpy").rglob("*") if p.is_file())
files += sorted(p for p in info.iterdir() if p.is_file())
lines = [record_line(p) for p in files]
lines.append(f"{info.name}/RECORD,,")
(info / "RECORD").write_text("\n".join(lines) + "\n")
PY

"$py" -c 'import amazon_kclpy.kcl, amazon_kclpy.v2.processor, amazon_kclpy.v3.processor' ||
    die "amazon_kclpy was copied but does not import"

if [ "$with_deps" -eq 1 ]; then
    # requires.txt: unconditional requirements first, then "[marker]" sections (argparse for
    # Python <= 3.1 only), which we skip.
    mapfile -t deps < <(sed -n '/^\[/q; /^[[:space:]]*$/d; p' "$src/amazon_kclpy.egg-info/requires.txt")
    if [ "${#deps[@]}" -gt 0 ]; then
        "$py" -m pip install --quiet --disable-pip-version-check "${deps[@]}" ||
            die "could not install amazon_kclpy's requirements: ${deps[*]}"
    fi
fi

#!/usr/bin/env bash
# Run the real Java KCL 3.x MultiLangDaemon (jars from scripts/java/setup.sh) on a properties file.
#
#   scripts/java/run-daemon.sh PROPERTIES [extra MultiLangDaemon args...]
#
# The script `exec`s java, so its pid IS the JVM's: a test can SIGTERM it (graceful shutdown: Java
# asks each child to checkpoint, waiting up to shutdownGraceMillis — which must be > 0 for that,
# Java's default 0 skips it) or SIGKILL it (nothing more is written).
#
# Class path: <jars>/* then the properties file's directory (as amazon_kclpy_helper.py does).
# JVM flags: -Daws.cborEnabled=false (moto answers Kinesis in JSON, not CBOR), logback config
# scripts/java/logback.xml (all Java logging to stderr, stdout stays empty), and a small heap.
#
# Environment:
#   KCLB_KCL_JARS        jar directory (default <repo>/.test-env/kcl-jars)
#   KCLB_JAVA            java binary (default: $JAVA_HOME/bin/java if JAVA_HOME is set, else java)
#   KCLB_JAVA_LOG_LEVEL  root log level: ERROR, WARN, INFO (default), DEBUG
#   KCLB_JAVA_OPTS       extra JVM options, word-split (e.g. "-Xmx512m")
# Credentials and region are whatever the properties say; with AwsCredentialsProvider =
# DefaultCredentialsProvider set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the environment.
set -euo pipefail

if [ $# -lt 1 ]; then
    echo "usage: $0 PROPERTIES [extra MultiLangDaemon args...]" >&2
    exit 2
fi
props=$1; shift
if [ ! -f "$props" ]; then
    echo "run-daemon.sh: no such properties file: $props" >&2
    exit 2
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
jars=${KCLB_KCL_JARS:-$root/.test-env/kcl-jars}
if ! ls "$jars"/amazon-kinesis-client-multilang-*.jar >/dev/null 2>&1; then
    echo "run-daemon.sh: no KCL jars in $jars (run scripts/setup-test-env.sh or scripts/java/setup.sh)" >&2
    exit 2
fi
if [ -n "${KCLB_JAVA:-}" ]; then
    java=$KCLB_JAVA
elif [ -n "${JAVA_HOME:-}" ]; then
    java=$JAVA_HOME/bin/java
else
    java=java
fi

props_abs=$(cd "$(dirname "$props")" && pwd)/$(basename "$props")
props_dir=$(dirname "$props_abs")

# shellcheck disable=SC2086  # KCLB_JAVA_OPTS is deliberately word-split
exec "$java" \
    -Daws.cborEnabled=false \
    -Dlogback.configurationFile="$here/logback.xml" \
    -Dkclb.java.log.level="${KCLB_JAVA_LOG_LEVEL:-INFO}" \
    -Xms64m -Xmx512m -XX:+UseSerialGC \
    ${KCLB_JAVA_OPTS:-} \
    -cp "$jars/*:$props_dir" \
    software.amazon.kinesis.multilang.MultiLangDaemon \
    --properties-file "$props_abs" "$@"

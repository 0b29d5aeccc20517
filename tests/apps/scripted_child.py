#!/usr/bin/env python3
"""A record processor that plays the child side of a golden transcript, byte for byte.

Used by the protocol-fixture tests: it reads the daemon's lines from stdin and checks each
against the transcript's next `to_child` line (exit 99 with a diff on stderr if they differ),
and writes the transcript's `from_child` lines to stdout exactly as recorded. When the
transcript runs out it does what SCRIPTED_THEN says:
  eof (default)  read stdin until EOF, then exit 0
  exit:N         exit with status N at once
  hang           sleep until killed
Environment: SCRIPTED_TRANSCRIPT (path of the golden transcript.jsonl).
No client library is involved: this checks the daemon against recorded behaviour.
"""
import json
import os
import sys
import time


def main():
    entries = [json.loads(l) for l in open(os.environ["SCRIPTED_TRANSCRIPT"], encoding="utf-8") if l.strip()]
    stdin = sys.stdin.buffer
    stdout = sys.stdout.buffer
    first = stdin.readline()
    if not first:
        sys.exit(0)
    shard = json.loads(first)["shardId"]
    mine = [e for e in entries if e["shard"] == shard]
    pending = first
    for e in mine:
        if e["direction"] == "to_child":
            got = pending if pending is not None else stdin.readline()
            pending = None
            want = e["line"].encode("utf-8") + b"\n"
            if got != want:
                sys.stderr.write("scripted child: daemon sent a different line\n  want: %r\n  got:  %r\n" % (want, got))
                sys.exit(99)
        else:
            stdout.write(e["line"].encode("utf-8") + b"\n")
            stdout.flush()
    then = os.environ.get("SCRIPTED_THEN", "eof")
    if then.startswith("exit:"):
        os._exit(int(then[5:]))
    if then == "hang":
        while True:
            time.sleep(60)
    while stdin.readline():
        pass


if __name__ == "__main__":
    main()

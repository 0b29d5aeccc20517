#!/usr/bin/env python3
"""A sample record processor on the unmodified amazon_kclpy library (v3 interface).

kcl-bridge (like the Java MultiLangDaemon) starts one copy of this program per shard and talks to
it over stdin/stdout, so this program must never print to stdout: it logs to stderr.

What it does:
  * logs every record (sequence number, payload) to stderr, where the daemon tags each line with
    the shard it came from;
  * if SAMPLE_OUTPUT_FILE is set, appends one line per record to that file:
        <shardId>\t<sequenceNumber>\t<subSequenceNumber>\t<data as UTF-8 text>
    (tabs, newlines, carriage returns and backslashes in the data are written as \\t \\n \\r \\\\;
    bytes that are not UTF-8 are replaced by U+FFFD);
  * checkpoints once at least SAMPLE_CHECKPOINT_EVERY records (default 100) have been processed
    since the last checkpoint, at the last record of the current batch;
  * checkpoints at shard end (required, or the shard's children are never processed) and when a
    graceful shutdown is requested.

Run it with kcl-bridge, e.g. from the repository root:
    kcl-bridge replay samples/python/app.properties --records samples/records.jsonl
"""
import os
import sys
import time

from amazon_kclpy import kcl
from amazon_kclpy.v3 import processor

CHECKPOINT_EVERY = int(os.environ.get("SAMPLE_CHECKPOINT_EVERY", "100"))
OUTPUT_FILE = os.environ.get("SAMPLE_OUTPUT_FILE")

CHECKPOINT_RETRIES = 5
RETRY_SLEEP_SECONDS = 1


def log(message):
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def as_text(data):
    """Payload bytes as one line of text (see the module docstring)."""
    text = data.decode("utf-8", errors="replace")
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class RecordProcessor(processor.RecordProcessorBase):
    def __init__(self):
        self.shard_id = None
        self.since_checkpoint = 0

    def initialize(self, initialize_input):
        self.shard_id = initialize_input.shard_id
        log("starting after checkpoint {}".format(initialize_input.sequence_number))

    def process_records(self, process_records_input):
        records = process_records_input.records
        lines = []
        for record in records:
            text = as_text(record.binary_data)
            log("record {}/{} key={} data={}".format(record.sequence_number, record.sub_sequence_number,
                                                     record.partition_key, text))
            lines.append("{}\t{}\t{}\t{}\n".format(self.shard_id, record.sequence_number,
                                                   record.sub_sequence_number, text))
        self.append_output("".join(lines))

        self.since_checkpoint += len(records)
        if records and self.since_checkpoint >= CHECKPOINT_EVERY:
            last = records[-1]
            # With the sub-sequence number, so a batch ending inside a KPL aggregate is exact.
            if self.checkpoint(process_records_input.checkpointer, last.sequence_number, last.sub_sequence_number):
                self.since_checkpoint = 0

    def lease_lost(self, lease_lost_input):
        # Another worker owns the shard now; checkpointing is no longer possible.
        log("lease lost")

    def shard_ended(self, shard_ended_input):
        log("shard ended, checkpointing")
        self.checkpoint(shard_ended_input.checkpointer)

    def shutdown_requested(self, shutdown_requested_input):
        log("shutdown requested, checkpointing")
        self.checkpoint(shutdown_requested_input.checkpointer)

    def checkpoint(self, checkpointer, sequence_number=None, sub_sequence_number=None):
        """Checkpoint, retrying on throttling like the official amazon_kclpy sample.

        No arguments means "everything delivered so far" (at shard end: the end of the shard).
        Returns True on success.
        """
        for attempt in range(1, CHECKPOINT_RETRIES + 1):
            try:
                checkpointer.checkpoint(sequence_number, sub_sequence_number)
                return True
            except kcl.CheckpointError as e:
                if e.value == "ShutdownException":
                    # The lease is gone (taken over, or the worker is shutting down): stop trying.
                    log("lease no longer held, skipping checkpoint")
                    return False
                if e.value in ("ThrottlingException", "KinesisClientLibDependencyException") \
                        and attempt < CHECKPOINT_RETRIES:
                    log("checkpoint failed ({}), retrying in {} s".format(e.value, RETRY_SLEEP_SECONDS))
                    time.sleep(RETRY_SLEEP_SECONDS)
                    continue
                log("checkpoint at {} failed: {}".format(sequence_number, e.value))
                return False
        return False

    def append_output(self, text):
        if not OUTPUT_FILE or not text:
            return
        # One write() of whole lines on an O_APPEND descriptor: every shard runs in its own process
        # and they all append to the same file, so lines never interleave.
        fd = os.open(OUTPUT_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, text.encode("utf-8"))
        finally:
            os.close(fd)


if __name__ == "__main__":
    kcl.KCLProcess(RecordProcessor()).run()

#!/usr/bin/env python3
"""Protocol-fixture child for kcl-bridge's integration tests, on the real amazon_kclpy library.

Environment:
  KCLB_INTERFACE    v1 | v2 | v3 (default v3): which amazon_kclpy processor base class to use
                      v1 = amazon_kclpy.kcl.RecordProcessorBase          (shutdown(checkpointer, reason))
                      v2 = amazon_kclpy.v2.processor.RecordProcessorBase (shutdown(ShutdownInput))
                      v3 = amazon_kclpy.v3.processor.RecordProcessorBase (lease_lost / shard_ended)
  KCLB_SCENARIO     normal (default) | checkpoint-refused | no-checkpoint | malformed-output |
                    crash | hang | bogus-checkpoint          (see Behaviour below)
  KCLB_SCENARIO_SHARD  optional shard id: the scenario applies to that shard's child only; the
                    others behave as in "normal"
  KCLB_RECORDS_OUT  optional file; one line per received record is appended:
                    <shardId>\t<sequenceNumber>\t<subSequenceNumber>\t<base64 data>
  KCLB_BATCHES_OUT  optional file; one line per processRecords call is appended when it returns:
                    <worker>\t<shardId>\t<start ns>\t<end ns>\t<first sequenceNumber>\t<last>
                    (CLOCK_MONOTONIC, shared by every process on the machine; <worker> is
                    KCLB_WORKER), so a test can tell whether two workers' children held the same
                    records at the same time
  KCLB_GATE         optional file; the first processRecords does nothing until it exists (a
                    child that holds its first batch for as long as a test needs)

All three interfaces produce the same wire traffic for a given scenario: the scenario logic lives
in Behaviour, and the three processor classes only translate the library's callbacks into it.
kclpy v1/v2 see leaseLost as shutdown(reason="ZOMBIE") and shardEnded as shutdown("TERMINATE").

stdout is the protocol channel: everything we log goes to stderr.
tests/apps/kcl_node_app.js is the aws-kcl (Node) twin of this file.
"""
import os
import sys
import time

from amazon_kclpy import kcl
from amazon_kclpy.v2 import processor as v2processor
from amazon_kclpy.v3 import processor as v3processor

INTERFACE = os.environ.get("KCLB_INTERFACE", "v3")
SCENARIO = os.environ.get("KCLB_SCENARIO", "normal")
SCENARIO_SHARD = os.environ.get("KCLB_SCENARIO_SHARD")
RECORDS_OUT = os.environ.get("KCLB_RECORDS_OUT")
GATE = os.environ.get("KCLB_GATE")
BATCHES_OUT = os.environ.get("KCLB_BATCHES_OUT")
WORKER = os.environ.get("KCLB_WORKER", "")

SCENARIOS = ("normal", "checkpoint-refused", "no-checkpoint", "malformed-output",
             "crash", "hang", "bogus-checkpoint", "slow-shutdown")

# Written straight to stdout in the malformed-output scenario; the daemon must skip all of them.
MALFORMED_LINES = ("hello from print()", "   ", '{"action":"status"', '{"foo":1}',
                   '{"action":"prepareCheckpoint"}')


def log(message):
    sys.stderr.write("kclpy_app[{}/{} pid {}]: {}\n".format(INTERFACE, SCENARIO, os.getpid(), message))
    sys.stderr.flush()


class Behaviour(object):
    """What the child does, independent of the kclpy interface version.

    normal              after each batch: checkpoint at the batch's last sequence number (no
                        sub-sequence number, so kclpy sends "subSequenceNumber": null; an empty
                        batch is not checkpointed); shard end and shutdownRequested: checkpoint()
                        with no arguments; lease lost: nothing.
    checkpoint-refused  like normal, but a checkpoint answered with ThrottlingException is retried
                        once, immediately.
    no-checkpoint       never checkpoints in processRecords; shard end / shutdownRequested as normal.
    malformed-output    like normal, but the first batch first prints MALFORMED_LINES to stdout.
    crash               first batch as normal; the second processRecords exits with code 3 at
                        once (no status, no records written).
    hang                first batch as normal; the second processRecords sleeps 60 s first.
    bogus-checkpoint    the first batch first checkpoints at "12345" (never delivered; the error
                        reply is logged), then continues like normal.
    slow-shutdown       like normal, but shutdownRequested sleeps 60 s before doing anything.
    In every scenario a checkpoint error is logged to stderr and processing continues.
    """

    def __init__(self):
        self.shard_id = None
        self.batches = 0
        self.scenario = SCENARIO

    def initialize(self, shard_id):
        self.shard_id = shard_id
        if SCENARIO_SHARD and shard_id != SCENARIO_SHARD:
            self.scenario = "normal"
        log("initialize shard {}".format(shard_id))

    def process_records(self, records, checkpointer, millis_behind_latest=None):
        start = time.monotonic_ns()
        try:
            self.handle_records(records, checkpointer, millis_behind_latest)
        finally:
            if BATCHES_OUT and records:
                append(BATCHES_OUT, "{}\t{}\t{}\t{}\t{}\t{}\n".format(
                    WORKER, self.shard_id, start, time.monotonic_ns(),
                    records[0].sequence_number, records[-1].sequence_number))

    def handle_records(self, records, checkpointer, millis_behind_latest):
        self.batches += 1
        first = self.batches == 1
        behind = "" if millis_behind_latest is None else ", millisBehindLatest {}".format(millis_behind_latest)
        log("processRecords #{}: {} records{}".format(self.batches, len(records), behind))
        if first and GATE:
            log("waiting for {}".format(GATE))
            while not os.path.exists(GATE):
                time.sleep(0.05)
        if self.batches == 2 and self.scenario == "crash":
            log("crash scenario: exiting with code 3")
            os._exit(3)  # no cleanup, no status reply
        if self.batches == 2 and self.scenario == "hang":
            log("hang scenario: sleeping 60 s")
            time.sleep(60)
        self.write_records(records)
        if first and self.scenario == "malformed-output":
            sys.stdout.write("".join(line + "\n" for line in MALFORMED_LINES))
            sys.stdout.flush()  # the same stream object kclpy writes to, so ordering holds
        if first and self.scenario == "bogus-checkpoint":
            self.checkpoint(checkpointer, "12345")
        if self.scenario != "no-checkpoint" and records:
            self.checkpoint(checkpointer, records[-1].sequence_number)

    def lease_lost(self):
        log("lease lost")

    def shard_ended(self, checkpointer):
        log("shard ended")
        self.checkpoint(checkpointer)

    def shutdown_requested(self, checkpointer):
        log("shutdown requested")
        if self.scenario == "slow-shutdown":
            time.sleep(60)
        self.checkpoint(checkpointer)

    def checkpoint(self, checkpointer, sequence_number=None):
        # Only the sequence number: the library then sends "subSequenceNumber": null.
        try:
            checkpointer.checkpoint(sequence_number)
            return
        except kcl.CheckpointError as e:
            log("checkpoint at {} failed: {}".format(sequence_number, e.value))
            retry = self.scenario == "checkpoint-refused" and e.value == "ThrottlingException"
        if retry:
            try:
                checkpointer.checkpoint(sequence_number)
                log("checkpoint retry at {} succeeded".format(sequence_number))
            except kcl.CheckpointError as e:
                log("checkpoint retry at {} failed: {}".format(sequence_number, e.value))

    def write_records(self, records):
        if not RECORDS_OUT or not records:
            return
        append(RECORDS_OUT, "".join("{}\t{}\t{}\t{}\n".format(
            self.shard_id, r.sequence_number, r.sub_sequence_number, r.data) for r in records))


def append(path, text):
    # One write() on an O_APPEND descriptor: concurrent children never interleave lines.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


behaviour = Behaviour()


class V1Processor(kcl.RecordProcessorBase):
    def initialize(self, shard_id):
        behaviour.initialize(shard_id)

    def process_records(self, records, checkpointer):
        behaviour.process_records(records, checkpointer)

    def shutdown(self, checkpointer, reason):
        if reason == "TERMINATE":
            behaviour.shard_ended(checkpointer)
        else:  # "ZOMBIE": checkpointer is a local stub that always raises
            behaviour.lease_lost()

    def shutdown_requested(self, checkpointer):  # the v1 default does nothing
        behaviour.shutdown_requested(checkpointer)


class V2Processor(v2processor.RecordProcessorBase):
    def initialize(self, initialize_input):
        behaviour.initialize(initialize_input.shard_id)

    def process_records(self, process_records_input):
        behaviour.process_records(process_records_input.records, process_records_input.checkpointer,
                                  process_records_input.millis_behind_latest)

    def shutdown(self, shutdown_input):
        if shutdown_input.reason == "TERMINATE":
            behaviour.shard_ended(shutdown_input.checkpointer)
        else:  # "ZOMBIE"
            behaviour.lease_lost()

    def shutdown_requested(self, shutdown_requested_input):  # the v2 default does nothing
        behaviour.shutdown_requested(shutdown_requested_input.checkpointer)


class V3Processor(v3processor.RecordProcessorBase):
    def initialize(self, initialize_input):
        behaviour.initialize(initialize_input.shard_id)

    def process_records(self, process_records_input):
        behaviour.process_records(process_records_input.records, process_records_input.checkpointer,
                                  process_records_input.millis_behind_latest)

    def lease_lost(self, lease_lost_input):
        behaviour.lease_lost()

    def shard_ended(self, shard_ended_input):
        behaviour.shard_ended(shard_ended_input.checkpointer)

    def shutdown_requested(self, shutdown_requested_input):
        behaviour.shutdown_requested(shutdown_requested_input.checkpointer)


PROCESSORS = {"v1": V1Processor, "v2": V2Processor, "v3": V3Processor}

if __name__ == "__main__":
    if INTERFACE not in PROCESSORS:
        log("unknown KCLB_INTERFACE {!r}; expected one of {}".format(INTERFACE, ", ".join(PROCESSORS)))
        sys.exit(2)
    if SCENARIO not in SCENARIOS:
        log("unknown KCLB_SCENARIO {!r}; expected one of {}".format(SCENARIO, ", ".join(SCENARIOS)))
        sys.exit(2)
    kcl.KCLProcess(PROCESSORS[INTERFACE]()).run()

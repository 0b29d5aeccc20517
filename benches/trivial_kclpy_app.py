#!/usr/bin/env python3
"""A trivial record processor on amazon_kclpy v3 for the replay benchmark: it accepts every
batch without touching the records and checkpoints only at shard end."""
from amazon_kclpy import kcl
from amazon_kclpy.v3 import processor


class Trivial(processor.RecordProcessorBase):
    def initialize(self, initialize_input):
        pass

    def process_records(self, process_records_input):
        pass

    def lease_lost(self, lease_lost_input):
        pass

    def shard_ended(self, shard_ended_input):
        shard_ended_input.checkpointer.checkpoint()

    def shutdown_requested(self, shutdown_requested_input):
        pass


if __name__ == "__main__":
    kcl.KCLProcess(Trivial()).run()

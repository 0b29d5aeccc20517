#!/usr/bin/env node
/*
 * A sample record processor on the unmodified aws-kcl (Node) library, VERSION2 interface
 * (initialize, processRecords, leaseLost, shardEnded, shutdownRequested).
 * The Node twin of samples/python/sample_app.py.
 *
 * kcl-bridge (like the Java MultiLangDaemon) starts one copy of this program per shard and talks to
 * it over stdin/stdout, so this program must never write to stdout: it logs to stderr.
 *
 * What it does:
 *   - logs every record (sequence number, payload) to stderr, where the daemon tags each line
 *     with the shard it came from;
 *   - if SAMPLE_OUTPUT_FILE is set, appends one line per record to that file:
 *         <shardId>\t<sequenceNumber>\t<subSequenceNumber>\t<data as UTF-8 text>
 *     (tabs, newlines, carriage returns and backslashes in the data are written as \t \n \r \\;
 *     bytes that are not UTF-8 are replaced by U+FFFD);
 *   - checkpoints once at least SAMPLE_CHECKPOINT_EVERY records (default 100) have been processed
 *     since the last checkpoint, at the last record of the current batch (aws-kcl cannot
 *     checkpoint at a sub-sequence number);
 *   - checkpoints at shard end (required, or the shard's children are never processed) and when a
 *     graceful shutdown is requested.
 *
 * Run it with kcl-bridge from the repository root (aws-kcl comes from the repo's node_modules):
 *     kcl-bridge replay samples/node/app.properties --records samples/records.jsonl
 */
'use strict';

const fs = require('fs');
const kcl = require('aws-kcl');

const CHECKPOINT_EVERY = parseInt(process.env.SAMPLE_CHECKPOINT_EVERY || '100', 10);
const OUTPUT_FILE = process.env.SAMPLE_OUTPUT_FILE;

const CHECKPOINT_RETRIES = 5;
const RETRY_SLEEP_MS = 1000;

function log(message) {
  process.stderr.write(message + '\n');
}

// Payload bytes as one line of text (see the header comment).
function asText(base64Data) {
  return Buffer.from(base64Data, 'base64').toString('utf8')
    .replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

let shardId = null;
let sinceCheckpoint = 0;

// Checkpoint, retrying on throttling like the official amazon_kclpy sample. sequenceNumber null
// means "everything delivered so far" (at shard end: the end of the shard). Calls done(ok).
function checkpoint(checkpointer, sequenceNumber, done) {
  const attempt = (n) => {
    const callback = (err) => {
      if (!err) {
        done(true);
      } else if (err === 'ShutdownException') {
        // The lease is gone (taken over, or the worker is shutting down): stop trying.
        log(`lease no longer held, skipping checkpoint`);
        done(false);
      } else if ((err === 'ThrottlingException' || err === 'KinesisClientLibDependencyException') &&
                 n < CHECKPOINT_RETRIES) {
        log(`checkpoint failed (${err}), retrying in ${RETRY_SLEEP_MS} ms`);
        setTimeout(() => attempt(n + 1), RETRY_SLEEP_MS);
      } else {
        log(`checkpoint at ${sequenceNumber} failed: ${err}`);
        done(false);
      }
    };
    if (sequenceNumber === null) {
      checkpointer.checkpoint(callback);
    } else {
      checkpointer.checkpoint(sequenceNumber, callback);
    }
  };
  attempt(1);
}

function appendOutput(text) {
  if (!OUTPUT_FILE || !text) return;
  // Flag 'a' = O_APPEND, one write of whole lines: every shard runs in its own process and they
  // all append to the same file, so lines never interleave.
  fs.appendFileSync(OUTPUT_FILE, text);
}

const recordProcessor = {
  initialize(input, completeCallback) {
    shardId = input.shardId;
    log(`starting after checkpoint ${input.sequenceNumber}`);
    completeCallback();
  },

  processRecords(input, completeCallback) {
    const records = input.records;
    const lines = records.map((record) => {
      const text = asText(record.data);
      log(`record ${record.sequenceNumber}/${record.subSequenceNumber} ` +
          `key=${record.partitionKey} data=${text}`);
      return `${shardId}\t${record.sequenceNumber}\t${record.subSequenceNumber}\t${text}\n`;
    });
    appendOutput(lines.join(''));

    sinceCheckpoint += records.length;
    if (records.length === 0 || sinceCheckpoint < CHECKPOINT_EVERY) {
      completeCallback();
      return;
    }
    // Only call completeCallback once the checkpoint round trip is over.
    checkpoint(input.checkpointer, records[records.length - 1].sequenceNumber, (ok) => {
      if (ok) sinceCheckpoint = 0;
      completeCallback();
    });
  },

  leaseLost(input, completeCallback) {
    // Another worker owns the shard now; checkpointing is no longer possible.
    log(`lease lost`);
    completeCallback();
  },

  shardEnded(input, completeCallback) {
    log(`shard ended, checkpointing`);
    checkpoint(input.checkpointer, null, () => completeCallback());
  },

  shutdownRequested(input, completeCallback) {
    log(`shutdown requested, checkpointing`);
    checkpoint(input.checkpointer, null, () => completeCallback());
  },
};

kcl(recordProcessor).run();

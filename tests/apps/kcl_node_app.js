#!/usr/bin/env node
/*
 * Protocol-fixture child for kcl-bridge's integration tests, on the real aws-kcl (Node) library.
 * The Node twin of tests/apps/kclpy_app.py: same environment variables, same scenarios, same
 * wire traffic (except that aws-kcl never sends a subSequenceNumber in a checkpoint request).
 *
 * Environment:
 *   KCLB_INTERFACE    v1 | v2 (default v2): which processor shape aws-kcl sees
 *                       v1 = a processor with shutdown({reason, checkpointer}) -> KCLManager.VERSION1
 *                            (leaseLost arrives as reason "ZOMBIE", shardEnded as "TERMINATE")
 *                       v2 = leaseLost / shardEnded                          -> KCLManager.VERSION2
 *   KCLB_SCENARIO     normal (default) | checkpoint-refused | no-checkpoint | malformed-output |
 *                     crash | hang | bogus-checkpoint   (described in kclpy_app.py's Behaviour)
 *   KCLB_RECORDS_OUT  optional file; one line per received record is appended:
 *                     <shardId>\t<sequenceNumber>\t<subSequenceNumber>\t<base64 data>
 *
 * stdout is the protocol channel: everything we log goes to stderr.
 * aws-kcl is resolved from the repository's node_modules (scripts/setup-test-env.sh).
 */
'use strict';

const fs = require('fs');
const kcl = require('aws-kcl');

const INTERFACE = process.env.KCLB_INTERFACE || 'v2';
const SCENARIO = process.env.KCLB_SCENARIO || 'normal';
const RECORDS_OUT = process.env.KCLB_RECORDS_OUT;

const SCENARIOS = ['normal', 'checkpoint-refused', 'no-checkpoint', 'malformed-output',
  'crash', 'hang', 'bogus-checkpoint'];

// Written straight to stdout in the malformed-output scenario; the daemon must skip all of them.
const MALFORMED_LINES = ['hello from print()', '   ', '{"action":"status"', '{"foo":1}',
  '{"action":"prepareCheckpoint"}'];

function log(message) {
  process.stderr.write(`kcl_node_app[${INTERFACE}/${SCENARIO} pid ${process.pid}]: ${message}\n`);
}

// Scenario logic, independent of the interface version. Every function takes `done`, called
// once the work (including any checkpoint round trips) is finished.
const behaviour = {
  shardId: null,
  batches: 0,

  initialize(shardId, done) {
    this.shardId = shardId;
    log(`initialize shard ${shardId}`);
    done();
  },

  processRecords(records, checkpointer, done) {
    this.batches += 1;
    const first = this.batches === 1;
    log(`processRecords #${this.batches}: ${records.length} records`);
    if (this.batches === 2 && SCENARIO === 'crash') {
      log('crash scenario: exiting with code 3');
      process.exit(3); // stdout/stderr writes to pipes and files are synchronous on Linux
    }
    const rest = () => {
      this.writeRecords(records);
      if (first && SCENARIO === 'malformed-output') {
        process.stdout.write(MALFORMED_LINES.map((line) => line + '\n').join(''));
      }
      const normalCheckpoint = () => {
        if (SCENARIO !== 'no-checkpoint' && records.length > 0) {
          this.checkpoint(checkpointer, records[records.length - 1].sequenceNumber, done);
        } else {
          done();
        }
      };
      if (first && SCENARIO === 'bogus-checkpoint') {
        this.checkpoint(checkpointer, '12345', normalCheckpoint);
      } else {
        normalCheckpoint();
      }
    };
    if (this.batches === 2 && SCENARIO === 'hang') {
      log('hang scenario: sleeping 60 s');
      setTimeout(rest, 60000);
    } else {
      rest();
    }
  },

  leaseLost(done) {
    log('lease lost');
    done();
  },

  shardEnded(checkpointer, done) {
    log('shard ended');
    this.checkpoint(checkpointer, null, done);
  },

  shutdownRequested(checkpointer, done) {
    log('shutdown requested');
    this.checkpoint(checkpointer, null, done);
  },

  // sequenceNumber null: checkpointer.checkpoint(callback), which sends "sequenceNumber":null.
  // aws-kcl has no way to send a subSequenceNumber.
  checkpoint(checkpointer, sequenceNumber, done) {
    const attempt = (isRetry) => {
      const callback = (err) => {
        if (!err) {
          if (isRetry) log(`checkpoint retry at ${sequenceNumber} succeeded`);
          done();
          return;
        }
        log(`checkpoint${isRetry ? ' retry' : ''} at ${sequenceNumber} failed: ${err}`);
        if (!isRetry && SCENARIO === 'checkpoint-refused' && err === 'ThrottlingException') {
          attempt(true);
        } else {
          done();
        }
      };
      if (sequenceNumber === null) {
        checkpointer.checkpoint(callback);
      } else {
        checkpointer.checkpoint(sequenceNumber, callback);
      }
    };
    attempt(false);
  },

  writeRecords(records) {
    if (!RECORDS_OUT || records.length === 0) return;
    const text = records.map((r) =>
      `${this.shardId}\t${r.sequenceNumber}\t${r.subSequenceNumber}\t${r.data}\n`).join('');
    // Flag 'a' = O_APPEND; one write per batch, so concurrent children never interleave lines.
    fs.appendFileSync(RECORDS_OUT, text);
  },
};

// aws-kcl picks VERSION1 whenever the processor has a `shutdown` function.
const v1Processor = {
  initialize(input, completeCallback) {
    behaviour.initialize(input.shardId, completeCallback);
  },
  processRecords(input, completeCallback) {
    behaviour.processRecords(input.records, input.checkpointer, completeCallback);
  },
  shutdown(input, completeCallback) {
    if (input.reason === 'TERMINATE') {
      behaviour.shardEnded(input.checkpointer, completeCallback);
    } else { // 'ZOMBIE': no checkpointer is passed
      behaviour.leaseLost(completeCallback);
    }
  },
  shutdownRequested(input, completeCallback) {
    behaviour.shutdownRequested(input.checkpointer, completeCallback);
  },
};

const v2Processor = {
  initialize(input, completeCallback) {
    behaviour.initialize(input.shardId, completeCallback);
  },
  processRecords(input, completeCallback) {
    behaviour.processRecords(input.records, input.checkpointer, completeCallback);
  },
  leaseLost(input, completeCallback) {
    behaviour.leaseLost(completeCallback);
  },
  shardEnded(input, completeCallback) {
    behaviour.shardEnded(input.checkpointer, completeCallback);
  },
  shutdownRequested(input, completeCallback) {
    behaviour.shutdownRequested(input.checkpointer, completeCallback);
  },
};

const processors = { v1: v1Processor, v2: v2Processor };
if (!(INTERFACE in processors)) {
  log(`unknown KCLB_INTERFACE '${INTERFACE}'; expected one of ${Object.keys(processors).join(', ')}`);
  process.exit(2);
}
if (!SCENARIOS.includes(SCENARIO)) {
  log(`unknown KCLB_SCENARIO '${SCENARIO}'; expected one of ${SCENARIOS.join(', ')}`);
  process.exit(2);
}
kcl(processors[INTERFACE]).run();

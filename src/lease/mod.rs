//! Leases: the lease model shared with Java KCL workers, and the pure decisions of the KCL 2.x
//! lease algorithm (`docs/leases.md`).
//!
//! What lives here:
//!
//! * [`Lease`] and [`HashKeyRange`], mapped 1:1 to lease-table attributes;
//! * [`table`]: the [`LeaseTable`] trait the worker writes leases through, with DynamoDB's
//!   conditional writes as outcomes ([`Written`]);
//! * [`row`]: which lease-table rows are leases at all, and which worker ids are reserved
//!   (`docs/leases.md`, "Other rows", "Worker id");
//! * [`expiry`]: expiry by local observation of `leaseCounter` ([`ExpiryTracker`];
//!   `docs/leases.md`, "Expiry");
//! * [`taker`]: Java's `computeLeasesToTake` ([`compute_leases_to_take`];
//!   `docs/leases.md`, "Taker");
//! * [`sync`]: which leases a shard sync creates, child leases and parent gating
//!   (`docs/leases.md`, "Shard sync", "Parents first", "Child leases");
//! * [`cleanup`]: when a finished shard's lease may be deleted (`docs/leases.md`, "Cleanup");
//! * [`timing`]: the renewer and taker periods (`docs/leases.md`, "Timing").
//!
//! And the two tables: [`dynamo`] (the I/O: DynamoDB through the SDK) and [`memory`] (the same
//! rules in memory, for unit tests).
//!
//! What must not live here, outside `dynamo`: I/O of any kind (no DynamoDB, no Kinesis, no files),
//! AWS SDK types, reading the clock or a random source on its own. Time is always passed in as
//! [`std::time::Instant`]; randomness is injected through [`Chooser`], so every decision is
//! reproducible in tests. Nothing here logs: callers log the returned decisions.

pub mod cleanup;
pub mod dynamo;
pub mod expiry;
pub mod memory;
pub mod row;
pub mod sync;
pub mod table;
pub mod taker;
pub mod timing;

use crate::checkpoint::{ExtendedSequenceNumber, SequenceNumber};
use crate::config::InitialPosition;

pub use cleanup::{children_of, finished_lease_deletable, finished_shard_gone, Keep};
pub use expiry::{ExpiryTracker, Staleness};
pub use row::{
    classify_row, is_multi_stream_lease_key, reserved_worker_id, NotALeaseReason, ReservedWorkerId,
    RowKind,
};
pub use sync::{
    blocking_parent, child_lease, child_lease_for, inconsistent_shards, leases_to_create,
    merge_child_readiness, parents_done, MergeReadiness, Shard,
};
pub use table::{LeaseTable, OtherRow, Scan, Seen, TableError, Written};
pub use taker::{
    compute_leases_to_take, others_hold_or_free, Chooser, IdleReason, KeyOrder, Observed,
    RandomChooser, TakeAction, TakePlan, TakerSettings,
};
pub use timing::{delivery_window, lease_discoverer_period, renewal_period, taker_period, EPSILON};

/// Errors of the pure lease helpers. Decisions are outcomes, not errors; these are malformed
/// inputs only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseError {
    /// A hash key is not a decimal number in 0 ..= 2^128 − 1.
    #[error("hash key {value:?} is not a decimal number between 0 and 2^128-1")]
    BadHashKey { value: String },
    /// `startingHashKey` is greater than `endingHashKey`.
    #[error("hash key range starts at {start} after its end {end}")]
    InvertedHashKeyRange { start: u128, end: u128 },
    /// A child shard without any parent: Java's `createLeaseForChildShard` refuses it
    /// (`InvalidStateException`), and so do we.
    #[error("child shard {shard_id} has no parent shard")]
    ChildWithoutParents { shard_id: String },
}

/// A shard's hash-key range, **inclusive at both ends**, as `startingHashKey`/`endingHashKey`
/// (decimal strings in DynamoDB, 0 ..= 2^128 − 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HashKeyRange {
    pub start: u128,
    pub end: u128,
}

impl HashKeyRange {
    /// The whole key space, 0 ..= 2^128 − 1.
    pub const FULL: HashKeyRange = HashKeyRange {
        start: 0,
        end: u128::MAX,
    };

    /// Parses the two decimal strings stored in the lease table (or returned by `ListShards`).
    /// Leading zeros are accepted; signs, spaces and empty strings are not.
    pub fn from_decimal(start: &str, end: &str) -> Result<HashKeyRange, LeaseError> {
        let parse = |s: &str| {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(LeaseError::BadHashKey { value: s.into() });
            }
            s.parse::<u128>()
                .map_err(|_| LeaseError::BadHashKey { value: s.into() })
        };
        let (start, end) = (parse(start)?, parse(end)?);
        if start > end {
            return Err(LeaseError::InvertedHashKeyRange { start, end });
        }
        Ok(HashKeyRange { start, end })
    }

    /// `(startingHashKey, endingHashKey)` as the decimal strings Java writes.
    pub fn to_decimal(&self) -> (String, String) {
        (self.start.to_string(), self.end.to_string())
    }

    pub fn contains(&self, hash_key: u128) -> bool {
        self.start <= hash_key && hash_key <= self.end
    }
}

/// One lease-table row that is a lease (single-stream mode), as Java's `Lease` stores it
/// (`docs/leases.md`, "Rows").
/// In-memory-only Java state (last counter increment, concurrency token, …) is deliberately not
/// here: expiry lives in [`ExpiryTracker`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// `leaseKey`: the shard id.
    pub key: String,
    /// `leaseOwner`: worker id; `None` = attribute absent = unowned.
    pub owner: Option<String>,
    /// `leaseCounter`: every renew/take/checkpoint adds exactly 1; new leases start at 0.
    pub counter: u64,
    /// `ownerSwitchesSinceCheckpoint`.
    pub owner_switches_since_checkpoint: u64,
    /// `checkpoint` + `checkpointSubSequenceNumber`.
    pub checkpoint: ExtendedSequenceNumber,
    /// `pendingCheckpoint` + `pendingCheckpointSubSequenceNumber`, absent when none.
    pub pending_checkpoint: Option<ExtendedSequenceNumber>,
    /// `parentShardId` (string set, singular name): 0, 1 (split) or 2 (merge) ids.
    pub parent_shard_ids: Vec<String>,
    /// `childShardIds` (string set), known at or after `SHARD_END`.
    pub child_shard_ids: Vec<String>,
    /// `startingHashKey`/`endingHashKey`.
    pub hash_range: Option<HashKeyRange>,
    /// `checkpointOwner`: set only while a KCL 3.x graceful hand-off is in progress
    /// (`docs/leases.md`, "Java 3.x").
    pub checkpoint_owner: Option<String>,
}

impl Lease {
    /// A new, unowned lease as Java creates one: counter 0, no owner switches, the given
    /// checkpoint (normally a sentinel), nothing else.
    pub fn new(key: impl Into<String>, checkpoint: ExtendedSequenceNumber) -> Lease {
        Lease {
            key: key.into(),
            owner: None,
            counter: 0,
            owner_switches_since_checkpoint: 0,
            checkpoint,
            pending_checkpoint: None,
            parent_shard_ids: Vec::new(),
            child_shard_ids: Vec::new(),
            hash_range: None,
            checkpoint_owner: None,
        }
    }

    /// `checkpoint` is `SHARD_END`: the shard is fully processed.
    pub fn is_shard_end(&self) -> bool {
        self.checkpoint.is_shard_end()
    }

    /// A KCL 3.x graceful hand-off is in progress (`checkpointOwner` set).
    pub fn in_handoff(&self) -> bool {
        self.checkpoint_owner.is_some()
    }

    /// Owned by `worker` per `leaseOwner` (the 2.x notion of ownership).
    pub fn is_owned_by(&self, worker: &str) -> bool {
        self.owner.as_deref() == Some(worker)
    }
}

/// The checkpoint sentinel a lease created at the configured initial position carries:
/// `TRIM_HORIZON`, `LATEST` or `AT_TIMESTAMP` (the timestamp itself is not stored;
/// `docs/leases.md`, "Rows").
pub fn initial_checkpoint(position: &InitialPosition) -> ExtendedSequenceNumber {
    let sequence_number = match position {
        InitialPosition::TrimHorizon => SequenceNumber::TrimHorizon,
        InitialPosition::Latest => SequenceNumber::Latest,
        InitialPosition::AtTimestamp(_) => SequenceNumber::AtTimestamp,
    };
    ExtendedSequenceNumber::new(sequence_number, 0)
}

/// `TRIM_HORIZON` with sub-sequence number 0.
pub fn trim_horizon() -> ExtendedSequenceNumber {
    ExtendedSequenceNumber::new(SequenceNumber::TrimHorizon, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_key_range_parses_the_full_space() {
        let r = HashKeyRange::from_decimal("0", "340282366920938463463374607431768211455").unwrap();
        assert_eq!(r, HashKeyRange::FULL);
        assert_eq!(
            r.to_decimal(),
            (
                "0".to_string(),
                "340282366920938463463374607431768211455".to_string()
            )
        );
        assert!(r.contains(0) && r.contains(u128::MAX));
    }

    #[test]
    fn hash_key_range_is_inclusive_and_strict() {
        let r = HashKeyRange::from_decimal("007", "9").unwrap();
        assert_eq!(r, HashKeyRange { start: 7, end: 9 });
        assert!(r.contains(7) && r.contains(9) && !r.contains(6) && !r.contains(10));
        assert_eq!(
            HashKeyRange::from_decimal("5", "5"),
            Ok(HashKeyRange { start: 5, end: 5 })
        );
        for bad in [
            "",
            "-1",
            "+1",
            " 1",
            "1.0",
            "340282366920938463463374607431768211456",
        ] {
            assert_eq!(
                HashKeyRange::from_decimal(bad, "9"),
                Err(LeaseError::BadHashKey { value: bad.into() }),
                "{bad:?}"
            );
        }
        assert_eq!(
            HashKeyRange::from_decimal("9", "8"),
            Err(LeaseError::InvertedHashKeyRange { start: 9, end: 8 })
        );
    }

    #[test]
    fn new_lease_is_unowned_at_counter_zero() {
        let l = Lease::new("shardId-000000000000", trim_horizon());
        assert_eq!(l.owner, None);
        assert_eq!(l.counter, 0);
        assert!(!l.is_shard_end() && !l.in_handoff() && !l.is_owned_by("w1"));
    }

    #[test]
    fn initial_checkpoints_are_the_sentinels() {
        assert_eq!(
            initial_checkpoint(&InitialPosition::TrimHorizon).to_string(),
            "TRIM_HORIZON"
        );
        assert_eq!(
            initial_checkpoint(&InitialPosition::Latest).to_string(),
            "LATEST"
        );
        assert_eq!(
            initial_checkpoint(&InitialPosition::AtTimestamp(1_700_000_000)).to_string(),
            "AT_TIMESTAMP"
        );
    }
}

//! PROVISIONAL: the lease model; the full pure module (expiry, taker, shard sync) is merged in
//! from the `lease` branch, which replaces this file.

use crate::checkpoint::ExtendedSequenceNumber;

pub mod dynamo;

/// A shard's hash-key range, inclusive at both ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashKeyRange {
    pub start: u128,
    pub end: u128,
}

/// One lease row, as Java KCL writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub key: String,
    pub owner: Option<String>,
    pub counter: u64,
    pub owner_switches_since_checkpoint: u64,
    pub checkpoint: ExtendedSequenceNumber,
    pub pending_checkpoint: Option<ExtendedSequenceNumber>,
    pub parent_shard_ids: Vec<String>,
    pub child_shard_ids: Vec<String>,
    pub hash_range: Option<HashKeyRange>,
    pub checkpoint_owner: Option<String>,
}

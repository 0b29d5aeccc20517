//! Record retrieval: how a shard's records reach its consumer.
//!
//! Two seams, both free of SDK types:
//!
//! * [`KinesisApi`]: the Kinesis calls (ListShards, GetShardIterator, GetRecords). In production
//!   [`kinesis::KinesisStream`] (the SDK, with GetRecords sent by [`direct`] where it can be);
//!   in unit tests an in-memory stream.
//! * [`RecordSource`]: one way of reading a shard into its consumer's [`prefetch`] queue.
//!   [`polling::Polling`] reads with GetRecords; enhanced fan-out will be a second source.
//!
//! Beside them: the shared types ([`Batch`], [`ChildShard`], [`ShardDescription`], [`StartAt`],
//! [`KinesisError`]), KPL de-aggregation ([`kpl`]) and the poll schedule ([`pacing`]).

pub mod direct;
#[cfg(test)]
pub(crate) mod fake;
pub mod kinesis;
pub mod kpl;
pub mod pacing;
pub mod polling;
pub mod prefetch;
pub mod response;

use std::future::Future;

use crate::lease::HashKeyRange;
use crate::protocol::Record;

/// Why a Kinesis call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KinesisError {
    #[error("the shard iterator expired")]
    ExpiredIterator,
    #[error("Kinesis is throttling: {0}")]
    Throttled(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("access denied or bad credentials: {0}")]
    AccessDenied(String),
    #[error("Kinesis request failed: {0}")]
    Other(String),
}

impl KinesisError {
    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, KinesisError::Throttled(_) | KinesisError::Other(_))
    }

    /// A Kinesis error code (the short name) and its text, as the caller reacts to it.
    pub fn classify(code: &str, text: String) -> KinesisError {
        match code {
            "ExpiredIteratorException" => KinesisError::ExpiredIterator,
            "ProvisionedThroughputExceededException"
            | "LimitExceededException"
            | "ThrottlingException" => KinesisError::Throttled(text),
            "ResourceNotFoundException" => KinesisError::NotFound(text),
            "AccessDeniedException"
            | "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException"
            | "IncompleteSignature"
            | "MissingAuthenticationToken" => KinesisError::AccessDenied(text),
            _ => KinesisError::Other(text),
        }
    }
}

/// A shard as ListShards describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardDescription {
    pub id: String,
    pub parent: Option<String>,
    pub adjacent_parent: Option<String>,
    pub hash_range: HashKeyRange,
    pub starting_sequence_number: String,
    /// Set once the shard is closed (split or merged away).
    pub ending_sequence_number: Option<String>,
}

/// Where to start reading a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartAt {
    TrimHorizon,
    Latest,
    /// Epoch seconds.
    AtTimestamp(i64),
    AtSequenceNumber(String),
    AfterSequenceNumber(String),
}

/// A shard that a closed shard was split or merged into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildShard {
    pub id: String,
    pub parents: Vec<String>,
    pub hash_range: Option<HashKeyRange>,
}

/// One GetRecords response.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub records: Vec<Record>,
    /// `None` at the end of a closed shard.
    pub next_iterator: Option<String>,
    pub millis_behind_latest: Option<i64>,
    pub child_shards: Vec<ChildShard>,
}

/// A hash key range from its two decimal bounds.
pub fn hash_range(start: &str, end: &str) -> Option<HashKeyRange> {
    Some(HashKeyRange {
        start: start.parse().ok()?,
        end: end.parse().ok()?,
    })
}

/// What a shard's reader hands its consumer.
#[derive(Debug)]
pub enum Fetched {
    /// Records as Kinesis returned them (KPL aggregates not yet expanded).
    Batch(Batch),
    /// The shard is closed and every record was read; its children, as far as known.
    End(Vec<ChildShard>),
    /// Kinesis refused for good (stream deleted, no permission).
    Fatal(String),
}

/// The Kinesis calls kcl-bridge makes for one stream.
pub trait KinesisApi: Clone + Send + Sync + 'static {
    fn stream_name(&self) -> &str;

    /// Every shard of the stream, open and closed. May take a while (a throttled page is tried
    /// again): callers must not hold up lease renewals on it.
    fn list_shards(
        &self,
    ) -> impl Future<Output = Result<Vec<ShardDescription>, KinesisError>> + Send;

    /// An iterator for `shard` at `start`.
    fn shard_iterator(
        &self,
        shard: &str,
        start: &StartAt,
    ) -> impl Future<Output = Result<String, KinesisError>> + Send;

    /// One GetRecords call.
    fn get_records(
        &self,
        iterator: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Batch, KinesisError>> + Send;
}

/// A way of reading shards: what a shard consumer gets its records from.
pub trait RecordSource: Clone + Send + Sync + 'static {
    fn stream_name(&self) -> &str;

    /// Every shard of the stream (the shard sync's input, and a closed shard's children when
    /// its reader did not learn them).
    fn list_shards(
        &self,
    ) -> impl Future<Output = Result<Vec<ShardDescription>, KinesisError>> + Send;

    /// Reads `shard` from `start` into `queue` until the shard ends ([`Fetched::End`]), Kinesis
    /// refuses for good ([`Fetched::Fatal`]) or the queue's consumer is gone. Never reads more
    /// than the queue has room for.
    fn read(
        &self,
        shard: String,
        start: StartAt,
        queue: prefetch::Sender,
    ) -> impl Future<Output = ()> + Send;
}

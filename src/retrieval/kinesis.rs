//! Kinesis calls for polling retrieval: ListShards, GetShardIterator, GetRecords
//! (`leases-and-retrieval.md` §5, §7). Errors are classified so the caller can react: an
//! expired iterator is re-created, throttling backs off, a vanished shard ends it. SDK types
//! stay inside this file.

use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kinesis::types::ShardIteratorType;
use aws_sdk_kinesis::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, info};

use super::direct::{Attempt, DirectGetRecords};

use crate::lease::HashKeyRange;
use crate::protocol::Record;

/// Why a Kinesis call failed.
#[derive(Debug, Clone, thiserror::Error)]
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
}

fn error<E>(e: SdkError<E, HttpResponse>) -> KinesisError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if let Some(forbidden) = crate::aws::forbidden_without_code(&e) {
        return KinesisError::AccessDenied(forbidden);
    }
    let code = e.code().unwrap_or_default().to_owned();
    classify(&code, crate::aws::describe(&e))
}

/// A Kinesis error code (the short name) and its text, as the caller reacts to it.
pub(crate) fn classify(code: &str, text: String) -> KinesisError {
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

/// A shard that a closed shard was split or merged into, from GetRecords.
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

fn range(r: Option<&aws_sdk_kinesis::types::HashKeyRange>) -> Option<HashKeyRange> {
    let r = r?;
    hash_range(r.starting_hash_key(), r.ending_hash_key())
}

/// A hash key range from its two decimal bounds.
pub(crate) fn hash_range(start: &str, end: &str) -> Option<HashKeyRange> {
    Some(HashKeyRange {
        start: start.parse().ok()?,
        end: end.parse().ok()?,
    })
}

/// One stream.
#[derive(Clone, Debug)]
pub struct KinesisStream {
    client: Client,
    stream: String,
    /// GetRecords without the SDK's request pipeline, when the set-up allows it.
    direct: Option<Arc<DirectGetRecords>>,
    /// How a throttled ListShards page is tried again, on top of the SDK's own retries:
    /// `listShardsBackoffTimeInMillis` apart, `maxListShardsRetryAttempts` tries in all (Java's
    /// `KinesisShardDetector`).
    list_backoff: Duration,
    list_attempts: u32,
}

impl KinesisStream {
    pub fn new(client: Client, stream: impl Into<String>) -> Self {
        KinesisStream {
            client,
            stream: stream.into(),
            direct: None,
            list_backoff: Duration::from_millis(1500),
            list_attempts: 50,
        }
    }

    /// A throttled ListShards page is tried `attempts` times in all, `backoff` apart.
    pub fn with_list_shards_retry(mut self, backoff: Duration, attempts: u32) -> Self {
        self.list_backoff = backoff;
        self.list_attempts = attempts.max(1);
        self
    }

    /// Sends GetRecords through `direct` first (see `retrieval::direct`).
    pub fn with_direct(mut self, direct: Option<Arc<DirectGetRecords>>) -> Self {
        self.direct = direct;
        self
    }

    pub fn name(&self) -> &str {
        &self.stream
    }

    /// Every shard of the stream, open and closed. A throttled page is tried again (see
    /// [`KinesisStream::with_list_shards_retry`]), so this can take a while: the caller must not
    /// hold up lease renewals on it.
    pub async fn list_shards(&self) -> Result<Vec<ShardDescription>, KinesisError> {
        let mut shards = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut attempt = 1;
            let out = loop {
                let mut req = self.client.list_shards();
                req = match &token {
                    Some(t) => req.next_token(t),
                    None => req.stream_name(&self.stream),
                };
                match req.send().await.map_err(error) {
                    Ok(out) => break out,
                    Err(KinesisError::Throttled(why)) if attempt < self.list_attempts => {
                        attempt += 1;
                        info!(error = %why, retry_in = ?self.list_backoff, attempt, of = self.list_attempts,
                            "ListShards throttled; trying again");
                        tokio::time::sleep(self.list_backoff).await;
                    }
                    Err(e) => return Err(e),
                }
            };
            for s in out.shards() {
                let Some(hash_range) = range(s.hash_key_range()) else {
                    continue;
                };
                let seq = s.sequence_number_range();
                shards.push(ShardDescription {
                    id: s.shard_id().to_owned(),
                    parent: s.parent_shard_id().map(str::to_owned),
                    adjacent_parent: s.adjacent_parent_shard_id().map(str::to_owned),
                    hash_range,
                    starting_sequence_number: seq
                        .map(|r| r.starting_sequence_number().to_owned())
                        .unwrap_or_default(),
                    ending_sequence_number: seq
                        .and_then(|r| r.ending_sequence_number())
                        .map(str::to_owned),
                });
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(shards)
    }

    /// An iterator for `shard` at `start`.
    pub async fn iterator(&self, shard: &str, start: &StartAt) -> Result<String, KinesisError> {
        let mut req = self
            .client
            .get_shard_iterator()
            .stream_name(&self.stream)
            .shard_id(shard);
        req = match start {
            StartAt::TrimHorizon => req.shard_iterator_type(ShardIteratorType::TrimHorizon),
            StartAt::Latest => req.shard_iterator_type(ShardIteratorType::Latest),
            StartAt::AtTimestamp(secs) => req
                .shard_iterator_type(ShardIteratorType::AtTimestamp)
                .timestamp(aws_smithy_types::DateTime::from_secs(*secs)),
            StartAt::AtSequenceNumber(s) => req
                .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
                .starting_sequence_number(s),
            StartAt::AfterSequenceNumber(s) => req
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(s),
        };
        let out = req.send().await.map_err(error)?;
        out.shard_iterator()
            .map(str::to_owned)
            .ok_or_else(|| KinesisError::NotFound(format!("no iterator for {shard}")))
    }

    /// One GetRecords call: directly when that path is on, through the SDK when it is off or
    /// cannot complete the call.
    pub async fn get_records(&self, iterator: &str, limit: u32) -> Result<Batch, KinesisError> {
        let Some(direct) = self.direct.as_ref().filter(|d| d.enabled()) else {
            return self.sdk_get_records(iterator, limit).await;
        };
        match direct.get_records(iterator, limit).await {
            Attempt::Done(result) => result,
            Attempt::Fallback { reason, suspect } => {
                debug!(%reason, "GetRecords goes through the SDK this time");
                let result = self.sdk_get_records(iterator, limit).await;
                if result.is_ok() {
                    direct.rescued(&reason, suspect);
                }
                result
            }
        }
    }

    async fn sdk_get_records(&self, iterator: &str, limit: u32) -> Result<Batch, KinesisError> {
        let out = self
            .client
            .get_records()
            .shard_iterator(iterator)
            .limit(limit as i32)
            .send()
            .await
            .map_err(error)?;
        let records = out
            .records()
            .iter()
            .map(|r| Record {
                data: bytes::Bytes::copy_from_slice(r.data().as_ref()).into(),
                partition_key: r.partition_key().unwrap_or_default().to_owned(),
                sequence_number: r.sequence_number().to_owned(),
                sub_sequence_number: 0,
                approximate_arrival_timestamp: r
                    .approximate_arrival_timestamp()
                    .and_then(|t| t.to_millis().ok())
                    .unwrap_or(0),
            })
            .collect();
        let child_shards = out
            .child_shards()
            .iter()
            .map(|c| ChildShard {
                id: c.shard_id().to_owned(),
                parents: c.parent_shards().to_vec(),
                hash_range: range(c.hash_key_range()),
            })
            .collect();
        Ok(Batch {
            records,
            next_iterator: out.next_shard_iterator().map(str::to_owned),
            millis_behind_latest: out.millis_behind_latest(),
            child_shards,
        })
    }
}

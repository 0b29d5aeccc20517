//! The Kinesis calls through the AWS SDK ([`KinesisApi`] for one stream), with GetRecords sent by
//! [`super::direct`] first where it can be. Errors are classified ([`KinesisError`]) so callers
//! can react: an expired iterator is re-created, throttling backs off, a vanished shard ends it.
//! SDK types stay inside this file and `direct`.

use aws_sdk_kinesis::error::SdkError;
use aws_sdk_kinesis::types::ShardIteratorType;
use aws_sdk_kinesis::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, info};

use super::direct::{Attempt, DirectGetRecords};
use super::{
    hash_range, response, Batch, ChildShard, KinesisApi, KinesisError, ShardDescription, StartAt,
};
use crate::lease::HashKeyRange;
use crate::protocol::Record;

fn error<E>(e: SdkError<E, HttpResponse>) -> KinesisError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (code, text) = crate::sdk_error::code_and_text(&e);
    KinesisError::classify(&code, text)
}

fn range(r: Option<&aws_sdk_kinesis::types::HashKeyRange>) -> Option<HashKeyRange> {
    let r = r?;
    hash_range(r.starting_hash_key(), r.ending_hash_key())
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

    async fn sdk_get_records(&self, iterator: &str, limit: u32) -> Result<Batch, KinesisError> {
        let out = self
            .client
            .get_records()
            .shard_iterator(iterator)
            .limit(limit as i32)
            .send()
            .await
            .map_err(error)?;
        let received = response::now_millis();
        let records = out
            .records()
            .iter()
            .map(|r| Record {
                data: bytes::Bytes::copy_from_slice(r.data().as_ref()).into(),
                partition_key: r.partition_key().unwrap_or_default().to_owned(),
                sequence_number: r.sequence_number().to_owned(),
                sub_sequence_number: 0,
                approximate_arrival_timestamp: response::arrival_millis(
                    r.approximate_arrival_timestamp()
                        .and_then(|t| t.to_millis().ok()),
                    received,
                ),
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

impl KinesisApi for KinesisStream {
    fn stream_name(&self) -> &str {
        &self.stream
    }

    /// A throttled page is tried again (see [`KinesisStream::with_list_shards_retry`]).
    async fn list_shards(&self) -> Result<Vec<ShardDescription>, KinesisError> {
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

    async fn shard_iterator(&self, shard: &str, start: &StartAt) -> Result<String, KinesisError> {
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

    /// Directly when that path is on, through the SDK when it is off or cannot complete the call.
    async fn get_records(&self, iterator: &str, limit: u32) -> Result<Batch, KinesisError> {
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
}

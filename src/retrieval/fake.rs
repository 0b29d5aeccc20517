//! An in-memory Kinesis stream for unit tests ([`KinesisApi`]): shards with records, splits,
//! errors on demand, and every GetRecords written to a [`Timeline`] as
//! `kinesis get_records <shard> -> <n> records`.
//!
//! Sequence numbers are decimal, unique and increasing across the stream (`100`, `101`, ...), so
//! a test can name records by number. An iterator is `<shard>/<index of the next record>`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use super::{Batch, ChildShard, KinesisApi, KinesisError, ShardDescription, StartAt};
use crate::lease::HashKeyRange;
use crate::protocol::{Payload, Record};
use crate::testkit::Timeline;

#[derive(Debug, Default)]
struct Shard {
    parent: Option<String>,
    records: Vec<Record>,
    /// Set once the shard is closed: its children.
    children: Option<Vec<String>>,
}

#[derive(Debug, Default)]
struct State {
    shards: BTreeMap<String, Shard>,
    next_sequence_number: u64,
    failures: HashMap<&'static str, Vec<KinesisError>>,
}

/// One stream in memory. Cloning shares it.
#[derive(Debug, Clone)]
pub struct FakeKinesis {
    state: Arc<Mutex<State>>,
    timeline: Timeline,
}

impl FakeKinesis {
    /// A stream with `shards` open shards, `shardId-000000000000` on, and no records.
    pub fn new(shards: usize, timeline: &Timeline) -> FakeKinesis {
        let mut state = State {
            next_sequence_number: 100,
            ..State::default()
        };
        for i in 0..shards {
            state.shards.insert(shard_id(i), Shard::default());
        }
        FakeKinesis {
            state: Arc::new(Mutex::new(state)),
            timeline: timeline.clone(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends `count` records of `size` bytes to `shard`; returns their sequence numbers.
    pub fn put(&self, shard: &str, count: usize, size: usize) -> Vec<String> {
        let mut state = self.state();
        let mut added = Vec::new();
        for _ in 0..count {
            let seq = state.next_sequence_number.to_string();
            state.next_sequence_number += 1;
            let record = Record {
                data: Payload::Bytes(vec![b'x'; size].into()),
                partition_key: "pk".into(),
                sequence_number: seq.clone(),
                sub_sequence_number: 0,
                approximate_arrival_timestamp: 1_700_000_000_000,
            };
            if let Some(s) = state.shards.get_mut(shard) {
                s.records.push(record);
                added.push(seq);
            }
        }
        added
    }

    /// Closes `shard` and opens `children` with it as their parent.
    pub fn split(&self, shard: &str, children: &[&str]) {
        let mut state = self.state();
        for child in children {
            state.shards.insert(
                (*child).to_owned(),
                Shard {
                    parent: Some(shard.to_owned()),
                    ..Shard::default()
                },
            );
        }
        if let Some(s) = state.shards.get_mut(shard) {
            s.children = Some(children.iter().map(|c| (*c).to_owned()).collect());
        }
    }

    /// Makes the next calls of `operation` (`list_shards`, `shard_iterator`, `get_records`)
    /// fail with `errors`, one each, in order.
    pub fn fail(&self, operation: &'static str, errors: Vec<KinesisError>) {
        self.state().failures.insert(operation, errors);
    }

    fn failure(&self, operation: &'static str) -> Option<KinesisError> {
        let mut state = self.state();
        let errors = state.failures.get_mut(operation)?;
        (!errors.is_empty()).then(|| errors.remove(0))
    }
}

/// `shardId-00000000000<i>`.
pub fn shard_id(i: usize) -> String {
    format!("shardId-{i:012}")
}

fn position(records: &[Record], start: &StartAt) -> usize {
    let number = |s: &str| s.parse::<u64>().unwrap_or(0);
    match start {
        StartAt::TrimHorizon | StartAt::AtTimestamp(_) => 0,
        StartAt::Latest => records.len(),
        StartAt::AtSequenceNumber(s) => records
            .iter()
            .position(|r| number(&r.sequence_number) >= number(s))
            .unwrap_or(records.len()),
        StartAt::AfterSequenceNumber(s) => records
            .iter()
            .position(|r| number(&r.sequence_number) > number(s))
            .unwrap_or(records.len()),
    }
}

impl KinesisApi for FakeKinesis {
    fn stream_name(&self) -> &str {
        "stream"
    }

    async fn list_shards(&self) -> Result<Vec<ShardDescription>, KinesisError> {
        if let Some(e) = self.failure("list_shards") {
            return Err(e);
        }
        let state = self.state();
        Ok(state
            .shards
            .iter()
            .map(|(id, s)| ShardDescription {
                id: id.clone(),
                parent: s.parent.clone(),
                adjacent_parent: None,
                hash_range: HashKeyRange::FULL,
                starting_sequence_number: "0".into(),
                ending_sequence_number: s.children.as_ref().map(|_| "99999999".to_owned()),
            })
            .collect())
    }

    async fn shard_iterator(&self, shard: &str, start: &StartAt) -> Result<String, KinesisError> {
        if let Some(e) = self.failure("shard_iterator") {
            return Err(e);
        }
        let state = self.state();
        let s = state
            .shards
            .get(shard)
            .ok_or_else(|| KinesisError::NotFound(shard.to_owned()))?;
        Ok(format!("{shard}/{}", position(&s.records, start)))
    }

    async fn get_records(&self, iterator: &str, limit: u32) -> Result<Batch, KinesisError> {
        if let Some(e) = self.failure("get_records") {
            self.timeline
                .push(format!("kinesis get_records {iterator} -> {e}"));
            return Err(e);
        }
        let (shard, at) = iterator
            .rsplit_once('/')
            .and_then(|(s, at)| Some((s.to_owned(), at.parse::<usize>().ok()?)))
            .ok_or_else(|| KinesisError::Other(format!("bad iterator {iterator}")))?;
        let batch = {
            let state = self.state();
            let s = state
                .shards
                .get(&shard)
                .ok_or_else(|| KinesisError::NotFound(shard.clone()))?;
            let end = (at + limit as usize).min(s.records.len());
            let records = s.records[at.min(end)..end].to_vec();
            let at_end = end == s.records.len();
            let (next_iterator, child_shards) = match &s.children {
                Some(children) if at_end => (
                    None,
                    children
                        .iter()
                        .map(|c| ChildShard {
                            id: c.clone(),
                            parents: vec![shard.clone()],
                            hash_range: Some(HashKeyRange::FULL),
                        })
                        .collect(),
                ),
                _ => (Some(format!("{shard}/{end}")), Vec::new()),
            };
            Batch {
                millis_behind_latest: Some(if at_end { 0 } else { 1000 }),
                records,
                next_iterator,
                child_shards,
            }
        };
        self.timeline.push(format!(
            "kinesis get_records {shard} -> {} records",
            batch.records.len()
        ));
        Ok(batch)
    }
}

//! A shard's prefetch queue: what its reader has read and its consumer not yet taken, bounded
//! both in batches and in bytes.
//!
//! Java's `PrefetchRecordsPublisher` stops its fetcher at 8 MiB of queued records besides its
//! count of batches. Without a byte bound, a slow child lets every shard queue its whole batch
//! limit (with 10,000-record batches of 1 KB, tens of MB per shard), so a worker's memory would
//! grow with its shard count times the record size.
//!
//! The reader waits for room ([`Sender::room`]) before each read, then queues what it read; the
//! consumer's [`Receiver::recv`] gives the bytes back. A batch is never split, so the queue can
//! exceed the byte limit by at most one batch (GetRecords returns at most 10 MB).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, Notify};
use tracing::debug;

use super::Fetched;
use crate::protocol::{Payload, Record};

/// Java's `maxByteSize` of the prefetch queue.
pub const LIMIT: usize = 8 << 20;
/// How many batches may wait for the consumer.
pub const BATCHES: usize = 2;

/// A queue of at most `batches` batches and (but for the last batch) `limit` bytes.
pub fn queue(limit: usize, batches: usize) -> (Sender, Receiver) {
    let (tx, rx) = mpsc::channel(batches.max(1));
    let budget = Arc::new(PrefetchBudget::new(limit));
    (
        Sender {
            tx,
            budget: budget.clone(),
        },
        Receiver { rx, budget },
    )
}

/// The reader's end.
#[derive(Debug, Clone)]
pub struct Sender {
    tx: mpsc::Sender<(Fetched, usize)>,
    budget: Arc<PrefetchBudget>,
}

/// The consumer is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

impl Sender {
    /// Returns once fewer than the limit's bytes are queued.
    pub async fn room(&self) {
        self.budget.room().await;
    }

    /// Queues `fetched`, waiting while the queue holds its number of batches.
    pub async fn send(&self, fetched: Fetched) -> Result<(), Closed> {
        let bytes = match &fetched {
            Fetched::Batch(batch) => batch_bytes(&batch.records),
            Fetched::End(_) | Fetched::Fatal(_) => 0,
        };
        self.budget.add(bytes);
        if self.tx.send((fetched, bytes)).await.is_err() {
            self.budget.release(bytes);
            return Err(Closed);
        }
        Ok(())
    }
}

/// The consumer's end.
#[derive(Debug)]
pub struct Receiver {
    rx: mpsc::Receiver<(Fetched, usize)>,
    budget: Arc<PrefetchBudget>,
}

impl Receiver {
    /// The next item, its bytes given back; `None` once every sender is gone.
    pub async fn recv(&mut self) -> Option<Fetched> {
        let (fetched, bytes) = self.rx.recv().await?;
        self.budget.release(bytes);
        Some(fetched)
    }
}

#[derive(Debug)]
struct PrefetchBudget {
    limit: usize,
    queued: AtomicUsize,
    /// Signalled when bytes are given back. `notify_one` keeps a permit when nobody waits, so a
    /// release between the fetcher's check and its wait is not missed.
    released: Notify,
}

impl PrefetchBudget {
    fn new(limit: usize) -> Self {
        PrefetchBudget {
            limit,
            queued: AtomicUsize::new(0),
            released: Notify::new(),
        }
    }

    /// Bytes queued now.
    fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    async fn room(&self) {
        if self.queued() < self.limit {
            return;
        }
        debug!(
            queued_bytes = self.queued(),
            "prefetch queue full: the next GetRecords waits for the child"
        );
        while self.queued() >= self.limit {
            self.released.notified().await;
        }
    }

    /// The fetcher queued `bytes`.
    fn add(&self, bytes: usize) {
        self.queued.fetch_add(bytes, Ordering::AcqRel);
    }

    /// The consumer took `bytes` off the queue.
    fn release(&self, bytes: usize) {
        // Never below zero, whatever a caller gives back.
        let _before: usize = self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| {
                Some(q.saturating_sub(bytes))
            })
            .unwrap_or_else(|q| q);
        self.released.notify_one();
    }
}

/// The memory a batch's records hold: payloads as stored (base64 text where kept as text),
/// partition keys and sequence numbers.
fn batch_bytes(records: &[Record]) -> usize {
    records
        .iter()
        .map(|r| {
            let payload = match &r.data {
                Payload::Bytes(b) | Payload::Base64(b) => b.len(),
            };
            payload + r.partition_key.len() + r.sequence_number.len()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    fn record(payload: &'static [u8], key: &str, seq: &str) -> Record {
        Record {
            data: Payload::Bytes(bytes::Bytes::from_static(payload)),
            partition_key: key.into(),
            sequence_number: seq.into(),
            ..Record::default()
        }
    }

    #[test]
    fn a_batch_counts_payloads_keys_and_sequence_numbers() {
        let base64 = Record {
            data: Payload::Base64(bytes::Bytes::from_static(b"aGVsbG8=")),
            ..record(b"", "k", "12")
        };
        let records = [record(b"hello", "pk", "1"), base64];
        assert_eq!(batch_bytes(&records), (5 + 2 + 1) + (8 + 1 + 2));
        assert_eq!(batch_bytes(&[]), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn the_fetcher_waits_while_the_queue_is_full_and_goes_on_once_it_is_not() {
        let budget = Arc::new(PrefetchBudget::new(100));
        budget.room().await; // empty: room at once
        budget.add(60);
        budget.room().await; // 60 < 100: still room
        budget.add(60);
        let waiting = tokio::spawn({
            let budget = budget.clone();
            async move { budget.room().await }
        });
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(!waiting.is_finished(), "120 of 100 bytes queued: no room");
        budget.release(10);
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(
            !waiting.is_finished(),
            "110 of 100 bytes queued: still no room"
        );
        budget.release(60);
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("room once 50 of 100 bytes are queued")
            .expect("the waiting task");
        assert_eq!(budget.queued(), 50);
    }

    #[test]
    fn the_queue_never_goes_below_zero() {
        let budget = PrefetchBudget::new(10);
        budget.add(10);
        budget.release(15);
        assert_eq!(budget.queued(), 0);
    }
}

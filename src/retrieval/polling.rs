//! Polling retrieval: a shard read with GetShardIterator and GetRecords (`docs/retrieval.md`).
//!
//! One read loop per shard: at least `idleTimeBetweenReadsInMillis` between calls (on the shared
//! schedule of [`pacing`]), a call only while the prefetch queue has room, an expired iterator
//! recovered after the last record read, throttling and transient errors backed off with jitter
//! up to [`MAX_BACKOFF`]. A closed shard's end is a response without a next iterator; its
//! children come with it or, where Kinesis leaves them out, from ListShards.

use std::time::Duration;

use tokio::time::Instant;
use tracing::{info, warn};

use super::prefetch::Sender;
use super::{pacing, ChildShard, Fetched, KinesisApi, KinesisError, RecordSource, StartAt};

/// The longest back-off while Kinesis throttles or fails.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// The first back-off.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// What the polling keys of the configuration set.
#[derive(Debug, Clone)]
pub struct PollingSettings {
    /// `maxRecords`.
    pub max_records: u32,
    /// `idleTimeBetweenReadsInMillis`: between the starts of two calls for one shard.
    pub idle_between_reads: Duration,
    /// `millisBehindLatestThresholdForReducedTps`: closer than this to the tip, poll at most
    /// this often. `None` = off.
    pub reduced_tps_below: Option<Duration>,
    /// `callProcessRecordsEvenForEmptyRecordList`: queue empty batches too. Otherwise an idle
    /// shard's poll wakes no other task.
    pub keep_empty_batches: bool,
    /// The instant every shard's poll schedule is counted from ([`pacing`]).
    pub epoch: Instant,
}

/// Reads shards with GetRecords through `K`.
#[derive(Debug, Clone)]
pub struct Polling<K> {
    kinesis: K,
    settings: PollingSettings,
}

impl<K: KinesisApi> Polling<K> {
    pub fn new(kinesis: K, settings: PollingSettings) -> Self {
        Polling { kinesis, settings }
    }
}

impl<K: KinesisApi> RecordSource for Polling<K> {
    fn stream_name(&self) -> &str {
        self.kinesis.stream_name()
    }

    async fn list_shards(&self) -> Result<Vec<super::ShardDescription>, KinesisError> {
        self.kinesis.list_shards().await
    }

    async fn read(&self, shard: String, start: StartAt, queue: Sender) {
        let done = match self.read_until_done(&shard, start, &queue).await {
            Ok(done) => done,
            Err(Gone) => return,
        };
        // The receiver is gone only if the session ended: nothing more to do.
        queue.send(done).await.unwrap_or_default();
    }
}

/// The consumer went away.
struct Gone;

impl<K: KinesisApi> Polling<K> {
    /// Reads until the shard ends or Kinesis refuses for good; returns what to tell the consumer
    /// then.
    async fn read_until_done(
        &self,
        shard: &str,
        start: StartAt,
        queue: &Sender,
    ) -> Result<Fetched, Gone> {
        let settings = &self.settings;
        let mut restart_at = start;
        let mut iterator: Option<String> = None;
        // When the last successful GetRecords started, and its millisBehindLatest.
        let mut last_start: Option<Instant> = None;
        let mut last_behind: Option<i64> = None;
        let mut backoff = FIRST_BACKOFF;
        loop {
            // An iterator that expires meanwhile (a child slower than five minutes a batch) is
            // recovered below like any other.
            queue.room().await;
            let it = match iterator.take() {
                Some(it) => it,
                None => match self.kinesis.shard_iterator(shard, &restart_at).await {
                    Ok(it) => it,
                    Err(KinesisError::NotFound(_)) => {
                        return Ok(Fetched::End(self.children_of(shard).await))
                    }
                    Err(e) if e.is_retryable() => {
                        warn!(error = %e, "GetShardIterator failed; retrying");
                        sleep_jittered(&mut backoff).await;
                        continue;
                    }
                    Err(e) => return Ok(Fetched::Fatal(e.to_string())),
                },
            };
            let mut start = Instant::now();
            if let Some(last) = last_start {
                let at = Instant::from_std(pacing::next_start(
                    settings.epoch.into_std(),
                    last.into_std(),
                    pacing::interval(
                        settings.idle_between_reads,
                        settings.reduced_tps_below,
                        last_behind,
                    ),
                ));
                if at > start {
                    tokio::time::sleep_until(at).await;
                    start = at;
                }
            }
            match self.kinesis.get_records(&it, settings.max_records).await {
                Ok(mut batch) => {
                    last_start = Some(start);
                    last_behind = batch.millis_behind_latest;
                    backoff = FIRST_BACKOFF;
                    if let Some(last) = batch.records.last() {
                        restart_at = StartAt::AfterSequenceNumber(last.sequence_number.clone());
                    }
                    let next = batch.next_iterator.clone();
                    let children = std::mem::take(&mut batch.child_shards);
                    if !batch.records.is_empty() || settings.keep_empty_batches {
                        queue.send(Fetched::Batch(batch)).await.map_err(|_| Gone)?;
                    }
                    match next {
                        Some(next) => iterator = Some(next),
                        // Shard end. Unlike Java, a missing ChildShards is filled in from
                        // ListShards instead of retrying for ever.
                        None if children.is_empty() => {
                            return Ok(Fetched::End(self.children_of(shard).await))
                        }
                        None => return Ok(Fetched::End(children)),
                    }
                }
                Err(KinesisError::ExpiredIterator) => {
                    info!("shard iterator expired; getting a new one after the last record read");
                }
                Err(KinesisError::NotFound(_)) => {
                    return Ok(Fetched::End(self.children_of(shard).await))
                }
                Err(e) if e.is_retryable() => {
                    warn!(error = %e, "GetRecords failed; backing off");
                    iterator = Some(it);
                    sleep_jittered(&mut backoff).await;
                }
                Err(e) => return Ok(Fetched::Fatal(e.to_string())),
            }
        }
    }

    /// The shards a closed shard was split or merged into, from ListShards.
    async fn children_of(&self, shard: &str) -> Vec<ChildShard> {
        match self.kinesis.list_shards().await {
            Ok(shards) => shards
                .into_iter()
                .filter(|s| {
                    s.parent.as_deref() == Some(shard)
                        || s.adjacent_parent.as_deref() == Some(shard)
                })
                .map(|s| ChildShard {
                    parents: s
                        .parent
                        .iter()
                        .chain(s.adjacent_parent.iter())
                        .cloned()
                        .collect(),
                    id: s.id,
                    hash_range: Some(s.hash_range),
                })
                .collect(),
            Err(e) => {
                warn!(error = %e, "ListShards failed while looking for child shards");
                Vec::new()
            }
        }
    }
}

/// Sleeps for `backoff` ± 50 % and doubles it, up to [`MAX_BACKOFF`].
async fn sleep_jittered(backoff: &mut Duration) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let factor = 0.5 + f64::from(nanos % 1000) / 1000.0;
    tokio::time::sleep(backoff.mul_f64(factor)).await;
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retrieval::fake::{shard_id, FakeKinesis};
    use crate::retrieval::prefetch;
    use crate::testkit::{ms, Timeline};

    fn polling(kinesis: &FakeKinesis) -> Polling<FakeKinesis> {
        Polling::new(
            kinesis.clone(),
            PollingSettings {
                max_records: 10,
                idle_between_reads: ms(1000),
                reduced_tps_below: None,
                keep_empty_batches: false,
                epoch: Instant::now(),
            },
        )
    }

    /// Reads shard 0 from the trim horizon to its end; the sequence numbers of every batch and
    /// what the reader said at the end.
    async fn read_all(kinesis: &FakeKinesis) -> (Vec<Vec<String>>, Fetched) {
        let (tx, mut rx) = prefetch::queue(prefetch::LIMIT, prefetch::BATCHES);
        let reader = polling(kinesis);
        tokio::spawn(async move { reader.read(shard_id(0), StartAt::TrimHorizon, tx).await });
        let mut batches = Vec::new();
        loop {
            match rx.recv().await {
                Some(Fetched::Batch(b)) => batches.push(
                    b.records
                        .iter()
                        .map(|r| r.sequence_number.clone())
                        .collect(),
                ),
                Some(end) => return (batches, end),
                None => panic!("the reader stopped without a word"),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn throttled_reads_back_off_doubling_with_jitter_up_to_10_s() {
        let timeline = Timeline::new();
        let kinesis = FakeKinesis::new(1, &timeline);
        kinesis.put(&shard_id(0), 3, 10);
        kinesis.split(&shard_id(0), &[&shard_id(1)]);
        kinesis.fail(
            "get_records",
            vec![KinesisError::Throttled("Rate exceeded".into()); 9],
        );
        let (batches, end) = read_all(&kinesis).await;
        assert_eq!(batches, [["100", "101", "102"]]);
        assert!(matches!(end, Fetched::End(children) if children[0].id == shard_id(1)));
        let calls = timeline.times_of("kinesis get_records");
        let gaps: Vec<Duration> = calls.windows(2).map(|w| w[1] - w[0]).collect();
        let nominal = [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000];
        assert_eq!(gaps.len(), nominal.len(), "{}", timeline.dump());
        for (gap, n) in gaps.iter().zip(nominal) {
            assert!(
                *gap >= ms(n / 2) && *gap <= ms(n * 3 / 2),
                "{gap:?} not within ±50 % of {n} ms\n{}",
                timeline.dump()
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_expired_iterator_is_renewed_after_the_last_record_read() {
        let timeline = Timeline::new();
        let kinesis = FakeKinesis::new(1, &timeline);
        kinesis.put(&shard_id(0), 15, 10);
        kinesis.split(&shard_id(0), &[&shard_id(1)]);
        // The second read finds its iterator expired.
        let reader = polling(&kinesis);
        let (tx, mut rx) = prefetch::queue(prefetch::LIMIT, prefetch::BATCHES);
        tokio::spawn(async move { reader.read(shard_id(0), StartAt::TrimHorizon, tx).await });
        let Some(Fetched::Batch(first)) = rx.recv().await else {
            panic!("no first batch")
        };
        assert_eq!(first.records.len(), 10);
        kinesis.fail("get_records", vec![KinesisError::ExpiredIterator]);
        let Some(Fetched::Batch(second)) = rx.recv().await else {
            panic!("no second batch")
        };
        let seqs: Vec<&str> = second
            .records
            .iter()
            .map(|r| r.sequence_number.as_str())
            .collect();
        assert_eq!(
            seqs,
            ["110", "111", "112", "113", "114"],
            "nothing lost or read twice"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn reads_of_one_shard_are_the_idle_time_apart_on_the_shared_grid() {
        let timeline = Timeline::new();
        let kinesis = FakeKinesis::new(1, &timeline);
        kinesis.put(&shard_id(0), 35, 10);
        kinesis.split(&shard_id(0), &[&shard_id(1)]);
        let (batches, _) = read_all(&kinesis).await;
        assert_eq!(batches.len(), 4);
        // The grid's period is the idle time plus 1 % (`pacing`).
        assert_eq!(
            timeline.times_of("kinesis get_records"),
            [ms(0), ms(1010), ms(2020), ms(3030)]
        );
    }
}

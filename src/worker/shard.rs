//! One shard consumer: runs while this worker holds the shard's lease. Waits for parent shards
//! to finish, starts a child, feeds it batches from a bounded prefetch, and ends the session on
//! shard end, lease loss, shutdown or child failure (`multilang-protocol.md` §3,
//! `leases-and-retrieval.md` §5–7).
//!
//! A failed child is restarted from the lease's checkpoint after a growing back-off, keeping the
//! lease; other shards are never affected. Once the lease is known lost no record reaches the
//! child. On shutdown the child gets `shutdownRequested`, then the lease is released, then the
//! child gets `leaseLost`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use super::held::{HeldLease, LeaseSink};
use super::prefetch::{self, PrefetchBudget};
use crate::checkpoint::{CheckpointState, ExtendedSequenceNumber, SequenceNumber};
use crate::child::{ChildError, ChildSpec, ShardChild};
use crate::lease::dynamo::DynamoLeaseTable;
use crate::lease::{self, HashKeyRange, Lease};
use crate::protocol::Record;
use crate::retrieval::kinesis::{Batch, ChildShard, KinesisError, KinesisStream, StartAt};
use crate::retrieval::pacing;

/// The settings a shard consumer needs, taken from the configuration.
#[derive(Debug, Clone)]
pub struct ShardSettings {
    pub max_records: u32,
    pub idle_between_reads: Duration,
    /// A batch goes to the child only while the lease was confirmed ours less than this long
    /// ago ([`HeldLease::confirmed_within`]).
    pub deliver_within: Duration,
    /// `millisBehindLatestThresholdForReducedTps`: closer than this to the tip, poll at most
    /// this often. `None` = off.
    pub reduced_tps_below: Option<Duration>,
    pub call_process_records_even_for_empty_record_list: bool,
    pub parent_shard_poll_interval: Duration,
    /// `initialPositionInStreamExtended`, for leases at `AT_TIMESTAMP`.
    pub at_timestamp: Option<i64>,
    /// First back-off after a child failure; doubles up to [`MAX_RESTART_BACKOFF`].
    pub task_backoff: Duration,
    /// The instant every shard's poll schedule is counted from (`retrieval::pacing`).
    pub poll_epoch: Instant,
}

/// The longest wait before restarting a failed child.
const MAX_RESTART_BACKOFF: Duration = Duration::from_secs(30);
/// The longest back-off while Kinesis throttles.
const MAX_THROTTLE_BACKOFF: Duration = Duration::from_secs(10);

/// Everything one consumer needs.
pub struct ShardConsumer {
    pub shard_id: String,
    pub held: HeldLease,
    pub table: DynamoLeaseTable,
    pub stream: KinesisStream,
    pub me: String,
    pub spec: ChildSpec,
    pub settings: ShardSettings,
    /// Cancelled when the worker shuts down gracefully.
    pub shutdown: CancellationToken,
    /// Set when the lease was taken from a worker that still renewed it: the time to leave it
    /// to let go (stop giving records to its processor) before this worker starts one.
    pub handover_wait: Option<Duration>,
}

/// How a consumer ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardOutcome {
    /// `SHARD_END` is stored; the children can start.
    Finished,
    /// The lease was taken by another worker or expired.
    LeaseLost,
    /// Graceful shutdown: the lease was released.
    ShutDown,
    /// Kinesis refused for good (stream deleted, no permission): the worker cannot go on.
    Fatal(String),
}

enum Fetched {
    /// A batch and its bytes, counted in the shard's [`PrefetchBudget`].
    Batch(Batch, usize),
    /// The shard is closed and every record was fetched.
    End(Vec<ChildShard>),
    Fatal(String),
}

enum SessionEnd {
    Outcome(ShardOutcome),
    /// The child failed or did not checkpoint at shard end: try again with a new child.
    Retry(String),
}

impl ShardConsumer {
    pub async fn run(self) -> ShardOutcome {
        if let Some(wait) = self.handover_wait {
            if let Some(outcome) = self.pause(wait).await {
                return outcome;
            }
        }
        if let Some(outcome) = self.wait_for_parents().await {
            return outcome;
        }
        let mut backoff = self.settings.task_backoff.max(Duration::from_millis(100));
        loop {
            match self.session().await {
                SessionEnd::Outcome(o) => return o,
                SessionEnd::Retry(why) => {
                    error!(error = %why, retry_in = ?backoff, "shard session failed; restarting the record processor from the last checkpoint");
                    if let Some(outcome) = self.pause(backoff).await {
                        return outcome;
                    }
                    backoff = (backoff * 2).min(MAX_RESTART_BACKOFF);
                }
            }
        }
    }

    /// Parents first: a shard starts only when every parent lease that still exists is at
    /// `SHARD_END` (a deleted parent lease counts as finished).
    async fn wait_for_parents(&self) -> Option<ShardOutcome> {
        loop {
            let lease = self.held.snapshot().await;
            let mut waiting = Vec::new();
            for parent in &lease.parent_shard_ids {
                match self.table.get(parent).await {
                    Ok(Some(p)) if !p.checkpoint.is_shard_end() => waiting.push(parent.clone()),
                    Ok(_) => {}
                    Err(e) => {
                        warn!(error = %e, "cannot read the parent lease; assuming it is not finished");
                        waiting.push(parent.clone());
                    }
                }
            }
            if waiting.is_empty() {
                return None;
            }
            debug!(?waiting, "waiting for parent shards to finish");
            if let Some(outcome) = self.pause(self.settings.parent_shard_poll_interval).await {
                return Some(outcome);
            }
        }
    }

    /// Waits `time` with no record processor running; ends early, with the consumer's outcome,
    /// if the lease is lost or the worker shuts down (then the lease is released).
    async fn pause(&self, time: Duration) -> Option<ShardOutcome> {
        tokio::select! {
            () = tokio::time::sleep(time) => None,
            () = self.held.lost().cancelled() => Some(ShardOutcome::LeaseLost),
            () = self.shutdown.cancelled() => {
                self.held.release(&self.table, &self.me).await;
                Some(ShardOutcome::ShutDown)
            }
        }
    }

    async fn session(&self) -> SessionEnd {
        let lease = self.held.snapshot().await;
        if lease.checkpoint.is_shard_end() {
            return SessionEnd::Outcome(ShardOutcome::Finished);
        }
        let start = lease.checkpoint.clone();
        let mut child = match ShardChild::spawn(&self.spec, &self.shard_id, None) {
            Ok(c) => c,
            Err(e) => return SessionEnd::Retry(e.to_string()),
        };
        let mut state = CheckpointState::new(start.clone());
        let mut sink = LeaseSink {
            held: self.held.clone(),
            table: self.table.clone(),
            me: self.me.clone(),
        };
        let end = self.drive(&mut child, &lease, &mut state, &mut sink).await;
        child.close().await;
        match end {
            Ok(end) => end,
            Err(e) => SessionEnd::Retry(e.to_string()),
        }
    }

    async fn drive(
        &self,
        child: &mut ShardChild,
        lease: &Lease,
        state: &mut CheckpointState,
        sink: &mut LeaseSink,
    ) -> Result<SessionEnd, ChildError> {
        let start = state.last_checkpoint().clone();
        child.initialize(Some(&start), state, sink).await?;
        let start_at = match start_position(&start, self.settings.at_timestamp) {
            Ok(s) => s,
            Err(why) => return Ok(SessionEnd::Outcome(ShardOutcome::Fatal(why))),
        };
        // Bounded prefetch: the fetcher waits while two batches or 8 MiB are queued, so a slow
        // child never makes memory grow.
        let (tx, mut rx) = mpsc::channel(2);
        let budget = Arc::new(PrefetchBudget::new(prefetch::LIMIT));
        let fetcher = tokio::spawn(fetch(
            self.stream.clone(),
            self.shard_id.clone(),
            start_at,
            self.settings.clone(),
            lease.hash_range,
            tx,
            budget.clone(),
        ));
        let _abort_fetcher = AbortOnDrop(fetcher);
        // Records at or below this position were delivered (or checkpointed) already.
        let mut delivered_up_to = start;
        loop {
            tokio::select! {
                biased;
                () = self.held.lost().cancelled() => {
                    child.lease_lost(state, sink).await?;
                    return Ok(SessionEnd::Outcome(ShardOutcome::LeaseLost));
                }
                () = self.shutdown.cancelled() => {
                    child.shutdown_requested(state, sink).await?;
                    self.held.release(&self.table, &self.me).await;
                    child.lease_lost(state, sink).await?;
                    return Ok(SessionEnd::Outcome(ShardOutcome::ShutDown));
                }
                fetched = rx.recv() => match fetched {
                    Some(Fetched::Batch(batch, bytes)) => {
                        budget.release(bytes);
                        let records: Vec<Record> = batch
                            .records
                            .into_iter()
                            .filter(|r| position(r) > delivered_up_to)
                            .collect();
                        if let Some(last) = records.last() {
                            delivered_up_to = position(last);
                        }
                        if records.is_empty() && !self.settings.call_process_records_even_for_empty_record_list {
                            continue;
                        }
                        // Lost (or shutting down): the next loop turn says so to the child.
                        if !self.held.confirmed_within(self.settings.deliver_within, &self.shutdown).await {
                            continue;
                        }
                        child.process_records(&records, batch.millis_behind_latest, state, sink).await?;
                    }
                    Some(Fetched::End(children)) => return self.shard_end(child, lease, children, state, sink).await,
                    Some(Fetched::Fatal(why)) => return Ok(SessionEnd::Outcome(ShardOutcome::Fatal(why))),
                    None => return Ok(SessionEnd::Retry("the record fetcher stopped".into())),
                },
            }
        }
    }

    /// The shard is closed and fully delivered: create the children's leases, then `shardEnded`.
    async fn shard_end(
        &self,
        child: &mut ShardChild,
        lease: &Lease,
        children: Vec<ChildShard>,
        state: &mut CheckpointState,
        sink: &mut LeaseSink,
    ) -> Result<SessionEnd, ChildError> {
        for c in &children {
            self.warn_of_a_missing_merge_parent(c).await;
            let child_lease = Lease {
                key: c.id.clone(),
                owner: None,
                counter: 0,
                owner_switches_since_checkpoint: 0,
                // A child shard's lease always starts at TRIM_HORIZON.
                checkpoint: ExtendedSequenceNumber::new(SequenceNumber::TrimHorizon, 0),
                pending_checkpoint: None,
                parent_shard_ids: c.parents.clone(),
                child_shard_ids: Vec::new(),
                hash_range: c.hash_range,
                checkpoint_owner: None,
            };
            match self.table.create_if_absent(&child_lease).await {
                Ok(true) => info!(child = %c.id, "created the child shard's lease"),
                Ok(false) => {}
                Err(e) => {
                    return Ok(SessionEnd::Retry(format!(
                        "cannot create the lease of child shard {}: {e}",
                        c.id
                    )))
                }
            }
        }
        child.shard_ended(state, sink).await?;
        if !state.last_checkpoint().is_shard_end() {
            return Ok(SessionEnd::Retry(
                "the record processor did not checkpoint at shard end; the shard cannot finish until it does".into(),
            ));
        }
        let ids: Vec<String> = children.iter().map(|c| c.id.clone()).collect();
        if let Err(e) = self.table.set_child_shards(&lease.key, &ids).await {
            warn!(error = %e, "could not record the child shards on the finished lease");
        }
        info!(children = ?ids, "shard finished");
        Ok(SessionEnd::Outcome(ShardOutcome::Finished))
    }

    /// A merge child whose parents' leases are not all there (one was deleted, or never
    /// created): Java holds the shard end and retries at random; kcl-bridge creates the child's
    /// lease anyway (its shard sync would), and the child starts once the parents whose leases
    /// exist have finished. Records of a parent without a lease that no one consumed are then
    /// not read before the child's: this WARN names that parent (§5 Rec.).
    async fn warn_of_a_missing_merge_parent(&self, child: &ChildShard) {
        if child.parents.len() < 2 {
            return;
        }
        let mut leases = std::collections::HashMap::new();
        for parent in &child.parents {
            if let Ok(Some(lease)) = self.table.get(parent).await {
                leases.insert(parent.clone(), lease);
            }
        }
        if let lease::MergeReadiness::Partial { present, missing } =
            lease::merge_child_readiness(&child.parents, &leases)
        {
            warn!(
                child = %child.id,
                ?missing,
                ?present,
                "merge: no lease for the child's other parent shard; the child starts once the parents \
                 with leases have finished, so records of the parent without one are not read first"
            );
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn position(r: &Record) -> ExtendedSequenceNumber {
    ExtendedSequenceNumber::new(
        SequenceNumber::parse(&r.sequence_number).unwrap_or(SequenceNumber::TrimHorizon),
        r.sub_sequence_number,
    )
}

/// The first iterator for a checkpoint (`leases-and-retrieval.md` §7): a numeric checkpoint is
/// re-read with `AT_SEQUENCE_NUMBER` and the checkpointed record filtered out locally.
fn start_position(
    checkpoint: &ExtendedSequenceNumber,
    at_timestamp: Option<i64>,
) -> Result<StartAt, String> {
    Ok(match &checkpoint.sequence_number {
        SequenceNumber::TrimHorizon => StartAt::TrimHorizon,
        SequenceNumber::Latest => StartAt::Latest,
        SequenceNumber::AtTimestamp => {
            match at_timestamp {
                Some(t) => StartAt::AtTimestamp(t),
                None => {
                    return Err("the lease starts AT_TIMESTAMP but initialPositionInStreamExtended is not set".into());
                }
            }
        }
        SequenceNumber::Number(n) => StartAt::AtSequenceNumber(n.clone()),
        SequenceNumber::ShardEnd => return Err("the shard is already finished".into()),
    })
}

/// Fetches batches with GetRecords until the shard ends, keeping at least
/// `idleTimeBetweenReadsInMillis` between calls and calling only while fewer than
/// [`prefetch::LIMIT`] bytes wait for the child; recovers expired iterators after the last
/// record fetched and backs off exponentially (with jitter) while throttled.
async fn fetch(
    stream: KinesisStream,
    shard_id: String,
    start: StartAt,
    settings: ShardSettings,
    range: Option<HashKeyRange>,
    tx: mpsc::Sender<Fetched>,
    budget: Arc<PrefetchBudget>,
) {
    let mut restart_at = start;
    let mut iterator: Option<String> = None;
    // When the last successful GetRecords started.
    let mut last_start: Option<Instant> = None;
    // The last successful response's millisBehindLatest.
    let mut last_behind: Option<i64> = None;
    let mut backoff = Duration::from_millis(100);
    loop {
        // An iterator that expires meanwhile (a child slower than five minutes a batch) is
        // recovered below like any other.
        budget.room().await;
        let it = match iterator.take() {
            Some(it) => it,
            None => match stream.iterator(&shard_id, &restart_at).await {
                Ok(it) => it,
                Err(KinesisError::NotFound(_)) => {
                    let children = children_from_list_shards(&stream, &shard_id).await;
                    // The receiver is gone only if the session ended: nothing more to do.
                    tx.send(Fetched::End(children)).await.unwrap_or_default();
                    return;
                }
                Err(e) if e.is_retryable() => {
                    warn!(error = %e, "GetShardIterator failed; retrying");
                    sleep_jittered(&mut backoff).await;
                    continue;
                }
                Err(e) => {
                    tx.send(Fetched::Fatal(e.to_string()))
                        .await
                        .unwrap_or_default();
                    return;
                }
            },
        };
        let mut start = Instant::now();
        if let Some(last) = last_start {
            let at = Instant::from_std(pacing::next_start(
                settings.poll_epoch.into_std(),
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
        match stream.get_records(&it, settings.max_records).await {
            Ok(mut batch) => {
                last_start = Some(start);
                last_behind = batch.millis_behind_latest;
                backoff = Duration::from_millis(100);
                if let Some(last) = batch.records.last() {
                    restart_at = StartAt::AfterSequenceNumber(last.sequence_number.clone());
                }
                batch.records = deaggregate(&shard_id, batch.records, range);
                let next = batch.next_iterator.clone();
                let children = std::mem::take(&mut batch.child_shards);
                // An empty batch the child is not to be sent is not queued either: an idle
                // shard's poll wakes no other task.
                let wanted = !batch.records.is_empty()
                    || settings.call_process_records_even_for_empty_record_list;
                if wanted {
                    let bytes = prefetch::batch_bytes(&batch.records);
                    budget.add(bytes);
                    if tx.send(Fetched::Batch(batch, bytes)).await.is_err() {
                        return;
                    }
                }
                match next {
                    Some(next) => iterator = Some(next),
                    None => {
                        // Shard end. Unlike Java, a missing ChildShards is filled in from
                        // ListShards instead of retrying for ever.
                        let children = if children.is_empty() {
                            children_from_list_shards(&stream, &shard_id).await
                        } else {
                            children
                        };
                        tx.send(Fetched::End(children)).await.unwrap_or_default();
                        return;
                    }
                }
            }
            Err(KinesisError::ExpiredIterator) => {
                info!("shard iterator expired; getting a new one after the last record fetched");
            }
            Err(KinesisError::NotFound(_)) => {
                let children = children_from_list_shards(&stream, &shard_id).await;
                tx.send(Fetched::End(children)).await.unwrap_or_default();
                return;
            }
            Err(e) if e.is_retryable() => {
                warn!(error = %e, "GetRecords failed; backing off");
                iterator = Some(it);
                sleep_jittered(&mut backoff).await;
            }
            Err(e) => {
                tx.send(Fetched::Fatal(e.to_string()))
                    .await
                    .unwrap_or_default();
                return;
            }
        }
    }
}

/// Sleeps for `backoff` ± 50 % and doubles it, up to [`MAX_THROTTLE_BACKOFF`].
async fn sleep_jittered(backoff: &mut Duration) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let factor = 0.5 + f64::from(nanos % 1000) / 1000.0;
    tokio::time::sleep(backoff.mul_f64(factor)).await;
    *backoff = (*backoff * 2).min(MAX_THROTTLE_BACKOFF);
}

/// The shards a closed shard was split or merged into, from ListShards.
async fn children_from_list_shards(stream: &KinesisStream, shard_id: &str) -> Vec<ChildShard> {
    match stream.list_shards().await {
        Ok(shards) => shards
            .into_iter()
            .filter(|s| {
                s.parent.as_deref() == Some(shard_id)
                    || s.adjacent_parent.as_deref() == Some(shard_id)
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

/// KPL de-aggregation of a fetched batch, with a WARN for every damaged aggregate.
fn deaggregate(shard_id: &str, records: Vec<Record>, range: Option<HashKeyRange>) -> Vec<Record> {
    use crate::retrieval::kpl;
    let range = range.unwrap_or(HashKeyRange::FULL);
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        let sequence_number = r.sequence_number.clone();
        let expanded = kpl::deaggregate(r, &range);
        if let Some(issue) = &expanded.issue {
            warn!(shard_id, sequence_number = %sequence_number, "KPL aggregate: {issue}");
        }
        out.extend(expanded.records);
    }
    out
}

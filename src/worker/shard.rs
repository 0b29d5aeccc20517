//! One shard consumer: runs while this worker holds the shard's lease. Waits for parent shards
//! to finish, starts a child, feeds it batches from a bounded prefetch, and ends the session on
//! shard end, lease loss, shutdown or child failure (`docs/protocol.md`, "Session";
//! `docs/leases.md`, "Parents first", "Child leases"; `docs/retrieval.md`).
//!
//! A failed child is restarted from the lease's checkpoint after a growing back-off, keeping the
//! lease; other shards are never affected. Once the lease is known lost no record reaches the
//! child. On shutdown the child gets `shutdownRequested`, then the lease is released, then the
//! child gets `leaseLost`.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;
use tracing::{debug, error, info, warn};

use super::held::{HeldLease, LeaseSink};
use crate::checkpoint::{CheckpointState, ExtendedSequenceNumber, SequenceNumber};
use crate::child::{ChildError, ChildSpec, ShardChild};
use crate::lease::{self, HashKeyRange, Lease, LeaseTable};
use crate::protocol::Record;
use crate::retrieval::{prefetch, ChildShard, Fetched, RecordSource, StartAt};

/// The settings a shard consumer needs, taken from the configuration.
#[derive(Debug, Clone)]
pub struct ShardSettings {
    /// A batch goes to the child only while the lease was confirmed ours less than this long
    /// ago ([`HeldLease::confirmed_within`]).
    pub deliver_within: Duration,
    pub call_process_records_even_for_empty_record_list: bool,
    pub parent_shard_poll_interval: Duration,
    /// `initialPositionInStreamExtended`, for leases at `AT_TIMESTAMP`.
    pub at_timestamp: Option<i64>,
    /// First back-off after a child failure; doubles up to [`MAX_RESTART_BACKOFF`].
    pub task_backoff: Duration,
}

/// The longest wait before restarting a failed child.
const MAX_RESTART_BACKOFF: Duration = Duration::from_secs(30);
/// Everything one consumer needs.
pub struct ShardConsumer<T, R> {
    pub shard_id: String,
    pub held: HeldLease,
    pub table: T,
    pub source: R,
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

enum SessionEnd {
    Outcome(ShardOutcome),
    /// The child failed or did not checkpoint at shard end: try again with a new child.
    Retry(String),
}

impl<T: LeaseTable, R: RecordSource> ShardConsumer<T, R> {
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
        sink: &mut LeaseSink<T>,
    ) -> Result<SessionEnd, ChildError> {
        let start = state.last_checkpoint().clone();
        child.initialize(Some(&start), state, sink).await?;
        let start_at = match start_position(&start, self.settings.at_timestamp) {
            Ok(s) => s,
            Err(why) => return Ok(SessionEnd::Outcome(ShardOutcome::Fatal(why))),
        };
        // Bounded prefetch: the reader waits while two batches or 8 MiB are queued, so a slow
        // child never makes memory grow.
        let (tx, mut rx) = prefetch::queue(prefetch::LIMIT, prefetch::BATCHES);
        let (source, shard) = (self.source.clone(), self.shard_id.clone());
        let _reader = AbortOnDropHandle::new(tokio::spawn(async move {
            source.read(shard, start_at, tx).await
        }));
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
                    Some(Fetched::Batch(batch)) => {
                        let records: Vec<Record> = deaggregate(&self.shard_id, batch.records, lease.hash_range)
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
                    None => return Ok(SessionEnd::Retry("the record reader stopped".into())),
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
        sink: &mut LeaseSink<T>,
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
    /// not read before the child's: this WARN names that parent
    /// (`docs/leases.md`, "Child leases").
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

fn position(r: &Record) -> ExtendedSequenceNumber {
    ExtendedSequenceNumber::new(
        SequenceNumber::parse(&r.sequence_number).unwrap_or(SequenceNumber::TrimHorizon),
        r.sub_sequence_number,
    )
}

/// The first iterator for a checkpoint (`docs/retrieval.md`, "Start position"): a numeric
/// checkpoint is re-read with `AT_SEQUENCE_NUMBER` and the checkpointed record filtered out
/// locally.
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::child::scripted::{Behaviour, Scripted};
    use crate::lease::memory::MemoryLeaseTable;
    use crate::lease::{trim_horizon, Written};
    use crate::retrieval::fake::{shard_id, FakeKinesis};
    use crate::retrieval::polling::{Polling, PollingSettings};
    use crate::testkit::{ms, Timeline};
    use tokio::time::Instant;

    struct Shard {
        timeline: Timeline,
        table: MemoryLeaseTable,
        kinesis: FakeKinesis,
    }

    impl Shard {
        fn new() -> Shard {
            let timeline = Timeline::new();
            let table = MemoryLeaseTable::new("app").observe({
                let timeline = timeline.clone();
                move |line| timeline.push(line)
            });
            Shard {
                kinesis: FakeKinesis::new(1, &timeline),
                table,
                timeline,
            }
        }

        /// Takes `lease` as worker `w1` and runs its consumer with children that behave as
        /// `behaviour`.
        async fn consume(&self, lease: Lease, behaviour: Behaviour) -> ShardOutcome {
            self.table.put(lease.clone());
            let Written::Ok { counter } = self.table.take(&lease, "w1").await.unwrap() else {
                panic!("not taken")
            };
            let lease = Lease {
                counter,
                owner: Some("w1".into()),
                ..lease
            };
            let consumer = ShardConsumer {
                shard_id: lease.key.clone(),
                held: HeldLease::new(lease, Instant::now()),
                table: self.table.clone(),
                source: Polling::new(
                    self.kinesis.clone(),
                    PollingSettings {
                        max_records: 10,
                        idle_between_reads: ms(200),
                        reduced_tps_below: None,
                        keep_empty_batches: false,
                        epoch: Instant::now(),
                    },
                ),
                me: "w1".into(),
                spec: ChildSpec {
                    launcher: Arc::new(Scripted::new(behaviour, &self.timeline)),
                    timeout: None,
                    exit_grace: Duration::from_secs(5),
                    slow_after: None,
                },
                settings: ShardSettings {
                    deliver_within: Duration::from_secs(3600),
                    call_process_records_even_for_empty_record_list: false,
                    parent_shard_poll_interval: Duration::from_secs(10),
                    at_timestamp: None,
                    task_backoff: ms(500),
                },
                shutdown: CancellationToken::new(),
                handover_wait: None,
            };
            consumer.run().await
        }
    }

    fn at(seq: &str) -> ExtendedSequenceNumber {
        ExtendedSequenceNumber::new(SequenceNumber::parse(seq).unwrap(), 0)
    }

    #[tokio::test(start_paused = true)]
    async fn records_up_to_the_checkpoint_are_not_delivered_again() {
        let shard = Shard::new();
        shard.kinesis.put(&shard_id(0), 5, 10);
        shard.kinesis.split(&shard_id(0), &["shardId-000000000009"]);
        let outcome = shard
            .consume(Lease::new(shard_id(0), at("101")), Behaviour::default())
            .await;
        assert_eq!(outcome, ShardOutcome::Finished);
        assert_eq!(
            shard.timeline.matching("child shardId-000000000000 #1 got"),
            [
                "child shardId-000000000000 #1 got initialize 101",
                "child shardId-000000000000 #1 got processRecords 102..104",
                "child shardId-000000000000 #1 got shardEnded",
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn at_shard_end_the_children_get_leases_before_the_shard_is_finished() {
        let shard = Shard::new();
        shard.kinesis.put(&shard_id(0), 3, 10);
        let children = ["shardId-000000000001", "shardId-000000000002"];
        shard.kinesis.split(&shard_id(0), &children);
        let outcome = shard
            .consume(
                Lease::new(shard_id(0), trim_horizon()),
                Behaviour::default(),
            )
            .await;
        assert_eq!(outcome, ShardOutcome::Finished);
        let events = shard.timeline.matching("");
        let created = events
            .iter()
            .position(|e| e == "table create shardId-000000000002 -> true");
        let ended = events
            .iter()
            .position(|e| e == "child shardId-000000000000 #1 got shardEnded");
        assert!(
            created < ended && created.is_some(),
            "{}",
            shard.timeline.dump()
        );
        let parent = shard.table.lease(&shard_id(0)).unwrap();
        assert!(parent.checkpoint.is_shard_end());
        assert_eq!(parent.child_shard_ids, children);
        let child = shard.table.lease(children[0]).unwrap();
        assert_eq!(
            (child.owner, child.parent_shard_ids, child.checkpoint),
            (None, vec![shard_id(0)], trim_horizon())
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_child_that_does_not_checkpoint_at_shard_end_is_restarted_and_the_shard_stays_open() {
        let shard = Shard::new();
        shard.kinesis.put(&shard_id(0), 3, 10);
        shard.kinesis.split(&shard_id(0), &["shardId-000000000001"]);
        let consuming = shard.consume(
            Lease::new(shard_id(0), trim_horizon()),
            Behaviour {
                skip_shard_end_checkpoint: true,
                ..Behaviour::default()
            },
        );
        let outcome = tokio::time::timeout(Duration::from_secs(10), consuming).await;
        assert!(outcome.is_err(), "never finishes: {outcome:?}");
        let restarts = shard
            .timeline
            .matching("child shardId-000000000000 #3 got shardEnded");
        assert_eq!(restarts.len(), 1, "{}", shard.timeline.dump());
        assert!(!shard
            .table
            .lease(&shard_id(0))
            .unwrap()
            .checkpoint
            .is_shard_end());
    }

    #[tokio::test(start_paused = true)]
    async fn a_shard_starts_only_once_its_parent_has_finished() {
        let shard = Shard::new();
        shard.kinesis.put(&shard_id(0), 2, 10);
        shard.kinesis.split(&shard_id(0), &["shardId-000000000008"]);
        shard.table.put(Lease::new("shardId-000000000007", at("5")));
        let parent_done = {
            let table = shard.table.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(25)).await;
                table.update("shardId-000000000007", |l| {
                    l.checkpoint = ExtendedSequenceNumber::shard_end()
                });
            }
        };
        let lease = Lease {
            parent_shard_ids: vec!["shardId-000000000007".into()],
            ..Lease::new(shard_id(0), trim_horizon())
        };
        let consuming = shard.consume(lease, Behaviour::default());
        let (outcome, ()) = tokio::join!(consuming, parent_done);
        assert_eq!(outcome, ShardOutcome::Finished);
        // The parent is read every parentShardPollIntervalMillis (10 s): found finished at 30 s.
        assert_eq!(
            shard
                .timeline
                .first("child shardId-000000000000 #1 started"),
            Some(ms(30_000)),
            "{}",
            shard.timeline.dump()
        );
    }
}

//! The Kinesis worker: `kcl-bridge app.properties`. Keeps leases in the application's DynamoDB
//! table the way a KCL 2.x worker does (and a Java 3.x worker in
//! `CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X` mode), and runs one [`shard::ShardConsumer`] per
//! held lease (`docs/leases.md`).
//!
//! One coordinator task owns the lease loop: renewals every `failoverTimeMillis / 3`, taking and
//! stealing every taker period (and at once at start), shard sync every
//! `shardSyncIntervalMillis`. Consumers never decide leases; the coordinator never blocks on a
//! shard. Graceful shutdown asks every child to checkpoint, releases every lease, and waits up to
//! the grace period before killing what is left.

pub mod held;
pub mod shard;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, info_span, warn, Instrument};

use crate::aws::{self, AwsSetupError};
use crate::child::ChildSpec;
use crate::config::{Config, InitialPosition};
use crate::lease::dynamo::DynamoLeaseTable;
use crate::lease::{self, ExpiryTracker, Lease, LeaseTable, OtherRow, TableError, Written};
use crate::retrieval::kinesis::KinesisStream;
use crate::retrieval::polling::{Polling, PollingSettings};
use crate::retrieval::{KinesisError, RecordSource, ShardDescription};
use held::HeldLease;
use shard::{ShardConsumer, ShardOutcome, ShardSettings};

/// Why the worker stopped with an error. Each is fatal: retrying cannot help.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Aws(#[from] AwsSetupError),
    #[error("lease table {table}: {source}")]
    LeaseTable {
        table: String,
        #[source]
        source: TableError,
    },
    #[error("stream {stream}: {source}")]
    Stream {
        stream: String,
        #[source]
        source: KinesisError,
    },
    #[error("gave up after {attempts} attempts to initialize: {last}")]
    InitializationFailed { attempts: u32, last: String },
    #[error(
        "the lease table {table} belongs to a KCL 3.x application (client version {client_version}) and the Java \
         worker {worker} is still running (its worker-metrics row keeps being updated). kcl-bridge speaks the KCL 2.x \
         lease protocol and would steal that worker's leases, so it takes none: stop the Java 3.x workers first \
         (stop-and-switch), or run the Java workers with clientVersionConfig = CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X"
    )]
    Java3xWorkerRunning {
        table: String,
        client_version: String,
        worker: String,
    },
    #[error("shard {shard}: {reason}")]
    ShardFatal { shard: String, reason: String },
    #[error("workerId: {0}; choose another workerId")]
    BadWorkerId(lease::ReservedWorkerId),
    #[error(
        "the lease table {table} holds multi-stream leases (such as {key:?}), written by a KCL \
         application that consumes several streams. The MultiLang daemon, and kcl-bridge, consume one \
         stream with leases keyed by shard id alone, so sharing this table would start a second, \
         parallel set of leases for the same shards: give this application its own table \
         (applicationName or leaseTableName)"
    )]
    MultiStreamTable { table: String, key: String },
}

/// How many times start-up is tried before giving up (Java: 20, then exit 0; we exit 1).
const INIT_ATTEMPTS: u32 = 10;

/// ListShards' shards as the lease rules take them.
fn lease_shards(shards: &[ShardDescription]) -> Vec<lease::Shard> {
    shards
        .iter()
        .map(|s| lease::Shard {
            id: s.id.clone(),
            parent: s.parent.clone(),
            adjacent_parent: s.adjacent_parent.clone(),
            hash_range: s.hash_range,
            starting_sequence_number: s.starting_sequence_number.clone(),
            closed: s.ending_sequence_number.is_some(),
        })
        .collect()
}

struct Running {
    held: HeldLease,
    /// `None` once the shard finished: the lease is still held (and renewed) as Java does.
    task: Option<JoinHandle<ShardOutcome>>,
    last_renewed: Instant,
}

/// Runs the worker until `shutdown` resolves (then shuts down gracefully) or a fatal error:
/// the lease table in DynamoDB, records polled from Kinesis, the configured record processor.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), WorkerError> {
    // Without a workerId, a random one (`Config::startup_notices` says so at start).
    let me = config
        .worker_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let clients = aws::clients(&config).await?;
    let table = DynamoLeaseTable::new(clients.dynamodb, config.lease_table_name())
        .with_scan_segments(config.lease.lease_table_scan_total_segments.unwrap_or(1));
    let kinesis = KinesisStream::new(clients.kinesis, config.stream_name.clone())
        .with_direct(clients.direct_get_records)
        .with_list_shards_retry(
            config.lease.list_shards_backoff_time,
            config.lease.max_list_shards_retry_attempts,
        );
    let source = Polling::new(kinesis, polling_settings(&config));
    let spec = ChildSpec::from_config(&config);
    run_with(Arc::new(config), me, table, source, spec, shutdown).await
}

/// What the polling keys say, for [`Polling`].
fn polling_settings(config: &Config) -> PollingSettings {
    PollingSettings {
        max_records: config.max_records,
        // At least 200 ms: the configuration raises a lower value.
        idle_between_reads: config.polling.idle_time_between_reads,
        reduced_tps_below: config
            .polling
            .millis_behind_latest_threshold_for_reduced_tps,
        keep_empty_batches: config.call_process_records_even_for_empty_record_list,
        epoch: Instant::now(),
    }
}

/// [`run`] as worker `me`, with the lease table, record source and children given.
pub async fn run_with<T: LeaseTable, R: RecordSource>(
    config: Arc<Config>,
    me: String,
    table: T,
    source: R,
    spec: ChildSpec,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), WorkerError> {
    let token = CancellationToken::new();
    let mut coordinator = Coordinator {
        settings: ShardSettings {
            deliver_within: lease::delivery_window(config.lease.failover_time),
            call_process_records_even_for_empty_record_list: config
                .call_process_records_even_for_empty_record_list,
            parent_shard_poll_interval: config.coordinator.parent_shard_poll_interval,
            at_timestamp: match config.initial_position {
                InitialPosition::AtTimestamp(t) => Some(t),
                _ => None,
            },
            task_backoff: config.lifecycle.task_backoff_time,
        },
        spec,
        config,
        me,
        table,
        source,
        running: HashMap::new(),
        consumers: TaskTracker::new(),
        expiry: ExpiryTracker::new(),
        shutdown: token,
        guard: Java3xGuard::default(),
        chooser: lease::RandomChooser::from_entropy(),
        quick_scan_useful: true,
    };
    info!(worker_id = %coordinator.me, table = %coordinator.table.name(), stream = %coordinator.source.stream_name(), "starting");
    coordinator.initialize().await?;
    let outcome = coordinator.main_loop(shutdown).await;
    coordinator.shut_down().await;
    outcome
}

struct Coordinator<T, R> {
    config: Arc<Config>,
    me: String,
    table: T,
    source: R,
    spec: ChildSpec,
    settings: ShardSettings,
    running: HashMap<String, Running>,
    /// Every shard consumer task, so that shutdown can wait for them all.
    consumers: TaskTracker,
    expiry: ExpiryTracker,
    shutdown: CancellationToken,
    guard: Java3xGuard,
    chooser: lease::RandomChooser,
    /// Whether some lease may be one this worker does not hold: set from every scan
    /// ([`lease::others_hold_or_free`]), and set on any event that makes such a lease since (a
    /// lease created, a shard ended, a lease lost). Only then does each renewal tick scan for
    /// released leases.
    quick_scan_useful: bool,
}

impl<T: LeaseTable, R: RecordSource> Coordinator<T, R> {
    fn failover(&self) -> Duration {
        self.config.lease.failover_time
    }

    /// Creates the table if needed, checks the stream, and creates leases for its shards.
    /// Retries what can succeed later (endpoint down, throttling) with back-off.
    async fn initialize(&mut self) -> Result<(), WorkerError> {
        let mut backoff = self
            .config
            .coordinator
            .scheduler_initialization_backoff_time
            .max(Duration::from_millis(10));
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_initialize().await {
                Ok(()) => return Ok(()),
                Err(Retry::Fatal(e)) => return Err(e),
                Err(Retry::Later(why)) if attempt >= INIT_ATTEMPTS => {
                    return Err(WorkerError::InitializationFailed {
                        attempts: attempt,
                        last: why,
                    });
                }
                Err(Retry::Later(why)) => {
                    warn!(attempt, error = %why, retry_in = ?backoff, "initialization failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    async fn try_initialize(&mut self) -> Result<(), Retry> {
        // The stream first: a missing stream or a denied ListShards leaves no lease table behind.
        let shards = self
            .source
            .list_shards()
            .await
            .map_err(|e| self.stream_error(e))?;
        let created = self
            .table
            .ensure_table(
                self.config.lease.lease_table_deletion_protection_enabled,
                self.config.lease.lease_table_pitr_enabled,
            )
            .await
            .map_err(|e| self.table_error(e))?;
        let scan = self.table.scan().await.map_err(|e| self.table_error(e))?;
        let keys = scan.leases.iter().map(|l| l.key.as_str());
        if let Some(reason) = lease::reserved_worker_id(&self.me, keys) {
            return Err(Retry::Fatal(WorkerError::BadWorkerId(reason)));
        }
        if let Some(lease) = scan
            .leases
            .iter()
            .find(|l| lease::is_multi_stream_lease_key(&l.key))
        {
            return Err(Retry::Fatal(WorkerError::MultiStreamTable {
                table: self.table.name().to_owned(),
                key: lease.key.clone(),
            }));
        }
        let empty = created || scan.leases.is_empty();
        if empty
            || !self
                .config
                .coordinator
                .skip_shard_sync_at_worker_initialization_if_leases_exist
        {
            self.sync_shards(&lease_shards(&shards), &scan.leases, empty)
                .await
                .map_err(|e| self.table_error(e))?;
        }
        Ok(())
    }

    fn table_error(&self, e: TableError) -> Retry {
        match e {
            TableError::Throttled(_) | TableError::Other(_) => Retry::Later(e.to_string()),
            TableError::TableMissing(_) | TableError::AccessDenied(_) => {
                Retry::Fatal(WorkerError::LeaseTable {
                    table: self.table.name().to_owned(),
                    source: e,
                })
            }
        }
    }

    fn stream_error(&self, e: KinesisError) -> Retry {
        if e.is_retryable() {
            Retry::Later(e.to_string())
        } else {
            Retry::Fatal(WorkerError::Stream {
                stream: self.source.stream_name().to_owned(),
                source: e,
            })
        }
    }

    /// Creates leases for shards that have none (`docs/leases.md`, "Shard sync").
    async fn sync_shards(
        &mut self,
        shards: &[lease::Shard],
        leases: &[Lease],
        table_empty: bool,
    ) -> Result<(), TableError> {
        // Skipped by the sync below; Java's default aborts the whole sync instead.
        let caught_mid_reshard = if table_empty {
            Vec::new()
        } else {
            lease::inconsistent_shards(shards)
        };
        if !caught_mid_reshard.is_empty() {
            let why = "shards listed open under a parent that is open too (a shard list caught mid-reshard): no lease for them in this sync; the next sync lists the shards again";
            if self.config.lease.ignore_unexpected_child_shards {
                debug!(shards = ?caught_mid_reshard, "{why}");
            } else {
                info!(shards = ?caught_mid_reshard, "{why}");
            }
        }
        for new in
            lease::leases_to_create(shards, leases, &self.config.initial_position, table_empty)
        {
            if self.table.create_if_absent(&new).await? {
                info!(lease = %new.key, checkpoint = %new.checkpoint, "created lease");
                // Unowned now, and not in the scan the flag came from.
                self.quick_scan_useful = true;
            }
        }
        Ok(())
    }

    async fn main_loop(&mut self, shutdown: impl Future<Output = ()>) -> Result<(), WorkerError> {
        let renew_every = lease::renewal_period(self.failover());
        let take_every = lease::taker_period(self.failover());
        let mut renew = tokio::time::interval(renew_every);
        let mut take = tokio::time::interval(take_every);
        let mut sync = tokio::time::interval(self.config.lease.shard_sync_interval);
        sync.tick().await; // the first sync ran at start
        renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        take.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // A sync's ListShards runs as a task of its own: a throttled one is tried again for up to
        // `maxListShardsRetryAttempts × listShardsBackoffTimeInMillis`, and renewals must not wait
        // for it. Its answer comes back here.
        let (listed_tx, mut listed_rx) = tokio::sync::mpsc::channel(1);
        let mut listing = false;
        tokio::pin!(shutdown);
        loop {
            // In this order when several are due at once (at start: renewals, then the taker), so
            // that a run's timeline does not depend on chance.
            tokio::select! {
                biased;
                () = &mut shutdown => {
                    info!("shutting down: asking every record processor to checkpoint, then releasing the leases");
                    return Ok(());
                }
                _ = renew.tick() => {
                    self.renew_all().await;
                    if self.quick_scan_useful {
                        self.take_leases(true).await?;
                    }
                }
                _ = take.tick() => self.take_leases(false).await?,
                _ = sync.tick() => {
                    if listing {
                        debug!("shard sync skipped: the last one's ListShards has not answered yet");
                    } else {
                        listing = true;
                        let (source, tx) = (self.source.clone(), listed_tx.clone());
                        tokio::spawn(
                            async move {
                                if tx.send(source.list_shards().await).await.is_err() {
                                    debug!("the shard sync's ListShards answered after the worker stopped");
                                }
                            }
                            .in_current_span(),
                        );
                    }
                }
                Some(listed) = listed_rx.recv() => {
                    listing = false;
                    match listed {
                        Ok(shards) => match self.table.scan().await {
                            Ok(scan) => {
                                self.quick_scan_useful = lease::others_hold_or_free(&self.me, &scan.leases);
                                let shards = lease_shards(&shards);
                                if let Err(e) = self.sync_shards(&shards, &scan.leases, scan.leases.is_empty()).await {
                                    warn!(error = %e, "shard sync failed");
                                }
                                self.clean_up_finished(&scan.leases, &shards).await;
                            }
                            Err(e) => warn!(error = %e, "shard sync: lease scan failed"),
                        },
                        Err(e) => warn!(error = %e, "shard sync: ListShards failed"),
                    }
                }
            }
            self.reap().await?;
        }
    }

    /// Deletes the finished leases this worker holds once every child shard has begun and no
    /// parent lease is left (`lease::cleanup`), unless `cleanupLeasesUponShardCompletion` is
    /// false. `leases` is the scan the shard sync read, `shards` its ListShards: a finished lease
    /// that names no children (written by an old Java worker) gets them from there, as Java does.
    async fn clean_up_finished(&mut self, leases: &[Lease], shards: &[lease::Shard]) {
        if !self.config.lease.cleanup_leases_upon_shard_completion {
            return;
        }
        let finished: Vec<String> = self
            .running
            .iter()
            .filter(|(_, r)| r.task.is_none() && !r.held.is_lost())
            .map(|(k, _)| k.clone())
            .collect();
        for key in finished {
            let Some(mut lease) = leases.iter().find(|l| l.key == key).cloned() else {
                continue;
            };
            if lease.checkpoint.is_shard_end() && lease.child_shard_ids.is_empty() {
                let children = lease::children_of(&key, shards);
                if !children.is_empty() {
                    if let Err(e) = self.table.set_child_shards(&key, &children).await {
                        warn!(lease = %key, error = %e, "cannot record the finished shard's children");
                        continue;
                    }
                    lease.child_shard_ids = children;
                }
            }
            let why = if lease::finished_shard_gone(&lease, shards) {
                "its shard no longer exists"
            } else if let Err(keep) = lease::finished_lease_deletable(&lease, leases) {
                debug!(lease = %key, reason = %keep, "keeping the finished lease");
                continue;
            } else {
                "every child shard has begun"
            };
            match self.table.delete_finished(&key).await {
                Ok(true) => {
                    info!(lease = %key, why, "deleted the finished shard's lease");
                    self.running.remove(&key);
                    self.expiry.forget(&key);
                }
                // Gone or no longer finished: the next renewal finds out and lets it go.
                Ok(false) => {}
                Err(e) => {
                    warn!(lease = %key, error = %e, "deleting the finished lease failed; trying again at the next shard sync")
                }
            }
        }
    }

    async fn renew_all(&mut self) {
        let failover = self.failover();
        let now = Instant::now();
        for (key, r) in &mut self.running {
            if r.held.is_lost() {
                continue;
            }
            match r.held.renew(&self.table, &self.me).await {
                Ok(true) => {
                    r.last_renewed = Instant::now();
                    let counter = r.held.snapshot().await.counter;
                    self.expiry.renewed(key, counter, now.into_std());
                }
                Ok(false) => {}
                Err(e) => {
                    warn!(lease = %key, error = %e, "renewal failed");
                    if now.duration_since(r.last_renewed) > failover {
                        warn!(lease = %key, "not renewed for failoverTimeMillis: treating the lease as lost");
                        r.held.lost().cancel();
                    }
                }
            }
        }
    }

    /// One taker run: reclaim our own leases, take available ones, steal toward an even share.
    /// With `only_unowned`, takes released (ownerless) leases only: run at every renewal tick so
    /// a lease another worker released on shutdown is picked up at once, without stealing faster
    /// than Java does.
    async fn take_leases(&mut self, only_unowned: bool) -> Result<(), WorkerError> {
        let scan = match self.table.scan().await {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "lease scan failed; skipping this taker run");
                return Ok(());
            }
        };
        let now = Instant::now().into_std();
        self.expiry.observe(&scan.leases, now);
        self.quick_scan_useful = lease::others_hold_or_free(&self.me, &scan.leases);
        // The Java 3.x guard: KCL 3.5 keeps its metadata in the lease table, KCL 3.0–3.4 in two
        // tables of their own; read both on full runs, reuse the verdict on the fast path.
        if only_unowned {
            if !self.guard.last_verdict {
                return Ok(());
            }
        } else {
            let mut rows = scan.other_rows.clone();
            match self
                .table
                .scan_legacy_metadata(
                    &self.config.coordinator_state_table_name(),
                    &self.config.worker_metrics_table_name(),
                )
                .await
            {
                Ok(legacy) => rows.extend(legacy),
                Err(e) => {
                    warn!(error = %e, "cannot read the KCL 3.x metadata tables; taking nothing this run");
                    self.guard.last_verdict = false;
                    return Ok(());
                }
            }
            let verdict = self
                .guard
                .allows_taking(&rows, &self.config, self.table.name())?;
            self.guard.last_verdict = verdict;
            if !verdict {
                return Ok(());
            }
        }
        let mut to_take: Vec<Lease> = scan
            .leases
            .iter()
            .filter(|l| {
                l.owner.as_deref() == Some(self.me.as_str()) && !self.running.contains_key(&l.key)
            })
            .cloned()
            .collect();
        let observed = self.expiry.observed(&scan.leases, self.failover(), now);
        let plan = lease::compute_leases_to_take(
            &self.me,
            &observed,
            &lease::TakerSettings::from(&self.config.lease),
            &mut self.chooser,
        );
        match &plan.action {
            lease::TakeAction::Steal { victim, leases } if !only_unowned => {
                info!(victim = %victim, count = leases.len(), target = plan.target, "stealing toward an even share")
            }
            _ => {}
        }
        for l in plan.action.leases() {
            if only_unowned && l.owner.is_some() {
                continue;
            }
            if !self.running.contains_key(&l.key) && !to_take.iter().any(|t| t.key == l.key) {
                to_take.push((*l).clone());
            }
        }
        let handover_waits: HashMap<&str, Duration> = observed
            .iter()
            .filter_map(|o| {
                Some((
                    o.lease.key.as_str(),
                    o.handover_wait(&self.me, self.failover())?,
                ))
            })
            .collect();
        for mut l in to_take {
            let handover_wait = handover_waits.get(l.key.as_str()).copied();
            let sent = Instant::now();
            match self.table.take(&l, &self.me).await {
                Ok(Written::Ok { counter }) => {
                    match handover_wait {
                        Some(wait) => info!(
                            lease = %l.key, previous_owner = ?l.owner, record_processor_starts_in = ?wait,
                            "took lease from a worker that still renews it: its record processor starts after \
                             failoverTimeMillis, when that worker has let go, so no record is in both at once"
                        ),
                        None => info!(lease = %l.key, previous_owner = ?l.owner, "took lease"),
                    }
                    l.counter = counter;
                    l.owner = Some(self.me.clone());
                    l.checkpoint_owner = None;
                    self.expiry.renewed(&l.key, counter, now);
                    self.start_consumer(l, sent, handover_wait);
                }
                Ok(Written::Lost { seen }) => {
                    info!(lease = %l.key, expected_counter = l.counter, seen = ?seen, "another worker changed the lease first; not taken")
                }
                Err(e) => warn!(lease = %l.key, error = %e, "taking the lease failed"),
            }
        }
        Ok(())
    }

    /// Starts the shard's consumer under a lease just taken; `handover_wait`: how long its
    /// record processor must wait for the previous owner to let go.
    fn start_consumer(&mut self, lease: Lease, taken_at: Instant, handover_wait: Option<Duration>) {
        let key = lease.key.clone();
        let held = HeldLease::new(lease, taken_at);
        let consumer = ShardConsumer {
            shard_id: key.clone(),
            held: held.clone(),
            table: self.table.clone(),
            source: self.source.clone(),
            me: self.me.clone(),
            spec: self.spec.clone(),
            settings: self.settings.clone(),
            shutdown: self.shutdown.child_token(),
            handover_wait,
        };
        let span = info_span!("shard", shard_id = %key);
        let task = self.consumers.spawn(consumer.run().instrument(span));
        self.running.insert(
            key,
            Running {
                held,
                task: Some(task),
                last_renewed: Instant::now(),
            },
        );
    }

    /// Collects consumers that ended.
    async fn reap(&mut self) -> Result<(), WorkerError> {
        let done: Vec<String> = self
            .running
            .iter()
            .filter(|(_, r)| {
                r.task.as_ref().is_some_and(JoinHandle::is_finished)
                    || (r.task.is_none() && r.held.is_lost())
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in done {
            let Some(mut r) = self.running.remove(&key) else {
                continue;
            };
            let outcome = match r.task.take() {
                Some(task) => task.await.unwrap_or_else(|e| {
                    ShardOutcome::Fatal(format!("the shard task panicked: {e}"))
                }),
                None => ShardOutcome::LeaseLost,
            };
            match outcome {
                ShardOutcome::Finished => {
                    // Keep holding the finished lease (Java does, until cleanup deletes it).
                    self.running.insert(key, r);
                    // The shard's end created its child leases, unowned: take them at the next
                    // renewal tick, not the next full taker run.
                    self.quick_scan_useful = true;
                }
                ShardOutcome::LeaseLost => {
                    // Another worker holds it now, and may release it.
                    self.quick_scan_useful = true;
                    self.expiry.forget(&key);
                    info!(lease = %key, "no longer processing the shard: lease lost");
                }
                ShardOutcome::ShutDown => {}
                ShardOutcome::Fatal(reason) => {
                    return Err(WorkerError::ShardFatal { shard: key, reason })
                }
            }
        }
        Ok(())
    }

    /// Graceful shutdown within the grace period: children checkpoint, leases are released.
    async fn shut_down(&mut self) {
        self.shutdown.cancel();
        let grace = match self.config.shutdown_grace {
            Duration::ZERO => crate::config::DEFAULT_SHUTDOWN_GRACE,
            g => g,
        };
        let deadline = Instant::now() + grace;
        let mut renew = tokio::time::interval(lease::renewal_period(self.failover()));
        renew.tick().await;
        // Every consumer ends on its own once it sees the shutdown (it asks its child to
        // checkpoint, then releases its lease): wait for all of them, up to the grace period.
        self.consumers.close();
        let consumers = self.consumers.clone();
        loop {
            tokio::select! {
                () = consumers.wait() => break,
                () = tokio::time::sleep_until(deadline) => {
                    let pending: Vec<&String> = self
                        .running
                        .iter()
                        .filter(|(_, r)| r.task.as_ref().is_some_and(|t| !t.is_finished()))
                        .map(|(k, _)| k)
                        .collect();
                    warn!(?pending, "grace period over: stopping the remaining record processors");
                    break;
                }
                // Keep the leases alive while children finish their last exchange.
                _ = renew.tick() => self.renew_all().await,
            }
        }
        for (key, r) in self.running.drain() {
            if let Some(task) = r.task {
                task.abort();
            }
            if !r.held.is_lost() {
                r.held.release(&self.table, &self.me).await;
            }
            info!(lease = %key, "stopped");
        }
    }
}

enum Retry {
    Later(String),
    Fatal(WorkerError),
}

/// Stop-and-switch from Java KCL 3.x (`docs/leases.md`, "Java 3.x"): on a table whose client
/// version is 3.x, take nothing while a Java worker still updates its worker-metrics row (`lut`);
/// exit if one is still being updated two reporting periods after we started; take over once no
/// row has changed for two periods (a stopped worker's row stops changing).
#[derive(Default)]
struct Java3xGuard {
    started: Option<Instant>,
    /// Worker-metrics rows: key → (last `lut` seen, when we last saw it change).
    seen: HashMap<String, (Option<i64>, Option<Instant>)>,
    warned: bool,
    /// The verdict of the last full evaluation (false until the first one).
    last_verdict: bool,
}

impl Java3xGuard {
    fn allows_taking(
        &mut self,
        rows: &[OtherRow],
        config: &Config,
        table: &str,
    ) -> Result<bool, WorkerError> {
        let Some(cv) = rows
            .iter()
            .find(|r| r.key == "Migration3.0")
            .and_then(|r| r.client_version.clone())
            .filter(|cv| cv == "CLIENT_VERSION_3X" || cv == "CLIENT_VERSION_3X_WITH_ROLLBACK")
        else {
            return Ok(true);
        };
        let now = Instant::now();
        let started = *self.started.get_or_insert(now);
        let two_periods = config.worker_utilization.worker_metrics_reporter_freq * 2;
        let mut live: Option<(String, Instant)> = None;
        for r in rows
            .iter()
            .filter(|r| r.entity_type.as_deref() == Some("WORKER_METRIC_STATS"))
        {
            let entry = self
                .seen
                .entry(r.key.clone())
                .or_insert((r.last_update, None));
            if entry.0 != r.last_update {
                *entry = (r.last_update, Some(now));
            }
            if let Some(changed) = entry.1 {
                if now.duration_since(changed) < two_periods
                    && live.as_ref().is_none_or(|(_, t)| changed > *t)
                {
                    live = Some((r.key.clone(), changed));
                }
            }
        }
        if let Some((worker, changed)) = live {
            if changed >= started + two_periods {
                return Err(WorkerError::Java3xWorkerRunning {
                    table: table.to_owned(),
                    client_version: cv,
                    worker,
                });
            }
            warn!(worker = %worker, client_version = %cv, "a Java KCL 3.x worker is still running on this application; taking no lease");
            return Ok(false);
        }
        // A stopped worker's row looks like a live one until a reporting period shows it is not
        // updated any more.
        if now.duration_since(started) < two_periods && !self.seen.is_empty() {
            info!("KCL 3.x application: waiting up to two worker-metrics periods to see whether its Java workers are still running");
            return Ok(false);
        }
        if !self.warned {
            self.warned = true;
            warn!(
                client_version = %cv,
                "taking over a KCL 3.x application whose Java workers are stopped. Do not start Java 3.x workers on it \
                 while kcl-bridge runs: kcl-bridge uses the KCL 2.x lease protocol (3.x follower mode is not built yet)"
            );
        }
        Ok(true)
    }
}

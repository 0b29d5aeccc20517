//! The worker's timelines, exactly: the whole worker (`run_with`) on paused time, with the
//! in-memory lease table, a fake Kinesis stream and in-process children, each writing what
//! happens to one [`Timeline`]. The same behaviours are tested end to end against moto in
//! `tests/it/worker.rs`; here each timing rule is checked to the millisecond.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::*;
use crate::child::scripted::{Behaviour, Scripted};
use crate::lease::memory::MemoryLeaseTable;
use crate::lease::trim_horizon;
use crate::retrieval::fake::{shard_id, FakeKinesis};
use crate::testkit::{ms, Timeline};

const ME: &str = "w1";
const OTHER: &str = "w2";

/// The configuration of the tests' worker, with `extra` properties lines.
fn config(extra: &str) -> Arc<Config> {
    let text = format!(
        "executableName = fake\napplicationName = app\nstreamName = stream\n\
         AwsCredentialsProvider = DefaultCredentialsProvider\nworkerId = {ME}\n\
         initialPositionInStream = TRIM_HORIZON\n{extra}"
    );
    match crate::config::parse(Path::new("test.properties"), text.as_bytes()) {
        Ok(loaded) => Arc::new(loaded.config),
        Err(e) => panic!("{e}"),
    }
}

/// One worker under test and its world.
struct World {
    timeline: Timeline,
    table: MemoryLeaseTable,
    kinesis: FakeKinesis,
}

impl World {
    fn new(shards: usize) -> World {
        let timeline = Timeline::new();
        let table = MemoryLeaseTable::new("app").observe({
            let timeline = timeline.clone();
            move |line| timeline.push(line)
        });
        World {
            kinesis: FakeKinesis::new(shards, &timeline),
            table,
            timeline,
        }
    }

    /// Starts the worker with `config` and children that behave as `behaviour`; it shuts down
    /// when `stop` resolves.
    fn start(
        &self,
        config: Arc<Config>,
        behaviour: Behaviour,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<Result<(), WorkerError>> {
        let source = Polling::new(self.kinesis.clone(), polling_settings(&config));
        let spec = ChildSpec {
            launcher: Arc::new(Scripted::new(behaviour, &self.timeline)),
            ..ChildSpec::from_config(&config)
        };
        let (table, timeline) = (self.table.clone(), self.timeline.clone());
        tokio::spawn(async move {
            let result = run_with(config, ME.to_owned(), table, source, spec, stop).await;
            timeline.push(format!("worker stopped: {result:?}"));
            result
        })
    }

    /// A lease owned by `owner` at `counter`, put there by another worker.
    fn lease_of(&self, shard: usize, owner: Option<&str>, counter: u64) {
        self.table.put(Lease {
            owner: owner.map(str::to_owned),
            counter,
            ..Lease::new(shard_id(shard), trim_horizon())
        });
    }

    /// Plays a live worker `OTHER`: renews every lease it owns every 3 s, as long as the test
    /// runs.
    fn keep_other_alive(&self) -> JoinHandle<()> {
        let table = self.table.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(3)).await;
                for lease in table.leases() {
                    if lease.owner.as_deref() == Some(OTHER) {
                        table.update(&lease.key, |l| l.counter += 1);
                    }
                }
            }
        })
    }

    fn dump(&self) -> String {
        self.timeline.dump()
    }
}

/// The gaps between consecutive times.
fn gaps(times: &[Duration]) -> Vec<Duration> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

fn never() -> impl Future<Output = ()> + Send + 'static {
    std::future::pending()
}

fn after(d: Duration) -> impl Future<Output = ()> + Send + 'static {
    tokio::time::sleep(d)
}

#[tokio::test(start_paused = true)]
async fn a_held_lease_is_renewed_every_third_of_the_failover_time_less_25_ms() {
    let world = World::new(1);
    let worker = world.start(config(""), Behaviour::default(), never());
    tokio::time::sleep(Duration::from_secs(12)).await;
    let renewals = world
        .timeline
        .times_of("table renew shardId-000000000000 by w1 -> ok");
    assert_eq!(renewals, [ms(3308), ms(6616), ms(9924)], "{}", world.dump());
    // Taken at start; its child started at once (nobody held it).
    assert_eq!(
        world
            .timeline
            .first("table take shardId-000000000000 by w1 -> ok"),
        Some(ms(0))
    );
    assert_eq!(
        world
            .timeline
            .first("child shardId-000000000000 #1 got initialize TRIM_HORIZON"),
        Some(ms(0))
    );
    worker.abort();
}

#[tokio::test(start_paused = true)]
async fn a_dead_workers_lease_is_taken_once_its_counter_stood_still_for_the_failover_time() {
    let world = World::new(1);
    world.lease_of(0, Some("dead"), 7);
    let worker = world.start(config(""), Behaviour::default(), never());
    // The first taker run (at 0) sees the counter for the first time: not expired yet. The next
    // full run, one taker period (2 × (10 s + 25 ms)) later, finds it unchanged for longer than
    // the failover time and takes it. The renewal ticks between take ownerless leases only.
    let taken = world
        .timeline
        .wait_for("table take shardId-000000000000 by w1 -> ok", ms(60_000))
        .await;
    assert_eq!(taken, ms(20_050), "{}", world.dump());
    // An expired lease's child starts at once: its owner is gone.
    assert_eq!(
        world
            .timeline
            .first("child shardId-000000000000 #1 got initialize"),
        Some(ms(20_050))
    );
    assert_eq!(
        world
            .table
            .lease(&shard_id(0))
            .unwrap()
            .owner_switches_since_checkpoint,
        1
    );
    worker.abort();
}

#[tokio::test(start_paused = true)]
async fn a_live_workers_lease_is_stolen_toward_an_even_share_and_its_child_starts_a_failover_time_later(
) {
    let world = World::new(2);
    world.lease_of(0, Some(OTHER), 1);
    world.lease_of(1, Some(OTHER), 1);
    let other = world.keep_other_alive();
    let worker = world.start(config(""), Behaviour::default(), never());
    tokio::time::sleep(Duration::from_secs(120)).await;
    let takes = world.timeline.matching("table take");
    assert_eq!(
        takes.len(),
        1,
        "one steal reaches the even share\n{}",
        world.dump()
    );
    let stolen = takes[0].split(' ').nth(2).unwrap_or_default().to_owned();
    assert_eq!(world.timeline.first("table take"), Some(ms(0)));
    // Its record processor starts only when the victim, which learns of the take at its next
    // renewal at the latest, has let go: one failover time after the take.
    assert_eq!(
        world
            .timeline
            .first(&format!("child {stolen} #1 got initialize")),
        Some(ms(10_000)),
        "{}",
        world.dump()
    );
    let owners: Vec<Option<String>> = world.table.leases().into_iter().map(|l| l.owner).collect();
    assert_eq!(
        owners.iter().filter(|o| o.as_deref() == Some(ME)).count(),
        1
    );
    other.abort();
    worker.abort();
}

#[tokio::test(start_paused = true)]
async fn a_released_lease_is_taken_at_the_next_renewal_tick() {
    let world = World::new(2);
    world.lease_of(0, Some(ME), 3);
    world.lease_of(1, Some(OTHER), 3);
    let other = world.keep_other_alive();
    let worker = world.start(config(""), Behaviour::default(), never());
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(world
        .timeline
        .matching("table take shardId-000000000001")
        .is_empty());
    // The other worker shuts down and releases its lease.
    other.abort();
    world.table.update(&shard_id(1), |l| {
        l.owner = None;
        l.counter += 1;
    });
    let taken = world
        .timeline
        .wait_for("table take shardId-000000000001 by w1 -> ok", ms(30_000))
        .await;
    // Renewal ticks come at multiples of 3308 ms; the first after 30 s is the tenth. A full
    // taker run would have come only at 40.1 s.
    assert_eq!(taken, ms(33_080), "{}", world.dump());
    assert_eq!(
        world
            .timeline
            .first("child shardId-000000000001 #1 got initialize"),
        Some(ms(33_080))
    );
    worker.abort();
}

#[tokio::test(start_paused = true)]
async fn a_failing_child_is_restarted_after_a_back_off_that_doubles_up_to_30_s() {
    let world = World::new(1);
    let worker = world.start(
        config(""),
        Behaviour {
            crash_on: Some("initialize"),
            ..Behaviour::default()
        },
        never(),
    );
    tokio::time::sleep(Duration::from_secs(150)).await;
    let starts: Vec<Duration> = world
        .timeline
        .events()
        .into_iter()
        .filter(|(_, e)| e.starts_with("child shardId-000000000000 #") && e.ends_with(" started"))
        .map(|(t, _)| t)
        .collect();
    // taskBackoffTimeMillis (500 ms) doubled after each failure, never beyond 30 s.
    assert_eq!(
        gaps(&starts),
        [
            ms(500),
            ms(1000),
            ms(2000),
            ms(4000),
            ms(8000),
            ms(16_000),
            ms(30_000),
            ms(30_000),
            ms(30_000)
        ],
        "{}",
        world.dump()
    );
    // The lease is kept all along: no other shard, and no lease, is affected.
    assert_eq!(
        world.table.lease(&shard_id(0)).unwrap().owner.as_deref(),
        Some(ME)
    );
    assert!(!worker.is_finished());
    worker.abort();
}

#[tokio::test(start_paused = true)]
async fn start_up_is_retried_with_a_doubling_back_off_and_given_up_after_ten_attempts() {
    let world = World::new(1);
    world.table.fail(
        "ensure_table",
        vec![TableError::Other("connection refused".into()); 10],
    );
    let worker = world.start(config(""), Behaviour::default(), never());
    let result = worker.await.unwrap();
    assert!(
        matches!(
            result,
            Err(WorkerError::InitializationFailed { attempts: 10, .. })
        ),
        "{result:?}"
    );
    let attempts = world.timeline.times_of("table ensure_table");
    // schedulerInitializationBackoffTimeMillis (1 s), doubled, at most 30 s.
    assert_eq!(
        gaps(&attempts),
        [
            ms(1000),
            ms(2000),
            ms(4000),
            ms(8000),
            ms(16_000),
            ms(30_000),
            ms(30_000),
            ms(30_000),
            ms(30_000)
        ]
    );
}

/// How many GetRecords a worker makes in ten minutes for a shard of `count` records of `size`
/// bytes, read `max_records` at a time, while its child never finishes its first batch.
async fn reads_while_the_child_is_stuck(count: usize, size: usize, max_records: u32) -> usize {
    let world = World::new(1);
    world.kinesis.put(&shard_id(0), count, size);
    let worker = world.start(
        config(&format!("maxRecords = {max_records}\n")),
        Behaviour {
            batch_time: Duration::from_secs(3600),
            ..Behaviour::default()
        },
        never(),
    );
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(
        world
            .timeline
            .matching("child shardId-000000000000 #1 got processRecords")
            .len(),
        1,
        "{}",
        world.dump()
    );
    worker.abort();
    world.timeline.matching("kinesis get_records").len()
}

#[tokio::test(start_paused = true)]
async fn a_slow_child_stops_the_reader_at_two_batches_or_8_mib_ahead() {
    // Small records: one batch at the child, two queued, and one read that waits for room.
    assert_eq!(reads_while_the_child_is_stuck(100, 10, 10).await, 4);
    // Batches of 5 MiB: one at the child; the second queued (5 MiB < 8 MiB, so one more read);
    // the third queued too (10 MiB); then no read until the child takes one.
    assert_eq!(reads_while_the_child_is_stuck(50, 1 << 20, 5).await, 3);
}

#[tokio::test(start_paused = true)]
async fn shutdown_asks_the_child_to_checkpoint_then_releases_the_lease_then_ends_the_child() {
    let world = World::new(1);
    world.kinesis.put(&shard_id(0), 3, 10);
    let worker = world.start(
        config(""),
        Behaviour {
            checkpoint_on_shutdown: true,
            ..Behaviour::default()
        },
        after(Duration::from_secs(5)),
    );
    worker.await.unwrap().unwrap();
    let order = [
        "child shardId-000000000000 #1 got processRecords 100..102",
        "child shardId-000000000000 #1 got shutdownRequested",
        "table checkpoint at 102 shardId-000000000000 by w1 -> ok",
        "child shardId-000000000000 #1 checkpoint -> ok",
        "table release shardId-000000000000 by w1 -> ok",
        "child shardId-000000000000 #1 got leaseLost",
        "child shardId-000000000000 #1 exited 0",
        "worker stopped: Ok(())",
    ];
    let events = world.timeline.events();
    let at: Vec<usize> = order
        .iter()
        .map(|o| {
            events
                .iter()
                .position(|(_, e)| e.starts_with(o))
                .unwrap_or_else(|| panic!("no {o:?}\n{}", world.dump()))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{}", world.dump());
    assert_eq!(world.timeline.first("worker stopped"), Some(ms(5000)));
    let lease = world.table.lease(&shard_id(0)).unwrap();
    assert_eq!(
        (lease.owner, lease.checkpoint.to_string()),
        (None, "102".into())
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_ends_at_the_grace_limit_when_a_child_does_not_answer() {
    let world = World::new(1);
    let worker = world.start(
        config("shutdownGraceMillis = 2000\n"),
        Behaviour {
            hang_on: Some("shutdownRequested"),
            ..Behaviour::default()
        },
        after(Duration::from_secs(5)),
    );
    worker.await.unwrap().unwrap();
    assert_eq!(
        world.timeline.first("worker stopped"),
        Some(ms(7000)),
        "{}",
        world.dump()
    );
    assert_eq!(
        world
            .timeline
            .matching("child shardId-000000000000 #1 killed")
            .len(),
        1,
        "{}",
        world.dump()
    );
    // The lease is released all the same, so another worker takes it at once.
    assert_eq!(
        world
            .timeline
            .first("table release shardId-000000000000 by w1 -> ok"),
        Some(ms(7000))
    );
    assert_eq!(world.table.lease(&shard_id(0)).unwrap().owner, None);
}

#[tokio::test(start_paused = true)]
async fn a_lease_lost_mid_batch_gets_no_checkpoint_and_its_child_is_told() {
    let world = World::new(1);
    world.kinesis.put(&shard_id(0), 3, 10);
    let worker = world.start(
        config(""),
        Behaviour {
            checkpoint_every_batch: true,
            batch_time: Duration::from_secs(5),
            ..Behaviour::default()
        },
        never(),
    );
    world
        .timeline
        .wait_for("child shardId-000000000000 #1 got processRecords", ms(1000))
        .await;
    // While the child works on its batch, another worker takes the lease.
    tokio::time::sleep(Duration::from_secs(2)).await;
    world.table.update(&shard_id(0), |l| {
        l.owner = Some(OTHER.into());
        l.counter += 1;
    });
    world
        .timeline
        .wait_for("child shardId-000000000000 #1 got leaseLost", ms(30_000))
        .await;
    assert_eq!(
        world
            .timeline
            .matching("child shardId-000000000000 #1 checkpoint"),
        ["child shardId-000000000000 #1 checkpoint -> ShutdownException"],
        "{}",
        world.dump()
    );
    assert!(world
        .timeline
        .matching("table checkpoint")
        .iter()
        .all(|e| !e.ends_with("ok 3")));
    let lease = world.table.lease(&shard_id(0)).unwrap();
    assert_eq!(lease.owner.as_deref(), Some(OTHER));
    assert_eq!(
        lease.checkpoint,
        trim_horizon(),
        "no checkpoint under a lost lease"
    );
    worker.abort();
}

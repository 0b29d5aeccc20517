//! `ShardChild` against in-process children (`scripted`), on paused time: each exchange, each way
//! a child can fail its shard, and how a child is ended.

use std::os::unix::process::ExitStatusExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::scripted::{Behaviour, Scripted};
use super::*;
use crate::checkpoint::{MemorySink, SequenceNumber, StoredCheckpoint};
use crate::testkit::Timeline;

const SHARD: &str = "shardId-000000000000";

fn spec(behaviour: Behaviour, timeline: &Timeline) -> ChildSpec {
    ChildSpec {
        launcher: Arc::new(Scripted::new(behaviour, timeline)),
        timeout: Some(Duration::from_secs(30)),
        exit_grace: Duration::from_secs(5),
        slow_after: None,
    }
}

fn record(seq: &str) -> Record {
    Record {
        data: bytes::Bytes::from_static(b"hello").into(),
        partition_key: "pk".into(),
        sequence_number: seq.into(),
        sub_sequence_number: 0,
        approximate_arrival_timestamp: 1,
    }
}

fn trim_horizon() -> ExtendedSequenceNumber {
    ExtendedSequenceNumber::new(SequenceNumber::TrimHorizon, 0)
}

struct Session {
    child: ShardChild,
    state: CheckpointState,
    sink: MemorySink,
    stored: Arc<Mutex<Vec<StoredCheckpoint>>>,
}

fn start(behaviour: Behaviour, timeline: &Timeline) -> Session {
    let stored = Arc::default();
    Session {
        child: ShardChild::spawn(&spec(behaviour, timeline), SHARD, None).unwrap(),
        state: CheckpointState::new(trim_horizon()),
        sink: MemorySink::new(SHARD, Vec::new(), Arc::clone(&stored)),
        stored,
    }
}

impl Session {
    async fn initialize(&mut self) -> Result<(), ChildError> {
        let at = trim_horizon();
        self.child
            .initialize(Some(&at), &mut self.state, &mut self.sink)
            .await
    }

    async fn batch(&mut self, seqs: &[&str]) -> Result<(), ChildError> {
        let records: Vec<Record> = seqs.iter().map(|s| record(s)).collect();
        self.child
            .process_records(&records, Some(0), &mut self.state, &mut self.sink)
            .await
    }

    fn stored(&self) -> Vec<String> {
        self.stored
            .lock()
            .unwrap()
            .iter()
            .map(|c| c.at.to_string())
            .collect()
    }
}

#[tokio::test(start_paused = true)]
async fn each_action_is_answered_and_checkpoints_are_stored() {
    let timeline = Timeline::new();
    let mut s = start(
        Behaviour {
            checkpoint_every_batch: true,
            ..Behaviour::default()
        },
        &timeline,
    );
    s.initialize().await.unwrap();
    s.batch(&["1", "2", "3"]).await.unwrap();
    s.batch(&["4"]).await.unwrap();
    s.child
        .shard_ended(&mut s.state, &mut s.sink)
        .await
        .unwrap();
    assert_eq!(s.stored(), ["3", "4", "SHARD_END"]);
    let status = s.child.close().await.map(|st| st.code());
    assert_eq!(status, Some(Some(0)));
    assert_eq!(
        timeline.matching("child"),
        [
            "child shardId-000000000000 #1 started",
            "child shardId-000000000000 #1 got initialize TRIM_HORIZON",
            "child shardId-000000000000 #1 got processRecords 1..3",
            "child shardId-000000000000 #1 checkpoint -> ok",
            "child shardId-000000000000 #1 got processRecords 4..4",
            "child shardId-000000000000 #1 checkpoint -> ok",
            "child shardId-000000000000 #1 got shardEnded",
            "child shardId-000000000000 #1 checkpoint -> ok",
            "child shardId-000000000000 #1 exited 0",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_child_that_does_not_answer_times_out_after_timeout_in_seconds() {
    let timeline = Timeline::new();
    let mut s = start(
        Behaviour {
            hang_on: Some("processRecords"),
            ..Behaviour::default()
        },
        &timeline,
    );
    s.initialize().await.unwrap();
    let sent = Instant::now();
    let e = s.batch(&["1"]).await.unwrap_err();
    assert!(
        matches!(e, ChildError::Timeout { action: Action::ProcessRecords, timeout } if timeout == Duration::from_secs(30)),
        "{e}"
    );
    assert_eq!(sent.elapsed(), Duration::from_secs(30));
    // A failed child is not waited for: killed at once.
    let closing = Instant::now();
    s.child.close().await;
    assert_eq!(closing.elapsed(), Duration::ZERO);
    assert_eq!(
        timeline
            .matching("child shardId-000000000000 #1 killed")
            .len(),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn a_child_that_exits_mid_batch_fails_its_session() {
    let timeline = Timeline::new();
    let mut s = start(
        Behaviour {
            crash_on: Some("processRecords"),
            ..Behaviour::default()
        },
        &timeline,
    );
    s.initialize().await.unwrap();
    let e = s.batch(&["1"]).await.unwrap_err();
    match e {
        ChildError::Exited { action, status } => {
            assert_eq!(action, Action::ProcessRecords);
            assert_eq!(status, "exit code 1");
        }
        other => panic!("{other}"),
    }
    // Nothing more goes to a failed child.
    let e = s.batch(&["2"]).await.unwrap_err();
    assert!(matches!(e, ChildError::OutOfOrder { .. }), "{e}");
}

#[tokio::test(start_paused = true)]
async fn a_child_that_never_ends_a_line_fails_its_session_without_growing_memory() {
    let timeline = Timeline::new();
    let mut s = start(
        Behaviour {
            endless_line: Some(protocol::MAX_LINE + 100_000),
            ..Behaviour::default()
        },
        &timeline,
    );
    s.initialize().await.unwrap();
    let e = s.batch(&["1"]).await.unwrap_err();
    assert!(
        matches!(
            &e,
            ChildError::Read {
                action: Action::ProcessRecords,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string().contains("a line longer than 1048576 bytes"),
        "{e}"
    );
    assert!(
        s.child.stdout.buf.len() <= protocol::MAX_LINE + (64 << 10),
        "{} bytes kept",
        s.child.stdout.buf.len()
    );
}

#[tokio::test(start_paused = true)]
async fn a_child_that_outlives_its_stdin_is_stopped_after_the_exit_grace() {
    let timeline = Timeline::new();
    let mut s = start(
        Behaviour {
            linger: true,
            ..Behaviour::default()
        },
        &timeline,
    );
    s.initialize().await.unwrap();
    s.child.lease_lost(&mut s.state, &mut s.sink).await.unwrap();
    let closing = Instant::now();
    let status = s.child.close().await;
    assert_eq!(closing.elapsed(), Duration::from_secs(5), "the exit grace");
    assert_eq!(status.and_then(|s| s.signal()), Some(15), "SIGTERM");
    assert_eq!(
        timeline
            .matching("child shardId-000000000000 #1 killed")
            .len(),
        1,
        "{}",
        timeline.dump()
    );
}

#[tokio::test(start_paused = true)]
async fn after_shutdown_requested_and_its_checkpoint_only_an_ending_may_follow() {
    let timeline = Timeline::new();
    let mut s = start(
        Behaviour {
            checkpoint_on_shutdown: true,
            ..Behaviour::default()
        },
        &timeline,
    );
    s.initialize().await.unwrap();
    s.batch(&["1", "2"]).await.unwrap();
    s.child
        .shutdown_requested(&mut s.state, &mut s.sink)
        .await
        .unwrap();
    // After shutdownRequested only leaseLost or shardEnded may follow.
    assert!(matches!(
        s.batch(&["3"]).await,
        Err(ChildError::OutOfOrder { .. })
    ));
    s.child.lease_lost(&mut s.state, &mut s.sink).await.unwrap();
    assert_eq!(s.stored(), ["2"]);
    assert_eq!(
        timeline.matching("child shardId-000000000000 #1 checkpoint"),
        ["child shardId-000000000000 #1 checkpoint -> ok"]
    );
}

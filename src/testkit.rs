//! Shared pieces of the unit tests: a timeline that the fakes (in-process children, the in-memory
//! lease table, the fake Kinesis) write what happens to, with the paused clock's time, so a test
//! can assert the exact order and timing of a worker's actions.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// What happened when, in the order it happened. Cloning shares it.
#[derive(Clone, Debug)]
pub struct Timeline {
    start: Instant,
    events: Arc<Mutex<Vec<(Duration, String)>>>,
    pushed: Arc<tokio::sync::Notify>,
}

impl Timeline {
    /// A timeline whose time 0 is now.
    pub fn new() -> Timeline {
        Timeline {
            start: Instant::now(),
            events: Arc::default(),
            pushed: Arc::default(),
        }
    }

    pub fn push(&self, event: impl Into<String>) {
        let at = self.start.elapsed();
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        events.push((at, event.into()));
        self.pushed.notify_waiters();
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<(Duration, String)> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The events that start with `prefix`, without their times.
    pub fn matching(&self, prefix: &str) -> Vec<String> {
        self.events()
            .into_iter()
            .filter(|(_, e)| e.starts_with(prefix))
            .map(|(_, e)| e)
            .collect()
    }

    /// When the events that start with `prefix` happened.
    pub fn times_of(&self, prefix: &str) -> Vec<Duration> {
        self.events()
            .into_iter()
            .filter(|(_, e)| e.starts_with(prefix))
            .map(|(t, _)| t)
            .collect()
    }

    /// When the first event that starts with `prefix` happened.
    pub fn first(&self, prefix: &str) -> Option<Duration> {
        self.times_of(prefix).first().copied()
    }

    /// The events in order, one per line with its time, for a failing assertion's message.
    pub fn dump(&self) -> String {
        self.events()
            .iter()
            .map(|(t, e)| format!("{:>9.3}s {e}\n", t.as_secs_f64()))
            .collect()
    }

    /// Waits until an event starting with `prefix` has happened and returns when it did; panics
    /// with the timeline if none has after `limit` (of paused time: no real delay).
    pub async fn wait_for(&self, prefix: &str, limit: Duration) -> Duration {
        let deadline = Instant::now() + limit;
        loop {
            let pushed = self.pushed.notified();
            tokio::pin!(pushed);
            pushed.as_mut().enable();
            if let Some(t) = self.first(prefix) {
                return t;
            }
            if tokio::time::timeout_at(deadline, pushed).await.is_err() {
                panic!("no {prefix:?} within {limit:?}; timeline:\n{}", self.dump());
            }
        }
    }
}

/// `Duration::from_millis`, short for timeline assertions.
pub fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

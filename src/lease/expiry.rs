//! Expiry by local observation (`docs/leases.md`, "Expiry"; Java
//! `DynamoDBLeaseTaker.updateAllLeases` and `Lease.isExpired`).
//!
//! There are no timestamps in the lease table. A worker remembers, per lease key, the
//! `leaseCounter` it last saw and *when that counter last changed as seen by itself*:
//!
//! * first sighting, unowned → "never incremented": expired (and very old) at once;
//! * first sighting, owned → now (a dead owner's lease needs a full failover period);
//! * same counter as before → keep the old time; different counter → now;
//! * a key missing from the latest scan is forgotten.
//!
//! Our own successful renewals, takes and checkpoints are recorded with [`ExpiryTracker::renewed`].
//! Time is a caller-supplied monotonic [`Instant`] (in the worker: `tokio::time::Instant::now()
//! .into_std()`, so paused-time tests work); nothing here reads a clock.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::Lease;

/// Java's `veryOldLeaseDurationNanosMultiplier`: a lease unrenewed for more than 3 × failover
/// is "very old" and taken with priority (`docs/leases.md`, "Taker", step 3).
pub const VERY_OLD_MULTIPLIER: u32 = 3;

/// Java's `MAX_ABS_AGE_NANOS`: an observation older than this counts as expired whatever the
/// failover time.
pub const MAX_AGE: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// How stale a lease looks to this worker. Ordered: `Fresh < Expired < VeryOld`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Staleness {
    /// Counter changed within the last failover period.
    Fresh,
    /// Unchanged for more than `failover` (Java `isExpired`).
    Expired,
    /// Never seen incremented (first seen unowned), or unchanged for more than 3 × `failover`
    /// (Java's "very old" filter: `now − 3 × failover > lastCounterIncrementNanos`).
    VeryOld,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    counter: u64,
    /// `None`: Java's `lastCounterIncrementNanos = 0` for a lease first seen unowned.
    last_increment: Option<Instant>,
}

/// Per-key memory of the last counter seen and when it last changed.
#[derive(Debug, Clone, Default)]
pub struct ExpiryTracker {
    seen: HashMap<String, Seen>,
}

impl ExpiryTracker {
    pub fn new() -> ExpiryTracker {
        ExpiryTracker::default()
    }

    /// Records one full scan of the lease table taken at `now` (the time the scan *finished*,
    /// as Java reads the clock after `listLeases`). Keys absent from `scan` are forgotten.
    pub fn observe(&mut self, scan: &[Lease], now: Instant) {
        let mut next = HashMap::with_capacity(scan.len());
        for lease in scan {
            let seen = match self.seen.get(&lease.key) {
                Some(old) if old.counter == lease.counter => *old,
                Some(_) => Seen {
                    counter: lease.counter,
                    last_increment: Some(now),
                },
                None if lease.owner.is_none() => Seen {
                    counter: lease.counter,
                    last_increment: None,
                },
                None => Seen {
                    counter: lease.counter,
                    last_increment: Some(now),
                },
            };
            next.insert(lease.key.clone(), seen);
        }
        self.seen = next;
    }

    /// Records that *we* moved `key` to `counter` at `now` (a successful renew, take or
    /// checkpoint), so the next scan showing `counter` does not restart or keep stale time.
    pub fn renewed(&mut self, key: &str, counter: u64, now: Instant) {
        self.seen.insert(
            key.to_owned(),
            Seen {
                counter,
                last_increment: Some(now),
            },
        );
    }

    /// Drops what we know about `key` (e.g. after deleting a finished lease).
    pub fn forget(&mut self, key: &str) {
        self.seen.remove(key);
    }

    /// Whether `key` has been observed and not forgotten.
    pub fn knows(&self, key: &str) -> bool {
        self.seen.contains_key(key)
    }

    /// The counter last observed for `key`.
    pub fn counter(&self, key: &str) -> Option<u64> {
        self.seen.get(key).map(|s| s.counter)
    }

    /// How long `key`'s counter has stood still as seen by us; `None` if never seen incremented
    /// *or* unknown.
    pub fn unchanged_for(&self, key: &str, now: Instant) -> Option<Duration> {
        self.seen
            .get(key)
            .and_then(|s| s.last_increment)
            .map(|t| now.saturating_duration_since(t))
    }

    /// Staleness of `key` at `now`. An unknown key is treated as Java treats a null
    /// `lastCounterIncrementNanos`: never incremented, hence [`Staleness::VeryOld`].
    pub fn staleness(&self, key: &str, failover: Duration, now: Instant) -> Staleness {
        let Some(last) = self.seen.get(key).and_then(|s| s.last_increment) else {
            return Staleness::VeryOld;
        };
        let age = now.saturating_duration_since(last);
        if age > failover.saturating_mul(VERY_OLD_MULTIPLIER) {
            Staleness::VeryOld
        } else if age > failover || age > MAX_AGE {
            Staleness::Expired
        } else {
            Staleness::Fresh
        }
    }

    /// Java `Lease.isExpired`: unchanged for more than `failover` (or never incremented).
    pub fn is_expired(&self, key: &str, failover: Duration, now: Instant) -> bool {
        self.staleness(key, failover, now) >= Staleness::Expired
    }

    /// Java `Lease.isAvailable`: unowned, or expired.
    pub fn available(&self, lease: &Lease, failover: Duration, now: Instant) -> bool {
        lease.owner.is_none() || self.is_expired(&lease.key, failover, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lease::trim_horizon;

    const F: Duration = Duration::from_secs(10);

    fn lease(key: &str, owner: Option<&str>, counter: u64) -> Lease {
        let mut l = Lease::new(key, trim_horizon());
        l.owner = owner.map(str::to_owned);
        l.counter = counter;
        l
    }

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn unowned_first_seen_is_available_at_once_and_very_old() {
        let t0 = Instant::now();
        let mut t = ExpiryTracker::new();
        let l = lease("a", None, 5);
        t.observe(std::slice::from_ref(&l), t0);
        assert!(t.is_expired("a", F, t0));
        assert!(t.available(&l, F, t0));
        assert_eq!(t.staleness("a", F, t0), Staleness::VeryOld);
        assert_eq!(t.unchanged_for("a", t0), None);
        // Still never incremented on the next scan with the same counter.
        t.observe(std::slice::from_ref(&l), t0 + s(1));
        assert_eq!(t.staleness("a", F, t0 + s(1)), Staleness::VeryOld);
    }

    #[test]
    fn owned_first_seen_needs_a_full_failover_period() {
        let t0 = Instant::now();
        let mut t = ExpiryTracker::new();
        let l = lease("a", Some("w2"), 7);
        t.observe(std::slice::from_ref(&l), t0);
        assert_eq!(t.staleness("a", F, t0), Staleness::Fresh);
        assert!(
            !t.available(&l, F, t0 + F),
            "exactly failover is not expired"
        );
        t.observe(std::slice::from_ref(&l), t0 + s(5));
        assert_eq!(
            t.unchanged_for("a", t0 + s(5)),
            Some(s(5)),
            "same counter keeps time"
        );
        assert!(t.is_expired("a", F, t0 + s(11)));
        assert!(t.available(&l, F, t0 + s(11)));
        assert_eq!(t.staleness("a", F, t0 + s(30)), Staleness::Expired);
        assert_eq!(t.staleness("a", F, t0 + s(31)), Staleness::VeryOld);
    }

    #[test]
    fn counter_change_restarts_the_clock() {
        let t0 = Instant::now();
        let mut t = ExpiryTracker::new();
        t.observe(&[lease("a", Some("w2"), 1)], t0);
        t.observe(&[lease("a", Some("w2"), 2)], t0 + s(9));
        assert!(!t.is_expired("a", F, t0 + s(18)));
        assert!(t.is_expired("a", F, t0 + s(20)));
        // A lease whose counter keeps moving never expires.
        let mut now = t0 + s(9);
        for c in 3..100 {
            now += s(3);
            t.observe(&[lease("a", Some("w2"), c)], now);
            assert!(!t.is_expired("a", F, now + s(3)));
        }
    }

    #[test]
    fn released_lease_seen_before_is_available_but_not_very_old() {
        let t0 = Instant::now();
        let mut t = ExpiryTracker::new();
        t.observe(&[lease("a", Some("w2"), 1)], t0);
        // Clean shutdown: REMOVE leaseOwner, counter + 1.
        let released = lease("a", None, 2);
        t.observe(std::slice::from_ref(&released), t0 + s(1));
        assert!(t.available(&released, F, t0 + s(1)));
        assert_eq!(t.staleness("a", F, t0 + s(1)), Staleness::Fresh);
    }

    #[test]
    fn own_renewals_are_recorded() {
        let t0 = Instant::now();
        let mut t = ExpiryTracker::new();
        t.observe(&[lease("a", Some("me"), 1)], t0);
        t.renewed("a", 2, t0 + s(8));
        assert_eq!(t.counter("a"), Some(2));
        // The next scan shows the counter we wrote: the time of our renewal is kept.
        t.observe(&[lease("a", Some("me"), 2)], t0 + s(12));
        assert!(!t.is_expired("a", F, t0 + s(18)));
        assert_eq!(t.unchanged_for("a", t0 + s(12)), Some(s(4)));
        // Recording a renewal of a key never scanned works too.
        t.renewed("b", 1, t0);
        assert!(t.knows("b"));
    }

    #[test]
    fn vanished_and_forgotten_leases() {
        let t0 = Instant::now();
        let mut t = ExpiryTracker::new();
        t.observe(&[lease("a", Some("w2"), 1), lease("b", Some("w2"), 1)], t0);
        t.observe(&[lease("a", Some("w2"), 1)], t0 + s(1));
        assert!(!t.knows("b"));
        // Re-appearing owned: first sighting again, fresh.
        t.observe(&[lease("b", Some("w2"), 1)], t0 + s(20));
        assert_eq!(t.staleness("b", F, t0 + s(20)), Staleness::Fresh);
        t.forget("b");
        assert!(!t.knows("b"));
        assert_eq!(
            t.staleness("b", F, t0),
            Staleness::VeryOld,
            "unknown = never"
        );
    }

    #[test]
    fn expired_after_max_age_whatever_the_failover() {
        let t0 = Instant::now();
        let mut t = ExpiryTracker::new();
        t.observe(&[lease("a", Some("w2"), 1)], t0);
        let huge = Duration::from_secs(400 * 24 * 60 * 60);
        assert_eq!(
            t.staleness("a", huge, t0 + MAX_AGE + s(1)),
            Staleness::Expired
        );
    }
}

//! The KCL 2.x lease taker's decision, Java `DynamoDBLeaseTaker.computeLeasesToTake` and
//! `chooseLeasesToSteal` (identical in 2.7.3 and 3.5.1; `docs/leases.md`, "Taker").
//!
//! Input: one scan, each lease with its [`Staleness`] as seen by this worker
//! ([`ExpiryTracker::observed`]). Output: a [`TakePlan`] saying which leases to take — available
//! ones, very old ones (priority), or leases to steal from the most loaded worker. Performing the
//! takes (conditional writes, retries, re-reading leases after a slow scan) is the caller's job.
//!
//! Java's rules, kept as they are:
//!
//! * `available` = unowned or expired. `counts` = non-available leases per `leaseOwner`, plus
//!   ourselves with 0; a worker holding only available leases is invisible.
//! * `target` = 1 if workers ≥ leases, else ⌈leases ÷ workers⌉ capped at `maxLeasesForWorker`.
//!   *All* leases count, including those at `SHARD_END` (Java counts them too).
//! * Priority (`enablePriorityLeaseAssignment`): if any lease is very old, take a random subset of
//!   the very old leases, at most `maxLeasesForWorker − mine`, ignoring the target, and stop —
//!   even if that subset is empty. NB: Java stamps a lease first seen *unowned* with time 0, so
//!   on a real host (uptime > 3 × failover) every never-renewed unowned lease is very old: the
//!   first worker to scan a fresh table takes all of them (up to `maxLeasesForWorker`), and
//!   balancing then happens by stealing. [`ExpiryTracker`] reproduces this.
//! * Otherwise `needed = target − mine`; take up to `needed` available leases at random; if none
//!   is available, steal from the single most loaded worker: `min(needed, its count − target)`,
//!   at least 1 when `needed > 1`, at most `maxLeasesToStealAtOneTime`, chosen at random among
//!   its leases — and only if it holds at least `target`.
//!
//! Our choices where Java is silent or nondeterministic:
//!
//! * **Hand-off leases** (`checkpointOwner` set, a KCL 3.x graceful hand-off in progress) are never
//!   chosen — not as available, very old or steal victims. They still count towards the number of
//!   leases and, when not available, towards their `leaseOwner`, exactly as Java counts them, so
//!   every worker computes the same target. (Java 3.x's take REMOVEs `checkpointOwner`; we would
//!   rather leave the hand-off to the 3.x leader. A hand-off lease abandoned by every 3.x worker
//!   is therefore never taken by us.)
//! * Ties for "most loaded" go to the smallest worker id (Java: `HashMap` iteration order).
//! * Randomness comes from an injected [`Chooser`], applied to candidates sorted by key, so a
//!   given chooser state always gives the same answer.

use std::collections::hash_map::RandomState;
use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use super::{ExpiryTracker, Lease, Staleness};
use crate::config::LeaseSettings;

/// Source of randomness for the taker (Java: `Collections.shuffle`).
pub trait Chooser {
    /// Reorders `items` in place; the taker then uses a prefix.
    fn shuffle<T>(&mut self, items: &mut [T]);
}

impl<C: Chooser + ?Sized> Chooser for &mut C {
    fn shuffle<T>(&mut self, items: &mut [T]) {
        (**self).shuffle(items)
    }
}

/// Deterministic chooser: leaves the items in key order (the taker sorts candidates by key).
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyOrder;

impl Chooser for KeyOrder {
    fn shuffle<T>(&mut self, _items: &mut [T]) {}
}

/// Production chooser: Fisher–Yates over a SplitMix64 stream. Not cryptographic; it only has to
/// keep workers from contending for the same leases.
#[derive(Debug, Clone)]
pub struct RandomChooser {
    state: u64,
}

impl RandomChooser {
    /// A reproducible stream from `seed`.
    pub fn with_seed(seed: u64) -> RandomChooser {
        RandomChooser { state: seed }
    }

    /// Seeded from the process's hash-map randomness (no extra crate, no I/O beyond what `std`
    /// does once per process).
    pub fn from_entropy() -> RandomChooser {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(0x6b63_6c2d_6272_6964);
        RandomChooser::with_seed(h.finish())
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), by multiply-shift.
    fn below(&mut self, n: usize) -> usize {
        let n64 = n as u64;
        ((u128::from(self.next_u64()) * u128::from(n64)) >> 64) as usize
    }
}

impl Chooser for RandomChooser {
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// Whether a scan that found `leases` says a lease may be released to `me` before the next full
/// taker run: only a lease held by another worker can be released (a worker shutting down clears
/// its owner), and an unowned one is there to take. When every lease is `me`'s, the quick scan at
/// each renewal tick can only find what the full taker run finds anyway, so it is skipped until a
/// scan shows another owner again.
pub fn others_hold_or_free(me: &str, leases: &[Lease]) -> bool {
    leases.iter().any(|l| l.owner.as_deref() != Some(me))
}

/// One scanned lease with its staleness as seen by this worker.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    pub lease: &'a Lease,
    pub staleness: Staleness,
}

impl Observed<'_> {
    /// Java `Lease.isAvailable`: unowned or expired.
    pub fn available(&self) -> bool {
        self.lease.owner.is_none() || self.staleness >= Staleness::Expired
    }

    /// How long `me` must wait after taking this lease before its record processor may start,
    /// so that no record is in two workers' processors at once. A lease taken from a worker
    /// that still renews it (a steal toward an even share) waits `failover`: that worker learns
    /// of the take at its next renewal, a third of `failover` away, and one that cannot renew
    /// gives the lease up after `failover` (Java does both). Java's taker starts at once and
    /// the two processors overlap until the old owner's renewal. A released, expired or own
    /// lease has nobody else processing it: no wait.
    pub fn handover_wait(&self, me: &str, failover: Duration) -> Option<Duration> {
        let live_other = self.lease.owner.as_deref().is_some_and(|owner| owner != me)
            && self.staleness == Staleness::Fresh;
        live_other.then_some(failover)
    }
}

impl ExpiryTracker {
    /// Pairs each lease of `scan` with its staleness at `now`. Call [`ExpiryTracker::observe`]
    /// with the same scan first.
    pub fn observed<'a>(
        &self,
        scan: &'a [Lease],
        failover: Duration,
        now: Instant,
    ) -> Vec<Observed<'a>> {
        scan.iter()
            .map(|lease| Observed {
                lease,
                staleness: self.staleness(&lease.key, failover, now),
            })
            .collect()
    }
}

/// The taker's configuration (`LeaseManagementConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TakerSettings {
    /// `maxLeasesForWorker`, default `i32::MAX`.
    pub max_leases_for_worker: u32,
    /// `maxLeasesToStealAtOneTime`, default 1.
    pub max_leases_to_steal_at_one_time: u32,
    /// `enablePriorityLeaseAssignment`, default true.
    pub enable_priority_lease_assignment: bool,
}

impl Default for TakerSettings {
    fn default() -> TakerSettings {
        TakerSettings {
            max_leases_for_worker: i32::MAX as u32,
            max_leases_to_steal_at_one_time: 1,
            enable_priority_lease_assignment: true,
        }
    }
}

impl From<&LeaseSettings> for TakerSettings {
    fn from(s: &LeaseSettings) -> TakerSettings {
        TakerSettings {
            max_leases_for_worker: s.max_leases_for_worker,
            max_leases_to_steal_at_one_time: s.max_leases_to_steal_at_one_time,
            enable_priority_lease_assignment: s.enable_priority_lease_assignment,
        }
    }
}

/// Why the taker takes nothing this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleReason {
    /// The table holds no leases.
    NoLeases,
    /// Very old leases exist but we already hold `maxLeasesForWorker` (Java stops here too).
    PriorityAtMax,
    /// We hold at least the target.
    AtTarget,
    /// Nothing available, and the most loaded worker is not over the target (or has nothing
    /// we may take).
    NothingToSteal,
}

/// What to do this run. Every variant is carried out the same way (a counter-conditioned take);
/// they differ in logging and in whether a slow scan calls for re-reading the lease first
/// (Java re-reads only leases chosen for stealing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TakeAction<'a> {
    Idle(IdleReason),
    /// Very old leases, taken with priority regardless of the target.
    Priority(Vec<&'a Lease>),
    /// Available (unowned or expired) leases.
    Take(Vec<&'a Lease>),
    /// Live leases of `victim`, the most loaded worker.
    Steal {
        victim: String,
        leases: Vec<&'a Lease>,
    },
}

impl<'a> TakeAction<'a> {
    /// The chosen leases (empty when idle).
    pub fn leases(&self) -> &[&'a Lease] {
        match self {
            TakeAction::Idle(_) => &[],
            TakeAction::Priority(l) | TakeAction::Take(l) | TakeAction::Steal { leases: l, .. } => {
                l
            }
        }
    }
}

/// The taker's decision plus the numbers Java logs with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakePlan<'a> {
    /// Leases in the scan.
    pub leases: usize,
    /// Available leases in the scan (unowned or expired, hand-off ones included).
    pub available: usize,
    /// Workers seen (holders of non-available leases, plus us).
    pub workers: usize,
    /// Per-worker target (0 when there are no leases).
    pub target: usize,
    /// Non-available leases we hold.
    pub mine: usize,
    /// How far ⌈leases ÷ workers⌉ exceeded `maxLeasesForWorker` (Java's "spillover").
    pub spillover: usize,
    pub action: TakeAction<'a>,
}

/// `n` of `candidates` at random: sorted by key, then shuffled, so the result is reproducible
/// for a given chooser state.
fn pick<'a>(
    mut candidates: Vec<&'a Lease>,
    n: usize,
    chooser: &mut impl Chooser,
) -> Vec<&'a Lease> {
    candidates.sort_by(|a, b| a.key.cmp(&b.key));
    chooser.shuffle(&mut candidates);
    candidates.truncate(n);
    candidates
}

fn to_usize(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Java's `computeLeasesToTake` for worker `me` over one observed scan (see the module docs).
pub fn compute_leases_to_take<'a>(
    me: &str,
    scan: &[Observed<'a>],
    settings: &TakerSettings,
    mut chooser: impl Chooser,
) -> TakePlan<'a> {
    let max_for_worker = to_usize(settings.max_leases_for_worker);
    let available = scan.iter().filter(|o| o.available()).count();

    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for o in scan.iter().filter(|o| !o.available()) {
        if let Some(owner) = o.lease.owner.as_deref() {
            *counts.entry(owner).or_insert(0) += 1;
        }
    }
    counts.entry(me).or_insert(0);
    let workers = counts.len();
    let mine = counts.get(me).copied().unwrap_or(0);
    let leases = scan.len();

    let mut plan = TakePlan {
        leases,
        available,
        workers,
        target: 0,
        mine,
        spillover: 0,
        action: TakeAction::Idle(IdleReason::NoLeases),
    };
    if leases == 0 {
        return plan;
    }

    plan.target = if workers >= leases {
        1
    } else {
        let target = leases.div_ceil(workers);
        plan.spillover = target.saturating_sub(max_for_worker);
        target.min(max_for_worker)
    };

    if settings.enable_priority_lease_assignment {
        let very_old: Vec<&Lease> = scan
            .iter()
            .filter(|o| o.staleness == Staleness::VeryOld && !o.lease.in_handoff())
            .map(|o| o.lease)
            .collect();
        if !very_old.is_empty() {
            let n = max_for_worker.saturating_sub(mine).min(very_old.len());
            plan.action = if n == 0 {
                TakeAction::Idle(IdleReason::PriorityAtMax)
            } else {
                TakeAction::Priority(pick(very_old, n, &mut chooser))
            };
            return plan;
        }
    }

    let needed = plan.target.saturating_sub(mine);
    if needed == 0 {
        plan.action = TakeAction::Idle(IdleReason::AtTarget);
        return plan;
    }

    let takeable: Vec<&Lease> = scan
        .iter()
        .filter(|o| o.available() && !o.lease.in_handoff())
        .map(|o| o.lease)
        .collect();
    if !takeable.is_empty() {
        plan.action = TakeAction::Take(pick(takeable, needed, &mut chooser));
        return plan;
    }

    // Steal. Ties for most loaded go to the smallest id (BTreeMap order, strictly greater wins).
    let mut most: Option<(&str, usize)> = None;
    for (&worker, &count) in &counts {
        if most.is_none_or(|(_, c)| c < count) {
            most = Some((worker, count));
        }
    }
    let Some((victim, victim_count)) = most else {
        plan.action = TakeAction::Idle(IdleReason::NothingToSteal);
        return plan;
    };
    let mut n = 0;
    if victim_count >= plan.target && victim != me {
        n = needed.min(victim_count - plan.target);
        if needed > 1 && n == 0 {
            n = 1;
        }
        n = n.min(to_usize(settings.max_leases_to_steal_at_one_time));
    }
    let candidates: Vec<&Lease> = scan
        .iter()
        .filter(|o| o.lease.is_owned_by(victim) && !o.lease.in_handoff())
        .map(|o| o.lease)
        .collect();
    plan.action = if n == 0 || candidates.is_empty() {
        TakeAction::Idle(IdleReason::NothingToSteal)
    } else {
        TakeAction::Steal {
            victim: victim.to_owned(),
            leases: pick(candidates, n, &mut chooser),
        }
    };
    plan
}

#[cfg(test)]
mod tests;

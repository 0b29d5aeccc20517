//! Unit tests of the taker, and the decision table `tests/data/lease/taker.json`.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::*;
use crate::checkpoint::{ExtendedSequenceNumber, SequenceNumber};
use crate::lease::trim_horizon;

/// Reverses key order: with [`KeyOrder`] it brackets the possible prefixes.
struct Reverse;

impl Chooser for Reverse {
    fn shuffle<T>(&mut self, items: &mut [T]) {
        items.reverse();
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    comment: String,
    me: String,
    #[serde(default)]
    config: Config,
    leases: Vec<TableLease>,
    want: Want,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    max_leases_for_worker: Option<u32>,
    max_leases_to_steal_at_one_time: Option<u32>,
    enable_priority_lease_assignment: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableLease {
    key: String,
    owner: Option<String>,
    #[serde(default)]
    counter: u64,
    /// Unchanged for more than the failover time as seen by `me`.
    #[serde(default)]
    expired: bool,
    /// Never seen incremented, or unchanged for more than 3 × failover. Implies `expired`.
    #[serde(default)]
    very_old: bool,
    checkpoint_owner: Option<String>,
    /// A checkpoint such as `SHARD_END`; default `TRIM_HORIZON`.
    checkpoint: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Want {
    /// `none`, `priority`, `take` or `steal`.
    action: String,
    /// For `none`: `no_leases`, `priority_at_max`, `at_target` or `nothing_to_steal`.
    reason: Option<String>,
    /// How many leases are chosen.
    #[serde(default)]
    count: usize,
    /// The pool the chosen leases are drawn from (each chooser may pick differently).
    #[serde(default)]
    from: Vec<String>,
    /// For `steal`: the most loaded worker.
    victim: Option<String>,
    target: Option<usize>,
    workers: Option<usize>,
    mine: Option<usize>,
    spillover: Option<usize>,
}

fn to_lease(t: &TableLease) -> Lease {
    let checkpoint = match &t.checkpoint {
        None => trim_horizon(),
        Some(c) => ExtendedSequenceNumber::new(
            SequenceNumber::parse(c).unwrap_or_else(|| panic!("bad checkpoint {c:?}")),
            0,
        ),
    };
    let mut l = Lease::new(t.key.clone(), checkpoint);
    l.owner = t.owner.clone();
    l.counter = t.counter;
    l.checkpoint_owner = t.checkpoint_owner.clone();
    l
}

fn staleness(t: &TableLease) -> Staleness {
    match (t.expired, t.very_old) {
        (_, true) => Staleness::VeryOld,
        (true, false) => Staleness::Expired,
        (false, false) => Staleness::Fresh,
    }
}

fn reason_name(r: IdleReason) -> &'static str {
    match r {
        IdleReason::NoLeases => "no_leases",
        IdleReason::PriorityAtMax => "priority_at_max",
        IdleReason::AtTarget => "at_target",
        IdleReason::NothingToSteal => "nothing_to_steal",
    }
}

fn check_case(i: usize, case: &Case, chooser_name: &str, chooser: impl Chooser) {
    let ctx = format!("case {i} ({}) with {chooser_name}", case.comment);
    let leases: Vec<Lease> = case.leases.iter().map(to_lease).collect();
    let scan: Vec<Observed> = leases
        .iter()
        .zip(&case.leases)
        .map(|(lease, t)| Observed {
            lease,
            staleness: staleness(t),
        })
        .collect();
    let defaults = TakerSettings::default();
    let settings = TakerSettings {
        max_leases_for_worker: case
            .config
            .max_leases_for_worker
            .unwrap_or(defaults.max_leases_for_worker),
        max_leases_to_steal_at_one_time: case
            .config
            .max_leases_to_steal_at_one_time
            .unwrap_or(defaults.max_leases_to_steal_at_one_time),
        enable_priority_lease_assignment: case
            .config
            .enable_priority_lease_assignment
            .unwrap_or(defaults.enable_priority_lease_assignment),
    };
    let plan = compute_leases_to_take(&case.me, &scan, &settings, chooser);
    let w = &case.want;

    let (action, victim) = match &plan.action {
        TakeAction::Idle(r) => {
            if let Some(want) = &w.reason {
                assert_eq!(reason_name(*r), want, "{ctx}: idle reason");
            }
            ("none", None)
        }
        TakeAction::Priority(_) => ("priority", None),
        TakeAction::Take(_) => ("take", None),
        TakeAction::Steal { victim, .. } => ("steal", Some(victim.as_str())),
    };
    assert_eq!(action, w.action, "{ctx}: action; plan {plan:#?}");
    assert_eq!(victim, w.victim.as_deref(), "{ctx}: victim");
    let chosen: Vec<&str> = plan
        .action
        .leases()
        .iter()
        .map(|l| l.key.as_str())
        .collect();
    assert_eq!(chosen.len(), w.count, "{ctx}: count, chose {chosen:?}");
    let distinct: BTreeSet<&str> = chosen.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        chosen.len(),
        "{ctx}: duplicates in {chosen:?}"
    );
    for k in &chosen {
        assert!(
            w.from.iter().any(|f| f == k),
            "{ctx}: chose {k} not in {:?}",
            w.from
        );
    }
    for (name, want, got) in [
        ("target", w.target, plan.target),
        ("workers", w.workers, plan.workers),
        ("mine", w.mine, plan.mine),
        ("spillover", w.spillover, plan.spillover),
    ] {
        if let Some(want) = want {
            assert_eq!(got, want, "{ctx}: {name}");
        }
    }
}

#[test]
fn decision_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/lease/taker.json");
    let text = std::fs::read_to_string(path).unwrap();
    let cases: Vec<Case> = serde_json::from_str(&text).unwrap();
    assert!(cases.len() >= 15, "only {} cases", cases.len());
    for (i, case) in cases.iter().enumerate() {
        assert!(!case.comment.is_empty(), "case {i} has no comment");
        for t in &case.leases {
            assert!(
                !t.very_old || t.expired,
                "case {i}: very_old without expired"
            );
        }
        check_case(i, case, "KeyOrder", KeyOrder);
        check_case(i, case, "Reverse", Reverse);
        for seed in 0..16 {
            check_case(i, case, "RandomChooser", RandomChooser::with_seed(seed));
        }
    }
}

fn owned(key: &str, owner: &str) -> Lease {
    let mut l = Lease::new(key, trim_horizon());
    l.owner = Some(owner.into());
    l
}

#[test]
fn random_chooser_reaches_every_candidate() {
    // 4 available leases, target 2 for 2 workers: over many seeds every lease gets chosen.
    let leases: Vec<Lease> = (0..4).map(|i| owned(&format!("s{i}"), "dead")).collect();
    let mut live: Vec<Lease> = (4..6).map(|i| owned(&format!("s{i}"), "w2")).collect();
    live.extend(leases);
    let scan: Vec<Observed> = live
        .iter()
        .map(|lease| Observed {
            lease,
            staleness: if lease.is_owned_by("dead") {
                Staleness::Expired
            } else {
                Staleness::Fresh
            },
        })
        .collect();
    let mut seen = BTreeSet::new();
    let mut rng = RandomChooser::with_seed(42);
    for _ in 0..200 {
        let plan = compute_leases_to_take("me", &scan, &TakerSettings::default(), &mut rng);
        // 6 leases, workers {me, w2}: target 3.
        assert_eq!(plan.target, 3);
        assert!(matches!(plan.action, TakeAction::Take(ref l) if l.len() == 3));
        seen.extend(plan.action.leases().iter().map(|l| l.key.clone()));
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
}

#[test]
fn random_chooser_shuffle_is_a_permutation_and_reproducible() {
    let mut a: Vec<u32> = (0..50).collect();
    let mut b = a.clone();
    RandomChooser::with_seed(7).shuffle(&mut a);
    RandomChooser::with_seed(7).shuffle(&mut b);
    assert_eq!(a, b);
    assert_ne!(a, (0..50).collect::<Vec<_>>());
    a.sort_unstable();
    assert_eq!(a, (0..50).collect::<Vec<_>>());
    // Empty and single-element slices are fine.
    RandomChooser::from_entropy().shuffle::<u32>(&mut []);
    RandomChooser::from_entropy().shuffle(&mut [1]);
}

#[test]
fn tracker_feeds_the_taker() {
    let t0 = Instant::now();
    let failover = Duration::from_secs(10);
    let mut tracker = ExpiryTracker::new();
    let scan = vec![owned("s0", "w2"), owned("s1", "w2")];
    tracker.observe(&scan, t0);
    let settings = TakerSettings::default();

    // Fresh: w2 holds both, target 1 each, w2 is over target by 1 → steal 1.
    let obs = tracker.observed(&scan, failover, t0);
    let plan = compute_leases_to_take("me", &obs, &settings, KeyOrder);
    assert_eq!(
        plan.action,
        TakeAction::Steal {
            victim: "w2".into(),
            leases: vec![&scan[0]]
        }
    );

    // w2 died: after the failover both are available; w2 is no longer a worker → target 2.
    let later = t0 + Duration::from_secs(11);
    tracker.observe(&scan, later);
    let obs = tracker.observed(&scan, failover, later);
    let plan = compute_leases_to_take("me", &obs, &settings, KeyOrder);
    assert_eq!(plan.target, 2);
    assert_eq!(plan.action, TakeAction::Take(vec![&scan[0], &scan[1]]));

    // Much later they are very old: priority path.
    let much_later = t0 + Duration::from_secs(31);
    let obs = tracker.observed(&scan, failover, much_later);
    let plan = compute_leases_to_take("me", &obs, &settings, KeyOrder);
    assert_eq!(plan.action, TakeAction::Priority(vec![&scan[0], &scan[1]]));
}

#[test]
fn settings_from_config() {
    let d = TakerSettings::default();
    assert_eq!(d.max_leases_for_worker, 2_147_483_647);
    assert_eq!(d.max_leases_to_steal_at_one_time, 1);
    assert!(d.enable_priority_lease_assignment);
}

/// Checklist 10: a frozen-counter lease is taken at the first taker run more than
/// `failoverTimeMillis` after this worker first saw it; a moving counter never expires.
#[test]
fn frozen_lease_is_taken_one_taker_period_after_first_sight() {
    let failover = Duration::from_secs(10);
    let period = crate::lease::taker_period(failover);
    let t0 = Instant::now();
    let mut tracker = ExpiryTracker::new();
    let mut moving = owned("moving", "alive");
    let frozen = owned("frozen", "dead");
    let mut taken_at = None;
    for run in 0..5u32 {
        let now = t0 + period * run;
        moving.counter += 7; // renewed several times per taker period
        let scan = vec![frozen.clone(), moving.clone()];
        tracker.observe(&scan, now);
        let obs = tracker.observed(&scan, failover, now);
        let plan = compute_leases_to_take("me", &obs, &TakerSettings::default(), KeyOrder);
        assert!(plan.action.leases().iter().all(|l| l.key != "moving"));
        if plan.action.leases().iter().any(|l| l.key == "frozen") {
            taken_at = Some(run);
            break;
        }
    }
    // Run 0 sees it for the first time (fresh); run 1, 20.05 s later, finds it expired.
    assert_eq!(taken_at, Some(1));
}

/// Checklist 11: one Java worker with 10 leases plus us converge to 5/5, one steal per run
/// (`maxLeasesToStealAtOneTime` = 1), and then stop.
#[test]
fn converges_from_ten_zero_to_five_five() {
    let mut leases: Vec<Lease> = (0..10).map(|i| owned(&format!("s{i}"), "java")).collect();
    let mut rng = RandomChooser::with_seed(3);
    let mut runs = 0;
    loop {
        let scan: Vec<Observed> = leases
            .iter()
            .map(|lease| Observed {
                lease,
                staleness: Staleness::Fresh,
            })
            .collect();
        let plan = compute_leases_to_take("me", &scan, &TakerSettings::default(), &mut rng);
        let stolen: Vec<String> = match plan.action {
            TakeAction::Steal { victim, leases } => {
                assert_eq!(victim, "java");
                assert_eq!(leases.len(), 1);
                leases.iter().map(|l| l.key.clone()).collect()
            }
            TakeAction::Idle(IdleReason::AtTarget) => break,
            other => panic!("unexpected {other:?}"),
        };
        for l in leases.iter_mut().filter(|l| stolen.contains(&l.key)) {
            l.owner = Some("me".into());
            l.counter += 1;
        }
        runs += 1;
        assert!(runs <= 5);
    }
    assert_eq!(runs, 5);
    assert_eq!(leases.iter().filter(|l| l.is_owned_by("me")).count(), 5);
}

#[test]
fn quick_scan_is_useful_only_while_a_lease_is_not_ours() {
    let mut free = owned("shardId-2", "me");
    free.owner = None;
    assert!(!others_hold_or_free("me", &[]));
    assert!(!others_hold_or_free(
        "me",
        &[owned("shardId-0", "me"), owned("shardId-1", "me")]
    ));
    assert!(others_hold_or_free(
        "me",
        &[owned("shardId-0", "me"), owned("shardId-1", "other")]
    ));
    assert!(others_hold_or_free("me", &[owned("shardId-0", "me"), free]));
}

#[test]
fn only_a_lease_taken_from_a_live_worker_waits_for_it_to_let_go() {
    let failover = Duration::from_secs(10);
    let wait =
        |lease: &Lease, staleness| Observed { lease, staleness }.handover_wait("me", failover);
    let theirs = owned("shardId-0", "them");
    assert_eq!(wait(&theirs, Staleness::Fresh), Some(failover), "a steal");
    assert_eq!(
        wait(&theirs, Staleness::Expired),
        None,
        "the owner stopped renewing"
    );
    assert_eq!(wait(&theirs, Staleness::VeryOld), None);
    let released = Lease::new("shardId-1", trim_horizon());
    assert_eq!(
        wait(&released, Staleness::Fresh),
        None,
        "released: nobody has it"
    );
    let mine = owned("shardId-2", "me");
    assert_eq!(
        wait(&mine, Staleness::Fresh),
        None,
        "our own, from before a restart"
    );
}

//! Unit tests of shard sync and lineage, and the decision table
//! `tests/data/lease/shard_sync.json`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::*;
use crate::checkpoint::{ExtendedSequenceNumber, SequenceNumber};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    #[allow(dead_code)]
    comment: String,
    graphs: BTreeMap<String, Vec<TableShard>>,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableShard {
    id: String,
    parent: Option<String>,
    adjacent_parent: Option<String>,
    starting_sequence_number: String,
    closed: bool,
    hash_range: (String, String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    comment: String,
    graph: String,
    existing: Vec<String>,
    position: String,
    table_was_empty: bool,
    /// `[shard id, checkpoint]` in creation order.
    want: Vec<(String, String)>,
}

fn to_shard(t: &TableShard) -> Shard {
    Shard {
        id: t.id.clone(),
        parent: t.parent.clone(),
        adjacent_parent: t.adjacent_parent.clone(),
        hash_range: HashKeyRange::from_decimal(&t.hash_range.0, &t.hash_range.1).unwrap(),
        starting_sequence_number: t.starting_sequence_number.clone(),
        closed: t.closed,
    }
}

fn position(name: &str) -> InitialPosition {
    match name {
        "TRIM_HORIZON" => InitialPosition::TrimHorizon,
        "LATEST" => InitialPosition::Latest,
        "AT_TIMESTAMP" => InitialPosition::AtTimestamp(1),
        other => panic!("unknown position {other}"),
    }
}

fn existing(keys: &[&str]) -> Vec<Lease> {
    keys.iter()
        .map(|k| Lease::new(*k, trim_horizon()))
        .collect()
}

fn got(leases: &[Lease]) -> Vec<(String, String)> {
    leases
        .iter()
        .map(|l| (l.key.clone(), l.checkpoint.to_string()))
        .collect()
}

/// Every created lease is unowned at counter 0 with its shard's parents and hash range.
fn check_new_leases(created: &[Lease], shards: &[Shard], ctx: &str) {
    for lease in created {
        let shard = shards.iter().find(|s| s.id == lease.key).unwrap();
        assert_eq!(lease.owner, None, "{ctx}");
        assert_eq!(lease.counter, 0, "{ctx}");
        assert_eq!(lease.owner_switches_since_checkpoint, 0, "{ctx}");
        assert_eq!(lease.parent_shard_ids, shard.parent_ids(), "{ctx}");
        assert_eq!(lease.hash_range, Some(shard.hash_range), "{ctx}");
        assert!(lease.child_shard_ids.is_empty() && lease.checkpoint_owner.is_none());
    }
}

fn load() -> (BTreeMap<String, Vec<Shard>>, Vec<Case>) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/lease/shard_sync.json"
    );
    let table: Table = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let graphs = table
        .graphs
        .iter()
        .map(|(name, shards)| (name.clone(), shards.iter().map(to_shard).collect()))
        .collect();
    (graphs, table.cases)
}

#[test]
fn decision_table() {
    let (graphs, cases) = load();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    for (i, case) in cases.iter().enumerate() {
        let ctx = format!("case {i} ({})", case.comment);
        let shards = &graphs[&case.graph];
        let keys: Vec<&str> = case.existing.iter().map(String::as_str).collect();
        let created = leases_to_create(
            shards,
            &existing(&keys),
            &position(&case.position),
            case.table_was_empty,
        );
        assert_eq!(got(&created), case.want, "{ctx}");
        check_new_leases(&created, shards, &ctx);
        // Input order must not matter.
        let mut reversed = shards.clone();
        reversed.reverse();
        let again = leases_to_create(
            &reversed,
            &existing(&keys),
            &position(&case.position),
            case.table_was_empty,
        );
        assert_eq!(got(&again), case.want, "{ctx} (shards reversed)");
    }
}

/// Java lists shards with a `ShardFilter` on an empty table; every returned shard gets a lease.
/// Filters as Java's `getFilteredShards` test helper mimics them.
#[test]
fn empty_table_with_filtered_lists_leases_every_shard() {
    let (graphs, _) = load();
    for (name, shards) in &graphs {
        let open: Vec<Shard> = shards.iter().filter(|s| !s.closed).cloned().collect();
        let created = leases_to_create(&open, &[], &InitialPosition::Latest, true);
        assert_eq!(created.len(), open.len(), "graph {name} LATEST");
        assert!(created.iter().all(|l| l.checkpoint.to_string() == "LATEST"));

        let min = shards
            .iter()
            .map(|s| s.starting_sequence_number.parse::<u64>().unwrap())
            .min()
            .unwrap();
        let at_horizon: Vec<Shard> = shards
            .iter()
            .filter(|s| s.starting_sequence_number.parse::<u64>().unwrap() == min)
            .cloned()
            .collect();
        for pos in [
            InitialPosition::TrimHorizon,
            InitialPosition::AtTimestamp(5),
        ] {
            let created = leases_to_create(&at_horizon, &[], &pos, true);
            assert_eq!(created.len(), at_horizon.len(), "graph {name} {pos:?}");
            assert!(created
                .iter()
                .all(|l| l.checkpoint == crate::lease::initial_checkpoint(&pos)));
        }
    }
}

fn shard(id: &str, parents: &[&str], start: &str, closed: bool) -> Shard {
    Shard {
        id: id.into(),
        parent: parents.first().map(|p| p.to_string()),
        adjacent_parent: parents.get(1).map(|p| p.to_string()),
        hash_range: HashKeyRange::FULL,
        starting_sequence_number: start.into(),
        closed,
    }
}

#[test]
fn existing_leases_are_never_recreated_on_an_empty_table_run() {
    let shards = [shard("a", &[], "1", false), shard("b", &[], "1", false)];
    let created = leases_to_create(&shards, &existing(&["a"]), &InitialPosition::Latest, true);
    assert_eq!(got(&created), [("b".into(), "LATEST".into())]);
}

#[test]
fn creation_order_is_numeric_then_shard_id() {
    // "9" < "10" numerically; equal starting numbers fall back to string order of ids.
    let shards = [
        shard("shardId-2", &[], "10", false),
        shard("shardId-10", &[], "9", false),
        shard(
            "shardId-1",
            &[],
            "000000000000000000000000000000000000000000000000010",
            false,
        ),
        shard("shardId-0", &[], "10", false),
    ];
    let created = leases_to_create(&shards, &[], &InitialPosition::Latest, true);
    let keys: Vec<&str> = created.iter().map(|l| l.key.as_str()).collect();
    assert_eq!(keys, ["shardId-10", "shardId-0", "shardId-1", "shardId-2"]);
}

#[test]
fn split_child_of_a_leased_shard_gets_no_lease_from_the_sync() {
    // p (leased, closed) split into a and b (open): their leases come from p's SHARD_END.
    let shards = [
        shard("p", &[], "1", true),
        shard("a", &["p"], "5", false),
        shard("b", &["p"], "5", false),
    ];
    for pos in [
        InitialPosition::TrimHorizon,
        InitialPosition::Latest,
        InitialPosition::AtTimestamp(1),
    ] {
        assert!(leases_to_create(&shards, &existing(&["p"]), &pos, false).is_empty());
    }
    // An unrelated new open shard gets a lease at the initial position.
    let mut with_new = shards.to_vec();
    with_new.push(shard("x", &[], "7", false));
    let created = leases_to_create(
        &with_new,
        &existing(&["p"]),
        &InitialPosition::Latest,
        false,
    );
    assert_eq!(got(&created), [("x".into(), "LATEST".into())]);
}

#[test]
fn unrelated_lineage_includes_closed_ancestors_except_for_latest() {
    // Table holds an unrelated lease "z"; r (closed root) -> c (open child).
    let shards = [
        shard("z", &[], "1", false),
        shard("r", &[], "1", true),
        shard("c", &["r"], "5", false),
    ];
    let leases = existing(&["z"]);
    let th = leases_to_create(&shards, &leases, &InitialPosition::TrimHorizon, false);
    assert_eq!(got(&th), [("r".into(), "TRIM_HORIZON".into())]);
    let ts = leases_to_create(&shards, &leases, &InitialPosition::AtTimestamp(1), false);
    assert_eq!(got(&ts), [("r".into(), "AT_TIMESTAMP".into())]);
    let latest = leases_to_create(&shards, &leases, &InitialPosition::Latest, false);
    assert_eq!(got(&latest), [("c".into(), "LATEST".into())]);
}

#[test]
fn inconsistent_children_are_reported_and_skipped() {
    // o is open and already has an open child n: a listing caught mid-reshard.
    let shards = [shard("o", &[], "1", false), shard("n", &["o"], "5", false)];
    assert_eq!(inconsistent_shards(&shards), ["n"]);
    let created = leases_to_create(&shards, &existing(&["o"]), &InitialPosition::Latest, false);
    assert!(created.is_empty(), "{created:?}");
    let closed_parent = [shard("o", &[], "1", true), shard("n", &["o"], "5", false)];
    assert!(inconsistent_shards(&closed_parent).is_empty());
}

#[test]
fn malformed_cyclic_lineage_terminates() {
    let shards = [
        shard("a", &["b"], "1", false),
        shard("b", &["a"], "1", true),
    ];
    for pos in [InitialPosition::TrimHorizon, InitialPosition::Latest] {
        let _ = leases_to_create(&shards, &existing(&["q"]), &pos, false);
    }
}

#[test]
fn child_lease_is_trim_horizon_with_parents() {
    let child = shard("c", &["p1", "p2"], "99", false);
    let lease = child_lease(&child).unwrap();
    assert_eq!(lease.key, "c");
    assert_eq!(lease.checkpoint, trim_horizon());
    assert_eq!(lease.parent_shard_ids, ["p1", "p2"]);
    assert_eq!(lease.hash_range, Some(HashKeyRange::FULL));
    assert_eq!((lease.owner, lease.counter), (None, 0));
    assert_eq!(
        child_lease(&shard("orphan", &[], "1", false)),
        Err(LeaseError::ChildWithoutParents {
            shard_id: "orphan".into()
        })
    );
    // Duplicate or empty parent ids are not repeated.
    let mut odd = shard("c", &["p1", "p1"], "1", false);
    assert_eq!(child_lease(&odd).unwrap().parent_shard_ids, ["p1"]);
    odd.parent = Some(String::new());
    assert_eq!(child_lease(&odd).unwrap().parent_shard_ids, ["p1"]);
}

fn by_key(leases: Vec<Lease>) -> HashMap<String, Lease> {
    leases.into_iter().map(|l| (l.key.clone(), l)).collect()
}

fn at(key: &str, checkpoint: ExtendedSequenceNumber) -> Lease {
    Lease::new(key, checkpoint)
}

#[test]
fn parents_gate_children() {
    let mut child = Lease::new("c", trim_horizon());
    child.parent_shard_ids = vec!["p1".into(), "p2".into()];
    let number = ExtendedSequenceNumber::new(SequenceNumber::parse("123").unwrap(), 0);

    // Both parents gone: done.
    assert!(parents_done(&child, &HashMap::new()));
    // One at SHARD_END, the other gone: done.
    let map = by_key(vec![at("p1", ExtendedSequenceNumber::shard_end())]);
    assert!(parents_done(&child, &map));
    // One still processing: blocked on it.
    let map = by_key(vec![
        at("p1", ExtendedSequenceNumber::shard_end()),
        at("p2", number.clone()),
    ]);
    assert!(!parents_done(&child, &map));
    assert_eq!(blocking_parent(&child, &map), Some("p2"));
    // A parent lease never started (TRIM_HORIZON) blocks too.
    let map = by_key(vec![at("p1", trim_horizon())]);
    assert_eq!(blocking_parent(&child, &map), Some("p1"));
    // No parents at all: nothing to wait for.
    assert!(parents_done(&Lease::new("root", trim_horizon()), &map));
}

#[test]
fn merge_child_needs_both_parents_or_neither() {
    let parents = vec!["p1".to_string(), "p2".to_string()];
    let end = ExtendedSequenceNumber::shard_end;
    assert_eq!(
        merge_child_readiness(&parents, &HashMap::new()),
        MergeReadiness::Ready
    );
    let both = by_key(vec![at("p1", end()), at("p2", trim_horizon())]);
    assert_eq!(
        merge_child_readiness(&parents, &both),
        MergeReadiness::Ready
    );
    let one = by_key(vec![at("p2", end())]);
    assert_eq!(
        merge_child_readiness(&parents, &one),
        MergeReadiness::Partial {
            present: vec!["p2".into()],
            missing: vec!["p1".into()]
        }
    );
    assert_eq!(
        merge_child_readiness(&parents[..1], &one),
        MergeReadiness::NotAMerge
    );
}

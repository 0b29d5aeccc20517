//! When a finished shard's lease may be deleted (`docs/leases.md`, "Cleanup"; Java
//! `LeaseCleanupManager.cleanupLeaseForCompletedShard`).
//!
//! A lease whose checkpoint is `SHARD_END` stays in the table while its children may still need
//! it: a child shard starts only when every parent lease that still exists is finished, and a
//! shard sync decides which shards are descendants by the leases it finds. So a finished lease
//! goes only when
//!
//! * its children are known (`childShardIds`, written at its shard end) and every child's lease
//!   exists with a checkpoint past `TRIM_HORIZON` / `AT_TIMESTAMP`, i.e. every child has begun
//!   and checkpointed; and
//! * none of its own parents' leases is left (parents go first, so lineage is never cut in the
//!   middle).
//!
//! A finished lease whose shard is gone from the stream, with no children known or listed, is
//! deleted too ([`finished_shard_gone`]).
//!
//! Java enqueues a lease when its own worker finishes the shard and checks every five minutes;
//! kcl-bridge checks the finished leases it holds at each shard sync, against the scan that sync
//! reads. Both sides apply the same rule, so a table shared with Java workers stays consistent.

use super::{Lease, Shard};
use crate::checkpoint::SequenceNumber;

/// The shards in `shards` (a ListShards) that name `key` as a parent: a finished shard's
/// children, for a lease that does not record them.
pub fn children_of(key: &str, shards: &[Shard]) -> Vec<String> {
    shards
        .iter()
        .filter(|s| s.parent_ids().iter().any(|p| p == key))
        .map(|s| s.id.clone())
        .collect()
}

/// Why a finished lease is kept for now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keep {
    /// Its checkpoint is not `SHARD_END`.
    NotFinished,
    /// `childShardIds` is empty: the children are not known from the lease.
    ChildrenUnknown,
    /// A child shard has no lease yet.
    ChildWithoutLease(String),
    /// A child's lease is still at `TRIM_HORIZON` / `AT_TIMESTAMP`: it has not checkpointed.
    ChildNotBegun(String),
    /// A parent's lease is still in the table.
    ParentLeft(String),
}

impl std::fmt::Display for Keep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Keep::NotFinished => write!(f, "the shard is not finished"),
            Keep::ChildrenUnknown => write!(f, "the lease names no child shards"),
            Keep::ChildWithoutLease(c) => write!(f, "child shard {c} has no lease yet"),
            Keep::ChildNotBegun(c) => write!(f, "child shard {c} has not checkpointed yet"),
            Keep::ParentLeft(p) => write!(f, "the lease of parent shard {p} is still there"),
        }
    }
}

/// Whether a finished lease is left over from a shard that no longer exists: it names no
/// children, and the complete ListShards (`shards`) has neither its shard nor a child of it. Java
/// deletes such leases too (its "garbage" cleanup, for a shard that ended in
/// `ResourceNotFoundException`); kept, it would be renewed for ever.
pub fn finished_shard_gone(lease: &Lease, shards: &[Shard]) -> bool {
    lease.checkpoint.is_shard_end()
        && lease.child_shard_ids.is_empty()
        && !shards.iter().any(|s| s.id == lease.key)
        && children_of(&lease.key, shards).is_empty()
}

/// Whether `lease` may be deleted, given every lease in the table (`table`, the same scan).
pub fn finished_lease_deletable(lease: &Lease, table: &[Lease]) -> Result<(), Keep> {
    if !lease.checkpoint.is_shard_end() {
        return Err(Keep::NotFinished);
    }
    if lease.child_shard_ids.is_empty() {
        return Err(Keep::ChildrenUnknown);
    }
    let find = |key: &str| table.iter().find(|l| l.key == key);
    for child in &lease.child_shard_ids {
        let Some(child_lease) = find(child) else {
            return Err(Keep::ChildWithoutLease(child.clone()));
        };
        if matches!(
            child_lease.checkpoint.sequence_number,
            SequenceNumber::TrimHorizon | SequenceNumber::AtTimestamp
        ) {
            return Err(Keep::ChildNotBegun(child.clone()));
        }
    }
    if let Some(parent) = lease
        .parent_shard_ids
        .iter()
        .find(|p| find(p.as_str()).is_some())
    {
        return Err(Keep::ParentLeft(parent.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::ExtendedSequenceNumber;

    fn at(seq: SequenceNumber) -> ExtendedSequenceNumber {
        ExtendedSequenceNumber::new(seq, 0)
    }

    fn lease(key: &str, checkpoint: SequenceNumber, parents: &[&str], children: &[&str]) -> Lease {
        let mut l = Lease::new(key, at(checkpoint));
        l.parent_shard_ids = parents.iter().map(|p| p.to_string()).collect();
        l.child_shard_ids = children.iter().map(|c| c.to_string()).collect();
        l
    }

    fn number(n: &str) -> SequenceNumber {
        SequenceNumber::Number(n.into())
    }

    #[test]
    fn a_split_parent_goes_once_both_children_checkpointed() {
        let parent = lease("p", SequenceNumber::ShardEnd, &[], &["a", "b"]);
        let a = lease("a", number("5"), &["p"], &[]);
        let b_new = lease("b", SequenceNumber::TrimHorizon, &["p"], &[]);
        let b_begun = lease("b", number("7"), &["p"], &[]);
        let table = [parent.clone(), a.clone(), b_new];
        assert_eq!(
            finished_lease_deletable(&parent, &table),
            Err(Keep::ChildNotBegun("b".into()))
        );
        let table = [parent.clone(), a.clone()];
        assert_eq!(
            finished_lease_deletable(&parent, &table),
            Err(Keep::ChildWithoutLease("b".into()))
        );
        let table = [parent.clone(), a, b_begun];
        assert_eq!(finished_lease_deletable(&parent, &table), Ok(()));
    }

    #[test]
    fn a_child_that_finished_or_started_at_a_timestamp_counts_as_begun_or_not() {
        let parent = lease("p", SequenceNumber::ShardEnd, &[], &["c"]);
        let done = lease("c", SequenceNumber::ShardEnd, &["p"], &[]);
        assert_eq!(
            finished_lease_deletable(&parent, &[parent.clone(), done]),
            Ok(())
        );
        let at_ts = lease("c", SequenceNumber::AtTimestamp, &["p"], &[]);
        assert_eq!(
            finished_lease_deletable(&parent, &[parent.clone(), at_ts]),
            Err(Keep::ChildNotBegun("c".into()))
        );
    }

    #[test]
    fn parents_go_first() {
        let grandparent = lease("g", SequenceNumber::ShardEnd, &[], &["p"]);
        let parent = lease("p", SequenceNumber::ShardEnd, &["g"], &["c"]);
        let child = lease("c", number("1"), &["p"], &[]);
        let table = [grandparent.clone(), parent.clone(), child.clone()];
        assert_eq!(
            finished_lease_deletable(&parent, &table),
            Err(Keep::ParentLeft("g".into()))
        );
        assert_eq!(finished_lease_deletable(&grandparent, &table), Ok(()));
        assert_eq!(
            finished_lease_deletable(&parent, &[parent.clone(), child]),
            Ok(())
        );
    }

    #[test]
    fn children_are_the_shards_naming_the_lease_as_a_parent() {
        let shard = |id: &str, parent: Option<&str>, adjacent: Option<&str>| Shard {
            id: id.into(),
            parent: parent.map(Into::into),
            adjacent_parent: adjacent.map(Into::into),
            hash_range: crate::lease::HashKeyRange::FULL,
            starting_sequence_number: "0".into(),
            closed: false,
        };
        let shards = [
            shard("p", None, None),
            shard("a", Some("p"), None),
            shard("b", Some("p"), None),
            shard("m", Some("x"), Some("p")),
            shard("other", Some("q"), None),
        ];
        assert_eq!(children_of("p", &shards), ["a", "b", "m"]);
        assert!(children_of("a", &shards).is_empty());
    }

    #[test]
    fn a_finished_lease_whose_shard_is_gone_goes() {
        let listed = |id: &str, parent: Option<&str>| Shard {
            id: id.into(),
            parent: parent.map(Into::into),
            adjacent_parent: None,
            hash_range: crate::lease::HashKeyRange::FULL,
            starting_sequence_number: "0".into(),
            closed: false,
        };
        let gone = lease("g", SequenceNumber::ShardEnd, &[], &[]);
        let others = [listed("x", None)];
        assert!(finished_shard_gone(&gone, &others));
        // Still listed, or a listed shard names it as a parent, or it names children: not gone.
        assert!(!finished_shard_gone(&gone, &[listed("g", None)]));
        assert!(!finished_shard_gone(&gone, &[listed("c", Some("g"))]));
        let with_children = lease("g", SequenceNumber::ShardEnd, &[], &["c"]);
        assert!(!finished_shard_gone(&with_children, &others));
        // Not finished: never.
        let open = lease("g", number("3"), &[], &[]);
        assert!(!finished_shard_gone(&open, &others));
    }

    #[test]
    fn unfinished_leases_and_unknown_children_stay() {
        let open = lease("o", number("9"), &[], &["c"]);
        let child = lease("c", number("1"), &["o"], &[]);
        assert_eq!(
            finished_lease_deletable(&open, &[open.clone(), child]),
            Err(Keep::NotFinished)
        );
        let no_children = lease("p", SequenceNumber::ShardEnd, &[], &[]);
        assert_eq!(
            finished_lease_deletable(&no_children, std::slice::from_ref(&no_children)),
            Err(Keep::ChildrenUnknown)
        );
    }
}

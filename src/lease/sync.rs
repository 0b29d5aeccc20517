//! Shard sync and lineage (`docs/leases.md`, "Shard sync", "Parents first", "Child leases"): which
//! leases to create for a stream's shards, the lease for a child shard at `SHARD_END`, and the
//! parent checks that gate a child shard.
//!
//! Ported from Java `HierarchicalShardSyncer` (`EmptyLeaseTableSynchronizer`,
//! `NonEmptyLeaseTableSynchronizer`, `checkIfDescendantAndAddNewLeasesForAncestors`),
//! `ShutdownTask.createLeasesForChildShardsIfNotExist` and `BlockOnParentShardTask`; the
//! shard-sync decision table (`tests/data/lease/shard_sync.json`) carries Java's own test cases.
//! Pure: the caller lists shards, reads leases and creates the returned leases with
//! `attribute_not_exists(leaseKey)`, in the returned order (a crash part-way then leaves the
//! oldest shards covered first, as in Java).
//!
//! Interpretation of Java's rules where they are terse (`docs/leases.md`, "Shard sync"):
//!
//! * **Empty table.** Java lists shards *with a `ShardFilter`* for the initial position and
//!   creates one lease per returned shard at the initial-position sentinel. The caller should do
//!   the same and pass that filtered list: every shard in it is then "open at the initial
//!   position" and gets a lease. Given an unfiltered list, [`leases_to_create`] computes that set
//!   itself: for `LATEST` the open shards; for `TRIM_HORIZON` and `AT_TIMESTAMP` the roots
//!   (shards none of whose parents is listed) — on a filtered list both reduce to "every shard".
//!   Descendants get **no** lease here: as in Java they are created at their parents'
//!   `SHARD_END` ([`child_lease`], always `TRIM_HORIZON`). For `AT_TIMESTAMP` only the filtered
//!   list is exact: from an unfiltered list, descendants opened before the timestamp would be
//!   read from `TRIM_HORIZON` once their root ends.
//! * **Non-empty table** (Java's algorithm, verbatim): only *open* shards without a lease are
//!   starting points. A shard is a *descendant* if it or an ancestor has a lease (or, for
//!   `TRIM_HORIZON`/`AT_TIMESTAMP`, an unleased ancestor chain reaches a root, which is then
//!   marked for creation). An open shard that is not a descendant gets a lease at the initial
//!   position. For a descendant, leases are created one level only: for each unleased parent
//!   that is marked for creation or is itself not a descendant — checkpoint `TRIM_HORIZON` if
//!   that parent is a descendant (`AT_TIMESTAMP` when that is the initial position), else the
//!   initial position. The descendant itself gets no lease: its lease comes from its parents'
//!   `SHARD_END` path, at `TRIM_HORIZON` ("descendants of a leased shard start at
//!   `TRIM_HORIZON`"). With `LATEST` no closed ancestor is ever marked for creation, so only a
//!   non-descendant parent of a descendant (one side of a merge) gets a `LATEST` lease.
//! * Open shards with an open parent ("inconsistent", a listing race) are skipped;
//!   [`inconsistent_shards`] lets the caller abort the sync instead, as Java does unless
//!   `ignoreUnexpectedChildShards` is set.
//! * Shards that already have a lease never get a new one, in either mode (Java's empty-table
//!   path would try and fail on the condition; same outcome, fewer writes).

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use super::{initial_checkpoint, trim_horizon, HashKeyRange, Lease, LeaseError};
use crate::config::InitialPosition;

/// One shard as `ListShards` (or a `ChildShards` entry plus its range) describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    pub id: String,
    /// `ParentShardId`.
    pub parent: Option<String>,
    /// `AdjacentParentShardId` (the other parent of a merge).
    pub adjacent_parent: Option<String>,
    pub hash_range: HashKeyRange,
    /// `SequenceNumberRange.StartingSequenceNumber`, decimal.
    pub starting_sequence_number: String,
    /// Has an `EndingSequenceNumber`.
    pub closed: bool,
}

impl Shard {
    /// The parent ids as written on the shard (parent first), empty ones dropped.
    pub fn parent_ids(&self) -> Vec<String> {
        let mut ids = Vec::with_capacity(2);
        for p in [&self.parent, &self.adjacent_parent].into_iter().flatten() {
            if !p.is_empty() && !ids.contains(p) {
                ids.push(p.clone());
            }
        }
        ids
    }
}

/// A new unowned lease for `shard` (Java `newKCLLease`): parents as written on the shard, hash
/// range, counter 0, the given checkpoint.
fn new_lease(shard: &Shard, checkpoint: crate::checkpoint::ExtendedSequenceNumber) -> Lease {
    let mut lease = Lease::new(shard.id.clone(), checkpoint);
    lease.parent_shard_ids = shard.parent_ids();
    lease.hash_range = Some(shard.hash_range);
    lease
}

/// Compares decimal strings numerically (leading zeros ignored); non-decimal strings sort as
/// equal, leaving the shard-id tie-break.
fn cmp_decimal(a: &str, b: &str) -> Ordering {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if !digits(a) || !digits(b) {
        return Ordering::Equal;
    }
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Java's creation order: starting sequence number of the lease's shard, then shard id
/// (string order).
fn sort_for_creation(leases: &mut [Lease], shards: &HashMap<&str, &Shard>) {
    leases.sort_by(|x, y| {
        let by_sequence = match (shards.get(x.key.as_str()), shards.get(y.key.as_str())) {
            (Some(a), Some(b)) => {
                cmp_decimal(&a.starting_sequence_number, &b.starting_sequence_number)
            }
            _ => Ordering::Equal,
        };
        by_sequence.then_with(|| x.key.cmp(&y.key))
    });
}

/// Parent ids of `shard` that are in the listing (Java `getParentShardIds`).
fn listed_parents<'a>(shard: &'a Shard, shards: &HashMap<&str, &'a Shard>) -> Vec<&'a str> {
    let mut out: Vec<&'a str> = Vec::with_capacity(2);
    for p in [&shard.parent, &shard.adjacent_parent]
        .into_iter()
        .flatten()
    {
        if let Some(s) = shards.get(p.as_str()) {
            if !out.contains(&s.id.as_str()) {
                out.push(s.id.as_str());
            }
        }
    }
    out
}

/// Open shards that have an open listed parent — a shard list caught mid-reshard (Java
/// `findInconsistentShardIds`, restricted to what matters: they are skipped by the sync).
/// Sorted. Java aborts the sync when this is non-empty unless `ignoreUnexpectedChildShards`.
pub fn inconsistent_shards(shards: &[Shard]) -> Vec<String> {
    let by_id: HashMap<&str, &Shard> = shards.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut out: Vec<String> = shards
        .iter()
        .filter(|s| {
            listed_parents(s, &by_id)
                .iter()
                .any(|p| by_id.get(p).is_some_and(|p| !p.closed))
        })
        .map(|s| s.id.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The leases a shard sync creates (see the module docs for the rules), in creation order.
/// `existing` are the current leases (single-stream: key = shard id); `table_was_empty` selects
/// Java's empty-table rule (decided by the caller at start-up, as Java's leader does).
pub fn leases_to_create(
    shards: &[Shard],
    existing: &[Lease],
    initial_position: &InitialPosition,
    table_was_empty: bool,
) -> Vec<Lease> {
    let by_id: HashMap<&str, &Shard> = shards.iter().map(|s| (s.id.as_str(), s)).collect();
    let leased: HashSet<&str> = existing.iter().map(|l| l.key.as_str()).collect();
    let mut out = if table_was_empty {
        empty_table(shards, &by_id, &leased, initial_position)
    } else {
        let inconsistent: HashSet<String> = inconsistent_shards(shards).into_iter().collect();
        let mut sync = NonEmpty {
            shards: &by_id,
            leased: &leased,
            position: initial_position,
            new_leases: HashMap::new(),
            is_descendant: HashMap::new(),
            should_create: HashSet::new(),
        };
        for shard in shards.iter().filter(|s| !s.closed) {
            let id = shard.id.as_str();
            if leased.contains(id) || inconsistent.contains(id) {
                continue;
            }
            if !sync.check(id) {
                sync.new_leases.insert(
                    shard.id.clone(),
                    new_lease(shard, initial_checkpoint(initial_position)),
                );
            }
        }
        sync.new_leases.into_values().collect()
    };
    sort_for_creation(&mut out, &by_id);
    out
}

fn empty_table(
    shards: &[Shard],
    by_id: &HashMap<&str, &Shard>,
    leased: &HashSet<&str>,
    position: &InitialPosition,
) -> Vec<Lease> {
    let mut seen = HashSet::new();
    shards
        .iter()
        .filter(|s| match position {
            InitialPosition::Latest => !s.closed,
            InitialPosition::TrimHorizon | InitialPosition::AtTimestamp(_) => {
                listed_parents(s, by_id).is_empty()
            }
        })
        .filter(|s| !leased.contains(s.id.as_str()) && seen.insert(s.id.as_str()))
        .map(|s| new_lease(s, initial_checkpoint(position)))
        .collect()
}

/// State of one non-empty-table sync (Java's `MemoizationContext` plus the new-lease map).
struct NonEmpty<'a, 'b> {
    shards: &'b HashMap<&'a str, &'a Shard>,
    leased: &'b HashSet<&'a str>,
    position: &'b InitialPosition,
    new_leases: HashMap<String, Lease>,
    is_descendant: HashMap<&'a str, bool>,
    should_create: HashSet<&'a str>,
}

impl<'a> NonEmpty<'a, '_> {
    /// Java `checkIfDescendantAndAddNewLeasesForAncestors`.
    fn check(&mut self, shard_id: &'a str) -> bool {
        if let Some(&known) = self.is_descendant.get(shard_id) {
            return known;
        }
        // Provisional answer: only ever read on a cycle, which Kinesis lineage cannot have; it
        // keeps malformed input from recursing forever.
        self.is_descendant.insert(shard_id, false);
        let Some(&shard) = self.shards.get(shard_id) else {
            return false;
        };
        let mut is_descendant = false;
        if self.leased.contains(shard_id) {
            is_descendant = true;
        } else {
            let parents = listed_parents(shard, self.shards);
            let mut descendant_parents: Vec<&str> = Vec::with_capacity(2);
            for &p in &parents {
                if self.check(p) || self.should_create.contains(p) {
                    is_descendant = true;
                    descendant_parents.push(p);
                }
            }
            if is_descendant {
                for &p in &parents {
                    if self.leased.contains(p) {
                        continue;
                    }
                    let is_desc_parent = descendant_parents.contains(&p);
                    if !self.new_leases.contains_key(p)
                        && (self.should_create.contains(p) || !is_desc_parent)
                    {
                        if let Some(&parent) = self.shards.get(p) {
                            self.new_leases
                                .insert(p.to_owned(), new_lease(parent, trim_horizon()));
                        }
                    }
                    if let Some(lease) = self.new_leases.get_mut(p) {
                        lease.checkpoint = if is_desc_parent
                            && !matches!(self.position, InitialPosition::AtTimestamp(_))
                        {
                            trim_horizon()
                        } else {
                            initial_checkpoint(self.position)
                        };
                    }
                }
            } else if !matches!(self.position, InitialPosition::Latest) {
                self.should_create.insert(shard_id);
            }
        }
        self.is_descendant.insert(shard_id, is_descendant);
        is_descendant
    }
}

/// The lease for a child shard at its parent's `SHARD_END` (Java `createLeaseForChildShard`):
/// checkpoint **`TRIM_HORIZON` whatever the initial position** (fact 8), parents from the
/// `ChildShards` entry, hash range, unowned, counter 0. Fails for a child without parents, as
/// Java does. Create it with `attribute_not_exists(leaseKey)`; losing that race is success.
pub fn child_lease_for(
    shard_id: &str,
    parent_shard_ids: &[String],
    hash_range: HashKeyRange,
) -> Result<Lease, LeaseError> {
    if parent_shard_ids.is_empty() {
        return Err(LeaseError::ChildWithoutParents {
            shard_id: shard_id.to_owned(),
        });
    }
    let mut lease = Lease::new(shard_id, trim_horizon());
    lease.parent_shard_ids = parent_shard_ids.to_vec();
    lease.hash_range = Some(hash_range);
    Ok(lease)
}

/// [`child_lease_for`] from a [`Shard`].
pub fn child_lease(child: &Shard) -> Result<Lease, LeaseError> {
    child_lease_for(&child.id, &child.parent_ids(), child.hash_range)
}

/// The first parent of `lease` that blocks it: a parent lease that still exists and is not at
/// `SHARD_END` (Java `BlockOnParentShardTask`). A missing parent lease counts as done.
pub fn blocking_parent<'a>(
    lease: &'a Lease,
    leases_by_key: &HashMap<String, Lease>,
) -> Option<&'a str> {
    lease
        .parent_shard_ids
        .iter()
        .find(|p| {
            leases_by_key
                .get(p.as_str())
                .is_some_and(|l| !l.is_shard_end())
        })
        .map(String::as_str)
}

/// Whether `lease`'s shard may start: every parent lease that still exists is at `SHARD_END`;
/// a deleted parent lease counts as done. Otherwise poll again after
/// `parentShardPollIntervalMillis`.
pub fn parents_done(lease: &Lease, leases_by_key: &HashMap<String, Lease>) -> bool {
    blocking_parent(lease, leases_by_key).is_none()
}

/// Whether a merge child's lease may be created at `SHARD_END` (Java
/// `ShutdownTask.createLeasesForChildShardsIfNotExist`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeReadiness {
    /// Fewer than two parents: not a merge, nothing to check.
    NotAMerge,
    /// All parent leases exist, or all are gone: create the child lease.
    Ready,
    /// Some parent leases exist and some do not: wait and retry (Java sleeps, or at random
    /// 1-in-N drops the lease so another worker retries). Log `missing` at WARN
    /// (`docs/leases.md`, "Child leases").
    Partial {
        present: Vec<String>,
        missing: Vec<String>,
    },
}

/// Checks a merge child's parents (`parent_shard_ids` of the single `ChildShards` entry) against
/// the lease table. Note: Java also fails with `InvalidStateException` when a shard's *only*
/// child lists fewer than two parents; that check is on the `ChildShards` list and is the
/// caller's ([`MergeReadiness::NotAMerge`] tells it).
pub fn merge_child_readiness(
    parent_shard_ids: &[String],
    leases_by_key: &HashMap<String, Lease>,
) -> MergeReadiness {
    if parent_shard_ids.len() < 2 {
        return MergeReadiness::NotAMerge;
    }
    let (present, missing): (Vec<String>, Vec<String>) = parent_shard_ids
        .iter()
        .cloned()
        .partition(|p| leases_by_key.contains_key(p));
    if present.is_empty() || missing.is_empty() {
        MergeReadiness::Ready
    } else {
        MergeReadiness::Partial { present, missing }
    }
}

#[cfg(test)]
mod tests;

//! The lease table as the worker sees it: the [`LeaseTable`] trait, with DynamoDB's conditional
//! writes as outcomes ([`Written`]), not errors. [`super::dynamo::DynamoLeaseTable`] is the real
//! table; [`super::memory::MemoryLeaseTable`] keeps the same rules in memory for unit tests (and a
//! test runs one sequence of writes on both, so the two cannot drift apart).
//!
//! Every write that depends on holding a lease is conditioned on the `leaseCounter` we last saw.
//! Rows that are not leases (KCL 3.x leader lock, migration state, worker metrics) are reported
//! apart ([`OtherRow`]) and never written.

use std::future::Future;

use super::Lease;
use crate::checkpoint::ExtendedSequenceNumber;

/// Why a lease-table call failed (a failed condition is not an error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("the lease table is throttling requests: {0}")]
    Throttled(String),
    #[error("the lease table does not exist: {0}")]
    TableMissing(String),
    #[error("access denied or bad credentials: {0}")]
    AccessDenied(String),
    #[error("lease table request failed: {0}")]
    Other(String),
}

/// A row of the lease table that is not a lease (KCL 3.x metadata), with what we look at.
#[derive(Debug, Clone, PartialEq)]
pub struct OtherRow {
    pub key: String,
    pub entity_type: Option<String>,
    /// `cv` of the `Migration3.0` row: the application's KCL client version.
    pub client_version: Option<String>,
    /// `lut` of a worker-metrics row: its last update, epoch seconds.
    pub last_update: Option<i64>,
}

/// One scan of the table.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub leases: Vec<Lease>,
    pub other_rows: Vec<OtherRow>,
}

/// The result of a counter-conditioned write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// The write happened; the lease's counter is now this.
    Ok { counter: u64 },
    /// The condition failed: the lease is not ours any more (or changed under us). `seen` is the
    /// row as the failed condition found it, when there is one and it is still a lease.
    Lost { seen: Option<Seen> },
}

/// Who held a lease, and at which counter, when our conditional write failed: for the log line
/// that says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub owner: Option<String>,
    pub counter: u64,
}

impl std::fmt::Display for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.owner {
            Some(owner) => write!(f, "counter {} held by {owner}", self.counter),
            None => write!(f, "counter {} with no owner", self.counter),
        }
    }
}

/// The lease table of one application.
pub trait LeaseTable: Clone + Send + Sync + 'static {
    fn name(&self) -> &str;

    /// Creates the table if it does not exist, and waits until it can be used. Returns whether
    /// this call created it.
    fn ensure_table(
        &self,
        deletion_protection: bool,
        point_in_time_recovery: bool,
    ) -> impl Future<Output = Result<bool, TableError>> + Send;

    /// Every row, read consistently: leases and other rows apart.
    fn scan(&self) -> impl Future<Output = Result<Scan, TableError>> + Send;

    /// The rows of the KCL 3.0–3.4 metadata tables (`<app>-CoordinatorState`,
    /// `<app>-WorkerMetricStats`), judged like the rows KCL 3.5 keeps in the lease table. A table
    /// that does not exist yields no rows.
    fn scan_legacy_metadata(
        &self,
        coordinator_state: &str,
        worker_metrics: &str,
    ) -> impl Future<Output = Result<Vec<OtherRow>, TableError>> + Send;

    /// One lease, read consistently. `None` if absent or not a lease.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Lease>, TableError>> + Send;

    /// Creates a lease unless a row with its key exists. Returns whether this call created it.
    fn create_if_absent(
        &self,
        lease: &Lease,
    ) -> impl Future<Output = Result<bool, TableError>> + Send;

    /// Renews a lease we hold: counter C → C+1, conditioned on C and on no 3.x hand-off in
    /// progress.
    fn renew(
        &self,
        lease: &Lease,
        me: &str,
    ) -> impl Future<Output = Result<Written, TableError>> + Send;

    /// Takes a lease: counter C → C+1, owner := me, any 3.x hand-off marker removed, owner
    /// switches +1 when the owner changes. Conditioned on C.
    fn take(
        &self,
        lease: &Lease,
        me: &str,
    ) -> impl Future<Output = Result<Written, TableError>> + Send;

    /// Stores a checkpoint under the lease we hold: counter C → C+1, owner switches reset, any
    /// prepared checkpoint removed. Conditioned on C and on our ownership.
    fn checkpoint(
        &self,
        lease: &Lease,
        me: &str,
        at: &ExtendedSequenceNumber,
    ) -> impl Future<Output = Result<Written, TableError>> + Send;

    /// Gives a lease up so that any worker may take it at once: owner removed, C → C+1.
    /// Conditioned on C and on our ownership. (Java never does this; its peers treat an ownerless
    /// lease as available.)
    fn release(
        &self,
        lease: &Lease,
        me: &str,
    ) -> impl Future<Output = Result<Written, TableError>> + Send;

    /// Deletes a finished shard's lease: only a row that still exists at `SHARD_END` (unlike
    /// Java's unconditional delete, a lease re-created meanwhile is never removed). Returns
    /// whether this call deleted it.
    fn delete_finished(&self, key: &str) -> impl Future<Output = Result<bool, TableError>> + Send;

    /// Records a finished shard's children on its lease (counter untouched). A lease that is gone
    /// needs none: not an error.
    fn set_child_shards(
        &self,
        key: &str,
        children: &[String],
    ) -> impl Future<Output = Result<(), TableError>> + Send;
}

/// Whether `found` is the row a renewal or take by `me` leaves behind at counter `next`: `me`
/// owns it and no 3.x hand-off is in progress. A conditional write whose condition failed on such
/// a row had in fact succeeded (a retry after its reply was lost).
pub fn held_by(found: &Lease, me: &str, next: u64) -> bool {
    found.owner.as_deref() == Some(me) && found.counter == next && found.checkpoint_owner.is_none()
}

/// The same for a checkpoint at `at`.
pub fn checkpointed_by(found: &Lease, me: &str, next: u64, at: &ExtendedSequenceNumber) -> bool {
    found.owner.as_deref() == Some(me)
        && found.counter == next
        && found.checkpoint.cmp(at) == std::cmp::Ordering::Equal
        && found.owner_switches_since_checkpoint == 0
}

/// The same for a release.
pub fn released(found: &Lease, next: u64) -> bool {
    found.owner.is_none() && found.counter == next
}

/// The outcome of a counter-conditioned write to `lease` whose condition failed on `found`
/// (`None`: no row, or not a lease): done if `found` is what the write leaves (`ours`), else lost.
pub fn failed_condition(
    lease: &Lease,
    found: Option<Lease>,
    ours: impl Fn(&Lease, u64) -> bool,
) -> Written {
    let next = lease.counter + 1;
    match found {
        Some(l) if ours(&l, next) => Written::Ok { counter: next },
        seen => Written::Lost {
            seen: seen.map(|l| Seen {
                owner: l.owner,
                counter: l.counter,
            }),
        },
    }
}

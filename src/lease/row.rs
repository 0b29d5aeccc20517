//! Which lease-table rows are leases, and which worker ids are unsafe
//! (`docs/leases.md`, "Other rows", "Worker id").
//!
//! KCL 3.5 keeps non-lease items in the lease table (leader lock, migration state, one
//! worker-metrics row per worker, stream metadata). The DynamoDB layer asks [`classify_row`]
//! before deserializing a scanned item, and checks the configured worker id with
//! [`reserved_worker_id`] at start-up. Pure: the caller extracts the few attributes needed.

/// The `leaseKey` values KCL 3.5 uses for coordinator-state rows in the lease table.
pub const RESERVED_KEYS: [&str; 3] = ["Leader", "Migration3.0", "TableMigration3.5"];

/// The only `entityType` value that marks a lease (absent also means lease: pre-3.5 rows).
pub const LEASE_ENTITY_TYPE: &str = "LEASE";

/// What a scanned lease-table row is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowKind {
    /// Deserialize it as a [`super::Lease`].
    Lease,
    /// Ignore it (log once at debug): never take, renew or write it.
    NotALease(NotALeaseReason),
}

/// Why a row is not a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotALeaseReason {
    /// `entityType` is present and not `LEASE` (e.g. `LEADER`, `WORKER_METRIC_STATS`).
    EntityType(String),
    /// No `leaseCounter` attribute (e.g. a lock-client or worker-metrics row from 3.0–3.4 tools).
    NoCounter,
    /// No `checkpoint` attribute.
    NoCheckpoint,
    /// An empty `leaseKey` (DynamoDB forbids it for a key; defensive only).
    EmptyKey,
}

/// Classifies one scanned row: a lease only if `entityType` is absent or `LEASE` **and** both
/// `leaseCounter` and `checkpoint` are present (`docs/leases.md`, "Other rows"). Java 3.5 checks
/// only `entityType`; the attribute check additionally ignores rows of tools that predate
/// `entityType`.
pub fn classify_row(
    entity_type: Option<&str>,
    lease_key: &str,
    has_counter: bool,
    has_checkpoint: bool,
) -> RowKind {
    match entity_type {
        Some(t) if t != LEASE_ENTITY_TYPE => {
            RowKind::NotALease(NotALeaseReason::EntityType(t.to_owned()))
        }
        _ if lease_key.is_empty() => RowKind::NotALease(NotALeaseReason::EmptyKey),
        _ if !has_counter => RowKind::NotALease(NotALeaseReason::NoCounter),
        _ if !has_checkpoint => RowKind::NotALease(NotALeaseReason::NoCheckpoint),
        _ => RowKind::Lease,
    }
}

/// Why a worker id may not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReservedWorkerId {
    #[error("the worker id is empty")]
    Empty,
    /// Equal to a KCL 3.5 coordinator-state key in the lease table.
    #[error("the worker id {0:?} is a key KCL 3.5 reserves in the lease table")]
    ReservedKey(&'static str),
    /// Equal to an existing lease key: in single-table mode the worker-metrics row would be
    /// written over that lease.
    #[error("the worker id {0:?} equals a lease key in the lease table")]
    LeaseKey(String),
}

/// `Some(reason)` when `id` must not be used as `workerId` (`docs/leases.md`, "Worker id"): empty,
/// equal to `Leader`, `Migration3.0`, `TableMigration3.5`, or to one of `lease_keys`. Comparison is
/// exact (DynamoDB keys are case-sensitive).
pub fn reserved_worker_id<'a, I>(id: &str, lease_keys: I) -> Option<ReservedWorkerId>
where
    I: IntoIterator<Item = &'a str>,
{
    if id.is_empty() {
        return Some(ReservedWorkerId::Empty);
    }
    if let Some(k) = RESERVED_KEYS.iter().find(|k| **k == id) {
        return Some(ReservedWorkerId::ReservedKey(k));
    }
    if lease_keys.into_iter().any(|k| k == id) {
        return Some(ReservedWorkerId::LeaseKey(id.to_owned()));
    }
    None
}

/// Whether `key` is a multi-stream lease key, `<account>:<stream>:<creation epoch>:<shardId>`
/// (`docs/leases.md`, "Multi-stream"), as a KCL application that consumes several streams writes
/// them.
pub fn is_multi_stream_lease_key(key: &str) -> bool {
    let mut parts = key.splitn(4, ':');
    let (Some(account), Some(stream), Some(epoch), Some(shard)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(account)
        && !stream.is_empty()
        && digits(epoch)
        && epoch.bytes().any(|b| b != b'0')
        && !shard.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_stream_lease_keys() {
        for key in [
            "123456789012:orders:1700000000:shardId-000000000000",
            "1:s:5:shardId-1",
        ] {
            assert!(is_multi_stream_lease_key(key), "{key}");
        }
        for key in [
            "shardId-000000000000",
            "123456789012:orders:0:shardId-000000000000",
            "acct:orders:1700000000:shardId-0",
            "123456789012::1700000000:shardId-0",
            "123456789012:orders:1700000000:",
            "123456789012:orders:1700000000",
            "Leader",
        ] {
            assert!(!is_multi_stream_lease_key(key), "{key}");
        }
    }

    #[test]
    fn rows_that_are_leases() {
        assert_eq!(
            classify_row(None, "shardId-000000000000", true, true),
            RowKind::Lease
        );
        assert_eq!(
            classify_row(Some("LEASE"), "shardId-000000000000", true, true),
            RowKind::Lease
        );
    }

    #[test]
    fn rows_that_are_not_leases() {
        for t in [
            "LEADER",
            "CLIENT_VERSION_MIGRATION",
            "TABLE_MIGRATION",
            "WORKER_METRIC_STATS",
            "STREAM",
            "lease",
        ] {
            assert_eq!(
                classify_row(Some(t), "k", true, true),
                RowKind::NotALease(NotALeaseReason::EntityType(t.into())),
                "{t}"
            );
        }
        // A lock-client `Leader` row written before `entityType` existed.
        assert_eq!(
            classify_row(None, "Leader", false, false),
            RowKind::NotALease(NotALeaseReason::NoCounter)
        );
        assert_eq!(
            classify_row(None, "s", true, false),
            RowKind::NotALease(NotALeaseReason::NoCheckpoint)
        );
        assert_eq!(
            classify_row(Some("LEASE"), "", true, true),
            RowKind::NotALease(NotALeaseReason::EmptyKey)
        );
    }

    #[test]
    fn worker_ids() {
        let keys = ["shardId-000000000000", "shardId-000000000001"];
        assert_eq!(reserved_worker_id("w-1", keys), None);
        assert_eq!(reserved_worker_id("", keys), Some(ReservedWorkerId::Empty));
        for k in RESERVED_KEYS {
            assert_eq!(
                reserved_worker_id(k, keys),
                Some(ReservedWorkerId::ReservedKey(k))
            );
        }
        assert_eq!(reserved_worker_id("leader", keys), None, "case-sensitive");
        assert_eq!(
            reserved_worker_id("shardId-000000000001", keys),
            Some(ReservedWorkerId::LeaseKey("shardId-000000000001".into()))
        );
        assert_eq!(
            reserved_worker_id("shardId-000000000001", Vec::<&str>::new()),
            None
        );
    }
}

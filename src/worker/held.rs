//! A lease this worker holds, shared by the renewal loop and the shard's checkpoints, and the
//! checkpoint sink bound to it. Every write to a held lease goes through one mutex, so renewals
//! and checkpoints never race each other's `leaseCounter` condition.

use std::sync::Arc;

use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::checkpoint::{CheckpointError, CheckpointSink, ExtendedSequenceNumber};
use crate::lease::dynamo::{DynamoLeaseTable, LeaseError, Seen, Written};
use crate::lease::Lease;

/// A held lease: the row as we last wrote it, and a token cancelled once it is known lost.
#[derive(Clone, Debug)]
pub struct HeldLease {
    lease: Arc<Mutex<Lease>>,
    lost: CancellationToken,
}

impl HeldLease {
    pub fn new(lease: Lease) -> Self {
        HeldLease {
            lease: Arc::new(Mutex::new(lease)),
            lost: CancellationToken::new(),
        }
    }

    pub async fn snapshot(&self) -> Lease {
        self.lease.lock().await.clone()
    }

    /// Cancelled when the lease is lost; never un-cancelled.
    pub fn lost(&self) -> &CancellationToken {
        &self.lost
    }

    pub fn is_lost(&self) -> bool {
        self.lost.is_cancelled()
    }

    /// Renews the lease. Returns false if it is (now) lost.
    pub async fn renew(&self, table: &DynamoLeaseTable, me: &str) -> Result<bool, LeaseError> {
        let mut lease = self.lease.lock().await;
        if self.is_lost() {
            return Ok(false);
        }
        match table.renew(&lease, me).await? {
            Written::Ok { counter } => {
                lease.counter = counter;
                Ok(true)
            }
            Written::Lost { seen } => {
                warn!(lease = %lease.key, expected_counter = lease.counter, seen = %describe(&seen), "lease lost: another worker changed it");
                self.lost.cancel();
                Ok(false)
            }
        }
    }

    /// Gives the lease up in the table (owner removed) so another worker can take it at once.
    pub async fn release(&self, table: &DynamoLeaseTable, me: &str) {
        let mut lease = self.lease.lock().await;
        if self.is_lost() {
            return;
        }
        match table.release(&lease, me).await {
            Ok(Written::Ok { counter }) => {
                lease.counter = counter;
                lease.owner = None;
                info!(lease = %lease.key, "lease released");
            }
            Ok(Written::Lost { seen }) => {
                warn!(lease = %lease.key, expected_counter = lease.counter, seen = %describe(&seen), "lease was already lost when releasing it")
            }
            Err(e) => {
                warn!(lease = %lease.key, error = %e, "could not release the lease; it will expire")
            }
        }
        self.lost.cancel();
    }
}

/// What a failed condition found, for the log.
fn describe(seen: &Option<Seen>) -> String {
    match seen {
        Some(seen) => seen.to_string(),
        None => "the row was not returned (deleted, or not a lease)".to_owned(),
    }
}

/// Stores a child's checkpoints in the lease it was started under, conditioned on the counter
/// we hold; refuses once the lease is lost.
pub struct LeaseSink {
    pub held: HeldLease,
    pub table: DynamoLeaseTable,
    pub me: String,
}

impl CheckpointSink for LeaseSink {
    async fn save(&mut self, at: &ExtendedSequenceNumber) -> Result<(), CheckpointError> {
        let mut lease = self.held.lease.lock().await;
        if self.held.is_lost() {
            info!(lease = %lease.key, checkpoint = %at, "checkpoint refused: the lease was lost earlier");
            return Err(CheckpointError::Shutdown);
        }
        match self.table.checkpoint(&lease, &self.me, at).await {
            Ok(Written::Ok { counter }) => {
                lease.counter = counter;
                lease.checkpoint = at.clone();
                lease.owner_switches_since_checkpoint = 0;
                Ok(())
            }
            Ok(Written::Lost { seen }) => {
                warn!(lease = %lease.key, expected_counter = lease.counter, seen = %describe(&seen), "checkpoint refused: the lease is no longer ours");
                self.held.lost.cancel();
                Err(CheckpointError::Shutdown)
            }
            Err(LeaseError::Throttled(e)) => {
                warn!(error = %e, "checkpoint throttled");
                Err(CheckpointError::Throttling)
            }
            Err(LeaseError::TableMissing(e)) => {
                warn!(error = %e, "checkpoint failed: no lease table");
                Err(CheckpointError::InvalidState)
            }
            Err(LeaseError::Other(e) | LeaseError::AccessDenied(e)) => {
                warn!(error = %e, "checkpoint failed");
                Err(CheckpointError::Dependency)
            }
        }
    }
}

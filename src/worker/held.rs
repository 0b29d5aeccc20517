//! A lease this worker holds, shared by the renewal loop and the shard's checkpoints, and the
//! checkpoint sink bound to it. Every write to a held lease goes through one mutex, so renewals
//! and checkpoints never race each other's `leaseCounter` condition.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Mutex};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::checkpoint::{CheckpointError, CheckpointSink, ExtendedSequenceNumber};
use crate::lease::{Lease, LeaseTable, Seen, TableError, Written};

/// A held lease: the row as we last wrote it, a token cancelled once it is known lost, and when
/// the table last confirmed it was ours.
#[derive(Clone, Debug)]
pub struct HeldLease {
    lease: Arc<Mutex<Lease>>,
    lost: CancellationToken,
    /// When the last write that proved the lease ours (take, renewal, checkpoint) was *sent*:
    /// the lease was ours at some instant after it.
    confirmed: Arc<watch::Sender<Instant>>,
}

impl HeldLease {
    /// A lease just taken by a write sent at `taken_at`.
    pub fn new(lease: Lease, taken_at: Instant) -> Self {
        HeldLease {
            lease: Arc::new(Mutex::new(lease)),
            lost: CancellationToken::new(),
            confirmed: Arc::new(watch::Sender::new(taken_at)),
        }
    }

    fn confirm(&self, sent: Instant) {
        self.confirmed.send_if_modified(|at| {
            let newer = sent > *at;
            if newer {
                *at = sent;
            }
            newer
        });
    }

    /// Waits until the lease was confirmed ours less than `max_age` ago. Returns false, at once,
    /// if it is lost or `give_up` is cancelled first.
    ///
    /// A worker that takes this lease from us starts its record processor `failoverTimeMillis`
    /// after its take (`Observed::handover_wait`), and its take came after our last confirmed
    /// write. So a batch handed to our child while the confirmation is younger than that (less a
    /// margin for the batch itself) is never in both workers' processors at once, even when our
    /// renewals are slow to come back and we have not yet learned of the take.
    pub async fn confirmed_within(&self, max_age: Duration, give_up: &CancellationToken) -> bool {
        let mut confirmed = self.confirmed.subscribe();
        let mut warned = false;
        loop {
            let age = confirmed.borrow_and_update().elapsed();
            if self.is_lost() || give_up.is_cancelled() {
                return false;
            }
            if age < max_age {
                return true;
            }
            if !warned {
                warn!(unconfirmed_for = ?age, "the lease has not been renewed for a while (renewals slow or failing): \
                       holding the next batch until a renewal confirms the lease, so that no other worker can be \
                       processing this shard at the same time");
                warned = true;
            }
            tokio::select! {
                changed = confirmed.changed() => if changed.is_err() { return false },
                () = self.lost.cancelled() => return false,
                () = give_up.cancelled() => return false,
            }
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
    pub async fn renew(&self, table: &impl LeaseTable, me: &str) -> Result<bool, TableError> {
        let mut lease = self.lease.lock().await;
        if self.is_lost() {
            return Ok(false);
        }
        let sent = Instant::now();
        match table.renew(&lease, me).await? {
            Written::Ok { counter } => {
                lease.counter = counter;
                self.confirm(sent);
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
    pub async fn release(&self, table: &impl LeaseTable, me: &str) {
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
pub struct LeaseSink<T> {
    pub held: HeldLease,
    pub table: T,
    pub me: String,
}

impl<T: LeaseTable> CheckpointSink for LeaseSink<T> {
    async fn save(&mut self, at: &ExtendedSequenceNumber) -> Result<(), CheckpointError> {
        let mut lease = self.held.lease.lock().await;
        if self.held.is_lost() {
            info!(lease = %lease.key, checkpoint = %at, "checkpoint refused: the lease was lost earlier");
            return Err(CheckpointError::Shutdown);
        }
        let sent = Instant::now();
        match self.table.checkpoint(&lease, &self.me, at).await {
            Ok(Written::Ok { counter }) => {
                self.held.confirm(sent);
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
            Err(TableError::Throttled(e)) => {
                warn!(error = %e, "checkpoint throttled");
                Err(CheckpointError::Throttling)
            }
            Err(TableError::TableMissing(e)) => {
                warn!(error = %e, "checkpoint failed: no lease table");
                Err(CheckpointError::InvalidState)
            }
            Err(TableError::Other(e) | TableError::AccessDenied(e)) => {
                warn!(error = %e, "checkpoint failed");
                Err(CheckpointError::Dependency)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lease::trim_horizon;

    const WINDOW: Duration = Duration::from_secs(2);

    fn held() -> HeldLease {
        HeldLease::new(Lease::new("shardId-0", trim_horizon()), Instant::now())
    }

    #[tokio::test(start_paused = true)]
    async fn a_recently_confirmed_lease_delivers_at_once() {
        let h = held();
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(h.confirmed_within(WINDOW, &CancellationToken::new()).await);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unconfirmed_lease_holds_the_batch_until_a_renewal_confirms_it() {
        let h = held();
        tokio::time::advance(Duration::from_secs(3)).await;
        let waiter = tokio::spawn({
            let h = h.clone();
            async move { h.confirmed_within(WINDOW, &CancellationToken::new()).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "held while unconfirmed");
        // A confirmation from before the window does not release it; a fresh one does.
        h.confirm(Instant::now() - Duration::from_secs(5));
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        h.confirm(Instant::now());
        assert!(waiter.await.unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_lease_or_a_shutdown_ends_the_wait_without_delivering() {
        let h = held();
        tokio::time::advance(Duration::from_secs(3)).await;
        let give_up = CancellationToken::new();
        let waiter = tokio::spawn({
            let (h, give_up) = (h.clone(), give_up.clone());
            async move { h.confirmed_within(WINDOW, &give_up).await }
        });
        tokio::task::yield_now().await;
        give_up.cancel();
        assert!(!waiter.await.unwrap());
        let fresh = held();
        fresh.lost().cancel();
        assert!(
            !fresh
                .confirmed_within(WINDOW, &CancellationToken::new())
                .await
        );
    }
}

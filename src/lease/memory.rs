//! A lease table in memory with DynamoDB's conditional-write rules, for unit tests of the worker.
//! `tests/it/lease_table.rs` runs one sequence of writes on it and on the real table (moto) and
//! requires the same outcomes, so the two cannot drift apart.
//!
//! Besides the [`LeaseTable`] calls it lets a test act as another worker ([`MemoryLeaseTable::update`],
//! [`MemoryLeaseTable::put`]), make calls fail ([`MemoryLeaseTable::fail`]), and watch every call
//! ([`MemoryLeaseTable::observe`]). It holds leases only: no KCL 3.x metadata rows.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use super::table::{
    checkpointed_by, failed_condition, held_by, released, LeaseTable, OtherRow, Scan, TableError,
    Written,
};
use super::Lease;
use crate::checkpoint::{ExtendedSequenceNumber, SequenceNumber};

type Observer = Arc<dyn Fn(String) + Send + Sync>;

#[derive(Default)]
struct State {
    exists: bool,
    leases: BTreeMap<String, Lease>,
    /// Calls to fail: operation name → the errors to answer with, in order.
    failures: HashMap<&'static str, Vec<TableError>>,
}

/// The lease table of one application, in memory. Cloning shares it.
#[derive(Clone)]
pub struct MemoryLeaseTable {
    name: String,
    state: Arc<Mutex<State>>,
    observer: Option<Observer>,
}

impl std::fmt::Debug for MemoryLeaseTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryLeaseTable")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl MemoryLeaseTable {
    /// A table that does not exist yet (`ensure_table` creates it).
    pub fn new(name: &str) -> Self {
        MemoryLeaseTable {
            name: name.to_owned(),
            state: Arc::default(),
            observer: None,
        }
    }

    /// Calls `observer` with a line for every call and its outcome, e.g.
    /// `table renew shardId-000000000000 by w1 -> ok 4`.
    pub fn observe(mut self, observer: impl Fn(String) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn tell(&self, line: String) {
        if let Some(observer) = &self.observer {
            observer(format!("table {line}"));
        }
    }

    /// Makes the next calls of `operation` (the [`LeaseTable`] method's name) fail with
    /// `errors`, one each, in order.
    pub fn fail(&self, operation: &'static str, errors: Vec<TableError>) {
        self.state().failures.insert(operation, errors);
    }

    /// The error the next call of `operation` is to fail with, if any.
    fn failure(&self, operation: &'static str) -> Option<TableError> {
        let mut state = self.state();
        let errors = state.failures.get_mut(operation)?;
        if errors.is_empty() {
            return None;
        }
        Some(errors.remove(0))
    }

    /// Writes `lease` as it is, whatever was there (another worker's doing).
    pub fn put(&self, lease: Lease) {
        let mut state = self.state();
        state.exists = true;
        state.leases.insert(lease.key.clone(), lease);
    }

    /// Changes a lease in place (another worker's doing); false if there is none.
    pub fn update(&self, key: &str, change: impl FnOnce(&mut Lease)) -> bool {
        match self.state().leases.get_mut(key) {
            Some(lease) => {
                change(lease);
                true
            }
            None => false,
        }
    }

    /// A lease as stored now.
    pub fn lease(&self, key: &str) -> Option<Lease> {
        self.state().leases.get(key).cloned()
    }

    /// Every lease as stored now, by key.
    pub fn leases(&self) -> Vec<Lease> {
        self.state().leases.values().cloned().collect()
    }

    /// A counter-conditioned write: `apply` runs if the lease exists at `lease.counter` and
    /// `condition` holds for it.
    fn counter_write(
        &self,
        operation: &str,
        lease: &Lease,
        me: &str,
        condition: impl Fn(&Lease) -> bool,
        apply: impl FnOnce(&mut Lease),
        ours: impl Fn(&Lease, u64) -> bool,
    ) -> Written {
        let written = {
            let mut state = self.state();
            match state.leases.get_mut(&lease.key) {
                Some(row) if row.counter == lease.counter && condition(row) => {
                    apply(row);
                    row.counter = lease.counter + 1;
                    Written::Ok {
                        counter: row.counter,
                    }
                }
                found => failed_condition(lease, found.cloned(), ours),
            }
        };
        let outcome = match &written {
            Written::Ok { counter } => format!("ok {counter}"),
            Written::Lost { seen } => format!("lost {seen:?}"),
        };
        self.tell(format!("{operation} {} by {me} -> {outcome}", lease.key));
        written
    }
}

impl LeaseTable for MemoryLeaseTable {
    fn name(&self) -> &str {
        &self.name
    }

    async fn ensure_table(&self, _: bool, _: bool) -> Result<bool, TableError> {
        if let Some(e) = self.failure("ensure_table") {
            self.tell(format!("ensure_table -> {e}"));
            return Err(e);
        }
        let created = !std::mem::replace(&mut self.state().exists, true);
        self.tell(format!("ensure_table -> created {created}"));
        Ok(created)
    }

    async fn scan(&self) -> Result<Scan, TableError> {
        if let Some(e) = self.failure("scan") {
            self.tell(format!("scan -> {e}"));
            return Err(e);
        }
        let scan = {
            let state = self.state();
            if !state.exists {
                return Err(TableError::TableMissing(self.name.clone()));
            }
            Scan {
                leases: state.leases.values().cloned().collect(),
                other_rows: Vec::new(),
            }
        };
        self.tell("scan".to_owned());
        Ok(scan)
    }

    /// No KCL 3.x rows: the tests' applications are 2.x ones.
    async fn scan_legacy_metadata(&self, _: &str, _: &str) -> Result<Vec<OtherRow>, TableError> {
        Ok(Vec::new())
    }

    async fn get(&self, key: &str) -> Result<Option<Lease>, TableError> {
        if let Some(e) = self.failure("get") {
            return Err(e);
        }
        Ok(self.lease(key))
    }

    async fn create_if_absent(&self, lease: &Lease) -> Result<bool, TableError> {
        if let Some(e) = self.failure("create_if_absent") {
            return Err(e);
        }
        let created = {
            let mut state = self.state();
            let absent = !state.leases.contains_key(&lease.key);
            if absent {
                state.leases.insert(lease.key.clone(), lease.clone());
            }
            absent
        };
        self.tell(format!("create {} -> {created}", lease.key));
        Ok(created)
    }

    async fn renew(&self, lease: &Lease, me: &str) -> Result<Written, TableError> {
        if let Some(e) = self.failure("renew") {
            self.tell(format!("renew {} by {me} -> {e}", lease.key));
            return Err(e);
        }
        Ok(self.counter_write(
            "renew",
            lease,
            me,
            |row| row.checkpoint_owner.is_none(),
            |_| {},
            |l, next| held_by(l, me, next),
        ))
    }

    async fn take(&self, lease: &Lease, me: &str) -> Result<Written, TableError> {
        if let Some(e) = self.failure("take") {
            self.tell(format!("take {} by {me} -> {e}", lease.key));
            return Err(e);
        }
        let switched = lease.owner.as_deref() != Some(me);
        Ok(self.counter_write(
            "take",
            lease,
            me,
            |_| true,
            |row| {
                row.owner = Some(me.to_owned());
                row.checkpoint_owner = None;
                if switched {
                    row.owner_switches_since_checkpoint += 1;
                }
            },
            |l, next| held_by(l, me, next),
        ))
    }

    async fn checkpoint(
        &self,
        lease: &Lease,
        me: &str,
        at: &ExtendedSequenceNumber,
    ) -> Result<Written, TableError> {
        if let Some(e) = self.failure("checkpoint") {
            self.tell(format!("checkpoint {} at {at} by {me} -> {e}", lease.key));
            return Err(e);
        }
        Ok(self.counter_write(
            &format!("checkpoint at {at}"),
            lease,
            me,
            |row| row.owner.as_deref() == Some(me),
            |row| {
                row.checkpoint = at.clone();
                row.owner_switches_since_checkpoint = 0;
                row.pending_checkpoint = None;
            },
            |l, next| checkpointed_by(l, me, next, at),
        ))
    }

    async fn release(&self, lease: &Lease, me: &str) -> Result<Written, TableError> {
        if let Some(e) = self.failure("release") {
            self.tell(format!("release {} by {me} -> {e}", lease.key));
            return Err(e);
        }
        Ok(self.counter_write(
            "release",
            lease,
            me,
            |row| row.owner.as_deref() == Some(me),
            |row| row.owner = None,
            released,
        ))
    }

    async fn delete_finished(&self, key: &str) -> Result<bool, TableError> {
        if let Some(e) = self.failure("delete_finished") {
            return Err(e);
        }
        let deleted = {
            let mut state = self.state();
            let finished = state
                .leases
                .get(key)
                .is_some_and(|l| l.checkpoint.sequence_number == SequenceNumber::ShardEnd);
            if finished {
                state.leases.remove(key);
            }
            finished
        };
        self.tell(format!("delete {key} -> {deleted}"));
        Ok(deleted)
    }

    async fn set_child_shards(&self, key: &str, children: &[String]) -> Result<(), TableError> {
        if let Some(e) = self.failure("set_child_shards") {
            return Err(e);
        }
        if !children.is_empty() {
            self.update(key, |l| l.child_shard_ids = children.to_vec());
        }
        Ok(())
    }
}

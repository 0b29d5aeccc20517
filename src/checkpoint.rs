//! Checkpoints: the position type with Java's ordering, the pure check of a child's checkpoint
//! request against what that child was sent, and the small trait through which an accepted
//! checkpoint is stored (in memory for `replay`; the lease table for the worker).
//!
//! This module decides *whether and where* to checkpoint; it never writes anything itself, and it
//! never accepts a position beyond the last record delivered to the child
//! (`docs/protocol.md`, "Checkpoints", "Checkpoint errors").

use std::cmp::Ordering;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// The digits of a decimal sequence number with leading zeros removed (`"0"` for zero), so that
/// comparing by length, then lexically, is comparing as numbers; `None` if `s` is not one.
pub fn number_digits(s: &str) -> Option<&str> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let trimmed = s.trim_start_matches('0');
    Some(if trimmed.is_empty() { "0" } else { trimmed })
}

/// The sequence-number part of a position: a decimal number (any size) or a sentinel.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SequenceNumber {
    TrimHorizon,
    Latest,
    AtTimestamp,
    /// Decimal digits with leading zeros removed (`"0"` for zero), so that comparing by length
    /// then lexically is comparing as numbers.
    Number(String),
    ShardEnd,
}

impl SequenceNumber {
    /// Parses a sequence number or sentinel as Java's `ExtendedSequenceNumber` accepts them.
    pub fn parse(s: &str) -> Option<SequenceNumber> {
        match s {
            "TRIM_HORIZON" => Some(SequenceNumber::TrimHorizon),
            "LATEST" => Some(SequenceNumber::Latest),
            "AT_TIMESTAMP" => Some(SequenceNumber::AtTimestamp),
            "SHARD_END" => Some(SequenceNumber::ShardEnd),
            _ => number_digits(s).map(|digits| SequenceNumber::Number(digits.into())),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            SequenceNumber::TrimHorizon => "TRIM_HORIZON",
            SequenceNumber::Latest => "LATEST",
            SequenceNumber::AtTimestamp => "AT_TIMESTAMP",
            SequenceNumber::ShardEnd => "SHARD_END",
            SequenceNumber::Number(n) => n,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            SequenceNumber::TrimHorizon | SequenceNumber::Latest | SequenceNumber::AtTimestamp => 0,
            SequenceNumber::Number(_) => 1,
            SequenceNumber::ShardEnd => 2,
        }
    }
}

/// A checkpoint position: sequence number plus sub-sequence number (KPL).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtendedSequenceNumber {
    pub sequence_number: SequenceNumber,
    pub sub_sequence_number: u64,
}

impl ExtendedSequenceNumber {
    pub fn new(sequence_number: SequenceNumber, sub_sequence_number: u64) -> Self {
        ExtendedSequenceNumber {
            sequence_number,
            sub_sequence_number,
        }
    }

    pub fn shard_end() -> Self {
        Self::new(SequenceNumber::ShardEnd, 0)
    }

    pub fn is_shard_end(&self) -> bool {
        self.sequence_number == SequenceNumber::ShardEnd
    }
}

impl std::fmt::Display for ExtendedSequenceNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.sub_sequence_number == 0 {
            f.write_str(self.sequence_number.as_str())
        } else {
            write!(
                f,
                "{}/{}",
                self.sequence_number.as_str(),
                self.sub_sequence_number
            )
        }
    }
}

/// Java's `ExtendedSequenceNumber.compareTo`: the start sentinels are equal to each other and
/// below every number; `SHARD_END` is above everything; numbers compare numerically, then by
/// sub-sequence number.
impl Ord for ExtendedSequenceNumber {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (&self.sequence_number, &other.sequence_number);
        match a.rank().cmp(&b.rank()) {
            Ordering::Equal => {}
            unequal => return unequal,
        }
        match (a, b) {
            (SequenceNumber::Number(x), SequenceNumber::Number(y)) => x
                .len()
                .cmp(&y.len())
                .then_with(|| x.cmp(y))
                .then_with(|| self.sub_sequence_number.cmp(&other.sub_sequence_number)),
            _ => Ordering::Equal,
        }
    }
}

impl PartialOrd for ExtendedSequenceNumber {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Why a checkpoint failed, named as the Java exception the child libraries expect in `error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The lease is no longer ours (lost, stolen, expired) or its conditional update failed.
    #[error("ShutdownException")]
    Shutdown,
    /// The lease table's throughput was exceeded; the child may retry.
    #[error("ThrottlingException")]
    Throttling,
    /// No checkpointer in this state (during `initialize`/`leaseLost`), or the table is unusable.
    #[error("InvalidStateException")]
    InvalidState,
    /// Any other failure of the store; the child may retry.
    #[error("KinesisClientLibDependencyException")]
    Dependency,
    /// The requested position is malformed, out of range or was never delivered.
    #[error("IllegalArgumentException")]
    IllegalArgument,
}

impl CheckpointError {
    pub const ALL: [CheckpointError; 5] = [
        CheckpointError::Shutdown,
        CheckpointError::Throttling,
        CheckpointError::InvalidState,
        CheckpointError::Dependency,
        CheckpointError::IllegalArgument,
    ];

    /// The simple Java class name sent to the child.
    pub fn java_name(self) -> &'static str {
        match self {
            CheckpointError::Shutdown => "ShutdownException",
            CheckpointError::Throttling => "ThrottlingException",
            CheckpointError::InvalidState => "InvalidStateException",
            CheckpointError::Dependency => "KinesisClientLibDependencyException",
            CheckpointError::IllegalArgument => "IllegalArgumentException",
        }
    }

    pub fn from_java_name(name: &str) -> Option<CheckpointError> {
        Self::ALL.into_iter().find(|e| e.java_name() == name)
    }
}

/// Stores accepted checkpoints for one shard session. The worker's implementation writes the
/// lease row conditioned on the lease counter it holds; `replay` keeps them in memory.
pub trait CheckpointSink: Send {
    fn save(
        &mut self,
        at: &ExtendedSequenceNumber,
    ) -> impl Future<Output = Result<(), CheckpointError>> + Send;
}

/// Which checkpointer the child has while a given action is pending
/// (`docs/protocol.md`, "Checkpoints").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// `initialize`, `leaseLost`: every request is refused with `InvalidStateException`.
    Closed,
    /// `processRecords`, `shutdownRequested`: up to the last record delivered.
    UpToDelivered,
    /// `shardEnded`: up to `SHARD_END`; naming the last delivered record records `SHARD_END`.
    ShardEnd,
}

/// What to do with one checkpoint request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Store this position, then report success.
    Write(ExtendedSequenceNumber),
    /// Report success without storing anything (already checkpointed there).
    NoOp,
    /// Report this error.
    Refuse(CheckpointError),
}

/// The checkpoint state of one child session: the last stored checkpoint and the records
/// delivered since, which bound what the child may checkpoint.
#[derive(Debug, Clone)]
pub struct CheckpointState {
    last_checkpoint: ExtendedSequenceNumber,
    /// Positions delivered since `last_checkpoint`, in delivery (= ascending) order.
    delivered: DeliveredLog,
    /// The last record ever delivered in this session (kept after pruning `delivered`).
    last_delivered: Option<ExtendedSequenceNumber>,
}

impl CheckpointState {
    /// A session starting from the lease's stored checkpoint.
    pub fn new(last_checkpoint: ExtendedSequenceNumber) -> Self {
        CheckpointState {
            last_checkpoint,
            delivered: DeliveredLog::default(),
            last_delivered: None,
        }
    }

    pub fn last_checkpoint(&self) -> &ExtendedSequenceNumber {
        &self.last_checkpoint
    }

    pub fn last_delivered(&self) -> Option<&ExtendedSequenceNumber> {
        self.last_delivered.as_ref()
    }

    /// Records that a record at `at` was sent to the child. Positions must ascend.
    pub fn delivered(&mut self, at: ExtendedSequenceNumber) {
        if let SequenceNumber::Number(digits) = &at.sequence_number {
            self.delivered.push(digits, at.sub_sequence_number);
        }
        self.last_delivered = Some(at);
    }

    /// Records that a batch of records, given as (sequence number, sub-sequence number), was
    /// sent to the child, in order. Positions must ascend; ones that are not numbers are skipped.
    pub fn delivered_all<'a>(&mut self, batch: impl IntoIterator<Item = (&'a str, u64)>) {
        let before = self.delivered.len();
        for (sequence_number, sub) in batch {
            if let Some(digits) = number_digits(sequence_number) {
                self.delivered.push(digits, sub);
            }
        }
        if self.delivered.len() > before {
            self.last_delivered = self.delivered.last();
        }
    }

    /// The largest position the child may checkpoint in `window`.
    fn upper_bound(&self, window: Window) -> ExtendedSequenceNumber {
        match window {
            Window::ShardEnd => ExtendedSequenceNumber::shard_end(),
            _ => self
                .last_delivered
                .clone()
                .unwrap_or_else(|| self.last_checkpoint.clone()),
        }
    }

    /// Decides what a request for (`sequence_number`, `sub_sequence_number`) means in `window`.
    /// `None` for the sequence number means "everything delivered so far".
    pub fn decide(
        &self,
        window: Window,
        sequence_number: Option<&str>,
        sub_sequence_number: Option<i64>,
    ) -> Decision {
        if window == Window::Closed {
            return Decision::Refuse(CheckpointError::InvalidState);
        }
        let target = match sequence_number {
            None => self.upper_bound(window),
            Some(s) => {
                let Some(seq) = SequenceNumber::parse(s) else {
                    return Decision::Refuse(CheckpointError::IllegalArgument);
                };
                let sub = sub_sequence_number.unwrap_or(0);
                if sub < 0 {
                    return Decision::Refuse(CheckpointError::IllegalArgument);
                }
                ExtendedSequenceNumber::new(seq, sub as u64)
            }
        };
        if target < self.last_checkpoint || target > self.upper_bound(window) {
            return Decision::Refuse(CheckpointError::IllegalArgument);
        }
        // At shard end, checkpointing the very last record (or SHARD_END itself) means the shard
        // is done. Unlike Java, this holds even if that record was already checkpointed, so the
        // shard is not left unfinished.
        if window == Window::ShardEnd
            && (target.is_shard_end() || Some(&target) == self.last_delivered.as_ref())
        {
            return if self.last_checkpoint.is_shard_end() {
                Decision::NoOp
            } else {
                Decision::Write(ExtendedSequenceNumber::shard_end())
            };
        }
        if target.cmp(&self.last_checkpoint) == Ordering::Equal {
            return Decision::NoOp;
        }
        // Stricter than Java: a number must be a record this child was actually sent.
        if matches!(target.sequence_number, SequenceNumber::Number(_))
            && !self.delivered.contains(&target)
        {
            return Decision::Refuse(CheckpointError::IllegalArgument);
        }
        Decision::Write(target)
    }

    /// Records that `at` was stored.
    pub fn saved(&mut self, at: ExtendedSequenceNumber) {
        self.delivered.forget_through(&at);
        self.last_checkpoint = at;
    }
}

/// Delivered positions, ascending, without an allocation per record: each sequence number's
/// digits (as [`number_digits`] gives them) back to back in one buffer.
#[derive(Debug, Clone, Default)]
struct DeliveredLog {
    digits: Vec<u8>,
    /// (where its digits start in `digits`, how many, sub-sequence number), ascending.
    entries: std::collections::VecDeque<(usize, usize, u64)>,
}

impl DeliveredLog {
    fn len(&self) -> usize {
        self.entries.len()
    }

    fn push(&mut self, digits: &str, sub: u64) {
        self.entries
            .push_back((self.digits.len(), digits.len(), sub));
        self.digits.extend_from_slice(digits.as_bytes());
    }

    fn digits_of(&self, &(start, len, _): &(usize, usize, u64)) -> &[u8] {
        &self.digits[start..start + len]
    }

    fn last(&self) -> Option<ExtendedSequenceNumber> {
        let entry = self.entries.back()?;
        // Only ASCII digits go in.
        let digits = String::from_utf8_lossy(self.digits_of(entry)).into_owned();
        Some(ExtendedSequenceNumber::new(
            SequenceNumber::Number(digits),
            entry.2,
        ))
    }

    /// The entry's position against `at`, in [`ExtendedSequenceNumber`]'s order.
    fn compare(&self, entry: &(usize, usize, u64), at: &ExtendedSequenceNumber) -> Ordering {
        match &at.sequence_number {
            SequenceNumber::Number(n) => {
                let digits = self.digits_of(entry);
                digits
                    .len()
                    .cmp(&n.len())
                    .then_with(|| digits.cmp(n.as_bytes()))
                    .then_with(|| entry.2.cmp(&at.sub_sequence_number))
            }
            // A number is above the start sentinels and below SHARD_END.
            SequenceNumber::ShardEnd => Ordering::Less,
            _ => Ordering::Greater,
        }
    }

    #[cfg(test)]
    fn positions(&self) -> Vec<ExtendedSequenceNumber> {
        self.entries
            .iter()
            .map(|e| {
                let digits = String::from_utf8_lossy(self.digits_of(e)).into_owned();
                ExtendedSequenceNumber::new(SequenceNumber::Number(digits), e.2)
            })
            .collect()
    }

    fn contains(&self, at: &ExtendedSequenceNumber) -> bool {
        self.entries
            .binary_search_by(|e| self.compare(e, at))
            .is_ok()
    }

    /// Forgets the positions at or below `at`; the buffer is compacted once most of it is
    /// forgotten.
    fn forget_through(&mut self, at: &ExtendedSequenceNumber) {
        let forget = self
            .entries
            .partition_point(|e| self.compare(e, at) != Ordering::Greater);
        self.entries.drain(..forget);
        let dead = self.entries.front().map_or(self.digits.len(), |e| e.0);
        if dead > self.digits.len() / 2 {
            self.digits.drain(..dead);
            for entry in &mut self.entries {
                entry.0 -= dead;
            }
        }
    }
}

/// One checkpoint request as seen by an in-memory store, for reports and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub shard_id: String,
    pub at: ExtendedSequenceNumber,
}

/// A [`CheckpointSink`] that keeps every stored checkpoint in memory and can be told to fail
/// chosen requests (`replay --fail-checkpoint N=Error`: the N-th write attempt of the shard).
#[derive(Debug, Clone)]
pub struct MemorySink {
    shard_id: String,
    attempts: u64,
    failures: Vec<(u64, CheckpointError)>,
    log: Arc<Mutex<Vec<StoredCheckpoint>>>,
}

impl MemorySink {
    pub fn new(
        shard_id: &str,
        failures: Vec<(u64, CheckpointError)>,
        log: Arc<Mutex<Vec<StoredCheckpoint>>>,
    ) -> Self {
        MemorySink {
            shard_id: shard_id.to_owned(),
            attempts: 0,
            failures,
            log,
        }
    }
}

impl CheckpointSink for MemorySink {
    async fn save(&mut self, at: &ExtendedSequenceNumber) -> Result<(), CheckpointError> {
        self.attempts += 1;
        if let Some((_, e)) = self.failures.iter().find(|(n, _)| *n == self.attempts) {
            return Err(*e);
        }
        let mut log = self
            .log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        log.push(StoredCheckpoint {
            shard_id: self.shard_id.clone(),
            at: at.clone(),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> ExtendedSequenceNumber {
        ExtendedSequenceNumber::new(SequenceNumber::parse(s).unwrap(), 0)
    }

    fn ns(s: &str, sub: u64) -> ExtendedSequenceNumber {
        ExtendedSequenceNumber::new(SequenceNumber::parse(s).unwrap(), sub)
    }

    #[test]
    fn ordering_matches_java() {
        let th = n("TRIM_HORIZON");
        assert_eq!(th.cmp(&n("LATEST")), Ordering::Equal);
        assert!(th < n("0"));
        assert!(n("9") < n("10"));
        assert!(n("0009") < n("10"), "leading zeros do not count");
        assert!(
            n("49654023716589134560122394217618524611839505447823802370")
                < n("49654023716589134560122394217618524611839505447823802386")
        );
        assert!(ns("5", 1) > ns("5", 0));
        assert!(n("99999999999999999999999999999999999999999999999999999") < n("SHARD_END"));
        assert_eq!(SequenceNumber::parse("12a"), None);
        assert_eq!(SequenceNumber::parse(""), None);
        assert_eq!(SequenceNumber::parse("-1"), None);
    }

    fn state_with(delivered: &[&str]) -> CheckpointState {
        let mut s = CheckpointState::new(n("TRIM_HORIZON"));
        for d in delivered {
            s.delivered(n(d));
        }
        s
    }

    #[test]
    fn closed_window_refuses() {
        let s = state_with(&["10"]);
        assert_eq!(
            s.decide(Window::Closed, None, None),
            Decision::Refuse(CheckpointError::InvalidState)
        );
        assert_eq!(
            s.decide(Window::Closed, Some("10"), None),
            Decision::Refuse(CheckpointError::InvalidState)
        );
    }

    #[test]
    fn null_means_last_delivered() {
        let s = state_with(&["10", "20"]);
        assert_eq!(
            s.decide(Window::UpToDelivered, None, None),
            Decision::Write(n("20"))
        );
    }

    #[test]
    fn nothing_new_is_a_no_op() {
        let s = CheckpointState::new(n("TRIM_HORIZON"));
        assert_eq!(s.decide(Window::UpToDelivered, None, None), Decision::NoOp);
        let mut s = state_with(&["10"]);
        s.saved(n("10"));
        assert_eq!(s.decide(Window::UpToDelivered, None, None), Decision::NoOp);
        assert_eq!(
            s.decide(Window::UpToDelivered, Some("10"), None),
            Decision::NoOp
        );
    }

    #[test]
    fn range_and_delivery_checks() {
        let mut s = state_with(&["10", "20", "30"]);
        s.saved(n("20"));
        // Backwards.
        assert_eq!(
            s.decide(Window::UpToDelivered, Some("10"), None),
            Decision::Refuse(CheckpointError::IllegalArgument)
        );
        // Beyond what was delivered.
        assert_eq!(
            s.decide(Window::UpToDelivered, Some("31"), None),
            Decision::Refuse(CheckpointError::IllegalArgument)
        );
        // In range but never delivered.
        assert_eq!(
            s.decide(Window::UpToDelivered, Some("25"), None),
            Decision::Refuse(CheckpointError::IllegalArgument)
        );
        // Not a number.
        assert_eq!(
            s.decide(Window::UpToDelivered, Some("abc"), None),
            Decision::Refuse(CheckpointError::IllegalArgument)
        );
        // Negative sub-sequence number.
        assert_eq!(
            s.decide(Window::UpToDelivered, Some("30"), Some(-1)),
            Decision::Refuse(CheckpointError::IllegalArgument)
        );
        // Good.
        assert_eq!(
            s.decide(Window::UpToDelivered, Some("30"), None),
            Decision::Write(n("30"))
        );
        assert_eq!(
            s.decide(Window::UpToDelivered, Some("030"), Some(0)),
            Decision::Write(n("30"))
        );
    }

    #[test]
    fn sub_sequence_numbers_must_match_a_delivered_sub_record() {
        let mut s = CheckpointState::new(n("TRIM_HORIZON"));
        s.delivered(ns("10", 0));
        s.delivered(ns("10", 1));
        s.delivered(ns("10", 2));
        assert_eq!(
            s.decide(Window::UpToDelivered, Some("10"), Some(1)),
            Decision::Write(ns("10", 1))
        );
        assert_eq!(
            s.decide(Window::UpToDelivered, None, None),
            Decision::Write(ns("10", 2))
        );
        assert_eq!(
            s.decide(Window::UpToDelivered, Some("10"), Some(3)),
            Decision::Refuse(CheckpointError::IllegalArgument)
        );
    }

    #[test]
    fn shard_end_window() {
        let s = state_with(&["10", "20"]);
        assert_eq!(
            s.decide(Window::ShardEnd, None, None),
            Decision::Write(ExtendedSequenceNumber::shard_end())
        );
        assert_eq!(
            s.decide(Window::ShardEnd, Some("20"), None),
            Decision::Write(ExtendedSequenceNumber::shard_end())
        );
        assert_eq!(
            s.decide(Window::ShardEnd, Some("10"), None),
            Decision::Write(n("10"))
        );
        assert_eq!(
            s.decide(Window::ShardEnd, Some("SHARD_END"), None),
            Decision::Write(ExtendedSequenceNumber::shard_end())
        );
        // Already checkpointed at the last record: still ends the shard.
        let mut s2 = state_with(&["10", "20"]);
        s2.saved(n("20"));
        assert_eq!(
            s2.decide(Window::ShardEnd, Some("20"), None),
            Decision::Write(ExtendedSequenceNumber::shard_end())
        );
        s2.saved(ExtendedSequenceNumber::shard_end());
        assert_eq!(s2.decide(Window::ShardEnd, None, None), Decision::NoOp);
        // An empty shard ends too.
        let s = CheckpointState::new(n("TRIM_HORIZON"));
        assert_eq!(
            s.decide(Window::ShardEnd, None, None),
            Decision::Write(ExtendedSequenceNumber::shard_end())
        );
    }

    #[test]
    fn saved_prunes_delivered() {
        let mut s = state_with(&["10", "20", "30"]);
        s.saved(n("20"));
        assert_eq!(s.last_checkpoint(), &n("20"));
        assert_eq!(s.delivered.positions(), vec![n("30")]);
        assert_eq!(s.last_delivered(), Some(&n("30")));
    }

    /// Many checkpoints over one session: what is kept stays right as the buffer is compacted.
    #[test]
    fn delivered_positions_survive_pruning() {
        let mut s = CheckpointState::new(n("TRIM_HORIZON"));
        let numbers: Vec<String> = (1..=400u64)
            .map(|i| format!("000{}", i * 1_000_003))
            .collect();
        for batch in numbers.chunks(40) {
            s.delivered_all(
                batch
                    .iter()
                    .flat_map(|n| [(n.as_str(), 0), (n.as_str(), 1)]),
            );
        }
        s.delivered_all([("not-a-number", 0)]);
        assert_eq!(
            s.last_delivered(),
            Some(&ns(&(400u64 * 1_000_003).to_string(), 1))
        );
        // Between two delivered positions: never delivered.
        assert_eq!(
            s.decide(
                Window::UpToDelivered,
                Some(&(200u64 * 1_000_003 - 1).to_string()),
                None
            ),
            Decision::Refuse(CheckpointError::IllegalArgument)
        );
        for (i, number) in numbers.iter().enumerate().step_by(7) {
            assert_eq!(
                s.decide(Window::UpToDelivered, Some(number), Some(1)),
                Decision::Write(ns(number, 1))
            );
            s.saved(ns(number, 1));
            let rest: Vec<_> = numbers[i + 1..]
                .iter()
                .flat_map(|n| [ns(n, 0), ns(n, 1)])
                .collect();
            assert_eq!(s.delivered.positions(), rest);
            assert!(s.delivered.digits.len() <= 2 * rest.len() * 12, "compacted");
        }
        assert!(s.delivered.positions().is_empty());
    }

    #[test]
    fn java_names_round_trip() {
        for e in CheckpointError::ALL {
            assert_eq!(CheckpointError::from_java_name(e.java_name()), Some(e));
            assert_eq!(e.to_string(), e.java_name());
        }
        assert_eq!(CheckpointError::from_java_name("Nope"), None);
    }

    #[tokio::test]
    async fn memory_sink_fails_the_chosen_attempt() {
        let log = Arc::new(Mutex::new(vec![]));
        let mut sink = MemorySink::new("s", vec![(2, CheckpointError::Throttling)], log.clone());
        assert_eq!(sink.save(&n("1")).await, Ok(()));
        assert_eq!(sink.save(&n("2")).await, Err(CheckpointError::Throttling));
        assert_eq!(sink.save(&n("2")).await, Ok(()));
        let got: Vec<String> = log
            .lock()
            .unwrap()
            .iter()
            .map(|c| c.at.to_string())
            .collect();
        assert_eq!(got, vec!["1", "2"]);
    }
}

//! KPL (Kinesis Producer Library) de-aggregation (`docs/retrieval.md`, "KPL").
//!
//! A KPL aggregate is one Kinesis record whose data is the magic `F3 89 9A C2`, a proto2
//! `AggregatedRecord` message, and the 16-byte MD5 of that message. [`deaggregate`] turns such a
//! record into one [`Record`] per sub-record, carrying the container's sequence number and
//! arrival time and the sub-record's position as `sub_sequence_number`; anything else passes
//! through unchanged. Where the Java KCL silently passes a damaged aggregate through or drops it,
//! we keep what can be kept and report an [`AggregateIssue`] for the caller to log (with the
//! shard id and sequence number, which this module does not know):
//!
//! | Input | Records | Issue |
//! |---|---|---|
//! | < 4 bytes, no magic, or ≤ 16 bytes after the magic | the record, unchanged | none |
//! | magic, wrong MD5 | the record, unchanged | [`AggregateIssue::Md5Mismatch`] |
//! | MD5 ok, protobuf unparsable or a required field missing | the record, unchanged | [`AggregateIssue::InvalidProtobuf`] |
//! | parsed | one per good, in-range sub-record | none, or see below |
//! | some sub-records' hash keys outside the shard's range | the in-range ones (Java: none) | [`AggregateIssue::OutOfRange`] |
//! | bad key index / non-numeric explicit hash key | all good ones (Java: those before it) | [`AggregateIssue::BadSubRecord`] |
//!
//! Sub-sequence numbers are positions in the aggregate, counting skipped and dropped sub-records,
//! so a sub-record keeps its number whatever the range and Java's checkpoints stay meaningful.
//! An aggregate that parses but holds no sub-records yields no records and no issue, as in Java.
//!
//! Decoding is proto2-strict like Java's `parseFrom`: a missing required field (`Record.data`,
//! `Record.partition_key_index`, `Tag.key`) makes the protobuf invalid. Strings are decoded as
//! Java's proto2 getters do: invalid UTF-8 is replaced, not rejected. Known differences from
//! protobuf-java, reachable only with hand-crafted bytes: a known field with the wrong wire type
//! is an error here (Java keeps it as an unknown field); a key index ≥ 2³² is out of bounds here
//! (Java truncates it to an `int`); an explicit hash key is read as an optional sign and ASCII
//! digits (Java's `BigInteger` also accepts other Unicode digits).
//!
//! [`encode_aggregate`] builds aggregates in the KPL format for tests and the integration tests.
//!
//! Pure code: no I/O, no logging.

use bytes::Bytes;
use md5::{Digest as _, Md5};
use prost::Message as _;

use crate::protocol::Record;

/// The first four bytes of every KPL aggregate.
pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];

/// Length of the MD5 trailer.
const DIGEST_LEN: usize = 16;

/// A shard's hash key range, inclusive at both ends (the lease module's type).
pub use crate::lease::HashKeyRange;

/// The outcome of [`deaggregate`] for one Kinesis record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deaggregated {
    /// What to deliver to the child, in order.
    pub records: Vec<Record>,
    /// Something the caller should log as a WARN; `None` when the record was delivered as sent.
    pub issue: Option<AggregateIssue>,
}

/// Why an aggregate was not delivered exactly as its producer wrote it.
///
/// At most one issue is reported per aggregate. Pass-through issues exclude the others. When a
/// parsed aggregate has both skipped and out-of-range sub-records, [`BadSubRecord`] is reported
/// and carries the out-of-range count too.
///
/// [`BadSubRecord`]: AggregateIssue::BadSubRecord
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AggregateIssue {
    /// The record starts with the KPL magic but its MD5 trailer does not match; it was delivered
    /// as one ordinary record.
    #[error(
        "record starts with the KPL aggregate magic but its MD5 checksum does not match; \
         delivered as one ordinary record"
    )]
    Md5Mismatch,
    /// The MD5 matches but the protobuf does not parse or lacks a required field; the record
    /// was delivered as one ordinary record.
    #[error(
        "KPL aggregate has a valid MD5 checksum but an invalid protobuf ({0}); \
         delivered as one ordinary record"
    )]
    InvalidProtobuf(String),
    /// `dropped` sub-records had a hash key outside the shard's range; the others were delivered.
    #[error(
        "dropped {dropped} sub-record(s) of a KPL aggregate whose hash key lies outside the \
         shard's hash key range"
    )]
    OutOfRange { dropped: usize },
    /// `skipped` sub-records could not be expanded (`reason` is the first one's); the good ones
    /// were delivered, except `out_of_range` whose hash key lay outside the shard's range.
    #[error(
        "skipped {skipped} malformed sub-record(s) of a KPL aggregate (first: {reason}){}",
        out_of_range_suffix(*.out_of_range)
    )]
    BadSubRecord {
        skipped: usize,
        reason: String,
        out_of_range: usize,
    },
}

fn out_of_range_suffix(out_of_range: usize) -> String {
    if out_of_range == 0 {
        String::new()
    } else {
        format!("; also dropped {out_of_range} outside the shard's hash key range")
    }
}

/// One user record to put into an aggregate with [`encode_aggregate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubRecord {
    pub partition_key: String,
    /// A decimal 128-bit hash key overriding the partition key's.
    pub explicit_hash_key: Option<String>,
    pub data: Vec<u8>,
}

/// The protobuf schema (`messages.proto`, proto2), written by hand for `prost`.
///
/// Required fields are declared optional so that their absence is visible: prost fills missing
/// required fields with defaults instead of failing. [`check_required`] enforces them. Strings
/// are read as bytes so that invalid UTF-8 is replaced (as in Java) instead of failing the parse.
mod pb {
    use bytes::Bytes;

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct AggregatedRecord {
        #[prost(bytes = "bytes", repeated, tag = "1")]
        pub partition_key_table: Vec<Bytes>,
        #[prost(bytes = "bytes", repeated, tag = "2")]
        pub explicit_hash_key_table: Vec<Bytes>,
        #[prost(message, repeated, tag = "3")]
        pub records: Vec<Record>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Record {
        /// proto2 `required`.
        #[prost(uint64, optional, tag = "1")]
        pub partition_key_index: Option<u64>,
        #[prost(uint64, optional, tag = "2")]
        pub explicit_hash_key_index: Option<u64>,
        /// proto2 `required`.
        #[prost(bytes = "bytes", optional, tag = "3")]
        pub data: Option<Bytes>,
        #[prost(message, repeated, tag = "4")]
        pub tags: Vec<Tag>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Tag {
        /// proto2 `required`.
        #[prost(bytes = "bytes", optional, tag = "1")]
        pub key: Option<Bytes>,
        #[prost(bytes = "bytes", optional, tag = "2")]
        pub value: Option<Bytes>,
    }
}

fn md5(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

/// The hash key Kinesis derives from a partition key: MD5 of its UTF-8 bytes, big-endian.
pub fn partition_key_hash(pk: &str) -> u128 {
    u128::from_be_bytes(md5(pk.as_bytes()))
}

/// An explicit hash key as Java's `new BigInteger(s)` reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExplicitHashKey {
    /// A value in 0 ..= 2¹²⁸ − 1.
    Value(u128),
    /// A number, but negative or ≥ 2¹²⁸: outside every shard's range.
    OutsideKeySpace,
    /// Not a decimal integer (Java: `NumberFormatException`).
    NotANumber,
}

fn parse_explicit_hash_key(s: &str) -> ExplicitHashKey {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return ExplicitHashKey::NotANumber;
    }
    let mut value: Option<u128> = Some(0);
    for b in digits.bytes() {
        value = value
            .and_then(|v| v.checked_mul(10))
            .and_then(|v| v.checked_add(u128::from(b - b'0')));
    }
    match value {
        Some(0) => ExplicitHashKey::Value(0),
        Some(_) if negative => ExplicitHashKey::OutsideKeySpace,
        Some(v) => ExplicitHashKey::Value(v),
        None => ExplicitHashKey::OutsideKeySpace,
    }
}

/// proto2 `required` checks, as protobuf-java's `parseFrom` makes them.
fn check_required(agg: &pb::AggregatedRecord) -> Result<(), String> {
    for (i, r) in agg.records.iter().enumerate() {
        if r.partition_key_index.is_none() {
            return Err(format!(
                "missing required field records[{i}].partition_key_index"
            ));
        }
        if r.data.is_none() {
            return Err(format!("missing required field records[{i}].data"));
        }
        if let Some(t) = r.tags.iter().position(|t| t.key.is_none()) {
            return Err(format!("missing required field records[{i}].tags[{t}].key"));
        }
    }
    Ok(())
}

fn pass_through(record: Record, issue: Option<AggregateIssue>) -> Deaggregated {
    Deaggregated {
        records: vec![record],
        issue,
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Expands `record` if it is a KPL aggregate; see the module docs for every case.
///
/// `record` is one Kinesis record as received (sub-sequence number 0); `range` is the hash key
/// range of the shard it came from ([`HashKeyRange::FULL`] if unknown). Never panics.
pub fn deaggregate(record: Record, range: &HashKeyRange) -> Deaggregated {
    // Base64 text (as GetRecords sends it) is decoded only if it begins with the magic.
    if !record.data.starts_with(&MAGIC) {
        return pass_through(record, None);
    }
    let data = &record.data.to_bytes();
    if data.len() - MAGIC.len() <= DIGEST_LEN {
        return pass_through(record, None);
    }
    let pb_end = data.len() - DIGEST_LEN;
    let message = data.slice(MAGIC.len()..pb_end);
    if md5(&message) != data[pb_end..] {
        return pass_through(record, Some(AggregateIssue::Md5Mismatch));
    }
    // Decoding from `Bytes` makes each sub-record's data a slice of the container, not a copy.
    let agg = match pb::AggregatedRecord::decode(message) {
        Ok(agg) => agg,
        Err(e) => {
            let issue = AggregateIssue::InvalidProtobuf(e.to_string());
            return pass_through(record, Some(issue));
        }
    };
    if let Err(missing) = check_required(&agg) {
        return pass_through(record, Some(AggregateIssue::InvalidProtobuf(missing)));
    }
    expand(&record, agg, range)
}

/// Turns a parsed, required-field-complete aggregate into records.
fn expand(container: &Record, agg: pb::AggregatedRecord, range: &HashKeyRange) -> Deaggregated {
    let partition_keys: Vec<(String, u128)> = agg
        .partition_key_table
        .iter()
        .map(|b| {
            let pk = lossy(b);
            let hash = partition_key_hash(&pk);
            (pk, hash)
        })
        .collect();
    let explicit_keys: Vec<(String, ExplicitHashKey)> = agg
        .explicit_hash_key_table
        .iter()
        .map(|b| {
            let s = lossy(b);
            let key = parse_explicit_hash_key(&s);
            (s, key)
        })
        .collect();

    let mut records = Vec::with_capacity(agg.records.len());
    let mut out_of_range = 0usize;
    let mut skipped = 0usize;
    let mut first_reason: Option<String> = None;

    for (position, sub) in agg.records.into_iter().enumerate() {
        let mut skip = |reason: String| {
            skipped += 1;
            first_reason.get_or_insert_with(|| format!("sub-record {position}: {reason}"));
        };
        // Presence was checked by `check_required`; a default here is never used.
        let pk_index = sub.partition_key_index.unwrap_or_default();
        let Some((partition_key, pk_hash)) = table_get(&partition_keys, pk_index) else {
            skip(format!(
                "partition key index {pk_index} is outside the partition key table ({} entries)",
                partition_keys.len()
            ));
            continue;
        };
        let hash_key = match sub.explicit_hash_key_index {
            None => Some(*pk_hash),
            Some(ehk_index) => match table_get(&explicit_keys, ehk_index) {
                None => {
                    skip(format!(
                        "explicit hash key index {ehk_index} is outside the explicit hash key \
                         table ({} entries)",
                        explicit_keys.len()
                    ));
                    continue;
                }
                Some((text, ExplicitHashKey::NotANumber)) => {
                    skip(format!(
                        "explicit hash key {text:?} is not a decimal integer"
                    ));
                    continue;
                }
                Some((_, ExplicitHashKey::OutsideKeySpace)) => None,
                Some((_, ExplicitHashKey::Value(v))) => Some(*v),
            },
        };
        if !hash_key.is_some_and(|k| range.contains(k)) {
            out_of_range += 1;
            continue;
        }
        records.push(Record {
            data: sub.data.unwrap_or_default().into(),
            partition_key: partition_key.clone(),
            sequence_number: container.sequence_number.clone(),
            sub_sequence_number: position as u64,
            approximate_arrival_timestamp: container.approximate_arrival_timestamp,
        });
    }

    // `first_reason` is set exactly when `skipped > 0`.
    let issue = match first_reason {
        Some(reason) => Some(AggregateIssue::BadSubRecord {
            skipped,
            reason,
            out_of_range,
        }),
        None if out_of_range > 0 => Some(AggregateIssue::OutOfRange {
            dropped: out_of_range,
        }),
        None => None,
    };
    Deaggregated { records, issue }
}

fn table_get<T>(table: &[T], index: u64) -> Option<&T> {
    usize::try_from(index).ok().and_then(|i| table.get(i))
}

/// Builds a KPL aggregate (magic, protobuf, MD5) holding `sub_records` in order, with the
/// partition key and explicit hash key tables de-duplicated in order of first use, as the KPL
/// writes them.
///
/// For tests and the integration tests, which put aggregated records on a stream; kcl-bridge
/// itself only reads aggregates. Explicit hash keys are written as given, unchecked.
pub fn encode_aggregate(sub_records: &[SubRecord]) -> Vec<u8> {
    fn index_of(table: &mut Vec<Bytes>, key: &str) -> u64 {
        let i = match table.iter().position(|k| k == key.as_bytes()) {
            Some(i) => i,
            None => {
                table.push(Bytes::copy_from_slice(key.as_bytes()));
                table.len() - 1
            }
        };
        i as u64
    }

    let mut agg = pb::AggregatedRecord::default();
    for sub in sub_records {
        let partition_key_index = index_of(&mut agg.partition_key_table, &sub.partition_key);
        let explicit_hash_key_index = sub
            .explicit_hash_key
            .as_deref()
            .map(|k| index_of(&mut agg.explicit_hash_key_table, k));
        agg.records.push(pb::Record {
            partition_key_index: Some(partition_key_index),
            explicit_hash_key_index,
            data: Some(Bytes::copy_from_slice(&sub.data)),
            tags: Vec::new(),
        });
    }
    let message = agg.encode_to_vec();
    let mut out = Vec::with_capacity(MAGIC.len() + message.len() + DIGEST_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&message);
    out.extend_from_slice(&md5(&message));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SEQ: &str = "49590338271490256608559692538361571095921575989136588898";
    const TS: i64 = 1_700_000_000_123;

    fn container(data: Vec<u8>) -> Record {
        Record {
            data: Bytes::from(data).into(),
            partition_key: "container-pk".to_owned(),
            sequence_number: SEQ.to_owned(),
            sub_sequence_number: 0,
            approximate_arrival_timestamp: TS,
        }
    }

    fn sub(pk: &str, ehk: Option<&str>, data: &[u8]) -> SubRecord {
        SubRecord {
            partition_key: pk.to_owned(),
            explicit_hash_key: ehk.map(str::to_owned),
            data: data.to_vec(),
        }
    }

    fn expected(data: &[u8], pk: &str, sub: u64) -> Record {
        Record {
            data: Bytes::copy_from_slice(data).into(),
            partition_key: pk.to_owned(),
            sequence_number: SEQ.to_owned(),
            sub_sequence_number: sub,
            approximate_arrival_timestamp: TS,
        }
    }

    /// Magic + `message` + MD5(`message`): an aggregate around hand-written protobuf bytes.
    fn wrap(message: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(message);
        out.extend_from_slice(&md5(message));
        out
    }

    fn full(data: Vec<u8>) -> Deaggregated {
        deaggregate(container(data), &HashKeyRange::FULL)
    }

    fn assert_passed_through(data: Vec<u8>, issue: Option<AggregateIssue>) {
        let input = container(data);
        let out = deaggregate(input.clone(), &HashKeyRange::FULL);
        assert_eq!(out.records, vec![input]);
        assert_eq!(out.issue, issue);
    }

    fn assert_invalid_protobuf(message: &[u8], needle: &str) {
        let input = container(wrap(message));
        let out = deaggregate(input.clone(), &HashKeyRange::FULL);
        assert_eq!(out.records, vec![input]);
        match out.issue {
            Some(AggregateIssue::InvalidProtobuf(msg)) => {
                assert!(msg.contains(needle), "{msg:?} should mention {needle:?}")
            }
            other => panic!("expected InvalidProtobuf, got {other:?}"),
        }
    }

    #[test]
    fn round_trip_one_sub_record() {
        let agg = encode_aggregate(&[sub("pk-1", None, b"hello")]);
        assert_eq!(agg[..4], MAGIC);
        let out = full(agg);
        assert_eq!(out.issue, None);
        assert_eq!(out.records, vec![expected(b"hello", "pk-1", 0)]);
    }

    #[test]
    fn round_trip_many_with_shared_keys_and_explicit_hash_keys() {
        let max = u128::MAX.to_string();
        let subs = vec![
            sub("alpha", None, b"zero"),
            sub("beta", Some("12345"), b"one"),
            sub("alpha", Some("0"), b""),
            sub("gamma", Some("12345"), b"three"),
            sub("beta", None, &[0, 1, 2, 255]),
            sub("alpha", Some(&max), b"five"),
            sub("\u{e9}t\u{e9}", None, b"six"),
        ];
        let agg = encode_aggregate(&subs);

        // The tables are de-duplicated in order of first use.
        let message = &agg[4..agg.len() - 16];
        let parsed = pb::AggregatedRecord::decode(message).unwrap();
        let pks: Vec<&[u8]> = parsed.partition_key_table.iter().map(|b| &b[..]).collect();
        assert_eq!(
            pks,
            vec![&b"alpha"[..], b"beta", b"gamma", "\u{e9}t\u{e9}".as_bytes()]
        );
        let ehks: Vec<&[u8]> = parsed
            .explicit_hash_key_table
            .iter()
            .map(|b| &b[..])
            .collect();
        assert_eq!(ehks, vec![&b"12345"[..], b"0", max.as_bytes()]);
        let indexes: Vec<(Option<u64>, Option<u64>)> = parsed
            .records
            .iter()
            .map(|r| (r.partition_key_index, r.explicit_hash_key_index))
            .collect();
        assert_eq!(
            indexes,
            vec![
                (Some(0), None),
                (Some(1), Some(0)),
                (Some(0), Some(1)),
                (Some(2), Some(0)),
                (Some(1), None),
                (Some(0), Some(2)),
                (Some(3), None),
            ]
        );

        let out = full(agg);
        assert_eq!(out.issue, None);
        let want: Vec<Record> = subs
            .iter()
            .enumerate()
            .map(|(i, s)| expected(&s.data, &s.partition_key, i as u64))
            .collect();
        assert_eq!(out.records, want);
    }

    #[test]
    fn sub_record_data_shares_the_container_buffer() {
        let agg = Bytes::from(encode_aggregate(&[sub("k", None, b"payload-bytes")]));
        let range = agg.as_ptr() as usize..agg.as_ptr() as usize + agg.len();
        let mut input = container(Vec::new());
        input.data = agg.clone().into();
        let out = deaggregate(input, &HashKeyRange::FULL);
        assert_eq!(out.records.len(), 1);
        let data = out.records[0].data.to_bytes();
        assert!(range.contains(&(data.as_ptr() as usize)));
    }

    /// Built byte by byte from the schema, independently of `encode_aggregate`: fields out of
    /// order, a tag, an unknown field, an empty data field.
    #[test]
    fn hand_built_aggregate() {
        #[rustfmt::skip]
        let message: &[u8] = &[
            0x0A, 0x01, b'a',                       // partition_key_table[0] = "a"
            0x0A, 0x02, b'b', b'b',                 // partition_key_table[1] = "bb"
            0x12, 0x01, b'5',                       // explicit_hash_key_table[0] = "5"
            0x1A, 0x07,                             // records[0], 7 bytes:
                0x08, 0x00,                         //   partition_key_index = 0
                0x1A, 0x03, b'x', b'y', b'z',       //   data = "xyz"
            0x1A, 0x0B,                             // records[1], 11 bytes:
                0x08, 0x01,                         //   partition_key_index = 1
                0x10, 0x00,                         //   explicit_hash_key_index = 0
                0x1A, 0x00,                         //   data = ""
                0x22, 0x03, 0x0A, 0x01, b'k',       //   tags[0] = { key = "k" }
            0x7A, 0x01, 0x00,                       // unknown field 15, ignored
            0x1A, 0x05,                             // records[2], 5 bytes, fields reversed:
                0x1A, 0x01, b'!',                   //   data = "!"
                0x08, 0x00,                         //   partition_key_index = 0
        ];
        let out = full(wrap(message));
        assert_eq!(out.issue, None);
        assert_eq!(
            out.records,
            vec![
                expected(b"xyz", "a", 0),
                expected(b"", "bb", 1),
                expected(b"!", "a", 2),
            ]
        );

        // Only records[1] (explicit hash key 5) is in 0..=5; MD5("a") is far above it.
        let out = deaggregate(container(wrap(message)), &HashKeyRange { start: 0, end: 5 });
        assert_eq!(out.records, vec![expected(b"", "bb", 1)]);
        assert_eq!(out.issue, Some(AggregateIssue::OutOfRange { dropped: 2 }));
    }

    #[test]
    fn non_aggregates_pass_through_unchanged() {
        assert_passed_through(Vec::new(), None);
        assert_passed_through(vec![0xF3, 0x89, 0x9A], None);
        assert_passed_through(MAGIC.to_vec(), None);
        assert_passed_through(b"plain text, no magic at all".to_vec(), None);
        // Magic followed by 1..=16 bytes: too short to hold a digest and a message.
        for n in 1..=16 {
            let mut data = MAGIC.to_vec();
            data.extend(std::iter::repeat_n(0xAB, n));
            assert_passed_through(data, None);
        }
        // A valid aggregate with one magic byte changed is ordinary data.
        let mut data = encode_aggregate(&[sub("k", None, b"v")]);
        data[3] ^= 1;
        assert_passed_through(data, None);
    }

    #[test]
    fn pass_through_keeps_every_field() {
        let input = Record {
            data: Bytes::from_static(b"not an aggregate").into(),
            partition_key: "pk".to_owned(),
            sequence_number: "1".to_owned(),
            sub_sequence_number: 0,
            approximate_arrival_timestamp: -5,
        };
        let out = deaggregate(input.clone(), &HashKeyRange { start: 1, end: 0 });
        assert_eq!(out.records, vec![input]);
        assert_eq!(out.issue, None);
    }

    #[test]
    fn md5_mismatch_passes_through_with_issue() {
        let good = encode_aggregate(&[sub("k", None, b"value"), sub("j", None, b"w")]);
        // A changed digest byte.
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x80;
        assert_passed_through(bad, Some(AggregateIssue::Md5Mismatch));
        // A changed message byte.
        let mut bad = good.clone();
        bad[6] ^= 0x01;
        assert_passed_through(bad, Some(AggregateIssue::Md5Mismatch));
        // Magic + 17 bytes is long enough to be an aggregate, and random bytes fail the MD5.
        let mut bad = MAGIC.to_vec();
        bad.extend([7u8; 17]);
        assert_passed_through(bad, Some(AggregateIssue::Md5Mismatch));
    }

    #[test]
    fn truncated_protobuf_passes_through_with_issue() {
        let good = encode_aggregate(&[sub("key", None, b"some data")]);
        let message = &good[4..good.len() - 16];
        let input = container(wrap(&message[..message.len() - 3]));
        let out = deaggregate(input.clone(), &HashKeyRange::FULL);
        assert_eq!(out.records, vec![input]);
        assert!(
            matches!(out.issue, Some(AggregateIssue::InvalidProtobuf(_))),
            "{:?}",
            out.issue
        );
        // A length prefix running past the end.
        assert_invalid_protobuf(&[0x0A, 0x05, b'a'], "");
        // A varint that never ends.
        assert_invalid_protobuf(&[0x1A, 0x02, 0x08, 0xFF], "");
    }

    #[test]
    fn missing_required_fields_pass_through_with_issue() {
        // records[0] = { partition_key_index = 0 }, no data.
        assert_invalid_protobuf(
            &[0x0A, 0x01, b'a', 0x1A, 0x02, 0x08, 0x00],
            "records[0].data",
        );
        // records[1] = { data = "" }, no partition_key_index.
        assert_invalid_protobuf(
            &[
                0x0A, 0x01, b'a', 0x1A, 0x04, 0x08, 0x00, 0x1A, 0x00, 0x1A, 0x02, 0x1A, 0x00,
            ],
            "records[1].partition_key_index",
        );
        // records[0].tags[0] = { value = "" }, no key.
        assert_invalid_protobuf(
            &[
                0x0A, 0x01, b'a', 0x1A, 0x08, 0x08, 0x00, 0x1A, 0x00, 0x22, 0x02, 0x12, 0x00,
            ],
            "records[0].tags[0].key",
        );
    }

    #[test]
    fn empty_aggregate_yields_nothing() {
        // A message with a partition key table but no sub-records: valid, and (as in Java)
        // nothing to deliver.
        let out = full(wrap(&[0x0A, 0x01, b'a']));
        assert_eq!(out.records, Vec::new());
        assert_eq!(out.issue, None);
        // An empty message leaves magic + MD5 only, too short to count as an aggregate.
        assert_eq!(encode_aggregate(&[]), wrap(&[]));
        assert_passed_through(wrap(&[]), None);
    }

    #[test]
    fn out_of_range_sub_records_are_dropped_one_by_one() {
        let range = HashKeyRange {
            start: 100,
            end: 200,
        };
        let subs = vec![
            sub("p", Some("50"), b"below"),
            sub("p", Some("150"), b"inside"),
            sub("p", Some("250"), b"above"),
            sub("p", Some("100"), b"start"),
            sub("p", Some("200"), b"end"),
            sub("p", Some("-150"), b"negative"),
            sub(
                "p",
                Some("340282366920938463463374607431768211456"),
                b"2^128",
            ),
            sub("p", Some("+0150"), b"signed"),
        ];
        let out = deaggregate(container(encode_aggregate(&subs)), &range);
        assert_eq!(
            out.records,
            vec![
                expected(b"inside", "p", 1),
                expected(b"start", "p", 3),
                expected(b"end", "p", 4),
                expected(b"signed", "p", 7),
            ]
        );
        assert_eq!(out.issue, Some(AggregateIssue::OutOfRange { dropped: 4 }));
    }

    #[test]
    fn out_of_range_by_partition_key_hash() {
        let a = partition_key_hash("a");
        let subs = vec![sub("b", None, b"1"), sub("a", None, b"2")];
        let exact = HashKeyRange { start: a, end: a };
        let out = deaggregate(container(encode_aggregate(&subs)), &exact);
        assert_eq!(out.records, vec![expected(b"2", "a", 1)]);
        assert_eq!(out.issue, Some(AggregateIssue::OutOfRange { dropped: 1 }));

        let just_above = HashKeyRange {
            start: a + 1,
            end: u128::MAX,
        };
        let out = deaggregate(container(encode_aggregate(&subs[1..])), &just_above);
        assert_eq!(out.records, Vec::new());
    }

    #[test]
    fn range_excluding_everything_yields_no_records() {
        let subs = vec![
            sub("a", None, b"1"),
            sub("b", Some("7"), b"2"),
            sub("c", None, b"3"),
        ];
        let empty = HashKeyRange { start: 1, end: 0 };
        let out = deaggregate(container(encode_aggregate(&subs)), &empty);
        assert_eq!(out.records, Vec::new());
        assert_eq!(out.issue, Some(AggregateIssue::OutOfRange { dropped: 3 }));
    }

    #[test]
    fn bad_sub_records_are_skipped_and_the_rest_kept() {
        #[rustfmt::skip]
        let message: &[u8] = &[
            0x0A, 0x01, b'a',                           // pk[0] = "a"
            0x12, 0x09, b'u', b'n', b'd', b'e', b'f', b'i', b'n', b'e', b'd', // ehk[0]
            0x12, 0x01, b'9',                           // ehk[1] = "9"
            0x1A, 0x05, 0x08, 0x00, 0x1A, 0x01, b'0',   // [0] pk 0: good
            0x1A, 0x05, 0x08, 0x03, 0x1A, 0x01, b'1',   // [1] pk index 3: bad
            0x1A, 0x07, 0x08, 0x00, 0x10, 0x00, 0x1A, 0x01, b'2', // [2] ehk "undefined": bad
            0x1A, 0x07, 0x08, 0x00, 0x10, 0x02, 0x1A, 0x01, b'3', // [3] ehk index 2: bad
            0x1A, 0x07, 0x08, 0x00, 0x10, 0x01, 0x1A, 0x01, b'4', // [4] ehk "9": good
            0x1A, 0x0E, 0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01,
                0x1A, 0x01, b'5',                       // [5] pk index 2^63: bad
        ];
        let out = full(wrap(message));
        assert_eq!(
            out.records,
            vec![expected(b"0", "a", 0), expected(b"4", "a", 4)]
        );
        assert_eq!(
            out.issue,
            Some(AggregateIssue::BadSubRecord {
                skipped: 4,
                reason: "sub-record 1: partition key index 3 is outside the partition key \
                         table (1 entries)"
                    .to_owned(),
                out_of_range: 0,
            })
        );

        // With a range excluding "9", both kinds are counted in one issue.
        let range = HashKeyRange {
            start: 10,
            end: u128::MAX,
        };
        let out = deaggregate(container(wrap(message)), &range);
        assert_eq!(out.records, vec![expected(b"0", "a", 0)]);
        match out.issue {
            Some(AggregateIssue::BadSubRecord {
                skipped: 4,
                out_of_range: 1,
                ..
            }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn bad_sub_record_reasons() {
        let reason = |subs: &[SubRecord]| match full(encode_aggregate(subs)).issue {
            Some(AggregateIssue::BadSubRecord { reason, .. }) => reason,
            other => panic!("unexpected {other:?}"),
        };
        for text in ["undefined", "", "+", "-", "1 2", " 1", "0x10", "1e5", "+-1"] {
            assert_eq!(
                reason(&[sub("k", Some(text), b"")]),
                format!("sub-record 0: explicit hash key {text:?} is not a decimal integer")
            );
        }
    }

    #[test]
    fn explicit_hash_key_parsing() {
        use ExplicitHashKey::*;
        assert_eq!(parse_explicit_hash_key("0"), Value(0));
        assert_eq!(parse_explicit_hash_key("-0"), Value(0));
        assert_eq!(parse_explicit_hash_key("-000"), Value(0));
        assert_eq!(parse_explicit_hash_key("+42"), Value(42));
        assert_eq!(parse_explicit_hash_key("00042"), Value(42));
        assert_eq!(
            parse_explicit_hash_key("340282366920938463463374607431768211455"),
            Value(u128::MAX)
        );
        assert_eq!(
            parse_explicit_hash_key("340282366920938463463374607431768211456"),
            OutsideKeySpace
        );
        assert_eq!(parse_explicit_hash_key("-1"), OutsideKeySpace);
        assert_eq!(parse_explicit_hash_key("\u{661}"), NotANumber);
        assert_eq!(parse_explicit_hash_key("1_000"), NotANumber);
    }

    #[test]
    fn partition_key_hash_known_values() {
        assert_eq!(
            partition_key_hash("a"),
            0x0cc175b9c0f1b6a831c399e269772661u128
        );
        assert_eq!(
            partition_key_hash(""),
            0xd41d8cd98f00b204e9800998ecf8427eu128
        );
        // MD5("The quick brown fox jumps over the lazy dog"), RFC-style test vector.
        assert_eq!(
            partition_key_hash("The quick brown fox jumps over the lazy dog"),
            0x9e107d9d372bb6826bd81d3542a419d6u128
        );
    }

    #[test]
    fn invalid_utf8_partition_key_is_replaced_not_rejected() {
        let message: &[u8] = &[0x0A, 0x02, b'x', 0xFF, 0x1A, 0x04, 0x08, 0x00, 0x1A, 0x00];
        let out = full(wrap(message));
        assert_eq!(out.issue, None);
        assert_eq!(out.records, vec![expected(b"", "x\u{FFFD}", 0)]);
        // The hash is that of the replaced string, as Java computes it.
        let h = partition_key_hash("x\u{FFFD}");
        let out = deaggregate(container(wrap(message)), &HashKeyRange { start: h, end: h });
        assert_eq!(out.records.len(), 1);
    }

    #[test]
    fn issues_display_as_sentences() {
        assert_eq!(
            AggregateIssue::Md5Mismatch.to_string(),
            "record starts with the KPL aggregate magic but its MD5 checksum does not match; \
             delivered as one ordinary record"
        );
        assert_eq!(
            AggregateIssue::InvalidProtobuf("missing required field records[0].data".into())
                .to_string(),
            "KPL aggregate has a valid MD5 checksum but an invalid protobuf (missing required \
             field records[0].data); delivered as one ordinary record"
        );
        assert_eq!(
            AggregateIssue::OutOfRange { dropped: 3 }.to_string(),
            "dropped 3 sub-record(s) of a KPL aggregate whose hash key lies outside the shard's \
             hash key range"
        );
        let bad = AggregateIssue::BadSubRecord {
            skipped: 2,
            reason: "sub-record 1: why".into(),
            out_of_range: 0,
        };
        assert_eq!(
            bad.to_string(),
            "skipped 2 malformed sub-record(s) of a KPL aggregate (first: sub-record 1: why)"
        );
        let both = AggregateIssue::BadSubRecord {
            skipped: 2,
            reason: "sub-record 1: why".into(),
            out_of_range: 4,
        };
        assert_eq!(
            both.to_string(),
            "skipped 2 malformed sub-record(s) of a KPL aggregate (first: sub-record 1: why); \
             also dropped 4 outside the shard's hash key range"
        );
    }

    fn arb_sub_record() -> impl Strategy<Value = SubRecord> {
        (
            prop_oneof![Just("a".to_owned()), Just("b".to_owned()), ".{0,8}"],
            prop::option::of(prop_oneof![
                any::<u128>().prop_map(|k| k.to_string()),
                Just("5".to_owned()),
            ]),
            prop::collection::vec(any::<u8>(), 0..32),
        )
            .prop_map(|(partition_key, explicit_hash_key, data)| SubRecord {
                partition_key,
                explicit_hash_key,
                data,
            })
    }

    proptest! {
        #[test]
        fn never_panics_on_bytes_after_the_magic(tail in prop::collection::vec(any::<u8>(), 0..300)) {
            let mut data = MAGIC.to_vec();
            data.extend_from_slice(&tail);
            let input = container(data);
            let out = deaggregate(input.clone(), &HashKeyRange::FULL);
            prop_assert_eq!(out.records.len(), 1);
            prop_assert_eq!(&out.records[0], &input);
        }

        #[test]
        fn never_panics_on_any_protobuf_bytes_with_a_valid_md5(
            message in prop::collection::vec(any::<u8>(), 1..300),
            start in any::<u128>(),
            end in any::<u128>(),
        ) {
            let input = container(wrap(&message));
            let out = deaggregate(input.clone(), &HashKeyRange { start, end });
            match &out.issue {
                Some(AggregateIssue::Md5Mismatch) => prop_assert!(false, "MD5 was valid"),
                Some(AggregateIssue::InvalidProtobuf(_)) => {
                    prop_assert_eq!(&out.records, &vec![input]);
                }
                _ => {
                    for r in &out.records {
                        prop_assert_eq!(&r.sequence_number, SEQ);
                    }
                }
            }
        }

        #[test]
        fn round_trips_arbitrary_sub_records(subs in prop::collection::vec(arb_sub_record(), 0..20)) {
            let out = full(encode_aggregate(&subs));
            if subs.is_empty() {
                // Magic + MD5 of an empty message is too short to be an aggregate.
                prop_assert_eq!(out.records.len(), 1);
            } else {
                prop_assert_eq!(out.issue, None);
                let want: Vec<Record> = subs
                    .iter()
                    .enumerate()
                    .map(|(i, s)| expected(&s.data, &s.partition_key, i as u64))
                    .collect();
                prop_assert_eq!(out.records, want);
            }
        }
    }
}

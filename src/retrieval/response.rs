//! The one decoder of a GetRecords response: the awsJson 1.1 body Kinesis answers with, which
//! is also what `aws kinesis get-records` prints (`replay` reads such files). Used by the direct
//! GetRecords path and by `replay`; the SDK's own path turns the SDK's decoded output into the
//! same [`Batch`], a record without an arrival time handled alike ([`arrival_millis`]), but the
//! SDK has read the timestamp as a binary float, so on that path it can be 1 ms early.
//!
//! Rules, as Java applies them (`docs/retrieval.md`, "Record fields"):
//! * `Data` stays the base64 text it came as (a slice of the body, not a copy): the child is sent
//!   exactly that text; it must be canonical base64.
//! * `ApproximateArrivalTimestamp` is epoch seconds as a decimal number, read exactly (the SDK
//!   for Java parses the decimal text; a binary float would put some records 1 ms early) and
//!   truncated to milliseconds. The AWS CLI v2 prints it as an RFC 3339 time instead, also
//!   accepted. A record without one gets the time the response was received.
//! * `SequenceNumber` must be decimal digits: checkpoints compare them as numbers.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{hash_range, Batch, ChildShard};
use crate::checkpoint::number_digits;
use crate::protocol::{Payload, Record};

/// A response that cannot be used: which record (if one) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", record.map(|i| format!("Records[{i}]: ")).unwrap_or_default())]
pub struct DecodeError {
    pub record: Option<usize>,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Output<'a> {
    #[serde(borrow)]
    records: Option<Vec<WireRecord<'a>>>,
    next_shard_iterator: Option<String>,
    millis_behind_latest: Option<i64>,
    child_shards: Option<Vec<WireChildShard>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireRecord<'a> {
    #[serde(borrow)]
    data: Cow<'a, str>,
    partition_key: Option<String>,
    sequence_number: String,
    #[serde(borrow)]
    approximate_arrival_timestamp: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireChildShard {
    shard_id: String,
    parent_shards: Option<Vec<String>>,
    hash_key_range: Option<WireHashKeyRange>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireHashKeyRange {
    starting_hash_key: String,
    ending_hash_key: String,
}

/// Decodes a GetRecords response body received at `received_ms` (epoch milliseconds).
pub fn decode(body: &bytes::Bytes, received_ms: i64) -> Result<Batch, DecodeError> {
    let whole = |message: String| DecodeError {
        record: None,
        message,
    };
    let out: Output = serde_json::from_slice(body).map_err(|e| whole(e.to_string()))?;
    let records = out
        .records
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            record(body, r, received_ms).map_err(|message| DecodeError {
                record: Some(i),
                message,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let child_shards = out
        .child_shards
        .unwrap_or_default()
        .into_iter()
        .map(|c| ChildShard {
            id: c.shard_id,
            parents: c.parent_shards.unwrap_or_default(),
            hash_range: c
                .hash_key_range
                .and_then(|r| hash_range(&r.starting_hash_key, &r.ending_hash_key)),
        })
        .collect();
    Ok(Batch {
        records,
        next_iterator: out.next_shard_iterator,
        millis_behind_latest: out.millis_behind_latest,
        child_shards,
    })
}

fn record(body: &bytes::Bytes, r: WireRecord<'_>, received_ms: i64) -> Result<Record, String> {
    let text = match r.data {
        // A slice of the response body, not a copy.
        Cow::Borrowed(b64) => body.slice_ref(b64.as_bytes()),
        Cow::Owned(b64) => b64.into(),
    };
    let data = Payload::base64(text).map_err(|e| format!("Data is not valid base64: {e}"))?;
    if number_digits(&r.sequence_number).is_none() {
        return Err(format!(
            "SequenceNumber {:?} is not decimal digits",
            r.sequence_number
        ));
    }
    let arrival = match r.approximate_arrival_timestamp {
        None => None,
        Some(raw) => Some(timestamp_millis(raw.get()).ok_or_else(|| {
            format!(
                "ApproximateArrivalTimestamp {} is neither epoch seconds nor an RFC 3339 time",
                raw.get()
            )
        })?),
    };
    Ok(Record {
        data,
        partition_key: r.partition_key.unwrap_or_default(),
        sequence_number: r.sequence_number,
        sub_sequence_number: 0,
        approximate_arrival_timestamp: arrival_millis(arrival, received_ms),
    })
}

/// Now, in epoch milliseconds: when a response was received.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A record's arrival time: the one it carries, else when the response was received.
pub fn arrival_millis(carried: Option<i64>, received_ms: i64) -> i64 {
    carried.unwrap_or(received_ms)
}

/// Epoch milliseconds of a JSON timestamp: a number of seconds (`1796694048.238`,
/// `1.7000000005E9`), read exactly and truncated toward the past, or a string holding an
/// RFC 3339 time (`"2018-12-17T22:08:34.456000+00:00"`).
fn timestamp_millis(json: &str) -> Option<i64> {
    if let Some(quoted) = json.strip_prefix('"') {
        let text = quoted.strip_suffix('"')?;
        let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .ok()?;
        return i64::try_from(t.unix_timestamp_nanos().div_euclid(1_000_000)).ok();
    }
    decimal_seconds_to_millis(json)
}

/// `[-]digits[.digits][(e|E)[+-]digits]` seconds as whole milliseconds, floored, with no
/// floating point.
fn decimal_seconds_to_millis(text: &str) -> Option<i64> {
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() || !(whole.bytes().chain(fraction.bytes())).all(|b| b.is_ascii_digit()) {
        return None;
    }
    // The digits, and where the decimal point falls among them once the exponent and the
    // seconds-to-milliseconds factor (10^3) are applied.
    let digits: Vec<u8> = whole.bytes().chain(fraction.bytes()).collect();
    let point = i64::try_from(whole.len()).ok()? + i64::from(exponent) + 3;
    let point = usize::try_from(point.max(0)).ok()?;
    let (int_part, rest) = digits.split_at(point.min(digits.len()));
    let mut magnitude: i64 = 0;
    for d in int_part {
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(i64::from(d - b'0'))?;
    }
    // Zeros the exponent adds after the digits (at once: `0e999999999` is no long loop).
    if magnitude != 0 {
        let padding = u32::try_from(point.saturating_sub(digits.len())).ok()?;
        magnitude = magnitude.checked_mul(10_i64.checked_pow(padding)?)?;
    }
    let below = rest.iter().any(|d| *d != b'0');
    Some(if negative {
        -magnitude - i64::from(below)
    } else {
        magnitude
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_str(body: &'static str) -> Result<Batch, DecodeError> {
        decode(&bytes::Bytes::from_static(body.as_bytes()), 42)
    }

    #[test]
    fn timestamps_are_read_exactly() {
        let cases = [
            ("1796694048.238", Some(1_796_694_048_238)),
            ("1796694048.2389", Some(1_796_694_048_238)),
            ("1796694048", Some(1_796_694_048_000)),
            ("1796694048.2", Some(1_796_694_048_200)),
            ("1.7000000005E9", Some(1_700_000_000_500)),
            ("1.7000000005e+9", Some(1_700_000_000_500)),
            ("17000000005E-1", Some(1_700_000_000_500)),
            ("0.0005", Some(0)),
            ("0", Some(0)),
            ("000123.4", Some(123_400)),
            ("-1.5", Some(-1500)),
            ("-0.0005", Some(-1)),
            ("0e999999999", Some(0)),
            ("1e30", None),
            (
                "\"2018-12-17T22:08:34.456000+00:00\"",
                Some(1_545_084_514_456),
            ),
            ("\"2018-12-17T22:08:34Z\"", Some(1_545_084_514_000)),
            ("\"yesterday\"", None),
            ("1.2.3", None),
            ("", None),
            ("true", None),
        ];
        for (json, want) in cases {
            assert_eq!(timestamp_millis(json), want, "{json}");
        }
        // Where a binary float goes wrong: 1796694048.238 is 1796694048.2379999... as an f64.
        let float = aws_smithy_types::DateTime::from_secs_f64(1796694048.238).to_millis();
        assert_eq!(float.ok(), Some(1_796_694_048_237));
    }

    #[test]
    fn a_batch_keeps_its_data_as_text_and_its_fields_as_sent() {
        let body = r#"{"Records":[
            {"Data":"aGVsbG8=","PartitionKey":"pk","SequenceNumber":"4959","ApproximateArrivalTimestamp":1796694048.238,"EncryptionType":"NONE"},
            {"Data":"","SequenceNumber":"4960"}],
            "NextShardIterator":"next","MillisBehindLatest":42}"#;
        let batch = decode_str(body).unwrap();
        let r = &batch.records[0];
        assert!(matches!(&r.data, Payload::Base64(t) if &t[..] == b"aGVsbG8="));
        assert_eq!(
            (
                r.partition_key.as_str(),
                r.sequence_number.as_str(),
                r.approximate_arrival_timestamp
            ),
            ("pk", "4959", 1_796_694_048_238)
        );
        // No partition key, no arrival time: empty, and the time the response was received.
        let r = &batch.records[1];
        assert_eq!(
            (r.partition_key.as_str(), r.approximate_arrival_timestamp),
            ("", 42)
        );
        assert_eq!(batch.next_iterator.as_deref(), Some("next"));
        assert_eq!(batch.millis_behind_latest, Some(42));
    }

    #[test]
    fn the_end_of_a_shard_carries_its_children_and_no_iterator() {
        let body = r#"{"Records":[],"NextShardIterator":null,"MillisBehindLatest":0,
            "ChildShards":[{"ShardId":"shardId-000000000002","ParentShards":["shardId-000000000000"],
            "HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"170141183460469231731687303715884105727"}}]}"#;
        let batch = decode_str(body).unwrap();
        assert_eq!(batch.next_iterator, None);
        assert_eq!(
            batch.child_shards,
            vec![ChildShard {
                id: "shardId-000000000002".into(),
                parents: vec!["shardId-000000000000".into()],
                hash_range: hash_range("0", "170141183460469231731687303715884105727"),
            }]
        );
    }

    #[test]
    fn bad_records_are_named() {
        let cases = [
            (
                r#"{"Records":[{"Data":"aGk=","SequenceNumber":"1"},{"Data":"!!","SequenceNumber":"2"}]}"#,
                "Records[1]: Data is not valid base64",
            ),
            (
                r#"{"Records":[{"Data":"aGk=","SequenceNumber":"12x"}]}"#,
                "Records[0]: SequenceNumber \"12x\" is not decimal digits",
            ),
            (
                r#"{"Records":[{"Data":"aGk=","SequenceNumber":"1","ApproximateArrivalTimestamp":"soon"}]}"#,
                "Records[0]: ApproximateArrivalTimestamp \"soon\" is neither",
            ),
            ("not json", "expected"),
        ];
        for (body, want) in cases {
            let e = decode_str(body).unwrap_err().to_string();
            assert!(e.starts_with(want) || e.contains(want), "{body}: {e}");
        }
    }
}

//! The MultiLang wire protocol: what the daemon writes to a child's stdin and how it reads the
//! child's stdout (`docs/protocol.md`).
//!
//! Pure code: message types, the encoder (one JSON object per `\n`-terminated line), the line
//! framer for child output (`\n`, `\r\n` or a lone `\r`; any bytes accepted; lines bounded by
//! [`MAX_LINE`]) and the classification of each child line. This module does no I/O.

use bytes::{Buf, BytesMut};
use serde_json::Value;
use tokio_util::codec::Decoder;

/// An action the daemon sends that the child must answer with a `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Initialize,
    ProcessRecords,
    LeaseLost,
    ShardEnded,
    ShutdownRequested,
}

impl Action {
    /// The wire name, which is also the `responseFor` the child must answer with.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Initialize => "initialize",
            Action::ProcessRecords => "processRecords",
            Action::LeaseLost => "leaseLost",
            Action::ShardEnded => "shardEnded",
            Action::ShutdownRequested => "shutdownRequested",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A record's data: the bytes, or their base64 text where that is how they arrived (GetRecords'
/// `Data`, a records file's `dataBase64`). Text kept as text is written to the child as it is —
/// no decode on the way in, no encode on the way out — which is exact because only canonical text
/// (standard alphabet, padded, unused bits zero: what encoding the bytes writes) is kept.
#[derive(Debug, Clone)]
pub enum Payload {
    Bytes(bytes::Bytes),
    /// Canonical standard base64, checked by [`Payload::base64`].
    Base64(bytes::Bytes),
}

impl Payload {
    /// `text` kept as base64 if it is canonical base64; the decoder's error otherwise.
    pub fn base64(text: bytes::Bytes) -> Result<Payload, base64_simd::Error> {
        base64_simd::STANDARD.check(&text)?;
        Ok(Payload::Base64(text))
    }

    /// The bytes, decoded (a copy) if kept as base64.
    pub fn to_bytes(&self) -> bytes::Bytes {
        match self {
            Payload::Bytes(b) => b.clone(),
            // Checked on construction: decoding cannot fail.
            Payload::Base64(t) => base64_simd::STANDARD
                .decode_to_vec(t)
                .unwrap_or_default()
                .into(),
        }
    }

    /// Whether the bytes begin with `prefix`, decoding no more of base64 text than that takes.
    pub fn starts_with(&self, prefix: &[u8]) -> bool {
        match self {
            Payload::Bytes(b) => b.starts_with(prefix),
            Payload::Base64(t) => {
                let chars = prefix.len().div_ceil(3) * 4;
                let Some(head) = t.get(..chars) else {
                    return self.to_bytes().starts_with(prefix);
                };
                base64_simd::STANDARD
                    .decode_to_vec(head)
                    .is_ok_and(|b| b.starts_with(prefix))
            }
        }
    }

    /// The length of the bytes.
    pub fn len(&self) -> usize {
        match self {
            Payload::Bytes(b) => b.len(),
            Payload::Base64(t) => base64_simd::STANDARD.decoded_length(t).unwrap_or_default(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Payload::Bytes(b) => b.is_empty(),
            Payload::Base64(t) => t.is_empty(),
        }
    }

    /// The length of the base64 text.
    pub fn base64_len(&self) -> usize {
        match self {
            Payload::Bytes(b) => base64_simd::STANDARD.encoded_length(b.len()),
            Payload::Base64(t) => t.len(),
        }
    }

    /// Appends the base64 text (the alphabet the client libraries decode: standard, padded, no
    /// line breaks).
    fn append_base64(&self, out: &mut Vec<u8>) {
        match self {
            Payload::Bytes(b) => base64_simd::STANDARD.encode_append(b, out),
            Payload::Base64(t) => out.extend_from_slice(t),
        }
    }
}

impl Default for Payload {
    fn default() -> Self {
        Payload::Bytes(bytes::Bytes::new())
    }
}

/// Equal when the bytes are, however each side holds them.
impl PartialEq for Payload {
    fn eq(&self, other: &Payload) -> bool {
        match (self, other) {
            (Payload::Bytes(a), Payload::Bytes(b)) | (Payload::Base64(a), Payload::Base64(b)) => {
                a == b
            }
            _ => self.to_bytes() == other.to_bytes(),
        }
    }
}

impl Eq for Payload {}

impl From<bytes::Bytes> for Payload {
    fn from(b: bytes::Bytes) -> Payload {
        Payload::Bytes(b)
    }
}

impl From<Vec<u8>> for Payload {
    fn from(b: Vec<u8>) -> Payload {
        Payload::Bytes(b.into())
    }
}

/// One Kinesis record as handed to a child (after KPL de-aggregation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub data: Payload,
    pub partition_key: String,
    /// Decimal digits, up to 128 bits and more; compared as a number, never parsed into one.
    pub sequence_number: String,
    pub sub_sequence_number: u64,
    /// Epoch milliseconds.
    pub approximate_arrival_timestamp: i64,
}

/// Appends `s` as a JSON string literal (quotes and escapes included).
fn push_json_str(out: &mut Vec<u8>, s: &str) {
    // Partition keys and sequence numbers need no escapes as a rule: copied as they are.
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
    // serde_json escapes exactly as JSON requires and writes non-ASCII raw, as Jackson does.
    // Writing to a Vec cannot fail.
    serde_json::to_writer(&mut *out, s).unwrap_or_default();
}

fn push_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => push_json_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

fn push_int(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn push_opt_int(out: &mut Vec<u8>, n: Option<i64>) {
    match n {
        Some(n) => push_int(out, n),
        None => out.extend_from_slice(b"null"),
    }
}

/// `{"action":"initialize",...}\n`. Java writes nulls only when the lease has no checkpoint.
pub fn encode_initialize(
    out: &mut Vec<u8>,
    shard_id: &str,
    sequence_number: Option<&str>,
    sub_sequence_number: Option<u64>,
) {
    out.extend_from_slice(b"{\"action\":\"initialize\",\"shardId\":");
    push_json_str(out, shard_id);
    out.extend_from_slice(b",\"sequenceNumber\":");
    push_opt_str(out, sequence_number);
    out.extend_from_slice(b",\"subSequenceNumber\":");
    push_opt_int(out, sub_sequence_number.map(|n| n as i64));
    out.extend_from_slice(b"}\n");
}

/// About how long the `processRecords` line for `records` is (a little more, as a rule).
pub fn process_records_len_hint(records: &[Record]) -> usize {
    let payload: usize = records.iter().map(|r| r.data.base64_len()).sum();
    payload + records.len() * 200 + 80
}

/// `{"action":"processRecords","records":[...],"millisBehindLatest":...}\n`.
///
/// The hot path: base64 is written straight into `out` (SIMD where the CPU has it), with no
/// intermediate strings.
pub fn encode_process_records(
    out: &mut Vec<u8>,
    records: &[Record],
    millis_behind_latest: Option<i64>,
) {
    out.reserve(process_records_len_hint(records));
    out.extend_from_slice(b"{\"action\":\"processRecords\",\"records\":[");
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"action\":\"record\",\"data\":\"");
        r.data.append_base64(out);
        out.extend_from_slice(b"\",\"partitionKey\":");
        push_json_str(out, &r.partition_key);
        out.extend_from_slice(b",\"sequenceNumber\":");
        push_json_str(out, &r.sequence_number);
        out.extend_from_slice(b",\"subSequenceNumber\":");
        push_int(out, r.sub_sequence_number);
        out.extend_from_slice(b",\"approximateArrivalTimestamp\":");
        push_int(out, r.approximate_arrival_timestamp);
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"millisBehindLatest\":");
    push_opt_int(out, millis_behind_latest);
    out.extend_from_slice(b"}\n");
}

/// `leaseLost`, `shardEnded`, `shutdownRequested`: only the action. (`initialize` and
/// `processRecords` carry fields and have their own encoders.)
pub fn encode_bare(out: &mut Vec<u8>, action: Action) {
    out.extend_from_slice(b"{\"action\":\"");
    out.extend_from_slice(action.as_str().as_bytes());
    out.extend_from_slice(b"\"}\n");
}

/// The reply to a child's checkpoint request: echoes what the child asked for.
pub fn encode_checkpoint_reply(
    out: &mut Vec<u8>,
    sequence_number: Option<&str>,
    sub_sequence_number: Option<i64>,
    error: Option<&str>,
) {
    out.extend_from_slice(b"{\"action\":\"checkpoint\",\"sequenceNumber\":");
    push_opt_str(out, sequence_number);
    out.extend_from_slice(b",\"subSequenceNumber\":");
    push_opt_int(out, sub_sequence_number);
    out.extend_from_slice(b",\"error\":");
    push_opt_str(out, error);
    out.extend_from_slice(b"}\n");
}

/// A protocol message from the child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromChild {
    /// "I finished the action named here." `None` when `responseFor` is null or absent.
    Status { response_for: Option<String> },
    /// A checkpoint request; absent and null are the same. Sequence numbers given as JSON numbers
    /// and sub-sequence numbers given as numeric strings are coerced, as Jackson does.
    Checkpoint {
        sequence_number: Option<String>,
        sub_sequence_number: Option<i64>,
    },
}

/// What one line of child stdout is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildLine {
    /// `""`: skipped silently (the libraries surround every message with newlines).
    Blank,
    /// A message the daemon acts on.
    Message(FromChild),
    /// Anything else: skipped with a log line; the reason says why.
    Skipped(&'static str),
}

/// Classifies one line of child stdout (without its terminator), as Java does, except that
/// unknown extra properties are accepted (`docs/protocol.md`, "Child output").
pub fn classify_line(line: &[u8]) -> ChildLine {
    if line.is_empty() {
        return ChildLine::Blank;
    }
    // Invalid UTF-8 (a child printing Latin-1, a byte cut in half) is decoded lossily, as Java's
    // reader does, rather than losing the line: a `status` with a stray byte in it still counts.
    let line = String::from_utf8_lossy(line);
    // Java accepts the first JSON value and ignores trailing garbage.
    let mut values = serde_json::Deserializer::from_str(&line).into_iter::<Value>();
    let value = match values.next() {
        Some(Ok(v)) => v,
        _ => return ChildLine::Skipped("not JSON"),
    };
    let Value::Object(map) = value else {
        return ChildLine::Skipped("not a JSON object");
    };
    let Some(action) = map.get("action") else {
        return ChildLine::Skipped("no action");
    };
    match action.as_str() {
        Some("status") => {
            let response_for = match map.get("responseFor") {
                Some(Value::String(s)) => Some(s.clone()),
                None | Some(Value::Null) => None,
                Some(other) => Some(other.to_string()),
            };
            ChildLine::Message(FromChild::Status { response_for })
        }
        Some("checkpoint") => {
            let sequence_number = match map.get("sequenceNumber") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                Some(_) => return ChildLine::Skipped("checkpoint sequenceNumber is not a string"),
            };
            let sub_sequence_number = match map.get("subSequenceNumber") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => match n.as_i64() {
                    Some(n) => Some(n),
                    None => {
                        return ChildLine::Skipped("checkpoint subSequenceNumber is not an integer")
                    }
                },
                Some(Value::String(s)) => match s.trim().parse::<i64>() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        return ChildLine::Skipped("checkpoint subSequenceNumber is not an integer")
                    }
                },
                Some(_) => {
                    return ChildLine::Skipped("checkpoint subSequenceNumber is not an integer")
                }
            };
            ChildLine::Message(FromChild::Checkpoint {
                sequence_number,
                sub_sequence_number,
            })
        }
        Some(
            "initialize" | "processRecords" | "leaseLost" | "shardEnded" | "shutdownRequested"
            | "shutdown" | "record",
        ) => ChildLine::Skipped("a daemon-to-child action"),
        _ => ChildLine::Skipped("unknown action"),
    }
}

/// The longest line a child may write: far more than any protocol message (a `status` or
/// `checkpoint` is well under 1 KiB), small enough that a child that never ends a line cannot make
/// the daemon's memory grow without bound.
pub const MAX_LINE: usize = 1 << 20;

/// What [`LineDecoder`] does with a line longer than its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverLong {
    /// An error: the stream is not a protocol stream (a child's stdout).
    Fail,
    /// Cut into pieces of the limit's length (a child's stderr, which is only logged).
    Split,
}

/// Splits child output into lines ended by `\n`, `\r\n` or a lone `\r` (Java's
/// `BufferedReader.readLine`), with no UTF-8 requirement. The final unterminated line is returned
/// at EOF. Unlike Java, a line may be at most `max_len` bytes long ([`OverLong`]).
#[derive(Debug)]
pub struct LineDecoder {
    /// Where to resume the search for a terminator in the buffer.
    next_index: usize,
    max_len: usize,
    over_long: OverLong,
}

impl LineDecoder {
    pub fn new(max_len: usize, over_long: OverLong) -> Self {
        LineDecoder {
            next_index: 0,
            max_len,
            over_long,
        }
    }

    fn too_long(&self) -> std::io::Error {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "a line longer than {} bytes (protocol messages are one short JSON line each)",
                self.max_len
            ),
        )
    }
}

/// [`MAX_LINE`], failing on longer lines.
impl Default for LineDecoder {
    fn default() -> Self {
        LineDecoder::new(MAX_LINE, OverLong::Fail)
    }
}

impl Decoder for LineDecoder {
    type Item = BytesMut;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<BytesMut>, std::io::Error> {
        let Some(offset) = memchr::memchr2(b'\n', b'\r', &buf[self.next_index..]) else {
            self.next_index = buf.len();
            if buf.len() > self.max_len {
                self.next_index = 0;
                return match self.over_long {
                    OverLong::Fail => Err(self.too_long()),
                    OverLong::Split => Ok(Some(buf.split_to(self.max_len))),
                };
            }
            return Ok(None);
        };
        let end = self.next_index + offset;
        if end > self.max_len {
            self.next_index = 0;
            return match self.over_long {
                OverLong::Fail => Err(self.too_long()),
                OverLong::Split => Ok(Some(buf.split_to(self.max_len))),
            };
        }
        let terminator_len = if buf[end] == b'\r' {
            match buf.get(end + 1) {
                Some(b'\n') => 2,
                Some(_) => 1,
                // A `\r` at the end of what we have: a `\n` may still follow.
                None => {
                    self.next_index = end;
                    return Ok(None);
                }
            }
        } else {
            1
        };
        self.next_index = 0;
        let line = buf.split_to(end);
        buf.advance(terminator_len);
        Ok(Some(line))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<BytesMut>, std::io::Error> {
        if let Some(line) = self.decode(buf)? {
            return Ok(Some(line));
        }
        self.next_index = 0;
        if buf.is_empty() {
            return Ok(None);
        }
        let mut line = buf.split();
        if line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        Ok(Some(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use proptest::prelude::*;

    fn rec(data: &[u8], pk: &str, seq: &str, sub: u64, ts: i64) -> Record {
        Record {
            data: bytes::Bytes::copy_from_slice(data).into(),
            partition_key: pk.into(),
            sequence_number: seq.into(),
            sub_sequence_number: sub,
            approximate_arrival_timestamp: ts,
        }
    }

    fn s(out: Vec<u8>) -> String {
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn initialize_matches_java_field_order_and_nulls() {
        let mut out = vec![];
        encode_initialize(
            &mut out,
            "shardId-000000000004",
            Some("TRIM_HORIZON"),
            Some(0),
        );
        assert_eq!(
            s(out),
            "{\"action\":\"initialize\",\"shardId\":\"shardId-000000000004\",\"sequenceNumber\":\"TRIM_HORIZON\",\"subSequenceNumber\":0}\n"
        );
        let mut out = vec![];
        encode_initialize(&mut out, "s", None, None);
        assert_eq!(
            s(out),
            "{\"action\":\"initialize\",\"shardId\":\"s\",\"sequenceNumber\":null,\"subSequenceNumber\":null}\n"
        );
    }

    #[test]
    fn process_records_matches_the_documented_transcript() {
        let mut out = vec![];
        encode_process_records(
            &mut out,
            &[
                rec(
                    b"hello",
                    "user-17",
                    "49654023716589134560122394217618524611839505447823802386",
                    0,
                    1752000000123,
                ),
                rec(
                    b"{\"clicks\":3}",
                    "user-9",
                    "49654023716589134560122394217618524611839505447823802402",
                    0,
                    1752000000456,
                ),
            ],
            Some(1200),
        );
        assert_eq!(
            s(out),
            concat!(
                "{\"action\":\"processRecords\",\"records\":[",
                "{\"action\":\"record\",\"data\":\"aGVsbG8=\",\"partitionKey\":\"user-17\",\"sequenceNumber\":\"49654023716589134560122394217618524611839505447823802386\",\"subSequenceNumber\":0,\"approximateArrivalTimestamp\":1752000000123},",
                "{\"action\":\"record\",\"data\":\"eyJjbGlja3MiOjN9\",\"partitionKey\":\"user-9\",\"sequenceNumber\":\"49654023716589134560122394217618524611839505447823802402\",\"subSequenceNumber\":0,\"approximateArrivalTimestamp\":1752000000456}",
                "],\"millisBehindLatest\":1200}\n"
            )
        );
    }

    #[test]
    fn process_records_escapes_keys_and_handles_empty() {
        let mut out = vec![];
        encode_process_records(&mut out, &[rec(b"", "a\"b\\c\nd\u{e9}", "1", 3, 0)], None);
        let text = s(out);
        assert!(text.ends_with('\n'));
        assert_eq!(text.matches('\n').count(), 1, "one line only");
        let v: Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(v["records"][0]["partitionKey"], "a\"b\\c\nd\u{e9}");
        assert_eq!(v["records"][0]["data"], "");
        assert_eq!(v["records"][0]["subSequenceNumber"], 3);
        assert!(v["millisBehindLatest"].is_null());
        let mut out = vec![];
        encode_process_records(&mut out, &[], Some(0));
        assert_eq!(
            s(out),
            "{\"action\":\"processRecords\",\"records\":[],\"millisBehindLatest\":0}\n"
        );
    }

    #[test]
    fn bare_and_checkpoint_reply() {
        let mut out = vec![];
        encode_bare(&mut out, Action::ShardEnded);
        encode_checkpoint_reply(&mut out, None, None, Some("ShutdownException"));
        encode_checkpoint_reply(&mut out, Some("12"), Some(0), None);
        assert_eq!(
            s(out),
            concat!(
                "{\"action\":\"shardEnded\"}\n",
                "{\"action\":\"checkpoint\",\"sequenceNumber\":null,\"subSequenceNumber\":null,\"error\":\"ShutdownException\"}\n",
                "{\"action\":\"checkpoint\",\"sequenceNumber\":\"12\",\"subSequenceNumber\":0,\"error\":null}\n"
            )
        );
    }

    fn status(r: &str) -> ChildLine {
        ChildLine::Message(FromChild::Status {
            response_for: Some(r.into()),
        })
    }

    #[test]
    fn classification_table() {
        let cases: Vec<(&str, ChildLine)> = vec![
            ("", ChildLine::Blank),
            ("hello from print()", ChildLine::Skipped("not JSON")),
            ("   ", ChildLine::Skipped("not JSON")),
            ("{\"action\":\"status\"", ChildLine::Skipped("not JSON")),
            ("{\"foo\":1}", ChildLine::Skipped("no action")),
            ("{\"action\":\"prepareCheckpoint\"}", ChildLine::Skipped("unknown action")),
            ("null", ChildLine::Skipped("not a JSON object")),
            ("[1]", ChildLine::Skipped("not a JSON object")),
            ("{\"action\":\"initialize\",\"shardId\":\"x\"}", ChildLine::Skipped("a daemon-to-child action")),
            ("{\"action\": \"status\", \"responseFor\": \"initialize\"}", status("initialize")),
            // Unknown extra properties accepted (unlike Java), trailing garbage ignored (as Java).
            ("{\"action\":\"status\",\"responseFor\":\"initialize\",\"x\":1}", status("initialize")),
            ("{\"action\":\"status\",\"responseFor\":\"leaseLost\"} trailing", status("leaseLost")),
            (
                "{\"action\":\"status\"}",
                ChildLine::Message(FromChild::Status { response_for: None }),
            ),
            (
                "{\"action\": \"checkpoint\", \"sequenceNumber\": null, \"subSequenceNumber\": null}",
                ChildLine::Message(FromChild::Checkpoint { sequence_number: None, sub_sequence_number: None }),
            ),
            (
                "{\"action\":\"checkpoint\",\"sequenceNumber\":\"42\"}",
                ChildLine::Message(FromChild::Checkpoint { sequence_number: Some("42".into()), sub_sequence_number: None }),
            ),
            (
                "{\"action\":\"checkpoint\",\"sequenceNumber\":42,\"subSequenceNumber\":\"3\"}",
                ChildLine::Message(FromChild::Checkpoint { sequence_number: Some("42".into()), sub_sequence_number: Some(3) }),
            ),
        ];
        for (line, want) in cases {
            assert_eq!(classify_line(line.as_bytes()), want, "line {line:?}");
        }
        // Bytes that are not UTF-8 (Latin-1 here) are decoded lossily: the message still counts.
        assert_eq!(
            classify_line(
                b"{\"action\":\"status\",\"responseFor\":\"processRecords\",\"note\":\"caf\xe9\"}"
            ),
            status("processRecords")
        );
        assert_eq!(
            classify_line(b"{\"action\":\"checkpoint\",\"sequenceNumber\":\"7\xff\"}"),
            ChildLine::Message(FromChild::Checkpoint {
                sequence_number: Some("7\u{fffd}".into()),
                sub_sequence_number: None
            })
        );
    }

    fn decode_all(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut dec = LineDecoder::default();
        let mut buf = BytesMut::new();
        let mut lines = vec![];
        for c in chunks {
            buf.extend_from_slice(c);
            while let Some(l) = dec.decode(&mut buf).unwrap() {
                lines.push(l.to_vec());
            }
        }
        while let Some(l) = dec.decode_eof(&mut buf).unwrap() {
            lines.push(l.to_vec());
        }
        lines
    }

    #[test]
    fn line_endings_like_readline() {
        let input = b"a\nb\r\nc\rd\n\ne\xff\xfe\r\rlast";
        let want: Vec<Vec<u8>> = vec![
            b"a".to_vec(),
            b"b".to_vec(),
            b"c".to_vec(),
            b"d".to_vec(),
            b"".to_vec(),
            b"e\xff\xfe".to_vec(),
            b"".to_vec(),
            b"last".to_vec(),
        ];
        assert_eq!(decode_all(&[input]), want);
        // Split at every offset: the result must not change (a `\r\n` split across reads is one
        // terminator).
        for i in 0..=input.len() {
            assert_eq!(
                decode_all(&[&input[..i], &input[i..]]),
                want,
                "split at {i}"
            );
        }
        assert_eq!(decode_all(&[b"x\r"]), vec![b"x".to_vec()]);
        assert_eq!(decode_all(&[b""]), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn long_lines_are_bounded() {
        let decode = |over_long, input: &[u8]| {
            let mut dec = LineDecoder::new(10, over_long);
            let mut buf = BytesMut::new();
            let mut lines = vec![];
            for chunk in input.chunks(3) {
                buf.extend_from_slice(chunk);
                while let Some(l) = dec.decode(&mut buf)? {
                    lines.push(l.to_vec());
                }
            }
            while let Some(l) = dec.decode_eof(&mut buf)? {
                lines.push(l.to_vec());
            }
            Ok::<_, std::io::Error>(lines)
        };
        // Up to the limit, with or without a terminator: lines as usual.
        let fits = b"0123456789\nabc\r\n0123456789";
        let want = vec![
            b"0123456789".to_vec(),
            b"abc".to_vec(),
            b"0123456789".to_vec(),
        ];
        assert_eq!(decode(OverLong::Fail, fits).unwrap(), want);
        assert_eq!(decode(OverLong::Split, fits).unwrap(), want);
        // One byte more, terminated or not, ended or not: an error, or pieces of the limit.
        for long in [
            &b"01234567890\n"[..],
            b"01234567890",
            b"ok\n0123456789012345678",
        ] {
            let e = decode(OverLong::Fail, long).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
            assert!(e.to_string().contains("longer than 10 bytes"), "{e}");
        }
        assert_eq!(
            decode(OverLong::Split, b"0123456789abcdefghijKL\nok").unwrap(),
            vec![
                b"0123456789".to_vec(),
                b"abcdefghij".to_vec(),
                b"KL".to_vec(),
                b"ok".to_vec()
            ]
        );
        // A line that never ends stops growing the buffer at the limit.
        let mut dec = LineDecoder::new(10, OverLong::Fail);
        let mut buf = BytesMut::new();
        let mut failed = false;
        for _ in 0..100 {
            buf.extend_from_slice(b"xxxx");
            if dec.decode(&mut buf).is_err() {
                failed = true;
                break;
            }
        }
        assert!(failed && buf.len() <= 12, "{}", buf.len());
        // The default limit leaves room for any protocol message and some junk.
        let big = vec![b'x'; MAX_LINE];
        let mut input = big.clone();
        input.push(b'\n');
        let chunks: Vec<&[u8]> = input.chunks(65536).collect();
        assert_eq!(decode_all(&chunks), vec![big]);
    }

    #[test]
    fn base64_payloads_are_kept_only_when_canonical() {
        let b64 = |s: &'static str| Payload::base64(bytes::Bytes::from_static(s.as_bytes()));
        for bad in ["QR==", "QQ", "QQ=", "@@@@", "aGk=\n", "aG k="] {
            assert!(b64(bad).is_err(), "{bad:?}");
        }
        let p = b64("aGVsbG8=").unwrap();
        assert_eq!(&p.to_bytes()[..], b"hello");
        assert_eq!((p.len(), p.base64_len(), p.is_empty()), (5, 8, false));
        assert_eq!(p, Payload::from(b"hello".to_vec()));
        assert_ne!(p, Payload::from(b"hellO".to_vec()));
        let empty = b64("").unwrap();
        assert_eq!((empty.len(), empty.is_empty()), (0, true));
        assert_eq!(empty, Payload::default());
    }

    #[test]
    fn base64_payloads_are_sent_as_they_came() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let text = base64::engine::general_purpose::STANDARD.encode(&data);
        let mut as_text = rec(b"", "pk", "7", 0, 1);
        as_text.data = Payload::base64(text.into()).unwrap();
        let as_bytes = rec(&data, "pk", "7", 0, 1);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        encode_process_records(&mut a, &[as_text.clone()], Some(0));
        encode_process_records(&mut b, std::slice::from_ref(&as_bytes), Some(0));
        assert_eq!(a, b);
        assert_eq!(as_text, as_bytes);
        assert!(process_records_len_hint(&[as_text]) >= a.len());
    }

    proptest! {
        #[test]
        fn starts_with_agrees_with_the_bytes(
            data in proptest::collection::vec(0u8..4, 0..12),
            prefix in proptest::collection::vec(0u8..4, 0..6),
        ) {
            let text = base64::engine::general_purpose::STANDARD.encode(&data);
            let p = Payload::base64(text.into()).unwrap();
            prop_assert_eq!(p.starts_with(&prefix), data.starts_with(&prefix));
            prop_assert_eq!(p.len(), data.len());
        }

        #[test]
        fn classify_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = classify_line(&bytes);
        }

        #[test]
        fn framing_is_split_invariant(
            lines in proptest::collection::vec("[a-z{}\":, ]{0,20}", 0..8),
            ends in proptest::collection::vec(0u8..3, 8),
            cut in 0usize..200,
        ) {
            let mut input = Vec::new();
            for (i, l) in lines.iter().enumerate() {
                input.extend_from_slice(l.as_bytes());
                // A lone `\r` before an empty `\n`-terminated line would be `\r\n`: one terminator.
                let next_is_empty = lines.get(i + 1).is_some_and(|l| l.is_empty());
                input.extend_from_slice(match ends[i] {
                    0 => b"\n" as &[u8],
                    1 => b"\r\n",
                    _ if next_is_empty => b"\n",
                    _ => b"\r",
                });
            }
            let cut = cut.min(input.len());
            let got = decode_all(&[&input[..cut], &input[cut..]]);
            let want: Vec<Vec<u8>> = lines.iter().map(|l| l.as_bytes().to_vec()).collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn encoded_records_round_trip(
            data in proptest::collection::vec(any::<u8>(), 0..3000),
            pk in ".{0,12}",
            sub in 0u64..1000,
            ts in 0i64..4_000_000_000_000,
        ) {
            let r = rec(&data, &pk, "4965402371658913456012239421761852461183950544782380", sub, ts);
            let mut out = vec![];
            encode_process_records(&mut out, std::slice::from_ref(&r), Some(5));
            let v: Value = serde_json::from_slice(&out).unwrap();
            let got = base64::engine::general_purpose::STANDARD.decode(v["records"][0]["data"].as_str().unwrap()).unwrap();
            prop_assert_eq!(got, data);
            prop_assert_eq!(v["records"][0]["partitionKey"].as_str().unwrap(), pk.as_str());
            prop_assert_eq!(v["records"][0]["subSequenceNumber"].as_u64().unwrap(), sub);
            prop_assert_eq!(v["records"][0]["approximateArrivalTimestamp"].as_i64().unwrap(), ts);
        }
    }
}

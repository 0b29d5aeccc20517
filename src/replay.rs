//! `kcl-bridge replay`: runs the application named in a properties file against records from a
//! file, exactly as shards would feed it, with checkpoints kept in memory. No AWS involved.
//!
//! One child per shard, shards concurrently: `initialize` → `processRecords` batches of
//! `maxRecords` → the chosen ending. Parsing the records file is pure ([`parse_records`]); the
//! run itself uses the same [`ShardChild`] driver as the worker.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tracing::{error, info, info_span, warn, Instrument};

use crate::checkpoint::{
    number_digits, CheckpointError, CheckpointState, ExtendedSequenceNumber, MemorySink,
    SequenceNumber,
};
use crate::child::{ChildError, ChildSpec, ShardChild};
use crate::config::Config;
use crate::protocol::{Payload, Record};
use crate::transcript::Transcript;

/// The shard a record belongs to when its line names none.
pub const DEFAULT_SHARD_ID: &str = "shardId-000000000000";
/// The partition key a record gets when its line names none.
pub const DEFAULT_PARTITION_KEY: &str = "replay";

/// How each shard's session ends after its last record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndMode {
    /// `shardEnded`: the application must checkpoint at shard end.
    ShardEnd,
    /// `leaseLost`: no checkpoint possible.
    LeaseLost,
    /// `shutdownRequested` (the application may checkpoint), then `leaseLost`.
    ShutdownRequested,
}

/// A records file that cannot be used: where and why, as `file:line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", file.display(), position(*line, *column))]
pub struct RecordsError {
    pub file: PathBuf,
    /// The file's line, 1-based; 0 when the problem is not on one line.
    pub line: usize,
    /// The byte in the line, 1-based; 0 when no one place is to blame.
    pub column: usize,
    pub message: String,
}

impl RecordsError {
    fn at(file: &Path, line: usize, message: String) -> Self {
        RecordsError {
            file: file.to_owned(),
            line,
            column: 0,
            message,
        }
    }
}

fn position(line: usize, column: usize) -> String {
    match (line, column) {
        (0, _) => String::new(),
        (line, 0) => format!(":{line}"),
        (line, column) => format!(":{line}:{column}"),
    }
}

/// One line of the JSON-lines records format. The strings borrow from the line where they hold
/// no escapes: a payload is copied once, from the line into the [`PayloadArena`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RecordLine<'a> {
    #[serde(borrow)]
    data: Option<Text<'a>>,
    #[serde(borrow)]
    data_base64: Option<Text<'a>>,
    partition_key: Option<String>,
    #[serde(borrow)]
    shard_id: Option<Text<'a>>,
    sequence_number: Option<serde_json::Value>,
    sub_sequence_number: Option<u64>,
    approximate_arrival_timestamp: Option<i64>,
}

/// A JSON string, borrowed from the input where it holds no escapes. (An `Option<Cow<str>>`
/// field is always copied: serde borrows only into a `Cow` that is the field's own type.)
#[derive(Debug)]
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(Visitor)
    }
}

/// Records grouped by shard, each shard's in file order with ascending sequence numbers.
pub type ShardRecords = BTreeMap<String, Vec<Record>>;

/// How much of a records file is read at a time (more while a longer line is read).
const READ_BUFFER: usize = 256 << 10;

/// Reads and parses a records file as [`parse_records`] parses its text. Any file (a regular
/// file, a pipe, `/dev/stdin`) is streamed a line at a time through a 256 KiB buffer, never
/// held whole; payloads are copied out of it into shared blocks. Only `aws kinesis get-records`
/// output — one JSON document, which a JSON-lines file's first line never is — is read whole.
pub fn read_records(file: &Path, now_ms: i64) -> Result<ShardRecords, RecordsError> {
    let opened = std::fs::File::open(file).map_err(|e| read_error(file, 0, e))?;
    parse(Lines::new(file, opened), now_ms)
}

/// Parses the text of a records file: JSON lines (see the README), or the JSON printed by
/// `aws kinesis get-records`. `now_ms` is the arrival time of records that give none.
pub fn parse_records(file: &Path, text: &str, now_ms: i64) -> Result<ShardRecords, RecordsError> {
    parse(text_lines(file, text), now_ms)
}

fn text_lines<'a>(file: &'a Path, text: &'a str) -> Lines<'a, &'a [u8]> {
    Lines::with_capacity(file, text.as_bytes(), (text.len() + 1).min(READ_BUFFER))
}

fn read_error(file: &Path, line: usize, e: std::io::Error) -> RecordsError {
    RecordsError::at(file, line, format!("cannot read the records file: {e}"))
}

/// The first line that is not blank decides the format: a JSON object that is not
/// `aws kinesis get-records` output starts JSON lines, parsed as they are read; anything else
/// is read whole.
fn parse(mut lines: Lines<impl Read>, now_ms: i64) -> Result<ShardRecords, RecordsError> {
    let file = lines.file;
    let mut parser = LineParser::new(file, now_ms);
    let mut head = Vec::new();
    while let Some((number, line)) = lines.next()? {
        if line.trim_ascii().is_empty() {
            head.extend_from_slice(line);
        } else if is_record_line(line) {
            parser.line(number, line)?;
            return parser.rest(lines);
        } else {
            head.extend_from_slice(line);
            lines.read_to_end(&mut head)?;
            return parse_whole(file, head, now_ms);
        }
    }
    parser.finish()
}

/// Whether the first non-blank line of a file says it is in the JSON-lines format: a JSON object
/// that is not `aws kinesis get-records` output.
fn is_record_line(line: &[u8]) -> bool {
    matches!(
        serde_json::from_slice::<serde_json::Value>(line.trim_ascii()),
        Ok(serde_json::Value::Object(map)) if !map.contains_key("Records")
    )
}

/// A records file that does not start with a record line: `aws kinesis get-records` output, or
/// else parsed as lines after all, so that an error names the line it is on.
fn parse_whole(file: &Path, bytes: Vec<u8>, now_ms: i64) -> Result<ShardRecords, RecordsError> {
    let text = String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let bad = e.utf8_error().valid_up_to();
        let before = &bytes[..bad];
        let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
        RecordsError {
            file: file.to_owned(),
            line: memchr::memchr_iter(b'\n', before).count() + 1,
            column: bad - line_start + 1,
            message: not_utf8(bytes[bad]),
        }
    })?;
    let err = |message: String| RecordsError::at(file, 0, message);
    if text.trim_start().starts_with('{') {
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(&text)
        {
            if map.contains_key("Records") {
                return from_get_records(text.into_bytes().into(), now_ms).map_err(err);
            }
        }
    }
    LineParser::new(file, now_ms).rest(text_lines(file, &text))
}

fn not_utf8(byte: u8) -> String {
    format!("not UTF-8 text (byte {byte:#04x})")
}

/// The lines of a file, numbered from 1, each with its `\n` if it has one. They are read into a
/// buffer of [`READ_BUFFER`] bytes (grown for a longer line) and handed out from it: a line is
/// copied only when it straddles the end of the buffer, to the buffer's start.
struct Lines<'f, R> {
    file: &'f Path,
    input: R,
    buf: Vec<u8>,
    /// `buf[start..filled]` has been read and not yet handed out.
    start: usize,
    filled: usize,
    /// Lines handed out so far.
    number: usize,
    at_end: bool,
}

impl<'f, R: Read> Lines<'f, R> {
    fn new(file: &'f Path, input: R) -> Self {
        Self::with_capacity(file, input, READ_BUFFER)
    }

    fn with_capacity(file: &'f Path, input: R, capacity: usize) -> Self {
        Lines {
            file,
            input,
            buf: vec![0; capacity.max(1)],
            start: 0,
            filled: 0,
            number: 0,
            at_end: false,
        }
    }

    fn next(&mut self) -> Result<Option<(usize, &[u8])>, RecordsError> {
        // `buf[start..start + searched]` holds no `\n`.
        let mut searched = 0;
        loop {
            let from = self.start + searched;
            let end = match memchr::memchr(b'\n', &self.buf[from..self.filled]) {
                Some(i) => from + i + 1,
                None if !self.at_end => {
                    searched = self.filled - self.start;
                    self.fill()?;
                    continue;
                }
                None if self.start == self.filled => return Ok(None),
                // The last line, without a `\n`.
                None => self.filled,
            };
            let line = self.start..end;
            self.start = end;
            self.number += 1;
            return Ok(Some((self.number, &self.buf[line])));
        }
    }

    /// Reads more after what has not been handed out yet, first moving that to the start of the
    /// buffer, or growing the buffer if it is full of one line.
    fn fill(&mut self) -> Result<(), RecordsError> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
        }
        if self.filled == self.buf.len() {
            self.buf.resize(2 * self.buf.len(), 0);
        }
        loop {
            match self.input.read(&mut self.buf[self.filled..]) {
                Ok(0) => self.at_end = true,
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_error(self.file, self.number + 1, e)),
            }
            return Ok(());
        }
    }

    /// Appends what has not been handed out, to the end of the input.
    fn read_to_end(mut self, out: &mut Vec<u8>) -> Result<(), RecordsError> {
        out.extend_from_slice(&self.buf[self.start..self.filled]);
        if !self.at_end {
            self.input
                .read_to_end(out)
                .map_err(|e| read_error(self.file, 0, e))?;
        }
        Ok(())
    }
}

/// The JSON-lines format, a line at a time.
struct LineParser<'f> {
    file: &'f Path,
    now_ms: i64,
    shards: ShardRecords,
    payloads: PayloadArena,
}

impl<'f> LineParser<'f> {
    fn new(file: &'f Path, now_ms: i64) -> Self {
        LineParser {
            file,
            now_ms,
            shards: ShardRecords::new(),
            payloads: PayloadArena::default(),
        }
    }

    /// Every line still to come, then [`Self::finish`].
    fn rest(mut self, mut lines: Lines<impl Read>) -> Result<ShardRecords, RecordsError> {
        while let Some((number, line)) = lines.next()? {
            self.line(number, line)?;
        }
        self.finish()
    }

    /// Line `number` (1-based), with or without its `\n` or `\r\n`.
    fn line(&mut self, number: usize, line: &[u8]) -> Result<(), RecordsError> {
        let file = self.file;
        let err = |line: usize, message: String| RecordsError::at(file, line, message);
        let LineParser {
            shards,
            payloads,
            now_ms,
            ..
        } = self;
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = std::str::from_utf8(line).map_err(|e| RecordsError {
            file: file.to_owned(),
            line: number,
            column: e.valid_up_to() + 1,
            message: not_utf8(line[e.valid_up_to()]),
        })?;
        if line.trim().is_empty() {
            return Ok(());
        }
        let parsed: RecordLine = serde_json::from_str(line).map_err(|e| {
            // serde_json places the error in the one-line document: its line is always 1.
            let (column, what) = json_error(&e);
            RecordsError {
                file: file.to_owned(),
                line: number,
                column,
                message: format!("not a record: {what}"),
            }
        })?;
        let data = match (parsed.data, parsed.data_base64) {
            (Some(Text(text)), None) => Payload::Bytes(payloads.push(text.as_bytes())),
            (None, Some(Text(b64))) => {
                let b64 = b64.trim();
                // Kept as text: it is what the child is sent.
                if base64_simd::STANDARD.check(b64.as_bytes()).is_err() {
                    // The SIMD decoder is as strict as this one, which says what is wrong.
                    let why = base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .err()
                        .map_or_else(|| "not canonical".to_owned(), |e| e.to_string());
                    return Err(err(
                        number,
                        format!("dataBase64 is not valid base64: {why}"),
                    ));
                }
                Payload::Base64(payloads.push(b64.as_bytes()))
            }
            (Some(_), Some(_)) => {
                return Err(err(
                    number,
                    "give either data or dataBase64, not both".into(),
                ))
            }
            (None, None) => {
                return Err(err(
                    number,
                    "a record needs data (UTF-8 text) or dataBase64".into(),
                ))
            }
        };
        let shard_id = parsed.shard_id.as_ref().map_or(DEFAULT_SHARD_ID, |t| &t.0);
        if !shards.contains_key(shard_id) {
            shards.insert(shard_id.to_owned(), Vec::new());
        }
        // Looked up by `&str`: no key is allocated for a shard already seen.
        let Some(records) = shards.get_mut(shard_id) else {
            return Err(err(
                number,
                format!("{shard_id} vanished from the shard map"),
            ));
        };
        let sequence_number = match parsed.sequence_number {
            None => next_sequence_number(records.last().map(|r| r.sequence_number.as_str())),
            Some(serde_json::Value::String(s)) if number_digits(&s).is_some() => s,
            Some(serde_json::Value::Number(n)) if number_digits(&n.to_string()).is_some() => {
                n.to_string()
            }
            Some(other) => {
                return Err(err(
                    number,
                    format!("sequenceNumber {other} is not a string of decimal digits"),
                ));
            }
        };
        let record = Record {
            data,
            partition_key: parsed
                .partition_key
                .unwrap_or_else(|| DEFAULT_PARTITION_KEY.to_owned()),
            sequence_number,
            sub_sequence_number: parsed.sub_sequence_number.unwrap_or(0),
            approximate_arrival_timestamp: parsed.approximate_arrival_timestamp.unwrap_or(*now_ms),
        };
        if let Some(prev) = records.last() {
            if !comes_after(&record, prev) {
                return Err(err(
                    number,
                    format!(
                        "sequence number {}/{} of {shard_id} is not above the previous record's {}/{}",
                        record.sequence_number,
                        record.sub_sequence_number,
                        prev.sequence_number,
                        prev.sub_sequence_number
                    ),
                ));
            }
        }
        records.push(record);
        Ok(())
    }

    fn finish(self) -> Result<ShardRecords, RecordsError> {
        if self.shards.is_empty() {
            return Err(RecordsError::at(
                self.file,
                0,
                "the file holds no records".into(),
            ));
        }
        Ok(self.shards)
    }
}

/// A serde_json error on a one-line document: its column (0 if it has none) and what is wrong,
/// without serde_json's own " at line 1 column N".
fn json_error(e: &serde_json::Error) -> (usize, String) {
    let text = e.to_string();
    let place = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&place) {
        Some(what) if e.line() == 1 => (e.column(), what.to_owned()),
        _ => (0, text),
    }
}

/// Record payloads stored in shared blocks of about 1 MiB: one allocation per block instead of
/// one per record, to build and to free.
#[derive(Default)]
struct PayloadArena {
    block: bytes::BytesMut,
}

impl PayloadArena {
    const BLOCK: usize = 1 << 20;

    fn push(&mut self, data: &[u8]) -> bytes::Bytes {
        // After `split`, the block's capacity is what is left of it.
        if self.block.capacity() < data.len() {
            self.block = bytes::BytesMut::with_capacity(Self::BLOCK.max(data.len()));
        }
        self.block.extend_from_slice(data);
        self.block.split().freeze()
    }
}

/// The records of `aws kinesis get-records` output: GetRecords' own answer, decoded as the
/// worker decodes it, all in one shard.
fn from_get_records(body: bytes::Bytes, now_ms: i64) -> Result<ShardRecords, String> {
    let batch = crate::retrieval::response::decode(&body, now_ms)
        .map_err(|e| format!("not valid `aws kinesis get-records` output: {e}"))?;
    if batch.records.is_empty() {
        return Err("the get-records output holds no records".into());
    }
    let mut shards = ShardRecords::new();
    shards.insert(DEFAULT_SHARD_ID.to_owned(), batch.records);
    Ok(shards)
}

/// Whether `r` comes after `prev` in a shard: sequence numbers (decimal digits, any length)
/// compared as numbers, then sub-sequence numbers. Nothing is parsed or allocated.
fn comes_after(r: &Record, prev: &Record) -> bool {
    fn key(r: &Record) -> (usize, &[u8], u64) {
        let digits = r.sequence_number.trim_start_matches('0');
        (digits.len(), digits.as_bytes(), r.sub_sequence_number)
    }
    key(r) > key(prev)
}

/// The sequence number after `prev`, Kinesis-style (56 decimal digits starting `49`).
fn next_sequence_number(prev: Option<&str>) -> String {
    let mut digits: Vec<u8> = prev
        .map(|p| p.as_bytes().to_vec())
        .unwrap_or_else(|| format!("49{:054}", 0).into_bytes());
    let mut i = digits.len();
    loop {
        if i == 0 {
            digits.insert(0, b'1');
            break;
        }
        i -= 1;
        if digits[i] == b'9' {
            digits[i] = b'0';
        } else {
            digits[i] += 1;
            break;
        }
    }
    String::from_utf8(digits).unwrap_or_default()
}

/// What to run.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub records_file: PathBuf,
    pub end: EndMode,
    /// `(n, error)`: the n-th checkpoint write of each shard fails with `error`.
    pub fail_checkpoints: Vec<(u64, CheckpointError)>,
    pub transcript: Option<PathBuf>,
}

/// How one shard's session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    /// Every record was delivered and the session ended as asked.
    Completed,
    /// `shardEnded` was answered without a `SHARD_END` checkpoint: the KCL would never finish
    /// this shard (Java retries it for ever).
    ShardEndNotCheckpointed,
    /// The child failed; only this shard is affected.
    ChildFailed { error: String },
}

/// Per-shard summary printed at the end.
#[derive(Debug, Clone, Serialize)]
pub struct ShardReport {
    pub shard_id: String,
    pub records: usize,
    /// Records acknowledged by the child (their `processRecords` got its status).
    pub records_delivered: usize,
    /// Checkpoints stored (refused requests and no-ops do not count).
    pub checkpoints: usize,
    /// The last stored checkpoint (the initial position if none was stored).
    pub final_checkpoint: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    pub shards: Vec<ShardReport>,
    /// CPU seconds (user + system) used by the daemon itself and by its record processors.
    pub cpu: CpuUse,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct CpuUse {
    /// Everything kcl-bridge used, including reading and decoding the records file.
    pub daemon_seconds: f64,
    /// What kcl-bridge used from the first child's start to the end: driving the protocol.
    pub daemon_bridging_seconds: f64,
    pub record_processors_seconds: f64,
}

impl CpuUse {
    /// CPU used so far by this process and by its children that have been waited for.
    pub fn now() -> CpuUse {
        use nix::sys::resource::{getrusage, UsageWho};
        let seconds = |who| {
            getrusage(who)
                .map(|u| {
                    let t = |tv: nix::sys::time::TimeVal| {
                        tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6
                    };
                    t(u.user_time()) + t(u.system_time())
                })
                .unwrap_or(0.0)
        };
        CpuUse {
            daemon_seconds: seconds(UsageWho::RUSAGE_SELF),
            daemon_bridging_seconds: 0.0,
            record_processors_seconds: seconds(UsageWho::RUSAGE_CHILDREN),
        }
    }
}

impl ReplayReport {
    pub fn all_completed(&self) -> bool {
        self.shards.iter().all(|s| s.outcome == Outcome::Completed)
    }

    /// A human-readable table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<24} {:>8} {:>10} {:>11}  {:<58} {}\n",
            "shard", "records", "delivered", "checkpoints", "final checkpoint", "result"
        );
        for s in &self.shards {
            let result = match &s.outcome {
                Outcome::Completed => "ok".to_owned(),
                Outcome::ShardEndNotCheckpointed => {
                    "FAILED: the application did not checkpoint at shard end (the KCL would never finish this shard)"
                        .to_owned()
                }
                Outcome::ChildFailed { error } => format!("FAILED: {error}"),
            };
            out.push_str(&format!(
                "{:<24} {:>8} {:>10} {:>11}  {:<58} {}\n",
                s.shard_id,
                s.records,
                s.records_delivered,
                s.checkpoints,
                s.final_checkpoint,
                result
            ));
        }
        out.push_str(&format!(
            "CPU: kcl-bridge {:.3} s ({:.3} s of it driving the record processors), record processors {:.3} s\n",
            self.cpu.daemon_seconds, self.cpu.daemon_bridging_seconds, self.cpu.record_processors_seconds
        ));
        out
    }
}

/// Runs every shard's session concurrently and reports on each.
pub async fn run(
    config: &Config,
    shards: ShardRecords,
    options: &ReplayOptions,
) -> std::io::Result<ReplayReport> {
    let cpu_at_start = CpuUse::now();
    let transcript = match &options.transcript {
        Some(path) => Some(Transcript::create(path)?),
        None => None,
    };
    let spec = ChildSpec::from_config(config);
    let initial = ExtendedSequenceNumber::new(
        SequenceNumber::parse(config.initial_position.sentinel())
            .unwrap_or(SequenceNumber::TrimHorizon),
        0,
    );
    let batch_size = config.max_records.max(1) as usize;
    let mut tasks = tokio::task::JoinSet::new();
    for (shard_id, records) in shards {
        let span = info_span!("shard", shard_id = %shard_id);
        let session = ShardSession {
            shard_id,
            records,
            spec: spec.clone(),
            initial: initial.clone(),
            batch_size,
            end: options.end,
            failures: options.fail_checkpoints.clone(),
            transcript: transcript.clone(),
        };
        tasks.spawn(session.run().instrument(span));
    }
    let mut reports = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(report) => reports.push(report),
            Err(e) => error!(error = %e, "a shard task panicked"),
        }
    }
    reports.sort_by(|a, b| a.shard_id.cmp(&b.shard_id));
    if let Some(t) = &transcript {
        t.flush()?;
    }
    let mut cpu = CpuUse::now();
    cpu.daemon_bridging_seconds = cpu.daemon_seconds - cpu_at_start.daemon_seconds;
    // Children's time survives exec: count only the children of this run.
    cpu.record_processors_seconds -= cpu_at_start.record_processors_seconds;
    Ok(ReplayReport {
        shards: reports,
        cpu,
    })
}

struct ShardSession {
    shard_id: String,
    records: Vec<Record>,
    spec: ChildSpec,
    initial: ExtendedSequenceNumber,
    batch_size: usize,
    end: EndMode,
    failures: Vec<(u64, CheckpointError)>,
    transcript: Option<Transcript>,
}

impl ShardSession {
    async fn run(self) -> ShardReport {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut sink = MemorySink::new(&self.shard_id, self.failures.clone(), log.clone());
        let mut state = CheckpointState::new(self.initial.clone());
        let mut delivered = 0;
        let outcome = match ShardChild::spawn(&self.spec, &self.shard_id, self.transcript.clone()) {
            Err(e) => Outcome::ChildFailed {
                error: e.to_string(),
            },
            Ok(mut child) => {
                let result = self
                    .drive(&mut child, &mut state, &mut sink, &mut delivered)
                    .await;
                child.close().await;
                match result {
                    Err(e) => Outcome::ChildFailed {
                        error: e.to_string(),
                    },
                    Ok(())
                        if self.end == EndMode::ShardEnd
                            && !state.last_checkpoint().is_shard_end() =>
                    {
                        Outcome::ShardEndNotCheckpointed
                    }
                    Ok(()) => Outcome::Completed,
                }
            }
        };
        match &outcome {
            Outcome::Completed => info!(records = delivered, "shard replayed"),
            Outcome::ShardEndNotCheckpointed => {
                warn!("the application did not checkpoint at shard end; the KCL would never finish this shard")
            }
            Outcome::ChildFailed { error } => {
                error!(%error, "shard failed; other shards are not affected")
            }
        }
        let checkpoints = log
            .lock()
            .map(|l| l.len())
            .unwrap_or_else(|p| p.into_inner().len());
        ShardReport {
            shard_id: self.shard_id.clone(),
            records: self.records.len(),
            records_delivered: delivered,
            checkpoints,
            final_checkpoint: state.last_checkpoint().to_string(),
            outcome,
        }
    }

    async fn drive(
        &self,
        child: &mut ShardChild,
        state: &mut CheckpointState,
        sink: &mut MemorySink,
        delivered: &mut usize,
    ) -> Result<(), ChildError> {
        child.initialize(Some(&self.initial), state, sink).await?;
        let last_arrival = self
            .records
            .last()
            .map(|r| r.approximate_arrival_timestamp)
            .unwrap_or(0);
        for batch in self.records.chunks(self.batch_size) {
            // How far this batch is behind the newest record of the shard.
            let behind = batch
                .last()
                .map(|r| (last_arrival - r.approximate_arrival_timestamp).max(0))
                .unwrap_or(0);
            child
                .process_records(batch, Some(behind), state, sink)
                .await?;
            *delivered += batch.len();
        }
        match self.end {
            EndMode::ShardEnd => child.shard_ended(state, sink).await,
            EndMode::LeaseLost => child.lease_lost(state, sink).await,
            EndMode::ShutdownRequested => {
                child.shutdown_requested(state, sink).await?;
                child.lease_lost(state, sink).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `read_records` on `bytes` written to a file named `r.jsonl`, after checking that reading
    /// the same bytes through tiny buffers (every line straddling refills, a `\r\n` split
    /// between two) reads the same records or fails the same way.
    fn read(bytes: &[u8]) -> Result<ShardRecords, RecordsError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        std::fs::write(&path, bytes).unwrap();
        let named = |e: RecordsError| RecordsError {
            file: PathBuf::from("r.jsonl"),
            ..e
        };
        let read = read_records(&path, 1_700_000_000_000).map_err(named);
        for capacity in [1, 2, 7, 100] {
            let lines = Lines::with_capacity(Path::new("r.jsonl"), bytes, capacity);
            let small = super::parse(lines, 1_700_000_000_000);
            match (&read, &small) {
                (Ok(a), Ok(b)) => same(a, b),
                (Err(a), Err(b)) => assert_eq!(a, b),
                _ => panic!("buffer {capacity}: read {read:?}, small {small:?}"),
            }
        }
        read
    }

    /// Base64 payloads are kept as the text they are, plain text as its bytes; strings with
    /// escapes are unescaped.
    #[test]
    fn payloads_keep_their_form() {
        let r = read(
            b"{\"dataBase64\":\"aGVsbG8=\"}\r\n{\"data\":\"plain\"}\n{\"data\":\"a\\nb\\u00e9\"}\n{\"dataBase64\":\"\\u0061Gk=\"}",
        )
        .unwrap();
        let rs = &r[DEFAULT_SHARD_ID];
        assert!(matches!(&rs[0].data, Payload::Base64(t) if &t[..] == b"aGVsbG8="));
        assert!(matches!(&rs[1].data, Payload::Bytes(b) if &b[..] == b"plain"));
        assert_eq!(&rs[2].data.to_bytes()[..], "a\nb\u{e9}".as_bytes());
        assert!(matches!(&rs[3].data, Payload::Base64(t) if &t[..] == b"aGk="));
        assert_eq!(rs.len(), 4);
    }

    /// Lines keep their terminators and are the same whatever the buffer's size.
    #[test]
    fn lines_split_at_newlines_across_refills() {
        let text = b"a\r\nbb\n\n\r\n" as &[u8];
        let long = "x".repeat(1000) + "\n";
        for capacity in 1..=16 {
            for (input, want) in [
                (
                    [text, b"ccc"].concat(),
                    vec![&b"a\r\n"[..], b"bb\n", b"\n", b"\r\n", b"ccc"],
                ),
                (
                    [text, b"\n"].concat(),
                    vec![&b"a\r\n"[..], b"bb\n", b"\n", b"\r\n", b"\n"],
                ),
                (
                    [long.as_bytes(), b"y"].concat(),
                    vec![long.as_bytes(), b"y"],
                ),
                (Vec::new(), vec![]),
            ] {
                let mut lines = Lines::with_capacity(Path::new("r"), &input[..], capacity);
                let mut got = Vec::new();
                while let Some((number, line)) = lines.next().unwrap() {
                    got.push(line.to_vec());
                    assert_eq!(number, got.len());
                }
                assert_eq!(got, want, "buffer {capacity}");
            }
        }
    }

    /// A read that is interrupted is retried; one that fails names the line it was reading.
    #[test]
    fn read_errors_name_the_line_being_read() {
        struct Flaky(Vec<std::io::Result<&'static [u8]>>);
        impl Read for Flaky {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                match self.0.pop() {
                    None => Ok(0),
                    Some(Ok(bytes)) => {
                        buf[..bytes.len()].copy_from_slice(bytes);
                        Ok(bytes.len())
                    }
                    Some(Err(e)) => Err(e),
                }
            }
        }
        use std::io::{Error, ErrorKind};
        let chunks = |last: Error| {
            let mut c = vec![
                Ok(&b"{\"data\":\"a\"}\n{\"da"[..]),
                Err(Error::from(ErrorKind::Interrupted)),
                Ok(&b"ta\":\"b\"}\n"[..]),
                Err(last),
            ];
            c.reverse();
            Flaky(c)
        };
        let lines = Lines::new(Path::new("r.jsonl"), chunks(Error::other("disk on fire")));
        let e = super::parse(lines, 0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "r.jsonl:3: cannot read the records file: disk on fire"
        );
        let lines = Lines::new(
            Path::new("r.jsonl"),
            chunks(Error::from(ErrorKind::Interrupted)),
        );
        let shards = super::parse(lines, 0).unwrap();
        assert_eq!(shards[DEFAULT_SHARD_ID].len(), 2);
    }

    fn same(a: &ShardRecords, b: &ShardRecords) {
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        for (shard, records) in a {
            let other = &b[shard];
            assert_eq!(records.len(), other.len(), "{shard}");
            for (x, y) in records.iter().zip(other) {
                assert_eq!(
                    (
                        &x.data,
                        &x.partition_key,
                        &x.sequence_number,
                        x.sub_sequence_number,
                        x.approximate_arrival_timestamp
                    ),
                    (
                        &y.data,
                        &y.partition_key,
                        &y.sequence_number,
                        y.sub_sequence_number,
                        y.approximate_arrival_timestamp
                    )
                );
            }
        }
    }

    #[test]
    fn streaming_a_file_reads_what_parsing_its_text_reads() {
        let mut text = String::from("\n\r\n");
        for i in 0..3000 {
            // Lines longer than the read buffer's share, CRLF and LF endings, blank lines.
            let data = "x".repeat(i % 700);
            let end = if i % 3 == 0 { "\r\n" } else { "\n" };
            text.push_str(&format!(
                r#"{{"data":"{data}","shardId":"s{}","partitionKey":"p{i}"}}{end}"#,
                i % 3
            ));
            if i % 100 == 0 {
                text.push('\n');
            }
        }
        text.push_str(r#"{"dataBase64":"aGVsbG8=","shardId":"s0"}"#); // no final newline
        let streamed = read(text.as_bytes()).unwrap();
        same(&streamed, &parse(&text).unwrap());
        for shard in 0..3 {
            let keys: Vec<&str> = streamed[&format!("s{shard}")]
                .iter()
                .map(|r| r.partition_key.as_str())
                .collect();
            let want: Vec<String> = (shard..3000).step_by(3).map(|i| format!("p{i}")).collect();
            assert_eq!(keys[..want.len()], want);
            assert!(streamed[&format!("s{shard}")]
                .iter()
                .zip((shard..3000).step_by(3))
                .all(|(r, i)| r.data.to_bytes().len() == i % 700));
        }
        assert_eq!(streamed["s0"].len(), 1001);
        assert_eq!(
            &streamed["s0"].last().unwrap().data.to_bytes()[..],
            b"hello"
        );
    }

    #[test]
    fn get_records_output_is_read_whole() {
        let pretty = "{\n  \"Records\": [\n    {\"Data\": \"aGk=\", \"PartitionKey\": \"pk\", \"SequenceNumber\": \"49\"}\n  ]\n}\n";
        let compact = r#"{"Records":[{"Data":"aGk=","PartitionKey":"pk","SequenceNumber":"49"}]}"#;
        for text in [pretty, compact] {
            let r = read(text.as_bytes()).unwrap();
            same(&r, &parse(text).unwrap());
            assert_eq!(&r[DEFAULT_SHARD_ID][0].data.to_bytes()[..], b"hi");
        }
    }

    #[test]
    fn a_streamed_file_names_its_bad_line() {
        let e = read(b"{\"data\":\"a\"}\n\n{\"data\":\"b\"}\n{\"data\":\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "r.jsonl:4:8: not a record: EOF while parsing a value"
        );
        let e = read(b"{\"data\":\"a\"}\n{\"data\":\"\xe9\"}\n").unwrap_err();
        assert_eq!(e.to_string(), "r.jsonl:2:10: not UTF-8 text (byte 0xe9)");
        let e = read(b"{\"data\":\"a\"}\r\n\r\n{\"data\":\"b\",\"shardId\":\"\xff\"}").unwrap_err();
        assert_eq!(e.to_string(), "r.jsonl:3:24: not UTF-8 text (byte 0xff)");
        // Read whole (the first line is no record): the line and column in the file.
        let e = read(b"\n{\n  \"Records\": [\xe9]\n}\n").unwrap_err();
        assert_eq!(e.to_string(), "r.jsonl:3:15: not UTF-8 text (byte 0xe9)");
        let e = read(b"\n\n").unwrap_err();
        assert_eq!(e.to_string(), "r.jsonl: the file holds no records");
        let e = read_records(Path::new("/no/such/records.jsonl"), 0).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/no/such/records.jsonl: cannot read the records file"),
            "{e}"
        );
    }

    fn parse(text: &str) -> Result<ShardRecords, RecordsError> {
        parse_records(Path::new("r.jsonl"), text, 1_700_000_000_000)
    }

    #[test]
    fn defaults_and_grouping() {
        let shards = parse(
            "{\"data\":\"a\"}\n\n{\"data\":\"b\",\"shardId\":\"shardId-000000000001\",\"partitionKey\":\"k\"}\n{\"dataBase64\":\"aGk=\",\"approximateArrivalTimestamp\":5}\n",
        )
        .unwrap();
        assert_eq!(shards.len(), 2);
        let s0 = &shards[DEFAULT_SHARD_ID];
        assert_eq!(s0.len(), 2);
        assert_eq!(&s0[0].data.to_bytes()[..], b"a");
        assert_eq!(s0[0].partition_key, DEFAULT_PARTITION_KEY);
        assert_eq!(
            s0[0].sequence_number,
            "49000000000000000000000000000000000000000000000000000001"
        );
        assert_eq!(
            s0[1].sequence_number,
            "49000000000000000000000000000000000000000000000000000002"
        );
        assert_eq!(s0[0].approximate_arrival_timestamp, 1_700_000_000_000);
        assert_eq!(&s0[1].data.to_bytes()[..], b"hi");
        assert_eq!(s0[1].approximate_arrival_timestamp, 5);
        let s1 = &shards["shardId-000000000001"];
        assert_eq!(s1[0].partition_key, "k");
        assert_eq!(
            s1[0].sequence_number,
            "49000000000000000000000000000000000000000000000000000001"
        );
    }

    /// Payloads share arena blocks; each record still gets exactly its own bytes, across block
    /// boundaries and for payloads larger than a block.
    #[test]
    fn payloads_survive_the_arena() {
        use base64::Engine as _;
        let sizes = [0usize, 1, 1000, 700_000, 1 << 20, 3 << 20, 5];
        let mut text = String::new();
        let mut want = Vec::new();
        for (i, n) in sizes.iter().enumerate() {
            let data: Vec<u8> = (0..*n).map(|j| (i * 31 + j) as u8).collect();
            let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
            text.push_str(&format!("{{\"dataBase64\":\"{b64}\"}}\n"));
            want.push(data);
        }
        text.push_str("{\"data\":\"plain text\"}\n");
        want.push(b"plain text".to_vec());
        let shards = parse(&text).unwrap();
        let got: Vec<Vec<u8>> = shards[DEFAULT_SHARD_ID]
            .iter()
            .map(|r| r.data.to_bytes().to_vec())
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn sequence_numbers_ascend_as_numbers() {
        let at = |seq: &str, sub: u64| Record {
            sequence_number: seq.into(),
            sub_sequence_number: sub,
            ..Record::default()
        };
        let ascending = [
            at("0", 0),
            at("0009", 0),
            at("9", 3),
            at("10", 0),
            at(
                "49590338271490256608559692538361571095921575989136588898",
                0,
            ),
            at(
                "49590338271490256608559692538361571095921575989136588898",
                1,
            ),
            at(
                "149590338271490256608559692538361571095921575989136588898",
                0,
            ),
        ];
        for (i, a) in ascending.iter().enumerate() {
            for (j, b) in ascending.iter().enumerate() {
                assert_eq!(comes_after(b, a), j > i, "{b:?} after {a:?}");
            }
        }
    }

    #[test]
    fn explicit_sequence_numbers_continue() {
        let shards =
            parse("{\"data\":\"a\",\"sequenceNumber\":\"199\"}\n{\"data\":\"b\"}\n").unwrap();
        assert_eq!(shards[DEFAULT_SHARD_ID][1].sequence_number, "200");
        assert_eq!(next_sequence_number(Some("999")), "1000");
    }

    /// A line that is not a record is named by the file's line and the column in it, never by
    /// serde_json's position in the one-line document.
    #[test]
    fn a_json_error_names_the_file_line_and_column() {
        let cases = [
            ("\n\nnot json\n", "r.jsonl:3:2: not a record: expected ident"),
            (
                "{\"data\":\"a\"}\n{\"data\":\"b\",\"colour\":1}\n",
                "r.jsonl:2:20: not a record: unknown field `colour`, expected one of `data`, `dataBase64`, `partitionKey`, `shardId`, `sequenceNumber`, `subSequenceNumber`, `approximateArrivalTimestamp`",
            ),
            (
                "{\"data\":\"a\"}\r\n{\"data\":\"b\",\"subSequenceNumber\":-1}\r\n",
                "r.jsonl:2:34: not a record: invalid value: integer `-1`, expected u64",
            ),
            (
                "{\"data\":\"a\"}\n{\"data\":\"b\"} x\n",
                "r.jsonl:2:14: not a record: trailing characters",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(read(text.as_bytes()).unwrap_err().to_string(), want);
        }
    }

    #[test]
    fn bad_lines_name_their_line() {
        let cases = [
            ("{\"data\":\"a\"}\nnot json\n", 2, "not a record"),
            ("{\"dataBase64\":\"@@@\"}\n", 1, "not valid base64"),
            // Non-canonical: the last character carries bits that are not zero.
            ("{\"dataBase64\":\"QR==\"}\n", 1, "not valid base64"),
            ("{\"dataBase64\":\"QQ\"}\n", 1, "not valid base64"),
            ("{\"dataBase64\":\"QQ=\"}\n", 1, "not valid base64"),
            ("{\"data\":\"a\",\"dataBase64\":\"YQ==\"}\n", 1, "not both"),
            ("{\"partitionKey\":\"a\"}\n", 1, "needs data"),
            ("{\"data\":\"a\",\"sequenceNumber\":\"12x\"}\n", 1, "decimal digits"),
            ("{\"data\":\"a\",\"sequenceNumber\":\"5\"}\n{\"data\":\"b\",\"sequenceNumber\":\"5\"}\n", 2, "not above"),
            ("{\"data\":\"a\",\"colour\":1}\n", 1, "unknown field"),
        ];
        for (text, line, needle) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.message.contains(needle), "{text:?}: {e}");
            assert!(
                e.to_string().starts_with(&format!("r.jsonl:{line}:")),
                "{e}"
            );
            // One line number, the file's, and no second position from serde_json.
            assert!(!e.message.contains(" line "), "{e}");
        }
        assert!(parse("\n\n").unwrap_err().message.contains("no records"));
    }

    #[test]
    fn get_records_output() {
        let text = r#"{
            "Records": [
                {"SequenceNumber": "49590338271490256608559692538361571095921575989136588898",
                 "ApproximateArrivalTimestamp": 1545084514.123, "Data": "aGVsbG8=", "PartitionKey": "p1"},
                {"SequenceNumber": "49590338271490256608559692540925702759324208523137515618",
                 "ApproximateArrivalTimestamp": "2018-12-17T22:08:34.456000+00:00", "Data": "d29ybGQ=", "PartitionKey": "p2",
                 "EncryptionType": "NONE"}
            ],
            "NextShardIterator": "AAAA",
            "MillisBehindLatest": 0
        }"#;
        let shards = parse(text).unwrap();
        let rs = &shards[DEFAULT_SHARD_ID];
        assert_eq!(rs.len(), 2);
        assert_eq!(&rs[0].data.to_bytes()[..], b"hello");
        assert_eq!(rs[0].approximate_arrival_timestamp, 1545084514123);
        assert_eq!(rs[1].approximate_arrival_timestamp, 1545084514456);
        assert_eq!(rs[1].partition_key, "p2");
        let bad = r#"{"Records":[{"SequenceNumber":"1","Data":"!!","PartitionKey":"p"}]}"#;
        assert!(parse(bad).unwrap_err().message.contains("Records[0]"));
    }
}

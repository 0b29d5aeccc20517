//! Stage two: lexed entries → typed [`Config`], collecting every problem and warning.
//!
//! Applies keys in file order, resolves aliases and conflicts, parses each value strictly and
//! derives what Java derives after loading (stream name from the ARN, credentials fallbacks,
//! per-client regions, retrieval mode). Pure: no I/O, no environment, no logging, no panics;
//! never puts a credentials value into a warning or problem.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use super::credentials::{self, CredentialsSpec, CredentialsTarget};
use super::keys::{
    self, KeyClass, COORDINATOR_STATE_TABLE_KEYS, POLLING_KEYS, WORKER_METRICS_TABLE_KEYS,
};
use super::lexer::{self, Encoding};
use super::values::{self, RegionCheck};
use super::*;

/// The entry chosen for one setting.
#[derive(Debug, Clone)]
struct Chosen {
    /// The key as written.
    key: String,
    line: usize,
    /// Value with unescaped trailing whitespace removed.
    value: String,
    /// Credentials value: never shown.
    secret: bool,
}

/// What `0` means for a numeric key (configuration.md §1.5).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Zero {
    /// Java primitive: 0 is dropped and the KCL default applies (we keep that, with a warning).
    Default,
    /// 0 is a real value (wrapper types, or the default is 0 anyway).
    Value,
}

#[derive(Default)]
struct Builder {
    chosen: HashMap<&'static str, Chosen>,
    /// Nested client keys we ignore, by client prefix.
    ignored_client_keys: HashMap<&'static str, Vec<String>>,
    problems: Vec<Problem>,
    warnings: Vec<ConfigWarning>,
}

impl Builder {
    fn warn(&mut self, line: Option<usize>, key: Option<&str>, message: impl Into<String>) {
        self.warnings.push(ConfigWarning {
            line,
            key: key.map(str::to_owned),
            message: message.into(),
        });
    }

    fn problem_at(&mut self, c: &Chosen, message: impl Into<String>) {
        self.problems.push(Problem {
            line: Some(c.line),
            key: c.key.clone(),
            value: (!c.secret).then(|| c.value.clone()),
            message: message.into(),
        });
    }

    /// A required key is absent, unless a problem was already reported for it (an entry that
    /// failed to lex is "absent" too, and one message per key is enough).
    fn missing(&mut self, key: &str, message: String) {
        if self.problems.iter().any(|p| p.key == key) {
            return;
        }
        self.problems.push(Problem {
            line: None,
            key: key.to_owned(),
            value: None,
            message,
        });
    }

    fn get(&self, key: &str) -> Option<Chosen> {
        self.chosen.get(key).cloned()
    }

    /// Groups entries by setting, reports duplicates, conflicts and unknown keys.
    fn collect(&mut self, entries: Vec<lexer::Entry>, options: Options) {
        // canonical → entries in file order
        let mut groups: Vec<(&'static str, Vec<Chosen>)> = Vec::new();
        for e in entries {
            let class = keys::classify(&e.key);
            let secret = matches!(class, KeyClass::Credentials(_));
            if e.has_trailing_whitespace() {
                self.warn(
                    Some(e.line),
                    Some(&e.key),
                    "trailing whitespace removed from the value (Java keeps it, which breaks \
                     booleans, enums and names)",
                );
            }
            let value = e.trimmed_value().to_owned();
            if !secret && value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
                self.warn(
                    Some(e.line),
                    Some(&e.key),
                    "the quotes are part of the value (Java does not remove them)",
                );
            }
            let canonical = match class {
                KeyClass::Setting { canonical, note } => {
                    if let Some(note) = note {
                        self.warn(Some(e.line), Some(&e.key), note);
                    }
                    canonical
                }
                KeyClass::Credentials(target) => target.key(),
                KeyClass::IgnoredClientKey => {
                    let prefix = keys::CLIENT_PREFIXES
                        .iter()
                        .copied()
                        .find(|p| e.key.starts_with(p))
                        .unwrap_or("kinesisClient.");
                    self.warn(
                        Some(e.line),
                        Some(&e.key),
                        "nested client setting not supported by kcl-bridge (only region and \
                         endpointOverride are); ignored",
                    );
                    self.ignored_client_keys
                        .entry(prefix)
                        .or_default()
                        .push(e.key.clone());
                    continue;
                }
                KeyClass::Ignored(why) => {
                    self.warn(Some(e.line), Some(&e.key), why);
                    continue;
                }
                KeyClass::Rejected(message) => {
                    self.problems.push(Problem {
                        line: Some(e.line),
                        key: e.key.clone(),
                        value: None,
                        message,
                    });
                    continue;
                }
                KeyClass::Unknown { suggestion } => {
                    let mut message = "unknown key, ignored (Java ignores it silently)".to_owned();
                    if let Some(s) = suggestion {
                        message.push_str(&format!("; did you mean {s}?"));
                    }
                    if options.strict_unknown_keys {
                        self.problems.push(Problem {
                            line: Some(e.line),
                            key: e.key.clone(),
                            value: None,
                            message,
                        });
                    } else {
                        self.warn(Some(e.line), Some(&e.key), message);
                    }
                    continue;
                }
            };
            let chosen = Chosen {
                key: e.key,
                line: e.line,
                value,
                secret,
            };
            match groups.iter_mut().find(|(c, _)| *c == canonical) {
                Some((_, v)) => v.push(chosen),
                None => groups.push((canonical, vec![chosen])),
            }
        }
        for (canonical, items) in groups {
            if let Some(c) = self.resolve_group(canonical, items) {
                self.chosen.insert(canonical, c);
            }
        }
        self.cross_key_conflicts();
    }

    /// Same key repeated → last wins (warning); different spellings → conflict.
    fn resolve_group(&mut self, canonical: &str, items: Vec<Chosen>) -> Option<Chosen> {
        let mut distinct: Vec<(Chosen, Vec<usize>)> = Vec::new();
        for item in items {
            match distinct.iter_mut().find(|(c, _)| c.key == item.key) {
                Some((c, lines)) => {
                    lines.push(item.line);
                    *c = item;
                }
                None => {
                    let line = item.line;
                    distinct.push((item, vec![line]));
                }
            }
        }
        for (c, lines) in &distinct {
            if lines.len() > 1 {
                let list = lines
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                self.warn(
                    Some(c.line),
                    Some(&c.key),
                    format!(
                        "set {} times (lines {list}); the last one wins, as in Java",
                        lines.len()
                    ),
                );
            }
        }
        distinct.sort_by_key(|(c, _)| c.line);
        let mut iter = distinct.into_iter().map(|(c, _)| c);
        let first = iter.next()?;
        let mut last = first.clone();
        for other in iter {
            if other.secret {
                self.problem_at(
                    &other,
                    format!(
                        "conflicts with {} on line {}: both set the same credentials (Java fails \
                         with \"When a property handler is resolved further properties may not \
                         be set\"); keep one",
                        first.key, first.line
                    ),
                );
            } else if other.value == first.value {
                self.warn(
                    Some(other.line),
                    Some(&other.key),
                    format!(
                        "sets {canonical} like {} on line {}; redundant, keep one",
                        first.key, first.line
                    ),
                );
            } else {
                self.problem_at(
                    &other,
                    format!(
                        "conflicts with {} = \"{}\" on line {}: both set {canonical} (Java's \
                         outcome depends on hash order); keep one",
                        first.key,
                        first.value.escape_debug(),
                        first.line
                    ),
                );
            }
            last = other;
        }
        Some(last)
    }

    fn cross_key_conflicts(&mut self) {
        if let (Some(a), Some(b)) = (
            self.get("initialPositionInStream"),
            self.get("initialPositionInStreamExtended"),
        ) {
            let (first, second) = if a.line <= b.line { (a, b) } else { (b, a) };
            self.problem_at(
                &second,
                format!(
                    "conflicts with {} on line {}: both set the initial position (Java's outcome \
                     depends on hash order); keep one",
                    first.key, first.line
                ),
            );
        }
        if let Some(region) = self.get("regionName") {
            for k in [
                "kinesisClient.region",
                "dynamoDbClient.region",
                "cloudWatchClient.region",
            ] {
                if let Some(c) = self.get(k) {
                    if c.value != region.value {
                        self.problem_at(
                            &c,
                            format!(
                                "conflicts with regionName = \"{}\" on line {}: both set this \
                                 client's region (Java's outcome depends on hash order); keep one",
                                region.value.escape_debug(),
                                region.line
                            ),
                        );
                    }
                }
            }
        }
    }

    // ----- typed accessors -------------------------------------------------------------------

    /// An optional string; empty → not set (warning).
    fn string(&mut self, key: &str) -> Option<String> {
        let c = self.get(key)?;
        if c.value.is_empty() {
            self.warn(
                Some(c.line),
                Some(&c.key),
                "empty value; treated as not set",
            );
            return None;
        }
        Some(c.value)
    }

    /// A present value that must not be empty; `None` if absent or bad (problem recorded).
    fn nonempty(&mut self, key: &str, what: &str) -> Option<Chosen> {
        let c = self.get(key)?;
        if c.value.is_empty() {
            self.problem_at(
                &c,
                format!("empty value: expected {what}; remove the line to use the default"),
            );
            return None;
        }
        Some(c)
    }

    fn bool(&mut self, key: &str, default: bool) -> bool {
        self.bool_opt(key).unwrap_or(default)
    }

    fn bool_opt(&mut self, key: &str) -> Option<bool> {
        const WHAT: &str = "a boolean (true/false, yes/no, on/off, 1/0)";
        let c = self.nonempty(key, WHAT)?;
        let v = values::parse_bool(&c.value);
        if v.is_none() {
            self.problem_at(&c, format!("expected {WHAT}"));
        }
        v
    }

    /// Strict decimal integer in `min..=max`; `what` is e.g. "an integer number of milliseconds".
    /// Returns `None` when absent, bad, or 0 under [`Zero::Default`].
    fn int(&mut self, key: &str, what: &str, min: i64, max: i64, zero: Zero) -> Option<i64> {
        let c = self.nonempty(key, what)?;
        let Ok(n) = c.value.parse::<i64>() else {
            self.problem_at(&c, format!("expected {what}"));
            return None;
        };
        if n == 0 && zero == Zero::Default {
            self.warn(
                Some(c.line),
                Some(&c.key),
                "0 means \"use the KCL default\" here, as in Java",
            );
            return None;
        }
        if n < min || n > max {
            self.problem_at(&c, format!("expected {what} from {min} to {max}"));
            return None;
        }
        Some(n)
    }

    fn millis(&mut self, key: &str, default_ms: u64, zero: Zero) -> Duration {
        self.millis_opt(key, zero)
            .unwrap_or(Duration::from_millis(default_ms))
    }

    fn millis_opt(&mut self, key: &str, zero: Zero) -> Option<Duration> {
        self.int(key, "an integer number of milliseconds", 0, i64::MAX, zero)
            .and_then(|n| u64::try_from(n).ok())
            .map(Duration::from_millis)
    }

    fn count(&mut self, key: &str, default: u32, min: u32, max: u32) -> u32 {
        self.int(
            key,
            "an integer",
            i64::from(min),
            i64::from(max),
            Zero::Default,
        )
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(default)
    }

    fn count_opt(&mut self, key: &str, zero: Zero) -> Option<u32> {
        self.int(key, "an integer", 0, i64::from(i32::MAX), zero)
            .and_then(|n| u32::try_from(n).ok())
    }

    fn capacity(&mut self, key: &str) -> u64 {
        self.int(key, "an integer", 0, i64::MAX, Zero::Value)
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0)
    }

    /// A finite decimal number in `(min_exclusive, max]`; 0 → KCL default (Java primitive).
    fn double(&mut self, key: &str, min_exclusive: f64, max: f64) -> Option<f64> {
        let what = "a decimal number";
        let c = self.nonempty(key, what)?;
        let parsed = c.value.parse::<f64>().ok().filter(|v| v.is_finite());
        let Some(v) = parsed else {
            self.problem_at(&c, format!("expected {what}"));
            return None;
        };
        if v == 0.0 {
            self.warn(
                Some(c.line),
                Some(&c.key),
                "0 means \"use the KCL default\" here, as in Java",
            );
            return None;
        }
        if v <= min_exclusive || v > max {
            self.problem_at(
                &c,
                format!("expected {what} greater than {min_exclusive} and at most {max}"),
            );
            return None;
        }
        Some(v)
    }

    /// A case-insensitive enum name (Java upper-cases the value).
    fn enumeration<T: Copy>(&mut self, key: &str, choices: &[(&str, T)]) -> Option<T> {
        let names = choices
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ");
        let what = format!("one of {names} (any case)");
        let c = self.nonempty(key, &what)?;
        let upper = c.value.to_ascii_uppercase();
        let found = choices.iter().find(|(n, _)| *n == upper).map(|(_, v)| *v);
        if found.is_none() {
            self.problem_at(&c, format!("expected {what}"));
        }
        found
    }

    fn region(&mut self, key: &str) -> Option<String> {
        let c = self.nonempty(key, "an AWS region name like us-east-1")?;
        match values::check_region(&c.value) {
            RegionCheck::Known => {}
            RegionCheck::Unknown => self.warn(
                Some(c.line),
                Some(&c.key),
                format!(
                    "\"{}\" is not a region kcl-bridge knows; using it anyway",
                    c.value.escape_debug()
                ),
            ),
            RegionCheck::Malformed => {
                self.problem_at(&c, "expected an AWS region name like us-east-1");
                return None;
            }
        }
        Some(c.value)
    }

    fn endpoint(&mut self, key: &str) -> Option<String> {
        let c = self.nonempty(key, "a URL such as https://kinesis.us-east-1.amazonaws.com")?;
        if let Err(e) = values::check_endpoint(&c.value) {
            self.problem_at(&c, e);
            return None;
        }
        Some(c.value)
    }

    fn duration_iso(&mut self, key: &str, default: Duration) -> Duration {
        let what = "an ISO-8601 duration such as PT15M, PT12H or P1D";
        let Some(c) = self.nonempty(key, what) else {
            return default;
        };
        match values::parse_iso_duration(&c.value) {
            Ok(d) => d,
            Err(e) => {
                self.problem_at(&c, e);
                default
            }
        }
    }

    fn tags(&mut self, key: &str) -> Vec<(String, String)> {
        let Some(c) = self.get(key) else {
            return Vec::new();
        };
        let (tags, bad) = values::parse_tags(&c.value);
        for pair in bad {
            self.warn(
                Some(c.line),
                Some(&c.key),
                format!(
                    "invalid tag \"{}\" (expected key=value); ignored, as in Java",
                    pair.escape_debug()
                ),
            );
        }
        tags
    }

    fn table(&mut self, keys: [&str; 7]) -> TableSettings {
        let [name, billing, read, write, pitr, protection, tags] = keys;
        TableSettings {
            table_name: self.string(name),
            billing_mode: self
                .enumeration(
                    billing,
                    &[
                        ("PROVISIONED", BillingMode::Provisioned),
                        ("PAY_PER_REQUEST", BillingMode::PayPerRequest),
                    ],
                )
                .unwrap_or(BillingMode::PayPerRequest),
            read_capacity: self.capacity(read),
            write_capacity: self.capacity(write),
            point_in_time_recovery_enabled: self.bool(pitr, false),
            deletion_protection_enabled: self.bool(protection, false),
            tags: self.tags(tags),
        }
    }

    /// One warning for a group of keys, on the first one present.
    fn note_group(&mut self, keys: &[&str], message: &str) {
        let mut present: Vec<Chosen> = keys.iter().filter_map(|k| self.get(k)).collect();
        if present.is_empty() {
            return;
        }
        present.sort_by_key(|c| c.line);
        let names = present
            .iter()
            .map(|c| c.key.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let line = present[0].line;
        self.warn(Some(line), None, format!("{names}: {message}"));
    }

    fn note(&mut self, key: &str, message: &str) {
        if let Some(c) = self.get(key) {
            self.warn(Some(c.line), Some(&c.key), message);
        }
    }

    fn credentials(&mut self, target: CredentialsTarget) -> Option<CredentialsSpec> {
        let c = self.get(target.key())?;
        let (providers, findings) = credentials::parse(&c.value);
        for w in findings.warnings {
            self.warn(Some(c.line), Some(&c.key), w);
        }
        for e in findings.errors {
            self.problem_at(&c, e);
        }
        Some(CredentialsSpec {
            key: c.key,
            line: Some(c.line),
            providers,
            inherited: false,
        })
    }
}

/// Entry point used by [`super::parse_with`].
pub(super) fn build(path: &Path, bytes: &[u8], options: Options) -> Result<Loaded, ConfigError> {
    let mut b = Builder::default();
    let decoded = lexer::decode(bytes);
    if let Encoding::Utf8 { first_line } = decoded.encoding {
        b.warn(
            Some(first_line),
            None,
            "the file contains UTF-8 text and is read as UTF-8; Java reads .properties files as \
             ISO-8859-1 and would see mojibake (write non-ASCII characters as \\uXXXX to be \
             portable)",
        );
    }
    let (entries, lex_errors) = lexer::lex(&decoded.text);
    for e in lex_errors {
        b.problems.push(Problem {
            line: Some(e.line),
            key: e.key.unwrap_or_default(),
            value: None,
            message: e.message,
        });
    }
    b.collect(entries, options);
    let mut config = typed(&mut b, path);
    config.child_exit_grace = options
        .child_exit_grace
        .unwrap_or(super::DEFAULT_CHILD_EXIT_GRACE);
    // File-level problems (missing keys) first, then by line; stable within a line.
    b.problems.sort_by_key(|p| p.line.unwrap_or(0));
    b.warnings.sort_by_key(|w| w.line.unwrap_or(0));
    if b.problems.is_empty() {
        Ok(Loaded {
            config,
            warnings: b.warnings,
        })
    } else {
        Err(ConfigError::Invalid {
            path: path.to_owned(),
            problems: b.problems,
        })
    }
}

/// Builds the typed config; on problems the result is a placeholder that is thrown away.
fn typed(b: &mut Builder, path: &Path) -> Config {
    // --- required identity ---
    let executable_name = match b.get("executableName") {
        None => {
            b.missing(
                "executableName",
                "required key \"executableName\" is missing (the command that runs your record \
                 processor, e.g. executableName = python3 app.py)"
                    .to_owned(),
            );
            String::new()
        }
        Some(c) if c.value.is_empty() => {
            b.problem_at(
                &c,
                "empty value: expected the command that runs your record processor",
            );
            String::new()
        }
        Some(c) => c.value,
    };
    let application_name = match b.get("applicationName") {
        None => {
            b.missing(
                "applicationName",
                "required key \"applicationName\" is missing (the KCL application / lease table \
                 name)"
                    .to_owned(),
            );
            String::new()
        }
        Some(c) if c.value.is_empty() => {
            b.problem_at(
                &c,
                "empty value: expected the KCL application / lease table name",
            );
            String::new()
        }
        Some(c) => c.value,
    };

    // --- region and endpoints ---
    let region_name = b.region("regionName");
    let client = |b: &mut Builder, prefix: &'static str, region_key: &str, endpoint_key: &str| {
        let region = b.region(region_key).or_else(|| region_name.clone());
        ClientSettings {
            region,
            endpoint: b.endpoint(endpoint_key),
            ignored_keys: b.ignored_client_keys.remove(prefix).unwrap_or_default(),
        }
    };
    let kinesis_client = client(
        b,
        "kinesisClient.",
        "kinesisClient.region",
        "kinesisEndpoint",
    );
    let dynamodb_client = client(
        b,
        "dynamoDbClient.",
        "dynamoDbClient.region",
        "dynamoDBEndpoint",
    );
    let cloudwatch_client = client(
        b,
        "cloudWatchClient.",
        "cloudWatchClient.region",
        "cloudWatchClient.endpointOverride",
    );

    // --- stream ---
    let stream_arn = match b.get("streamArn") {
        Some(c) if c.value.trim().is_empty() => None,
        Some(c) => match values::parse_stream_arn(&c.value) {
            Ok(arn) => Some((arn, c)),
            Err(e) => {
                b.problem_at(&c, e);
                None
            }
        },
        None => None,
    };
    let stream_name_key = b.get("streamName").filter(|c| !c.value.is_empty());
    let stream_name = match (&stream_arn, &stream_name_key) {
        (Some((arn, arn_entry)), name) => {
            if let Some(n) = name {
                if n.value != arn.stream_name {
                    b.warn(
                        Some(n.line),
                        Some(&n.key),
                        format!(
                            "\"{}\" differs from the stream in streamArn (line {}); the ARN's \
                             stream \"{}\" is used, as in Java",
                            n.value.escape_debug(),
                            arn_entry.line,
                            arn.stream_name
                        ),
                    );
                }
            }
            if let Some(region) = &kinesis_client.region {
                if *region != arn.region {
                    b.warn(
                        Some(arn_entry.line),
                        Some(&arn_entry.key),
                        format!(
                            "the ARN's region \"{}\" differs from the Kinesis client region \
                             \"{region}\"; the client region is used (Java ignores the ARN's \
                             region)",
                            arn.region
                        ),
                    );
                }
            }
            arn.stream_name.clone()
        }
        (None, Some(n)) => {
            if !values::is_stream_name(&n.value) {
                b.problem_at(
                    n,
                    "expected a Kinesis stream name (1 to 128 letters, digits, '_', '.', '-')",
                );
            }
            n.value.clone()
        }
        (None, None) => {
            if b.get("streamArn").is_none_or(|c| c.value.trim().is_empty()) {
                b.missing(
                    "streamName",
                    "required key \"streamName\" (or \"streamArn\") is missing (the stream to \
                     consume)"
                        .to_owned(),
                );
            }
            String::new()
        }
    };
    let stream_arn = stream_arn.map(|(arn, _)| arn);

    // --- initial position ---
    let mut initial_position = InitialPosition::Latest;
    if let Some(c) = b.get("initialPositionInStream") {
        if c.value.eq_ignore_ascii_case("AT_TIMESTAMP") {
            b.problem_at(
                &c,
                "AT_TIMESTAMP cannot be set here (Java: \"Invalid InitialPosition: AT_TIMESTAMP\"); \
                 use initialPositionInStreamExtended = <epoch seconds>",
            );
        } else if let Some(p) = b.enumeration(
            "initialPositionInStream",
            &[
                ("LATEST", InitialPosition::Latest),
                ("TRIM_HORIZON", InitialPosition::TrimHorizon),
            ],
        ) {
            initial_position = p;
        }
    }
    if let Some(secs) = b.int(
        "initialPositionInStreamExtended",
        "an integer number of seconds since 1970-01-01T00:00:00Z",
        0,
        i64::MAX / 1000,
        Zero::Value,
    ) {
        if secs > 100_000_000_000 {
            b.note(
                "initialPositionInStreamExtended",
                "this looks like milliseconds; the value is seconds since the epoch (a date \
                 thousands of years ahead)",
            );
        }
        initial_position = InitialPosition::AtTimestamp(secs);
    }

    // --- credentials ---
    let kinesis_credentials = b.credentials(CredentialsTarget::Kinesis);
    if kinesis_credentials.is_none() {
        b.missing(
            "AwsCredentialsProvider",
            "required key \"AwsCredentialsProvider\" is missing (e.g. AwsCredentialsProvider = \
             DefaultCredentialsProvider)"
                .to_owned(),
        );
    }
    let kinesis_credentials = kinesis_credentials.unwrap_or(CredentialsSpec {
        key: "AwsCredentialsProvider".to_owned(),
        line: None,
        providers: Vec::new(),
        inherited: false,
    });
    let inherit = |spec: Option<CredentialsSpec>| {
        spec.unwrap_or_else(|| CredentialsSpec {
            inherited: true,
            ..kinesis_credentials.clone()
        })
    };
    let dynamodb_credentials = inherit(b.credentials(CredentialsTarget::DynamoDb));
    let cloudwatch_credentials = inherit(b.credentials(CredentialsTarget::CloudWatch));

    // --- multilang layer ---
    let processing_language = b.string("processingLanguage");
    let max_active_threads = b
        .int(
            "maxActiveThreads",
            "an integer",
            i64::from(i32::MIN),
            i64::from(i32::MAX),
            Zero::Value,
        )
        .and_then(|n| i32::try_from(n).ok());
    b.note(
        "maxActiveThreads",
        "accepted and ignored: kcl-bridge does not run a thread pool (the tokio runtime has no \
         such limit)",
    );
    let timeout = match b.get("timeoutInSeconds") {
        None => None,
        Some(c) => match c.value.parse::<u64>() {
            Ok(0) | Err(_) => {
                b.problem_at(
                    &c,
                    "expected a positive integer number of seconds (Java turns 0, empty or bad \
                     values into 0, which makes every child action time out and halts the \
                     daemon); remove the line to wait for ever",
                );
                None
            }
            Ok(n) => Some(Duration::from_secs(n)),
        },
    };
    let shutdown_grace = b.millis("shutdownGraceMillis", 0, Zero::Value);
    let validate_sequence_number_before_checkpointing =
        b.bool_opt("validateSequenceNumberBeforeCheckpointing");
    b.note(
        "validateSequenceNumberBeforeCheckpointing",
        "accepted and ignored: no effect since KCL 2",
    );
    let retrieval_mode = b
        .enumeration(
            "retrievalMode",
            &[
                ("FANOUT", RetrievalModeSetting::Fanout),
                ("POLLING", RetrievalModeSetting::Polling),
                ("DEFAULT", RetrievalModeSetting::Default),
            ],
        )
        .unwrap_or(RetrievalModeSetting::Default);
    let table_name = b.string("tableName");
    let worker_id = b.string("workerId");

    // --- lease management ---
    let failover_time = b.millis("failoverTimeMillis", 10_000, Zero::Default);
    let cleanup = b.bool("cleanupLeasesUponShardCompletion", true);
    if !cleanup {
        b.note(
            "cleanupLeasesUponShardCompletion",
            "false is honoured: leases of finished shards are kept (Java ignores false and \
             cleans them up)",
        );
    }
    let lease = LeaseSettings {
        failover_time,
        lease_assignment_interval: b.millis_opt("leaseAssignmentIntervalMillis", Zero::Default),
        shard_sync_interval: b.millis("shardSyncIntervalMillis", 60_000, Zero::Default),
        cleanup_leases_upon_shard_completion: cleanup,
        ignore_unexpected_child_shards: b.bool("ignoreUnexpectedChildShards", false),
        max_leases_for_worker: b.count("maxLeasesForWorker", i32::MAX as u32, 1, i32::MAX as u32),
        max_leases_to_steal_at_one_time: b.count(
            "maxLeasesToStealAtOneTime",
            1,
            1,
            i32::MAX as u32,
        ),
        enable_priority_lease_assignment: b.bool("enablePriorityLeaseAssignment", true),
        initial_lease_table_read_capacity: b.count(
            "initialLeaseTableReadCapacity",
            10,
            1,
            i32::MAX as u32,
        ),
        initial_lease_table_write_capacity: b.count(
            "initialLeaseTableWriteCapacity",
            10,
            1,
            i32::MAX as u32,
        ),
        lease_table_deletion_protection_enabled: b
            .bool("leaseTableDeletionProtectionEnabled", false),
        lease_table_pitr_enabled: b.bool("leaseTablePitrEnabled", false),
        max_lease_renewal_threads: b.count("maxLeaseRenewalThreads", 20, 1, i32::MAX as u32),
        // 0 is Java's "automatic"; DynamoDB allows at most a million segments.
        lease_table_scan_total_segments: b
            .int(
                "leaseTableScanTotalSegments",
                "a number of scan segments",
                0,
                1_000_000,
                Zero::Value,
            )
            .and_then(|n| u32::try_from(n).ok())
            .filter(|&n| n > 0),
        list_shards_backoff_time: b.millis("listShardsBackoffTimeInMillis", 1_500, Zero::Default),
        max_list_shards_retry_attempts: b.count(
            "maxListShardsRetryAttempts",
            50,
            1,
            i32::MAX as u32,
        ),
    };
    b.note_group(
        &[
            "initialLeaseTableReadCapacity",
            "initialLeaseTableWriteCapacity",
        ],
        "accepted and ignored: only used for a PROVISIONED lease table, which multilang cannot \
         select",
    );
    b.note(
        "maxLeaseRenewalThreads",
        "accepted and ignored: lease renewals are asynchronous",
    );

    // --- coordinator ---
    let client_version_config = b
        .enumeration(
            "clientVersionConfig",
            &[
                (
                    "CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X_PHASE1",
                    ClientVersionConfig::CompatibleWith2xPhase1,
                ),
                (
                    "CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X",
                    ClientVersionConfig::CompatibleWith2x,
                ),
                ("CLIENT_VERSION_CONFIG_3X", ClientVersionConfig::V3x),
            ],
        )
        .unwrap_or(ClientVersionConfig::V3x);
    if client_version_config != ClientVersionConfig::V3x {
        b.note(
            "clientVersionConfig",
            "2.x-compatible migration mode: workers must run the KCL 2.x lease algorithm until \
             the migration completes",
        );
    } else {
        b.note_group(
            &["maxLeasesToStealAtOneTime", "enablePriorityLeaseAssignment"],
            "Java's 3.x lease assignment ignores this; kcl-bridge runs the KCL 2.x lease \
             algorithm and uses it",
        );
    }
    let bake = b
        .int(
            "tableMigrationCompleteBakeTimeSeconds",
            "an integer number of seconds",
            0,
            i64::MAX,
            Zero::Default,
        )
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(86_400);
    let clamped = bake.clamp(3_600, 604_800);
    if clamped != bake {
        b.note(
            "tableMigrationCompleteBakeTimeSeconds",
            &format!("clamped to {clamped} (allowed: 3600 to 604800), as the KCL does"),
        );
    }
    let shard_prioritization = b.get("shardPrioritization").map(|c| c.value);
    b.note(
        "shardPrioritization",
        "cannot be set from a properties file (Java fails at startup with \"Default conversion \
         to ShardPrioritization failed\"); ignored",
    );
    let coordinator = CoordinatorSettings {
        parent_shard_poll_interval: b.millis(
            "parentShardPollIntervalMillis",
            10_000,
            Zero::Default,
        ),
        skip_shard_sync_at_worker_initialization_if_leases_exist: b
            .bool("skipShardSyncAtWorkerInitializationIfLeasesExist", false),
        scheduler_initialization_backoff_time: b.millis(
            "schedulerInitializationBackoffTimeMillis",
            1_000,
            Zero::Default,
        ),
        shard_prioritization,
        client_version_config,
        migrate_all_entities_to_lease_table: b.bool("migrateAllEntitiesToLeaseTable", false),
        table_migration_complete_bake_time: Duration::from_secs(clamped),
    };
    b.note_group(
        &[
            "migrateAllEntitiesToLeaseTable",
            "tableMigrationCompleteBakeTimeSeconds",
        ],
        "KCL 3.5 single-table migration settings: kcl-bridge writes no worker-metrics or \
         coordinator rows to migrate, and reads a migrated table's leases as they are; ignored",
    );

    let lifecycle = LifecycleSettings {
        task_backoff_time: b.millis("taskBackoffTimeMillis", 500, Zero::Default),
        log_warning_for_task_after: b.millis_opt("logWarningForTaskAfterMillis", Zero::Value),
    };
    let call_process_records_even_for_empty_record_list =
        b.bool("callProcessRecordsEvenForEmptyRecordList", false);

    // --- metrics ---
    let enabled_dimensions = match b.get("metricsEnabledDimensions") {
        None => vec!["ALL".to_owned()],
        Some(c) => {
            let dims = values::parse_dimensions(&c.value);
            for d in &dims {
                if !values::KNOWN_DIMENSIONS.contains(&d.as_str()) {
                    b.warn(
                        Some(c.line),
                        Some(&c.key),
                        format!(
                            "unknown metrics dimension \"{}\" (known: {})",
                            d.escape_debug(),
                            values::KNOWN_DIMENSIONS.join(", ")
                        ),
                    );
                }
            }
            dims
        }
    };
    let metrics = MetricsSettings {
        buffer_time: b.millis("metricsBufferTimeMillis", 10_000, Zero::Default),
        max_queue_size: b.count("metricsMaxQueueSize", 10_000, 1, i32::MAX as u32),
        level: b
            .enumeration(
                "metricsLevel",
                &[
                    ("NONE", MetricsLevel::None),
                    ("SUMMARY", MetricsLevel::Summary),
                    ("DETAILED", MetricsLevel::Detailed),
                ],
            )
            .unwrap_or(MetricsLevel::Detailed),
        enabled_dimensions,
    };

    let publishing = b
        .get("metricsLevel")
        .is_some_and(|c| !c.value.eq_ignore_ascii_case("NONE"))
        || [
            "metricsEnabledDimensions",
            "metricsBufferTimeMillis",
            "metricsMaxQueueSize",
        ]
        .iter()
        .any(|k| b.get(k).is_some());
    if publishing {
        b.note_group(
            &[
                "metricsLevel",
                "metricsEnabledDimensions",
                "metricsBufferTimeMillis",
                "metricsMaxQueueSize",
            ],
            "kcl-bridge publishes no CloudWatch metrics (Java's default is DETAILED); ignored",
        );
    }

    // --- retrieval ---
    let max_records = match b.int(
        "maxRecords",
        "an integer number of records",
        i64::MIN,
        i64::MAX,
        Zero::Default,
    ) {
        Some(n) if (1..=10_000).contains(&n) => u32::try_from(n).unwrap_or(10_000),
        Some(_) => {
            if let Some(c) = b.get("maxRecords") {
                b.problem_at(
                    &c,
                    "expected an integer number of records from 1 to 10000 (the GetRecords \
                     limit; Java fails at scheduler build with \"maxRecords must be less than or \
                     equal to 10000\")",
                );
            }
            10_000
        }
        None => 10_000,
    };
    let mut idle = b.millis("idleTimeBetweenReadsInMillis", 1_500, Zero::Default);
    if idle < Duration::from_millis(200) {
        b.note(
            "idleTimeBetweenReadsInMillis",
            "raised to 200 ms, the minimum (as KCL 3 does)",
        );
        idle = Duration::from_millis(200);
    }
    let polling = PollingSettings {
        idle_time_between_reads: idle,
        millis_behind_latest_threshold_for_reduced_tps: b
            .millis_opt("millisBehindLatestThresholdForReducedTps", Zero::Value)
            .filter(|d| !d.is_zero()),
        retry_get_records_in_seconds: b.count_opt("retryGetRecordsInSeconds", Zero::Value),
        max_get_records_thread_pool: b.count_opt("maxGetRecordsThreadPool", Zero::Value),
    };
    b.note_group(
        &["retryGetRecordsInSeconds", "maxGetRecordsThreadPool"],
        "read by nothing in KCL 3.x; accepted and ignored (but they still select polling under \
         retrievalMode DEFAULT)",
    );
    let fanout = FanoutSettings {
        consumer_arn: b.string("fanoutConfig.consumerArn"),
        consumer_name: b.string("fanoutConfig.consumerName"),
        max_describe_stream_summary_retries: b.count(
            "fanoutConfig.maxDescribeStreamSummaryRetries",
            10,
            1,
            i32::MAX as u32,
        ),
        max_describe_stream_consumer_retries: b.count(
            "fanoutConfig.maxDescribeStreamConsumerRetries",
            10,
            1,
            i32::MAX as u32,
        ),
        register_stream_consumer_retries: b.count(
            "fanoutConfig.registerStreamConsumerRetries",
            10,
            1,
            i32::MAX as u32,
        ),
        retry_backoff: b.millis("fanoutConfig.retryBackoffMillis", 1_000, Zero::Default),
    };
    let retrieval = resolve_retrieval(b, retrieval_mode);

    // --- KCL 3.x ---
    let graceful_handoff = GracefulHandoffSettings {
        timeout: b.millis("gracefulLeaseHandoffTimeoutMillis", 30_000, Zero::Value),
        enabled: b.bool("isGracefulLeaseHandoffEnabled", true),
    };
    let worker_utilization = WorkerUtilizationSettings {
        in_memory_worker_metrics_capture_frequency: b.millis(
            "inMemoryWorkerMetricsCaptureFrequencyMillis",
            1_000,
            Zero::Default,
        ),
        worker_metrics_reporter_freq: b.millis(
            "workerMetricsReporterFreqInMillis",
            30_000,
            Zero::Default,
        ),
        no_of_persisted_metrics_per_worker_metrics: b.count(
            "noOfPersistedMetricsPerWorkerMetrics",
            10,
            1,
            i32::MAX as u32,
        ),
        disable_worker_metrics: b.bool("disableWorkerMetrics", false),
        max_throughput_per_host_kbps: b.double("maxThroughputPerHostKBps", 0.0, f64::MAX),
        dampening_percentage: b.count("dampeningPercentage", 60, 1, 100),
        re_balance_threshold_percentage: b.count(
            "reBalanceThresholdPercentage",
            10,
            1,
            i32::MAX as u32,
        ),
        allow_throughput_overshoot: b.bool("allowThroughputOvershoot", true),
        variance_balancing_frequency: b.count("varianceBalancingFrequency", 3, 1, i32::MAX as u32),
        worker_metrics_ema_alpha: b.double("workerMetricsEMAAlpha", 0.0, 1.0).unwrap_or(0.5),
        stale_worker_metrics_entry_cleanup_duration: b.duration_iso(
            "staleWorkerMetricsEntryCleanupDuration",
            Duration::from_secs(86_400),
        ),
    };
    let worker_metrics_table = b.table(WORKER_METRICS_TABLE_KEYS);
    let coordinator_state_table = b.table(COORDINATOR_STATE_TABLE_KEYS);
    b.note_group(
        &[WORKER_METRICS_TABLE_KEYS, COORDINATOR_STATE_TABLE_KEYS].concat(),
        "apply only to applications that keep the separate KCL 3.0-3.4 metadata tables \
         (deprecated in KCL 3.5)",
    );

    Config {
        source: path.to_owned(),
        executable_name,
        application_name,
        stream_name,
        initial_position,
        max_records,
        timeout,
        shutdown_grace,
        child_exit_grace: super::DEFAULT_CHILD_EXIT_GRACE,
        call_process_records_even_for_empty_record_list,
        processing_language,
        max_active_threads,
        validate_sequence_number_before_checkpointing,
        retrieval_mode,
        retrieval,
        stream_arn,
        table_name,
        worker_id,
        credentials: Credentials {
            kinesis: kinesis_credentials,
            dynamodb: dynamodb_credentials,
            cloudwatch: cloudwatch_credentials,
        },
        region_name,
        kinesis_client,
        dynamodb_client,
        cloudwatch_client,
        lease,
        coordinator,
        lifecycle,
        metrics,
        polling,
        fanout,
        graceful_handoff,
        worker_utilization,
        worker_metrics_table,
        coordinator_state_table,
    }
}

/// Java's `DEFAULT` rule: polling if any polling key is set to a non-zero value.
fn resolve_retrieval(b: &mut Builder, setting: RetrievalModeSetting) -> Retrieval {
    let mut set: Vec<Chosen> = POLLING_KEYS
        .iter()
        .filter_map(|k| b.get(k))
        .filter(|c| c.value.parse::<i64>().is_ok_and(|n| n != 0))
        .collect();
    set.sort_by_key(|c| c.line);
    let names: Vec<String> = set.iter().map(|c| c.key.clone()).collect();
    match setting {
        RetrievalModeSetting::Default if names.is_empty() => Retrieval {
            mode: RetrievalMode::FanOut,
            reason: RetrievalReason::NoPollingKeys,
        },
        RetrievalModeSetting::Default => Retrieval {
            mode: RetrievalMode::Polling,
            reason: RetrievalReason::PollingKeysSet(names),
        },
        RetrievalModeSetting::Fanout => {
            if let Some(first) = set.first() {
                b.warn(
                    Some(first.line),
                    None,
                    format!(
                        "{}: polling settings have no effect with retrievalMode FANOUT",
                        names.join(", ")
                    ),
                );
            }
            Retrieval {
                mode: RetrievalMode::FanOut,
                reason: RetrievalReason::Explicit,
            }
        }
        RetrievalModeSetting::Polling => {
            b.note_group(
                &[
                    "fanoutConfig.consumerArn",
                    "fanoutConfig.consumerName",
                    "fanoutConfig.maxDescribeStreamSummaryRetries",
                    "fanoutConfig.maxDescribeStreamConsumerRetries",
                    "fanoutConfig.registerStreamConsumerRetries",
                    "fanoutConfig.retryBackoffMillis",
                ],
                "enhanced fan-out settings have no effect with retrievalMode POLLING",
            );
            Retrieval {
                mode: RetrievalMode::Polling,
                reason: RetrievalReason::Explicit,
            }
        }
    }
}

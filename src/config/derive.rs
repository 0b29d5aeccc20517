//! The keys the table marks [`Kind::Rule`](super::table::Kind::Rule), and what Java derives
//! after loading: the required keys, the stream (name or ARN), the initial position, the three
//! credentials keys, per-client regions, the retrieval mode, and the few values that are
//! clamped. Each rule reads the entries it needs from the [`Builder`] and writes the [`Config`].

use std::time::Duration;

use super::build::{Builder, Chosen};
use super::credentials::{self, CredentialsSpec, CredentialsTarget};
use super::read::Whole;
use super::table::{self, Zero};
use super::values;
use super::*;

/// Applies every rule, in an order where each finds what it depends on.
pub(super) fn apply(b: &mut Builder, c: &mut Config, purpose: Purpose) {
    required(b, c);
    clients(b, c);
    stream(b, c);
    initial_position(b, c);
    credentials(b, c, purpose);
    multilang(b, c);
    bake_time(b, c);
    idle_time(b, c);
    c.retrieval = retrieval(b, c.retrieval_mode);
}

/// `executableName` and `applicationName`: present and not empty.
fn required(b: &mut Builder, c: &mut Config) {
    c.executable_name = required_text(
        b,
        "executableName",
        "the command that runs your record processor",
        ", e.g. executableName = python3 app.py",
    );
    c.application_name = required_text(
        b,
        "applicationName",
        "the KCL application / lease table name",
        "",
    );
}

/// The value of a required key; empty (with a problem) when it is missing or empty.
fn required_text(b: &mut Builder, key: &str, what: &str, example: &str) -> String {
    match b.get(key) {
        None => {
            b.missing(
                key,
                format!("required key \"{key}\" is missing ({what}{example})"),
            );
            String::new()
        }
        Some(entry) if entry.value.is_empty() => {
            b.problem_at(&entry, format!("empty value: expected {what}"));
            String::new()
        }
        Some(entry) => entry.value,
    }
}

/// A client without a region of its own takes `regionName`; nested client keys kcl-bridge
/// ignores are listed with their client.
fn clients(b: &mut Builder, c: &mut Config) {
    let clients = [
        ("kinesisClient.", &mut c.kinesis_client),
        ("dynamoDbClient.", &mut c.dynamodb_client),
        ("cloudWatchClient.", &mut c.cloudwatch_client),
    ];
    for (prefix, client) in clients {
        if client.region.is_none() {
            client.region.clone_from(&c.region_name);
        }
        client.ignored_keys = b.ignored_client_keys.remove(prefix).unwrap_or_default();
    }
}

/// `streamArn` (its stream name wins, as in Java) or `streamName`.
fn stream(b: &mut Builder, c: &mut Config) {
    let arn = match b.get("streamArn") {
        Some(e) if e.value.trim().is_empty() => None,
        Some(e) => match values::parse_stream_arn(&e.value) {
            Ok(arn) => Some((arn, e)),
            Err(message) => {
                b.problem_at(&e, message);
                None
            }
        },
        None => None,
    };
    let name = b.get("streamName").filter(|e| !e.value.is_empty());
    c.stream_name = match (&arn, name) {
        (Some((arn, arn_entry)), name) => {
            arn_differences(b, c, arn, arn_entry, name.as_ref());
            arn.stream_name.clone()
        }
        (None, Some(name)) => {
            if !values::is_stream_name(&name.value) {
                b.problem_at(
                    &name,
                    "expected a Kinesis stream name (1 to 128 letters, digits, '_', '.', '-')",
                );
            }
            name.value
        }
        (None, None) => {
            if b.get("streamArn").is_none_or(|e| e.value.trim().is_empty()) {
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
    c.stream_arn = arn.map(|(arn, _)| arn);
}

/// Warnings where `streamName` or the Kinesis region disagree with the ARN.
fn arn_differences(
    b: &mut Builder,
    c: &Config,
    arn: &StreamArn,
    arn_entry: &Chosen,
    name: Option<&Chosen>,
) {
    if let Some(n) = name.filter(|n| n.value != arn.stream_name) {
        b.warn(
            Some(n.line),
            Some(&n.key),
            format!(
                "\"{}\" differs from the stream in streamArn (line {}); the ARN's stream \"{}\" \
                 is used, as in Java",
                n.value.escape_debug(),
                arn_entry.line,
                arn.stream_name
            ),
        );
    }
    if let Some(region) = c
        .kinesis_client
        .region
        .as_ref()
        .filter(|r| **r != arn.region)
    {
        b.warn(
            Some(arn_entry.line),
            Some(&arn_entry.key),
            format!(
                "the ARN's region \"{}\" differs from the Kinesis client region \"{region}\"; the \
                 client region is used (Java ignores the ARN's region)",
                arn.region
            ),
        );
    }
}

/// `initialPositionInStream` (LATEST, TRIM_HORIZON) or `initialPositionInStreamExtended`
/// (AT_TIMESTAMP, in seconds). Both at once are a conflict reported by the builder.
fn initial_position(b: &mut Builder, c: &mut Config) {
    if let Some(e) = b.get("initialPositionInStream") {
        match e.value.to_ascii_uppercase().as_str() {
            "LATEST" => c.initial_position = InitialPosition::Latest,
            "TRIM_HORIZON" => c.initial_position = InitialPosition::TrimHorizon,
            "AT_TIMESTAMP" => b.problem_at(
                &e,
                "AT_TIMESTAMP cannot be set here (Java: \"Invalid InitialPosition: \
                 AT_TIMESTAMP\"); use initialPositionInStreamExtended = <epoch seconds>",
            ),
            "" => b.problem_at(
                &e,
                "empty value: expected one of LATEST, TRIM_HORIZON (any case); remove the line \
                 to use the default",
            ),
            _ => b.problem_at(&e, "expected one of LATEST, TRIM_HORIZON (any case)"),
        }
    }
    let Some(e) = b.get("initialPositionInStreamExtended") else {
        return;
    };
    let what = "an integer number of seconds since 1970-01-01T00:00:00Z";
    let rule = Whole::from(0, None, Zero::Value, "");
    match rule.read(&e.value, what, &mut Vec::new()) {
        Ok(Some(secs)) => {
            if secs > 100_000_000_000 {
                b.warn(
                    Some(e.line),
                    Some(&e.key),
                    "this looks like milliseconds; the value is seconds since the epoch (a date \
                     thousands of years ahead)",
                );
            }
            c.initial_position = InitialPosition::AtTimestamp(secs);
        }
        Ok(None) => {}
        Err(message) => b.problem_at(&e, message),
    }
}

/// The three credentials keys: DynamoDB and CloudWatch fall back to `AwsCredentialsProvider`,
/// which the daemon requires (Java: "A basic set of AWS credentials must be provided") and
/// `replay`, which makes no AWS calls, does not.
fn credentials(b: &mut Builder, c: &mut Config, purpose: Purpose) {
    let kinesis = match credentials_spec(b, CredentialsTarget::Kinesis) {
        Some(spec) => spec,
        None => {
            let key = CredentialsTarget::Kinesis.key();
            match purpose {
                Purpose::Consume => b.missing(
                    key,
                    format!(
                        "required key \"{key}\" is missing (e.g. {key} = DefaultCredentialsProvider)"
                    ),
                ),
                Purpose::Replay => b.warn(
                    None,
                    Some(key),
                    "not set; replay makes no AWS calls and does without it, but the daemon and \
                     check require it (e.g. AwsCredentialsProvider = DefaultCredentialsProvider)",
                ),
            }
            CredentialsSpec {
                key: key.to_owned(),
                line: None,
                providers: Vec::new(),
                inherited: false,
            }
        }
    };
    let inherit = |b: &mut Builder, target| {
        credentials_spec(b, target).unwrap_or_else(|| CredentialsSpec {
            inherited: true,
            ..kinesis.clone()
        })
    };
    c.credentials.dynamodb = inherit(b, CredentialsTarget::DynamoDb);
    c.credentials.cloudwatch = inherit(b, CredentialsTarget::CloudWatch);
    c.credentials.kinesis = kinesis;
}

fn credentials_spec(b: &mut Builder, target: CredentialsTarget) -> Option<CredentialsSpec> {
    let e = b.get(target.key())?;
    let (providers, findings) = credentials::parse(&e.value);
    for w in findings.warnings {
        b.warn(Some(e.line), Some(&e.key), w);
    }
    for message in findings.errors {
        b.problem_at(&e, message);
    }
    Some(CredentialsSpec {
        key: e.key,
        line: Some(e.line),
        providers,
        inherited: false,
    })
}

/// `maxActiveThreads` (Java reads it with `Integer.parseInt`) and `timeoutInSeconds` (Java turns
/// 0, empty or bad values into 0, which times every child action out at once).
fn multilang(b: &mut Builder, c: &mut Config) {
    if let Some(e) = b.get("maxActiveThreads") {
        let rule = Whole::from(
            i64::from(i32::MIN),
            Some(i64::from(i32::MAX)),
            Zero::Value,
            "",
        );
        match rule.read(&e.value, "an integer", &mut Vec::new()) {
            Ok(n) => c.max_active_threads = n.and_then(|n| i32::try_from(n).ok()),
            Err(message) => b.problem_at(&e, message),
        }
    }
    if let Some(e) = b.get("timeoutInSeconds") {
        match e.value.parse::<u64>() {
            Ok(n) if n > 0 => c.timeout = Some(Duration::from_secs(n)),
            _ => b.problem_at(
                &e,
                "expected a positive integer number of seconds (Java turns 0, empty or bad values \
                 into 0, which makes every child action time out and halts the daemon); remove \
                 the line to wait for ever",
            ),
        }
    }
}

/// `tableMigrationCompleteBakeTimeSeconds`: clamped to [1 h, 7 days], as the KCL does.
fn bake_time(b: &mut Builder, c: &mut Config) {
    let bake = &mut c.coordinator.table_migration_complete_bake_time;
    let secs = bake.as_secs();
    let clamped = secs.clamp(3_600, 604_800);
    if clamped != secs {
        *bake = Duration::from_secs(clamped);
        if let Some(e) = b.get("tableMigrationCompleteBakeTimeSeconds") {
            b.warn(
                Some(e.line),
                Some(&e.key),
                format!("clamped to {clamped} (allowed: 3600 to 604800), as the KCL does"),
            );
        }
    }
}

/// `idleTimeBetweenReadsInMillis`: at least 200 ms, as KCL 3 does.
fn idle_time(b: &mut Builder, c: &mut Config) {
    const MIN: Duration = Duration::from_millis(200);
    if c.polling.idle_time_between_reads < MIN {
        if let Some(e) = b.get("idleTimeBetweenReadsInMillis") {
            b.warn(
                Some(e.line),
                Some(&e.key),
                "raised to 200 ms, the minimum (as KCL 3 does)",
            );
        }
        c.polling.idle_time_between_reads = MIN;
    }
}

/// Java's `DEFAULT` rule: polling if any polling key is set to a non-zero value, else fan-out.
fn retrieval(b: &Builder, setting: RetrievalModeSetting) -> Retrieval {
    let mut set: Vec<Chosen> = table::POLLING
        .iter()
        .filter_map(|row| b.get(row.name))
        .filter(|e| e.value.parse::<i64>().is_ok_and(|n| n != 0))
        .collect();
    set.sort_by_key(|e| e.line);
    let names: Vec<String> = set.into_iter().map(|e| e.key).collect();
    match setting {
        RetrievalModeSetting::Default if names.is_empty() => Retrieval {
            mode: RetrievalMode::FanOut,
            reason: RetrievalReason::NoPollingKeys,
        },
        RetrievalModeSetting::Default => Retrieval {
            mode: RetrievalMode::Polling,
            reason: RetrievalReason::PollingKeysSet(names),
        },
        RetrievalModeSetting::Fanout => Retrieval {
            mode: RetrievalMode::FanOut,
            reason: RetrievalReason::Explicit,
        },
        RetrievalModeSetting::Polling => Retrieval {
            mode: RetrievalMode::Polling,
            reason: RetrievalReason::Explicit,
        },
    }
}

//! What a key in the file is: a key of the table (`table`), another spelling of one, a key with a
//! known reason to be ignored, or an unknown key with a "did you mean" suggestion
//! (`docs/configuration.md`, "Key names", "Keys", "Unknown keys").
//!
//! Data and lookups only: no parsing of values, no I/O.

use super::credentials::{credentials_key, CredentialsTarget};
use super::table;
use super::values::edit_distance;

/// Every key's canonical spelling, in the key table's order.
pub fn names() -> impl Iterator<Item = &'static str> {
    table::rows().map(|r| r.name)
}

/// The canonical spelling of `key` if it is one.
fn known(key: &str) -> Option<&'static str> {
    table::row_of(key).map(|r| r.name)
}

/// Other spellings of a known setting: (alias, canonical key, warning or `None` for a Java alias).
const ALIASES: &[(&str, &str, Option<&str>)] = &[
    ("workerIdentifier", "workerId", None),
    ("kinesisClient.endpointOverride", "kinesisEndpoint", None),
    ("dynamoDbClient.endpointOverride", "dynamoDBEndpoint", None),
    (
        "cloudWatchEndpoint",
        "cloudWatchClient.endpointOverride",
        Some("cloudWatchEndpoint is not a Java key (Java ignores it); kcl-bridge accepts it as cloudWatchClient.endpointOverride"),
    ),
    (
        "consumerArn",
        "fanoutConfig.consumerArn",
        Some("Java ignores a top-level consumerArn; kcl-bridge accepts it as fanoutConfig.consumerArn"),
    ),
    (
        "consumerName",
        "fanoutConfig.consumerName",
        Some("Java ignores a top-level consumerName; kcl-bridge accepts it as fanoutConfig.consumerName"),
    ),
];

/// Internal Java beans whose children are the flat keys again
/// (`docs/configuration.md`, "Key names").
const BEAN_PREFIXES: &[&str] = &[
    "pollingConfig.",
    "gracefulLeaseHandoffConfigBean.",
    "workerUtilizationAwareAssignmentConfigBean.",
    "workerMetricStatsTableConfigBean.",
    "coordinatorStateTableConfigBean.",
];

/// Keys people write that Java silently ignores, with why
/// (`docs/configuration.md`, "Unknown keys"). Matched exactly or by prefix (entries ending in `*`).
const IGNORED: &[(&str, &str)] = &[
    ("billingMode", "the lease table's billing mode cannot be set from multilang (only workerMetricsBillingMode / coordinatorStateBillingMode exist); ignored"),
    ("tags", "lease table tags cannot be set from multilang (only workerMetricsTags / coordinatorStateTags exist); ignored"),
    ("skipShardSyncAtStartupIfLeasesExist", "not a KCL key; did you mean skipShardSyncAtWorkerInitializationIfLeasesExist? ignored"),
    ("maxPendingProcesses", "not exposed by the multilang daemon; ignored"),
    ("maxPendingProcessRecordsInput", "not exposed by the multilang daemon; ignored"),
    ("leaseAssignmentStrategy", "a KCL core option the multilang daemon does not expose; ignored"),
    ("streamInfoMode", "a KCL core option the multilang daemon does not expose; ignored"),
    ("dynamoDbRequestTimeout", "a KCL core option the multilang daemon does not expose; ignored"),
    ("kinesisRequestTimeout", "a KCL core option the multilang daemon does not expose; ignored"),
    ("dynamoDbLockBasedLeader*", "a KCL core option the multilang daemon does not expose; ignored"),
    ("proxy*", "there are no proxy keys; set HTTPS_PROXY / NO_PROXY in the environment instead; ignored"),
    ("timestamp", "AT_TIMESTAMP is set only with initialPositionInStreamExtended = <epoch seconds>; ignored"),
    ("AT_TIMESTAMP", "AT_TIMESTAMP is set only with initialPositionInStreamExtended = <epoch seconds>; ignored"),
    ("kinesisClientConfig", "KCL 1.x client configuration is gone since KCL 2; ignored"),
    ("dynamoDBClientConfig", "KCL 1.x client configuration is gone since KCL 2; ignored"),
    ("cloudWatchClientConfig", "KCL 1.x client configuration is gone since KCL 2; ignored"),
    ("streamNames", "the multilang daemon consumes a single stream; ignored"),
    ("streamArns", "the multilang daemon consumes a single stream; ignored"),
    ("multiStreamTracker", "the multilang daemon consumes a single stream; ignored"),
];

/// Nested client builders (`docs/configuration.md`, "Key names"): `region` and `endpointOverride`
/// are honoured, other children are accepted and ignored with a warning.
pub const CLIENT_PREFIXES: &[&str] = &["kinesisClient.", "dynamoDbClient.", "cloudWatchClient."];

/// Reflective credentials builders Java exposes; we reject them.
const CREDENTIALS_BEAN_PREFIXES: &[&str] = &[
    "kinesisCredentialsProvider.",
    "dynamoDBCredentialsProvider.",
    "cloudWatchCredentialsProvider.",
];

/// What a key in the file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClass {
    /// A setting, by canonical name; `note` is a warning to give (alias not known to Java, …).
    Setting {
        canonical: &'static str,
        note: Option<String>,
    },
    /// A credentials key (any spelling of the prefix).
    Credentials(CredentialsTarget),
    /// A nested client key we do not use (e.g. `kinesisClient.fipsEnabled`): warn, ignore.
    IgnoredClientKey,
    /// A key with a known reason to be ignored (`docs/configuration.md`, "Unknown keys").
    Ignored(&'static str),
    /// `kinesisCredentialsProvider.class` and the like: an error.
    Rejected(String),
    /// Anything else; `suggestion` is the nearest known key.
    Unknown { suggestion: Option<&'static str> },
}

/// Classifies one key as written in the file.
pub fn classify(key: &str) -> KeyClass {
    if let Some(c) = credentials_key(key) {
        return match c {
            Ok(target) => KeyClass::Credentials(target),
            Err(_) => KeyClass::Unknown {
                suggestion: suggest(key),
            },
        };
    }
    if let Some(canonical) = known(key) {
        return KeyClass::Setting {
            canonical,
            note: None,
        };
    }
    if let Some(&(_, canonical, note)) = ALIASES.iter().find(|(a, _, _)| *a == key) {
        return KeyClass::Setting {
            canonical,
            note: note.map(str::to_owned),
        };
    }
    for prefix in BEAN_PREFIXES {
        if let Some(rest) = key.strip_prefix(prefix) {
            if let Some(canonical) = known(rest) {
                return KeyClass::Setting {
                    canonical,
                    note: Some(format!(
                        "{key} is an undocumented nested spelling of {canonical}; use {canonical}"
                    )),
                };
            }
        }
    }
    for (pattern, why) in IGNORED {
        let hit = match pattern.strip_suffix('*') {
            Some(p) => key.starts_with(p),
            None => key == *pattern,
        };
        if hit {
            return KeyClass::Ignored(why);
        }
    }
    if CLIENT_PREFIXES.iter().any(|p| key.starts_with(p)) {
        return KeyClass::IgnoredClientKey;
    }
    if CREDENTIALS_BEAN_PREFIXES.iter().any(|p| key.starts_with(p)) {
        return KeyClass::Rejected(format!(
            "{key}: reflective credentials-provider builders are not supported; use \
             AwsCredentialsProvider (and …DynamoDB / …CloudWatch) with a provider name"
        ));
    }
    KeyClass::Unknown {
        suggestion: suggest(key),
    }
}

/// The nearest known key: same letters ignoring case, or edit distance ≤ max(2, len/4).
pub fn suggest(key: &str) -> Option<&'static str> {
    let candidates = names()
        .chain(ALIASES.iter().map(|(a, _, _)| *a))
        .chain(["AWSCredentialsProvider"]);
    let lower = key.to_ascii_lowercase();
    let mut best: Option<(usize, &'static str)> = None;
    for cand in candidates {
        let d = if cand.to_ascii_lowercase() == lower {
            0
        } else {
            edit_distance(key, cand)
        };
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, cand));
        }
    }
    let limit = (key.chars().count() / 4).max(2);
    best.filter(|(d, _)| *d <= limit).map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(
            classify("maxRecords"),
            KeyClass::Setting {
                canonical: "maxRecords",
                note: None
            }
        );
        assert_eq!(
            classify("workerIdentifier"),
            KeyClass::Setting {
                canonical: "workerId",
                note: None
            }
        );
        assert!(matches!(
            classify("cloudWatchEndpoint"),
            KeyClass::Setting {
                canonical: "cloudWatchClient.endpointOverride",
                note: Some(_)
            }
        ));
        assert!(matches!(
            classify("pollingConfig.maxRecords"),
            KeyClass::Setting {
                canonical: "maxRecords",
                note: Some(_)
            }
        ));
        assert_eq!(
            classify("AWSCredentialsProviderDynamoDB"),
            KeyClass::Credentials(CredentialsTarget::DynamoDb)
        );
        assert_eq!(
            classify("kinesisClient.fipsEnabled"),
            KeyClass::IgnoredClientKey
        );
        assert!(matches!(classify("proxyHost"), KeyClass::Ignored(_)));
        assert!(matches!(classify("billingMode"), KeyClass::Ignored(_)));
        assert!(matches!(
            classify("kinesisCredentialsProvider.class"),
            KeyClass::Rejected(_)
        ));
        assert_eq!(
            classify("coordinatorConfig.foo"),
            KeyClass::Unknown { suggestion: None }
        );
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("maxRecord"), Some("maxRecords"));
        assert_eq!(suggest("FailoverTimeMillis"), Some("failoverTimeMillis"));
        assert_eq!(suggest("failovertimemillis"), Some("failoverTimeMillis"));
        assert_eq!(
            suggest("AwsCredentialsProviderDynamoDb"),
            Some("AwsCredentialsProviderDynamoDB")
        );
        assert_eq!(suggest("regoinName"), Some("regionName"));
        assert_eq!(suggest("completelyDifferent"), None);
        assert!(matches!(
            classify("AwsCredentialsProviderDynamoDb"),
            KeyClass::Unknown {
                suggestion: Some("AwsCredentialsProviderDynamoDB")
            }
        ));
    }

    #[test]
    fn catalogue_is_consistent() {
        let mut seen = std::collections::HashSet::new();
        for k in names() {
            assert!(seen.insert(k), "{k} listed twice");
        }
        for (alias, canonical, _) in ALIASES {
            assert!(known(canonical).is_some(), "{canonical}");
            assert!(known(alias).is_none(), "{alias} is a key and an alias");
        }
    }
}

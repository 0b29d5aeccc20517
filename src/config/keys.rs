//! The key catalogue (configuration.md §1.4, §2, §2.8): which keys exist, which spellings are
//! aliases of which setting, which unknown keys get a specific explanation, and "did you mean"
//! suggestions for the rest.
//!
//! Data and lookups only: no parsing of values, no I/O.

use super::credentials::{credentials_key, CredentialsTarget};
use super::values::edit_distance;

/// Every key the Java 3.5.1 multilang configuration honours, in the canonical spelling we use as
/// the setting's name (§2). Credentials keys are matched by the prefix rule, see [`classify`].
pub const KNOWN: &[&str] = &[
    // 2.1 multilang layer
    "executableName",
    "processingLanguage",
    "maxActiveThreads",
    "timeoutInSeconds",
    "shutdownGraceMillis",
    "validateSequenceNumberBeforeCheckpointing",
    "retrievalMode",
    // 2.2 identity
    "applicationName",
    "streamName",
    "streamArn",
    "tableName",
    "workerId",
    "initialPositionInStream",
    "initialPositionInStreamExtended",
    // 2.3 clients
    "AwsCredentialsProvider",
    "AwsCredentialsProviderDynamoDB",
    "AwsCredentialsProviderCloudWatch",
    "regionName",
    "kinesisEndpoint",
    "dynamoDBEndpoint",
    "kinesisClient.region",
    "dynamoDbClient.region",
    "cloudWatchClient.region",
    "cloudWatchClient.endpointOverride",
    // 2.4 lease management
    "failoverTimeMillis",
    "leaseAssignmentIntervalMillis",
    "shardSyncIntervalMillis",
    "cleanupLeasesUponShardCompletion",
    "ignoreUnexpectedChildShards",
    "maxLeasesForWorker",
    "maxLeasesToStealAtOneTime",
    "enablePriorityLeaseAssignment",
    "initialLeaseTableReadCapacity",
    "initialLeaseTableWriteCapacity",
    "leaseTableDeletionProtectionEnabled",
    "leaseTablePitrEnabled",
    "maxLeaseRenewalThreads",
    "leaseTableScanTotalSegments",
    "listShardsBackoffTimeInMillis",
    "maxListShardsRetryAttempts",
    // 2.5 coordinator, lifecycle, processor, metrics
    "parentShardPollIntervalMillis",
    "skipShardSyncAtWorkerInitializationIfLeasesExist",
    "schedulerInitializationBackoffTimeMillis",
    "shardPrioritization",
    "clientVersionConfig",
    "migrateAllEntitiesToLeaseTable",
    "tableMigrationCompleteBakeTimeSeconds",
    "taskBackoffTimeMillis",
    "logWarningForTaskAfterMillis",
    "callProcessRecordsEvenForEmptyRecordList",
    "metricsBufferTimeMillis",
    "metricsMaxQueueSize",
    "metricsLevel",
    "metricsEnabledDimensions",
    // 2.6 retrieval
    "maxRecords",
    "idleTimeBetweenReadsInMillis",
    "millisBehindLatestThresholdForReducedTps",
    "retryGetRecordsInSeconds",
    "maxGetRecordsThreadPool",
    "fanoutConfig.consumerArn",
    "fanoutConfig.consumerName",
    "fanoutConfig.maxDescribeStreamSummaryRetries",
    "fanoutConfig.maxDescribeStreamConsumerRetries",
    "fanoutConfig.registerStreamConsumerRetries",
    "fanoutConfig.retryBackoffMillis",
    // 2.7 KCL 3.x
    "gracefulLeaseHandoffTimeoutMillis",
    "isGracefulLeaseHandoffEnabled",
    "inMemoryWorkerMetricsCaptureFrequencyMillis",
    "workerMetricsReporterFreqInMillis",
    "noOfPersistedMetricsPerWorkerMetrics",
    "disableWorkerMetrics",
    "maxThroughputPerHostKBps",
    "dampeningPercentage",
    "reBalanceThresholdPercentage",
    "allowThroughputOvershoot",
    "varianceBalancingFrequency",
    "workerMetricsEMAAlpha",
    "staleWorkerMetricsEntryCleanupDuration",
    "workerMetricsTableName",
    "workerMetricsBillingMode",
    "workerMetricsReadCapacity",
    "workerMetricsWriteCapacity",
    "workerMetricsPointInTimeRecoveryEnabled",
    "workerMetricsDeletionProtectionEnabled",
    "workerMetricsTags",
    "coordinatorStateTableName",
    "coordinatorStateBillingMode",
    "coordinatorStateReadCapacity",
    "coordinatorStateWriteCapacity",
    "coordinatorStatePointInTimeRecoveryEnabled",
    "coordinatorStateDeletionProtectionEnabled",
    "coordinatorStateTags",
];

/// The five keys whose non-zero value makes `retrievalMode = DEFAULT` choose polling (§2.6).
pub const POLLING_KEYS: &[&str] = &[
    "maxRecords",
    "idleTimeBetweenReadsInMillis",
    "millisBehindLatestThresholdForReducedTps",
    "retryGetRecordsInSeconds",
    "maxGetRecordsThreadPool",
];

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

/// Internal Java beans whose children are the flat keys again (§1.4, "pointless aliases").
const BEAN_PREFIXES: &[&str] = &[
    "pollingConfig.",
    "gracefulLeaseHandoffConfigBean.",
    "workerUtilizationAwareAssignmentConfigBean.",
    "workerMetricStatsTableConfigBean.",
    "coordinatorStateTableConfigBean.",
];

/// Keys people write that Java silently ignores, with why (§2.8). Matched exactly or by prefix
/// (entries ending in `*`).
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

/// Nested client builders (§1.4): `region` and `endpointOverride` are honoured, other children
/// are accepted and ignored with a warning.
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
    /// A key with a known reason to be ignored (§2.8).
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
    if let Some(&canonical) = KNOWN.iter().find(|&&k| k == key) {
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
            if let Some(&canonical) = KNOWN.iter().find(|&&k| k == rest) {
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
    let candidates = KNOWN
        .iter()
        .copied()
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

/// The keys of the KCL 3.0–3.4 worker-metrics table, in [`TableSettings`](super::TableSettings) order:
/// name, billing mode, read and write capacity, PITR, deletion protection, tags.
pub(crate) const WORKER_METRICS_TABLE_KEYS: [&str; 7] = [
    "workerMetricsTableName",
    "workerMetricsBillingMode",
    "workerMetricsReadCapacity",
    "workerMetricsWriteCapacity",
    "workerMetricsPointInTimeRecoveryEnabled",
    "workerMetricsDeletionProtectionEnabled",
    "workerMetricsTags",
];

/// The same for the KCL 3.0–3.4 coordinator-state table.
pub(crate) const COORDINATOR_STATE_TABLE_KEYS: [&str; 7] = [
    "coordinatorStateTableName",
    "coordinatorStateBillingMode",
    "coordinatorStateReadCapacity",
    "coordinatorStateWriteCapacity",
    "coordinatorStatePointInTimeRecoveryEnabled",
    "coordinatorStateDeletionProtectionEnabled",
    "coordinatorStateTags",
];

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
        for k in KNOWN {
            assert!(seen.insert(k), "{k} listed twice");
        }
        for (_, canonical, _) in ALIASES {
            assert!(KNOWN.contains(canonical), "{canonical}");
        }
        for k in POLLING_KEYS {
            assert!(KNOWN.contains(k), "{k}");
        }
    }
}

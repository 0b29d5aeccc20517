//! The `.properties` file the Java MultiLangDaemon reads, parsed into a typed [`Config`]
//! (Java's behaviour and ours: `docs/configuration.md`).
//!
//! Two stages, as in ripgrep: [`lexer`] turns the bytes into entries exactly as
//! `java.util.Properties` would (with line numbers), then `build` makes a typed `Config` from all
//! entries, collecting every problem before failing. Deliberate deviations from Java (all turn
//! silent misconfiguration into a warning or an error) are listed on [`parse`].
//!
//! Every key is one row of the key table (`table`): its type and the field it sets, its default,
//! and what kcl-bridge does with it where that differs from Java. Parsing (`read`, `derive`), the
//! effective settings `check` prints and the daemon's list of changed settings
//! ([`Config::effective_settings`], [`Config::non_default_settings`]), the start-up notices
//! ([`Config::startup_notices`]) and the "did you mean" suggestions ([`keys`]) all come from it.
//! [`file`] finds the file a command line names (Java's `-p` precedence and class-path lookup).
//!
//! This module does no I/O beyond reading the one file given to [`load`], never reads the
//! environment or AWS, never logs (warnings are returned), and never prints a credentials
//! argument or `externalId`.

mod build;
pub mod credentials;
mod derive;
pub mod file;
pub mod keys;
pub mod lexer;
mod notices;
mod read;
mod settings;
mod table;
#[cfg(test)]
mod tests;
pub mod values;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use credentials::{
    CredentialsProvider, CredentialsSpec, CredentialsTarget, Redacted, StsEndpoint,
};
pub use notices::script_arguments;
pub use settings::Setting;
pub use table::DEFAULT_SHUTDOWN_GRACE;
pub use values::StreamArn;

/// Where a shard without a checkpoint starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InitialPosition {
    TrimHorizon,
    #[default]
    Latest,
    /// `initialPositionInStreamExtended`, seconds since the epoch.
    AtTimestamp(i64),
}

impl InitialPosition {
    /// The sentinel a never-checkpointed lease carries, as sent in `initialize`.
    pub fn sentinel(&self) -> &'static str {
        match self {
            InitialPosition::TrimHorizon => "TRIM_HORIZON",
            InitialPosition::Latest => "LATEST",
            InitialPosition::AtTimestamp(_) => "AT_TIMESTAMP",
        }
    }
}

/// `retrievalMode` as written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RetrievalModeSetting {
    /// `DEFAULT` (also when absent): polling if a polling key is set non-zero, else fan-out.
    #[default]
    Default,
    Fanout,
    Polling,
}

/// How records are fetched, after resolving `DEFAULT`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RetrievalMode {
    /// Enhanced fan-out (SubscribeToShard).
    #[default]
    FanOut,
    /// GetRecords.
    Polling,
}

/// Why [`RetrievalMode`] was chosen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RetrievalReason {
    /// `retrievalMode = FANOUT` or `POLLING`.
    Explicit,
    /// `DEFAULT` and these polling keys were set to a non-zero value (file order).
    PollingKeysSet(Vec<String>),
    /// `DEFAULT` and no polling key was set.
    #[default]
    NoPollingKeys,
}

impl fmt::Display for RetrievalReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetrievalReason::Explicit => f.write_str("set by retrievalMode"),
            RetrievalReason::PollingKeysSet(keys) => {
                write!(
                    f,
                    "retrievalMode DEFAULT and polling keys set: {}",
                    keys.join(", ")
                )
            }
            RetrievalReason::NoPollingKeys => {
                f.write_str("retrievalMode DEFAULT and no polling key set")
            }
        }
    }
}

/// The resolved retrieval mode and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retrieval {
    pub mode: RetrievalMode,
    pub reason: RetrievalReason,
}

/// `clientVersionConfig` (KCL 3.x migration mode).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClientVersionConfig {
    CompatibleWith2xPhase1,
    CompatibleWith2x,
    #[default]
    V3x,
}

impl ClientVersionConfig {
    /// The Java enum constant.
    pub fn name(self) -> &'static str {
        match self {
            ClientVersionConfig::CompatibleWith2xPhase1 => {
                "CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X_PHASE1"
            }
            ClientVersionConfig::CompatibleWith2x => "CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X",
            ClientVersionConfig::V3x => "CLIENT_VERSION_CONFIG_3X",
        }
    }
}

/// `metricsLevel`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MetricsLevel {
    /// No CloudWatch calls.
    None,
    Summary,
    #[default]
    Detailed,
}

impl MetricsLevel {
    pub fn name(self) -> &'static str {
        match self {
            MetricsLevel::None => "NONE",
            MetricsLevel::Summary => "SUMMARY",
            MetricsLevel::Detailed => "DETAILED",
        }
    }
}

/// `*BillingMode` of the KCL 3.x metadata tables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BillingMode {
    Provisioned,
    #[default]
    PayPerRequest,
}

impl BillingMode {
    pub fn name(self) -> &'static str {
        match self {
            BillingMode::Provisioned => "PROVISIONED",
            BillingMode::PayPerRequest => "PAY_PER_REQUEST",
        }
    }
}

/// Credentials for the three clients. DynamoDB and CloudWatch fall back to the Kinesis spec
/// (then `inherited` is true).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub kinesis: CredentialsSpec,
    pub dynamodb: CredentialsSpec,
    pub cloudwatch: CredentialsSpec,
}

/// Effective region and endpoint of one SDK client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientSettings {
    /// `<client>.region`, else `regionName`; `None` = the SDK default region chain.
    pub region: Option<String>,
    /// Endpoint override (always with an `http`/`https` scheme).
    pub endpoint: Option<String>,
    /// Other nested builder keys given for this client (accepted and ignored), as written.
    pub ignored_keys: Vec<String>,
}

/// `LeaseManagementConfig` keys (`docs/configuration.md`, "Lease management").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseSettings {
    /// `failoverTimeMillis`, default 10 s.
    pub failover_time: Duration,
    /// `leaseAssignmentIntervalMillis`; `None` = 2 × failover time (see
    /// [`Config::lease_assignment_interval`]).
    pub lease_assignment_interval: Option<Duration>,
    /// `shardSyncIntervalMillis`, default 60 s.
    pub shard_sync_interval: Duration,
    /// `cleanupLeasesUponShardCompletion`, default true; `false` is honoured (Java ignores it).
    pub cleanup_leases_upon_shard_completion: bool,
    /// `ignoreUnexpectedChildShards`, default false. Shards listed open while a parent is open
    /// too are always skipped by a shard sync (what Java does when this is true; its default
    /// aborts the whole sync); this only decides whether that is said at INFO (false) or DEBUG.
    pub ignore_unexpected_child_shards: bool,
    /// `maxLeasesForWorker`, default 2147483647.
    pub max_leases_for_worker: u32,
    /// `maxLeasesToStealAtOneTime`, default 1 (2.x-compatible mode only).
    pub max_leases_to_steal_at_one_time: u32,
    /// `enablePriorityLeaseAssignment`, default true (2.x-compatible mode only).
    pub enable_priority_lease_assignment: bool,
    /// `initialLeaseTableReadCapacity`, default 10 (no effect: multilang cannot make the lease
    /// table PROVISIONED).
    pub initial_lease_table_read_capacity: u32,
    /// `initialLeaseTableWriteCapacity`, default 10 (no effect, as above).
    pub initial_lease_table_write_capacity: u32,
    /// `leaseTableDeletionProtectionEnabled`, default false.
    pub lease_table_deletion_protection_enabled: bool,
    /// `leaseTablePitrEnabled`, default false.
    pub lease_table_pitr_enabled: bool,
    /// `maxLeaseRenewalThreads`, default 20 (accepted, ignored).
    pub max_lease_renewal_threads: u32,
    /// `leaseTableScanTotalSegments`; `None` = automatic.
    pub lease_table_scan_total_segments: Option<u32>,
    /// `listShardsBackoffTimeInMillis`, default 1.5 s: how long a throttled ListShards waits
    /// before it is tried again.
    pub list_shards_backoff_time: Duration,
    /// `maxListShardsRetryAttempts`, default 50: tries of a throttled ListShards page in all.
    pub max_list_shards_retry_attempts: u32,
}

/// `CoordinatorConfig` keys (`docs/configuration.md`, "Coordinator and lifecycle").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoordinatorSettings {
    /// `parentShardPollIntervalMillis`, default 10 s.
    pub parent_shard_poll_interval: Duration,
    /// `skipShardSyncAtWorkerInitializationIfLeasesExist`, default false.
    pub skip_shard_sync_at_worker_initialization_if_leases_exist: bool,
    /// `schedulerInitializationBackoffTimeMillis`, default 1 s.
    pub scheduler_initialization_backoff_time: Duration,
    /// `shardPrioritization` as written: not settable from a string (Java fails); ignored.
    pub shard_prioritization: Option<String>,
    /// `clientVersionConfig`, default `CLIENT_VERSION_CONFIG_3X`.
    pub client_version_config: ClientVersionConfig,
    /// `migrateAllEntitiesToLeaseTable`, default false.
    pub migrate_all_entities_to_lease_table: bool,
    /// `tableMigrationCompleteBakeTimeSeconds`, default 1 day, clamped to [1 h, 7 days].
    pub table_migration_complete_bake_time: Duration,
}

/// `LifecycleConfig` keys (`docs/configuration.md`, "Coordinator and lifecycle").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LifecycleSettings {
    /// `taskBackoffTimeMillis`, default 500 ms.
    pub task_backoff_time: Duration,
    /// `logWarningForTaskAfterMillis`; `None` = never.
    pub log_warning_for_task_after: Option<Duration>,
}

/// `MetricsConfig` keys (`docs/configuration.md`, "Coordinator and lifecycle").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsSettings {
    /// `metricsBufferTimeMillis`, default 10 s.
    pub buffer_time: Duration,
    /// `metricsMaxQueueSize`, default 10000.
    pub max_queue_size: u32,
    /// `metricsLevel`, default DETAILED.
    pub level: MetricsLevel,
    /// `metricsEnabledDimensions`, default `["ALL"]`.
    pub enabled_dimensions: Vec<String>,
}

/// Polling keys other than `maxRecords` (`docs/configuration.md`, "Retrieval").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollingSettings {
    /// `idleTimeBetweenReadsInMillis`, default 1.5 s, at least 200 ms.
    pub idle_time_between_reads: Duration,
    /// `millisBehindLatestThresholdForReducedTps`; `None` = off.
    pub millis_behind_latest_threshold_for_reduced_tps: Option<Duration>,
    /// `retryGetRecordsInSeconds` (read by nothing in KCL 3.5.1; selects polling under DEFAULT).
    pub retry_get_records_in_seconds: Option<u32>,
    /// `maxGetRecordsThreadPool` (same as above).
    pub max_get_records_thread_pool: Option<u32>,
}

/// `fanoutConfig.*` keys (`docs/configuration.md`, "Retrieval").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FanoutSettings {
    /// `fanoutConfig.consumerArn`: use this consumer, do not register one.
    pub consumer_arn: Option<String>,
    /// `fanoutConfig.consumerName`; `None` = `applicationName` (see [`Config::consumer_name`]).
    pub consumer_name: Option<String>,
    /// `fanoutConfig.maxDescribeStreamSummaryRetries`, default 10.
    pub max_describe_stream_summary_retries: u32,
    /// `fanoutConfig.maxDescribeStreamConsumerRetries`, default 10.
    pub max_describe_stream_consumer_retries: u32,
    /// `fanoutConfig.registerStreamConsumerRetries`, default 10.
    pub register_stream_consumer_retries: u32,
    /// `fanoutConfig.retryBackoffMillis`, default 1 s.
    pub retry_backoff: Duration,
}

/// Graceful lease hand-off (`docs/configuration.md`, "KCL 3.x").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GracefulHandoffSettings {
    /// `gracefulLeaseHandoffTimeoutMillis`, default 30 s.
    pub timeout: Duration,
    /// `isGracefulLeaseHandoffEnabled`, default true.
    pub enabled: bool,
}

/// Worker-utilisation-aware lease assignment (`docs/configuration.md`, "KCL 3.x").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkerUtilizationSettings {
    /// `inMemoryWorkerMetricsCaptureFrequencyMillis`, default 1 s.
    pub in_memory_worker_metrics_capture_frequency: Duration,
    /// `workerMetricsReporterFreqInMillis`, default 30 s.
    pub worker_metrics_reporter_freq: Duration,
    /// `noOfPersistedMetricsPerWorkerMetrics`, default 10.
    pub no_of_persisted_metrics_per_worker_metrics: u32,
    /// `disableWorkerMetrics`, default false.
    pub disable_worker_metrics: bool,
    /// `maxThroughputPerHostKBps`; `None` = unlimited (Java `Double.MAX_VALUE`).
    pub max_throughput_per_host_kbps: Option<f64>,
    /// `dampeningPercentage`, default 60.
    pub dampening_percentage: u32,
    /// `reBalanceThresholdPercentage`, default 10.
    pub re_balance_threshold_percentage: u32,
    /// `allowThroughputOvershoot`, default true.
    pub allow_throughput_overshoot: bool,
    /// `varianceBalancingFrequency`, default 3.
    pub variance_balancing_frequency: u32,
    /// `workerMetricsEMAAlpha`, default 0.5.
    pub worker_metrics_ema_alpha: f64,
    /// `staleWorkerMetricsEntryCleanupDuration`, default 1 day.
    pub stale_worker_metrics_entry_cleanup_duration: Duration,
}

/// A KCL 3.x metadata table (`workerMetrics*`, `coordinatorState*`;
/// `docs/configuration.md`, "KCL 3.x").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableSettings {
    /// `…TableName`; `None` = `<applicationName>-WorkerMetricStats` / `-CoordinatorState`.
    pub table_name: Option<String>,
    /// `…BillingMode`, default PAY_PER_REQUEST.
    pub billing_mode: BillingMode,
    /// `…ReadCapacity`, default 0 (PROVISIONED only).
    pub read_capacity: u64,
    /// `…WriteCapacity`, default 0.
    pub write_capacity: u64,
    /// `…PointInTimeRecoveryEnabled`, default false.
    pub point_in_time_recovery_enabled: bool,
    /// `…DeletionProtectionEnabled`, default false.
    pub deletion_protection_enabled: bool,
    /// `…Tags`, in file order.
    pub tags: Vec<(String, String)>,
}

/// The typed configuration. Field names follow the properties keys.
///
/// `Default` is the blank value parsing starts from (zeros, empty names), not Java's defaults:
/// [`parse`] a file for those.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// The file it was read from.
    pub source: PathBuf,
    /// `executableName` (required).
    pub executable_name: String,
    /// `applicationName` (required).
    pub application_name: String,
    /// Effective stream name: from `streamArn` if given, else `streamName`.
    pub stream_name: String,
    /// `initialPositionInStream` / `initialPositionInStreamExtended`, default LATEST.
    pub initial_position: InitialPosition,
    /// `maxRecords`, 1..=10000, default 10000.
    pub max_records: u32,
    /// `timeoutInSeconds`; `None` = wait for ever (Java's default).
    pub timeout: Option<Duration>,
    /// `shutdownGraceMillis`.
    pub shutdown_grace: Duration,
    /// After a child's stdin is closed, how long it may take to exit before SIGTERM (then
    /// SIGKILL). Not a properties key (Java waits for ever): `--child-exit-grace-millis`.
    pub child_exit_grace: Duration,
    /// `callProcessRecordsEvenForEmptyRecordList`, default false.
    pub call_process_records_even_for_empty_record_list: bool,

    /// `processingLanguage` (user agent suffix).
    pub processing_language: Option<String>,
    /// `maxActiveThreads` (accepted and validated, no effect).
    pub max_active_threads: Option<i32>,
    /// `validateSequenceNumberBeforeCheckpointing` (no effect since KCL 2).
    pub validate_sequence_number_before_checkpointing: Option<bool>,
    /// `retrievalMode` as written (default DEFAULT).
    pub retrieval_mode: RetrievalModeSetting,
    /// The retrieval mode after resolving DEFAULT, and why.
    pub retrieval: Retrieval,
    /// `streamArn`, parsed.
    pub stream_arn: Option<StreamArn>,
    /// `tableName`; `None` = `applicationName` (see [`Config::lease_table_name`]).
    pub table_name: Option<String>,
    /// `workerId` / `workerIdentifier`; `None` = the caller generates one.
    pub worker_id: Option<String>,

    /// `AwsCredentialsProvider`, `…DynamoDB`, `…CloudWatch`.
    pub credentials: Credentials,
    /// `regionName` as written (already applied to the clients below).
    pub region_name: Option<String>,
    /// `kinesisEndpoint` / `kinesisClient.*`.
    pub kinesis_client: ClientSettings,
    /// `dynamoDBEndpoint` / `dynamoDbClient.*`.
    pub dynamodb_client: ClientSettings,
    /// `cloudWatchClient.*` / `cloudWatchEndpoint`.
    pub cloudwatch_client: ClientSettings,

    pub lease: LeaseSettings,
    pub coordinator: CoordinatorSettings,
    pub lifecycle: LifecycleSettings,
    pub metrics: MetricsSettings,
    pub polling: PollingSettings,
    pub fanout: FanoutSettings,
    pub graceful_handoff: GracefulHandoffSettings,
    pub worker_utilization: WorkerUtilizationSettings,
    /// `workerMetrics*` table keys.
    pub worker_metrics_table: TableSettings,
    /// `coordinatorState*` table keys.
    pub coordinator_state_table: TableSettings,
}

impl Config {
    /// `executableName` split on runs of ASCII spaces, as Java does (no shell, no quoting).
    pub fn executable_argv(&self) -> Vec<String> {
        self.executable_name
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Lease table: `tableName`, else `applicationName`.
    pub fn lease_table_name(&self) -> &str {
        self.table_name.as_deref().unwrap_or(&self.application_name)
    }

    /// EFO consumer name: `fanoutConfig.consumerName`, else `applicationName`.
    pub fn consumer_name(&self) -> &str {
        self.fanout
            .consumer_name
            .as_deref()
            .unwrap_or(&self.application_name)
    }

    /// `leaseAssignmentIntervalMillis`, else 2 × `failoverTimeMillis`.
    pub fn lease_assignment_interval(&self) -> Duration {
        self.lease
            .lease_assignment_interval
            .unwrap_or(self.lease.failover_time.saturating_mul(2))
    }

    /// `workerMetricsTableName`, else `<applicationName>-WorkerMetricStats`.
    pub fn worker_metrics_table_name(&self) -> String {
        self.worker_metrics_table
            .table_name
            .clone()
            .unwrap_or_else(|| format!("{}-WorkerMetricStats", self.application_name))
    }

    /// `coordinatorStateTableName`, else `<applicationName>-CoordinatorState`.
    pub fn coordinator_state_table_name(&self) -> String {
        self.coordinator_state_table
            .table_name
            .clone()
            .unwrap_or_else(|| format!("{}-CoordinatorState", self.application_name))
    }
}

/// Something worth telling the user that does not stop the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl ConfigWarning {
    /// `path:line: key: message`.
    pub fn display_with(&self, path: &Path) -> String {
        let mut s = path.display().to_string();
        if let Some(line) = self.line {
            s.push_str(&format!(":{line}"));
        }
        s.push_str(": warning: ");
        if let Some(key) = &self.key {
            s.push_str(key);
            s.push_str(": ");
        }
        s.push_str(&self.message);
        s
    }
}

/// A configuration that loaded, with the warnings found on the way.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<ConfigWarning>,
}

/// One problem in the file: the key, its line, the bad value and what was expected.
///
/// `value` is `None` for credentials keys (never printed) and for problems about absence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<usize>,
    pub key: String,
    pub value: Option<String>,
    pub message: String,
}

impl Problem {
    /// `path:27: failoverTimeMillis = "100nf": expected …`, or `path: <message>` for problems
    /// about the file as a whole (missing keys).
    pub fn display_with(&self, path: &Path) -> String {
        let mut s = path.display().to_string();
        if let Some(line) = self.line {
            s.push_str(&format!(":{line}"));
        }
        s.push_str(": ");
        s.push_str(&self.body());
        s
    }

    fn body(&self) -> String {
        match (&self.value, self.key.is_empty(), self.line) {
            (Some(v), false, _) => {
                format!("{} = \"{}\": {}", self.key, v.escape_debug(), self.message)
            }
            (None, false, Some(_)) => format!("{}: {}", self.key, self.message),
            _ => self.message.clone(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        f.write_str(&self.body())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read properties file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Displays every problem, one per line.
    #[error("{}", report_lines(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn report_lines(path: &Path, problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| p.display_with(path))
        .collect::<Vec<_>>()
        .join("\n")
}

impl ConfigError {
    /// Every problem on its own line (same as `Display`).
    pub fn report(&self) -> String {
        self.to_string()
    }
}

/// What the configuration is loaded for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Purpose {
    /// Consuming a stream: the daemon, and `check`, which says what the daemon would do.
    #[default]
    Consume,
    /// `replay`: no AWS, no leases, so no credentials key needed.
    Replay,
}

/// Options for [`parse_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Unknown keys are errors instead of warnings (`--strict`).
    pub strict_unknown_keys: bool,
    /// What it is loaded for.
    pub purpose: Purpose,
    /// [`Config::child_exit_grace`]; `None`: [`DEFAULT_CHILD_EXIT_GRACE`].
    pub child_exit_grace: Option<Duration>,
}

/// How long a child may take to exit after its stdin is closed, unless the command line says.
pub const DEFAULT_CHILD_EXIT_GRACE: Duration = Duration::from_secs(5);

/// Reads and validates a properties file.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    load_with(path, Options::default())
}

/// [`load`] with options.
pub fn load_with(path: &Path, options: Options) -> Result<Loaded, ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_with(path, &bytes, options)
}

/// Parses the bytes of a properties file; `path` is used in messages and `Config::source` only.
///
/// Deviations from Java (`docs/configuration.md`, "Deviations"), all reported:
/// * keys are applied in file order; two keys that set the same thing (alias pairs, two
///   credentials spellings, `initialPositionInStream` + `…Extended`, `regionName` + a differing
///   `<client>.region`) are an error naming both lines; the same key twice → warning, last wins;
/// * trailing whitespace is removed from values (warning);
/// * numbers and booleans are parsed strictly (error), enum names still case-insensitive;
/// * `cleanupLeasesUponShardCompletion = false` and other `false` booleans are honoured;
///   `0` for a numeric KCL key still means "KCL default", as in Java (warning);
/// * `timeoutInSeconds` 0, empty or bad → error; `maxRecords` > 10000 → error at load;
/// * a missing `AwsCredentialsProvider` is an error, as in Java, except for
///   [`Purpose::Replay`] (a warning);
/// * unknown keys → warning with a suggestion (error with [`Options::strict_unknown_keys`]);
/// * credentials: SDK v1 names accepted with a warning, unknown names → error; the value is
///   never shown (only provider names);
/// * a UTF-8 file is read as UTF-8 (warning), a BOM is ignored.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Loaded, ConfigError> {
    parse_with(path, bytes, Options::default())
}

/// [`parse`] with options.
pub fn parse_with(path: &Path, bytes: &[u8], options: Options) -> Result<Loaded, ConfigError> {
    build::build(path, bytes, options)
}

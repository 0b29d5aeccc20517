//! [`Config::effective_settings`]: every effective setting as `key → value` text, for a `check`
//! command to print.
//!
//! Values are written in the properties syntax (milliseconds as integers, enums by their Java
//! names) so they can be pasted back; derived defaults are marked. Credentials show provider
//! names only (`Name|<redacted>`). No I/O.

use std::time::Duration;

use super::values::format_iso_duration;
use super::{Config, CredentialsSpec, InitialPosition, TableSettings};

fn ms(d: Duration) -> String {
    d.as_millis().to_string()
}

fn opt<T: ToString>(v: &Option<T>, none: &str) -> String {
    v.as_ref().map_or_else(|| none.to_owned(), T::to_string)
}

fn creds(spec: &CredentialsSpec) -> String {
    if spec.inherited {
        format!("{} (from AwsCredentialsProvider)", spec.redacted())
    } else {
        spec.redacted()
    }
}

fn tags(t: &[(String, String)]) -> String {
    t.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

impl Config {
    /// The effective settings that differ from what the same file with only its required keys
    /// would give: what this file changes (configuration.md §1.5 Rec.: Java silently drops some of
    /// them, so the log says which were applied). Required keys, which have no default, are left
    /// out.
    pub fn non_default_settings(&self) -> Vec<(String, String)> {
        const REQUIRED: [&str; 5] = [
            "executableName",
            "applicationName",
            "streamName",
            "streamArn",
            "AwsCredentialsProvider",
        ];
        // The same required values, so that what derives from them (table names) is no change.
        let escape = |v: &str| v.replace('\\', "\\\\");
        let stream = match &self.stream_arn {
            Some(arn) => format!("streamArn = {}", escape(&arn.arn)),
            None => format!("streamName = {}", escape(&self.stream_name)),
        };
        let minimal = format!(
            "executableName = x\napplicationName = {}\n{stream}\n\
             AwsCredentialsProvider = DefaultCredentialsProvider\n",
            escape(&self.application_name)
        );
        let Ok(defaults) = super::parse(std::path::Path::new("(defaults)"), minimal.as_bytes())
        else {
            return Vec::new();
        };
        let defaults = defaults.config.effective_settings();
        self.effective_settings()
            .into_iter()
            .filter(|(k, v)| {
                !REQUIRED.contains(&k.as_str())
                    && defaults.iter().any(|(dk, dv)| dk == k && dv != v)
            })
            .collect()
    }

    /// Every effective setting, one `(key, value)` per key of configuration.md §2, in the order
    /// of that document. Secret-bearing values are redacted.
    pub fn effective_settings(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: String| out.push((k.to_owned(), v));
        let (initial, extended) = match self.initial_position {
            InitialPosition::AtTimestamp(s) => ("AT_TIMESTAMP".to_owned(), s.to_string()),
            p => (p.sentinel().to_owned(), "(not set)".to_owned()),
        };
        // 2.1
        put("executableName", self.executable_name.clone());
        put(
            "processingLanguage",
            opt(&self.processing_language, "(not set)"),
        );
        put(
            "maxActiveThreads",
            opt(&self.max_active_threads, "(not set; ignored)"),
        );
        put(
            "timeoutInSeconds",
            self.timeout.map_or_else(
                || "(not set: wait for ever)".to_owned(),
                |d| d.as_secs().to_string(),
            ),
        );
        put("shutdownGraceMillis", ms(self.shutdown_grace));
        put(
            "validateSequenceNumberBeforeCheckpointing",
            opt(
                &self.validate_sequence_number_before_checkpointing,
                "(not set; ignored)",
            ),
        );
        put(
            "retrievalMode",
            format!(
                "{} ({})",
                match self.retrieval.mode {
                    super::RetrievalMode::FanOut => "FANOUT",
                    super::RetrievalMode::Polling => "POLLING",
                },
                self.retrieval.reason
            ),
        );
        // 2.2
        put("applicationName", self.application_name.clone());
        put("streamName", self.stream_name.clone());
        put(
            "streamArn",
            self.stream_arn
                .as_ref()
                .map_or_else(|| "(not set)".to_owned(), |a| a.arn.clone()),
        );
        put("tableName", self.lease_table_name().to_owned());
        put(
            "workerId",
            opt(&self.worker_id, "(not set: generated at startup)"),
        );
        put("initialPositionInStream", initial);
        put("initialPositionInStreamExtended", extended);
        // 2.3
        put("AwsCredentialsProvider", creds(&self.credentials.kinesis));
        put(
            "AwsCredentialsProviderDynamoDB",
            creds(&self.credentials.dynamodb),
        );
        put(
            "AwsCredentialsProviderCloudWatch",
            creds(&self.credentials.cloudwatch),
        );
        put(
            "regionName",
            opt(&self.region_name, "(not set: SDK default region chain)"),
        );
        let default_region = "(SDK default region chain)";
        let default_endpoint = "(regional endpoint)";
        put(
            "kinesisClient.region",
            opt(&self.kinesis_client.region, default_region),
        );
        put(
            "kinesisEndpoint",
            opt(&self.kinesis_client.endpoint, default_endpoint),
        );
        put(
            "dynamoDbClient.region",
            opt(&self.dynamodb_client.region, default_region),
        );
        put(
            "dynamoDBEndpoint",
            opt(&self.dynamodb_client.endpoint, default_endpoint),
        );
        put(
            "cloudWatchClient.region",
            opt(&self.cloudwatch_client.region, default_region),
        );
        put(
            "cloudWatchClient.endpointOverride",
            opt(&self.cloudwatch_client.endpoint, default_endpoint),
        );
        // 2.4
        let l = &self.lease;
        put("failoverTimeMillis", ms(l.failover_time));
        put(
            "leaseAssignmentIntervalMillis",
            ms(self.lease_assignment_interval()),
        );
        put("shardSyncIntervalMillis", ms(l.shard_sync_interval));
        put(
            "cleanupLeasesUponShardCompletion",
            l.cleanup_leases_upon_shard_completion.to_string(),
        );
        put(
            "ignoreUnexpectedChildShards",
            l.ignore_unexpected_child_shards.to_string(),
        );
        put("maxLeasesForWorker", l.max_leases_for_worker.to_string());
        put(
            "maxLeasesToStealAtOneTime",
            l.max_leases_to_steal_at_one_time.to_string(),
        );
        put(
            "enablePriorityLeaseAssignment",
            l.enable_priority_lease_assignment.to_string(),
        );
        put(
            "initialLeaseTableReadCapacity",
            l.initial_lease_table_read_capacity.to_string(),
        );
        put(
            "initialLeaseTableWriteCapacity",
            l.initial_lease_table_write_capacity.to_string(),
        );
        put(
            "leaseTableDeletionProtectionEnabled",
            l.lease_table_deletion_protection_enabled.to_string(),
        );
        put(
            "leaseTablePitrEnabled",
            l.lease_table_pitr_enabled.to_string(),
        );
        put(
            "maxLeaseRenewalThreads",
            l.max_lease_renewal_threads.to_string(),
        );
        put(
            "leaseTableScanTotalSegments",
            opt(&l.lease_table_scan_total_segments, "(automatic)"),
        );
        put(
            "listShardsBackoffTimeInMillis",
            ms(l.list_shards_backoff_time),
        );
        put(
            "maxListShardsRetryAttempts",
            l.max_list_shards_retry_attempts.to_string(),
        );
        // 2.5
        let c = &self.coordinator;
        put(
            "parentShardPollIntervalMillis",
            ms(c.parent_shard_poll_interval),
        );
        put(
            "skipShardSyncAtWorkerInitializationIfLeasesExist",
            c.skip_shard_sync_at_worker_initialization_if_leases_exist
                .to_string(),
        );
        put(
            "schedulerInitializationBackoffTimeMillis",
            ms(c.scheduler_initialization_backoff_time),
        );
        put(
            "shardPrioritization",
            c.shard_prioritization
                .as_ref()
                .map_or_else(|| "(none)".to_owned(), |v| format!("{v} (ignored)")),
        );
        put(
            "clientVersionConfig",
            c.client_version_config.name().to_owned(),
        );
        put(
            "migrateAllEntitiesToLeaseTable",
            c.migrate_all_entities_to_lease_table.to_string(),
        );
        put(
            "tableMigrationCompleteBakeTimeSeconds",
            c.table_migration_complete_bake_time.as_secs().to_string(),
        );
        put(
            "taskBackoffTimeMillis",
            ms(self.lifecycle.task_backoff_time),
        );
        put(
            "logWarningForTaskAfterMillis",
            self.lifecycle
                .log_warning_for_task_after
                .map_or_else(|| "(not set)".to_owned(), ms),
        );
        put(
            "callProcessRecordsEvenForEmptyRecordList",
            self.call_process_records_even_for_empty_record_list
                .to_string(),
        );
        put("metricsBufferTimeMillis", ms(self.metrics.buffer_time));
        put(
            "metricsMaxQueueSize",
            self.metrics.max_queue_size.to_string(),
        );
        put("metricsLevel", self.metrics.level.name().to_owned());
        put(
            "metricsEnabledDimensions",
            self.metrics.enabled_dimensions.join(","),
        );
        // 2.6
        let p = &self.polling;
        put("maxRecords", self.max_records.to_string());
        put(
            "idleTimeBetweenReadsInMillis",
            ms(p.idle_time_between_reads),
        );
        put(
            "millisBehindLatestThresholdForReducedTps",
            p.millis_behind_latest_threshold_for_reduced_tps
                .map_or_else(|| "0 (off)".to_owned(), ms),
        );
        put(
            "retryGetRecordsInSeconds",
            opt(&p.retry_get_records_in_seconds, "(not set)"),
        );
        put(
            "maxGetRecordsThreadPool",
            opt(&p.max_get_records_thread_pool, "(not set)"),
        );
        let f = &self.fanout;
        put(
            "fanoutConfig.consumerArn",
            opt(&f.consumer_arn, "(not set: register or describe by name)"),
        );
        put("fanoutConfig.consumerName", self.consumer_name().to_owned());
        put(
            "fanoutConfig.maxDescribeStreamSummaryRetries",
            f.max_describe_stream_summary_retries.to_string(),
        );
        put(
            "fanoutConfig.maxDescribeStreamConsumerRetries",
            f.max_describe_stream_consumer_retries.to_string(),
        );
        put(
            "fanoutConfig.registerStreamConsumerRetries",
            f.register_stream_consumer_retries.to_string(),
        );
        put("fanoutConfig.retryBackoffMillis", ms(f.retry_backoff));
        // 2.7
        put(
            "gracefulLeaseHandoffTimeoutMillis",
            ms(self.graceful_handoff.timeout),
        );
        put(
            "isGracefulLeaseHandoffEnabled",
            self.graceful_handoff.enabled.to_string(),
        );
        let w = &self.worker_utilization;
        put(
            "inMemoryWorkerMetricsCaptureFrequencyMillis",
            ms(w.in_memory_worker_metrics_capture_frequency),
        );
        put(
            "workerMetricsReporterFreqInMillis",
            ms(w.worker_metrics_reporter_freq),
        );
        put(
            "noOfPersistedMetricsPerWorkerMetrics",
            w.no_of_persisted_metrics_per_worker_metrics.to_string(),
        );
        put("disableWorkerMetrics", w.disable_worker_metrics.to_string());
        put(
            "maxThroughputPerHostKBps",
            opt(&w.max_throughput_per_host_kbps, "(unlimited)"),
        );
        put("dampeningPercentage", w.dampening_percentage.to_string());
        put(
            "reBalanceThresholdPercentage",
            w.re_balance_threshold_percentage.to_string(),
        );
        put(
            "allowThroughputOvershoot",
            w.allow_throughput_overshoot.to_string(),
        );
        put(
            "varianceBalancingFrequency",
            w.variance_balancing_frequency.to_string(),
        );
        put(
            "workerMetricsEMAAlpha",
            w.worker_metrics_ema_alpha.to_string(),
        );
        put(
            "staleWorkerMetricsEntryCleanupDuration",
            format_iso_duration(w.stale_worker_metrics_entry_cleanup_duration),
        );
        let mut table = |prefix: &str, t: &TableSettings, name: String| {
            put(&format!("{prefix}TableName"), name);
            put(
                &format!("{prefix}BillingMode"),
                t.billing_mode.name().to_owned(),
            );
            put(
                &format!("{prefix}ReadCapacity"),
                t.read_capacity.to_string(),
            );
            put(
                &format!("{prefix}WriteCapacity"),
                t.write_capacity.to_string(),
            );
            put(
                &format!("{prefix}PointInTimeRecoveryEnabled"),
                t.point_in_time_recovery_enabled.to_string(),
            );
            put(
                &format!("{prefix}DeletionProtectionEnabled"),
                t.deletion_protection_enabled.to_string(),
            );
            put(&format!("{prefix}Tags"), tags(&t.tags));
        };
        table(
            "workerMetrics",
            &self.worker_metrics_table,
            self.worker_metrics_table_name(),
        );
        table(
            "coordinatorState",
            &self.coordinator_state_table,
            self.coordinator_state_table_name(),
        );
        out
    }
}

//! Tests of the whole configuration module: fixture files (our own and real-world ones:
//! `docs/configuration.md`, "Fixtures"), conflicts, credentials, retrieval resolution, redaction
//! and every bad-input case. Fixtures are read from `tests/data/config/`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;
use super::{build, read, table};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/config")
        .join(name)
}

fn load_ok(name: &str) -> Loaded {
    match load(&fixture(name)) {
        Ok(l) => l,
        Err(e) => panic!("{name} did not load:\n{}", e.report()),
    }
}

fn parse_str(text: &str) -> Result<Loaded, ConfigError> {
    parse(Path::new("app.properties"), text.as_bytes())
}

const BASE: &str = "executableName = python3 app.py\napplicationName = App\nstreamName = s\n\
                    AwsCredentialsProvider = DefaultCredentialsProvider\n";

/// BASE plus extra lines; must load.
fn ok_with(extra: &str) -> Loaded {
    let text = format!("{BASE}{extra}");
    match parse_str(&text) {
        Ok(l) => l,
        Err(e) => panic!("did not load:\n{}\n--- input ---\n{text}", e.report()),
    }
}

/// Text that must fail; returns its problems.
fn problems(text: &str) -> Vec<Problem> {
    match parse_str(text) {
        Ok(l) => panic!("loaded but should not: {:?}", l.warnings),
        Err(ConfigError::Invalid { problems, .. }) => problems,
        Err(e) => panic!("unexpected error {e}"),
    }
}

fn bad_with(extra: &str) -> Vec<Problem> {
    problems(&format!("{BASE}{extra}"))
}

fn has_warning(l: &Loaded, key: &str, needle: &str) -> bool {
    l.warnings
        .iter()
        .any(|w| w.key.as_deref() == Some(key) && w.message.contains(needle))
}

fn setting<'a>(s: &'a [Setting], key: &str) -> &'a str {
    s.iter()
        .find(|s| s.key == key)
        .map(|s| s.value.as_str())
        .unwrap_or_else(|| panic!("no effective setting {key}"))
}

// ----- fixtures ------------------------------------------------------------------------------

#[test]
fn all_keys_fixture() {
    let loaded = load_ok("all-keys.properties");
    let c = &loaded.config;
    // multilang layer
    assert_eq!(c.executable_name, "python3 -u app.py  --flag 1");
    assert_eq!(
        c.executable_argv(),
        ["python3", "-u", "app.py", "--flag", "1"]
    );
    assert_eq!(c.processing_language.as_deref(), Some("python/3.12"));
    assert_eq!(c.max_active_threads, Some(8));
    assert_eq!(c.timeout, Some(Duration::from_secs(45)));
    assert_eq!(c.shutdown_grace, Duration::from_millis(7000));
    assert_eq!(c.validate_sequence_number_before_checkpointing, Some(false));
    assert_eq!(c.retrieval_mode, RetrievalModeSetting::Polling);
    assert_eq!(
        c.retrieval,
        Retrieval {
            mode: RetrievalMode::Polling,
            reason: RetrievalReason::Explicit
        }
    );
    // identity
    assert_eq!(c.application_name, "AllKeysApp");
    assert_eq!(c.stream_name, "all-keys-stream");
    let arn = c
        .stream_arn
        .as_ref()
        .map(|a| (a.region.as_str(), a.account.as_str()));
    assert_eq!(arn, Some(("eu-west-1", "123456789012")));
    assert_eq!(c.table_name.as_deref(), Some("AllKeysLeases"));
    assert_eq!(c.lease_table_name(), "AllKeysLeases");
    assert_eq!(c.worker_id.as_deref(), Some("worker-7"));
    assert_eq!(
        c.initial_position,
        InitialPosition::AtTimestamp(1_700_000_000)
    );
    assert_eq!(c.initial_position.sentinel(), "AT_TIMESTAMP");
    // clients
    assert_eq!(
        c.credentials.kinesis.providers,
        vec![
            CredentialsProvider::StsAssumeRole {
                role_arn: Redacted::new("arn:aws:iam::123456789012:role/kcl"),
                session_name: Redacted::new("all-keys-session"),
                endpoint_region: Some(Redacted::new("eu-west-1")),
                endpoint: None,
                external_id: Some(Redacted::new("s3cr3t-ext")),
            },
            CredentialsProvider::Default
        ]
    );
    assert_eq!(c.credentials.kinesis.key, "AwsCredentialsProvider");
    assert!(!c.credentials.dynamodb.inherited);
    assert_eq!(c.credentials.dynamodb.key, "AWSCredentialsProviderDynamoDB");
    assert_eq!(
        c.credentials.dynamodb.providers,
        vec![CredentialsProvider::Profile {
            profile: Some(Redacted::new("dynamo-profile"))
        }]
    );
    assert_eq!(
        c.credentials.cloudwatch.providers,
        vec![CredentialsProvider::Environment]
    );
    assert_eq!(c.region_name.as_deref(), Some("eu-west-1"));
    assert_eq!(
        c.kinesis_client,
        ClientSettings {
            region: Some("eu-west-1".into()),
            endpoint: Some("https://kinesis.eu-west-1.amazonaws.com".into()),
            ignored_keys: vec![],
        }
    );
    assert_eq!(c.dynamodb_client.region.as_deref(), Some("eu-west-1"));
    assert_eq!(
        c.dynamodb_client.endpoint.as_deref(),
        Some("http://localhost:8000")
    );
    assert_eq!(c.cloudwatch_client.region.as_deref(), Some("eu-west-1"));
    assert_eq!(
        c.cloudwatch_client.endpoint.as_deref(),
        Some("http://localhost:4566")
    );
    // lease management
    let l = &c.lease;
    assert_eq!(l.failover_time, Duration::from_millis(15_000));
    assert_eq!(
        l.lease_assignment_interval,
        Some(Duration::from_millis(25_000))
    );
    assert_eq!(c.lease_assignment_interval(), Duration::from_millis(25_000));
    assert_eq!(l.shard_sync_interval, Duration::from_millis(120_000));
    assert!(!l.cleanup_leases_upon_shard_completion);
    assert!(l.ignore_unexpected_child_shards);
    assert_eq!(l.max_leases_for_worker, 50);
    assert_eq!(l.max_leases_to_steal_at_one_time, 3);
    assert!(!l.enable_priority_lease_assignment);
    assert_eq!(l.initial_lease_table_read_capacity, 11);
    assert_eq!(l.initial_lease_table_write_capacity, 12);
    assert!(l.lease_table_deletion_protection_enabled);
    assert!(l.lease_table_pitr_enabled);
    assert_eq!(l.max_lease_renewal_threads, 21);
    assert_eq!(l.lease_table_scan_total_segments, Some(4));
    assert_eq!(l.list_shards_backoff_time, Duration::from_millis(1600));
    assert_eq!(l.max_list_shards_retry_attempts, 51);
    // coordinator, lifecycle, processor, metrics
    let co = &c.coordinator;
    assert_eq!(co.parent_shard_poll_interval, Duration::from_millis(11_000));
    assert!(co.skip_shard_sync_at_worker_initialization_if_leases_exist);
    assert_eq!(
        co.scheduler_initialization_backoff_time,
        Duration::from_millis(1100)
    );
    assert_eq!(
        co.shard_prioritization.as_deref(),
        Some("com.example.Prioritization")
    );
    assert_eq!(co.client_version_config, ClientVersionConfig::V3x);
    assert!(co.migrate_all_entities_to_lease_table);
    assert_eq!(
        co.table_migration_complete_bake_time,
        Duration::from_secs(7200)
    );
    assert_eq!(c.lifecycle.task_backoff_time, Duration::from_millis(600));
    assert_eq!(
        c.lifecycle.log_warning_for_task_after,
        Some(Duration::from_millis(30_000))
    );
    assert!(c.call_process_records_even_for_empty_record_list);
    assert_eq!(c.metrics.buffer_time, Duration::from_millis(11_000));
    assert_eq!(c.metrics.max_queue_size, 9000);
    assert_eq!(c.metrics.level, MetricsLevel::Summary);
    assert_eq!(
        c.metrics.enabled_dimensions,
        ["Operation", "ShardId", "WorkerIdentifier"]
    );
    // retrieval
    assert_eq!(c.max_records, 5000);
    let p = &c.polling;
    assert_eq!(p.idle_time_between_reads, Duration::from_millis(2000));
    assert_eq!(
        p.millis_behind_latest_threshold_for_reduced_tps,
        Some(Duration::from_millis(3000))
    );
    assert_eq!(p.retry_get_records_in_seconds, Some(5));
    assert_eq!(p.max_get_records_thread_pool, Some(4));
    let f = &c.fanout;
    assert_eq!(
        f.consumer_arn.as_deref(),
        Some("arn:aws:kinesis:eu-west-1:123456789012:stream/all-keys-stream/consumer/c:1")
    );
    assert_eq!(f.consumer_name.as_deref(), Some("all-keys-consumer"));
    assert_eq!(c.consumer_name(), "all-keys-consumer");
    assert_eq!(f.max_describe_stream_summary_retries, 11);
    assert_eq!(f.max_describe_stream_consumer_retries, 12);
    assert_eq!(f.register_stream_consumer_retries, 13);
    assert_eq!(f.retry_backoff, Duration::from_millis(1400));
    // KCL 3.x
    assert_eq!(c.graceful_handoff.timeout, Duration::from_millis(20_000));
    assert!(!c.graceful_handoff.enabled);
    let w = &c.worker_utilization;
    assert_eq!(
        w.in_memory_worker_metrics_capture_frequency,
        Duration::from_millis(2000)
    );
    assert_eq!(
        w.worker_metrics_reporter_freq,
        Duration::from_millis(40_000)
    );
    assert_eq!(w.no_of_persisted_metrics_per_worker_metrics, 20);
    assert!(w.disable_worker_metrics);
    assert_eq!(w.max_throughput_per_host_kbps, Some(2048.5));
    assert_eq!(w.dampening_percentage, 70);
    assert_eq!(w.re_balance_threshold_percentage, 15);
    assert!(!w.allow_throughput_overshoot);
    assert_eq!(w.variance_balancing_frequency, 4);
    assert_eq!(w.worker_metrics_ema_alpha, 0.25);
    assert_eq!(
        w.stale_worker_metrics_entry_cleanup_duration,
        Duration::from_secs(6 * 3600)
    );
    assert_eq!(
        c.worker_metrics_table,
        TableSettings {
            table_name: Some("AllKeys-WM".into()),
            billing_mode: BillingMode::Provisioned,
            read_capacity: 5,
            write_capacity: 6,
            point_in_time_recovery_enabled: true,
            deletion_protection_enabled: true,
            tags: vec![
                ("team".into(), "data".into()),
                ("env".into(), "test".into())
            ],
        }
    );
    assert_eq!(
        c.coordinator_state_table,
        TableSettings {
            table_name: Some("AllKeys-CS".into()),
            billing_mode: BillingMode::PayPerRequest,
            read_capacity: 7,
            write_capacity: 8,
            point_in_time_recovery_enabled: false,
            deletion_protection_enabled: true,
            tags: vec![("owner".into(), "me".into())],
        }
    );
    // Warnings the fixture must produce (and only deliberate ones).
    assert!(has_warning(&loaded, "workerIdentifier", "redundant"));
    assert!(has_warning(
        &loaded,
        "kinesisClient.endpointOverride",
        "redundant"
    ));
    assert!(has_warning(
        &loaded,
        "cleanupLeasesUponShardCompletion",
        "honoured"
    ));
    assert!(has_warning(&loaded, "shardPrioritization", "ignored"));
    assert!(loaded
        .warnings
        .iter()
        .any(|w| w.message.contains("no effect with retrievalMode POLLING")));
    assert!(!loaded
        .warnings
        .iter()
        .any(|w| w.message.contains("unknown key")));

    // The file really uses every key of the catalogue (credentials via the prefix rule).
    let text = std::fs::read_to_string(fixture("all-keys.properties")).unwrap_or_default();
    let (entries, _) = lexer::lex(&text);
    for k in keys::names() {
        if k == "initialPositionInStream" {
            continue; // conflicts with …Extended; covered by the swapped text below
        }
        let present = entries.iter().any(|e| match keys::classify(&e.key) {
            keys::KeyClass::Setting { canonical, .. } => canonical == k,
            keys::KeyClass::Credentials(t) => t.key() == k,
            _ => false,
        });
        assert!(present, "all-keys.properties lacks {k}");
    }

    // initialPositionInStream, with the conflicting Extended key swapped out.
    let swapped = text.replace(
        "initialPositionInStreamExtended = 1700000000",
        "initialPositionInStream = trim_horizon",
    );
    let loaded = parse(Path::new("all-keys.properties"), swapped.as_bytes());
    assert_eq!(
        loaded.map(|l| l.config.initial_position).ok(),
        Some(InitialPosition::TrimHorizon)
    );
}

#[test]
fn java_multilang_properties() {
    let loaded = load_ok("multilang.properties");
    let c = &loaded.config;
    assert_eq!(c.executable_argv(), ["sample_kclpy_app.py"]);
    assert_eq!(c.stream_name, "kclpysample");
    assert_eq!(c.application_name, "MultiLangTest");
    assert_eq!(c.lease_table_name(), "MultiLangTest");
    assert_eq!(c.worker_id.as_deref(), Some("\"workerId\""));
    assert_eq!(c.initial_position, InitialPosition::TrimHorizon);
    assert_eq!(c.kinesis_client.region.as_deref(), Some("us-east-1"));
    assert_eq!(
        c.credentials.kinesis.providers,
        vec![CredentialsProvider::Default]
    );
    assert!(c.credentials.dynamodb.inherited && c.credentials.cloudwatch.inherited);
    assert_eq!(
        c.retrieval,
        Retrieval {
            mode: RetrievalMode::Polling,
            reason: RetrievalReason::PollingKeysSet(vec![
                "maxRecords".into(),
                "idleTimeBetweenReadsInMillis".into()
            ]),
        }
    );
    assert_eq!(c.max_records, 10_000);
    assert_eq!(
        c.polling.idle_time_between_reads,
        Duration::from_millis(1000)
    );
    assert_eq!(c.max_active_threads, Some(-1));
    assert_eq!(c.processing_language.as_deref(), Some("python/3.8"));
    assert!(c.lease.cleanup_leases_upon_shard_completion);
    assert!(!c.call_process_records_even_for_empty_record_list);
    assert_eq!(
        c.coordinator.client_version_config,
        ClientVersionConfig::CompatibleWith2x
    );
    assert_eq!(
        c.coordinator_state_table,
        TableSettings {
            table_name: Some("MultiLangTest-CoordinatorState-CustomName".into()),
            billing_mode: BillingMode::Provisioned,
            read_capacity: 1000,
            write_capacity: 500,
            point_in_time_recovery_enabled: true,
            deletion_protection_enabled: true,
            tags: vec![
                ("csTagK1".into(), "csTagV1".into()),
                ("csTagK2".into(), "csTagV2".into()),
                ("csTagK3".into(), "csTagV3".into())
            ],
        }
    );
    assert_eq!(c.graceful_handoff.timeout, Duration::from_millis(10_000));
    assert!(!c.graceful_handoff.enabled);
    let w = &c.worker_utilization;
    assert_eq!(
        (
            w.in_memory_worker_metrics_capture_frequency,
            w.worker_metrics_reporter_freq,
            w.no_of_persisted_metrics_per_worker_metrics,
            w.disable_worker_metrics,
            w.max_throughput_per_host_kbps,
            w.dampening_percentage,
            w.re_balance_threshold_percentage,
            w.allow_throughput_overshoot,
            w.stale_worker_metrics_entry_cleanup_duration,
            w.variance_balancing_frequency,
            w.worker_metrics_ema_alpha,
        ),
        (
            Duration::from_millis(5000),
            Duration::from_millis(60_000),
            50,
            true,
            Some(10_000.0),
            90,
            5,
            false,
            Duration::from_secs(12 * 3600),
            5,
            0.18
        )
    );
    assert_eq!(
        c.worker_metrics_table,
        TableSettings {
            table_name: Some("MultiLangTest-WorkerMetrics-CustomName".into()),
            billing_mode: BillingMode::Provisioned,
            read_capacity: 250,
            write_capacity: 90,
            point_in_time_recovery_enabled: true,
            deletion_protection_enabled: true,
            tags: vec![
                ("wmTagK1".into(), "wmTagV1".into()),
                ("wmTagK2".into(), "wmTagV2".into())
            ],
        }
    );
    assert_eq!(c.lease_assignment_interval(), Duration::from_millis(20_000));
    // The ARN's fictitious region differs from regionName; quotes in workerId are literal.
    assert!(has_warning(&loaded, "streamArn", "us-east-5"));
    assert!(has_warning(&loaded, "workerId", "quotes"));
}

#[test]
fn java_multilangv3_properties_defaults() {
    let loaded = load_ok("multilangv3.properties");
    let c = &loaded.config;
    assert_eq!(
        c.coordinator.client_version_config,
        ClientVersionConfig::V3x
    );
    assert_eq!(
        c.coordinator_state_table_name(),
        "MultiLangTest-CoordinatorState"
    );
    assert_eq!(
        c.coordinator_state_table,
        TableSettings {
            table_name: None,
            billing_mode: BillingMode::PayPerRequest,
            read_capacity: 0,
            write_capacity: 0,
            point_in_time_recovery_enabled: false,
            deletion_protection_enabled: false,
            tags: vec![],
        }
    );
    assert_eq!(
        c.worker_metrics_table_name(),
        "MultiLangTest-WorkerMetricStats"
    );
    assert_eq!(
        c.worker_metrics_table.billing_mode,
        BillingMode::PayPerRequest
    );
    assert!(c.worker_metrics_table.tags.is_empty());
    assert_eq!(c.graceful_handoff.timeout, Duration::from_millis(30_000));
    assert!(c.graceful_handoff.enabled);
    let w = &c.worker_utilization;
    assert_eq!(
        (
            w.in_memory_worker_metrics_capture_frequency,
            w.worker_metrics_reporter_freq,
            w.no_of_persisted_metrics_per_worker_metrics,
            w.disable_worker_metrics,
            w.max_throughput_per_host_kbps,
            w.dampening_percentage,
            w.re_balance_threshold_percentage,
            w.allow_throughput_overshoot,
            w.stale_worker_metrics_entry_cleanup_duration,
            w.variance_balancing_frequency,
            w.worker_metrics_ema_alpha,
        ),
        (
            Duration::from_millis(1000),
            Duration::from_millis(30_000),
            10,
            false,
            None,
            60,
            10,
            true,
            Duration::from_secs(86_400),
            3,
            0.5
        )
    );
    // millisBehindLatestThresholdForReducedTps = 0 is "off" and does not select polling.
    assert_eq!(
        c.polling.millis_behind_latest_threshold_for_reduced_tps,
        None
    );
    assert_eq!(
        c.retrieval.reason,
        RetrievalReason::PollingKeysSet(vec![
            "maxRecords".into(),
            "idleTimeBetweenReadsInMillis".into()
        ])
    );
    assert_eq!(c.lease_assignment_interval(), Duration::from_millis(20_000));
    assert_eq!(c.lease.failover_time, Duration::from_millis(10_000));
}

#[test]
fn aws_kcl_basic_sample() {
    let loaded = load_ok("aws-kcl/basic_sample.properties");
    let c = &loaded.config;
    assert_eq!(c.executable_argv(), ["node", "sample_kcl_app.js"]);
    assert_eq!(c.stream_name, "kclnodejssample");
    assert_eq!(c.application_name, "kclnodejssample");
    assert_eq!(
        c.credentials.kinesis.providers,
        vec![CredentialsProvider::Default]
    );
    assert_eq!(c.processing_language.as_deref(), Some("nodejs/0.10"));
    assert_eq!(c.initial_position, InitialPosition::TrimHorizon);
    assert_eq!(c.region_name.as_deref(), Some("us-east-1"));
    assert_eq!(
        c.retrieval,
        Retrieval {
            mode: RetrievalMode::FanOut,
            reason: RetrievalReason::NoPollingKeys
        }
    );
    assert_eq!(c.consumer_name(), "kclnodejssample");
    assert_eq!(c.worker_id, None);
    // Commented keys do not count.
    assert_eq!(c.metrics.enabled_dimensions, ["ALL"]);
    assert_eq!(c.lease_assignment_interval(), Duration::from_millis(20_000));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn aws_kcl_click_stream_sample_v1_credentials() {
    let loaded = load_ok("aws-kcl/click_stream_sample.properties");
    let c = &loaded.config;
    assert_eq!(c.executable_argv(), ["node", "click_stream_consumer.js"]);
    assert_eq!(c.stream_name, "kclnodejsclickstreamsample");
    assert_eq!(c.application_name, "kclnodejsclickstreamsample");
    assert_eq!(c.credentials.kinesis.key, "AWSCredentialsProvider");
    assert_eq!(
        c.credentials.kinesis.providers,
        vec![CredentialsProvider::Default]
    );
    assert!(has_warning(
        &loaded,
        "AWSCredentialsProvider",
        "SDK for Java v1"
    ));
    assert_eq!(c.retrieval.mode, RetrievalMode::FanOut);
}

#[test]
fn aws_kcl_github_workflow() {
    let loaded = load_ok("aws-kcl/github_workflow.properties");
    let c = &loaded.config;
    assert_eq!(c.stream_name, "STREAM_NAME_PLACEHOLDER");
    assert_eq!(c.application_name, "APP_NAME_PLACEHOLDER");
    assert_eq!(
        c.polling.idle_time_between_reads,
        Duration::from_millis(250)
    );
    assert_eq!(
        c.retrieval,
        Retrieval {
            mode: RetrievalMode::Polling,
            reason: RetrievalReason::PollingKeysSet(vec!["idleTimeBetweenReadsInMillis".into()])
        }
    );
}

#[test]
fn syntax_fixture_bom_and_utf8_through_parse() {
    // The lexer tests cover each row; here the encoding warnings reach the caller.
    let loaded = ok_with("");
    assert!(loaded.warnings.is_empty());
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(BASE.as_bytes());
    let loaded = parse(Path::new("bom.properties"), &bytes);
    assert_eq!(
        loaded.map(|l| l.config.executable_name).ok().as_deref(),
        Some("python3 app.py")
    );
    let loaded = ok_with("processingLanguage = caf\u{e9}\n");
    assert_eq!(
        loaded.config.processing_language.as_deref(),
        Some("caf\u{e9}")
    );
    assert!(loaded
        .warnings
        .iter()
        .any(|w| w.line == Some(5) && w.message.contains("UTF-8")));
    // Latin-1 bytes (not UTF-8): no warning, Java's reading.
    let mut bytes = BASE.as_bytes().to_vec();
    bytes.extend_from_slice(b"processingLanguage = caf\xE9\n");
    let loaded = parse(Path::new("l1.properties"), &bytes).map_err(|e| e.report());
    assert_eq!(
        loaded.map(|l| l.config.processing_language),
        Ok(Some("caf\u{e9}".into()))
    );
}

// ----- conversion fixtures ------------------------------------------------------------------

#[test]
fn conversion_fixture_rows_that_load() {
    let loaded = load_ok("conversions-ok.properties");
    let c = &loaded.config;
    assert_eq!(c.lease.failover_time, Duration::from_millis(5));
    assert!(!c.lease.cleanup_leases_upon_shard_completion);
    assert!(c.call_process_records_even_for_empty_record_list);
    assert!(has_warning(
        &loaded,
        "callProcessRecordsEvenForEmptyRecordList",
        "trailing whitespace"
    ));
    assert!(loaded
        .warnings
        .iter()
        .any(|w| w.line == Some(8) && w.message.contains("trailing whitespace")));
    assert_eq!(c.initial_position, InitialPosition::TrimHorizon);
    assert_eq!(
        c.metrics.enabled_dimensions,
        ["ShardId", "WorkerIdentifier"]
    );
}

#[test]
fn conversion_fixture_rows_that_fail_are_all_reported() {
    let err = match load(&fixture("conversions-bad.properties")) {
        Err(e) => e,
        Ok(_) => panic!("should fail"),
    };
    let ConfigError::Invalid { problems, .. } = &err else {
        panic!("{err}")
    };
    let got: Vec<(Option<usize>, &str)> =
        problems.iter().map(|p| (p.line, p.key.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (Some(6), "failoverTimeMillis"),
            (Some(7), "maxRecords"),
            (Some(8), "isGracefulLeaseHandoffEnabled"),
            (Some(9), "timeoutInSeconds"),
        ]
    );
    let report = err.report();
    let path = fixture("conversions-bad.properties");
    let p = path.display();
    assert!(report.contains(&format!(
        "{p}:6: failoverTimeMillis = \"100nf\": expected an integer number of milliseconds\n"
    )));
    assert!(report.contains(&format!(
        "{p}:7: maxRecords = \"12.5\": expected an integer number of records"
    )));
    assert!(report.contains(&format!(
        "{p}:8: isGracefulLeaseHandoffEnabled = \"treu\": expected a boolean"
    )));
    assert!(report.contains(&format!(
        "{p}:9: timeoutInSeconds = \"\": expected a positive"
    )));
    assert_eq!(report.lines().count(), 4);
}

// ----- display --------------------------------------------------------------------------------

#[test]
fn problem_display_forms() {
    let p = Problem {
        line: Some(27),
        key: "failoverTimeMillis".into(),
        value: Some("100nf".into()),
        message: "expected an integer number of milliseconds".into(),
    };
    assert_eq!(
        p.display_with(Path::new("app.properties")),
        "app.properties:27: failoverTimeMillis = \"100nf\": expected an integer number of milliseconds"
    );
    assert_eq!(
        p.to_string(),
        "line 27: failoverTimeMillis = \"100nf\": expected an integer number of milliseconds"
    );
    let probs = problems(
        "executableName = x\nstreamName = s\nAwsCredentialsProvider = DefaultCredentialsProvider\n",
    );
    let err = ConfigError::Invalid {
        path: "app.properties".into(),
        problems: probs,
    };
    assert_eq!(
        err.to_string(),
        "app.properties: required key \"applicationName\" is missing (the KCL application / lease table name)"
    );
    // Values are escaped when shown.
    let probs = bad_with("maxRecords = a\\tb\"\n");
    assert_eq!(
        probs[0].display_with(Path::new("x")),
        "x:5: maxRecords = \"a\\tb\\\"\": expected an integer number of records"
    );
}

// ----- missing and malformed ------------------------------------------------------------------

#[test]
fn missing_required_keys_are_all_reported() {
    let probs = problems("# nothing\nprocessingLanguage = x\n");
    let keys: Vec<&str> = probs.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "executableName",
            "applicationName",
            "streamName",
            "AwsCredentialsProvider"
        ]
    );
    assert!(probs.iter().all(|p| p.line.is_none() && p.value.is_none()));
    // Present but empty.
    let probs = problems(
        "executableName =\napplicationName =  \nstreamName = s\nAwsCredentialsProvider = DefaultCredentialsProvider\n",
    );
    assert_eq!(
        probs
            .iter()
            .map(|p| (p.line, p.key.as_str()))
            .collect::<Vec<_>>(),
        [(Some(1), "executableName"), (Some(2), "applicationName")]
    );
    // streamArn alone is enough; blank streamArn is "unset".
    let l = parse_str(
        "executableName = a\napplicationName = b\nstreamArn = arn:aws:kinesis:us-east-1:123456789012:stream/x\nAwsCredentialsProvider = DefaultCredentialsProvider\n",
    );
    assert_eq!(l.map(|l| l.config.stream_name).ok().as_deref(), Some("x"));
    let probs = problems(
        "executableName = a\napplicationName = b\nstreamArn =  \nAwsCredentialsProvider = DefaultCredentialsProvider\n",
    );
    assert_eq!(probs[0].key, "streamName");
}

#[test]
fn malformed_lines_are_reported_with_the_rest() {
    let probs = problems(
        "executableName = a\napplicationName = \\u00zz\nstreamName = s\nAwsCredentialsProvider = DefaultCredentialsProvider\nmaxRecords = x\n",
    );
    assert_eq!(
        probs
            .iter()
            .map(|p| (p.line, p.key.as_str()))
            .collect::<Vec<_>>(),
        [(Some(2), "applicationName"), (Some(5), "maxRecords")]
    );
    assert!(probs[0].message.contains("malformed \\uxxxx"));
}

#[test]
fn bad_numbers_booleans_and_enums() {
    for (line, key) in [
        ("failoverTimeMillis = 1e3", "failoverTimeMillis"),
        ("failoverTimeMillis = 0x10", "failoverTimeMillis"),
        ("failoverTimeMillis = 1_000", "failoverTimeMillis"),
        ("failoverTimeMillis = -5", "failoverTimeMillis"),
        ("maxLeasesForWorker = 3000000000", "maxLeasesForWorker"),
        ("shardSyncIntervalMillis =", "shardSyncIntervalMillis"),
        ("maxActiveThreads = 4x", "maxActiveThreads"),
        ("dampeningPercentage = 101", "dampeningPercentage"),
        ("workerMetricsEMAAlpha = 1.5", "workerMetricsEMAAlpha"),
        ("maxThroughputPerHostKBps = NaN", "maxThroughputPerHostKBps"),
        (
            "leaseTableScanTotalSegments = -1",
            "leaseTableScanTotalSegments",
        ),
        (
            "leaseTableScanTotalSegments = 1000001",
            "leaseTableScanTotalSegments",
        ),
        (
            "ignoreUnexpectedChildShards = maybe",
            "ignoreUnexpectedChildShards",
        ),
        ("disableWorkerMetrics = 2", "disableWorkerMetrics"),
        ("metricsLevel = VERBOSE", "metricsLevel"),
        (
            "clientVersionConfig = CLIENT_VERSION_CONFIG_4X",
            "clientVersionConfig",
        ),
        (
            "workerMetricsBillingMode = ON_DEMAND",
            "workerMetricsBillingMode",
        ),
        ("retrievalMode = STREAMING", "retrievalMode"),
        ("retrievalMode =", "retrievalMode"),
        (
            "staleWorkerMetricsEntryCleanupDuration = 12h",
            "staleWorkerMetricsEntryCleanupDuration",
        ),
        (
            "staleWorkerMetricsEntryCleanupDuration = -PT1H",
            "staleWorkerMetricsEntryCleanupDuration",
        ),
        (
            "initialPositionInStreamExtended = 2021-11-11",
            "initialPositionInStreamExtended",
        ),
        ("timeoutInSeconds = 0", "timeoutInSeconds"),
        ("timeoutInSeconds = abc", "timeoutInSeconds"),
        ("timeoutInSeconds = -3", "timeoutInSeconds"),
        ("regionName = US-EAST-1", "regionName"),
        ("streamName = bad name", "streamName"),
    ] {
        let probs = bad_with(&format!("{line}\n"));
        assert_eq!(probs.len(), 1, "{line}: {probs:?}");
        assert_eq!(probs[0].key, key, "{line}");
        assert_eq!(probs[0].line, Some(5), "{line}");
    }
    // Java's other spellings are fine.
    let l =
        ok_with("ignoreUnexpectedChildShards = Y\nmetricsLevel = none\nretrievalMode = FanOut\n");
    assert!(l.config.lease.ignore_unexpected_child_shards);
    assert_eq!(l.config.metrics.level, MetricsLevel::None);
    assert_eq!(l.config.retrieval.mode, RetrievalMode::FanOut);
}

#[test]
fn initial_position_values() {
    let p = bad_with("initialPositionInStream = AT_TIMESTAMP\n");
    assert_eq!(p.len(), 1);
    assert!(p[0].message.contains("initialPositionInStreamExtended"));
    let p = bad_with("initialPositionInStream = EARLIEST\n");
    assert!(p[0].message.contains("LATEST, TRIM_HORIZON"));
    assert_eq!(ok_with("").config.initial_position, InitialPosition::Latest);
    assert_eq!(
        ok_with("initialPositionInStream = latest\n")
            .config
            .initial_position,
        InitialPosition::Latest
    );
    let l = ok_with("initialPositionInStreamExtended = 1636609142000\n");
    assert_eq!(
        l.config.initial_position,
        InitialPosition::AtTimestamp(1_636_609_142_000)
    );
    assert!(has_warning(
        &l,
        "initialPositionInStreamExtended",
        "milliseconds"
    ));
}

#[test]
fn max_records_limits() {
    let p = bad_with("maxRecords = 10001\n");
    assert!(p[0].message.contains("from 1 to 10000"), "{}", p[0].message);
    assert_eq!(p[0].value.as_deref(), Some("10001"));
    assert_eq!(ok_with("maxRecords = 10000\n").config.max_records, 10_000);
    assert_eq!(ok_with("maxRecords = 1\n").config.max_records, 1);
    let l = ok_with("maxRecords = 0\n");
    assert_eq!(l.config.max_records, 10_000);
    assert!(has_warning(&l, "maxRecords", "KCL default"));
    // 0 does not select polling (Java's non-zero rule).
    assert_eq!(l.config.retrieval.mode, RetrievalMode::FanOut);
}

#[test]
fn zero_and_clamping_rules() {
    let l = ok_with(
        "failoverTimeMillis = 0\nidleTimeBetweenReadsInMillis = 50\ntableMigrationCompleteBakeTimeSeconds = 60\ngracefulLeaseHandoffTimeoutMillis = 0\nleaseTableScanTotalSegments = 0\n",
    );
    let c = &l.config;
    assert_eq!(c.lease.failover_time, Duration::from_millis(10_000));
    assert!(has_warning(&l, "failoverTimeMillis", "KCL default"));
    assert_eq!(
        c.polling.idle_time_between_reads,
        Duration::from_millis(200)
    );
    assert!(has_warning(&l, "idleTimeBetweenReadsInMillis", "200"));
    assert_eq!(
        c.coordinator.table_migration_complete_bake_time,
        Duration::from_secs(3600)
    );
    // Wrapper type in Java: 0 is applied.
    assert_eq!(c.graceful_handoff.timeout, Duration::ZERO);
    assert_eq!(c.lease.lease_table_scan_total_segments, None);
    assert_eq!(c.lease_assignment_interval(), Duration::from_millis(20_000));
}

// ----- conflicts ----------------------------------------------------------------------------

#[test]
fn conflicting_credentials_spellings_name_both_lines() {
    let p = problems(
        "executableName = a\napplicationName = b\nstreamName = s\nAwsCredentialsProvider = DefaultCredentialsProvider\nAWSCredentialsProvider = DefaultCredentialsProvider\n",
    );
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].line, Some(5));
    assert_eq!(p[0].key, "AWSCredentialsProvider");
    assert_eq!(p[0].value, None);
    assert!(
        p[0].message.contains("AwsCredentialsProvider on line 4"),
        "{}",
        p[0].message
    );
    // Same for the DynamoDB key.
    let p = bad_with(
        "AwsCredentialsProviderDynamoDB = DefaultCredentialsProvider\nawscredentialsproviderDynamoDB = DefaultCredentialsProvider\n",
    );
    assert_eq!(p.len(), 1);
    assert!(p[0].message.contains("line 5"));
}

#[test]
fn conflicting_alias_pairs() {
    for (extra, key, other_line) in [
        (
            "workerId = a\nworkerIdentifier = b\n",
            "workerIdentifier",
            "line 5",
        ),
        (
            "initialPositionInStream = LATEST\ninitialPositionInStreamExtended = 1636609142\n",
            "initialPositionInStreamExtended",
            "line 5",
        ),
        (
            "regionName = us-east-1\nkinesisClient.region = us-west-2\n",
            "kinesisClient.region",
            "line 5",
        ),
        (
            "kinesisEndpoint = http://a:1\nkinesisClient.endpointOverride = http://b:1\n",
            "kinesisClient.endpointOverride",
            "line 5",
        ),
        (
            "cloudWatchClient.endpointOverride = http://a:1\ncloudWatchEndpoint = http://b:1\n",
            "cloudWatchEndpoint",
            "line 5",
        ),
        (
            "fanoutConfig.consumerName = a\nconsumerName = b\n",
            "consumerName",
            "line 5",
        ),
    ] {
        let p = bad_with(extra);
        assert_eq!(p.len(), 1, "{extra}: {p:?}");
        assert_eq!(p[0].key, key);
        assert_eq!(p[0].line, Some(6));
        assert!(p[0].message.contains(other_line), "{}", p[0].message);
    }
    // The same key twice: Java's last-wins, with a warning.
    let l = ok_with("workerId = a\nworkerId = b\n");
    assert_eq!(l.config.worker_id.as_deref(), Some("b"));
    assert!(has_warning(&l, "workerId", "lines 5, 6"));
    // Identical values through an alias: warning only.
    let l = ok_with("workerId = a\nworkerIdentifier = a\n");
    assert!(has_warning(&l, "workerIdentifier", "redundant"));
    // regionName plus a different region for another client only: fine.
    let l = ok_with("regionName = us-east-1\ncloudWatchClient.region = us-east-1\n");
    assert_eq!(
        l.config.cloudwatch_client.region.as_deref(),
        Some("us-east-1")
    );
    // streamName + streamArn: the ARN wins, warning if different.
    let l = parse_str(
        "executableName = a\napplicationName = b\nstreamName = other\nstreamArn = arn:aws:kinesis:us-east-1:123456789012:stream/x\nAwsCredentialsProvider = DefaultCredentialsProvider\nregionName = us-east-1\n",
    )
    .map_err(|e| e.report());
    let l = l.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(l.config.stream_name, "x");
    assert!(has_warning(&l, "streamName", "differs"));
    assert!(!has_warning(&l, "streamArn", "region"));
}

// ----- clients ----------------------------------------------------------------------------------

#[test]
fn regions_and_endpoints() {
    let l = ok_with(
        "regionName = eu-west-1\ndynamoDbClient.region = eu-west-1\nkinesisEndpoint = http://localhost:4566\ncloudWatchEndpoint = http://localhost:4566\nkinesisClient.fipsEnabled = true\n",
    );
    let c = &l.config;
    assert_eq!(c.kinesis_client.region.as_deref(), Some("eu-west-1"));
    assert_eq!(
        c.kinesis_client.endpoint.as_deref(),
        Some("http://localhost:4566")
    );
    assert_eq!(c.kinesis_client.ignored_keys, ["kinesisClient.fipsEnabled"]);
    assert_eq!(c.dynamodb_client.endpoint, None);
    assert_eq!(
        c.cloudwatch_client.endpoint.as_deref(),
        Some("http://localhost:4566")
    );
    assert!(has_warning(&l, "cloudWatchEndpoint", "not a Java key"));
    assert!(has_warning(&l, "kinesisClient.fipsEnabled", "ignored"));
    // No region at all: left to the SDK chain.
    assert_eq!(ok_with("").config.kinesis_client.region, None);
    // Per-client region without regionName.
    let l = ok_with("cloudWatchClient.region = us-west-2\n");
    assert_eq!(
        l.config.cloudwatch_client.region.as_deref(),
        Some("us-west-2")
    );
    assert_eq!(l.config.kinesis_client.region, None);
    // Unknown but well-formed region: warning.
    let l = ok_with("regionName = us-east-9\n");
    assert!(has_warning(
        &l,
        "regionName",
        "not a region kcl-bridge knows"
    ));
}

#[test]
fn endpoints_need_a_scheme() {
    for key in [
        "kinesisEndpoint",
        "dynamoDBEndpoint",
        "kinesisClient.endpointOverride",
        "dynamoDbClient.endpointOverride",
        "cloudWatchClient.endpointOverride",
        "cloudWatchEndpoint",
    ] {
        let p = bad_with(&format!("{key} = localhost:4566\n"));
        assert_eq!(p.len(), 1, "{key}");
        assert_eq!(p[0].key, key);
        assert!(p[0].message.contains("scheme"), "{}", p[0].message);
    }
}

// ----- credentials -------------------------------------------------------------------------------

#[test]
fn credentials_fallbacks_and_errors() {
    let l = ok_with("AwsCredentialsProviderCloudWatch = AnonymousCredentialsProvider\n");
    let cr = &l.config.credentials;
    assert!(cr.dynamodb.inherited);
    assert_eq!(cr.dynamodb.providers, vec![CredentialsProvider::Default]);
    assert!(!cr.cloudwatch.inherited);
    assert_eq!(
        cr.cloudwatch.providers,
        vec![CredentialsProvider::Anonymous]
    );
    assert_eq!(cr.cloudwatch.line, Some(5));

    let p = bad_with(
        "AwsCredentialsProviderDynamoDB = DefaultCredentialsProvider, MyProvider|secret\n",
    );
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].key, "AwsCredentialsProviderDynamoDB");
    assert_eq!(p[0].line, Some(5));
    assert!(p[0]
        .message
        .starts_with("item 2: unknown credentials provider \"MyProvider\""));
    let shown = p[0].display_with(Path::new("f"));
    assert!(!shown.contains("secret"), "{shown}");
    // A reflective credentials bean is rejected.
    let p = bad_with("kinesisCredentialsProvider.class = x\n");
    assert_eq!(p[0].key, "kinesisCredentialsProvider.class");
    // Unknown suffix: Java ignores it; we warn with a suggestion.
    let l = ok_with("AwsCredentialsProviderDynamoDb = DefaultCredentialsProvider\n");
    assert!(has_warning(
        &l,
        "AwsCredentialsProviderDynamoDb",
        "did you mean AwsCredentialsProviderDynamoDB"
    ));
    assert!(l.config.credentials.dynamodb.inherited);
}

#[test]
fn secrets_never_leak() {
    const SECRET: &str = "topsecret-ext-id";
    let text = format!(
        "executableName = a\napplicationName = b\nstreamName = s\nAwsCredentialsProvider = KclStsAssumeRoleCredentialsProvider|arn:aws:iam::123456789012:role/r|sess|externalId={SECRET}|bogus={SECRET}  \nawsCredentialsProvider = ProfileCredentialsProvider|{SECRET}\n"
    );
    // Conflict error: no value, no secret.
    let err = match parse_str(&text) {
        Err(e) => e,
        Ok(_) => panic!("should conflict"),
    };
    assert!(!err.report().contains(SECRET), "{}", err.report());
    assert!(!format!("{err:?}").contains(SECRET));
    // Loaded config: warnings, Debug and effective settings are clean.
    let text = format!(
        "executableName = a\napplicationName = b\nstreamName = s\nAwsCredentialsProvider = KclStsAssumeRoleCredentialsProvider|arn:aws:iam::123456789012:role/r|sess|externalId={SECRET}|bogus={SECRET}  \nAwsCredentialsProviderDynamoDB = DefaultAWSCredentialsProviderChain|{SECRET}\n"
    );
    let l = parse_str(&text).unwrap_or_else(|e| panic!("{}", e.report()));
    for w in &l.warnings {
        assert!(!w.to_string().contains(SECRET), "{w}");
    }
    assert!(l.warnings.len() >= 3, "{:?}", l.warnings); // trailing ws, bogus arg, v1 name
    assert!(!format!("{:?}", l.config).contains(SECRET));
    let s = l.config.effective_settings();
    assert_eq!(
        setting(&s, "AwsCredentialsProvider"),
        "KclStsAssumeRoleCredentialsProvider|<redacted>"
    );
    assert_eq!(
        setting(&s, "AwsCredentialsProviderDynamoDB"),
        "DefaultCredentialsProvider"
    );
    assert_eq!(
        setting(&s, "AwsCredentialsProviderCloudWatch"),
        "KclStsAssumeRoleCredentialsProvider|<redacted> (from AwsCredentialsProvider)"
    );
    assert!(!format!("{s:?}").contains(SECRET));
    // The real value is still available to whoever builds the provider.
    let CredentialsProvider::StsAssumeRole { external_id, .. } =
        &l.config.credentials.kinesis.providers[0]
    else {
        panic!("not STS")
    };
    assert_eq!(external_id.as_ref().map(Redacted::expose), Some(SECRET));
}

// ----- retrieval --------------------------------------------------------------------------------

#[test]
fn retrieval_mode_resolution() {
    let c = ok_with("").config;
    assert_eq!(c.retrieval_mode, RetrievalModeSetting::Default);
    assert_eq!(
        c.retrieval,
        Retrieval {
            mode: RetrievalMode::FanOut,
            reason: RetrievalReason::NoPollingKeys
        }
    );
    for key in POLLING {
        let c = ok_with(&format!("{key} = 5000\n")).config;
        assert_eq!(
            c.retrieval,
            Retrieval {
                mode: RetrievalMode::Polling,
                reason: RetrievalReason::PollingKeysSet(vec![key.to_string()])
            },
            "{key}"
        );
        let c = ok_with(&format!("{key} = 0\n")).config;
        assert_eq!(c.retrieval.mode, RetrievalMode::FanOut, "{key} = 0");
    }
    let l = ok_with("retrievalMode = FANOUT\nmaxRecords = 100\n");
    assert_eq!(l.config.retrieval.mode, RetrievalMode::FanOut);
    assert_eq!(l.config.retrieval.reason, RetrievalReason::Explicit);
    // Java ignores polling keys under FANOUT; kcl-bridge polls (fan-out is not built) and uses
    // them, and says so.
    assert_eq!(l.config.max_records, 100);
    assert!(
        l.warnings.iter().any(|w| w
            .message
            .contains("maxRecords: Java does not poll under enhanced fan-out; kcl-bridge polls")),
        "{:?}",
        l.warnings
    );
    let l = ok_with("retrievalMode = default\nidleTimeBetweenReadsInMillis = 500\n");
    assert_eq!(l.config.retrieval.mode, RetrievalMode::Polling);
    let s = l.config.effective_settings();
    assert_eq!(
        setting(&s, "retrievalMode"),
        "POLLING (retrievalMode DEFAULT and polling keys set: idleTimeBetweenReadsInMillis)"
    );
    // Top-level consumerArn is accepted as fanoutConfig.consumerArn, with a warning.
    let l = ok_with("consumerArn = arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:1\n");
    assert!(l.config.fanout.consumer_arn.is_some());
    assert!(has_warning(&l, "consumerArn", "fanoutConfig.consumerArn"));
}

/// The start-up log lists what the file changes from the defaults, and only that.
#[test]
fn non_default_settings_are_what_the_file_changes() {
    let l = ok_with(
        "cleanupLeasesUponShardCompletion = false\nmaxRecords = 10000\nidleTimeBetweenReadsInMillis = 250\n",
    );
    let changed = l.config.non_default_settings();
    let keys: Vec<&str> = changed.iter().map(|(k, _)| k.as_str()).collect();
    assert!(
        keys.contains(&"cleanupLeasesUponShardCompletion"),
        "{changed:?}"
    );
    assert!(
        keys.contains(&"idleTimeBetweenReadsInMillis"),
        "{changed:?}"
    );
    assert!(
        !keys.contains(&"maxRecords"),
        "10000 is the default: {changed:?}"
    );
    assert!(!keys.contains(&"executableName") && !keys.contains(&"applicationName"));
    assert!(!keys.contains(&"failoverTimeMillis"), "{changed:?}");
    // Only the required keys: nothing changed, not even the names derived from them.
    assert_eq!(
        ok_with("").config.non_default_settings(),
        Vec::<(String, String)>::new()
    );
    let arn = "executableName = x\napplicationName = A\\\\B\nAwsCredentialsProvider = DefaultCredentialsProvider\n\
               streamArn = arn:aws:kinesis:eu-west-1:123456789012:stream/s\n";
    let l = parse_str(arn).unwrap();
    assert_eq!(l.config.application_name, "A\\B");
    assert_eq!(
        l.config.non_default_settings(),
        Vec::<(String, String)>::new()
    );
}

/// Keys Java acts on that kcl-bridge accepts without acting on them say so.
#[test]
fn accepted_keys_without_effect_say_so() {
    let l = ok_with(
        "metricsLevel = SUMMARY\nlistShardsBackoffTimeInMillis = 100\nleaseTableScanTotalSegments = 2\n\
         millisBehindLatestThresholdForReducedTps = 500\nenablePriorityLeaseAssignment = false\n",
    );
    let said = |needle: &str| l.warnings.iter().any(|w| w.message.contains(needle));
    assert!(said(
        "metricsLevel: kcl-bridge publishes no CloudWatch metrics"
    ));
    assert!(!said("listShardsBackoffTimeInMillis"), "it is honoured");
    assert!(!said("leaseTableScanTotalSegments"), "it is honoured");
    assert_eq!(l.config.lease.lease_table_scan_total_segments, Some(2));
    assert!(
        !said("millisBehindLatestThresholdForReducedTps"),
        "it is implemented"
    );
    assert_eq!(
        l.config
            .polling
            .millis_behind_latest_threshold_for_reduced_tps,
        Some(Duration::from_millis(500))
    );
    assert!(said(
        "enablePriorityLeaseAssignment: Java's 3.x lease assignment ignores this; kcl-bridge"
    ));
    assert!(
        !l.config.lease.enable_priority_lease_assignment,
        "and uses it"
    );
    // What kcl-bridge does anyway is not worth a warning: no metrics.
    let quiet = ok_with("metricsLevel = NONE\n");
    assert!(
        !quiet.warnings.iter().any(|w| w.message.contains("metrics")),
        "{:?}",
        quiet.warnings
    );
}

const POLLING: [&str; 5] = [
    "maxRecords",
    "idleTimeBetweenReadsInMillis",
    "millisBehindLatestThresholdForReducedTps",
    "retryGetRecordsInSeconds",
    "maxGetRecordsThreadPool",
];

// ----- unknown keys, whitespace, effective settings ---------------------------------------------

#[test]
fn unknown_keys_warn_with_line_and_suggestion() {
    let l = ok_with("maxRecord = 10\nFailoverTimeMillis = 5\nskipShardSyncAtStartupIfLeasesExist = true\nproxyHost = h\nzzz = 1\n");
    let w = |key: &str| {
        l.warnings
            .iter()
            .find(|w| w.key.as_deref() == Some(key))
            .map(|w| (w.line, w.message.clone()))
    };
    assert_eq!(
        w("maxRecord"),
        Some((
            Some(5),
            "unknown key, ignored (Java ignores it silently); did you mean maxRecords?".into()
        ))
    );
    assert!(w("FailoverTimeMillis")
        .is_some_and(|(_, m)| m.ends_with("did you mean failoverTimeMillis?")));
    assert!(w("skipShardSyncAtStartupIfLeasesExist")
        .is_some_and(|(_, m)| m.contains("skipShardSyncAtWorkerInitializationIfLeasesExist")));
    assert!(w("proxyHost").is_some_and(|(_, m)| m.contains("HTTPS_PROXY")));
    assert!(w("zzz").is_some_and(|(l, m)| l == Some(9) && !m.contains("did you mean")));
    assert_eq!(l.config.max_records, 10_000);
    // --strict: errors.
    let text = format!("{BASE}maxRecord = 10\n");
    let strict = parse_with(
        Path::new("a"),
        text.as_bytes(),
        Options {
            strict_unknown_keys: true,
            ..Options::default()
        },
    );
    assert!(
        matches!(strict, Err(ConfigError::Invalid { ref problems, .. }) if problems.len() == 1 && problems[0].key == "maxRecord")
    );
}

#[test]
fn trailing_whitespace_is_trimmed_with_a_warning() {
    let l = ok_with(
        "streamName = s2   \nmetricsLevel = SUMMARY \ncleanupLeasesUponShardCompletion = false\t\n",
    );
    assert_eq!(l.config.stream_name, "s2");
    assert_eq!(l.config.metrics.level, MetricsLevel::Summary);
    assert!(!l.config.lease.cleanup_leases_upon_shard_completion);
    assert_eq!(
        l.warnings
            .iter()
            .filter(|w| w.message.contains("trailing whitespace"))
            .map(|w| w.line)
            .collect::<Vec<_>>(),
        [Some(5), Some(6), Some(7)]
    );
}

#[test]
fn effective_settings_cover_every_key() {
    let l = load_ok("multilang.properties");
    let s = l.config.effective_settings();
    for k in keys::names() {
        assert!(s.iter().any(|s| s.key == k), "effective settings lack {k}");
    }
    assert_eq!(setting(&s, "streamName"), "kclpysample");
    assert_eq!(setting(&s, "failoverTimeMillis"), "10000");
    assert_eq!(setting(&s, "workerId"), "\"workerId\"");
    assert_eq!(
        setting(&s, "clientVersionConfig"),
        "CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X"
    );
    assert_eq!(
        setting(&s, "staleWorkerMetricsEntryCleanupDuration"),
        "PT12H"
    );
    assert_eq!(
        setting(&s, "coordinatorStateTags"),
        "csTagK1=csTagV1,csTagK2=csTagV2,csTagK3=csTagV3"
    );
    assert_eq!(setting(&s, "timeoutInSeconds"), "(not set: wait for ever)");
    assert_eq!(
        setting(&s, "AwsCredentialsProvider"),
        "DefaultCredentialsProvider"
    );
    let base = ok_with("").config.effective_settings();
    assert_eq!(
        setting(&base, "workerId"),
        "(not set: generated at startup)"
    );
    assert_eq!(setting(&base, "leaseAssignmentIntervalMillis"), "20000");
    assert_eq!(setting(&base, "fanoutConfig.consumerName"), "App");
}

#[test]
fn executable_argv_splits_on_spaces_only() {
    let c = ok_with("executableName = python3  app.py\t--x\n");
    // BASE sets executableName too: the same key twice, last wins.
    assert_eq!(c.config.executable_argv(), ["python3", "app.py\t--x"]);
}

#[test]
fn load_reports_io_errors() {
    let r = load(Path::new("/nonexistent/kcl-bridge/app.properties"));
    assert!(matches!(r, Err(ConfigError::Io { .. })));
}

// ----- the key table ----------------------------------------------------------------------------

/// A valid value for a key, for tests that set every key: its default, or one of its kind.
fn sample(row: &table::Row) -> &'static str {
    if let table::Unset::Value(v) = row.default {
        return v;
    }
    match (&row.kind, row.name) {
        (_, "maxActiveThreads") => "4",
        (_, "timeoutInSeconds") => "30",
        (_, "streamArn") => "arn:aws:kinesis:us-east-1:123456789012:stream/s",
        (_, "initialPositionInStreamExtended") => "1700000000",
        (_, k) if k.starts_with("AwsCredentialsProvider") => "DefaultCredentialsProvider",
        (table::Kind::MaybeFlag(_), _) => "true",
        (table::Kind::Region(_), _) => "us-east-1",
        (table::Kind::Endpoint(_), _) => "http://localhost:4566",
        (table::Kind::MaybeMillis(..), _) | (table::Kind::MaybeCount { .. }, _) => "7",
        (table::Kind::MaybeDecimal(..), _) => "1.5",
        (table::Kind::Tags(_), _) => "a=b",
        _ => "x",
    }
}

/// Each default of the table is a valid value that reads back as itself, and every key a rule
/// reads has a way to be shown.
#[test]
fn the_tables_defaults_read_back_as_themselves() {
    let defaults = build::defaults();
    for row in table::rows() {
        match (&row.kind, row.default) {
            (table::Kind::Rule, table::Unset::Value(text)) => {
                assert_eq!(row.value(&defaults), text, "{}", row.name);
            }
            (_, table::Unset::Value(text)) => {
                let mut c = Config::default();
                assert_eq!(read::store(row, &mut c, text), Ok(vec![]), "{}", row.name);
                let shown = row.value(&defaults);
                let mut again = Config::default();
                if row.show.is_none() {
                    assert_eq!(
                        read::store(row, &mut again, &shown),
                        Ok(vec![]),
                        "{}",
                        row.name
                    );
                    assert_eq!(row.value(&again), shown, "{}", row.name);
                }
            }
            _ => {}
        }
        if matches!(row.kind, table::Kind::Rule) {
            assert!(row.show.is_some(), "{} cannot be shown", row.name);
        }
    }
    // A file with only the required keys gets exactly the table's defaults (where they do not
    // derive from the required keys).
    let parsed = ok_with("").config;
    for row in table::rows().filter(|r| r.show.is_none()) {
        assert_eq!(row.value(&parsed), row.value(&defaults), "{}", row.name);
    }
}

/// Out-of-range numbers name a range a person can read, and where 0 means the default the
/// message says so (as the behaviour is).
#[test]
fn bad_numbers_say_a_readable_range() {
    for (line, expected) in [
        (
            "failoverTimeMillis = -5",
            "expected an integer number of milliseconds, 1 or more (0 means the default, 10000, as in Java)",
        ),
        (
            "maxRecords = 10001",
            "expected an integer number of records from 1 to 10000 (0 means the default, 10000, as in Java)",
        ),
        (
            "maxRecords = -1",
            "expected an integer number of records from 1 to 10000 (0 means the default, 10000, as in Java)",
        ),
        ("shutdownGraceMillis = -1", "expected an integer number of milliseconds, 0 or more"),
        ("workerMetricsReadCapacity = -1", "expected an integer, 0 or more"),
        ("leaseTableScanTotalSegments = 1000001", "expected a number of scan segments from 0 to 1000000"),
        ("dampeningPercentage = 101", "expected an integer from 1 to 100 (0 means the default, 60, as in Java)"),
        ("workerMetricsEMAAlpha = 1.5", "expected a decimal number greater than 0 and at most 1"),
        ("maxThroughputPerHostKBps = -1", "expected a decimal number greater than 0"),
        (
            "tableMigrationCompleteBakeTimeSeconds = -1",
            "expected an integer number of seconds, 1 or more (0 means the default, 86400, as in Java)",
        ),
        ("initialPositionInStreamExtended = -1", "expected an integer number of seconds since 1970-01-01T00:00:00Z, 0 or more"),
    ] {
        let p = bad_with(&format!("{line}\n"));
        assert_eq!(p.len(), 1, "{line}: {p:?}");
        assert_eq!(p[0].message, expected, "{line}");
    }
    // No key prints Java's long or int limits as a range when a whole number is wrong.
    for row in table::rows() {
        for value in ["-1", "-99999999999", "99999999999999999999"] {
            if let Err(ConfigError::Invalid { problems, .. }) =
                parse_str(&format!("{BASE}{} = {value}\n", row.name))
            {
                for p in problems {
                    assert!(
                        !p.message.contains("9223372036854775"),
                        "{} = {value}: {}",
                        row.name,
                        p.message
                    );
                }
            }
        }
    }
}

/// What `check` shows beside a value: what kcl-bridge does instead, where it does not do what
/// the value says.
#[test]
fn effective_settings_say_what_kcl_bridge_does_instead() {
    let note = |s: &[Setting], key: &str| {
        s.iter()
            .find(|s| s.key == key)
            .and_then(|s| s.note)
            .unwrap_or_else(|| panic!("no note for {key}"))
    };
    let has_note = |s: &[Setting], key: &str| s.iter().any(|s| s.key == key && s.note.is_some());
    let s = ok_with("").config.effective_settings();
    for (key, needle) in [
        ("retrievalMode", "kcl-bridge polls with GetRecords"),
        ("shutdownGraceMillis", "30 s"),
        ("metricsLevel", "publishes no metrics"),
        ("gracefulLeaseHandoffTimeoutMillis", "not used yet"),
        ("workerMetricsEMAAlpha", "not used yet"),
        ("fanoutConfig.consumerName", "enhanced fan-out is not built"),
        ("maxRecords", "kcl-bridge polls"),
        ("workerId", "random id"),
        ("AwsCredentialsProviderCloudWatch", "no CloudWatch calls"),
    ] {
        assert!(note(&s, key).contains(needle), "{key}: {}", note(&s, key));
    }
    for key in [
        "failoverTimeMillis",
        "applicationName",
        "taskBackoffTimeMillis",
    ] {
        assert!(!has_note(&s, key), "{key}");
    }
    let s = ok_with(
        "retrievalMode = POLLING\nshutdownGraceMillis = 5000\nmetricsLevel = NONE\nworkerId = w\n",
    )
    .config
    .effective_settings();
    for key in [
        "retrievalMode",
        "shutdownGraceMillis",
        "metricsLevel",
        "maxRecords",
        "workerId",
    ] {
        assert!(
            !has_note(&s, key),
            "{key}: {:?}",
            s.iter().find(|x| x.key == key)
        );
    }
    assert!(note(&s, "fanoutConfig.consumerArn").contains("not used with retrievalMode POLLING"));
    // As `check` prints them: by section, the note after the value.
    let report = ok_with("").config.settings_report();
    assert!(
        report.starts_with("\n# The MultiLang daemon\nexecutableName = python3 app.py\n"),
        "{report}"
    );
    assert!(
        report.contains("\n# Lease management\nfailoverTimeMillis = 10000\n"),
        "{report}"
    );
    assert!(
        report.contains("\nmetricsLevel = DETAILED  # not used: kcl-bridge publishes no metrics\n"),
        "{report}"
    );
}

/// Every key kcl-bridge treats differently from Java warns when a file sets it (except the
/// start-up notices, which are said at every start, set or not).
#[test]
fn keys_kcl_bridge_does_not_act_on_warn_when_set() {
    let defaults = build::defaults();
    for row in table::rows() {
        if matches!(row.bridge, table::Bridge::Notice(_) | table::Bridge::AsJava) {
            continue;
        }
        let text = format!("{BASE}{} = {}\n", row.name, sample(row));
        let l = parse_str(&text).unwrap_or_else(|e| panic!("{}: {}", row.name, e.report()));
        if row.bridge.note(&l.config).is_none() {
            continue;
        }
        let named = |w: &ConfigWarning| {
            w.key.as_deref() == Some(row.name)
                || w.message
                    .split(": ")
                    .next()
                    .is_some_and(|names| names.split(", ").any(|n| n == row.name))
        };
        assert!(
            l.warnings.iter().any(named),
            "{} = {}: {:?}",
            row.name,
            sample(row),
            l.warnings
        );
    }
    assert!(!defaults.effective_settings().is_empty());
}

/// The start-up notices: the daemon's (fan-out resolved but polled, no workerId) for the
/// daemon and `check`, and a script argument that is not there for every purpose.
#[test]
fn startup_notices() {
    let cwd = Path::new("/srv/app");
    let here = |p: &Path| p == Path::new("/srv/app/app.py") || p == Path::new("/srv/app/lib/x.py");
    /// (extra lines, purpose, expected (key, message start) in order)
    type Case<'a> = (&'a str, Purpose, &'a [(&'a str, &'a str)]);
    let cases: &[Case] = &[
        (
            "",
            Purpose::Consume,
            &[
                ("retrievalMode", "no polling key is set, so Java's retrievalMode DEFAULT selects enhanced fan-out"),
                ("workerId", "not set: kcl-bridge uses a random worker id"),
            ],
        ),
        ("", Purpose::Replay, &[]),
        ("workerId = w\nretrievalMode = POLLING\n", Purpose::Consume, &[]),
        ("workerId = w\nmaxRecords = 100\n", Purpose::Consume, &[]),
        (
            "workerId = w\nretrievalMode = FANOUT\n",
            Purpose::Consume,
            &[("retrievalMode", "enhanced fan-out is not built yet: kcl-bridge polls")],
        ),
        (
            "workerId = w\nretrievalMode = POLLING\nexecutableName = python3 samples/python/sampel_app.py\n",
            Purpose::Consume,
            &[(
                "executableName",
                "\"samples/python/sampel_app.py\" does not exist in /srv/app (the working directory",
            )],
        ),
        (
            "executableName = python3 -u lib/x.py missing.py\n",
            Purpose::Replay,
            &[("executableName", "\"missing.py\" does not exist in /srv/app")],
        ),
        (
            "executableName = node /opt/gone.js\n",
            Purpose::Replay,
            &[("executableName", "\"/opt/gone.js\" does not exist")],
        ),
    ];
    for (extra, purpose, expected) in cases {
        let c = ok_with(extra).config;
        let got = c.startup_notices(*purpose, cwd, &here);
        assert_eq!(got.len(), expected.len(), "{extra:?} {purpose:?}: {got:?}");
        for (w, (key, start)) in got.iter().zip(expected.iter()) {
            assert_eq!(w.key.as_deref(), Some(*key), "{extra:?}");
            assert!(w.message.starts_with(start), "{extra:?}: {}", w.message);
            assert_eq!(w.line, None);
        }
    }
}

/// `replay` makes no AWS calls: no credentials key is a warning there, an error elsewhere.
#[test]
fn replay_needs_no_credentials_key() {
    let text = "executableName = a\napplicationName = b\nstreamName = s\n";
    let replay = Options {
        purpose: Purpose::Replay,
        ..Options::default()
    };
    let l = parse_with(Path::new("a"), text.as_bytes(), replay)
        .unwrap_or_else(|e| panic!("{}", e.report()));
    assert!(
        has_warning(&l, "AwsCredentialsProvider", "replay makes no AWS calls"),
        "{:?}",
        l.warnings
    );
    assert!(l.config.credentials.kinesis.providers.is_empty());
    let p = problems(text);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].key, "AwsCredentialsProvider");
    assert!(p[0].message.starts_with("required key"));
}

/// `--strict` makes an unknown key an error, and the error does not say it is ignored.
#[test]
fn strict_errors_do_not_say_ignored() {
    let strict = Options {
        strict_unknown_keys: true,
        ..Options::default()
    };
    let text = format!("{BASE}maxRecord = 10\n");
    let Err(ConfigError::Invalid { problems, .. }) =
        parse_with(Path::new("a"), text.as_bytes(), strict)
    else {
        panic!("--strict accepted an unknown key")
    };
    assert_eq!(
        problems[0].message,
        "unknown key (an error with --strict; Java ignores it silently); did you mean maxRecords?"
    );
}

proptest::proptest! {
    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
        if let Err(ConfigError::Invalid { problems, .. }) = parse(Path::new("p"), &bytes) {
            proptest::prop_assert!(!problems.is_empty());
        }
    }

    #[test]
    fn parse_never_panics_on_keyish_text(
        lines in proptest::collection::vec(
            (proptest::sample::select(keys::names().collect::<Vec<_>>()), "[ -~]{0,20}"), 0..12)
    ) {
        let text: String = lines.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
        if let Err(ConfigError::Invalid { problems, .. }) =
            parse(Path::new("p"), format!("{BASE}{text}").as_bytes())
        {
            proptest::prop_assert!(!problems.is_empty());
        }
    }
}

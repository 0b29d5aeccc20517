//! Real-world properties files read from the installed client packages at test time (not copied
//! into this repository). aws-kcl's npm package ships no sample properties, so those are unit
//! fixtures in `tests/data/config/aws-kcl/` instead.

use kcl_bridge::config::{self, CredentialsProvider, InitialPosition, RetrievalMode};

use crate::harness;

/// amazon_kclpy 3.2.0's `samples/sample.properties` (`docs/configuration.md`, "Fixtures").
#[test]
fn kclpy_sample_properties_from_the_sdist() {
    let path = harness::kclpy_sdist().join("samples/sample.properties");
    let loaded = config::load(&path).unwrap_or_else(|e| panic!("{}", e.report()));
    let c = &loaded.config;
    assert_eq!(c.executable_name, "sample_kclpy_app.py");
    assert_eq!(c.executable_argv(), vec!["sample_kclpy_app.py"]);
    // The stream name comes from the ARN (whose fictitious region is not used).
    assert_eq!(c.stream_name, "kclpysample");
    assert_eq!(c.application_name, "PythonKCLSample");
    assert_eq!(c.lease_table_name(), "PythonKCLSample");
    assert_eq!(c.processing_language.as_deref(), Some("python/3.8"));
    assert_eq!(c.initial_position, InitialPosition::TrimHorizon);
    assert_eq!(c.region_name.as_deref(), Some("us-east-1"));
    assert_eq!(c.kinesis_client.region.as_deref(), Some("us-east-1"));
    assert_eq!(c.dynamodb_client.region.as_deref(), Some("us-east-1"));
    assert_eq!(c.kinesis_client.endpoint, None);
    assert_eq!(
        c.credentials.kinesis.providers,
        vec![CredentialsProvider::Default]
    );
    assert!(c.credentials.dynamodb.inherited);
    assert_eq!(
        c.worker_id, None,
        "a random worker id is generated at start"
    );
    // No polling key is set, so Java's DEFAULT resolves to enhanced fan-out.
    assert_eq!(c.retrieval.mode, RetrievalMode::FanOut);
    assert_eq!(c.consumer_name(), "PythonKCLSample");
    assert_eq!(c.max_records, 10_000);
    assert_eq!(c.timeout, None);
    // The commented-out keys are not set.
    assert!(!c.call_process_records_even_for_empty_record_list);
    // One warning: the ARN's region differs from regionName.
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.message.contains("us-east-5")),
        "{:?}",
        loaded.warnings
    );
}

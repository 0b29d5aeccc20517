//! The key table: every key of the Java MultiLangDaemon's properties file, one row each, with its
//! type (which also says where in [`Config`] it goes), its default, and what kcl-bridge does with
//! it where that differs from Java. Parsing (`build`, `read`), `check`'s effective settings and
//! the daemon's list of changed settings (`settings`), the start-up notices (`notices`) and the
//! unknown-key suggestions (`keys`) all read this table; no other list of keys exists.
//!
//! Keys whose value depends on other keys (the required ones, the stream, the initial position,
//! credentials, …) are [`Kind::Rule`]: `derive` reads them.

use std::time::Duration;

use super::values::format_iso_duration;
use super::*;

/// A field of [`Config`] that a key sets.
pub(super) struct At<T: 'static> {
    pub(super) get: fn(&Config) -> &T,
    pub(super) set: fn(&mut Config) -> &mut T,
}

/// `at!(lease.failover_time)`: the [`At`] of that field.
macro_rules! at {
    ($($field:ident).+) => {
        At {
            get: |c| &c.$($field).+,
            set: |c| &mut c.$($field).+,
        }
    };
}

/// What `0` means for a numeric key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Zero {
    /// Java drops 0 (a primitive field) and the default applies; so do we, with a warning.
    Default,
    /// 0 is a value like any other.
    Value,
    /// 0 switches the feature off (the field becomes `None`).
    Off,
}

/// An enum key: the Java constant names, each with its value.
pub(super) trait Named: Copy + PartialEq + 'static {
    const ALL: &'static [Self];
    fn name(self) -> &'static str;
}

/// An enum field, whatever the enum.
pub(super) trait Choice: Sync {
    fn names(&self) -> Vec<&'static str>;
    fn show(&self, config: &Config) -> &'static str;
    /// Sets the value named `upper` (an upper-cased name); false if there is none.
    fn set(&self, config: &mut Config, upper: &str) -> bool;
}

impl<T: Named> Choice for At<T> {
    fn names(&self) -> Vec<&'static str> {
        T::ALL.iter().map(|v| v.name()).collect()
    }

    fn show(&self, config: &Config) -> &'static str {
        (self.get)(config).name()
    }

    fn set(&self, config: &mut Config, upper: &str) -> bool {
        match T::ALL.iter().find(|v| v.name() == upper) {
            Some(v) => {
                *(self.set)(config) = *v;
                true
            }
            None => false,
        }
    }
}

/// How a key's value is read and where it goes.
pub(super) enum Kind {
    /// Read by a rule of its own in `derive`, with the keys it depends on.
    Rule,
    /// Text; an empty value means "not set" (with a warning).
    Text(At<Option<String>>),
    /// A boolean (Java's spellings: true/false, yes/no, on/off, 1/0, any case).
    Flag(At<bool>),
    /// A boolean without a default.
    MaybeFlag(At<Option<bool>>),
    /// Whole milliseconds.
    Millis(At<Duration>, Zero),
    /// Whole milliseconds without a default.
    MaybeMillis(At<Option<Duration>>, Zero),
    /// Whole seconds.
    Seconds(At<Duration>, Zero),
    /// A whole number from 1 to `max`; 0 means the default, as in Java.
    Count {
        at: At<u32>,
        what: &'static str,
        max: u32,
    },
    /// A whole number from 0 to `max`, without a default.
    MaybeCount {
        at: At<Option<u32>>,
        what: &'static str,
        max: u32,
        zero: Zero,
    },
    /// A table capacity: a whole number, 0 or more.
    Capacity(At<u64>),
    /// A decimal number above 0 and at most `max`; 0 means the default, as in Java.
    Decimal(At<f64>, f64),
    /// The same, without a default.
    MaybeDecimal(At<Option<f64>>, f64),
    /// An ISO-8601 duration (`PT12H`).
    Iso(At<Duration>),
    /// `k1=v1,k2=v2`.
    Tags(At<Vec<(String, String)>>),
    /// Comma-separated metrics dimension names.
    Dimensions(At<Vec<String>>),
    /// A Java enum constant, any case.
    Choice(&'static dyn Choice),
    /// An AWS region name.
    Region(At<Option<String>>),
    /// An `http://` or `https://` URL.
    Endpoint(At<Option<String>>),
}

/// A key's value when the file does not set it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Unset {
    /// This value, in the file's syntax: parsing applies it before the file's own keys.
    Value(&'static str),
    /// No value; the text says what that means (`check` shows it).
    Means(&'static str),
    /// The file must set it.
    Required,
}

/// Something kcl-bridge does differently from Java with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Note {
    /// The warning.
    pub(super) text: &'static str,
    /// The same in a few words, beside the value in `check`'s list.
    pub(super) brief: &'static str,
    /// Several keys share it: one warning names them all.
    pub(super) shared: bool,
}

const fn own(text: &'static str, brief: &'static str) -> Note {
    Note {
        text,
        brief,
        shared: false,
    }
}

const fn shared(text: &'static str, brief: &'static str) -> Note {
    Note {
        text,
        brief,
        shared: true,
    }
}

/// What kcl-bridge does with a key, where that differs from what Java does.
#[derive(Clone, Copy)]
pub(super) enum Bridge {
    /// What Java does.
    AsJava,
    /// Always this. `check` shows it beside the value; a file that sets the key gets it as a
    /// warning.
    Always(Note),
    /// This, for the configurations the function returns it for; shown and warned as `Always`.
    When(fn(&Config) -> Option<Note>),
    /// Said at every start of the daemon (and by `check`) when the function returns it, whether
    /// or not the file sets the key.
    Notice(fn(&Config) -> Option<Note>),
}

impl Bridge {
    /// The note that applies to `config`, if any.
    pub(super) fn note(&self, config: &Config) -> Option<Note> {
        match self {
            Bridge::AsJava => None,
            Bridge::Always(note) => Some(*note),
            Bridge::When(f) | Bridge::Notice(f) => f(config),
        }
    }
}

/// One key.
pub(super) struct Row {
    /// The key as Java spells it (other spellings are in `keys`).
    pub(super) name: &'static str,
    pub(super) kind: Kind,
    pub(super) default: Unset,
    pub(super) bridge: Bridge,
    /// How `check` shows the value where the kind's own form does not say it (derived values);
    /// `None` from the function: not set, shown as `default` says.
    pub(super) show: Option<fn(&Config) -> Option<String>>,
}

const fn row(name: &'static str, kind: Kind, default: Unset) -> Row {
    Row {
        name,
        kind,
        default,
        bridge: Bridge::AsJava,
        show: None,
    }
}

impl Row {
    const fn bridge(mut self, bridge: Bridge) -> Self {
        self.bridge = bridge;
        self
    }

    const fn show(mut self, show: fn(&Config) -> Option<String>) -> Self {
        self.show = Some(show);
        self
    }

    /// The effective value as `check` prints it.
    pub(super) fn value(&self, c: &Config) -> String {
        let shown = match self.show {
            Some(show) => show(c),
            None => self.kind.show(c),
        };
        shown.unwrap_or_else(|| match self.default {
            Unset::Means(text) => text.to_owned(),
            Unset::Value(text) => text.to_owned(),
            Unset::Required => "(not set)".to_owned(),
        })
    }
}

fn ms(d: Duration) -> String {
    d.as_millis().to_string()
}

impl Kind {
    /// The field's value in the file's syntax; `None` when it is not set.
    fn show(&self, c: &Config) -> Option<String> {
        let text = |v: &Option<String>| v.clone();
        match self {
            Kind::Rule => None,
            Kind::Text(at) | Kind::Region(at) | Kind::Endpoint(at) => text((at.get)(c)),
            Kind::Flag(at) => Some((at.get)(c).to_string()),
            Kind::MaybeFlag(at) => (at.get)(c).map(|v| v.to_string()),
            Kind::Millis(at, _) => Some(ms(*(at.get)(c))),
            Kind::MaybeMillis(at, _) => (at.get)(c).map(ms),
            Kind::Seconds(at, _) => Some((at.get)(c).as_secs().to_string()),
            Kind::Count { at, .. } => Some((at.get)(c).to_string()),
            Kind::MaybeCount { at, .. } => (at.get)(c).map(|v| v.to_string()),
            Kind::Capacity(at) => Some((at.get)(c).to_string()),
            Kind::Decimal(at, _) => Some((at.get)(c).to_string()),
            Kind::MaybeDecimal(at, _) => (at.get)(c).map(|v| v.to_string()),
            Kind::Iso(at) => Some(format_iso_duration(*(at.get)(c))),
            Kind::Tags(at) => {
                let tags = (at.get)(c);
                let pairs: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                (!pairs.is_empty()).then(|| pairs.join(","))
            }
            Kind::Dimensions(at) => Some((at.get)(c).join(",")),
            Kind::Choice(choice) => Some(choice.show(c).to_owned()),
        }
    }
}

impl Named for RetrievalModeSetting {
    const ALL: &'static [Self] = &[Self::Fanout, Self::Polling, Self::Default];
    fn name(self) -> &'static str {
        match self {
            Self::Fanout => "FANOUT",
            Self::Polling => "POLLING",
            Self::Default => "DEFAULT",
        }
    }
}

impl Named for ClientVersionConfig {
    const ALL: &'static [Self] = &[
        Self::CompatibleWith2xPhase1,
        Self::CompatibleWith2x,
        Self::V3x,
    ];
    fn name(self) -> &'static str {
        ClientVersionConfig::name(self)
    }
}

impl Named for MetricsLevel {
    const ALL: &'static [Self] = &[Self::None, Self::Summary, Self::Detailed];
    fn name(self) -> &'static str {
        MetricsLevel::name(self)
    }
}

impl Named for BillingMode {
    const ALL: &'static [Self] = &[Self::Provisioned, Self::PayPerRequest];
    fn name(self) -> &'static str {
        BillingMode::name(self)
    }
}

/// A part of the table, as Java's configuration classes group the keys.
pub(super) struct Section {
    pub(super) title: &'static str,
    pub(super) rows: &'static [Row],
}

/// Every key, section by section, in the order `check` prints them.
pub(super) static SECTIONS: &[Section] = &[
    Section {
        title: "The MultiLang daemon",
        rows: MULTILANG,
    },
    Section {
        title: "Application, stream and worker",
        rows: IDENTITY,
    },
    Section {
        title: "AWS clients",
        rows: CLIENTS,
    },
    Section {
        title: "Lease management",
        rows: LEASES,
    },
    Section {
        title: "Coordinator, lifecycle and record processor",
        rows: COORDINATOR,
    },
    Section {
        title: "Metrics",
        rows: METRICS,
    },
    Section {
        title: "Retrieval: polling",
        rows: POLLING,
    },
    Section {
        title: "Retrieval: enhanced fan-out",
        rows: FANOUT,
    },
    Section {
        title: "KCL 3.x lease balancing and hand-off",
        rows: KCL3,
    },
    Section {
        title: "KCL 3.0-3.4 metadata tables",
        rows: KCL3_TABLES,
    },
];

/// Every row of the table.
pub(super) fn rows() -> impl Iterator<Item = &'static Row> {
    SECTIONS.iter().flat_map(|s| s.rows.iter())
}

/// The row of a key, by its Java spelling.
pub(super) fn row_of(name: &str) -> Option<&'static Row> {
    rows().find(|r| r.name == name)
}

/// How long the daemon gives record processors to finish when it stops, if `shutdownGraceMillis`
/// is 0 or unset.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

const INT_MAX: u32 = i32::MAX as u32;

// ----- notes --------------------------------------------------------------------------------------

const FANOUT_EXPLICIT: Note = own(
    "enhanced fan-out is not built yet: kcl-bridge polls with GetRecords instead. Set \
     retrievalMode = POLLING to make this explicit and silence this warning",
    "kcl-bridge polls with GetRecords: enhanced fan-out is not built yet",
);
const FANOUT_BY_DEFAULT: Note = own(
    "no polling key is set, so Java's retrievalMode DEFAULT selects enhanced fan-out, which \
     kcl-bridge does not support yet: it polls with GetRecords instead. Set retrievalMode = \
     POLLING (or a polling key such as idleTimeBetweenReadsInMillis) to make this explicit and \
     silence this warning",
    "kcl-bridge polls with GetRecords: enhanced fan-out is not built yet",
);
const NO_WORKER_ID: Note = own(
    "not set: kcl-bridge uses a random worker id at each start, so a restarted worker waits for \
     its old leases to expire before it takes them again; set a stable workerId",
    "a random id at each start: a restarted worker waits for its old leases to expire",
);
const GRACE_ZERO: Note = own(
    "0 means 30 s here: on SIGTERM record processors get up to 30 s to checkpoint and leases are \
     released (Java's 0 skips the final checkpoint)",
    "kcl-bridge gives record processors up to 30 s to checkpoint (Java: no final checkpoint)",
);
const NO_CLOUDWATCH: Note = shared(
    "kcl-bridge makes no CloudWatch calls; ignored",
    "not used: kcl-bridge makes no CloudWatch calls",
);
const NO_METRICS: Note = shared(
    "kcl-bridge publishes no CloudWatch metrics (Java's default is DETAILED); ignored",
    "not used: kcl-bridge publishes no metrics",
);
const STEAL_IN_3X: Note = shared(
    "Java's 3.x lease assignment ignores this; kcl-bridge runs the KCL 2.x lease algorithm and \
     uses it",
    "used: kcl-bridge runs the KCL 2.x lease algorithm (Java 3.x ignores it)",
);
const PROVISIONED_ONLY: Note = shared(
    "accepted and ignored: only used for a PROVISIONED lease table, which multilang cannot select",
    "not used: multilang cannot make the lease table PROVISIONED",
);
const MIGRATION: Note = shared(
    "KCL 3.5 single-table migration settings: kcl-bridge writes no worker-metrics or coordinator \
     rows to migrate, and reads a migrated table's leases as they are; ignored",
    "not used: kcl-bridge writes no KCL 3.x metadata rows to migrate",
);
const NOT_READ: Note = shared(
    "read by nothing in KCL 3.x; accepted and ignored (but they still select polling under \
     retrievalMode DEFAULT)",
    "not used (nor by Java 3.x); non-zero selects polling under DEFAULT",
);
const POLLS_UNDER_FANOUT: Note = shared(
    "Java does not poll under enhanced fan-out; kcl-bridge polls (fan-out is not built yet) and \
     uses these",
    "used: kcl-bridge polls (Java would not, under enhanced fan-out)",
);
const FANOUT_UNDER_POLLING: Note = shared(
    "enhanced fan-out settings have no effect with retrievalMode POLLING",
    "not used with retrievalMode POLLING",
);
const FANOUT_NOT_BUILT: Note = shared(
    "no effect yet: enhanced fan-out is not built, kcl-bridge polls with GetRecords",
    "not used yet: enhanced fan-out is not built",
);
const KCL3_BALANCING: Note = shared(
    "no effect yet: kcl-bridge balances leases as a KCL 2.x worker does (KCL 3.x lease balancing \
     and graceful hand-off are not built)",
    "not used yet: kcl-bridge balances leases as a KCL 2.x worker",
);
const KCL3_TABLE_READ: Note = shared(
    "kcl-bridge only reads this table, to see whether Java 3.x workers are still running; it \
     never writes it",
    "read only, to see whether Java 3.x workers still run",
);
const KCL3_TABLE_UNUSED: Note = shared(
    "no effect: kcl-bridge never creates the KCL 3.0-3.4 metadata tables (deprecated in KCL 3.5)",
    "not used: kcl-bridge never creates this table",
);

fn fanout_notice(c: &Config) -> Option<Note> {
    match (c.retrieval.mode, c.retrieval_mode) {
        (RetrievalMode::Polling, _) => None,
        (RetrievalMode::FanOut, RetrievalModeSetting::Fanout) => Some(FANOUT_EXPLICIT),
        (RetrievalMode::FanOut, _) => Some(FANOUT_BY_DEFAULT),
    }
}

fn polls_under_fanout(c: &Config) -> Option<Note> {
    (c.retrieval.mode == RetrievalMode::FanOut).then_some(POLLS_UNDER_FANOUT)
}

fn fanout_keys(c: &Config) -> Option<Note> {
    Some(match c.retrieval.mode {
        RetrievalMode::Polling => FANOUT_UNDER_POLLING,
        RetrievalMode::FanOut => FANOUT_NOT_BUILT,
    })
}

fn no_metrics(c: &Config) -> Option<Note> {
    (c.metrics.level != MetricsLevel::None).then_some(NO_METRICS)
}

fn steal_in_3x(c: &Config) -> Option<Note> {
    (c.coordinator.client_version_config == ClientVersionConfig::V3x).then_some(STEAL_IN_3X)
}

fn client_version(c: &Config) -> Option<Note> {
    Some(match c.coordinator.client_version_config {
        ClientVersionConfig::V3x => own(
            "kcl-bridge keeps leases as a KCL 2.x worker in every mode, and takes none while a \
             Java 3.x worker is running on the application",
            "kcl-bridge keeps leases as a KCL 2.x worker",
        ),
        _ => own(
            "2.x-compatible migration mode: workers must run the KCL 2.x lease algorithm until \
             the migration completes",
            "kcl-bridge keeps leases as a KCL 2.x worker",
        ),
    })
}

fn credentials(spec: &CredentialsSpec) -> Option<String> {
    Some(if spec.inherited {
        format!("{} (from AwsCredentialsProvider)", spec.redacted())
    } else {
        spec.redacted()
    })
}

// ----- the rows -------------------------------------------------------------------------------------

use Unset::{Means, Required, Value};

const MULTILANG: &[Row] = &[
    row("executableName", Kind::Rule, Required).show(|c| Some(c.executable_name.clone())),
    row(
        "processingLanguage",
        Kind::Text(at!(processing_language)),
        Means("(not set)"),
    ),
    row("maxActiveThreads", Kind::Rule, Means("(not set)"))
        .show(|c| c.max_active_threads.map(|n| n.to_string()))
        .bridge(Bridge::Always(own(
            "accepted and ignored: kcl-bridge does not run a thread pool (the tokio runtime has no \
             such limit)",
"not used: kcl-bridge runs no thread pool",
        ))),
    row(
        "timeoutInSeconds",
        Kind::Rule,
        Means("(not set: wait for ever)"),
    )
    .show(|c| c.timeout.map(|d| d.as_secs().to_string())),
    row(
        "shutdownGraceMillis",
        Kind::Millis(at!(shutdown_grace), Zero::Value),
        Value("0"),
    )
    .bridge(Bridge::When(|c| c.shutdown_grace.is_zero().then_some(GRACE_ZERO))),
    row(
        "validateSequenceNumberBeforeCheckpointing",
        Kind::MaybeFlag(at!(validate_sequence_number_before_checkpointing)),
        Means("(not set)"),
    )
    .bridge(Bridge::Always(own(
        "accepted and ignored: no effect since KCL 2",
"not used (no effect since KCL 2)",
    ))),
    row(
        "retrievalMode",
        Kind::Choice(&at!(retrieval_mode)),
        Value("DEFAULT"),
    )
    .show(|c| {
        let mode = match c.retrieval.mode {
            RetrievalMode::FanOut => "FANOUT",
            RetrievalMode::Polling => "POLLING",
        };
        Some(format!("{mode} ({})", c.retrieval.reason))
    })
    .bridge(Bridge::Notice(fanout_notice)),
];

const IDENTITY: &[Row] = &[
    row("applicationName", Kind::Rule, Required).show(|c| Some(c.application_name.clone())),
    row("streamName", Kind::Rule, Required).show(|c| Some(c.stream_name.clone())),
    row("streamArn", Kind::Rule, Means("(not set)"))
        .show(|c| c.stream_arn.as_ref().map(|a| a.arn.clone())),
    row(
        "tableName",
        Kind::Text(at!(table_name)),
        Means("(applicationName)"),
    )
    .show(|c| Some(c.lease_table_name().to_owned())),
    row(
        "workerId",
        Kind::Text(at!(worker_id)),
        Means("(not set: generated at startup)"),
    )
    .bridge(Bridge::Notice(|c| {
        c.worker_id.is_none().then_some(NO_WORKER_ID)
    })),
    row("initialPositionInStream", Kind::Rule, Value("LATEST")).show(|c| {
        Some(match c.initial_position {
            InitialPosition::AtTimestamp(_) => "AT_TIMESTAMP".to_owned(),
            p => p.sentinel().to_owned(),
        })
    }),
    row(
        "initialPositionInStreamExtended",
        Kind::Rule,
        Means("(not set)"),
    )
    .show(|c| match c.initial_position {
        InitialPosition::AtTimestamp(s) => Some(s.to_string()),
        _ => None,
    }),
];

const CLIENTS: &[Row] = &[
    row("AwsCredentialsProvider", Kind::Rule, Required)
        .show(|c| credentials(&c.credentials.kinesis)),
    row(
        "AwsCredentialsProviderDynamoDB",
        Kind::Rule,
        Means("(AwsCredentialsProvider)"),
    )
    .show(|c| credentials(&c.credentials.dynamodb)),
    row(
        "AwsCredentialsProviderCloudWatch",
        Kind::Rule,
        Means("(AwsCredentialsProvider)"),
    )
    .show(|c| credentials(&c.credentials.cloudwatch))
    .bridge(Bridge::Always(NO_CLOUDWATCH)),
    row(
        "regionName",
        Kind::Region(at!(region_name)),
        Means("(not set: SDK default region chain)"),
    ),
    row(
        "kinesisClient.region",
        Kind::Region(at!(kinesis_client.region)),
        Means("(SDK default region chain)"),
    ),
    row(
        "kinesisEndpoint",
        Kind::Endpoint(at!(kinesis_client.endpoint)),
        Means("(regional endpoint)"),
    ),
    row(
        "dynamoDbClient.region",
        Kind::Region(at!(dynamodb_client.region)),
        Means("(SDK default region chain)"),
    ),
    row(
        "dynamoDBEndpoint",
        Kind::Endpoint(at!(dynamodb_client.endpoint)),
        Means("(regional endpoint)"),
    ),
    row(
        "cloudWatchClient.region",
        Kind::Region(at!(cloudwatch_client.region)),
        Means("(SDK default region chain)"),
    )
    .bridge(Bridge::Always(NO_CLOUDWATCH)),
    row(
        "cloudWatchClient.endpointOverride",
        Kind::Endpoint(at!(cloudwatch_client.endpoint)),
        Means("(regional endpoint)"),
    )
    .bridge(Bridge::Always(NO_CLOUDWATCH)),
];

const LEASES: &[Row] = &[
    row(
        "failoverTimeMillis",
        Kind::Millis(at!(lease.failover_time), Zero::Default),
        Value("10000"),
    ),
    row(
        "leaseAssignmentIntervalMillis",
        Kind::MaybeMillis(at!(lease.lease_assignment_interval), Zero::Default),
        Means("(2 x failoverTimeMillis)"),
    )
    .show(|c| Some(ms(c.lease_assignment_interval())))
    .bridge(Bridge::Always(own(
        "no effect: kcl-bridge takes leases as a KCL 2.x worker does, every \
         2 x (failoverTimeMillis + 25 ms)",
        "not used: kcl-bridge takes leases every 2 x (failoverTimeMillis + 25 ms)",
    ))),
    row(
        "shardSyncIntervalMillis",
        Kind::Millis(at!(lease.shard_sync_interval), Zero::Default),
        Value("60000"),
    ),
    row(
        "cleanupLeasesUponShardCompletion",
        Kind::Flag(at!(lease.cleanup_leases_upon_shard_completion)),
        Value("true"),
    )
    .bridge(Bridge::When(|c| {
        (!c.lease.cleanup_leases_upon_shard_completion).then_some(own(
            "false is honoured: leases of finished shards are kept (Java ignores false and cleans \
             them up)",
            "honoured: finished shards keep their leases (Java would delete them)",
        ))
    })),
    row(
        "ignoreUnexpectedChildShards",
        Kind::Flag(at!(lease.ignore_unexpected_child_shards)),
        Value("false"),
    ),
    row(
        "maxLeasesForWorker",
        Kind::Count {
            at: at!(lease.max_leases_for_worker),
            what: "an integer",
            max: INT_MAX,
        },
        Value("2147483647"),
    ),
    row(
        "maxLeasesToStealAtOneTime",
        Kind::Count {
            at: at!(lease.max_leases_to_steal_at_one_time),
            what: "an integer",
            max: INT_MAX,
        },
        Value("1"),
    )
    .bridge(Bridge::When(steal_in_3x)),
    row(
        "enablePriorityLeaseAssignment",
        Kind::Flag(at!(lease.enable_priority_lease_assignment)),
        Value("true"),
    )
    .bridge(Bridge::When(steal_in_3x)),
    row(
        "initialLeaseTableReadCapacity",
        Kind::Count {
            at: at!(lease.initial_lease_table_read_capacity),
            what: "an integer",
            max: INT_MAX,
        },
        Value("10"),
    )
    .bridge(Bridge::Always(PROVISIONED_ONLY)),
    row(
        "initialLeaseTableWriteCapacity",
        Kind::Count {
            at: at!(lease.initial_lease_table_write_capacity),
            what: "an integer",
            max: INT_MAX,
        },
        Value("10"),
    )
    .bridge(Bridge::Always(PROVISIONED_ONLY)),
    row(
        "leaseTableDeletionProtectionEnabled",
        Kind::Flag(at!(lease.lease_table_deletion_protection_enabled)),
        Value("false"),
    ),
    row(
        "leaseTablePitrEnabled",
        Kind::Flag(at!(lease.lease_table_pitr_enabled)),
        Value("false"),
    )
    .bridge(Bridge::When(|c| {
        c.lease.lease_table_pitr_enabled.then_some(own(
            "switched on only for a lease table kcl-bridge creates (Java updates an existing \
             table at every start)",
            "only for a lease table kcl-bridge creates",
        ))
    })),
    row(
        "maxLeaseRenewalThreads",
        Kind::Count {
            at: at!(lease.max_lease_renewal_threads),
            what: "an integer",
            max: INT_MAX,
        },
        Value("20"),
    )
    .bridge(Bridge::Always(own(
        "accepted and ignored: lease renewals are asynchronous",
        "not used: renewals are asynchronous",
    ))),
    // DynamoDB allows at most a million segments.
    row(
        "leaseTableScanTotalSegments",
        Kind::MaybeCount {
            at: at!(lease.lease_table_scan_total_segments),
            what: "a number of scan segments",
            max: 1_000_000,
            zero: Zero::Off,
        },
        Means("(automatic)"),
    )
    .bridge(Bridge::When(|c| {
        c.lease
            .lease_table_scan_total_segments
            .is_none()
            .then_some(own(
                "automatic: kcl-bridge scans the lease table in one segment",
                "kcl-bridge scans in one segment",
            ))
    })),
    row(
        "listShardsBackoffTimeInMillis",
        Kind::Millis(at!(lease.list_shards_backoff_time), Zero::Default),
        Value("1500"),
    ),
    row(
        "maxListShardsRetryAttempts",
        Kind::Count {
            at: at!(lease.max_list_shards_retry_attempts),
            what: "an integer",
            max: INT_MAX,
        },
        Value("50"),
    ),
];

const COORDINATOR: &[Row] = &[
    row(
        "parentShardPollIntervalMillis",
        Kind::Millis(at!(coordinator.parent_shard_poll_interval), Zero::Default),
        Value("10000"),
    ),
    row(
        "skipShardSyncAtWorkerInitializationIfLeasesExist",
        Kind::Flag(at!(
            coordinator.skip_shard_sync_at_worker_initialization_if_leases_exist
        )),
        Value("false"),
    ),
    row(
        "schedulerInitializationBackoffTimeMillis",
        Kind::Millis(
            at!(coordinator.scheduler_initialization_backoff_time),
            Zero::Default,
        ),
        Value("1000"),
    ),
    row(
        "shardPrioritization",
        Kind::Text(at!(coordinator.shard_prioritization)),
        Means("(none)"),
    )
    .bridge(Bridge::Always(own(
        "cannot be set from a properties file (Java fails at startup with \"Default conversion to \
         ShardPrioritization failed\"); ignored",
        "not used (Java fails at start when it is set)",
    ))),
    row(
        "clientVersionConfig",
        Kind::Choice(&at!(coordinator.client_version_config)),
        Value("CLIENT_VERSION_CONFIG_3X"),
    )
    .bridge(Bridge::When(client_version)),
    row(
        "migrateAllEntitiesToLeaseTable",
        Kind::Flag(at!(coordinator.migrate_all_entities_to_lease_table)),
        Value("false"),
    )
    .bridge(Bridge::Always(MIGRATION)),
    // Clamped to [1 h, 7 days] by `derive`.
    row(
        "tableMigrationCompleteBakeTimeSeconds",
        Kind::Seconds(
            at!(coordinator.table_migration_complete_bake_time),
            Zero::Default,
        ),
        Value("86400"),
    )
    .bridge(Bridge::Always(MIGRATION)),
    row(
        "taskBackoffTimeMillis",
        Kind::Millis(at!(lifecycle.task_backoff_time), Zero::Default),
        Value("500"),
    ),
    row(
        "logWarningForTaskAfterMillis",
        Kind::MaybeMillis(at!(lifecycle.log_warning_for_task_after), Zero::Value),
        Means("(not set)"),
    ),
    row(
        "callProcessRecordsEvenForEmptyRecordList",
        Kind::Flag(at!(call_process_records_even_for_empty_record_list)),
        Value("false"),
    ),
];

const METRICS: &[Row] = &[
    row(
        "metricsBufferTimeMillis",
        Kind::Millis(at!(metrics.buffer_time), Zero::Default),
        Value("10000"),
    )
    .bridge(Bridge::When(no_metrics)),
    row(
        "metricsMaxQueueSize",
        Kind::Count {
            at: at!(metrics.max_queue_size),
            what: "an integer",
            max: INT_MAX,
        },
        Value("10000"),
    )
    .bridge(Bridge::When(no_metrics)),
    row(
        "metricsLevel",
        Kind::Choice(&at!(metrics.level)),
        Value("DETAILED"),
    )
    .bridge(Bridge::When(no_metrics)),
    row(
        "metricsEnabledDimensions",
        Kind::Dimensions(at!(metrics.enabled_dimensions)),
        Value("ALL"),
    )
    .bridge(Bridge::When(no_metrics)),
];

/// The five keys whose non-zero value makes `retrievalMode = DEFAULT` choose polling.
pub(super) const POLLING: &[Row] = &[
    row(
        "maxRecords",
        Kind::Count {
            at: at!(max_records),
            what: "an integer number of records",
            max: 10_000,
        },
        Value("10000"),
    )
    .bridge(Bridge::When(polls_under_fanout)),
    // Raised to 200 ms by `derive`.
    row(
        "idleTimeBetweenReadsInMillis",
        Kind::Millis(at!(polling.idle_time_between_reads), Zero::Default),
        Value("1500"),
    )
    .bridge(Bridge::When(polls_under_fanout)),
    row(
        "millisBehindLatestThresholdForReducedTps",
        Kind::MaybeMillis(
            at!(polling.millis_behind_latest_threshold_for_reduced_tps),
            Zero::Off,
        ),
        Means("0 (off)"),
    )
    .bridge(Bridge::When(polls_under_fanout)),
    row(
        "retryGetRecordsInSeconds",
        Kind::MaybeCount {
            at: at!(polling.retry_get_records_in_seconds),
            what: "an integer",
            max: INT_MAX,
            zero: Zero::Value,
        },
        Means("(not set)"),
    )
    .bridge(Bridge::Always(NOT_READ)),
    row(
        "maxGetRecordsThreadPool",
        Kind::MaybeCount {
            at: at!(polling.max_get_records_thread_pool),
            what: "an integer",
            max: INT_MAX,
            zero: Zero::Value,
        },
        Means("(not set)"),
    )
    .bridge(Bridge::Always(NOT_READ)),
];

const FANOUT: &[Row] = &[
    row(
        "fanoutConfig.consumerArn",
        Kind::Text(at!(fanout.consumer_arn)),
        Means("(not set: register or describe by name)"),
    )
    .bridge(Bridge::When(fanout_keys)),
    row(
        "fanoutConfig.consumerName",
        Kind::Text(at!(fanout.consumer_name)),
        Means("(applicationName)"),
    )
    .show(|c| Some(c.consumer_name().to_owned()))
    .bridge(Bridge::When(fanout_keys)),
    row(
        "fanoutConfig.maxDescribeStreamSummaryRetries",
        Kind::Count {
            at: at!(fanout.max_describe_stream_summary_retries),
            what: "an integer",
            max: INT_MAX,
        },
        Value("10"),
    )
    .bridge(Bridge::When(fanout_keys)),
    row(
        "fanoutConfig.maxDescribeStreamConsumerRetries",
        Kind::Count {
            at: at!(fanout.max_describe_stream_consumer_retries),
            what: "an integer",
            max: INT_MAX,
        },
        Value("10"),
    )
    .bridge(Bridge::When(fanout_keys)),
    row(
        "fanoutConfig.registerStreamConsumerRetries",
        Kind::Count {
            at: at!(fanout.register_stream_consumer_retries),
            what: "an integer",
            max: INT_MAX,
        },
        Value("10"),
    )
    .bridge(Bridge::When(fanout_keys)),
    row(
        "fanoutConfig.retryBackoffMillis",
        Kind::Millis(at!(fanout.retry_backoff), Zero::Default),
        Value("1000"),
    )
    .bridge(Bridge::When(fanout_keys)),
];

const KCL3: &[Row] = &[
    row(
        "gracefulLeaseHandoffTimeoutMillis",
        Kind::Millis(at!(graceful_handoff.timeout), Zero::Value),
        Value("30000"),
    )
    .bridge(Bridge::Always(KCL3_BALANCING)),
    row(
        "isGracefulLeaseHandoffEnabled",
        Kind::Flag(at!(graceful_handoff.enabled)),
        Value("true"),
    )
    .bridge(Bridge::Always(KCL3_BALANCING)),
    row(
        "inMemoryWorkerMetricsCaptureFrequencyMillis",
        Kind::Millis(
            at!(worker_utilization.in_memory_worker_metrics_capture_frequency),
            Zero::Default,
        ),
        Value("1000"),
    )
    .bridge(Bridge::Always(KCL3_BALANCING)),
    row(
        "workerMetricsReporterFreqInMillis",
        Kind::Millis(
            at!(worker_utilization.worker_metrics_reporter_freq),
            Zero::Default,
        ),
        Value("30000"),
    )
    .bridge(Bridge::Always(own(
        "kcl-bridge reports no worker metrics; at start it waits up to two of these periods to \
         see whether a Java 3.x worker still reports",
        "kcl-bridge reports none; it waits up to two periods at start for Java 3.x workers",
    ))),
    row(
        "noOfPersistedMetricsPerWorkerMetrics",
        Kind::Count {
            at: at!(worker_utilization.no_of_persisted_metrics_per_worker_metrics),
            what: "an integer",
            max: INT_MAX,
        },
        Value("10"),
    )
    .bridge(Bridge::Always(KCL3_BALANCING)),
    row(
        "disableWorkerMetrics",
        Kind::Flag(at!(worker_utilization.disable_worker_metrics)),
        Value("false"),
    )
    .bridge(Bridge::Always(KCL3_BALANCING)),
    row(
        "maxThroughputPerHostKBps",
        Kind::MaybeDecimal(
            at!(worker_utilization.max_throughput_per_host_kbps),
            f64::MAX,
        ),
        Means("(unlimited)"),
    )
    .bridge(Bridge::Always(KCL3_BALANCING)),
    row(
        "dampeningPercentage",
        Kind::Count {
            at: at!(worker_utilization.dampening_percentage),
            what: "an integer",
            max: 100,
        },
        Value("60"),
    )
    .bridge(Bridge::Always(KCL3_BALANCING)),
    row(
        "reBalanceThresholdPercentage",
        Kind::Count {
            at: at!(worker_utilization.re_balance_threshold_percentage),
            what: "an integer",
            max: INT_MAX,
        },
        Value("10"),
    )
    .bridge(Bridge::Always(KCL3_BALANCING)),
    row(
        "allowThroughputOvershoot",
        Kind::Flag(at!(worker_utilization.allow_throughput_overshoot)),
        Value("true"),
    )
    .bridge(Bridge::Always(KCL3_BALANCING)),
    row(
        "varianceBalancingFrequency",
        Kind::Count {
            at: at!(worker_utilization.variance_balancing_frequency),
            what: "an integer",
            max: INT_MAX,
        },
        Value("3"),
    )
    .bridge(Bridge::Always(KCL3_BALANCING)),
    row(
        "workerMetricsEMAAlpha",
        Kind::Decimal(at!(worker_utilization.worker_metrics_ema_alpha), 1.0),
        Value("0.5"),
    )
    .bridge(Bridge::Always(KCL3_BALANCING)),
    row(
        "staleWorkerMetricsEntryCleanupDuration",
        Kind::Iso(at!(
            worker_utilization.stale_worker_metrics_entry_cleanup_duration
        )),
        Value("P1D"),
    )
    .bridge(Bridge::Always(KCL3_BALANCING)),
];

const KCL3_TABLES: &[Row] = &[
    row(
        "workerMetricsTableName",
        Kind::Text(at!(worker_metrics_table.table_name)),
        Means("(<applicationName>-WorkerMetricStats)"),
    )
    .show(|c| Some(c.worker_metrics_table_name()))
    .bridge(Bridge::Always(KCL3_TABLE_READ)),
    row(
        "workerMetricsBillingMode",
        Kind::Choice(&at!(worker_metrics_table.billing_mode)),
        Value("PAY_PER_REQUEST"),
    )
    .bridge(Bridge::Always(KCL3_TABLE_UNUSED)),
    row(
        "workerMetricsReadCapacity",
        Kind::Capacity(at!(worker_metrics_table.read_capacity)),
        Value("0"),
    )
    .bridge(Bridge::Always(KCL3_TABLE_UNUSED)),
    row(
        "workerMetricsWriteCapacity",
        Kind::Capacity(at!(worker_metrics_table.write_capacity)),
        Value("0"),
    )
    .bridge(Bridge::Always(KCL3_TABLE_UNUSED)),
    row(
        "workerMetricsPointInTimeRecoveryEnabled",
        Kind::Flag(at!(worker_metrics_table.point_in_time_recovery_enabled)),
        Value("false"),
    )
    .bridge(Bridge::Always(KCL3_TABLE_UNUSED)),
    row(
        "workerMetricsDeletionProtectionEnabled",
        Kind::Flag(at!(worker_metrics_table.deletion_protection_enabled)),
        Value("false"),
    )
    .bridge(Bridge::Always(KCL3_TABLE_UNUSED)),
    row(
        "workerMetricsTags",
        Kind::Tags(at!(worker_metrics_table.tags)),
        Means("(none)"),
    )
    .bridge(Bridge::Always(KCL3_TABLE_UNUSED)),
    row(
        "coordinatorStateTableName",
        Kind::Text(at!(coordinator_state_table.table_name)),
        Means("(<applicationName>-CoordinatorState)"),
    )
    .show(|c| Some(c.coordinator_state_table_name()))
    .bridge(Bridge::Always(KCL3_TABLE_READ)),
    row(
        "coordinatorStateBillingMode",
        Kind::Choice(&at!(coordinator_state_table.billing_mode)),
        Value("PAY_PER_REQUEST"),
    )
    .bridge(Bridge::Always(KCL3_TABLE_UNUSED)),
    row(
        "coordinatorStateReadCapacity",
        Kind::Capacity(at!(coordinator_state_table.read_capacity)),
        Value("0"),
    )
    .bridge(Bridge::Always(KCL3_TABLE_UNUSED)),
    row(
        "coordinatorStateWriteCapacity",
        Kind::Capacity(at!(coordinator_state_table.write_capacity)),
        Value("0"),
    )
    .bridge(Bridge::Always(KCL3_TABLE_UNUSED)),
    row(
        "coordinatorStatePointInTimeRecoveryEnabled",
        Kind::Flag(at!(coordinator_state_table.point_in_time_recovery_enabled)),
        Value("false"),
    )
    .bridge(Bridge::Always(KCL3_TABLE_UNUSED)),
    row(
        "coordinatorStateDeletionProtectionEnabled",
        Kind::Flag(at!(coordinator_state_table.deletion_protection_enabled)),
        Value("false"),
    )
    .bridge(Bridge::Always(KCL3_TABLE_UNUSED)),
    row(
        "coordinatorStateTags",
        Kind::Tags(at!(coordinator_state_table.tags)),
        Means("(none)"),
    )
    .bridge(Bridge::Always(KCL3_TABLE_UNUSED)),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The note says the grace the daemon gives.
    #[test]
    fn the_shutdown_note_names_the_default_grace() {
        let secs = format!("{} s", DEFAULT_SHUTDOWN_GRACE.as_secs());
        assert!(GRACE_ZERO.text.contains(&secs) && GRACE_ZERO.brief.contains(&secs));
    }

    /// A note shared by several keys is declared once, and one that is not is not.
    #[test]
    fn shared_notes_are_shared() {
        let mut uses: Vec<(Note, usize)> = Vec::new();
        for row in rows() {
            if let Bridge::Always(note) = row.bridge {
                match uses.iter_mut().find(|(n, _)| *n == note) {
                    Some((_, count)) => *count += 1,
                    None => uses.push((note, 1)),
                }
            }
        }
        for (note, count) in uses {
            assert_eq!(note.shared, count > 1, "{}", note.text);
        }
        assert!(row_of("failoverTimeMillis").is_some() && row_of("nope").is_none());
    }
}

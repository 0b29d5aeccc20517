//! The `.properties` file the Java MultiLangDaemon reads, parsed into a typed [`Config`].
//!
//! Two stages: a lossless reader that keeps each entry's key, value and line number, then a typed
//! `Config` built from all entries, collecting every problem before failing. This module does no
//! I/O beyond reading the one file it is given, and never reads the environment or AWS.
//!
//! SKELETON: the full key set lands with the configuration work; the public API below is fixed.

pub mod lexer;

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where a shard without a checkpoint starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialPosition {
    TrimHorizon,
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

/// The typed configuration. Field names follow the properties keys.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub source: PathBuf,
    pub executable_name: String,
    pub application_name: String,
    pub stream_name: String,
    pub initial_position: InitialPosition,
    /// `maxRecords`, 1..=10000, default 10000.
    pub max_records: u32,
    /// `timeoutInSeconds`; `None` = wait for ever (Java's default).
    pub timeout: Option<Duration>,
    /// `shutdownGraceMillis`.
    pub shutdown_grace: Duration,
    pub call_process_records_even_for_empty_record_list: bool,
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
}

/// Something worth telling the user that does not stop the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

/// A configuration that loaded, with the warnings found on the way.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<ConfigWarning>,
}

/// One problem in the file: the key, its line, the bad value and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<usize>,
    pub key: String,
    pub value: Option<String>,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read properties file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} has {} problem(s)", path.display(), problems.len())]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

/// Reads and validates a properties file.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &bytes)
}

/// Parses the bytes of a properties file; `path` is used in messages only.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Loaded, ConfigError> {
    let mut map = std::collections::HashMap::new();
    let text = String::from_utf8_lossy(bytes);
    for line in java_properties::PropertiesIter::new(text.as_bytes()) {
        let line = line.map_err(|e| ConfigError::Invalid {
            path: path.to_owned(),
            problems: vec![Problem {
                line: Some(e.line_number().unwrap_or(0)),
                key: String::new(),
                value: None,
                message: e.to_string(),
            }],
        })?;
        if let java_properties::LineContent::KVPair(k, v) = line.consume_content() {
            map.insert(k, v);
        }
    }
    let get = |k: &str| map.get(k).cloned();
    let executable_name = get("executableName").ok_or_else(|| ConfigError::Invalid {
        path: path.to_owned(),
        problems: vec![Problem {
            line: None,
            key: "executableName".into(),
            value: None,
            message: "required key is missing".into(),
        }],
    })?;
    Ok(Loaded {
        config: Config {
            source: path.to_owned(),
            executable_name,
            application_name: get("applicationName").unwrap_or_default(),
            stream_name: get("streamName").unwrap_or_default(),
            initial_position: InitialPosition::TrimHorizon,
            max_records: get("maxRecords")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(10_000),
            timeout: get("timeoutInSeconds")
                .and_then(|v| v.trim().parse().ok())
                .map(Duration::from_secs),
            shutdown_grace: Duration::ZERO,
            call_process_records_even_for_empty_record_list: false,
        },
        warnings: vec![],
    })
}

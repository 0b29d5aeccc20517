//! A record of every protocol line exchanged with children, as JSON lines:
//! `{"shard":"shardId-000000000000","direction":"to_child","line":"{\"action\":...}"}`.
//!
//! Written by `replay --transcript FILE`; the golden files in `protocol-fixtures/` have this form.
//! Lines are recorded in the order the daemon queued (to the child) or read (from the child) them.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    ToChild,
    FromChild,
}

/// One transcript line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub shard: String,
    pub direction: Direction,
    /// The line without its terminator; child output that is not UTF-8 is decoded lossily.
    pub line: String,
}

/// A shared, append-only transcript file. Cloning shares the file.
#[derive(Clone)]
pub struct Transcript {
    out: Arc<Mutex<BufWriter<File>>>,
}

impl std::fmt::Debug for Transcript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Transcript")
    }
}

impl Transcript {
    pub fn create(path: &Path) -> std::io::Result<Transcript> {
        Ok(Transcript {
            out: Arc::new(Mutex::new(BufWriter::new(File::create(path)?))),
        })
    }

    /// Appends one line. A failing transcript write is logged, never fatal to a shard.
    pub fn record(&self, shard: &str, direction: Direction, line: &[u8]) {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let entry = Entry {
            shard: shard.to_owned(),
            direction,
            line: String::from_utf8_lossy(line).into_owned(),
        };
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let written = serde_json::to_writer(&mut *out, &entry)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"));
        if let Err(e) = written {
            tracing::warn!(error = %e, "cannot write the transcript");
        }
    }

    pub fn flush(&self) -> std::io::Result<()> {
        self.out.lock().unwrap_or_else(|p| p.into_inner()).flush()
    }
}

/// Reads a transcript file back.
pub fn read(path: &Path) -> std::io::Result<Vec<Entry>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(std::io::Error::from))
        .collect()
}

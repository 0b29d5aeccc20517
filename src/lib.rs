//! kcl-bridge: a native replacement for the Java KCL MultiLangDaemon.
//!
//! See `ARCHITECTURE.md` for the codemap and the invariants.

pub mod aws;
pub mod checkpoint;
pub mod child;
pub mod cli;
pub mod config;
pub mod lease;
pub mod protocol;
pub mod replay;
pub mod retrieval;
pub mod transcript;
pub mod worker;

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
pub mod sdk_error;
#[cfg(test)]
mod testkit;
pub mod transcript;
pub mod worker;

/// `head`, then each cause in `source`'s chain after a `: `, leaving out a cause the text already
/// quotes (error types that print their source in their own message would repeat it).
pub(crate) fn with_causes(
    mut head: String,
    mut source: Option<&(dyn std::error::Error + 'static)>,
) -> String {
    while let Some(s) = source {
        let part = s.to_string();
        if !head.contains(&part) {
            head.push_str(": ");
            head.push_str(&part);
        }
        source = s.source();
    }
    head
}

//! [`Config::effective_settings`]: every key's effective value, with what kcl-bridge does
//! instead where that differs from Java, for `check` to print; and
//! [`Config::non_default_settings`], what a file changes, for the daemon's start-up log. Both
//! come from the key table. No I/O.
//!
//! Values are written in the properties syntax (milliseconds as integers, enums by their Java
//! names); derived defaults are marked. Credentials show provider names only
//! (`Name|<redacted>`).

use std::fmt;

use super::table::{self, Row};
use super::{Config, Credentials, CredentialsSpec};

/// One key's effective value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// Section of the key table the key belongs to (`Lease management`, …).
    pub section: &'static str,
    pub key: &'static str,
    /// The value Java's rules give this file.
    pub value: String,
    /// What kcl-bridge does instead, where it does not do what the value says.
    pub note: Option<&'static str>,
}

impl fmt::Display for Setting {
    /// `key = value`, and `  # note` when there is one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {}", self.key, self.value)?;
        if let Some(note) = self.note {
            write!(f, "  # {note}")?;
        }
        Ok(())
    }
}

impl Config {
    /// Every key of the table, in its order, with its effective value. Secret-bearing values
    /// are redacted.
    pub fn effective_settings(&self) -> Vec<Setting> {
        table::SECTIONS
            .iter()
            .flat_map(|section| {
                section
                    .rows
                    .iter()
                    .map(move |row| self.setting(section.title, row))
            })
            .collect()
    }

    /// The effective settings as `check` prints them: under a `# Section` line each, one
    /// [`Setting`] a line.
    pub fn settings_report(&self) -> String {
        let mut out = String::new();
        let mut section = "";
        for s in self.effective_settings() {
            if s.section != section {
                section = s.section;
                out.push_str(&format!("\n# {section}\n"));
            }
            out.push_str(&format!("{s}\n"));
        }
        out
    }

    fn setting(&self, section: &'static str, row: &Row) -> Setting {
        Setting {
            section,
            key: row.name,
            value: row.value(self),
            note: row.bridge.note(self).map(|n| n.brief),
        }
    }

    /// The effective settings that differ from what the same file with only its required keys
    /// would give: what this file changes (Java silently drops some of them, so the log says
    /// which were applied). Required keys, which have no default, are left out.
    pub fn non_default_settings(&self) -> Vec<(String, String)> {
        let defaults = self.with_defaults().effective_settings();
        self.effective_settings()
            .into_iter()
            .filter(|s| {
                let required = table::row_of(s.key)
                    .is_some_and(|r| matches!(r.default, table::Unset::Required));
                !required
                    && defaults
                        .iter()
                        .any(|d| d.key == s.key && d.value != s.value)
            })
            .map(|s| (s.key.to_owned(), s.value))
            .collect()
    }

    /// The table's defaults with this configuration's required values (so that what derives
    /// from them, such as table names, is no change).
    fn with_defaults(&self) -> Config {
        let mut defaults = super::build::defaults();
        defaults.executable_name.clone_from(&self.executable_name);
        defaults.application_name.clone_from(&self.application_name);
        defaults.stream_name.clone_from(&self.stream_name);
        defaults.stream_arn.clone_from(&self.stream_arn);
        let kinesis = &self.credentials.kinesis;
        let inherited = CredentialsSpec {
            inherited: true,
            ..kinesis.clone()
        };
        defaults.credentials = Credentials {
            kinesis: kinesis.clone(),
            dynamodb: inherited.clone(),
            cloudwatch: inherited,
        };
        defaults
    }
}

//! Stage two: lexed entries → typed [`Config`], collecting every problem and warning.
//!
//! Groups the entries by the setting they name (aliases, conflicts, duplicates, unknown keys),
//! starts from the key table's defaults, stores each key the table can read on its own
//! (`read`), then applies the rules that span keys (`derive`) and warns about the keys the file
//! sets that kcl-bridge treats differently from Java (the table's `bridge` column). Pure: no
//! I/O, no environment, no logging, no panics; never puts a credentials value into a warning or
//! problem.

use std::collections::HashMap;
use std::path::Path;

use super::keys::{self, KeyClass};
use super::lexer::{self, Encoding};
use super::table::{self, Kind, Note, Unset};
use super::*;

/// The entry chosen for one setting.
#[derive(Debug, Clone)]
pub(super) struct Chosen {
    /// The key as written.
    pub(super) key: String,
    pub(super) line: usize,
    /// Value with unescaped trailing whitespace removed.
    pub(super) value: String,
    /// Credentials value: never shown.
    pub(super) secret: bool,
}

#[derive(Default)]
pub(super) struct Builder {
    chosen: HashMap<&'static str, Chosen>,
    /// Nested client keys we ignore, by client prefix.
    pub(super) ignored_client_keys: HashMap<&'static str, Vec<String>>,
    pub(super) problems: Vec<Problem>,
    pub(super) warnings: Vec<ConfigWarning>,
}

impl Builder {
    pub(super) fn warn(
        &mut self,
        line: Option<usize>,
        key: Option<&str>,
        message: impl Into<String>,
    ) {
        self.warnings.push(ConfigWarning {
            line,
            key: key.map(str::to_owned),
            message: message.into(),
        });
    }

    pub(super) fn problem_at(&mut self, c: &Chosen, message: impl Into<String>) {
        self.problems.push(Problem {
            line: Some(c.line),
            key: c.key.clone(),
            value: (!c.secret).then(|| c.value.clone()),
            message: message.into(),
        });
    }

    /// A required key is absent, unless a problem was already reported for it (an entry that
    /// failed to lex is "absent" too, and one message per key is enough).
    pub(super) fn missing(&mut self, key: &str, message: String) {
        if self.problems.iter().any(|p| p.key == key) {
            return;
        }
        self.problems.push(Problem {
            line: None,
            key: key.to_owned(),
            value: None,
            message,
        });
    }

    /// The entry the file gives for a setting (by its canonical key).
    pub(super) fn get(&self, key: &str) -> Option<Chosen> {
        self.chosen.get(key).cloned()
    }

    /// Groups entries by setting, reports duplicates, conflicts and unknown keys.
    fn collect(&mut self, entries: Vec<lexer::Entry>, options: Options) {
        // canonical → entries in file order
        let mut groups: Vec<(&'static str, Vec<Chosen>)> = Vec::new();
        for e in entries {
            let class = keys::classify(&e.key);
            let secret = matches!(class, KeyClass::Credentials(_));
            if e.has_trailing_whitespace() {
                self.warn(
                    Some(e.line),
                    Some(&e.key),
                    "trailing whitespace removed from the value (Java keeps it, which breaks \
                     booleans, enums and names)",
                );
            }
            let value = e.trimmed_value().to_owned();
            if !secret && value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
                self.warn(
                    Some(e.line),
                    Some(&e.key),
                    "the quotes are part of the value (Java does not remove them)",
                );
            }
            let Some(canonical) = self.setting_of(&e, class, options) else {
                continue;
            };
            let chosen = Chosen {
                key: e.key,
                line: e.line,
                value,
                secret,
            };
            match groups.iter_mut().find(|(c, _)| *c == canonical) {
                Some((_, v)) => v.push(chosen),
                None => groups.push((canonical, vec![chosen])),
            }
        }
        for (canonical, items) in groups {
            if let Some(c) = self.resolve_group(canonical, items) {
                self.chosen.insert(canonical, c);
            }
        }
        self.cross_key_conflicts();
    }

    /// The setting an entry sets, or `None` for a key that sets nothing (warned or reported).
    fn setting_of(
        &mut self,
        e: &lexer::Entry,
        class: KeyClass,
        options: Options,
    ) -> Option<&'static str> {
        let at = Some(e.line);
        match class {
            KeyClass::Setting { canonical, note } => {
                if let Some(note) = note {
                    self.warn(at, Some(&e.key), note);
                }
                Some(canonical)
            }
            KeyClass::Credentials(target) => Some(target.key()),
            KeyClass::IgnoredClientKey => {
                let prefix = keys::CLIENT_PREFIXES
                    .iter()
                    .copied()
                    .find(|p| e.key.starts_with(p))
                    .unwrap_or("kinesisClient.");
                self.warn(
                    at,
                    Some(&e.key),
                    "nested client setting not supported by kcl-bridge (only region and \
                     endpointOverride are); ignored",
                );
                self.ignored_client_keys
                    .entry(prefix)
                    .or_default()
                    .push(e.key.clone());
                None
            }
            KeyClass::Ignored(why) => {
                self.warn(at, Some(&e.key), why);
                None
            }
            KeyClass::Rejected(message) => {
                self.problems.push(Problem {
                    line: at,
                    key: e.key.clone(),
                    value: None,
                    message,
                });
                None
            }
            KeyClass::Unknown { suggestion } => {
                self.unknown(e, suggestion, options);
                None
            }
        }
    }

    /// An unknown key: a warning, or with `--strict` a problem.
    fn unknown(&mut self, e: &lexer::Entry, suggestion: Option<&str>, options: Options) {
        let mut message = if options.strict_unknown_keys {
            "unknown key (an error with --strict; Java ignores it silently)".to_owned()
        } else {
            "unknown key, ignored (Java ignores it silently)".to_owned()
        };
        if let Some(s) = suggestion {
            message.push_str(&format!("; did you mean {s}?"));
        }
        if options.strict_unknown_keys {
            self.problems.push(Problem {
                line: Some(e.line),
                key: e.key.clone(),
                value: None,
                message,
            });
        } else {
            self.warn(Some(e.line), Some(&e.key), message);
        }
    }

    /// Same key repeated → last wins (warning); different spellings → conflict.
    fn resolve_group(&mut self, canonical: &str, items: Vec<Chosen>) -> Option<Chosen> {
        let mut distinct: Vec<(Chosen, Vec<usize>)> = Vec::new();
        for item in items {
            match distinct.iter_mut().find(|(c, _)| c.key == item.key) {
                Some((c, lines)) => {
                    lines.push(item.line);
                    *c = item;
                }
                None => {
                    let line = item.line;
                    distinct.push((item, vec![line]));
                }
            }
        }
        for (c, lines) in &distinct {
            if lines.len() > 1 {
                let list = lines
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                self.warn(
                    Some(c.line),
                    Some(&c.key),
                    format!(
                        "set {} times (lines {list}); the last one wins, as in Java",
                        lines.len()
                    ),
                );
            }
        }
        distinct.sort_by_key(|(c, _)| c.line);
        let mut iter = distinct.into_iter().map(|(c, _)| c);
        let first = iter.next()?;
        let mut last = first.clone();
        for other in iter {
            self.spelling_conflict(canonical, &first, &other);
            last = other;
        }
        Some(last)
    }

    /// `other` sets the same thing as `first` under another spelling.
    fn spelling_conflict(&mut self, canonical: &str, first: &Chosen, other: &Chosen) {
        if other.secret {
            self.problem_at(
                other,
                format!(
                    "conflicts with {} on line {}: both set the same credentials (Java fails with \
                     \"When a property handler is resolved further properties may not be set\"); \
                     keep one",
                    first.key, first.line
                ),
            );
        } else if other.value == first.value {
            self.warn(
                Some(other.line),
                Some(&other.key),
                format!(
                    "sets {canonical} like {} on line {}; redundant, keep one",
                    first.key, first.line
                ),
            );
        } else {
            self.problem_at(
                other,
                format!(
                    "conflicts with {} = \"{}\" on line {}: both set {canonical} (Java's outcome \
                     depends on hash order); keep one",
                    first.key,
                    first.value.escape_debug(),
                    first.line
                ),
            );
        }
    }

    fn cross_key_conflicts(&mut self) {
        if let (Some(a), Some(b)) = (
            self.get("initialPositionInStream"),
            self.get("initialPositionInStreamExtended"),
        ) {
            let (first, second) = if a.line <= b.line { (a, b) } else { (b, a) };
            self.problem_at(
                &second,
                format!(
                    "conflicts with {} on line {}: both set the initial position (Java's outcome \
                     depends on hash order); keep one",
                    first.key, first.line
                ),
            );
        }
        if let Some(region) = self.get("regionName") {
            for k in [
                "kinesisClient.region",
                "dynamoDbClient.region",
                "cloudWatchClient.region",
            ] {
                if let Some(c) = self.get(k) {
                    if c.value != region.value {
                        self.problem_at(
                            &c,
                            format!(
                                "conflicts with regionName = \"{}\" on line {}: both set this \
                                 client's region (Java's outcome depends on hash order); keep one",
                                region.value.escape_debug(),
                                region.line
                            ),
                        );
                    }
                }
            }
        }
    }

    /// Stores every key of the file that its row can read on its own.
    fn store_rows(&mut self, config: &mut Config) {
        for row in table::rows() {
            if matches!(row.kind, Kind::Rule) {
                continue;
            }
            let Some(c) = self.get(row.name) else {
                continue;
            };
            match read::store(row, config, &c.value) {
                Ok(warnings) => {
                    for w in warnings {
                        self.warn(Some(c.line), Some(&c.key), w);
                    }
                }
                Err(message) => self.problem_at(&c, message),
            }
        }
    }

    /// The table's notes for the keys this file sets: one warning per note, naming every key
    /// that shares it. Start-up notices are left to [`Config::startup_notices`].
    fn bridge_warnings(&mut self, config: &Config) {
        let mut notes: Vec<(Note, Vec<Chosen>)> = Vec::new();
        for row in table::rows() {
            if matches!(row.bridge, table::Bridge::Notice(_)) {
                continue;
            }
            let (Some(c), Some(note)) = (self.get(row.name), row.bridge.note(config)) else {
                continue;
            };
            match notes.iter_mut().find(|(n, _)| *n == note) {
                Some((_, entries)) => entries.push(c),
                None => notes.push((note, vec![c])),
            }
        }
        for (note, mut entries) in notes {
            entries.sort_by_key(|c| c.line);
            let line = entries.first().map(|c| c.line);
            if note.shared {
                let names: Vec<&str> = entries.iter().map(|c| c.key.as_str()).collect();
                self.warn(line, None, format!("{}: {}", names.join(", "), note.text));
            } else if let Some(c) = entries.first() {
                self.warn(line, Some(&c.key), note.text);
            }
        }
    }
}

/// The table's defaults, and what derives from them: the configuration of a file that sets
/// nothing (its required values empty).
pub(super) fn defaults() -> Config {
    let mut config = Config::default();
    for row in table::rows() {
        if let (Unset::Value(text), false) = (row.default, matches!(row.kind, Kind::Rule)) {
            // The table's defaults are valid values (a unit test reads each one).
            read::store(row, &mut config, text).unwrap_or_default();
        }
    }
    // Nothing set: the rules find only missing keys, whose problems are not wanted here.
    derive::apply(&mut Builder::default(), &mut config, Purpose::Consume);
    config
}

/// Entry point used by [`super::parse_with`].
pub(super) fn build(path: &Path, bytes: &[u8], options: Options) -> Result<Loaded, ConfigError> {
    let mut b = Builder::default();
    let decoded = lexer::decode(bytes);
    if let Encoding::Utf8 { first_line } = decoded.encoding {
        b.warn(
            Some(first_line),
            None,
            "the file contains UTF-8 text and is read as UTF-8; Java reads .properties files as \
             ISO-8859-1 and would see mojibake (write non-ASCII characters as \\uXXXX to be \
             portable)",
        );
    }
    let (entries, lex_errors) = lexer::lex(&decoded.text);
    for e in lex_errors {
        b.problems.push(Problem {
            line: Some(e.line),
            key: e.key.unwrap_or_default(),
            value: None,
            message: e.message,
        });
    }
    b.collect(entries, options);
    let mut config = defaults();
    config.source = path.to_owned();
    config.child_exit_grace = options
        .child_exit_grace
        .unwrap_or(super::DEFAULT_CHILD_EXIT_GRACE);
    b.store_rows(&mut config);
    derive::apply(&mut b, &mut config, options.purpose);
    b.bridge_warnings(&config);
    // File-level problems (missing keys) first, then by line; stable within a line.
    b.problems.sort_by_key(|p| p.line.unwrap_or(0));
    b.warnings.sort_by_key(|w| w.line.unwrap_or(0));
    if b.problems.is_empty() {
        Ok(Loaded {
            config,
            warnings: b.warnings,
        })
    } else {
        Err(ConfigError::Invalid {
            path: path.to_owned(),
            problems: b.problems,
        })
    }
}

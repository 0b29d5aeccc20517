//! Reading one value into its field, by the [`Kind`] its row in the key table gives: the strict
//! number, boolean, enum, region, endpoint, duration, tag and dimension rules. Used for the
//! file's values and for the table's defaults alike. Pure: no I/O, no logging.

use std::time::Duration;

use super::table::{Kind, Row, Unset, Zero};
use super::values::{self, RegionCheck};
use super::Config;

/// What reading a value found besides the value: warnings to give with its key and line.
pub(super) type Warnings = Vec<String>;

/// The warning for a 0 that Java drops in favour of the default.
pub(super) const ZERO_MEANS_DEFAULT: &str = "0 means \"use the KCL default\" here, as in Java";

const FLAG: &str = "a boolean (true/false, yes/no, on/off, 1/0)";
const MILLIS: &str = "an integer number of milliseconds";
const SECONDS: &str = "an integer number of seconds";

/// Stores `text` (trailing whitespace already removed) in the field of `row`. On success returns
/// the warnings; on failure the message of the problem, and the field keeps its value. A value
/// that means "not set" (empty text, or 0 where it means the default) leaves the field alone.
pub(super) fn store(row: &Row, config: &mut Config, text: &str) -> Result<Warnings, String> {
    let mut warnings = Vec::new();
    if text.is_empty() && !accepts_empty(&row.kind) {
        return Err(format!(
            "empty value: expected {}; remove the line to use the default",
            what(&row.kind)
        ));
    }
    let default = match row.default {
        Unset::Value(v) => v,
        Unset::Means(_) | Unset::Required => "",
    };
    match &row.kind {
        Kind::Rule => {}
        Kind::Text(at) => {
            if text.is_empty() {
                warnings.push("empty value; treated as not set".to_owned());
            } else {
                *(at.set)(config) = Some(text.to_owned());
            }
        }
        Kind::Flag(at) => *(at.set)(config) = flag(text)?,
        Kind::MaybeFlag(at) => *(at.set)(config) = Some(flag(text)?),
        Kind::Millis(at, zero) => {
            let range = Whole::from(whole(*zero), None, *zero, default);
            if let Some(n) = range.read(text, MILLIS, &mut warnings)? {
                *(at.set)(config) = millis(n);
            }
        }
        Kind::Seconds(at, zero) => {
            let range = Whole::from(whole(*zero), None, *zero, default);
            if let Some(n) = range.read(text, SECONDS, &mut warnings)? {
                *(at.set)(config) = Duration::from_secs(u64::try_from(n).unwrap_or(0));
            }
        }
        Kind::MaybeMillis(at, zero) => {
            let range = Whole::from(whole(*zero), None, *zero, default);
            if let Some(n) = range.read(text, MILLIS, &mut warnings)? {
                *(at.set)(config) = (n > 0 || *zero != Zero::Off).then(|| millis(n));
            }
        }
        Kind::Count { at, what, max } => {
            let range = Whole::from(1, Some(i64::from(*max)), Zero::Default, default);
            if let Some(n) = range.read(text, what, &mut warnings)? {
                *(at.set)(config) = u32::try_from(n).unwrap_or(*max);
            }
        }
        Kind::MaybeCount {
            at,
            what,
            max,
            zero,
        } => {
            let range = Whole::from(0, Some(i64::from(*max)), *zero, default);
            if let Some(n) = range.read(text, what, &mut warnings)? {
                let n = u32::try_from(n).unwrap_or(*max);
                *(at.set)(config) = (n > 0 || *zero != Zero::Off).then_some(n);
            }
        }
        Kind::Capacity(at) => {
            let range = Whole::from(0, None, Zero::Value, default);
            if let Some(n) = range.read(text, "an integer", &mut warnings)? {
                *(at.set)(config) = u64::try_from(n).unwrap_or(0);
            }
        }
        Kind::Decimal(at, max) => {
            if let Some(v) = decimal(text, *max, &mut warnings)? {
                *(at.set)(config) = v;
            }
        }
        Kind::MaybeDecimal(at, max) => {
            if let Some(v) = decimal(text, *max, &mut warnings)? {
                *(at.set)(config) = Some(v);
            }
        }
        Kind::Iso(at) => *(at.set)(config) = values::parse_iso_duration(text)?,
        Kind::Tags(at) => *(at.set)(config) = tags(text, &mut warnings),
        Kind::Dimensions(at) => *(at.set)(config) = dimensions(text, &mut warnings),
        Kind::Choice(choice) => {
            if !choice.set(config, &text.to_ascii_uppercase()) {
                return Err(format!("expected {}", what(&row.kind)));
            }
        }
        Kind::Region(at) => *(at.set)(config) = Some(region(text, &mut warnings)?),
        Kind::Endpoint(at) => {
            values::check_endpoint(text)?;
            *(at.set)(config) = Some(text.to_owned());
        }
    }
    Ok(warnings)
}

/// Whether an empty value is a value (or "not set") rather than a problem.
fn accepts_empty(kind: &Kind) -> bool {
    matches!(
        kind,
        Kind::Rule | Kind::Text(_) | Kind::Tags(_) | Kind::Dimensions(_)
    )
}

/// What a value of this kind looks like, for messages.
fn what(kind: &Kind) -> String {
    match kind {
        Kind::Rule | Kind::Text(_) | Kind::Tags(_) | Kind::Dimensions(_) => "a value".to_owned(),
        Kind::Flag(_) | Kind::MaybeFlag(_) => FLAG.to_owned(),
        Kind::Millis(..) | Kind::MaybeMillis(..) => MILLIS.to_owned(),
        Kind::Seconds(..) => SECONDS.to_owned(),
        Kind::Count { what, .. } | Kind::MaybeCount { what, .. } => (*what).to_owned(),
        Kind::Capacity(_) => "an integer".to_owned(),
        Kind::Decimal(..) | Kind::MaybeDecimal(..) => "a decimal number".to_owned(),
        Kind::Iso(_) => "an ISO-8601 duration such as PT15M, PT12H or P1D".to_owned(),
        Kind::Choice(choice) => format!("one of {} (any case)", choice.names().join(", ")),
        Kind::Region(_) => "an AWS region name like us-east-1".to_owned(),
        Kind::Endpoint(_) => "a URL such as https://kinesis.us-east-1.amazonaws.com".to_owned(),
    }
}

fn flag(text: &str) -> Result<bool, String> {
    values::parse_bool(text).ok_or_else(|| format!("expected {FLAG}"))
}

fn millis(n: i64) -> Duration {
    Duration::from_millis(u64::try_from(n).unwrap_or(0))
}

/// The smallest value a whole number may take when 0 is handled on its own.
fn whole(zero: Zero) -> i64 {
    match zero {
        Zero::Default => 1,
        Zero::Value | Zero::Off => 0,
    }
}

/// The rule for a whole number: `min..=max` (no upper bound when `max` is `None`), and what 0
/// means.
pub(super) struct Whole<'a> {
    min: i64,
    max: Option<i64>,
    zero: Zero,
    /// The default, for messages about 0.
    default: &'a str,
}

impl<'a> Whole<'a> {
    pub(super) fn from(min: i64, max: Option<i64>, zero: Zero, default: &'a str) -> Self {
        Whole {
            min,
            max,
            zero,
            default,
        }
    }

    /// A strict decimal integer (optional sign, nothing else). `Ok(None)`: 0 where it means the
    /// default (a warning is added).
    pub(super) fn read(
        &self,
        text: &str,
        what: &str,
        warnings: &mut Warnings,
    ) -> Result<Option<i64>, String> {
        if text.is_empty() {
            return Err(format!(
                "empty value: expected {what}; remove the line to use the default"
            ));
        }
        let n = text
            .parse::<i64>()
            .map_err(|_| format!("expected {what}"))?;
        if n == 0 && self.zero == Zero::Default {
            warnings.push(ZERO_MEANS_DEFAULT.to_owned());
            return Ok(None);
        }
        if n < self.min || self.max.is_some_and(|max| n > max) {
            return Err(format!("expected {what}{}", self.range()));
        }
        Ok(Some(n))
    }

    /// ` from 1 to 10000 (0 means the default, 10000, as in Java)`, `, 0 or more`, …
    fn range(&self) -> String {
        let bounds = match self.max {
            Some(max) => format!(" from {} to {max}", self.min),
            None => format!(", {} or more", self.min),
        };
        match self.zero {
            Zero::Default if self.default.is_empty() => {
                format!("{bounds} (0 means the default, as in Java)")
            }
            Zero::Default => format!(
                "{bounds} (0 means the default, {}, as in Java)",
                self.default
            ),
            Zero::Off | Zero::Value => bounds,
        }
    }
}

/// A finite decimal number in `(0, max]`; 0 means the default (Java primitive).
fn decimal(text: &str, max: f64, warnings: &mut Warnings) -> Result<Option<f64>, String> {
    const WHAT: &str = "a decimal number";
    let v = text
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("expected {WHAT}"))?;
    if v == 0.0 {
        warnings.push(ZERO_MEANS_DEFAULT.to_owned());
        return Ok(None);
    }
    if v < 0.0 || v > max {
        return Err(if max == f64::MAX {
            format!("expected {WHAT} greater than 0")
        } else {
            format!("expected {WHAT} greater than 0 and at most {max}")
        });
    }
    Ok(Some(v))
}

fn tags(text: &str, warnings: &mut Warnings) -> Vec<(String, String)> {
    let (tags, bad) = values::parse_tags(text);
    for pair in bad {
        warnings.push(format!(
            "invalid tag \"{}\" (expected key=value); ignored, as in Java",
            pair.escape_debug()
        ));
    }
    tags
}

fn dimensions(text: &str, warnings: &mut Warnings) -> Vec<String> {
    let dims = values::parse_dimensions(text);
    for d in &dims {
        if !values::KNOWN_DIMENSIONS.contains(&d.as_str()) {
            warnings.push(format!(
                "unknown metrics dimension \"{}\" (known: {})",
                d.escape_debug(),
                values::KNOWN_DIMENSIONS.join(", ")
            ));
        }
    }
    dims
}

fn region(text: &str, warnings: &mut Warnings) -> Result<String, String> {
    match values::check_region(text) {
        RegionCheck::Known => {}
        RegionCheck::Unknown => warnings.push(format!(
            "\"{}\" is not a region kcl-bridge knows; using it anyway",
            text.escape_debug()
        )),
        RegionCheck::Malformed => return Err("expected an AWS region name like us-east-1".into()),
    }
    Ok(text.to_owned())
}

//! Strict parsers for the value types of the properties file (`docs/configuration.md`, "Values"):
//! booleans, ISO-8601 durations, tags, metrics dimensions, regions, endpoints and stream ARNs.
//!
//! Pure functions over `&str`: no key knowledge, no I/O, no panics. Each returns the parsed value
//! or a short "expected …" text that the caller turns into a `Problem`.

use std::time::Duration;

/// Java's commons-beanutils boolean spellings, any case.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "on" | "1" => Some(true),
        "false" | "no" | "n" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// `java.time.Duration.parse` for the forms people write: `PnDTnHnMn.nS` (case-insensitive),
/// optional leading `+`. Negative durations are rejected, as in the KCL's converter.
pub fn parse_iso_duration(s: &str) -> Result<Duration, String> {
    const EXPECTED: &str = "expected an ISO-8601 duration such as PT15M, PT12H or P1D";
    let upper = s.to_ascii_uppercase();
    let body = upper.strip_prefix('+').unwrap_or(&upper);
    if body.starts_with('-') || body.contains("-") {
        return Err("negative durations are not permitted".to_owned());
    }
    let rest = body.strip_prefix('P').ok_or(EXPECTED)?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => {
            if t.is_empty() {
                return Err(EXPECTED.to_owned());
            }
            (d, Some(t))
        }
        None => (rest, None),
    };
    let mut total: u128 = 0; // nanoseconds
    let mut any = false;
    if !date.is_empty() {
        let days = date.strip_suffix('D').ok_or(EXPECTED)?;
        total += digits(days).ok_or(EXPECTED)? * 86_400 * 1_000_000_000;
        any = true;
    }
    if let Some(mut t) = time {
        for (unit, secs) in [('H', 3600u128), ('M', 60)] {
            if let Some((n, tail)) = t.split_once(unit) {
                total += digits(n).ok_or(EXPECTED)? * secs * 1_000_000_000;
                t = tail;
                any = true;
            }
        }
        if !t.is_empty() {
            let n = t.strip_suffix('S').ok_or(EXPECTED)?;
            let (whole, frac) = match n.split_once(['.', ',']) {
                Some((w, f)) => (w, f),
                None => (n, ""),
            };
            if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return Err(EXPECTED.to_owned());
            }
            let frac_nanos = if frac.is_empty() {
                0
            } else {
                let padded = format!("{frac:0<9}");
                digits(&padded).ok_or(EXPECTED)?
            };
            total += digits(whole).ok_or(EXPECTED)? * 1_000_000_000 + frac_nanos;
            any = true;
        }
    }
    if !any {
        return Err(EXPECTED.to_owned());
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| "duration is too long")?;
    let nanos = u32::try_from(total % 1_000_000_000).map_err(|_| EXPECTED)?;
    Ok(Duration::new(secs, nanos))
}

/// A non-empty run of ASCII digits (no sign).
fn digits(s: &str) -> Option<u128> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Formats a duration the way `Duration.toString` would for whole units (`PT12H`, `P1D` → `PT24H`).
pub fn format_iso_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let nanos = d.subsec_nanos();
    if secs == 0 && nanos == 0 {
        return "PT0S".to_owned();
    }
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::from("PT");
    if h > 0 {
        out.push_str(&format!("{h}H"));
    }
    if m > 0 {
        out.push_str(&format!("{m}M"));
    }
    if s > 0 || nanos > 0 {
        if nanos > 0 {
            let frac = format!("{nanos:09}");
            out.push_str(&format!("{s}.{}S", frac.trim_end_matches('0')));
        } else {
            out.push_str(&format!("{s}S"));
        }
    }
    out
}

/// `k1=v1,k2=v2` (Java `TagConverter`): pairs trimmed; a pair without exactly one `=` is
/// returned in the second list (Java skips it with a WARN).
pub fn parse_tags(s: &str) -> (Vec<(String, String)>, Vec<String>) {
    let mut tags = Vec::new();
    let mut bad = Vec::new();
    for pair in s.split(',') {
        let parts: Vec<&str> = pair.split('=').collect();
        match parts.as_slice() {
            [k, v] if !k.trim().is_empty() => tags.push((k.trim().to_owned(), v.trim().to_owned())),
            _ => bad.push(pair.trim().to_owned()),
        }
    }
    (tags, bad)
}

/// `metricsEnabledDimensions`: comma separated, optional surrounding `{}`, elements trimmed,
/// empty elements skipped.
pub fn parse_dimensions(s: &str) -> Vec<String> {
    let inner = s.trim();
    let inner = inner
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .unwrap_or(inner);
    inner
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The metric dimension names the KCL knows.
pub const KNOWN_DIMENSIONS: &[&str] = &[
    "ALL",
    "Operation",
    "ShardId",
    "StreamId",
    "WorkerIdentifier",
];

/// AWS regions known when this was written. Unknown but well-formed regions get a warning only.
const KNOWN_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// Result of checking a region name.
#[derive(Debug, PartialEq, Eq)]
pub enum RegionCheck {
    Known,
    /// Well formed but not in our list (new regions appear); warn.
    Unknown,
    /// Not of the shape `^[a-z]{2,}(-[a-z]+)+-\d+$`.
    Malformed,
}

pub fn check_region(s: &str) -> RegionCheck {
    if KNOWN_REGIONS.contains(&s) {
        return RegionCheck::Known;
    }
    let parts: Vec<&str> = s.split('-').collect();
    let well_formed = parts.len() >= 3
        && parts[0].len() >= 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if well_formed {
        RegionCheck::Unknown
    } else {
        RegionCheck::Malformed
    }
}

/// An endpoint override must be an absolute `http`/`https` URL with a host.
pub fn check_endpoint(s: &str) -> Result<(), String> {
    let Some((scheme, rest)) = s.split_once("://") else {
        return Err(
            "expected a URL with a scheme, e.g. https://kinesis.us-east-1.amazonaws.com or http://localhost:4566"
                .to_owned(),
        );
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(format!(
            "expected an http:// or https:// URL, not scheme \"{scheme}\""
        ));
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.chars().any(|c| c.is_whitespace()) {
        return Err("expected a host after the scheme".to_owned());
    }
    Ok(())
}

/// A parsed `arn:aws…:kinesis:<region>:<account>:stream/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamArn {
    pub arn: String,
    pub partition: String,
    pub region: String,
    pub account: String,
    pub stream_name: String,
}

pub fn parse_stream_arn(s: &str) -> Result<StreamArn, String> {
    const EXPECTED: &str =
        "expected arn:aws:kinesis:<region>:<12-digit account id>:stream/<stream name>";
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts.as_slice() else {
        return Err(EXPECTED.to_owned());
    };
    let name = resource.strip_prefix("stream/").ok_or(EXPECTED)?;
    let ok = *arn == "arn"
        && partition.starts_with("aws")
        && *service == "kinesis"
        && !region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && is_stream_name(name);
    if !ok {
        return Err(EXPECTED.to_owned());
    }
    Ok(StreamArn {
        arn: s.to_owned(),
        partition: (*partition).to_owned(),
        region: (*region).to_owned(),
        account: (*account).to_owned(),
        stream_name: name.to_owned(),
    })
}

/// Kinesis stream names: 1–128 of `[a-zA-Z0-9_.-]`.
pub fn is_stream_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Levenshtein distance, for "did you mean" suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_accept_java_spellings_only() {
        for t in ["true", "TRUE", "Yes", "y", "on", "1"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["false", "No", "N", "OFF", "0"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        for bad in ["treu", "", "2", "true ", "t"] {
            assert_eq!(parse_bool(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn iso_durations() {
        let ok = [
            ("PT15M", 900),
            ("PT12H", 43_200),
            ("P1D", 86_400),
            ("P2D", 172_800),
            ("pt1h30m", 5_400),
            ("P1DT1S", 86_401),
            ("+PT5S", 5),
            ("PT0S", 0),
        ];
        for (s, secs) in ok {
            assert_eq!(parse_iso_duration(s), Ok(Duration::from_secs(secs)), "{s}");
        }
        assert_eq!(
            parse_iso_duration("PT1.5S"),
            Ok(Duration::from_millis(1500))
        );
        for bad in [
            "",
            "P",
            "PT",
            "15M",
            "PT15",
            "P1H",
            "PTxS",
            "1 day",
            "PT1.1234567891S",
        ] {
            assert!(parse_iso_duration(bad).is_err(), "{bad:?}");
        }
        assert!(parse_iso_duration("-PT1H").is_err_and(|e| e.contains("negative")));
        assert!(parse_iso_duration("PT-1H").is_err_and(|e| e.contains("negative")));
        assert_eq!(format_iso_duration(Duration::from_secs(43_200)), "PT12H");
        assert_eq!(format_iso_duration(Duration::from_secs(5_401)), "PT1H30M1S");
        assert_eq!(format_iso_duration(Duration::from_millis(1500)), "PT1.5S");
    }

    #[test]
    fn tags_and_dimensions() {
        let (tags, bad) = parse_tags(" a = 1 ,b=2,c,d=e=f");
        assert_eq!(
            tags,
            vec![("a".into(), "1".into()), ("b".into(), "2".into())]
        );
        assert_eq!(bad, vec!["c".to_owned(), "d=e=f".to_owned()]);
        assert_eq!(
            parse_dimensions("ShardId, WorkerIdentifier"),
            vec!["ShardId".to_owned(), "WorkerIdentifier".to_owned()]
        );
        assert_eq!(
            parse_dimensions("{Operation,,ShardId}"),
            vec!["Operation".to_owned(), "ShardId".to_owned()]
        );
        assert!(parse_dimensions("").is_empty());
    }

    #[test]
    fn regions_and_endpoints() {
        assert_eq!(check_region("us-east-1"), RegionCheck::Known);
        assert_eq!(check_region("us-gov-west-1"), RegionCheck::Known);
        assert_eq!(check_region("us-east-5"), RegionCheck::Unknown);
        for bad in [
            "US-EAST-1",
            "us-east1",
            "local",
            "",
            "us-east-1 ",
            "u-east-1",
        ] {
            assert_eq!(check_region(bad), RegionCheck::Malformed, "{bad:?}");
        }
        assert!(check_endpoint("https://kinesis.us-east-1.amazonaws.com").is_ok());
        assert!(check_endpoint("http://localhost:4566").is_ok());
        assert!(check_endpoint("localhost:4566").is_err());
        assert!(check_endpoint("kinesis.us-east-1.amazonaws.com").is_err());
        assert!(check_endpoint("ftp://x").is_err());
        assert!(check_endpoint("http://").is_err());
    }

    #[test]
    fn stream_arns() {
        let arn = parse_stream_arn("arn:aws:kinesis:us-east-5:000000000000:stream/kclpysample");
        assert_eq!(
            arn.map(|a| (a.region, a.account, a.stream_name)),
            Ok((
                "us-east-5".into(),
                "000000000000".into(),
                "kclpysample".into()
            ))
        );
        assert!(parse_stream_arn("arn:aws-cn:kinesis:cn-north-1:123456789012:stream/s").is_ok());
        for bad in [
            "kclpysample",
            "arn:aws:kinesis:us-east-1:123:stream/s",
            "arn:aws:sqs:us-east-1:123456789012:stream/s",
            "arn:aws:kinesis:us-east-1:123456789012:table/s",
            "arn:aws:kinesis:us-east-1:123456789012:stream/",
            "arn:aws:kinesis::123456789012:stream/s",
        ] {
            assert!(parse_stream_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("maxRecord", "maxRecords"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}

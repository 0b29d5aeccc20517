//! Stage one: the bytes of a `.properties` file → entries exactly as `java.util.Properties.load`
//! reads them, plus each entry's first physical line number.
//!
//! Decoding (`docs/configuration.md`, "Encoding"): strip a UTF-8 BOM; valid UTF-8 containing
//! non-ASCII bytes is decoded as UTF-8 (with a warning, Java would read mojibake); anything else is
//! ISO-8859-1, each byte mapped to the char of the same code point (not windows-1252).
//!
//! The syntax is a transcription of JDK 17 `Properties.LineReader` and `loadConvert`
//! (`docs/configuration.md`, "Syntax"). We do not use the `java-properties` crate for this stage
//! because it differs from Java on inputs that occur in real files: it processes escapes inside
//! comment lines (so `# C:\users\me` fails to load), rejects `\uXXXX` surrogate pairs, accepts
//! `\u+041`, trims Unicode (not only space/tab/form-feed) whitespace at continuation lines, and can
//! only decode via `encoding_rs` (windows-1252 by default). The tests compare this lexer with the
//! crate on `tests/data/config/syntax-edge-cases.properties`.
//!
//! This module knows nothing about keys or types, never fails on the first bad line (every
//! malformed entry becomes a [`LexError`] and lexing goes on), never panics, and does no I/O.

/// How the file's bytes were turned into text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Java's encoding: one byte, one char.
    Latin1,
    /// The file was valid UTF-8 with non-ASCII bytes; `first_line` is the first line holding one.
    Utf8 { first_line: usize },
}

/// Decoded text of the file.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub text: String,
    pub encoding: Encoding,
    pub had_bom: bool,
}

/// Decodes as `docs/configuration.md`, "Encoding" says.
pub fn decode(bytes: &[u8]) -> Decoded {
    let (bytes, had_bom) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (rest, true),
        None => (bytes, false),
    };
    if let Some(pos) = bytes.iter().position(|b| !b.is_ascii()) {
        if let Ok(text) = std::str::from_utf8(bytes) {
            let first_line = physical_line_of(&bytes[..pos]);
            return Decoded {
                text: text.to_owned(),
                encoding: Encoding::Utf8 { first_line },
                had_bom,
            };
        }
    }
    Decoded {
        text: bytes.iter().map(|&b| char::from(b)).collect(),
        encoding: Encoding::Latin1,
        had_bom,
    }
}

/// 1-based physical line number of the position just after `prefix`.
fn physical_line_of(prefix: &[u8]) -> usize {
    let mut line = 1;
    let mut i = 0;
    while i < prefix.len() {
        match prefix[i] {
            b'\n' => line += 1,
            b'\r' => {
                line += 1;
                if prefix.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    line
}

/// One key/value pair as Java's `Properties` would store it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key after escape processing.
    pub key: String,
    /// The value after escape processing, exactly as Java has it (trailing whitespace kept).
    pub value: String,
    /// Length in bytes of `value` without trailing whitespace that was written unescaped
    /// (an escaped `\ ` at the end is deliberate and is kept).
    pub trimmed_len: usize,
    /// First physical line of the entry (1-based).
    pub line: usize,
    /// The entry spans several physical lines (backslash continuation).
    pub continued: bool,
}

impl Entry {
    /// The value without unescaped trailing whitespace.
    pub fn trimmed_value(&self) -> &str {
        self.value.get(..self.trimmed_len).unwrap_or(&self.value)
    }

    /// Whether trimming removed anything.
    pub fn has_trailing_whitespace(&self) -> bool {
        self.trimmed_len < self.value.len()
    }
}

/// A line Java would refuse to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub line: usize,
    /// The key, when the error is in the value and the key could be decoded.
    pub key: Option<String>,
    pub message: String,
}

/// Java's whitespace for `.properties`: space, tab, form feed.
fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c')
}

/// Splits text into physical lines on `\n`, `\r\n` and a lone `\r`.
fn physical_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push(&text[start..i]);
                start = i + 1;
            }
            b'\r' => {
                lines.push(&text[start..i]);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < bytes.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// Number of consecutive backslashes at the end of `s`.
fn trailing_backslashes(s: &str) -> usize {
    s.chars().rev().take_while(|&c| c == '\\').count()
}

/// A logical line: the joined text and its first physical line.
struct Logical {
    text: Vec<char>,
    line: usize,
    continued: bool,
}

/// Java `LineReader.readLine`, over physical lines.
fn logical_lines(text: &str) -> Vec<Logical> {
    let lines = physical_lines(text);
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let first = i + 1;
        let start = lines[i].trim_start_matches(is_ws);
        i += 1;
        if start.is_empty() || start.starts_with('#') || start.starts_with('!') {
            continue; // blank or comment line; comments never continue
        }
        let mut buf: Vec<char> = Vec::new();
        let mut segment = start;
        let mut continued = false;
        loop {
            buf.extend(segment.chars());
            if trailing_backslashes(segment).is_multiple_of(2) {
                break;
            }
            buf.pop(); // the continuation backslash
            match lines.get(i) {
                None => break, // Java: a backslash before end of file is dropped
                Some(next) => {
                    i += 1;
                    continued = true;
                    segment = next.trim_start_matches(is_ws);
                    if segment.is_empty() {
                        break; // continuation into an empty line ends the value
                    }
                }
            }
        }
        out.push(Logical {
            text: buf,
            line: first,
            continued,
        });
    }
    out
}

/// Result of `loadConvert` on one part of a line.
struct Converted {
    text: String,
    /// Byte length without unescaped trailing whitespace.
    trimmed_len: usize,
}

/// Java `loadConvert`: escape processing. `\uXXXX` pairs that form a UTF-16 surrogate pair become
/// one char; a lone surrogate is an error (Java would keep it, Rust strings cannot).
fn convert(chars: &[char]) -> Result<Converted, String> {
    let mut out = String::with_capacity(chars.len());
    let mut trimmed_len = 0;
    let mut pending_high: Option<u16> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c != '\\' {
            if let Some(h) = pending_high.take() {
                return Err(lone_surrogate(h));
            }
            out.push(c);
            if !is_ws(c) {
                trimmed_len = out.len();
            }
            continue;
        }
        // The lexer never leaves an unescaped backslash at the end, but be safe.
        let Some(&e) = chars.get(i) else {
            if let Some(h) = pending_high.take() {
                return Err(lone_surrogate(h));
            }
            break;
        };
        i += 1;
        if e == 'u' {
            let digits = chars.get(i..i + 4).ok_or_else(malformed_u)?;
            let mut unit: u32 = 0;
            for d in digits {
                unit = (unit << 4) | d.to_digit(16).ok_or_else(malformed_u)?;
            }
            i += 4;
            let unit = unit as u16;
            match (pending_high.take(), unit) {
                (None, 0xD800..=0xDBFF) => pending_high = Some(unit),
                (Some(h), 0xDC00..=0xDFFF) => {
                    let decoded = char::decode_utf16([h, unit])
                        .next()
                        .and_then(Result::ok)
                        .ok_or_else(|| lone_surrogate(h))?;
                    out.push(decoded);
                    trimmed_len = out.len();
                }
                (Some(h), _) => return Err(lone_surrogate(h)),
                (None, 0xDC00..=0xDFFF) => return Err(lone_surrogate(unit)),
                (None, u) => {
                    out.push(char::from_u32(u32::from(u)).ok_or_else(malformed_u)?);
                    trimmed_len = out.len();
                }
            }
            continue;
        }
        if let Some(h) = pending_high.take() {
            return Err(lone_surrogate(h));
        }
        out.push(match e {
            't' => '\t',
            'r' => '\r',
            'n' => '\n',
            'f' => '\x0c',
            other => other,
        });
        trimmed_len = out.len();
    }
    if let Some(h) = pending_high {
        return Err(lone_surrogate(h));
    }
    Ok(Converted {
        text: out,
        trimmed_len,
    })
}

fn malformed_u() -> String {
    "malformed \\uxxxx escape (Java: \"Malformed \\uxxxx encoding.\"); write a backslash as \\\\"
        .to_owned()
}

fn lone_surrogate(unit: u16) -> String {
    format!("\\u{unit:04X} is half of a UTF-16 surrogate pair without its other half")
}

/// Splits a logical line into key and value parts (Java `Properties.load0`).
fn split_key_value(line: &[char]) -> (&[char], &[char]) {
    let limit = line.len();
    let mut key_len = 0;
    let mut value_start = limit;
    let mut has_sep = false;
    let mut preceding_backslash = false;
    while key_len < limit {
        let c = line[key_len];
        if (c == '=' || c == ':') && !preceding_backslash {
            value_start = key_len + 1;
            has_sep = true;
            break;
        } else if is_ws(c) && !preceding_backslash {
            value_start = key_len + 1;
            break;
        }
        preceding_backslash = c == '\\' && !preceding_backslash;
        key_len += 1;
    }
    while value_start < limit {
        let c = line[value_start];
        if !is_ws(c) {
            if !has_sep && (c == '=' || c == ':') {
                has_sep = true;
            } else {
                break;
            }
        }
        value_start += 1;
    }
    (&line[..key_len], &line[value_start..])
}

/// Lexes decoded text into entries in file order (duplicates kept; later ones win in Java).
pub fn lex(text: &str) -> (Vec<Entry>, Vec<LexError>) {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for logical in logical_lines(text) {
        let (k, v) = split_key_value(&logical.text);
        let key = match convert(k) {
            Ok(c) => c.text,
            Err(message) => {
                errors.push(LexError {
                    line: logical.line,
                    key: None,
                    message: format!("in the key: {message}"),
                });
                continue;
            }
        };
        match convert(v) {
            Ok(c) => entries.push(Entry {
                key,
                value: c.text,
                trimmed_len: c.trimmed_len,
                line: logical.line,
                continued: logical.continued,
            }),
            Err(message) => errors.push(LexError {
                line: logical.line,
                key: Some(key),
                message,
            }),
        }
    }
    (entries, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/data/config/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Lexes and returns (key, value) pairs in file order, panicking on lex errors.
    fn pairs(text: &str) -> Vec<(String, String)> {
        let (entries, errors) = lex(text);
        assert!(errors.is_empty(), "unexpected lex errors: {errors:?}");
        entries.into_iter().map(|e| (e.key, e.value)).collect()
    }

    /// Java's view: last occurrence wins.
    fn get<'a>(entries: &'a [Entry], key: &str) -> Option<&'a Entry> {
        entries.iter().rev().find(|e| e.key == key)
    }

    #[test]
    fn syntax_edge_case_fixture_matches_java_table() {
        let bytes = data("syntax-edge-cases.properties");
        let decoded = decode(&bytes);
        assert_eq!(decoded.encoding, Encoding::Latin1);
        let (entries, errors) = lex(&decoded.text);
        assert!(errors.is_empty(), "{errors:?}");
        let expect = [
            ("b", "2  "),
            ("d", "4"),
            ("e", ""),
            ("f", ""),
            ("g", "spaced   "),
            ("h", "second"),
            ("i", "line1 continued"),
            ("j", "A\u{e9}"),
            ("k key", "v"),
            ("l", "a\tb\nc"),
            ("m", "C:path\to"),
            ("n", "x # not a comment"),
            ("o", "=\"x\""),
            ("p", "trailing backslash\\"),
            ("q", "="),
            ("t", "a:b=c"),
            ("u", "crlf"),
            ("v", "cr-only"),
            (
                "AwsCredentialsProvider",
                "KclStsAssumeRoleCredentialsProvider|arn:aws:iam::1:role/r|sess|endpointRegion=us-east-1|externalId=spartacus",
            ),
            ("w", "last-no-newline"),
        ];
        for (k, v) in expect {
            let e = get(&entries, k).unwrap_or_else(|| panic!("key {k:?} missing"));
            assert_eq!(e.value, v, "value of {k:?}");
        }
        // Comment lines never produce keys, and nothing else is there.
        let mut keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        let mut want: Vec<&str> = expect.iter().map(|(k, _)| *k).collect();
        want.sort_unstable();
        assert_eq!(keys, want);
        // `h` occurs twice; both are kept in file order, the last wins.
        let hs: Vec<_> = entries.iter().filter(|e| e.key == "h").collect();
        assert_eq!(hs.len(), 2);
        assert_eq!(hs[0].value, "first");
        // Line numbers are the first physical line, counting CRLF and lone CR once.
        let line = |k: &str| get(&entries, k).map(|e| e.line);
        assert_eq!(line("b"), Some(2));
        assert_eq!(line("i"), Some(9));
        assert!(get(&entries, "i").is_some_and(|e| e.continued));
        assert!(get(&entries, "b").is_some_and(|e| !e.continued));
        assert_eq!(line("j"), Some(11));
        assert_eq!(line("u"), Some(21));
        assert_eq!(line("v"), Some(22));
        assert_eq!(line("AwsCredentialsProvider"), Some(23));
        assert_eq!(line("w"), Some(25));
        // Trailing whitespace: kept in the value, reported as trimmable.
        let b = get(&entries, "b").map(Entry::trimmed_value);
        assert_eq!(b, Some("2"));
        let g = get(&entries, "g").map(Entry::trimmed_value);
        assert_eq!(g, Some("spaced"));
    }

    #[test]
    fn fixture_bytes_have_the_line_ends_the_table_needs() {
        let bytes = data("syntax-edge-cases.properties");
        assert!(bytes.windows(12).any(|w| w == b"u = crlf\r\nv "));
        assert!(bytes.windows(14).any(|w| w == b"v = cr-only\rAw"));
        assert!(bytes.ends_with(b"w = last-no-newline"));
        assert!(bytes.is_ascii());
    }

    #[test]
    fn bom_is_stripped() {
        let bytes = data("bom.properties");
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let decoded = decode(&bytes);
        assert!(decoded.had_bom);
        assert_eq!(decoded.encoding, Encoding::Latin1);
        assert_eq!(pairs(&decoded.text), vec![("x".into(), "bom".into())]);
    }

    #[test]
    fn utf8_file_is_decoded_as_utf8() {
        let bytes = data("utf8.properties");
        assert!(bytes.windows(2).any(|w| w == [0xC3, 0xA9]));
        let decoded = decode(&bytes);
        assert_eq!(decoded.encoding, Encoding::Utf8 { first_line: 2 });
        assert_eq!(pairs(&decoded.text), vec![("y".into(), "caf\u{e9}".into())]);
    }

    #[test]
    fn non_utf8_bytes_are_latin1_not_windows_1252() {
        // 0xE9 alone is not UTF-8: Latin-1 é. 0x80 is U+0080 in Latin-1 (€ in windows-1252).
        let decoded = decode(b"a = caf\xE9\nb = \x80\n");
        assert_eq!(decoded.encoding, Encoding::Latin1);
        assert_eq!(
            pairs(&decoded.text),
            vec![
                ("a".into(), "caf\u{e9}".into()),
                ("b".into(), "\u{80}".into())
            ]
        );
    }

    #[test]
    fn malformed_unicode_escapes_are_errors_with_line_numbers() {
        let (entries, errors) = lex("a = 1\nb = \\u00G1\nc = \\u12\n\\uZZZZ = 3\nd = 4\n");
        assert_eq!(entries.len(), 2, "{entries:?}");
        assert_eq!(errors.len(), 3);
        assert_eq!(errors[0].line, 2);
        assert_eq!(errors[0].key.as_deref(), Some("b"));
        assert!(errors[0].message.contains("malformed \\uxxxx"));
        assert_eq!(errors[1].line, 3);
        assert_eq!(errors[2].line, 4);
        assert_eq!(errors[2].key, None);
        // Rust's from_str_radix would accept a sign; Java does not.
        let (_, errors) = lex("a = \\u+041\n");
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn escapes_in_comments_are_not_processed() {
        assert_eq!(
            pairs("# C:\\users\\me\n! \\uZZ\\\nx = 1\n"),
            vec![("x".into(), "1".into())]
        );
    }

    #[test]
    fn surrogate_pairs_combine_and_lone_halves_are_errors() {
        assert_eq!(
            pairs("e = \\uD83D\\uDE00!\n"),
            vec![("e".into(), "\u{1F600}!".into())]
        );
        let (_, errors) = lex("e = \\uD83D\n");
        assert_eq!(errors.len(), 1);
        let (_, errors) = lex("e = \\uDE00x\n");
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn continuation_details() {
        // Continuation into an empty line ends the value; the next line is a new entry.
        assert_eq!(
            pairs("a = x\\\n\nb = y\n"),
            vec![("a".into(), "x".into()), ("b".into(), "y".into())]
        );
        // A comment character at the start of a continuation line is data.
        assert_eq!(pairs("a = x\\\n  # y\n"), vec![("a".into(), "x# y".into())]);
        // Even number of backslashes: no continuation.
        assert_eq!(
            pairs("a = x\\\\\nb = y"),
            vec![("a".into(), "x\\".into()), ("b".into(), "y".into())]
        );
        // Backslash before end of file is dropped.
        assert_eq!(pairs("a = x\\"), vec![("a".into(), "x".into())]);
        // Three physical lines, CRLF.
        let (entries, _) = lex("\r\na = 1\\\r\n 2\\\r\n\t3\r\nb=4");
        assert_eq!(entries[0].value, "123");
        assert_eq!(entries[0].line, 2);
        assert_eq!(entries[1].line, 5);
        // Only space, tab and form feed are stripped at the start of a continuation line.
        assert_eq!(
            pairs("a = x\\\n\u{a0}y"),
            vec![("a".into(), "x\u{a0}y".into())]
        );
    }

    #[test]
    fn separators() {
        assert_eq!(
            pairs("a:b\nc :  d\ne\t=\tf\n=v\n  :w\nk\\=x = y\n"),
            vec![
                ("a".into(), "b".into()),
                ("c".into(), "d".into()),
                ("e".into(), "f".into()),
                ("".into(), "v".into()),
                ("".into(), "w".into()),
                ("k=x".into(), "y".into()),
            ]
        );
    }

    #[test]
    fn escaped_trailing_space_is_deliberate() {
        let (entries, _) = lex("a = x\\ \nb = y \\t\n");
        assert_eq!(entries[0].value, "x ");
        assert_eq!(entries[0].trimmed_value(), "x ");
        assert!(!entries[0].has_trailing_whitespace());
        assert_eq!(entries[1].trimmed_value(), "y \t");
    }

    #[test]
    fn no_panic_on_odd_input() {
        for input in [
            "\\",
            "\\u",
            "=",
            ":",
            "\r",
            "\n\r",
            "\\\r\\\n\\",
            "a\\",
            "\u{0}",
            "\\uD800\\",
        ] {
            let _ = lex(input);
        }
        let all: Vec<u8> = (0..=255u8).collect();
        let _ = lex(&decode(&all).text);
    }

    /// The `java-properties` crate agrees with this lexer (and Java) on every line of
    /// `syntax-edge-cases.properties`; we keep it as an oracle here. It is fed ASCII only: it
    /// decodes with encoding_rs.
    #[test]
    fn java_properties_crate_agrees_on_the_table() {
        let bytes = data("syntax-edge-cases.properties");
        let mut theirs = Vec::new();
        for line in java_properties::PropertiesIter::new(bytes.as_slice()) {
            match line.map(java_properties::Line::consume_content) {
                Ok(java_properties::LineContent::KVPair(k, v)) => theirs.push((k, v)),
                Ok(java_properties::LineContent::Comment(_)) => {}
                Err(e) => panic!("crate failed: {e}"),
            }
        }
        assert_eq!(pairs(&decode(&bytes).text), theirs);
    }

    /// Where the crate and Java differ (why this lexer exists).
    #[test]
    fn java_properties_crate_differs_on_comment_escapes() {
        let input = "# see C:\\users\\me\nx = 1\n";
        let crate_result: Result<Vec<_>, _> =
            java_properties::PropertiesIter::new(input.as_bytes()).collect();
        assert!(crate_result.is_err(), "the crate learned to skip comments");
        assert_eq!(pairs(input), vec![("x".into(), "1".into())]);
    }
}

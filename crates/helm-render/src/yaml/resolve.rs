//! YAML 1.1 scalar resolution as go-yaml v2 does it.
//!
//! Helm reads YAML through go-yaml v2, so an unquoted `on` is `true`, `0777` is 511 and
//! `1_000` is 1000. The same resolution decides, when writing, which strings must be quoted
//! so that they read back as strings.

use std::borrow::Cow;

/// A resolved scalar, before it becomes a [`crate::value::Value`]: map keys need the
/// original Go type (an int key prints as `1`, a float key with float32 precision).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    /// go-yaml returns a `uint64` for integers above `i64::MAX`.
    Uint(u64),
    Float(f64),
    Str(Cow<'a, str>),
    /// The plain `<<` merge key (only meaningful as a mapping key).
    Merge,
}

impl Scalar<'_> {
    pub(crate) fn into_owned(self) -> Scalar<'static> {
        match self {
            Scalar::Null => Scalar::Null,
            Scalar::Bool(b) => Scalar::Bool(b),
            Scalar::Int(i) => Scalar::Int(i),
            Scalar::Uint(u) => Scalar::Uint(u),
            Scalar::Float(f) => Scalar::Float(f),
            Scalar::Str(s) => Scalar::Str(Cow::Owned(s.into_owned())),
            Scalar::Merge => Scalar::Merge,
        }
    }
}

/// The core tags go-yaml knows; any other tag leaves the scalar a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CoreTag {
    Str,
    Int,
    Float,
    Bool,
    Null,
    Binary,
    Timestamp,
    Merge,
    Other,
}

impl CoreTag {
    pub(crate) fn from_suffix(suffix: &str) -> CoreTag {
        match suffix {
            "str" => CoreTag::Str,
            "int" => CoreTag::Int,
            "float" => CoreTag::Float,
            "bool" => CoreTag::Bool,
            "null" => CoreTag::Null,
            "binary" => CoreTag::Binary,
            "timestamp" => CoreTag::Timestamp,
            "merge" => CoreTag::Merge,
            _ => CoreTag::Other,
        }
    }

    fn short(self) -> &'static str {
        match self {
            CoreTag::Str => "!!str",
            CoreTag::Int => "!!int",
            CoreTag::Float => "!!float",
            CoreTag::Bool => "!!bool",
            CoreTag::Null => "!!null",
            CoreTag::Binary => "!!binary",
            CoreTag::Timestamp => "!!timestamp",
            CoreTag::Merge => "!!merge",
            CoreTag::Other => "!!str",
        }
    }
}

/// What an untagged plain scalar resolves to, plus whether go-yaml saw a timestamp (it keeps
/// the text as a string for `interface{}` targets but still quotes such strings on output).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resolved<'a> {
    pub scalar: Scalar<'a>,
    pub timestamp: bool,
}

/// Resolves an untagged plain scalar.
pub(crate) fn resolve_plain(text: &str) -> Resolved<'_> {
    let plain = |scalar| Resolved {
        scalar,
        timestamp: false,
    };
    let Some(&first) = text.as_bytes().first() else {
        return plain(Scalar::Null);
    };
    let hint = match first {
        b'+' | b'-' | b'0'..=b'9' => b'D',
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => b'M',
        b'.' => b'.',
        b'<' => b'<',
        _ => return plain(Scalar::Str(Cow::Borrowed(text))),
    };
    if let Some(known) = lookup_word(text) {
        return plain(known);
    }
    match hint {
        b'.' => match parse_go_float(text) {
            Some(f) => plain(Scalar::Float(f)),
            None => plain(Scalar::Str(Cow::Borrowed(text))),
        },
        b'D' => {
            if is_timestamp(text) {
                return Resolved {
                    scalar: Scalar::Str(Cow::Borrowed(text)),
                    timestamp: true,
                };
            }
            plain(resolve_number(text).unwrap_or(Scalar::Str(Cow::Borrowed(text))))
        }
        _ => plain(Scalar::Str(Cow::Borrowed(text))),
    }
}

/// The fixed words of go-yaml's resolve table (YAML 1.1 booleans, nulls, special floats).
fn lookup_word(text: &str) -> Option<Scalar<'static>> {
    Some(match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Scalar::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Scalar::Bool(false)
        }
        "~" | "null" | "Null" | "NULL" => Scalar::Null,
        ".nan" | ".NaN" | ".NAN" => Scalar::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Scalar::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Scalar::Float(f64::NEG_INFINITY),
        "<<" => Scalar::Merge,
        _ => return None,
    })
}

/// Ints (any Go base prefix, `_` ignored), then uint64, then YAML-style floats.
fn resolve_number(text: &str) -> Option<Scalar<'static>> {
    let cleaned: Cow<str> = if text.contains('_') {
        Cow::Owned(text.replace('_', ""))
    } else {
        Cow::Borrowed(text)
    };
    if let Some(i) = parse_go_int(&cleaned) {
        return Some(Scalar::Int(i));
    }
    if let Some(u) = parse_go_uint(&cleaned) {
        return Some(Scalar::Uint(u));
    }
    if is_yaml_style_float(&cleaned) {
        return parse_go_float(&cleaned).map(Scalar::Float);
    }
    None
}

/// Splits Go's base-0 prefix: 0x/0o/0b, or a leading 0 meaning octal.
fn split_base(digits: &str) -> (u32, &str) {
    let b = digits.as_bytes();
    if b.first() == Some(&b'0') {
        if b.len() >= 3 {
            match b.get(1).map(u8::to_ascii_lowercase) {
                Some(b'x') => return (16, &digits[2..]),
                Some(b'o') => return (8, &digits[2..]),
                Some(b'b') => return (2, &digits[2..]),
                _ => {}
            }
        }
        return (8, &digits[1..]);
    }
    (10, digits)
}

/// `strconv.ParseUint(s, 0, 64)` for an underscore-free string without a sign.
fn parse_go_uint(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let (base, digits) = split_base(s);
    if digits.is_empty() {
        // "0" alone is octal zero; "0x" and friends never reach here (len >= 3 rule).
        return if s == "0" { Some(0) } else { None };
    }
    if !digits.bytes().all(|c| (c as char).is_digit(base)) {
        return None;
    }
    u64::from_str_radix(digits, base).ok()
}

/// `strconv.ParseInt(s, 0, 64)`.
fn parse_go_int(s: &str) -> Option<i64> {
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = parse_go_uint(rest)?;
    if negative {
        if magnitude <= i64::MAX as u64 + 1 {
            Some((magnitude as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// `strconv.ParseFloat(s, 64)` for the decimal forms YAML can reach; out-of-range values
/// fail as in Go (which then leaves the scalar a string).
fn parse_go_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let body = match b.first() {
        Some(b'+' | b'-') => &s[1..],
        _ => s,
    };
    // Go accepts inf/infinity/nan words, but none of them can reach here: words beginning with
    // a letter never get a number hint, and the dotted forms are in the word table.
    if body.is_empty()
        || !body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        || !body.bytes().any(|c| c.is_ascii_digit())
    {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    if f.is_infinite() {
        return None;
    }
    Some(f)
}

/// go-yaml v2's `parseTimestamp`: the date forms it accepts with `time.Parse`.
pub(crate) fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let mut i = 5;
    let Some(month) = small_number(b, &mut i) else {
        return false;
    };
    if b.get(i) != Some(&b'-') {
        return false;
    }
    i += 1;
    let Some(day) = small_number(b, &mut i) else {
        return false;
    };
    let year: u32 = s[..4].parse().unwrap_or(0);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return false;
    }
    match b.get(i) {
        None => true,
        Some(b'T' | b't') => {
            i += 1;
            time_of_day(b, &mut i) && zone(b, &mut i) && i == b.len()
        }
        Some(b' ') => {
            i += 1;
            time_of_day(b, &mut i) && i == b.len()
        }
        _ => false,
    }
}

fn small_number(b: &[u8], i: &mut usize) -> Option<u32> {
    let start = *i;
    while *i < b.len() && *i - start < 2 && b[*i].is_ascii_digit() {
        *i += 1;
    }
    if *i == start {
        return None;
    }
    std::str::from_utf8(&b[start..*i]).ok()?.parse().ok()
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn time_of_day(b: &[u8], i: &mut usize) -> bool {
    let Some(hour) = small_number(b, i) else {
        return false;
    };
    if b.get(*i) != Some(&b':') {
        return false;
    }
    *i += 1;
    let Some(minute) = small_number(b, i) else {
        return false;
    };
    if b.get(*i) != Some(&b':') {
        return false;
    }
    *i += 1;
    let Some(second) = small_number(b, i) else {
        return false;
    };
    if hour > 23 || minute > 59 || second > 59 {
        return false;
    }
    if b.get(*i) == Some(&b'.') && b.get(*i + 1).is_some_and(u8::is_ascii_digit) {
        *i += 1;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
    }
    true
}

fn zone(b: &[u8], i: &mut usize) -> bool {
    match b.get(*i) {
        Some(b'Z') => {
            *i += 1;
            true
        }
        Some(b'+' | b'-') => {
            let ok = b.len() >= *i + 6
                && b[*i + 1].is_ascii_digit()
                && b[*i + 2].is_ascii_digit()
                && b[*i + 3] == b':'
                && b[*i + 4].is_ascii_digit()
                && b[*i + 5].is_ascii_digit();
            *i += 6;
            ok
        }
        _ => false,
    }
}

/// YAML 1.1 sexagesimal numbers (`1:30`): go-yaml no longer reads them as numbers but
/// still quotes such strings for older parsers.
pub(crate) fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(&c) = b.first() else { return false };
    if !(c == b'+' || c == b'-' || c.is_ascii_digit()) || !s.contains(':') {
        return false;
    }
    let mut i = usize::from(c == b'+' || c == b'-');
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        let start = i;
        while i < b.len() && i - start < 2 && b[i].is_ascii_digit() {
            i += 1;
        }
        let group = &b[start..i];
        let valid = match group {
            [d] => d.is_ascii_digit(),
            [d1, _] => (b'0'..=b'5').contains(d1),
            _ => false,
        };
        if !valid {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// Whether go-yaml would read this string back as something other than a string when
/// written plain, so that its encoder must quote it (`<<` is a merge only as a key and Helm
/// writes it plain).
pub(crate) fn needs_quotes(s: &str) -> bool {
    let r = resolve_plain(s);
    r.timestamp || !matches!(r.scalar, Scalar::Str(_) | Scalar::Merge) || is_base60_float(s)
}

/// Resolves a scalar that carries an explicit core tag, with go-yaml's error when the text
/// does not fit the tag.
pub(crate) fn resolve_tagged(tag: CoreTag, text: &str) -> Result<Scalar<'_>, String> {
    match tag {
        CoreTag::Str | CoreTag::Other => return Ok(Scalar::Str(Cow::Borrowed(text))),
        CoreTag::Binary => {
            use base64::Engine;
            let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            return base64::engine::general_purpose::STANDARD
                .decode(compact.as_bytes())
                .map(|bytes| Scalar::Str(Cow::Owned(String::from_utf8_lossy(&bytes).into_owned())))
                .map_err(|_| "!!binary value contains invalid base64 data".to_string());
        }
        CoreTag::Merge if text == "<<" => return Ok(Scalar::Merge),
        _ => {}
    }
    let resolved = resolve_plain(text);
    let (found, scalar) = match resolved.scalar {
        _ if resolved.timestamp => (CoreTag::Timestamp, Scalar::Str(Cow::Borrowed(text))),
        Scalar::Null => (CoreTag::Null, Scalar::Null),
        Scalar::Bool(b) => (CoreTag::Bool, Scalar::Bool(b)),
        Scalar::Int(i) => (CoreTag::Int, Scalar::Int(i)),
        Scalar::Uint(u) => (CoreTag::Int, Scalar::Uint(u)),
        Scalar::Float(f) => (CoreTag::Float, Scalar::Float(f)),
        Scalar::Merge => (CoreTag::Merge, Scalar::Merge),
        Scalar::Str(s) => (CoreTag::Str, Scalar::Str(s)),
    };
    if found == tag {
        return Ok(scalar);
    }
    match (tag, &scalar) {
        (CoreTag::Float, Scalar::Int(i)) => Ok(Scalar::Float(*i as f64)),
        _ => Err(format!(
            "cannot decode {} `{}` as a {}",
            found.short(),
            text,
            tag.short()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Scalar<'_> {
        resolve_plain(s).scalar
    }

    #[test]
    fn yaml_1_1_words() {
        for t in [
            "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE",
        ] {
            assert_eq!(r(t), Scalar::Bool(true), "{t}");
        }
        for f in ["n", "N", "no", "NO", "off", "Off", "OFF", "false", "FALSE"] {
            assert_eq!(r(f), Scalar::Bool(false), "{f}");
        }
        for s in ["oN", "tRUE", "yES", "nULL", "Nope"] {
            assert!(matches!(r(s), Scalar::Str(_)), "{s}");
        }
        assert_eq!(r(""), Scalar::Null);
        assert_eq!(r("~"), Scalar::Null);
        assert_eq!(r("<<"), Scalar::Merge);
    }

    #[test]
    fn numbers_follow_go_parse_rules() {
        // Each expectation was checked with Helm's fromYaml.
        assert_eq!(r("0777"), Scalar::Int(511));
        assert_eq!(r("0x1F"), Scalar::Int(31));
        assert_eq!(r("1_000"), Scalar::Int(1000));
        assert_eq!(r("1__2"), Scalar::Int(12));
        assert_eq!(r("-0b101"), Scalar::Int(-5));
        assert_eq!(r("0b11"), Scalar::Int(3));
        assert_eq!(r("0o17"), Scalar::Int(15));
        assert_eq!(r("+12"), Scalar::Int(12));
        assert_eq!(r("08"), Scalar::Float(8.0));
        assert_eq!(r("1e3"), Scalar::Float(1000.0));
        assert_eq!(r("1_0.5"), Scalar::Float(10.5));
        assert_eq!(r(".5"), Scalar::Float(0.5));
        assert_eq!(r("5."), Scalar::Float(5.0));
        assert_eq!(
            r("12345678901234567890"),
            Scalar::Uint(12345678901234567890)
        );
        assert!(matches!(r("1e400"), Scalar::Str(_)));
        assert!(matches!(r("0xFFFFFFFFFFFFFFFFF"), Scalar::Str(_)));
        assert!(matches!(r("1.2.3"), Scalar::Str(_)));
        assert!(matches!(r("-"), Scalar::Str(_)));
        assert!(matches!(r("0x"), Scalar::Str(_)));
        assert_eq!(
            r("123456789012345678901234567890"),
            Scalar::Float(1.2345678901234568e29)
        );
        assert!(r(".nan") != r(".nan"), "NaN");
        assert_eq!(r("-.inf"), Scalar::Float(f64::NEG_INFINITY));
    }

    #[test]
    fn timestamps_and_base60_are_detected_for_quoting() {
        assert!(is_timestamp("2002-12-14"));
        assert!(is_timestamp("2024-1-2"));
        assert!(is_timestamp("2001-12-14t21:59:43.10-05:00"));
        assert!(is_timestamp("2001-12-14 21:59:43.10"));
        assert!(!is_timestamp("2001-13-14"));
        assert!(!is_timestamp("2001-02-30"));
        assert!(!is_timestamp("12345-01-01"));
        assert!(is_base60_float("1:30"));
        assert!(is_base60_float("190:20:30.15"));
        assert!(!is_base60_float("8080:80"));
        assert!(!is_base60_float("a:1"));
        assert!(needs_quotes("2002-12-14"));
        assert!(needs_quotes("1:30"));
        assert!(!needs_quotes("hello"));
    }

    #[test]
    fn tags_convert_or_fail_like_go_yaml() {
        assert_eq!(
            resolve_tagged(CoreTag::Str, "123"),
            Ok(Scalar::Str("123".into()))
        );
        assert_eq!(resolve_tagged(CoreTag::Int, "42"), Ok(Scalar::Int(42)));
        assert_eq!(resolve_tagged(CoreTag::Float, "1"), Ok(Scalar::Float(1.0)));
        assert_eq!(
            resolve_tagged(CoreTag::Binary, "aGVsbG8="),
            Ok(Scalar::Str("hello".into()))
        );
        assert_eq!(
            resolve_tagged(CoreTag::Int, "abc"),
            Err("cannot decode !!str `abc` as a !!int".to_string())
        );
    }
}

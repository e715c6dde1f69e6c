//! `semver` and `semverCompare`, following Masterminds/semver v3.5 (the version Helm 4.2 links)
//! rule for rule: its loose version parser (leading `v`, partial versions, leading zeros
//! coerced), its constraint scanner (`||`, comma/space AND, `x`/`*` wildcards, `~`, `^`,
//! hyphen ranges), its rule that a prerelease version only satisfies an AND group that itself
//! names a prerelease, and its error wording. Charts lean on this constantly
//! (`semverCompare ">=1.21-0" .Capabilities.KubeVersion.GitVersion`), so it is ours rather
//! than a crate with npm- or Cargo-flavoured semantics.

use std::cmp::Ordering;
use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::{FuncError, FuncResult, Function, arity, string_arg};
use crate::gofmt::go_type;
use crate::value::{Object, Value};

const MAX_VERSION_LEN: usize = 256;
const MAX_CONSTRAINT_LEN: usize = 512;
const MAX_CONSTRAINT_GROUPS: usize = 32;

pub fn get(name: &str) -> Option<Function> {
    Some(match name {
        "semver" => semver_fn,
        "semverCompare" => semver_compare,
        _ => return None,
    })
}

fn semver_fn(_: &mut super::CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("semver", args, 1)?;
    let v = Version::parse(string_arg(args, 0)?)?;
    Ok(Value::Object(Arc::new(v)))
}

fn semver_compare(_: &mut super::CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("semverCompare", args, 2)?;
    let constraint = string_arg(args, 0)?;
    let version = string_arg(args, 1)?;
    COMPARED.with(|compared| {
        let mut compared = compared.borrow_mut();
        if let Some(answer) = compared.get(constraint).and_then(|v| v.get(version)) {
            return answer.clone().map(Value::Bool);
        }
        let answer =
            Constraints::parse(constraint).and_then(|c| Ok(c.check(&Version::parse(version)?)));
        if compared.len() >= MAX_COMPARED {
            compared.clear();
        }
        let versions = compared.entry(constraint.into()).or_default();
        if versions.len() >= MAX_COMPARED {
            versions.clear();
        }
        versions.insert(version.into(), answer.clone());
        answer.map(Value::Bool)
    })
}

/// Answers `semverCompare` gave on this thread, by constraint and version. Charts compare the
/// same constraint with the cluster's version in template after template (kube-prometheus-stack
/// in every rules file), and parsing a constraint costs far more than looking it up.
type Compared = std::collections::HashMap<
    Box<str>,
    std::collections::HashMap<Box<str>, Result<bool, FuncError>>,
>;

thread_local! {
    static COMPARED: std::cell::RefCell<Compared> = std::cell::RefCell::default();
}

/// Beyond this many constraints, or versions of one, the memory starts over.
const MAX_COMPARED: usize = 256;

/// A parsed version: `*semver.Version` to templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub(crate) major: u64,
    pub(crate) minor: u64,
    pub(crate) patch: u64,
    pub(crate) pre: String,
    metadata: String,
    original: String,
}

fn err(msg: impl Into<String>) -> FuncError {
    FuncError::new(msg)
}

fn only_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

fn identifier_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// Dot-separated, non-empty identifiers of `[0-9A-Za-z-]`.
fn valid_identifiers(s: &str) -> bool {
    s.split('.')
        .all(|p| !p.is_empty() && p.bytes().all(identifier_char))
}

/// The semver spec forbids leading zeros in numeric prerelease identifiers.
fn validate_prerelease(p: &str) -> Result<(), FuncError> {
    if !valid_identifiers(p) {
        return Err(err("invalid prerelease string"));
    }
    if p.split('.')
        .any(|part| part.len() > 1 && part.starts_with('0') && only_digits(part))
    {
        return Err(err("version segment starts with 0"));
    }
    Ok(())
}

/// strconv.ParseUint's error as the version parser wraps it.
fn parse_segment(s: &str) -> Result<u64, FuncError> {
    s.parse::<u64>().map_err(|_| {
        err(format!(
            "error parsing version segment: strconv.ParseUint: parsing {}: value out of range",
            crate::gofmt::go_quote(s)
        ))
    })
}

impl Version {
    /// `semver.NewVersion` with its default coercion: `v1.2` is 1.2.0, `01.02.03` is 1.2.3.
    pub fn parse(v: &str) -> Result<Version, FuncError> {
        if v.len() > MAX_VERSION_LEN {
            return Err(err(format!(
                "version string is too long (max {MAX_VERSION_LEN} bytes)"
            )));
        }
        let invalid = || err("invalid semantic version");
        let mut s = v.strip_prefix('v').unwrap_or(v);
        let mut metadata = "";
        if let Some((head, meta)) = s.split_once('+') {
            if !valid_identifiers(meta) {
                return Err(invalid());
            }
            s = head;
            metadata = meta;
        }
        let mut pre = "";
        if let Some((head, p)) = s.split_once('-') {
            if !valid_identifiers(p) {
                return Err(invalid());
            }
            s = head;
            pre = p;
        }
        let segs: Vec<&str> = s.split('.').collect();
        if segs.len() > 3 || segs.iter().any(|g| g.is_empty() || !only_digits(g)) {
            return Err(invalid());
        }
        let mut nums = [0u64; 3];
        for (slot, seg) in nums.iter_mut().zip(&segs) {
            *slot = parse_segment(seg)?;
        }
        if !pre.is_empty() {
            validate_prerelease(pre)?;
        }
        Ok(Version {
            major: nums[0],
            minor: nums[1],
            patch: nums[2],
            pre: pre.to_string(),
            metadata: metadata.to_string(),
            original: v.to_string(),
        })
    }

    fn canonical(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            s.push_str(&self.pre);
        }
        if !self.metadata.is_empty() {
            s.push('+');
            s.push_str(&self.metadata);
        }
        s
    }

    /// Precedence: numbers, then a release above its prereleases; metadata is ignored.
    fn compare(&self, o: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &o.pre),
            })
    }

    fn incremented(&self, major: u64, minor: u64, patch: u64) -> Version {
        let mut next = Version {
            major,
            minor,
            patch,
            pre: String::new(),
            metadata: String::new(),
            original: String::new(),
        };
        let prefix = if self.original.starts_with('v') {
            "v"
        } else {
            ""
        };
        next.original = format!("{prefix}{}", next.canonical());
        next
    }
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let mut pa = a.split('.');
    let mut pb = b.split('.');
    loop {
        match (pa.next(), pb.next()) {
            (None, None) => return Ordering::Equal,
            (x, y) => {
                let d = compare_pre_part(x.unwrap_or(""), y.unwrap_or(""));
                if d != Ordering::Equal {
                    return d;
                }
            }
        }
    }
}

/// Numeric identifiers sort numerically and below alphanumeric ones; a missing identifier
/// sorts below a present one.
fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    let num = |x: &str| {
        if only_digits(x) {
            x.parse::<u64>().ok()
        } else {
            None
        }
    };
    match (num(s), num(o)) {
        (None, None) => s.cmp(o),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (Some(a), Some(b)) => a.cmp(&b),
    }
}

fn ordering_int(o: Ordering) -> Value {
    Value::Int(match o {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    })
}

fn uint(v: u64) -> Value {
    Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

impl Object for Version {
    fn type_name(&self) -> &str {
        "*semver.Version"
    }

    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "Major" => uint(self.major),
            "Minor" => uint(self.minor),
            "Patch" => uint(self.patch),
            "Prerelease" => Value::str(&self.pre),
            "Metadata" => Value::str(&self.metadata),
            "Original" => Value::str(&self.original),
            "String" => Value::from(self.canonical()),
            "IncMajor" => Value::Object(Arc::new(self.incremented(
                self.major.saturating_add(1),
                0,
                0,
            ))),
            "IncMinor" => Value::Object(Arc::new(self.incremented(
                self.major,
                self.minor.saturating_add(1),
                0,
            ))),
            "IncPatch" => {
                let patch = if self.pre.is_empty() {
                    self.patch.saturating_add(1)
                } else {
                    self.patch
                };
                Value::Object(Arc::new(self.incremented(self.major, self.minor, patch)))
            }
            _ => return None,
        })
    }

    /// The comparison methods take another `*semver.Version`. Objects cannot be downcast, so
    /// the argument is re-read from its `String()` form, which always parses back to the same
    /// numbers, prerelease and metadata.
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let cmp: fn(Ordering) -> Value = match name {
            "Compare" => ordering_int,
            "LessThan" => |o| Value::Bool(o == Ordering::Less),
            "LessThanEqual" => |o| Value::Bool(o != Ordering::Greater),
            "GreaterThan" => |o| Value::Bool(o == Ordering::Greater),
            "GreaterThanEqual" => |o| Value::Bool(o != Ordering::Less),
            "Equal" => |o| Value::Bool(o == Ordering::Equal),
            _ => return None,
        };
        let other = match args {
            [Value::Object(o)] if o.type_name() == "*semver.Version" => {
                Version::parse(&o.display()).map_err(|e| e.0)
            }
            [other] => Err(format!(
                "wrong type for value; expected *semver.Version; got {}",
                go_type(other)
            )),
            _ => Err(format!(
                "wrong number of args for {name}: want 1 got {}",
                args.len()
            )),
        };
        Some(other.map(|o| cmp(self.compare(&o))))
    }

    fn display(&self) -> String {
        self.canonical()
    }

    /// Version's MarshalJSON writes its `String()`.
    fn to_data(&self) -> Value {
        Value::from(self.canonical())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    TildeOrEqual,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

/// One comparison of an AND group. `dirty` marks a wildcard or missing part (`1.x`, `1`,
/// `1.2`), which changes how most operators compare.
#[derive(Debug, Clone)]
struct Constraint {
    op: Op,
    con: Version,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

/// `||`-separated groups of AND-ed constraints, each remembering whether it names a
/// prerelease (only then may a prerelease version satisfy it).
#[derive(Debug, Clone)]
pub struct Constraints {
    groups: Vec<(Vec<Constraint>, bool)>,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0c' | b'\r')
}

fn skip_space(s: &str) -> &str {
    s.trim_start_matches(|c: char| c.is_ascii() && is_space(c as u8))
}

/// The characters of a constraint's numeric segment; `|` is kept for compatibility with the
/// regular expression Masterminds used to have, and is rejected later as non-numeric.
fn seg_char(b: u8) -> bool {
    b.is_ascii_digit() || matches!(b, b'x' | b'X' | b'*' | b'|')
}

const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";

static RANGE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(&format!(r"\s*({CV})\s+-\s+({CV})\s*")).ok());

/// `1.2 - 1.4` becomes `>= 1.2, <= 1.4 `, exactly as Masterminds rewrites hyphen ranges.
fn rewrite_range(c: &str) -> String {
    let Some(re) = RANGE.as_ref().filter(|_| c.contains('-')) else {
        return c.to_string();
    };
    let mut out = c.to_string();
    for caps in re.captures_iter(c) {
        let (Some(all), Some(a), Some(b)) = (caps.get(0), caps.get(1), caps.get(11)) else {
            continue;
        };
        let replacement = format!(">= {}, <= {} ", a.as_str(), b.as_str());
        out = out.replacen(all.as_str(), &replacement, 1);
    }
    out
}

struct Scanned<'a> {
    segs: Vec<&'a str>,
    pre: &'a str,
    metadata: &'a str,
    len: usize,
}

fn scan_identifiers(s: &[u8], start: usize) -> usize {
    let mut end = start;
    loop {
        let part = end;
        while end < s.len() && identifier_char(s[end]) {
            end += 1;
        }
        if end == part {
            return part;
        }
        if end + 1 < s.len() && s[end] == b'.' && identifier_char(s[end + 1]) {
            end += 1;
            continue;
        }
        return end;
    }
}

/// The version part of a constraint at the front of `s`: `v`, one to three segments, then an
/// optional prerelease and metadata. Whatever follows is left for the caller to judge.
fn scan_version(s: &str) -> Option<Scanned<'_>> {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'v'));
    let mut segs = Vec::with_capacity(3);
    loop {
        let start = i;
        while i < b.len() && seg_char(b[i]) {
            i += 1;
        }
        if i == start {
            return None;
        }
        segs.push(&s[start..i]);
        if segs.len() == 3 || i + 1 >= b.len() || b[i] != b'.' || !seg_char(b[i + 1]) {
            break;
        }
        i += 1;
    }
    let mut pre = "";
    if b.get(i) == Some(&b'-') {
        let end = scan_identifiers(b, i + 1);
        if end > i + 1 {
            pre = &s[i + 1..end];
            i = end;
        }
    }
    let mut metadata = "";
    if b.get(i) == Some(&b'+') {
        let end = scan_identifiers(b, i + 1);
        if end > i + 1 {
            metadata = &s[i + 1..end];
            i = end;
        }
    }
    Some(Scanned {
        segs,
        pre,
        metadata,
        len: i,
    })
}

fn scan_op(s: &str) -> (Op, &str) {
    for (text, op) in [
        ("!=", Op::NotEqual),
        (">=", Op::GreaterEqual),
        ("=>", Op::GreaterEqual),
        ("<=", Op::LessEqual),
        ("=<", Op::LessEqual),
        ("~>", Op::Tilde),
        ("=", Op::TildeOrEqual),
        (">", Op::Greater),
        ("<", Op::Less),
        ("~", Op::Tilde),
        ("^", Op::Caret),
    ] {
        if let Some(rest) = s.strip_prefix(text) {
            return (op, rest);
        }
    }
    (Op::TildeOrEqual, s)
}

fn parser_error() -> FuncError {
    err("constraint parser error")
}

/// A numeric constraint segment: leading zeros are coerced, as NewVersion does.
fn constraint_segment(s: &str) -> Result<u64, FuncError> {
    if !only_digits(s) {
        return Err(parser_error());
    }
    s.parse::<u64>().map_err(|_| parser_error())
}

fn build_constraint(op: Op, orig: &str, sc: &Scanned<'_>) -> Result<Constraint, FuncError> {
    let seg = |i: usize| sc.segs.get(i).copied();
    let mut con = Version {
        major: 0,
        minor: 0,
        patch: 0,
        pre: sc.pre.to_string(),
        metadata: String::new(),
        original: orig.to_string(),
    };
    let mut ver_len = "0.0.0".len()
        + if sc.pre.is_empty() {
            0
        } else {
            1 + sc.pre.len()
        };
    let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    match (seg(0), seg(1), seg(2)) {
        (Some(major), _, _) if is_x(major) => dirty = true,
        (Some(major), minor, _) if minor.is_none_or(is_x) => {
            dirty = true;
            minor_dirty = true;
            ver_len += major.len() - 1;
            con.major = constraint_segment(major)?;
        }
        (Some(major), Some(minor), patch) if patch.is_none_or(is_x) => {
            dirty = true;
            patch_dirty = true;
            ver_len += major.len() + minor.len() - 2;
            con.major = constraint_segment(major)?;
            con.minor = constraint_segment(minor)?;
        }
        (Some(major), Some(minor), Some(patch)) => {
            con.metadata = sc.metadata.to_string();
            ver_len = orig.len();
            con.major = constraint_segment(major)?;
            con.minor = constraint_segment(minor)?;
            con.patch = constraint_segment(patch)?;
        }
        _ => return Err(parser_error()),
    }
    if ver_len > MAX_VERSION_LEN {
        return Err(parser_error());
    }
    if !sc.pre.is_empty() && validate_prerelease(sc.pre).is_err() {
        return Err(parser_error());
    }
    Ok(Constraint {
        op,
        con,
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

/// One AND group: constraints separated by whitespace, a comma, or both.
fn parse_group(g: &str) -> Result<Vec<Constraint>, FuncError> {
    let improper = || {
        err(format!(
            "improper constraint: {}",
            crate::gofmt::go_quote(g)
        ))
    };
    let mut s = skip_space(g);
    if s.is_empty() {
        return Err(improper());
    }
    let mut out = Vec::new();
    loop {
        let (op, rest) = scan_op(s);
        let rest = skip_space(rest);
        let sc = scan_version(rest).ok_or_else(improper)?;
        out.push(build_constraint(op, &rest[..sc.len], &sc)?);
        let after = &rest[sc.len..];
        let trimmed = skip_space(after);
        if trimmed.is_empty() {
            return Ok(out);
        }
        let next = if let Some(t) = trimmed.strip_prefix(',') {
            skip_space(t)
        } else if trimmed.len() == after.len() {
            return Err(improper());
        } else {
            trimmed
        };
        if next.is_empty() {
            return Err(improper());
        }
        s = next;
    }
}

impl Constraints {
    pub fn parse(c: &str) -> Result<Constraints, FuncError> {
        if c.len() > MAX_CONSTRAINT_LEN {
            return Err(err(format!(
                "constraint string is too long (max {MAX_CONSTRAINT_LEN} bytes)"
            )));
        }
        let c = rewrite_range(c);
        let ors: Vec<&str> = c.split("||").collect();
        if ors.len() > MAX_CONSTRAINT_GROUPS {
            return Err(err(format!(
                "too many constraint groups (max {MAX_CONSTRAINT_GROUPS})"
            )));
        }
        let mut groups = Vec::with_capacity(ors.len());
        for g in ors {
            let cs = parse_group(g)?;
            let has_pre = cs.iter().any(|c| !c.con.pre.is_empty());
            groups.push((cs, has_pre));
        }
        Ok(Constraints { groups })
    }

    pub fn check(&self, v: &Version) -> bool {
        self.groups
            .iter()
            .any(|(cs, has_pre)| cs.iter().all(|c| c.ok(v, *has_pre)))
    }
}

impl Constraint {
    fn ok(&self, v: &Version, include_pre: bool) -> bool {
        if !v.pre.is_empty() && !include_pre {
            return false;
        }
        let c = &self.con;
        match self.op {
            Op::NotEqual => {
                if self.dirty {
                    if c.major != v.major {
                        return true;
                    }
                    if c.minor != v.minor && !self.minor_dirty {
                        return true;
                    } else if self.minor_dirty {
                        return false;
                    } else if c.patch != v.patch && !self.patch_dirty {
                        return true;
                    } else if self.patch_dirty {
                        if !v.pre.is_empty() || !c.pre.is_empty() {
                            return compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                        }
                        return false;
                    }
                }
                v.compare(c) != Ordering::Equal
            }
            Op::Greater => {
                if !self.dirty {
                    return v.compare(c) == Ordering::Greater;
                }
                if v.major != c.major {
                    return v.major > c.major;
                }
                if self.minor_dirty {
                    return false;
                }
                if self.patch_dirty {
                    return v.minor > c.minor;
                }
                v.compare(c) == Ordering::Greater
            }
            Op::Less => v.compare(c) == Ordering::Less,
            Op::GreaterEqual => v.compare(c) != Ordering::Less,
            Op::LessEqual => {
                if !self.dirty {
                    return v.compare(c) != Ordering::Greater;
                }
                if v.major > c.major {
                    return false;
                }
                !(v.major == c.major && v.minor > c.minor && !self.minor_dirty)
            }
            Op::Tilde => self.tilde(v),
            Op::TildeOrEqual => {
                if self.dirty {
                    self.tilde(v)
                } else {
                    v.compare(c) == Ordering::Equal
                }
            }
            Op::Caret => self.caret(v),
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }

    fn caret(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major > 0 || self.minor_dirty {
            return v.major == c.major;
        }
        if v.major > 0 {
            return false;
        }
        if c.minor > 0 || self.patch_dirty {
            return v.minor == c.minor;
        }
        if v.minor > 0 {
            return false;
        }
        c.patch == v.patch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(c: &str, v: &str) -> Result<bool, String> {
        let cs = Constraints::parse(c).map_err(|e| e.0)?;
        let v = Version::parse(v).map_err(|e| e.0)?;
        Ok(cs.check(&v))
    }

    #[test]
    fn remembered_comparisons_answer_as_fresh_ones() {
        use crate::engine::funcs::strings::tests::call;
        let cases = [
            (">=1.14.0-0", "v1.36.0"),
            ("<1.14.0-0", "v1.36.0"),
            (">=1.14.0-0", "v1.13.2"),
            ("not a constraint", "v1.36.0"),
            (">=1.14.0-0", "not a version"),
        ];
        for _ in 0..2 {
            for (c, v) in cases {
                let fresh = cmp(c, v);
                let called = call("semverCompare", &[Value::str(c), Value::str(v)]);
                assert_eq!(called.map_err(|e| e.0), fresh.map(Value::Bool), "{c} {v}");
            }
        }
        for i in 0..MAX_COMPARED + 10 {
            let v = format!("1.{i}.0");
            assert_eq!(
                call("semverCompare", &[Value::str(">=1.100.0"), Value::str(&v)]),
                Ok(Value::Bool(i >= 100))
            );
        }
    }

    #[test]
    fn versions_parse_loosely_like_new_version() {
        let v = Version::parse("v1.2.3-alpha.1+meta").expect("valid");
        assert_eq!(v.display(), "1.2.3-alpha.1+meta");
        assert_eq!(v.field("Original"), Some(Value::str("v1.2.3-alpha.1+meta")));
        assert_eq!(v.field("Prerelease"), Some(Value::str("alpha.1")));
        assert_eq!(v.field("Major"), Some(Value::Int(1)));
        // Oracle: `(semver "v01.2").String` is 1.2.0.
        assert_eq!(Version::parse("v01.2").expect("valid").display(), "1.2.0");
    }

    #[test]
    fn version_errors_are_worded_like_masterminds() {
        // Each message verified against Helm 4.2.3.
        for (input, msg) in [
            ("foo", "invalid semantic version"),
            ("", "invalid semantic version"),
            ("1.0.0-01", "version segment starts with 0"),
            (
                "99999999999999999999",
                "error parsing version segment: strconv.ParseUint: parsing \"99999999999999999999\": value out of range",
            ),
        ] {
            assert_eq!(cmp(">=1.0", input), Err(msg.to_string()), "{input}");
        }
    }

    #[test]
    fn constraint_errors_are_worded_like_masterminds() {
        // Each message verified against Helm 4.2.3.
        for (c, msg) in [
            ("", "improper constraint: \"\""),
            (">=1.0 foo", "improper constraint: \">=1.0 foo\""),
            (">=1x", "constraint parser error"),
            (">=1.0.", "improper constraint: \">=1.0.\""),
            ("||", "improper constraint: \"\""),
            (">1,,<2", "improper constraint: \">1,,<2\""),
            (">= 1.2 - 1.4", "improper constraint: \">=>= 1.2, <= 1.4 \""),
        ] {
            assert_eq!(cmp(c, "1.0.0"), Err(msg.to_string()), "{c}");
        }
    }

    #[test]
    fn methods_compare_with_other_versions() {
        let a = Version::parse("1.2.3").expect("valid");
        let b: Arc<dyn Object> = Arc::new(Version::parse("1.2.4").expect("valid"));
        assert_eq!(
            a.call("Compare", &[Value::Object(b.clone())]),
            Some(Ok(Value::Int(-1)))
        );
        assert_eq!(
            a.call("LessThan", &[Value::Object(b)]),
            Some(Ok(Value::Bool(true)))
        );
        let inc = a.field("IncMinor").map(|v| crate::gofmt::format_value(&v));
        assert_eq!(inc.as_deref(), Some("1.3.0"));
    }

    /// The truth table generated by Helm 4.2.3 (see `semver_oracle.tsv`).
    #[test]
    fn compare_matches_helm_truth_table() {
        let table = include_str!("testdata/semver_oracle.tsv");
        let mut checked = 0;
        for line in table.lines().filter(|l| !l.is_empty()) {
            let cols: Vec<&str> = line.split('\t').collect();
            let [c, v, want] = cols[..] else {
                panic!("bad line {line:?}")
            };
            let got = match cmp(c, v) {
                Ok(b) => b.to_string(),
                Err(e) => format!("error: {e}"),
            };
            assert_eq!(got, want, "semverCompare {c:?} {v:?}");
            checked += 1;
        }
        assert!(checked > 300, "only {checked} rows");
    }
}

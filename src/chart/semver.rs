//! The subset of Masterminds/semver v3 that chart loading needs: Helm validates chart versions
//! with its lenient `NewVersion`, and matches a dependency to a subchart only when the
//! subchart's version satisfies the dependency's version constraint (`IsCompatibleRange`).

use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: String,
}

fn parse_num(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn valid_idents(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// Splits `core-pre+meta` and checks the pre-release and build parts.
fn split_suffixes(s: &str) -> Option<(&str, &str)> {
    let (rest, meta) = match s.split_once('+') {
        Some((r, m)) => (r, Some(m)),
        None => (s, None),
    };
    if let Some(m) = meta
        && !valid_idents(m)
    {
        return None;
    }
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => {
            if !valid_idents(p) {
                return None;
            }
            (c, p)
        }
        None => (rest, ""),
    };
    Some((core, pre))
}

impl Version {
    /// Masterminds' lenient parse: `v` prefix, missing minor/patch allowed.
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.strip_prefix('v').unwrap_or(s);
        let (core, pre) = split_suffixes(s)?;
        let mut parts = core.split('.');
        let major = parse_num(parts.next()?)?;
        let minor = parts.next().map_or(Some(0), parse_num)?;
        let patch = parts.next().map_or(Some(0), parse_num)?;
        if parts.next().is_some() {
            return None;
        }
        Some(Version {
            major,
            minor,
            patch,
            pre: pre.to_string(),
        })
    }

    fn cmp_core(&self, other: &Version) -> Ordering {
        (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch))
    }

    fn compare(&self, other: &Version) -> Ordering {
        self.cmp_core(other)
            .then_with(|| compare_pre(&self.pre, &other.pre))
    }
}

fn compare_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let mut ai = a.split('.');
    let mut bi = b.split('.');
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(n), Ok(m)) => n.cmp(&m),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => x.cmp(y),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

/// A constraint version where trailing parts may be wildcards (`1.2.x`, `1.*`, `1`).
#[derive(Debug, Clone)]
struct Partial {
    version: Version,
    /// How many of major/minor/patch were given as numbers (0..=3).
    given: u8,
}

fn parse_partial(s: &str) -> Option<Partial> {
    let s = s.strip_prefix('v').unwrap_or(s);
    let (core, pre) = split_suffixes(s)?;
    let mut nums = [0u64; 3];
    let mut given = 0u8;
    let mut wild = false;
    for (i, part) in core.split('.').enumerate() {
        if i >= 3 {
            return None;
        }
        if matches!(part, "x" | "X" | "*") {
            wild = true;
            continue;
        }
        if wild {
            // A number after a wildcard (`1.x.3`) is ignored by Masterminds.
            continue;
        }
        nums[i] = parse_num(part)?;
        given = i as u8 + 1;
    }
    Some(Partial {
        version: Version {
            major: nums[0],
            minor: nums[1],
            patch: nums[2],
            pre: pre.to_string(),
        },
        given,
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Tilde,
    Caret,
}

#[derive(Debug, Clone)]
struct Single {
    op: Op,
    c: Partial,
}

impl Single {
    fn check(&self, v: &Version) -> bool {
        let c = &self.c.version;
        let given = self.c.given;
        if !v.pre.is_empty() && c.pre.is_empty() {
            return false;
        }
        match self.op {
            Op::Eq => eq_partial(v, &self.c),
            Op::Ne => !eq_partial(v, &self.c),
            Op::Gt => match given {
                0 => false,
                1 => v.major > c.major,
                2 => v.major > c.major || (v.major == c.major && v.minor > c.minor),
                _ => v.compare(c) == Ordering::Greater,
            },
            Op::Lt => v.compare(c) == Ordering::Less,
            Op::Ge => v.compare(c) != Ordering::Less,
            Op::Le => match given {
                0 => true,
                1 => v.major <= c.major,
                2 => v.major < c.major || (v.major == c.major && v.minor <= c.minor),
                _ => v.compare(c) != Ordering::Greater,
            },
            Op::Tilde => {
                v.compare(c) != Ordering::Less
                    && (given == 0 || v.major == c.major)
                    && (given < 2 || v.minor == c.minor)
            }
            Op::Caret => {
                if v.compare(c) == Ordering::Less {
                    return false;
                }
                if c.major > 0 || given <= 1 {
                    return given == 0 || v.major == c.major;
                }
                if c.minor > 0 || given == 2 {
                    return v.major == 0 && v.minor == c.minor;
                }
                v.major == 0 && v.minor == 0 && v.patch == c.patch
            }
        }
    }
}

fn eq_partial(v: &Version, c: &Partial) -> bool {
    let cv = &c.version;
    match c.given {
        0 => true,
        1 => v.major == cv.major,
        2 => v.major == cv.major && v.minor == cv.minor,
        _ => v.cmp_core(cv) == Ordering::Equal && v.pre == cv.pre,
    }
}

/// A parsed constraint such as `>= 1.2, < 2 || ^3.1`.
#[derive(Debug, Clone)]
pub struct Constraint {
    any_of: Vec<Vec<Single>>,
}

fn parse_single(s: &str) -> Option<Single> {
    let ops: [(&str, Op); 11] = [
        (">=", Op::Ge),
        ("=>", Op::Ge),
        ("<=", Op::Le),
        ("=<", Op::Le),
        ("!=", Op::Ne),
        ("~>", Op::Tilde),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("=", Op::Eq),
        ("~", Op::Tilde),
        ("^", Op::Caret),
    ];
    let (op, rest) = ops
        .iter()
        .find_map(|(p, op)| s.strip_prefix(p).map(|r| (*op, r)))
        .unwrap_or((Op::Eq, s));
    let c = parse_partial(rest.trim())?;
    Some(Single { op, c })
}

impl Constraint {
    pub fn parse(s: &str) -> Option<Constraint> {
        let mut any_of = Vec::new();
        for group in s.split("||") {
            // Join an operator separated from its version by spaces (`>= 1.2`).
            let tokens: Vec<&str> = group
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|t| !t.is_empty())
                .collect();
            let mut joined: Vec<String> = Vec::new();
            let mut i = 0;
            while i < tokens.len() {
                let t = tokens[i];
                if tokens.get(i + 1) == Some(&"-") {
                    let hi = tokens.get(i + 2)?;
                    joined.push(format!(">={t}"));
                    joined.push(format!("<={hi}"));
                    i += 3;
                    continue;
                }
                if t.chars().all(|c| "<>=!~^".contains(c)) {
                    let next = tokens.get(i + 1)?;
                    joined.push(format!("{t}{next}"));
                    i += 2;
                    continue;
                }
                joined.push(t.to_string());
                i += 1;
            }
            if joined.is_empty() {
                return None;
            }
            any_of.push(
                joined
                    .iter()
                    .map(|t| parse_single(t))
                    .collect::<Option<Vec<_>>>()?,
            );
        }
        Some(Constraint { any_of })
    }

    pub fn matches(&self, v: &Version) -> bool {
        self.any_of.iter().any(|all| all.iter().all(|s| s.check(v)))
    }
}

/// Helm's `IsCompatibleRange`: false when either side does not parse.
pub fn is_compatible_range(constraint: &str, version: &str) -> bool {
    match (Constraint::parse(constraint), Version::parse(version)) {
        (Some(c), Some(v)) => c.matches(&v),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_leniently() {
        assert!(Version::parse("1.2.3").is_some());
        assert!(Version::parse("v1.2").is_some());
        assert!(Version::parse("1").is_some());
        assert!(Version::parse("1.2.3-rc.1+build.5").is_some());
        assert!(Version::parse("1.2.3.4").is_none());
        assert!(Version::parse("latest").is_none());
        assert!(Version::parse("").is_none());
    }

    #[test]
    fn constraints() {
        let ok = |c: &str, v: &str| is_compatible_range(c, v);
        assert!(ok("1.2.3", "1.2.3"));
        assert!(!ok("1.2.3", "1.2.4"));
        assert!(ok("2.x.x", "2.31.10"));
        assert!(!ok("2.x.x", "3.0.0"));
        assert!(ok("~1.2.3", "1.2.9"));
        assert!(!ok("~1.2.3", "1.3.0"));
        assert!(ok("^1.2.3", "1.9.0"));
        assert!(!ok("^1.2.3", "2.0.0"));
        assert!(ok("^0.2.3", "0.2.9"));
        assert!(!ok("^0.2.3", "0.3.0"));
        assert!(ok(">= 1.0.0, < 2.0.0", "1.5.0"));
        assert!(ok(">=1.0.0 <2.0.0", "1.5.0"));
        assert!(!ok(">=1.0.0 <2.0.0", "2.0.0"));
        assert!(ok("1.0.0 - 1.4.0", "1.4.0"));
        assert!(ok("<1 || >=3", "3.1.0"));
        assert!(ok("*", "9.9.9"));
        assert!(!ok("*", "1.0.0-beta"));
        assert!(ok(">=1.0.0-0", "1.0.0-beta"));
        assert!(!ok("", "1.0.0"));
    }
}

//! Chart versions and dependency version ranges. Helm checks both with Masterminds/semver v3
//! (`NewVersion` for a chart's version, `IsCompatibleRange` to match a dependency to a
//! subchart), the same library behind the template functions `semver` and `semverCompare`;
//! so this is a view of that one implementation, shaped for chart loading and the registry.

use crate::engine::funcs::semver as masterminds;

/// A version as Masterminds' lenient `NewVersion` parses it (`v` prefix, missing minor or
/// patch allowed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: String,
    parsed: masterminds::Version,
}

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        let parsed = masterminds::Version::parse(s).ok()?;
        Some(Version {
            major: parsed.major,
            minor: parsed.minor,
            patch: parsed.patch,
            pre: parsed.pre.clone(),
            parsed,
        })
    }
}

/// A parsed constraint such as `>= 1.2, < 2 || ^3.1`.
#[derive(Debug, Clone)]
pub struct Constraint(masterminds::Constraints);

impl Constraint {
    pub fn parse(s: &str) -> Option<Constraint> {
        masterminds::Constraints::parse(s).ok().map(Constraint)
    }

    pub fn matches(&self, v: &Version) -> bool {
        self.0.check(&v.parsed)
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

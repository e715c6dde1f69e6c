//! `.helmignore` rules as Helm's `pkg/ignore` evaluates them (for chart directories only).
//!
//! Rules are checked in order and the first decisive one wins. Quirk kept on purpose: a
//! negated rule (`!pat`) that does NOT match a path ignores that path, as in Helm.

#[derive(Debug, Default)]
pub(super) struct Rules {
    patterns: Vec<Pattern>,
}

#[derive(Debug)]
struct Pattern {
    glob: String,
    negate: bool,
    must_dir: bool,
    anchor: Anchor,
}

#[derive(Debug, PartialEq)]
enum Anchor {
    /// Leading `/`: matched against the whole path from the chart root.
    Root,
    /// Contains `/`: matched against the whole path.
    Path,
    /// No `/`: matched against the base name only.
    Base,
}

impl Rules {
    pub(super) fn parse(text: &str) -> Result<Rules, String> {
        let mut rules = Rules::default();
        for line in text.lines() {
            rules.parse_rule(line)?;
        }
        Ok(rules)
    }

    /// Helm always hides dot files in `templates/`.
    pub(super) fn add_defaults(&mut self) {
        // The default rule is well-formed, so parsing cannot fail.
        let _ = self.parse_rule("templates/.?*");
    }

    fn parse_rule(&mut self, line: &str) -> Result<(), String> {
        let rule = line.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err("double-star (**) syntax is not supported".to_string());
        }
        if glob_match(rule, "abc").is_err() {
            return Err("syntax error in pattern".to_string());
        }
        let mut rest = rule;
        let negate = rest.starts_with('!');
        if negate {
            rest = &rest[1..];
        }
        let must_dir = rest.ends_with('/');
        if must_dir {
            rest = &rest[..rest.len() - 1];
        }
        let anchor = if let Some(stripped) = rest.strip_prefix('/') {
            rest = stripped;
            Anchor::Root
        } else if rest.contains('/') {
            Anchor::Path
        } else {
            Anchor::Base
        };
        self.patterns.push(Pattern {
            glob: rest.to_string(),
            negate,
            must_dir,
            anchor,
        });
        Ok(())
    }

    pub(super) fn ignore(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        for p in &self.patterns {
            let subject = match p.anchor {
                Anchor::Base => path.rsplit('/').next().unwrap_or(path),
                Anchor::Root | Anchor::Path => path,
            };
            let matched = glob_match(&p.glob, subject).unwrap_or(false);
            if p.negate {
                if (p.must_dir && !is_dir) || !matched {
                    return true;
                }
                continue;
            }
            if p.must_dir && !is_dir {
                continue;
            }
            if matched {
                return true;
            }
        }
        false
    }
}

/// Go's `filepath.Match` on `/`-separated paths: `*` and `?` never cross `/`, `[...]` classes
/// with ranges and `^` negation, `\` escapes. `Err` on a malformed pattern.
pub(super) fn glob_match(pattern: &str, name: &str) -> Result<bool, ()> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n)
}

fn match_from(p: &[char], n: &[char]) -> Result<bool, ()> {
    let Some((&c, rest)) = p.split_first() else {
        return Ok(n.is_empty());
    };
    match c {
        '*' => {
            // Validate the remainder even when we return early, as Go reports bad patterns.
            let mut any = false;
            for i in 0..=n.len() {
                if i > 0 && n[i - 1] == '/' {
                    break;
                }
                if match_from(rest, &n[i..])? {
                    any = true;
                    break;
                }
            }
            Ok(any)
        }
        '?' => match n.split_first() {
            Some((&ch, nrest)) if ch != '/' => match_from(rest, nrest),
            _ => {
                check_pattern(rest)?;
                Ok(false)
            }
        },
        '[' => {
            let (matched, consumed) = match_class(rest, n.first().copied())?;
            match n.split_first() {
                Some((&ch, nrest)) if matched && ch != '/' => match_from(&rest[consumed..], nrest),
                _ => {
                    check_pattern(&rest[consumed..])?;
                    Ok(false)
                }
            }
        }
        '\\' => {
            let Some((&lit, prest)) = rest.split_first() else {
                return Err(());
            };
            match n.split_first() {
                Some((&ch, nrest)) if ch == lit => match_from(prest, nrest),
                _ => {
                    check_pattern(prest)?;
                    Ok(false)
                }
            }
        }
        lit => match n.split_first() {
            Some((&ch, nrest)) if ch == lit => match_from(rest, nrest),
            _ => {
                check_pattern(rest)?;
                Ok(false)
            }
        },
    }
}

fn check_pattern(p: &[char]) -> Result<(), ()> {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '[' => {
                let (_, consumed) = match_class(&p[i + 1..], None)?;
                i += 1 + consumed;
            }
            '\\' => {
                if i + 1 >= p.len() {
                    return Err(());
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Parses a character class body (after `[`); returns whether `ch` matches and how many
/// pattern chars (including the closing `]`) were consumed.
fn match_class(p: &[char], ch: Option<char>) -> Result<(bool, usize), ()> {
    let mut i = 0;
    let negated = p.first() == Some(&'^');
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let Some(&c) = p.get(i) else {
            return Err(());
        };
        if c == ']' && !first {
            i += 1;
            break;
        }
        first = false;
        let (lo, next) = class_char(p, i)?;
        i = next;
        let mut hi = lo;
        if p.get(i) == Some(&'-') {
            let (h, next) = class_char(p, i + 1)?;
            hi = h;
            i = next;
        }
        if let Some(ch) = ch
            && lo <= ch
            && ch <= hi
        {
            matched = true;
        }
    }
    Ok((matched != negated, i))
}

fn class_char(p: &[char], i: usize) -> Result<(char, usize), ()> {
    match p.get(i) {
        Some('\\') => p.get(i + 1).map(|&c| (c, i + 2)).ok_or(()),
        Some('-') | Some(']') => Err(()),
        Some(&c) => Ok((c, i + 1)),
        None => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_filepath_match() {
        assert_eq!(glob_match("*.txt", "a.txt"), Ok(true));
        assert_eq!(glob_match("*", "a/b"), Ok(false));
        assert_eq!(glob_match("a/*", "a/b"), Ok(true));
        assert_eq!(glob_match("[a-c]x", "bx"), Ok(true));
        assert_eq!(glob_match("[^a-c]x", "bx"), Ok(false));
        assert_eq!(glob_match("a?c", "abc"), Ok(true));
        assert_eq!(glob_match("\\*", "*"), Ok(true));
        assert!(glob_match("[", "x").is_err());
    }

    #[test]
    fn helmignore_rules() {
        let mut r =
            Rules::parse("# comment\n*.md\n/secret.txt\ndocs/\nci/*.yaml\n").unwrap_or_default();
        r.add_defaults();
        assert!(r.ignore("README.md", false));
        assert!(r.ignore("sub/README.md", false));
        assert!(r.ignore("secret.txt", false));
        assert!(!r.ignore("sub/secret.txt", false));
        assert!(r.ignore("docs", true));
        assert!(!r.ignore("docs", false));
        assert!(r.ignore("ci/a.yaml", false));
        assert!(r.ignore("templates/.hidden", false));
        assert!(!r.ignore("templates/a.yaml", false));
        assert!(Rules::parse("a/**/b").is_err());
    }

    #[test]
    fn negated_rule_ignores_non_matches_like_helm() {
        let r = Rules::parse("!keep.txt").unwrap_or_default();
        assert!(r.ignore("other.txt", false));
        assert!(!r.ignore("keep.txt", false));
    }
}

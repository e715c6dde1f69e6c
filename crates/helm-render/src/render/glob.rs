//! `.Files.Glob` patterns with the semantics of the glob library Helm uses (gobwas/glob with
//! `/` as separator): `*` and `?` stop at `/`, `**` crosses it, `[a-z]`/`[!x]` are classes and
//! `{a,b}` are alternatives.

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(char),
    AnyChar,
    AnyRun,
    AnyRunAcrossSeparators,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    Alternatives(Vec<Vec<Token>>),
}

#[derive(Debug, Clone)]
pub struct GlobPattern {
    tokens: Vec<Token>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GlobError {
    #[error("unclosed character class")]
    UnclosedClass,
    #[error("unclosed alternatives")]
    UnclosedAlternatives,
    #[error("pattern ends with an escape")]
    TrailingEscape,
}

const SEPARATOR: char = '/';

impl GlobPattern {
    pub fn new(pattern: &str) -> Result<Self, GlobError> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut pos = 0;
        let tokens = parse_sequence(&chars, &mut pos, false)?;
        Ok(GlobPattern { tokens })
    }

    pub fn matches(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        match_tokens(&self.tokens, &chars)
    }
}

/// Parses until the end, or (inside `{}`) until a `,` or `}` that belongs to the caller.
fn parse_sequence(
    chars: &[char],
    pos: &mut usize,
    in_alternatives: bool,
) -> Result<Vec<Token>, GlobError> {
    let mut tokens = Vec::new();
    while let Some(&c) = chars.get(*pos) {
        match c {
            ',' | '}' if in_alternatives => return Ok(tokens),
            '\\' => {
                let escaped = chars.get(*pos + 1).ok_or(GlobError::TrailingEscape)?;
                tokens.push(Token::Literal(*escaped));
                *pos += 2;
            }
            '?' => {
                tokens.push(Token::AnyChar);
                *pos += 1;
            }
            '*' => {
                if chars.get(*pos + 1) == Some(&'*') {
                    tokens.push(Token::AnyRunAcrossSeparators);
                    *pos += 2;
                } else {
                    tokens.push(Token::AnyRun);
                    *pos += 1;
                }
            }
            '[' => tokens.push(parse_class(chars, pos)?),
            '{' => {
                *pos += 1;
                let mut alternatives = Vec::new();
                loop {
                    alternatives.push(parse_sequence(chars, pos, true)?);
                    match chars.get(*pos) {
                        Some(',') => *pos += 1,
                        Some('}') => {
                            *pos += 1;
                            break;
                        }
                        _ => return Err(GlobError::UnclosedAlternatives),
                    }
                }
                tokens.push(Token::Alternatives(alternatives));
            }
            other => {
                tokens.push(Token::Literal(other));
                *pos += 1;
            }
        }
    }
    if in_alternatives {
        return Err(GlobError::UnclosedAlternatives);
    }
    Ok(tokens)
}

fn parse_class(chars: &[char], pos: &mut usize) -> Result<Token, GlobError> {
    *pos += 1;
    let negated = chars.get(*pos) == Some(&'!');
    if negated {
        *pos += 1;
    }
    let mut ranges = Vec::new();
    loop {
        let c = *chars.get(*pos).ok_or(GlobError::UnclosedClass)?;
        if c == ']' {
            *pos += 1;
            return Ok(Token::Class { negated, ranges });
        }
        if chars.get(*pos + 1) == Some(&'-') && chars.get(*pos + 2).is_some_and(|&e| e != ']') {
            let end = chars[*pos + 2];
            ranges.push((c, end));
            *pos += 3;
        } else {
            ranges.push((c, c));
            *pos += 1;
        }
    }
}

fn match_tokens(tokens: &[Token], text: &[char]) -> bool {
    let Some((first, rest)) = tokens.split_first() else {
        return text.is_empty();
    };
    match first {
        Token::Literal(c) => text.first() == Some(c) && match_tokens(rest, &text[1..]),
        Token::AnyChar => {
            text.first().is_some_and(|&c| c != SEPARATOR) && match_tokens(rest, &text[1..])
        }
        Token::Class { negated, ranges } => text.first().is_some_and(|&c| {
            let inside = ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi);
            inside != *negated && match_tokens(rest, &text[1..])
        }),
        Token::AnyRun => {
            let stop = text
                .iter()
                .position(|&c| c == SEPARATOR)
                .unwrap_or(text.len());
            (0..=stop).any(|n| match_tokens(rest, &text[n..]))
        }
        Token::AnyRunAcrossSeparators => (0..=text.len()).any(|n| match_tokens(rest, &text[n..])),
        Token::Alternatives(options) => options.iter().any(|option| {
            let mut joined = option.clone();
            joined.extend_from_slice(rest);
            match_tokens(&joined, text)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, text: &str) -> bool {
        GlobPattern::new(pattern)
            .expect("valid pattern")
            .matches(text)
    }

    #[test]
    fn star_stops_at_separator_and_double_star_crosses_it() {
        assert!(m("files/*", "files/a.txt"));
        assert!(!m("files/*", "files/sub/a.txt"));
        assert!(m("files/**", "files/sub/a.txt"));
        assert!(m("**.yaml", "a/b/c.yaml"));
    }

    #[test]
    fn classes_alternatives_and_escapes() {
        assert!(m("conf/[a-c].txt", "conf/b.txt"));
        assert!(!m("conf/[!a-c].txt", "conf/b.txt"));
        assert!(m("{dashboards,alerts}/*.json", "alerts/x.json"));
        assert!(!m("{dashboards,alerts}/*.json", "rules/x.json"));
        assert!(m(r"a\*b", "a*b"));
        assert!(!m(r"a\*b", "axb"));
    }

    #[test]
    fn malformed_patterns_are_errors() {
        assert_eq!(
            GlobPattern::new("[abc").map(|_| ()),
            Err(GlobError::UnclosedClass)
        );
        assert_eq!(
            GlobPattern::new("{a,b").map(|_| ()),
            Err(GlobError::UnclosedAlternatives)
        );
    }
}

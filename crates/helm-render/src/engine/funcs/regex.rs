//! Sprig's regular-expression functions, on Go's RE2 syntax.
//!
//! The `regex` crate speaks nearly the same dialect; the differences that matter are
//! bridged before compiling: Go's `\d \w \s \b` are ASCII-only (the crate's are Unicode), and
//! Go knows `\Q…\E`. Match iteration, splitting and `$name` expansion are written out here
//! to follow Go's rules for empty matches and for names like `$1x`.
//!
//! The plain functions panic on a bad pattern (`regexp.MustCompile`), which Go's template
//! engine reports as `regexp: Compile(…): …`; the `must*` forms return the bare error.
//! `regexMatch` alone swallows the error and answers false.

use super::{CallContext, FuncError, FuncResult, Function, arity, int_arg, string_arg};
use crate::gofmt::go_quote;
use crate::value::Value;
use regex::Regex;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

pub fn get(name: &str) -> Option<Function> {
    Some(match name {
        "regexMatch" => regex_match,
        "mustRegexMatch" => must_regex_match,
        "regexFind" => regex_find,
        "mustRegexFind" => must_regex_find,
        "regexFindAll" => regex_find_all,
        "mustRegexFindAll" => must_regex_find_all,
        "regexReplaceAll" => regex_replace_all,
        "mustRegexReplaceAll" => must_regex_replace_all,
        "regexReplaceAllLiteral" => regex_replace_all_literal,
        "mustRegexReplaceAllLiteral" => must_regex_replace_all_literal,
        "regexSplit" => regex_split,
        "mustRegexSplit" => must_regex_split,
        "regexQuoteMeta" => regex_quote_meta,
        _ => return None,
    })
}

/// Rewrites Go-only syntax into the crate's equivalent.
fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.char_indices().peekable();
    while let Some((here, c)) = chars.next() {
        if c == '{' && counted_repeat_len(&pattern.as_bytes()[here..]).is_none() {
            // Go reads a brace that does not start `{n}`, `{n,}` or `{n,m}` literally.
            out.push_str("\\{");
            continue;
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next().map(|(_, c)| c) {
            Some('d') => out.push_str("[0-9]"),
            Some('D') => out.push_str("[^0-9]"),
            Some('w') => out.push_str("[0-9A-Za-z_]"),
            Some('W') => out.push_str("[^0-9A-Za-z_]"),
            Some('s') => out.push_str(r"[\t\n\f\r ]"),
            Some('S') => out.push_str(r"[^\t\n\f\r ]"),
            Some('b') => out.push_str(r"(?-u:\b)"),
            Some('B') => out.push_str(r"(?-u:\B)"),
            Some('Q') => {
                let mut literal = String::new();
                while let Some((_, c)) = chars.next() {
                    if c == '\\' && chars.peek().map(|(_, c)| *c) == Some('E') {
                        chars.next();
                        break;
                    }
                    literal.push(c);
                }
                out.push_str(&regex::escape(&literal));
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Compiled patterns by source text. Charts call these functions with the same few literal
/// patterns in loops and helpers (bitnami's `common` library does on every image name), and
/// compiling costs far more than matching; a shared `Regex` is safe to use from any thread.
static COMPILED: LazyLock<Mutex<HashMap<String, Arc<Regex>>>> = LazyLock::new(Mutex::default);

/// More distinct patterns than any chart uses; beyond it the cache starts over, so patterns
/// built from values cannot grow it without bound.
const MAX_COMPILED: usize = 512;

/// `regexp.Compile`, with Go's wording for the usual mistakes.
fn compile(pattern: &str) -> Result<Arc<Regex>, FuncError> {
    if let Some(re) = COMPILED.lock().ok().and_then(|c| c.get(pattern).cloned()) {
        return Ok(re);
    }
    if let Some(ops) = stacked_repetition(pattern) {
        return Err(FuncError(format!(
            "error parsing regexp: invalid nested repetition operator: `{ops}`"
        )));
    }
    let re = Arc::new(
        Regex::new(&translate(pattern)).map_err(|e| FuncError(go_parse_error(pattern, &e)))?,
    );
    if let Ok(mut cache) = COMPILED.lock() {
        if cache.len() >= MAX_COMPILED {
            cache.clear();
        }
        cache.insert(pattern.to_string(), re.clone());
    }
    Ok(re)
}

/// Go (like Perl) rejects a repetition of a repetition (`a**`, `a+*`, `a{2}?+`), which the
/// crate accepts; returns the offending operators.
fn stacked_repetition(pattern: &str) -> Option<&str> {
    let b = pattern.as_bytes();
    let mut i = 0;
    let mut last: Option<(usize, usize)> = None;
    while i < b.len() {
        let op_len = match b[i] {
            b'*' | b'+' | b'?' => 1,
            b'{' => counted_repeat_len(&b[i..]).unwrap_or(0),
            _ => 0,
        };
        if op_len > 0 {
            let mut end = i + op_len;
            if b.get(end) == Some(&b'?') {
                end += 1;
            }
            if let Some((start, prev_end)) = last
                && prev_end == i
            {
                return pattern.get(start..end);
            }
            last = Some((i, end));
            i = end;
            continue;
        }
        last = None;
        match b[i] {
            b'\\' => i += 2,
            b'[' => i = class_end(b, i),
            _ => i += 1,
        }
    }
    None
}

/// The length of a valid `{n}`, `{n,}` or `{n,m}` at the start of `b`.
fn counted_repeat_len(b: &[u8]) -> Option<usize> {
    let close = b.iter().position(|c| *c == b'}')?;
    let inner = std::str::from_utf8(b.get(1..close)?).ok()?;
    let (min, max) = inner.split_once(',').unwrap_or((inner, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    (digits(min) && (max.is_empty() || digits(max))).then_some(close + 1)
}

/// The index just after the character class opening at `start`.
fn class_end(b: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    if b.get(i) == Some(&b'^') {
        i += 1;
    }
    if b.get(i) == Some(&b']') {
        i += 1;
    }
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'[' if b.get(i + 1) == Some(&b':') => {
                i = b[i + 2..]
                    .windows(2)
                    .position(|w| w == b":]")
                    .map_or(b.len(), |p| i + 2 + p + 2);
            }
            b']' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// Go's `syntax.Error` text for the common errors, else the crate's own description.
fn go_parse_error(pattern: &str, err: &regex::Error) -> String {
    let text = err.to_string();
    let code = if text.contains("unclosed group") {
        format!("missing closing ): `{pattern}`")
    } else if text.contains("unopened group") {
        format!("unexpected ): `{pattern}`")
    } else if text.contains("unclosed character class") {
        let from = pattern.rfind('[').unwrap_or(0);
        format!("missing closing ]: `{}`", &pattern[from..])
    } else if text.contains("repetition operator missing expression") {
        let op = pattern
            .chars()
            .find(|c| matches!(c, '*' | '+' | '?' | '{'))
            .map_or(String::new(), String::from);
        format!("missing argument to repetition operator: `{op}`")
    } else {
        text.lines()
            .last()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_string()
    };
    format!("error parsing regexp: {code}")
}

/// `regexp.MustCompile`'s panic text.
fn must_compile(pattern: &str) -> Result<Arc<Regex>, FuncError> {
    compile(pattern).map_err(|e| {
        let quoted = if can_backquote(pattern) {
            format!("`{pattern}`")
        } else {
            go_quote(pattern)
        };
        FuncError(format!("regexp: Compile({quoted}): {e}"))
    })
}

/// `strconv.CanBackquote`: no backquote and no control characters other than tab.
fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !(c < ' ' || c == '\u{7f}')))
}

/// Go's `FindAllIndex`: at most `n` matches (all when negative), never an empty match right
/// after the previous match.
fn find_all(re: &Regex, s: &str, n: i64) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut prev_end = None;
    while (n < 0 || (out.len() as i64) < n) && pos <= s.len() {
        let Some(m) = re.find_at(s, pos) else {
            break;
        };
        let mut accept = true;
        if m.end() == pos {
            if Some(m.start()) == prev_end {
                accept = false;
            }
            pos += s[pos..].chars().next().map_or(1, char::len_utf8);
        } else {
            pos = m.end();
        }
        prev_end = Some(m.end());
        if accept {
            out.push((m.start(), m.end()));
        }
    }
    out
}

/// Go's `Regexp.Expand` of a `$1` / `${1}` / `$name` template for one match. A name is the
/// longest run of letters, digits and `_`, so `$1x` names group "1x".
fn expand(re: &Regex, caps: &regex::Captures<'_>, template: &str, out: &mut String) {
    let mut rest = template;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        let Some((name, after)) = extract_name(rest) else {
            out.push('$');
            continue;
        };
        rest = after;
        let group = match group_number(name) {
            Some(num) => caps.get(num),
            None => re
                .capture_names()
                .position(|n| n == Some(name))
                .and_then(|i| caps.get(i)),
        };
        if let Some(g) = group {
            out.push_str(g.as_str());
        }
    }
    out.push_str(rest);
}

fn extract_name(s: &str) -> Option<(&str, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let len = body
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(body.len(), |(i, _)| i);
    if len == 0 {
        return None;
    }
    let (name, rest) = body.split_at(len);
    if braced {
        let rest = rest.strip_prefix('}')?;
        return Some((name, rest));
    }
    Some((name, rest))
}

/// A group number: ASCII digits below 1e8 without a leading zero.
fn group_number(name: &str) -> Option<usize> {
    if !name.bytes().all(|b| b.is_ascii_digit()) || name.len() > 8 {
        return None;
    }
    if name.len() > 1 && name.starts_with('0') {
        return None;
    }
    name.parse().ok()
}

/// Go's `ReplaceAllString`: an empty match right after a previous match is not replaced.
fn replace_all(re: &Regex, s: &str, repl: &str, literal: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last_end = 0;
    let mut pos = 0;
    while pos <= s.len() {
        let Some(caps) = re.captures_at(s, pos) else {
            break;
        };
        let Some(m) = caps.get(0) else {
            break;
        };
        out.push_str(&s[last_end..m.start()]);
        if m.end() > last_end || m.start() == 0 {
            if literal {
                out.push_str(repl);
            } else {
                expand(re, &caps, repl, &mut out);
            }
        }
        last_end = m.end();
        let width = s[pos..].chars().next().map_or(1, char::len_utf8);
        if pos + width > m.end() {
            pos += width;
        } else if pos + 1 > m.end() {
            pos += 1;
        } else {
            pos = m.end();
        }
    }
    out.push_str(&s[last_end..]);
    out
}

/// Go's `Regexp.Split`.
fn split(re: &Regex, pattern: &str, s: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if !pattern.is_empty() && s.is_empty() {
        return vec![String::new()];
    }
    let mut out = Vec::new();
    let mut beg = 0;
    let mut end = 0;
    for (start, stop) in find_all(re, s, n) {
        if n > 0 && out.len() as i64 == n - 1 {
            break;
        }
        end = start;
        if stop != 0 {
            out.push(s[beg..end].to_string());
        }
        beg = stop;
    }
    if end != s.len() {
        out.push(s[beg..].to_string());
    }
    out
}

fn strings(items: Vec<String>) -> Value {
    Value::list(items.into_iter().map(Value::from).collect())
}

type Compiler = fn(&str) -> Result<Arc<Regex>, FuncError>;

fn match_with(args: &[Value], name: &str, compiler: Compiler, lenient: bool) -> FuncResult {
    arity(name, args, 2)?;
    let pattern = string_arg(args, 0)?;
    let s = string_arg(args, 1)?;
    match compiler(pattern) {
        Ok(re) => Ok(Value::Bool(re.is_match(s))),
        Err(_) if lenient => Ok(Value::Bool(false)),
        Err(e) => Err(e),
    }
}

fn regex_match(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    match_with(args, "regexMatch", compile, true)
}

fn must_regex_match(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    match_with(args, "mustRegexMatch", compile, false)
}

fn find_with(args: &[Value], name: &str, compiler: Compiler) -> FuncResult {
    arity(name, args, 2)?;
    let re = compiler(string_arg(args, 0)?)?;
    let s = string_arg(args, 1)?;
    Ok(Value::str(re.find(s).map_or("", |m| m.as_str())))
}

fn regex_find(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    find_with(args, "regexFind", must_compile)
}

fn must_regex_find(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    find_with(args, "mustRegexFind", compile)
}

fn find_all_with(args: &[Value], name: &str, compiler: Compiler) -> FuncResult {
    arity(name, args, 3)?;
    let re = compiler(string_arg(args, 0)?)?;
    let s = string_arg(args, 1)?;
    let n = int_arg(args, 2)?;
    Ok(strings(
        find_all(&re, s, n)
            .into_iter()
            .map(|(a, b)| s[a..b].to_string())
            .collect(),
    ))
}

fn regex_find_all(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    find_all_with(args, "regexFindAll", must_compile)
}

fn must_regex_find_all(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    find_all_with(args, "mustRegexFindAll", compile)
}

fn replace_with(args: &[Value], name: &str, compiler: Compiler, literal: bool) -> FuncResult {
    arity(name, args, 3)?;
    let re = compiler(string_arg(args, 0)?)?;
    let s = string_arg(args, 1)?;
    let repl = string_arg(args, 2)?;
    Ok(Value::from(replace_all(&re, s, repl, literal)))
}

fn regex_replace_all(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    replace_with(args, "regexReplaceAll", must_compile, false)
}

fn must_regex_replace_all(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    replace_with(args, "mustRegexReplaceAll", compile, false)
}

fn regex_replace_all_literal(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    replace_with(args, "regexReplaceAllLiteral", must_compile, true)
}

fn must_regex_replace_all_literal(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    replace_with(args, "mustRegexReplaceAllLiteral", compile, true)
}

fn split_with(args: &[Value], name: &str, compiler: Compiler) -> FuncResult {
    arity(name, args, 3)?;
    let pattern = string_arg(args, 0)?;
    let re = compiler(pattern)?;
    let s = string_arg(args, 1)?;
    let n = int_arg(args, 2)?;
    Ok(strings(split(&re, pattern, s, n)))
}

fn regex_split(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    split_with(args, "regexSplit", must_compile)
}

fn must_regex_split(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    split_with(args, "mustRegexSplit", compile)
}

/// `regexp.QuoteMeta`: a backslash before each of `\.+*?()|[]{}^$`.
fn regex_quote_meta(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("regexQuoteMeta", args, 1)?;
    let s = string_arg(args, 0)?;
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(Value::from(out))
}

#[cfg(test)]
mod tests {
    use crate::engine::funcs::strings::tests::check_table;

    /// Verified with the Helm 4.2 oracle.
    const ORACLE: &str = r#"
regexMatch `^[a-z]+\d$` "abc1" ⇒ "true"
regexMatch `^\d+$` "١٢" ⇒ "false"
regexMatch `\w+` "é" ⇒ "false"
regexMatch `(` "x" ⇒ "false"
mustRegexMatch `(` "x" ⇒ "ERR error parsing regexp: missing closing ): `(`"
mustRegexMatch `a)` "x" ⇒ "ERR error parsing regexp: unexpected ): `a)`"
mustRegexMatch `[a` "x" ⇒ "ERR error parsing regexp: missing closing ]: `[a`"
mustRegexMatch `*a` "x" ⇒ "ERR error parsing regexp: missing argument to repetition operator: `*`"
mustRegexMatch `a**` "x" ⇒ "ERR error parsing regexp: invalid nested repetition operator: `**`"
regexFind `[0-9]+` "ab123cd45" ⇒ "123"
regexFind `z` "abc" ⇒ ""
regexFind `(` "x" ⇒ "ERR regexp: Compile(`(`): error parsing regexp: missing closing ): `(`"
mustRegexFind `(` "x" ⇒ "ERR error parsing regexp: missing closing ): `(`"
regexFind "(\n" "x" ⇒ "ERR regexp: Compile(\"(\\n\"): error parsing regexp: missing closing ): `(\n`"
regexFindAll `[0-9]+` "a1b22c333" -1 ⇒ "[1 22 333]"
regexFindAll `[0-9]+` "a1b22c333" 2 ⇒ "[1 22]"
regexFindAll `[0-9]+` "a1b22c333" 0 ⇒ "[]"
regexFindAll `a*` "baaac" -1 ⇒ "[ aaa ]"
regexFindAll `` "abc" -1 ⇒ "[   ]"
regexFindAll `\bfoo\b` "foo foobar foo" -1 ⇒ "[foo foo]"
regexFindAll `\Qa.b\E` "a.b axb" -1 ⇒ "[a.b]"
regexReplaceAll `a(x*)b` "-ab-axxb-" "${1}W" ⇒ "-W-xxW-"
regexReplaceAll `a(x*)b` "-ab-axxb-" "$1W" ⇒ "---"
regexReplaceAll `a(?P<n>x*)b` "-ab-axxb-" "<$n>" ⇒ "-<>-<xx>-"
regexReplaceAll `a(x*)b` "-ab-axxb-" "$$1 $ ${1" ⇒ "-$1 $ ${1-$1 $ ${1-"
regexReplaceAll `a*` "baaac" "X" ⇒ "XbXcX"
regexReplaceAll `` "abc" "-" ⇒ "-a-b-c-"
regexReplaceAll `(\w+)@(\w+)` "joe@example x@y" "$2 at $1" ⇒ "example at joe y at x"
regexReplaceAll `(` "x" "y" ⇒ "ERR regexp: Compile(`(`): error parsing regexp: missing closing ): `(`"
regexReplaceAllLiteral `a(x*)b` "-ab-axxb-" "${1}" ⇒ "-${1}-${1}-"
mustRegexReplaceAllLiteral `[` "x" "y" ⇒ "ERR error parsing regexp: missing closing ]: `[`"
regexSplit `z+` "pizza" -1 ⇒ "[pi a]"
regexSplit `z+` "pizza" 1 ⇒ "[pizza]"
regexSplit `z+` "pizza" 0 ⇒ "[]"
regexSplit `z+` "" -1 ⇒ "[]"
regexSplit `` "abc" -1 ⇒ "[a b c]"
regexSplit `a` "banana" -1 ⇒ "[b n n ]"
regexSplit `a*` "baaac" -1 ⇒ "[b c]"
regexSplit `,` "a,b,c" 2 ⇒ "[a b,c]"
mustRegexMatch `a*?` "aa" ⇒ "true"
mustRegexMatch `a{2}*` "x" ⇒ "ERR error parsing regexp: invalid nested repetition operator: `{2}*`"
mustRegexMatch `a+?*` "x" ⇒ "ERR error parsing regexp: invalid nested repetition operator: `+?*`"
mustRegexMatch `[*]*` "*" ⇒ "true"
mustRegexMatch `\**` "*" ⇒ "true"
mustRegexMatch `a{,2}*` "a{,2}" ⇒ "true"
mustRegexMatch `[[:alpha:]]+` "ab" ⇒ "true"
regexQuoteMeta "1.2.3[x]$" ⇒ "1\\.2\\.3\\[x\\]\\$"
regexReplaceAll `(?i)HELLO` "hello Hello" "bye" ⇒ "bye bye"
regexReplaceAll `^` "abc" ">" ⇒ ">abc"
regexReplaceAll `$` "abc" "<" ⇒ "abc<"
regexReplaceAll `(?m)^` "a\nb" ">" ⇒ ">a\n>b"
regexFindAll `.` "a\nb" -1 ⇒ "[a b]"
regexFindAll `\s` "a b\tc\vd" -1 ⇒ "[  \t]"
"#;

    #[test]
    fn matches_helm() {
        check_table(ORACLE);
    }
}

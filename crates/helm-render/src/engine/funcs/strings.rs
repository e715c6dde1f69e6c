//! Sprig's string functions and Helm's `required`/`fail`.
//!
//! Go strings are bytes, and several Sprig functions (`trunc`, `substr`, `abbrev`) slice by
//! byte offsets. Our strings are UTF-8, so a cut inside a multi-byte character keeps Go's byte
//! count but can only emit the replacement character where Go would emit the broken bytes.

use super::lists::until_step_values;
use super::{CallContext, FuncError, FuncResult, Function, arity, int_arg, string_arg};
use crate::engine::error::marked_message;
use crate::gofmt::{format_value, go_quote};
use crate::value::{Map, Value};

pub fn get(name: &str) -> Option<Function> {
    Some(match name {
        "hello" => hello,
        "trim" => trim,
        "trimAll" | "trimall" => trim_all,
        "trimPrefix" => trim_prefix,
        "trimSuffix" => trim_suffix,
        "upper" => upper,
        "lower" => lower,
        "title" => title,
        "untitle" => untitle,
        "repeat" => repeat,
        "substr" => substr,
        "nospace" => nospace,
        "trunc" => trunc,
        "abbrev" => abbrev,
        "abbrevboth" => abbrevboth,
        "initials" => initials,
        "wrap" => wrap,
        "wrapWith" => wrap_with,
        "contains" => contains,
        "hasPrefix" => has_prefix,
        "hasSuffix" => has_suffix,
        "quote" => quote,
        "squote" => squote,
        "cat" => cat,
        "indent" => indent,
        "nindent" => nindent,
        "replace" => replace,
        "plural" => plural,
        "snakecase" => snakecase,
        "camelcase" => camelcase,
        "kebabcase" => kebabcase,
        "swapcase" => swapcase,
        "toString" => to_string,
        "toStrings" => to_strings,
        "split" => split,
        "splitList" => split_list,
        "splitn" => splitn,
        "join" => join,
        "sortAlpha" => sort_alpha,
        "seq" => seq,
        "required" => required,
        "fail" => fail,
        _ => return None,
    })
}

/// Sprig's `strval`: a string as is, anything else as `fmt.Sprintf("%v")`.
pub fn strval(v: &Value) -> String {
    match v {
        Value::Object(o) if let Some(bytes) = o.bytes() => {
            String::from_utf8_lossy(bytes).into_owned()
        }
        other => format_value(other),
    }
}

/// Sprig's `strslice`: a list becomes its non-nil elements as strings; nil becomes an empty
/// list; any other value becomes a one-element list.
pub fn strslice(v: &Value) -> Vec<String> {
    if let Value::Object(o) = v
        && o.bytes().is_some()
    {
        return strslice(&o.elements());
    }
    match v {
        Value::List(items) => items.iter().filter(|i| !i.is_nil()).map(strval).collect(),
        Value::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}

fn strings_value(items: Vec<String>) -> Value {
    Value::list(items.into_iter().map(Value::from).collect())
}

fn one_string(
    name: &str,
    args: &[Value],
    f: impl FnOnce(&str) -> String,
) -> Result<Value, FuncError> {
    arity(name, args, 1)?;
    Ok(Value::from(f(string_arg(args, 0)?)))
}

fn hello(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("hello", args, 0)?;
    Ok(Value::str("Hello!"))
}

fn trim(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    one_string("trim", args, |s| s.trim_matches(is_go_space).to_string())
}

/// Go's `unicode.IsSpace`.
fn is_go_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{85}' | '\u{A0}'
    ) || (c as u32 > 0xff && c.is_whitespace())
}

fn trim_all(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("trimAll", args, 2)?;
    let cutset = string_arg(args, 0)?;
    let s = string_arg(args, 1)?;
    Ok(Value::from(s.trim_matches(|c| cutset.contains(c))))
}

fn trim_prefix(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("trimPrefix", args, 2)?;
    let prefix = string_arg(args, 0)?;
    let s = string_arg(args, 1)?;
    Ok(Value::from(s.strip_prefix(prefix).unwrap_or(s)))
}

fn trim_suffix(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("trimSuffix", args, 2)?;
    let suffix = string_arg(args, 0)?;
    let s = string_arg(args, 1)?;
    Ok(Value::from(s.strip_suffix(suffix).unwrap_or(s)))
}

/// Go's `unicode.ToUpper`: a one-to-one rune mapping, so `ß` stays `ß` (Rust would give `SS`).
fn go_to_upper(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// `unicode.ToLower`; the one character whose full lower case is longer (`İ`) maps to `i`.
fn go_to_lower(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// The Unicode title-case letters (category Lt), which Go's `unicode.IsTitle` reports.
fn is_title_case(c: char) -> bool {
    matches!(c as u32,
        0x01C5 | 0x01C8 | 0x01CB | 0x01F2
        | 0x1F88..=0x1F8F | 0x1F98..=0x1F9F | 0x1FA8..=0x1FAF | 0x1FBC | 0x1FCC | 0x1FFC)
}

/// `unicode.ToTitle`: upper case, except for the Latin digraphs, whose title form differs.
fn go_to_title(c: char) -> char {
    match c {
        '\u{01C4}'..='\u{01C6}' => '\u{01C5}',
        '\u{01C7}'..='\u{01C9}' => '\u{01C8}',
        '\u{01CA}'..='\u{01CC}' => '\u{01CB}',
        '\u{01F1}'..='\u{01F3}' => '\u{01F2}',
        c if is_title_case(c) => c,
        c => go_to_upper(c),
    }
}

fn upper(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    one_string("upper", args, |s| s.chars().map(go_to_upper).collect())
}

fn lower(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    one_string("lower", args, |s| s.chars().map(go_to_lower).collect())
}

/// `strings.Title`: a letter after a separator is upper-cased. ASCII letters, digits and `_`
/// are word characters; other ASCII is a separator; beyond ASCII, letters and digits are
/// word characters and only spaces separate.
fn title(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    one_string("title", args, |s| {
        let mut prev_sep = true;
        s.chars()
            .map(|c| {
                let out = if prev_sep { go_to_title(c) } else { c };
                prev_sep = if c.is_ascii() {
                    !(c.is_ascii_alphanumeric() || c == '_')
                } else if c.is_alphanumeric() {
                    false
                } else {
                    is_go_space(c)
                };
                out
            })
            .collect()
    })
}

/// goutils' `Uncapitalize`: lower-cases the first letter of every whitespace-separated word.
fn untitle(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    one_string("untitle", args, |s| {
        let mut next = true;
        s.chars()
            .map(|c| {
                if is_go_space(c) {
                    next = true;
                    c
                } else if next {
                    next = false;
                    go_to_lower(c)
                } else {
                    c
                }
            })
            .collect()
    })
}

fn repeat(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("repeat", args, 2)?;
    let count = int_arg(args, 0)?;
    let s = string_arg(args, 1)?;
    Ok(Value::from(go_repeat(s, count)?))
}

/// The largest string `repeat`, `indent` and `nindent` build: Go would allocate any size
/// (and die trying), an operator must not.
const MAX_REPEAT_BYTES: usize = 1 << 28;

/// `strings.Repeat`, with its panics as errors.
fn go_repeat(s: &str, count: i64) -> Result<String, FuncError> {
    let count =
        usize::try_from(count).map_err(|_| FuncError::new("strings: negative Repeat count"))?;
    match s.len().checked_mul(count) {
        None => Err(FuncError::new("strings: Repeat output length overflow")),
        Some(n) if n > MAX_REPEAT_BYTES => Err(FuncError(format!(
            "strings: Repeat output of {n} bytes is too long (the limit is {MAX_REPEAT_BYTES})"
        ))),
        Some(_) => Ok(s.repeat(count)),
    }
}

/// `s[from..to]` by byte offsets, as Go slices strings.
fn byte_slice(s: &str, from: usize, to: usize) -> String {
    match s.get(from..to) {
        Some(part) => part.to_string(),
        None => String::from_utf8_lossy(s.as_bytes().get(from..to).unwrap_or_default()).into(),
    }
}

/// Go's runtime panic text for an out-of-range string slice.
fn slice_bounds_error(low: i64, high: i64, len: usize) -> FuncError {
    if high < 0 || high as u64 > len as u64 {
        FuncError(format!(
            "runtime error: slice bounds out of range [:{high}] with length {len}"
        ))
    } else {
        FuncError(format!(
            "runtime error: slice bounds out of range [{low}:{high}]"
        ))
    }
}

fn substr(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("substr", args, 3)?;
    let start = int_arg(args, 0)?;
    let end = int_arg(args, 1)?;
    let s = string_arg(args, 2)?;
    let len = s.len();
    let (low, high) = if start < 0 {
        (0, end)
    } else if end < 0 || end as u64 > len as u64 {
        (start, len as i64)
    } else {
        (start, end)
    };
    if high < 0 || high as u64 > len as u64 || low > high {
        return Err(slice_bounds_error(low, high, len));
    }
    Ok(Value::from(byte_slice(s, low as usize, high as usize)))
}

/// goutils' `DeleteWhiteSpace` looks at bytes, each taken as the rune of the same number, so
/// a multi-byte character comes out as its bytes read as Latin-1 (minus any that count as
/// spaces, like 0xA0).
fn nospace(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    one_string("nospace", args, |s| {
        s.bytes()
            .map(char::from)
            .filter(|c| !is_go_space(*c))
            .collect()
    })
}

fn trunc(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("trunc", args, 2)?;
    let c = int_arg(args, 0)?;
    let s = string_arg(args, 1)?;
    let len = s.len() as i64;
    let out = if c < 0 && len + c > 0 {
        byte_slice(s, (len + c) as usize, s.len())
    } else if c >= 0 && len > c {
        byte_slice(s, 0, c as usize)
    } else {
        s.to_string()
    };
    Ok(Value::from(out))
}

/// goutils' `AbbreviateFull`, by byte offsets; `None` where goutils returns an error (Sprig
/// then prints an empty string).
fn abbreviate_full(s: &str, offset: usize, max_width: usize) -> Option<String> {
    if s.is_empty() {
        return Some(String::new());
    }
    if max_width < 4 {
        return None;
    }
    let len = s.len();
    if len <= max_width {
        return Some(s.to_string());
    }
    let mut offset = offset.min(len);
    if len - offset < max_width - 3 {
        offset = len - (max_width - 3);
    }
    if offset <= 4 {
        return Some(byte_slice(s, 0, max_width - 3) + "...");
    }
    if max_width < 7 {
        return None;
    }
    if offset + max_width - 3 < len {
        let rest = abbreviate_full(&byte_slice(s, offset, len), 0, max_width - 3)?;
        return Some(format!("...{rest}"));
    }
    Some(format!("...{}", byte_slice(s, len - (max_width - 3), len)))
}

fn abbrev(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("abbrev", args, 2)?;
    let width = int_arg(args, 0)?;
    let s = string_arg(args, 1)?;
    if width < 4 {
        return Ok(Value::str(s));
    }
    Ok(Value::from(
        abbreviate_full(s, 0, width as usize).unwrap_or_default(),
    ))
}

fn abbrevboth(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("abbrevboth", args, 3)?;
    let left = int_arg(args, 0)?;
    let right = int_arg(args, 1)?;
    let s = string_arg(args, 2)?;
    if right < 4 || left > 0 && right < 7 {
        return Ok(Value::str(s));
    }
    let offset = usize::try_from(left).unwrap_or(0);
    Ok(Value::from(
        abbreviate_full(s, offset, right as usize).unwrap_or_default(),
    ))
}

/// goutils' `Initials`, which walks bytes: a multi-byte first letter comes out as its first
/// byte read as Latin-1 (`über` gives `Ã`).
fn initials(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    one_string("initials", args, |s| {
        let mut out = String::new();
        let mut gap = true;
        for c in s.bytes().map(char::from) {
            if is_go_space(c) {
                gap = true;
            } else if gap {
                out.push(c);
                gap = false;
            }
        }
        out
    })
}

/// goutils' `WrapCustom` (byte-based, words split on ' ' only).
fn wrap_custom(s: &str, wrap_length: i64, newline: &str, wrap_long_words: bool) -> String {
    if s.is_empty() {
        return String::new();
    }
    let newline = if newline.is_empty() { "\n" } else { newline };
    let wrap_length = wrap_length.max(1) as usize;
    let bytes = s.as_bytes();
    let len = bytes.len();
    let mut offset = 0;
    let mut out = String::new();
    while len - offset > wrap_length {
        if bytes.get(offset) == Some(&b' ') {
            offset += 1;
            continue;
        }
        let end = wrap_length + offset + 1;
        let window = bytes.get(offset..end).unwrap_or_default();
        if let Some(space) = window.iter().rposition(|b| *b == b' ') {
            let at = offset + space;
            out.push_str(&byte_slice(s, offset, at));
            out.push_str(newline);
            offset = at + 1;
        } else if wrap_long_words {
            let end = wrap_length + offset;
            out.push_str(&byte_slice(s, offset, end));
            out.push_str(newline);
            offset += wrap_length;
        } else {
            let end = wrap_length + offset;
            match bytes
                .get(end..)
                .and_then(|rest| rest.iter().position(|b| *b == b' '))
            {
                Some(i) => {
                    out.push_str(&byte_slice(s, offset, end + i));
                    out.push_str(newline);
                    offset = end + i + 1;
                }
                None => {
                    out.push_str(&byte_slice(s, offset, len));
                    offset = len;
                }
            }
        }
    }
    out.push_str(&byte_slice(s, offset, len));
    out
}

fn wrap(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("wrap", args, 2)?;
    let width = int_arg(args, 0)?;
    let s = string_arg(args, 1)?;
    Ok(Value::from(wrap_custom(s, width, "", false)))
}

fn wrap_with(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("wrapWith", args, 3)?;
    let width = int_arg(args, 0)?;
    let sep = string_arg(args, 1)?;
    let s = string_arg(args, 2)?;
    Ok(Value::from(wrap_custom(s, width, sep, true)))
}

fn two_strings(name: &str, args: &[Value]) -> Result<(String, String), FuncError> {
    arity(name, args, 2)?;
    Ok((
        string_arg(args, 0)?.to_string(),
        string_arg(args, 1)?.to_string(),
    ))
}

fn contains(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    let (needle, s) = two_strings("contains", args)?;
    Ok(Value::Bool(s.contains(&needle)))
}

fn has_prefix(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    let (prefix, s) = two_strings("hasPrefix", args)?;
    Ok(Value::Bool(s.starts_with(&prefix)))
}

fn has_suffix(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    let (suffix, s) = two_strings("hasSuffix", args)?;
    Ok(Value::Bool(s.ends_with(&suffix)))
}

/// `quote`/`squote` skip nil arguments entirely and join the rest with spaces.
fn quote(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    let parts: Vec<String> = args
        .iter()
        .filter(|a| !a.is_nil())
        .map(|a| go_quote(&strval(a)))
        .collect();
    Ok(Value::from(parts.join(" ")))
}

fn squote(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    let parts: Vec<String> = args
        .iter()
        .filter(|a| !a.is_nil())
        .map(|a| format!("'{}'", format_value(a)))
        .collect();
    Ok(Value::from(parts.join(" ")))
}

fn cat(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    let parts: Vec<String> = args
        .iter()
        .filter(|a| !a.is_nil())
        .map(format_value)
        .collect();
    Ok(Value::from(parts.join(" ")))
}

/// Sprig's `indent` (`pad + strings.Replace(s, "\n", "\n" + pad, -1)`), after `prefix`, built
/// in one buffer of the final size: charts indent every block they include, thousands of
/// times per render.
fn indent_text(prefix: &str, spaces: i64, s: &str) -> Result<String, FuncError> {
    let pad = go_repeat(" ", spaces)?;
    let lines = memchr::memchr_iter(b'\n', s.as_bytes()).count() + 1;
    if pad.len().saturating_mul(lines) > MAX_REPEAT_BYTES {
        return Err(FuncError(format!(
            "indenting {lines} lines by {spaces} is too long"
        )));
    }
    let mut out = String::with_capacity(prefix.len() + s.len() + pad.len() * lines);
    out.push_str(prefix);
    out.push_str(&pad);
    let mut start = 0;
    for newline in memchr::memchr_iter(b'\n', s.as_bytes()) {
        out.push_str(s.get(start..=newline).unwrap_or_default());
        out.push_str(&pad);
        start = newline + 1;
    }
    out.push_str(s.get(start..).unwrap_or_default());
    Ok(out)
}

fn indent(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("indent", args, 2)?;
    let spaces = int_arg(args, 0)?;
    let s = string_arg(args, 1)?;
    Ok(Value::from(indent_text("", spaces, s)?))
}

fn nindent(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("nindent", args, 2)?;
    let spaces = int_arg(args, 0)?;
    let s = string_arg(args, 1)?;
    Ok(Value::from(indent_text("\n", spaces, s)?))
}

/// `strings.Replace(s, old, new, -1)`; an empty `old` matches before every rune and at the end.
fn replace(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("replace", args, 3)?;
    let old = string_arg(args, 0)?;
    let new = string_arg(args, 1)?;
    let s = string_arg(args, 2)?;
    if old.is_empty() {
        let mut out = String::with_capacity(s.len() + new.len() * (s.len() + 1));
        out.push_str(new);
        for c in s.chars() {
            out.push(c);
            out.push_str(new);
        }
        return Ok(Value::from(out));
    }
    Ok(Value::from(s.replace(old, new)))
}

fn plural(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("plural", args, 3)?;
    let one = string_arg(args, 0)?;
    let many = string_arg(args, 1)?;
    let count = int_arg(args, 2)?;
    Ok(Value::str(if count == 1 { one } else { many }))
}

fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || is_go_space(c)
}

/// xstrings' `isAlphabet`: a letter that is not a CJK ideograph.
fn is_alphabet(c: char) -> bool {
    c.is_alphabetic() && !matches!(c as u32, 0x4E00..=0x9FCC | 0x3400..=0x4D85 | 0x20000..=0x2B81D)
}

/// Go's `unicode.IsPunct` (general category P*): exact for ASCII, where symbols such as
/// `$+<=>^`|~` are not punctuation; beyond ASCII, the Latin-1, general and CJK punctuation
/// blocks (rarer punctuation elsewhere is treated as a symbol).
fn is_punct(c: char) -> bool {
    if c.is_ascii() {
        return "!\"#%&'()*,-./:;?@[\\]_{}".contains(c);
    }
    matches!(c as u32,
        0xA1 | 0xA7 | 0xAB | 0xB6 | 0xB7 | 0xBB | 0xBF
        | 0x2010..=0x2027 | 0x2030..=0x2043 | 0x2045..=0x2051 | 0x2053..=0x205E
        | 0x3001..=0x3003 | 0x3008..=0x3011 | 0x3014..=0x301F
        | 0xFF01..=0xFF03 | 0xFF05..=0xFF0A | 0xFF0C..=0xFF0F)
}

#[derive(Clone, Copy, PartialEq)]
enum WordType {
    None,
    Number,
    UpperCase,
    Alphabet,
    Connector,
    Punct,
    Other,
}

/// xstrings' word splitter behind `snakecase`/`kebabcase`: runs of connectors, punctuation,
/// upper-case (an acronym gives up its last letter to a following lower-case word), alphabet,
/// numbers, and anything else.
fn next_word(s: &str) -> (WordType, &str, &str) {
    let mut chars = s.char_indices().peekable();
    let Some((_, first)) = chars.next() else {
        return (WordType::None, "", "");
    };
    let run_end = |pred: &dyn Fn(char) -> bool, from: usize| -> usize {
        s[from..]
            .char_indices()
            .find(|(_, c)| !pred(*c))
            .map_or(s.len(), |(i, _)| from + i)
    };
    let first_len = first.len_utf8();
    let end = if is_connector(first) {
        return split_word(s, WordType::Connector, run_end(&is_connector, first_len));
    } else if is_punct(first) {
        return split_word(s, WordType::Punct, run_end(&is_punct, first_len));
    } else if first.is_uppercase() {
        match s[first_len..].chars().next() {
            None => first_len,
            Some(second) if second.is_uppercase() => {
                let end = run_end(&|c: char| c.is_uppercase(), first_len);
                match s[end..].chars().next() {
                    Some(next) if is_alphabet(next) => {
                        let last_len = s[..end].chars().next_back().map_or(0, char::len_utf8);
                        end - last_len
                    }
                    _ => end,
                }
            }
            Some(second) if is_alphabet(second) => run_end(
                &|c: char| is_alphabet(c) && !c.is_uppercase(),
                first_len + second.len_utf8(),
            ),
            Some(_) => first_len,
        }
    } else if is_alphabet(first) {
        return split_word(
            s,
            WordType::Alphabet,
            run_end(&|c: char| is_alphabet(c) && !c.is_uppercase(), first_len),
        );
    } else if first.is_numeric() {
        return split_word(s, WordType::Number, run_end(&char::is_numeric, first_len));
    } else {
        let end = run_end(
            &|c: char| !(is_connector(c) || is_alphabet(c) || c.is_numeric() || is_punct(c)),
            first_len,
        );
        return split_word(s, WordType::Other, end);
    };
    split_word(s, WordType::UpperCase, end)
}

fn split_word(s: &str, wt: WordType, end: usize) -> (WordType, &str, &str) {
    let (word, rest) = s.split_at(end);
    (wt, word, rest)
}

fn push_lower(out: &mut String, wt: WordType, word: &str, connector: char) {
    if wt != WordType::UpperCase && wt != WordType::Connector {
        out.push_str(word);
        return;
    }
    for c in word.chars() {
        if is_connector(c) {
            out.push(connector);
        } else if c.is_uppercase() {
            out.push(go_to_lower(c));
        } else {
            out.push(c);
        }
    }
}

/// xstrings' `camelCaseToLowerCase`: words joined by `connector`, a number kept with the
/// word before it unless lower-case letters follow it (`Bld4Floor` → `bld4_floor`,
/// `HTTP2xx` → `http_2xx`).
fn to_lower_words(s: &str, connector: char) -> String {
    use WordType as W;
    let mut out = String::new();
    if s.is_empty() {
        return out;
    }
    let (mut wt, mut word, mut rest) = next_word(s);
    while !rest.is_empty() {
        if wt != W::Connector {
            push_lower(&mut out, wt, word, connector);
        }
        let prev = wt;
        let last = word;
        (wt, word, rest) = next_word(rest);
        match prev {
            W::Number => {
                while wt == W::Alphabet || wt == W::Number {
                    push_lower(&mut out, wt, word, connector);
                    (wt, word, rest) = next_word(rest);
                }
                if wt != W::None && wt != W::Punct && wt != W::Connector {
                    out.push(connector);
                }
            }
            W::Connector => push_lower(&mut out, prev, last, connector),
            W::Punct => {}
            _ => {
                if wt != W::Number {
                    if wt != W::Connector && wt != W::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                if rest.is_empty() {
                    continue;
                }
                let number = word;
                (wt, word, rest) = next_word(rest);
                if wt != W::Alphabet {
                    push_lower(&mut out, W::Number, number, connector);
                    if wt != W::Connector && wt != W::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                out.push(connector);
                push_lower(&mut out, W::Number, number, connector);
                while wt == W::Alphabet || wt == W::Number {
                    push_lower(&mut out, wt, word, connector);
                    (wt, word, rest) = next_word(rest);
                }
                if wt != W::None && wt != W::Connector && wt != W::Punct {
                    out.push(connector);
                }
            }
        }
    }
    push_lower(&mut out, wt, word, connector);
    out
}

fn snakecase(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    one_string("snakecase", args, |s| to_lower_words(s, '_'))
}

fn kebabcase(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    one_string("kebabcase", args, |s| to_lower_words(s, '-'))
}

/// xstrings' `ToPascalCase` (Sprig's `camelcase`): connectors (`_`, `-`, spaces) are dropped
/// and the next letter upper-cased; an upper-case run after a word start is lower-cased
/// (`GOLANG_IS_GREAT` → `GolangIsGreat`); leading and doubled connectors stay.
fn camelcase(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    one_string("camelcase", args, |s| {
        let mut out = String::new();
        let mut chars = s.chars();
        let mut first_upper = false;
        let mut r0 = None;
        for c in chars.by_ref() {
            if !is_connector(c) {
                first_upper = c.is_uppercase();
                r0 = Some(go_to_upper(c));
                break;
            }
            out.push(c);
        }
        let Some(mut r0) = r0 else {
            // Only connectors: xstrings writes the last one a second time.
            if let Some(last) = s.chars().last() {
                out.push(last);
            }
            return out;
        };
        for c in chars {
            let r1 = r0;
            r0 = c;
            if is_connector(r0) && is_connector(r1) {
                out.push(r1);
                continue;
            }
            if is_connector(r1) {
                first_upper = r0.is_uppercase();
                r0 = go_to_upper(r0);
            } else {
                if first_upper {
                    if r0.is_uppercase() {
                        r0 = go_to_lower(r0);
                    } else {
                        first_upper = false;
                    }
                }
                out.push(r1);
            }
        }
        out.push(r0);
        out
    })
}

/// goutils' `SwapCase`: upper and title case go lower; lower case goes title case at the
/// start of a word and upper case inside it.
fn swapcase(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    one_string("swapcase", args, |s| {
        let mut word_start = true;
        s.chars()
            .map(|c| {
                if c.is_uppercase() || is_title_case(c) {
                    word_start = false;
                    go_to_lower(c)
                } else if c.is_lowercase() {
                    let out = if word_start {
                        go_to_title(c)
                    } else {
                        go_to_upper(c)
                    };
                    word_start = false;
                    out
                } else {
                    word_start = is_go_space(c);
                    c
                }
            })
            .collect()
    })
}

fn to_string(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("toString", args, 1)?;
    Ok(Value::from(strval(&args[0])))
}

fn to_strings(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("toStrings", args, 1)?;
    Ok(strings_value(strslice(&args[0])))
}

/// `strings.Split`: an empty separator splits after each UTF-8 sequence.
fn go_split(s: &str, sep: &str, limit: Option<usize>) -> Vec<String> {
    if sep.is_empty() {
        let chars: Vec<&str> = s
            .char_indices()
            .map(|(i, c)| &s[i..i + c.len_utf8()])
            .collect();
        return match limit {
            Some(n) if n < chars.len() => {
                let head_len: usize = chars.iter().take(n - 1).map(|p| p.len()).sum();
                let mut out: Vec<String> =
                    chars.iter().take(n - 1).map(|p| p.to_string()).collect();
                out.push(s[head_len..].to_string());
                out
            }
            _ => chars.into_iter().map(str::to_string).collect(),
        };
    }
    match limit {
        Some(n) => s.splitn(n, sep).map(str::to_string).collect(),
        None => s.split(sep).map(str::to_string).collect(),
    }
}

fn split_map(parts: Vec<String>) -> Value {
    let map: Map = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| (format!("_{i}"), Value::from(p)))
        .collect();
    Value::map(map)
}

fn split(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    let (sep, s) = two_strings("split", args)?;
    Ok(split_map(go_split(&s, &sep, None)))
}

fn split_list(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    let (sep, s) = two_strings("splitList", args)?;
    Ok(strings_value(go_split(&s, &sep, None)))
}

/// `strings.SplitN`: n == 0 gives nothing, n < 0 everything.
fn splitn(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("splitn", args, 3)?;
    let sep = string_arg(args, 0)?;
    let n = int_arg(args, 1)?;
    let s = string_arg(args, 2)?;
    let parts = match n {
        0 => Vec::new(),
        n if n < 0 => go_split(s, sep, None),
        n => go_split(s, sep, Some(usize::try_from(n).unwrap_or(usize::MAX))),
    };
    Ok(split_map(parts))
}

fn join(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("join", args, 2)?;
    let sep = string_arg(args, 0)?;
    Ok(Value::from(strslice(&args[1]).join(sep)))
}

/// Lists are sorted as strings (byte order); any other value becomes a one-element list.
fn sort_alpha(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("sortAlpha", args, 1)?;
    let mut items = match &args[0] {
        list @ Value::List(_) => strslice(list),
        other => vec![strval(other)],
    };
    items.sort();
    Ok(strings_value(items))
}

/// Sprig's `seq`, after GNU seq: `seq END` (from 1), `seq START END`, `seq START STEP END`;
/// counting down when END < START, and empty when the step points the wrong way.
fn seq(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    let params: Vec<i64> = (0..args.len())
        .map(|i| int_arg(args, i))
        .collect::<Result<_, _>>()?;
    let values = match params.as_slice() {
        [end] => {
            let inc = if *end < 1 { -1 } else { 1 };
            until_step_values(1, end.wrapping_add(inc), inc)?
        }
        [start, end] => {
            let step = if end < start { -1 } else { 1 };
            until_step_values(*start, end.wrapping_add(step), step)?
        }
        [start, step, end] => {
            let inc = if end < start { -1 } else { 1 };
            if end < start && *step > 0 {
                Vec::new()
            } else {
                until_step_values(*start, end.wrapping_add(inc), *step)?
            }
        }
        _ => Vec::new(),
    };
    let text: Vec<String> = values.iter().map(i64::to_string).collect();
    Ok(Value::from(text.join(" ")))
}

/// Helm's `required`: nil or an empty string fail with the given message; anything else
/// passes through unchanged.
fn required(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("required", args, 2)?;
    let message = string_arg(args, 0)?;
    match &args[1] {
        Value::Nil => Err(FuncError::new(marked_message(message))),
        Value::String(s) if s.is_empty() => Err(FuncError::new(marked_message(message))),
        other => Ok(other.clone()),
    }
}

fn fail(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("fail", args, 1)?;
    Err(FuncError::new(marked_message(string_arg(args, 0)?)))
}

#[cfg(test)]
pub(crate) mod tests {
    //! A tiny evaluator for `name arg...` expressions with literal, `.Values.x` and
    //! parenthesised arguments, so that test tables can be written as the template lines that
    //! were run through the Helm oracle, next to what Helm printed for them.

    use super::*;
    use crate::engine::funcs::{OfflineLookup, RandomSource};

    struct Zero;
    impl RandomSource for Zero {
        fn next_u64(&mut self) -> u64 {
            0
        }
    }

    /// The values file the oracle cases were rendered with (numbers are float64, as in Helm).
    /// It also had keys `n` and `no`, which YAML 1.1 reads as booleans, so `.Values.n` and
    /// `.Values.no` are missing (nil) here as they were there.
    pub(crate) fn values() -> Value {
        Value::from_json(&serde_json::json!({
            "f": 1.5, "big": 1000000, "neg": -2.7, "s": "hello world", "e": "",
            "z": 0, "t": true, "l": [1, 2, "x", 2], "sl": ["b", "a", "c"],
            "el": [], "m": {"a": 1, "b": {"c": "deep"}, "e": ""}, "em": {}, "nil": null
        }))
    }

    /// Calls the registered function `name` as a template would.
    pub(crate) fn call(name: &str, args: &[Value]) -> FuncResult {
        let f = crate::engine::funcs::get(name).unwrap_or_else(|| panic!("no function {name}"));
        let mut random = Zero;
        let mut ctx = CallContext::new(&OfflineLookup, &mut random);
        f(&mut ctx, args)
    }

    #[derive(Debug, PartialEq)]
    enum Tok {
        Open,
        Close,
        Word(String),
        Lit(Value),
    }

    fn tokenize(src: &str) -> Vec<Tok> {
        let mut toks = Vec::new();
        let mut chars = src.chars().peekable();
        while let Some(&c) = chars.peek() {
            match c {
                ' ' => {
                    chars.next();
                }
                '(' => {
                    chars.next();
                    toks.push(Tok::Open);
                }
                ')' => {
                    chars.next();
                    toks.push(Tok::Close);
                }
                '`' => {
                    chars.next();
                    let lit: String = chars.by_ref().take_while(|c| *c != '`').collect();
                    toks.push(Tok::Lit(Value::from(lit)));
                }
                '"' => {
                    chars.next();
                    let mut lit = String::new();
                    while let Some(c) = chars.next() {
                        match c {
                            '"' => break,
                            '\\' => match chars.next() {
                                Some('n') => lit.push('\n'),
                                Some('t') => lit.push('\t'),
                                Some(base @ ('u' | 'x')) => {
                                    let len = if base == 'u' { 4 } else { 2 };
                                    let hex: String = chars.by_ref().take(len).collect();
                                    let code = u32::from_str_radix(&hex, 16).expect("hex escape");
                                    lit.push(char::from_u32(code).expect("escape"));
                                }
                                Some(other) => lit.push(other),
                                None => {}
                            },
                            other => lit.push(other),
                        }
                    }
                    toks.push(Tok::Lit(Value::from(lit)));
                }
                _ => {
                    let mut word = String::new();
                    while let Some(&c) = chars.peek() {
                        if c == ' ' || c == '(' || c == ')' {
                            break;
                        }
                        word.push(c);
                        chars.next();
                    }
                    toks.push(word_token(word));
                }
            }
        }
        toks
    }

    fn word_token(word: String) -> Tok {
        let first = word.chars().next().unwrap_or(' ');
        if word == "nil" {
            Tok::Lit(Value::Nil)
        } else if word == "true" || word == "false" {
            Tok::Lit(Value::Bool(word == "true"))
        } else if first.is_ascii_digit() || first == '-' {
            match word.parse::<i64>() {
                Ok(n) => Tok::Lit(Value::Int(n)),
                Err(_) => Tok::Lit(Value::Float(word.parse().expect("number literal"))),
            }
        } else if let Some(path) = word.strip_prefix(".Values.") {
            let mut v = values();
            for key in path.split('.') {
                v = v.get(key).unwrap_or_default();
            }
            Tok::Lit(v)
        } else {
            Tok::Word(word)
        }
    }

    fn eval_tokens(toks: &[Tok], pos: &mut usize) -> FuncResult {
        let mut parts = Vec::new();
        let mut name = None;
        while let Some(tok) = toks.get(*pos) {
            *pos += 1;
            match tok {
                Tok::Close => break,
                Tok::Open => parts.push(eval_tokens(toks, pos)?),
                Tok::Word(w) if name.is_none() && parts.is_empty() => name = Some(w.clone()),
                Tok::Word(w) => panic!("unexpected word {w}"),
                Tok::Lit(v) => parts.push(v.clone()),
            }
        }
        match name {
            Some(name) => call(&name, &parts),
            None => Ok(parts.into_iter().next().unwrap_or_default()),
        }
    }

    /// Evaluates `expr` and prints the result as `{{ expr }}` would, or `ERR message`.
    pub(crate) fn render(expr: &str) -> String {
        let toks = tokenize(expr);
        match eval_tokens(&toks, &mut 0) {
            // Go prints a nil result as `<no value>`, which Helm removes.
            Ok(Value::Nil) => String::new(),
            Ok(v) => format_value(&v),
            Err(e) => format!("ERR {e}"),
        }
    }

    /// Checks every `expr ⇒ "json string"` line of an oracle table, reporting all mismatches.
    pub(crate) fn check_table(table: &str) {
        let mut failures = Vec::new();
        let mut count = 0;
        for line in table.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (expr, want) = line.split_once(" ⇒ ").expect("table line");
            let want: String = serde_json::from_str(want).expect("json expected value");
            let got = render(expr);
            count += 1;
            if got != want {
                failures.push(format!("{expr}\n   want {want:?}\n    got {got:?}"));
            }
        }
        assert!(count > 0);
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// Verified with the Helm 4.2 oracle. The functions' errors of `required`/`fail` carry
    /// Helm's markers, which its "execution error at (…)" cleanup looks for.
    const ORACLE: &str = r#"
trim "  a b \n" ⇒ "a b"
trimAll "$" "$$5.00$" ⇒ "5.00"
trimall "$" "$x$" ⇒ "x"
trimPrefix "ab" "abcab" ⇒ "cab"
trimSuffix "ab" "abcab" ⇒ "abc"
upper "héllo ß" ⇒ "HÉLLO ß"
lower "HÉLLO" ⇒ "héllo"
title "hello wORLD foo-bar x_y 3rd" ⇒ "Hello WORLD Foo-Bar X_y 3rd"
untitle "Hello World FOO" ⇒ "hello world fOO"
repeat 3 "ab" ⇒ "ababab"
substr 1 3 "abcdef" ⇒ "bc"
substr -1 3 "abcdef" ⇒ "abc"
substr 2 -1 "abcdef" ⇒ "cdef"
substr 2 99 "abcdef" ⇒ "cdef"
substr 4 2 "abcdef" ⇒ "ERR runtime error: slice bounds out of range [4:2]"
substr 9 10 "abc" ⇒ "ERR runtime error: slice bounds out of range [9:3]"
nospace " a b\tc\n" ⇒ "abc"
trunc 3 "abcdef" ⇒ "abc"
trunc -2 "abcdef" ⇒ "ef"
trunc 10 "abc" ⇒ "abc"
trunc -10 "abc" ⇒ "abc"
trunc 3 .Values.s ⇒ "hel"
abbrev 5 "hello world" ⇒ "he..."
abbrev 3 "hello world" ⇒ "hello world"
abbrev 20 "hello" ⇒ "hello"
abbrevboth 5 10 "1234 5678 9123" ⇒ "...5678..."
abbrevboth 0 4 "abcdefghij" ⇒ "a..."
initials "hello big World" ⇒ "hbW"
wrap 5 "hello world foo bar" ⇒ "hello\nworld\nfoo\nbar"
wrap 3 "abcdefgh ij" ⇒ "abcdefgh\nij"
wrapWith 5 "\t" "Hello World" ⇒ "Hello\tWorld"
wrapWith 3 "|" "abcdefgh ij" ⇒ "abc|def|gh|ij"
contains "ll" "hello" ⇒ "true"
hasPrefix "he" "hello" ⇒ "true"
hasSuffix "lo" "hello" ⇒ "true"
quote "a\"b" 1 nil 1.5 ⇒ "\"a\\\"b\" \"1\" \"1.5\""
quote .Values.f .Values.big .Values.nil ⇒ "\"1.5\" \"1e+06\""
quote ⇒ ""
squote "a" 2 nil ⇒ "'a' '2'"
cat "a" 1 nil "b" .Values.l ⇒ "a 1 b [1 2 x 2]"
indent 2 "a\nb" ⇒ "  a\n  b"
nindent 4 "x\n\ny" ⇒ "\n    x\n    \n    y"
indent 0 "" ⇒ ""
indent 2 "a\n" ⇒ "  a\n  "
nindent 1 "" ⇒ "\n "
indent 1 "é\nü" ⇒ " é\n ü"
nindent 2 "\n\n" ⇒ "\n  \n  \n  "
replace "l" "L" "hello" ⇒ "heLLo"
replace "" "-" "abc" ⇒ "-a-b-c-"
plural "one" "many" 1 ⇒ "one"
plural "one" "many" 2 ⇒ "many"
snakecase "FirstName" ⇒ "first_name"
snakecase "HTTPServer" ⇒ "http_server"
snakecase "NoHTTPS" ⇒ "no_https"
snakecase "GO_PATH" ⇒ "go_path"
snakecase "GO PATH" ⇒ "go_path"
snakecase "http2xx" ⇒ "http_2xx"
snakecase "HTTP20xOK" ⇒ "http_20x_ok"
snakecase "Duration2m3s" ⇒ "duration_2m3s"
snakecase "Bld4Floor3rd" ⇒ "bld4_floor_3rd"
snakecase "a.b-c d" ⇒ "a.b_c_d"
kebabcase "FirstName" ⇒ "first-name"
kebabcase "HTTPServer" ⇒ "http-server"
kebabcase "Bld4Floor3rd" ⇒ "bld4-floor-3rd"
camelcase "http_server" ⇒ "HttpServer"
camelcase "some words" ⇒ "SomeWords"
camelcase "GOLANG_IS_GREAT" ⇒ "GolangIsGreat"
camelcase "_complex__case_" ⇒ "_Complex_Case_"
camelcase "a" ⇒ "A"
camelcase "myName-is" ⇒ "MyNameIs"
swapcase "Hello World 1" ⇒ "hELLO wORLD 1"
toString 1 ⇒ "1"
toString .Values.f ⇒ "1.5"
toString .Values.big ⇒ "1e+06"
toString .Values.nil ⇒ "<nil>"
toString .Values.m ⇒ "map[a:1 b:map[c:deep] e:]"
toString .Values.l ⇒ "[1 2 x 2]"
toString true ⇒ "true"
toStrings .Values.l ⇒ "[1 2 x 2]"
toStrings (list 1 nil "a") ⇒ "[1 a]"
toStrings "x" ⇒ "[x]"
split "," "a,b,c" ⇒ "map[_0:a _1:b _2:c]"
split "" "abc" ⇒ "map[_0:a _1:b _2:c]"
splitList "," "a,b,,c" ⇒ "[a b  c]"
splitList "" "héllo" ⇒ "[h é l l o]"
splitn "," 2 "a,b,c" ⇒ "map[_0:a _1:b,c]"
splitn "," 0 "a,b,c" ⇒ "map[]"
splitn "," -1 "a,b,c" ⇒ "map[_0:a _1:b _2:c]"
join "-" .Values.l ⇒ "1-2-x-2"
join "-" "abc" ⇒ "abc"
join "-" .Values.nil ⇒ ""
join "," (list 1 nil 2.5 "x") ⇒ "1,2.5,x"
sortAlpha .Values.sl ⇒ "[a b c]"
sortAlpha (list 10 9 "b" 1.5) ⇒ "[1.5 10 9 b]"
sortAlpha "x" ⇒ "[x]"
seq 3 ⇒ "1 2 3"
seq 0 ⇒ "1 0"
seq -2 ⇒ "1 0 -1 -2"
seq 2 5 ⇒ "2 3 4 5"
seq 5 2 ⇒ "5 4 3 2"
seq 1 2 9 ⇒ "1 3 5 7 9"
seq 9 -3 1 ⇒ "9 6 3"
seq 9 3 1 ⇒ ""
seq 1 -1 5 ⇒ ""
seq ⇒ ""
required "need it" "v" ⇒ "v"
required "need it" 0 ⇒ "0"
required "need it" "" ⇒ "ERR HELM_ERR_STARTneed itHELM_ERR_END"
required "need it" .Values.nil ⇒ "ERR HELM_ERR_STARTneed itHELM_ERR_END"
fail "boom" ⇒ "ERR HELM_ERR_STARTboomHELM_ERR_END"
hello ⇒ "Hello!"
snakecase "a€b" ⇒ "a_€_b"
snakecase "a«b»c" ⇒ "a«b»c"
snakecase "a—b" ⇒ "a—b"
snakecase "x+y=z" ⇒ "x_+_y_=_z"
kebabcase "foo.bar_baz" ⇒ "foo.bar-baz"
title "héllo wörld ǆemal" ⇒ "Héllo Wörld ǅemal"
title "o'neil mc-donald 1st_place" ⇒ "O'Neil Mc-Donald 1st_place"
upper "ǆ ﬁ straße" ⇒ "Ǆ ﬁ STRAßE"
lower "İSTANBUL Σ" ⇒ "istanbul σ"
indent -1 "a" ⇒ "ERR strings: negative Repeat count"
nindent -2 "a" ⇒ "ERR strings: negative Repeat count"
repeat -1 "a" ⇒ "ERR strings: negative Repeat count"
trunc 2 "héllo" ⇒ "h�"
trunc 1 "héllo" ⇒ "h"
trunc -4 "héllo" ⇒ "�llo"
int 1e30 ⇒ "-9223372036854775808"
int -1e30 ⇒ "-9223372036854775808"
int64 "1e3" ⇒ "0"
int "  12" ⇒ "0"
int "12 " ⇒ "0"
int "+12" ⇒ "12"
int "0" ⇒ "0"
int "00" ⇒ "0"
int "0x" ⇒ "0"
int "1__0" ⇒ "0"
int ".0" ⇒ "0"
int "1.00" ⇒ "1"
splitn "," 5 "a,b" ⇒ "map[_0:a _1:b]"
initials "héllo über" ⇒ "hÃ"
abbrevboth 10 10 "1234567890abcdefghijklmnop" ⇒ "...abcd..."
abbrevboth 1 10 "1234567890abcdefghijklmnop" ⇒ "1234567..."
abbrevboth 20 10 "1234567890abcdefghijklmnop" ⇒ "...jklmnop"
abbrev 4 "abcdef" ⇒ "a..."
abbrev 6 "abcdefg" ⇒ "abc..."
snakecase "héllo Wörld" ⇒ "héllo_wörld"
snakecase "ÜberCool" ⇒ "über_cool"
snakecase "a1B2" ⇒ "a1_b2"
snakecase "ABC" ⇒ "abc"
snakecase "ABCdef" ⇒ "ab_cdef"
snakecase "a__b" ⇒ "a__b"
snakecase "__a" ⇒ "__a"
snakecase "a$b" ⇒ "a_$_b"
camelcase "héllo_wörld" ⇒ "HélloWörld"
camelcase "__" ⇒ "___"
camelcase "a_" ⇒ "A_"
camelcase "HTTPServer" ⇒ "Httpserver"
kebabcase "a_b c-d" ⇒ "a-b-c-d"
swapcase "ǅ Ab" ⇒ "ǆ aB"
nospace "a\u00a0b\u2003c" ⇒ "aÂbâc"
trim "\u00a0 x \u2003" ⇒ "x"
squote .Values.m ⇒ "'map[a:1 b:map[c:deep] e:]'"
cat ⇒ ""
wrap 0 "a b" ⇒ "a\nb"
wrap 10 "" ⇒ ""
replace "a" "b" "" ⇒ ""
contains "" "abc" ⇒ "true"
title "" ⇒ ""
sortAlpha (list "B" "a" "C") ⇒ "[B C a]"
sortAlpha .Values.m ⇒ "[map[a:1 b:map[c:deep] e:]]"
toStrings .Values.m ⇒ "[map[a:1 b:map[c:deep] e:]]"
join "," .Values.m ⇒ "map[a:1 b:map[c:deep] e:]"
"#;

    #[test]
    fn matches_helm() {
        check_table(ORACLE);
    }

    /// Verified with the Helm 4.2 oracle: argument counts are checked with Go's wording.
    #[test]
    fn argument_counts_and_conversions_match_helm() {
        check_table(
            r#"
trunc 1 ⇒ "ERR wrong number of args for trunc: want 2 got 1"
mul ⇒ "ERR wrong number of args for mul: want at least 1 got 0"
merge ⇒ "ERR wrong number of args for merge: want at least 1 got 0"
pluck ⇒ "ERR wrong number of args for pluck: want at least 1 got 0"
default ⇒ "ERR wrong number of args for default: want at least 1 got 0"
ternary 1 2 ⇒ "ERR wrong number of args for ternary: want 3 got 2"
list ⇒ "[]"
add1 "0x10" ⇒ "17"
dict 1.5 "a" .Values.f "b" ⇒ "map[1.5:b]"
int .Values.s ⇒ "0"
"#,
        );
    }

    /// Every Sprig v3 name of the families in strings, lists, dicts, math, conversion,
    /// defaults, regex, encoding, reflection and paths, plus Helm's `required`.
    #[test]
    fn every_sprig_name_of_these_families_is_registered() {
        let names = [
            "hello",
            "abbrev",
            "abbrevboth",
            "trunc",
            "trim",
            "upper",
            "lower",
            "title",
            "untitle",
            "substr",
            "repeat",
            "trimall",
            "trimAll",
            "trimSuffix",
            "trimPrefix",
            "nospace",
            "initials",
            "swapcase",
            "snakecase",
            "camelcase",
            "kebabcase",
            "wrap",
            "wrapWith",
            "contains",
            "hasPrefix",
            "hasSuffix",
            "quote",
            "squote",
            "cat",
            "indent",
            "nindent",
            "replace",
            "plural",
            "toString",
            "atoi",
            "int64",
            "int",
            "float64",
            "seq",
            "toDecimal",
            "split",
            "splitList",
            "splitn",
            "toStrings",
            "until",
            "untilStep",
            "add1",
            "add",
            "sub",
            "div",
            "mod",
            "mul",
            "add1f",
            "addf",
            "subf",
            "divf",
            "mulf",
            "biggest",
            "max",
            "min",
            "maxf",
            "minf",
            "ceil",
            "floor",
            "round",
            "join",
            "sortAlpha",
            "default",
            "empty",
            "coalesce",
            "all",
            "any",
            "compact",
            "mustCompact",
            "ternary",
            "deepCopy",
            "mustDeepCopy",
            "typeOf",
            "typeIs",
            "typeIsLike",
            "kindOf",
            "kindIs",
            "deepEqual",
            "base",
            "dir",
            "clean",
            "ext",
            "isAbs",
            "osBase",
            "osClean",
            "osDir",
            "osExt",
            "osIsAbs",
            "b64enc",
            "b64dec",
            "b32enc",
            "b32dec",
            "tuple",
            "list",
            "dict",
            "get",
            "set",
            "unset",
            "hasKey",
            "pluck",
            "keys",
            "pick",
            "omit",
            "merge",
            "mergeOverwrite",
            "mustMerge",
            "mustMergeOverwrite",
            "values",
            "append",
            "push",
            "mustAppend",
            "mustPush",
            "prepend",
            "mustPrepend",
            "first",
            "mustFirst",
            "rest",
            "mustRest",
            "last",
            "mustLast",
            "initial",
            "mustInitial",
            "reverse",
            "mustReverse",
            "uniq",
            "mustUniq",
            "without",
            "mustWithout",
            "has",
            "mustHas",
            "slice",
            "mustSlice",
            "concat",
            "dig",
            "chunk",
            "mustChunk",
            "fail",
            "required",
            "regexMatch",
            "mustRegexMatch",
            "regexFindAll",
            "mustRegexFindAll",
            "regexFind",
            "mustRegexFind",
            "regexReplaceAll",
            "mustRegexReplaceAll",
            "regexReplaceAllLiteral",
            "mustRegexReplaceAllLiteral",
            "regexSplit",
            "mustRegexSplit",
            "regexQuoteMeta",
        ];
        let missing: Vec<&str> = names
            .into_iter()
            .filter(|n| crate::engine::funcs::get(n).is_none())
            .collect();
        assert!(missing.is_empty(), "missing: {missing:?}");
        assert!(crate::engine::funcs::get("env").is_none());
        assert!(crate::engine::funcs::get("expandenv").is_none());
    }

    /// Where Go would exhaust memory, these fail instead (and stay exact below the limits).
    #[test]
    fn huge_sequences_and_repeats_fail_instead_of_exhausting_memory() {
        for expr in [
            "until 100000000000",
            "untilStep 0 9223372036854775807 1",
            "seq 100000000000",
            "repeat 100000000000 \"ab\"",
            "indent 1000000000 \"a\"",
        ] {
            assert!(render(expr).starts_with("ERR "), "{expr}");
        }
        assert_eq!(
            render("untilStep -9223372036854775808 -9223372036854775806 1"),
            "[-9223372036854775808 -9223372036854775807]"
        );
    }

    #[test]
    fn type_errors_use_go_wording() {
        assert_eq!(
            render("trunc .Values.f \"abc\""),
            "ERR wrong type for value; expected int; got float64"
        );
        assert_eq!(
            render("upper .Values.nil"),
            "ERR wrong type for value; expected string; got interface {}"
        );
        assert_eq!(
            render("upper 1"),
            "ERR wrong type for value; expected string; got int"
        );
    }
}

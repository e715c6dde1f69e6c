//! `toYaml` as sigs.k8s.io/yaml produces it: the value goes through encoding/json, go-yaml v2
//! re-reads that JSON (so `1e+06` becomes the int `1000000`) and its libyaml-derived emitter
//! writes it. The emitter below follows go-yaml v2's rules for indentation, quoting, block
//! scalars and folding at 80 columns, for the block-style documents `toYaml` produces.

use std::borrow::Cow;

use super::YamlError;
use super::resolve::{Scalar, needs_quotes, resolve_plain};
use crate::gofmt::format_float_g;
use crate::gofmt::format_json_float;
use crate::value::{MapRead, Value};

const BEST_INDENT: i64 = 2;
const BEST_WIDTH: usize = 80;

/// The go-yaml value the JSON round trip yields, borrowing the strings of the value it
/// came from (`toYaml` runs on every labels block a chart includes; copying each key and
/// string first cost more than writing them).
enum Node<'v> {
    /// A number, bool or null, already formatted by go-yaml.
    Plain(Cow<'v, str>),
    Str(Cow<'v, str>),
    Seq(Vec<Node<'v>>),
    Map(Vec<(Cow<'v, str>, Node<'v>)>),
}

impl Node<'_> {
    /// The same node owning its strings (for values an object hands over by value).
    fn into_owned(self) -> Node<'static> {
        let own = |s: Cow<'_, str>| Cow::Owned(s.into_owned());
        match self {
            Node::Plain(s) => Node::Plain(own(s)),
            Node::Str(s) => Node::Str(own(s)),
            Node::Seq(items) => Node::Seq(items.into_iter().map(Node::into_owned).collect()),
            Node::Map(entries) => Node::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (own(k), v.into_owned()))
                    .collect(),
            ),
        }
    }
}

/// Which Go encoder is imitated.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Dialect {
    /// sigs.k8s.io/yaml (`toYaml`): JSON round trip, go-yaml v2, sequences flush with their
    /// key, folding at 80 columns.
    SigsV2,
    /// go-yaml v3's encoder with `SetIndent(2)` (`toYamlPretty`): the Go values as they are,
    /// sequences indented, no folding.
    PrettyV3,
}

pub(crate) fn to_yaml(v: &Value, dialect: Dialect) -> Result<String, YamlError> {
    let node = node(v, 0, dialect)?;
    let mut e = Emitter {
        dialect,
        out: String::new(),
        column: 0,
        indent: -1,
        indents: Vec::new(),
        whitespace: true,
        indention: true,
    };
    e.node(&node, Context::ROOT);
    e.write_indent();
    Ok(e.out)
}

fn node(v: &Value, depth: usize, dialect: Dialect) -> Result<Node<'_>, YamlError> {
    if depth > super::MAX_DEPTH {
        return Err(YamlError::Marshal(format!(
            "json: exceeded max depth of {}",
            super::MAX_DEPTH
        )));
    }
    Ok(match v {
        Value::Nil => Node::Plain(Cow::Borrowed("null")),
        Value::Bool(b) => Node::Plain(Cow::Borrowed(if *b { "true" } else { "false" })),
        Value::Int(i) => Node::Plain(Cow::Owned(i.to_string())),
        Value::Float(f) if dialect == Dialect::PrettyV3 => {
            Node::Plain(Cow::Owned(match format_float_g(*f) {
                s if s == "+Inf" => ".inf".into(),
                s if s == "-Inf" => "-.inf".into(),
                s if s == "NaN" => ".nan".into(),
                s => s,
            }))
        }
        Value::Float(f) if !f.is_finite() => {
            let what = if f.is_nan() {
                "NaN"
            } else if *f > 0.0 {
                "+Inf"
            } else {
                "-Inf"
            };
            return Err(YamlError::Marshal(format!(
                "json: unsupported value: {what}"
            )));
        }
        Value::Float(f) => Node::Plain(Cow::Owned(reread_number(&format_json_float(*f)))),
        Value::String(s) if dialect == Dialect::SigsV2 && s.contains('\u{85}') => {
            Node::Str(Cow::Owned(fold_next_line(s)))
        }
        Value::String(s) => Node::Str(Cow::Borrowed(s)),
        Value::List(items) => Node::Seq(
            items
                .iter()
                .map(|item| node(item, depth + 1, dialect))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(map) => match map.read() {
            MapRead::Unchanged(map) => {
                let entries = map
                    .iter()
                    .map(|(k, item)| {
                        Ok((Cow::Borrowed(k.as_str()), node(item, depth + 1, dialect)?))
                    })
                    .collect::<Result<Vec<_>, YamlError>>()?;
                Node::Map(merge_sort(entries))
            }
            // A map changed during the render sits behind a lock: its entries are
            // copied out (the copy shares their strings) and emitted owned.
            MapRead::Changed(entries) => {
                let copy = Value::map(entries.clone());
                drop(entries);
                node(&copy, depth, dialect)?.into_owned()
            }
        },
        Value::Object(o) => node(&o.to_data(), depth, dialect)?.into_owned(),
    })
}

/// encoding/json leaves U+0085 (NEL) unescaped, and go-yaml reading that JSON treats it as a
/// line break inside a double-quoted scalar: folded to a space, or to newlines when several
/// follow each other, with the blanks around them dropped.
fn fold_next_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending = String::new();
    let mut breaks = 0;
    for c in s.chars() {
        match c {
            ' ' | '\t' => pending.push(c),
            '\u{85}' => {
                pending.clear();
                breaks += 1;
            }
            _ => {
                match breaks {
                    0 => out.push_str(&pending),
                    1 => out.push(' '),
                    n => out.extend(std::iter::repeat_n('\n', n - 1)),
                }
                pending.clear();
                breaks = 0;
                out.push(c);
            }
        }
    }
    match breaks {
        0 => out.push_str(&pending),
        1 => out.push(' '),
        n => out.extend(std::iter::repeat_n('\n', n - 1)),
    }
    out
}

/// The number go-yaml reads back from encoding/json's text, formatted as go-yaml writes it.
fn reread_number(json: &str) -> String {
    match resolve_plain(json).scalar {
        Scalar::Int(i) => i.to_string(),
        Scalar::Uint(u) => u.to_string(),
        Scalar::Float(f) => format_float_g(f),
        _ => json.to_string(),
    }
}

/// Sorts map entries with go-yaml's key order. That order is not transitive for some odd
/// keys (`0a10`, `007`, `01`), where Go's result depends on its random map iteration; a
/// merge sort gives a deterministic answer there and, unlike `sort_by`, cannot panic.
fn merge_sort<'v>(mut entries: Vec<(Cow<'v, str>, Node<'v>)>) -> Vec<(Cow<'v, str>, Node<'v>)> {
    if entries.len() <= 1 {
        return entries;
    }
    let right = entries.split_off(entries.len() / 2);
    let (left, right) = (merge_sort(entries), merge_sort(right));
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_right = match (left.peek(), right.peek()) {
            (Some(l), Some(r)) => key_less(&r.0, &l.0),
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (None, None) => break,
        };
        let next = if take_right {
            right.next()
        } else {
            left.next()
        };
        out.extend(next);
    }
    out
}

/// go-yaml v2's key order: letters sort after other characters, and runs of digits compare
/// as numbers, so `a2` comes before `a10`. ASCII keys, by far the most common, are compared
/// without collecting characters.
fn key_less(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        less_by(a.as_bytes(), b.as_bytes(), |c| char::from(*c))
    } else {
        let ar: Vec<char> = a.chars().collect();
        let br: Vec<char> = b.chars().collect();
        less_by(&ar, &br, |c| *c)
    }
}

fn less_by<T>(ar: &[T], br: &[T], ch: impl Fn(&T) -> char) -> bool {
    for i in 0..ar.len().min(br.len()) {
        let (ac, bc) = (ch(&ar[i]), ch(&br[i]));
        if ac == bc {
            continue;
        }
        let al = ac.is_alphabetic();
        let bl = bc.is_alphabetic();
        if al && bl {
            return ac < bc;
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ac == '0' || bc == '0' {
            let mut j = i;
            while j > 0 && ch(&ar[j - 1]).is_ascii_digit() {
                if ch(&ar[j - 1]) != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
                j -= 1;
            }
        }
        let mut ai = i;
        while ai < ar.len() && ch(&ar[ai]).is_ascii_digit() {
            an = an
                .wrapping_mul(10)
                .wrapping_add(i64::from(ch(&ar[ai]) as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && ch(&br[bi]).is_ascii_digit() {
            bn = bn
                .wrapping_mul(10)
                .wrapping_add(i64::from(ch(&br[bi]) as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ac < bc;
    }
    ar.len() < br.len()
}

#[derive(Clone, Copy)]
struct Context {
    mapping: bool,
    simple_key: bool,
}

impl Context {
    const ROOT: Context = Context {
        mapping: false,
        simple_key: false,
    };
    const SEQUENCE: Context = Context {
        mapping: false,
        simple_key: false,
    };
    const VALUE: Context = Context {
        mapping: true,
        simple_key: false,
    };
    const SIMPLE_KEY: Context = Context {
        mapping: true,
        simple_key: true,
    };
}

#[derive(Clone, Copy, PartialEq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// What libyaml's `analyze_scalar` learns about a scalar.
#[derive(Debug, PartialEq, Eq)]
struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// libyaml's printable set; everything outside the Basic Multilingual Plane is "special".
fn is_printable(c: char) -> bool {
    c == '\n'
        || (' '..='~').contains(&c)
        || ('\u{A0}'..='\u{D7FF}').contains(&c)
        || (('\u{E000}'..='\u{FFFD}').contains(&c) && c != '\u{FEFF}')
}

/// go-yaml v3 treats a tab as printable: it rules out plain and single-quoted styles but
/// still allows a literal block.
fn analyze(value: &str, dialect: Dialect) -> Analysis {
    analyze_ascii_line(value).unwrap_or_else(|| analyze_chars(value, dialect))
}

/// [`analyze`] for the common case, a line of printable ASCII: what the loop over characters
/// finds, from the first and last bytes and one pass over the colons and hashes.
fn analyze_ascii_line(value: &str) -> Option<Analysis> {
    let bytes = value.as_bytes();
    let printable = bytes
        .iter()
        .fold(true, |ok, &b| ok & (b' '..=b'~').contains(&b));
    let (&first, &last) = (bytes.first()?, bytes.last()?);
    if !printable {
        return None;
    }
    let blank_after = |i: usize| bytes.get(i + 1).is_none_or(|&b| b == b' ');
    let indicators = value.starts_with("---")
        || value.starts_with("...")
        // `-`, `?` and `:` are indicators only when a blank follows.
        || (super::quick::starts_indicator(first)
            && (!matches!(first, b'?' | b':' | b'-') || blank_after(0)))
        || memchr::memchr2_iter(b':', b'#', &bytes[1..]).any(|i| match bytes[i + 1] {
            b':' => blank_after(i + 1),
            _ => bytes[i] == b' ',
        });
    let (leading_space, trailing_space) = (first == b' ', last == b' ');
    Some(Analysis {
        multiline: false,
        block_plain_allowed: !(leading_space || trailing_space || indicators),
        single_quoted_allowed: true,
        block_allowed: !trailing_space,
    })
}

/// libyaml's `analyze_scalar`, a character at a time.
fn analyze_chars(value: &str, dialect: Dialect) -> Analysis {
    let tabs_allowed = dialect == Dialect::PrettyV3;
    let mut tabs = false;
    if value.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = value.starts_with("---") || value.starts_with("...");
    let (mut line_breaks, mut special) = (false, false);
    let (mut leading_space, mut leading_break) = (false, false);
    let (mut trailing_space, mut trailing_break) = (false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_whitespace = true;
    let mut chars = value.chars().peekable();
    let mut i = 0;
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let followed_by_whitespace = next.is_none_or(is_blank);
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' | '-' if followed_by_whitespace => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_whitespace => block_indicators = true,
                '#' if preceded_by_whitespace => block_indicators = true,
                _ => {}
            }
        }
        if c == '\t' && tabs_allowed {
            tabs = true;
        } else if !is_printable(c) {
            special = true;
        }
        let last = next.is_none();
        if c == ' ' {
            leading_space |= i == 0;
            trailing_space |= last;
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            leading_break |= i == 0;
            trailing_break |= last;
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blank(c) || is_break(c) || c == '\0';
        i += 1;
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special || tabs {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

struct Emitter {
    dialect: Dialect,
    out: String,
    /// In characters, as libyaml counts.
    column: usize,
    indent: i64,
    indents: Vec<i64>,
    whitespace: bool,
    indention: bool,
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn restore_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(
        &mut self,
        s: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in s.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn node(&mut self, node: &Node<'_>, ctx: Context) {
        match node {
            Node::Plain(text) => self.scalar(text, Style::Plain, ctx),
            Node::Str(s) => {
                let style = if s.contains('\n') {
                    Style::Literal
                } else if needs_quotes(s) {
                    Style::Double
                } else {
                    Style::Plain
                };
                self.scalar(s, style, ctx);
            }
            Node::Seq(items) if items.is_empty() => self.empty_flow("[", "]"),
            Node::Map(entries) if entries.is_empty() => self.empty_flow("{", "}"),
            Node::Seq(items) => {
                let indentless = self.dialect == Dialect::SigsV2 && ctx.mapping && !self.indention;
                self.increase_indent(false, indentless);
                for item in items {
                    self.write_indent();
                    self.write_indicator("-", true, false, true);
                    self.node(item, Context::SEQUENCE);
                }
                self.restore_indent();
            }
            Node::Map(entries) => {
                self.increase_indent(false, false);
                for (key, value) in entries {
                    self.write_indent();
                    let simple = !key.chars().any(is_break) && key.len() <= 128;
                    let key_node = Node::Str(Cow::Borrowed(key));
                    if simple {
                        self.node(&key_node, Context::SIMPLE_KEY);
                        self.write_indicator(":", false, false, false);
                    } else {
                        self.write_indicator("?", true, false, true);
                        self.node(&key_node, Context::VALUE);
                        self.write_indent();
                        self.write_indicator(":", true, false, true);
                    }
                    self.node(value, Context::VALUE);
                }
                self.restore_indent();
            }
        }
    }

    fn empty_flow(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.increase_indent(true, false);
        self.restore_indent();
        self.write_indicator(close, false, false, false);
    }

    fn scalar(&mut self, value: &str, requested: Style, ctx: Context) {
        let a = analyze(value, self.dialect);
        let mut style = requested;
        if ctx.simple_key && a.multiline {
            style = Style::Double;
        }
        if style == Style::Plain && (!a.block_plain_allowed || (value.is_empty() && ctx.simple_key))
        {
            style = Style::Single;
        }
        if style == Style::Single && !a.single_quoted_allowed {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block_allowed || ctx.simple_key) {
            style = Style::Double;
        }
        self.increase_indent(true, false);
        let allow_breaks = !ctx.simple_key && self.dialect == Dialect::SigsV2;
        match style {
            Style::Plain => self.plain(value, allow_breaks),
            Style::Single => self.single_quoted(value, allow_breaks),
            Style::Double => self.double_quoted(value, allow_breaks),
            Style::Literal => self.literal(value),
        }
        self.restore_indent();
    }

    fn plain(&mut self, value: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        // A scalar with no space or line break (most keys and values) is written as it is.
        if !value.chars().any(|c| c == ' ' || is_break(c)) {
            self.out.push_str(value);
            self.column += value.chars().count();
            self.whitespace = false;
            self.indention = false;
            return;
        }
        if value.chars().any(is_break) {
            self.plain_chars(value, allow_breaks);
        } else {
            self.plain_words(value, allow_breaks);
        }
        self.whitespace = false;
        self.indention = false;
    }

    /// libyaml's plain scalar writer, a character at a time: line breaks and the folding of
    /// spaces past the best width.
    fn plain_chars(&mut self, value: &str, allow_breaks: bool) {
        let chars: Vec<char> = value.chars().collect();
        let (mut spaces, mut breaks) = (false, false);
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
    }

    /// [`Self::plain_chars`] for a scalar of words and spaces, a word at a time (CRD
    /// descriptions are most of what `toYaml` writes): a single space past the best width
    /// folds the line, and a run of spaces never does.
    fn plain_words(&mut self, value: &str, allow_breaks: bool) {
        let bytes = value.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            let word_end = memchr::memchr(b' ', &bytes[at..]).map_or(bytes.len(), |i| at + i);
            if word_end > at {
                let word = &value[at..word_end];
                self.out.push_str(word);
                self.column += if word.is_ascii() {
                    word.len()
                } else {
                    word.chars().count()
                };
                self.indention = false;
            }
            let mut run_end = word_end;
            while bytes.get(run_end) == Some(&b' ') {
                run_end += 1;
            }
            let run = run_end - word_end;
            if run == 1 && allow_breaks && self.column > BEST_WIDTH {
                self.write_indent();
            } else {
                for _ in 0..run {
                    self.put(' ');
                }
            }
            at = run_end;
        }
    }

    fn single_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let (mut spaces, mut breaks) = (false, false);
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i + 1 < chars.len()
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn double_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        // libyaml's BOM test looks at the start of the value whatever the position, so a
        // value that starts with a BOM has every character escaped.
        let escape_all = value.starts_with('\u{FEFF}');
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if escape_all || !is_printable(c) || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\u{7}' => self.put('a'),
                    '\u{8}' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\u{b}' => self.put('v'),
                    '\u{c}' => self.put('f'),
                    '\r' => self.put('r'),
                    '\u{1b}' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{a0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    c => {
                        let v = c as u32;
                        let (letter, width) = if v <= 0xFF {
                            ('x', 2)
                        } else if v <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(letter);
                        for k in (0..width).rev() {
                            let digit = (v >> (k * 4)) & 0xF;
                            self.put(
                                char::from_digit(digit, 16).map_or('0', |d| d.to_ascii_uppercase()),
                            );
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i + 1 < chars.len()
                {
                    self.write_indent();
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn literal(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
            self.write_indicator("2", false, false, false);
        }
        let chomp = match chars.as_slice() {
            [] => Some("-"),
            [.., last] if !is_break(*last) => Some("-"),
            [_] => Some("+"),
            [.., before, _] if is_break(*before) => Some("+"),
            _ => None,
        };
        if let Some(chomp) = chomp {
            self.write_indicator(chomp, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for &c in &chars {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every string of up to five characters from an alphabet of what the analysis looks at
    /// (indicators, blanks, breaks, quotes, a character outside ASCII), and longer random ones.
    fn samples() -> Vec<String> {
        let alphabet = [
            ' ', ':', '#', '-', '?', '.', 'a', '\'', '[', '\t', '\n', 'é',
        ];
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..5 {
            last = last
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            all.extend(last.iter().cloned());
        }
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            let mut s = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            for k in 0..(seed % 40) {
                let pick = (seed >> (k % 48)) as usize + k as usize * 7;
                s.push(alphabet[pick % alphabet.len()]);
            }
            all.push(s);
        }
        all
    }

    #[test]
    fn the_ascii_line_analysis_is_the_character_loops() {
        let mut fast = 0;
        for s in samples() {
            for dialect in [Dialect::SigsV2, Dialect::PrettyV3] {
                if let Some(a) = analyze_ascii_line(&s) {
                    fast += 1;
                    assert_eq!(a, analyze_chars(&s, dialect), "{s:?}");
                }
            }
        }
        assert!(fast > 10_000, "only {fast} samples took the fast path");
    }

    /// From every column around the best width, words and runs of spaces are written and
    /// folded as the character loop writes and folds them.
    #[test]
    fn plain_scalars_written_a_word_at_a_time_are_the_character_loops() {
        let words = ["a", "bb", "ccc", "dddddddddddddddddddd", "é", "x:y"];
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..5_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut value = String::new();
            for k in 0..(seed % 30) {
                let r = (seed >> (k % 40)) as usize + k as usize;
                value.push_str(&" ".repeat(r % 3));
                value.push_str(words[r % words.len()]);
            }
            let start = |column: usize, indention: bool| Emitter {
                dialect: Dialect::SigsV2,
                out: String::new(),
                column,
                indent: (seed % 9) as i64 - 1,
                indents: Vec::new(),
                whitespace: indention,
                indention,
            };
            for column in [0, 40, 79, 80, 81, 120] {
                for allow_breaks in [true, false] {
                    let (mut by_words, mut by_chars) = (
                        start(column, seed.is_multiple_of(2)),
                        start(column, seed.is_multiple_of(2)),
                    );
                    by_words.plain_words(&value, allow_breaks);
                    by_chars.plain_chars(&value, allow_breaks);
                    let state = |e: &Emitter| (e.out.clone(), e.column, e.whitespace, e.indention);
                    assert_eq!(
                        state(&by_words),
                        state(&by_chars),
                        "{value:?} from {column}"
                    );
                }
            }
        }
    }
}

//! A line-at-a-time check of the block YAML that templates print (`toYaml` output, CRDs as
//! controller-gen writes them), for the manifest sorter: Helm reads every document it prints
//! in full, so every byte of a chart's output must be checked, and a general YAML scanner
//! spends most of `helm template`'s time on it.
//!
//! The check accepts only a plain subset: block mappings and sequences, single-line plain
//! and quoted scalars, block scalars, `[]` and `{}`, comments. Within that subset a document
//! is valid YAML whose meaning does not depend on anything the check skips, so the head can
//! be read from the document's `apiVersion`, `kind` and `metadata` entries alone. Anything
//! else (flow collections, anchors, tags, multi-line scalars, tabs, odd indentation, keys
//! that are not strings, and every error) is left to the full reading, which then decides
//! alone: the check only ever says "certainly valid", never "invalid".

use super::resolve::{Scalar, resolve_plain};

/// What the check found in an accepted document.
pub(super) enum Checked {
    /// Only comments and blank lines.
    Empty,
    /// A mapping; the text of its `apiVersion`, `kind` and `metadata` entries, in their order.
    Map(String),
}

/// Deeper documents are left to the full reading, which enforces the nesting limit.
const MAX_NESTING: usize = 200;

/// Longer keys are left to the full reading: YAML caps implicit keys at 1024 characters.
const MAX_KEY_LEN: usize = 512;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Map,
    Seq,
}

/// An open block collection: its column and kind. An indentless sequence (`key:` followed by
/// `- item` at the key's column) shares its mapping's column.
#[derive(Clone, Copy)]
struct Open {
    indent: usize,
    kind: Kind,
    indentless: bool,
}

/// What the previous line leaves the next one to complete.
#[derive(Clone, Copy)]
enum Expect {
    Nothing,
    /// The node of a `key:` (`after_key`) or a `-` with nothing after it, in the collection
    /// at `indent`: a nested collection, or nothing (null).
    Node {
        indent: usize,
        after_key: bool,
    },
    /// More lines of a plain scalar, indented at least `min`, may follow.
    Plain {
        min: usize,
    },
    /// The lines of a quoted scalar still open, indented at least `min`.
    Quoted {
        quote: u8,
        min: usize,
    },
    /// The lines of a block scalar in the collection at column `parent`, whose content must
    /// be indented at least `min`; `content` is its indentation once its first non-blank
    /// line set it, and `leading` the most spaces of a blank line before that.
    Block {
        parent: usize,
        min: usize,
        content: Option<usize>,
        leading: usize,
    },
}

/// `Some` when `text` is certainly a valid document of the subset; `None` leaves it to the
/// full reading.
pub(super) fn check(text: &str) -> Option<Checked> {
    if !plain_characters(text) {
        return None;
    }
    let mut stack: Vec<Open> = Vec::new();
    let mut expect = Expect::Nothing;
    let mut head = String::new();
    // Where the current top-level entry starts, when it is one the head keeps.
    let mut kept_from: Option<usize> = None;
    let mut at = 0;
    while at < text.len() {
        let line_start = at;
        let line_end = memchr::memchr(b'\n', &text.as_bytes()[at..]).map_or(text.len(), |i| at + i);
        at = line_end + 1;
        let line = &text[line_start..line_end];
        // Byte by byte: lines of CRDs are mostly indentation, and `trim_*_matches` decodes
        // characters.
        let bytes = line.as_bytes();
        let indent = bytes.iter().position(|&b| b != b' ').unwrap_or(bytes.len());
        let end = bytes
            .iter()
            .rposition(|&b| b != b' ')
            .map_or(indent, |i| i + 1);
        let rest = &line[indent..end];
        match &mut expect {
            Expect::Plain { min } => {
                if rest.is_empty() {
                    continue;
                }
                if rest.starts_with('#') {
                    expect = Expect::Nothing;
                    continue;
                }
                if indent >= *min {
                    // A continuation line may start with any character but `#` (a comment,
                    // handled above): indicators only mean something at a node's start.
                    if !plain_line(rest) {
                        return None;
                    }
                    continue;
                }
                expect = Expect::Nothing;
            }
            Expect::Quoted { quote, min } => {
                if rest.is_empty() {
                    continue;
                }
                if indent < *min {
                    return None;
                }
                match scan_quoted(rest, 0, *quote) {
                    Quoted::Open => continue,
                    Quoted::Closed(end) if trailer(&rest[end..]) => {
                        expect = Expect::Nothing;
                        continue;
                    }
                    _ => return None,
                }
            }
            Expect::Block {
                parent,
                min,
                content,
                leading,
            } => match *content {
                None if rest.is_empty() => {
                    *leading = (*leading).max(indent);
                    continue;
                }
                _ if rest.is_empty() && content.is_some() => continue,
                None if indent >= *min && *leading <= indent => {
                    *content = Some(indent);
                    continue;
                }
                Some(m) if indent >= m => continue,
                // A first line between the collection's column and the content's, or after
                // blank lines indented more than it: left to the full reading.
                None if indent > *parent || *leading > indent => return None,
                _ => expect = Expect::Nothing,
            },
            Expect::Nothing | Expect::Node { .. } => {}
        }
        if rest.is_empty() || rest.starts_with('#') {
            continue;
        }
        if indent == 0 && (rest.starts_with("---") || rest.starts_with("...")) {
            return None;
        }
        let is_entry = rest == "-" || rest.starts_with("- ");
        let line_kind = if is_entry { Kind::Seq } else { Kind::Map };
        // Open the collection a `key:` or `-` left pending, or close what this line ends.
        let mut opened = false;
        if let Expect::Node {
            indent: parent,
            after_key,
        } = expect
        {
            if indent > parent
                && !is_entry
                && (rest.starts_with(['{', '[', '|', '>']) || key(rest)?.is_none())
            {
                expect = node(rest, parent, indent + 1)?;
                continue;
            }
            if indent > parent || (after_key && indent == parent && is_entry) {
                if stack.len() >= MAX_NESTING {
                    return None;
                }
                stack.push(Open {
                    indent,
                    kind: line_kind,
                    indentless: indent == parent,
                });
                opened = true;
            }
        }
        if stack.is_empty() {
            if is_entry {
                return None;
            }
            stack.push(Open {
                indent,
                kind: Kind::Map,
                indentless: false,
            });
            opened = true;
        }
        if !opened {
            while stack.last().is_some_and(|top| {
                top.indent > indent || (top.indentless && top.indent == indent && !is_entry)
            }) {
                stack.pop();
            }
            match stack.last() {
                Some(top) if top.indent == indent && top.kind == line_kind => {}
                _ => return None,
            }
        }
        let top = *stack.last()?;
        if is_entry {
            let after = rest[1..].trim_start_matches(' ');
            let column = indent + (rest.len() - after.len());
            if after.is_empty() || after.starts_with('#') {
                expect = Expect::Node {
                    indent,
                    after_key: false,
                };
                continue;
            }
            if after == "-" || after.starts_with("- ") {
                return None;
            }
            let min = indent + if top.indentless { 2 } else { 1 };
            if after.starts_with(['{', '[', '|', '>']) {
                expect = node(after, indent, min)?;
                continue;
            }
            match key(after)? {
                Some((Key::Dash, _)) => return None,
                Some((_, value)) => {
                    if stack.len() >= MAX_NESTING {
                        return None;
                    }
                    stack.push(Open {
                        indent: column,
                        kind: Kind::Map,
                        indentless: false,
                    });
                    expect = map_value(value, column)?;
                }
                None => expect = node(after, indent, min)?,
            }
        } else {
            let (name, value) = key(rest)?.ok_or(()).ok()?;
            if stack.len() == 1 {
                if let Some(from) = kept_from.take() {
                    head.push_str(&text[from..line_start]);
                }
                match name {
                    Key::Plain("apiVersion" | "kind" | "metadata") => kept_from = Some(line_start),
                    Key::Plain(_) => {}
                    // The head's keys could be spelled quoted; the full reading decides.
                    Key::Quoted | Key::Dash => return None,
                }
            }
            if matches!(name, Key::Dash) {
                return None;
            }
            expect = map_value(value, indent)?;
        }
    }
    if matches!(expect, Expect::Quoted { .. }) {
        // A quoted scalar still open at the end of the document: an error.
        return None;
    }
    if let Some(from) = kept_from {
        head.push_str(&text[from..]);
    }
    Some(if stack.is_empty() {
        Checked::Empty
    } else {
        Checked::Map(head)
    })
}

/// No tabs, carriage returns or other control characters, and none of the characters
/// go-yaml (YAML 1.1) reads as line breaks or refuses but YAML 1.2 does not.
///
/// This scan covers every byte a chart prints, so it is written to be cheap: the ASCII test
/// runs a block at a time without an early exit (which the compiler vectorizes), and the
/// refused characters beyond ASCII are found by their UTF-8 lead bytes (`C2` for U+0080 to
/// U+009F, `E2` for U+2028 and U+2029, `EF` for U+FEFF, U+FFFE and U+FFFF) instead of by
/// decoding every character.
fn plain_characters(text: &str) -> bool {
    let bytes = text.as_bytes();
    let controls = bytes.chunks(64).any(|block| {
        block.iter().fold(false, |bad, &b| {
            bad | (b < b' ' && b != b'\n') | (b == 0x7f)
        })
    });
    if controls {
        return false;
    }
    // In a `str` these three bytes only ever lead a character, so what follows each is its
    // continuation.
    memchr::memchr3_iter(0xc2, 0xe2, 0xef, bytes).all(|i| {
        let after = |k: usize| bytes.get(i + k).copied().unwrap_or(0);
        match bytes[i] {
            0xc2 => !(0x80..=0x9f).contains(&after(1)),
            0xe2 => !(after(1) == 0x80 && matches!(after(2), 0xa8 | 0xa9)),
            _ => !matches!(
                (after(1), after(2)),
                (0xbb, 0xbf) | (0xbf, 0xbe) | (0xbf, 0xbf)
            ),
        }
    })
}

enum Key<'t> {
    Plain(&'t str),
    Quoted,
    /// A plain key starting with `-`: left to the full reading.
    Dash,
}

/// The key of a `key: value` line and the text after its colon; `Some(None)` when the line
/// is not a mapping entry (but may be a scalar); `None` for what the check leaves alone.
#[allow(clippy::type_complexity)]
fn key(line: &str) -> Option<Option<(Key<'_>, &str)>> {
    let bytes = line.as_bytes();
    match bytes.first()? {
        b'"' | b'\'' => {
            let quote = bytes[0];
            let end = match scan_quoted(line, 1, quote) {
                Quoted::Closed(end) => end,
                // Keys are on one line: this is a quoted scalar going on.
                Quoted::Open => return Some(None),
                Quoted::Invalid => return None,
            };
            let after = &line[end..];
            Some(match after.strip_prefix(':') {
                Some(value) if value.is_empty() || value.starts_with(' ') => {
                    Some((Key::Quoted, value))
                }
                _ => None,
            })
        }
        b'-' if bytes.get(1).is_some_and(|b| *b != b' ') => {
            Some(plain_key_end(line).map(|i| (Key::Dash, &line[i + 1..])))
        }
        first if starts_indicator(*first) => None,
        _ => match plain_key_end(line) {
            None => Some(None),
            Some(i) => {
                let name = &line[..i];
                if name.ends_with(' ')
                    || name.len() > MAX_KEY_LEN
                    || name.bytes().any(|b| matches!(b, b'[' | b']' | b'{' | b'}'))
                    || !matches!(resolve_plain(name).scalar, Scalar::Str(_))
                {
                    return None;
                }
                Some(Some((Key::Plain(name), &line[i + 1..])))
            }
        },
    }
}

/// Where the colon of a plain key is: the first `:` followed by a space or the line's end,
/// unless a comment starts before it.
fn plain_key_end(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    memchr::memchr2_iter(b':', b'#', bytes)
        .find_map(|i| match bytes[i] {
            b':' if bytes.get(i + 1).is_none_or(|&next| next == b' ') => Some(Some(i)),
            b'#' if i > 0 && bytes[i - 1] == b' ' => Some(None),
            _ => None,
        })
        .flatten()
}

/// What follows `key:` in a mapping at column `indent`.
fn map_value(value: &str, indent: usize) -> Option<Expect> {
    let value = value.trim_start_matches(' ');
    if value.is_empty() || value.starts_with('#') {
        return Some(Expect::Node {
            indent,
            after_key: true,
        });
    }
    node(value, indent, indent + 1)
}

/// A node written on one line (after `key: ` or `- `) in the collection at column `parent`:
/// a single-line scalar, `[]`, `{}`, or a block scalar's header, whose content must then be
/// indented at least `min`.
fn node(text: &str, parent: usize, min: usize) -> Option<Expect> {
    let done = Expect::Nothing;
    let bytes = text.as_bytes();
    match bytes.first()? {
        b'|' | b'>' => {
            // The header: a chomping indicator and an indentation indicator, in either order.
            let mut rest = &text[1..];
            let (mut chomping, mut increment) = (false, None);
            for _ in 0..2 {
                if let Some(after) = rest.strip_prefix(['+', '-']).filter(|_| !chomping) {
                    chomping = true;
                    rest = after;
                } else if let Some(digit) = rest
                    .bytes()
                    .next()
                    .filter(|b| increment.is_none() && (b'1'..=b'9').contains(b))
                {
                    increment = Some(usize::from(digit - b'0'));
                    rest = &rest[1..];
                }
            }
            trailer(rest).then_some(Expect::Block {
                parent,
                min,
                // go-yaml counts an explicit indentation from the enclosing collection's column.
                content: increment.map(|n| parent + n),
                leading: 0,
            })
        }
        b'{' => trailer(text[1..].strip_prefix('}')?).then_some(done),
        b'[' => trailer(&text[flow_sequence_end(text)?..]).then_some(done),
        b'"' | b'\'' => match scan_quoted(text, 1, bytes[0]) {
            Quoted::Closed(end) => trailer(&text[end..]).then_some(done),
            Quoted::Open => Some(Expect::Quoted {
                quote: bytes[0],
                min,
            }),
            Quoted::Invalid => None,
        },
        b'-' if bytes.get(1).is_some_and(|b| *b != b' ') => plain(text, min),
        first if starts_indicator(*first) => None,
        _ => plain(text, min),
    }
}

/// Where a one-line flow sequence of scalars (`[a, "b", 'c']`, or `[]`) that starts `text`
/// ends; `None` for anything else, nested collections and trailing commas included.
fn flow_sequence_end(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let skip_spaces = |mut i: usize| {
        while bytes.get(i) == Some(&b' ') {
            i += 1;
        }
        i
    };
    let mut i = skip_spaces(1);
    if bytes.get(i) == Some(&b']') {
        return Some(i + 1);
    }
    loop {
        i = match *bytes.get(i)? {
            quote @ (b'"' | b'\'') => match scan_quoted(text, i + 1, quote) {
                Quoted::Closed(end) => end,
                Quoted::Open | Quoted::Invalid => return None,
            },
            first if starts_indicator(first) => return None,
            _ => {
                let len = bytes[i..].iter().position(|b| matches!(b, b',' | b']'))?;
                let item = text[i..i + len].trim_end_matches(' ');
                if item.contains([':', '#', '[', '{', '}', '"', '\''])
                    || matches!(resolve_plain(item).scalar, Scalar::Float(f) if !f.is_finite())
                {
                    return None;
                }
                i + len
            }
        };
        i = skip_spaces(i);
        match *bytes.get(i)? {
            b']' => return Some(i + 1),
            b',' => i = skip_spaces(i + 1),
            _ => return None,
        }
        if matches!(bytes.get(i), Some(b']' | b',')) {
            return None;
        }
    }
}

/// The first line of a plain scalar, whose further lines must be indented at least `min`.
fn plain(text: &str, min: usize) -> Option<Expect> {
    let (end, comment) = plain_extent(text)?;
    // A comment ends the scalar, and with it the node.
    let next = if comment {
        Expect::Nothing
    } else {
        Expect::Plain { min }
    };
    // JSON has no NaN or infinities: the full reading reports them.
    match resolve_plain(text[..end].trim_end_matches(' ')).scalar {
        Scalar::Float(f) if !f.is_finite() => None,
        _ => Some(next),
    }
}

/// A further line of a plain scalar: no `: ` or final `:` (which would make it a key) and no
/// comment.
fn plain_line(text: &str) -> bool {
    matches!(plain_extent(text), Some((_, false)))
}

/// Where a plain scalar's text on this line ends (before ` #` and a comment, which the flag
/// tells), or `None` when a `: ` or a final `:` would make the line a key. One pass over the
/// line's colons and hashes: most of a chart's output is such lines.
fn plain_extent(text: &str) -> Option<(usize, bool)> {
    let bytes = text.as_bytes();
    for i in memchr::memchr2_iter(b':', b'#', bytes) {
        if bytes[i] == b':' {
            if bytes.get(i + 1).is_none_or(|&next| next == b' ') {
                return None;
            }
        } else if i > 0 && bytes[i - 1] == b' ' {
            return Some((i - 1, true));
        }
    }
    Some((bytes.len(), false))
}

/// Nothing, or spaces and a comment, after a node.
fn trailer(rest: &str) -> bool {
    let trimmed = rest.trim_start_matches(' ');
    trimmed.is_empty() || (trimmed.len() < rest.len() && trimmed.starts_with('#'))
}

/// Characters a plain scalar may not start with here (YAML's indicators; `-`, `?` and `:`
/// may start one when a non-space follows, which is left to the full reading).
pub(super) fn starts_indicator(b: u8) -> bool {
    matches!(
        b,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    )
}

/// How a quoted scalar's line ends.
enum Quoted {
    /// Just before this index, with the closing quote.
    Closed(usize),
    /// Still open: the scalar goes on on the next line.
    Open,
    /// With an escape the check leaves to the full reading.
    Invalid,
}

/// Scans a quoted scalar's line from `from`; escapes (in double quotes) must be ones of a
/// single character, or the line break.
fn scan_quoted(text: &str, from: usize, quote: u8) -> Quoted {
    let bytes = text.as_bytes();
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => match bytes.get(i + 1) {
                None => return Quoted::Open,
                Some(escaped) if b"0abtnvfre \"/\\N_LP".contains(escaped) => i += 2,
                Some(_) => return Quoted::Invalid,
            },
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b if b == quote => return Quoted::Closed(i + 1),
            _ => i += 1,
        }
    }
    Quoted::Open
}

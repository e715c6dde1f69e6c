//! Telling, without parsing, that an edited template output still passes the manifest check
//! ([`super::parse_template`]) that its original passed. It lives with the check it stands in
//! for: besides YAML's structure it keeps the words that check reads, such as `kind`.
//!
//! Checking a large chart's rendered output with the full parser costs a quarter of an
//! admission verdict, and a values edit usually changes a few words of that output: a label,
//! an image tag, a count. When every changed word is a run of letters, digits, `.`, `_` or
//! `-` inside a token that stays an ordinary scalar (not a key, anchor, alias, tag, indicator
//! or escape sequence, and not a word YAML reads as null or as a number JSON cannot hold), the
//! edited text has the same structure as the original, so a text that passed still passes.
//! Anything else answers `false`, and the caller parses.

use crate::yaml::resolve::{Scalar, resolve_plain};

/// Whether `edited` parses wherever `original` does: same lines, and each changed line
/// changed only inside one scalar word as described in the module documentation. Equal runs
/// are skipped by comparing bytes, so the cost is a comparison plus a look at changed lines.
pub fn only_scalar_words_changed(original: &str, edited: &str) -> bool {
    let (old, new) = (original.as_bytes(), edited.as_bytes());
    let (mut at_old, mut at_new) = (0, 0);
    loop {
        let same = common_prefix(&old[at_old..], &new[at_new..]);
        let (diff_old, diff_new) = (at_old + same, at_new + same);
        if diff_old == old.len() && diff_new == new.len() {
            return true;
        }
        // The equal run ended inside one line of each text, starting at the same offset.
        let line_start =
            memchr::memrchr(b'\n', &old[at_old..diff_old]).map_or(at_old, |i| at_old + i + 1);
        let new_line_start = line_start - at_old + at_new;
        let line_end = |text: &[u8], from: usize| {
            memchr::memchr(b'\n', &text[from..]).map_or(text.len(), |i| from + i)
        };
        let (end_old, end_new) = (line_end(old, diff_old), line_end(new, diff_new));
        let (Some(old_line), Some(new_line)) = (
            original.get(line_start..end_old),
            edited.get(new_line_start..end_new),
        ) else {
            return false;
        };
        let next_start = (end_new + 1).min(new.len());
        let next_line = edited
            .get(next_start..line_end(new, next_start))
            .unwrap_or("");
        if !word_edit_is_plain(old_line, new_line)
            || next_line.trim_start().starts_with(':')
            || ends_with_tag(last_content_line(
                edited.get(..new_line_start).unwrap_or(""),
            ))
        {
            return false;
        }
        // Both texts continue from their next line, or must both have ended.
        if (end_old == old.len()) != (end_new == new.len()) {
            return false;
        }
        if end_old == old.len() {
            return true;
        }
        (at_old, at_new) = (end_old + 1, end_new + 1);
    }
}

/// How many leading bytes two texts share.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    const CHUNK: usize = 64;
    let mut same = 0;
    while same + CHUNK <= a.len().min(b.len()) && a[same..same + CHUNK] == b[same..same + CHUNK] {
        same += CHUNK;
    }
    same + a[same..]
        .iter()
        .zip(&b[same..])
        .take_while(|(x, y)| x == y)
        .count()
}

/// The last line of `before` with more than blanks and a comment: a tag at its end applies
/// to the node on the next line.
fn last_content_line(before: &str) -> &str {
    before
        .rsplit('\n')
        .find(|line| {
            let content = line.trim_start();
            !content.is_empty() && !content.starts_with('#')
        })
        .unwrap_or("")
}

/// Characters an edit may remove or insert.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r')
}

/// Whether one line's edit stays inside one ordinary scalar word.
fn word_edit_is_plain(old: &str, new: &str) -> bool {
    let (o, n) = (old.as_bytes(), new.as_bytes());
    let prefix = common_prefix(o, n);
    let room = o.len().min(n.len()) - prefix;
    let suffix = o
        .iter()
        .rev()
        .zip(n.iter().rev())
        .take(room)
        .take_while(|(a, b)| a == b)
        .count();
    let changed_old = &o[prefix..o.len() - suffix];
    let changed_new = &n[prefix..n.len() - suffix];
    if !changed_old
        .iter()
        .chain(changed_new)
        .all(|&b| is_word_byte(b))
    {
        return false;
    }
    ordinary_word(new, prefix, n.len() - suffix) && ordinary_word(old, prefix, o.len() - suffix)
}

/// Whether the whitespace-delimited word of `line` around `start..end` is an ordinary
/// scalar word: not the line's key or its `kind`, not an indicator, anchor, alias, tag,
/// escape or comment, and not a value that fails to become JSON.
fn ordinary_word(line: &str, start: usize, end: usize) -> bool {
    let bytes = line.as_bytes();
    let word_start = bytes[..start]
        .iter()
        .rposition(|&b| is_blank(b))
        .map_or(0, |i| i + 1);
    let word_end = bytes[end..]
        .iter()
        .position(|&b| is_blank(b))
        .map_or(bytes.len(), |i| end + i);
    let Some(word) = line.get(word_start..word_end) else {
        return false;
    };
    let Some(&first) = word.as_bytes().first() else {
        return false;
    };
    if !(first.is_ascii_alphanumeric() || first == b'"' || first == b'\'') {
        return false;
    }
    if word.ends_with(':')
        || word.contains("\":")
        || word.contains("':")
        || word.bytes().any(|b| {
            matches!(
                b,
                b'\\' | b'#' | b',' | b'[' | b']' | b'{' | b'}' | b'&' | b'*' | b'!'
            )
        })
    {
        return false;
    }
    // A quote may open the word; one before the edit anywhere else may have closed a quoted
    // scalar, and text after that is an error.
    let quote = |b: &u8| matches!(b, b'"' | b'\'');
    if bytes[word_start + 1..start.max(word_start + 1)]
        .iter()
        .any(quote)
    {
        return false;
    }
    let before = &line[..word_start];
    let after = &line[word_end..];
    if after.contains(':')
        || before.contains("kind")
        || before.trim_start().starts_with('?')
        || before
            .split([' ', '\t'])
            .any(|token| token.starts_with('!'))
    {
        return false;
    }
    // Only a plain word is resolved, but resolving a quoted one too merely refuses more.
    match resolve_plain(word).scalar {
        Scalar::Null | Scalar::Uint(_) => false,
        Scalar::Float(f) => f.is_finite(),
        _ => true,
    }
}

/// Whether a line's last token (before any comment) is a tag.
fn ends_with_tag(line: &str) -> bool {
    let code = line.find(" #").map_or(line, |comment| &line[..comment]);
    code.split([' ', '\t'])
        .rfind(|token| !token.is_empty())
        .is_some_and(|token| token.starts_with('!'))
}

#[cfg(test)]
#[path = "edit_tests.rs"]
mod tests;

//! Go's `strconv` quoting: `Quote`, `QuoteToASCII`, `QuoteRune` and `unicode.IsPrint`, as
//! Sprig's `quote`, `printf "%q"` and the template parser's messages use them.

/// Go's `strconv.Quote`: a double-quoted literal with Go escapes, keeping printable Unicode.
/// Sprig's `quote` and `printf "%q"` both produce it.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0B}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
/// Rust has no general-category table, so the non-printable classes are listed: controls,
/// format characters, separators other than U+0020, surrogates, private use and noncharacters.
pub fn is_go_printable(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        return (0x20..0x7f).contains(&u);
    }
    let format = matches!(
        u,
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    );
    let private_or_nonchar = (0xE000..=0xF8FF).contains(&u)
        || (0xF0000..=0x10FFFF).contains(&u)
        || (0xFDD0..=0xFDEF).contains(&u)
        || (u & 0xFFFE) == 0xFFFE;
    !(c.is_control() || c.is_whitespace() || format || private_or_nonchar)
}

/// Whether `%#q` may print `s` as a raw (backquoted) string.
pub(super) fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !c.is_control()))
}

/// `strconv.QuoteToASCII`.
pub(super) fn quote_ascii(s: &str) -> String {
    let q = go_quote(s);
    let mut out = String::with_capacity(q.len());
    for c in q.chars() {
        if c.is_ascii() {
            out.push(c);
        } else if (c as u32) < 0x10000 {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push_str(&format!("\\U{:08x}", c as u32));
        }
    }
    out
}

/// `strconv.QuoteRune`.
pub(super) fn quote_rune(c: char) -> String {
    match c {
        '\'' => "'\\''".into(),
        '"' => "'\"'".into(),
        c => {
            let q = go_quote(&c.to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_strconv_quote() {
        assert_eq!(go_quote("a\"b\\c\n\t"), r#""a\"b\\c\n\t""#);
        assert_eq!(go_quote("é\u{1}"), r#""é\x01""#);
    }

    #[test]
    fn ascii_and_rune_quoting_escape_what_go_escapes() {
        assert_eq!(quote_ascii("é"), r#""\u00e9""#);
        assert_eq!(quote_rune('\''), "'\\''");
        assert!(!can_backquote("a`b"));
    }
}

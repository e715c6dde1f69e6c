//! `json.Unmarshal` into `interface{}`: every number a float64, the last duplicate key wins,
//! and syntax errors worded as encoding/json's scanner words them, since `fromJson` puts the
//! message into its result where templates can print it.

use crate::gofmt::go_quote;
use crate::value::{Map, Value};

/// The decoded value and, separately, the first number too large for a float64: Go reports
/// a top-level type mismatch before that one.
pub(crate) fn decode(text: &str) -> Result<(Value, Option<String>), String> {
    let mut p = Decoder {
        s: text.as_bytes(),
        text,
        i: 0,
        range_error: None,
    };
    p.skip_ws();
    let v = p.value(0)?;
    p.skip_ws();
    if let Some(c) = p.peek_char() {
        return Err(p.unexpected(c, "after top-level value"));
    }
    let range_error = p.range_error.map(|number| {
        format!("json: cannot unmarshal number {number} into Go value of type float64")
    });
    Ok((v, range_error))
}

/// One JSON document at the start of `text`, as Go's `json.Decoder.Decode` reads it from a
/// stream (`--set-json key=value`): leading spaces skipped, the value decoded, and the bytes
/// consumed returned so that the caller goes on after it. A number too large for a float64
/// is an error here, as `Decode` reports it.
pub(crate) fn decode_prefix(text: &str) -> Result<(Value, usize), String> {
    let mut p = Decoder {
        s: text.as_bytes(),
        text,
        i: 0,
        range_error: None,
    };
    p.skip_ws();
    let v = p.value(0)?;
    match p.range_error {
        Some(number) => Err(format!(
            "json: cannot unmarshal number {number} into Go value of type float64"
        )),
        None => Ok((v, p.i)),
    }
}

struct Decoder<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    /// encoding/json reports a number too large for float64 only after the whole input
    /// was read (it keeps decoding), so the first one is remembered.
    range_error: Option<String>,
}

const END: &str = "unexpected end of JSON input";

/// encoding/json's `quoteChar`.
fn quote_char(c: char) -> String {
    match c {
        '\'' => "'\\''".to_string(),
        '"' => "'\"'".to_string(),
        c => {
            let q = go_quote(&c.to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

impl Decoder<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn peek_char(&self) -> Option<char> {
        self.text.get(self.i..).and_then(|rest| rest.chars().next())
    }

    fn unexpected(&self, c: char, context: &str) -> String {
        format!("invalid character {} {context}", quote_char(c))
    }

    /// Go's scanner reads bytes, so a non-ASCII byte shows as the Latin-1 character; at the
    /// end it feeds a space, which is an error only inside literals, numbers and escapes.
    fn fail(&self, context: &str) -> String {
        match self.peek() {
            Some(b) => self.unexpected(char::from(b), context),
            None if context.starts_with("in literal")
                || context.contains("numeric literal")
                || context.contains("escape") =>
            {
                self.unexpected(' ', context)
            }
            None => END.to_string(),
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > super::MAX_DEPTH {
            return Err("exceeded max depth".to_string());
        }
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(Value::from(self.string()?)),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Nil),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.fail("looking for beginning of value")),
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, String> {
        for (n, expected) in word.bytes().enumerate() {
            match self.peek() {
                Some(b) if b == expected => self.i += 1,
                _ if n == 0 => return Err(self.fail("looking for beginning of value")),
                _ => {
                    return Err(self.fail(&format!(
                        "in literal {word} (expecting {})",
                        quote_char(expected as char)
                    )));
                }
            }
        }
        Ok(v)
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.fail("in numeric literal")),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.fail("after decimal point in numeric literal"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.fail("in exponent of numeric literal"));
            }
        }
        let literal = &self.text[start..self.i];
        let f: f64 = literal.parse().unwrap_or(f64::INFINITY);
        if f.is_infinite() {
            self.range_error.get_or_insert_with(|| literal.to_string());
            return Ok(Value::Float(0.0));
        }
        Ok(Value::Float(f))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let mut v = 0;
        for _ in 0..4 {
            let Some(d) = self.peek_char().and_then(|c| c.to_digit(16)) else {
                return Err(self.fail("in \\u hexadecimal character escape"));
            };
            v = v * 16 + d;
            self.i += 1;
        }
        Ok(v)
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let start = self.i;
            while self
                .peek()
                .is_some_and(|b| b != b'"' && b != b'\\' && b >= 0x20)
            {
                self.i += 1;
            }
            out.push_str(&self.text[start..self.i]);
            match self.peek() {
                None => return Err(END.to_string()),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let escaped = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.i += 1;
                            let unit = self.hex4()?;
                            out.push(self.surrogate(unit)?);
                            continue;
                        }
                        _ => return Err(self.fail("in string escape code")),
                    };
                    self.i += 1;
                    out.push(escaped);
                }
                Some(_) => return Err(self.fail("in string literal")),
            }
        }
    }

    /// A `\u` escape, joining UTF-16 surrogate pairs; a lone surrogate becomes U+FFFD.
    fn surrogate(&mut self, unit: u32) -> Result<char, String> {
        if (0xD800..0xDC00).contains(&unit) && self.s.get(self.i..self.i + 2) == Some(b"\\u") {
            let save = self.i;
            self.i += 2;
            let low = self.hex4()?;
            if (0xDC00..0xE000).contains(&low) {
                let c = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                return Ok(char::from_u32(c).unwrap_or('\u{FFFD}'));
            }
            self.i = save;
        }
        Ok(char::from_u32(unit).unwrap_or('\u{FFFD}'))
    }

    fn array(&mut self, depth: usize) -> Result<Value, String> {
        self.i += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Value::list(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::list(items));
                }
                _ => return Err(self.fail("after array element")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, String> {
        self.i += 1;
        let mut map = Map::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Value::map(map));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.fail("looking for beginning of object key string"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.fail("after object key"));
            }
            self.i += 1;
            self.skip_ws();
            let v = self.value(depth + 1)?;
            map.insert(key, v);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::map(map));
                }
                _ => return Err(self.fail("after object key:value pair")),
            }
        }
    }
}

//! Go's `fmt` formatting of values, which decides how every value reaches a rendered manifest
//! (`{{ .Values.x }}`, `print`, `toString`, `quote`, `cat`, `printf`). Byte-identical output
//! with Helm depends on these rules, above all on `%v` of a float64: shortest digits, with
//! an exponent once it reaches 21 digits or 6 significant places (`1e+06`).

use crate::value::Value;

/// `fmt.Sprint(v)` / `%v`.
pub fn format_value(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v);
    out
}

fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&format_float_g(*f)),
        Value::String(s) => out.push_str(s),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Map(map) => {
            out.push_str("map[");
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(o) => out.push_str(&o.display()),
    }
}

/// `strconv.FormatFloat(f, 'g', -1, 64)`, which `%v` uses: the shortest decimal that
/// round-trips, in exponent form when the decimal exponent is < -4 or >= 6 (strconv fixes the
/// threshold at 6 in shortest mode, so `%v` of 1234567.0 is `1.234567e+06`).
pub fn format_float_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Rust's `{:e}` gives the shortest round-tripping digits, like strconv's shortest mode.
    let sci = format!("{:e}", f);
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let nd = digits.len() as i32;
    let dp = exp + 1;
    const SHORTEST_EXPONENT_THRESHOLD: i32 = 6;
    let eprec = SHORTEST_EXPONENT_THRESHOLD;
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if exp < -4 || exp >= eprec {
        out.push_str(&digits[..1]);
        if nd > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&e.to_string());
    } else if dp <= 0 {
        out.push_str("0.");
        for _ in 0..(-dp) {
            out.push('0');
        }
        out.push_str(&digits);
    } else if dp >= nd {
        out.push_str(&digits);
        for _ in 0..(dp - nd) {
            out.push('0');
        }
    } else {
        out.push_str(&digits[..dp as usize]);
        out.push('.');
        out.push_str(&digits[dp as usize..]);
    }
    out
}

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

/// An approximation of Go's `unicode.IsPrint` for non-ASCII: controls, surrogates, private
/// use, unassigned specials and the Unicode line/paragraph separators are escaped.
fn is_go_printable(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        return (0x20..0x7f).contains(&u);
    }
    !(c.is_control()
        || (0xE000..=0xF8FF).contains(&u)
        || u == 0x2028
        || u == 0x2029
        || u == 0xFEFF
        || (0xFFF0..=0xFFFF).contains(&u) && u != 0xFFFD
        || u == 0x00AD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Map;

    #[test]
    fn floats_print_like_go_percent_v() {
        for (f, want) in [
            (1000000.0, "1e+06"),
            (100000.0, "100000"),
            (1234567.0, "1.234567e+06"),
            (1.5, "1.5"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (3.0, "3"),
            (-2.25, "-2.25"),
            (123456.0, "123456"),
        ] {
            assert_eq!(format_float_g(f), want, "for {f}");
        }
    }

    #[test]
    fn quotes_like_strconv_quote() {
        assert_eq!(go_quote("a\"b\\c\n\t"), r#""a\"b\\c\n\t""#);
        assert_eq!(go_quote("é\u{1}"), r#""é\x01""#);
    }

    #[test]
    fn containers_print_like_go() {
        let mut m = Map::new();
        m.insert("b".into(), Value::Int(2));
        m.insert("a".into(), Value::list(vec![Value::str("x"), Value::Nil]));
        assert_eq!(format_value(&Value::map(m)), "map[a:[x <nil>] b:2]");
    }
}

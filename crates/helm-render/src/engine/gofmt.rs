//! Go's `fmt` formatting of values, which decides how every value reaches a rendered manifest
//! (`{{ .Values.x }}`, `print`, `toString`, `quote`, `cat`, `printf`). Byte-identical output
//! with Helm depends on these rules, above all on `%v` of a float64: shortest digits, with
//! an exponent once it reaches 21 digits or 6 significant places (`1e+06`).

use crate::value::Value;

/// `fmt.Sprint(v)` / `%v`.
pub fn format_value(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v, 0);
    out
}

/// How deep printing goes before it writes `...` instead. Go's `fmt` has no such bound: a
/// map a template made hold itself (`set $m "self" $m`) exhausts Go's stack and kills Helm;
/// here it prints this far (on a growing stack) and stops.
pub const MAX_PRINT_DEPTH: usize = 10_000;

fn write_value(out: &mut String, v: &Value, depth: usize) {
    if depth > MAX_PRINT_DEPTH {
        out.push_str("...");
        return;
    }
    let nested = |out: &mut String, v: &Value| {
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || write_value(out, v, depth + 1))
    };
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
                nested(out, item);
            }
            out.push(']');
        }
        Value::Map(map) => {
            out.push_str("map[");
            for (i, (k, item)) in map.read().iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                nested(out, item);
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
    // Whole numbers below the exponent threshold print as integers; most values are these.
    if f.fract() == 0.0 && f.abs() < 1e6 {
        return (f as i64).to_string();
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

/// The Go type of a value as `%T` and fmt's error annotations print it.
pub fn go_type(v: &Value) -> String {
    match v {
        Value::Nil => "<nil>".into(),
        Value::Bool(_) => "bool".into(),
        Value::Int(_) => "int".into(),
        Value::Float(_) => "float64".into(),
        Value::String(_) => "string".into(),
        Value::List(_) => "[]interface {}".into(),
        Value::Map(_) => "map[string]interface {}".into(),
        Value::Object(o) => o.type_name().to_string(),
    }
}

/// `fmt.Sprint`: operands are separated by a space when neither side is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut p = Printer::default();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            p.out.push(' ');
        }
        p.print_arg(a, 'v');
        prev_string = is_string;
    }
    p.out
}

/// `fmt.Sprintln`: operands always separated by spaces, and a final newline.
pub fn sprintln(args: &[Value]) -> String {
    let mut p = Printer::default();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            p.out.push(' ');
        }
        p.print_arg(a, 'v');
    }
    p.out.push('\n');
    p.out
}

/// `fmt.Sprintf` over template values, with Go's verbs, flags, widths, precisions, argument
/// indexes and its in-band error notes (`%!d(string=x)`, `%!s(MISSING)`, `%!(EXTRA ...)`).
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut p = Printer::default();
    let b = format.as_bytes();
    let end = b.len();
    let mut arg_num = 0usize;
    let mut reordered = false;
    let mut i = 0usize;
    while i < end {
        let lasti = i;
        while i < end && b[i] != b'%' {
            i += 1;
        }
        if i > lasti {
            p.out.push_str(&format[lasti..i]);
        }
        if i >= end {
            break;
        }
        i += 1;
        p.f = Flags::default();
        while i < end {
            match b[i] {
                b'#' => p.f.sharp = true,
                b'0' => p.f.zero = !p.f.minus,
                b'+' => p.f.plus = true,
                b'-' => {
                    p.f.minus = true;
                    p.f.zero = false;
                }
                b' ' => p.f.space = true,
                _ => break,
            }
            i += 1;
        }
        let mut good_arg_num = true;
        let mut after_index;
        (arg_num, i, after_index) = arg_number(
            arg_num,
            format,
            i,
            args.len(),
            &mut reordered,
            &mut good_arg_num,
        );
        if i < end && b[i] == b'*' {
            i += 1;
            let (n, ok, na) = int_from_arg(args, arg_num);
            arg_num = na;
            p.f.wid = n;
            p.f.wid_present = ok;
            if !ok {
                p.out.push_str("%!(BADWIDTH)");
            }
            if p.f.wid < 0 {
                p.f.wid = -p.f.wid;
                p.f.minus = true;
                p.f.zero = false;
            }
            after_index = false;
        } else {
            let (n, ok, ni) = parse_num(b, i, end);
            p.f.wid = n;
            p.f.wid_present = ok;
            i = ni;
            if after_index && ok {
                good_arg_num = false;
            }
        }
        if i + 1 < end && b[i] == b'.' {
            i += 1;
            if after_index {
                good_arg_num = false;
            }
            (arg_num, i, after_index) = arg_number(
                arg_num,
                format,
                i,
                args.len(),
                &mut reordered,
                &mut good_arg_num,
            );
            if i < end && b[i] == b'*' {
                i += 1;
                let (n, ok, na) = int_from_arg(args, arg_num);
                arg_num = na;
                p.f.prec = n;
                p.f.prec_present = ok;
                if p.f.prec < 0 {
                    p.f.prec = 0;
                    p.f.prec_present = false;
                }
                if !ok {
                    p.out.push_str("%!(BADPREC)");
                }
                after_index = false;
            } else {
                let (n, ok, ni) = parse_num(b, i, end);
                i = ni;
                p.f.prec = if ok { n } else { 0 };
                p.f.prec_present = true;
            }
        }
        if !after_index {
            (arg_num, i, after_index) = arg_number(
                arg_num,
                format,
                i,
                args.len(),
                &mut reordered,
                &mut good_arg_num,
            );
        }
        let _ = after_index;
        if i >= end {
            p.out.push_str("%!(NOVERB)");
            break;
        }
        let Some(verb) = format[i..].chars().next() else {
            break;
        };
        i += verb.len_utf8();
        if verb == '%' {
            p.out.push('%');
        } else if !good_arg_num {
            p.out.push_str(&format!("%!{verb}(BADINDEX)"));
        } else if arg_num >= args.len() {
            p.out.push_str(&format!("%!{verb}(MISSING)"));
        } else {
            if verb == 'v' {
                p.f.sharp_v = p.f.sharp;
                p.f.sharp = false;
                p.f.plus_v = p.f.plus;
                p.f.plus = false;
            }
            p.print_arg(&args[arg_num], verb);
            arg_num += 1;
        }
    }
    if !reordered && arg_num < args.len() {
        p.f = Flags::default();
        p.out.push_str("%!(EXTRA ");
        for (k, a) in args[arg_num..].iter().enumerate() {
            if k > 0 {
                p.out.push_str(", ");
            }
            if a.is_nil() {
                p.out.push_str("<nil>");
            } else {
                p.out.push_str(&go_type(a));
                p.out.push('=');
                p.print_arg(a, 'v');
            }
        }
        p.out.push(')');
    }
    p.out
}

const TOO_LARGE: i64 = 1_000_000;

fn parse_num(b: &[u8], start: usize, end: usize) -> (i64, bool, usize) {
    let mut i = start;
    let mut num: i64 = 0;
    let mut ok = false;
    while i < end && b[i].is_ascii_digit() {
        if !(-TOO_LARGE..=TOO_LARGE).contains(&num) {
            return (0, false, end);
        }
        num = num * 10 + (b[i] - b'0') as i64;
        ok = true;
        i += 1;
    }
    (num, ok, i)
}

fn arg_number(
    arg_num: usize,
    format: &str,
    i: usize,
    num_args: usize,
    reordered: &mut bool,
    good: &mut bool,
) -> (usize, usize, bool) {
    let b = format.as_bytes();
    if b.len() <= i || b[i] != b'[' {
        return (arg_num, i, false);
    }
    *reordered = true;
    let sub = &b[i..];
    let (index, wid, ok) = parse_arg_number(sub);
    if ok && index >= 0 && (index as usize) < num_args {
        return (index as usize, i + wid, true);
    }
    *good = false;
    (arg_num, i + wid, ok)
}

fn parse_arg_number(b: &[u8]) -> (i64, usize, bool) {
    if b.len() < 3 {
        return (0, 1, false);
    }
    for i in 1..b.len() {
        if b[i] == b']' {
            let (w, ok, newi) = parse_num(b, 1, i);
            if !ok || newi != i {
                return (0, i + 1, false);
            }
            return (w - 1, i + 1, true);
        }
    }
    (0, 1, false)
}

fn int_from_arg(args: &[Value], arg_num: usize) -> (i64, bool, usize) {
    match args.get(arg_num) {
        Some(Value::Int(n)) if (-TOO_LARGE..=TOO_LARGE).contains(n) => (*n, true, arg_num + 1),
        Some(_) => (0, false, arg_num + 1),
        None => (0, false, arg_num),
    }
}

#[derive(Default, Clone, Copy)]
struct Flags {
    sharp: bool,
    zero: bool,
    plus: bool,
    minus: bool,
    space: bool,
    sharp_v: bool,
    plus_v: bool,
    wid: i64,
    wid_present: bool,
    prec: i64,
    prec_present: bool,
}

#[derive(Default)]
struct Printer {
    out: String,
    f: Flags,
    /// How deep inside lists and maps the value being printed is.
    depth: usize,
}

impl Printer {
    fn print_nested(&mut self, v: &Value, verb: char) {
        if self.depth >= MAX_PRINT_DEPTH {
            self.out.push_str("...");
            return;
        }
        self.depth += 1;
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.print_value(v, verb));
        self.depth -= 1;
    }

    fn write_padding(&mut self, n: i64) {
        if n <= 0 {
            return;
        }
        let c = if self.f.zero && !self.f.minus {
            '0'
        } else {
            ' '
        };
        for _ in 0..n {
            self.out.push(c);
        }
    }

    fn pad(&mut self, s: &str) {
        if !self.f.wid_present || self.f.wid == 0 {
            self.out.push_str(s);
            return;
        }
        let width = self.f.wid - s.chars().count() as i64;
        if !self.f.minus {
            self.write_padding(width);
            self.out.push_str(s);
        } else {
            self.out.push_str(s);
            self.write_padding(width);
        }
    }

    fn print_arg(&mut self, v: &Value, verb: char) {
        if v.is_nil() {
            match verb {
                'T' | 'v' => self.pad("<nil>"),
                _ => self.bad_verb(verb, v),
            }
            return;
        }
        if verb == 'T' {
            let t = go_type(v);
            self.fmt_s(&t);
            return;
        }
        self.print_value(v, verb);
    }

    fn bad_verb(&mut self, verb: char, v: &Value) {
        self.out.push_str("%!");
        self.out.push(verb);
        self.out.push('(');
        if v.is_nil() {
            self.out.push_str("<nil>");
        } else {
            self.out.push_str(&go_type(v));
            self.out.push('=');
            self.print_value(v, 'v');
        }
        self.out.push(')');
    }

    fn print_value(&mut self, v: &Value, verb: char) {
        match v {
            Value::Nil => {
                if self.f.sharp_v {
                    self.out.push_str("interface {}(nil)");
                } else {
                    self.out.push_str("<nil>");
                }
            }
            Value::Bool(b) => match verb {
                't' | 'v' => self.pad(if *b { "true" } else { "false" }),
                _ => self.bad_verb(verb, v),
            },
            Value::Int(i) => self.fmt_int(*i, verb, v),
            Value::Float(x) => self.fmt_float_verb(*x, verb, v),
            Value::String(s) => self.fmt_string(s, verb, v),
            Value::List(items) => {
                if self.f.sharp_v {
                    self.out.push_str("[]interface {}{");
                    for (i, it) in items.iter().enumerate() {
                        if i > 0 {
                            self.out.push_str(", ");
                        }
                        self.print_nested(it, verb);
                    }
                    self.out.push('}');
                } else {
                    self.out.push('[');
                    for (i, it) in items.iter().enumerate() {
                        if i > 0 {
                            self.out.push(' ');
                        }
                        self.print_nested(it, verb);
                    }
                    self.out.push(']');
                }
            }
            Value::Map(m) => {
                if self.f.sharp_v {
                    self.out.push_str("map[string]interface {}{");
                } else {
                    self.out.push_str("map[");
                }
                for (i, (k, it)) in m.read().iter().enumerate() {
                    if i > 0 {
                        if self.f.sharp_v {
                            self.out.push_str(", ");
                        } else {
                            self.out.push(' ');
                        }
                    }
                    let key = Value::str(k);
                    self.print_value(&key, verb);
                    self.out.push(':');
                    self.print_nested(it, verb);
                }
                self.out.push(if self.f.sharp_v { '}' } else { ']' });
            }
            Value::Object(o) => match (o.bytes(), verb) {
                (Some(bytes), 's' | 'q') => {
                    let text = String::from_utf8_lossy(bytes);
                    if verb == 'q' {
                        self.fmt_q(&text)
                    } else {
                        self.fmt_s(&text)
                    }
                }
                (Some(bytes), 'x' | 'X') => {
                    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                    let hex = if verb == 'X' { hex.to_uppercase() } else { hex };
                    self.pad(&hex)
                }
                (_, 'q') => self.fmt_q(&o.display()),
                _ => self.fmt_s(&o.display()),
            },
        }
    }

    fn fmt_s(&mut self, s: &str) {
        let s = self.truncate(s);
        self.pad(&s);
    }

    fn truncate(&self, s: &str) -> String {
        if self.f.prec_present {
            s.chars().take(self.f.prec.max(0) as usize).collect()
        } else {
            s.to_string()
        }
    }

    fn fmt_string(&mut self, s: &str, verb: char, v: &Value) {
        match verb {
            'v' => {
                if self.f.sharp_v {
                    self.fmt_q(s)
                } else {
                    self.fmt_s(s)
                }
            }
            's' => self.fmt_s(s),
            'x' => self.fmt_sx(s.as_bytes(), false),
            'X' => self.fmt_sx(s.as_bytes(), true),
            'q' => self.fmt_q(s),
            _ => self.bad_verb(verb, v),
        }
    }

    fn fmt_q(&mut self, s: &str) {
        let s = self.truncate(s);
        if self.f.sharp && can_backquote(&s) {
            self.pad(&format!("`{s}`"));
        } else if self.f.plus {
            self.pad(&quote_ascii(&s));
        } else {
            self.pad(&go_quote(&s));
        }
    }

    fn fmt_sx(&mut self, b: &[u8], upper: bool) {
        let digits: &[u8; 16] = if upper {
            b"0123456789ABCDEF"
        } else {
            b"0123456789abcdef"
        };
        let mut length = b.len() as i64;
        if self.f.prec_present && self.f.prec < length {
            length = self.f.prec;
        }
        let mut width = 2 * length;
        if width > 0 {
            if self.f.space {
                if self.f.sharp {
                    width *= 2;
                }
                width += length - 1;
            } else if self.f.sharp {
                width += 2;
            }
        } else {
            if self.f.wid_present {
                self.write_padding(self.f.wid);
            }
            return;
        }
        if self.f.wid_present && self.f.wid > width && !self.f.minus {
            self.write_padding(self.f.wid - width);
        }
        let x = if upper { "0X" } else { "0x" };
        if self.f.sharp && !self.f.space {
            self.out.push_str(x);
        }
        for (i, c) in b.iter().take(length as usize).enumerate() {
            if self.f.space && i > 0 {
                self.out.push(' ');
            }
            if self.f.space && self.f.sharp {
                self.out.push_str(x);
            }
            self.out.push(digits[(c >> 4) as usize] as char);
            self.out.push(digits[(c & 0xf) as usize] as char);
        }
        if self.f.wid_present && self.f.wid > width && self.f.minus {
            self.write_padding(self.f.wid - width);
        }
    }

    fn fmt_int(&mut self, i: i64, verb: char, v: &Value) {
        match verb {
            'v' | 'd' => self.fmt_integer(i, 10, verb, false),
            'b' => self.fmt_integer(i, 2, verb, false),
            'o' | 'O' => self.fmt_integer(i, 8, verb, false),
            'x' => self.fmt_integer(i, 16, verb, false),
            'X' => self.fmt_integer(i, 16, verb, true),
            'c' => {
                let c = u32::try_from(i)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{FFFD}');
                self.pad(&c.to_string());
            }
            'q' => {
                let c = u32::try_from(i)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{FFFD}');
                self.pad(&quote_rune(c));
            }
            'U' => {
                let mut s = format!("U+{:04X}", i as u64);
                if self.f.sharp
                    && let Some(c) = u32::try_from(i).ok().and_then(char::from_u32)
                    && !c.is_control()
                {
                    s.push_str(&format!(" '{c}'"));
                }
                self.pad(&s);
            }
            _ => self.bad_verb(verb, v),
        }
    }

    fn fmt_integer(&mut self, i: i64, base: u32, verb: char, upper: bool) {
        let negative = i < 0;
        let u = i.unsigned_abs();
        let mut prec: i64 = 0;
        if self.f.prec_present {
            prec = self.f.prec;
            if prec == 0 && u == 0 {
                let old = self.f.zero;
                self.f.zero = false;
                self.write_padding(self.f.wid);
                self.f.zero = old;
                return;
            }
        } else if self.f.zero && !self.f.minus && self.f.wid_present {
            prec = self.f.wid;
            if negative || self.f.plus || self.f.space {
                prec -= 1;
            }
        }
        let mut digits = match base {
            2 => format!("{u:b}"),
            8 => format!("{u:o}"),
            16 if upper => format!("{u:X}"),
            16 => format!("{u:x}"),
            _ => u.to_string(),
        };
        while (digits.len() as i64) < prec {
            digits.insert(0, '0');
        }
        let mut prefix = String::new();
        if self.f.sharp {
            match base {
                2 => prefix.push_str("0b"),
                8 if !digits.starts_with('0') => prefix.push('0'),
                16 => prefix.push_str(if upper { "0X" } else { "0x" }),
                _ => {}
            }
        }
        if verb == 'O' {
            prefix = "0o".into();
        }
        let sign = if negative {
            "-"
        } else if self.f.plus {
            "+"
        } else if self.f.space {
            " "
        } else {
            ""
        };
        let s = format!("{sign}{prefix}{digits}");
        let old = self.f.zero;
        self.f.zero = false;
        self.pad(&s);
        self.f.zero = old;
    }

    fn fmt_float_verb(&mut self, x: f64, verb: char, v: &Value) {
        match verb {
            'v' => self.fmt_float(x, 'g', -1),
            'g' | 'G' | 'b' | 'x' | 'X' => self.fmt_float(x, verb, -1),
            'f' | 'F' | 'e' | 'E' => self.fmt_float(x, verb, 6),
            _ => self.bad_verb(verb, v),
        }
    }

    fn fmt_float(&mut self, x: f64, verb: char, prec: i64) {
        let prec = if self.f.prec_present {
            self.f.prec
        } else {
            prec
        };
        let body = format_float(x, verb, prec);
        let mut num = if body.starts_with('-') || body.starts_with('+') {
            body
        } else {
            format!("+{body}")
        };
        if self.f.space && num.starts_with('+') && !self.f.plus {
            num.replace_range(0..1, " ");
        }
        if num[1..].starts_with('I') || num[1..].starts_with('N') {
            let old = self.f.zero;
            self.f.zero = false;
            if num[1..].starts_with('N') && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            self.pad(&num);
            self.f.zero = old;
            return;
        }
        if self.f.plus || !num.starts_with('+') {
            let len = num.chars().count() as i64;
            if self.f.zero && !self.f.minus && self.f.wid_present && self.f.wid > len {
                self.out.push_str(&num[..1]);
                self.write_padding(self.f.wid - len);
                self.out.push_str(&num[1..]);
                return;
            }
            self.pad(&num);
            return;
        }
        self.pad(&num[1..]);
    }
}

/// `strconv.FormatFloat(x, verb, prec, 64)` for the verbs templates use.
fn format_float(x: f64, verb: char, prec: i64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    match verb {
        'f' | 'F' => format!("{:.*}", prec.max(0) as usize, x),
        'e' | 'E' => {
            let s = format!("{:.*e}", prec.max(0) as usize, x);
            go_exponent(&s, verb == 'E')
        }
        'G' => format_g(x, prec).to_uppercase(),
        'x' | 'X' => format_hex_float(x, verb == 'X', prec),
        'b' => {
            let bits = x.to_bits();
            let exp = ((bits >> 52) & 0x7ff) as i64;
            let mut mant = bits & ((1u64 << 52) - 1);
            let e = if exp == 0 {
                1
            } else {
                mant |= 1 << 52;
                exp
            } - 1023
                - 52;
            let sign = if x.is_sign_negative() { "-" } else { "" };
            format!("{sign}{mant}p{}{}", if e >= 0 { "+" } else { "-" }, e.abs())
        }
        _ => format_g(x, prec),
    }
}

/// strconv's `%x` of a float: `0x1.cp+01`.
fn format_hex_float(x: f64, upper: bool, prec: i64) -> String {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let mut mant = bits & ((1u64 << 52) - 1);
    let mut exp = if biased == 0 {
        1
    } else {
        mant |= 1 << 52;
        biased
    } - 1023;
    if mant == 0 {
        exp = 0;
    }
    mant <<= 60 - 52;
    while mant != 0 && mant & (1 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    if (0..15).contains(&prec) {
        let shift = (prec * 4) as u32;
        let extra = (mant << shift) & ((1u64 << 60) - 1);
        mant >>= 60 - shift;
        if extra | (mant & 1) > 1 << 59 {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let hex: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut out = String::new();
    if x.is_sign_negative() {
        out.push('-');
    }
    out.push('0');
    out.push(if upper { 'X' } else { 'x' });
    out.push((b'0' + ((mant >> 60) & 1) as u8) as char);
    mant <<= 4;
    if prec < 0 && mant != 0 {
        out.push('.');
        while mant != 0 {
            out.push(hex[((mant >> 60) & 15) as usize] as char);
            mant <<= 4;
        }
    } else if prec > 0 {
        out.push('.');
        for _ in 0..prec {
            out.push(hex[((mant >> 60) & 15) as usize] as char);
            mant <<= 4;
        }
    }
    out.push(if upper { 'P' } else { 'p' });
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.abs()));
    out
}

/// Rust's `1.5e6` to Go's `1.5e+06`.
fn go_exponent(s: &str, upper: bool) -> String {
    let (m, e) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = e.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    let e = if upper { 'E' } else { 'e' };
    format!("{m}{e}{sign}{:02}", exp.unsigned_abs())
}

/// `%g` with a precision (-1 = shortest), following strconv's choice between %e and %f.
fn format_g(x: f64, prec: i64) -> String {
    if prec < 0 {
        return format_float_g(x);
    }
    let p = prec.max(1) as usize;
    let sci = format!("{:.*e}", p - 1, x);
    let (m, e) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i64 = e.parse().unwrap_or(0);
    let neg = m.starts_with('-');
    let mut digits: String = m.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    if x == 0.0 {
        digits = "0".into();
    }
    let nd = digits.len() as i64;
    let dp = exp + 1;
    let mut eprec = p as i64;
    if eprec > nd && nd >= dp {
        eprec = nd;
    }
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if exp < -4 || exp >= eprec {
        let mut pp = p as i64;
        if pp > nd {
            pp = nd;
        }
        out.push_str(&digits[..1]);
        if pp > 1 {
            out.push('.');
            out.push_str(&digits[1..pp as usize]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.unsigned_abs()));
        return out;
    }
    let mut pp = p as i64;
    if pp > dp {
        pp = nd;
    }
    let frac = (pp - dp).max(0) as usize;
    if dp <= 0 {
        out.push('0');
    } else {
        for k in 0..dp {
            out.push(
                digits
                    .as_bytes()
                    .get(k as usize)
                    .map_or('0', |b| *b as char),
            );
        }
    }
    if frac > 0 {
        out.push('.');
        for k in 0..frac as i64 {
            let idx = dp + k;
            let c = if idx < 0 {
                '0'
            } else {
                digits
                    .as_bytes()
                    .get(idx as usize)
                    .map_or('0', |b| *b as char)
            };
            out.push(c);
        }
    }
    out
}

fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !c.is_control()))
}

/// `strconv.QuoteToASCII`.
fn quote_ascii(s: &str) -> String {
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
fn quote_rune(c: char) -> String {
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
mod printf_tests {
    use super::*;

    fn pf(f: &str, args: Vec<Value>) -> String {
        sprintf(f, &args)
    }

    #[test]
    fn verbs_print_like_go() {
        assert_eq!(
            pf("%s-%d-%v", vec!["a".into(), 3i64.into(), 1.5f64.into()]),
            "a-3-1.5"
        );
        assert_eq!(
            pf(
                "%5.2f|%-5d|%05d",
                vec![3.14158f64.into(), 42i64.into(), (-42i64).into()]
            ),
            " 3.14|42   |-0042"
        );
        assert_eq!(
            pf(
                "%q %x %X %o %b %c",
                vec![
                    "a\"b".into(),
                    255i64.into(),
                    255i64.into(),
                    8i64.into(),
                    5i64.into(),
                    65i64.into()
                ]
            ),
            "\"a\\\"b\" ff FF 10 101 A"
        );
        assert_eq!(
            pf(
                "%e %g %.3g %G",
                vec![
                    123456.789f64.into(),
                    1e21f64.into(),
                    3.14158f64.into(),
                    1e-7f64.into()
                ]
            ),
            "1.234568e+05 1e+21 3.14 1E-07"
        );
        assert_eq!(
            pf(
                "%t %v %T %T",
                vec![true.into(), Value::Nil, 1i64.into(), Value::list(vec![])]
            ),
            "true <nil> int []interface {}"
        );
        assert_eq!(
            pf("%#x %+d %x", vec![255i64.into(), 5i64.into(), "hi".into()]),
            "0xff +5 6869"
        );
        assert_eq!(pf("100%%", vec![]), "100%");
    }

    #[test]
    fn mistakes_are_reported_in_band_like_go() {
        assert_eq!(pf("%d", vec!["x".into()]), "%!d(string=x)");
        assert_eq!(pf("%s %s", vec!["x".into()]), "x %!s(MISSING)");
        assert_eq!(
            pf("%s", vec!["x".into(), 1i64.into(), "y".into()]),
            "x%!(EXTRA int=1, string=y)"
        );
        assert_eq!(pf("%d", vec![Value::Nil]), "%!d(<nil>)");
        assert_eq!(pf("%s", vec![1.5f64.into()]), "%!s(float64=1.5)");
        assert_eq!(
            pf("%d", vec![Value::list(vec!["a".into(), 1i64.into()])]),
            "[%!d(string=a) 1]"
        );
        assert_eq!(pf("%", vec![]), "%!(NOVERB)");
        assert_eq!(pf("%[2]s %[1]s", vec!["a".into(), "b".into()]), "b a");
    }

    #[test]
    fn sprint_spaces_only_between_non_strings() {
        assert_eq!(
            sprint(&["a".into(), 1i64.into(), 2i64.into(), "b".into()]),
            "a1 2b"
        );
        assert_eq!(sprintln(&["a".into(), 1i64.into()]), "a 1\n");
    }
}

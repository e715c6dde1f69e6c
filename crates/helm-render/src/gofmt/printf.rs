//! Go's `fmt.Sprint`, `Sprintln` and `Sprintf` over template values.

use super::float::format_float;
use super::quote::{can_backquote, go_quote, quote_ascii, quote_rune};
use super::{MAX_PRINT_DEPTH, go_type};
use crate::value::Value;

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

#[cfg(test)]
mod tests {
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

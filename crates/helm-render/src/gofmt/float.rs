//! Go's `strconv.FormatFloat`, in one place for every writer: shortest `'g'` for `%v` of a
//! float64 and for float32 map keys, encoding/json's mix of `'f'` and `'e'`, and the verbs
//! and precisions of `printf`. The shortest forms share one decomposition (Rust's `{:e}` gives
//! the same shortest round-tripping digits as strconv's shortest mode) so that they cannot
//! drift apart.

/// The shortest round-tripping decimal of a finite, non-zero number: sign, digits without
/// leading zeros, and the decimal exponent of the first digit.
struct Decimal {
    negative: bool,
    digits: String,
    exp: i32,
}

impl Decimal {
    fn of(sci: &str) -> Decimal {
        let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
        Decimal {
            negative: mantissa.starts_with('-'),
            digits: mantissa.chars().filter(char::is_ascii_digit).collect(),
            exp: exp.parse().unwrap_or(0),
        }
    }

    /// `%e` with all the digits: `1.5e+06`.
    fn exponent_form(&self) -> String {
        let mut out = String::new();
        if self.negative {
            out.push('-');
        }
        out.push_str(&self.digits[..1]);
        if self.digits.len() > 1 {
            out.push('.');
            out.push_str(&self.digits[1..]);
        }
        out.push('e');
        out.push(if self.exp < 0 { '-' } else { '+' });
        let e = self.exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&e.to_string());
        out
    }

    /// `%f` with all the digits: `1500000`, `0.0015`.
    fn plain_form(&self) -> String {
        let mut out = String::new();
        if self.negative {
            out.push('-');
        }
        let nd = self.digits.len() as i32;
        let dp = self.exp + 1;
        if dp <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-dp) as usize));
            out.push_str(&self.digits);
        } else if dp >= nd {
            out.push_str(&self.digits);
            out.extend(std::iter::repeat_n('0', (dp - nd) as usize));
        } else {
            out.push_str(&self.digits[..dp as usize]);
            out.push('.');
            out.push_str(&self.digits[dp as usize..]);
        }
        out
    }

    /// Shortest `'g'`: strconv fixes the exponent threshold at 6 in shortest mode, so
    /// 1234567 prints as `1.234567e+06`.
    fn shortest_g(&self) -> String {
        if self.exp < -4 || self.exp >= 6 {
            self.exponent_form()
        } else {
            self.plain_form()
        }
    }
}

/// The spellings strconv gives the values that have no digits.
fn special(f: f64) -> Option<String> {
    if f.is_nan() {
        Some("NaN".into())
    } else if f.is_infinite() {
        Some(if f > 0.0 { "+Inf" } else { "-Inf" }.into())
    } else if f == 0.0 {
        Some(if f.is_sign_negative() { "-0" } else { "0" }.into())
    } else {
        None
    }
}

/// `strconv.FormatFloat(f, 'g', -1, 64)`, which `%v` uses: the shortest decimal that
/// round-trips, in exponent form when the decimal exponent is < -4 or >= 6.
pub fn format_float_g(f: f64) -> String {
    if let Some(s) = special(f) {
        return s;
    }
    // Whole numbers below the exponent threshold print as integers; most values are these.
    if f.fract() == 0.0 && f.abs() < 1e6 {
        return (f as i64).to_string();
    }
    Decimal::of(&format!("{f:e}")).shortest_g()
}

/// `strconv.FormatFloat(float64(f), 'g', -1, 32)`: how go-yaml v2 spells a float map key,
/// with float32's shorter digits.
pub fn format_float_g32(f: f32) -> String {
    if let Some(s) = special(f64::from(f)) {
        return s;
    }
    Decimal::of(&format!("{f:e}")).shortest_g()
}

/// How encoding/json writes a finite float64: `'f'` between 1e-6 and 1e21, else `'e'` with
/// a one-digit exponent where possible (`1e-7`, `1e+21`).
pub fn format_json_float(f: f64) -> String {
    if let Some(s) = special(f) {
        return s;
    }
    let d = Decimal::of(&format!("{f:e}"));
    if (1e-6..1e21).contains(&f.abs()) {
        return d.plain_form();
    }
    let mut s = d.exponent_form();
    let n = s.len();
    if n >= 4 && s.as_bytes()[n - 4] == b'e' && &s[n - 3..n - 1] == "-0" {
        s.remove(n - 2);
    }
    s
}

/// `strconv.FormatFloat(x, verb, prec, 64)` for the verbs templates use.
pub(super) fn format_float(x: f64, verb: char, prec: i64) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
            (-0.0, "-0"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Inf"),
        ] {
            assert_eq!(format_float_g(f), want, "for {f}");
        }
    }

    #[test]
    fn json_floats_match_encoding_json() {
        assert_eq!(format_json_float(1e6), "1000000");
        assert_eq!(format_json_float(1.5), "1.5");
        assert_eq!(format_json_float(1e21), "1e+21");
        assert_eq!(format_json_float(1e20), "100000000000000000000");
        assert_eq!(format_json_float(1e-7), "1e-7");
        assert_eq!(format_json_float(0.000001), "0.000001");
        assert_eq!(format_json_float(-0.0), "-0");
        assert_eq!(
            format_json_float(1.2345678901234568e29),
            "1.2345678901234568e+29"
        );
        assert_eq!(format_json_float(1.5e-10), "1.5e-10");
    }

    #[test]
    fn float32_keys_match_strconv() {
        assert_eq!(format_float_g32(2.5), "2.5");
        assert_eq!(format_float_g32(0.1), "0.1");
        assert_eq!(format_float_g32(1000.0), "1000");
        assert_eq!(format_float_g32(1234567.0), "1.234567e+06");
        assert_eq!(format_float_g32(0.00001), "1e-05");
    }

    #[test]
    fn precisions_follow_strconv() {
        assert_eq!(format_float(1234.5678, 'f', 2), "1234.57");
        assert_eq!(format_float(1234.5678, 'e', 3), "1.235e+03");
        assert_eq!(format_float(0.000012345, 'g', 3), "1.23e-05");
        assert_eq!(format_float(100.0, 'g', 3), "100");
    }
}

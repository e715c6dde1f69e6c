//! Go's `strconv.FormatFloat` in shortest mode, in the forms the serialisers need: `'g'` for
//! float32 map keys, and encoding/json's mix of `'f'` and `'e'`.

/// The shortest round-tripping decimal of a finite number: sign, digits without leading
/// zeros, and the decimal exponent of the first digit. Rust's `{:e}` gives exactly that.
struct Decimal {
    negative: bool,
    digits: String,
    exp: i32,
}

fn decompose(sci: &str) -> Decimal {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    Decimal {
        negative: mantissa.starts_with('-'),
        digits: mantissa.chars().filter(char::is_ascii_digit).collect(),
        exp: exp.parse().unwrap_or(0),
    }
}

fn push_exponent(out: &mut String, exp: i32) {
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push('0');
    }
    out.push_str(&e.to_string());
}

fn format_e(d: &Decimal) -> String {
    let mut out = String::new();
    if d.negative {
        out.push('-');
    }
    out.push_str(&d.digits[..1]);
    if d.digits.len() > 1 {
        out.push('.');
        out.push_str(&d.digits[1..]);
    }
    push_exponent(&mut out, d.exp);
    out
}

fn format_f(d: &Decimal) -> String {
    let mut out = String::new();
    if d.negative {
        out.push('-');
    }
    let nd = d.digits.len() as i32;
    let dp = d.exp + 1;
    if dp <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-dp) as usize));
        out.push_str(&d.digits);
    } else if dp >= nd {
        out.push_str(&d.digits);
        out.extend(std::iter::repeat_n('0', (dp - nd) as usize));
    } else {
        out.push_str(&d.digits[..dp as usize]);
        out.push('.');
        out.push_str(&d.digits[dp as usize..]);
    }
    out
}

fn zero(negative: bool) -> String {
    if negative { "-0" } else { "0" }.to_string()
}

/// `strconv.FormatFloat(float64(f), 'g', -1, 32)` for a finite value.
pub(crate) fn format_float_g32(f: f32) -> String {
    if f == 0.0 {
        return zero(f.is_sign_negative());
    }
    let d = decompose(&format!("{f:e}"));
    if d.exp < -4 || d.exp >= 6 {
        format_e(&d)
    } else {
        format_f(&d)
    }
}

/// How encoding/json writes a finite float64: `'f'` between 1e-6 and 1e21, else `'e'` with
/// a one-digit exponent where possible (`1e-7`, `1e+21`).
pub(crate) fn format_json_float(f: f64) -> String {
    if f == 0.0 {
        return zero(f.is_sign_negative());
    }
    let d = decompose(&format!("{f:e}"));
    let abs = f.abs();
    if !(1e-6..1e21).contains(&abs) {
        let mut s = format_e(&d);
        let n = s.len();
        if n >= 4 && s.as_bytes()[n - 4] == b'e' && &s[n - 3..n - 1] == "-0" {
            s.remove(n - 2);
        }
        s
    } else {
        format_f(&d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

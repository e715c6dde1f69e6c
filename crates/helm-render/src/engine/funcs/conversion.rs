//! Sprig's number conversions, which go through spf13/cast and never fail: anything that
//! does not convert becomes 0.

use super::{CallContext, FuncResult, Function, arity, string_arg};
use crate::gofmt::format_value;
use crate::value::Value;

pub fn get(name: &str) -> Option<Function> {
    Some(match name {
        "atoi" => atoi,
        "int" => int,
        "int64" => int64,
        "float64" => float64,
        "toDecimal" => to_decimal,
        _ => return None,
    })
}

/// cast's `trimZeroDecimal`: `"12.00"` → `"12"`, so that whole decimals parse as integers.
fn trim_zero_decimal(s: &str) -> &str {
    let mut found_zero = false;
    for (i, b) in s.bytes().enumerate().rev() {
        match b {
            b'.' if found_zero => return &s[..i],
            b'.' => {}
            b'0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

/// Go's `strconv.ParseInt(s, base, 64)`; base 0 reads `0x`, `0o`, `0b` and leading-`0`
/// octal prefixes and allows `_` between digits.
pub(crate) fn parse_go_int(s: &str, base: u32) -> Option<i64> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if base == 0 {
        let lower = body.to_ascii_lowercase();
        if lower.starts_with("0x") {
            (16, &body[2..])
        } else if lower.starts_with("0o") {
            (8, &body[2..])
        } else if lower.starts_with("0b") {
            (2, &body[2..])
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..])
        } else {
            (10, body)
        }
    } else {
        (base, body)
    };
    if digits.is_empty() {
        return None;
    }
    // Only base 0 (prefix-detecting) parsing allows `_` separators.
    if base == 0 && !underscores_ok(body) {
        return None;
    }
    let cleaned: String = digits.chars().filter(|c| *c != '_').collect();
    if cleaned.is_empty() || cleaned.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = u64::from_str_radix(&cleaned, radix).ok()?;
    if negative {
        if magnitude > i64::MAX as u64 + 1 {
            None
        } else {
            Some((magnitude as i64).wrapping_neg())
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go's `underscoreOK`: underscores only between digits (a base prefix counts as a digit).
fn underscores_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1] | 0x20, b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1] | 0x20 == b'x';
    }
    for &c in &b[i..] {
        if c.is_ascii_digit() || hex && (b'a'..=b'f').contains(&(c | 0x20)) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
    }
    saw != b'_'
}

/// cast's `ToInt64`: integers as is, floats truncated, strings parsed with Go's integer
/// syntax (after dropping a zero decimal part), booleans 1/0, everything else 0.
pub fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => float_to_int(*f),
        Value::String(s) => parse_go_int(trim_zero_decimal(s), 0).unwrap_or(0),
        Value::Bool(b) => i64::from(*b),
        _ => 0,
    }
}

/// Go's `int64(f)` on amd64: truncation, with NaN and out-of-range values giving the
/// minimum int64 (the hardware's "integer indefinite").
fn float_to_int(f: f64) -> i64 {
    if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
        i64::MIN
    } else {
        f.trunc() as i64
    }
}

/// cast's `ToFloat64`: numbers converted, strings parsed with `strconv.ParseFloat`,
/// booleans 1/0, everything else 0.
pub fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::String(s) => parse_go_float(s).unwrap_or(0.0),
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => 0.0,
    }
}

/// `strconv.ParseFloat(s, 64)` for decimal input, `_` digit separators included (Go also
/// reads hex floats, which Rust does not; those become 0 here).
fn parse_go_float(s: &str) -> Option<f64> {
    let owned;
    let s = if s.contains('_') {
        if !underscores_ok(s.strip_prefix(['+', '-']).unwrap_or(s)) {
            return None;
        }
        owned = s.replace('_', "");
        owned.as_str()
    } else {
        s
    };
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    if !matches!(lower.as_str(), "inf" | "infinity" | "nan")
        && !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    s.parse::<f64>().ok()
}

fn atoi(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("atoi", args, 1)?;
    let s = string_arg(args, 0)?;
    let valid = s.strip_prefix(['+', '-']).unwrap_or(s);
    let n = if !valid.is_empty() && valid.bytes().all(|b| b.is_ascii_digit()) {
        s.parse::<i64>().unwrap_or(0)
    } else {
        0
    };
    Ok(Value::Int(n))
}

fn int(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("int", args, 1)?;
    Ok(Value::Int(to_int64(&args[0])))
}

fn int64(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("int64", args, 1)?;
    Ok(Value::Int(to_int64(&args[0])))
}

fn float64(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("float64", args, 1)?;
    Ok(Value::Float(to_float64(&args[0])))
}

/// `toDecimal` reads the printed value as an octal number (`toDecimal "0777"` is 511).
fn to_decimal(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("toDecimal", args, 1)?;
    Ok(Value::Int(
        parse_go_int(&format_value(&args[0]), 8).unwrap_or(0),
    ))
}

#[cfg(test)]
mod tests {
    use crate::engine::funcs::strings::tests::check_table;

    /// Verified with the Helm 4.2 oracle.
    const ORACLE: &str = r#"
atoi "42" ⇒ "42"
atoi "-7" ⇒ "-7"
atoi "+7" ⇒ "7"
atoi "4.2" ⇒ "0"
atoi " 4" ⇒ "0"
atoi "" ⇒ "0"
int "12" ⇒ "12"
int "12.0" ⇒ "12"
int "12.5" ⇒ "0"
int "0x1F" ⇒ "31"
int "010" ⇒ "8"
int "0b11" ⇒ "3"
int "0o17" ⇒ "15"
int "1_000" ⇒ "1000"
int "_1" ⇒ "0"
int " 1" ⇒ "0"
int .Values.f ⇒ "1"
int .Values.neg ⇒ "-2"
int .Values.big ⇒ "1000000"
int true ⇒ "1"
int .Values.nil ⇒ "0"
int "abc" ⇒ "0"
int .Values.l ⇒ "0"
int "-0x10" ⇒ "-16"
int "9223372036854775808" ⇒ "0"
int64 "9223372036854775807" ⇒ "9223372036854775807"
int64 .Values.n ⇒ "0"
typeOf (int 1) ⇒ "int"
typeOf (int .Values.f) ⇒ "int"
float64 "1.5" ⇒ "1.5"
float64 "1e3" ⇒ "1000"
float64 "abc" ⇒ "0"
float64 3 ⇒ "3"
float64 "inf" ⇒ "+Inf"
float64 "-Inf" ⇒ "-Inf"
float64 "NaN" ⇒ "NaN"
float64 "1_0" ⇒ "10"
float64 "0x10" ⇒ "0"
float64 ".5" ⇒ "0.5"
float64 true ⇒ "1"
typeOf (float64 3) ⇒ "float64"
toDecimal "0777" ⇒ "511"
toDecimal 777 ⇒ "511"
toDecimal "8" ⇒ "0"
toDecimal .Values.n ⇒ "0"
"#;

    #[test]
    fn matches_helm() {
        check_table(ORACLE);
    }
}

//! Sprig's arithmetic. Integer functions convert every argument with cast's `ToInt64` and
//! return int64 (wrapping on overflow, as Go does). The `…f` functions compute in decimal
//! (shopspring/decimal) from each float's shortest printed form, which is why `addf 0.1 0.2`
//! is exactly 0.3; division keeps 16 decimal places.

use super::conversion::{to_float64, to_int64};
use super::{CallContext, FuncError, FuncResult, Function, arity, arity_at_least, int_arg};
use crate::value::Value;

pub fn get(name: &str) -> Option<Function> {
    Some(match name {
        "add" => add,
        "add1" => add1,
        "sub" => sub,
        "div" => div,
        "mod" => modulo,
        "mul" => mul,
        "max" | "biggest" => max,
        "min" => min,
        "addf" => addf,
        "add1f" => add1f,
        "subf" => subf,
        "mulf" => mulf,
        "divf" => divf,
        "maxf" => maxf,
        "minf" => minf,
        "floor" => floor,
        "ceil" => ceil,
        "round" => round,
        _ => return None,
    })
}

fn add(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    Ok(Value::Int(
        args.iter().fold(0i64, |a, b| a.wrapping_add(to_int64(b))),
    ))
}

fn add1(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("add1", args, 1)?;
    Ok(Value::Int(to_int64(&args[0]).wrapping_add(1)))
}

fn sub(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("sub", args, 2)?;
    Ok(Value::Int(
        to_int64(&args[0]).wrapping_sub(to_int64(&args[1])),
    ))
}

fn divisor(v: &Value) -> Result<i64, FuncError> {
    match to_int64(v) {
        0 => Err(FuncError::new("runtime error: integer divide by zero")),
        d => Ok(d),
    }
}

fn div(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("div", args, 2)?;
    let d = divisor(&args[1])?;
    Ok(Value::Int(to_int64(&args[0]).wrapping_div(d)))
}

fn modulo(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("mod", args, 2)?;
    let d = divisor(&args[1])?;
    Ok(Value::Int(to_int64(&args[0]).wrapping_rem(d)))
}

fn mul(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity_at_least("mul", args, 1)?;
    Ok(Value::Int(
        args[1..]
            .iter()
            .fold(to_int64(&args[0]), |a, b| a.wrapping_mul(to_int64(b))),
    ))
}

fn max(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity_at_least("max", args, 1)?;
    Ok(Value::Int(
        args.iter().map(to_int64).max().unwrap_or_default(),
    ))
}

fn min(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity_at_least("min", args, 1)?;
    Ok(Value::Int(
        args.iter().map(to_int64).min().unwrap_or_default(),
    ))
}

/// Go's `math.Max`: NaN wins, and +0 beats -0.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() { b } else { a }
    } else {
        a.max(b)
    }
}

fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() { a } else { b }
    } else {
        a.min(b)
    }
}

fn maxf(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity_at_least("maxf", args, 1)?;
    Ok(Value::Float(
        args[1..]
            .iter()
            .fold(to_float64(&args[0]), |a, b| go_max(a, to_float64(b))),
    ))
}

fn minf(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity_at_least("minf", args, 1)?;
    Ok(Value::Float(
        args[1..]
            .iter()
            .fold(to_float64(&args[0]), |a, b| go_min(a, to_float64(b))),
    ))
}

/// A decimal `mantissa × 10^exponent`, enough of shopspring/decimal for Sprig's float
/// functions. Values beyond i128 fall back to float arithmetic.
#[derive(Clone, Copy, Debug)]
struct Decimal {
    mantissa: i128,
    exponent: i32,
}

impl Decimal {
    /// `decimal.NewFromFloat`: the shortest decimal that reads back as `f`.
    fn from_f64(f: f64) -> Option<Decimal> {
        if !f.is_finite() {
            return None;
        }
        let sci = format!("{f:e}");
        let (mantissa, exp) = sci.split_once('e')?;
        let exp: i32 = exp.parse().ok()?;
        let negative = mantissa.starts_with('-');
        let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
        let frac_len = mantissa.split_once('.').map_or(0, |(_, f)| f.len()) as i32;
        let mut m: i128 = digits.parse().ok()?;
        if negative {
            m = -m;
        }
        Some(Decimal {
            mantissa: m,
            exponent: exp - frac_len,
        })
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.mantissa, self.exponent)
            .parse()
            .unwrap_or(f64::NAN)
    }

    /// Both mantissas scaled to the smaller exponent.
    fn aligned(self, other: Decimal) -> Option<(i128, i128, i32)> {
        let exp = self.exponent.min(other.exponent);
        let scale = |d: Decimal| -> Option<i128> {
            let shift = u32::try_from(d.exponent - exp).ok()?;
            d.mantissa.checked_mul(10i128.checked_pow(shift)?)
        };
        Some((scale(self)?, scale(other)?, exp))
    }

    fn add(self, other: Decimal) -> Option<Decimal> {
        let (a, b, exponent) = self.aligned(other)?;
        Some(Decimal {
            mantissa: a.checked_add(b)?,
            exponent,
        })
    }

    fn sub(self, other: Decimal) -> Option<Decimal> {
        let (a, b, exponent) = self.aligned(other)?;
        Some(Decimal {
            mantissa: a.checked_sub(b)?,
            exponent,
        })
    }

    fn mul(self, other: Decimal) -> Option<Decimal> {
        Some(Decimal {
            mantissa: self.mantissa.checked_mul(other.mantissa)?,
            exponent: self.exponent.checked_add(other.exponent)?,
        })
    }

    /// `decimal.Div`: the quotient rounded half away from zero to 16 decimal places.
    fn div(self, other: Decimal) -> Option<Decimal> {
        const PRECISION: i32 = 16;
        let shift = self.exponent - other.exponent + PRECISION;
        let (num, den) = if shift >= 0 {
            (
                self.mantissa
                    .checked_mul(10i128.checked_pow(u32::try_from(shift).ok()?)?)?,
                other.mantissa,
            )
        } else {
            (
                self.mantissa,
                other
                    .mantissa
                    .checked_mul(10i128.checked_pow(u32::try_from(-shift).ok()?)?)?,
            )
        };
        let mut q = num / den;
        let r = num % den;
        if r.checked_mul(2)?.abs() >= den.abs() {
            q += if (num < 0) == (den < 0) { 1 } else { -1 };
        }
        Some(Decimal {
            mantissa: q,
            exponent: -PRECISION,
        })
    }
}

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// Sprig's `execDecimalOp`: folds `rest` into `first` with `op`.
fn decimal_fold(first: &Value, rest: &[Value], op: Op) -> FuncResult {
    for x in std::iter::once(first).chain(rest) {
        let f = to_float64(x);
        if !f.is_finite() {
            return Err(FuncError(format!(
                "Cannot create a Decimal from {}",
                crate::gofmt::format_float_g(f)
            )));
        }
    }
    let mut acc = to_float64(first);
    let mut dec = Decimal::from_f64(acc);
    for x in rest {
        let xf = to_float64(x);
        if let Op::Div = op
            && xf == 0.0
        {
            return Err(FuncError::new("decimal division by 0"));
        }
        dec = dec.zip(Decimal::from_f64(xf)).and_then(|(a, b)| match op {
            Op::Add => a.add(b),
            Op::Sub => a.sub(b),
            Op::Mul => a.mul(b),
            Op::Div => a.div(b),
        });
        acc = match dec {
            Some(d) => d.to_f64(),
            None => match op {
                Op::Add => acc + xf,
                Op::Sub => acc - xf,
                Op::Mul => acc * xf,
                Op::Div => acc / xf,
            },
        };
    }
    Ok(Value::Float(dec.map_or(acc, Decimal::to_f64)))
}

fn addf(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    decimal_fold(&Value::Float(0.0), args, Op::Add)
}

fn add1f(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("add1f", args, 1)?;
    decimal_fold(&args[0], &[Value::Int(1)], Op::Add)
}

fn subf(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity_at_least("subf", args, 1)?;
    decimal_fold(&args[0], &args[1..], Op::Sub)
}

fn mulf(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity_at_least("mulf", args, 1)?;
    decimal_fold(&args[0], &args[1..], Op::Mul)
}

fn divf(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity_at_least("divf", args, 1)?;
    decimal_fold(&args[0], &args[1..], Op::Div)
}

fn floor(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("floor", args, 1)?;
    Ok(Value::Float(to_float64(&args[0]).floor()))
}

fn ceil(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("ceil", args, 1)?;
    Ok(Value::Float(to_float64(&args[0]).ceil()))
}

/// `round VALUE PLACES [HALF]`: rounds up when the fraction at PLACES reaches HALF
/// (default .5), computed in floats exactly as Sprig does.
fn round(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity_at_least("round", args, 2)?;
    let val = to_float64(&args[0]);
    let places = int_arg(args, 1)? as f64;
    let round_on = match args.get(2) {
        None => 0.5,
        Some(Value::Float(f)) => *f,
        Some(Value::Int(i)) => *i as f64,
        Some(other) => {
            return Err(FuncError(format!(
                "wrong type for value; expected float64; got {}",
                crate::gofmt::go_type(other)
            )));
        }
    };
    let pow = 10f64.powf(places);
    let digit = pow * val;
    let frac = digit - digit.trunc();
    let rounded = if frac >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    Ok(Value::Float(rounded / pow))
}

#[cfg(test)]
mod tests {
    use crate::engine::funcs::strings::tests::check_table;

    /// Verified with the Helm 4.2 oracle (which also reports `typeOf (add 1 2)` as `int64`
    /// and `typeOf (addf 1 2)` as `float64`).
    const ORACLE: &str = r#"
add 1 2 ⇒ "3"
add ⇒ "0"
add 1 "2" .Values.f nil true ⇒ "5"
add1 .Values.f ⇒ "2"
add1 "x" ⇒ "1"
sub 5 7 ⇒ "-2"
sub .Values.big 1 ⇒ "999999"
div 7 2 ⇒ "3"
div -7 2 ⇒ "-3"
div 7 0 ⇒ "ERR runtime error: integer divide by zero"
div .Values.f 0.5 ⇒ "ERR runtime error: integer divide by zero"
mod 7 3 ⇒ "1"
mod -7 3 ⇒ "-1"
mod 7 0 ⇒ "ERR runtime error: integer divide by zero"
mul 2 3 4 ⇒ "24"
mul 5 ⇒ "5"
mul .Values.f 4 ⇒ "4"
max 1 5 3 ⇒ "5"
max -1 ⇒ "-1"
biggest 2 9 ⇒ "9"
min 3 1 2 ⇒ "1"
min "5" 2.9 ⇒ "2"
addf 0.1 0.2 ⇒ "0.3"
addf 1 2 ⇒ "3"
addf ⇒ "0"
add1f 0.1 ⇒ "1.1"
add1f .Values.f ⇒ "2.5"
subf 1 0.9 ⇒ "0.1"
subf 5 ⇒ "5"
mulf 0.1 3 ⇒ "0.3"
mulf 1.1 1.1 1.1 ⇒ "1.331"
divf 1 3 ⇒ "0.3333333333333333"
divf 2 3 ⇒ "0.6666666666666667"
divf 10 4 ⇒ "2.5"
divf 1 0 ⇒ "ERR decimal division by 0"
divf 1e20 3 ⇒ "3.333333333333333e+19"
divf -2 3 ⇒ "-0.6666666666666667"
divf 22 7 3 ⇒ "1.0476190476190477"
addf 1e300 1e300 ⇒ "2e+300"
mulf 1e200 1e200 ⇒ "+Inf"
maxf 1 2.5 2 ⇒ "2.5"
maxf .Values.neg ⇒ "-2.7"
minf 1 -2.5 2 ⇒ "-2.5"
minf "a" 3 ⇒ "0"
floor 2.7 ⇒ "2"
floor -2.2 ⇒ "-3"
floor "3.9" ⇒ "3"
ceil 2.1 ⇒ "3"
ceil .Values.neg ⇒ "-2"
round 2.5 0 ⇒ "3"
round 2.4 0 ⇒ "2"
round 3.14159 2 ⇒ "3.14"
round -2.5 0 ⇒ "-3"
round 2.45 1 ⇒ "2.5"
round 2.5 0 0.6 ⇒ "2"
round 1234.5678 -2 ⇒ "1200"
round .Values.f 0 ⇒ "2"
addf "inf" 1 ⇒ "ERR Cannot create a Decimal from +Inf"
mulf 2 "NaN" ⇒ "ERR Cannot create a Decimal from NaN"
add1f "-inf" ⇒ "ERR Cannot create a Decimal from -Inf"
divf 1 "inf" ⇒ "ERR Cannot create a Decimal from +Inf"
"#;

    #[test]
    fn matches_helm() {
        check_table(ORACLE);
    }

    #[test]
    fn integer_results_are_ints_and_float_results_floats() {
        use crate::engine::funcs::strings::tests::call;
        use crate::value::Value;
        assert_eq!(call("add1", &[Value::Float(1.5)]), Ok(Value::Int(2)));
        assert_eq!(
            call("addf", &[Value::Int(1), Value::Int(2)]),
            Ok(Value::Float(3.0))
        );
    }
}

//! Go's predefined template functions that need no access to the engine: comparisons with
//! Go's basic-kind rules, `index`, `slice`, `len`, `not` and the escapers. Each returns the
//! error text Go's function returns; the engine adds `error calling NAME:`.

use std::sync::Arc;

use crate::gofmt::{go_type, sprint, sprintf};
use crate::value::Value;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Float,
    String,
}

fn basic_kind(v: &Value) -> Option<Kind> {
    match v {
        Value::Bool(_) => Some(Kind::Bool),
        Value::Int(_) => Some(Kind::Int),
        Value::Float(_) => Some(Kind::Float),
        Value::String(_) => Some(Kind::String),
        _ => None,
    }
}

fn incompatible(a: &Value, b: &Value) -> String {
    format!(
        "incompatible types for comparison: {} and {}",
        go_type(a),
        go_type(b)
    )
}

fn same_container_kind(a: &Value, b: &Value) -> bool {
    matches!(
        (a, b),
        (Value::List(_), Value::List(_))
            | (Value::Map(_), Value::Map(_))
            | (Value::Object(_), Value::Object(_))
            | (Value::Nil, _)
            | (_, Value::Nil)
    )
}

/// An object whose Go type is a slice or a map (Helm's `.Capabilities.APIVersions` is a
/// `[]string` with a `Has` method, `.Files.Glob` returns a `map[string][]byte`): ranging,
/// `len`, `index` and `slice` see its elements, which `Object::to_data` gives.
pub fn slice_object(v: &Value) -> Option<Value> {
    match v {
        Value::Object(o) => match o.elements() {
            c @ (Value::List(_) | Value::Map(_)) => Some(c),
            _ => None,
        },
        _ => None,
    }
}

/// `eq arg1 arg2...`: true when arg1 equals any of the others.
pub fn eq(arg1: &Value, rest: &[Value]) -> Result<bool, String> {
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic_kind(arg1);
    for arg in rest {
        let k2 = basic_kind(arg);
        let truth = if k1 != k2 {
            if !arg1.is_nil() && !arg.is_nil() {
                return Err(incompatible(arg1, arg));
            }
            false
        } else {
            match (arg1, arg) {
                (Value::Bool(a), Value::Bool(b)) => a == b,
                (Value::Int(a), Value::Int(b)) => a == b,
                (Value::Float(a), Value::Float(b)) => a == b,
                (Value::String(a), Value::String(b)) => a == b,
                _ => {
                    if !same_container_kind(arg1, arg) {
                        return Err(format!(
                            "non-comparable types {}: {}, {}: {}",
                            sprintf("%s", std::slice::from_ref(arg1)),
                            go_type(arg1),
                            go_type(arg),
                            sprintf("%v", std::slice::from_ref(arg))
                        ));
                    }
                    if arg1.is_nil() || arg.is_nil() {
                        arg1.is_nil() == arg.is_nil()
                    } else if let (Value::Object(a), Value::Object(b)) = (arg1, arg) {
                        Arc::ptr_eq(a, b)
                    } else {
                        return Err(format!(
                            "non-comparable type {}: {}",
                            sprintf("%s", std::slice::from_ref(arg)),
                            go_type(arg)
                        ));
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `lt a b`, on basic kinds of the same kind only.
pub fn lt(a: &Value, b: &Value) -> Result<bool, String> {
    const BAD: &str = "invalid type for comparison";
    let k1 = basic_kind(a).ok_or(BAD)?;
    let k2 = basic_kind(b).ok_or(BAD)?;
    if k1 != k2 {
        return Err(incompatible(a, b));
    }
    Ok(match (a, b) {
        (Value::Int(x), Value::Int(y)) => x < y,
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::String(x), Value::String(y)) => x < y,
        _ => return Err(BAD.into()),
    })
}

pub fn le(a: &Value, b: &Value) -> Result<bool, String> {
    if lt(a, b)? {
        return Ok(true);
    }
    eq(a, std::slice::from_ref(b))
}

/// Go's `indexArg`: an integer in `0..=cap`.
fn index_arg(index: &Value, cap: usize) -> Result<usize, String> {
    match index {
        Value::Int(x) => {
            if *x < 0 || *x as u64 > cap as u64 {
                Err(format!("index out of range: {x}"))
            } else {
                Ok(*x as usize)
            }
        }
        Value::Nil => Err("cannot index slice/array with nil".into()),
        other => Err(format!(
            "cannot index slice/array with type {}",
            go_type(other)
        )),
    }
}

/// `index item i j ...`; a missing map key gives nil.
pub fn index(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    let seq = slice_object(item);
    let item = seq.as_ref().unwrap_or(item);
    if item.is_nil() {
        return Err("index of untyped nil".into());
    }
    let mut cur = item.clone();
    for idx in indexes {
        cur = match &cur {
            Value::Nil => return Err("index of nil pointer".into()),
            Value::List(l) => {
                let x = index_arg(idx, l.len())?;
                l.get(x)
                    .cloned()
                    .ok_or("reflect: slice index out of range")?
            }
            Value::String(s) => {
                let x = index_arg(idx, s.len())?;
                let b = s
                    .as_bytes()
                    .get(x)
                    .ok_or("reflect: string index out of range")?;
                Value::Int(*b as i64)
            }
            Value::Map(m) => match idx {
                Value::String(k) => m.read().get(k.as_ref()).cloned().unwrap_or(Value::Nil),
                Value::Nil => return Err("value is nil; should be of type string".into()),
                other => {
                    return Err(format!(
                        "value has type {}; should be string",
                        go_type(other)
                    ));
                }
            },
            other => return Err(format!("can't index item of type {}", go_type(other))),
        };
    }
    Ok(cur)
}

/// `slice item [i [j [k]]]`.
pub fn slice(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    let seq = slice_object(item);
    let item = seq.as_ref().unwrap_or(item);
    if item.is_nil() {
        return Err("slice of untyped nil".into());
    }
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match item {
        Value::String(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::List(l) => l.len(),
        other => return Err(format!("can't slice item of type {}", go_type(other))),
    };
    let mut idx = [0usize, len, len];
    for (i, index) in indexes.iter().enumerate() {
        idx[i] = index_arg(index, len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(match item {
        Value::String(s) => {
            Value::from(String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]]).into_owned())
        }
        Value::List(l) => Value::list(l[idx[0]..idx[1]].to_vec()),
        _ => Value::Nil,
    })
}

/// `len item`; `boxed_nil` tells a nil read from a map (Go: a nil interface) from an untyped nil.
pub fn len(item: &Value, boxed_nil: bool) -> Result<Value, String> {
    let seq = slice_object(item);
    let item = seq.as_ref().unwrap_or(item);
    match item {
        Value::String(s) => Ok(Value::Int(s.len() as i64)),
        Value::List(l) => Ok(Value::Int(l.len() as i64)),
        Value::Map(m) => Ok(Value::Int(m.read().len() as i64)),
        Value::Nil if boxed_nil => Err("len of nil pointer".into()),
        Value::Nil => Err("reflect: call of reflect.Value.Type on zero Value".into()),
        other => Err(format!("len of type {}", go_type(other))),
    }
}

/// The text `html`, `js` and `urlquery` escape: `fmt.Sprint` of the arguments, with nil
/// printed as `<no value>` as the engine prints it.
fn eval_args(args: &[Value]) -> String {
    if let [Value::String(s)] = args {
        return s.to_string();
    }
    let printable: Vec<Value> = args
        .iter()
        .map(|a| match a {
            Value::Nil => Value::str("<no value>"),
            other => other.clone(),
        })
        .collect();
    sprint(&printable)
}

pub fn html(args: &[Value]) -> Value {
    let s = eval_args(args);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    Value::from(out)
}

pub fn js(args: &[Value]) -> Value {
    let s = eval_args(args);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u00{:02X}", c as u32)),
            c if !c.is_ascii() && !crate::gofmt::is_go_printable(c) => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    Value::from(out)
}

pub fn urlquery(args: &[Value]) -> Value {
    let s = eval_args(args);
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    Value::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eq_follows_go_basic_kinds() {
        assert_eq!(
            eq(&Value::Int(1), &[Value::Int(2), Value::Int(1)]),
            Ok(true)
        );
        assert_eq!(
            eq(&Value::Int(1), &[Value::Float(1.0)]),
            Err("incompatible types for comparison: int and float64".into())
        );
        assert_eq!(eq(&Value::Nil, &[Value::str("a")]), Ok(false));
        assert_eq!(eq(&Value::Nil, &[Value::Nil]), Ok(true));
        assert_eq!(
            eq(&Value::list(vec![]), &[Value::list(vec![])]),
            Err("non-comparable type []: []interface {}".into())
        );
    }

    #[test]
    fn lt_rejects_mixed_and_non_basic_kinds() {
        assert_eq!(lt(&Value::Int(1), &Value::Int(2)), Ok(true));
        assert_eq!(lt(&Value::str("b"), &Value::str("a")), Ok(false));
        assert_eq!(
            lt(&Value::Bool(true), &Value::Bool(false)),
            Err("invalid type for comparison".into())
        );
        assert_eq!(
            lt(&Value::Nil, &Value::Int(1)),
            Err("invalid type for comparison".into())
        );
    }

    #[test]
    fn index_and_slice() {
        let l = Value::list(vec![Value::Int(1), Value::Int(2)]);
        assert_eq!(index(&l, &[Value::Int(1)]), Ok(Value::Int(2)));
        assert_eq!(
            index(&l, &[Value::Int(3)]),
            Err("index out of range: 3".into())
        );
        assert_eq!(
            slice(&Value::str("hello"), &[Value::Int(1), Value::Int(3)]),
            Ok(Value::str("el"))
        );
    }

    #[test]
    fn escapers() {
        assert_eq!(
            html(&[Value::str("<a href='x'>")]),
            Value::str("&lt;a href=&#39;x&#39;&gt;")
        );
        assert_eq!(js(&[Value::str("a'b=c")]), Value::str("a\\'b\\u003Dc"));
        assert_eq!(urlquery(&[Value::str("a b&c")]), Value::str("a+b%26c"));
    }
}

//! `toToml` as BurntSushi/toml's encoder writes it: plain keys first, then tables and arrays
//! of tables, each level indented by two spaces, floats always with a decimal point or
//! exponent, null values left out.

use crate::gofmt::format_float_g;
use crate::value::{Map, Value};

/// The encoded text, or the encoder's error message (Helm's `toToml` returns that message as
/// its output; `mustToToml` fails with it).
pub(crate) fn to_toml(v: &Value) -> Result<String, String> {
    check(v)?;
    let mut out = String::new();
    match v {
        Value::Map(map) => table(&mut out, &map.read(), &[]),
        Value::Object(o) => return to_toml(&o.to_data()),
        other if is_table_array(other) => {
            return Err("toml: top-level values must be Go maps or structs".into());
        }
        other => {
            inline(&mut out, other);
            out.push('\n');
        }
    }
    Ok(out)
}

/// Walks the value without recursion before encoding: the encoder recurses, so nesting is
/// bounded first, and a nil inside an array is BurntSushi's error.
fn check(v: &Value) -> Result<(), String> {
    let mut problem = None;
    v.walk(|v, depth| {
        if depth > super::MAX_DEPTH {
            problem = Some(format!("toml: exceeded max depth of {}", super::MAX_DEPTH));
        } else if matches!(v, Value::List(items) if items.iter().any(Value::is_nil)) {
            problem = Some("toml: cannot encode array with nil element".into());
        }
        problem.is_none()
    });
    problem.map_or(Ok(()), Err)
}

fn is_table_array(v: &Value) -> bool {
    matches!(v, Value::List(items) if !items.is_empty() && items.iter().all(|i| matches!(i, Value::Map(_))))
}

fn table(out: &mut String, map: &Map, path: &[&str]) {
    let pad = "  ".repeat(path.len());
    for (k, v) in map.iter() {
        if v.is_nil() || matches!(v, Value::Map(_)) || is_table_array(v) {
            continue;
        }
        out.push_str(&pad);
        key(out, k);
        out.push_str(" = ");
        inline(out, v);
        out.push('\n');
    }
    // A blank line goes before every array-of-tables header but only before top-level
    // table headers, as BurntSushi/toml writes them.
    let header_pad = "  ".repeat(path.len());
    for (k, v) in map.iter() {
        let mut sub: Vec<&str> = path.to_vec();
        sub.push(k);
        let name = || {
            let mut s = String::new();
            for (n, part) in sub.iter().enumerate() {
                if n > 0 {
                    s.push('.');
                }
                key(&mut s, part);
            }
            s
        };
        match v {
            Value::Map(m) => {
                if path.is_empty() && !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(&format!("{header_pad}[{}]\n", name()));
                table(out, &m.read(), &sub);
            }
            Value::List(items) if is_table_array(v) => {
                for item in items.iter() {
                    if let Value::Map(m) = item {
                        if !out.is_empty() {
                            out.push('\n');
                        }
                        out.push_str(&format!("{header_pad}[[{}]]\n", name()));
                        table(out, &m.read(), &sub);
                    }
                }
            }
            _ => {}
        }
    }
}

fn key(out: &mut String, k: &str) {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        out.push_str(k);
    } else {
        string(out, k);
    }
}

fn inline(out: &mut String, v: &Value) {
    match v {
        Value::Nil => {}
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) if f.is_nan() => out.push_str("nan"),
        Value::Float(f) if f.is_infinite() => out.push_str(if *f > 0.0 { "inf" } else { "-inf" }),
        Value::Float(f) => {
            let s = format_float_g(*f);
            out.push_str(&s);
            if !s.contains(['.', 'e']) {
                out.push_str(".0");
            }
        }
        Value::String(s) => string(out, s),
        Value::List(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                inline(out, item);
            }
            out.push(']');
        }
        Value::Map(map) => {
            out.push('{');
            let map = map.read();
            let (direct, nested): (Vec<_>, Vec<_>) = map
                .iter()
                .filter(|(_, i)| !i.is_nil())
                .partition(|(_, i)| !matches!(i, Value::Map(_)) && !is_table_array(i));
            for (n, (k, item)) in direct.into_iter().chain(nested).enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                key(out, k);
                out.push_str(" = ");
                inline(out, item);
            }
            out.push('}');
        }
        Value::Object(o) => inline(out, &o.to_data()),
    }
}

fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

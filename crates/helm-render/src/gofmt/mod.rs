//! Go's `fmt` and `strconv` formatting of values, which decides how every value reaches a
//! rendered manifest (`{{ .Values.x }}`, `print`, `toString`, `quote`, `cat`, `printf`) and how
//! the YAML, JSON and TOML writers, the values checks and Helm's messages spell numbers and
//! strings. It sits below every other module of the crate and imports only [`crate::value`],
//! so that the engine, the serialisers and the loaders print one way.
//!
//! Byte-identical output with Helm depends on these rules, above all on `%v` of a float64:
//! shortest digits, with an exponent once it reaches 21 digits or 6 significant places
//! (`1e+06`).

mod float;
mod printf;
mod quote;

pub use float::{format_float_g, format_float_g32, format_json_float};
pub use printf::{sprint, sprintf, sprintln};
pub use quote::{go_quote, is_go_printable};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Map;

    #[test]
    fn containers_print_like_go() {
        let mut m = Map::new();
        m.insert("b".into(), Value::Int(2));
        m.insert("a".into(), Value::list(vec![Value::str("x"), Value::Nil]));
        assert_eq!(format_value(&Value::map(m)), "map[a:[x <nil>] b:2]");
    }

    #[test]
    fn types_are_named_as_percent_t_names_them() {
        assert_eq!(go_type(&Value::Nil), "<nil>");
        assert_eq!(go_type(&Value::Int(1)), "int");
        assert_eq!(go_type(&Value::list(vec![])), "[]interface {}");
        assert_eq!(go_type(&Value::map(Map::new())), "map[string]interface {}");
    }
}

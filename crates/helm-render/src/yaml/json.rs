//! JSON as Go's encoding/json writes it (`toJson`, `toPrettyJson`, `toRawJson`) and reads it
//! into `interface{}` (`fromJson`).

use super::YamlError;
use crate::gofmt::format_json_float;
use crate::value::Value;

/// How the text is laid out and escaped.
#[derive(Clone, Copy)]
pub(crate) struct Style {
    /// `json.Marshal` escapes `<`, `>` and `&` for HTML; an encoder with
    /// `SetEscapeHTML(false)` (Sprig's `toRawJson`) does not.
    pub escape_html: bool,
    /// `json.MarshalIndent(v, "", "  ")` when set.
    pub indent: bool,
}

pub(crate) fn encode(v: &Value, style: Style) -> Result<String, YamlError> {
    let mut out = String::new();
    write_value(&mut out, v, style, 0)?;
    Ok(out)
}

fn newline(out: &mut String, style: Style, depth: usize) {
    if style.indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    }
}

fn write_value(out: &mut String, v: &Value, style: Style, depth: usize) -> Result<(), YamlError> {
    if depth > super::MAX_DEPTH {
        return Err(YamlError::Marshal(format!(
            "json: exceeded max depth of {}",
            super::MAX_DEPTH
        )));
    }
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) if f.is_nan() => return Err(unsupported("NaN")),
        Value::Float(f) if f.is_infinite() => {
            return Err(unsupported(if *f > 0.0 { "+Inf" } else { "-Inf" }));
        }
        Value::Float(f) => out.push_str(&format_json_float(*f)),
        Value::String(s) => write_string(out, s, style.escape_html),
        Value::List(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                newline(out, style, depth + 1);
                write_value(out, item, style, depth + 1)?;
            }
            if !items.is_empty() {
                newline(out, style, depth);
            }
            out.push(']');
        }
        Value::Map(map) => {
            let map = map.read();
            out.push('{');
            for (n, (k, item)) in map.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                newline(out, style, depth + 1);
                write_string(out, k, style.escape_html);
                out.push(':');
                if style.indent {
                    out.push(' ');
                }
                write_value(out, item, style, depth + 1)?;
            }
            if !map.is_empty() {
                newline(out, style, depth);
            }
            out.push('}');
        }
        Value::Object(o) => write_value(out, &o.to_data(), style, depth)?,
    }
    Ok(())
}

fn unsupported(what: &str) -> YamlError {
    YamlError::Marshal(format!("json: unsupported value: {what}"))
}

/// encoding/json's string escaping: control characters, quotes, backslash, U+2028/U+2029,
/// and optionally the HTML-sensitive `<`, `>`, `&`.
fn write_string(out: &mut String, s: &str, escape_html: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
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
            '<' | '>' | '&' if escape_html => {
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 0xf] as char);
            }
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 0xf] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Reads JSON as `json.Unmarshal` does into the given Go type, every number a float64.
pub(crate) fn decode(text: &str, target: super::JsonTarget) -> Result<Value, String> {
    use super::JsonTarget;
    let (value, range_error) = super::json_decode::decode(text)?;
    let go_type = match (&target, &value) {
        (JsonTarget::Any, _)
        | (_, Value::Nil)
        | (JsonTarget::Map, Value::Map(_))
        | (JsonTarget::List, Value::List(_)) => None,
        (JsonTarget::Map, _) => Some("map[string]interface {}"),
        (JsonTarget::List, _) => Some("[]interface {}"),
    };
    if let Some(go_type) = go_type {
        return Err(format!(
            "json: cannot unmarshal {} into Go value of type {go_type}",
            super::json_kind(&value)
        ));
    }
    match range_error {
        Some(e) => Err(e),
        None => Ok(value),
    }
}

//! YAML, JSON and TOML exactly as Helm reads and writes them.
//!
//! Helm reads values files, `Chart.yaml` and `fromYaml` input with sigs.k8s.io/yaml: go-yaml v2
//! (YAML 1.1 scalars), keys made strings, then a JSON round trip so that every number is a
//! float64. It writes `toYaml` as encoding/json output re-read and re-emitted by go-yaml v2.
//! Matching both ends byte for byte is what makes rendered manifests identical to Helm's.

mod emit;
mod json;
mod json_decode;
mod parse;
mod quick;
pub(crate) mod resolve;
mod toml;
mod toml_decode;

pub(crate) use json_decode::decode_prefix as decode_json_prefix;
pub use parse::MAX_DEPTH;

use crate::value::Value;

/// Why YAML could not be read or written. The texts follow sigs.k8s.io/yaml's wrapping so
/// that messages read like Helm's; syntax errors also carry the position.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum YamlError {
    #[error("error converting YAML to JSON: yaml: line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("error converting YAML to JSON: {0}")]
    Convert(String),
    /// A values file (or `fromYaml` input) whose top level is not a map.
    #[error(
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {0} into Go value of type map[string]interface {{}}"
    )]
    NotAMap(&'static str),
    /// A top-level value that is not a list where one is required (`fromYamlArray`).
    #[error(
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {0} into Go value of type []interface {{}}"
    )]
    NotAList(&'static str),
    /// The value cannot be written (encoding/json rejects NaN and infinities).
    #[error("error marshaling into JSON: {0}")]
    Marshal(String),
}

/// Parses the first YAML document of `text` into a value of any type; an empty document is
/// nil. Later documents are ignored, as go-yaml's `Unmarshal` does.
pub fn parse_value(text: &str) -> Result<Value, YamlError> {
    Ok(parse::parse(text, 1, false)?
        .into_iter()
        .next()
        .unwrap_or(Value::Nil))
}

/// Like [`parse_value`] but integers stay `Value::Int`: for YAML decoded into Go structs
/// (`Chart.yaml`), where sigs.k8s.io/yaml turns a number bound for a string field into text
/// by its YAML type (see [`struct_string`]) before any JSON float64 conversion.
pub fn parse_value_typed(text: &str) -> Result<Value, YamlError> {
    Ok(parse::parse(text, 1, true)?
        .into_iter()
        .next()
        .unwrap_or(Value::Nil))
}

/// [`parse_value_typed`] of a rendered manifest, for what Helm's manifest sorter reads of it
/// (`apiVersion`, `kind`, `metadata.name`, `metadata.annotations`): those are as the full
/// reading has them and the errors are its errors, but the rest of the document may be left
/// out (it is checked, not built), which on large documents is most of the cost.
pub fn parse_manifest_head(text: &str) -> Result<Value, YamlError> {
    parse::parse_head(text)
}

/// Whether [`parse_manifest_head`] settles `text` with its line-at-a-time check rather than
/// a YAML scanner: for the tests that hold the check to the full reading on real manifests.
#[doc(hidden)]
pub fn manifest_head_checked_by_lines(text: &str) -> bool {
    quick::check(text).is_some()
}

/// The text sigs.k8s.io/yaml stores into a Go `string` struct field (or a
/// `map[string]string` value) for a scalar from [`parse_value_typed`]: an int in decimal, a
/// float with float32 precision (`1.10` → `1.1`), a bool as a word; `None` for null and
/// collections.
pub fn struct_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.to_string()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(crate::gofmt::format_float_g32(*f as f32)),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Parses every document of a stream (anchors do not cross documents).
pub fn parse_documents(text: &str) -> Result<Vec<Value>, YamlError> {
    parse::parse(text, usize::MAX, false)
}

/// The JSON type name encoding/json reports when it cannot decode into a map or slice.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Int(_) | Value::Float(_) => "number",
        Value::String(_) => "string",
        Value::List(_) => "array",
        _ => "object",
    }
}

/// Parses a values file (also `Chart.yaml` and `fromYaml` input): a map, where an empty
/// document or `null` is an empty map, and anything else fails with Helm's error.
pub fn parse_values(text: &str) -> Result<Value, YamlError> {
    match parse_value(text)? {
        Value::Nil => Ok(Value::map(Default::default())),
        v @ Value::Map(_) => Ok(v),
        other => Err(YamlError::NotAMap(json_kind(&other))),
    }
}

/// Parses `fromYamlArray` input: a list, where an empty document or `null` is an empty list.
pub fn parse_list(text: &str) -> Result<Value, YamlError> {
    match parse_value(text)? {
        Value::Nil => Ok(Value::list(Vec::new())),
        v @ Value::List(_) => Ok(v),
        other => Err(YamlError::NotAList(json_kind(&other))),
    }
}

/// Nesting up to which the recursive writers run on the caller's stack.
const SHALLOW_NESTING: usize = 64;
/// The stack for writing deeper values (up to [`MAX_DEPTH`]); it is reserved, not touched,
/// so only the pages a deep value really needs are used.
const DEEP_STACK_BYTES: usize = 256 << 20;

fn nesting_exceeds(v: &Value, limit: usize) -> bool {
    !v.walk(|_, depth| depth <= limit)
}

/// Runs a recursive writer, on a thread with a large stack when the value is deeply nested
/// (a small thread stack, such as a test's or an async worker's, would overflow otherwise).
/// `None` when that thread could not be started.
fn on_deep_stack<R: Send>(v: &Value, write: impl FnOnce() -> R + Send) -> Option<R> {
    if !nesting_exceeds(v, SHALLOW_NESTING) {
        return Some(write());
    }
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("deep-value-writer".into())
            .stack_size(DEEP_STACK_BYTES)
            .spawn_scoped(scope, write)
            .ok()?
            .join()
            .ok()
    })
}

fn no_thread() -> YamlError {
    YamlError::Marshal("cannot start a thread to write a deeply nested value".into())
}

/// `sigs.k8s.io/yaml.Marshal`: the text `toYaml` shows, before Helm trims the final newline.
pub fn to_yaml(v: &Value) -> Result<String, YamlError> {
    on_deep_stack(v, || emit::to_yaml(v, emit::Dialect::SigsV2)).unwrap_or_else(|| Err(no_thread()))
}

/// go-yaml v3's encoder with a 2-space indent, as Helm's `toYamlPretty` uses it.
pub fn to_yaml_pretty(v: &Value) -> Result<String, YamlError> {
    on_deep_stack(v, || emit::to_yaml(v, emit::Dialect::PrettyV3))
        .unwrap_or_else(|| Err(no_thread()))
}

fn json_encode(v: &Value, style: json::Style) -> Result<String, YamlError> {
    on_deep_stack(v, || json::encode(v, style)).unwrap_or_else(|| Err(no_thread()))
}

/// `json.Marshal`, as `toJson` uses it: sorted keys, `<`, `>` and `&` escaped.
pub fn to_json(v: &Value) -> Result<String, YamlError> {
    json_encode(
        v,
        json::Style {
            escape_html: true,
            indent: false,
        },
    )
}

/// `json.MarshalIndent(v, "", "  ")`, as `toPrettyJson` uses it.
pub fn to_json_pretty(v: &Value) -> Result<String, YamlError> {
    json_encode(
        v,
        json::Style {
            escape_html: true,
            indent: true,
        },
    )
}

/// An encoder without HTML escaping, as Sprig's `toRawJson` uses it.
pub fn to_json_raw(v: &Value) -> Result<String, YamlError> {
    json_encode(
        v,
        json::Style {
            escape_html: false,
            indent: false,
        },
    )
}

/// The Go type `json.Unmarshal` decodes into.
pub enum JsonTarget {
    /// `interface{}` (Sprig's `mustFromJson`).
    Any,
    /// `map[string]interface{}` (`fromJson`); `null` gives a nil map.
    Map,
    /// `[]interface{}` (`fromJsonArray`); `null` gives a nil slice.
    List,
}

/// `json.Unmarshal`: every number a float64, errors worded as encoding/json words them.
pub fn from_json(text: &str, target: JsonTarget) -> Result<Value, String> {
    json::decode(text, target)
}

/// BurntSushi/toml's encoder, as Helm's `toToml` uses it; the error is the encoder's message.
pub fn to_toml(v: &Value) -> Result<String, String> {
    on_deep_stack(v, || toml::to_toml(v)).unwrap_or_else(|| Err(no_thread().to_string()))
}

/// BurntSushi/toml's decoder into `map[string]interface{}`, as Helm's `fromToml` uses it.
pub fn from_toml(text: &str) -> Result<Value, String> {
    toml_decode::decode(text)
}

#[cfg(test)]
mod tests;

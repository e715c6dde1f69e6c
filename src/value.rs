//! The dynamic value model shared by chart loading, values coalescing and the template engine.
//!
//! It mirrors what Helm's Go code sees at render time: values parsed from YAML or JSON become
//! `map[string]interface{}`, `[]interface{}`, `string`, `bool`, `float64` (every number!) and
//! `nil`; `--set` and template literals produce `int64`. Keeping ints and floats distinct is what
//! makes `{{ 1000000 }}` print `1000000` while a values number prints `1e+06`.
//!
//! Maps are `BTreeMap`s because Go's text/template ranges over map keys in sorted byte order,
//! and deterministic renders (NFR-002) need a deterministic container. Everything is behind
//! `Arc` so that a chart's parsed defaults can be shared by concurrent renders without copying.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// A map as Go's `map[string]interface{}`: sorted by key bytes.
pub type Map = BTreeMap<String, Value>;

#[derive(Clone, Default)]
pub enum Value {
    /// Go's untyped `nil` (a missing map entry under `missingkey=zero` is also this).
    #[default]
    Nil,
    Bool(bool),
    /// Go `int`/`int64`: template literals, `--set` numbers, results of integer functions.
    Int(i64),
    /// Go `float64`: every number that came from YAML or JSON.
    Float(f64),
    String(Arc<str>),
    List(Arc<Vec<Value>>),
    Map(Arc<Map>),
    /// A Go struct or typed value with fields and methods: `.Files`, `.Capabilities`,
    /// `.Chart`, a parsed semver, … The engine reaches it only through [`Object`].
    Object(Arc<dyn Object>),
}

/// Dropping a value takes its nested maps and lists apart one level at a time, so that a
/// deeply nested value (a template can build one in a loop; Go's growable stacks cope with
/// it) does not overflow the stack with one recursive drop per level.
impl Drop for Value {
    fn drop(&mut self) {
        // Most values dropped during a render are scalars or containers still shared with
        // the chart's values; only a container this drop frees can hold a deep structure.
        let frees_container = match self {
            Value::Map(m) => Arc::strong_count(m) == 1,
            Value::List(l) => Arc::strong_count(l) == 1,
            _ => false,
        };
        if !frees_container {
            return;
        }
        let mut pending = Vec::new();
        take_nested(self, &mut pending);
        while let Some(mut v) = pending.pop() {
            take_nested(&mut v, &mut pending);
        }
    }
}

/// Moves the children of an unshared container holding further containers into `out`,
/// leaving the container empty; a container of scalars is left to drop as it is.
fn take_nested(v: &mut Value, out: &mut Vec<Value>) {
    let nested = |c: &Value| matches!(c, Value::Map(_) | Value::List(_));
    match v {
        Value::Map(m) => {
            if let Some(m) = Arc::get_mut(m)
                && m.values().any(nested)
            {
                out.extend(std::mem::take(m).into_values());
            }
        }
        Value::List(l) => {
            if let Some(l) = Arc::get_mut(l)
                && l.iter().any(nested)
            {
                out.append(l);
            }
        }
        _ => {}
    }
}

/// What the engine needs from a Go struct-like value. Field and method names are Go's exported
/// (capitalised) names, e.g. `.Capabilities.KubeVersion.Major` or `.Files.Get "a.txt"`.
pub trait Object: Send + Sync {
    /// The Go type name, as `typeOf` and error messages show it (e.g. `*semver.Version`).
    fn type_name(&self) -> &str;
    /// A field or a method taking no arguments; `None` when the name does not exist.
    fn field(&self, name: &str) -> Option<Value>;
    /// A method called with arguments; `None` when there is no such method.
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let _ = (name, args);
        None
    }
    /// How `fmt`'s `%v` prints it (a Go `String()` method where the type has one).
    fn display(&self) -> String;
    /// The value `toYaml`/`toJson` serialise (Go's JSON encoding of the struct).
    fn to_data(&self) -> Value {
        Value::Nil
    }
}

impl Value {
    pub fn str(s: &str) -> Value {
        Value::String(Arc::from(s))
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Arc::new(items))
    }

    pub fn map(map: Map) -> Value {
        Value::Map(Arc::new(map))
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// Go's notion of the "zero"/empty value used by `if`, `default`, `empty`, `and`, `or`:
    /// false, 0, "", nil, and empty lists and maps are not truthy.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Object(_) => true,
        }
    }

    /// Go's `reflect.Kind` name as Sprig's `kindOf` reports it.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Object(_) => "ptr",
        }
    }

    /// A map's entry, or `None` for a missing key or a non-map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map().and_then(|m| m.get(key))
    }

    /// Converts to `serde_json::Value` for JSON Schema validation and the JSON wire formats.
    /// Objects serialise through [`Object::to_data`]; a non-finite float becomes `null`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Nil => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::String(s) => J::String(s.to_string()),
            Value::List(l) => J::Array(l.iter().map(Value::to_json).collect()),
            Value::Map(m) => J::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
            Value::Object(o) => o.to_data().to_json(),
        }
    }

    /// Converts from JSON the way Go's `encoding/json` decodes into `interface{}`: every
    /// number becomes a float64.
    pub fn from_json(json: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match json {
            J::Null => Value::Nil,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
            J::String(s) => Value::str(s),
            J::Array(a) => Value::list(a.iter().map(Value::from_json).collect()),
            J::Object(o) => Value::map(
                o.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::str(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(Arc::from(s))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}

impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::map(m)
    }
}

impl From<Vec<Value>> for Value {
    fn from(l: Vec<Value>) -> Self {
        Value::list(l)
    }
}

/// Structural equality as Go's `reflect.DeepEqual` sees it: an int and a float are different.
impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a == b,
            (Value::Object(a), Value::Object(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => write!(f, "nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}f"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::List(l) => f.debug_list().entries(l.iter()).finish(),
            Value::Map(m) => f.debug_map().entries(m.iter()).finish(),
            Value::Object(o) => write!(f, "<{}>", o.type_name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_and_floats_are_distinct_like_go_deep_equal() {
        assert_ne!(Value::Int(1), Value::Float(1.0));
        assert_eq!(Value::Float(1.0), Value::Float(1.0));
    }

    #[test]
    fn json_numbers_decode_as_float64() {
        let v = Value::from_json(&serde_json::json!({"a": 3, "b": [1, "x"]}));
        assert_eq!(v.get("a"), Some(&Value::Float(3.0)));
        assert_eq!(
            v.get("b").and_then(Value::as_list).map(<[Value]>::len),
            Some(2)
        );
    }

    #[test]
    fn dropping_a_deeply_nested_value_does_not_overflow_the_stack() {
        // A template loop can nest dicts and lists this deep; a recursive drop needs
        // hundreds of bytes of stack per level, far more than this thread has.
        let dropped = std::thread::Builder::new()
            .stack_size(128 * 1024)
            .spawn(|| {
                let mut v = Value::Int(1);
                for i in 0..200_000 {
                    v = if i % 2 == 0 {
                        Value::list(vec![v, Value::str("x")])
                    } else {
                        let mut m = Map::new();
                        m.insert("a".into(), v);
                        Value::map(m)
                    };
                }
                drop(v);
            })
            .map(|t| t.join().is_ok());
        assert_eq!(dropped.ok(), Some(true));
    }

    #[test]
    fn truthiness_follows_go_zero_values() {
        for falsy in [
            Value::Nil,
            Value::Bool(false),
            Value::Int(0),
            Value::Float(0.0),
            Value::str(""),
            Value::list(vec![]),
            Value::map(Map::new()),
        ] {
            assert!(!falsy.is_truthy(), "{falsy:?} should be falsy");
        }
        assert!(Value::str("0").is_truthy());
    }
}

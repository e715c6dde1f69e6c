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
//!
//! A Go map is a reference: `set`, `unset` and `merge` change the one map that every holder
//! sees, whether it reached it through a variable, `with`, `range`, `index` or a `dict` value,
//! and `merge` puts a missing nested map into its destination by reference. [`MapRef`] gives
//! maps that identity. A map that is never changed (nearly all of them) is read without a
//! lock; the first change moves its entries behind one. A render deep-copies its values
//! first ([`Value::deep_copy`]), so that what one render changes no other render can see.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, OnceLock, PoisonError, RwLock, RwLockReadGuard, Weak};

/// How deep [`Value::deep_copy`] goes: far deeper than values documents may be, bounded
/// because a template can build a map that holds itself.
pub const MAX_COPY_DEPTH: usize = 100_000;

/// A map's entries as Go's `map[string]interface{}` holds them: sorted by key bytes.
pub type Map = BTreeMap<String, Value>;

/// A Go map: cloning it gives another reference to the same map, as assigning one does in Go.
#[derive(Clone)]
pub struct MapRef(Arc<MapCell>);

struct MapCell {
    /// The entries the map was made with, read without locking while the map is unchanged.
    initial: Map,
    /// Set by the first change; from then on the entries live here. Boxed so that the many
    /// maps that never change pay one pointer for it.
    changed: OnceLock<Box<RwLock<Map>>>,
}

/// A copy is a new, unchanged map with the same entries.
impl Clone for MapCell {
    fn clone(&self) -> Self {
        MapCell {
            initial: MapRef::current(self).clone(),
            changed: OnceLock::new(),
        }
    }
}

/// The entries of a map as they are now; dropping it lets the map be changed again.
pub enum MapRead<'a> {
    Unchanged(&'a Map),
    Changed(RwLockReadGuard<'a, Map>),
}

impl Deref for MapRead<'_> {
    type Target = Map;
    fn deref(&self) -> &Map {
        match self {
            MapRead::Unchanged(m) => m,
            MapRead::Changed(g) => g,
        }
    }
}

/// A map reference that does not keep the map alive (for caches keyed by map identity).
pub struct WeakMapRef(Weak<MapCell>);

impl WeakMapRef {
    pub fn upgrade(&self) -> Option<MapRef> {
        self.0.upgrade().map(MapRef)
    }

    /// Whether the map still exists (so its address names no other map).
    pub fn is_alive(&self) -> bool {
        self.0.strong_count() > 0
    }
}

impl MapRef {
    pub fn new(entries: Map) -> MapRef {
        MapRef(Arc::new(MapCell {
            initial: entries,
            changed: OnceLock::new(),
        }))
    }

    /// The entries. Hold the result only while reading: a change to this map made while it
    /// is held would wait for it forever, so nothing that can run a template may happen then.
    pub fn read(&self) -> MapRead<'_> {
        MapRef::current(&self.0)
    }

    fn current(cell: &MapCell) -> MapRead<'_> {
        match cell.changed.get() {
            None => MapRead::Unchanged(&cell.initial),
            Some(lock) => MapRead::Changed(lock.read().unwrap_or_else(PoisonError::into_inner)),
        }
    }

    /// Changes the map in place, for every holder. `change` must not read or change this
    /// map through another reference (take what it needs from other maps beforehand).
    pub fn update<R>(&self, change: impl FnOnce(&mut Map) -> R) -> R {
        let lock = self
            .0
            .changed
            .get_or_init(|| Box::new(RwLock::new(self.0.initial.clone())));
        let mut entries = lock.write().unwrap_or_else(PoisonError::into_inner);
        change(&mut entries)
    }

    /// The entries to change as a value, copied first when the map is shared (like
    /// `Arc::make_mut`), so no other holder sees the change: for code that builds values
    /// (coalescing, `--set`), not for a template's maps, whose changes every holder sees.
    pub fn make_mut(&mut self) -> &mut Map {
        let cell = Arc::make_mut(&mut self.0);
        match cell.changed.get_mut() {
            Some(lock) => lock.get_mut().unwrap_or_else(PoisonError::into_inner),
            None => &mut cell.initial,
        }
    }

    /// The entries, taken without a copy when no one else holds the map.
    pub fn into_entries(mut self) -> Map {
        self.take_unique().unwrap_or_else(|| self.entries())
    }

    /// A copy of the entries (the nested maps still shared).
    pub fn entries(&self) -> Map {
        self.read().clone()
    }

    /// Whether both are the same Go map.
    pub fn ptr_eq(&self, other: &MapRef) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The map's identity as a number, for tables keyed by map.
    pub fn addr(&self) -> usize {
        Arc::as_ptr(&self.0) as *const () as usize
    }

    pub fn downgrade(&self) -> WeakMapRef {
        WeakMapRef(Arc::downgrade(&self.0))
    }

    /// Whether this is the only reference, so dropping it frees the map.
    fn is_unique(&self) -> bool {
        Arc::strong_count(&self.0) == 1
    }

    /// The entries of a map no one else holds, leaving it empty.
    fn take_unique(&mut self) -> Option<Map> {
        let cell = Arc::get_mut(&mut self.0)?;
        Some(match cell.changed.get_mut() {
            Some(lock) => std::mem::take(lock.get_mut().unwrap_or_else(PoisonError::into_inner)),
            None => std::mem::take(&mut cell.initial),
        })
    }
}

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
    Map(MapRef),
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
            Value::Map(m) => m.is_unique(),
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
            if m.read().values().any(nested)
                && let Some(entries) = m.take_unique()
            {
                out.extend(entries.into_values());
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
    /// What ranging, `len` and `index` see of a Go slice or map type: by default its data.
    fn elements(&self) -> Value {
        self.to_data()
    }
    /// The bytes of a Go `[]byte`, which formatting and Sprig's `toString` read as text.
    fn bytes(&self) -> Option<&[u8]> {
        None
    }
}

/// A Go `[]byte`, as `.Files.GetBytes` and ranging over `.Files.Glob` give it: a slice of
/// numbers to `%v`, `len` and `index`, text to `toString`, `%s` and `quote`, base64 to JSON.
pub struct Bytes(pub Arc<[u8]>);

impl Object for Bytes {
    fn type_name(&self) -> &str {
        "[]uint8"
    }

    fn field(&self, _name: &str) -> Option<Value> {
        None
    }

    fn display(&self) -> String {
        let numbers: Vec<String> = self.0.iter().map(u8::to_string).collect();
        format!("[{}]", numbers.join(" "))
    }

    fn to_data(&self) -> Value {
        use base64::Engine as _;
        Value::from(base64::engine::general_purpose::STANDARD.encode(&self.0))
    }

    fn elements(&self) -> Value {
        Value::list(self.0.iter().map(|&b| Value::Int(i64::from(b))).collect())
    }

    fn bytes(&self) -> Option<&[u8]> {
        Some(&self.0)
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
        Value::Map(MapRef::new(map))
    }

    /// The same value with every map in it a new one, as Sprig's `deepCopy` makes it, and as
    /// a render takes its values: nothing changed in the copy is seen through the original,
    /// and the other way round. Lists are copied too, since they may hold maps. `None` for a
    /// value nested deeper than [`MAX_COPY_DEPTH`] (a map can hold itself).
    pub fn deep_copy(&self) -> Option<Value> {
        self.copy_below(0)
    }

    fn copy_below(&self, depth: usize) -> Option<Value> {
        if depth > MAX_COPY_DEPTH {
            return None;
        }
        let copy =
            |v: &Value| stacker::maybe_grow(64 * 1024, 1024 * 1024, || v.copy_below(depth + 1));
        Some(match self {
            Value::Map(m) => Value::map(
                m.read()
                    .iter()
                    .map(|(k, v)| Some((k.clone(), copy(v)?)))
                    .collect::<Option<Map>>()?,
            ),
            Value::List(l)
                if l.iter()
                    .any(|v| matches!(v, Value::Map(_) | Value::List(_))) =>
            {
                Value::list(l.iter().map(copy).collect::<Option<Vec<_>>>()?)
            }
            other => other.clone(),
        })
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

    pub fn as_map(&self) -> Option<MapRead<'_>> {
        match self {
            Value::Map(m) => Some(m.read()),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// Visits this value and every value inside it, depth first and without recursion, with
    /// its nesting depth; a `false` from `visit` stops the walk there, and the walk's result
    /// says whether it ran to the end. A map can hold itself (`set $m "self" $m`), so callers
    /// bound the depth.
    pub fn walk(&self, mut visit: impl FnMut(&Value, usize) -> bool) -> bool {
        let mut stack: Vec<(Cow<'_, Value>, usize)> = vec![(Cow::Borrowed(self), 0)];
        while let Some((v, depth)) = stack.pop() {
            if !visit(&v, depth) {
                return false;
            }
            match &v {
                Cow::Borrowed(Value::List(items)) => {
                    stack.extend(items.iter().map(|i| (Cow::Borrowed(i), depth + 1)))
                }
                Cow::Borrowed(Value::Map(m)) => match m.read() {
                    MapRead::Unchanged(m) => {
                        stack.extend(m.values().map(|i| (Cow::Borrowed(i), depth + 1)))
                    }
                    MapRead::Changed(m) => {
                        stack.extend(m.values().map(|i| (Cow::Owned(i.clone()), depth + 1)))
                    }
                },
                Cow::Owned(Value::List(items)) => {
                    stack.extend(items.iter().map(|i| (Cow::Owned(i.clone()), depth + 1)))
                }
                Cow::Owned(Value::Map(m)) => stack.extend(
                    m.read()
                        .values()
                        .map(|i| (Cow::Owned(i.clone()), depth + 1)),
                ),
                _ => {}
            }
        }
        true
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
            Value::Map(m) => !m.read().is_empty(),
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
            Value::Object(o) if o.bytes().is_some() => "slice",
            Value::Object(_) => "ptr",
        }
    }

    /// A map's entry, or `None` for a missing key or a non-map.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.as_map().and_then(|m| m.get(key).cloned())
    }

    /// The value at a path of map keys, or `None` where a step is missing or not a map.
    pub fn at(&self, path: &[&str]) -> Option<Value> {
        let (first, rest) = path.split_first()?;
        let mut cur = self.get(first)?;
        for key in rest {
            cur = cur.get(key)?;
        }
        Some(cur)
    }

    /// The string at a path of map keys (see [`Value::at`]).
    pub fn str_at(&self, path: &[&str]) -> Option<String> {
        self.at(path)?.as_str().map(str::to_string)
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
            Value::Map(m) => J::Object(
                m.read()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
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
            (Value::Map(a), Value::Map(b)) => a.ptr_eq(b) || *a.read() == *b.read(),
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
            Value::Map(m) => f.debug_map().entries(m.read().iter()).finish(),
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
        assert_eq!(v.get("a"), Some(Value::Float(3.0)));
        assert_eq!(
            v.get("b")
                .as_ref()
                .and_then(Value::as_list)
                .map(<[Value]>::len),
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

//! Argument checks with Go's wording. Go's text/template converts arguments by reflection
//! against each function's Go signature, so a `func(string) string` given an int fails with
//! "wrong type for value; expected string; got int"; these helpers reproduce that.

use super::FuncError;
use crate::gofmt::go_type;
use crate::value::{MapRead, MapRef, Value};

/// Fails unless exactly `want` arguments were given.
pub fn arity(name: &str, args: &[Value], want: usize) -> Result<(), FuncError> {
    if args.len() == want {
        Ok(())
    } else {
        Err(FuncError(format!(
            "wrong number of args for {name}: want {want} got {}",
            args.len()
        )))
    }
}

/// A `string` parameter: only a string is accepted, as Go's reflection demands.
pub fn string_arg(args: &[Value], index: usize) -> Result<&str, FuncError> {
    match args.get(index) {
        Some(Value::String(s)) => Ok(s),
        other => Err(wrong_type("string", other)),
    }
}

/// Fails unless at least `want` arguments were given (a Go variadic function).
pub fn arity_at_least(name: &str, args: &[Value], want: usize) -> Result<(), FuncError> {
    if args.len() >= want {
        Ok(())
    } else {
        Err(FuncError(format!(
            "wrong number of args for {name}: want at least {want} got {}",
            args.len()
        )))
    }
}

/// Go's reflection error for an argument of the wrong type. A nil from the values reaches a
/// function as an `interface {}` holding nil, hence "got interface {}" (a literal `nil` would
/// say "cannot assign nil to string", but that is caught where literals are known).
fn wrong_type(expected: &str, got: Option<&Value>) -> FuncError {
    match got {
        None => FuncError(format!("invalid value; expected {expected}")),
        Some(Value::Nil) => FuncError(format!(
            "wrong type for value; expected {expected}; got interface {{}}"
        )),
        Some(other) => FuncError(format!(
            "wrong type for value; expected {expected}; got {}",
            go_type(other)
        )),
    }
}

/// An `int` parameter. Go's reflection does not convert: a float64 from the values (or nil)
/// is rejected, which is why charts wrap such values in `int`.
pub fn int_arg(args: &[Value], index: usize) -> Result<i64, FuncError> {
    match args.get(index) {
        Some(Value::Int(i)) => Ok(*i),
        other => Err(wrong_type("int", other)),
    }
}

/// A `bool` parameter.
pub fn bool_arg(args: &[Value], index: usize) -> Result<bool, FuncError> {
    match args.get(index) {
        Some(Value::Bool(b)) => Ok(*b),
        other => Err(wrong_type("bool", other)),
    }
}

/// A `map[string]interface{}` parameter (a nil from the values is rejected, as in Go), to
/// read. The entries are locked while the result lives, so a function that changes a map
/// takes it with [`map_ref_arg`] instead.
pub fn map_arg(args: &[Value], index: usize) -> Result<MapRead<'_>, FuncError> {
    map_ref_arg(args, index).map(MapRef::read)
}

/// A `map[string]interface{}` parameter as the Go map itself, for functions that change it.
pub fn map_ref_arg(args: &[Value], index: usize) -> Result<&MapRef, FuncError> {
    match args.get(index) {
        Some(Value::Map(m)) => Ok(m),
        other => Err(wrong_type("map[string]interface {}", other)),
    }
}

/// The `...string` tail of a variadic function, from `from` on.
pub fn string_args(args: &[Value], from: usize) -> Result<Vec<&str>, FuncError> {
    (from..args.len()).map(|i| string_arg(args, i)).collect()
}

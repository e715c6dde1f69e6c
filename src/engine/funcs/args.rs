//! Argument checks with Go's wording. Go's text/template converts arguments by reflection
//! against each function's Go signature, so a `func(string) string` given an int fails with
//! "wrong type for value; expected string; got int"; these helpers reproduce that.

use super::FuncError;
use crate::value::Value;

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

/// The Go type name of a value as reflection errors print it.
pub fn go_type_name(v: &Value) -> String {
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

/// A `string` parameter: only a string is accepted, as Go's reflection demands.
pub fn string_arg(args: &[Value], index: usize) -> Result<&str, FuncError> {
    match args.get(index) {
        Some(Value::String(s)) => Ok(s),
        Some(Value::Nil) | None => Err(FuncError("invalid value; expected string".into())),
        Some(other) => Err(FuncError(format!(
            "wrong type for value; expected string; got {}",
            go_type_name(other)
        ))),
    }
}

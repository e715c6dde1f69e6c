//! Sprig's list functions.
//!
//! Sprig's plain and `must*` forms differ only in that the plain one panics; Go's template
//! engine turns a function's panic into the same call error the `must*` form returns, so both
//! share one implementation here. Sprig finds the kind with `reflect.TypeOf(list).Kind()`,
//! which dereferences a nil type for a nil list: that is the runtime error both forms give.

use super::defaults::is_empty;
use super::{CallContext, FuncError, FuncResult, Function, arity, arity_at_least, int_arg};
use crate::engine::builtins::slice_object;
use crate::value::Value;
use std::borrow::Cow;

pub fn get(name: &str) -> Option<Function> {
    Some(match name {
        "list" | "tuple" => list,
        "first" | "mustFirst" => first,
        "rest" | "mustRest" => rest,
        "last" | "mustLast" => last,
        "initial" | "mustInitial" => initial,
        "append" | "push" | "mustAppend" | "mustPush" => append,
        "prepend" | "mustPrepend" => prepend,
        "concat" => concat,
        "reverse" | "mustReverse" => reverse,
        "uniq" | "mustUniq" => uniq,
        "without" | "mustWithout" => without,
        "has" | "mustHas" => has,
        "compact" | "mustCompact" => compact,
        "slice" | "mustSlice" => slice,
        "chunk" | "mustChunk" => chunk,
        "until" => until,
        "untilStep" => until_step,
        "dig" => dig,
        _ => return None,
    })
}

/// The panic Go raises when Sprig asks a nil interface for its kind.
pub(crate) fn nil_deref() -> FuncError {
    FuncError::new("runtime error: invalid memory address or nil pointer dereference")
}

/// The list argument, or Sprig's "Cannot … KIND" error (`what` is the middle part). Sprig
/// asks reflection for the kind, so a Go slice type of Helm's own counts as a list too:
/// `has "monitoring.coreos.com/v1" .Capabilities.APIVersions` searches the `VersionSet`.
fn list_arg<'a>(v: &'a Value, what: &str) -> Result<Cow<'a, [Value]>, FuncError> {
    match v {
        Value::List(items) => Ok(Cow::Borrowed(items)),
        Value::Nil => Err(nil_deref()),
        Value::Object(_) => match slice_object(v) {
            Some(Value::List(ref items)) => Ok(Cow::Owned(items.to_vec())),
            Some(Value::Map(_)) => Err(FuncError(format!("Cannot {what} map"))),
            _ => Err(FuncError(format!("Cannot {what} {}", v.kind_name()))),
        },
        other => Err(FuncError(format!("Cannot {what} {}", other.kind_name()))),
    }
}

fn list(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    Ok(Value::list(args.to_vec()))
}

fn first(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("first", args, 1)?;
    let items = list_arg(&args[0], "find first on type")?;
    Ok(items.first().cloned().unwrap_or_default())
}

fn last(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("last", args, 1)?;
    let items = list_arg(&args[0], "find last on type")?;
    Ok(items.last().cloned().unwrap_or_default())
}

fn rest(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("rest", args, 1)?;
    match &*list_arg(&args[0], "find rest on type")? {
        [] => Ok(Value::list(Vec::new())),
        [_, tail @ ..] => Ok(Value::list(tail.to_vec())),
    }
}

fn initial(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("initial", args, 1)?;
    match &*list_arg(&args[0], "find initial on type")? {
        [] => Ok(Value::list(Vec::new())),
        [head @ .., _] => Ok(Value::list(head.to_vec())),
    }
}

fn append(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("append", args, 2)?;
    let mut items = list_arg(&args[0], "push on type")?.to_vec();
    items.push(args[1].clone());
    Ok(Value::list(items))
}

fn prepend(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("prepend", args, 2)?;
    let items = list_arg(&args[0], "prepend on type")?;
    let mut out = Vec::with_capacity(items.len() + 1);
    out.push(args[1].clone());
    out.extend_from_slice(&items);
    Ok(Value::list(out))
}

fn concat(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    let mut out = Vec::new();
    for arg in args {
        match arg {
            Value::List(items) => out.extend_from_slice(items),
            Value::Nil => return Err(nil_deref()),
            other => {
                return Err(FuncError(format!(
                    "Cannot concat type {} as list",
                    other.kind_name()
                )));
            }
        }
    }
    Ok(Value::list(out))
}

fn reverse(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("reverse", args, 1)?;
    let items = list_arg(&args[0], "find reverse on type")?;
    Ok(Value::list(items.iter().rev().cloned().collect()))
}

/// Duplicates by `reflect.DeepEqual`: `1` and `1.0` are different.
fn uniq(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("uniq", args, 1)?;
    let items = list_arg(&args[0], "find uniq on type")?;
    let mut out: Vec<Value> = Vec::new();
    for item in items.iter() {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    Ok(Value::list(out))
}

fn without(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity_at_least("without", args, 1)?;
    let items = list_arg(&args[0], "find without on type")?;
    let omit = &args[1..];
    Ok(Value::list(
        items
            .iter()
            .filter(|i| !omit.contains(i))
            .cloned()
            .collect(),
    ))
}

/// `has NEEDLE LIST`; a nil list holds nothing.
fn has(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("has", args, 2)?;
    if args[1].is_nil() {
        return Ok(Value::Bool(false));
    }
    let items = list_arg(&args[1], "find has on type")?;
    Ok(Value::Bool(items.contains(&args[0])))
}

fn compact(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("compact", args, 1)?;
    let items = list_arg(&args[0], "compact on type")?;
    Ok(Value::list(
        items.iter().filter(|i| !is_empty(i)).cloned().collect(),
    ))
}

/// Sprig's `slice` replaces text/template's builtin of the same name (Go lets a FuncMap
/// override builtins), so it only slices lists, and converts its indexes with `cast.ToInt`.
fn slice(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity_at_least("slice", args, 1)?;
    let elements = slice_object(&args[0]);
    let items = match elements.as_ref().unwrap_or(&args[0]) {
        Value::List(items) => items,
        Value::Nil => return Err(nil_deref()),
        other => {
            return Err(FuncError(format!(
                "list should be type of slice or array but {}",
                other.kind_name()
            )));
        }
    };
    if items.is_empty() {
        return Ok(Value::Nil);
    }
    let start = args.get(1).map_or(0, super::conversion::to_int64);
    let end = args
        .get(2)
        .map_or(items.len() as i64, super::conversion::to_int64);
    if start < 0 || end < start || end as u64 > items.len() as u64 {
        return Err(FuncError::new(
            "reflect.Value.Slice: slice index out of bounds",
        ));
    }
    Ok(Value::list(items[start as usize..end as usize].to_vec()))
}

fn chunk(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("chunk", args, 2)?;
    let size = int_arg(args, 0)?;
    let items = list_arg(&args[1], "chunk type")?;
    if items.is_empty() {
        return Ok(Value::list(Vec::new()));
    }
    let size = usize::try_from(size)
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| FuncError::new("runtime error: makeslice: len out of range"))?;
    Ok(Value::list(
        items
            .chunks(size)
            .map(|c| Value::list(c.to_vec()))
            .collect(),
    ))
}

/// The longest sequence `until`, `untilStep` and `seq` build. Go would try to allocate any
/// length and take Helm down with it; an operator must survive such values, so longer
/// requests fail instead.
const MAX_SEQUENCE: i128 = 1 << 24;

/// Sprig's `untilStep`: from `start` towards `stop` (exclusive); nothing when `step` does
/// not move towards `stop`.
pub(crate) fn until_step_values(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, FuncError> {
    let (start, stop, step) = (i128::from(start), i128::from(stop), i128::from(step));
    let count = if stop < start && step < 0 {
        (start - stop + (-step) - 1) / -step
    } else if stop > start && step > 0 {
        (stop - start + step - 1) / step
    } else {
        0
    };
    if count > MAX_SEQUENCE {
        return Err(FuncError(format!(
            "sequence of {count} numbers is too long (the limit is {MAX_SEQUENCE})"
        )));
    }
    Ok((0..count).map(|k| (start + k * step) as i64).collect())
}

fn ints(values: Vec<i64>) -> Value {
    Value::list(values.into_iter().map(Value::Int).collect())
}

fn until(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("until", args, 1)?;
    let count = int_arg(args, 0)?;
    let step = if count < 0 { -1 } else { 1 };
    Ok(ints(until_step_values(0, count, step)?))
}

fn until_step(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("untilStep", args, 3)?;
    Ok(ints(until_step_values(
        int_arg(args, 0)?,
        int_arg(args, 1)?,
        int_arg(args, 2)?,
    )?))
}

/// Go's panic text for a failed `x.(T)` on an `interface{}`.
fn interface_conversion(v: &Value, want: &str) -> FuncError {
    let got = match v {
        Value::Nil => "nil".to_string(),
        other => crate::gofmt::go_type(other),
    };
    FuncError(format!(
        "interface conversion: interface {{}} is {got}, not {want}"
    ))
}

/// `dig KEY... DEFAULT DICT`: walks nested maps, giving DEFAULT at the first missing key.
/// A present key whose value is not a map, with keys left to walk, is Go's failed type
/// assertion.
fn dig(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    let [keys @ .., default, dict] = args else {
        return Err(FuncError::new("dig needs at least three arguments"));
    };
    if keys.is_empty() {
        return Err(FuncError::new("dig needs at least three arguments"));
    }
    let mut current = match dict {
        Value::Map(m) => m.clone(),
        other => return Err(interface_conversion(other, "map[string]interface {}")),
    };
    let keys: Vec<&str> = keys
        .iter()
        .map(|k| k.as_str().ok_or_else(|| interface_conversion(k, "string")))
        .collect::<Result<_, _>>()?;
    for (n, key) in keys.iter().enumerate() {
        let Some(step) = current.read().get(*key).cloned() else {
            return Ok(default.clone());
        };
        if n + 1 == keys.len() {
            return Ok(step);
        }
        current = match &step {
            Value::Map(m) => m.clone(),
            other => return Err(interface_conversion(other, "map[string]interface {}")),
        };
    }
    Ok(default.clone())
}

#[cfg(test)]
mod tests {
    use crate::engine::funcs::strings::tests::check_table;

    /// Verified with the Helm 4.2 oracle.
    const ORACLE: &str = r#"
list 1 "a" nil 1.5 ⇒ "[1 a <nil> 1.5]"
tuple ⇒ "[]"
first .Values.l ⇒ "1"
first .Values.el ⇒ ""
first "abc" ⇒ "ERR Cannot find first on type string"
first .Values.nil ⇒ "ERR runtime error: invalid memory address or nil pointer dereference"
mustFirst .Values.m ⇒ "ERR Cannot find first on type map"
rest .Values.l ⇒ "[2 x 2]"
rest .Values.el ⇒ "[]"
last .Values.l ⇒ "2"
last .Values.el ⇒ ""
initial .Values.l ⇒ "[1 2 x]"
initial .Values.el ⇒ "[]"
append .Values.l 5 ⇒ "[1 2 x 2 5]"
push .Values.el "x" ⇒ "[x]"
append "abc" 1 ⇒ "ERR Cannot push on type string"
mustAppend .Values.m 1 ⇒ "ERR Cannot push on type map"
append nil 1 ⇒ "ERR runtime error: invalid memory address or nil pointer dereference"
prepend .Values.l 0 ⇒ "[0 1 2 x 2]"
prepend 1 0 ⇒ "ERR Cannot prepend on type int"
concat .Values.l .Values.sl (list 9) ⇒ "[1 2 x 2 b a c 9]"
concat .Values.l "x" ⇒ "ERR Cannot concat type string as list"
concat ⇒ "[]"
concat .Values.l nil ⇒ "ERR runtime error: invalid memory address or nil pointer dereference"
reverse .Values.l ⇒ "[2 x 2 1]"
reverse .Values.el ⇒ "[]"
reverse 3 ⇒ "ERR Cannot find reverse on type int"
uniq .Values.l ⇒ "[1 2 x]"
uniq (list 1 1.0 "1" 1 nil nil) ⇒ "[1 1 1 <nil>]"
uniq .Values.s ⇒ "ERR Cannot find uniq on type string"
without .Values.l 2 "x" ⇒ "[1 2 2]"
without .Values.l ⇒ "[1 2 x 2]"
without 1 2 ⇒ "ERR Cannot find without on type int"
has 2 .Values.l ⇒ "false"
has 2.0 .Values.l ⇒ "true"
has "x" .Values.l ⇒ "true"
has 1 .Values.nil ⇒ "false"
has 1 "abc" ⇒ "ERR Cannot find has on type string"
mustHas 1 .Values.m ⇒ "ERR Cannot find has on type map"
compact (list 1 0 "" nil false "a" (list) (dict)) ⇒ "[1 a]"
compact "x" ⇒ "ERR Cannot compact on type string"
slice .Values.l 1 ⇒ "[2 x 2]"
slice .Values.l 1 3 ⇒ "[2 x]"
slice .Values.l ⇒ "[1 2 x 2]"
slice .Values.el 1 ⇒ ""
slice .Values.l "1" 2.7 ⇒ "[2]"
slice .Values.l 3 1 ⇒ "ERR reflect.Value.Slice: slice index out of bounds"
slice .Values.l 0 9 ⇒ "ERR reflect.Value.Slice: slice index out of bounds"
slice "abcdef" 1 3 ⇒ "ERR list should be type of slice or array but string"
chunk 2 .Values.l ⇒ "[[1 2] [x 2]]"
chunk 3 .Values.l ⇒ "[[1 2 x] [2]]"
chunk 2 .Values.el ⇒ "[]"
chunk 0 .Values.l ⇒ "ERR runtime error: makeslice: len out of range"
chunk 2 "x" ⇒ "ERR Cannot chunk type string"
until 3 ⇒ "[0 1 2]"
until -3 ⇒ "[0 -1 -2]"
until 0 ⇒ "[]"
untilStep 0 10 3 ⇒ "[0 3 6 9]"
untilStep 10 0 -4 ⇒ "[10 6 2]"
untilStep 0 10 -1 ⇒ "[]"
untilStep 0 10 0 ⇒ "[]"
dig "b" "c" "def" .Values.m ⇒ "deep"
dig "b" "x" "def" .Values.m ⇒ "def"
dig "a" "def" .Values.m ⇒ "1"
dig "a" "c" "def" .Values.m ⇒ "ERR interface conversion: interface {} is float64, not map[string]interface {}"
dig "x" "y" "def" .Values.m ⇒ "def"
dig "a" .Values.m ⇒ "ERR dig needs at least three arguments"
dig 1 "def" .Values.m ⇒ "ERR interface conversion: interface {} is int, not string"
dig "a" "def" .Values.nil ⇒ "ERR interface conversion: interface {} is nil, not map[string]interface {}"
dig "a" "def" .Values.l ⇒ "ERR interface conversion: interface {} is []interface {}, not map[string]interface {}"
"#;

    #[test]
    fn matches_helm() {
        check_table(ORACLE);
    }
}

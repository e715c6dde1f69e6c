//! Sprig's default and emptiness functions, all built on Sprig's `empty`.

use super::{CallContext, FuncResult, Function, arity, arity_at_least, bool_arg};
use crate::value::Value;

pub fn get(name: &str) -> Option<Function> {
    Some(match name {
        "default" => default,
        "empty" => empty,
        "coalesce" => coalesce,
        "ternary" => ternary,
        "all" => all,
        "any" => any,
        _ => return None,
    })
}

/// Sprig's `empty`: nil, false, 0, 0.0, and empty strings, lists and maps; a struct or a
/// non-nil pointer (our objects) is never empty.
pub fn is_empty(v: &Value) -> bool {
    !v.is_truthy()
}

/// `default DEFAULT GIVEN`: GIVEN unless it is empty (or missing).
fn default(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity_at_least("default", args, 1)?;
    match args.get(1) {
        Some(given) if !is_empty(given) => Ok(given.clone()),
        _ => Ok(args[0].clone()),
    }
}

fn empty(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("empty", args, 1)?;
    Ok(Value::Bool(is_empty(&args[0])))
}

fn coalesce(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    Ok(args
        .iter()
        .find(|a| !is_empty(a))
        .cloned()
        .unwrap_or_default())
}

/// `ternary TRUE FALSE COND`; COND must be a real bool, as Go's signature demands.
fn ternary(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("ternary", args, 3)?;
    let cond = bool_arg(args, 2)?;
    Ok(args[if cond { 0 } else { 1 }].clone())
}

fn all(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    Ok(Value::Bool(args.iter().all(|a| !is_empty(a))))
}

fn any(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    Ok(Value::Bool(args.iter().any(|a| !is_empty(a))))
}

#[cfg(test)]
mod tests {
    use crate::engine::funcs::strings::tests::check_table;

    /// Verified with the Helm 4.2 oracle.
    const ORACLE: &str = r#"
default "d" .Values.nil ⇒ "d"
default "d" .Values.e ⇒ "d"
default "d" .Values.z ⇒ "d"
default "d" .Values.no ⇒ "d"
default "d" .Values.el ⇒ "d"
default "d" .Values.em ⇒ "d"
default "d" .Values.s ⇒ "hello world"
default "d" .Values.f ⇒ "1.5"
default "d" ⇒ "d"
default "d" 0 "x" ⇒ "d"
empty .Values.nil ⇒ "true"
empty .Values.em ⇒ "true"
empty .Values.m ⇒ "false"
empty 0 ⇒ "true"
empty 0.0 ⇒ "true"
empty " " ⇒ "false"
coalesce .Values.nil .Values.e 0 "x" "y" ⇒ "x"
coalesce .Values.nil .Values.e ⇒ ""
coalesce ⇒ ""
ternary "a" "b" true ⇒ "a"
ternary "a" "b" false ⇒ "b"
ternary "a" "b" .Values.t ⇒ "a"
ternary "a" "b" .Values.nil ⇒ "ERR wrong type for value; expected bool; got interface {}"
all 1 "a" .Values.m ⇒ "true"
all 1 "" 2 ⇒ "false"
all ⇒ "true"
any 0 "" .Values.m ⇒ "true"
any 0 "" ⇒ "false"
any ⇒ "false"
"#;

    #[test]
    fn matches_helm() {
        check_table(ORACLE);
    }
}

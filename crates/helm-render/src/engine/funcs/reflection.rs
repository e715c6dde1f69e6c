//! Sprig's reflection functions. Go distinguishes `int` (template literals, `int`, `len`)
//! from `int64` (`--set` values, `int64`, Sprig arithmetic); our single integer type reports
//! `int`.

use super::{CallContext, FuncResult, Function, arity, string_arg};
use crate::gofmt::go_type;
use crate::value::Value;

pub fn get(name: &str) -> Option<Function> {
    Some(match name {
        "typeOf" => type_of,
        "typeIs" => type_is,
        "typeIsLike" => type_is_like,
        "kindOf" => kind_of,
        "kindIs" => kind_is,
        "deepEqual" => deep_equal,
        _ => return None,
    })
}

fn type_of(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("typeOf", args, 1)?;
    Ok(Value::from(go_type(&args[0])))
}

fn type_is(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("typeIs", args, 2)?;
    Ok(Value::Bool(string_arg(args, 0)? == go_type(&args[1])))
}

/// Also accepts a pointer to the named type.
fn type_is_like(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("typeIsLike", args, 2)?;
    let target = string_arg(args, 0)?;
    let actual = go_type(&args[1]);
    Ok(Value::Bool(
        target == actual || actual.strip_prefix('*') == Some(target),
    ))
}

fn kind_of(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("kindOf", args, 1)?;
    Ok(Value::str(args[0].kind_name()))
}

fn kind_is(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("kindIs", args, 2)?;
    Ok(Value::Bool(string_arg(args, 0)? == args[1].kind_name()))
}

/// `reflect.DeepEqual`: an int never equals a float.
fn deep_equal(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("deepEqual", args, 2)?;
    Ok(Value::Bool(args[0] == args[1]))
}

#[cfg(test)]
mod tests {
    use crate::engine::funcs::strings::tests::check_table;

    /// Verified with the Helm 4.2 oracle.
    const ORACLE: &str = r#"
typeOf .Values.nil ⇒ "<nil>"
typeOf 1 ⇒ "int"
typeOf .Values.f ⇒ "float64"
typeOf "s" ⇒ "string"
typeOf .Values.l ⇒ "[]interface {}"
typeOf .Values.m ⇒ "map[string]interface {}"
typeOf true ⇒ "bool"
typeOf (list 1) ⇒ "[]interface {}"
kindOf .Values.nil ⇒ "invalid"
kindOf 1 ⇒ "int"
kindOf .Values.f ⇒ "float64"
kindOf "s" ⇒ "string"
kindOf .Values.l ⇒ "slice"
kindOf .Values.m ⇒ "map"
kindOf true ⇒ "bool"
typeIs "string" "s" ⇒ "true"
typeIs "int" 1 ⇒ "true"
typeIs "float64" .Values.f ⇒ "true"
typeIs "string" 1 ⇒ "false"
typeIsLike "string" "s" ⇒ "true"
kindIs "map" .Values.m ⇒ "true"
kindIs "slice" .Values.l ⇒ "true"
kindIs "invalid" .Values.nil ⇒ "true"
kindIs "int" 1 ⇒ "true"
deepEqual .Values.m .Values.m ⇒ "true"
deepEqual 1 1.0 ⇒ "false"
deepEqual (list 1 2) (list 1 2) ⇒ "true"
deepEqual .Values.nil .Values.nil ⇒ "true"
deepEqual (dict "a" 1) (dict "a" 1) ⇒ "true"
"#;

    #[test]
    fn matches_helm() {
        check_table(ORACLE);
    }
}

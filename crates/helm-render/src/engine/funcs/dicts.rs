//! Sprig's dictionary functions.
//!
//! Go maps are references: `set`, `unset`, `merge` and `mergeOverwrite` change the map they
//! are given, in place, and every holder of that map sees the change ([`MapRef::update`]);
//! `merge` puts a map the destination lacks into it by reference, so the two share it from
//! then on, and `deepCopy` is what makes maps that share nothing.

use super::strings::strval;
use super::{
    CallContext, FuncError, FuncResult, Function, arity, arity_at_least, map_arg, map_ref_arg,
    string_arg, string_args,
};
use crate::value::{Map, MapRead, MapRef, Value};

pub fn get(name: &str) -> Option<Function> {
    Some(match name {
        "dict" => dict,
        "get" => get_key,
        "set" => set,
        "unset" => unset,
        "hasKey" => has_key,
        "pluck" => pluck,
        "keys" => keys,
        "values" => values,
        "pick" => pick,
        "omit" => omit,
        "merge" | "mustMerge" => merge,
        "mergeOverwrite" | "mustMergeOverwrite" => merge_overwrite,
        "deepCopy" | "mustDeepCopy" => deep_copy,
        _ => return None,
    })
}

/// `dict K V ...`: keys are printed with `%v`; a key without a value gets "".
fn dict(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    let mut map = Map::new();
    for pair in args.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_else(|| Value::str(""));
        map.insert(strval(&pair[0]), value);
    }
    Ok(Value::map(map))
}

/// `get DICT KEY`: a missing key gives "" (not nil).
fn get_key(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("get", args, 2)?;
    let map = map_arg(args, 0)?;
    let key = string_arg(args, 1)?;
    Ok(map.get(key).cloned().unwrap_or_else(|| Value::str("")))
}

fn set(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("set", args, 3)?;
    let map = map_ref_arg(args, 0)?;
    let key = string_arg(args, 1)?.to_string();
    let value = args[2].clone();
    map.update(|entries| entries.insert(key, value));
    Ok(Value::Map(map.clone()))
}

fn unset(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("unset", args, 2)?;
    let map = map_ref_arg(args, 0)?;
    let key = string_arg(args, 1)?;
    if map.read().contains_key(key) {
        map.update(|entries| entries.remove(key));
    }
    Ok(Value::Map(map.clone()))
}

fn has_key(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("hasKey", args, 2)?;
    let map = map_arg(args, 0)?;
    Ok(Value::Bool(map.contains_key(string_arg(args, 1)?)))
}

fn maps_from(args: &[Value], from: usize) -> Result<Vec<MapRead<'_>>, FuncError> {
    (from..args.len()).map(|i| map_arg(args, i)).collect()
}

fn pluck(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity_at_least("pluck", args, 1)?;
    let name = string_arg(args, 0)?;
    let found = maps_from(args, 1)?
        .into_iter()
        .filter_map(|m| m.get(name).cloned())
        .collect();
    Ok(Value::list(found))
}

/// Go returns map keys in random order; ours are sorted within each dict, which is one of
/// the orders Go may produce (charts that care sort them with `sortAlpha`).
fn keys(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    let keys = maps_from(args, 0)?
        .into_iter()
        .flat_map(|m| m.keys().map(|k| Value::str(k)).collect::<Vec<_>>())
        .collect();
    Ok(Value::list(keys))
}

/// In key order, one of the random orders Go may produce.
fn values(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("values", args, 1)?;
    Ok(Value::list(map_arg(args, 0)?.values().cloned().collect()))
}

fn pick(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity_at_least("pick", args, 1)?;
    let map = map_arg(args, 0)?;
    let mut out = Map::new();
    for key in string_args(args, 1)? {
        if let Some(v) = map.get(key) {
            out.insert(key.to_string(), v.clone());
        }
    }
    Ok(Value::map(out))
}

fn omit(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity_at_least("omit", args, 1)?;
    let map = map_arg(args, 0)?;
    let drop = string_args(args, 1)?;
    let out: Map = map
        .iter()
        .filter(|(k, _)| !drop.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(Value::map(out))
}

/// mergo's map merge as Sprig calls it, changing `dst` in place. Without `overwrite` a
/// destination entry is replaced only when missing or empty (`""`, `0`, `false`, nil, empty
/// list or map), and nil sources are skipped; with it every non-map source entry wins, nil
/// and empty ones included. Maps on both sides merge recursively, into the destination's own
/// map, unless it is empty, in which case the source map takes its place (by reference).
fn merge_into(dst: &MapRef, src: &MapRef, overwrite: bool, depth: usize) -> Result<(), FuncError> {
    if depth > MAX_MERGE_DEPTH {
        return Err(FuncError(format!(
            "maps nested more than {MAX_MERGE_DEPTH} levels deep (or holding themselves) cannot be merged"
        )));
    }
    // A copy of the source's entries, so that no lock is held while the destination (which
    // may be the source itself) changes.
    let entries = src.entries();
    for (key, s) in entries {
        if s.is_nil() {
            if overwrite {
                dst.update(|d| d.insert(key, Value::Nil));
            }
            continue;
        }
        let current = dst.read().get(&key).cloned();
        match (&s, &current) {
            (Value::Map(sm), Some(Value::Map(dm))) if !dm.read().is_empty() => {
                stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
                    merge_into(dm, sm, overwrite, depth + 1)
                })?;
            }
            (_, Some(d)) if !overwrite && d.is_truthy() => {}
            _ => {
                dst.update(|d| d.insert(key, s));
            }
        }
    }
    Ok(())
}

/// Deeper than any real values; a map that holds itself would otherwise merge forever.
const MAX_MERGE_DEPTH: usize = 10_000;

fn merge_with(args: &[Value], overwrite: bool, name: &str) -> FuncResult {
    arity_at_least(name, args, 1)?;
    let dst = map_ref_arg(args, 0)?;
    for i in 1..args.len() {
        merge_into(dst, map_ref_arg(args, i)?, overwrite, 0)?;
    }
    Ok(Value::Map(dst.clone()))
}

fn merge(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    merge_with(args, false, "merge")
}

fn merge_overwrite(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    merge_with(args, true, "mergeOverwrite")
}

/// A copy that shares no map with the original; copystructure fails on a nil the way
/// reflection does.
fn deep_copy(_: &mut CallContext<'_>, args: &[Value]) -> FuncResult {
    arity("deepCopy", args, 1)?;
    match &args[0] {
        Value::Nil => Err(FuncError::new(
            "reflect: call of reflect.Value.Type on zero Value",
        )),
        other => other.deep_copy().ok_or_else(|| {
            FuncError::new("deepCopy: the value is nested too deeply (or holds itself)")
        }),
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::funcs::strings::tests::check_table;

    /// Verified with the Helm 4.2 oracle.
    const ORACLE: &str = r#"
dict "a" 1 "b" "x" ⇒ "map[a:1 b:x]"
dict "a" ⇒ "map[a:]"
dict 1 2 nil 3 true 4 ⇒ "map[1:2 <nil>:3 true:4]"
dict ⇒ "map[]"
get .Values.m "a" ⇒ "1"
get .Values.m "zz" ⇒ ""
get .Values.nil "a" ⇒ "ERR wrong type for value; expected map[string]interface {}; got interface {}"
set .Values.m "z" 9 ⇒ "map[a:1 b:map[c:deep] e: z:9]"
set (dict) "a" nil ⇒ "map[a:<nil>]"
unset .Values.m "a" ⇒ "map[b:map[c:deep] e:]"
unset .Values.m "zz" ⇒ "map[a:1 b:map[c:deep] e:]"
hasKey .Values.m "a" ⇒ "true"
hasKey .Values.m "zz" ⇒ "false"
hasKey .Values.m "e" ⇒ "true"
pluck "a" .Values.m (dict "a" 2) (dict "b" 3) ⇒ "[1 2]"
pluck "a" ⇒ "[]"
keys .Values.m ⇒ "[a b e]"
keys ⇒ "[]"
values .Values.m ⇒ "[1 map[c:deep] ]"
pick .Values.m "a" "zz" "e" ⇒ "map[a:1 e:]"
pick .Values.m ⇒ "map[]"
omit .Values.m "a" "zz" ⇒ "map[b:map[c:deep] e:]"
merge (dict "a" 1 "b" (dict "c" 1)) (dict "a" 2 "b" (dict "d" 2) "e" 3) ⇒ "map[a:1 b:map[c:1 d:2] e:3]"
merge (dict "a" "" "b" 0 "c" false "d" nil "e" (list)) (dict "a" 1 "b" 2 "c" true "d" 4 "e" (list 5)) ⇒ "map[a:1 b:2 c:true d:4 e:[5]]"
merge (dict) (dict "a" nil) ⇒ "map[]"
merge (dict "a" 1) (dict "a" 2) (dict "a" 3 "b" 4) (dict "b" 5) ⇒ "map[a:1 b:4]"
merge (dict "a" "x") (dict "a" (dict "b" 1)) ⇒ "map[a:x]"
merge (dict "a" (dict "b" 1)) (dict "a" "x") ⇒ "map[a:map[b:1]]"
merge (dict "a" (dict)) (dict "a" (dict "b" 1)) ⇒ "map[a:map[b:1]]"
merge (dict "a" (list 1)) (dict "a" (list 2)) ⇒ "map[a:[1]]"
merge (dict "a" (dict "b" (dict "c" 1 "d" ""))) (dict "a" (dict "b" (dict "c" 2 "d" "y" "e" 3))) ⇒ "map[a:map[b:map[c:1 d:y e:3]]]"
mergeOverwrite (dict "a" 1 "b" (dict "c" 1)) (dict "a" 2 "b" (dict "d" 2) "e" 3) ⇒ "map[a:2 b:map[c:1 d:2] e:3]"
mergeOverwrite (dict "a" 1 "b" 2 "c" 3 "d" 4) (dict "a" "" "b" 0 "c" false "d" nil) ⇒ "map[a: b:0 c:false d:<nil>]"
mergeOverwrite (dict "a" (dict "b" 1)) (dict "a" "x") ⇒ "map[a:x]"
mergeOverwrite (dict "a" "x") (dict "a" (dict "b" 1)) ⇒ "map[a:map[b:1]]"
mergeOverwrite (dict "a" (list 1 2)) (dict "a" (list)) ⇒ "map[a:[]]"
mergeOverwrite (dict "a" (dict "b" 1)) (dict "a" (dict)) ⇒ "map[a:map[b:1]]"
mergeOverwrite (dict "a" (dict "x" 1 "y" (dict "z" 1))) (dict "a" (dict "x" nil "y" (dict "w" 2))) ⇒ "map[a:map[x:<nil> y:map[w:2 z:1]]]"
merge (dict "a" nil) (dict "a" (dict "b" 1)) ⇒ "map[a:map[b:1]]"
merge (dict "a" (dict "b" nil)) (dict "a" (dict "b" (dict "c" 1))) ⇒ "map[a:map[b:map[c:1]]]"
merge (dict "a" (dict "b" 0)) (dict "a" (dict "b" 5 "c" (list))) ⇒ "map[a:map[b:5 c:[]]]"
merge (dict "a" (list)) (dict "a" "x") ⇒ "map[a:x]"
merge (dict "a" (dict)) (dict "a" "x") ⇒ "map[a:x]"
merge (dict "a" (dict "x" 1)) (dict "a" (dict)) ⇒ "map[a:map[x:1]]"
merge (dict "a" 1) (dict "a" (list 1)) ⇒ "map[a:1]"
merge (dict) (dict "a" (dict "b" nil)) ⇒ "map[a:map[b:<nil>]]"
mergeOverwrite (dict "a" nil) (dict "a" (dict "b" 1)) ⇒ "map[a:map[b:1]]"
mergeOverwrite (dict "a" (dict "b" 1)) (dict "a" nil) ⇒ "map[a:<nil>]"
mergeOverwrite (dict "a" (list (dict "x" 1))) (dict "a" (list (dict "y" 2))) ⇒ "map[a:[map[y:2]]]"
mergeOverwrite (dict "a" (dict "b" (dict "c" 1))) (dict "a" (dict "b" (dict))) ⇒ "map[a:map[b:map[c:1]]]"
mergeOverwrite (dict "a" (dict)) (dict "a" (dict "b" 1)) ⇒ "map[a:map[b:1]]"
mergeOverwrite (dict) (dict "a" nil) ⇒ "map[a:<nil>]"
mergeOverwrite (dict "a" 1) (dict "b" 2) (dict "a" 3 "c" (dict "d" 4)) ⇒ "map[a:3 b:2 c:map[d:4]]"
mergeOverwrite (dict "a" (dict "b" 1)) (dict "a" (dict "b" (dict "c" 2))) ⇒ "map[a:map[b:map[c:2]]]"
mergeOverwrite (dict "a" (dict "b" (dict "c" 2))) (dict "a" (dict "b" 1)) ⇒ "map[a:map[b:1]]"
merge .Values.m (dict "b" (dict "x" 1) "e" "filled") ⇒ "map[a:1 b:map[c:deep x:1] e:filled]"
merge (dict "a" true) (dict "a" false) ⇒ "map[a:true]"
mergeOverwrite (dict "a" true) (dict "a" false) ⇒ "map[a:false]"
mustMerge (dict "a" 1) (dict "b" 2) ⇒ "map[a:1 b:2]"
mustMergeOverwrite (dict "a" 1) (dict "a" 2) ⇒ "map[a:2]"
merge .Values.m .Values.nil ⇒ "ERR wrong type for value; expected map[string]interface {}; got interface {}"
merge .Values.nil .Values.m ⇒ "ERR wrong type for value; expected map[string]interface {}; got interface {}"
merge (dict "a" 1) ⇒ "map[a:1]"
deepCopy .Values.m ⇒ "map[a:1 b:map[c:deep] e:]"
deepCopy .Values.nil ⇒ "ERR reflect: call of reflect.Value.Type on zero Value"
mustDeepCopy .Values.l ⇒ "[1 2 x 2]"
deepCopy 1 ⇒ "1"
"#;

    #[test]
    fn matches_helm() {
        check_table(ORACLE);
    }

    /// Go's order here is random; ours is each dict's keys in sorted order.
    #[test]
    fn keys_are_sorted_within_each_dict() {
        check_table(r#"keys (dict "z" 1 "a" 2) (dict "b" 1) ⇒ "[a z b]""#);
    }
}

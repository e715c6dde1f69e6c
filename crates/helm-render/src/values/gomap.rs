//! Go's reference semantics for `map[string]interface{}`, needed to reproduce Helm's
//! `import-values` exactly.
//!
//! Helm's import step stores the child's tables into the parent's import buffer by pointer, so
//! when a later import merges into an entry that came from an earlier one, the earlier source
//! table (and every other entry sharing it) changes too. Real charts observe this: Helm's own
//! "subpop" test chart shows subchart B's exported keys inside subchart A's table. Values
//! outside a render are built copy-on-write, so this small model with shared, mutable maps
//! replays the step on its own copy.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::gofmt::format_value;
use crate::value::{Map, Value};

use super::ValuesError;

pub(crate) type GoMap = Rc<RefCell<BTreeMap<String, GoVal>>>;

#[derive(Clone)]
pub(crate) enum GoVal {
    Other(Value),
    Map(GoMap),
}

/// A fresh (unshared) Go map tree holding the same data.
pub(crate) fn from_map(m: &Map) -> GoMap {
    Rc::new(RefCell::new(
        m.iter().map(|(k, v)| (k.clone(), from_value(v))).collect(),
    ))
}

fn from_value(v: &Value) -> GoVal {
    match v {
        Value::Map(m) => GoVal::Map(from_map(&m.read())),
        other => GoVal::Other(other.clone()),
    }
}

/// Copies the data out; `depth` bounds the walk (aliasing could in principle form a cycle).
pub(crate) fn to_map(m: &GoMap, depth: usize) -> Result<Map, ValuesError> {
    if depth > super::MAX_VALUES_DEPTH {
        return Err(ValuesError::Limit(
            "imported values nested too deeply".to_string(),
        ));
    }
    m.borrow()
        .iter()
        .map(|(k, v)| {
            let v = match v {
                GoVal::Other(o) => o.clone(),
                GoVal::Map(inner) => Value::map(to_map(inner, depth + 1)?),
            };
            Ok((k.clone(), v))
        })
        .collect()
}

/// Helm's `Values.Table`: the table itself (shared), not a copy.
pub(crate) fn table(root: &GoMap, path: &str) -> Option<GoMap> {
    let mut cur = root.clone();
    for part in path.split('.') {
        let next = match cur.borrow().get(part) {
            Some(GoVal::Map(m)) => m.clone(),
            _ => return None,
        };
        cur = next;
    }
    Some(cur)
}

/// Helm's `pathToMap`: nests the (shared) table under a dotted path; `.` is the table itself.
pub(crate) fn path_to_map(path: &str, data: GoMap) -> GoMap {
    if path == "." {
        return data;
    }
    let mut cur = data;
    for part in path.split('.').rev() {
        let mut m = BTreeMap::new();
        m.insert(part.to_string(), GoVal::Map(cur));
        cur = Rc::new(RefCell::new(m));
    }
    cur
}

/// Helm's `MergeTables` (`coalesceTablesFullKey` with merge): `dst` wins, missing keys are
/// taken from `src` by reference, nested tables merge in place.
pub(crate) fn merge_tables(
    dst: &GoMap,
    src: &GoMap,
    prefix: &str,
    warnings: &mut Vec<String>,
    depth: usize,
) -> Result<(), ValuesError> {
    if Rc::ptr_eq(dst, src) {
        return Ok(());
    }
    if depth > super::MAX_VALUES_DEPTH {
        return Err(ValuesError::Limit(
            "imported values nested too deeply".to_string(),
        ));
    }
    let entries: Vec<(String, GoVal)> = src
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, val) in entries {
        let full_key = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let existing = dst.borrow().get(&key).cloned();
        match (existing, val) {
            (None, val) => {
                dst.borrow_mut().insert(key, val);
            }
            (Some(GoVal::Map(dm)), GoVal::Map(sm)) => {
                merge_tables(&dm, &sm, &full_key, warnings, depth + 1)?;
            }
            (Some(GoVal::Other(_)), GoVal::Map(sm)) => warnings.push(format!(
                "warning: cannot overwrite table with non table for {full_key} ({})",
                to_map(&sm, depth + 1)
                    .map_or_else(|_| String::new(), |m| format_value(&Value::map(m)))
            )),
            (Some(GoVal::Map(_)), GoVal::Other(v)) if !v.is_nil() => warnings.push(format!(
                "warning: destination for {full_key} is a table. Ignoring non-table value ({})",
                format_value(&v)
            )),
            _ => {}
        }
    }
    Ok(())
}

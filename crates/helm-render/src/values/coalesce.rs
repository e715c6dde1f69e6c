//! Helm's values coalescing (`pkg/chart/common/util/coalesce.go`), building new values
//! copy-on-write ([`MapRef::make_mut`]): the chart defaults it reads are shared by every
//! render and stay as they are.
//!
//! `merge == false` is `CoalesceValues`: a user null deletes the chart default. `merge == true`
//! is `MergeValues`/`MergeTables`, which keeps nulls for a later coalesce.

use crate::chart::Chart;
use crate::gofmt::format_value;
use crate::value::{Map, MapRef, Value, WeakMapRef};

use super::ValuesError;

const GLOBAL: &str = "global";

fn concat_prefix(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

/// The map inside a `Value::Map`, made uniquely owned so it can be edited in place.
fn map_mut(v: &mut Value) -> Option<&mut Map> {
    match v {
        Value::Map(m) => Some(m.make_mut()),
        _ => None,
    }
}

/// Go's `%t` verb applied to a non-bool, as Helm's type-mismatch error shows it.
fn go_percent_t(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Nil => "%!t(<nil>)".to_string(),
        other => {
            let ty = match other {
                Value::Int(_) => "int64",
                Value::Float(_) => "float64",
                Value::String(_) => "string",
                Value::List(_) => "[]interface {}",
                _ => "map[string]interface {}",
            };
            format!("%!t({ty}={})", format_value(other))
        }
    }
}

/// Coalesces the chart tree's defaults under `dest` (the user's values), giving `dest` priority.
pub(crate) fn coalesce(
    chart: &Chart,
    dest: &mut Map,
    prefix: &str,
    merge: bool,
    warnings: &mut Vec<String>,
) -> Result<(), ValuesError> {
    coalesce_values(chart, dest, prefix, merge, warnings);
    coalesce_deps(chart, dest, prefix, merge, warnings)
}

fn coalesce_deps(
    chart: &Chart,
    dest: &mut Map,
    prefix: &str,
    merge: bool,
    warnings: &mut Vec<String>,
) -> Result<(), ValuesError> {
    for sub in &chart.dependencies {
        let name = sub.name().to_string();
        match dest.get(&name) {
            None => {
                dest.insert(name.clone(), Value::map(Map::new()));
            }
            Some(Value::Map(_)) => {}
            Some(other) => {
                return Err(ValuesError::TypeMismatch(format!(
                    "type mismatch on {name}: {}",
                    go_percent_t(other)
                )));
            }
        }
        let sub_prefix = concat_prefix(prefix, chart.name());
        let parent_global = dest.get(GLOBAL).cloned();
        if let Some(slot) = dest.get_mut(&name)
            && let Some(dv) = map_mut(slot)
        {
            coalesce_globals(dv, parent_global.as_ref(), &sub_prefix, warnings);
            coalesce(sub, dv, &sub_prefix, merge, warnings)?;
        }
    }
    Ok(())
}

/// Copies the parent's `global` into the subchart's values; the parent's entries win.
fn coalesce_globals(
    dest: &mut Map,
    src_global: Option<&Value>,
    prefix: &str,
    warnings: &mut Vec<String>,
) {
    let mut dg = match dest.get(GLOBAL) {
        None => Map::new(),
        Some(Value::Map(m)) => m.entries(),
        Some(_) => {
            warnings.push(
                "warning: skipping globals because destination global is not a table.".into(),
            );
            return;
        }
    };
    let sg = match src_global {
        None => Map::new(),
        Some(Value::Map(m)) => m.entries(),
        Some(_) => {
            warnings.push("warning: skipping globals because source global is not a table.".into());
            return;
        }
    };
    for (key, val) in sg {
        if let Value::Map(vm) = &val {
            let mut vv = vm.entries();
            match dg.get(&key) {
                None => {
                    dg.insert(key, Value::map(vv));
                }
                Some(Value::Map(destv)) => {
                    let sub_prefix = concat_prefix(prefix, &key);
                    coalesce_tables(&mut vv, &destv.read(), &sub_prefix, true, warnings);
                    dg.insert(key, Value::map(vv));
                }
                Some(_) => warnings.push(format!(
                    "Conflict: cannot merge map onto non-map for {key:?}. Skipping."
                )),
            }
        } else if matches!(dg.get(&key), Some(Value::Map(_))) {
            warnings.push(format!("key {key} is table. Skipping"));
        } else {
            dg.insert(key, val);
        }
    }
    dest.insert(GLOBAL.to_string(), Value::map(dg));
}

fn has_dependency(chart: &Chart, name: &str) -> bool {
    chart.dependencies.iter().any(|d| d.name() == name)
}

/// Merges one chart's own defaults under `v`.
fn coalesce_values(
    chart: &Chart,
    v: &mut Map,
    prefix: &str,
    merge: bool,
    warnings: &mut Vec<String>,
) {
    let sub_prefix = concat_prefix(prefix, chart.name());
    let Some(defaults) = chart.values.as_map() else {
        return;
    };
    for (key, val) in defaults.iter() {
        match v.get_mut(key) {
            Some(Value::Nil) if !merge => {
                v.remove(key);
            }
            Some(slot @ Value::Map(_)) => match val {
                Value::Map(src) => {
                    let merge = merge || has_dependency(chart, key);
                    if let Some(dest) = map_mut(slot) {
                        coalesce_tables(
                            dest,
                            &src.read(),
                            &concat_prefix(&sub_prefix, key),
                            merge,
                            warnings,
                        );
                    }
                }
                Value::Nil => {}
                _ => warnings.push(format!(
                    "warning: skipped value for {sub_prefix}.{key}: Not a table."
                )),
            },
            // A user scalar or list over a default table wins silently at this level (Helm
            // only warns for nested keys).
            Some(_) => {}
            None => {
                if let Some(val) = default_for_copy(val.clone(), merge) {
                    v.insert(key.clone(), val);
                }
            }
        }
    }
}

/// A chart default about to be copied where the user gave nothing. When coalescing, nulls in
/// a chart's own values vanish (Helm 4.2: `hasKey` is false for them), at every depth of maps.
fn default_for_copy(val: Value, merge: bool) -> Option<Value> {
    if merge {
        return Some(val);
    }
    match &val {
        Value::Nil => None,
        Value::Map(m) => Some(without_nils(m).unwrap_or(val)),
        _ => Some(val),
    }
}

/// `m` with its nulls removed at every depth, or `None` when it has none. Chart defaults are
/// shared and never change, and every coalesce copies the same ones (a large chart's defaults
/// hold thousands of entries), so answers are remembered by map ([`Stripped`]).
fn without_nils(m: &MapRef) -> Option<Value> {
    let key = m.addr();
    if let Ok(known) = STRIPPED.lock()
        && let Some((map, answer)) = known.entries.get(&key)
        && map.is_alive()
    {
        return answer.clone();
    }
    let entries = m.read();
    let answer = entries.values().any(has_nil_entry).then(|| {
        let stripped: Map = entries
            .iter()
            .filter_map(|(k, v)| default_for_copy(v.clone(), false).map(|v| (k.clone(), v)))
            .collect();
        Value::map(stripped)
    });
    if let Ok(mut known) = STRIPPED.lock() {
        known.remember(key, m, answer.clone());
    }
    answer
}

/// Answers of [`without_nils`] by map address. An entry holds a weak reference to its map:
/// the map's memory is not freed while the entry exists, so its address cannot come to name
/// another map. Maps built during one coalesce (a parent's merge with its subcharts' values)
/// die with it; their entries are dropped every [`PRUNE_EVERY`] answers, so they hold on to
/// little, while the chart defaults' entries live as long as the charts.
#[derive(Default)]
struct Stripped {
    entries: std::collections::HashMap<usize, (WeakMapRef, Option<Value>)>,
    since_pruned: usize,
}

impl Stripped {
    fn remember(&mut self, key: usize, map: &MapRef, answer: Option<Value>) {
        self.since_pruned += 1;
        if self.since_pruned >= PRUNE_EVERY {
            self.since_pruned = 0;
            self.entries.retain(|_, (map, _)| map.is_alive());
            if self.entries.len() >= MAX_STRIPPED {
                self.entries.clear();
            }
        }
        self.entries.insert(key, (map.downgrade(), answer));
    }
}

static STRIPPED: std::sync::LazyLock<std::sync::Mutex<Stripped>> =
    std::sync::LazyLock::new(Default::default);

/// How many answers are given between two sweeps of entries whose map is gone.
const PRUNE_EVERY: usize = 256;

/// Live entries beyond which the memory starts over.
const MAX_STRIPPED: usize = 1 << 16;

fn has_nil_entry(v: &Value) -> bool {
    match v {
        Value::Nil => true,
        Value::Map(m) => m.read().values().any(has_nil_entry),
        _ => false,
    }
}

/// Helm's `coalesceTablesFullKey`: `dst` is authoritative, `src` fills the gaps. Entries of
/// `src` are copied only where they land, and a key's full name is built only when a
/// warning or a nested table needs it: most keys need neither.
pub(crate) fn coalesce_tables(
    dst: &mut Map,
    src: &Map,
    prefix: &str,
    merge: bool,
    warnings: &mut Vec<String>,
) {
    for (key, val) in src {
        match dst.get_mut(key) {
            // A null over a real default deletes it; a null over a null default stays (Helm
            // 4.2 keeps subchart-default nulls that reached it through the parent's pass).
            Some(Value::Nil) if !merge && !val.is_nil() => {
                dst.remove(key);
            }
            None => {
                if let Some(val) = default_for_copy(val.clone(), merge) {
                    dst.insert(key.clone(), val);
                }
            }
            Some(dv) => match (val, map_mut(dv)) {
                (Value::Map(sm), Some(dm)) => {
                    coalesce_tables(dm, &sm.read(), &concat_prefix(prefix, key), merge, warnings);
                }
                (Value::Map(_), None) => warnings.push(format!(
                    "warning: cannot overwrite table with non table for {} ({})",
                    concat_prefix(prefix, key),
                    format_value(val)
                )),
                (_, Some(_)) if !val.is_nil() => warnings.push(format!(
                    "warning: destination for {} is a table. Ignoring non-table value ({})",
                    concat_prefix(prefix, key),
                    format_value(val)
                )),
                _ => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_nulls(n: i64) -> MapRef {
        let mut inner = Map::new();
        inner.insert("gone".into(), Value::Nil);
        inner.insert("kept".into(), Value::Int(n));
        let mut m = Map::new();
        m.insert("inner".into(), Value::map(inner));
        m.insert("top".into(), Value::Nil);
        MapRef::new(m)
    }

    #[test]
    fn remembered_answers_equal_fresh_ones() {
        let m = with_nulls(1);
        let first = without_nils(&m);
        let again = without_nils(&m);
        let expected = {
            let mut inner = Map::new();
            inner.insert("kept".into(), Value::Int(1));
            let mut top = Map::new();
            top.insert("inner".into(), Value::map(inner));
            Value::map(top)
        };
        assert_eq!(first, Some(expected.clone()));
        assert_eq!(again, Some(expected));
        let plain = MapRef::new(Map::from([("a".to_string(), Value::Int(2))]));
        assert_eq!(without_nils(&plain), None);
    }

    #[test]
    fn maps_that_are_gone_are_not_remembered_for_long() {
        for n in 0..(4 * PRUNE_EVERY as i64) {
            let m = with_nulls(n);
            let stripped = without_nils(&m).and_then(|v| v.get("inner"));
            assert_eq!(stripped.and_then(|v| v.get("kept")), Some(Value::Int(n)));
        }
        let remembered = STRIPPED
            .lock()
            .map(|s| s.entries.len())
            .unwrap_or(usize::MAX);
        // Each map above leaves two entries (it and its inner map); other tests add a few.
        assert!(
            remembered < 2 * PRUNE_EVERY + 64,
            "{remembered} entries kept"
        );
    }
}

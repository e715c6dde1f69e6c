//! Helm's `ProcessDependenciesWithMerge`, as `helm template` runs it before coalescing:
//! aliasing, enabling by tags and conditions, removal of disabled subcharts, then
//! `import-values` from children into parents (bottom-up).

use crate::chart::semver::is_compatible_range;
use crate::chart::{Chart, ImportValue};
use crate::value::{Map, Value};

use super::ValuesError;
use super::coalesce::coalesce;
use super::gomap;

pub(crate) fn process_dependencies(
    chart: &mut Chart,
    user: &Map,
    warnings: &mut Vec<String>,
) -> Result<(), ValuesError> {
    process_enabled(chart, user, "", warnings, 0)?;
    process_import_values(chart, warnings, 0)
}

/// Deeper subchart nesting than any real chart has; guards against stack exhaustion.
const MAX_CHART_DEPTH: usize = 64;

fn too_deep() -> ValuesError {
    ValuesError::Limit(format!(
        "subcharts nested more than {MAX_CHART_DEPTH} levels deep"
    ))
}

/// The subchart for a dependency entry, renamed to its alias (Helm's `getAliasDependency`).
fn alias_dependency(charts: &[Chart], name: &str, version: &str, alias: &str) -> Option<Chart> {
    let found = charts
        .iter()
        .find(|c| c.name() == name && is_compatible_range(version, &c.metadata.version))?;
    let mut out = found.clone();
    if !alias.is_empty() {
        out.metadata.name = alias.to_string();
    }
    Some(out)
}

/// Helm's `Values.PathValue`: the non-table value at a dotted path.
fn path_value(vals: &Map, path: &str) -> Option<Value> {
    let parts: Vec<&str> = path.split('.').collect();
    let (last, tables) = parts.split_last()?;
    let found = match tables.split_first() {
        None => vals.get(*last)?.clone(),
        Some((first, rest)) => {
            let mut cur = vals.get(*first)?.clone();
            for t in rest {
                cur = cur.get(t)?;
            }
            cur.get(last)?
        }
    };
    (!matches!(found, Value::Map(_))).then_some(found)
}

/// Helm's `Values.Table`: the table at a dotted path.
fn table(vals: &Map, path: &str) -> Option<Map> {
    let mut parts = path.split('.');
    let mut cur = vals.get(parts.next()?)?.clone();
    for part in parts {
        cur = cur.get(part)?;
    }
    cur.as_map().map(|m| m.clone())
}

fn process_enabled(
    chart: &mut Chart,
    vals: &Map,
    path: &str,
    warnings: &mut Vec<String>,
    depth: usize,
) -> Result<(), ValuesError> {
    if depth > MAX_CHART_DEPTH {
        return Err(too_deep());
    }
    if chart.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let existing = std::mem::take(&mut chart.dependencies);
    // Subcharts that no Chart.yaml dependency claims are kept as they are.
    let mut kept: Vec<Chart> = existing
        .iter()
        .filter(|c| {
            !chart.metadata.dependencies.iter().any(|req| {
                c.name() == req.name && is_compatible_range(&req.version, &c.metadata.version)
            })
        })
        .cloned()
        .collect();
    for req in &mut chart.metadata.dependencies {
        if let Some(c) = alias_dependency(&existing, &req.name, &req.version, &req.alias) {
            kept.push(c);
        }
        if !req.alias.is_empty() {
            req.name = req.alias.clone();
        }
        req.enabled = true;
    }
    chart.dependencies = kept;

    let mut cvals = vals.clone();
    coalesce(chart, &mut cvals, "", false, warnings)?;

    // Tags first, then conditions, which override tags.
    if let Some(tags) = table(&cvals, "tags") {
        for req in &mut chart.metadata.dependencies {
            let (mut has_true, mut has_false) = (false, false);
            for tag in &req.tags {
                match tags.get(tag) {
                    Some(Value::Bool(true)) => has_true = true,
                    Some(Value::Bool(false)) => has_false = true,
                    Some(_) => warnings.push(format!(
                        "returned non-bool value: tag {tag}, chart {}",
                        req.name
                    )),
                    None => {}
                }
            }
            req.enabled = has_true || !has_false;
        }
    }
    for req in &mut chart.metadata.dependencies {
        for cond in req.condition.trim().split(',') {
            if cond.is_empty() {
                continue;
            }
            match path_value(&cvals, &format!("{path}{cond}")) {
                Some(Value::Bool(b)) => {
                    req.enabled = b;
                    break;
                }
                Some(_) => warnings.push(format!(
                    "returned non-bool value: path {cond}, chart {}",
                    req.name
                )),
                None => {}
            }
        }
    }
    let disabled: Vec<String> = chart
        .metadata
        .dependencies
        .iter()
        .filter(|r| !r.enabled)
        .map(|r| r.name.clone())
        .collect();
    chart
        .dependencies
        .retain(|c| !disabled.iter().any(|d| d == c.name()));
    chart
        .metadata
        .dependencies
        .retain(|r| !disabled.contains(&r.name));
    for sub in &mut chart.dependencies {
        let sub_path = format!("{path}{}.", sub.name());
        process_enabled(sub, &cvals, &sub_path, warnings, depth + 1)?;
    }
    Ok(())
}

fn process_import_values(
    chart: &mut Chart,
    warnings: &mut Vec<String>,
    depth: usize,
) -> Result<(), ValuesError> {
    if depth > MAX_CHART_DEPTH {
        return Err(too_deep());
    }
    for sub in &mut chart.dependencies {
        process_import_values(sub, warnings, depth + 1)?;
    }
    if chart.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let mut merged = Map::new();
    coalesce(chart, &mut merged, "", true, warnings)?;
    if chart
        .metadata
        .dependencies
        .iter()
        .all(|req| req.import_values.is_empty())
    {
        // Nothing to import: Helm's merge of the values with an empty import buffer leaves
        // them as they are, so the shared-map replay below would only copy them twice.
        chart.values = Value::map(merged);
        return Ok(());
    }
    let cvals = gomap::from_map(&merged);
    let imported = gomap::from_map(&Map::new());
    for req in &mut chart.metadata.dependencies {
        let mut normalized = Vec::new();
        for iv in &req.import_values {
            let (child, parent) = match iv {
                ImportValue::Map { child, parent } => (child.clone(), parent.clone()),
                ImportValue::Exports(name) => (format!("exports.{name}"), ".".to_string()),
            };
            match gomap::table(&cvals, &format!("{}.{child}", req.name)) {
                Some(t) => {
                    let add = gomap::path_to_map(&parent, t);
                    gomap::merge_tables(&imported, &add, "", warnings, 0)?;
                }
                None => warnings.push(format!(
                    "ImportValues missing table from chart {}: {child}",
                    req.name
                )),
            }
            normalized.push(ImportValue::Map { child, parent });
        }
        req.import_values = normalized;
    }
    // Helm deep-copies the (possibly mutated) values first; the parent's own values then win
    // over what it imports.
    let result = gomap::from_map(&gomap::to_map(&cvals, 0)?);
    gomap::merge_tables(&result, &imported, "", warnings, 0)?;
    chart.values = Value::map(gomap::to_map(&result, 0)?);
    Ok(())
}

//! Chart values: the user's `-f`/`--set` merge, Helm's dependency processing and coalescing,
//! and `values.schema.json` validation. [`prepare`] produces exactly the `.Values` that Helm's
//! engine receives for the top chart.

mod coalesce;
mod deps;
mod gomap;
mod schema;
mod strvals;

pub use schema::Violation;

use crate::chart::Chart;
use crate::value::{Map, MapRef, Value};

#[derive(Debug, thiserror::Error)]
pub enum ValuesError {
    #[error("failed parsing {flag} data: {message}")]
    Set { flag: &'static str, message: String },
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error("{0}")]
    TypeMismatch(String),
    #[error("{0}")]
    Limit(String),
}

/// Deeper than any real values document; deeper input is refused rather than risking the
/// stack in the recursive merges and the schema validator.
pub const MAX_VALUES_DEPTH: usize = 500;

fn depth(v: &Value, limit: usize) -> usize {
    // Iterative, so that measuring a hostile document cannot itself overflow the stack.
    let mut max = 0;
    v.walk(|_, d| {
        max = max.max(d + 1);
        d < limit
    });
    max
}

fn check_depth(v: &Value, what: &str) -> Result<(), ValuesError> {
    if depth(v, MAX_VALUES_DEPTH) > MAX_VALUES_DEPTH {
        return Err(ValuesError::Limit(format!(
            "{what}: values nested more than {MAX_VALUES_DEPTH} levels deep"
        )));
    }
    Ok(())
}

/// Parses values files (`-f`), each a YAML document whose root must be a map (or empty).
pub fn read_values_files(files: &[(String, String)]) -> Result<Vec<Value>, ValuesError> {
    files
        .iter()
        .map(|(name, text)| {
            let v = crate::chart::parse_values_text(text).map_err(|message| ValuesError::File {
                file: name.clone(),
                message,
            })?;
            check_depth(&v, name)?;
            Ok(v)
        })
        .collect()
}

/// The CLI's `mergeMaps`: later maps win, nested maps merge, anything else is replaced.
fn merge_maps(base: &mut Map, over: &Map) {
    for (k, v) in over {
        if let (Value::Map(ov), Some(Value::Map(bv))) = (v, base.get_mut(k)) {
            merge_maps(bv.make_mut(), &ov.read());
            continue;
        }
        base.insert(k.clone(), v.clone());
    }
}

/// Helm's `values.Options.MergeValues`: `-f` files in order, then `--set`, then `--set-string`.
pub fn merge_user_values(
    files: &[Value],
    set: &[String],
    set_string: &[String],
) -> Result<Value, ValuesError> {
    let mut base = Map::new();
    for (i, f) in files.iter().enumerate() {
        check_depth(f, &format!("values file {}", i + 1))?;
        if let Some(m) = f.as_map() {
            merge_maps(&mut base, &m);
        }
    }
    for s in set {
        strvals::parse_into(s, &mut base, false).map_err(|message| ValuesError::Set {
            flag: "--set",
            message,
        })?;
    }
    for s in set_string {
        strvals::parse_into(s, &mut base, true).map_err(|message| ValuesError::Set {
            flag: "--set-string",
            message,
        })?;
    }
    Ok(Value::map(base))
}

/// A chart ready to render: dependencies processed and values coalesced.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The chart tree with disabled subcharts removed and aliases applied.
    pub chart: Chart,
    /// `.Values` of the top chart; each subchart's values nested under its name or alias.
    pub values: Value,
    /// What Helm would log while coalescing (type conflicts, skipped globals, …).
    pub warnings: Vec<String>,
}

/// One chart of the prepared tree with the `.Values` its templates see.
#[derive(Debug, Clone)]
pub struct ChartScope<'a> {
    /// Template name prefix: `top`, `top/charts/sub`, … (aliases already applied).
    pub path: String,
    pub chart: &'a Chart,
    pub values: Value,
}

impl Prepared {
    /// Every chart of the tree, parents first, with its scoped values: the top chart sees all
    /// values, a subchart the table under its name (an empty map when that is missing or not
    /// a table, as Helm's engine does).
    pub fn scopes(&self) -> Vec<ChartScope<'_>> {
        let mut out = Vec::new();
        let mut stack = vec![(
            self.chart.name().to_string(),
            &self.chart,
            self.values.clone(),
        )];
        while let Some((path, chart, values)) = stack.pop() {
            for sub in chart.dependencies.iter().rev() {
                let scoped = match values.get(sub.name()) {
                    Some(v @ Value::Map(_)) => v.clone(),
                    _ => Value::map(Map::new()),
                };
                stack.push((format!("{path}/charts/{}", sub.name()), sub, scoped));
            }
            out.push(ChartScope {
                path,
                chart,
                values,
            });
        }
        out
    }
}

/// Runs Helm's `ProcessDependenciesWithMerge` and `CoalesceValues` for the given user values.
pub fn prepare(mut chart: Chart, user: Value) -> Result<Prepared, ValuesError> {
    check_depth(&user, "user values")?;
    check_depth(&chart.values, chart.name())?;
    let mut user = user;
    let user = match &mut user {
        Value::Map(m) => std::mem::replace(m, MapRef::new(Map::new())).into_entries(),
        Value::Nil => Map::new(),
        _ => {
            return Err(ValuesError::TypeMismatch(
                "user values must be a map".to_string(),
            ));
        }
    };
    let mut warnings = Vec::new();
    deps::process_dependencies(&mut chart, &user, &mut warnings)?;
    let mut values = user;
    coalesce::coalesce(&chart, &mut values, "", false, &mut warnings)?;
    // Helm coalesces more than once and logs a conflict each time; once is enough here.
    let mut seen = std::collections::BTreeSet::new();
    warnings.retain(|w| seen.insert(w.clone()));
    Ok(Prepared {
        chart,
        values: Value::map(values),
        warnings,
    })
}

/// Checks the prepared values against the schemas of the chart and its enabled subcharts.
pub fn validate(prepared: &Prepared) -> Vec<Violation> {
    schema::validate_tree(&prepared.chart, &prepared.values)
}

/// The violations as Helm words its render error, grouped by chart in validation order.
pub fn schema_error_message(violations: &[Violation]) -> String {
    let mut out = String::from(
        "values don't meet the specifications of the schema(s) in the following chart(s):\n",
    );
    let mut current: Option<&str> = None;
    for v in violations {
        if current != Some(v.chart.as_str()) {
            out.push_str(&v.chart);
            out.push_str(":\n");
            current = Some(&v.chart);
        }
        out.push_str(&format!("- at '{}': {}\n", v.pointer, v.message));
    }
    out
}

#[cfg(test)]
mod tests;

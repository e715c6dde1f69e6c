//! Chart values: the user's `-f`/`--set` merge, Helm's dependency processing and coalescing,
//! and `values.schema.json` validation. [`prepare`] produces exactly the `.Values` that Helm's
//! engine receives for the top chart.

mod coalesce;
mod deps;
mod gomap;
mod schema;
mod strvals;

pub use schema::{Numbers, SchemaChecks, Violation};

use crate::chart::Chart;
use crate::value::{Map, MapRef, Value};

#[derive(Debug, thiserror::Error)]
pub enum ValuesError {
    #[error("failed parsing {flag} data: {message}")]
    Set { flag: &'static str, message: String },
    /// Helm reports a `--set-json key=value` failure with the argument, not the reason.
    #[error("failed parsing --set-json data {0}")]
    SetJson(String),
    #[error("failed parsing --set-json data JSON: {0}")]
    SetJsonObject(String),
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

/// The values a command line gives: `-f` files (already read and parsed) and the arguments
/// of each `--set`-style flag, in the order given per flag.
#[derive(Debug, Default, Clone, Copy)]
pub struct CommandLineValues<'a> {
    pub files: &'a [Value],
    pub set_json: &'a [String],
    pub set: &'a [String],
    pub set_string: &'a [String],
    pub set_file: &'a [String],
    pub set_literal: &'a [String],
}

/// Helm's `values.Options.MergeValues`: `-f` files in order, then `--set-json`, `--set`,
/// `--set-string`, `--set-file` and `--set-literal`, each flag's arguments in order, later
/// ones overriding earlier ones. `read_file` reads a `--set-file` path (the caller owns the
/// file system and stdin) and returns its text or Helm's error for it.
pub fn merge_command_line_values(
    given: &CommandLineValues<'_>,
    read_file: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<Value, ValuesError> {
    let mut base = Map::new();
    for (i, f) in given.files.iter().enumerate() {
        check_depth(f, &format!("values file {}", i + 1))?;
        if let Some(m) = f.as_map() {
            merge_maps(&mut base, &m);
        }
    }
    for s in given.set_json {
        let trimmed = s.trim();
        if trimmed.starts_with('{') {
            let object = match crate::yaml::decode_json_prefix(trimmed) {
                Ok((v @ Value::Map(_), used))
                    if trimmed
                        .get(used..)
                        .is_some_and(|rest| rest.trim().is_empty()) =>
                {
                    v
                }
                _ => return Err(ValuesError::SetJsonObject(s.clone())),
            };
            check_depth(&object, "--set-json")?;
            if let Some(m) = object.as_map() {
                merge_maps(&mut base, &m);
            }
        } else {
            strvals::parse_with(s, &mut base, strvals::Mode::Json)
                .map_err(|_| ValuesError::SetJson(s.clone()))?;
        }
    }
    for s in given.set {
        set_flag(&mut base, "--set", s, strvals::Mode::Typed)?;
    }
    for s in given.set_string {
        set_flag(&mut base, "--set-string", s, strvals::Mode::Strings)?;
    }
    for s in given.set_file {
        set_flag(&mut base, "--set-file", s, strvals::Mode::File(read_file))?;
    }
    for s in given.set_literal {
        set_flag(&mut base, "--set-literal", s, strvals::Mode::Literal)?;
    }
    Ok(Value::map(base))
}

fn set_flag(
    base: &mut Map,
    flag: &'static str,
    arg: &str,
    mode: strvals::Mode<'_>,
) -> Result<(), ValuesError> {
    strvals::parse_with(arg, base, mode).map_err(|message| ValuesError::Set { flag, message })
}

/// [`merge_command_line_values`] with `-f`, `--set` and `--set-string` only: what a DSC
/// stanza's values and a registry's value files amount to.
pub fn merge_user_values(
    files: &[Value],
    set: &[String],
    set_string: &[String],
) -> Result<Value, ValuesError> {
    let given = CommandLineValues {
        files,
        set,
        set_string,
        ..CommandLineValues::default()
    };
    merge_command_line_values(&given, &mut |path| {
        Err(format!("open {path}: no file may be read here"))
    })
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

/// Checks the prepared values against the schemas of the chart and its enabled subcharts,
/// with Helm's messages.
pub fn validate(prepared: &Prepared) -> Vec<Violation> {
    validate_with(prepared, Numbers::Helm)
}

/// [`validate`], with numbers in the messages spelled as `numbers` says.
pub fn validate_with(prepared: &Prepared, numbers: Numbers) -> Vec<Violation> {
    schema::validate_tree(&prepared.chart, &prepared.values, numbers)
}

/// [`validate`]'s checks, to run later or elsewhere: the values are copied out as they are now.
pub fn schema_checks(prepared: &Prepared) -> SchemaChecks {
    SchemaChecks::of(&prepared.chart, &prepared.values, Numbers::Helm)
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

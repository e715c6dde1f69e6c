//! `values.schema.json` validation as Helm runs it at render time: the top chart's schema
//! against the coalesced values, then every enabled subchart's schema against its scoped values
//! (under its alias). Messages follow the wording Helm prints (santhosh-tekuri/jsonschema).
//!
//! No reference is ever fetched: the `jsonschema` crate is built without its HTTP and file
//! resolvers, so a schema pointing at a remote document is reported as uncompilable.

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value as Json;

use std::sync::Arc;

use crate::chart::Chart;
use crate::value::Value;

/// One schema violation.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// The chart whose schema rejected the values (its alias for an aliased subchart).
    pub chart: String,
    /// Dotted path from the top chart's values, e.g. `web.replicas` or `postgresql.auth`
    /// (list indices as numbers: `a.0.b`); empty for the values' root.
    pub path: String,
    /// JSON pointer within the chart's own values, as Helm prints it (`/replicaCount`).
    pub pointer: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: at '{}': {}", self.chart, self.pointer, self.message)
    }
}

/// How numbers are spelled in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Numbers {
    /// As Helm's validator prints them (golang.org/x/text): `70,000`, `1×10⁰⁷`. The CLI uses
    /// this, so that its messages are Helm's.
    Helm,
    /// As encoding/json writes them, which is how a user wrote them in a manifest and how the
    /// API server quotes them: `70000`, `10000000`. Admission denials and status use this.
    AsWritten,
}

/// Validates the prepared (coalesced) values of the chart tree.
pub(crate) fn validate_tree(chart: &Chart, values: &Value, numbers: Numbers) -> Vec<Violation> {
    SchemaChecks::of(chart, values, numbers).run()
}

/// What the schemas of a chart tree are to check, with the values copied out as JSON: the
/// checks can then run beside the render (`helm template` in the CLI does), because the values
/// they see are the ones before any template ran, as in Helm, even when a template `set`s
/// into `.Values`.
pub struct SchemaChecks {
    checks: Vec<Check>,
    numbers: Numbers,
}

/// One schema check, in Helm's order: the chart's schema, then its subcharts'.
enum Check {
    Validate {
        chart: String,
        schema: Arc<crate::chart::Schema>,
        instance: Json,
        prefix: String,
    },
    /// A subchart whose values are not a map, refused before its schema is reached.
    Refused(Violation),
}

impl SchemaChecks {
    pub(crate) fn of(chart: &Chart, values: &Value, numbers: Numbers) -> Self {
        let mut checks = Vec::new();
        collect(chart, values, "", &mut checks);
        SchemaChecks { checks, numbers }
    }

    /// Whether any schema is to be compiled and run (a tree without schemas has nothing to
    /// run beside the render).
    pub fn any_schema(&self) -> bool {
        self.checks
            .iter()
            .any(|c| matches!(c, Check::Validate { .. }))
    }

    pub fn run(self) -> Vec<Violation> {
        let mut out = Vec::new();
        for check in self.checks {
            match check {
                Check::Validate {
                    chart,
                    schema,
                    instance,
                    prefix,
                } => validate_one(&chart, &schema, &instance, &prefix, self.numbers, &mut out),
                Check::Refused(violation) => out.push(violation),
            }
        }
        out
    }
}

fn collect(chart: &Chart, values: &Value, prefix: &str, out: &mut Vec<Check>) {
    if let Some(schema) = &chart.schema {
        // Helm validates a subchart's scoped values including the `global` it adds, so a
        // subchart schema with additionalProperties: false and no `global` property fails.
        // Draft 4 treats 5.0 as a non-integer; Helm's validator does not, in any draft. Later
        // drafts accept whole floats already, and keeping them floats keeps Helm's number
        // wording (`1×10⁰⁷`) in messages.
        let draft4 = schema
            .json
            .get("$schema")
            .and_then(Json::as_str)
            .is_some_and(|s| s.contains("draft-04"));
        let instance = if draft4 {
            instance_json(values)
        } else {
            values.to_json()
        };
        out.push(Check::Validate {
            chart: chart.name().to_string(),
            schema: schema.clone(),
            instance,
            prefix: prefix.to_string(),
        });
    }
    for sub in &chart.dependencies {
        let sub_path = if prefix.is_empty() {
            sub.name().to_string()
        } else {
            format!("{prefix}.{}", sub.name())
        };
        match values.get(sub.name()) {
            None | Some(Value::Nil) => {}
            Some(v @ Value::Map(_)) => collect(sub, &v, &sub_path, out),
            Some(other) => out.push(Check::Refused(Violation {
                chart: sub.name().to_string(),
                path: sub_path,
                pointer: String::new(),
                message: format!(
                    "invalid type for values: expected object (map), got {}",
                    other.kind_name()
                ),
            })),
        }
    }
}

/// Values with whole float64s turned into JSON integers.
fn instance_json(v: &Value) -> Json {
    match v {
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Json::from(*f as i64),
        Value::List(items) => Json::Array(items.iter().map(instance_json).collect()),
        Value::Map(m) => Json::Object(
            m.read()
                .iter()
                .map(|(k, v)| (k.clone(), instance_json(v)))
                .collect(),
        ),
        other => other.to_json(),
    }
}

fn validate_one(
    chart: &str,
    schema: &crate::chart::Schema,
    instance: &Json,
    prefix: &str,
    numbers: Numbers,
    out: &mut Vec<Violation>,
) {
    let validator = match schema.validator() {
        Ok(v) => v,
        Err(e) => {
            out.push(Violation {
                chart: chart.to_string(),
                path: prefix.to_string(),
                pointer: String::new(),
                message: format!("unable to compile values.schema.json: {e}"),
            });
            return;
        }
    };
    let first = out.len();
    for err in validator.iter_errors(instance) {
        let pointer = err.instance_path().as_str().to_string();
        let rel: Vec<String> = err.instance_path().iter().map(|s| s.to_string()).collect();
        let mut path = prefix.to_string();
        for seg in rel {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&seg);
        }
        out.push(Violation {
            chart: chart.to_string(),
            path,
            pointer,
            message: dependency_message(&err, &schema.json)
                .or_else(|| message(err.kind(), err.instance(), numbers))
                .unwrap_or_else(|| err.to_string()),
        });
    }
    merge_missing_properties(out, first);
}

/// Helm reports all missing required properties of one object in a single line
/// (`missing properties 'a', 'b'`); the crate reports one error each.
fn merge_missing_properties(out: &mut Vec<Violation>, first: usize) {
    let mut i = first;
    while i < out.len() {
        let Some(name) = missing_name(&out[i].message) else {
            i += 1;
            continue;
        };
        let mut names = vec![name];
        let mut j = i + 1;
        while j < out.len() {
            match missing_name(&out[j].message) {
                Some(n) if out[j].pointer == out[i].pointer => {
                    names.push(n);
                    out.remove(j);
                }
                _ => j += 1,
            }
        }
        if names.len() > 1 {
            out[i].message = format!("missing properties {}", quoted_list(&names));
        }
        i += 1;
    }
}

fn missing_name(message: &str) -> Option<String> {
    message
        .strip_prefix("missing property '")?
        .strip_suffix('\'')
        .map(str::to_string)
}

/// `dependencies` / `dependentRequired` failures, which the crate reports as plain `required`.
fn dependency_message(err: &jsonschema::ValidationError<'_>, schema: &Json) -> Option<String> {
    let ValidationErrorKind::Required { property } = err.kind() else {
        return None;
    };
    let keyword = err.schema_path().iter().last()?.to_string();
    if keyword != "dependencies" && keyword != "dependentRequired" {
        return None;
    }
    let missing = property.as_str()?;
    let deps = schema.pointer(err.schema_path().as_str())?.as_object()?;
    let instance = err.instance().as_object()?;
    let trigger = deps.iter().find_map(|(k, v)| {
        let names = v.as_array()?;
        (instance.contains_key(k) && names.iter().any(|n| n.as_str() == Some(missing))).then_some(k)
    })?;
    Some(format!(
        "properties '{missing}' required, if '{trigger}' exists"
    ))
}

/// The first pair of equal items, compared as JSON Schema does (1 equals 1.0).
fn duplicate_pair(instance: &Json) -> Option<(usize, usize)> {
    let items = instance.as_array()?;
    for (j, b) in items.iter().enumerate() {
        for (i, a) in items.iter().enumerate().take(j) {
            if json_equal(a, b) {
                return Some((i, j));
            }
        }
    }
    None
}

fn json_equal(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

fn json_type_name(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// A number as Helm's validator prints it (golang.org/x/text): thousands separators, and
/// `1×10⁰⁷` where Go's `%g` would use an exponent.
fn number(n: &serde_json::Number, numbers: Numbers) -> String {
    if numbers == Numbers::AsWritten {
        return match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(u)) => u.to_string(),
            _ => crate::gofmt::format_json_float(n.as_f64().unwrap_or(0.0)),
        };
    }
    let text = match n.as_i64() {
        Some(i) => i.to_string(),
        None => crate::gofmt::format_float_g(n.as_f64().unwrap_or(0.0)),
    };
    if let Some((mantissa, exp)) = text.split_once('e') {
        let sup: String = exp
            .chars()
            .filter_map(|c| match c {
                '-' => Some('⁻'),
                '+' => None,
                d => d
                    .to_digit(10)
                    .and_then(|d| "⁰¹²³⁴⁵⁶⁷⁸⁹".chars().nth(d as usize)),
            })
            .collect();
        return format!("{mantissa}×10{sup}");
    }
    let (sign, rest) = match text.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", text.as_str()),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

fn num(v: &Json, numbers: Numbers) -> String {
    match v {
        Json::Number(n) => number(n, numbers),
        other => other.to_string(),
    }
}

/// A value as santhosh-tekuri quotes it: strings in single quotes, the rest as JSON.
fn quoted(v: &Json, numbers: Numbers) -> String {
    match v {
        Json::String(s) => format!("'{s}'"),
        Json::Number(n) => number(n, numbers),
        other => other.to_string(),
    }
}

fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Helm's wording for the common keywords; `None` falls back to the crate's own message.
fn message(kind: &ValidationErrorKind, instance: &Json, numbers: Numbers) -> Option<String> {
    use ValidationErrorKind as K;
    Some(match kind {
        K::Type { kind } => {
            let want = match kind {
                TypeKind::Single(t) => t.to_string(),
                TypeKind::Multiple(set) => {
                    let mut names: Vec<String> = set.iter().map(|t| t.to_string()).collect();
                    names.sort();
                    names.join(" or ")
                }
            };
            // Values from YAML are float64 in Helm, so a whole number there reads "number".
            let got = match json_type_name(instance) {
                "integer" => "number",
                t => t,
            };
            format!("got {got}, want {want}")
        }
        K::Required { property } => {
            let name = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_string);
            format!("missing property '{name}'")
        }
        K::AdditionalProperties { unexpected } => {
            format!(
                "additional properties {} not allowed",
                quoted_list(unexpected)
            )
        }
        K::Enum { options } => {
            let opts = options
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|v| quoted(v, numbers))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_else(|| options.to_string());
            format!("value must be one of {opts}")
        }
        K::Constant { expected_value } => {
            format!("value must be {}", quoted(expected_value, numbers))
        }
        K::Minimum { limit } => format!(
            "minimum: got {}, want {}",
            num(instance, numbers),
            num(limit, numbers)
        ),
        K::Maximum { limit } => format!(
            "maximum: got {}, want {}",
            num(instance, numbers),
            num(limit, numbers)
        ),
        K::ExclusiveMinimum { limit } => format!(
            "exclusiveMinimum: got {}, want {}",
            num(instance, numbers),
            num(limit, numbers)
        ),
        K::ExclusiveMaximum { limit } => format!(
            "exclusiveMaximum: got {}, want {}",
            num(instance, numbers),
            num(limit, numbers)
        ),
        K::MinLength { limit } => format!(
            "minLength: got {}, want {limit}",
            instance.as_str().map_or(0, |s| s.chars().count())
        ),
        K::MaxLength { limit } => format!(
            "maxLength: got {}, want {limit}",
            instance.as_str().map_or(0, |s| s.chars().count())
        ),
        K::MinItems { limit } => format!(
            "minItems: got {}, want {limit}",
            instance.as_array().map_or(0, Vec::len)
        ),
        K::MaxItems { limit } => format!(
            "maxItems: got {}, want {limit}",
            instance.as_array().map_or(0, Vec::len)
        ),
        K::MinProperties { limit } => format!(
            "minProperties: got {}, want {limit}",
            instance.as_object().map_or(0, |m| m.len())
        ),
        K::MaxProperties { limit } => format!(
            "maxProperties: got {}, want {limit}",
            instance.as_object().map_or(0, |m| m.len())
        ),
        K::Pattern { pattern } => {
            format!(
                "{} does not match pattern '{pattern}'",
                quoted(instance, numbers)
            )
        }
        K::Format { format } => format!("{} is not valid {format}", quoted(instance, numbers)),
        K::MultipleOf { multiple_of } => format!(
            "multipleOf: got {}, want {}",
            num(instance, numbers),
            serde_json::Number::from_f64(*multiple_of)
                .map_or_else(|| multiple_of.to_string(), |n| number(&n, numbers))
        ),
        K::UniqueItems => match duplicate_pair(instance) {
            Some((i, j)) => format!("items at {i} and {j} are equal"),
            None => "items are not unique".to_string(),
        },
        K::FalseSchema => "false schema".to_string(),
        K::AnyOf { .. } => "'anyOf' failed".to_string(),
        K::OneOfNotValid { .. } => "'oneOf' failed, none matched".to_string(),
        K::OneOfMultipleValid { context } => {
            let matched: Vec<String> = context
                .iter()
                .enumerate()
                .filter(|(_, errs)| errs.is_empty())
                .map(|(i, _)| i.to_string())
                .collect();
            format!("'oneOf' failed, subschemas {} matched", matched.join(", "))
        }
        K::Not { .. } => "'not' failed".to_string(),
        _ => return None,
    })
}

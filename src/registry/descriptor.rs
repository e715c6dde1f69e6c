//! Component descriptors (`charts/components/*.yaml`): what turns a chart dependency into a
//! DataScienceCluster component. They are plain data so that adding a component needs no Rust.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A descriptor as written by the platform team.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Descriptor {
    /// The dependency of the umbrella chart: its alias when it has one, else its name.
    pub dependency: String,
    /// The Kubernetes kind of the component's own resource, e.g. `WebApp`.
    pub kind: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub features: BTreeMap<String, Feature>,
    #[serde(default)]
    pub watches: Vec<Watch>,
    /// The component's own health rules for kinds it renders, in place of the built-in ones.
    #[serde(default)]
    pub health: Vec<crate::health::HealthCheck>,
    /// Components that must be Ready before this one is first applied.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// How long to wait for the dependencies before reporting `DependencyTimeout`, as a Go
    /// duration (`90s`, `10m`, `1h30m`); ten minutes when absent.
    #[serde(default)]
    pub readiness_timeout: Option<String>,
    /// What to do when a new rendering changes a field the API server will not change in
    /// place: `keep` (the default) or `recreate`, for every kind or per kind.
    #[serde(default)]
    pub upgrade_strategy: Option<super::upgrade::StrategySpec>,
}

/// A typed field of the component's DSC stanza, copied into the chart values at `path`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Feature {
    /// Dotted chart value path, e.g. `config.logLevel`.
    pub path: String,
    #[serde(rename = "type")]
    pub json_type: JsonType,
    #[serde(default, rename = "enum")]
    pub enum_values: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default)]
    pub minimum: Option<f64>,
    #[serde(default)]
    pub maximum: Option<f64>,
    #[serde(default)]
    pub default: Option<serde_json::Value>,
    #[serde(default)]
    pub description: String,
}

impl Feature {
    /// The value path split into its keys.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.path.split('.')
    }
}

/// The JSON types a feature can have; the same names as JSON Schema and OpenAPI use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JsonType {
    String,
    Integer,
    Number,
    Boolean,
    Object,
    Array,
}

impl JsonType {
    pub fn as_str(self) -> &'static str {
        match self {
            JsonType::String => "string",
            JsonType::Integer => "integer",
            JsonType::Number => "number",
            JsonType::Boolean => "boolean",
            JsonType::Object => "object",
            JsonType::Array => "array",
        }
    }

    /// Whether a value of this type may also be a value of the schema type `other`; every
    /// integer is a JSON Schema number.
    pub fn fits(self, other: &str) -> bool {
        self.as_str() == other || (self == JsonType::Integer && other == "number")
    }

    /// Whether a JSON value has this type (an integral number counts as an integer).
    pub fn admits(self, v: &serde_json::Value) -> bool {
        use serde_json::Value as J;
        match (self, v) {
            (JsonType::String, J::String(_)) => true,
            (JsonType::Boolean, J::Bool(_)) => true,
            (JsonType::Object, J::Object(_)) => true,
            (JsonType::Array, J::Array(_)) => true,
            (JsonType::Number, J::Number(_)) => true,
            (JsonType::Integer, J::Number(n)) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            _ => false,
        }
    }
}

/// A kind the component's controller watches beyond what its chart renders.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Watch {
    #[serde(default)]
    pub group: String,
    pub version: String,
    pub kind: String,
}

/// The wait for dependencies when a descriptor names no `readinessTimeout`.
pub const DEFAULT_READINESS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// Reads a duration as Go's `time.ParseDuration` writes the common ones (Kubernetes and Flux
/// users write timeouts that way): one or more whole numbers each with a unit of `h`, `m`,
/// `s` or `ms`. Zero is refused, since a dependent would time out before it began to wait.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let mut total: u64 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err("empty duration".to_string());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("{text:?}: expected a number at {rest:?}"));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("{text:?}: number too large"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let millis_per_unit: u64 = match &rest[..unit_len] {
            "h" => 3_600_000,
            "m" => 60_000,
            "s" => 1_000,
            "ms" => 1,
            "" => return Err(format!("{text:?}: missing unit (h, m, s or ms)")),
            other => return Err(format!("{text:?}: unknown unit {other:?} (h, m, s or ms)")),
        };
        rest = &rest[unit_len..];
        total = number
            .checked_mul(millis_per_unit)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(|| format!("{text:?}: duration too large"))?;
    }
    if total == 0 {
        return Err(format!("{text:?}: must be longer than zero"));
    }
    Ok(std::time::Duration::from_millis(total))
}

/// Parses a descriptor; YAML goes through our go-yaml reader so that it reads like chart values.
pub fn parse(text: &str) -> Result<Descriptor, String> {
    let value = helm_render::yaml::parse_value(text).map_err(|e| e.to_string())?;
    serde_json::from_value(whole_numbers(value.to_json())).map_err(|e| e.to_string())
}

/// YAML numbers read as floats (Go's model); descriptor defaults and enums are JSON data for
/// the CRD schema, where `1` must stay `1`, not `1.0`.
fn whole_numbers(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        J::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => J::from(f as i64),
            _ => J::Number(n),
        },
        J::Array(a) => J::Array(a.into_iter().map(whole_numbers).collect()),
        J::Object(o) => J::Object(o.into_iter().map(|(k, v)| (k, whole_numbers(v))).collect()),
        other => other,
    }
}

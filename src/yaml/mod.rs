//! YAML as Helm reads and writes it.

use crate::value::Value;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct YamlError(pub String);

/// Parses one YAML document into a value, numbers as float64 (sigs.k8s.io/yaml semantics).
pub fn parse_value(text: &str) -> Result<Value, YamlError> {
    let json: serde_json::Value =
        serde_saphyr::from_str(text).map_err(|e| YamlError(e.to_string()))?;
    Ok(Value::from_json(&json))
}

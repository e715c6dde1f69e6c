//! `fromToml` input, decoded as BurntSushi/toml does into `map[string]interface{}`: integers
//! stay int64, floats are float64, and date-times become the RFC 3339 text `toJson` prints.

use crate::value::{Map, Value};

pub(crate) fn decode(text: &str) -> Result<Value, String> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| format!("toml: {}", e.message()))?;
    Ok(table_value(&table))
}

fn table_value(table: &toml::Table) -> Value {
    Value::map(
        table
            .iter()
            .map(|(k, v)| (k.clone(), value(v)))
            .collect::<Map>(),
    )
}

fn value(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::str(s),
        toml::Value::Integer(i) => Value::Int(*i),
        toml::Value::Float(f) => Value::Float(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::from(d.to_string()),
        toml::Value::Array(items) => Value::list(items.iter().map(value).collect()),
        toml::Value::Table(t) => table_value(t),
    }
}

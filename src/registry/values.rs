//! The values a component is rendered with (FR-005, FR-006):
//! chart defaults < `values.rhoai.yaml` < `features` at their paths < the DSC stanza's `values`.

use std::collections::BTreeMap;

use super::Component;
use helm_render::value::{Map, Value};
use helm_render::values::{Prepared, ValuesError};

#[derive(Debug, thiserror::Error)]
pub enum StanzaError {
    #[error("spec.components.{component}.features.{feature}: unknown feature")]
    UnknownFeature { component: String, feature: String },
    #[error("spec.components.{component}.features.{feature}: {value} is not of type {expected}")]
    FeatureType {
        component: String,
        feature: String,
        value: String,
        expected: String,
    },
    #[error("spec.components.{component}.values: must be an object, not {found}")]
    ValuesNotMap { component: String, found: String },
    #[error("spec.components.{component}: {source}")]
    Values {
        component: String,
        #[source]
        source: ValuesError,
    },
}

/// Sets `value` at the dotted `path`, creating maps on the way (and replacing non-maps, as a
/// later values file would).
fn set_path(map: &mut Map, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = map;
    for seg in parents {
        let slot = cur
            .entry((*seg).to_string())
            .or_insert_with(|| Value::map(Map::new()));
        if slot.as_map().is_none() {
            *slot = Value::map(Map::new());
        }
        let Value::Map(m) = slot else {
            return;
        };
        cur = m.make_mut();
    }
    cur.insert((*last).to_string(), value);
}

/// The user-level values of a component: everything above the chart defaults, merged the way
/// Helm merges `-f` files (later wins, maps merge, `null` later deletes the key).
///
/// Features missing from the stanza take their descriptor default, as the API server would.
pub fn overrides(
    component: &Component,
    features: &BTreeMap<String, serde_json::Value>,
    values: &serde_json::Value,
) -> Result<Value, StanzaError> {
    if let Some(name) = features
        .keys()
        .find(|k| !component.features.contains_key(*k))
    {
        return Err(StanzaError::UnknownFeature {
            component: component.name.clone(),
            feature: name.clone(),
        });
    }
    let mut from_features = Map::new();
    for (name, feature) in &component.features {
        let Some(v) = features.get(name).or(feature.default.as_ref()) else {
            continue;
        };
        if !feature.json_type.admits(v) {
            return Err(StanzaError::FeatureType {
                component: component.name.clone(),
                feature: name.clone(),
                value: v.to_string(),
                expected: feature.json_type.as_str().to_string(),
            });
        }
        let segments: Vec<&str> = feature.segments().collect();
        set_path(&mut from_features, &segments, Value::from_json(v));
    }
    let stanza_values = match values {
        serde_json::Value::Null => Value::map(Map::new()),
        v @ serde_json::Value::Object(_) => Value::from_json(v),
        other => {
            return Err(StanzaError::ValuesNotMap {
                component: component.name.clone(),
                found: json_type_name(other).to_string(),
            });
        }
    };
    helm_render::values::merge_user_values(
        &[
            component.platform_values.clone(),
            Value::map(from_features),
            stanza_values,
        ],
        &[],
        &[],
    )
    .map_err(|source| StanzaError::Values {
        component: component.name.clone(),
        source,
    })
}

/// The chart ready to render with the component's full values: [`overrides`] coalesced over
/// the chart defaults by Helm's rules (subcharts, globals, conditions).
pub fn component_values(
    component: &Component,
    features: &BTreeMap<String, serde_json::Value>,
    values: &serde_json::Value,
) -> Result<Prepared, StanzaError> {
    let user = overrides(component, features, values)?;
    helm_render::values::prepare(component.chart.clone(), user).map_err(|source| {
        StanzaError::Values {
            component: component.name.clone(),
            source,
        }
    })
}

fn json_type_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

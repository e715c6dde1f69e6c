//! A workload's pods are the ones its selector matches. The selector is a structured
//! `LabelSelector`, while a list request takes the `labelSelector` query syntax, so it is
//! written out here (`app=web,tier in (a,b),!legacy`), refusing anything the syntax cannot
//! carry rather than listing more pods than the workload owns.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::DynamicObject;

use super::Kind;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelectorError {
    /// An empty selector matches every pod in the namespace, which are not the workload's.
    #[error("{0}: the selector is empty")]
    Empty(String),
    #[error("{0}: no spec.selector")]
    Missing(String),
    #[error("{0}: spec.selector is not a label selector: {1}")]
    Malformed(String, String),
    #[error(
        "{object}: selector operator {operator:?} on {key:?} is not In, NotIn, Exists or DoesNotExist"
    )]
    Operator {
        object: String,
        key: String,
        operator: String,
    },
    #[error("{object}: selector operator {operator} on {key:?} needs values")]
    NoValues {
        object: String,
        key: String,
        operator: String,
    },
    /// Label keys and values are `[A-Za-z0-9._-]` (keys also `/`): anything else would change
    /// the meaning of the query string.
    #[error("{object}: {what:?} is not a label key or value")]
    Character { object: String, what: String },
}

/// The `labelSelector` query for the pods of a workload, or `None` for kinds that own no
/// pods (whose health needs no pods to explain).
pub fn pod_selector(
    group: &str,
    kind: &str,
    object: &DynamicObject,
) -> Result<Option<String>, SelectorError> {
    match Kind::of(group, kind) {
        Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet | Kind::ReplicaSet | Kind::Job => {}
        Kind::PersistentVolumeClaim | Kind::Other => return Ok(None),
    }
    let name = format!(
        "{} {}",
        kind.to_lowercase(),
        object.metadata.name.as_deref().unwrap_or_default()
    );
    let Some(selector) = object.data.pointer("/spec/selector") else {
        return Err(SelectorError::Missing(name));
    };
    let selector: LabelSelector = serde_json::from_value(selector.clone())
        .map_err(|e| SelectorError::Malformed(name.clone(), e.to_string()))?;
    label_selector(&name, &selector).map(Some)
}

/// `matchLabels` (sorted by key) and then `matchExpressions` in their order, joined by
/// commas, as `kubectl get -l` would take them. `object` names the owner in errors.
pub fn label_selector(object: &str, selector: &LabelSelector) -> Result<String, SelectorError> {
    let check = |what: &str, key: bool| {
        let allowed = |c: char| {
            c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') || (key && c == '/')
        };
        if (key && what.is_empty()) || !what.chars().all(allowed) {
            Err(SelectorError::Character {
                object: object.to_string(),
                what: what.to_string(),
            })
        } else {
            Ok(())
        }
    };
    let mut parts = Vec::new();
    for (key, value) in selector.match_labels.iter().flatten() {
        check(key, true)?;
        check(value, false)?;
        parts.push(format!("{key}={value}"));
    }
    for e in selector.match_expressions.iter().flatten() {
        check(&e.key, true)?;
        let values = e.values.as_deref().unwrap_or_default();
        for v in values {
            check(v, false)?;
        }
        let listed = || {
            if values.is_empty() {
                Err(SelectorError::NoValues {
                    object: object.to_string(),
                    key: e.key.clone(),
                    operator: e.operator.clone(),
                })
            } else {
                Ok(values.join(","))
            }
        };
        parts.push(match e.operator.as_str() {
            "In" => format!("{} in ({})", e.key, listed()?),
            "NotIn" => format!("{} notin ({})", e.key, listed()?),
            "Exists" => e.key.clone(),
            "DoesNotExist" => format!("!{}", e.key),
            other => {
                return Err(SelectorError::Operator {
                    object: object.to_string(),
                    key: e.key.clone(),
                    operator: other.to_string(),
                });
            }
        });
    }
    if parts.is_empty() {
        return Err(SelectorError::Empty(object.to_string()));
    }
    Ok(parts.join(","))
}

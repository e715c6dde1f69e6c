//! The Kubernetes API that users touch: the `DataScienceCluster` and one cluster-scoped kind
//! per registered component.
//!
//! The Rust types fix the shape that is the same for every installation (status, conditions,
//! the stanza's `managementState`/`features`/`values`). What depends on the registry (which
//! components exist, their typed features, their kinds) is only known at startup, so the CRDs
//! are built at runtime: the derived DSC CRD gets its `spec.components` schema from the
//! registry, and each component CRD is assembled from the same parts.

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResource;
use kube::core::{ApiResource, GroupVersionKind};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use crate::registry::{Component, Feature, JsonType, Registry};

pub const DSC_GROUP: &str = "datasciencecluster.opendatahub.io";
pub const DSC_VERSION: &str = "v1";
pub const COMPONENT_GROUP: &str = "components.platform.opendatahub.io";
pub const COMPONENT_VERSION: &str = "v1alpha1";

/// The cluster's data science platform: which components run and with which settings.
// Each printer column repeats `type_ = "string"`, which clippy mistakes for a duplicate attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Debug, Clone, Default, PartialEq, JsonSchema)]
#[kube(
    group = "datasciencecluster.opendatahub.io",
    version = "v1",
    kind = "DataScienceCluster",
    shortname = "dsc",
    status = "DataScienceClusterStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "DataScienceCluster enables and configures the platform's components.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
pub struct DataScienceClusterSpec {
    /// One stanza per registered component, keyed by component name.
    #[serde(default)]
    pub components: BTreeMap<String, ComponentStanza>,
}

/// What the DSC says about one component; the component's own resource mirrors it.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComponentStanza {
    /// Managed deploys the component; Removed (or nothing) removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_state: Option<ManagementState>,
    /// Typed settings declared by the component descriptor.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub features: BTreeMap<String, Json>,
    /// Raw chart values, checked against the chart's values.schema.json by the webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Json>,
}

impl ComponentStanza {
    pub fn is_managed(&self) -> bool {
        self.management_state == Some(ManagementState::Managed)
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, JsonSchema)]
pub enum ManagementState {
    Managed,
    Removed,
}

impl ManagementState {
    /// Every state, in the order the CRD lists them.
    pub const ALL: [ManagementState; 2] = [ManagementState::Managed, ManagementState::Removed];

    /// The serialised name, which the CRD's enum and the webhook's messages use.
    pub fn as_str(self) -> &'static str {
        match self {
            ManagementState::Managed => "Managed",
            ManagementState::Removed => "Removed",
        }
    }
}

/// A condition in the Open Data Hub shape: Kubernetes' condition plus a severity.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    /// True, False or Unknown.
    pub status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// RFC 3339 time of the last status change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Empty for conditions that block readiness; Info or Warning otherwise.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub severity: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataScienceClusterStatus {
    /// Ready or Not Ready.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phase: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready, ComponentsReady and one <Kind>Ready per component.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub components: BTreeMap<String, ComponentSummary>,
}

/// A component as the DSC status reports it.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComponentSummary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_state: Option<ManagementState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<ChartRef>,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, JsonSchema)]
pub struct ChartRef {
    pub name: String,
    pub version: String,
}

/// The status of a component's own resource.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComponentStatus {
    /// Ready, ProvisioningSucceeded, DeploymentsAvailable and Degraded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<ChartRef>,
    /// The applied objects that are not healthy (the first ten, in inventory order), each with
    /// the reason a person has to act on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unhealthy: Vec<UnhealthyObject>,
    /// Digest of the last applied render, so that an unchanged input causes no writes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub render_digest: String,
    /// Every object applied for the component; what pruning and removal delete.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inventory: Vec<InventoryEntry>,
}

#[derive(
    Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct InventoryEntry {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    pub version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    pub name: String,
}

/// One applied object that is not healthy, as the component's status lists it.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnhealthyObject {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    pub name: String,
    /// `ImagePullBackOff`, `JobFailed`, `AwaitingReadiness`, ...
    pub reason: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("building the CRD of {what}: {source}")]
    Crd {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("writing CRD YAML: {0}")]
    Yaml(String),
}

/// The OpenAPI v3 schema of a Rust type, made structural the way kube's derive does it.
fn structural_schema<T: JsonSchema>() -> Json {
    let generator = schemars::generate::SchemaSettings::openapi3()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .with_transform(schemars::transform::AddNullable::default())
        .with_transform(kube::core::schema::StructuralSchemaRewriter)
        .with_transform(kube::core::schema::OptionalEnum)
        .into_generator();
    let mut schema =
        serde_json::to_value(generator.into_root_schema_for::<T>()).unwrap_or_default();
    if let Some(o) = schema.as_object_mut() {
        o.remove("title");
    }
    schema
}

/// Numbers that are whole print as integers in the CRD (`minimum: 1`, not `1.0`).
fn number(f: f64) -> Json {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        json!(f as i64)
    } else {
        json!(f)
    }
}

fn feature_schema(feature: &Feature) -> Json {
    let mut s = serde_json::Map::new();
    s.insert("type".into(), json!(feature.json_type.as_str()));
    if !feature.description.is_empty() {
        s.insert("description".into(), json!(feature.description));
    }
    match feature.json_type {
        JsonType::Object => {
            s.insert("x-kubernetes-preserve-unknown-fields".into(), json!(true));
        }
        JsonType::Array => {
            s.insert(
                "items".into(),
                json!({"x-kubernetes-preserve-unknown-fields": true}),
            );
        }
        _ => {}
    }
    if let Some(e) = &feature.enum_values {
        s.insert("enum".into(), json!(e));
    }
    if let Some(p) = &feature.pattern {
        s.insert("pattern".into(), json!(p));
    }
    if let Some(m) = feature.minimum {
        s.insert("minimum".into(), number(m));
    }
    if let Some(m) = feature.maximum {
        s.insert("maximum".into(), number(m));
    }
    if let Some(d) = &feature.default {
        s.insert("default".into(), d.clone());
    }
    Json::Object(s)
}

/// The schema of one component's stanza: the same in the DSC and in the component's resource.
pub fn stanza_schema(component: &Component) -> Json {
    let features: serde_json::Map<String, Json> = component
        .features
        .iter()
        .map(|(name, f)| (name.clone(), feature_schema(f)))
        .collect();
    let mut description = format!(
        "{} (chart {} {}).",
        component.kind,
        component.chart_name(),
        component.chart_version()
    );
    if !component.description.is_empty() {
        description = format!("{} {description}", component.description);
    }
    if !component.depends_on.is_empty() {
        description = format!(
            "{description} Depends on {}: applied only once they are Ready, and Managed only with them.",
            component.depends_on.join(", ")
        );
    }
    json!({
        "type": "object",
        "description": description,
        "properties": {
            "managementState": {
                "type": "string",
                "enum": ManagementState::ALL.map(ManagementState::as_str),
                "description": "Managed deploys the component; Removed (or nothing) removes it.",
            },
            "features": {
                "type": "object",
                "description": format!("Typed settings of {}, each copied to a chart value.", component.name),
                "properties": features,
            },
            "values": {
                "type": "object",
                "description": "Raw chart values, checked against the chart's values.schema.json.",
                "x-kubernetes-preserve-unknown-fields": true,
            },
        },
    })
}

/// The DSC CRD whose `spec.components` lists every registered component.
///
/// A component name that is not registered is an unknown field: `kubectl` (strict field
/// validation) refuses it and the API server otherwise prunes it. CEL cannot enumerate the keys
/// of an object with fixed properties, so no rule is attempted.
pub fn dsc_crd(registry: &Registry) -> Result<CustomResourceDefinition, ApiError> {
    let crd = <DataScienceCluster as kube::CustomResourceExt>::crd();
    let mut json = serde_json::to_value(&crd).map_err(|source| ApiError::Crd {
        what: "DataScienceCluster".into(),
        source,
    })?;
    let components: serde_json::Map<String, Json> = registry
        .components
        .iter()
        .map(|c| (c.name.clone(), stanza_schema(c)))
        .collect();
    let schema = json!({
        "type": "object",
        "description": "One stanza per registered component, keyed by component name.",
        "properties": components,
    });
    if let Some(versions) = json
        .pointer_mut("/spec/versions")
        .and_then(Json::as_array_mut)
    {
        for v in versions {
            if let Some(slot) =
                v.pointer_mut("/schema/openAPIV3Schema/properties/spec/properties/components")
            {
                *slot = schema.clone();
            }
        }
    }
    serde_json::from_value(json).map_err(|source| ApiError::Crd {
        what: "DataScienceCluster".into(),
        source,
    })
}

/// English plural of a kind, lowercased, for the resource name (`ModelRegistry` → `modelregistries`).
pub fn plural(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    if let Some(stem) = lower.strip_suffix('y')
        && !stem.is_empty()
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
    {
        return format!("{stem}ies");
    }
    if lower.ends_with(['s', 'x', 'z']) || lower.ends_with("ch") || lower.ends_with("sh") {
        format!("{lower}es")
    } else {
        format!("{lower}s")
    }
}

/// Group, version, kind and plural of a component's resource, for dynamic clients.
pub fn component_api_resource(component: &Component) -> ApiResource {
    let gvk = GroupVersionKind::gvk(COMPONENT_GROUP, COMPONENT_VERSION, &component.kind);
    ApiResource::from_gvk_with_plural(&gvk, &plural(&component.kind))
}

/// The CRD of a component's own cluster-scoped singleton resource.
pub fn component_crd(component: &Component) -> Result<CustomResourceDefinition, ApiError> {
    let plural = plural(&component.kind);
    let singleton = component.singleton_name();
    let ready = |field: &str| format!(".status.conditions[?(@.type==\"Ready\")].{field}");
    let json = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{COMPONENT_GROUP}")},
        "spec": {
            "group": COMPONENT_GROUP,
            "names": {
                "kind": component.kind,
                "listKind": format!("{}List", component.kind),
                "plural": plural,
                "singular": component.kind.to_ascii_lowercase(),
            },
            "scope": "Cluster",
            "versions": [{
                "name": COMPONENT_VERSION,
                "served": true,
                "storage": true,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Ready", "type": "string", "jsonPath": ready("status")},
                    {"name": "Reason", "type": "string", "jsonPath": ready("reason")},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                ],
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "description": format!(
                        "{} is the component {} of the DataScienceCluster; its only instance is {singleton}.",
                        component.kind, component.name
                    ),
                    "required": ["spec"],
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "metadata": {"type": "object"},
                        "spec": stanza_schema(component),
                        "status": structural_schema::<ComponentStatus>(),
                    },
                    "x-kubernetes-validations": [{
                        "rule": format!("self.metadata.name == '{singleton}'"),
                        "message": format!("the only allowed name is {singleton}"),
                    }],
                }},
            }],
        },
    });
    serde_json::from_value(json).map_err(|source| ApiError::Crd {
        what: component.kind.clone(),
        source,
    })
}

/// Whether the API server serves a CRD's resource yet: its `Established` condition is true.
/// Creating objects of a CRD (or watching them) fails until then.
pub fn is_established(crd: &CustomResourceDefinition) -> bool {
    crd.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
        })
}

/// The DSC CRD and every component CRD, in registry order.
pub fn all_crds(registry: &Registry) -> Result<Vec<CustomResourceDefinition>, ApiError> {
    let mut out = vec![dsc_crd(registry)?];
    for c in &registry.components {
        out.push(component_crd(c)?);
    }
    Ok(out)
}

/// The CRDs as one multi-document YAML stream, what `dsc-helm crds` prints.
pub fn crds_yaml(registry: &Registry) -> Result<String, ApiError> {
    let mut docs = Vec::new();
    for crd in all_crds(registry)? {
        let json = serde_json::to_value(&crd).map_err(|source| ApiError::Crd {
            what: crd.metadata.name.clone().unwrap_or_default(),
            source,
        })?;
        let yaml = helm_render::yaml::to_yaml(&helm_render::value::Value::from_json(&json))
            .map_err(|e| ApiError::Yaml(e.to_string()))?;
        docs.push(yaml);
    }
    Ok(docs
        .iter()
        .map(|d| format!("---\n{d}"))
        .collect::<Vec<_>>()
        .join(""))
}

#[cfg(test)]
mod tests;

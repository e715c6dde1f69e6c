//! From a render to what gets applied: pure, so that every rule of DESIGN.md's "Reconcile
//! semantics" about which objects exist, where they go and how they are marked is unit-tested
//! without a cluster.

use std::collections::BTreeSet;

use serde_json::{Map as JsonMap, Value as Json, json};
use sha2::{Digest, Sha256};

use crate::api::InventoryEntry;
use helm_render::chart::Chart;
use helm_render::manifest::{self, Manifest};
use helm_render::render::Rendered;

/// The label every managed object carries, valued with the component name; drift watches and
/// pruning select on it.
pub const PART_OF: &str = "platform.opendatahub.io/part-of";
pub const INSTANCE_NAME: &str = "platform.opendatahub.io/instance.name";
pub const INSTANCE_UID: &str = "platform.opendatahub.io/instance.uid";
pub const INSTANCE_GENERATION: &str = "platform.opendatahub.io/instance.generation";
pub const VERSION: &str = "platform.opendatahub.io/version";
pub const CRD_KIND: &str = "CustomResourceDefinition";
pub const CRD_GROUP: &str = "apiextensions.k8s.io";

/// The second label: `app.opendatahub.io/<component>=true`.
pub fn component_label(component: &str) -> String {
    format!("app.opendatahub.io/{component}")
}

/// The component resource the objects belong to.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// Component name (`spec.components.<name>`).
    pub component: String,
    /// Group/version and kind of the component's resource, for ownerReferences.
    pub api_version: String,
    pub kind: String,
    /// Name of the component's resource (`default-<name>`).
    pub name: String,
    pub uid: String,
    pub generation: i64,
    pub chart_version: String,
}

/// Whether a kind is namespaced: `Some(true|false)` when the cluster (or a CRD of the same
/// render) serves it, `None` when nothing does.
pub trait Scopes {
    fn namespaced(&self, api_version: &str, kind: &str) -> Option<bool>;
}

impl Scopes for crate::discovery::Snapshot {
    fn namespaced(&self, api_version: &str, kind: &str) -> Option<bool> {
        self.resolve(api_version, kind).map(|(_, n)| n)
    }
}

/// One object ready for server-side apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub api_version: String,
    pub kind: String,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
    /// The full object with our labels, annotations and owner.
    pub object: Json,
    /// Where it came from, for error messages.
    pub source: String,
}

impl Planned {
    pub fn group_version(&self) -> (&str, &str) {
        split_api_version(&self.api_version)
    }

    pub fn entry(&self) -> InventoryEntry {
        let (group, version) = self.group_version();
        InventoryEntry {
            group: group.to_string(),
            version: version.to_string(),
            kind: self.kind.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
}

pub use crate::discovery::split_api_version;

/// Everything one reconcile applies, in apply order.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// CRDs (from `crds/` of every chart in the tree, then rendered ones): applied first.
    pub crds: Vec<Planned>,
    /// The rest in Helm's install order.
    pub objects: Vec<Planned>,
    /// SHA-256 over every object as applied: equal digests mean byte-identical applies.
    pub digest: String,
}

impl Plan {
    pub fn all(&self) -> impl Iterator<Item = &Planned> {
        self.crds.iter().chain(&self.objects)
    }

    /// The inventory this plan leaves behind, sorted for stable status.
    pub fn inventory(&self) -> Vec<InventoryEntry> {
        let set: BTreeSet<InventoryEntry> = self.all().map(Planned::entry).collect();
        set.into_iter().collect()
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    #[error("{0}")]
    Manifest(String),
    #[error("{template}: {what}")]
    Invalid { template: String, what: String },
    #[error("{template}: no matches for kind {kind} in version {api_version}")]
    UnknownKind {
        template: String,
        api_version: String,
        kind: String,
    },
    #[error("{template}: {kind} {name} is rendered more than once")]
    Duplicate {
        template: String,
        kind: String,
        name: String,
    },
}

/// A render turned into the objects to apply: hooks, tests, NOTES.txt and partials dropped,
/// CRDs first, the rest in install order, each marked as ours.
///
/// `chart` is the prepared chart (disabled subcharts removed), whose `crds/` files Helm
/// installs before anything else.
pub fn plan(
    chart: &Chart,
    rendered: &Rendered,
    instance: &Instance,
    applications_namespace: &str,
    scopes: &dyn Scopes,
) -> Result<Plan, PlanError> {
    let mut crd_docs: Vec<(String, Json)> = Vec::new();
    collect_crd_files(chart, chart.name(), &mut crd_docs)?;

    let mut manifests: Vec<Manifest> = manifest::parse(rendered)
        .map_err(|e| PlanError::Manifest(e.to_string()))?
        .into_iter()
        .filter(|m| !m.is_hook())
        .collect();
    manifest::sort_for_install(&mut manifests);
    let mut others: Vec<(String, Json)> = Vec::new();
    for m in &manifests {
        // Re-read with integers kept: YAML `replicas: 1` must reach the API server as 1, not 1.0.
        let value =
            helm_render::yaml::parse_value_typed(&m.text).map_err(|e| PlanError::Invalid {
                template: m.source.clone(),
                what: e.to_string(),
            })?;
        let json = value.to_json();
        if is_crd_json(&json) {
            crd_docs.push((m.source.clone(), json));
        } else {
            others.push((m.source.clone(), json));
        }
    }

    let crd_scopes: Vec<(String, String, bool)> = crd_docs
        .iter()
        .filter_map(|(_, crd)| {
            let group = crd.pointer("/spec/group")?.as_str()?.to_string();
            let kind = crd.pointer("/spec/names/kind")?.as_str()?.to_string();
            let namespaced = crd.pointer("/spec/scope").and_then(Json::as_str) != Some("Cluster");
            Some((group, kind, namespaced))
        })
        .collect();
    let scope_of = |api_version: &str, kind: &str| {
        let (group, _) = split_api_version(api_version);
        crd_scopes
            .iter()
            .find(|(g, k, _)| g == group && k == kind)
            .map(|(_, _, n)| *n)
            .or_else(|| scopes.namespaced(api_version, kind))
    };

    let mut seen = BTreeSet::new();
    let mut finish = |docs: Vec<(String, Json)>| -> Result<Vec<Planned>, PlanError> {
        let mut out = Vec::new();
        for (source, json) in docs {
            let planned = mark(source, json, instance, applications_namespace, &scope_of)?;
            if !seen.insert(planned.entry()) {
                return Err(PlanError::Duplicate {
                    template: planned.source,
                    kind: planned.kind,
                    name: planned.name,
                });
            }
            out.push(planned);
        }
        Ok(out)
    };
    let crds = finish(crd_docs)?;
    let objects = finish(others)?;
    let mut hasher = Sha256::new();
    for p in crds.iter().chain(&objects) {
        hasher.update(p.object.to_string().as_bytes());
        hasher.update(b"\n");
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let digest = format!("sha256:{hex}");
    Ok(Plan {
        crds,
        objects,
        digest,
    })
}

fn is_crd_json(json: &Json) -> bool {
    json.get("kind").and_then(Json::as_str) == Some(CRD_KIND)
        && json
            .get("apiVersion")
            .and_then(Json::as_str)
            .is_some_and(|v| split_api_version(v).0 == CRD_GROUP)
}

/// The `crds/` documents of a chart and its (enabled) subcharts, parents first, files in name
/// order: what Helm installs before the templates.
fn collect_crd_files(
    chart: &Chart,
    path: &str,
    out: &mut Vec<(String, Json)>,
) -> Result<(), PlanError> {
    let mut files: Vec<_> = chart.crds().collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    for file in files {
        let source = format!("{path}/{}", file.name);
        let text = std::str::from_utf8(&file.data).map_err(|_| PlanError::Invalid {
            template: source.clone(),
            what: "not UTF-8".to_string(),
        })?;
        for doc in manifest::split_crd_documents(text) {
            let value =
                helm_render::yaml::parse_value_typed(doc).map_err(|e| PlanError::Invalid {
                    template: source.clone(),
                    what: e.to_string(),
                })?;
            let json = value.to_json();
            if json.is_null() {
                continue;
            }
            out.push((source.clone(), json));
        }
    }
    for sub in &chart.dependencies {
        collect_crd_files(sub, &format!("{path}/charts/{}", sub.name()), out)?;
    }
    Ok(())
}

fn str_at<'a>(json: &'a Json, pointer: &str) -> &'a str {
    json.pointer(pointer).and_then(Json::as_str).unwrap_or("")
}

/// Adds our labels and annotations, the owner (except on CRDs) and the namespace.
fn mark(
    source: String,
    mut json: Json,
    instance: &Instance,
    applications_namespace: &str,
    scope_of: &dyn Fn(&str, &str) -> Option<bool>,
) -> Result<Planned, PlanError> {
    let invalid = |what: &str| PlanError::Invalid {
        template: source.clone(),
        what: what.to_string(),
    };
    let api_version = str_at(&json, "/apiVersion").to_string();
    let kind = str_at(&json, "/kind").to_string();
    let name = str_at(&json, "/metadata/name").to_string();
    if api_version.is_empty() {
        return Err(invalid("object has no apiVersion"));
    }
    if name.is_empty() {
        return Err(invalid(&format!("{kind} has no metadata.name")));
    }
    let namespaced = scope_of(&api_version, &kind).ok_or_else(|| PlanError::UnknownKind {
        template: source.clone(),
        api_version: api_version.clone(),
        kind: kind.clone(),
    })?;
    let root = json
        .as_object_mut()
        .ok_or_else(|| invalid("object is not a map"))?;
    let metadata = root
        .entry("metadata")
        .or_insert_with(|| Json::Object(JsonMap::new()))
        .as_object_mut()
        .ok_or_else(|| invalid("metadata is not a map"))?;
    let namespace = if namespaced {
        let ns = metadata
            .get("namespace")
            .and_then(Json::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or(applications_namespace)
            .to_string();
        metadata.insert("namespace".into(), Json::String(ns.clone()));
        ns
    } else {
        metadata.remove("namespace");
        String::new()
    };
    insert_strings(
        metadata,
        "labels",
        &[
            (PART_OF.to_string(), instance.component.clone()),
            (component_label(&instance.component), "true".to_string()),
        ],
    )
    .map_err(|w| invalid(&w))?;
    insert_strings(
        metadata,
        "annotations",
        &[
            (INSTANCE_NAME.to_string(), instance.name.clone()),
            (INSTANCE_UID.to_string(), instance.uid.clone()),
            (
                INSTANCE_GENERATION.to_string(),
                instance.generation.to_string(),
            ),
            (VERSION.to_string(), instance.chart_version.clone()),
        ],
    )
    .map_err(|w| invalid(&w))?;
    let is_crd = kind == CRD_KIND && split_api_version(&api_version).0 == CRD_GROUP;
    if !is_crd {
        let owners = metadata
            .entry("ownerReferences")
            .or_insert_with(|| Json::Array(Vec::new()))
            .as_array_mut()
            .ok_or_else(|| invalid("metadata.ownerReferences is not a list"))?;
        owners.retain(|o| o.get("uid").and_then(Json::as_str) != Some(instance.uid.as_str()));
        owners.push(json!({
            "apiVersion": instance.api_version,
            "kind": instance.kind,
            "name": instance.name,
            "uid": instance.uid,
            "controller": true,
        }));
    }
    Ok(Planned {
        api_version,
        kind,
        namespace,
        name,
        object: json,
        source,
    })
}

fn insert_strings(
    metadata: &mut JsonMap<String, Json>,
    field: &str,
    pairs: &[(String, String)],
) -> Result<(), String> {
    let map = metadata
        .entry(field)
        .or_insert_with(|| Json::Object(JsonMap::new()));
    if map.is_null() {
        *map = Json::Object(JsonMap::new());
    }
    let map = map
        .as_object_mut()
        .ok_or_else(|| format!("metadata.{field} is not a map"))?;
    for (k, v) in pairs {
        map.insert(k.clone(), Json::String(v.clone()));
    }
    Ok(())
}

/// What pruning deletes: entries of the previous inventory that this plan no longer has, CRDs
/// excepted, in reverse install order (dependents before what they depend on).
/// What an object's manifest says, less the component generation it was planned at: two plans
/// of an object with the same digest need only one write. Every values change bumps the
/// component resource's generation, and with it our `instance.generation` annotation on every
/// object; counting that would rewrite all of a component's objects when one changed. An
/// object not written keeps the generation of the change that last wrote it.
pub fn content_digest(object: &Json) -> [u8; 32] {
    let mut object = object.clone();
    if let Some(annotations) = object
        .pointer_mut("/metadata/annotations")
        .and_then(Json::as_object_mut)
    {
        annotations.remove(INSTANCE_GENERATION);
    }
    Sha256::digest(object.to_string().as_bytes()).into()
}

pub fn prune_set(previous: &[InventoryEntry], current: &[InventoryEntry]) -> Vec<InventoryEntry> {
    let keep: BTreeSet<&InventoryEntry> = current.iter().collect();
    let mut gone: Vec<InventoryEntry> = previous
        .iter()
        .filter(|e| !keep.contains(e) && !is_crd_entry(e))
        .cloned()
        .collect();
    sort_for_delete(&mut gone);
    gone
}

/// Helm's annotation for objects that outlive their release (`helm.sh/resource-policy: keep`).
pub const RESOURCE_POLICY: &str = "helm.sh/resource-policy";

/// Whether pruning or removal may delete a live object: only ours (our part-of label for this
/// component), not already going away, and not marked to be kept as Helm's uninstall keeps it.
pub fn may_delete(
    metadata: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    component: &str,
) -> bool {
    let ours = metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(PART_OF))
        .is_some_and(|v| v == component);
    let keep = metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(RESOURCE_POLICY))
        .is_some_and(|v| v == "keep");
    ours && !keep && metadata.deletion_timestamp.is_none()
}

/// The inventory minus CRDs, in reverse install order: what removing a component deletes.
pub fn removal_set(inventory: &[InventoryEntry]) -> Vec<InventoryEntry> {
    prune_set(inventory, &[])
}

fn is_crd_entry(e: &InventoryEntry) -> bool {
    e.kind == CRD_KIND && e.group == CRD_GROUP
}

fn sort_for_delete(entries: &mut [InventoryEntry]) {
    let rank = |kind: &str| {
        manifest::INSTALL_ORDER
            .iter()
            .position(|k| *k == kind)
            .unwrap_or(manifest::INSTALL_ORDER.len())
    };
    entries.sort_by(|a, b| rank(&b.kind).cmp(&rank(&a.kind)).then_with(|| a.cmp(b)));
}

#[cfg(test)]
mod tests;

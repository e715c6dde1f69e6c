//! The operator's least-privilege ClusterRole, derived from the registry so that it stays true
//! when a platform team adds a chart: the operator's own API (DSC, component kinds, CRDs,
//! namespaces, events, leases) plus full management of every kind a registered chart can
//! render, and nothing else.
//!
//! A default render alone misses objects that values switch on (an Ingress, an HPA), so kinds
//! come from three places: a render with the component's default values, the literal
//! `apiVersion:`/`kind:` lines of every template (enabled or not), and the CRDs the charts ship
//! (which also give the exact plural of their custom kinds).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::api::{self, COMPONENT_GROUP, DSC_GROUP};
use crate::registry::{self, Component, Registry};
use helm_render::chart::Chart;
use helm_render::engine::funcs::{OfflineLookup, SeededRandom};
use helm_render::manifest;
use helm_render::render::{KubeVersion, Release, Renderer, defaults};
use helm_render::value::Value;

/// Verbs on every kind a chart renders: apply (create/patch), prune (delete), drift watches and
/// `lookup` (get/list/watch).
const MANAGE: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];

/// Kinds Kubernetes serves that charts name without a literal `apiVersion`, by API group.
const BUILTIN_GROUPS: &[(&str, &str)] = &[
    ("ConfigMap", ""),
    ("Endpoints", ""),
    ("LimitRange", ""),
    ("Namespace", ""),
    ("PersistentVolume", ""),
    ("PersistentVolumeClaim", ""),
    ("Pod", ""),
    ("ReplicationController", ""),
    ("ResourceQuota", ""),
    ("Secret", ""),
    ("Service", ""),
    ("ServiceAccount", ""),
    ("DaemonSet", "apps"),
    ("Deployment", "apps"),
    ("ReplicaSet", "apps"),
    ("StatefulSet", "apps"),
    ("HorizontalPodAutoscaler", "autoscaling"),
    ("CronJob", "batch"),
    ("Job", "batch"),
    ("Ingress", "networking.k8s.io"),
    ("IngressClass", "networking.k8s.io"),
    ("NetworkPolicy", "networking.k8s.io"),
    ("PodDisruptionBudget", "policy"),
    ("ClusterRole", "rbac.authorization.k8s.io"),
    ("ClusterRoleBinding", "rbac.authorization.k8s.io"),
    ("Role", "rbac.authorization.k8s.io"),
    ("RoleBinding", "rbac.authorization.k8s.io"),
    ("PriorityClass", "scheduling.k8s.io"),
    ("StorageClass", "storage.k8s.io"),
    ("CustomResourceDefinition", "apiextensions.k8s.io"),
    (
        "MutatingWebhookConfiguration",
        "admissionregistration.k8s.io",
    ),
    (
        "ValidatingWebhookConfiguration",
        "admissionregistration.k8s.io",
    ),
    ("APIService", "apiregistration.k8s.io"),
];

/// Plurals that the English rule of [`api::plural`] gets wrong.
const IRREGULAR_PLURALS: &[(&str, &str)] = &[("Endpoints", "endpoints")];

#[derive(Debug, thiserror::Error)]
pub enum RbacError {
    #[error("component {component}: {message}")]
    Render { component: String, message: String },
    #[error("component {component}: {source}")]
    Component {
        component: String,
        #[source]
        source: registry::ComponentRenderError,
    },
    #[error("cannot write the ClusterRole as YAML: {0}")]
    Yaml(String),
}

/// One kind the operator manages, as RBAC names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Resource {
    pub group: String,
    pub plural: String,
}

/// What was found: the resources to grant, and kinds named without an API group we could
/// determine (reported so that a platform team can add a `watches` entry or an `apiVersion`).
#[derive(Debug, Default)]
pub struct Discovered {
    pub resources: BTreeSet<Resource>,
    pub unresolved: BTreeSet<String>,
}

/// A kind seen in a chart, with its API group when the source states it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct SeenKind {
    kind: String,
    group: Option<String>,
}

fn group_of(api_version: &str) -> String {
    match api_version.rsplit_once('/') {
        Some((group, _)) => group.to_string(),
        None => String::new(),
    }
}

/// The literal `apiVersion:`/`kind:` pairs of one template source, document by document.
fn literal_kinds(source: &str) -> Vec<SeenKind> {
    let mut out = Vec::new();
    for document in source.split("\n---") {
        let mut kind = None;
        let mut group = None;
        for line in document.lines() {
            if let Some(rest) = line.strip_prefix("kind:") {
                let value = rest.trim().trim_matches(['"', '\'']);
                if is_identifier(value) {
                    kind = Some(value.to_string());
                }
            } else if let Some(rest) = line.strip_prefix("apiVersion:") {
                let value = rest.trim().trim_matches(['"', '\'']);
                if !value.is_empty() && !value.contains("{{") {
                    group = Some(group_of(value));
                }
            }
        }
        if let Some(kind) = kind {
            out.push(SeenKind { kind, group });
        }
    }
    out
}

fn is_identifier(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_uppercase()) && s.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Custom kinds defined by the CRDs of a chart tree: kind → (group, plural).
fn shipped_crds(chart: &Chart, out: &mut BTreeMap<String, Resource>) {
    for file in chart.crds() {
        let Ok(text) = std::str::from_utf8(&file.data) else {
            continue;
        };
        for document in manifest::split_crd_documents(text) {
            let Ok(object) = helm_render::yaml::parse_value(document) else {
                continue;
            };
            let group = object.str_at(&["spec", "group"]);
            let kind = object.str_at(&["spec", "names", "kind"]);
            let plural = object.str_at(&["spec", "names", "plural"]);
            if let (Some(group), Some(kind), Some(plural)) = (group, kind, plural) {
                out.insert(
                    kind.to_string(),
                    Resource {
                        group: group.to_string(),
                        plural: plural.to_string(),
                    },
                );
            }
        }
    }
    for dependency in &chart.dependencies {
        shipped_crds(dependency, out);
    }
}

/// The kinds of a render with the component's default values (platform overrides and feature
/// defaults included), with their API groups.
fn default_render_kinds(component: &Component) -> Result<Vec<SeenKind>, RbacError> {
    let failed = |message: String| RbacError::Render {
        component: component.name.clone(),
        message,
    };
    let kube = KubeVersion::parse(defaults::DEFAULT_KUBE_VERSION)
        .ok_or_else(|| failed("invalid default Kubernetes version".into()))?;
    let capabilities = Arc::new(defaults::capabilities(kube, &[]));
    let release = Release::install(&component.name, "opendatahub");
    let target = registry::RenderTarget {
        renderer: &Renderer::new(),
        release: &release,
        capabilities: &capabilities,
        lookup: &OfflineLookup,
    };
    let typed = |source| RbacError::Component {
        component: component.name.clone(),
        source,
    };
    let manifests = component
        .render(
            &BTreeMap::new(),
            &serde_json::json!({}),
            &target,
            &mut SeededRandom::new(b"rbac"),
        )
        .and_then(|r| r.manifests())
        .map_err(typed)?;
    Ok(manifests
        .iter()
        .filter(|m| !m.is_hook())
        .map(|m| SeenKind {
            kind: m.kind().to_string(),
            group: m.object.str_at(&["apiVersion"]).as_deref().map(group_of),
        })
        .collect())
}

/// Every resource the registered charts can render.
pub fn discover(registry: &Registry) -> Result<Discovered, RbacError> {
    let mut seen = BTreeSet::new();
    let mut crds = BTreeMap::new();
    for component in &registry.components {
        seen.extend(default_render_kinds(component)?);
        for (_, template, _) in component.chart.all_templates() {
            seen.extend(literal_kinds(&template.source));
        }
        shipped_crds(&component.chart, &mut crds);
        if crds_in(&component.chart) {
            seen.insert(SeenKind {
                kind: "CustomResourceDefinition".into(),
                group: Some("apiextensions.k8s.io".into()),
            });
        }
        for watch in &component.watches {
            seen.insert(SeenKind {
                kind: watch.kind.clone(),
                group: Some(watch.group.clone()),
            });
        }
    }
    let mut found = Discovered::default();
    for SeenKind { kind, group } in seen {
        let shipped = crds.get(&kind);
        let group = group
            .or_else(|| shipped.map(|r| r.group.clone()))
            .or_else(|| builtin_group(&kind).map(str::to_string));
        let Some(group) = group else {
            found.unresolved.insert(kind);
            continue;
        };
        let plural = match shipped {
            Some(r) if r.group == group => r.plural.clone(),
            _ => plural_of(&kind),
        };
        found.resources.insert(Resource { group, plural });
    }
    Ok(found)
}

fn crds_in(chart: &Chart) -> bool {
    chart.crds().next().is_some() || chart.dependencies.iter().any(crds_in)
}

fn builtin_group(kind: &str) -> Option<&'static str> {
    BUILTIN_GROUPS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, g)| *g)
}

fn plural_of(kind: &str) -> String {
    IRREGULAR_PLURALS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, p)| p.to_string())
        .unwrap_or_else(|| api::plural(kind))
}

fn rule(groups: &[&str], resources: &[String], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(groups.iter().map(|g| g.to_string()).collect()),
        resources: Some(resources.to_vec()),
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        ..Default::default()
    }
}

/// The ClusterRole: the operator's own needs first, then one rule per API group of rendered
/// kinds. Granting Roles and ClusterRoles that a chart renders needs `bind` and `escalate`,
/// because the operator cannot hold every permission those roles grant.
pub fn cluster_role(
    registry: &Registry,
    name: &str,
) -> Result<(ClusterRole, Discovered), RbacError> {
    let discovered = discover(registry)?;
    let component_resources: Vec<String> = registry
        .components
        .iter()
        .flat_map(|c| {
            let plural = api::plural(&c.kind);
            [
                plural.clone(),
                format!("{plural}/status"),
                format!("{plural}/finalizers"),
            ]
        })
        .collect();
    let mut rules = vec![
        rule(
            &[DSC_GROUP],
            &[
                "datascienceclusters".into(),
                "datascienceclusters/status".into(),
                "datascienceclusters/finalizers".into(),
            ],
            &["get", "list", "watch", "update", "patch"],
        ),
        rule(&[COMPONENT_GROUP], &component_resources, MANAGE),
        rule(
            &["apiextensions.k8s.io"],
            &["customresourcedefinitions".into()],
            &["get", "list", "watch", "create", "update", "patch"],
        ),
        rule(
            &[""],
            &["namespaces".into()],
            &["get", "list", "watch", "create", "patch"],
        ),
        rule(
            &["", "events.k8s.io"],
            &["events".into()],
            &["create", "patch"],
        ),
        rule(
            &["coordination.k8s.io"],
            &["leases".into()],
            &["get", "list", "watch", "create", "update", "patch"],
        ),
    ];
    let mut by_group: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    // CRDs are covered above without `delete`: they are never pruned.
    for r in discovered
        .resources
        .iter()
        .filter(|r| r.plural != "customresourcedefinitions")
    {
        by_group.entry(&r.group).or_default().push(r.plural.clone());
    }
    // The per-component random seed lives in a Secret the operator owns.
    if !by_group
        .get("")
        .is_some_and(|rs| rs.iter().any(|r| r == "secrets"))
    {
        rules.push(rule(
            &[""],
            &["secrets".into()],
            &["get", "create", "patch"],
        ));
    }
    for (group, resources) in &by_group {
        rules.push(rule(&[group], resources, MANAGE));
    }
    let grants_roles: Vec<String> = ["roles", "clusterroles"]
        .into_iter()
        .filter(|r| {
            by_group
                .get("rbac.authorization.k8s.io")
                .is_some_and(|rs| rs.iter().any(|x| x == r))
        })
        .map(str::to_string)
        .collect();
    if !grants_roles.is_empty() {
        rules.push(rule(
            &["rbac.authorization.k8s.io"],
            &grants_roles,
            &["bind", "escalate"],
        ));
    }
    let role = ClusterRole {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some(BTreeMap::from([(
                "app.kubernetes.io/name".to_string(),
                "dsc-helm".to_string(),
            )])),
            ..Default::default()
        },
        rules: Some(rules),
        ..Default::default()
    };
    Ok((role, discovered))
}

/// The ClusterRole as YAML, what `dsc-helm rbac` prints.
pub fn cluster_role_yaml(role: &ClusterRole) -> Result<String, RbacError> {
    let json = serde_json::to_value(role).map_err(|e| RbacError::Yaml(e.to_string()))?;
    let yaml = helm_render::yaml::to_yaml(&Value::from_json(&json))
        .map_err(|e| RbacError::Yaml(e.to_string()))?;
    Ok(format!("---\n{yaml}"))
}

#[cfg(test)]
mod tests;

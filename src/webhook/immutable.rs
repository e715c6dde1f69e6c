//! Warnings before an upgrade gets stuck: when accepted values would change a field the API
//! server will not change in place (a Deployment's selector, a StatefulSet's claim
//! templates), the admin hears it from `kubectl apply` itself, as `Warning: …`, with what the
//! component's `upgradeStrategy` will do about it, rather than later from a Degraded status.
//!
//! Each dry render records the immutable fields of the objects it rendered (a [`Shape`]); an
//! UPDATE compares the shape of the stored object's values with that of the new ones. The
//! stored values are what the reconciler applied, or is applying, so an object in both
//! renderings is an object the component has applied. Both shapes usually come from the
//! verdict cache: the stored values were checked when they were written.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::registry::Component;
use crate::registry::upgrade;
use helm_render::manifest::split_documents;
use helm_render::render::Rendered;

/// One rendered object: group, kind, namespace (empty for cluster-scoped kinds), name.
pub type ObjectId = (String, String, String, String);

/// The immutable fields of every object of one rendering that has any, with their values
/// (`None` where the rendering leaves a field out).
pub type Shape = BTreeMap<ObjectId, Vec<(&'static str, Option<Json>)>>;

/// Kinds with immutable fields ([`upgrade::immutable_paths`]): a document naming none of
/// them is not parsed. Cluster-scoped ones are marked.
const KINDS: &[(&str, bool)] = &[
    ("Deployment", false),
    ("ReplicaSet", false),
    ("DaemonSet", false),
    ("StatefulSet", false),
    ("Job", false),
    ("PersistentVolumeClaim", false),
    ("RoleBinding", false),
    ("ClusterRoleBinding", true),
    ("Service", false),
];

/// The shape of a rendering; objects without a namespace are placed in `namespace`, as the
/// reconciler places them.
pub fn shape_of(rendered: &Rendered, namespace: &str) -> Shape {
    let mut shape = Shape::new();
    for text in rendered.values() {
        for doc in split_documents(text) {
            if written_kind(doc).is_some_and(|kind| !KINDS.iter().any(|(k, _)| *k == kind)) {
                continue;
            }
            // Not YAML, or not an object: the manifest check refuses it, nothing to compare.
            let Ok(object) = helm_render::yaml::parse_value(doc) else {
                continue;
            };
            let object = object.to_json();
            let text_at = |pointer: &str| {
                object
                    .pointer(pointer)
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let kind = text_at("/kind");
            let api_version = text_at("/apiVersion");
            let group = api_version
                .rsplit_once('/')
                .map(|(g, _)| g.to_string())
                .unwrap_or_default();
            let paths = upgrade::immutable_paths(&group, &kind);
            if paths.is_empty() {
                continue;
            }
            let cluster_scoped = KINDS.iter().any(|(k, c)| *k == kind && *c);
            let namespace = match text_at("/metadata/namespace") {
                _ if cluster_scoped => String::new(),
                n if n.is_empty() => namespace.to_string(),
                n => n,
            };
            let values = paths
                .iter()
                .map(|p| {
                    let pointer = format!("/{}", p.replace('.', "/"));
                    (
                        *p,
                        object.pointer(&pointer).filter(|v| !v.is_null()).cloned(),
                    )
                })
                .collect();
            shape.insert((group, kind, namespace, text_at("/metadata/name")), values);
        }
    }
    shape
}

/// The kind a document's top-level `kind:` line names, when it has one; a document written
/// another way (JSON, a quoted key) is parsed to find out.
fn written_kind(doc: &str) -> Option<&str> {
    let line = doc.lines().find_map(|l| l.strip_prefix("kind:"))?;
    let kind = line.split('#').next().unwrap_or_default().trim();
    Some(kind.trim_matches(|c| c == '"' || c == '\''))
}

/// One warning per object in both shapes whose immutable fields differ, under `prefix` (the
/// component's stanza in the request), saying what the component's strategy will do.
pub fn warnings(component: &Component, prefix: &str, old: &Shape, new: &Shape) -> Vec<String> {
    let mut out = Vec::new();
    for (id, fields) in new {
        let Some(before) = old.get(id) else {
            continue;
        };
        let changed: Vec<&str> = fields
            .iter()
            .filter(|(path, value)| {
                before
                    .iter()
                    .find(|(p, _)| p == path)
                    .is_some_and(|(_, v)| v != value)
            })
            .map(|(path, _)| *path)
            .collect();
        if changed.is_empty() {
            continue;
        }
        let (group, kind, namespace, name) = id;
        let object = if namespace.is_empty() {
            name.clone()
        } else {
            format!("{namespace}/{name}")
        };
        let strategy = component.upgrade_strategy.for_kind(kind);
        out.push(format!(
            "{prefix}.values: {kind} {object}: these values change {}, which cannot change in \
             place; {}",
            changed.join(", "),
            upgrade::consequence(strategy, group, kind)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(text: &str) -> Rendered {
        [("demo/templates/all.yaml".to_string(), text.to_string())].into()
    }

    fn deployment(track: &str, replicas: u32) -> String {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels:\n      track: {track}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  track: {track}\n"
        )
    }

    #[test]
    fn only_objects_with_immutable_fields_are_recorded() {
        let shape = shape_of(&rendered(&deployment("a", 1)), "apps");
        let id = (
            "apps".to_string(),
            "Deployment".to_string(),
            "apps".to_string(),
            "web".to_string(),
        );
        assert_eq!(shape.len(), 1, "{shape:?}");
        assert_eq!(
            shape.get(&id),
            Some(&vec![(
                "spec.selector",
                Some(serde_json::json!({"matchLabels": {"track": "a"}}))
            )])
        );
        let binding = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: read\nroleRef:\n  kind: ClusterRole\n  name: view\n";
        let shape = shape_of(&rendered(binding), "apps");
        assert!(
            shape
                .keys()
                .any(|(_, k, ns, _)| k == "ClusterRoleBinding" && ns.is_empty())
        );
    }

    #[test]
    fn documents_of_other_kinds_are_told_by_their_kind_line() {
        assert_eq!(
            written_kind("apiVersion: v1\nkind: ServiceAccount\n"),
            Some("ServiceAccount")
        );
        assert_eq!(
            written_kind("kind: \"Service\" # headless\n"),
            Some("Service")
        );
        assert_eq!(written_kind("{\"kind\": \"Service\"}"), None);
        let json_service = r#"{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"clusterIP": "None"}}"#;
        assert_eq!(shape_of(&rendered(json_service), "apps").len(), 1);
        let account = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n";
        assert!(shape_of(&rendered(account), "apps").is_empty());
    }

    #[test]
    fn a_changed_selector_warns_and_a_changed_replica_count_does_not() {
        let registry =
            crate::registry::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("charts"));
        let Ok(registry) = registry else {
            panic!("the example registry loads");
        };
        let Some(webapp) = registry.get("webapp") else {
            panic!("webapp is registered");
        };
        let old = shape_of(&rendered(&deployment("a", 1)), "apps");
        let scaled = shape_of(&rendered(&deployment("a", 3)), "apps");
        let moved = shape_of(&rendered(&deployment("b", 1)), "apps");
        assert!(warnings(webapp, "spec.components.webapp", &old, &scaled).is_empty());
        let shown = warnings(webapp, "spec.components.webapp", &old, &moved);
        assert_eq!(shown.len(), 1);
        assert!(
            shown[0].starts_with(
                "spec.components.webapp.values: Deployment apps/web: these values change spec.selector, which cannot change in place; the API server refuses the change"
            ),
            "{shown:?}"
        );
        // An object new in this rendering has nothing applied to compare with.
        assert!(warnings(webapp, "spec.components.webapp", &Shape::new(), &moved).is_empty());
    }
}

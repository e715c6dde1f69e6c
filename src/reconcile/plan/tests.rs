use std::path::Path;

use super::*;

/// Core kinds only, like a bare API server; everything else is unknown.
struct Bare;

impl Scopes for Bare {
    fn namespaced(&self, api_version: &str, kind: &str) -> Option<bool> {
        match (api_version, kind) {
            ("v1", "Namespace") | ("rbac.authorization.k8s.io/v1", "ClusterRole") => Some(false),
            ("apiextensions.k8s.io/v1", "CustomResourceDefinition") => Some(false),
            ("v1", _) | ("apps/v1", _) | ("networking.k8s.io/v1", _) => Some(true),
            _ => None,
        }
    }
}

fn instance() -> Instance {
    Instance {
        component: "webapp".into(),
        api_version: "components.platform.opendatahub.io/v1alpha1".into(),
        kind: "WebApp".into(),
        name: "default-webapp".into(),
        uid: "uid-1".into(),
        generation: 3,
        chart_version: "0.1.0".into(),
    }
}

fn chart(name: &str) -> Chart {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("charts/src")
        .join(name);
    helm_render::chart::load(&dir).expect("example chart loads")
}

fn rendered(pairs: &[(&str, &str)]) -> Rendered {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn drops_hooks_tests_notes_and_partials_and_orders_for_install() {
    let r = rendered(&[
        (
            "c/templates/NOTES.txt",
            "kind: ConfigMap\nmetadata:\n  name: notes",
        ),
        (
            "c/templates/_x.tpl",
            "kind: ConfigMap\nmetadata:\n  name: partial",
        ),
        (
            "c/templates/a.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s",
        ),
        (
            "c/templates/b.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\n  annotations:\n    helm.sh/hook: test\n",
        ),
        (
            "c/templates/c.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: extra\n",
        ),
    ]);
    let p = plan(&chart("webapp"), &r, &instance(), "apps", &Bare).expect("plans");
    let names: Vec<(&str, &str)> = p
        .objects
        .iter()
        .map(|o| (o.kind.as_str(), o.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("Namespace", "extra"),
            ("Service", "s"),
            ("Deployment", "d")
        ]
    );
    assert!(p.crds.is_empty());
}

#[test]
fn marks_objects_with_labels_annotations_owner_and_namespace() {
    let r = rendered(&[
        (
            "c/templates/a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  labels:\n    keep: me\ndata:\n  replicas: \"1\"\n",
        ),
        (
            "c/templates/b.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  namespace: elsewhere\nspec:\n  ports:\n  - port: 80\n",
        ),
        (
            "c/templates/c.yaml",
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: cr\n  namespace: ignored\n",
        ),
    ]);
    let p = plan(&chart("webapp"), &r, &instance(), "apps", &Bare).expect("plans");
    let cm = &p
        .objects
        .iter()
        .find(|o| o.kind == "ConfigMap")
        .expect("cm")
        .object;
    assert_eq!(cm["metadata"]["namespace"], "apps");
    assert_eq!(cm["metadata"]["labels"]["keep"], "me");
    assert_eq!(cm["metadata"]["labels"][PART_OF], "webapp");
    assert_eq!(
        cm["metadata"]["labels"]["app.opendatahub.io/webapp"],
        "true"
    );
    assert_eq!(
        cm["metadata"]["annotations"][INSTANCE_NAME],
        "default-webapp"
    );
    assert_eq!(cm["metadata"]["annotations"][INSTANCE_UID], "uid-1");
    assert_eq!(cm["metadata"]["annotations"][INSTANCE_GENERATION], "3");
    assert_eq!(cm["metadata"]["annotations"][VERSION], "0.1.0");
    assert_eq!(cm["metadata"]["ownerReferences"][0]["uid"], "uid-1");
    assert_eq!(cm["metadata"]["ownerReferences"][0]["kind"], "WebApp");
    let svc = p.objects.iter().find(|o| o.kind == "Service").expect("svc");
    assert_eq!(svc.namespace, "elsewhere");
    // Integers stay integers on the way to the API server.
    assert_eq!(
        svc.object["spec"]["ports"][0]["port"],
        serde_json::json!(80)
    );
    assert!(svc.object["spec"]["ports"][0]["port"].is_u64());
    let cr = p
        .objects
        .iter()
        .find(|o| o.kind == "ClusterRole")
        .expect("cr");
    assert_eq!(cr.namespace, "");
    assert!(cr.object["metadata"].get("namespace").is_none());
}

#[test]
fn crd_files_come_first_define_their_scope_and_get_no_owner() {
    let c = chart("model-registry");
    let prepared =
        helm_render::values::prepare(c, helm_render::value::Value::Nil).expect("prepares");
    let renderer = helm_render::render::Renderer::new();
    let caps = std::sync::Arc::new(helm_render::render::defaults::capabilities(
        helm_render::render::KubeVersion::parse("v1.37.0").expect("version"),
        &[],
    ));
    let release = helm_render::render::Release::install("model-registry", "apps");
    let r = renderer
        .render(
            &prepared.chart,
            &prepared.values,
            &release,
            &caps,
            &helm_render::engine::funcs::OfflineLookup,
            &mut helm_render::engine::funcs::SeededRandom::new(b"x"),
        )
        .expect("renders");
    let p = plan(&prepared.chart, &r, &instance(), "apps", &Bare).expect("plans");
    assert_eq!(p.crds.len(), 1);
    let crd = &p.crds[0];
    assert_eq!(
        (crd.kind.as_str(), crd.group_version().0),
        (CRD_KIND, CRD_GROUP)
    );
    assert_eq!(crd.name, "modelcatalogs.modelregistry.opendatahub.io");
    assert!(crd.object["metadata"].get("ownerReferences").is_none());
    assert_eq!(crd.object["metadata"]["labels"][PART_OF], "webapp");
    // The ModelCatalog kind is unknown to the cluster but served by the chart's own CRD.
    let catalog = p
        .objects
        .iter()
        .find(|o| o.kind == "ModelCatalog")
        .expect("catalog");
    assert_eq!(catalog.namespace, "apps");
    assert!(p.inventory().iter().any(|e| e.kind == CRD_KIND));
}

#[test]
fn unknown_kinds_duplicates_and_nameless_objects_are_errors() {
    let unknown = rendered(&[(
        "c/templates/a.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
    )]);
    assert!(matches!(
        plan(&chart("webapp"), &unknown, &instance(), "apps", &Bare),
        Err(PlanError::UnknownKind { .. })
    ));
    let dup = rendered(&[
        (
            "c/templates/a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
        ),
        (
            "c/templates/b.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
        ),
    ]);
    assert!(matches!(
        plan(&chart("webapp"), &dup, &instance(), "apps", &Bare),
        Err(PlanError::Duplicate { .. })
    ));
    let nameless = rendered(&[("c/templates/a.yaml", "apiVersion: v1\nkind: ConfigMap\n")]);
    assert!(matches!(
        plan(&chart("webapp"), &nameless, &instance(), "apps", &Bare),
        Err(PlanError::Invalid { .. })
    ));
}

#[test]
fn digest_follows_content_and_generation() {
    let r = rendered(&[(
        "c/templates/a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: b\n",
    )]);
    let one = plan(&chart("webapp"), &r, &instance(), "apps", &Bare).expect("plans");
    let again = plan(&chart("webapp"), &r, &instance(), "apps", &Bare).expect("plans");
    assert_eq!(one.digest, again.digest);
    let mut later = instance();
    later.generation = 4;
    let bumped = plan(&chart("webapp"), &r, &later, "apps", &Bare).expect("plans");
    assert_ne!(one.digest, bumped.digest);
    let changed = rendered(&[(
        "c/templates/a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: c\n",
    )]);
    let other = plan(&chart("webapp"), &changed, &instance(), "apps", &Bare).expect("plans");
    assert_ne!(one.digest, other.digest);
}

fn entry(group: &str, kind: &str, name: &str) -> InventoryEntry {
    InventoryEntry {
        group: group.into(),
        version: "v1".into(),
        kind: kind.into(),
        namespace: String::new(),
        name: name.into(),
    }
}

#[test]
fn prune_keeps_rendered_objects_and_crds_and_deletes_in_reverse_install_order() {
    let previous = vec![
        entry("", "Namespace", "ns"),
        entry("apps", "Deployment", "d"),
        entry("", "ConfigMap", "keep"),
        entry(CRD_GROUP, CRD_KIND, "widgets.example.com"),
        entry("", "Service", "s"),
    ];
    let current = vec![entry("", "ConfigMap", "keep")];
    let gone = prune_set(&previous, &current);
    let kinds: Vec<&str> = gone.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["Deployment", "Service", "Namespace"]);
    let all = removal_set(&previous);
    assert_eq!(all.len(), 4);
    assert!(all.iter().all(|e| e.kind != CRD_KIND));
}

/// NFR-002: the same inputs and seed give byte-identical manifests, random functions included.
#[test]
fn seeded_renders_are_identical_and_the_seed_matters() {
    let render = |seed: &[u8]| {
        let prepared =
            helm_render::values::prepare(chart("webapp"), helm_render::value::Value::Nil)
                .expect("prepares");
        let caps = std::sync::Arc::new(helm_render::render::defaults::capabilities(
            helm_render::render::KubeVersion::parse("v1.37.0").expect("version"),
            &[],
        ));
        let rendered = helm_render::render::Renderer::new()
            .render(
                &prepared.chart,
                &prepared.values,
                &helm_render::render::Release::install("webapp", "apps"),
                &caps,
                &helm_render::engine::funcs::OfflineLookup,
                &mut helm_render::engine::funcs::SeededRandom::new(seed),
            )
            .expect("renders");
        plan(&prepared.chart, &rendered, &instance(), "apps", &Bare).expect("plans")
    };
    let one = render(b"component seed");
    let two = render(b"component seed");
    assert_eq!(one, two);
    let other = render(b"another seed");
    assert_ne!(one.digest, other.digest, "the password comes from the seed");
}

#[test]
fn only_our_live_objects_without_keep_are_deleted() {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
    let meta = |label: Option<&str>, keep: bool, deleting: bool| ObjectMeta {
        labels: label.map(|l| [(PART_OF.to_string(), l.to_string())].into()),
        annotations: keep.then(|| [(RESOURCE_POLICY.to_string(), "keep".to_string())].into()),
        deletion_timestamp: deleting.then_some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)),
        ..Default::default()
    };
    assert!(may_delete(&meta(Some("webapp"), false, false), "webapp"));
    assert!(!may_delete(&meta(Some("other"), false, false), "webapp"));
    assert!(!may_delete(&meta(None, false, false), "webapp"));
    assert!(!may_delete(&meta(Some("webapp"), true, false), "webapp"));
    assert!(!may_delete(&meta(Some("webapp"), false, true), "webapp"));
}

/// A new generation of the component resource alone changes no object's content; a new value
/// in the manifest does.
#[test]
fn an_objects_content_digest_ignores_only_the_generation_it_was_planned_at() {
    let r = rendered(&[(
        "c/templates/a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: one\n",
    )]);
    let r2 = rendered(&[(
        "c/templates/a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: two\n",
    )]);
    let at = |generation: i64, r: &Rendered| {
        let instance = Instance {
            generation,
            ..instance()
        };
        let p = plan(&chart("webapp"), r, &instance, "apps", &Bare).expect("plans");
        p.objects[0].object.clone()
    };
    let (first, later) = (at(3, &r), at(4, &r));
    assert_ne!(first, later, "the annotation differs");
    assert_eq!(content_digest(&first), content_digest(&later));
    assert_ne!(content_digest(&first), content_digest(&at(4, &r2)));
}

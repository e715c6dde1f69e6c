use std::path::Path;

use super::*;

fn repository_registry() -> Registry {
    registry::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("charts"))
        .unwrap_or_else(|e| panic!("loading charts/: {e}"))
}

fn has(found: &Discovered, group: &str, plural: &str) -> bool {
    found.resources.contains(&Resource {
        group: group.into(),
        plural: plural.into(),
    })
}

#[test]
fn literal_kinds_pair_api_version_and_kind_per_document() {
    let source = "apiVersion: apps/v1\nkind: Deployment\n---\n{{- if .Values.x }}\napiVersion: {{ include \"v\" . }}\nkind: Ingress\n{{- end }}\n---\nkind: \"Service\"\napiVersion: v1\n";
    assert_eq!(
        literal_kinds(source),
        vec![
            SeenKind {
                kind: "Deployment".into(),
                group: Some("apps".into())
            },
            SeenKind {
                kind: "Ingress".into(),
                group: None
            },
            SeenKind {
                kind: "Service".into(),
                group: Some(String::new())
            },
        ]
    );
}

#[test]
fn templated_and_nested_kinds_are_not_taken_literally() {
    let source = "kind: {{ .Values.kind }}\nspec:\n  scaleTargetRef:\n    kind: Deployment\n";
    assert!(literal_kinds(source).is_empty());
}

#[test]
fn irregular_and_regular_plurals() {
    assert_eq!(plural_of("Endpoints"), "endpoints");
    assert_eq!(plural_of("Ingress"), "ingresses");
    assert_eq!(plural_of("NetworkPolicy"), "networkpolicies");
}

/// Every kind the example components render, with optional objects switched on, is granted.
/// The renders here are independent of discovery: they switch on values that no descriptor
/// feature or default enables.
#[test]
fn role_covers_everything_the_examples_render_with_options_on() {
    let registry = repository_registry();
    let found = discover(&registry).unwrap_or_else(|e| panic!("{e}"));
    let options = [
        (
            "webapp",
            serde_json::json!({"ingress": {"enabled": true}, "autoscaling": {"enabled": true}}),
        ),
        (
            "model-registry",
            serde_json::json!({"database": {"enabled": true}}),
        ),
    ];
    let mut checked = 0;
    for (name, values) in options {
        let component = registry
            .get(name)
            .unwrap_or_else(|| panic!("{name} registered"));
        let prepared = registry::component_values(component, &BTreeMap::new(), &values)
            .unwrap_or_else(|e| panic!("{e}"));
        let capabilities = Arc::new(defaults::capabilities(
            KubeVersion::parse(defaults::DEFAULT_KUBE_VERSION).unwrap_or_else(|| panic!("version")),
            &[],
        ));
        let rendered = Renderer::new()
            .render(
                &prepared.chart,
                &prepared.values,
                &Release::install(name, "ns"),
                &capabilities,
                &OfflineLookup,
                &mut SeededRandom::new(b"test"),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        for m in manifest::parse(&rendered).unwrap_or_else(|e| panic!("{e}")) {
            let api_version = m.object.str_at(&["apiVersion"]).unwrap_or_default();
            let group = group_of(&api_version);
            let plural = plural_of(&m.kind());
            assert!(
                has(&found, &group, &plural),
                "{name} renders {}/{} but the role lacks {group}/{plural}",
                api_version,
                m.kind()
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} objects rendered");
    assert!(has(&found, "networking.k8s.io", "ingresses"));
    assert!(has(&found, "autoscaling", "horizontalpodautoscalers"));
    assert!(found.unresolved.is_empty(), "{:?}", found.unresolved);
}

#[test]
fn shipped_crds_give_group_and_plural_of_custom_kinds() {
    let registry = repository_registry();
    let found = discover(&registry).unwrap_or_else(|e| panic!("{e}"));
    assert!(has(&found, "modelregistry.opendatahub.io", "modelcatalogs"));
    assert!(has(
        &found,
        "apiextensions.k8s.io",
        "customresourcedefinitions"
    ));
}

#[test]
fn role_grants_the_operator_api_and_nothing_wildcard() {
    let registry = repository_registry();
    let (role, _) = cluster_role(&registry, "dsc-helm").unwrap_or_else(|e| panic!("{e}"));
    let rules = role.rules.unwrap_or_default();
    let grants = |group: &str, resource: &str, verb: &str| {
        rules.iter().any(|r| {
            r.api_groups.iter().flatten().any(|g| g == group)
                && r.resources.iter().flatten().any(|x| x == resource)
                && r.verbs.iter().any(|v| v == verb)
        })
    };
    assert!(grants(DSC_GROUP, "datascienceclusters/status", "patch"));
    assert!(grants(COMPONENT_GROUP, "webapps/finalizers", "update"));
    assert!(grants(COMPONENT_GROUP, "modelregistries", "delete"));
    assert!(grants("coordination.k8s.io", "leases", "update"));
    assert!(grants("", "events", "create"));
    assert!(grants("apps", "deployments", "delete"));
    assert!(grants("", "secrets", "create"));
    assert!(!grants(DSC_GROUP, "datascienceclusters", "delete"));
    assert!(!grants(
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        "delete"
    ));
    for r in &rules {
        assert!(!r.verbs.iter().any(|v| v == "*"), "wildcard verb in {r:?}");
        assert!(
            !r.resources.iter().flatten().any(|x| x == "*"),
            "wildcard resource in {r:?}"
        );
    }
}

/// deploy/rbac/clusterrole.yaml is what `dsc-helm rbac` prints for charts/; regenerate it with
/// `DSC_HELM_UPDATE_RBAC=1 cargo test --lib rbac::`.
#[test]
fn deployed_cluster_role_is_current() {
    let registry = repository_registry();
    let (role, _) = cluster_role(&registry, "dsc-helm").unwrap_or_else(|e| panic!("{e}"));
    let yaml = cluster_role_yaml(&role).unwrap_or_else(|e| panic!("{e}"));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/rbac/clusterrole.yaml");
    if std::env::var_os("DSC_HELM_UPDATE_RBAC").is_some() {
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&path, &yaml).unwrap_or_else(|e| panic!("{e}"));
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == yaml,
        "{} is stale: run DSC_HELM_UPDATE_RBAC=1 cargo test --lib rbac::",
        path.display()
    );
}

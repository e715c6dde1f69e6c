use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::*;

fn repo_charts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("charts")
}

/// A copy of the repository's `charts/` (without sources) that a test may break.
fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("charts");
    std::fs::create_dir_all(root.join("charts")).unwrap();
    std::fs::create_dir_all(root.join(DESCRIPTOR_DIR)).unwrap();
    let src = repo_charts();
    std::fs::copy(src.join("Chart.yaml"), root.join("Chart.yaml")).unwrap();
    for sub in ["charts", DESCRIPTOR_DIR] {
        for e in std::fs::read_dir(src.join(sub)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), root.join(sub).join(e.file_name())).unwrap();
        }
    }
    (dir, root)
}

/// A gzip-compressed chart archive of `files` (paths relative to the chart directory).
pub(crate) fn archive(chart: &str, files: &[(&str, &str)]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (name, text) in files {
        let mut header = tar::Header::new_ustar();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, format!("{chart}/{name}"), text.as_bytes())
            .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

fn errors(root: &Path) -> Vec<String> {
    match load(root) {
        Ok(_) => panic!("registry loaded, expected errors"),
        Err(LoadError(es)) => es.iter().map(ToString::to_string).collect(),
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

fn replace_in(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from:?} not in {}", path.display());
    write(path, &text.replacen(from, to, 1));
}

#[test]
fn repository_charts_register_the_example_components() {
    let reg = load(&repo_charts()).unwrap();
    let names: Vec<(&str, &str, &str)> = reg
        .components
        .iter()
        .map(|c| (c.name.as_str(), c.chart_version(), c.kind.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("webapp", "0.1.0", "WebApp"),
            ("model-registry", "0.2.0", "ModelRegistry"),
            ("dashboard", "0.1.0", "Dashboard"),
        ]
    );
    assert_eq!(
        reg.get("dashboard").unwrap().depends_on,
        ["webapp", "model-registry"]
    );
    let webapp = reg.get("webapp").unwrap();
    assert_eq!(webapp.features["logLevel"].path, "config.logLevel");
    assert_eq!(webapp.singleton_name(), "default-webapp");
    assert_eq!(
        webapp.platform_values.to_json(),
        json!({"image": {"repository": "quay.io/opendatahub/webapp"}, "config": {"logLevel": "warn"}})
    );
    let mr = reg.get("model-registry").unwrap();
    assert_eq!(mr.chart.crds().count(), 1);
    assert_eq!(mr.watches[0].kind, "ModelCatalog");
}

#[test]
fn listing_names_components_versions_and_kinds() {
    let reg = load(&repo_charts()).unwrap();
    assert_eq!(
        reg.listing(),
        "COMPONENT        CHART            VERSION   KIND\n\
         webapp           webapp           0.1.0     WebApp\n\
         model-registry   model-registry   0.2.0     ModelRegistry\n\
         dashboard        dashboard        0.1.0     Dashboard\n"
    );
}

/// The packaged archives must hold exactly the sources under charts/src (run charts/package.sh).
#[test]
fn archives_match_their_sources() {
    let charts = repo_charts();
    for entry in std::fs::read_dir(charts.join("src")).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_str().unwrap().to_string();
        let mut expected = BTreeMap::new();
        let mut stack = vec![dir.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p.strip_prefix(charts.join("src")).unwrap();
                    expected.insert(rel.display().to_string(), std::fs::read(&p).unwrap());
                }
            }
        }
        let version = load(&charts)
            .unwrap()
            .get(&name)
            .unwrap()
            .chart_version()
            .to_string();
        let bytes = std::fs::read(charts.join(format!("charts/{name}-{version}.tgz"))).unwrap();
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        let mut found = BTreeMap::new();
        for e in tar.entries().unwrap() {
            let mut e = e.unwrap();
            if e.header().entry_type().is_file() {
                let path = e.path().unwrap().display().to_string();
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                found.insert(path, data);
            }
        }
        assert_eq!(
            found.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{name}: archive out of date, run charts/package.sh"
        );
        assert!(
            found == expected,
            "{name}: archive out of date, run charts/package.sh"
        );
    }
}

#[test]
fn missing_archive_is_named() {
    let (_t, root) = scratch();
    std::fs::remove_file(root.join("charts/webapp-0.1.0.tgz")).unwrap();
    assert_eq!(
        errors(&root),
        [format!(
            "{}: archive for dependency webapp 0.1.0 is missing",
            root.join("charts/webapp-0.1.0.tgz").display()
        )]
    );
}

#[test]
fn corrupt_archive_is_named() {
    let (_t, root) = scratch();
    write(&root.join("charts/webapp-0.1.0.tgz"), "not gzip");
    assert_eq!(
        errors(&root),
        [format!(
            "{}: corrupt chart archive: does not appear to be a gzipped archive",
            root.join("charts/webapp-0.1.0.tgz").display()
        )]
    );
}

#[test]
fn version_mismatch_between_chart_yaml_and_archive() {
    let (_t, root) = scratch();
    replace_in(
        &root.join("Chart.yaml"),
        "version: 0.1.0\n    repository: file://src/webapp",
        "version: 0.1.1\n    repository: file://src/webapp",
    );
    std::fs::rename(
        root.join("charts/webapp-0.1.0.tgz"),
        root.join("charts/webapp-0.1.1.tgz"),
    )
    .unwrap();
    assert_eq!(
        errors(&root),
        [format!(
            "{}: holds chart webapp 0.1.0, but {} requires webapp 0.1.1",
            root.join("charts/webapp-0.1.1.tgz").display(),
            root.join("Chart.yaml").display()
        )]
    );
}

#[test]
fn version_ranges_and_chart_lock_are_honoured() {
    let (_t, root) = scratch();
    replace_in(
        &root.join("Chart.yaml"),
        "version: 0.2.0",
        "version: ~0.2.0",
    );
    assert!(load(&root).is_ok());
    write(
        &root.join("Chart.lock"),
        "dependencies:\n- name: webapp\n  repository: file://src/webapp\n  version: 0.1.0\n- name: model-registry\n  repository: file://src/model-registry\n  version: 0.2.3\n",
    );
    std::fs::copy(
        root.join("charts/model-registry-0.2.0.tgz"),
        root.join("charts/model-registry-0.2.3.tgz"),
    )
    .unwrap();
    assert_eq!(
        errors(&root),
        [format!(
            "{}: holds chart model-registry 0.2.0, but {} requires model-registry 0.2.3",
            root.join("charts/model-registry-0.2.3.tgz").display(),
            root.join("Chart.lock").display()
        )]
    );
}

#[test]
fn duplicate_component_and_kind() {
    let (_t, root) = scratch();
    std::fs::copy(
        root.join("components/webapp.yaml"),
        root.join("components/webapp2.yaml"),
    )
    .unwrap();
    assert_eq!(
        errors(&root),
        [format!(
            "{}: component webapp is declared more than once (first in {})",
            root.join("components/webapp2.yaml").display(),
            root.join("components/webapp.yaml").display()
        )]
    );

    let (_t, root) = scratch();
    replace_in(
        &root.join("components/model-registry.yaml"),
        "kind: ModelRegistry",
        "kind: WebApp",
    );
    assert_eq!(
        errors(&root),
        [format!(
            "{}: kind WebApp is already used by component webapp",
            root.join("components/model-registry.yaml").display()
        )]
    );
}

#[test]
fn descriptor_and_dependency_must_pair_up() {
    let (_t, root) = scratch();
    replace_in(
        &root.join("components/webapp.yaml"),
        "dependency: webapp",
        "dependency: webap",
    );
    assert_eq!(
        errors(&root),
        [
            format!(
                "{}: dependency webapp has no descriptor in {}",
                root.join("Chart.yaml").display(),
                root.join("components").display()
            ),
            format!(
                "{}: dependency webap is not listed in {}",
                root.join("components/webapp.yaml").display(),
                root.join("Chart.yaml").display()
            ),
        ]
    );
}

#[test]
fn feature_path_must_exist_in_values_or_schema() {
    let (_t, root) = scratch();
    replace_in(
        &root.join("components/webapp.yaml"),
        "path: config.logLevel",
        "path: config.loglevel",
    );
    assert_eq!(
        errors(&root),
        [format!(
            "{}: feature logLevel: path config.loglevel is neither in the values nor in the values.schema.json of chart webapp",
            root.join("components/webapp.yaml").display()
        )]
    );
}

#[test]
fn feature_type_must_agree_with_schema() {
    let (_t, root) = scratch();
    replace_in(
        &root.join("components/webapp.yaml"),
        "path: replicaCount\n    type: integer",
        "path: replicaCount\n    type: string",
    );
    assert_eq!(
        errors(&root),
        [format!(
            "{}: feature replicas: type string contradicts webapp/values.schema.json, which has type integer at replicaCount",
            root.join("components/webapp.yaml").display()
        )]
    );
}

#[test]
fn feature_enum_must_fit_the_schema_enum() {
    let (_t, root) = scratch();
    replace_in(
        &root.join("components/webapp.yaml"),
        "enum: [debug, info, warn, error]",
        "enum: [debug, info, trace]",
    );
    assert_eq!(
        errors(&root),
        [format!(
            "{}: feature logLevel: enum value \"trace\" contradicts webapp/values.schema.json, which has enum [\"debug\", \"info\", \"warn\", \"error\"] at config.logLevel",
            root.join("components/webapp.yaml").display()
        )]
    );
}

#[test]
fn feature_type_must_agree_with_default_values_without_schema() {
    let (_t, root) = scratch();
    add_third_component(&root);
    replace_in(
        &root.join("components/workbench.yaml"),
        "path: idleMinutes\n    type: integer",
        "path: idleMinutes\n    type: boolean",
    );
    assert_eq!(
        errors(&root),
        [format!(
            "{}: feature idleMinutes: type boolean contradicts notebook/values.yaml, which has 60.0 at idleMinutes",
            root.join("components/workbench.yaml").display()
        )]
    );
}

#[test]
fn unparsable_platform_values_are_named() {
    let (_t, root) = scratch();
    let file = root.join("components/webapp.values.rhoai.yaml");
    write(&file, "config: [unclosed\n");
    let errs = errors(&root);
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with(&format!("{}: cannot parse: ", file.display())),
        "{}",
        errs[0]
    );
    write(&file, "- a list\n");
    let errs = errors(&root);
    assert!(errs[0].contains("cannot unmarshal array"), "{}", errs[0]);
}

#[test]
fn unparsable_descriptor_is_named() {
    let (_t, root) = scratch();
    replace_in(
        &root.join("components/webapp.yaml"),
        "kind: WebApp",
        "kind: WebApp\ncolour: blue",
    );
    let errs = errors(&root);
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(
        errs[0].starts_with(&format!(
            "{}: cannot parse: unknown field `colour`",
            root.join("components/webapp.yaml").display()
        )),
        "{errs:?}"
    );
}

#[test]
fn values_precedence_defaults_platform_features_stanza() {
    let reg = load(&repo_charts()).unwrap();
    let webapp = reg.get("webapp").unwrap();

    // Nothing from the DSC: chart defaults, platform overrides, feature defaults.
    let p = component_values(webapp, &BTreeMap::new(), &serde_json::Value::Null).unwrap();
    let v = p.values.to_json();
    assert_eq!(v["image"]["repository"], "quay.io/opendatahub/webapp");
    assert_eq!(v["image"]["pullPolicy"], "IfNotPresent");
    assert_eq!(v["config"]["logLevel"], "warn");
    assert_eq!(v["replicaCount"], 1.0);

    // A feature beats the platform override; the stanza's values beat the feature.
    let features = BTreeMap::from([
        ("logLevel".to_string(), json!("debug")),
        ("replicas".to_string(), json!(3)),
    ]);
    let p = component_values(
        webapp,
        &features,
        &json!({"replicaCount": 5, "service": {"port": 8080}}),
    )
    .unwrap();
    let v = p.values.to_json();
    assert_eq!(v["config"]["logLevel"], "debug");
    assert_eq!(v["replicaCount"], 5.0);
    assert_eq!(v["service"]["port"], 8080.0);
    assert_eq!(v["service"]["type"], "ClusterIP");
    assert!(helm_render::values::validate(&p).is_empty());

    // null in the stanza deletes a default, as a later Helm values file does.
    let p = component_values(
        webapp,
        &BTreeMap::new(),
        &json!({"config": {"greeting": null}}),
    )
    .unwrap();
    assert!(p.values.to_json()["config"].get("greeting").is_none());
}

#[test]
fn stanza_errors_name_the_field() {
    let reg = load(&repo_charts()).unwrap();
    let webapp = reg.get("webapp").unwrap();
    let bad = BTreeMap::from([("replicas".to_string(), json!("three"))]);
    assert_eq!(
        overrides(webapp, &bad, &serde_json::Value::Null)
            .unwrap_err()
            .to_string(),
        "spec.components.webapp.features.replicas: \"three\" is not of type integer"
    );
    let unknown = BTreeMap::from([("colour".to_string(), json!("blue"))]);
    assert_eq!(
        overrides(webapp, &unknown, &serde_json::Value::Null)
            .unwrap_err()
            .to_string(),
        "spec.components.webapp.features.colour: unknown feature"
    );
    assert_eq!(
        overrides(webapp, &BTreeMap::new(), &json!([1]))
            .unwrap_err()
            .to_string(),
        "spec.components.webapp.values: must be an object, not array"
    );
}

#[test]
fn subchart_condition_follows_the_feature() {
    let reg = load(&repo_charts()).unwrap();
    let mr = reg.get("model-registry").unwrap();
    let on = component_values(mr, &BTreeMap::new(), &serde_json::Value::Null).unwrap();
    assert_eq!(on.chart.dependencies.len(), 1);
    assert_eq!(on.values.to_json()["catalog"]["retentionDays"], 90.0);
    let off = BTreeMap::from([("database".to_string(), json!(false))]);
    let off = component_values(mr, &off, &serde_json::Value::Null).unwrap();
    assert!(off.chart.dependencies.is_empty());
}

/// Adds a component with a chart, a dependency line and a descriptor only: no Rust code.
pub(crate) fn add_third_component(root: &Path) {
    let bytes = archive(
        "notebook",
        &[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: notebook\nversion: 1.2.3\n",
            ),
            ("values.yaml", "image: jupyter\nidleMinutes: 60\n"),
            (
                "templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nb\ndata:\n  idle: {{ .Values.idleMinutes | quote }}\n",
            ),
        ],
    );
    std::fs::write(root.join("charts/notebook-1.2.3.tgz"), bytes).unwrap();
    let chart_yaml = std::fs::read_to_string(root.join("Chart.yaml")).unwrap();
    std::fs::write(
        root.join("Chart.yaml"),
        format!("{chart_yaml}  - name: notebook\n    version: 1.2.3\n    repository: https://charts.example.com\n    alias: workbench\n"),
    )
    .unwrap();
    std::fs::write(
        root.join("components/workbench.yaml"),
        "dependency: workbench\nkind: Workbench\nfeatures:\n  idleMinutes:\n    path: idleMinutes\n    type: integer\n    minimum: 5\n    description: Minutes before an idle notebook stops.\n",
    )
    .unwrap();
}

#[test]
fn third_component_needs_no_code() {
    let (_t, root) = scratch();
    add_third_component(&root);
    let reg = load(&root).unwrap();
    assert!(
        reg.listing()
            .contains("workbench        notebook         1.2.3     Workbench\n"),
        "{}",
        reg.listing()
    );
    let wb = reg.get("workbench").unwrap();
    let f = BTreeMap::from([("idleMinutes".to_string(), json!(15))]);
    let p = component_values(wb, &f, &json!({"image": "custom"})).unwrap();
    assert_eq!(
        p.values.to_json(),
        json!({"image": "custom", "idleMinutes": 15.0})
    );
}

#[test]
fn webapp_schema_refuses_unknown_and_mistyped_values() {
    let reg = load(&repo_charts()).unwrap();
    let webapp = reg.get("webapp").unwrap();
    let p = component_values(
        webapp,
        &BTreeMap::new(),
        &json!({"image": {"registry": "quay.io"}, "service": {"type": "External"}}),
    )
    .unwrap();
    let mut found: Vec<(String, String)> = helm_render::values::validate(&p)
        .into_iter()
        .map(|v| (v.pointer, v.message))
        .collect();
    found.sort();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].0, "/image");
    assert!(found[0].1.contains("registry"), "{found:?}");
    assert_eq!(found[1].0, "/service/type");
}

#[test]
fn duplicate_dependency_and_missing_umbrella() {
    let (_t, root) = scratch();
    let chart_yaml = std::fs::read_to_string(root.join("Chart.yaml")).unwrap();
    write(
        &root.join("Chart.yaml"),
        &format!(
            "{chart_yaml}  - name: webapp\n    version: 0.1.0\n    repository: file://src/webapp\n"
        ),
    );
    assert_eq!(
        errors(&root),
        [format!(
            "{0}: component webapp is declared more than once (first in {0})",
            root.join("Chart.yaml").display()
        )]
    );

    let empty = tempfile::tempdir().unwrap();
    let errs = errors(empty.path());
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with(&format!(
            "{}: cannot read: ",
            empty.path().join("Chart.yaml").display()
        )),
        "{errs:?}"
    );
}

fn offline_target<'a>(
    renderer: &'a helm_render::render::Renderer,
    release: &'a helm_render::render::Release,
    capabilities: &'a std::sync::Arc<helm_render::render::Capabilities>,
) -> RenderTarget<'a> {
    RenderTarget {
        renderer,
        release,
        capabilities,
        lookup: &helm_render::engine::funcs::OfflineLookup,
    }
}

#[test]
fn component_render_success_invalid_values_and_bad_stanza() {
    use helm_render::render::{KubeVersion, Release, Renderer, defaults};
    let reg = load(&repo_charts()).unwrap();
    let webapp = reg.get("webapp").unwrap();
    let renderer = Renderer::new();
    let release = Release::install("webapp", "ns");
    let kube = KubeVersion::parse(defaults::DEFAULT_KUBE_VERSION).unwrap();
    let capabilities = std::sync::Arc::new(defaults::capabilities(kube, &[]));
    let target = offline_target(&renderer, &release, &capabilities);
    let mut random = helm_render::engine::funcs::SeededRandom::new(b"test");

    let ok = webapp
        .render(
            &BTreeMap::new(),
            &json!({"replicaCount": 3}),
            &target,
            &mut random,
        )
        .unwrap();
    let manifests = ok.manifests().unwrap();
    assert!(manifests.iter().any(|m| m.kind() == "Deployment"));

    let invalid = webapp
        .render(
            &BTreeMap::new(),
            &json!({"replicaCount": "x"}),
            &target,
            &mut random,
        )
        .unwrap_err();
    let ComponentRenderError::Schema { violations, .. } = &invalid else {
        panic!("expected a schema failure, got {invalid:?}");
    };
    assert!(!violations.is_empty());
    assert!(invalid.to_string().contains("replicaCount"), "{invalid}");

    let bad = webapp
        .render(&BTreeMap::new(), &json!([1]), &target, &mut random)
        .unwrap_err();
    assert!(
        matches!(
            bad,
            ComponentRenderError::Stanza(StanzaError::ValuesNotMap { .. })
        ),
        "{bad:?}"
    );
    assert_eq!(
        bad.to_string(),
        "spec.components.webapp.values: must be an object, not array"
    );
}

#[test]
fn health_rules_compile_at_load_and_a_bad_expression_names_descriptor_kind_and_expression() {
    let (_t, root) = scratch();
    let descriptor = root.join("components/webapp.yaml");
    let rules = "health:\n  - apiVersion: apps/v1\n    kind: Deployment\n    current: status.readyReplicas == spec.replicas\n    failed: \"status.conditions.exists(c, c.type == 'Progressing' && c.reason == 'ProgressDeadlineExceeded')\"\n";
    let text = std::fs::read_to_string(&descriptor).unwrap();
    write(&descriptor, &format!("{text}{rules}"));
    let reg = load(&root).unwrap();
    let health = &reg.get("webapp").unwrap().health;
    assert!(health.covers("apps", "Deployment"));
    assert!(!health.covers("apps", "StatefulSet"));
    assert!(
        !reg.get("model-registry")
            .unwrap()
            .health
            .covers("apps", "Deployment")
    );

    replace_in(
        &descriptor,
        "current: status.readyReplicas == spec.replicas",
        "current: status.readyReplicas ==",
    );
    let errs = errors(&root);
    assert_eq!(errs.len(), 1, "{errs:?}");
    let prefix = format!(
        "{}: health rule for apps/v1 Deployment: current expression \"status.readyReplicas ==\": ",
        descriptor.display()
    );
    assert!(errs[0].starts_with(&prefix), "{errs:?}");
}

#[test]
fn health_rules_need_current_and_may_not_repeat_a_kind() {
    let (_t, root) = scratch();
    let descriptor = root.join("components/webapp.yaml");
    let text = std::fs::read_to_string(&descriptor).unwrap();
    let rule = "  - apiVersion: apps/v1\n    kind: Deployment\n    current: 'true'\n";
    write(&descriptor, &format!("{text}health:\n{rule}{rule}"));
    assert_eq!(
        errors(&root),
        [format!(
            "{}: health rule for apps/v1 Deployment: declared twice",
            descriptor.display()
        )]
    );
    write(
        &descriptor,
        &format!(
            "{text}health:\n  - apiVersion: apps/v1\n    kind: Deployment\n    failed: 'false'\n"
        ),
    );
    let errs = errors(&root);
    assert!(
        errs[0].contains("cannot parse: missing field `current`"),
        "{errs:?}"
    );
}

/// `dependsOn` names registered components: unknown names, the component itself and cycles
/// each stop the load with one message naming the descriptor, and a cycle shows its loop.
#[test]
fn dependencies_must_be_registered_acyclic_and_not_on_oneself() {
    let (_t, root) = scratch();
    add_third_component(&root);
    let descriptors = root.join(DESCRIPTOR_DIR);
    let append = |file: &str, text: &str| {
        let path = descriptors.join(file);
        let old = std::fs::read_to_string(&path).unwrap();
        write(&path, &format!("{old}{text}"));
    };
    append("webapp.yaml", "dependsOn: [model-registry]\n");
    append("model-registry.yaml", "dependsOn: [workbench]\n");
    append("workbench.yaml", "dependsOn: [webapp, workbench, ghost]\n");
    let shown = errors(&root);
    let file = |name: &str| descriptors.join(name).display().to_string();
    assert_eq!(
        shown,
        [
            format!(
                "{}: dependsOn: component workbench depends on itself",
                file("workbench.yaml")
            ),
            format!(
                "{}: dependsOn: ghost is not a registered component; registered: dashboard, model-registry, webapp, workbench",
                file("workbench.yaml")
            ),
            format!(
                "{}: dependsOn: dependency cycle model-registry → workbench → webapp → model-registry",
                file("model-registry.yaml")
            ),
        ]
    );
}

#[test]
fn dependencies_and_the_readiness_timeout_are_read_from_the_descriptor() {
    let (_t, root) = scratch();
    add_third_component(&root);
    let workbench = root.join(DESCRIPTOR_DIR).join("workbench.yaml");
    let old = std::fs::read_to_string(&workbench).unwrap();
    write(
        &workbench,
        &format!("{old}dependsOn: [model-registry, webapp]\nreadinessTimeout: 1m30s\n"),
    );
    let reg = load(&root).unwrap();
    let wb = reg.get("workbench").unwrap();
    assert_eq!(wb.depends_on, ["model-registry", "webapp"]);
    assert_eq!(wb.readiness_timeout, std::time::Duration::from_secs(90));
    assert_eq!(
        reg.get("webapp").unwrap().readiness_timeout,
        descriptor::DEFAULT_READINESS_TIMEOUT
    );
    let names = |cs: Vec<&Component>| cs.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(reg.dependents("webapp")), ["dashboard", "workbench"]);
    assert!(reg.dependents("workbench").is_empty());

    write(&workbench, &format!("{old}readinessTimeout: soon\n"));
    let shown = errors(&root);
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(
        shown[0].ends_with("readinessTimeout: \"soon\": expected a number at \"soon\""),
        "{shown:?}"
    );
}

#[test]
fn upgrade_strategies_are_read_per_component_and_kind_and_checked() {
    use super::upgrade::Strategy;
    let (_t, root) = scratch();
    add_third_component(&root);
    let workbench = root.join(DESCRIPTOR_DIR).join("workbench.yaml");
    let old = std::fs::read_to_string(&workbench).unwrap();
    write(
        &workbench,
        &format!("{old}upgradeStrategy:\n  StatefulSet: recreate\n  Job: keep\n"),
    );
    let reg = load(&root).unwrap();
    let strategy = &reg.get("workbench").unwrap().upgrade_strategy;
    assert_eq!(strategy.for_kind("StatefulSet"), Strategy::Recreate);
    assert_eq!(strategy.for_kind("Deployment"), Strategy::Keep);
    let webapp = &reg.get("webapp").unwrap().upgrade_strategy;
    assert_eq!(webapp.for_kind("StatefulSet"), Strategy::Keep);

    write(&workbench, &format!("{old}upgradeStrategy: replace\n"));
    let shown = errors(&root);
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(
        shown[0]
            .ends_with("upgradeStrategy: unknown strategy \"replace\": must be keep or recreate"),
        "{shown:?}"
    );
}

#[test]
fn durations_read_as_go_writes_them() {
    use std::time::Duration;
    let ok = [
        ("10m", 600_000),
        ("90s", 90_000),
        ("1h30m", 5_400_000),
        ("1m30s", 90_000),
        ("250ms", 250),
    ];
    for (text, millis) in ok {
        assert_eq!(
            descriptor::parse_duration(text),
            Ok(Duration::from_millis(millis)),
            "{text}"
        );
    }
    for bad in [
        "",
        "10",
        "m",
        "5d",
        "0s",
        "1.5m",
        "-1m",
        "99999999999999999999h",
    ] {
        assert!(descriptor::parse_duration(bad).is_err(), "{bad:?} accepted");
    }
}

/// The README's picture of the example components is what `dsc-helm graph --format mermaid`
/// prints for them, so that it stays true when a descriptor changes.
#[test]
fn the_readme_shows_the_example_components_graph() {
    let reg = load(&repo_charts()).unwrap();
    let picture = graph::mermaid(&reg.edges(), &BTreeMap::new());
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("```mermaid\n{picture}```")),
        "README.md should show:\n{picture}"
    );
}

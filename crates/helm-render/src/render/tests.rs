//! Go semantics that charts lean on, as Helm's engine executes them, on charts of our own
//! whose expected output was produced by Helm 4.2's engine (`helm_oracle.py template
//! tests/fixtures/charts/NAME > tests/fixtures/NAME.expected.json`):
//! - go-maps: each template changes a map through one alias (a variable, `with`, `range`,
//!   `index`, `get`, a `dict` value, `merge`, `include`, `tpl`, a subchart's `.Values`, …)
//!   and prints it through another;
//! - files-bytes: the `[]byte` values of `.Files.GetBytes` and of ranging over `.Files.Glob`,
//!   through every function and verb that treats them differently from a string.

use std::path::Path;
use std::sync::Arc;

use super::{KubeVersion, Release, Renderer, Target, defaults, template};
use crate::engine::funcs::{OfflineLookup, SeededRandom};
use crate::value::{Map, Value};

type Expected = serde_json::Map<String, serde_json::Value>;

fn fixture(name: &str) -> (crate::chart::Chart, Expected) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let chart =
        crate::chart::load(&root.join("charts").join(name)).unwrap_or_else(|e| panic!("{e}"));
    let expected = std::fs::read_to_string(root.join(format!("{name}.expected.json")))
        .unwrap_or_else(|e| panic!("{e}"));
    let serde_json::Value::Object(expected) =
        serde_json::from_str(&expected).unwrap_or_else(|e| panic!("{e}"))
    else {
        panic!("{name}.expected.json is not an object");
    };
    (chart, expected)
}

/// An install of release `rel` into `ns` on a cluster of version `kube`.
fn install_on(kube: &str) -> (Release, Arc<super::Capabilities>) {
    let kube = KubeVersion::parse(kube).unwrap_or_else(|| panic!("{kube} parses"));
    (
        Release::install("rel", "ns"),
        Arc::new(defaults::capabilities(kube, &[])),
    )
}

fn render(renderer: &Renderer, chart: &crate::chart::Chart) -> super::Rendered {
    let (release, capabilities) = install_on(defaults::DEFAULT_KUBE_VERSION);
    let target = Target {
        release: &release,
        capabilities: &capabilities,
        lookup: &OfflineLookup,
    };
    let mut random = SeededRandom::new(b"go-maps");
    template(
        renderer,
        chart,
        Value::map(Map::new()),
        &target,
        super::TemplateChecks {
            schema: true,
            kube_version: true,
        },
        &mut random,
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .rendered
}

fn assert_renders_like_helm(name: &str) {
    let (chart, expected) = fixture(name);
    let rendered = render(&Renderer::new(), &chart);
    let mut differences = Vec::new();
    for (name, want) in &expected {
        let got = rendered.get(name).map(String::as_str);
        if got != want.as_str() {
            differences.push(format!("{name}:\n  Helm: {want}\n  ours: {got:?}"));
        }
    }
    assert_eq!(rendered.len(), expected.len(), "the same templates render");
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

#[test]
fn a_change_through_one_alias_of_a_map_is_seen_through_every_other() {
    assert_renders_like_helm("go-maps");
}

#[test]
fn file_bytes_format_as_go_formats_a_byte_slice() {
    assert_renders_like_helm("files-bytes");
}

/// The chart's templates change its values in place; a second render of the same loaded
/// chart must start from the chart's own values again, not from what the first one left.
#[test]
fn what_one_render_changes_no_later_render_sees() {
    let (chart, _) = fixture("go-maps");
    let renderer = Renderer::new();
    let first = render(&renderer, &chart);
    let second = render(&renderer, &chart);
    assert_eq!(first, second);
    assert_eq!(
        chart.values.at(&["c01", "a"]).map(|a| a.get("k")),
        Some(None),
        "the chart's defaults are untouched"
    );
}

/// `--name-template` is a plain Go template with Sprig's functions (not Helm's), executed
/// with no data. Expectations are `helm template --name-template` v4.2.3's.
#[test]
fn name_templates_are_sprig_templates_without_data() {
    let name = |t: &str| {
        let mut random = SeededRandom::new(b"name-template");
        match super::template_name(t, &mut random) {
            Ok(name) => name,
            Err(e) => format!("error: {e}"),
        }
    };
    assert_eq!(name(r#"{{ "r" }}-{{ "x" | repeat 3 | upper }}"#), "r-XXX");
    assert_eq!(name(r#"{{ printf "%s-%d" "r" 3 }}"#), "r-3");
    assert_eq!(name("{{ randAlpha 5 | lower | len }}"), "5");
    assert_eq!(name("{{ .Foo }}"), "<no value>");
    assert_eq!(
        name("{{ toYaml 1 }}"),
        r#"error: template: name-template:1: function "toYaml" not defined"#
    );
    assert_eq!(
        name(r#"{{ include "x" . }}"#),
        r#"error: template: name-template:1: function "include" not defined"#
    );
    assert_eq!(
        name(r#"{{ fail "no" }}"#),
        r#"error: template: name-template:1:3: executing "name-template" at <fail "no">: error calling fail: no"#
    );
}

/// `helm template` refuses a chart whose `kubeVersion` range excludes the target cluster
/// before rendering; Helm's engine alone (`--output json`, conformance) does not check it.
#[test]
fn the_kube_version_range_is_checked_only_when_asked() {
    let (mut chart, _) = fixture("files-bytes");
    chart.metadata.kube_version = ">=99.0.0".to_string();
    let (release, capabilities) = install_on("v1.30.2");
    let target = Target {
        release: &release,
        capabilities: &capabilities,
        lookup: &OfflineLookup,
    };
    let run = |kube_version: bool| {
        let checks = super::TemplateChecks {
            schema: true,
            kube_version,
        };
        let mut random = SeededRandom::new(b"kube-version");
        template(
            &Renderer::new(),
            &chart,
            Value::map(Map::new()),
            &target,
            checks,
            &mut random,
        )
    };
    assert_eq!(
        run(true).err().map(|e| e.to_string()),
        Some(
            "chart requires kubeVersion: >=99.0.0 which is incompatible with Kubernetes v1.30.2"
                .to_string()
        )
    );
    assert!(run(false).is_ok());
}

/// The schema checks run beside the render, but as Helm runs them, first: they see the values
/// from before any template ran (a template that `set`s into `.Values` changes nothing they
/// see), and their verdict wins over what the render or the `kubeVersion` check says.
#[test]
fn the_schema_verdict_comes_first_and_sees_the_values_before_the_render() {
    let dir = std::env::temp_dir().join(format!("dsc-helm-schema-first-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let files = [
        (
            "Chart.yaml",
            "apiVersion: v2\nname: checked\nversion: 0.1.0\n",
        ),
        ("values.yaml", "replicas: 1\n"),
        (
            "values.schema.json",
            r#"{"properties": {"replicas": {"type": "integer"}}}"#,
        ),
        (
            "templates/a.yaml",
            "{{- $_ := set .Values \"replicas\" \"many\" }}\nreplicas: {{ .Values.replicas }}\n",
        ),
        (
            "templates/b.yaml",
            "{{- if eq (toString .Values.replicas) \"bad\" }}{{ fail \"rendered\" }}{{ end }}\n",
        ),
    ];
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap_or(&dir)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    }
    let mut chart = crate::chart::load(&dir).unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_dir_all(&dir);
    let (release, capabilities) = install_on("v1.30.2");
    let target = Target {
        release: &release,
        capabilities: &capabilities,
        lookup: &OfflineLookup,
    };
    let run = |chart: &crate::chart::Chart, replicas: &str| {
        let mut values = Map::new();
        if !replicas.is_empty() {
            values.insert("replicas".to_string(), Value::from(replicas.to_string()));
        }
        let checks = super::TemplateChecks {
            schema: true,
            kube_version: true,
        };
        let mut random = SeededRandom::new(b"schema-first");
        template(
            &Renderer::new(),
            chart,
            Value::map(values),
            &target,
            checks,
            &mut random,
        )
        .map(|t| t.rendered)
        .map_err(|e| e.to_string())
    };

    let rendered = run(&chart, "").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        rendered.get("checked/templates/a.yaml").map(String::as_str),
        Some("\nreplicas: many\n")
    );
    let schema_error = |e: &str| e.contains("replicas") && e.contains("schema");
    let refused = run(&chart, "bad").expect_err("bad values are refused");
    assert!(
        schema_error(&refused),
        "the schema's verdict, not the render's: {refused}"
    );
    chart.metadata.kube_version = ">=99.0.0".to_string();
    let refused = run(&chart, "bad").expect_err("bad values are refused");
    assert!(
        schema_error(&refused),
        "the schema's verdict, not the kubeVersion's: {refused}"
    );
    let refused = run(&chart, "").expect_err("the kubeVersion is refused");
    assert!(refused.contains("kubeVersion"), "{refused}");
}

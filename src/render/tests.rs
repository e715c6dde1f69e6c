//! Go's map semantics as Helm's engine executes them, on a chart of our own
//! (tests/fixtures/charts/go-maps): each template changes a map through one alias (a variable,
//! `with`, `range`, `index`, `get`, a `dict` value, `merge`, `include`, `tpl`, a subchart's
//! `.Values`, …) and prints it through another. The expected output was produced by Helm 4.2's
//! engine (`helm_oracle.py template tests/fixtures/charts/go-maps`).

use std::path::Path;
use std::sync::Arc;

use super::{KubeVersion, Release, Renderer, Target, defaults, template};
use crate::engine::funcs::{OfflineLookup, SeededRandom};
use crate::value::{Map, Value};

fn fixture() -> (
    crate::chart::Chart,
    serde_json::Map<String, serde_json::Value>,
) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let chart = crate::chart::load(&root.join("charts/go-maps")).unwrap_or_else(|e| panic!("{e}"));
    let expected = std::fs::read_to_string(root.join("go-maps.expected.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let serde_json::Value::Object(expected) =
        serde_json::from_str(&expected).unwrap_or_else(|e| panic!("{e}"))
    else {
        panic!("go-maps.expected.json is not an object");
    };
    (chart, expected)
}

fn render(renderer: &Renderer, chart: &crate::chart::Chart) -> super::Rendered {
    let release = Release::install("rel", "ns");
    let kube = KubeVersion::parse(defaults::DEFAULT_KUBE_VERSION)
        .unwrap_or_else(|| panic!("the default version parses"));
    let capabilities = Arc::new(defaults::capabilities(kube, &[]));
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
        &mut random,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_change_through_one_alias_of_a_map_is_seen_through_every_other() {
    let (chart, expected) = fixture();
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

/// The chart's templates change its values in place; a second render of the same loaded
/// chart must start from the chart's own values again, not from what the first one left.
#[test]
fn what_one_render_changes_no_later_render_sees() {
    let (chart, _) = fixture();
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

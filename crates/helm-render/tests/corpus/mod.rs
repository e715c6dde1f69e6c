//! Reading ../shared/corpus (third-party charts and Helm's renderings of them), shared by the
//! conformance test and the rendering benchmark here, and by dsc-helm's corpus tests and
//! benchmarks (through `#[path]`). Nothing from the corpus is copied into the
//! repository: it is read where it lies.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use helm_render::chart::Chart;
use helm_render::engine::funcs::{OfflineLookup, RandomSource};
use helm_render::render::{self, Release, Rendered, Renderer, Target, TemplateFailure, defaults};
use helm_render::value::Value;

/// `../shared/corpus` beside the repository. This module is compiled into the tests of both
/// workspace members, so the repository root is the first ancestor of the including crate
/// that has the corpus beside it.
pub fn corpus_dir() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .ancestors()
        .map(|dir| dir.join("../shared/corpus"))
        .find(|candidate| candidate.is_dir())
        .unwrap_or_else(|| manifest_dir.join("../shared/corpus"))
}

/// One chart of the corpus with its render and schema cases.
pub struct CorpusChart {
    pub id: String,
    pub archive: PathBuf,
    pub cases: Vec<RenderCase>,
    pub schema_cases: Vec<SchemaCase>,
}

pub struct RenderCase {
    pub name: String,
    pub release: String,
    pub namespace: String,
    pub values_path: PathBuf,
    /// Helm's error when Helm refuses these values.
    pub error: Option<String>,
    pub expected_path: PathBuf,
    /// Per template, 1-based line numbers that differ between two Helm renders.
    pub mask: BTreeMap<String, BTreeSet<usize>>,
}

pub struct SchemaCase {
    pub name: String,
    pub values: Value,
    pub helm_accepts: bool,
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => Vec::new(),
    };
    entries.sort();
    entries
}

/// Every chart of the corpus, in id order. Panics (failing the test) when the corpus is absent.
pub fn load_corpus() -> Vec<CorpusChart> {
    let root = corpus_dir().join("charts");
    assert!(
        root.is_dir(),
        "the corpus is missing: expected {} (../shared/corpus beside the repository)",
        root.display()
    );
    sorted_entries(&root)
        .into_iter()
        .filter(|p| p.is_dir())
        .map(|dir| {
            let id = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let cases = sorted_entries(&dir.join("cases"))
                .into_iter()
                .map(|case_dir| {
                    let case = read_json(&case_dir.join("case.json"));
                    let mask = case["mask"]
                        .as_object()
                        .map(|m| {
                            m.iter()
                                .map(|(k, lines)| {
                                    let set = lines
                                        .as_array()
                                        .map(|a| {
                                            a.iter()
                                                .filter_map(|n| n.as_u64())
                                                .map(|n| n as usize)
                                                .collect()
                                        })
                                        .unwrap_or_default();
                                    (k.clone(), set)
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    RenderCase {
                        name: case_dir
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                        release: case["release"].as_str().unwrap_or("rel").to_string(),
                        namespace: case["namespace"].as_str().unwrap_or("ns").to_string(),
                        values_path: case_dir.join("values.yaml"),
                        error: case["error"].as_str().map(str::to_string),
                        expected_path: case_dir.join("expected.json"),
                        mask,
                    }
                })
                .collect();
            let schema_cases = sorted_entries(&dir.join("schema"))
                .into_iter()
                .map(|path| {
                    let case = read_json(&path);
                    SchemaCase {
                        name: path
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                        values: Value::from_json(&case["values"]),
                        helm_accepts: case["helm_render_accepts"].as_bool().unwrap_or(false),
                    }
                })
                .collect();
            CorpusChart {
                archive: dir.join("chart.tgz"),
                id,
                cases,
                schema_cases,
            }
        })
        .collect()
}

/// The number of schema case files on disk (`charts/*/schema/*.json`), counted apart from
/// [`load_corpus`] so that a test can check it saw every case of a corpus whose size grows.
pub fn schema_case_files() -> usize {
    sorted_entries(&corpus_dir().join("charts"))
        .iter()
        .flat_map(|chart| sorted_entries(&chart.join("schema")))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .count()
}

/// Reads a case's values file as `-f` would.
pub fn case_values(case: &RenderCase) -> Result<Value, String> {
    let text = std::fs::read_to_string(&case.values_path).map_err(|e| e.to_string())?;
    let parsed =
        helm_render::values::read_values_files(&[(case.values_path.display().to_string(), text)])
            .map_err(|e| e.to_string())?;
    helm_render::values::merge_user_values(&parsed, &[], &[]).map_err(|e| e.to_string())
}

/// Renders like `dsc-helm template CHART -f VALUES --release-name R --namespace N`.
pub fn render_case(
    renderer: &Renderer,
    chart: &Chart,
    values: Value,
    release: &str,
    namespace: &str,
    random: &mut dyn RandomSource,
) -> Result<Rendered, TemplateFailure> {
    let release = Release::install(release, namespace);
    let capabilities = Arc::new(defaults::capabilities(
        helm_render::render::KubeVersion::parse(defaults::DEFAULT_KUBE_VERSION)
            .unwrap_or_else(|| panic!("the default Kubernetes version parses")),
        &[],
    ));
    let target = Target {
        release: &release,
        capabilities: &capabilities,
        lookup: &OfflineLookup,
    };
    let checks = render::TemplateChecks {
        schema: true,
        kube_version: false,
    };
    render::template(renderer, chart, values, &target, checks, random).map(|t| t.rendered)
}

/// The first difference between Helm's rendering and ours, skipping masked lines, in the
/// conformance tool's words; `None` when they agree.
pub fn compare(
    expected: &serde_json::Map<String, serde_json::Value>,
    got: &Rendered,
    mask: &BTreeMap<String, BTreeSet<usize>>,
) -> Option<String> {
    let expected_keys: BTreeSet<&String> = expected.keys().collect();
    let got_keys: BTreeSet<&String> = got.keys().collect();
    if expected_keys != got_keys {
        let missing: Vec<_> = expected_keys.difference(&got_keys).take(3).collect();
        let extra: Vec<_> = got_keys.difference(&expected_keys).take(3).collect();
        return Some(format!("keys differ: missing {missing:?} extra {extra:?}"));
    }
    for (key, want) in expected {
        let want = want.as_str().unwrap_or_default();
        let have = got.get(key).map(String::as_str).unwrap_or_default();
        if want == have {
            continue;
        }
        let masked = mask.get(key).cloned().unwrap_or_default();
        let (wl, hl): (Vec<&str>, Vec<&str>) =
            (want.split('\n').collect(), have.split('\n').collect());
        if wl.len() != hl.len() && !masked.is_empty() {
            return Some(format!(
                "{key}: line count {}, Helm has {}",
                hl.len(),
                wl.len()
            ));
        }
        for i in 0..wl.len().max(hl.len()) {
            if masked.contains(&(i + 1)) {
                continue;
            }
            let a = wl.get(i).copied().unwrap_or("<end>");
            let b = hl.get(i).copied().unwrap_or("<end>");
            if a != b {
                return Some(format!("{key}: line {}: Helm {a:?}, got {b:?}", i + 1));
            }
        }
    }
    None
}
